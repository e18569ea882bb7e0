#include "consensus/http.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/hex.h"
#include "util/mem.h"

const char *cc_http_genesis_text(void) { return CC_HTTP_GENESIS_TEXT; }

/* ---- transactions ------------------------------------------------------ */

static void tx_print(cc_tx *tx)
{
    char sum[CC_NUMBER_TEXT_MAX];
    cc_number_format(&tx->amount, sum);
    cc_buf text = CC_BUF_INIT;
    cc_buf_printf(&text, "{\"signature\": \"%s\",\"transaction\": ", tx->signature);
    tx->msg_off = text.len;
    cc_buf_printf(&text, "{\"from\": \"%s\",\"to\": \"%s\",\"sum\": %s,\"timestamp\": \"%s\"}",
                  tx->from, tx->to, sum, tx->timestamp);
    tx->msg_len = text.len - tx->msg_off;
    cc_buf_putc(&text, '}');
    tx->text_len = text.len;
    tx->text = cc_buf_take(&text);
    cc_sha256_hex(tx->text, tx->text_len, tx->txid);
    cc_sha256_hex(tx->text + tx->msg_off, tx->msg_len, tx->msgid);
}

/* Decoded numbers are always finite, but amounts handed to tx_create come
 * from code: an infinite one would print as "inf", which no JSON reader
 * (ours included) accepts back. */
static bool amount_positive(const cc_number *n)
{
    return n->is_int ? n->i > 0 : (isfinite(n->d) && n->d > 0);
}

static bool check_key(const char *what, const char *key, cc_err *err)
{
    if (!cc_is_lower_hex(key, CC_P192_PUB_HEX_LEN))
        return cc_fail(err, CC_ERR_BAD_REQUEST,
                       "%s must be a public key of 96 lowercase hex characters", what);
    return true;
}

static bool check_tx_fields(const cc_tx *tx, cc_err *err)
{
    if (!amount_positive(&tx->amount))
        return cc_fail(err, CC_ERR_BAD_REQUEST, "sum must be a positive number");
    bool from_system = strcmp(tx->from, CC_HTTP_REWARD_FROM) == 0;
    bool signed_system = strcmp(tx->signature, CC_HTTP_REWARD_FROM) == 0;
    if (from_system != signed_system)
        return cc_fail(err, CC_ERR_BAD_REQUEST,
                       "only a System transaction carries the System signature");
    if (!from_system && !check_key("from", tx->from, err))
        return false;
    if (!from_system && !cc_is_lower_hex(tx->signature, CC_P192_SIG_HEX_LEN))
        return cc_fail(err, CC_ERR_BAD_REQUEST,
                       "signature must be 96 lowercase hex characters");
    return check_key("to", tx->to, err);
}

bool cc_http_tx_from_json(const json_t *value, cc_tx *out, cc_err *err)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(value))
        return cc_fail(err, CC_ERR_BAD_REQUEST, "a transaction must be a JSON object");
    const json_t *body = json_object_get(value, "transaction");
    if (!json_is_object(body))
        return cc_fail(err, CC_ERR_BAD_REQUEST, "field 'transaction' must be an object");
    const char *signature, *from, *to, *timestamp;
    cc_number sum;
    if (!cc_json_get_text(value, "signature", CC_HTTP_MAX_FIELD, &signature, err) ||
        !cc_json_get_text(body, "from", CC_HTTP_MAX_FIELD, &from, err) ||
        !cc_json_get_text(body, "to", CC_HTTP_MAX_FIELD, &to, err) ||
        !cc_json_get_number(body, "sum", &sum, err) ||
        !cc_json_get_text(body, "timestamp", CC_HTTP_MAX_FIELD, &timestamp, err))
        return false;
    cc_tx tx = {.from = cc_strdup(from),
                .to = cc_strdup(to),
                .signature = cc_strdup(signature),
                .timestamp = cc_strdup(timestamp),
                .amount = sum};
    tx.is_reward = strcmp(from, CC_HTTP_REWARD_FROM) == 0;
    if (!check_tx_fields(&tx, err)) {
        cc_tx_clear(&tx);
        return false;
    }
    tx_print(&tx);
    *out = tx;
    return true;
}

bool cc_http_tx_decode(const char *text, size_t len, cc_tx *out, cc_err *err)
{
    /* Zeroed before parsing, so that a refusal at any stage leaves out safe
     * to clear, as a refused block does. */
    memset(out, 0, sizeof *out);
    json_t *value = cc_json_parse(text, len, CC_HTTP_MAX_JSON_DEPTH, err);
    if (!value)
        return false;
    bool ok = cc_http_tx_from_json(value, out, err);
    json_decref(value);
    return ok;
}

bool cc_http_tx_verify(const cc_tx *tx)
{
    if (tx->is_reward)
        return true;
    return cc_p192_verify(tx->from, tx->text + tx->msg_off, tx->msg_len, tx->signature);
}

static void tx_assemble(cc_tx *tx, const char *from, const char *to, const cc_number *amount,
                        const char *timestamp, const char *signature)
{
    memset(tx, 0, sizeof *tx);
    tx->from = cc_strdup(from);
    tx->to = cc_strdup(to);
    tx->amount = *amount;
    tx->timestamp = cc_strdup(timestamp);
    tx->signature = cc_strdup(signature);
    tx->is_reward = strcmp(from, CC_HTTP_REWARD_FROM) == 0;
}

bool cc_http_tx_unsigned(const char *from, const char *to, const cc_number *amount,
                         const char *timestamp, cc_tx *out, cc_err *err)
{
    if (!amount_positive(amount))
        return cc_fail(err, CC_ERR_BAD_REQUEST, "sum must be a positive number");
    if (!check_key("from", from, err) || !check_key("to", to, err))
        return false;
    /* What is signed must decode again, here and at every peer. */
    if (!cc_text_representable(timestamp) || strlen(timestamp) > CC_HTTP_MAX_FIELD)
        return cc_fail(err, CC_ERR_BAD_REQUEST,
                       "timestamp must be at most %d printable ASCII characters without '\"' or '\\'",
                       CC_HTTP_MAX_FIELD);
    tx_assemble(out, from, to, amount, timestamp, "");
    tx_print(out);
    return true;
}

void cc_http_tx_attach_signature(cc_tx *tx, const char *signature)
{
    free(tx->text);
    free(tx->signature);
    tx->signature = cc_strdup(signature);
    tx_print(tx); /* the signature is outside the message: msg_off and msg_len hold */
}

void cc_http_tx_reward(const char *to, const cc_number *amount, const char *timestamp,
                       cc_tx *out)
{
    tx_assemble(out, CC_HTTP_REWARD_FROM, to, amount, timestamp, CC_HTTP_REWARD_FROM);
    tx_print(out);
}

/* ---- merkle root and proof of work ------------------------------------- */

void cc_http_merkle_root(const char (*txids)[CC_HASH_HEX_LEN + 1], size_t n,
                         char out[CC_HASH_HEX_LEN + 1])
{
    /* No transactions has no root; "" is a root no block can carry, so a
     * template built that way is refused instead of reading past the list. */
    if (n == 0) {
        out[0] = '\0';
        return;
    }
    size_t count = n + (n % 2);
    char(*level)[CC_HASH_HEX_LEN + 1] = cc_malloc(count * sizeof *level);
    memcpy(level, txids, n * sizeof *level);
    if (n % 2)
        memcpy(level[n], txids[n - 1], sizeof *level);
    /* The reference shrinks the list by one per round (pairs i, i+1 for
     * every i), not by half as Bitcoin does: quadratic, but it is the rule. */
    while (count > 1) {
        for (size_t i = 0; i + 1 < count; i++) {
            char pair[2 * CC_HASH_HEX_LEN];
            memcpy(pair, level[i], CC_HASH_HEX_LEN);
            memcpy(pair + CC_HASH_HEX_LEN, level[i + 1], CC_HASH_HEX_LEN);
            cc_sha256_hex(pair, sizeof pair, level[i]);
        }
        count--;
    }
    memcpy(out, level[0], CC_HASH_HEX_LEN + 1);
    free(level);
}

bool cc_http_pow_ok(const char *hash_hex) { return strncmp(hash_hex, "0000", 4) == 0; }

bool cc_http_pow_ok_raw(const uint8_t digest[CC_SHA256_LEN])
{
    return digest[0] == 0 && digest[1] == 0;
}

/* ---- blocks ------------------------------------------------------------- */

typedef struct block_fields {
    int64_t nr, count;
    const char *prev, *timestamp, *nonce, *hash, *creator, *merkle_root;
    const json_t *transactions;
} block_fields;

static bool read_block_fields(const json_t *value, block_fields *f, cc_err *err)
{
    if (!json_is_object(value))
        return cc_fail(err, CC_ERR_BAD_REQUEST, "a block must be a JSON object");
    if (!cc_json_get_int(value, "nr", &f->nr, err) ||
        !cc_json_get_text(value, "previous_hash", CC_HASH_HEX_LEN, &f->prev, err) ||
        !cc_json_get_text(value, "timestamp", CC_HTTP_MAX_FIELD, &f->timestamp, err) ||
        !cc_json_get_text(value, "nonce", CC_HTTP_MAX_FIELD, &f->nonce, err) ||
        !cc_json_get_text(value, "hash", CC_HASH_HEX_LEN, &f->hash, err) ||
        !cc_json_get_text(value, "creator", CC_HTTP_MAX_FIELD, &f->creator, err) ||
        !cc_json_get_text(value, "merkle_root", CC_HASH_HEX_LEN, &f->merkle_root, err) ||
        !cc_json_get_int(value, "count", &f->count, err))
        return false;
    f->transactions = json_object_get(value, "transactions");
    if (!json_is_array(f->transactions))
        return cc_fail(err, CC_ERR_BAD_REQUEST, "field 'transactions' must be a list");
    if (f->nr < 1)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "nr must be at least 1: the genesis block is fixed");
    if (!cc_is_lower_hex(f->prev, CC_HASH_HEX_LEN) || !cc_is_lower_hex(f->hash, CC_HASH_HEX_LEN) ||
        !cc_is_lower_hex(f->merkle_root, CC_HASH_HEX_LEN))
        return cc_fail(err, CC_ERR_BAD_REQUEST,
                       "previous_hash, hash and merkle_root must be 64 lowercase hex characters");
    size_t n = json_array_size(f->transactions);
    if (n == 0)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "a block holds at least one transaction");
    if (n > CC_HTTP_MAX_BLOCK_TXS)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "a block holds at most %d transactions",
                       CC_HTTP_MAX_BLOCK_TXS);
    if (f->count != (int64_t)n)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "count is %lld but the block holds %zu transactions",
                       (long long)f->count, n);
    return true;
}

static bool read_block_txs(const json_t *list, cc_block *block, cc_err *err)
{
    size_t n = json_array_size(list);
    block->txs = cc_calloc(n, sizeof *block->txs);
    for (size_t i = 0; i < n; i++) {
        if (!cc_http_tx_from_json(json_array_get(list, i), &block->txs[i], err))
            return cc_err_prefix(err, "transaction %zu: ", i);
        block->n_txs = i + 1;
    }
    return true;
}

static void print_block(const block_fields *f, const cc_block *block, const char *hash,
                        cc_buf *out)
{
    cc_buf_printf(out, "{\"nr\": %lld,\"previous_hash\": \"%s\",\"timestamp\": \"%s\",\"nonce\": \"%s\"",
                  (long long)f->nr, f->prev, f->timestamp, f->nonce);
    if (hash)
        cc_buf_printf(out, ",\"hash\": \"%s\"", hash);
    cc_buf_printf(out, ",\"creator\": \"%s\",\"merkle_root\": \"%s\",\"count\": %zu,\"transactions\": [",
                  f->creator, f->merkle_root, block->n_txs);
    for (size_t i = 0; i < block->n_txs; i++) {
        if (i)
            cc_buf_putc(out, ',');
        cc_buf_append(out, block->txs[i].text, block->txs[i].text_len);
    }
    cc_buf_puts(out, "]}");
}

/* Rewards add up to at most 1, counting a txid repeated in the block once;
 * a payment (non-reward message) may appear only once. */
static bool check_block_payments(const cc_block *block, cc_err *err)
{
    mpq_t total, amount, limit;
    mpq_inits(total, amount, limit, NULL);
    mpq_set_ui(limit, CC_HTTP_REWARD, 1);
    bool ok = true;
    for (size_t i = 0; ok && i < block->n_txs; i++) {
        const cc_tx *tx = &block->txs[i];
        bool repeated = false;
        for (size_t j = 0; j < i && !repeated; j++)
            repeated = tx->is_reward ? strcmp(block->txs[j].txid, tx->txid) == 0
                                     : strcmp(block->txs[j].msgid, tx->msgid) == 0;
        if (repeated && !tx->is_reward)
            ok = cc_fail(err, CC_ERR_BAD_REQUEST, "transaction %zu appears twice in the block", i);
        if (repeated || !tx->is_reward)
            continue;
        cc_amount_to_mpq(&tx->amount, amount);
        mpq_add(total, total, amount);
        if (mpq_cmp(total, limit) > 0)
            ok = cc_fail(err, CC_ERR_BAD_REQUEST,
                         "rewards in the block exceed the block reward of %d", CC_HTTP_REWARD);
    }
    mpq_clears(total, amount, limit, NULL);
    return ok;
}

static bool check_block_hashes(const block_fields *f, cc_block *block, cc_err *err)
{
    char(*txids)[CC_HASH_HEX_LEN + 1] = cc_malloc(block->n_txs * sizeof *txids);
    for (size_t i = 0; i < block->n_txs; i++)
        memcpy(txids[i], block->txs[i].txid, sizeof *txids);
    char root[CC_HASH_HEX_LEN + 1];
    cc_http_merkle_root((const char(*)[CC_HASH_HEX_LEN + 1])txids, block->n_txs, root);
    free(txids);
    if (strcmp(root, f->merkle_root) != 0)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "merkle_root does not match the transactions");
    cc_buf preimage = CC_BUF_INIT;
    print_block(f, block, NULL, &preimage);
    cc_sha256_hex(preimage.data, preimage.len, block->hash);
    cc_buf_free(&preimage);
    if (strcmp(block->hash, f->hash) != 0)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "hash does not match the block contents");
    if (!cc_http_pow_ok(block->hash))
        return cc_refuse(err, CC_REFUSAL_BAD_POW, "hash does not meet the proof of work (0000...)");
    return true;
}

/* A block claiming to be the genesis is answered as the genesis, without
 * decoding it: the genesis is fixed and is never stored from the network,
 * so whatever the claim holds, the answer is that the block exists. */
static bool is_genesis_claim(const json_t *value, cc_block *out)
{
    const json_t *nr = json_object_get(value, "nr");
    const json_t *hash = json_object_get(value, "hash");
    if (!json_is_integer(nr) || json_integer_value(nr) != 0 || !json_is_string(hash) ||
        strcmp(json_string_value(hash), CC_HTTP_GENESIS_HASH) != 0)
        return false;
    memcpy(out->hash, CC_HTTP_GENESIS_HASH, sizeof out->hash);
    out->text = cc_strdup(CC_HTTP_GENESIS_TEXT);
    out->text_len = strlen(CC_HTTP_GENESIS_TEXT);
    return true;
}

bool cc_http_block_decode(const char *text, size_t len, cc_block *out, cc_err *err)
{
    memset(out, 0, sizeof *out);
    json_t *value = cc_json_parse(text, len, CC_HTTP_MAX_JSON_DEPTH, err);
    if (!value)
        return false;
    block_fields f;
    cc_block block = {0};
    if (is_genesis_claim(value, out)) {
        json_decref(value);
        return true;
    }
    bool ok = read_block_fields(value, &f, err) && read_block_txs(f.transactions, &block, err) &&
              check_block_hashes(&f, &block, err) && check_block_payments(&block, err);
    if (ok) {
        block.height = f.nr;
        memcpy(block.prev, f.prev, CC_HASH_HEX_LEN + 1);
        cc_buf wire = CC_BUF_INIT;
        print_block(&f, &block, block.hash, &wire);
        block.text_len = wire.len;
        block.text = cc_buf_take(&wire);
        *out = block;
    } else {
        cc_block_clear(&block);
    }
    json_decref(value);
    return ok;
}

/* ---- mining templates ----------------------------------------------------- */

void cc_http_template_build(cc_block_template *tpl, int64_t height, const char *prev,
                            const char *timestamp, const char *creator, const cc_tx *txs,
                            size_t n_txs)
{
    memset(tpl, 0, sizeof *tpl);
    tpl->height = height;
    char(*txids)[CC_HASH_HEX_LEN + 1] = cc_malloc(n_txs * sizeof *txids);
    for (size_t i = 0; i < n_txs; i++)
        memcpy(txids[i], txs[i].txid, sizeof *txids);
    char root[CC_HASH_HEX_LEN + 1];
    cc_http_merkle_root((const char(*)[CC_HASH_HEX_LEN + 1])txids, n_txs, root);
    free(txids);
    cc_buf_printf(&tpl->prefix, "{\"nr\": %lld,\"previous_hash\": \"%s\",\"timestamp\": \"%s\",\"nonce\": \"",
                  (long long)height, prev, timestamp);
    cc_buf_printf(&tpl->suffix, "\",\"creator\": \"%s\",\"merkle_root\": \"%s\",\"count\": %zu,\"transactions\": [",
                  creator, root, n_txs);
    for (size_t i = 0; i < n_txs; i++) {
        if (i)
            cc_buf_putc(&tpl->suffix, ',');
        cc_buf_append(&tpl->suffix, txs[i].text, txs[i].text_len);
    }
    cc_buf_puts(&tpl->suffix, "]}");
}

bool cc_http_template_finish(const cc_block_template *tpl, const char *nonce, cc_buf *text)
{
    cc_sha256_ctx ctx;
    cc_sha256_init(&ctx);
    cc_sha256_update(&ctx, tpl->prefix.data, tpl->prefix.len);
    cc_sha256_update(&ctx, nonce, strlen(nonce));
    cc_sha256_update(&ctx, tpl->suffix.data, tpl->suffix.len);
    uint8_t digest[CC_SHA256_LEN];
    cc_sha256_final(&ctx, digest);
    char hash[CC_HASH_HEX_LEN + 1];
    cc_hex_encode(digest, sizeof digest, hash);
    cc_buf_reset(text);
    cc_buf_append(text, tpl->prefix.data, tpl->prefix.len);
    cc_buf_puts(text, nonce);
    cc_buf_printf(text, "\",\"hash\": \"%s", hash);
    cc_buf_append(text, tpl->suffix.data, tpl->suffix.len);
    return true;
}

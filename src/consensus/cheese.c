#include "consensus/cheese.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/hex.h"
#include "util/mem.h"

const char *cc_cheese_genesis_text(void) { return CC_CHEESE_GENESIS_TEXT; }

/* ---- Python texts -------------------------------------------------------- */

static bool printable_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

/* Python's unicode_repr: single quotes unless the text holds a ' and no ";
 * then the quote in use and backslashes are escaped (within printable
 * ASCII, nothing else is). */
bool cc_cheese_py_repr(const char *s, cc_buf *out)
{
    if (!s || !printable_ascii(s))
        return false;
    char quote = (strchr(s, '\'') && !strchr(s, '"')) ? '"' : '\'';
    cc_buf_putc(out, quote);
    for (; *s; s++) {
        if (*s == quote || *s == '\\')
            cc_buf_putc(out, '\\');
        cc_buf_putc(out, *s);
    }
    cc_buf_putc(out, quote);
    return true;
}

bool cc_cheese_json_str(const char *s, cc_buf *out)
{
    if (!s || !printable_ascii(s))
        return false;
    cc_buf_putc(out, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            cc_buf_putc(out, '\\');
        cc_buf_putc(out, *s);
    }
    cc_buf_putc(out, '"');
    return true;
}

/* ---- transactions ------------------------------------------------------ */

void cc_cheese_tx_payload(const cc_tx *tx, cc_buf *out)
{
    char amount[CC_NUMBER_TEXT_MAX];
    cc_number_format(&tx->amount, amount);
    cc_buf_puts(out, tx->from);
    cc_buf_puts(out, tx->to);
    cc_buf_puts(out, amount);
}

/* Every string reaching the printers was checked printable ASCII on the
 * way in (cc_json_get_text, or the checks of tx_create / tx_reward). */
static void tx_print(cc_tx *tx)
{
    char amount[CC_NUMBER_TEXT_MAX];
    cc_number_format(&tx->amount, amount);
    cc_buf text = CC_BUF_INIT;
    cc_buf_puts(&text, "{\"sender\": ");
    cc_cheese_json_str(tx->from, &text);
    cc_buf_puts(&text, ", \"recipient\": ");
    cc_cheese_json_str(tx->to, &text);
    cc_buf_printf(&text, ", \"amount\": %s, \"signature\": ", amount);
    cc_cheese_json_str(tx->signature, &text);
    cc_buf_putc(&text, '}');
    tx->text_len = text.len;
    tx->text = cc_buf_take(&text);
    cc_sha256_hex(tx->text, tx->text_len, tx->txid);
    /* The signed payload is no slice of the text: msgid is its own hash. */
    tx->msg_off = 0;
    tx->msg_len = 0;
    cc_buf payload = CC_BUF_INIT;
    cc_cheese_tx_payload(tx, &payload);
    cc_sha256_hex(payload.data, payload.len, tx->msgid);
    cc_buf_free(&payload);
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
    if (!cc_rsa_pubkey_valid(key))
        return cc_fail(err, CC_ERR_BAD_REQUEST,
                       "%s must be an RSA public key: lowercase hex of a DER SubjectPublicKeyInfo "
                       "of %d to %d bits",
                       what, CC_RSA_MIN_BITS, CC_RSA_MAX_BITS);
    return true;
}

static bool check_tx_fields(const cc_tx *tx, cc_err *err)
{
    if (!amount_positive(&tx->amount))
        return cc_fail(err, CC_ERR_BAD_REQUEST, "amount must be a positive number");
    bool reward_sender = strcmp(tx->from, CC_CHEESE_REWARD_SENDER) == 0;
    bool reward_signature = strcmp(tx->signature, CC_CHEESE_REWARD_SIGNATURE) == 0;
    if (reward_sender != reward_signature)
        return cc_fail(err, CC_ERR_BAD_REQUEST,
                       "only a reward (sender '" CC_CHEESE_REWARD_SENDER
                       "') carries the signature '" CC_CHEESE_REWARD_SIGNATURE "'");
    if (!reward_sender) {
        size_t size = cc_rsa_pubkey_size(tx->from);
        if (size == 0)
            return check_key("sender", tx->from, err);
        if (!cc_is_lower_hex(tx->signature, 2 * size))
            return cc_fail(err, CC_ERR_BAD_REQUEST,
                           "signature must be %zu lowercase hex characters (the sender key's size)",
                           2 * size);
    }
    return check_key("recipient", tx->to, err);
}

bool cc_cheese_tx_from_json(const json_t *value, cc_tx *out, cc_err *err)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(value))
        return cc_fail(err, CC_ERR_BAD_REQUEST, "a transaction must be a JSON object");
    const char *sender, *recipient, *signature;
    cc_number amount;
    if (!cc_json_get_text(value, "sender", CC_CHEESE_MAX_KEY, &sender, err) ||
        !cc_json_get_text(value, "recipient", CC_CHEESE_MAX_KEY, &recipient, err) ||
        !cc_json_get_number(value, "amount", &amount, err) ||
        !cc_json_get_text(value, "signature", CC_RSA_SIG_HEX_MAX, &signature, err))
        return false;
    cc_tx tx = {.from = cc_strdup(sender),
                .to = cc_strdup(recipient),
                .signature = cc_strdup(signature),
                .amount = amount};
    tx.is_reward = strcmp(sender, CC_CHEESE_REWARD_SENDER) == 0;
    if (!check_tx_fields(&tx, err)) {
        cc_tx_clear(&tx);
        return false;
    }
    tx_print(&tx);
    *out = tx;
    return true;
}

bool cc_cheese_tx_decode(const char *text, size_t len, cc_tx *out, cc_err *err)
{
    /* Zeroed before parsing, so that a refusal at any stage leaves out safe
     * to clear. */
    memset(out, 0, sizeof *out);
    json_t *value = cc_json_parse(text, len, CC_CHEESE_MAX_JSON_DEPTH, err);
    if (!value)
        return false;
    bool ok = cc_cheese_tx_from_json(value, out, err);
    json_decref(value);
    return ok;
}

bool cc_cheese_tx_verify(const cc_tx *tx)
{
    if (tx->is_reward)
        return true;
    cc_buf payload = CC_BUF_INIT;
    cc_cheese_tx_payload(tx, &payload);
    bool ok = cc_rsa_verify(tx->from, payload.data, payload.len, tx->signature);
    cc_buf_free(&payload);
    return ok;
}

static void tx_assemble(cc_tx *tx, const char *from, const char *to, const cc_number *amount,
                        const char *signature)
{
    memset(tx, 0, sizeof *tx);
    tx->from = cc_strdup(from);
    tx->to = cc_strdup(to);
    tx->amount = *amount;
    tx->signature = cc_strdup(signature);
    tx->is_reward = strcmp(from, CC_CHEESE_REWARD_SENDER) == 0;
}

bool cc_cheese_tx_unsigned(const char *from, const char *to, const cc_number *amount,
                           cc_tx *out, cc_err *err)
{
    memset(out, 0, sizeof *out);
    if (!amount_positive(amount))
        return cc_fail(err, CC_ERR_BAD_REQUEST, "amount must be a positive number");
    if (!check_key("recipient", to, err))
        return false;
    if (!from || !cc_rsa_pubkey_valid(from))
        return cc_fail(err, CC_ERR_BAD_REQUEST, "the paying key is not a valid RSA key");
    tx_assemble(out, from, to, amount, "");
    return true;
}

void cc_cheese_tx_attach_signature(cc_tx *tx, char *signature)
{
    free(tx->signature);
    tx->signature = signature;
    tx_print(tx);
}

void cc_cheese_tx_reward(const char *to, cc_tx *out)
{
    const cc_number reward = {.is_int = true, .i = CC_CHEESE_REWARD};
    tx_assemble(out, CC_CHEESE_REWARD_SENDER, to, &reward, CC_CHEESE_REWARD_SIGNATURE);
    tx_print(out);
}

/* ---- smell and proof of work --------------------------------------------- */

void cc_cheese_smell_preimage(const cc_cheese_header *h, const cc_tx *txs, size_t n_txs,
                              cc_buf *out)
{
    char number[CC_NUMBER_TEXT_MAX];
    cc_buf_printf(out, "{\"nonce\": %lld, \"parent_smell\": ", (long long)h->nonce);
    cc_cheese_json_str(h->parent_smell, out);
    cc_number_format(&h->timestamp, number);
    cc_buf_printf(out, ", \"sequence_number\": %lld, \"timestamp\": %s, \"transactions\": [",
                  (long long)h->sequence_number, number);
    for (size_t i = 0; i < n_txs; i++) {
        cc_number_format(&txs[i].amount, number);
        cc_buf_printf(out, "%s{\"amount\": %s, \"recipient\": ", i ? ", " : "", number);
        cc_cheese_json_str(txs[i].to, out);
        cc_buf_puts(out, ", \"sender\": ");
        cc_cheese_json_str(txs[i].from, out);
        cc_buf_putc(out, '}');
    }
    cc_buf_puts(out, "]}");
}

void cc_cheese_smell(const cc_cheese_header *h, const cc_tx *txs, size_t n_txs,
                     char out[CC_HASH_HEX_LEN + 1])
{
    cc_buf pre = CC_BUF_INIT;
    cc_cheese_smell_preimage(h, txs, n_txs, &pre);
    cc_sha256_hex(pre.data, pre.len, out);
    cc_buf_free(&pre);
}

void cc_cheese_pow_prefix(const cc_tx *payments, size_t n_payments, const char *parent_smell,
                          cc_buf *out)
{
    cc_buf_putc(out, '[');
    for (size_t i = 0; i < n_payments; i++) {
        char amount[CC_NUMBER_TEXT_MAX];
        cc_number_format(&payments[i].amount, amount);
        cc_buf_puts(out, i ? ", OrderedDict([('sender', " : "OrderedDict([('sender', ");
        cc_cheese_py_repr(payments[i].from, out);
        cc_buf_puts(out, "), ('recipient', ");
        cc_cheese_py_repr(payments[i].to, out);
        cc_buf_printf(out, "), ('amount', %s)])", amount);
    }
    cc_buf_putc(out, ']');
    cc_buf_puts(out, parent_smell);
}

bool cc_cheese_pow_ok(const char *hash_hex) { return strncmp(hash_hex, "00", 2) == 0; }

bool cc_cheese_pow_ok_raw(const uint8_t digest[CC_SHA256_LEN]) { return digest[0] == 0; }

/* ---- blocks ------------------------------------------------------------- */

/* The wire text around the nonce: before = up to `"nonce": `, after = from
 * `, "timestamp"` to the end. */
static void block_text_parts(int64_t height, const char *parent_smell, const cc_number *timestamp,
                             const cc_tx *txs, size_t n_txs, cc_buf *before, cc_buf *after)
{
    cc_buf_printf(before, "{\"sequence_number\": %lld, \"parent_smell\": ", (long long)height);
    cc_cheese_json_str(parent_smell, before);
    cc_buf_puts(before, ", \"transactions\": [");
    for (size_t i = 0; i < n_txs; i++) {
        if (i)
            cc_buf_puts(before, ", ");
        cc_buf_append(before, txs[i].text, txs[i].text_len);
    }
    cc_buf_puts(before, "], \"nonce\": ");
    char number[CC_NUMBER_TEXT_MAX];
    cc_number_format(timestamp, number);
    cc_buf_printf(after, ", \"timestamp\": %s}", number);
}

void cc_cheese_block_text(const cc_cheese_header *h, const cc_tx *txs, size_t n_txs, cc_buf *out)
{
    cc_buf after = CC_BUF_INIT;
    block_text_parts(h->sequence_number, h->parent_smell, &h->timestamp, txs, n_txs, out, &after);
    cc_buf_printf(out, "%lld", (long long)h->nonce);
    cc_buf_append(out, after.data, after.len);
    cc_buf_free(&after);
}

static bool read_header(const json_t *value, cc_cheese_header *h, const json_t **list,
                        cc_err *err)
{
    if (!json_is_object(value))
        return cc_fail(err, CC_ERR_BAD_REQUEST, "a block must be a JSON object");
    if (!cc_json_get_int(value, "sequence_number", &h->sequence_number, err) ||
        !cc_json_get_text(value, "parent_smell", CC_HASH_HEX_LEN, &h->parent_smell, err))
        return false;
    *list = json_object_get(value, "transactions");
    if (!*list)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "missing field 'transactions'");
    if (!json_is_array(*list))
        return cc_fail(err, CC_ERR_BAD_REQUEST, "field 'transactions' must be a list");
    if (!cc_json_get_int(value, "nonce", &h->nonce, err) ||
        !cc_json_get_number(value, "timestamp", &h->timestamp, err))
        return false;
    if (h->sequence_number < 0)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "sequence_number must not be negative");
    if (json_array_size(*list) > CC_CHEESE_MAX_BLOCK_TXS)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "a block holds at most %d transactions",
                       CC_CHEESE_MAX_BLOCK_TXS);
    return true;
}

/* A block numbered 0 is the genesis or nothing: its smell must be the
 * genesis smell (so every field is the genesis's, timestamp 0 an int). */
static bool decode_genesis(const cc_cheese_header *h, const json_t *list, cc_block *out,
                           cc_err *err)
{
    char smell[CC_HASH_HEX_LEN + 1] = "";
    if (json_array_size(list) == 0)
        cc_cheese_smell(h, NULL, 0, smell);
    if (strcmp(smell, CC_CHEESE_GENESIS_SMELL) != 0)
        return cc_fail(err, CC_ERR_BAD_REQUEST,
                       "sequence_number 0 is the genesis block, which is fixed: " CC_CHEESE_GENESIS_TEXT);
    memcpy(out->hash, CC_CHEESE_GENESIS_SMELL, sizeof out->hash);
    out->text = cc_strdup(CC_CHEESE_GENESIS_TEXT);
    out->text_len = strlen(CC_CHEESE_GENESIS_TEXT);
    return true;
}

static bool read_block_txs(const json_t *list, cc_block *block, cc_err *err)
{
    size_t n = json_array_size(list);
    if (n == 0)
        return cc_fail(err, CC_ERR_BAD_REQUEST,
                       "a block holds at least its reward transaction, last");
    block->txs = cc_calloc(n, sizeof *block->txs);
    for (size_t i = 0; i < n; i++) {
        if (!cc_cheese_tx_from_json(json_array_get(list, i), &block->txs[i], err))
            return cc_err_prefix(err, "transaction %zu: ", i);
        block->n_txs = i + 1;
    }
    return true;
}

/* Exactly one reward, last, of exactly 10 (10.0 is the same value); no
 * payment (signed payload) twice. */
static bool check_block_payments(const cc_block *block, cc_err *err)
{
    size_t last = block->n_txs - 1;
    for (size_t i = 0; i < last; i++) {
        if (block->txs[i].is_reward)
            return cc_fail(err, CC_ERR_BAD_REQUEST,
                           "transaction %zu: a block holds one reward, as its last transaction", i);
        for (size_t j = 0; j < i; j++)
            if (strcmp(block->txs[j].msgid, block->txs[i].msgid) == 0)
                return cc_fail(err, CC_ERR_BAD_REQUEST, "transaction %zu appears twice in the block",
                               i);
    }
    const cc_tx *reward = &block->txs[last];
    if (!reward->is_reward)
        return cc_fail(err, CC_ERR_BAD_REQUEST,
                       "the last transaction must be the reward to the miner");
    const cc_number *a = &reward->amount;
    if (!(a->is_int ? a->i == CC_CHEESE_REWARD : a->d == (double)CC_CHEESE_REWARD))
        return cc_fail(err, CC_ERR_BAD_REQUEST, "the reward must be %d", CC_CHEESE_REWARD);
    return true;
}

static bool check_pow(const cc_cheese_header *h, const cc_block *block, cc_err *err)
{
    cc_buf pre = CC_BUF_INIT;
    cc_cheese_pow_prefix(block->txs, block->n_txs - 1, h->parent_smell, &pre);
    cc_buf_printf(&pre, "%lld", (long long)h->nonce);
    uint8_t digest[CC_SHA256_LEN];
    cc_sha256(pre.data, pre.len, digest);
    cc_buf_free(&pre);
    if (!cc_cheese_pow_ok_raw(digest))
        return cc_refuse(err, CC_REFUSAL_BAD_POW,
                         "nonce does not meet the proof of work (sha256 of the transactions, "
                         "parent_smell and nonce must start with 00)");
    return true;
}

bool cc_cheese_block_from_json(const json_t *value, cc_block *out, cc_err *err)
{
    memset(out, 0, sizeof *out);
    cc_cheese_header h;
    const json_t *list = NULL;
    bool ok = read_header(value, &h, &list, err);
    if (ok && h.sequence_number == 0)
        return decode_genesis(&h, list, out, err);
    if (ok && !cc_is_lower_hex(h.parent_smell, CC_HASH_HEX_LEN))
        ok = cc_fail(err, CC_ERR_BAD_REQUEST, "parent_smell must be 64 lowercase hex characters");
    cc_block block = {0};
    ok = ok && read_block_txs(list, &block, err) && check_block_payments(&block, err) &&
         check_pow(&h, &block, err);
    if (ok) {
        block.height = h.sequence_number;
        memcpy(block.prev, h.parent_smell, CC_HASH_HEX_LEN + 1);
        cc_cheese_smell(&h, block.txs, block.n_txs, block.hash);
        cc_buf wire = CC_BUF_INIT;
        cc_cheese_block_text(&h, block.txs, block.n_txs, &wire);
        block.text_len = wire.len;
        block.text = cc_buf_take(&wire);
        *out = block;
    } else {
        cc_block_clear(&block);
    }
    return ok;
}

bool cc_cheese_block_decode(const char *text, size_t len, cc_block *out, cc_err *err)
{
    memset(out, 0, sizeof *out);
    json_t *value = cc_json_parse(text, len, CC_CHEESE_MAX_JSON_DEPTH, err);
    if (!value)
        return false;
    bool ok = cc_cheese_block_from_json(value, out, err);
    json_decref(value);
    return ok;
}

/* ---- mining templates ----------------------------------------------------- */

void cc_cheese_template_build(cc_block_template *tpl, int64_t height, const char *parent_smell,
                              const cc_number *timestamp, const cc_tx *txs, size_t n_txs)
{
    memset(tpl, 0, sizeof *tpl);
    tpl->height = height;
    size_t n_payments = (n_txs > 0 && txs[n_txs - 1].is_reward) ? n_txs - 1 : n_txs;
    cc_cheese_pow_prefix(txs, n_payments, parent_smell, &tpl->prefix);
    cc_buf_puts(&tpl->suffix, ""); /* empty, but a string a miner may copy */
    block_text_parts(height, parent_smell, timestamp, txs, n_txs, &tpl->text_prefix,
                     &tpl->text_suffix);
}

/* Python's str() of a non-negative int that JSON readers (ours: 64-bit)
 * read back as the same int. */
static bool nonce_canonical(const char *nonce)
{
    static const char max[] = "9223372036854775807";
    size_t len = strlen(nonce);
    if (len == 0 || len > sizeof max - 1 || (len > 1 && nonce[0] == '0'))
        return false;
    for (size_t i = 0; i < len; i++)
        if (nonce[i] < '0' || nonce[i] > '9')
            return false;
    return len < sizeof max - 1 || strcmp(nonce, max) <= 0;
}

bool cc_cheese_template_finish(const cc_block_template *tpl, const char *nonce, cc_buf *text)
{
    if (!nonce || !nonce_canonical(nonce))
        return false;
    cc_buf_reset(text);
    cc_buf_append(text, tpl->text_prefix.data, tpl->text_prefix.len);
    cc_buf_puts(text, nonce);
    cc_buf_append(text, tpl->text_suffix.data, tpl->text_suffix.len);
    return true;
}

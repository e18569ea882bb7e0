/* Unit tests for src/consensus (the http network's rules): every vector of
 * tests/vectors/http-network.json (made by the reference implementation),
 * then everything a peer could send that must be refused, then mining
 * templates. Blocks that must pass proof of work are mined here, with the
 * real difficulty, by a printer of the test's own (so the code under test
 * does not grade its own homework). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/block.h"
#include "consensus/http.h"
#include "consensus/rules.h"
#include "crypto/hash.h"
#include "crypto/p192.h"
#include "util/buf.h"
#include "util/hex.h"
#include "util/mem.h"
#include "wallet/payment.h"

#include "chain_env.h"
#include "checks.h"
#include "vectors.h"

#define VECTORS CC_VECTORS_DIR "/http-network.json"
#define P192_N "ffffffffffffffffffffffff99def836146bc9b1b4d22831"
#define TS "2026-01-01T00:00:00.000000"

/* ---- helpers ---------------------------------------------------------- */

/* The test keys of the vectors: private scalars 1000, 1001, 1002. */
static void test_key(int index, cc_p192_key *out)
{
    cc_test_p192_key(1000 + (unsigned)index, out);
}

static void tx_ok(const char *text, cc_tx *out)
{
    cc_err err = {0};
    if (!cc_http_tx_decode(text, strlen(text), out, &err))
        fail_msg("transaction refused: %s\n%s", err.msg, text);
}

static void assert_tx_refused(const char *text, const char *part)
{
    cc_tx tx;
    memset(&tx, 0xa5, sizeof tx); /* whatever the caller's stack held */
    cc_err err = {0};
    if (cc_http_tx_decode(text, strlen(text), &tx, &err)) {
        cc_tx_clear(&tx);
        fail_msg("transaction accepted: %s", text);
    }
    assert_bad_request(&err, part);
    /* A refused decode leaves nothing to free, and clearing is safe. */
    assert_null(tx.text);
    assert_null(tx.from);
    cc_tx_clear(&tx);
}

static void block_ok(const char *text, size_t len, cc_block *out)
{
    cc_err err = {0};
    if (!cc_http_block_decode(text, len, out, &err))
        fail_msg("block refused: %s\n%.300s", err.msg, text);
}

static void assert_block_refused_n(const char *text, size_t len, const char *part)
{
    cc_block block;
    memset(&block, 0xa5, sizeof block);
    cc_err err = {0};
    if (cc_http_block_decode(text, len, &block, &err)) {
        cc_block_clear(&block);
        fail_msg("block accepted: %.400s", text);
    }
    assert_bad_request(&err, part);
    assert_null(block.text);
    assert_null(block.txs);
    cc_block_clear(&block);
}

static void assert_block_refused(const cc_buf *text, const char *part)
{
    assert_block_refused_n(text->data, text->len, part);
}

/* A signed transaction's JSON with each member given as raw JSON text;
 * NULL leaves the member out. */
static void tx_json(cc_buf *out, const char *sig, const char *from, const char *to,
                    const char *sum, const char *ts)
{
    cc_buf_reset(out);
    cc_buf_puts(out, "{");
    if (sig)
        cc_buf_printf(out, "\"signature\": %s,", sig);
    cc_buf_puts(out, "\"transaction\": {");
    const char *names[] = {"from", "to", "sum", "timestamp"};
    const char *values[] = {from, to, sum, ts};
    bool first = true;
    for (int i = 0; i < 4; i++) {
        if (!values[i])
            continue;
        cc_buf_printf(out, "%s\"%s\": %s", first ? "" : ",", names[i], values[i]);
        first = false;
    }
    cc_buf_puts(out, "}}");
}

static char *quoted(const char *s)
{
    cc_buf b = CC_BUF_INIT;
    cc_buf_printf(&b, "\"%s\"", s);
    return cc_buf_take(&b);
}

/* ---- a block printer and miner of the test's own -------------------------- */

typedef struct craft {
    long long nr;
    const char *prev;
    const char *timestamp;
    const char *creator;
    const char *merkle_root; /* NULL: computed from the transactions */
    long long count;         /* -1: the number of transactions */
    const char *const *txs;
    size_t n_txs;
} craft;

static void craft_print(const craft *c, const char *nonce, const char *root, const char *hash,
                        cc_buf *out)
{
    cc_buf_reset(out);
    cc_buf_printf(out, "{\"nr\": %lld,\"previous_hash\": \"%s\",\"timestamp\": \"%s\",\"nonce\": \"%s\"",
                  c->nr, c->prev, c->timestamp, nonce);
    if (hash)
        cc_buf_printf(out, ",\"hash\": \"%s\"", hash);
    cc_buf_printf(out, ",\"creator\": \"%s\",\"merkle_root\": \"%s\",\"count\": %lld,\"transactions\": [",
                  c->creator, root, c->count < 0 ? (long long)c->n_txs : c->count);
    for (size_t i = 0; i < c->n_txs; i++)
        cc_buf_printf(out, "%s%s", i ? "," : "", c->txs[i]);
    cc_buf_puts(out, "]}");
}

/* The reference merkle root, written out again from PROTOCOL.md A.2. */
static void reference_root(const char *const *txs, size_t n, char out[65])
{
    size_t count = n + n % 2;
    char(*level)[65] = calloc(count ? count : 1, sizeof *level);
    for (size_t i = 0; i < n; i++)
        cc_sha256_hex(txs[i], strlen(txs[i]), level[i]);
    if (n % 2)
        memcpy(level[n], level[n - 1], 65);
    for (; count > 1; count--)
        for (size_t i = 0; i + 1 < count; i++) {
            char pair[129];
            snprintf(pair, sizeof pair, "%s%s", level[i], level[i + 1]);
            cc_sha256_hex(pair, 128, level[i]);
        }
    memcpy(out, n ? level[0] : "", n ? 65 : 1);
    free(level);
}

/* Leading '0' digits of a hex hash. */
static size_t leading_zeros(const char *hash) { return strspn(hash, "0"); }

/* Prints c with a nonce whose hash has exactly `zeros` leading zero digits
 * (at least 4 when zeros is 4: the proof of work); the hash member is the
 * true hash. The text around the nonce is printed once and hashed from a
 * copied state per attempt. */
static void craft_mine_zeros(const craft *c, size_t zeros, cc_buf *out)
{
    char root[65];
    if (c->merkle_root)
        snprintf(root, sizeof root, "%s", c->merkle_root);
    else
        reference_root(c->txs, c->n_txs, root);
    cc_buf pre = CC_BUF_INIT;
    craft_print(c, "\x01", root, NULL, &pre);
    const char *mark = strchr(pre.data, '\x01');
    size_t prefix_len = (size_t)(mark - pre.data);
    cc_sha256_ctx base;
    cc_sha256_init(&base);
    cc_sha256_update(&base, pre.data, prefix_len);
    for (unsigned long i = 0;; i++) {
        char nonce[24], hash[65];
        snprintf(nonce, sizeof nonce, "t%lu", i);
        cc_sha256_ctx ctx = base;
        cc_sha256_update(&ctx, nonce, strlen(nonce));
        cc_sha256_update(&ctx, mark + 1, pre.len - prefix_len - 1);
        uint8_t digest[CC_SHA256_LEN];
        cc_sha256_final(&ctx, digest);
        cc_hex_encode(digest, sizeof digest, hash);
        size_t z = leading_zeros(hash);
        if (z == zeros || (zeros == 4 && z > 4)) {
            craft_print(c, nonce, root, hash, out);
            break;
        }
    }
    cc_buf_free(&pre);
}

/* A hash that meets the proof of work (want_pow), or has no leading zero. */
static void craft_mine(const craft *c, bool want_pow, cc_buf *out)
{
    craft_mine_zeros(c, want_pow ? 4 : 0, out);
}

/* A payment signed with key: the canonical text (caller frees). */
static char *payment(const cc_p192_key *from, const cc_p192_key *to, cc_number amount,
                     const char *ts)
{
    cc_tx tx;
    cc_err err = {0};
    assert_true(cc_http_tx_create(from, to->pub_hex, &amount, ts, &tx, &err));
    char *text = cc_strndup(tx.text, tx.text_len);
    cc_tx_clear(&tx);
    return text;
}

static char *reward(const cc_p192_key *to, cc_number amount, const char *ts)
{
    cc_tx tx;
    cc_http_tx_reward(to->pub_hex, &amount, ts, &tx);
    char *text = cc_strndup(tx.text, tx.text_len);
    cc_tx_clear(&tx);
    return text;
}

static const cc_number ONE = {.is_int = true, .i = 1};

/* ---- vectors ------------------------------------------------------------------ */

static void test_genesis(void **state)
{
    (void)state;
    json_t *root = load_json(VECTORS);
    const json_t *g = json_object_get(root, "genesis");
    assert_string_equal(cc_http_genesis_text(), str_at(g, "json"));
    assert_string_equal(CC_HTTP_GENESIS_HASH, str_at(g, "hash"));
    const char *pre = str_at(g, "hash_preimage");
    char hash[65];
    cc_sha256_hex(pre, strlen(pre), hash);
    assert_string_equal(hash, str_at(g, "hash"));
    /* The pre-image is the block without its hash member. */
    cc_buf expected = CC_BUF_INIT;
    cc_buf_printf(&expected, ",\"hash\": \"%s\"", CC_HTTP_GENESIS_HASH);
    const char *json = str_at(g, "json");
    const char *at = strstr(json, expected.data);
    assert_non_null(at);
    cc_buf_reset(&expected);
    cc_buf_append(&expected, json, (size_t)(at - json));
    cc_buf_puts(&expected, at + strlen(",\"hash\": \"\"") + 64);
    assert_string_equal(expected.data, pre);
    /* Its merkle root is that of its one transaction. */
    const char *tx_start = strstr(json, "[{");
    assert_non_null(tx_start);
    char *tx = cc_strndup(tx_start + 1, strlen(tx_start + 1) - 2);
    char leaf[1][CC_HASH_HEX_LEN + 1], merkle[65];
    cc_sha256_hex(tx, strlen(tx), leaf[0]);
    cc_http_merkle_root((const char(*)[CC_HASH_HEX_LEN + 1])leaf, 1, merkle);
    assert_string_equal(merkle, str_at(g, "merkle_root"));
    free(tx);
    /* Decoding the genesis answers the genesis. */
    cc_block block;
    block_ok(json, strlen(json), &block);
    assert_string_equal(block.hash, CC_HTTP_GENESIS_HASH);
    assert_string_equal(block.text, json);
    assert_int_equal(block.text_len, strlen(json));
    assert_int_equal(block.height, 0);
    assert_string_equal(block.prev, "");
    cc_block_clear(&block);
    cc_buf_free(&expected);
    json_decref(root);
}

static void test_merkle_vectors(void **state)
{
    (void)state;
    json_t *root = load_json(VECTORS);
    const json_t *entries = json_object_get(root, "merkle");
    assert_int_equal(json_array_size(entries), 7);
    size_t i;
    const json_t *entry;
    json_array_foreach(entries, i, entry) {
        const json_t *leaves = json_object_get(entry, "leaf_txids");
        size_t n = json_array_size(leaves);
        assert_int_equal(n, (size_t)json_integer_value(json_object_get(entry, "count")));
        assert_int_equal(n, i + 1);
        char(*txids)[CC_HASH_HEX_LEN + 1] = calloc(n, sizeof *txids);
        for (size_t j = 0; j < n; j++)
            snprintf(txids[j], sizeof txids[j], "%s", json_string_value(json_array_get(leaves, j)));
        char out[CC_HASH_HEX_LEN + 1];
        cc_http_merkle_root((const char(*)[CC_HASH_HEX_LEN + 1])txids, n, out);
        assert_string_equal(out, str_at(entry, "merkle_root"));
        free(txids);
    }
    json_decref(root);
}

static void test_transaction_vectors(void **state)
{
    (void)state;
    json_t *root = load_json(VECTORS);
    const json_t *entries = json_object_get(root, "transactions");
    assert_int_equal(json_array_size(entries), 8);
    size_t i;
    const json_t *entry;
    json_array_foreach(entries, i, entry) {
        const char *signed_json = str_at(entry, "signed_json");
        const char *message = str_at(entry, "signed_message");
        cc_tx tx;
        tx_ok(signed_json, &tx);
        assert_string_equal(tx.text, signed_json);
        assert_int_equal(tx.text_len, strlen(signed_json));
        assert_int_equal(tx.msg_len, strlen(message));
        assert_memory_equal(tx.text + tx.msg_off, message, tx.msg_len);
        char msgid[65];
        cc_sha256_hex(message, strlen(message), msgid);
        assert_string_equal(tx.msgid, msgid);
        if (json_object_get(entry, "txid_sha256_of_signed_json"))
            assert_string_equal(tx.txid, str_at(entry, "txid_sha256_of_signed_json"));
        char txid[65];
        cc_sha256_hex(signed_json, strlen(signed_json), txid);
        assert_string_equal(tx.txid, txid);
        assert_false(tx.is_reward);
        bool valid = json_is_true(json_object_get(entry, "valid"));
        if (cc_http_tx_verify(&tx) != valid)
            fail_msg("transaction vector %zu: verify should be %d", i, valid);
        /* The same through the rules table. */
        const cc_rules *rules = cc_rules_http();
        cc_tx again;
        assert_true(rules->tx_decode(signed_json, strlen(signed_json), &again, NULL));
        assert_int_equal(rules->tx_verify(&again), valid);
        cc_tx_clear(&again);
        cc_tx_clear(&tx);
    }
    json_decref(root);
}

static void test_block_vectors(void **state)
{
    (void)state;
    json_t *root = load_json(VECTORS);
    const json_t *entries = json_object_get(root, "blocks");
    assert_int_equal(json_array_size(entries), 2);
    size_t i;
    const json_t *entry;
    json_array_foreach(entries, i, entry) {
        const char *json = str_at(entry, "json");
        cc_block block;
        block_ok(json, strlen(json), &block);
        assert_string_equal(block.text, json);
        assert_int_equal(block.text_len, strlen(json));
        assert_string_equal(block.hash, str_at(entry, "hash"));
        json_t *parsed = json_loads(json, 0, NULL);
        assert_non_null(parsed);
        assert_string_equal(str_at(parsed, "merkle_root"), str_at(entry, "merkle_root"));
        assert_string_equal(block.prev, str_at(parsed, "previous_hash"));
        assert_int_equal(block.height, json_integer_value(json_object_get(parsed, "nr")));
        assert_int_equal(block.n_txs, json_array_size(json_object_get(parsed, "transactions")));
        /* Each transaction's text is its slice of the block. */
        for (size_t j = 0; j < block.n_txs; j++)
            assert_non_null(strstr(json, block.txs[j].text));
        /* And the merkle root over them is the vector's. */
        char(*txids)[CC_HASH_HEX_LEN + 1] = calloc(block.n_txs, sizeof *txids);
        for (size_t j = 0; j < block.n_txs; j++)
            memcpy(txids[j], block.txs[j].txid, sizeof txids[j]);
        char merkle[65];
        cc_http_merkle_root((const char(*)[CC_HASH_HEX_LEN + 1])txids, block.n_txs, merkle);
        assert_string_equal(merkle, str_at(entry, "merkle_root"));
        free(txids);
        json_decref(parsed);
        cc_block_clear(&block);
        cc_block_clear(&block); /* idempotent */
    }
    /* Block 1's reward and block 2's first payment are the vector texts. */
    cc_block two;
    const char *json = str_at(json_array_get(entries, 1), "json");
    block_ok(json, strlen(json), &two);
    const char *tx1 = str_at(json_array_get(json_object_get(root, "transactions"), 1), "signed_json");
    assert_string_equal(two.txs[0].text, tx1);
    assert_true(two.txs[2].is_reward);
    assert_true(cc_http_tx_verify(&two.txs[0]));
    assert_true(cc_http_tx_verify(&two.txs[2]));
    cc_block_clear(&two);
    json_decref(root);
}

/* The same block text, re-spaced and re-ordered, is the same block: only
 * the canonical text is hashed. */
static void test_block_reprinted_canonically(void **state)
{
    (void)state;
    json_t *root = load_json(VECTORS);
    const char *json = str_at(json_array_get(json_object_get(root, "blocks"), 1), "json");
    json_t *parsed = json_loads(json, 0, NULL);
    char *other = json_dumps(parsed, JSON_INDENT(3) | JSON_SORT_KEYS);
    assert_string_not_equal(other, json);
    cc_block block;
    block_ok(other, strlen(other), &block);
    assert_string_equal(block.text, json);
    cc_block_clear(&block);
    free(other);
    json_decref(parsed);
    json_decref(root);
}

/* ---- transactions: what must be refused ------------------------------------------------ */

/* What the transaction-form tests start from: test keys 0 and 1, each
 * quoted as a JSON string, a well-formed signature (96 'a's) quoted, and
 * the timestamp quoted. */
typedef struct tx_form {
    cc_p192_key a, b;
    char *from, *to, *sig;
    char sig_text[CC_P192_SIG_HEX_LEN + 1];
    const char *ts;
} tx_form;

static void tx_form_init(tx_form *t)
{
    test_key(0, &t->a);
    test_key(1, &t->b);
    t->from = quoted(t->a.pub_hex);
    t->to = quoted(t->b.pub_hex);
    memset(t->sig_text, 'a', CC_P192_SIG_HEX_LEN);
    t->sig_text[CC_P192_SIG_HEX_LEN] = '\0';
    t->sig = quoted(t->sig_text);
    t->ts = "\"" TS "\"";
}

static void tx_form_free(tx_form *t)
{
    free(t->from);
    free(t->to);
    free(t->sig);
}

static void test_tx_fields_missing_or_mistyped(void **state)
{
    (void)state;
    tx_form t;
    tx_form_init(&t);
    cc_buf text = CC_BUF_INIT;

    tx_json(&text, t.sig, t.from, t.to, "1", t.ts);
    cc_tx tx;
    tx_ok(text.data, &tx);
    cc_tx_clear(&tx);

    /* Each field missing or of the wrong type, with the field named. */
    const struct {
        const char *sig, *from, *to, *sum, *ts, *part;
    } broken[] = {
        {NULL, t.from, t.to, "1", t.ts, "signature"},
        {"12", t.from, t.to, "1", t.ts, "signature"},
        {"null", t.from, t.to, "1", t.ts, "signature"},
        {t.sig, NULL, t.to, "1", t.ts, "from"},
        {t.sig, "[]", t.to, "1", t.ts, "from"},
        {t.sig, t.from, NULL, "1", t.ts, "to"},
        {t.sig, t.from, "5", "1", t.ts, "to"},
        {t.sig, t.from, t.to, NULL, t.ts, "sum"},
        {t.sig, t.from, t.to, "\"1\"", t.ts, "sum"},
        {t.sig, t.from, t.to, "true", t.ts, "sum"},
        {t.sig, t.from, t.to, "null", t.ts, "sum"},
        {t.sig, t.from, t.to, "[1]", t.ts, "sum"},
        {t.sig, t.from, t.to, "1", NULL, "timestamp"},
        {t.sig, t.from, t.to, "1", "1589447950", "timestamp"},
        {t.sig, t.from, t.to, "1", "{}", "timestamp"},
    };
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
        tx_json(&text, broken[i].sig, broken[i].from, broken[i].to, broken[i].sum,
                broken[i].ts);
        assert_tx_refused(text.data, broken[i].part);
    }

    assert_tx_refused("[]", "object");
    assert_tx_refused("\"tx\"", "object");
    assert_tx_refused("{\"signature\": \"System\"}", "transaction");
    assert_tx_refused("{\"signature\": \"System\",\"transaction\": \"x\"}", "transaction");
    assert_tx_refused("{\"signature\": \"System\",\"transaction\": []}", "transaction");
    assert_tx_refused("", "JSON");
    assert_tx_refused("{", "JSON");
    assert_tx_refused("{\"signature\": \"a\", \"signature\": \"b\"}", "JSON");
    /* Trailing text after the object. */
    tx_json(&text, t.sig, t.from, t.to, "1", t.ts);
    cc_buf_puts(&text, " {}");
    assert_tx_refused(text.data, "JSON");

    cc_buf_free(&text);
    tx_form_free(&t);
}

static void test_tx_strings_not_representable(void **state)
{
    (void)state;
    cc_p192_key a, b;
    test_key(0, &a);
    test_key(1, &b);
    char *from = quoted(a.pub_hex), *to = quoted(b.pub_hex);
    cc_buf text = CC_BUF_INIT;
    const char *bad[] = {"\"a\\\"b\"", "\"a\\\\b\"", "\"a\\u0001b\"", "\"a\\nb\"",
                         "\"caf\\u00e9\"", "\"caf\xc3\xa9\"", "\"a\\u007fb\"", "\"a\\u0000b\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tx_json(&text, "\"System\"", "\"System\"", to, "1", bad[i]);
        cc_tx tx;
        cc_err err = {0};
        if (cc_http_tx_decode(text.data, text.len, &tx, &err))
            fail_msg("accepted timestamp %s", bad[i]);
        assert_int_equal(err.code, CC_ERR_BAD_REQUEST);
    }
    /* Longer than any field may be. */
    char longer[CC_HTTP_MAX_FIELD + 4];
    memset(longer, 'x', sizeof longer);
    longer[0] = '"';
    longer[CC_HTTP_MAX_FIELD + 2] = '"';
    longer[CC_HTTP_MAX_FIELD + 3] = '\0';
    tx_json(&text, "\"System\"", "\"System\"", to, "1", longer);
    assert_tx_refused(text.data, "timestamp");
    longer[CC_HTTP_MAX_FIELD + 1] = '"';
    longer[CC_HTTP_MAX_FIELD + 2] = '\0';
    tx_json(&text, "\"System\"", "\"System\"", to, "1", longer);
    cc_tx tx;
    tx_ok(text.data, &tx);
    assert_int_equal(strlen(tx.timestamp), CC_HTTP_MAX_FIELD);
    cc_tx_clear(&tx);
    cc_buf_free(&text);
    free(from);
    free(to);
}

static void test_tx_keys_and_signature_form(void **state)
{
    (void)state;
    tx_form t;
    tx_form_init(&t);
    cc_buf text = CC_BUF_INIT;

    char key[CC_P192_PUB_HEX_LEN + 2];
    const char *what[] = {"from", "to"};
    for (int side = 0; side < 2; side++) {
        for (int variant = 0; variant < 4; variant++) {
            snprintf(key, sizeof key, "%s", side ? t.b.pub_hex : t.a.pub_hex);
            if (variant == 0)
                key[95] = '\0'; /* 95 digits */
            else if (variant == 1)
                strcat(key, "0"); /* 97 digits */
            else if (variant == 2)
                key[10] = 'A'; /* uppercase */
            else
                key[10] = 'g'; /* not hex */
            char *q = quoted(key);
            tx_json(&text, t.sig, side ? t.from : q, side ? q : t.to, "1", t.ts);
            assert_tx_refused(text.data, what[side]);
            free(q);
        }
    }
    /* A reward must pay a key too. */
    tx_json(&text, "\"System\"", "\"System\"", "\"Satoshi Nakamoto\"", "50", t.ts);
    assert_tx_refused(text.data, "to");
    /* The signature: 96 lowercase hex digits. */
    const char *bad_sigs[] = {"\"\"", "\"abc\"", "\"system\""};
    for (size_t i = 0; i < 3; i++) {
        tx_json(&text, bad_sigs[i], t.from, t.to, "1", t.ts);
        assert_tx_refused(text.data, "signature");
    }
    t.sig_text[3] = 'A';
    char *upper = quoted(t.sig_text);
    tx_json(&text, upper, t.from, t.to, "1", t.ts);
    assert_tx_refused(text.data, "signature");
    free(upper);
    cc_buf_free(&text);
    tx_form_free(&t);
}

static void test_tx_system_signature_must_match(void **state)
{
    (void)state;
    tx_form t;
    tx_form_init(&t);
    cc_buf text = CC_BUF_INIT;
    /* A key's payment signed "System", and a System payment with a hex
     * signature: both refused. */
    tx_json(&text, "\"System\"", t.from, t.to, "1", t.ts);
    assert_tx_refused(text.data, "System");
    tx_json(&text, t.sig, "\"System\"", t.to, "1", t.ts);
    assert_tx_refused(text.data, "System");
    /* The real reward: decoded as one, verifies without a signature. */
    tx_json(&text, "\"System\"", "\"System\"", t.to, "1", t.ts);
    cc_tx tx;
    tx_ok(text.data, &tx);
    assert_true(tx.is_reward);
    assert_true(cc_http_tx_verify(&tx));
    assert_string_equal(tx.text, text.data);
    cc_tx_clear(&tx);
    /* A payment carrying some other key's valid-looking signature fails
     * verification (but decodes: signatures are verify's job). */
    tx_json(&text, t.sig, t.from, t.to, "1", t.ts);
    tx_ok(text.data, &tx);
    assert_false(tx.is_reward);
    assert_false(cc_http_tx_verify(&tx));
    cc_tx_clear(&tx);
    cc_buf_free(&text);
    tx_form_free(&t);
}

static void test_tx_sum_must_be_positive(void **state)
{
    (void)state;
    cc_p192_key b;
    test_key(1, &b);
    char *to = quoted(b.pub_hex);
    const char *ts = "\"" TS "\"";
    cc_buf text = CC_BUF_INIT;
    const char *bad[] = {"0", "-1", "0.0", "-0.0", "-1.5", "-5e-324", "-9223372036854775808"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tx_json(&text, "\"System\"", "\"System\"", to, bad[i], ts);
        assert_tx_refused(text.data, "sum");
    }
    /* Not a finite double, or an int beyond 64 bits: refused by the reader. */
    const char *unreadable[] = {"1e400", "NaN", "Infinity", "99999999999999999999"};
    for (size_t i = 0; i < sizeof unreadable / sizeof unreadable[0]; i++) {
        tx_json(&text, "\"System\"", "\"System\"", to, unreadable[i], ts);
        assert_tx_refused(text.data, "JSON");
    }
    /* The smallest positive double is positive. */
    tx_json(&text, "\"System\"", "\"System\"", to, "5e-324", ts);
    cc_tx tx;
    tx_ok(text.data, &tx);
    assert_false(tx.amount.is_int);
    cc_tx_clear(&tx);
    cc_buf_free(&text);
    free(to);
}

/* 2 and 2.0 are different texts, so different transactions: each prints as
 * it was received. Other spellings of a float print as Python would. */
static void test_tx_int_and_float_sums(void **state)
{
    (void)state;
    cc_p192_key a, b;
    test_key(0, &a);
    test_key(1, &b);
    char *as_int = payment(&a, &b, (cc_number){.is_int = true, .i = 2}, TS);
    char *as_float = payment(&a, &b, (cc_number){.is_int = false, .d = 2.0}, TS);
    assert_non_null(strstr(as_int, "\"sum\": 2,"));
    assert_non_null(strstr(as_float, "\"sum\": 2.0,"));
    cc_tx ti, tf;
    tx_ok(as_int, &ti);
    tx_ok(as_float, &tf);
    assert_string_equal(ti.text, as_int);
    assert_string_equal(tf.text, as_float);
    assert_true(ti.amount.is_int);
    assert_false(tf.amount.is_int);
    assert_string_not_equal(ti.txid, tf.txid);
    assert_string_not_equal(ti.msgid, tf.msgid);
    assert_true(cc_http_tx_verify(&ti));
    assert_true(cc_http_tx_verify(&tf));
    cc_tx_clear(&ti);
    cc_tx_clear(&tf);

    char *to = quoted(b.pub_hex);
    cc_buf text = CC_BUF_INIT;
    const char *in[] = {"2.50", "1E2", "1e-5", "0.30000000000000004", "1e16", "123456789012345678"};
    const char *out[] = {"2.5", "100.0", "1e-05", "0.30000000000000004", "1e+16",
                         "123456789012345678"};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        tx_json(&text, "\"System\"", "\"System\"", to, in[i], "\"" TS "\"");
        cc_tx tx;
        tx_ok(text.data, &tx);
        char expected[64];
        snprintf(expected, sizeof expected, "\"sum\": %s,", out[i]);
        if (!strstr(tx.text, expected))
            fail_msg("sum %s printed in %s, expected %s", in[i], tx.text, out[i]);
        cc_tx_clear(&tx);
    }
    cc_buf_free(&text);
    free(to);
    free(as_int);
    free(as_float);
}

/* A payment made here verifies, decodes to itself, and breaks when any
 * part of its message changes. */
static void test_tx_create(void **state)
{
    (void)state;
    cc_p192_key a, b;
    test_key(0, &a);
    test_key(1, &b);
    cc_tx tx;
    cc_err err = {0};
    cc_number amount = {.is_int = false, .d = 0.1};
    assert_true(cc_http_tx_create(&a, b.pub_hex, &amount, TS, &tx, &err));
    assert_string_equal(tx.from, a.pub_hex);
    assert_string_equal(tx.to, b.pub_hex);
    assert_false(tx.is_reward);
    assert_true(cc_http_tx_verify(&tx));
    cc_tx back;
    tx_ok(tx.text, &back);
    assert_string_equal(back.text, tx.text);
    assert_string_equal(back.txid, tx.txid);
    assert_true(cc_http_tx_verify(&back));
    cc_tx_clear(&back);
    /* The signature over another amount does not carry over. */
    char *forged = cc_strdup(tx.text);
    char *sum = strstr(forged, "\"sum\": 0.1");
    assert_non_null(sum);
    sum[9] = '2';
    tx_ok(forged, &back);
    assert_false(cc_http_tx_verify(&back));
    cc_tx_clear(&back);
    free(forged);
    /* A copy is deep and equal. */
    cc_tx copy;
    cc_tx_copy(&copy, &tx);
    assert_ptr_not_equal(copy.text, tx.text);
    assert_string_equal(copy.text, tx.text);
    assert_string_equal(copy.msgid, tx.msgid);
    cc_tx_clear(&tx);
    assert_true(cc_http_tx_verify(&copy));
    cc_tx_clear(&copy);

    /* What tx_create refuses. */
    const cc_number zero = {.is_int = true, .i = 0};
    const cc_number negative = {.is_int = false, .d = -0.5};
    const cc_number infinite = {.is_int = false, .d = INFINITY};
    const cc_number nan = {.is_int = false, .d = NAN};
    assert_false(cc_http_tx_create(&a, b.pub_hex, &zero, TS, &tx, &err));
    assert_bad_request(&err, "sum");
    assert_false(cc_http_tx_create(&a, b.pub_hex, &negative, TS, &tx, &err));
    assert_bad_request(&err, "sum");
    assert_false(cc_http_tx_create(&a, b.pub_hex, &infinite, TS, &tx, &err));
    assert_bad_request(&err, "sum");
    assert_false(cc_http_tx_create(&a, b.pub_hex, &nan, TS, &tx, &err));
    assert_bad_request(&err, "sum");
    assert_false(cc_http_tx_create(&a, "Satoshi", &ONE, TS, &tx, &err));
    assert_bad_request(&err, "to");
    /* A timestamp the text format cannot carry would make a transaction
     * nobody (not even this node) could decode. */
    assert_false(cc_http_tx_create(&a, b.pub_hex, &ONE, "a\"b", &tx, &err));
    assert_bad_request(&err, "timestamp");
}

static void test_tx_reward(void **state)
{
    (void)state;
    cc_p192_key a;
    test_key(0, &a);
    cc_tx tx;
    cc_http_tx_reward(a.pub_hex, &ONE, TS, &tx);
    cc_buf expected = CC_BUF_INIT;
    cc_buf_printf(&expected,
                  "{\"signature\": \"System\",\"transaction\": {\"from\": \"System\",\"to\": "
                  "\"%s\",\"sum\": 1,\"timestamp\": \"" TS "\"}}",
                  a.pub_hex);
    assert_string_equal(tx.text, expected.data);
    assert_true(tx.is_reward);
    assert_true(cc_http_tx_verify(&tx));
    char txid[65];
    cc_sha256_hex(expected.data, expected.len, txid);
    assert_string_equal(tx.txid, txid);
    cc_tx_clear(&tx);
    cc_buf_free(&expected);
}

/* ---- blocks: what must be refused ------------------------------------------------------ */

/* A block with every member given as raw JSON; NULL leaves one out. */
typedef struct raw_block {
    const char *nr, *prev, *timestamp, *nonce, *hash, *creator, *merkle_root, *count, *txs;
} raw_block;

static void raw_print(const raw_block *r, cc_buf *out)
{
    const char *names[] = {"nr", "previous_hash", "timestamp", "nonce", "hash",
                           "creator", "merkle_root", "count", "transactions"};
    const char *values[] = {r->nr, r->prev, r->timestamp, r->nonce, r->hash,
                            r->creator, r->merkle_root, r->count, r->txs};
    cc_buf_reset(out);
    cc_buf_putc(out, '{');
    bool first = true;
    for (int i = 0; i < 9; i++) {
        if (!values[i])
            continue;
        cc_buf_printf(out, "%s\"%s\": %s", first ? "" : ",", names[i], values[i]);
        first = false;
    }
    cc_buf_putc(out, '}');
}

static void test_block_fields_missing_or_mistyped(void **state)
{
    (void)state;
    json_t *root = load_json(VECTORS);
    const char *json = str_at(json_array_get(json_object_get(root, "blocks"), 0), "json");
    json_t *v = json_loads(json, 0, NULL);
    char *txs = json_dumps(json_object_get(v, "transactions"), JSON_COMPACT);
    char *prev = quoted(str_at(v, "previous_hash"));
    char *hash = quoted(str_at(v, "hash"));
    char *creator = quoted(str_at(v, "creator"));
    char *merkle = quoted(str_at(v, "merkle_root"));
    char *nonce = quoted(str_at(v, "nonce"));
    char *ts = quoted(str_at(v, "timestamp"));
    const raw_block good = {"1", prev, ts, nonce, hash, creator, merkle, "1", txs};
    cc_buf text = CC_BUF_INIT;
    raw_print(&good, &text);
    cc_block block;
    block_ok(text.data, text.len, &block);
    assert_string_equal(block.text, json);
    cc_block_clear(&block);

    struct {
        size_t field;
        const char *value;
        const char *part;
    } cases[] = {
        {0, NULL, "nr"},           {0, "\"1\"", "nr"},        {0, "1.0", "nr"},
        {0, "null", "nr"},         {0, "0", "nr"},            {0, "-1", "nr"},
        {1, NULL, "previous_hash"}, {1, "1", "previous_hash"}, {1, "\"\"", "previous_hash"},
        {1, "\"00008C26FA89C80D23CE0B98AFB3BFF429F828253C008B562CA8599606CB60E3\"", "previous_hash"},
        {2, NULL, "timestamp"},    {2, "7", "timestamp"},     {3, NULL, "nonce"},
        {3, "[]", "nonce"},        {4, NULL, "hash"},         {4, "0", "hash"},
        {4, "\"0000\"", "hash"},   {5, NULL, "creator"},      {5, "{}", "creator"},
        {6, NULL, "merkle_root"},  {6, "false", "merkle_root"}, {6, "\"xyz\"", "merkle_root"},
        {7, NULL, "count"},        {7, "\"1\"", "count"},     {7, "1.0", "count"},
        {7, "2", "count"},         {7, "0", "count"},         {7, "-1", "count"},
        {8, NULL, "transactions"}, {8, "{}", "transactions"}, {8, "\"[]\"", "transactions"},
        {8, "[]", "at least one"}, {8, "[1]", "transaction 0"},
        {5, "\"caf\\u00e9\"", "creator"}, {3, "\"a\\\"b\"", "nonce"},
        {2, "\"a\\u0000b\"", "JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        raw_block r = good;
        const char **slot = (const char **[]){&r.nr, &r.prev, &r.timestamp, &r.nonce, &r.hash,
                                              &r.creator, &r.merkle_root, &r.count,
                                              &r.txs}[cases[i].field];
        *slot = cases[i].value;
        raw_print(&r, &text);
        assert_block_refused(&text, cases[i].part);
    }
    assert_block_refused_n("[]", 2, "object");
    assert_block_refused_n("", 0, "JSON");
    assert_block_refused_n(json, strlen(json) - 1, "JSON");
    /* Nesting beyond what a block needs. */
    raw_block deep = good;
    deep.creator = "[[[[[[[[[\"x\"]]]]]]]]]";
    raw_print(&deep, &text);
    assert_block_refused(&text, "nested");

    cc_buf_free(&text);
    free(txs);
    free(prev);
    free(hash);
    free(creator);
    free(merkle);
    free(nonce);
    free(ts);
    json_decref(v);
    json_decref(root);
}

typedef struct fixture {
    cc_p192_key a, b, c;
    char *pay_ab;  /* a pays b 1 */
    char *pay_bc;  /* b pays c 0.5 */
    char *reward;  /* 1 to a */
} fixture;

static void fixture_init(fixture *f)
{
    test_key(0, &f->a);
    test_key(1, &f->b);
    test_key(2, &f->c);
    f->pay_ab = payment(&f->a, &f->b, ONE, TS);
    f->pay_bc = payment(&f->b, &f->c, (cc_number){.is_int = false, .d = 0.5}, TS);
    f->reward = reward(&f->a, ONE, TS);
}

static void fixture_clear(fixture *f)
{
    free(f->pay_ab);
    free(f->pay_bc);
    free(f->reward);
}

static craft base_craft(const fixture *f, const char *const *txs, size_t n)
{
    return (craft){.nr = 1,
                   .prev = CC_HTTP_GENESIS_HASH,
                   .timestamp = TS,
                   .creator = f->a.pub_hex,
                   .count = -1,
                   .txs = txs,
                   .n_txs = n};
}

static void test_block_mined_here_accepted(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f);
    const char *txs[] = {f.pay_ab, f.pay_bc, f.reward};
    craft c = base_craft(&f, txs, 3);
    cc_buf text = CC_BUF_INIT;
    craft_mine(&c, true, &text);
    cc_block block;
    block_ok(text.data, text.len, &block);
    assert_string_equal(block.text, text.data);
    assert_int_equal(block.n_txs, 3);
    assert_int_equal(block.height, 1);
    assert_string_equal(block.prev, CC_HTTP_GENESIS_HASH);
    assert_true(cc_http_pow_ok(block.hash));
    assert_string_equal(block.txs[1].text, f.pay_bc);
    for (size_t i = 0; i < 3; i++)
        assert_true(cc_http_tx_verify(&block.txs[i]));
    cc_block_clear(&block);
    /* And through the rules table. */
    assert_true(cc_rules_http()->block_decode(text.data, text.len, &block, NULL));
    cc_block_clear(&block);
    cc_buf_free(&text);
    fixture_clear(&f);
}

static void test_block_pow_hash_merkle_count(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f);
    const char *txs[] = {f.pay_ab, f.reward};
    cc_buf text = CC_BUF_INIT;

    /* Hash true to the contents, but without four leading zeros: none,
     * or three (one digit short). */
    craft c = base_craft(&f, txs, 2);
    craft_mine(&c, false, &text);
    assert_block_refused(&text, "proof of work");
    craft_mine_zeros(&c, 3, &text);
    assert_non_null(strstr(text.data, "\"hash\": \"000"));
    assert_block_refused(&text, "proof of work");

    /* A proof-of-work-looking hash that is not the block's. */
    craft_mine(&c, true, &text);
    char *at = strstr(text.data, "\"hash\": \"0000") + 13;
    *at = *at == 'a' ? 'b' : 'a';
    assert_block_refused(&text, "hash does not match");

    /* Mined, but over a merkle root that is not the transactions'. */
    char root[65];
    reference_root(txs, 1, root);
    c.merkle_root = root;
    craft_mine(&c, true, &text);
    assert_block_refused(&text, "merkle_root");

    /* Mined, with a count that is not the number of transactions. */
    c = base_craft(&f, txs, 2);
    c.count = 3;
    craft_mine(&c, true, &text);
    assert_block_refused(&text, "count");
    c.count = 1;
    craft_mine(&c, true, &text);
    assert_block_refused(&text, "count");

    /* Mined, transactions in another order than the merkle root says. */
    const char *swapped[] = {f.reward, f.pay_ab};
    reference_root(txs, 2, root);
    c = base_craft(&f, swapped, 2);
    c.merkle_root = root;
    craft_mine(&c, true, &text);
    assert_block_refused(&text, "merkle_root");

    /* A transaction inside that is malformed names its index. */
    const char *broken[] = {f.reward, "{\"signature\": \"System\"}"};
    c = base_craft(&f, broken, 2);
    craft_mine(&c, true, &text);
    assert_block_refused(&text, "transaction 1");

    cc_buf_free(&text);
    fixture_clear(&f);
}

static void test_block_transaction_count_limits(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f);
    const char **many = calloc(CC_HTTP_MAX_BLOCK_TXS + 1, sizeof *many);
    for (size_t i = 0; i <= CC_HTTP_MAX_BLOCK_TXS; i++)
        many[i] = f.reward;
    cc_buf text = CC_BUF_INIT;
    char zero_hash[65];
    memset(zero_hash, '0', 64);
    zero_hash[64] = '\0';
    /* Not mined (that would take minutes): the limit is checked before the
     * hash, and a block at the limit gets as far as the hash check. */
    craft c = base_craft(&f, many, CC_HTTP_MAX_BLOCK_TXS + 1);
    c.merkle_root = zero_hash;
    craft_print(&c, "n", zero_hash, zero_hash, &text);
    assert_block_refused(&text, "at most");
    c.n_txs = CC_HTTP_MAX_BLOCK_TXS;
    c.merkle_root = NULL;
    char root[65];
    reference_root(many, CC_HTTP_MAX_BLOCK_TXS, root);
    craft_print(&c, "n", root, zero_hash, &text);
    assert_block_refused(&text, "hash does not match");
    /* Zero transactions. */
    c.n_txs = 0;
    craft_print(&c, "n", zero_hash, zero_hash, &text);
    assert_block_refused(&text, "at least one");
    free(many);
    cc_buf_free(&text);
    fixture_clear(&f);
}

static void test_block_rewards_and_duplicates(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f);
    cc_buf text = CC_BUF_INIT;
    cc_block block;
    char *half = reward(&f.a, (cc_number){.is_int = false, .d = 0.5}, TS);
    char *half_b = reward(&f.b, (cc_number){.is_int = false, .d = 0.5}, TS);
    char *more = reward(&f.b, (cc_number){.is_int = false, .d = 0.6}, TS);
    char *two = reward(&f.a, (cc_number){.is_int = true, .i = 2}, TS);

    /* Rewards over 1 in total. */
    const char *over[] = {half, more};
    craft c = base_craft(&f, over, 2);
    craft_mine(&c, true, &text);
    assert_block_refused(&text, "reward");
    const char *single_over[] = {two};
    c = base_craft(&f, single_over, 1);
    craft_mine(&c, true, &text);
    assert_block_refused(&text, "reward");

    /* Two different rewards of 0.5 make exactly 1. */
    const char *exact[] = {half, half_b};
    c = base_craft(&f, exact, 2);
    craft_mine(&c, true, &text);
    block_ok(text.data, text.len, &block);
    cc_block_clear(&block);

    /* The reference's own first block: the same reward twice, worth 1. */
    const char *twice[] = {f.reward, f.reward};
    c = base_craft(&f, twice, 2);
    craft_mine(&c, true, &text);
    block_ok(text.data, text.len, &block);
    assert_int_equal(block.n_txs, 2);
    assert_string_equal(block.text, text.data);
    cc_block_clear(&block);
    /* Counted once, not zero times: anything more goes over. */
    const char *twice_plus[] = {f.reward, f.reward, half_b};
    c = base_craft(&f, twice_plus, 3);
    craft_mine(&c, true, &text);
    assert_block_refused(&text, "reward");

    /* The same payment twice. */
    const char *same[] = {f.pay_ab, f.pay_ab, f.reward};
    c = base_craft(&f, same, 3);
    craft_mine(&c, true, &text);
    assert_block_refused(&text, "twice");

    /* The same payment under another valid signature (s -> n - s). */
    cc_tx tx;
    tx_ok(f.pay_ab, &tx);
    mpz_t s, n;
    mpz_init_set_str(s, tx.signature + 48, 16);
    mpz_init_set_str(n, P192_N, 16);
    mpz_sub(s, n, s);
    char *s_hex = mpz_get_str(NULL, 16, s);
    char sig[CC_P192_SIG_HEX_LEN + 1];
    snprintf(sig, sizeof sig, "%.48s%048d", tx.signature, 0);
    memcpy(sig + 96 - strlen(s_hex), s_hex, strlen(s_hex));
    void (*gmp_free)(void *, size_t);
    mp_get_memory_functions(NULL, NULL, &gmp_free);
    gmp_free(s_hex, strlen(s_hex) + 1);
    mpz_clears(s, n, NULL);
    cc_buf other = CC_BUF_INIT;
    cc_buf_printf(&other, "{\"signature\": \"%s\",\"transaction\": %.*s}", sig, (int)tx.msg_len,
                  tx.text + tx.msg_off);
    cc_tx malleated;
    tx_ok(other.data, &malleated);
    assert_true(cc_http_tx_verify(&malleated));
    assert_string_not_equal(malleated.txid, tx.txid);
    assert_string_equal(malleated.msgid, tx.msgid);
    const char *replay[] = {f.pay_ab, other.data, f.reward};
    c = base_craft(&f, replay, 3);
    craft_mine(&c, true, &text);
    assert_block_refused(&text, "twice");
    cc_tx_clear(&malleated);
    cc_tx_clear(&tx);
    cc_buf_free(&other);

    free(half);
    free(half_b);
    free(more);
    free(two);
    cc_buf_free(&text);
    fixture_clear(&f);
}

/* Mined blocks carry whatever nonce, timestamp and creator text the format
 * can hold; the ones it cannot are refused even when "mined". */
static void test_block_strings_not_representable(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f);
    const char *txs[] = {f.reward};
    cc_buf text = CC_BUF_INIT;
    craft c = base_craft(&f, txs, 1);
    c.creator = "caf\xc3\xa9";
    craft_mine(&c, true, &text);
    assert_block_refused(&text, "creator");
    c = base_craft(&f, txs, 1);
    c.timestamp = "tab\there";
    craft_mine(&c, true, &text);
    cc_block block;
    cc_err err = {0};
    assert_false(cc_http_block_decode(text.data, text.len, &block, &err));
    assert_int_equal(err.code, CC_ERR_BAD_REQUEST);
    /* Free text the format can carry is fine. */
    c = base_craft(&f, txs, 1);
    c.creator = "Satoshi Nakamoto ~!@#$%^&*()_+{}[]|:;'<>,.?/";
    craft_mine(&c, true, &text);
    block_ok(text.data, text.len, &block);
    assert_string_equal(block.text, text.data);
    cc_block_clear(&block);
    cc_buf_free(&text);
    fixture_clear(&f);
}

/* Free text (timestamp, nonce, creator) of at most 128 characters: a block
 * otherwise valid passes with 128 and is refused with 129, naming the
 * field, before anything is hashed. */
static void test_block_free_text_limits(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f);
    const char *txs[] = {f.reward};
    char at_limit[CC_HTTP_MAX_FIELD + 1], over[CC_HTTP_MAX_FIELD + 2];
    memset(at_limit, 'x', CC_HTTP_MAX_FIELD);
    at_limit[CC_HTTP_MAX_FIELD] = '\0';
    memset(over, 'x', CC_HTTP_MAX_FIELD + 1);
    over[CC_HTTP_MAX_FIELD + 1] = '\0';
    cc_buf text = CC_BUF_INIT;
    cc_block block;
    /* The timestamp and the creator: mined, so only the length can refuse. */
    for (int field = 0; field < 2; field++) {
        craft c = base_craft(&f, txs, 1);
        const char **slot = field ? &c.creator : &c.timestamp;
        *slot = at_limit;
        craft_mine(&c, true, &text);
        block_ok(text.data, text.len, &block);
        assert_string_equal(block.text, text.data);
        cc_block_clear(&block);
        *slot = over;
        craft_mine(&c, true, &text);
        assert_block_refused(&text, field ? "'creator' is longer than 128 characters"
                                          : "'timestamp' is longer than 128 characters");
    }
    /* The nonce (our miner's are 20 characters): 128 get as far as the
     * hash, 129 do not. */
    char root[65], zero_hash[65];
    reference_root(txs, 1, root);
    memset(zero_hash, '0', 64);
    zero_hash[64] = '\0';
    craft c = base_craft(&f, txs, 1);
    craft_print(&c, at_limit, root, zero_hash, &text);
    assert_block_refused(&text, "hash does not match");
    craft_print(&c, over, root, zero_hash, &text);
    assert_block_refused(&text, "'nonce' is longer than 128 characters");
    cc_buf_free(&text);
    fixture_clear(&f);
}

/* A block claiming the genesis hash at nr 0 is the genesis, whatever else
 * it holds; any other nr 0 is refused. */
static void test_block_genesis_claims(void **state)
{
    (void)state;
    cc_block block;
    const char *claim = "{\"nr\": 0, \"hash\": \"" CC_HTTP_GENESIS_HASH "\"}";
    block_ok(claim, strlen(claim), &block);
    assert_string_equal(block.text, CC_HTTP_GENESIS_TEXT);
    assert_string_equal(block.hash, CC_HTTP_GENESIS_HASH);
    assert_int_equal(block.height, 0);
    cc_block_clear(&block);
    /* nr 0 with any other hash is a block like any other, and refused. */
    json_t *root = load_json(VECTORS);
    json_t *v = json_loads(str_at(json_array_get(json_object_get(root, "blocks"), 0), "json"), 0,
                           NULL);
    json_object_set_new(v, "nr", json_integer(0));
    char *text = json_dumps(v, 0);
    assert_block_refused_n(text, strlen(text), "nr must be at least 1");
    /* The genesis hash at another nr is no claim either. */
    json_object_set_new(v, "nr", json_integer(1));
    json_object_set_new(v, "hash", json_string(CC_HTTP_GENESIS_HASH));
    free(text);
    text = json_dumps(v, 0);
    assert_block_refused_n(text, strlen(text), "hash does not match");
    free(text);
    json_decref(v);
    json_decref(root);
}

/* ---- pow, merkle edge cases, rules table --------------------------------------- */

static void test_pow(void **state)
{
    (void)state;
    assert_true(cc_http_pow_ok("0000ffff"));
    assert_false(cc_http_pow_ok("000f0000"));
    assert_false(cc_http_pow_ok("000"));
    assert_false(cc_http_pow_ok(""));
    uint8_t digest[CC_SHA256_LEN] = {0};
    assert_true(cc_http_pow_ok_raw(digest));
    digest[2] = 0xff;
    assert_true(cc_http_pow_ok_raw(digest));
    digest[1] = 0x01;
    assert_false(cc_http_pow_ok_raw(digest));
    digest[1] = 0x10;
    assert_false(cc_http_pow_ok_raw(digest));
}

/* The reference's root (n - 1 rounds over a list padded once), checked
 * against an independent reimplementation for every size a block can have
 * up to 40. */
static void test_merkle_matches_reference_rule(void **state)
{
    (void)state;
    char texts[40][16];
    const char *ptrs[40];
    char(*txids)[CC_HASH_HEX_LEN + 1] = calloc(40, sizeof *txids);
    for (size_t i = 0; i < 40; i++) {
        snprintf(texts[i], sizeof texts[i], "tx-%zu", i);
        ptrs[i] = texts[i];
        cc_sha256_hex(texts[i], strlen(texts[i]), txids[i]);
    }
    for (size_t n = 1; n <= 40; n++) {
        char ours[65], theirs[65];
        cc_http_merkle_root((const char(*)[CC_HASH_HEX_LEN + 1])txids, n, ours);
        reference_root(ptrs, n, theirs);
        assert_string_equal(ours, theirs);
    }
    /* No transactions: no root, and nothing read. */
    char none[65] = "x";
    cc_http_merkle_root(NULL, 0, none);
    assert_string_equal(none, "");
    free(txids);
}

static void test_rules_table(void **state)
{
    (void)state;
    const cc_rules *r = cc_rules_http();
    assert_ptr_equal(cc_rules_find("http"), r);
    assert_null(cc_rules_find("nope"));
    assert_null(cc_rules_find(""));
    assert_string_equal(r->network, "http");
    assert_string_equal(r->genesis_hash, CC_HTTP_GENESIS_HASH);
    assert_string_equal(r->genesis_text, cc_http_genesis_text());
    assert_int_equal(r->max_block_txs, CC_HTTP_MAX_BLOCK_TXS);
    assert_true(r->block_reward.is_int);
    assert_int_equal(r->block_reward.i, 1);
    /* the node's facts: one port for the protocol and the API, its key file */
    assert_int_equal(r->default_port, 6000);
    assert_int_equal(cc_rules_api_port(r, 6000), 6000);
    assert_int_equal(cc_rules_api_port(r, 65535), 65535);
    assert_string_equal(r->wallet_file, "wallet.key");
    cc_p192_key k;
    cc_test_p192_key(3, &k);
    assert_true(r->key_valid(k.pub_hex));
    char off_curve[CC_P192_PUB_HEX_LEN + 1];
    memset(off_curve, '1', CC_P192_PUB_HEX_LEN);
    off_curve[CC_P192_PUB_HEX_LEN] = '\0';
    assert_false(r->key_valid(off_curve));
}

static void test_amount_to_mpq_exact(void **state)
{
    (void)state;
    mpq_t q, expected;
    mpq_inits(q, expected, NULL);
    cc_number n = {.is_int = false, .d = 0.1};
    cc_amount_to_mpq(&n, q);
    /* 0.1 as a double is 3602879701896397 / 2^55 exactly. */
    mpq_set_str(expected, "3602879701896397/36028797018963968", 10);
    assert_true(mpq_equal(q, expected));
    n = (cc_number){.is_int = true, .i = INT64_MAX};
    cc_amount_to_mpq(&n, q);
    mpq_set_str(expected, "9223372036854775807", 10);
    assert_true(mpq_equal(q, expected));
    n = (cc_number){.is_int = true, .i = -7};
    cc_amount_to_mpq(&n, q);
    mpq_set_si(expected, -7, 1);
    assert_true(mpq_equal(q, expected));
    mpq_clears(q, expected, NULL);
}

/* ---- mining templates --------------------------------------------------------------- */

static void mine_template(const cc_block_template *tpl, cc_buf *text)
{
    char hash[CC_HASH_HEX_LEN + 1];
    cc_test_http_mine(tpl, text, hash);
}

static void test_template_build_and_finish(void **state)
{
    (void)state;
    fixture f;
    fixture_init(&f);
    cc_tx txs[3];
    tx_ok(f.pay_ab, &txs[0]);
    tx_ok(f.pay_bc, &txs[1]);
    tx_ok(f.reward, &txs[2]);
    cc_block_template tpl;
    cc_http_template_build(&tpl, 1, CC_HTTP_GENESIS_HASH, TS, f.c.pub_hex, txs, 3);
    assert_int_equal(tpl.height, 1);
    cc_buf text = CC_BUF_INIT;
    /* A nonce that misses the proof of work is refused. */
    for (unsigned long i = 0;; i++) {
        char nonce[24];
        snprintf(nonce, sizeof nonce, "miss%lu", i);
        cc_http_template_finish(&tpl, nonce, &text);
        char *hash = strstr(text.data, "\"hash\": \"") + 9;
        if (strncmp(hash, "0000", 4) != 0)
            break;
    }
    assert_block_refused(&text, "proof of work");
    mine_template(&tpl, &text);
    cc_block block;
    block_ok(text.data, text.len, &block);
    assert_string_equal(block.text, text.data);
    assert_int_equal(block.height, 1);
    assert_int_equal(block.n_txs, 3);
    assert_string_equal(block.prev, CC_HTTP_GENESIS_HASH);
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(block.txs[i].txid, txs[i].txid);
    /* The template's text is what the test's own printer makes. */
    const char *texts[] = {f.pay_ab, f.pay_bc, f.reward};
    craft c = base_craft(&f, texts, 3);
    c.creator = f.c.pub_hex;
    char root[65];
    reference_root(texts, 3, root);
    json_t *parsed = json_loads(text.data, 0, NULL);
    cc_buf mine = CC_BUF_INIT;
    craft_print(&c, str_at(parsed, "nonce"), root, block.hash, &mine);
    assert_string_equal(mine.data, text.data);
    /* finish() reuses its buffer. */
    cc_http_template_finish(&tpl, "x", &text);
    assert_true(strncmp(text.data, "{\"nr\": 1,", 9) == 0);
    assert_int_equal(strlen(text.data), text.len);
    json_decref(parsed);
    cc_buf_free(&mine);
    cc_block_clear(&block);
    cc_block_template_clear(&tpl);
    cc_block_template_clear(&tpl);
    for (size_t i = 0; i < 3; i++)
        cc_tx_clear(&txs[i]);
    cc_buf_free(&text);
    fixture_clear(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_genesis),
        cmocka_unit_test(test_merkle_vectors),
        cmocka_unit_test(test_transaction_vectors),
        cmocka_unit_test(test_block_vectors),
        cmocka_unit_test(test_block_reprinted_canonically),
        cmocka_unit_test(test_tx_fields_missing_or_mistyped),
        cmocka_unit_test(test_tx_strings_not_representable),
        cmocka_unit_test(test_tx_keys_and_signature_form),
        cmocka_unit_test(test_tx_system_signature_must_match),
        cmocka_unit_test(test_tx_sum_must_be_positive),
        cmocka_unit_test(test_tx_int_and_float_sums),
        cmocka_unit_test(test_tx_create),
        cmocka_unit_test(test_tx_reward),
        cmocka_unit_test(test_block_fields_missing_or_mistyped),
        cmocka_unit_test(test_block_mined_here_accepted),
        cmocka_unit_test(test_block_pow_hash_merkle_count),
        cmocka_unit_test(test_block_transaction_count_limits),
        cmocka_unit_test(test_block_rewards_and_duplicates),
        cmocka_unit_test(test_block_strings_not_representable),
        cmocka_unit_test(test_block_free_text_limits),
        cmocka_unit_test(test_block_genesis_claims),
        cmocka_unit_test(test_pow),
        cmocka_unit_test(test_merkle_matches_reference_rule),
        cmocka_unit_test(test_rules_table),
        cmocka_unit_test(test_amount_to_mpq_exact),
        cmocka_unit_test(test_template_build_and_finish),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for src/consensus/cheese.c (the cheese network's rules): every
 * vector of tests/vectors/cheese-network.json (made by the reference
 * implementation) and of tests/vectors/cheese-extra.json (made by
 * tests/vectors/make-cheese-extra.py, the reference's way of hashing with
 * PyCryptodome), then everything a peer could send that must be refused,
 * then mining templates. Blocks that must pass proof of work are mined
 * here, with the real difficulty, by a printer of the test's own (so the
 * code under test does not grade its own homework). */
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

#include "codec/json.h"
#include "codec/pynum.h"
#include "consensus/block.h"
#include "consensus/cheese.h"
#include "consensus/rules.h"
#include "crypto/hash.h"
#include "crypto/rsa.h"
#include "util/buf.h"
#include "util/hex.h"
#include "util/mem.h"
#include "wallet/payment.h"

#include "checks.h"
#include "vectors.h"

#define VECTORS CC_VECTORS_DIR "/cheese-network.json"
#define EXTRA CC_VECTORS_DIR "/cheese-extra.json"
#define REWARD_SENDER "CHEESECHAIN REWARD SYSTEM"
#define REWARD_SIG "rewardtransactionsignature"
#define TS "1645524340.25"

/* ---- helpers ---------------------------------------------------------- */

/* The vector keys 0 and 1 (PyCryptodome's, 1024 bits). */
static void vector_key(size_t i, cc_rsa_key *out)
{
    json_t *root = load_json(VECTORS);
    const json_t *k = json_array_get(json_object_get(root, "keys"), i);
    assert_true(cc_rsa_from_private_hex(str_at(k, "private_key_der_hex"), out, NULL));
    assert_string_equal(out->pub_hex, str_at(k, "public_key_der_hex"));
    json_decref(root);
}

static void tx_ok(const char *text, cc_tx *out)
{
    cc_err err = {0};
    if (!cc_cheese_tx_decode(text, strlen(text), out, &err))
        fail_msg("transaction refused: %s\n%.400s", err.msg, text);
}

static void assert_tx_refused(const char *text, const char *part)
{
    cc_tx tx;
    memset(&tx, 0xa5, sizeof tx); /* whatever the caller's stack held */
    cc_err err = {0};
    if (cc_cheese_tx_decode(text, strlen(text), &tx, &err)) {
        cc_tx_clear(&tx);
        fail_msg("transaction accepted: %.400s", text);
    }
    assert_bad_request(&err, part);
    assert_null(tx.text);
    assert_null(tx.from);
    cc_tx_clear(&tx);
}

static void block_ok(const char *text, size_t len, cc_block *out)
{
    cc_err err = {0};
    if (!cc_cheese_block_decode(text, len, out, &err))
        fail_msg("block refused: %s\n%.400s", err.msg, text);
}

static void assert_block_refused(const cc_buf *text, const char *part)
{
    cc_block block;
    memset(&block, 0xa5, sizeof block);
    cc_err err = {0};
    if (cc_cheese_block_decode(text->data, text->len, &block, &err)) {
        cc_block_clear(&block);
        fail_msg("block accepted (wanted \"%s\"): %.400s", part, text->data);
    }
    assert_bad_request(&err, part);
    assert_null(block.text);
    assert_null(block.txs);
    cc_block_clear(&block);
}

static void assert_block_refused_s(const char *text, const char *part)
{
    cc_buf b = CC_BUF_INIT;
    cc_buf_puts(&b, text);
    assert_block_refused(&b, part);
    cc_buf_free(&b);
}

static char *quoted(const char *s)
{
    cc_buf b = CC_BUF_INIT;
    cc_buf_printf(&b, "\"%s\"", s);
    return cc_buf_take(&b);
}

/* A transaction's JSON with each member given as raw JSON text; NULL
 * leaves the member out. */
static void tx_json(cc_buf *out, const char *sender, const char *recipient, const char *amount,
                    const char *signature)
{
    cc_buf_reset(out);
    const char *names[] = {"sender", "recipient", "amount", "signature"};
    const char *values[] = {sender, recipient, amount, signature};
    cc_buf_putc(out, '{');
    bool first = true;
    for (int i = 0; i < 4; i++) {
        if (!values[i])
            continue;
        cc_buf_printf(out, "%s\"%s\": %s", first ? "" : ", ", names[i], values[i]);
        first = false;
    }
    cc_buf_putc(out, '}');
}

/* A block's JSON with each member as raw JSON text; NULL leaves it out. */
static void block_json(cc_buf *out, const char *seq, const char *parent, const char *txs,
                       const char *nonce, const char *ts)
{
    cc_buf_reset(out);
    const char *names[] = {"sequence_number", "parent_smell", "transactions", "nonce", "timestamp"};
    const char *values[] = {seq, parent, txs, nonce, ts};
    cc_buf_putc(out, '{');
    bool first = true;
    for (int i = 0; i < 5; i++) {
        if (!values[i])
            continue;
        cc_buf_printf(out, "%s\"%s\": %s", first ? "" : ", ", names[i], values[i]);
        first = false;
    }
    cc_buf_putc(out, '}');
}

/* ---- transactions and blocks printed and mined by the test ----------------- */

/* One transaction as raw strings; amount is both its JSON text and its
 * Python str() (the test only uses spellings where the two agree). */
typedef struct ttx {
    const char *sender, *recipient, *amount;
    char *signature; /* owned */
} ttx;

static void ttx_payment(ttx *t, const cc_rsa_key *from, const char *recipient, const char *amount)
{
    t->sender = from->pub_hex;
    t->recipient = recipient;
    t->amount = amount;
    cc_buf payload = CC_BUF_INIT;
    cc_buf_printf(&payload, "%s%s%s", from->pub_hex, recipient, amount);
    t->signature = cc_rsa_sign(from, payload.data, payload.len);
    assert_non_null(t->signature);
    cc_buf_free(&payload);
}

static void ttx_reward(ttx *t, const char *recipient, const char *amount)
{
    t->sender = REWARD_SENDER;
    t->recipient = recipient;
    t->amount = amount;
    t->signature = cc_strdup(REWARD_SIG);
}

static void ttx_free(ttx *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(t[i].signature);
}

static void ttx_print(const ttx *t, cc_buf *out)
{
    cc_buf_printf(out, "{\"sender\": \"%s\", \"recipient\": \"%s\", \"amount\": %s, \"signature\": \"%s\"}",
                  t->sender, t->recipient, t->amount, t->signature);
}

static char *ttx_text(const ttx *t)
{
    cc_buf b = CC_BUF_INIT;
    ttx_print(t, &b);
    return cc_buf_take(&b);
}

/* Prints block seq on parent holding txs, with the first nonce from 0 up
 * whose proof of work (over every transaction but the last, as the
 * reference computes it) passes (want_pow) or fails (!want_pow). */
static long long craft_block(long long seq, const char *parent, const ttx *txs, size_t n,
                             const char *ts, bool want_pow, cc_buf *out)
{
    cc_buf pre = CC_BUF_INIT;
    cc_buf_putc(&pre, '[');
    for (size_t i = 0; i + 1 < n; i++)
        cc_buf_printf(&pre, "%sOrderedDict([('sender', '%s'), ('recipient', '%s'), ('amount', %s)])",
                      i ? ", " : "", txs[i].sender, txs[i].recipient, txs[i].amount);
    cc_buf_printf(&pre, "]%s", parent);
    size_t base = pre.len;
    long long nonce = 0;
    for (;; nonce++) {
        pre.len = base;
        cc_buf_printf(&pre, "%lld", nonce);
        char hash[65];
        cc_sha256_hex(pre.data, pre.len, hash);
        if ((strncmp(hash, "00", 2) == 0) == want_pow)
            break;
    }
    cc_buf_free(&pre);
    cc_buf_reset(out);
    cc_buf_printf(out, "{\"sequence_number\": %lld, \"parent_smell\": \"%s\", \"transactions\": [", seq,
                  parent);
    for (size_t i = 0; i < n; i++) {
        if (i)
            cc_buf_puts(out, ", ");
        ttx_print(&txs[i], out);
    }
    cc_buf_printf(out, "], \"nonce\": %lld, \"timestamp\": %s}", nonce, ts);
    return nonce;
}

/* ---- vectors ---------------------------------------------------------------- */

static void test_genesis(void **state)
{
    (void)state;
    json_t *root = load_json(VECTORS);
    const json_t *g = json_object_get(root, "genesis");
    const char *json = str_at(g, "json");
    assert_string_equal(cc_cheese_genesis_text(), json);
    assert_string_equal(CC_CHEESE_GENESIS_SMELL, str_at(g, "smell"));
    const char *pre = str_at(g, "smell_preimage");
    char smell[65];
    cc_sha256_hex(pre, strlen(pre), smell);
    assert_string_equal(smell, str_at(g, "smell"));
    /* Our printers give the same pre-image and smell. */
    cc_cheese_header h = {.sequence_number = 0, .parent_smell = "", .nonce = 100,
                          .timestamp = {.is_int = true, .i = 0}};
    cc_buf buf = CC_BUF_INIT;
    cc_cheese_smell_preimage(&h, NULL, 0, &buf);
    assert_string_equal(buf.data, pre);
    cc_cheese_smell(&h, NULL, 0, smell);
    assert_string_equal(smell, CC_CHEESE_GENESIS_SMELL);
    cc_buf_reset(&buf);
    cc_cheese_block_text(&h, NULL, 0, &buf);
    assert_string_equal(buf.data, json);
    /* Decoding the genesis answers the genesis. */
    cc_block block;
    block_ok(json, strlen(json), &block);
    assert_string_equal(block.hash, CC_CHEESE_GENESIS_SMELL);
    assert_string_equal(block.text, json);
    assert_int_equal(block.text_len, strlen(json));
    assert_int_equal(block.height, 0);
    assert_string_equal(block.prev, "");
    assert_int_equal(block.n_txs, 0);
    cc_block_clear(&block);
    /* Reordered and re-spaced, it is still the genesis, answered canonically. */
    const char *other = "{\"timestamp\":0,\"nonce\":100,\"transactions\":[],\"parent_smell\":\"\","
                        "\"sequence_number\":0}";
    block_ok(other, strlen(other), &block);
    assert_string_equal(block.text, json);
    cc_block_clear(&block);
    cc_buf_free(&buf);
    json_decref(root);
}

static void test_python_str_examples(void **state)
{
    (void)state;
    json_t *root = load_json(VECTORS);
    const json_t *entries = json_object_get(root, "python_str_examples");
    assert_int_equal(json_array_size(entries), 8);
    size_t i;
    const json_t *entry;
    json_array_foreach(entries, i, entry) {
        cc_buf doc = CC_BUF_INIT;
        cc_buf_printf(&doc, "{\"n\": %s}", str_at(entry, "json_number"));
        cc_err err = {0};
        json_t *value = cc_json_parse(doc.data, doc.len, 4, &err);
        assert_non_null(value);
        cc_number n;
        assert_true(cc_json_get_number(value, "n", &n, &err));
        char text[CC_NUMBER_TEXT_MAX];
        cc_number_format(&n, text);
        assert_string_equal(text, str_at(entry, "python_str"));
        json_decref(value);
        cc_buf_free(&doc);
    }
    json_decref(root);
}

static void test_py_repr_and_json_str(void **state)
{
    (void)state;
    json_t *root = load_json(EXTRA);
    const char *kinds[] = {"py_repr", "json_str"};
    for (int k = 0; k < 2; k++) {
        const json_t *entries = json_object_get(root, kinds[k]);
        assert_true(json_array_size(entries) >= 9);
        size_t i;
        const json_t *entry;
        json_array_foreach(entries, i, entry) {
            const char *s = json_string_value(json_array_get(entry, 0));
            const char *expected = json_string_value(json_array_get(entry, 1));
            cc_buf out = CC_BUF_INIT;
            assert_true(k == 0 ? cc_cheese_py_repr(s, &out) : cc_cheese_json_str(s, &out));
            if (strcmp(out.data, expected) != 0)
                fail_msg("%s of [%s]: [%s], Python says [%s]", kinds[k], s, out.data, expected);
            cc_buf_free(&out);
        }
    }
    /* Beyond printable ASCII: refused, nothing written. */
    const char *bad[] = {"a\x01", "tab\there", "new\nline", "caf\xc3\xa9", "del\x7f", "\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cc_buf out = CC_BUF_INIT;
        cc_buf_puts(&out, "x");
        assert_false(cc_cheese_py_repr(bad[i], &out));
        assert_false(cc_cheese_json_str(bad[i], &out));
        assert_string_equal(out.data, "x");
        cc_buf_free(&out);
    }
    cc_buf out = CC_BUF_INIT;
    assert_false(cc_cheese_py_repr(NULL, &out));
    assert_false(cc_cheese_json_str(NULL, &out));
    cc_buf_free(&out);
    json_decref(root);
}

static void test_transaction_vectors(void **state)
{
    (void)state;
    json_t *root = load_json(VECTORS);
    const json_t *entries = json_object_get(root, "transactions");
    assert_int_equal(json_array_size(entries), 2);
    const char *payload = str_at(json_array_get(entries, 0), "signed_payload");
    size_t i;
    const json_t *entry;
    json_array_foreach(entries, i, entry) {
        const char *json = str_at(entry, "json");
        cc_tx tx;
        tx_ok(json, &tx);
        assert_string_equal(tx.text, json);
        assert_int_equal(tx.text_len, strlen(json));
        char txid[65];
        cc_sha256_hex(json, strlen(json), txid);
        assert_string_equal(tx.txid, txid);
        assert_false(tx.is_reward);
        assert_null(tx.timestamp);
        assert_int_equal(tx.msg_off, 0);
        assert_int_equal(tx.msg_len, 0);
        cc_buf buf = CC_BUF_INIT;
        cc_cheese_tx_payload(&tx, &buf);
        if (i == 0)
            assert_string_equal(buf.data, payload);
        char msgid[65];
        cc_sha256_hex(buf.data, buf.len, msgid);
        assert_string_equal(tx.msgid, msgid);
        cc_buf_free(&buf);
        bool valid = json_is_true(json_object_get(entry, "valid"));
        if (cc_cheese_tx_verify(&tx) != valid)
            fail_msg("transaction vector %zu: verify should be %d", i, valid);
        /* The same through the rules table. */
        const cc_rules *rules = cc_rules_cheese();
        cc_tx again;
        assert_true(rules->tx_decode(json, strlen(json), &again, NULL));
        assert_int_equal(rules->tx_verify(&again), valid);
        assert_string_equal(again.msgid, tx.msgid);
        cc_tx_clear(&again);
        cc_tx_clear(&tx);
    }
    json_decref(root);
}

/* Every block vector (the reference's and the extra ones): the canonical
 * text is the vector text, the smell and both pre-images are the vector's. */
static void check_block_vectors(const json_t *entries)
{
    size_t i;
    const json_t *entry;
    json_array_foreach(entries, i, entry) {
        const char *json = str_at(entry, "json");
        cc_block block;
        block_ok(json, strlen(json), &block);
        assert_string_equal(block.text, json);
        assert_int_equal(block.text_len, strlen(json));
        assert_string_equal(block.hash, str_at(entry, "smell"));
        json_t *parsed = json_loads(json, 0, NULL);
        assert_non_null(parsed);
        cc_cheese_header h = {
            .sequence_number = json_integer_value(json_object_get(parsed, "sequence_number")),
            .parent_smell = str_at(parsed, "parent_smell"),
            .nonce = json_integer_value(json_object_get(parsed, "nonce")),
        };
        const json_t *ts = json_object_get(parsed, "timestamp");
        h.timestamp = json_is_integer(ts) ? (cc_number){.is_int = true, .i = json_integer_value(ts)}
                                          : (cc_number){.is_int = false, .d = json_real_value(ts)};
        assert_int_equal(block.height, h.sequence_number);
        assert_string_equal(block.prev, h.parent_smell);
        assert_int_equal(block.n_txs, json_array_size(json_object_get(parsed, "transactions")));
        cc_buf buf = CC_BUF_INIT;
        cc_cheese_smell_preimage(&h, block.txs, block.n_txs, &buf);
        assert_string_equal(buf.data, str_at(entry, "smell_preimage"));
        cc_buf_reset(&buf);
        cc_cheese_pow_prefix(block.txs, block.n_txs - 1, h.parent_smell, &buf);
        cc_buf_printf(&buf, "%lld", (long long)h.nonce);
        const char *pow_pre = str_at(entry, "pow_preimage");
        assert_string_equal(buf.data, pow_pre);
        char hash[65];
        cc_sha256_hex(pow_pre, strlen(pow_pre), hash);
        if (json_object_get(entry, "pow_hash"))
            assert_string_equal(hash, str_at(entry, "pow_hash"));
        assert_true(cc_cheese_pow_ok(hash));
        /* Each transaction's text is its slice of the block, every
         * signature verifies, and the reward is last. */
        for (size_t j = 0; j < block.n_txs; j++) {
            assert_non_null(strstr(json, block.txs[j].text));
            assert_true(cc_cheese_tx_verify(&block.txs[j]));
            assert_int_equal(block.txs[j].is_reward, j + 1 == block.n_txs);
        }
        /* The same through the rules table. */
        cc_block again;
        assert_true(cc_rules_cheese()->block_decode(json, strlen(json), &again, NULL));
        assert_string_equal(again.hash, block.hash);
        cc_block_clear(&again);
        cc_buf_free(&buf);
        json_decref(parsed);
        cc_block_clear(&block);
        cc_block_clear(&block); /* idempotent */
    }
}

static void test_block_vectors(void **state)
{
    (void)state;
    json_t *root = load_json(VECTORS);
    const json_t *blocks = json_object_get(root, "blocks");
    assert_int_equal(json_array_size(blocks), 2);
    check_block_vectors(blocks);
    /* Block 1 builds on the genesis, block 2 on block 1. */
    assert_non_null(strstr(str_at(json_array_get(blocks, 0), "json"), CC_CHEESE_GENESIS_SMELL));
    assert_non_null(strstr(str_at(json_array_get(blocks, 1), "json"),
                           str_at(json_array_get(blocks, 0), "smell")));
    /* Block 2's payment is the vector transaction. */
    cc_block two;
    const char *json = str_at(json_array_get(blocks, 1), "json");
    block_ok(json, strlen(json), &two);
    const char *tx = str_at(json_array_get(json_object_get(root, "transactions"), 0), "json");
    assert_string_equal(two.txs[0].text, tx);
    assert_true(two.txs[1].is_reward);
    cc_block_clear(&two);
    json_decref(root);
}

static void test_extra_block_vectors(void **state)
{
    (void)state;
    json_t *root = load_json(EXTRA);
    const json_t *blocks = json_object_get(root, "blocks");
    assert_int_equal(json_array_size(blocks), 2);
    check_block_vectors(blocks);
    /* The second one pays its reward as 10.0 and is stamped with an int. */
    cc_block four;
    const char *json = str_at(json_array_get(blocks, 1), "json");
    block_ok(json, strlen(json), &four);
    assert_false(four.txs[1].amount.is_int);
    assert_true(four.txs[1].amount.d == 10.0);
    assert_non_null(strstr(four.text, "\"amount\": 10.0, "));
    assert_non_null(strstr(four.text, "\"timestamp\": 1700000000}"));
    cc_block_clear(&four);
    json_decref(root);
}

/* The same block, re-spaced, re-ordered and with members the format does
 * not know, is the same block: only the canonical text counts. */
static void test_block_reprinted_canonically(void **state)
{
    (void)state;
    json_t *root = load_json(VECTORS);
    const char *json = str_at(json_array_get(json_object_get(root, "blocks"), 1), "json");
    json_t *parsed = json_loads(json, 0, NULL);
    json_object_set_new(parsed, "smell", json_string("whatever"));
    json_object_set_new(json_array_get(json_object_get(parsed, "transactions"), 0), "extra",
                        json_integer(1));
    char *other = json_dumps(parsed, JSON_INDENT(3) | JSON_SORT_KEYS);
    assert_string_not_equal(other, json);
    cc_block block;
    block_ok(other, strlen(other), &block);
    assert_string_equal(block.text, json);
    assert_string_equal(block.hash, str_at(json_array_get(json_object_get(root, "blocks"), 1), "smell"));
    cc_block_clear(&block);
    free(other);
    json_decref(parsed);
    json_decref(root);
}

/* A CHAIN[...] answer: a list of blocks, decoded element by element. */
static void test_block_from_json_list(void **state)
{
    (void)state;
    json_t *root = load_json(VECTORS);
    const json_t *blocks = json_object_get(root, "blocks");
    cc_buf list = CC_BUF_INIT;
    cc_buf_printf(&list, "[%s, %s, %s, 7]", CC_CHEESE_GENESIS_TEXT,
                  str_at(json_array_get(blocks, 0), "json"), str_at(json_array_get(blocks, 1), "json"));
    cc_err err = {0};
    json_t *chain = cc_json_parse(list.data, list.len, CC_CHEESE_MAX_JSON_DEPTH + 1, &err);
    assert_non_null(chain);
    const char *smells[] = {CC_CHEESE_GENESIS_SMELL, str_at(json_array_get(blocks, 0), "smell"),
                            str_at(json_array_get(blocks, 1), "smell")};
    for (size_t i = 0; i < 3; i++) {
        cc_block block;
        if (!cc_cheese_block_from_json(json_array_get(chain, i), &block, &err))
            fail_msg("block %zu refused: %s", i, err.msg);
        assert_string_equal(block.hash, smells[i]);
        assert_int_equal(block.height, (int64_t)i);
        if (i > 0)
            assert_string_equal(block.prev, smells[i - 1]);
        cc_block_clear(&block);
    }
    cc_block block;
    memset(&block, 0xa5, sizeof block);
    assert_false(cc_cheese_block_from_json(json_array_get(chain, 3), &block, &err));
    assert_bad_request(&err, "object");
    assert_null(block.text);
    assert_false(cc_cheese_block_from_json(NULL, &block, &err));
    assert_bad_request(&err, "object");
    json_decref(chain);
    cc_buf_free(&list);
    json_decref(root);
}

/* ---- transactions: what must be refused ------------------------------------------ */

/* What the transaction-form tests start from: vector keys 0 and 1, a
 * payment of 1 from the first to the second, and its sender, recipient and
 * signature quoted as JSON strings. */
typedef struct tx_form {
    cc_rsa_key a, b;
    ttx t;
    char *from, *to, *sig;
} tx_form;

static void tx_form_init(tx_form *fx)
{
    vector_key(0, &fx->a);
    vector_key(1, &fx->b);
    ttx_payment(&fx->t, &fx->a, fx->b.pub_hex, "1");
    fx->from = quoted(fx->a.pub_hex);
    fx->to = quoted(fx->b.pub_hex);
    fx->sig = quoted(fx->t.signature);
}

static void tx_form_free(tx_form *fx)
{
    free(fx->from);
    free(fx->to);
    free(fx->sig);
    ttx_free(&fx->t, 1);
    cc_rsa_key_clear(&fx->a);
    cc_rsa_key_clear(&fx->b);
}

static void test_tx_fields_missing_or_mistyped(void **state)
{
    (void)state;
    tx_form fx;
    tx_form_init(&fx);
    cc_buf text = CC_BUF_INIT;

    tx_json(&text, fx.from, fx.to, "1", fx.sig);
    cc_tx tx;
    tx_ok(text.data, &tx);
    assert_true(cc_cheese_tx_verify(&tx));
    cc_tx_clear(&tx);

    const char *wrong[] = {"12", "null", "[]", "{}", "true"};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        tx_json(&text, wrong[i], fx.to, "1", fx.sig);
        assert_tx_refused(text.data, "sender");
        tx_json(&text, fx.from, wrong[i], "1", fx.sig);
        assert_tx_refused(text.data, "recipient");
        tx_json(&text, fx.from, fx.to, "1", wrong[i]);
        assert_tx_refused(text.data, "signature");
    }
    const char *wrong_amount[] = {"\"1\"", "true", "null", "[1]", "{}"};
    for (size_t i = 0; i < sizeof wrong_amount / sizeof wrong_amount[0]; i++) {
        tx_json(&text, fx.from, fx.to, wrong_amount[i], fx.sig);
        assert_tx_refused(text.data, "amount");
    }
    tx_json(&text, NULL, fx.to, "1", fx.sig);
    assert_tx_refused(text.data, "sender");
    tx_json(&text, fx.from, NULL, "1", fx.sig);
    assert_tx_refused(text.data, "recipient");
    tx_json(&text, fx.from, fx.to, NULL, fx.sig);
    assert_tx_refused(text.data, "amount");
    tx_json(&text, fx.from, fx.to, "1", NULL);
    assert_tx_refused(text.data, "signature");

    assert_tx_refused("[]", "object");
    assert_tx_refused("\"tx\"", "object");
    assert_tx_refused("", "JSON");
    assert_tx_refused("{", "JSON");
    assert_tx_refused("{\"sender\": \"a\", \"sender\": \"b\"}", "JSON");
    tx_json(&text, fx.from, fx.to, "1", fx.sig);
    cc_buf_puts(&text, " {}");
    assert_tx_refused(text.data, "JSON");
    /* A wrapper around a good transaction is not one. */
    cc_buf wrapped = CC_BUF_INIT;
    tx_json(&text, fx.from, fx.to, "1", fx.sig);
    cc_buf_printf(&wrapped, "{\"transaction\": %s}", text.data);
    assert_tx_refused(wrapped.data, "sender");
    cc_buf_free(&wrapped);

    cc_buf_free(&text);
    tx_form_free(&fx);
}

static void test_tx_keys_and_signature_form(void **state)
{
    (void)state;
    tx_form fx;
    tx_form_init(&fx);
    cc_buf text = CC_BUF_INIT;
    size_t key_len = strlen(fx.a.pub_hex);
    const char *what[] = {"sender", "recipient"};
    for (int side = 0; side < 2; side++) {
        for (int variant = 0; variant < 5; variant++) {
            char *key = cc_malloc(key_len + 4);
            snprintf(key, key_len + 4, "%s", side ? fx.b.pub_hex : fx.a.pub_hex);
            if (variant == 0)
                key[key_len - 2] = '\0'; /* one byte short */
            else if (variant == 1)
                strcat(key, "00"); /* one byte more */
            else if (variant == 2)
                key[100] = 'A'; /* upper case */
            else if (variant == 3)
                key[100] = 'g'; /* not hex */
            else
                key[key_len - 1] = '\0'; /* odd length */
            char *q = quoted(key);
            tx_json(&text, side ? fx.from : q, side ? q : fx.to, "1", fx.sig);
            assert_tx_refused(text.data, what[side]);
            free(q);
            free(key);
        }
    }
    /* A reward must pay a key too; a payment cannot come from a name. */
    tx_json(&text, "\"" REWARD_SENDER "\"", "\"Satoshi\"", "10", "\"" REWARD_SIG "\"");
    assert_tx_refused(text.data, "recipient");
    tx_json(&text, "\"Satoshi\"", fx.to, "10", fx.sig);
    assert_tx_refused(text.data, "sender");
    /* The signature: exactly 256 lowercase hex digits for a 1024-bit key. */
    cc_buf shorter_buf = CC_BUF_INIT;
    cc_buf_append(&shorter_buf, fx.sig, strlen(fx.sig) - 3);
    cc_buf_putc(&shorter_buf, '"');
    char *shorter = cc_buf_take(&shorter_buf);
    char *upper = cc_strdup(fx.sig);
    upper[5] = 'A';
    const char *bad_sigs[] = {"\"\"", "\"abc\"", "\"REWARDTRANSACTIONSIGNATURE\"", shorter, upper};
    for (size_t i = 0; i < sizeof bad_sigs / sizeof bad_sigs[0]; i++) {
        tx_json(&text, fx.from, fx.to, "1", bad_sigs[i]);
        assert_tx_refused(text.data, "signature");
    }
    free(shorter);
    free(upper);
    /* Reward sender and reward signature go together. */
    tx_json(&text, fx.from, fx.to, "1", "\"" REWARD_SIG "\"");
    assert_tx_refused(text.data, "reward");
    tx_json(&text, "\"" REWARD_SENDER "\"", fx.to, "10", fx.sig);
    assert_tx_refused(text.data, "reward");
    /* The real reward: decoded as one, verifies without a signature. */
    tx_json(&text, "\"" REWARD_SENDER "\"", fx.to, "10", "\"" REWARD_SIG "\"");
    cc_tx tx;
    tx_ok(text.data, &tx);
    assert_true(tx.is_reward);
    assert_true(cc_cheese_tx_verify(&tx));
    assert_string_equal(tx.text, text.data);
    cc_tx_clear(&tx);
    /* Well formed, signed by the other key: decodes, does not verify. */
    ttx other;
    ttx_payment(&other, &fx.b, fx.b.pub_hex, "1");
    char *other_sig = quoted(other.signature);
    tx_json(&text, fx.from, fx.to, "1", other_sig);
    tx_ok(text.data, &tx);
    assert_false(cc_cheese_tx_verify(&tx));
    cc_tx_clear(&tx);
    free(other_sig);
    ttx_free(&other, 1);
    cc_buf_free(&text);
    tx_form_free(&fx);
}

static void test_tx_strings_not_representable(void **state)
{
    (void)state;
    cc_rsa_key b;
    vector_key(1, &b);
    char *to = quoted(b.pub_hex);
    cc_buf text = CC_BUF_INIT;
    const char *bad[] = {"\"a\\\"b\"", "\"a\\\\b\"", "\"a\\u0001b\"", "\"a\\nb\"",
                         "\"caf\\u00e9\"", "\"caf\xc3\xa9\"", "\"a\\u007fb\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        /* Refused for the characters themselves, not for being no key. */
        tx_json(&text, bad[i], to, "10", "\"" REWARD_SIG "\"");
        assert_tx_refused(text.data, "'sender' contains characters the text format cannot carry");
        tx_json(&text, "\"" REWARD_SENDER "\"", bad[i], "10", "\"" REWARD_SIG "\"");
        assert_tx_refused(text.data,
                          "'recipient' contains characters the text format cannot carry");
        tx_json(&text, "\"" REWARD_SENDER "\"", to, "10", bad[i]);
        assert_tx_refused(text.data,
                          "'signature' contains characters the text format cannot carry");
    }
    /* A NUL cannot even be read. */
    tx_json(&text, "\"a\\u0000b\"", to, "10", "\"" REWARD_SIG "\"");
    assert_tx_refused(text.data, "JSON");
    /* Longer than any key may be. */
    char *huge = cc_malloc(CC_CHEESE_MAX_KEY + 4);
    memset(huge, 'a', CC_CHEESE_MAX_KEY + 3);
    huge[0] = '"';
    huge[CC_CHEESE_MAX_KEY + 2] = '"';
    huge[CC_CHEESE_MAX_KEY + 3] = '\0';
    tx_json(&text, "\"" REWARD_SENDER "\"", huge, "10", "\"" REWARD_SIG "\"");
    assert_tx_refused(text.data, "recipient");
    free(huge);
    cc_buf_free(&text);
    free(to);
    cc_rsa_key_clear(&b);
}

static void test_tx_amounts(void **state)
{
    (void)state;
    cc_rsa_key a, b;
    vector_key(0, &a);
    vector_key(1, &b);
    char *to = quoted(b.pub_hex);
    const char *reward = "\"" REWARD_SENDER "\"", *rsig = "\"" REWARD_SIG "\"";
    cc_buf text = CC_BUF_INIT;
    const char *bad[] = {"0", "-1", "0.0", "-0.0", "-1.5", "-5e-324", "-9223372036854775808"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tx_json(&text, reward, to, bad[i], rsig);
        assert_tx_refused(text.data, "amount");
    }
    const char *unreadable[] = {"1e400", "NaN", "Infinity", "99999999999999999999"};
    for (size_t i = 0; i < sizeof unreadable / sizeof unreadable[0]; i++) {
        tx_json(&text, reward, to, unreadable[i], rsig);
        assert_tx_refused(text.data, "JSON");
    }
    /* 2 and 2.0 are different payloads, so different payments, each
     * printed as received; other spellings print as Python would. */
    const char *in[] = {"2", "2.0", "2.50", "1E2", "1e-5", "0.30000000000000004", "1e16",
                        "123456789012345678", "5e-324"};
    const char *out[] = {"2", "2.0", "2.5", "100.0", "1e-05", "0.30000000000000004", "1e+16",
                         "123456789012345678", "5e-324"};
    char msgids[9][65];
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        ttx t;
        ttx_payment(&t, &a, b.pub_hex, out[i]);
        char *from = quoted(a.pub_hex), *sig = quoted(t.signature);
        tx_json(&text, from, to, in[i], sig);
        cc_tx tx;
        tx_ok(text.data, &tx);
        char expected[64];
        snprintf(expected, sizeof expected, "\"amount\": %s, ", out[i]);
        if (!strstr(tx.text, expected))
            fail_msg("amount %s printed in %.60s..., expected %s", in[i], tx.text + 600, out[i]);
        /* Signed over the Python spelling, so it verifies. */
        assert_true(cc_cheese_tx_verify(&tx));
        memcpy(msgids[i], tx.msgid, 65);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(msgids[j], msgids[i]);
        cc_tx_clear(&tx);
        free(from);
        free(sig);
        ttx_free(&t, 1);
    }
    cc_buf_free(&text);
    free(to);
    cc_rsa_key_clear(&a);
    cc_rsa_key_clear(&b);
}

/* The payload carries no nonce: the same payment twice is one payment. A
 * PKCS#1 v1.5 signature is unique, so the txid repeats too. */
static void test_tx_replay_same_ids(void **state)
{
    (void)state;
    json_t *root = load_json(VECTORS);
    const char *json = str_at(json_array_get(json_object_get(root, "transactions"), 0), "json");
    cc_tx one, two;
    tx_ok(json, &one);
    json_t *parsed = json_loads(json, 0, NULL);
    char *respaced = json_dumps(parsed, JSON_COMPACT);
    tx_ok(respaced, &two);
    assert_string_equal(one.msgid, two.msgid);
    assert_string_equal(one.txid, two.txid);
    assert_string_equal(one.text, two.text);
    free(respaced);
    json_decref(parsed);
    cc_tx_clear(&one);
    cc_tx_clear(&two);
    json_decref(root);
}

static void test_tx_create_and_reward(void **state)
{
    (void)state;
    json_t *root = load_json(VECTORS);
    cc_rsa_key a, b;
    vector_key(0, &a);
    vector_key(1, &b);
    /* The vector payment, made here: the same text to the byte. */
    cc_tx tx;
    cc_err err = {0};
    cc_number amount = {.is_int = false, .d = 3.5};
    assert_true(cc_cheese_tx_create(&a, b.pub_hex, &amount, &tx, &err));
    assert_string_equal(tx.text, str_at(json_array_get(json_object_get(root, "transactions"), 0), "json"));
    assert_true(cc_cheese_tx_verify(&tx));
    assert_false(tx.is_reward);
    cc_tx decoded;
    tx_ok(tx.text, &decoded);
    assert_string_equal(decoded.msgid, tx.msgid);
    assert_string_equal(decoded.txid, tx.txid);
    cc_tx_clear(&decoded);
    cc_tx copy;
    cc_tx_copy(&copy, &tx);
    assert_string_equal(copy.text, tx.text);
    assert_true(cc_cheese_tx_verify(&copy));
    cc_tx_clear(&copy);
    cc_tx_clear(&tx);
    /* Refusals. */
    const cc_number bad_amounts[] = {{.is_int = true, .i = 0},
                                     {.is_int = true, .i = -3},
                                     {.is_int = false, .d = 0.0},
                                     {.is_int = false, .d = -1.0},
                                     {.is_int = false, .d = INFINITY},
                                     {.is_int = false, .d = NAN}};
    for (size_t i = 0; i < sizeof bad_amounts / sizeof bad_amounts[0]; i++) {
        memset(&tx, 0xa5, sizeof tx);
        assert_false(cc_cheese_tx_create(&a, b.pub_hex, &bad_amounts[i], &tx, &err));
        assert_bad_request(&err, "amount");
        assert_null(tx.text);
    }
    assert_false(cc_cheese_tx_create(&a, "Satoshi", &amount, &tx, &err));
    assert_bad_request(&err, "recipient");
    cc_rsa_key public_only = {.priv_hex = NULL, .pub_hex = a.pub_hex};
    assert_false(cc_cheese_tx_create(&public_only, b.pub_hex, &amount, &tx, &err));
    assert_bad_request(&err, "sign");
    cc_rsa_key nothing = {0};
    assert_false(cc_cheese_tx_create(&nothing, b.pub_hex, &amount, &tx, &err));
    assert_null(tx.text);
    /* The reward of vector block 1, made here. */
    cc_cheese_tx_reward(a.pub_hex, &tx);
    assert_true(tx.is_reward);
    assert_true(cc_cheese_tx_verify(&tx));
    const char *block1 = str_at(json_array_get(json_object_get(root, "blocks"), 0), "json");
    assert_non_null(strstr(block1, tx.text));
    assert_true(tx.amount.is_int);
    assert_int_equal(tx.amount.i, CC_CHEESE_REWARD);
    cc_tx_clear(&tx);
    cc_rsa_key_clear(&a);
    cc_rsa_key_clear(&b);
    json_decref(root);
}

/* ---- blocks: what must be refused ---------------------------------------------------- */

typedef struct fixture {
    cc_rsa_key a, b;
    json_t *vectors;
    const char *parent; /* vector block 2's smell */
} fixture;

static void fixture_open(fixture *f)
{
    vector_key(0, &f->a);
    vector_key(1, &f->b);
    f->vectors = load_json(VECTORS);
    f->parent = str_at(json_array_get(json_object_get(f->vectors, "blocks"), 1), "smell");
}

static void fixture_close(fixture *f)
{
    cc_rsa_key_clear(&f->a);
    cc_rsa_key_clear(&f->b);
    json_decref(f->vectors);
}

static void test_block_mined_here_accepted(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    ttx txs[4];
    ttx_payment(&txs[0], &f.a, f.b.pub_hex, "1");
    ttx_payment(&txs[1], &f.b, f.a.pub_hex, "0.5");
    ttx_payment(&txs[2], &f.a, f.a.pub_hex, "2.0"); /* to oneself: allowed */
    ttx_reward(&txs[3], f.b.pub_hex, "10");
    cc_buf text = CC_BUF_INIT;
    long long nonce = craft_block(3, f.parent, txs, 4, TS, true, &text);
    cc_block block;
    block_ok(text.data, text.len, &block);
    assert_string_equal(block.text, text.data);
    assert_int_equal(block.height, 3);
    assert_string_equal(block.prev, f.parent);
    assert_int_equal(block.n_txs, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_true(cc_cheese_tx_verify(&block.txs[i]));
        char *t = ttx_text(&txs[i]);
        assert_string_equal(block.txs[i].text, t);
        free(t);
    }
    /* The smell is the SHA-256 of the sorted dump, printed here by hand. */
    cc_buf pre = CC_BUF_INIT;
    cc_buf_printf(&pre, "{\"nonce\": %lld, \"parent_smell\": \"%s\", \"sequence_number\": 3, "
                        "\"timestamp\": " TS ", \"transactions\": [",
                  nonce, f.parent);
    for (size_t i = 0; i < 4; i++)
        cc_buf_printf(&pre, "%s{\"amount\": %s, \"recipient\": \"%s\", \"sender\": \"%s\"}",
                      i ? ", " : "", txs[i].amount, txs[i].recipient, txs[i].sender);
    cc_buf_puts(&pre, "]}");
    char smell[65];
    cc_sha256_hex(pre.data, pre.len, smell);
    assert_string_equal(block.hash, smell);
    cc_block_clear(&block);
    /* Only the reward: the list is empty ("[]"). */
    craft_block(3, f.parent, &txs[3], 1, TS, true, &text);
    block_ok(text.data, text.len, &block);
    assert_int_equal(block.n_txs, 1);
    cc_block_clear(&block);
    cc_buf_free(&pre);
    cc_buf_free(&text);
    ttx_free(txs, 4);
    fixture_close(&f);
}

static void test_block_fields_missing_or_mistyped(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    ttx r;
    ttx_reward(&r, f.a.pub_hex, "10");
    char *reward = ttx_text(&r);
    cc_buf list = CC_BUF_INIT;
    cc_buf_printf(&list, "[%s]", reward);
    char *parent = quoted(f.parent);
    cc_buf text = CC_BUF_INIT;
    const char *wrong[] = {"\"1\"", "1.0", "null", "[]", "{}", "true"};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        block_json(&text, wrong[i], parent, list.data, "1", TS);
        assert_block_refused(&text, "sequence_number");
        block_json(&text, "3", wrong[i], list.data, "1", TS);
        assert_block_refused(&text, "parent_smell");
        if (strcmp(wrong[i], "[]") != 0) {
            block_json(&text, "3", parent, wrong[i], "1", TS);
            assert_block_refused(&text, "transactions");
        }
        block_json(&text, "3", parent, list.data, wrong[i], TS);
        assert_block_refused(&text, "nonce");
        if (strcmp(wrong[i], "1.0") != 0) {
            block_json(&text, "3", parent, list.data, "1", wrong[i]);
            assert_block_refused(&text, "timestamp");
        }
    }
    block_json(&text, NULL, parent, list.data, "1", TS);
    assert_block_refused(&text, "sequence_number");
    block_json(&text, "3", NULL, list.data, "1", TS);
    assert_block_refused(&text, "parent_smell");
    block_json(&text, "3", parent, NULL, "1", TS);
    assert_block_refused(&text, "transactions");
    block_json(&text, "3", parent, list.data, NULL, TS);
    assert_block_refused(&text, "nonce");
    block_json(&text, "3", parent, list.data, "1", NULL);
    assert_block_refused(&text, "timestamp");
    /* A transaction that is not one. */
    block_json(&text, "3", parent, "[1]", "1", TS);
    assert_block_refused(&text, "transaction 0: a transaction must be a JSON object");
    block_json(&text, "3", parent, "[{}]", "1", TS);
    assert_block_refused(&text, "transaction 0: missing field 'sender'");
    /* Not a block at all. */
    assert_block_refused_s("[]", "object");
    assert_block_refused_s("", "JSON");
    assert_block_refused_s("{\"sequence_number\": 1, \"sequence_number\": 2}", "JSON");
    assert_block_refused_s("[[[[[[[[[[[[1]]]]]]]]]]]]", "nested");
    assert_block_refused_s("{\"sequence_number\": 99999999999999999999}", "JSON");
    /* A negative number. */
    block_json(&text, "-1", parent, list.data, "1", TS);
    assert_block_refused(&text, "negative");
    cc_buf_free(&text);
    cc_buf_free(&list);
    free(parent);
    free(reward);
    ttx_free(&r, 1);
    fixture_close(&f);
}

static void test_block_parent_smell_form(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    ttx r;
    ttx_reward(&r, f.a.pub_hex, "10");
    cc_buf text = CC_BUF_INIT;
    char smell[66];
    const char *why[] = {"64 lowercase", "64 lowercase", "longer", "64 lowercase", "64 lowercase",
                         "parent_smell"};
    for (int variant = 0; variant < 6; variant++) {
        snprintf(smell, sizeof smell, "%s", f.parent);
        if (variant == 0)
            smell[63] = '\0'; /* 63 digits */
        else if (variant == 1)
            smell[3] = 'A'; /* upper case */
        else if (variant == 2)
            strcat(smell, "0"); /* 65 digits */
        else if (variant == 3)
            smell[0] = '\0'; /* "" on a block that is not the genesis */
        else if (variant == 4)
            smell[10] = 'x';
        else
            smell[10] = smell[11] = '\\'; /* a backslash, escaped in JSON */
        craft_block(3, smell, &r, 1, TS, true, &text);
        assert_block_refused(&text, why[variant]);
    }
    cc_buf_free(&text);
    ttx_free(&r, 1);
    fixture_close(&f);
}

static void test_block_pow(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    ttx txs[2];
    ttx_payment(&txs[0], &f.a, f.b.pub_hex, "1");
    ttx_reward(&txs[1], f.a.pub_hex, "10");
    cc_buf text = CC_BUF_INIT;
    craft_block(3, f.parent, txs, 2, TS, false, &text);
    assert_block_refused(&text, "proof of work");
    craft_block(3, f.parent, &txs[1], 1, TS, false, &text);
    assert_block_refused(&text, "proof of work");
    /* A good block on another parent has no proof for this one. */
    craft_block(3, f.parent, txs, 2, TS, true, &text);
    cc_block block;
    block_ok(text.data, text.len, &block);
    cc_block_clear(&block);
    char *moved = cc_strdup(text.data);
    char *at = strstr(moved, f.parent);
    at[0] = at[0] == '0' ? '1' : '0';
    cc_buf other = CC_BUF_INIT;
    cc_buf_puts(&other, moved);
    /* Unless the changed parent happens to work as well (1 in 256): check. */
    cc_buf pre = CC_BUF_INIT;
    cc_buf_printf(&pre, "[OrderedDict([('sender', '%s'), ('recipient', '%s'), ('amount', 1)])]%.64s",
                  txs[0].sender, txs[0].recipient, at);
    const char *nonce_at = strstr(moved, "\"nonce\": ") + 9;
    cc_buf_append(&pre, nonce_at, strspn(nonce_at, "0123456789"));
    char hash[65];
    cc_sha256_hex(pre.data, pre.len, hash);
    if (strncmp(hash, "00", 2) != 0)
        assert_block_refused(&other, "proof of work");
    /* The vector blocks with another nonce. */
    json_t *blocks = json_object_get(f.vectors, "blocks");
    const char *json = str_at(json_array_get(blocks, 1), "json");
    char *changed = cc_strdup(json);
    char *n = strstr(changed, "\"nonce\": 634");
    assert_non_null(n);
    n[strlen("\"nonce\": 63")] = '5'; /* 635 */
    cc_buf_reset(&other);
    cc_buf_puts(&other, changed);
    assert_block_refused(&other, "proof of work");
    /* Changing the timestamp, or the reward's recipient, keeps the proof
     * (neither is covered) but changes the smell. */
    cc_block orig;
    block_ok(json, strlen(json), &orig);
    cc_buf_reset(&other);
    cc_buf_puts(&other, json);
    char *ts = strstr(other.data, "1645524338.634906");
    ts[0] = '2';
    block_ok(other.data, other.len, &block);
    assert_string_not_equal(block.hash, orig.hash);
    cc_block_clear(&block);
    cc_block_clear(&orig);
    free(changed);
    free(moved);
    cc_buf_free(&pre);
    cc_buf_free(&other);
    cc_buf_free(&text);
    ttx_free(txs, 2);
    fixture_close(&f);
}

static void test_block_rewards(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    ttx p[2], r[6];
    ttx_payment(&p[0], &f.a, f.b.pub_hex, "1");
    ttx_payment(&p[1], &f.b, f.a.pub_hex, "2");
    ttx_reward(&r[0], f.a.pub_hex, "10");
    ttx_reward(&r[1], f.a.pub_hex, "11");
    ttx_reward(&r[2], f.a.pub_hex, "9.99");
    ttx_reward(&r[3], f.a.pub_hex, "10.5");
    ttx_reward(&r[4], f.a.pub_hex, "10.0");
    ttx_reward(&r[5], f.b.pub_hex, "10");
    cc_buf text = CC_BUF_INIT;
    cc_block block;
    /* No reward at all. */
    craft_block(3, f.parent, p, 2, TS, true, &text);
    assert_block_refused(&text, "last transaction must be the reward");
    craft_block(3, f.parent, p, 1, TS, true, &text);
    assert_block_refused(&text, "last transaction must be the reward");
    /* No transactions at all (refused before anything reads the list). */
    craft_block(3, f.parent, NULL, 0, TS, true, &text);
    assert_block_refused(&text, "a block holds at least its reward transaction");
    /* The reward first, not last. */
    ttx first[3] = {r[0], p[0], p[1]};
    craft_block(3, f.parent, first, 3, TS, true, &text);
    assert_block_refused(&text, "transaction 0: a block holds one reward");
    /* Two rewards, however placed. */
    ttx two[3] = {p[0], r[0], r[5]};
    craft_block(3, f.parent, two, 3, TS, true, &text);
    assert_block_refused(&text, "transaction 1: a block holds one reward");
    ttx twice[2] = {r[0], r[0]};
    craft_block(3, f.parent, twice, 2, TS, true, &text);
    assert_block_refused(&text, "one reward");
    /* The amount: 10 or 10.0, nothing else. */
    for (int i = 1; i <= 3; i++) {
        craft_block(3, f.parent, &r[i], 1, TS, true, &text);
        assert_block_refused(&text, "the reward must be 10");
    }
    craft_block(3, f.parent, &r[4], 1, TS, true, &text);
    block_ok(text.data, text.len, &block);
    cc_block_clear(&block);
    ttx good[3] = {p[0], p[1], r[5]};
    craft_block(3, f.parent, good, 3, TS, true, &text);
    block_ok(text.data, text.len, &block);
    assert_true(block.txs[2].is_reward);
    assert_string_equal(block.txs[2].to, f.b.pub_hex);
    cc_block_clear(&block);
    cc_buf_free(&text);
    ttx_free(p, 2);
    ttx_free(r, 6);
    fixture_close(&f);
}

static void test_block_duplicates_and_signatures(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    ttx t[4];
    ttx_payment(&t[0], &f.a, f.b.pub_hex, "1");
    ttx_payment(&t[1], &f.a, f.b.pub_hex, "1.0"); /* another payment: 1.0 is not 1 */
    ttx_reward(&t[2], f.a.pub_hex, "10");
    ttx_payment(&t[3], &f.a, f.b.pub_hex, "1");
    cc_buf text = CC_BUF_INIT;
    ttx dup[3] = {t[0], t[3], t[2]};
    craft_block(3, f.parent, dup, 3, TS, true, &text);
    assert_block_refused(&text, "transaction 1 appears twice");
    ttx distinct[3] = {t[0], t[1], t[2]};
    craft_block(3, f.parent, distinct, 3, TS, true, &text);
    cc_block block;
    block_ok(text.data, text.len, &block);
    assert_string_not_equal(block.txs[0].msgid, block.txs[1].msgid);
    cc_block_clear(&block);
    /* A signature that does not match (the vector's "amount changed after
     * signing"): the block decodes, the transaction fails verification.
     * Neither the smell nor the proof covers signatures. */
    ttx forged[2] = {t[0], t[2]};
    forged[0].amount = "5";
    craft_block(3, f.parent, forged, 2, TS, true, &text);
    block_ok(text.data, text.len, &block);
    assert_false(cc_cheese_tx_verify(&block.txs[0]));
    assert_true(cc_cheese_tx_verify(&block.txs[1]));
    cc_block_clear(&block);
    /* A signature of the wrong form is refused while decoding. */
    ttx bad_form[2] = {t[0], t[2]};
    bad_form[0].signature = (char *)"abcd";
    craft_block(3, f.parent, bad_form, 2, TS, true, &text);
    assert_block_refused(&text, "transaction 0: signature");
    cc_buf_free(&text);
    ttx_free(t, 4);
    fixture_close(&f);
}

static void test_block_limits(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    /* 256 transactions pass, 257 do not (checked before anything costly). */
    ttx *txs = cc_calloc(CC_CHEESE_MAX_BLOCK_TXS + 1, sizeof *txs);
    char amounts[CC_CHEESE_MAX_BLOCK_TXS + 1][16];
    for (size_t i = 0; i + 1 < CC_CHEESE_MAX_BLOCK_TXS; i++) {
        snprintf(amounts[i], sizeof amounts[i], "%zu", i + 1);
        ttx_payment(&txs[i], &f.a, f.b.pub_hex, amounts[i]);
    }
    ttx_reward(&txs[CC_CHEESE_MAX_BLOCK_TXS - 1], f.a.pub_hex, "10");
    cc_buf text = CC_BUF_INIT;
    craft_block(3, f.parent, txs, CC_CHEESE_MAX_BLOCK_TXS, TS, true, &text);
    cc_block block;
    block_ok(text.data, text.len, &block);
    assert_int_equal(block.n_txs, CC_CHEESE_MAX_BLOCK_TXS);
    cc_block_clear(&block);
    free(txs[CC_CHEESE_MAX_BLOCK_TXS - 1].signature);
    ttx_payment(&txs[CC_CHEESE_MAX_BLOCK_TXS - 1], &f.a, f.b.pub_hex, "100000");
    ttx_reward(&txs[CC_CHEESE_MAX_BLOCK_TXS], f.a.pub_hex, "10");
    craft_block(3, f.parent, txs, CC_CHEESE_MAX_BLOCK_TXS + 1, TS, true, &text);
    assert_block_refused(&text, "at most 256");
    ttx_free(txs, CC_CHEESE_MAX_BLOCK_TXS + 1);
    free(txs);
    cc_buf_free(&text);
    fixture_close(&f);
}

static void test_block_genesis_claims(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    cc_buf text = CC_BUF_INIT;
    /* Anything numbered 0 that is not exactly the genesis. */
    block_json(&text, "0", "\"\"", "[]", "101", "0");
    assert_block_refused(&text, "genesis");
    block_json(&text, "0", "\"\"", "[]", "100", "0.0");
    assert_block_refused(&text, "genesis");
    block_json(&text, "0", "\"\"", "[]", "100", "1");
    assert_block_refused(&text, "genesis");
    block_json(&text, "0", "\"" CC_CHEESE_GENESIS_SMELL "\"", "[]", "100", "0");
    assert_block_refused(&text, "genesis");
    ttx r;
    ttx_reward(&r, f.a.pub_hex, "10");
    craft_block(0, "", &r, 1, "0", true, &text);
    assert_block_refused(&text, "genesis");
    /* A block 1 with an empty parent smell is not the genesis either. */
    craft_block(1, "", &r, 1, "0", true, &text);
    assert_block_refused(&text, "parent_smell");
    ttx_free(&r, 1);
    cc_buf_free(&text);
    fixture_close(&f);
}

static void test_pow_predicates(void **state)
{
    (void)state;
    assert_true(cc_cheese_pow_ok("00ff"));
    assert_false(cc_cheese_pow_ok("0f00"));
    assert_false(cc_cheese_pow_ok("0"));
    uint8_t digest[CC_SHA256_LEN] = {0};
    assert_true(cc_cheese_pow_ok_raw(digest));
    digest[0] = 0x01;
    assert_false(cc_cheese_pow_ok_raw(digest));
    digest[0] = 0x00;
    digest[1] = 0xff;
    assert_true(cc_cheese_pow_ok_raw(digest));
    /* No payments: "[]" + parent. */
    cc_buf buf = CC_BUF_INIT;
    cc_cheese_pow_prefix(NULL, 0, "abc", &buf);
    assert_string_equal(buf.data, "[]abc");
    cc_buf_free(&buf);
}

static void test_rules_table(void **state)
{
    (void)state;
    const cc_rules *r = cc_rules_find("cheese");
    assert_ptr_equal(r, cc_rules_cheese());
    assert_string_equal(r->network, "cheese");
    assert_string_equal(r->genesis_hash, CC_CHEESE_GENESIS_SMELL);
    assert_string_equal(r->genesis_text, CC_CHEESE_GENESIS_TEXT);
    assert_int_equal(r->max_block_txs, CC_CHEESE_MAX_BLOCK_TXS);
    assert_true(r->block_reward.is_int);
    assert_int_equal(r->block_reward.i, 10);
    assert_int_equal(r->pow_zero_digits, 2);
    assert_int_equal(r->nonce_style, CC_NONCE_DECIMAL);
    assert_ptr_equal(r->block_decode, cc_cheese_block_decode);
    assert_ptr_equal(r->tx_decode, cc_cheese_tx_decode);
    assert_ptr_equal(r->tx_verify, cc_cheese_tx_verify);
    /* the node's facts: the API on the peer port + 1000, none beyond 65535 */
    assert_int_equal(r->default_port, 9009);
    assert_int_equal(cc_rules_api_port(r, 9009), 10009);
    assert_int_equal(cc_rules_api_port(r, 64535), 65535);
    assert_int_equal(cc_rules_api_port(r, 64536), 0);
    assert_string_equal(r->wallet_file, "wallet-rsa.key");
    assert_ptr_equal(r->key_valid, cc_rsa_pubkey_valid);
    /* The genesis in the table decodes to itself. */
    cc_block block;
    block_ok(r->genesis_text, strlen(r->genesis_text), &block);
    assert_string_equal(block.hash, r->genesis_hash);
    cc_block_clear(&block);
    /* The http table is as it was. */
    const cc_rules *h = cc_rules_find("http");
    assert_string_equal(h->network, "http");
    assert_int_equal(h->pow_zero_digits, 4);
    assert_int_equal(h->nonce_style, CC_NONCE_TEXT);
    assert_int_equal(h->block_reward.i, 1);
    assert_null(cc_rules_find("cheddar"));
    assert_null(cc_rules_find(""));
}

/* ---- mining templates --------------------------------------------------------------- */

/* The vector blocks, laid out as templates and finished with their nonces,
 * are the vector texts; their pre-images are the vector pre-images. */
static void test_template_reproduces_vectors(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    json_t *blocks = json_object_get(f.vectors, "blocks");
    for (size_t i = 0; i < 2; i++) {
        const json_t *entry = json_array_get(blocks, i);
        const char *json = str_at(entry, "json");
        cc_block block;
        block_ok(json, strlen(json), &block);
        json_t *parsed = json_loads(json, 0, NULL);
        cc_number ts = {.is_int = false, .d = json_real_value(json_object_get(parsed, "timestamp"))};
        char nonce[24];
        snprintf(nonce, sizeof nonce, "%lld", (long long)json_integer_value(json_object_get(parsed, "nonce")));
        cc_block_template tpl;
        cc_cheese_template_build(&tpl, block.height, block.prev, &ts, block.txs, block.n_txs);
        assert_int_equal(tpl.height, block.height);
        cc_buf pre = CC_BUF_INIT, text = CC_BUF_INIT;
        cc_buf_printf(&pre, "%s%s%s", tpl.prefix.data, nonce, tpl.suffix.data);
        assert_string_equal(pre.data, str_at(entry, "pow_preimage"));
        assert_non_null(tpl.suffix.data);
        assert_int_equal(tpl.suffix.len, 0);
        assert_true(cc_cheese_template_finish(&tpl, nonce, &text));
        assert_string_equal(text.data, json);
        cc_buf_free(&pre);
        cc_buf_free(&text);
        cc_block_template_clear(&tpl);
        cc_block_template_clear(&tpl);
        json_decref(parsed);
        cc_block_clear(&block);
    }
    fixture_close(&f);
}

static void test_template_mine_and_nonces(void **state)
{
    (void)state;
    fixture f;
    fixture_open(&f);
    cc_tx txs[3];
    cc_err err = {0};
    cc_number one = {.is_int = true, .i = 1}, half = {.is_int = false, .d = 0.5};
    assert_true(cc_cheese_tx_create(&f.a, f.b.pub_hex, &one, &txs[0], &err));
    assert_true(cc_cheese_tx_create(&f.b, f.a.pub_hex, &half, &txs[1], &err));
    cc_cheese_tx_reward(f.a.pub_hex, &txs[2]);
    cc_number ts = {.is_int = false, .d = 1700000000.123456};
    cc_block_template tpl;
    cc_cheese_template_build(&tpl, 3, f.parent, &ts, txs, 3);
    /* Mine from 0, as the reference does, hashing from a midstate. */
    cc_sha256_ctx base;
    cc_sha256_init(&base);
    cc_sha256_update(&base, tpl.prefix.data, tpl.prefix.len);
    char nonce[24];
    for (unsigned long i = 0;; i++) {
        snprintf(nonce, sizeof nonce, "%lu", i);
        cc_sha256_ctx ctx = base;
        cc_sha256_update(&ctx, nonce, strlen(nonce));
        cc_sha256_update(&ctx, tpl.suffix.data, tpl.suffix.len);
        uint8_t digest[CC_SHA256_LEN];
        cc_sha256_final(&ctx, digest);
        if (cc_cheese_pow_ok_raw(digest))
            break;
    }
    cc_buf text = CC_BUF_INIT;
    assert_true(cc_cheese_template_finish(&tpl, nonce, &text));
    cc_block block;
    block_ok(text.data, text.len, &block);
    assert_string_equal(block.text, text.data);
    assert_int_equal(block.height, 3);
    assert_string_equal(block.prev, f.parent);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(block.txs[i].txid, txs[i].txid);
        assert_true(cc_cheese_tx_verify(&block.txs[i]));
    }
    assert_non_null(strstr(text.data, "\"timestamp\": 1700000000.123456}"));
    cc_block_clear(&block);
    /* Nonces that are not Python's str() of a 64-bit int. */
    const char *bad[] = {"", "-1", "01", "1a", " 1", "1.0", "9223372036854775808",
                         "18446744073709551616"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cc_buf_reset(&text);
        cc_buf_puts(&text, "kept");
        if (cc_cheese_template_finish(&tpl, bad[i], &text))
            fail_msg("nonce \"%s\" accepted", bad[i]);
        assert_string_equal(text.data, "kept");
    }
    assert_false(cc_cheese_template_finish(&tpl, NULL, &text));
    assert_true(cc_cheese_template_finish(&tpl, "0", &text));
    assert_non_null(strstr(text.data, "\"nonce\": 0, "));
    assert_true(cc_cheese_template_finish(&tpl, "9223372036854775807", &text));
    cc_buf_free(&text);
    cc_block_template_clear(&tpl);
    for (size_t i = 0; i < 3; i++)
        cc_tx_clear(&txs[i]);
    fixture_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_genesis),
        cmocka_unit_test(test_python_str_examples),
        cmocka_unit_test(test_py_repr_and_json_str),
        cmocka_unit_test(test_transaction_vectors),
        cmocka_unit_test(test_block_vectors),
        cmocka_unit_test(test_extra_block_vectors),
        cmocka_unit_test(test_block_reprinted_canonically),
        cmocka_unit_test(test_block_from_json_list),
        cmocka_unit_test(test_tx_fields_missing_or_mistyped),
        cmocka_unit_test(test_tx_keys_and_signature_form),
        cmocka_unit_test(test_tx_strings_not_representable),
        cmocka_unit_test(test_tx_amounts),
        cmocka_unit_test(test_tx_replay_same_ids),
        cmocka_unit_test(test_tx_create_and_reward),
        cmocka_unit_test(test_block_mined_here_accepted),
        cmocka_unit_test(test_block_fields_missing_or_mistyped),
        cmocka_unit_test(test_block_parent_smell_form),
        cmocka_unit_test(test_block_pow),
        cmocka_unit_test(test_block_rewards),
        cmocka_unit_test(test_block_duplicates_and_signatures),
        cmocka_unit_test(test_block_limits),
        cmocka_unit_test(test_block_genesis_claims),
        cmocka_unit_test(test_pow_predicates),
        cmocka_unit_test(test_rules_table),
        cmocka_unit_test(test_template_reproduces_vectors),
        cmocka_unit_test(test_template_mine_and_nonces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

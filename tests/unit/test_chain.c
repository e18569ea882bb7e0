/* Unit tests for src/chain with the http network's rules, against a
 * temporary SQLite file: blocks are mined here at the real difficulty and
 * payments are signed with the vectors' test keys. Every balance is checked
 * exactly (GMP rationals), and after reorganisations against a ledger
 * recomputed from the best chain as the store serves it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <gmp.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain/chain.h"
#include "consensus/http.h"
#include "consensus/rules.h"
#include "crypto/hash.h"
#include "crypto/p192.h"
#include "util/buf.h"
#include "util/mem.h"
#include "wallet/payment.h"

#include "chain_env.h"

#define P192_N "ffffffffffffffffffffffff99def836146bc9b1b4d22831"
#define N_KEYS 5
enum { A, B, C, M, Z };

typedef cc_test_chain_env env;

/* ---- setup ------------------------------------------------------------- */

static void reopen(env *e) { cc_test_chain_env_reopen(e); }

/* A, B, C are the vectors' keys (1000..1002); M and Z two more. */
static int setup_with(void **state, size_t max_mempool)
{
    env *e = calloc(1, sizeof *e);
    if (!e || !cc_test_chain_env_setup(e, "/tmp/cc-chain-XXXXXX", 1000, N_KEYS, "2026-01-01",
                                       max_mempool)) {
        free(e);
        return -1;
    }
    *state = e;
    return 0;
}

static int setup(void **state) { return setup_with(state, 100); }
static int setup_small_mempool(void **state) { return setup_with(state, 3); }

static int teardown(void **state)
{
    env *e = *state;
    cc_test_chain_env_teardown(e);
    free(e);
    return 0;
}

/* ---- transactions and blocks -------------------------------------------- */

static void next_ts(env *e, char out[32]) { cc_test_chain_env_next_ts(e, out); }

static cc_number num_d(double d) { return (cc_number){.is_int = false, .d = d}; }
static cc_number num_i(int64_t i) { return (cc_number){.is_int = true, .i = i}; }

static void pay(env *e, int from, int to, cc_number amount, cc_tx *out)
{
    char ts[32];
    next_ts(e, ts);
    cc_err err = {0};
    if (!cc_http_tx_create(&e->keys[from], e->keys[to].pub_hex, &amount, ts, out, &err))
        fail_msg("cannot create a payment: %s", err.msg);
}

typedef struct mined {
    char *text;
    size_t len;
    char hash[CC_HASH_HEX_LEN + 1];
} mined;

static void mined_free(mined *m)
{
    free(m->text);
    m->text = NULL;
}

/* Mines a block at height on prev holding txs then (unless reward_to < 0)
 * a reward of 1 to that key, created by M. */
static mined mine(env *e, int64_t height, const char *prev, const cc_tx *txs, size_t n,
                  int reward_to)
{
    cc_test_mined m = cc_test_chain_env_mine(e, height, prev, txs, n, reward_to, M);
    mined out = {.len = m.text.len};
    out.text = cc_buf_take(&m.text);
    memcpy(out.hash, m.hash, sizeof out.hash);
    return out;
}

/* A block with only a reward, on the given parent. */
static mined mine_empty(env *e, int64_t height, const char *prev, int reward_to)
{
    return mine(e, height, prev, NULL, 0, reward_to);
}

static cc_block_result submit(env *e, const mined *m, cc_block_outcome expected)
{
    cc_block_result res = cc_test_submit_block(e->chain, m->text, m->len, expected);
    assert_string_equal(res.hash, m->hash);
    return res;
}

static void assert_block_refused(env *e, const mined *m, cc_refusal why, const char *part)
{
    cc_test_assert_block_refused(e->chain, m->text, m->len, why, part);
}

static void submit_tx_ok(env *e, const cc_tx *tx)
{
    char txid[CC_HASH_HEX_LEN + 1] = "";
    cc_err err = {0};
    if (!cc_chain_submit_tx(e->chain, tx->text, tx->text_len, txid, &err))
        fail_msg("transaction refused: %s", err.msg);
    assert_string_equal(txid, tx->txid);
}

static void assert_tx_refused_text(env *e, const char *text, size_t len, cc_refusal why,
                                   const char *part)
{
    char txid[CC_HASH_HEX_LEN + 1] = "";
    cc_err err = {0};
    size_t before = cc_chain_mempool_size(e->chain);
    if (cc_chain_submit_tx(e->chain, text, len, txid, &err))
        fail_msg("transaction accepted, expected \"%s\"", part);
    assert_int_equal(err.code, why == CC_REFUSAL_MEMPOOL_FULL ? CC_ERR_UNAVAILABLE
                                                              : CC_ERR_BAD_REQUEST);
    if (cc_err_refusal(&err) != why)
        fail_msg("refused for reason %d (\"%s\"), expected %d", (int)cc_err_refusal(&err),
                 err.msg, (int)why);
    if (!strstr(err.msg, part))
        fail_msg("error \"%s\" does not mention \"%s\"", err.msg, part);
    assert_int_equal(cc_chain_mempool_size(e->chain), before);
}

static void assert_tx_refused(env *e, const cc_tx *tx, cc_refusal why, const char *part)
{
    assert_tx_refused_text(e, tx->text, tx->text_len, why, part);
}

/* ---- balances ------------------------------------------------------------ */

/* Sum of doubles and ints as exact rationals. */
static void q_of(mpq_t out, size_t n, const cc_number *amounts)
{
    mpq_set_ui(out, 0, 1);
    mpq_t t;
    mpq_init(t);
    for (size_t i = 0; i < n; i++) {
        cc_amount_to_mpq(&amounts[i], t);
        mpq_add(out, out, t);
    }
    mpq_clear(t);
}

static void assert_balance_q(env *e, int key, const mpq_t expected)
{
    mpq_t got;
    mpq_init(got);
    cc_err err = {0};
    assert_true(cc_chain_balance(e->chain, e->keys[key].pub_hex, got, &err));
    if (!mpq_equal(got, expected)) {
        char *g = mpq_get_str(NULL, 10, got), *x = mpq_get_str(NULL, 10, expected);
        fail_msg("balance of key %d is %s, expected %s", key, g, x);
    }
    mpq_clear(got);
}

static void assert_balance(env *e, int key, const char *rational)
{
    mpq_t q;
    mpq_init(q);
    assert_int_equal(mpq_set_str(q, rational, 10), 0);
    mpq_canonicalize(q);
    assert_balance_q(e, key, q);
    mpq_clear(q);
}

static void assert_spendable(env *e, int key, const char *rational)
{
    mpq_t q, got;
    mpq_inits(q, got, NULL);
    assert_int_equal(mpq_set_str(q, rational, 10), 0);
    mpq_canonicalize(q);
    assert_true(cc_chain_spendable(e->chain, e->keys[key].pub_hex, got, NULL));
    if (!mpq_equal(got, q)) {
        char *g = mpq_get_str(NULL, 10, got);
        fail_msg("spendable of key %d is %s, expected %s", key, g, rational);
    }
    mpq_clears(q, got, NULL);
}

/* ---- the ledger recomputed from what the store serves ----------------------- */

typedef struct ledger {
    char **keys;
    mpq_t *amounts;
    size_t n;
    mpq_t rewards;          /* total minted on the best chain */
    char (*msgids)[65];     /* payments on the best chain */
    size_t n_msgids;
} ledger;

static mpq_t *ledger_slot(ledger *l, const char *key)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->keys[i], key) == 0)
            return &l->amounts[i];
    l->keys = realloc(l->keys, (l->n + 1) * sizeof *l->keys);
    l->amounts = realloc(l->amounts, (l->n + 1) * sizeof *l->amounts);
    l->keys[l->n] = cc_strdup(key);
    mpq_init(l->amounts[l->n]);
    return &l->amounts[l->n++];
}

static void ledger_clear(ledger *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->keys[i]);
        mpq_clear(l->amounts[i]);
    }
    free(l->keys);
    free(l->amounts);
    free(l->msgids);
    mpq_clear(l->rewards);
}

/* Applies one block the way PROTOCOL.md A.4 says, independently of chain/:
 * a reward txid repeated in the block counts once. */
static void ledger_apply(ledger *l, const cc_block *block)
{
    mpq_t amount;
    mpq_init(amount);
    for (size_t i = 0; i < block->n_txs; i++) {
        const cc_tx *tx = &block->txs[i];
        bool repeated = false;
        for (size_t j = 0; j < i; j++)
            repeated = repeated || strcmp(block->txs[j].txid, tx->txid) == 0;
        if (repeated)
            continue;
        cc_amount_to_mpq(&tx->amount, amount);
        mpq_add(*ledger_slot(l, tx->to), *ledger_slot(l, tx->to), amount);
        if (tx->is_reward) {
            mpq_add(l->rewards, l->rewards, amount);
            continue;
        }
        mpq_sub(*ledger_slot(l, tx->from), *ledger_slot(l, tx->from), amount);
        l->msgids = realloc(l->msgids, (l->n_msgids + 1) * sizeof *l->msgids);
        memcpy(l->msgids[l->n_msgids++], tx->msgid, 65);
    }
    mpq_clear(amount);
}

/* Reads the best chain through cc_chain_write_from(genesis), decodes every
 * block and recomputes every balance. Returns the chain's length. */
static size_t ledger_from_store(env *e, ledger *l)
{
    memset(l, 0, sizeof *l);
    mpq_init(l->rewards);
    cc_buf doc = CC_BUF_INIT;
    cc_err err = {0};
    assert_true(cc_chain_write_from(e->chain, CC_HTTP_GENESIS_HASH, &doc, &err));
    json_t *root = json_loadb(doc.data, doc.len, 0, NULL);
    assert_non_null(root);
    const json_t *list = json_object_get(root, "chain");
    size_t n = json_array_size(list);
    assert_int_equal(n, (size_t)cc_chain_height(e->chain) + 1);
    char prev[65] = "";
    for (size_t i = 0; i < n; i++) {
        char *text = json_dumps(json_array_get(list, i), JSON_COMPACT);
        cc_block block;
        assert_true(cc_http_block_decode(text, strlen(text), &block, &err));
        assert_int_equal(block.height, (int64_t)i);
        assert_string_equal(block.prev, prev);
        memcpy(prev, block.hash, sizeof prev);
        /* The genesis pays "Satoshi Nakamoto", which is no key: the chain
         * does not count it, and nobody can spend it. */
        if (i > 0)
            ledger_apply(l, &block);
        cc_block_clear(&block);
        free(text);
    }
    assert_string_equal(prev, cc_chain_tip(e->chain));
    json_decref(root);
    cc_buf_free(&doc);
    return n;
}

/* Every balance the chain keeps equals the recomputation, value is
 * conserved (balances add up to the rewards), and the mempool holds only
 * payments that are not on the chain and that their senders can afford. */
static void verify_ledger(env *e)
{
    ledger l;
    ledger_from_store(e, &l);
    mpq_t total, got;
    mpq_inits(total, got, NULL);
    for (size_t i = 0; i < l.n; i++) {
        assert_true(cc_chain_balance(e->chain, l.keys[i], got, NULL));
        if (!mpq_equal(got, l.amounts[i])) {
            char *g = mpq_get_str(NULL, 10, got), *x = mpq_get_str(NULL, 10, l.amounts[i]);
            fail_msg("stored balance %s, recomputed %s", g, x);
        }
        assert_true(mpq_sgn(got) >= 0);
        mpq_add(total, total, got);
    }
    assert_true(mpq_equal(total, l.rewards));
    /* Keys that never appear hold nothing. */
    for (int k = 0; k < N_KEYS; k++) {
        bool seen = false;
        for (size_t i = 0; i < l.n; i++)
            seen = seen || strcmp(l.keys[i], e->keys[k].pub_hex) == 0;
        if (!seen)
            assert_balance(e, k, "0");
        assert_true(cc_chain_spendable(e->chain, e->keys[k].pub_hex, got, NULL));
        assert_true(mpq_sgn(got) >= 0);
    }
    cc_tx *txs;
    size_t n;
    assert_true(cc_chain_mempool_take(e->chain, SIZE_MAX, &txs, &n, NULL));
    assert_int_equal(n, cc_chain_mempool_size(e->chain));
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < l.n_msgids; j++)
            if (strcmp(l.msgids[j], txs[i].msgid) == 0)
                fail_msg("mempool holds a payment that is on the best chain");
        cc_tx_clear(&txs[i]);
    }
    free(txs);
    mpq_clears(total, got, NULL);
    ledger_clear(&l);
}

/* ---- documents ------------------------------------------------------------- */

static char *write_all(env *e)
{
    cc_buf out = CC_BUF_INIT;
    cc_err err = {0};
    assert_true(cc_chain_write_all(e->chain, &out, &err));
    json_t *check = json_loadb(out.data, out.len, 0, NULL);
    assert_non_null(check);
    json_decref(check);
    return cc_buf_take(&out);
}

/* {"chain": [[...], [...]]} from rows of mined blocks; NULL ends a row. */
static char *expected_all(const mined *const *rows[], size_t n_rows)
{
    cc_buf out = CC_BUF_INIT;
    cc_buf_printf(&out, "{\"chain\": [[%s]", CC_HTTP_GENESIS_TEXT);
    for (size_t r = 0; r < n_rows; r++) {
        cc_buf_puts(&out, ", [");
        for (size_t i = 0; rows[r][i]; i++)
            cc_buf_printf(&out, "%s%s", i ? ", " : "", rows[r][i]->text);
        cc_buf_puts(&out, "]");
    }
    cc_buf_puts(&out, "]}");
    return cc_buf_take(&out);
}

static void assert_write_all(env *e, const mined *const *rows[], size_t n_rows)
{
    char *got = write_all(e), *want = expected_all(rows, n_rows);
    assert_string_equal(got, want);
    free(got);
    free(want);
}

static void assert_write_from(env *e, const char *hash, const char *const *texts, size_t n)
{
    cc_buf out = CC_BUF_INIT, want = CC_BUF_INIT;
    cc_err err = {0};
    assert_true(cc_chain_write_from(e->chain, hash, &out, &err));
    cc_buf_puts(&want, "{\"chain\": [");
    for (size_t i = 0; i < n; i++)
        cc_buf_printf(&want, "%s%s", i ? ", " : "", texts[i]);
    cc_buf_puts(&want, "]}");
    assert_string_equal(out.data, want.data);
    cc_buf_free(&out);
    cc_buf_free(&want);
}

static void mempool_is(env *e, const cc_tx *const *expected, size_t n)
{
    cc_tx *txs;
    size_t got;
    assert_true(cc_chain_mempool_take(e->chain, SIZE_MAX, &txs, &got, NULL));
    if (got != n)
        fail_msg("mempool holds %zu transactions, expected %zu", got, n);
    assert_int_equal(cc_chain_mempool_size(e->chain), n);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(txs[i].txid, expected[i]->txid) != 0)
            fail_msg("mempool position %zu holds another transaction", i);
        assert_string_equal(txs[i].text, expected[i]->text);
    }
    for (size_t i = 0; i < got; i++)
        cc_tx_clear(&txs[i]);
    free(txs);
}

/* ---- tests -------------------------------------------------------------------- */

static void test_open_has_genesis_only(void **state)
{
    env *e = *state;
    assert_int_equal(cc_chain_height(e->chain), 0);
    assert_string_equal(cc_chain_tip(e->chain), CC_HTTP_GENESIS_HASH);
    assert_int_equal(cc_chain_mempool_size(e->chain), 0);
    assert_write_all(e, NULL, 0);
    const char *genesis[] = {CC_HTTP_GENESIS_TEXT};
    assert_write_from(e, CC_HTTP_GENESIS_HASH, genesis, 1);
    cc_buf text = CC_BUF_INIT;
    cc_err err = {0};
    assert_true(cc_chain_block_text(e->chain, CC_HTTP_GENESIS_HASH, &text, &err));
    assert_string_equal(text.data, CC_HTTP_GENESIS_TEXT);
    assert_false(cc_chain_block_text(e->chain, "00", &text, &err));
    assert_int_equal(err.code, CC_ERR_NOT_FOUND);
    cc_buf_reset(&text);
    assert_false(cc_chain_write_from(e->chain, "abcd", &text, &err));
    assert_int_equal(err.code, CC_ERR_NOT_FOUND);
    cc_buf_free(&text);
    for (int k = 0; k < N_KEYS; k++)
        assert_balance(e, k, "0");
    /* The genesis sent back is a duplicate, in either spelling. */
    mined g = {.text = cc_strdup(CC_HTTP_GENESIS_TEXT), .len = strlen(CC_HTTP_GENESIS_TEXT)};
    assert_block_refused(e, &g, CC_REFUSAL_DUPLICATE, "Block already exists");
    mined_free(&g);
    /* Opening again finds the same state. */
    reopen(e);
    assert_int_equal(cc_chain_height(e->chain), 0);
    assert_string_equal(cc_chain_tip(e->chain), CC_HTTP_GENESIS_HASH);
}

static void test_extend_tip_exact_balances(void **state)
{
    env *e = *state;
    uint64_t gen = cc_chain_tip_generation(e->chain);
    mined b1 = mine_empty(e, 1, CC_HTTP_GENESIS_HASH, A);
    cc_block_result res = submit(e, &b1, CC_BLOCK_NEW_TIP);
    assert_true(res.tip_changed);
    assert_int_equal(res.reorg_depth, 0);
    assert_int_equal(cc_chain_height(e->chain), 1);
    assert_string_equal(cc_chain_tip(e->chain), b1.hash);
    assert_true(cc_chain_tip_generation(e->chain) > gen);
    assert_balance(e, A, "1");

    /* 0.1 + 0.2 paid as floats: B holds exactly the sum of the two
     * doubles, which is neither the double 0.3 nor 0.30000000000000004. */
    cc_tx p[2];
    pay(e, A, B, num_d(0.1), &p[0]);
    pay(e, A, B, num_d(0.2), &p[1]);
    mined b2 = mine(e, 2, b1.hash, p, 2, M);
    submit(e, &b2, CC_BLOCK_NEW_TIP);
    mpq_t sum, other, one;
    mpq_inits(sum, other, one, NULL);
    cc_number amounts[] = {num_d(0.1), num_d(0.2)};
    q_of(sum, 2, amounts);
    assert_balance_q(e, B, sum);
    mpq_set_d(other, 0.3);
    assert_false(mpq_equal(sum, other));
    mpq_set_d(other, 0.1 + 0.2);
    assert_false(mpq_equal(sum, other));
    mpq_set_ui(one, 1, 1);
    mpq_sub(other, one, sum);
    assert_balance_q(e, A, other);
    assert_balance(e, M, "1");
    verify_ledger(e);

    /* Duplicates. */
    assert_block_refused(e, &b2, CC_REFUSAL_DUPLICATE, "Block already exists");
    assert_block_refused(e, &b1, CC_REFUSAL_DUPLICATE, "Block already exists");
    assert_int_equal(cc_chain_height(e->chain), 2);

    /* A block whose nr is not its parent's + 1. */
    mined wrong_nr = mine_empty(e, 5, b2.hash, A);
    assert_block_refused(e, &wrong_nr, CC_REFUSAL_MALFORMED, "nr");

    /* A payment already on this branch, in a new block. */
    mined replay = mine(e, 3, b2.hash, &p[0], 1, M);
    assert_block_refused(e, &replay, CC_REFUSAL_PAYMENT_REPEATED, "already in the chain");

    /* More than the sender holds. */
    cc_tx big;
    pay(e, A, C, num_i(1), &big);
    mined over = mine(e, 3, b2.hash, &big, 1, M);
    assert_block_refused(e, &over, CC_REFUSAL_FUNDS, "Insufficient funds");

    /* A payment whose signature does not verify. */
    cc_tx forged;
    pay(e, A, C, num_d(0.5), &forged);
    forged.text[15] = forged.text[15] == 'a' ? 'b' : 'a'; /* inside the signature */
    cc_tx decoded;
    assert_true(cc_http_tx_decode(forged.text, forged.text_len, &decoded, NULL));
    mined bad_sig = mine(e, 3, b2.hash, &decoded, 1, M);
    assert_block_refused(e, &bad_sig, CC_REFUSAL_BAD_SIGNATURE, "signature");
    cc_tx_clear(&decoded);

    /* None of that changed anything. */
    assert_int_equal(cc_chain_height(e->chain), 2);
    assert_string_equal(cc_chain_tip(e->chain), b2.hash);
    assert_balance_q(e, A, other);
    verify_ledger(e);

    /* A reward to oneself spent in the same block it arrives in: order
     * inside the block matters, the reward first. */
    cc_tx reward_first[2];
    char ts[32];
    next_ts(e, ts);
    cc_number one_n = num_i(1);
    cc_http_tx_reward(e->keys[C].pub_hex, &one_n, ts, &reward_first[0]);
    pay(e, C, Z, num_d(0.75), &reward_first[1]);
    mined b3 = mine(e, 3, b2.hash, reward_first, 2, -1);
    submit(e, &b3, CC_BLOCK_NEW_TIP);
    assert_balance(e, C, "1/4");
    assert_balance(e, Z, "3/4");
    verify_ledger(e);

    mpq_clears(sum, other, one, NULL);
    for (int i = 0; i < 2; i++) {
        cc_tx_clear(&p[i]);
        cc_tx_clear(&reward_first[i]);
    }
    cc_tx_clear(&big);
    cc_tx_clear(&forged);
    mined *all[] = {&b1, &b2, &wrong_nr, &replay, &over, &bad_sig, &b3};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        mined_free(all[i]);
}

/* The reference's first block carries its reward twice: accepted, worth 1. */
static void test_reward_twice_counted_once(void **state)
{
    env *e = *state;
    char ts[32];
    next_ts(e, ts);
    cc_number one = num_i(1);
    cc_tx r[2];
    cc_http_tx_reward(e->keys[A].pub_hex, &one, ts, &r[0]);
    cc_tx_copy(&r[1], &r[0]);
    mined b1 = mine(e, 1, CC_HTTP_GENESIS_HASH, r, 2, -1);
    submit(e, &b1, CC_BLOCK_NEW_TIP);
    assert_balance(e, A, "1");
    verify_ledger(e);
    /* And undone once in a reorganisation. */
    mined s1 = mine_empty(e, 1, CC_HTTP_GENESIS_HASH, B);
    mined s2 = mine_empty(e, 2, s1.hash, B);
    submit(e, &s1, CC_BLOCK_SIDE);
    cc_block_result res = submit(e, &s2, CC_BLOCK_NEW_TIP);
    assert_int_equal(res.reorg_depth, 1);
    assert_balance(e, A, "0");
    assert_balance(e, B, "2");
    verify_ledger(e);
    cc_tx_clear(&r[0]);
    cc_tx_clear(&r[1]);
    mined_free(&b1);
    mined_free(&s1);
    mined_free(&s2);
}

static void test_side_block_first_seen_stays(void **state)
{
    env *e = *state;
    mined b1 = mine_empty(e, 1, CC_HTTP_GENESIS_HASH, A);
    mined s1 = mine_empty(e, 1, CC_HTTP_GENESIS_HASH, B);
    mined t1 = mine_empty(e, 1, CC_HTTP_GENESIS_HASH, C);
    submit(e, &b1, CC_BLOCK_NEW_TIP);
    uint64_t gen = cc_chain_tip_generation(e->chain);
    cc_block_result res = submit(e, &s1, CC_BLOCK_SIDE);
    assert_false(res.tip_changed);
    assert_int_equal(res.reorg_depth, 0);
    submit(e, &t1, CC_BLOCK_SIDE);
    assert_string_equal(cc_chain_tip(e->chain), b1.hash);
    assert_int_equal(cc_chain_tip_generation(e->chain), gen);
    assert_balance(e, A, "1");
    assert_balance(e, B, "0");
    const mined *row1[] = {&b1, &s1, &t1, NULL};
    const mined *const *rows[] = {row1};
    assert_write_all(e, rows, 1);
    /* A side block is served, and /getblocks?id= of it is itself only. */
    const char *only[] = {s1.text};
    assert_write_from(e, s1.hash, only, 1);
    cc_buf text = CC_BUF_INIT;
    assert_true(cc_chain_block_text(e->chain, s1.hash, &text, NULL));
    assert_string_equal(text.data, s1.text);
    cc_buf_free(&text);

    /* The next block on the side branch makes it the longest. */
    mined s2 = mine_empty(e, 2, s1.hash, B);
    res = submit(e, &s2, CC_BLOCK_NEW_TIP);
    assert_true(res.tip_changed);
    assert_int_equal(res.reorg_depth, 1);
    assert_string_equal(cc_chain_tip(e->chain), s2.hash);
    assert_int_equal(cc_chain_height(e->chain), 2);
    assert_balance(e, A, "0");
    assert_balance(e, B, "2");
    const mined *row1b[] = {&s1, &b1, &t1, NULL};
    const mined *row2[] = {&s2, NULL};
    const mined *const *rows2[] = {row1b, row2};
    assert_write_all(e, rows2, 2);
    const char *from_s1[] = {s1.text, s2.text};
    assert_write_from(e, s1.hash, from_s1, 2);
    const char *from_b1[] = {b1.text};
    assert_write_from(e, b1.hash, from_b1, 1);
    const char *from_g[] = {CC_HTTP_GENESIS_TEXT, s1.text, s2.text};
    assert_write_from(e, CC_HTTP_GENESIS_HASH, from_g, 3);
    verify_ledger(e);
    mined_free(&b1);
    mined_free(&s1);
    mined_free(&t1);
    mined_free(&s2);
}

/* Main  G-m1-m2-m3 and side G-s1-s2-s3-s4; the side wins at s4.
 *   m1: reward A                      A=1
 *   m2: pA0 A->Z 1/8, pA1 A->B 3/4    A=9/8 (reward A)
 *   m3: pA2 A->C 1/2, pB1 B->Z 1/4    A=5/8 (reward M)
 *   s1: reward A; s2: pA0, reward M; s3, s4: reward M   (A=7/8 on the side)
 * Before the switch the mempool holds X (A->Z 1/2) and Y (C->Z 1/2).
 * Abandoned payments go back oldest first and ahead of the waiting ones:
 * pA0 is on the new chain (dropped), pA1 fits (kept), pA2 no longer fits,
 * B and C have nothing on the new chain, and X no longer fits after pA1. */
static void test_reorg_moves_payments_back(void **state)
{
    env *e = *state;
    cc_tx pA0, pA1, pA2, pB1, X, Y;
    mined m1 = mine_empty(e, 1, CC_HTTP_GENESIS_HASH, A);
    submit(e, &m1, CC_BLOCK_NEW_TIP);
    pay(e, A, Z, num_d(0.125), &pA0);
    pay(e, A, B, num_d(0.75), &pA1);
    cc_tx m2_txs[] = {pA0, pA1};
    mined m2 = mine(e, 2, m1.hash, m2_txs, 2, A);
    submit(e, &m2, CC_BLOCK_NEW_TIP);
    pay(e, A, C, num_d(0.5), &pA2);
    pay(e, B, Z, num_d(0.25), &pB1);
    cc_tx m3_txs[] = {pA2, pB1};
    mined m3 = mine(e, 3, m2.hash, m3_txs, 2, M);
    submit(e, &m3, CC_BLOCK_NEW_TIP);
    assert_balance(e, A, "5/8");
    assert_balance(e, B, "1/2");
    assert_balance(e, C, "1/2");
    assert_balance(e, Z, "3/8");
    verify_ledger(e);

    pay(e, A, Z, num_d(0.5), &X);
    pay(e, C, Z, num_d(0.5), &Y);
    submit_tx_ok(e, &X);
    submit_tx_ok(e, &Y);
    assert_spendable(e, A, "1/8");

    mined s1 = mine_empty(e, 1, CC_HTTP_GENESIS_HASH, A);
    mined s2 = mine(e, 2, s1.hash, &pA0, 1, M);
    mined s3 = mine_empty(e, 3, s2.hash, M);
    mined s4 = mine_empty(e, 4, s3.hash, M);
    submit(e, &s1, CC_BLOCK_SIDE);
    submit(e, &s2, CC_BLOCK_SIDE);
    submit(e, &s3, CC_BLOCK_SIDE);
    /* Side blocks change nothing. */
    assert_string_equal(cc_chain_tip(e->chain), m3.hash);
    assert_balance(e, A, "5/8");
    const cc_tx *before[] = {&X, &Y};
    mempool_is(e, before, 2);

    cc_block_result res = submit(e, &s4, CC_BLOCK_NEW_TIP);
    assert_int_equal(res.reorg_depth, 3);
    assert_true(res.tip_changed);
    assert_string_equal(cc_chain_tip(e->chain), s4.hash);
    assert_int_equal(cc_chain_height(e->chain), 4);
    assert_balance(e, A, "7/8");
    assert_balance(e, Z, "1/8");
    assert_balance(e, M, "3");
    assert_balance(e, B, "0");
    assert_balance(e, C, "0");
    const cc_tx *after[] = {&pA1};
    mempool_is(e, after, 1);
    assert_spendable(e, A, "1/8");
    verify_ledger(e);

    /* And back: the main branch grows to 5. pA1 is mined again in m2, so it
     * leaves the mempool; pA0 from s2 is on the main branch too. */
    mined m4 = mine_empty(e, 4, m3.hash, M);
    mined m5 = mine_empty(e, 5, m4.hash, M);
    submit(e, &m4, CC_BLOCK_SIDE);
    res = submit(e, &m5, CC_BLOCK_NEW_TIP);
    assert_int_equal(res.reorg_depth, 4);
    assert_balance(e, A, "5/8");
    assert_balance(e, M, "3");
    mempool_is(e, NULL, 0);
    verify_ledger(e);

    cc_tx *txs[] = {&pA0, &pA1, &pA2, &pB1, &X, &Y};
    for (size_t i = 0; i < 6; i++)
        cc_tx_clear(txs[i]);
    mined *all[] = {&m1, &m2, &m3, &m4, &m5, &s1, &s2, &s3, &s4};
    for (size_t i = 0; i < 9; i++)
        mined_free(all[i]);
}

/* A block that overspends, submitted as the new tip: refused, remembered as
 * invalid, and so are the blocks built on it. */
static void test_invalid_tip_block_refused_and_remembered(void **state)
{
    env *e = *state;
    mined b1 = mine_empty(e, 1, CC_HTTP_GENESIS_HASH, A);
    mined b2 = mine_empty(e, 2, b1.hash, A);
    submit(e, &b1, CC_BLOCK_NEW_TIP);
    submit(e, &b2, CC_BLOCK_NEW_TIP);
    char *before = write_all(e);
    uint64_t gen = cc_chain_tip_generation(e->chain);

    cc_tx over;
    pay(e, A, B, num_i(5), &over);
    mined bad = mine(e, 3, b2.hash, &over, 1, M);
    mined child = mine_empty(e, 4, bad.hash, M);
    assert_block_refused(e, &bad, CC_REFUSAL_FUNDS, "Insufficient funds");
    assert_string_equal(cc_chain_tip(e->chain), b2.hash);
    assert_int_equal(cc_chain_height(e->chain), 2);
    assert_int_equal(cc_chain_tip_generation(e->chain), gen);
    assert_balance(e, A, "2");
    assert_balance(e, B, "0");
    char *after = write_all(e);
    assert_string_equal(after, before);
    cc_buf text = CC_BUF_INIT;
    cc_err err = {0};
    assert_false(cc_chain_block_text(e->chain, bad.hash, &text, &err));
    assert_int_equal(err.code, CC_ERR_NOT_FOUND);
    assert_int_equal(text.len, 0);
    assert_false(cc_chain_write_from(e->chain, bad.hash, &text, &err));
    assert_int_equal(err.code, CC_ERR_NOT_FOUND);
    cc_buf_free(&text);
    /* Sent again, it is refused at once; a block on it as well. */
    assert_block_refused(e, &bad, CC_REFUSAL_KNOWN_INVALID, "invalid");
    assert_block_refused(e, &child, CC_REFUSAL_INVALID_PARENT, "invalid");
    assert_int_equal(cc_chain_height(e->chain), 2);
    /* The valid competitor at that height is still welcome. */
    mined b3 = mine_empty(e, 3, b2.hash, A);
    submit(e, &b3, CC_BLOCK_NEW_TIP);
    verify_ledger(e);
    /* Reopening keeps the verdict. */
    reopen(e);
    assert_block_refused(e, &child, CC_REFUSAL_INVALID_PARENT, "invalid");
    free(before);
    free(after);
    cc_tx_clear(&over);
    mined_free(&b1);
    mined_free(&b2);
    mined_free(&b3);
    mined_free(&bad);
    mined_free(&child);
}

/* True when the chain hands out hash in no answer: block text, look-up,
 * /getblocks?id=, and the whole /getblocks. */
static void assert_out_of_sight(env *e, const mined *m)
{
    cc_buf text = CC_BUF_INIT;
    cc_err err = {0};
    assert_false(cc_chain_block_text(e->chain, m->hash, &text, &err));
    assert_int_equal(err.code, CC_ERR_NOT_FOUND);
    assert_int_equal(text.len, 0);
    assert_false(cc_chain_block_get(e->chain, m->hash, &text, NULL, &err));
    assert_int_equal(err.code, CC_ERR_NOT_FOUND);
    assert_false(cc_chain_write_from(e->chain, m->hash, &text, &err));
    assert_int_equal(err.code, CC_ERR_NOT_FOUND);
    char *all = write_all(e);
    assert_null(strstr(all, m->hash));
    free(all);
    cc_buf_free(&text);
}

/* A side branch near the tip is checked against its branch as it arrives
 * (as reference nodes mine blocks that spend from keys holding nothing, a
 * peer must never get such a block from us): an overspend is refused at
 * once and remembered invalid with what builds on it; a valid side block
 * is served, and checked (fit to relay). */
static void test_invalid_side_branch_refused(void **state)
{
    env *e = *state;
    mined b1 = mine_empty(e, 1, CC_HTTP_GENESIS_HASH, A);
    mined b2 = mine_empty(e, 2, b1.hash, A);
    submit(e, &b1, CC_BLOCK_NEW_TIP);
    submit(e, &b2, CC_BLOCK_NEW_TIP);
    cc_tx over, unfunded, spend_twice;
    pay(e, B, C, num_i(3), &over);
    pay(e, Z, C, num_d(0.5), &unfunded);
    mined s1 = mine_empty(e, 1, CC_HTTP_GENESIS_HASH, B);
    mined s2 = mine(e, 2, s1.hash, &over, 1, B);
    mined s2b = mine_empty(e, 2, s1.hash, C);
    mined u2 = mine(e, 2, b1.hash, &unfunded, 1, C);
    char *before = write_all(e);
    /* the same height as our tip, spending what Z never had */
    assert_block_refused(e, &u2, CC_REFUSAL_FUNDS, "Insufficient funds");
    assert_out_of_sight(e, &u2);
    char *after = write_all(e);
    assert_string_equal(after, before);
    free(before);
    free(after);
    cc_block_result res = submit(e, &s1, CC_BLOCK_SIDE);
    assert_true(res.checked);
    assert_block_refused(e, &s2, CC_REFUSAL_FUNDS, "Insufficient funds");
    res = submit(e, &s2b, CC_BLOCK_SIDE);
    assert_true(res.checked);
    assert_string_equal(cc_chain_tip(e->chain), b2.hash);
    assert_int_equal(cc_chain_height(e->chain), 2);
    assert_balance(e, A, "2");
    assert_balance(e, B, "0");
    assert_balance(e, C, "0");
    mempool_is(e, NULL, 0);
    /* s2 is in no answer; s1 and s2b are valid side blocks, served. */
    assert_out_of_sight(e, &s2);
    const mined *row1[] = {&b1, &s1, NULL};
    const mined *row2[] = {&b2, &s2b, NULL};
    const mined *const *rows[] = {row1, row2};
    assert_write_all(e, rows, 2);
    const char *only[] = {s2b.text};
    assert_write_from(e, s2b.hash, only, 1);
    /* Sent again, and blocks built on them, are refused at once. */
    assert_block_refused(e, &s2, CC_REFUSAL_KNOWN_INVALID, "invalid");
    assert_block_refused(e, &u2, CC_REFUSAL_KNOWN_INVALID, "invalid");
    mined s3 = mine_empty(e, 3, s2.hash, C);
    assert_block_refused(e, &s3, CC_REFUSAL_INVALID_PARENT, "invalid");
    /* The valid side branch through s2b can still win. */
    mined s3b = mine_empty(e, 3, s2b.hash, C);
    res = submit(e, &s3b, CC_BLOCK_NEW_TIP);
    assert_true(res.checked);
    assert_int_equal(res.reorg_depth, 2);
    assert_balance(e, A, "0");
    assert_balance(e, B, "1");
    assert_balance(e, C, "2");
    verify_ledger(e);

    /* A branch that pays the same payment twice, in two blocks. */
    pay(e, B, Z, num_d(0.5), &spend_twice);
    mined d4 = mine(e, 4, s3b.hash, &spend_twice, 1, C);
    submit(e, &d4, CC_BLOCK_NEW_TIP);
    mined d5 = mine(e, 5, d4.hash, &spend_twice, 1, C);
    assert_block_refused(e, &d5, CC_REFUSAL_PAYMENT_REPEATED, "already in the chain");
    /* ... also as a side block: the same height as the tip, by another
     * parent that has the payment on its branch already */
    mined d5s = mine(e, 5, d4.hash, &spend_twice, 1, Z);
    mined e5 = mine_empty(e, 5, d4.hash, A);
    submit(e, &e5, CC_BLOCK_NEW_TIP);
    assert_block_refused(e, &d5s, CC_REFUSAL_PAYMENT_REPEATED, "already in the chain");
    assert_out_of_sight(e, &d5s);
    assert_balance(e, Z, "1/2");
    verify_ledger(e);

    cc_tx_clear(&over);
    cc_tx_clear(&unfunded);
    cc_tx_clear(&spend_twice);
    mined *all[] = {&b1, &b2, &s1, &s2, &s2b, &u2, &s3, &s3b, &d4, &d5, &d5s, &e5};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        mined_free(all[i]);
}

/* Beyond the depth at which side blocks are checked as they arrive (8). */
#define DEEP 10

/* A side branch forking deeper than that is stored unchecked and kept out
 * of sight: not served, not listed, not fit to relay, until its branch is
 * about to become the best and is checked whole. Then an invalid one is
 * refused and the best chain stays; a valid one takes over and shows. */
static void test_deep_side_branch_out_of_sight_until_checked(void **state)
{
    env *e = *state;
    mined main_chain[DEEP], bad[DEEP + 2], good[DEEP + 1];
    const char *prev = CC_HTTP_GENESIS_HASH;
    for (int i = 0; i < DEEP; i++) {
        main_chain[i] = mine_empty(e, i + 1, prev, A);
        submit(e, &main_chain[i], CC_BLOCK_NEW_TIP);
        prev = main_chain[i].hash;
    }
    char *before = write_all(e);
    /* bad: B's reward, then B pays 3 out of 1 */
    cc_tx over;
    pay(e, B, C, num_i(3), &over);
    prev = CC_HTTP_GENESIS_HASH;
    for (int i = 0; i < DEEP + 2; i++) {
        bad[i] = i == 1 ? mine(e, 2, prev, &over, 1, B) : mine_empty(e, i + 1, prev, B);
        prev = bad[i].hash;
    }
    for (int i = 0; i < DEEP; i++) {
        cc_block_result res = submit(e, &bad[i], CC_BLOCK_SIDE);
        assert_false(res.checked);
        assert_out_of_sight(e, &bad[i]);
    }
    char *after = write_all(e);
    assert_string_equal(after, before);
    /* one more makes the branch the longest: checked whole, refused */
    assert_block_refused(e, &bad[DEEP], CC_REFUSAL_FUNDS, "Insufficient funds");
    assert_string_equal(cc_chain_tip(e->chain), main_chain[DEEP - 1].hash);
    assert_block_refused(e, &bad[DEEP + 1], CC_REFUSAL_INVALID_PARENT, "invalid");
    free(after);
    after = write_all(e);
    assert_string_equal(after, before);
    verify_ledger(e);

    prev = CC_HTTP_GENESIS_HASH;
    for (int i = 0; i < DEEP + 1; i++) {
        good[i] = mine_empty(e, i + 1, prev, C);
        prev = good[i].hash;
    }
    for (int i = 0; i < DEEP; i++)
        assert_false(submit(e, &good[i], CC_BLOCK_SIDE).checked);
    assert_out_of_sight(e, &good[0]);
    cc_block_result res = submit(e, &good[DEEP], CC_BLOCK_NEW_TIP);
    assert_true(res.checked);
    assert_int_equal(res.reorg_depth, DEEP);
    assert_balance(e, C, "11");
    assert_balance(e, A, "0");
    /* the new best chain shows, and the abandoned one was valid on its
     * branch: still served */
    cc_buf text = CC_BUF_INIT;
    assert_true(cc_chain_block_text(e->chain, good[0].hash, &text, NULL));
    assert_true(cc_chain_block_text(e->chain, main_chain[0].hash, &text, NULL));
    cc_buf_free(&text);
    verify_ledger(e);

    free(before);
    free(after);
    cc_tx_clear(&over);
    for (int i = 0; i < DEEP; i++)
        mined_free(&main_chain[i]);
    for (int i = 0; i < DEEP + 2; i++)
        mined_free(&bad[i]);
    for (int i = 0; i < DEEP + 1; i++)
        mined_free(&good[i]);
}

static void test_orphans_connect_when_parent_arrives(void **state)
{
    env *e = *state;
    mined b[4];
    const char *prev = CC_HTTP_GENESIS_HASH;
    for (int i = 0; i < 4; i++) {
        b[i] = mine_empty(e, i + 1, prev, i % 2 ? A : B);
        prev = b[i].hash;
    }
    cc_block_result res = submit(e, &b[3], CC_BLOCK_ORPHAN);
    assert_string_equal(res.missing_parent, b[2].hash);
    assert_false(res.tip_changed);
    res = submit(e, &b[2], CC_BLOCK_ORPHAN);
    assert_string_equal(res.missing_parent, b[1].hash);
    assert_block_refused(e, &b[3], CC_REFUSAL_DUPLICATE, "Block already exists");
    assert_int_equal(cc_chain_height(e->chain), 0);
    /* Orphans are not served. */
    cc_buf text = CC_BUF_INIT;
    assert_false(cc_chain_block_text(e->chain, b[3].hash, &text, NULL));
    res = submit(e, &b[1], CC_BLOCK_ORPHAN);
    uint64_t gen = cc_chain_tip_generation(e->chain);
    res = submit(e, &b[0], CC_BLOCK_NEW_TIP);
    assert_true(res.tip_changed);
    assert_int_equal(cc_chain_height(e->chain), 4);
    assert_string_equal(cc_chain_tip(e->chain), b[3].hash);
    assert_true(cc_chain_tip_generation(e->chain) >= gen + 4);
    assert_true(cc_chain_block_text(e->chain, b[3].hash, &text, NULL));
    assert_string_equal(text.data, b[3].text);
    assert_balance(e, A, "2");
    assert_balance(e, B, "2");
    verify_ledger(e);
    cc_buf_free(&text);
    for (int i = 0; i < 4; i++)
        mined_free(&b[i]);
}

/* The pool holds max_orphans (4 here); the oldest goes first. */
static void test_orphan_pool_bounded(void **state)
{
    env *e = *state;
    mined b[6];
    const char *prev = CC_HTTP_GENESIS_HASH;
    for (int i = 0; i < 6; i++) {
        b[i] = mine_empty(e, i + 1, prev, A);
        prev = b[i].hash;
    }
    for (int i = 1; i < 6; i++)
        submit(e, &b[i], CC_BLOCK_ORPHAN);
    /* b[1] was pushed out: b[0] connects alone. */
    submit(e, &b[0], CC_BLOCK_NEW_TIP);
    assert_int_equal(cc_chain_height(e->chain), 1);
    /* b[1] is not "already known": it comes in and pulls the rest. */
    cc_block_result res = submit(e, &b[1], CC_BLOCK_NEW_TIP);
    assert_true(res.tip_changed);
    assert_int_equal(cc_chain_height(e->chain), 6);
    assert_string_equal(cc_chain_tip(e->chain), b[5].hash);
    assert_balance(e, A, "6");
    verify_ledger(e);
    for (int i = 0; i < 6; i++)
        mined_free(&b[i]);
}

/* An orphan that turns out invalid once its parent arrives is dropped; the
 * parent stays. */
static void test_invalid_orphan_dropped(void **state)
{
    env *e = *state;
    mined b1 = mine_empty(e, 1, CC_HTTP_GENESIS_HASH, A);
    cc_tx over;
    pay(e, A, B, num_i(2), &over);
    mined b2 = mine(e, 2, b1.hash, &over, 1, A);
    submit(e, &b2, CC_BLOCK_ORPHAN);
    cc_block_result res = submit(e, &b1, CC_BLOCK_NEW_TIP);
    assert_true(res.tip_changed);
    assert_int_equal(cc_chain_height(e->chain), 1);
    assert_balance(e, A, "1");
    assert_block_refused(e, &b2, CC_REFUSAL_KNOWN_INVALID, "invalid");
    verify_ledger(e);
    cc_tx_clear(&over);
    mined_free(&b1);
    mined_free(&b2);
}

static void fund(env *e, int key, int blocks)
{
    for (int i = 0; i < blocks; i++) {
        mined m = mine_empty(e, cc_chain_height(e->chain) + 1, cc_chain_tip(e->chain), key);
        submit(e, &m, CC_BLOCK_NEW_TIP);
        mined_free(&m);
    }
}

/* A copy of tx carrying another signature over the same message. */
static void resigned(const cc_tx *tx, const char *signature, cc_buf *out)
{
    cc_buf_reset(out);
    cc_buf_printf(out, "{\"signature\": \"%s\",\"transaction\": %.*s}", signature,
                  (int)tx->msg_len, tx->text + tx->msg_off);
}

static void malleated_signature(const char *sig, char out[CC_P192_SIG_HEX_LEN + 1])
{
    mpz_t s, n;
    mpz_init_set_str(s, sig + 48, 16);
    mpz_init_set_str(n, P192_N, 16);
    mpz_sub(s, n, s);
    char *hex = mpz_get_str(NULL, 16, s);
    snprintf(out, CC_P192_SIG_HEX_LEN + 1, "%.48s%048d", sig, 0);
    memcpy(out + CC_P192_SIG_HEX_LEN - strlen(hex), hex, strlen(hex));
    void (*gmp_free)(void *, size_t);
    mp_get_memory_functions(NULL, NULL, &gmp_free);
    gmp_free(hex, strlen(hex) + 1);
    mpz_clears(s, n, NULL);
}

static void test_mempool_admission(void **state)
{
    env *e = *state;
    fund(e, A, 2);
    cc_tx p1, p2, p3, p4, again, sys;
    pay(e, A, B, num_d(1.5), &p1);
    submit_tx_ok(e, &p1);
    assert_int_equal(cc_chain_mempool_size(e->chain), 1);
    assert_spendable(e, A, "1/2");
    assert_balance(e, A, "2");

    /* Affordable alone, not on top of p1. */
    pay(e, A, C, num_i(1), &p2);
    assert_tx_refused(e, &p2, CC_REFUSAL_FUNDS, "Insufficient funds");
    /* Beyond the chain balance, and from a key with nothing. */
    pay(e, A, C, num_i(3), &p3);
    assert_tx_refused(e, &p3, CC_REFUSAL_FUNDS, "Insufficient funds");
    pay(e, B, C, num_d(0.1), &p4);
    assert_tx_refused(e, &p4, CC_REFUSAL_FUNDS, "Insufficient funds");

    /* The same message: verbatim, re-signed, and malleated. */
    assert_tx_refused(e, &p1, CC_REFUSAL_DUPLICATE, "Transaction already exists");
    cc_buf other = CC_BUF_INIT;
    char sig[CC_P192_SIG_HEX_LEN + 1];
    cc_p192_sign(&e->keys[A], p1.text + p1.msg_off, p1.msg_len, sig);
    assert_string_not_equal(sig, p1.signature);
    resigned(&p1, sig, &other);
    assert_true(cc_http_tx_decode(other.data, other.len, &again, NULL));
    assert_true(cc_http_tx_verify(&again));
    assert_string_not_equal(again.txid, p1.txid);
    assert_tx_refused_text(e, other.data, other.len, CC_REFUSAL_DUPLICATE,
                           "Transaction already exists");
    cc_tx_clear(&again);
    malleated_signature(p1.signature, sig);
    resigned(&p1, sig, &other);
    assert_true(cc_http_tx_decode(other.data, other.len, &again, NULL));
    assert_true(cc_http_tx_verify(&again));
    assert_tx_refused_text(e, other.data, other.len, CC_REFUSAL_DUPLICATE,
                           "Transaction already exists");
    cc_tx_clear(&again);

    /* Rewards only come inside blocks. */
    char ts[32];
    next_ts(e, ts);
    cc_number one = num_i(1);
    cc_http_tx_reward(e->keys[B].pub_hex, &one, ts, &sys);
    assert_tx_refused(e, &sys, CC_REFUSAL_MALFORMED, "System");
    assert_false(cc_chain_accept_tx(e->chain, &sys, NULL));

    /* A bad signature, through either door. */
    cc_tx small;
    pay(e, A, C, num_d(0.25), &small);
    cc_buf_reset(&other);
    char bad_sig[CC_P192_SIG_HEX_LEN + 1];
    snprintf(bad_sig, sizeof bad_sig, "%s", small.signature);
    bad_sig[0] = bad_sig[0] == '1' ? '2' : '1';
    resigned(&small, bad_sig, &other);
    assert_tx_refused_text(e, other.data, other.len, CC_REFUSAL_BAD_SIGNATURE, "signature");
    assert_true(cc_http_tx_decode(other.data, other.len, &again, NULL));
    cc_err err = {0};
    assert_false(cc_chain_accept_tx(e->chain, &again, &err));
    assert_int_equal(err.code, CC_ERR_BAD_REQUEST);
    assert_int_equal(cc_chain_mempool_size(e->chain), 1);
    cc_tx_clear(&again);
    /* Not JSON, or not a transaction. */
    assert_tx_refused_text(e, "{", 1, CC_REFUSAL_MALFORMED, "JSON");
    assert_tx_refused_text(e, "{}", 2, CC_REFUSAL_MALFORMED, "transaction");
    /* The good one through accept_tx (the node's own payments). */
    assert_true(cc_chain_accept_tx(e->chain, &small, &err));
    assert_int_equal(cc_chain_mempool_size(e->chain), 2);
    assert_spendable(e, A, "1/4");

    /* Mined: out of the mempool, and "already exists" afterwards. */
    cc_tx *txs;
    size_t n;
    assert_true(cc_chain_mempool_take(e->chain, 10, &txs, &n, NULL));
    assert_int_equal(n, 2);
    mined b = mine(e, cc_chain_height(e->chain) + 1, cc_chain_tip(e->chain), txs, n, M);
    for (size_t i = 0; i < n; i++)
        cc_tx_clear(&txs[i]);
    free(txs);
    submit(e, &b, CC_BLOCK_NEW_TIP);
    assert_int_equal(cc_chain_mempool_size(e->chain), 0);
    assert_balance(e, A, "1/4");
    assert_balance(e, B, "3/2");
    assert_tx_refused(e, &p1, CC_REFUSAL_DUPLICATE, "Transaction already exists");
    malleated_signature(p1.signature, sig);
    resigned(&p1, sig, &other);
    assert_tx_refused_text(e, other.data, other.len, CC_REFUSAL_DUPLICATE,
                           "Transaction already exists");
    /* p2 fits now that p1 is mined? No: A has 1/4 left. */
    assert_tx_refused(e, &p2, CC_REFUSAL_FUNDS, "Insufficient funds");
    verify_ledger(e);

    cc_buf_free(&other);
    cc_tx *all[] = {&p1, &p2, &p3, &p4, &sys, &small};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        cc_tx_clear(all[i]);
    mined_free(&b);
}

/* A block that spends what the mempool had promised elsewhere: the
 * mempool's payment no longer fits and leaves. */
static void test_mempool_trimmed_by_block(void **state)
{
    env *e = *state;
    fund(e, A, 1);
    cc_tx waiting, mined_elsewhere, from_b;
    pay(e, A, B, num_d(0.75), &waiting);
    pay(e, A, C, num_d(0.5), &mined_elsewhere);
    submit_tx_ok(e, &waiting);
    mined b = mine(e, 2, cc_chain_tip(e->chain), &mined_elsewhere, 1, B);
    submit(e, &b, CC_BLOCK_NEW_TIP);
    mempool_is(e, NULL, 0);
    assert_spendable(e, A, "1/2");
    /* B's reward is spendable now. */
    pay(e, B, C, num_i(1), &from_b);
    submit_tx_ok(e, &from_b);
    verify_ledger(e);
    cc_tx_clear(&waiting);
    cc_tx_clear(&mined_elsewhere);
    cc_tx_clear(&from_b);
    mined_free(&b);
}

static void test_mempool_order_bound_and_persistence(void **state)
{
    env *e = *state; /* max_mempool = 3 */
    fund(e, A, 1);
    fund(e, B, 1);
    fund(e, C, 1);
    cc_tx t[4];
    pay(e, C, Z, num_d(0.5), &t[0]);
    pay(e, A, Z, num_d(0.25), &t[1]);
    pay(e, B, Z, num_d(1e-05), &t[2]);
    pay(e, A, Z, num_d(0.125), &t[3]);
    for (int i = 0; i < 3; i++)
        submit_tx_ok(e, &t[i]);
    assert_tx_refused(e, &t[3], CC_REFUSAL_MEMPOOL_FULL, "full");
    const cc_tx *order[] = {&t[0], &t[1], &t[2]};
    mempool_is(e, order, 3);
    cc_tx *txs;
    size_t n;
    assert_true(cc_chain_mempool_take(e->chain, 2, &txs, &n, NULL));
    assert_int_equal(n, 2);
    assert_string_equal(txs[0].txid, t[0].txid);
    assert_string_equal(txs[1].txid, t[1].txid);
    for (size_t i = 0; i < n; i++)
        cc_tx_clear(&txs[i]);
    free(txs);
    /* Taking does not remove. */
    assert_int_equal(cc_chain_mempool_size(e->chain), 3);

    reopen(e);
    assert_int_equal(cc_chain_mempool_size(e->chain), 3);
    mempool_is(e, order, 3);
    assert_spendable(e, A, "3/4");
    assert_tx_refused(e, &t[1], CC_REFUSAL_DUPLICATE, "Transaction already exists");
    assert_tx_refused(e, &t[3], CC_REFUSAL_MEMPOOL_FULL, "full");

    /* Mining one makes room; new arrivals queue after the old ones. */
    mined b = mine(e, 4, cc_chain_tip(e->chain), &t[0], 1, M);
    submit(e, &b, CC_BLOCK_NEW_TIP);
    submit_tx_ok(e, &t[3]);
    const cc_tx *order2[] = {&t[1], &t[2], &t[3]};
    mempool_is(e, order2, 3);
    verify_ledger(e);
    for (int i = 0; i < 4; i++)
        cc_tx_clear(&t[i]);
    mined_free(&b);
}

/* A reorganisation whose abandoned payments meet a full mempool: the count
 * the bound uses must be the real one after the new branch mined some. */
static void test_reorg_refills_full_mempool(void **state)
{
    env *e = *state; /* max_mempool = 3 */
    mined m1 = mine_empty(e, 1, CC_HTTP_GENESIS_HASH, A);
    submit(e, &m1, CC_BLOCK_NEW_TIP);
    cc_tx p, q[3];
    pay(e, A, B, num_d(0.5), &p);
    mined m2 = mine(e, 2, m1.hash, &p, 1, C);
    submit(e, &m2, CC_BLOCK_NEW_TIP);
    /* Three waiting payments, all mined by the side branch. */
    pay(e, C, Z, num_d(0.25), &q[0]);
    pay(e, C, Z, num_d(0.125), &q[1]);
    pay(e, A, Z, num_d(0.25), &q[2]);
    for (int i = 0; i < 3; i++)
        submit_tx_ok(e, &q[i]);
    mined s2 = mine_empty(e, 2, m1.hash, C);
    mined s3 = mine(e, 3, s2.hash, q, 3, M);
    submit(e, &s2, CC_BLOCK_SIDE);
    cc_block_result res = submit(e, &s3, CC_BLOCK_NEW_TIP);
    assert_int_equal(res.reorg_depth, 1);
    /* p (from m2) is back; the three are on the chain now. */
    const cc_tx *after[] = {&p};
    mempool_is(e, after, 1);
    verify_ledger(e);
    cc_tx_clear(&p);
    for (int i = 0; i < 3; i++)
        cc_tx_clear(&q[i]);
    mined_free(&m1);
    mined_free(&m2);
    mined_free(&s2);
    mined_free(&s3);
}

static void test_write_all_and_from_shapes(void **state)
{
    env *e = *state;
    mined b1 = mine_empty(e, 1, CC_HTTP_GENESIS_HASH, A);
    mined x1 = mine_empty(e, 1, CC_HTTP_GENESIS_HASH, B);
    mined b2 = mine_empty(e, 2, b1.hash, A);
    mined x2 = mine_empty(e, 2, x1.hash, B);
    mined x3 = mine_empty(e, 3, x2.hash, B);
    submit(e, &b1, CC_BLOCK_NEW_TIP);
    submit(e, &x1, CC_BLOCK_SIDE);
    submit(e, &b2, CC_BLOCK_NEW_TIP);
    const mined *r1[] = {&b1, &x1, NULL};
    const mined *r2[] = {&b2, NULL};
    const mined *const *rows[] = {r1, r2};
    assert_write_all(e, rows, 2);
    const char *from_b1[] = {b1.text, b2.text};
    assert_write_from(e, b1.hash, from_b1, 2);
    const char *from_b2[] = {b2.text};
    assert_write_from(e, b2.hash, from_b2, 1);
    const char *from_x1[] = {x1.text};
    assert_write_from(e, x1.hash, from_x1, 1);

    submit(e, &x2, CC_BLOCK_SIDE);
    submit(e, &x3, CC_BLOCK_NEW_TIP);
    const mined *s1[] = {&x1, &b1, NULL};
    const mined *s2[] = {&x2, &b2, NULL};
    const mined *s3[] = {&x3, NULL};
    const mined *const *rows2[] = {s1, s2, s3};
    assert_write_all(e, rows2, 3);
    const char *from_x1b[] = {x1.text, x2.text, x3.text};
    assert_write_from(e, x1.hash, from_x1b, 3);
    assert_write_from(e, b1.hash, from_b1, 1);
    /* The document parses and has the promised shape. */
    char *all = write_all(e);
    json_t *doc = json_loads(all, 0, NULL);
    const json_t *list = json_object_get(doc, "chain");
    assert_int_equal(json_array_size(list), 4);
    assert_int_equal(json_array_size(json_array_get(list, 0)), 1);
    assert_int_equal(json_array_size(json_array_get(list, 1)), 2);
    const json_t *best1 = json_array_get(json_array_get(list, 1), 0);
    assert_string_equal(json_string_value(json_object_get(best1, "hash")), x1.hash);
    json_decref(doc);
    free(all);
    mined *m[] = {&b1, &x1, &b2, &x2, &x3};
    for (size_t i = 0; i < 5; i++)
        mined_free(m[i]);
}

static void test_reopen_restores_state(void **state)
{
    env *e = *state;
    mined b1 = mine_empty(e, 1, CC_HTTP_GENESIS_HASH, A);
    submit(e, &b1, CC_BLOCK_NEW_TIP);
    cc_tx p;
    pay(e, A, B, num_d(1.0 / 3.0), &p);
    mined b2 = mine(e, 2, b1.hash, &p, 1, C);
    mined x2 = mine_empty(e, 2, b1.hash, Z);
    submit(e, &b2, CC_BLOCK_NEW_TIP);
    submit(e, &x2, CC_BLOCK_SIDE);
    char *before = write_all(e);
    mpq_t third, rest;
    mpq_inits(third, rest, NULL);
    cc_number t = num_d(1.0 / 3.0);
    cc_amount_to_mpq(&t, third);
    mpq_set_ui(rest, 1, 1);
    mpq_sub(rest, rest, third);

    reopen(e);
    assert_int_equal(cc_chain_height(e->chain), 2);
    assert_string_equal(cc_chain_tip(e->chain), b2.hash);
    assert_balance_q(e, A, rest);
    assert_balance_q(e, B, third);
    assert_balance(e, C, "1");
    char *after = write_all(e);
    assert_string_equal(after, before);
    assert_block_refused(e, &x2, CC_REFUSAL_DUPLICATE, "Block already exists");
    /* Blocks stored after the restart come after the earlier ones. */
    mined y2 = mine_empty(e, 2, b1.hash, Z);
    submit(e, &y2, CC_BLOCK_SIDE);
    const mined *r1[] = {&b1, NULL};
    const mined *r2[] = {&b2, &x2, &y2, NULL};
    const mined *const *rows[] = {r1, r2};
    assert_write_all(e, rows, 2);
    /* And the side branch can still take over. */
    mined x3 = mine_empty(e, 3, x2.hash, Z);
    cc_block_result res = submit(e, &x3, CC_BLOCK_NEW_TIP);
    assert_int_equal(res.reorg_depth, 1);
    assert_balance(e, A, "1");
    assert_balance(e, Z, "2");
    const cc_tx *back[] = {&p};
    mempool_is(e, back, 1);
    verify_ledger(e);
    reopen(e);
    mempool_is(e, back, 1);
    assert_string_equal(cc_chain_tip(e->chain), x3.hash);
    verify_ledger(e);
    free(before);
    free(after);
    mpq_clears(third, rest, NULL);
    cc_tx_clear(&p);
    mined *m[] = {&b1, &b2, &x2, &y2, &x3};
    for (size_t i = 0; i < 5; i++)
        mined_free(m[i]);
}

/* ---- a long walk of forks and reorganisations ---------------------------------------- */

typedef struct node {
    char hash[CC_HASH_HEX_LEN + 1];
    int64_t height;
    int parent; /* -1 for the genesis */
    /* balances of the keys on this node's branch, as the test predicts */
    mpq_t bal[N_KEYS];
} node;

static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static const double amounts[] = {0.1, 0.2, 0.3, 1.0 / 3.0, 0.7, 1e-05, 0.125, 2.0};

/* Blocks land on random earlier blocks (mostly near the tips), each paying
 * random amounts its own branch can afford, while payments flow into the
 * mempool. After every block, the stored balances must equal both the
 * recomputation from the served best chain and the test's own prediction
 * for the best tip. */
static void test_random_forks_keep_ledger_exact(void **state)
{
    env *e = *state;
    enum { STEPS = 36 };
    node nodes[STEPS + 1];
    nodes[0] = (node){.height = 0, .parent = -1};
    snprintf(nodes[0].hash, sizeof nodes[0].hash, "%s", CC_HTTP_GENESIS_HASH);
    for (int k = 0; k < N_KEYS; k++)
        mpq_init(nodes[0].bal[k]);
    int n_nodes = 1;
    uint64_t seed = 0x2545f4914f6cdd1dULL;
    size_t reorgs = 0;
    for (int step = 0; step < STEPS; step++) {
        /* A parent: any block at most two below the highest, so that side
         * branches grow and overtake; now and then an older one. */
        int64_t top = 0;
        for (int i = 0; i < n_nodes; i++)
            top = nodes[i].height > top ? nodes[i].height : top;
        int parent;
        do
            parent = (int)(next_random(&seed) % (uint64_t)n_nodes);
        while (nodes[parent].height < top - 2 && next_random(&seed) % 8 != 0);
        node *nd = &nodes[n_nodes];
        nd->parent = parent;
        nd->height = nodes[parent].height + 1;
        for (int k = 0; k < N_KEYS; k++) {
            mpq_init(nd->bal[k]);
            mpq_set(nd->bal[k], nodes[parent].bal[k]);
        }
        /* Up to two payments the branch can afford. */
        cc_tx txs[2];
        size_t n = 0;
        for (int tries = 0; tries < 4 && n < 2; tries++) {
            int from = (int)(next_random(&seed) % N_KEYS);
            int to = (int)(next_random(&seed) % N_KEYS);
            cc_number amount = num_d(amounts[next_random(&seed) % 8]);
            mpq_t q;
            mpq_init(q);
            cc_amount_to_mpq(&amount, q);
            if (mpq_cmp(nd->bal[from], q) >= 0) {
                pay(e, from, to, amount, &txs[n++]);
                mpq_sub(nd->bal[from], nd->bal[from], q);
                mpq_add(nd->bal[to], nd->bal[to], q);
            }
            mpq_clear(q);
        }
        int rewarded = (int)(next_random(&seed) % N_KEYS);
        mpq_t one;
        mpq_init(one);
        mpq_set_ui(one, 1, 1);
        mpq_add(nd->bal[rewarded], nd->bal[rewarded], one);
        mpq_clear(one);
        mined m = mine(e, nd->height, nodes[parent].hash, txs, n, rewarded);
        memcpy(nd->hash, m.hash, sizeof nd->hash);
        n_nodes++;

        int64_t height_before = cc_chain_height(e->chain);
        cc_block_result res;
        cc_err err = {0};
        if (!cc_chain_submit_block(e->chain, m.text, m.len, &res, &err))
            fail_msg("step %d: block refused: %s", step, err.msg);
        assert_int_equal(res.outcome, nd->height > height_before ? CC_BLOCK_NEW_TIP
                                                                 : CC_BLOCK_SIDE);
        reorgs += res.reorg_depth > 0;
        /* The tip is the first block seen at the greatest height. */
        int tip = 0;
        for (int i = 0; i < n_nodes; i++)
            if (nodes[i].height > nodes[tip].height)
                tip = i;
        assert_string_equal(cc_chain_tip(e->chain), nodes[tip].hash);
        for (int k = 0; k < N_KEYS; k++)
            assert_balance_q(e, k, nodes[tip].bal[k]);
        verify_ledger(e);

        /* A payment for the mempool, refused or not; the invariants hold. */
        cc_tx extra;
        pay(e, (int)(next_random(&seed) % N_KEYS), (int)(next_random(&seed) % N_KEYS),
            num_d(amounts[next_random(&seed) % 8]), &extra);
        char txid[CC_HASH_HEX_LEN + 1];
        cc_chain_submit_tx(e->chain, extra.text, extra.text_len, txid, NULL);
        verify_ledger(e);
        cc_tx_clear(&extra);
        for (size_t i = 0; i < n; i++)
            cc_tx_clear(&txs[i]);
        mined_free(&m);
    }
    /* The walk has to have exercised reorganisations. */
    if (reorgs < 3)
        fail_msg("only %zu reorganisations", reorgs);
    reopen(e);
    verify_ledger(e);
    for (int i = 0; i < n_nodes; i++)
        for (int k = 0; k < N_KEYS; k++)
            mpq_clear(nodes[i].bal[k]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_has_genesis_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_extend_tip_exact_balances, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reward_twice_counted_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_side_block_first_seen_stays, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reorg_moves_payments_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_tip_block_refused_and_remembered, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_invalid_side_branch_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deep_side_branch_out_of_sight_until_checked, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_orphans_connect_when_parent_arrives, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_orphan_pool_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_orphan_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mempool_admission, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mempool_trimmed_by_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mempool_order_bound_and_persistence,
                                        setup_small_mempool, teardown),
        cmocka_unit_test_setup_teardown(test_reorg_refills_full_mempool, setup_small_mempool,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_write_all_and_from_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_restores_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_forks_keep_ledger_exact, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

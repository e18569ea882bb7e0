/* Unit tests for the index of the best chain's transactions by key
 * (cc_chain_key_payments, the keytx table) and a key's waiting payments
 * (cc_chain_key_waiting). Every check of the index compares it with what a
 * walk of the best chain's blocks says (the oracle below): the list, its
 * order (newest first), directions, texts, the total, and the rows the
 * table holds; after blocks on the tip, a reorganisation made at once and
 * back, one made in steps (read between the steps: the old state), and a
 * restart. Ids of keys are forced to collide by writing rows under another
 * key's id: they are counted, never listed. Blocks are mined at the real
 * difficulty with the http rules. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "consensus/http.h"
#include "consensus/rules.h"
#include "crypto/hash.h"
#include "util/buf.h"
#include "wallet/payment.h"

#include "chain_env.h"

enum { A, B, C, M, N_KEYS };
#define MAX_LISTED 64

typedef cc_test_chain_env env;
typedef cc_test_mined mined;

static int setup(void **state)
{
    return cc_test_chain_env_new(state, "/tmp/cc-payments-XXXXXX", 7000, N_KEYS, "2026-04-01",
                                 100);
}

#define teardown cc_test_chain_env_free

static const char *key_of(env *e, int k) { return e->keys[k].pub_hex; }

static cc_tx pay(env *e, int from, int to, double amount)
{
    return cc_test_chain_env_pay(e, from, to, amount);
}

/* A block at height on prev holding txs and a reward of 1 to reward_to. */
static mined mine(env *e, int64_t height, const char *prev, const cc_tx *txs, size_t n,
                  int reward_to)
{
    return cc_test_chain_env_mine(e, height, prev, txs, n, reward_to, M);
}

static void submit(env *e, const mined *m, cc_block_outcome expected)
{
    cc_test_submit_block(e->chain, m->text.data, m->text.len, expected);
}

static void clear_txs(cc_tx *txs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cc_tx_clear(&txs[i]);
}

/* ---- lists: what the chain answers, and what the oracle expects ---------- */

typedef struct listed {
    size_t n;
    cc_chain_key_tx items[MAX_LISTED];
} listed;

static void listed_free(listed *l)
{
    for (size_t i = 0; i < l->n; i++)
        free((char *)l->items[i].text);
    l->n = 0;
}

/* Keeps a copy of each item; the text is the callback's only. */
static void collect(void *ctx, const cc_chain_key_tx *tx)
{
    listed *l = ctx;
    if (l->n == MAX_LISTED)
        fail_msg("more than %d listed", MAX_LISTED);
    cc_chain_key_tx *item = &l->items[l->n++];
    *item = *tx;
    char *text = malloc(tx->text_len + 1);
    assert_non_null(text);
    memcpy(text, tx->text, tx->text_len);
    text[tx->text_len] = '\0';
    item->text = text;
}

/* One page of key's list, appended to out; returns the total. */
static size_t page_into(env *e, const char *key, size_t offset, size_t limit, listed *out)
{
    size_t total = 0, before = out->n;
    cc_err err = {0};
    if (!cc_chain_key_payments(e->chain, key, offset, limit, collect, out, &total, &err))
        fail_msg("cannot list the payments of a key: %s", err.msg);
    assert_true(out->n - before <= limit);
    return total;
}

static bool reward_repeated(const cc_block *block, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (block->txs[j].is_reward && strcmp(block->txs[j].txid, block->txs[i].txid) == 0)
            return true;
    return false;
}

/* The oracle: key's transactions on the best chain by a walk of its
 * blocks, newest first; *rows gets the rows the whole table should hold
 * (one per distinct party of each transaction). */
static void expected_of(env *e, const char *key, listed *out, size_t *rows)
{
    out->n = 0;
    *rows = 0;
    for (int64_t h = cc_chain_height(e->chain); h >= 1; h--) {
        char hash[CC_HASH_HEX_LEN + 1];
        cc_buf text = CC_BUF_INIT;
        cc_block block;
        cc_err err = {0};
        assert_true(cc_chain_hash_at(e->chain, h, hash, &err));
        assert_true(cc_chain_block_get(e->chain, hash, &text, NULL, &err));
        assert_true(cc_rules_http()->block_decode(text.data, text.len, &block, &err));
        for (size_t i = block.n_txs; i-- > 0;) {
            const cc_tx *tx = &block.txs[i];
            if (tx->is_reward && reward_repeated(&block, i))
                continue;
            bool self = !tx->is_reward && strcmp(tx->from, tx->to) == 0;
            *rows += tx->is_reward || self ? 1 : 2;
            bool to = strcmp(tx->to, key) == 0;
            bool from = !tx->is_reward && strcmp(tx->from, key) == 0;
            if (!to && !from)
                continue;
            assert_true(out->n < MAX_LISTED);
            cc_chain_key_tx *item = &out->items[out->n++];
            *item = (cc_chain_key_tx){.mined = true, .height = h,
                                      .direction = self ? CC_CHAIN_SELF
                                                   : from ? CC_CHAIN_OUT
                                                          : CC_CHAIN_IN,
                                      .text = strdup(tx->text), .text_len = tx->text_len};
            memcpy(item->txid, tx->txid, sizeof item->txid);
            memcpy(item->block, hash, sizeof item->block);
        }
        cc_block_clear(&block);
        cc_buf_free(&text);
    }
}

static void assert_same_item(const cc_chain_key_tx *got, const cc_chain_key_tx *want, size_t i)
{
    if (strcmp(got->txid, want->txid) != 0)
        fail_msg("item %zu: txid %s, expected %s", i, got->txid, want->txid);
    assert_int_equal(got->mined, want->mined);
    assert_string_equal(got->block, want->block);
    assert_int_equal(got->height, want->height);
    assert_int_equal(got->direction, want->direction);
    assert_int_equal(got->text_len, want->text_len);
    assert_string_equal(got->text, want->text);
}

static void assert_same_list(const listed *got, const listed *want)
{
    if (got->n != want->n)
        fail_msg("%zu listed, expected %zu", got->n, want->n);
    for (size_t i = 0; i < got->n; i++)
        assert_same_item(&got->items[i], &want->items[i], i);
}

static size_t table_rows(env *e, const char *where)
{
    sqlite3 *db;
    sqlite3_stmt *stmt;
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM keytx%s", where);
    assert_int_equal(sqlite3_open_v2(e->db.path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    size_t n = (size_t)sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return n;
}

/* key's list read whole and a page of `step` at a time from offset 0 to
 * the total: both are the oracle's list. Returns the total. */
static size_t assert_listed_exactly(env *e, const char *key, size_t step)
{
    listed want, whole = {0}, paged = {0};
    size_t rows;
    expected_of(e, key, &want, &rows);
    size_t total = page_into(e, key, 0, 1000, &whole);
    assert_same_list(&whole, &want);
    for (size_t offset = 0; offset < total; offset += step)
        assert_int_equal(page_into(e, key, offset, step, &paged), total);
    assert_same_list(&paged, &want);
    listed_free(&want);
    listed_free(&whole);
    listed_free(&paged);
    return total;
}

/* The index is exact for every key of the test: each lists what the
 * chain holds, its total is its count, and the table holds no other row. */
static void assert_index_exact(env *e)
{
    size_t rows = 0;
    for (int k = 0; k < N_KEYS; k++) {
        listed want;
        expected_of(e, key_of(e, k), &want, &rows);
        assert_int_equal(assert_listed_exactly(e, key_of(e, k), 1), want.n);
        assert_int_equal(assert_listed_exactly(e, key_of(e, k), 3), want.n);
        listed_free(&want);
    }
    assert_int_equal(table_rows(e, ""), rows);
}

static size_t total_of(env *e, const char *key)
{
    listed none = {0};
    size_t total = page_into(e, key, 0, 0, &none);
    assert_int_equal(none.n, 0);
    return total;
}

/* ---- tests ------------------------------------------------------------------- */

static void test_listed_newest_first_with_directions(void **state)
{
    env *e = *state;
    mined b1 = mine(e, 1, CC_HTTP_GENESIS_HASH, NULL, 0, A);
    submit(e, &b1, CC_BLOCK_NEW_TIP);
    cc_tx t2[2] = {pay(e, A, B, 0.25), pay(e, A, A, 0.125)};
    mined b2 = mine(e, 2, b1.hash, t2, 2, C);
    submit(e, &b2, CC_BLOCK_NEW_TIP);
    cc_tx t3 = pay(e, B, C, 0.125);
    mined b3 = mine(e, 3, b2.hash, &t3, 1, A);
    submit(e, &b3, CC_BLOCK_NEW_TIP);

    /* Spelled out once; the oracle does the rest. */
    listed got = {0};
    assert_int_equal(page_into(e, key_of(e, A), 0, 20, &got), 4);
    assert_int_equal(got.n, 4);
    const struct {
        const char *txid, *block, *text;
        int64_t height;
        cc_chain_direction dir;
    } want[] = {
        {b3.reward, b3.hash, NULL, 3, CC_CHAIN_IN},
        {t2[1].txid, b2.hash, t2[1].text, 2, CC_CHAIN_SELF},
        {t2[0].txid, b2.hash, t2[0].text, 2, CC_CHAIN_OUT},
        {b1.reward, b1.hash, NULL, 1, CC_CHAIN_IN},
    };
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(got.items[i].txid, want[i].txid);
        assert_string_equal(got.items[i].block, want[i].block);
        assert_int_equal(got.items[i].height, want[i].height);
        assert_int_equal(got.items[i].direction, want[i].dir);
        assert_true(got.items[i].mined);
        if (want[i].text)
            assert_string_equal(got.items[i].text, want[i].text);
        char digest[CC_HASH_HEX_LEN + 1]; /* the text as mined: its hash is the txid */
        cc_sha256_hex(got.items[i].text, got.items[i].text_len, digest);
        assert_string_equal(digest, want[i].txid);
    }
    listed_free(&got);
    assert_int_equal(page_into(e, key_of(e, B), 0, 20, &got), 2);
    assert_int_equal(got.items[0].direction, CC_CHAIN_OUT);
    assert_int_equal(got.items[1].direction, CC_CHAIN_IN);
    listed_free(&got);
    assert_int_equal(total_of(e, key_of(e, C)), 2); /* a payment and a reward */
    assert_int_equal(total_of(e, key_of(e, M)), 0); /* mined the blocks, paid nothing */
    /* The genesis block's transaction moves no balance and is not indexed. */
    assert_int_equal(total_of(e, "Satoshi Nakamoto"), 0);
    assert_int_equal(total_of(e, "System"), 0);
    /* a payment to oneself is one row; others two, a reward one */
    assert_int_equal(table_rows(e, ""), 1 + 2 + 1 + 1 + 2 + 1);
    assert_index_exact(e);
    cc_test_chain_env_reopen(e);
    assert_index_exact(e);

    clear_txs(t2, 2);
    cc_tx_clear(&t3);
    mined *all[] = {&b1, &b2, &b3};
    for (size_t i = 0; i < 3; i++)
        cc_buf_free(&all[i]->text);
}

static void test_pages(void **state)
{
    env *e = *state;
    mined b1 = mine(e, 1, CC_HTTP_GENESIS_HASH, NULL, 0, A);
    submit(e, &b1, CC_BLOCK_NEW_TIP);
    cc_tx t2[5];
    for (size_t i = 0; i < 5; i++)
        t2[i] = pay(e, A, i % 2 ? B : C, 0.0625);
    mined b2 = mine(e, 2, b1.hash, t2, 5, A);
    submit(e, &b2, CC_BLOCK_NEW_TIP);
    cc_tx t3[3] = {pay(e, B, A, 0.0625), pay(e, A, C, 0.0625), pay(e, C, A, 0.0625)};
    mined b3 = mine(e, 3, b2.hash, t3, 3, B);
    submit(e, &b3, CC_BLOCK_NEW_TIP);

    for (size_t step = 1; step <= 5; step++)
        assert_int_equal(assert_listed_exactly(e, key_of(e, A), step), 10);
    /* Within a block, the later first. */
    listed got = {0};
    page_into(e, key_of(e, A), 0, 3, &got);
    assert_string_equal(got.items[0].txid, t3[2].txid);
    assert_string_equal(got.items[1].txid, t3[1].txid);
    assert_string_equal(got.items[2].txid, t3[0].txid);
    listed_free(&got);
    page_into(e, key_of(e, A), 3, 1, &got);
    assert_string_equal(got.items[0].txid, b2.reward);
    listed_free(&got);
    /* Past the end, or nothing asked for: an empty page, the same total. */
    const size_t empty[][2] = {{10, 5}, {11, 1}, {SIZE_MAX, 1000}, {0, 0}, {9, 0}};
    for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
        assert_int_equal(page_into(e, key_of(e, A), empty[i][0], empty[i][1], &got), 10);
        assert_int_equal(got.n, 0);
    }
    page_into(e, key_of(e, A), 9, SIZE_MAX, &got);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.items[0].txid, b1.reward);
    listed_free(&got);
    assert_index_exact(e);

    clear_txs(t2, 5);
    clear_txs(t3, 3);
    mined *all[] = {&b1, &b2, &b3};
    for (size_t i = 0; i < 3; i++)
        cc_buf_free(&all[i]->text);
}

static void test_reorganisations_leave_it_exact(void **state)
{
    env *e = *state;
    mined b1 = mine(e, 1, CC_HTTP_GENESIS_HASH, NULL, 0, A);
    submit(e, &b1, CC_BLOCK_NEW_TIP);
    cc_tx ab = pay(e, A, B, 0.5);
    mined b2 = mine(e, 2, b1.hash, &ab, 1, A);
    submit(e, &b2, CC_BLOCK_NEW_TIP);
    assert_index_exact(e);
    size_t b_rows = total_of(e, key_of(e, B));
    assert_int_equal(b_rows, 1);

    /* A branch without A's payment to B, with one to C, overtakes. */
    cc_tx ac = pay(e, A, C, 0.25);
    mined c2 = mine(e, 2, b1.hash, &ac, 1, B);
    submit(e, &c2, CC_BLOCK_SIDE);
    assert_index_exact(e); /* a side block (checked by a trial) changes nothing */
    mined c3 = mine(e, 3, c2.hash, NULL, 0, C);
    submit(e, &c3, CC_BLOCK_NEW_TIP);
    assert_index_exact(e);
    assert_int_equal(total_of(e, key_of(e, B)), 1); /* c2's reward; the payment waits */
    listed got = {0};
    page_into(e, key_of(e, B), 0, 10, &got);
    assert_string_equal(got.items[0].txid, c2.reward);
    listed_free(&got);

    /* And back: the first branch grows longer, A's payment to B is on the
     * best chain again (b2), A's to C is gone. */
    cc_tx again = pay(e, B, C, 0.125);
    mined b3 = mine(e, 3, b2.hash, NULL, 0, B);
    submit(e, &b3, CC_BLOCK_SIDE);
    mined b4 = mine(e, 4, b3.hash, &again, 1, A);
    submit(e, &b4, CC_BLOCK_NEW_TIP);
    assert_index_exact(e);
    page_into(e, key_of(e, C), 0, 10, &got);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.items[0].txid, again.txid);
    assert_int_equal(got.items[0].direction, CC_CHAIN_IN);
    listed_free(&got);
    cc_test_chain_env_reopen(e);
    assert_index_exact(e);

    cc_tx_clear(&ab);
    cc_tx_clear(&ac);
    cc_tx_clear(&again);
    mined *all[] = {&b1, &b2, &c2, &c3, &b3, &b4};
    for (size_t i = 0; i < 6; i++)
        cc_buf_free(&all[i]->text);
}

/* A reorganisation in steps: between them, the list is the old best
 * chain's; once done, the new one's. */
static void test_reorganisation_in_steps(void **state)
{
    env *e = *state;
    e->cfg.reorg_inline_max = 1;
    cc_test_chain_env_reopen(e);
    mined b1 = mine(e, 1, CC_HTTP_GENESIS_HASH, NULL, 0, A);
    submit(e, &b1, CC_BLOCK_NEW_TIP);
    cc_tx ab = pay(e, A, B, 0.5);
    mined b2 = mine(e, 2, b1.hash, &ab, 1, A);
    submit(e, &b2, CC_BLOCK_NEW_TIP);
    listed before = {0};
    page_into(e, key_of(e, A), 0, 100, &before);
    assert_int_equal(before.n, 3);

    mined c1 = mine(e, 1, CC_HTTP_GENESIS_HASH, NULL, 0, C);
    submit(e, &c1, CC_BLOCK_SIDE);
    cc_tx cb = pay(e, C, B, 0.5);
    mined c2 = mine(e, 2, c1.hash, &cb, 1, C);
    submit(e, &c2, CC_BLOCK_SIDE);
    mined c3 = mine(e, 3, c2.hash, NULL, 0, C);
    cc_block_result res = cc_test_submit_block(e->chain, c3.text.data, c3.text.len,
                                               CC_BLOCK_SIDE);
    assert_true(res.reorg_pending);
    bool done = false;
    cc_err err = {0};
    while (!done) {
        listed during = {0};
        page_into(e, key_of(e, A), 0, 100, &during);
        assert_same_list(&during, &before);
        listed_free(&during);
        assert_int_equal(total_of(e, key_of(e, C)), 0);
        if (!cc_chain_reorg_step(e->chain, 1, &done, &res, &err))
            fail_msg("a step failed: %s", err.msg);
    }
    assert_int_equal(cc_chain_height(e->chain), 3);
    assert_int_equal(total_of(e, key_of(e, A)), 0);
    assert_int_equal(total_of(e, key_of(e, C)), 4);
    assert_index_exact(e);

    listed_free(&before);
    cc_tx_clear(&ab);
    cc_tx_clear(&cb);
    mined *all[] = {&b1, &b2, &c1, &c2, &c3};
    for (size_t i = 0; i < 5; i++)
        cc_buf_free(&all[i]->text);
}

/* The id the index files key under: the first 64 bits of its SHA-256, as
 * a signed integer. Databases hold these: the definition is a format. */
static int64_t key_id(const char *key)
{
    uint8_t digest[CC_SHA256_LEN];
    cc_sha256(key, strlen(key), digest);
    uint64_t bits = 0;
    for (size_t i = 0; i < 8; i++)
        bits = bits << 8 | digest[i];
    int64_t id;
    memcpy(&id, &bits, sizeof id);
    return id;
}

static void exec_sql(env *e, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(e->db.path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

/* Every row of the table copied under A's id: as if every key's id
 * collided with A's. A's list is still exactly A's (the rows of others are
 * counted in the total and skipped), and so are the others'. */
static void test_colliding_ids_are_never_listed(void **state)
{
    env *e = *state;
    mined b1 = mine(e, 1, CC_HTTP_GENESIS_HASH, NULL, 0, B);
    submit(e, &b1, CC_BLOCK_NEW_TIP);
    cc_tx t2[2] = {pay(e, B, C, 0.25), pay(e, B, A, 0.25)};
    mined b2 = mine(e, 2, b1.hash, t2, 2, C);
    submit(e, &b2, CC_BLOCK_NEW_TIP);
    cc_tx t3 = pay(e, C, C, 0.125);
    mined b3 = mine(e, 3, b2.hash, &t3, 1, M);
    submit(e, &b3, CC_BLOCK_NEW_TIP);
    assert_int_equal(total_of(e, key_of(e, A)), 1);

    char sql[256];
    int64_t a = key_id(key_of(e, A));
    snprintf(sql, sizeof sql,
             "INSERT OR IGNORE INTO keytx SELECT %lld, height, pos FROM keytx;",
             (long long)a);
    exec_sql(e, sql);
    /* one row per place holding a transaction: 1 + 3 + 2 */
    assert_int_equal(total_of(e, key_of(e, A)), 6);
    assert_int_equal(assert_listed_exactly(e, key_of(e, A), 1), 6);
    assert_int_equal(assert_listed_exactly(e, key_of(e, A), 4), 6);
    for (int k = B; k < N_KEYS; k++) {
        listed want;
        size_t rows;
        expected_of(e, key_of(e, k), &want, &rows);
        assert_int_equal(assert_listed_exactly(e, key_of(e, k), 2), want.n);
        listed_free(&want);
    }

    /* A row already where a block's transaction goes (left by a node that
     * kept no index, or a colliding id) does not stop the block; then a
     * reorganisation leaves the foreign rows behind, and they are still
     * never listed. */
    cc_tx t4 = pay(e, C, B, 0.125);
    snprintf(sql, sizeof sql, "INSERT INTO keytx VALUES(%lld, 4, 0);",
             (long long)key_id(key_of(e, B)));
    exec_sql(e, sql);
    mined b4 = mine(e, 4, b3.hash, &t4, 1, C);
    submit(e, &b4, CC_BLOCK_NEW_TIP);
    mined c3 = mine(e, 3, b2.hash, NULL, 0, M);
    submit(e, &c3, CC_BLOCK_SIDE);
    mined c4 = mine(e, 4, c3.hash, NULL, 0, M);
    submit(e, &c4, CC_BLOCK_SIDE);
    mined c5 = mine(e, 5, c4.hash, NULL, 0, M);
    submit(e, &c5, CC_BLOCK_NEW_TIP);
    for (int k = 0; k < N_KEYS; k++)
        assert_listed_exactly(e, key_of(e, k), 2);
    assert_true(total_of(e, key_of(e, A)) > 1);

    clear_txs(t2, 2);
    cc_tx_clear(&t3);
    cc_tx_clear(&t4);
    mined *all[] = {&b1, &b2, &b3, &b4, &c3, &c4, &c5};
    for (size_t i = 0; i < 7; i++)
        cc_buf_free(&all[i]->text);
}

static void test_waiting_payments_of_a_key(void **state)
{
    env *e = *state;
    mined b1 = mine(e, 1, CC_HTTP_GENESIS_HASH, NULL, 0, A);
    submit(e, &b1, CC_BLOCK_NEW_TIP);
    mined b2 = mine(e, 2, b1.hash, NULL, 0, B);
    submit(e, &b2, CC_BLOCK_NEW_TIP);
    cc_tx txs[3] = {pay(e, A, B, 0.25), pay(e, B, C, 0.25), pay(e, A, A, 0.125)};
    for (size_t i = 0; i < 3; i++) {
        cc_err err = {0};
        if (!cc_chain_accept_tx(e->chain, &txs[i], &err))
            fail_msg("payment refused: %s", err.msg);
    }
    const struct {
        int key;
        size_t n;
        size_t tx[2];
        cc_chain_direction dir[2];
    } cases[] = {
        {A, 2, {0, 2}, {CC_CHAIN_OUT, CC_CHAIN_SELF}},
        {B, 2, {0, 1}, {CC_CHAIN_IN, CC_CHAIN_OUT}},
        {C, 1, {1}, {CC_CHAIN_IN}},
        {M, 0, {0}, {CC_CHAIN_IN}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        listed got = {0};
        assert_int_equal(cc_chain_key_waiting(e->chain, key_of(e, cases[c].key), 10, collect,
                                              &got),
                         cases[c].n);
        assert_int_equal(got.n, cases[c].n);
        for (size_t i = 0; i < got.n; i++) {
            const cc_tx *tx = &txs[cases[c].tx[i]];
            assert_string_equal(got.items[i].txid, tx->txid);
            assert_string_equal(got.items[i].text, tx->text);
            assert_int_equal(got.items[i].direction, cases[c].dir[i]);
            assert_false(got.items[i].mined);
            assert_int_equal(got.items[i].height, -1);
            assert_string_equal(got.items[i].block, "");
        }
        listed_free(&got);
    }
    listed got = {0};
    assert_int_equal(cc_chain_key_waiting(e->chain, key_of(e, A), 1, collect, &got), 1);
    assert_string_equal(got.items[0].txid, txs[0].txid);
    listed_free(&got);
    assert_int_equal(cc_chain_key_waiting(e->chain, key_of(e, A), 0, collect, &got), 0);
    /* Waiting is not mined: the index does not list them. */
    assert_int_equal(total_of(e, key_of(e, C)), 0);

    /* Mined, they leave the waiting list for the index. */
    mined b3 = mine(e, 3, b2.hash, txs, 3, M);
    submit(e, &b3, CC_BLOCK_NEW_TIP);
    assert_int_equal(cc_chain_key_waiting(e->chain, key_of(e, A), 10, collect, &got), 0);
    assert_int_equal(total_of(e, key_of(e, C)), 1);
    assert_index_exact(e);

    clear_txs(txs, 3);
    mined *all[] = {&b1, &b2, &b3};
    for (size_t i = 0; i < 3; i++)
        cc_buf_free(&all[i]->text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_listed_newest_first_with_directions, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reorganisations_leave_it_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reorganisation_in_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_colliding_ids_are_never_listed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_waiting_payments_of_a_key, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

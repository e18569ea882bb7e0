/* Unit tests for the mempool as the chain keeps it: in memory, with a copy
 * of each payment in the database's `waiting` table written in the same
 * transaction. On the http rules against a temporary SQLite file:
 *
 * - what waits, in its order (payments put back by a reorganisation ahead
 *   of the rest), is the same after the chain is opened again;
 * - a change refused inside a batch takes its payments out of memory with
 *   its savepoint, and the batch keeps the others;
 * - the trial of a side branch, rolled back, leaves the mempool as it was;
 * - a database from before the move (a `mempool` table with its indexes)
 *   is opened with its payments waiting, in their order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "consensus/http.h"
#include "util/buf.h"
#include "wallet/payment.h"

#include "chain_env.h"

enum { A, B, M, N_KEYS };

typedef cc_test_chain_env env;

static int setup(void **state)
{
    return cc_test_chain_env_new(state, "/tmp/cc-mempool-XXXXXX", 4000, N_KEYS, "2026-03-02",
                                 100);
}

#define teardown cc_test_chain_env_free

static cc_tx pay(env *e, int from, int to, double amount)
{
    return cc_test_chain_env_pay(e, from, to, amount);
}

static bool try_tx(env *e, const cc_tx *tx)
{
    char txid[CC_HASH_HEX_LEN + 1];
    return cc_chain_submit_tx(e->chain, tx->text, tx->text_len, txid, NULL);
}

static void submit_tx(env *e, const cc_tx *tx)
{
    if (!try_tx(e, tx))
        fail_msg("payment refused");
}

static cc_test_mined mine(env *e, int64_t height, const char *prev, const cc_tx *txs, size_t n)
{
    return cc_test_chain_env_mine(e, height, prev, txs, n, A, M);
}

/* The mempool as GET /api/mempool lists it. */
static char *listed(env *e)
{
    cc_buf out = CC_BUF_INIT;
    cc_err err = {0};
    if (!cc_chain_mempool_write(e->chain, 1000, &out, &err))
        fail_msg("cannot list the mempool: %s", err.msg);
    cc_buf_putc(&out, '\0');
    return out.data;
}

/* [t1, t2, ...] as the listing writes it. */
static char *list_of(const cc_tx *const *txs, size_t n)
{
    cc_buf out = CC_BUF_INIT;
    cc_buf_putc(&out, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            cc_buf_puts(&out, ", ");
        cc_buf_append(&out, txs[i]->text, txs[i]->text_len);
    }
    cc_buf_puts(&out, "]");
    cc_buf_putc(&out, '\0');
    return out.data;
}

static void assert_listed(env *e, const cc_tx *const *txs, size_t n)
{
    char *got = listed(e);
    char *want = list_of(txs, n);
    assert_string_equal(got, want);
    free(got);
    free(want);
}

static void test_waiting_payments_survive_reopen_in_order(void **state)
{
    env *e = *state;
    cc_test_mined b1 = mine(e, 1, CC_HTTP_GENESIS_HASH, NULL, 0);
    cc_test_chain_env_reopen(e); /* nothing waits: an empty mempool opens empty */
    cc_test_submit_block(e->chain, b1.text.data, b1.text.len, CC_BLOCK_NEW_TIP);
    cc_tx mined = pay(e, A, B, 0.25);
    cc_test_mined b2 = mine(e, 2, b1.hash, &mined, 1);
    cc_test_submit_block(e->chain, b2.text.data, b2.text.len, CC_BLOCK_NEW_TIP);
    cc_tx first = pay(e, A, B, 0.125);
    cc_tx second = pay(e, A, B, 0.125);
    submit_tx(e, &first);
    submit_tx(e, &second);

    /* A longer branch without b2: its payment goes back, ahead of the two. */
    cc_test_mined s2 = mine(e, 2, b1.hash, NULL, 0);
    cc_test_mined s3 = mine(e, 3, s2.hash, NULL, 0);
    cc_test_submit_block(e->chain, s2.text.data, s2.text.len, CC_BLOCK_SIDE);
    cc_test_submit_block(e->chain, s3.text.data, s3.text.len, CC_BLOCK_NEW_TIP);
    const cc_tx *order[] = {&mined, &first, &second};
    assert_listed(e, order, 3);

    cc_test_chain_env_reopen(e);
    assert_int_equal(cc_chain_mempool_size(e->chain), 3);
    assert_listed(e, order, 3);
    /* What waits still counts against its sender: A has 3 coins on this
     * branch (three rewards) and 0.5 waiting. */
    mpq_t spendable;
    mpq_init(spendable);
    cc_err err = {0};
    assert_true(cc_chain_spendable(e->chain, e->keys[A].pub_hex, spendable, &err));
    assert_true(mpq_get_d(spendable) == 2.5);
    mpq_clear(spendable);
    /* And a payment appended after the reopen comes last. */
    cc_tx third = pay(e, A, B, 1);
    submit_tx(e, &third);
    const cc_tx *longer[] = {&mined, &first, &second, &third};
    assert_listed(e, longer, 4);

    cc_tx *txs[] = {&mined, &first, &second, &third};
    for (size_t i = 0; i < 4; i++)
        cc_tx_clear(txs[i]);
    cc_test_mined *blocks[] = {&b1, &b2, &s2, &s3};
    for (size_t i = 0; i < 4; i++)
        cc_buf_free(&blocks[i]->text);
}

static void test_refused_change_in_batch_leaves_the_rest(void **state)
{
    env *e = *state;
    cc_test_mined b1 = mine(e, 1, CC_HTTP_GENESIS_HASH, NULL, 0);
    cc_test_submit_block(e->chain, b1.text.data, b1.text.len, CC_BLOCK_NEW_TIP);
    cc_tx kept = pay(e, A, B, 0.5);
    cc_tx too_much = pay(e, A, B, 0.75); /* on top of kept: more than A has */
    cc_tx also_kept = pay(e, A, B, 0.25);

    assert_true(cc_chain_batch_begin(e->chain, NULL));
    submit_tx(e, &kept);
    assert_false(try_tx(e, &too_much));
    submit_tx(e, &also_kept);
    assert_true(cc_chain_batch_end(e->chain, NULL));
    const cc_tx *order[] = {&kept, &also_kept};
    assert_listed(e, order, 2);
    cc_test_chain_env_reopen(e);
    assert_listed(e, order, 2);

    cc_tx_clear(&kept);
    cc_tx_clear(&too_much);
    cc_tx_clear(&also_kept);
    cc_buf_free(&b1.text);
}

/* A side block holding a waiting payment is checked on its branch by a
 * trial that connects it (taking the payment out of the mempool) and is
 * rolled back: the payment still waits, in memory and after a reopen. */
static void test_trial_of_side_branch_leaves_the_mempool(void **state)
{
    env *e = *state;
    cc_test_mined b1 = mine(e, 1, CC_HTTP_GENESIS_HASH, NULL, 0);
    cc_test_mined b2 = mine(e, 2, b1.hash, NULL, 0);
    cc_test_submit_block(e->chain, b1.text.data, b1.text.len, CC_BLOCK_NEW_TIP);
    cc_test_submit_block(e->chain, b2.text.data, b2.text.len, CC_BLOCK_NEW_TIP);
    cc_tx waiting = pay(e, A, B, 0.25);
    submit_tx(e, &waiting);
    cc_test_mined s2 = mine(e, 2, b1.hash, &waiting, 1);
    cc_block_result res = cc_test_submit_block(e->chain, s2.text.data, s2.text.len, CC_BLOCK_SIDE);
    assert_true(res.checked);
    const cc_tx *order[] = {&waiting};
    assert_listed(e, order, 1);
    assert_false(try_tx(e, &waiting)); /* still known as waiting */
    cc_test_chain_env_reopen(e);
    assert_listed(e, order, 1);

    cc_tx_clear(&waiting);
    cc_buf_free(&b1.text);
    cc_buf_free(&b2.text);
    cc_buf_free(&s2.text);
}

/* The mempool table of databases made before the mempool moved to memory. */
static void write_old_mempool(const char *path, const cc_tx *const *txs, const int *seqs, size_t n)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "DROP TABLE IF EXISTS waiting;"
                                  "CREATE TABLE mempool(txid TEXT PRIMARY KEY, msgid TEXT NOT NULL"
                                  " UNIQUE, sender TEXT NOT NULL, amount TEXT NOT NULL, seq INTEGER"
                                  " NOT NULL, text BLOB NOT NULL) WITHOUT ROWID;"
                                  "CREATE INDEX mempool_sender ON mempool(sender, seq);"
                                  "CREATE INDEX mempool_seq ON mempool(seq);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_stmt *stmt;
    assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO mempool VALUES(?1,?2,?3,'1/8',?4,?5)", -1,
                                        &stmt, NULL),
                     SQLITE_OK);
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_text(stmt, 1, txs[i]->txid, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, txs[i]->msgid, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 3, txs[i]->from, -1, SQLITE_STATIC);
        sqlite3_bind_int(stmt, 4, seqs[i]);
        sqlite3_bind_blob(stmt, 5, txs[i]->text, (int)txs[i]->text_len, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(stmt), SQLITE_DONE);
        sqlite3_reset(stmt);
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
}

static void test_old_mempool_table_opens_with_its_payments(void **state)
{
    env *e = *state;
    cc_test_mined b1 = mine(e, 1, CC_HTTP_GENESIS_HASH, NULL, 0);
    cc_test_submit_block(e->chain, b1.text.data, b1.text.len, CC_BLOCK_NEW_TIP);
    cc_tx restored = pay(e, A, B, 0.125);
    cc_tx arrived = pay(e, A, B, 0.125);
    cc_chain_close(e->chain);
    e->chain = NULL;
    /* Stored in the opposite order of their seqs: the order is the seqs'. */
    const cc_tx *rows[] = {&arrived, &restored};
    const int seqs[] = {7, -2};
    write_old_mempool(e->db.path, rows, seqs, 2);

    e->chain = cc_test_chain_open(&e->cfg);
    const cc_tx *order[] = {&restored, &arrived};
    assert_listed(e, order, 2);
    assert_false(try_tx(e, &arrived)); /* waiting: a duplicate */
    cc_test_chain_env_reopen(e);
    assert_listed(e, order, 2);

    cc_tx_clear(&restored);
    cc_tx_clear(&arrived);
    cc_buf_free(&b1.text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_waiting_payments_survive_reopen_in_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_refused_change_in_batch_leaves_the_rest, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_trial_of_side_branch_leaves_the_mempool, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_old_mempool_table_opens_with_its_payments, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for the store's migrations: a database written by an older
 * node opens with everything it held. On the http rules against a
 * temporary SQLite file, a chain is written, its block table turned back
 * into the older form (keyed by hash, WITHOUT ROWID), and opened again:
 * the tip, every block (best chain and side), the whole-chain answer byte
 * for byte, and what waits are the same, the table is in its new form, and
 * new blocks are taken after it. A database from before the key index
 * (and one from before the reward index too) gets them filled at opening,
 * each key's list the same as a node that kept them gives. */
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
    return cc_test_chain_env_new(state, "/tmp/cc-migrate-XXXXXX", 5000, N_KEYS, "2026-03-03",
                                 100);
}

#define teardown cc_test_chain_env_free

static cc_test_mined mine(env *e, int64_t height, const char *prev, const cc_tx *txs, size_t n)
{
    return cc_test_chain_env_mine(e, height, prev, txs, n, A, M);
}

static void exec_sql(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s", msg);
    sqlite3_close(db);
}

static char *block_table_sql(const char *path)
{
    sqlite3 *db;
    sqlite3_stmt *stmt;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT sql FROM sqlite_master WHERE name='block'", -1,
                                        &stmt, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    char *sql = strdup((const char *)sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return sql;
}

static char *whole_chain(env *e)
{
    cc_buf out = CC_BUF_INIT;
    cc_err err = {0};
    if (!cc_chain_write_all(e->chain, &out, &err))
        fail_msg("cannot write the chain: %s", err.msg);
    cc_buf_putc(&out, '\0');
    return out.data;
}

static char *mempool_list(env *e)
{
    cc_buf out = CC_BUF_INIT;
    assert_true(cc_chain_mempool_write(e->chain, 100, &out, NULL));
    cc_buf_putc(&out, '\0');
    return out.data;
}

/* The block table as nodes before the rowid table wrote it. */
static const char older_block_table[] =
    "ALTER TABLE block RENAME TO block_new;"
    "DROP INDEX block_height; DROP INDEX block_prev;"
    "CREATE TABLE block(hash TEXT PRIMARY KEY, prev TEXT NOT NULL, height INTEGER NOT NULL,"
    " seq INTEGER NOT NULL, status INTEGER NOT NULL, text BLOB NOT NULL) WITHOUT ROWID;"
    "INSERT INTO block SELECT hash, prev, height, seq, status, text FROM block_new;"
    "DROP TABLE block_new;"
    "CREATE INDEX block_height ON block(height, seq);"
    "CREATE INDEX block_prev ON block(prev);";

static void test_block_table_keyed_by_hash_is_rewritten(void **state)
{
    env *e = *state;
    cc_test_mined b1 = mine(e, 1, CC_HTTP_GENESIS_HASH, NULL, 0);
    cc_test_submit_block(e->chain, b1.text.data, b1.text.len, CC_BLOCK_NEW_TIP);
    cc_tx paid = cc_test_chain_env_pay(e, A, B, 0.25);
    cc_tx waits = cc_test_chain_env_pay(e, A, B, 0.25);
    cc_test_mined b2 = mine(e, 2, b1.hash, &paid, 1);
    cc_test_mined side = mine(e, 2, b1.hash, NULL, 0);
    cc_test_submit_block(e->chain, b2.text.data, b2.text.len, CC_BLOCK_NEW_TIP);
    cc_test_submit_block(e->chain, side.text.data, side.text.len, CC_BLOCK_SIDE);
    char txid[CC_HASH_HEX_LEN + 1];
    assert_true(cc_chain_submit_tx(e->chain, waits.text, waits.text_len, txid, NULL));
    char *chain_before = whole_chain(e);
    char *mempool_before = mempool_list(e);
    cc_chain_close(e->chain);
    e->chain = NULL;

    exec_sql(e->db.path, older_block_table);
    char *old_sql = block_table_sql(e->db.path);
    assert_non_null(strstr(old_sql, "WITHOUT ROWID"));

    e->chain = cc_test_chain_open(&e->cfg);
    char *new_sql = block_table_sql(e->db.path);
    assert_null(strstr(new_sql, "WITHOUT ROWID"));
    assert_int_equal(cc_chain_height(e->chain), 2);
    assert_string_equal(cc_chain_tip(e->chain), b2.hash);
    char *chain_after = whole_chain(e);
    char *mempool_after = mempool_list(e);
    assert_string_equal(chain_after, chain_before);
    assert_string_equal(mempool_after, mempool_before);
    cc_buf text = CC_BUF_INIT;
    assert_true(cc_chain_block_text(e->chain, side.hash, &text, NULL));
    assert_int_equal(text.len, side.text.len);
    assert_memory_equal(text.data, side.text.data, side.text.len);

    /* Taken as before: a block on the tip, and a duplicate refused. */
    cc_test_mined b3 = mine(e, 3, b2.hash, NULL, 0);
    cc_test_submit_block(e->chain, b3.text.data, b3.text.len, CC_BLOCK_NEW_TIP);
    cc_test_assert_block_refused(e->chain, b3.text.data, b3.text.len, CC_REFUSAL_DUPLICATE,
                                 "already exists");
    cc_test_chain_env_reopen(e);
    assert_int_equal(cc_chain_height(e->chain), 3);

    free(old_sql);
    free(new_sql);
    free(chain_before);
    free(chain_after);
    free(mempool_before);
    free(mempool_after);
    cc_buf_free(&text);
    cc_tx_clear(&paid);
    cc_tx_clear(&waits);
    cc_test_mined *blocks[] = {&b1, &b2, &side, &b3};
    for (size_t i = 0; i < 4; i++)
        cc_buf_free(&blocks[i]->text);
}

/* A key's list as text: each transaction's txid, height, block,
 * direction and wire text, then the total. */
static void put_item(void *ctx, const cc_chain_key_tx *tx)
{
    cc_buf_printf(ctx, "%s %lld %s %d %.*s\n", tx->txid, (long long)tx->height, tx->block,
                  (int)tx->direction, (int)tx->text_len, tx->text);
}

static char *key_list(env *e, int key)
{
    cc_buf out = CC_BUF_INIT;
    size_t total = 0;
    cc_err err = {0};
    if (!cc_chain_key_payments(e->chain, e->keys[key].pub_hex, 0, 100, put_item, &out, &total,
                               &err))
        fail_msg("cannot list a key's payments: %s", err.msg);
    cc_buf_printf(&out, "total %zu", total);
    return cc_buf_take(&out);
}

static int user_version(const char *path)
{
    sqlite3 *db;
    sqlite3_stmt *stmt;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    int version = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return version;
}

/* Databases from before the key index, as such files are: without its
 * table, at version 1 (the reward index filled), or at version 0 (neither
 * index), or at version 1 over a table holding wrong rows.
 * Opening fills what is missing, once, and it is kept up after. */
static void test_key_index_filled_for_old_database(void **state)
{
    env *e = *state;
    cc_test_mined b1 = mine(e, 1, CC_HTTP_GENESIS_HASH, NULL, 0);
    cc_test_submit_block(e->chain, b1.text.data, b1.text.len, CC_BLOCK_NEW_TIP);
    cc_tx paid[2] = {cc_test_chain_env_pay(e, A, B, 0.25), cc_test_chain_env_pay(e, A, A, 0.125)};
    cc_test_mined b2 = mine(e, 2, b1.hash, paid, 2);
    cc_test_mined side = mine(e, 2, b1.hash, NULL, 0);
    cc_test_submit_block(e->chain, b2.text.data, b2.text.len, CC_BLOCK_NEW_TIP);
    cc_test_submit_block(e->chain, side.text.data, side.text.len, CC_BLOCK_SIDE);
    char *before[N_KEYS];
    for (int k = 0; k < N_KEYS; k++)
        before[k] = key_list(e, k);
    assert_non_null(strstr(before[A], "total 4"));
    assert_non_null(strstr(before[B], "total 1"));
    assert_non_null(strstr(before[M], "total 0"));

    static const char *const older[] = {
        "DROP TABLE keytx; PRAGMA user_version=1;",
        "DROP TABLE keytx; DELETE FROM reward; PRAGMA user_version=0;",
        /* the version at 1 over a table with wrong rows (some missing,
         * some of no block): the version is trusted, the table rebuilt */
        "DELETE FROM keytx WHERE height=1; INSERT INTO keytx SELECT keyid, 3, pos FROM keytx;"
        " PRAGMA user_version=1;",
    };
    static const int older_version[] = {1, 0, 1};
    for (size_t i = 0; i < sizeof older / sizeof older[0]; i++) {
        cc_chain_close(e->chain);
        e->chain = NULL;
        exec_sql(e->db.path, older[i]);
        assert_int_equal(user_version(e->db.path), older_version[i]);
        e->chain = cc_test_chain_open(&e->cfg);
        assert_int_equal(user_version(e->db.path), 2);
        for (int k = 0; k < N_KEYS; k++) {
            char *after = key_list(e, k);
            assert_string_equal(after, before[k]);
            free(after);
        }
        cc_chain_tx_info info;
        assert_true(cc_chain_tx_find(e->chain, b2.reward, NULL, &info, NULL));
        assert_string_equal(info.block, b2.hash);
    }

    /* Kept up from then on: the next block's reward to A is listed first. */
    cc_test_mined b3 = mine(e, 3, b2.hash, NULL, 0);
    cc_test_submit_block(e->chain, b3.text.data, b3.text.len, CC_BLOCK_NEW_TIP);
    cc_test_chain_env_reopen(e);
    char *grown = key_list(e, A);
    assert_non_null(strstr(grown, "total 5"));
    assert_memory_equal(grown, b3.reward, CC_HASH_HEX_LEN);
    size_t listed = strlen(before[A]) - strlen("total 4");
    assert_memory_equal(strchr(grown, '\n') + 1, before[A], listed);

    free(grown);
    for (int k = 0; k < N_KEYS; k++)
        free(before[k]);
    cc_tx_clear(&paid[0]);
    cc_tx_clear(&paid[1]);
    cc_test_mined *blocks[] = {&b1, &b2, &side, &b3};
    for (size_t i = 0; i < 4; i++)
        cc_buf_free(&blocks[i]->text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_block_table_keyed_by_hash_is_rewritten, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_key_index_filled_for_old_database, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

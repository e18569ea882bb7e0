/* Unit tests for the look-ups chain/ offers the node's JSON API: blocks by
 * hash and by height on the best chain, transactions by txid (payments
 * through the txindex, rewards through the reward index, waiting ones in
 * the mempool) across reorganisations and restarts, the reward index
 * filled for a database made before it, and the mempool as a JSON array.
 * Blocks are mined here at the real difficulty with the http rules. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <sqlite3.h>
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
#include "util/hex.h"
#include "wallet/payment.h"

#include "chain_env.h"

enum { A, B, M, N_KEYS };

typedef cc_test_chain_env env;

/* ---- setup ------------------------------------------------------------- */

static void reopen(env *e) { cc_test_chain_env_reopen(e); }

static int setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    if (!e || !cc_test_chain_env_setup(e, "/tmp/cc-chain-api-XXXXXX", 40, N_KEYS, "2026-02-01",
                                       100)) {
        free(e);
        return -1;
    }
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env *e = *state;
    cc_test_chain_env_teardown(e);
    free(e);
    return 0;
}

/* ---- transactions and blocks -------------------------------------------- */

static void next_ts(env *e, char out[32]) { cc_test_chain_env_next_ts(e, out); }

static void pay(env *e, int from, int to, int64_t amount, cc_tx *out)
{
    char ts[32];
    next_ts(e, ts);
    cc_number sum = {.is_int = true, .i = amount};
    cc_err err = {0};
    if (!cc_http_tx_create(&e->keys[from], e->keys[to].pub_hex, &sum, ts, out, &err))
        fail_msg("cannot create a payment: %s", err.msg);
}

typedef cc_test_mined mined;

/* Mines a block at height on prev holding txs and a reward of 1 to key
 * reward_to, created by key M. */
static mined mine(env *e, int64_t height, const char *prev, const cc_tx *txs, size_t n,
                  int reward_to)
{
    return cc_test_chain_env_mine(e, height, prev, txs, n, reward_to, M);
}

static void submit(env *e, const mined *m, cc_block_outcome expected)
{
    cc_block_result res = cc_test_submit_block(e->chain, m->text.data, m->text.len, expected);
    assert_string_equal(res.hash, m->hash);
}

static void accept_tx(env *e, const cc_tx *tx)
{
    cc_err err = {0};
    if (!cc_chain_accept_tx(e->chain, tx, &err))
        fail_msg("transaction refused: %s", err.msg);
}

/* ---- checks ----------------------------------------------------------------- */

static void assert_block_at(env *e, int64_t height, const char *hash)
{
    char got[CC_HASH_HEX_LEN + 1];
    cc_err err = {0};
    if (!cc_chain_hash_at(e->chain, height, got, &err))
        fail_msg("no block at %lld: %s", (long long)height, err.msg);
    assert_string_equal(got, hash);
}

static void assert_no_block_at(env *e, int64_t height)
{
    char got[CC_HASH_HEX_LEN + 1];
    cc_err err = {0};
    assert_false(cc_chain_hash_at(e->chain, height, got, &err));
    assert_int_equal(err.code, CC_ERR_NOT_FOUND);
}

static void assert_tx_mined(env *e, const char *txid, const char *block, int64_t height,
                            const char *text)
{
    cc_buf got = CC_BUF_INIT;
    cc_chain_tx_info info;
    cc_err err = {0};
    if (!cc_chain_tx_find(e->chain, txid, &got, &info, &err))
        fail_msg("transaction %s not found: %s", txid, err.msg);
    assert_true(info.mined);
    assert_string_equal(info.block, block);
    assert_int_equal(info.height, height);
    if (text)
        assert_string_equal(cc_buf_str(&got), text);
    char digest[CC_HASH_HEX_LEN + 1];
    cc_sha256_hex(got.data, got.len, digest);
    assert_string_equal(digest, txid); /* the text is the transaction's own */
    /* Without a buffer, only where it is. */
    assert_true(cc_chain_tx_find(e->chain, txid, NULL, &info, &err));
    assert_true(info.mined);
    cc_buf_free(&got);
}

static void assert_tx_waiting(env *e, const cc_tx *tx)
{
    cc_buf got = CC_BUF_INIT;
    cc_chain_tx_info info;
    cc_err err = {0};
    if (!cc_chain_tx_find(e->chain, tx->txid, &got, &info, &err))
        fail_msg("transaction %s not found: %s", tx->txid, err.msg);
    assert_false(info.mined);
    assert_string_equal(info.block, "");
    assert_int_equal(info.height, -1);
    assert_string_equal(cc_buf_str(&got), tx->text);
    cc_buf_free(&got);
}

static void assert_tx_unknown(env *e, const char *txid)
{
    cc_buf got = CC_BUF_INIT;
    cc_chain_tx_info info;
    cc_err err = {0};
    assert_false(cc_chain_tx_find(e->chain, txid, &got, &info, &err));
    assert_int_equal(err.code, CC_ERR_NOT_FOUND);
    assert_string_equal(err.msg, "Transaction not found");
    assert_int_equal(got.len, 0);
    cc_buf_free(&got);
}

/* ---- tests --------------------------------------------------------------------- */

static void test_blocks_by_height_and_hash(void **state)
{
    env *e = *state;
    const char *genesis = cc_rules_http()->genesis_hash;
    assert_block_at(e, 0, genesis);
    assert_no_block_at(e, 1);
    assert_no_block_at(e, -1);

    mined b1 = mine(e, 1, genesis, NULL, 0, A);
    submit(e, &b1, CC_BLOCK_NEW_TIP);
    mined b2 = mine(e, 2, b1.hash, NULL, 0, A);
    submit(e, &b2, CC_BLOCK_NEW_TIP);
    mined side = mine(e, 2, b1.hash, NULL, 0, B);
    submit(e, &side, CC_BLOCK_SIDE);
    assert_block_at(e, 1, b1.hash);
    assert_block_at(e, 2, b2.hash);
    assert_no_block_at(e, 3);
    assert_no_block_at(e, INT64_MAX);

    cc_buf text = CC_BUF_INIT;
    cc_chain_block_info info;
    cc_err err = {0};
    assert_true(cc_chain_block_get(e->chain, b2.hash, &text, &info, &err));
    assert_string_equal(cc_buf_str(&text), cc_buf_str(&b2.text));
    assert_int_equal(info.height, 2);
    assert_true(info.best);
    assert_true(cc_chain_block_get(e->chain, side.hash, &text, &info, &err));
    assert_string_equal(cc_buf_str(&text), cc_buf_str(&side.text));
    assert_int_equal(info.height, 2);
    assert_false(info.best);
    assert_true(cc_chain_block_get(e->chain, genesis, NULL, &info, &err));
    assert_int_equal(info.height, 0);
    assert_true(info.best);
    assert_false(cc_chain_block_get(e->chain, b1.reward, &text, &info, &err));
    assert_int_equal(err.code, CC_ERR_NOT_FOUND);
    assert_string_equal(err.msg, "Block not found");
    assert_int_equal(text.len, 0);

    /* The side branch overtakes: heights now name its blocks. */
    mined b3 = mine(e, 3, side.hash, NULL, 0, B);
    submit(e, &b3, CC_BLOCK_NEW_TIP);
    assert_block_at(e, 2, side.hash);
    assert_block_at(e, 3, b3.hash);
    assert_true(cc_chain_block_get(e->chain, b2.hash, NULL, &info, &err));
    assert_false(info.best);

    cc_buf_free(&text);
    cc_buf_free(&b1.text);
    cc_buf_free(&b2.text);
    cc_buf_free(&side.text);
    cc_buf_free(&b3.text);
}

static void test_tx_from_mempool_to_block_and_back(void **state)
{
    env *e = *state;
    const char *genesis = cc_rules_http()->genesis_hash;
    mined b1 = mine(e, 1, genesis, NULL, 0, A);
    submit(e, &b1, CC_BLOCK_NEW_TIP);
    assert_tx_mined(e, b1.reward, b1.hash, 1, NULL);

    cc_tx tx;
    pay(e, A, B, 1, &tx);
    assert_tx_unknown(e, tx.txid);
    accept_tx(e, &tx);
    assert_tx_waiting(e, &tx);

    mined b2 = mine(e, 2, b1.hash, &tx, 1, B);
    submit(e, &b2, CC_BLOCK_NEW_TIP);
    assert_tx_mined(e, tx.txid, b2.hash, 2, tx.text);
    assert_tx_mined(e, b2.reward, b2.hash, 2, NULL);

    /* A longer branch without it: the payment waits again, the abandoned
     * block's reward is gone, the new branch's rewards are found. */
    mined c2 = mine(e, 2, b1.hash, NULL, 0, M);
    submit(e, &c2, CC_BLOCK_SIDE);
    assert_tx_unknown(e, c2.reward); /* side branches are not searched */
    mined c3 = mine(e, 3, c2.hash, NULL, 0, M);
    submit(e, &c3, CC_BLOCK_NEW_TIP);
    assert_tx_waiting(e, &tx);
    assert_tx_unknown(e, b2.reward);
    assert_tx_mined(e, c2.reward, c2.hash, 2, NULL);
    assert_tx_mined(e, c3.reward, c3.hash, 3, NULL);

    /* Mined again on the winning branch, and still there after a restart. */
    mined c4 = mine(e, 4, c3.hash, &tx, 1, A);
    submit(e, &c4, CC_BLOCK_NEW_TIP);
    reopen(e);
    assert_tx_mined(e, tx.txid, c4.hash, 4, tx.text);
    assert_tx_mined(e, b1.reward, b1.hash, 1, NULL);
    assert_tx_unknown(e, b2.reward);

    /* The genesis block's transaction moves no balance and is not indexed. */
    static const char genesis_tx[] =
        "{\"signature\": \"System\",\"transaction\": {\"from\": \"System\",\"to\": "
        "\"Satoshi Nakamoto\",\"sum\": 50,\"timestamp\": \"01/01/2009\"}}";
    assert_non_null(strstr(cc_rules_http()->genesis_text, genesis_tx));
    char genesis_txid[CC_HASH_HEX_LEN + 1];
    cc_sha256_hex(genesis_tx, strlen(genesis_tx), genesis_txid);
    assert_tx_unknown(e, genesis_txid);

    cc_tx_clear(&tx);
    mined *all[] = {&b1, &b2, &c2, &c3, &c4};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        cc_buf_free(&all[i]->text);
}

/* A database from before the reward index: the table emptied and the
 * version put back, as such a file would be. Opening fills the index. */
static void test_reward_index_filled_for_old_database(void **state)
{
    env *e = *state;
    const char *genesis = cc_rules_http()->genesis_hash;
    mined b1 = mine(e, 1, genesis, NULL, 0, A);
    submit(e, &b1, CC_BLOCK_NEW_TIP);
    mined b2 = mine(e, 2, b1.hash, NULL, 0, B);
    submit(e, &b2, CC_BLOCK_NEW_TIP);
    cc_chain_close(e->chain);
    e->chain = NULL;

    sqlite3 *db;
    assert_int_equal(sqlite3_open(e->db.path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "DROP TABLE reward; PRAGMA user_version=0;", NULL, NULL,
                                  NULL),
                     SQLITE_OK);
    sqlite3_close(db);

    e->chain = cc_test_chain_open(&e->cfg);
    assert_tx_mined(e, b1.reward, b1.hash, 1, NULL);
    assert_tx_mined(e, b2.reward, b2.hash, 2, NULL);
    reopen(e); /* once only: the version says it is done */
    assert_tx_mined(e, b2.reward, b2.hash, 2, NULL);
    cc_buf_free(&b1.text);
    cc_buf_free(&b2.text);
}

static void test_mempool_write(void **state)
{
    env *e = *state;
    cc_buf out = CC_BUF_INIT;
    cc_err err = {0};
    assert_true(cc_chain_mempool_write(e->chain, 1000, &out, &err));
    assert_string_equal(cc_buf_str(&out), "[]");

    mined b1 = mine(e, 1, cc_rules_http()->genesis_hash, NULL, 0, A);
    submit(e, &b1, CC_BLOCK_NEW_TIP);
    cc_tx txs[3];
    for (size_t i = 0; i < 3; i++) {
        char ts[32];
        next_ts(e, ts);
        cc_number tenth = {.is_int = false, .d = 0.1};
        assert_true(cc_http_tx_create(&e->keys[A], e->keys[B].pub_hex, &tenth, ts, &txs[i],
                                      NULL));
        accept_tx(e, &txs[i]);
    }
    cc_buf_reset(&out);
    assert_true(cc_chain_mempool_write(e->chain, 1000, &out, &err));
    json_error_t jerr;
    json_t *doc = json_loads(cc_buf_str(&out), 0, &jerr);
    assert_non_null(doc);
    assert_true(json_is_array(doc));
    assert_int_equal(json_array_size(doc), 3);
    json_decref(doc);
    /* In arrival order, each its own wire text. */
    cc_buf expected = CC_BUF_INIT;
    cc_buf_printf(&expected, "[%s, %s, %s]", txs[0].text, txs[1].text, txs[2].text);
    assert_string_equal(cc_buf_str(&out), cc_buf_str(&expected));

    cc_buf_reset(&out);
    assert_true(cc_chain_mempool_write(e->chain, 1, &out, &err));
    cc_buf_reset(&expected);
    cc_buf_printf(&expected, "[%s]", txs[0].text);
    assert_string_equal(cc_buf_str(&out), cc_buf_str(&expected));
    cc_buf_reset(&out);
    assert_true(cc_chain_mempool_write(e->chain, 0, &out, &err));
    assert_string_equal(cc_buf_str(&out), "[]");

    for (size_t i = 0; i < 3; i++)
        cc_tx_clear(&txs[i]);
    cc_buf_free(&expected);
    cc_buf_free(&out);
    cc_buf_free(&b1.text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_blocks_by_height_and_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_from_mempool_to_block_and_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reward_index_filled_for_old_database, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_mempool_write, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

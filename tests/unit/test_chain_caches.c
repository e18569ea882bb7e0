/* Unit tests for the chain's two memories of the store, with the http
 * network's rules against a temporary SQLite file:
 *
 * - chain->known (chain/id_filter.h), the filter that lets "is this
 *   payment known?" be answered without a query: it is a superset of the
 *   store, so a payment waiting or mined is refused as a duplicate, also
 *   after the chain is opened again and the filter built from the store;
 * - chain->served (chain/text_cache.h), the texts of blocks served: a text
 *   is the same whether it came from the store or the cache, only blocks
 *   valid on their branch are answered, and a text read inside a batch is
 *   not remembered past a rollback of that batch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "chain/chain.h"
#include "consensus/http.h"
#include "consensus/rules.h"
#include "util/buf.h"
#include "wallet/payment.h"

#include "chain_env.h"

enum { A, B, M, Z, N_KEYS };

typedef cc_test_chain_env env;

static int setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    if (!e || !cc_test_chain_env_setup(e, "/tmp/cc-caches-XXXXXX", 3000, N_KEYS, "2026-03-01",
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

/* ---- payments and blocks ------------------------------------------------------ */

static cc_tx pay(env *e, int from, int to, double amount)
{
    return cc_test_chain_env_pay(e, from, to, amount);
}

/* The same payment with one digit of its signature changed: another text
 * and txid, the same signed message (msgid). */
static cc_tx forged(const cc_tx *tx)
{
    cc_buf text = CC_BUF_INIT;
    cc_buf_append(&text, tx->text, tx->text_len);
    char *last_digit = strstr(text.data, "\"signature\": \"") + 14 + CC_P192_SIG_HEX_LEN - 1;
    *last_digit = *last_digit == '0' ? '1' : '0';
    cc_tx out;
    cc_err err = {0};
    if (!cc_http_tx_decode(text.data, text.len, &out, &err))
        fail_msg("forged payment does not decode: %s", err.msg);
    assert_string_not_equal(out.txid, tx->txid);
    assert_string_equal(out.msgid, tx->msgid);
    cc_buf_free(&text);
    return out;
}

/* A block at height on prev holding txs, then a reward of 1 to reward_to. */
static cc_test_mined mine(env *e, int64_t height, const char *prev, const cc_tx *txs, size_t n,
                          int reward_to)
{
    return cc_test_chain_env_mine(e, height, prev, txs, n, reward_to, M);
}

static cc_test_mined mine_empty(env *e, int64_t height, const char *prev, int reward_to)
{
    return mine(e, height, prev, NULL, 0, reward_to);
}

static cc_block_result submit(env *e, const cc_test_mined *m, cc_block_outcome expected)
{
    cc_block_result res = cc_test_submit_block(e->chain, m->text.data, m->text.len, expected);
    assert_string_equal(res.hash, m->hash);
    return res;
}

static void submit_tx(env *e, const cc_tx *tx)
{
    char txid[CC_HASH_HEX_LEN + 1];
    cc_err err = {0};
    if (!cc_chain_submit_tx(e->chain, tx->text, tx->text_len, txid, &err))
        fail_msg("payment refused: %s", err.msg);
}

static void assert_duplicate(const cc_err *err, const char *what)
{
    assert_int_equal(err->code, CC_ERR_BAD_REQUEST);
    if (cc_err_refusal(err) != CC_REFUSAL_DUPLICATE || !strstr(err->msg, "Transaction already exists"))
        fail_msg("%s: refused with \"%s\" (reason %d), not as a duplicate", what, err->msg,
                 (int)cc_err_refusal(err));
}

/* tx is refused as a duplicate both by the cheap check and when submitted
 * (under its own signature), and the mempool does not change. */
static void assert_payment_known(env *e, const cc_tx *tx, const char *what)
{
    size_t before = cc_chain_mempool_size(e->chain);
    cc_err err = {0};
    if (cc_chain_check_new_tx(e->chain, tx, &err))
        fail_msg("%s: passed the check for new payments", what);
    assert_duplicate(&err, what);
    char txid[CC_HASH_HEX_LEN + 1];
    cc_err sent = {0};
    if (cc_chain_submit_tx(e->chain, tx->text, tx->text_len, txid, &sent))
        fail_msg("%s: accepted again", what);
    assert_duplicate(&sent, what);
    assert_int_equal(cc_chain_mempool_size(e->chain), before);
}

/* The same signed message under another signature: known by its msgid
 * alone, so refused before its (bad) signature is looked at. */
static void assert_message_known(env *e, const cc_tx *tx, const char *what)
{
    cc_tx other = forged(tx);
    cc_err err = {0};
    if (cc_chain_check_new_tx(e->chain, &other, &err))
        fail_msg("%s: its message under another signature passed the check", what);
    assert_duplicate(&err, what);
    cc_tx_clear(&other);
}

/* ---- block texts ---------------------------------------------------------------- */

/* cc_chain_block_text of hash, asked twice (the first answer may come from
 * the store and fill the cache, the second from the cache): both times
 * want, byte for byte, or both times "Block not found" when want is NULL.
 * The buffer holds something already: either way the answer replaces it. */
static void assert_text_twice(env *e, const char *hash, const cc_buf *want)
{
    for (int ask = 1; ask <= 2; ask++) {
        cc_buf got = CC_BUF_INIT;
        cc_buf_puts(&got, "left over: ");
        cc_err err = {0};
        bool found = cc_chain_block_text(e->chain, hash, &got, &err);
        if (want && !found)
            fail_msg("ask %d: block %.16s... not found: %s", ask, hash, err.msg);
        if (!want && found)
            fail_msg("ask %d: block %.16s... served, expected not found", ask, hash);
        if (want) {
            assert_int_equal(got.len, want->len);
            assert_memory_equal(got.data, want->data, want->len);
        } else {
            assert_int_equal(err.code, CC_ERR_NOT_FOUND);
            assert_string_equal(err.msg, "Block not found");
            assert_int_equal(got.len, 0);
        }
        cc_buf_free(&got);
    }
}

/* ---- (a) the filter of known payments ---------------------------------------- */

/* A payment waiting in the mempool and one mined in a block are refused as
 * duplicates, by txid and by message, while the chain is open (the filter
 * noted them as they were written) and after it is opened again (the
 * filter was built from the store: the txindex and the mempool both). */
static void test_known_payments_refused_after_reopen(void **state)
{
    env *e = *state;
    cc_test_mined b1 = mine_empty(e, 1, CC_HTTP_GENESIS_HASH, A);
    submit(e, &b1, CC_BLOCK_NEW_TIP);
    cc_tx mined_tx = pay(e, A, B, 0.25);
    cc_test_mined b2 = mine(e, 2, b1.hash, &mined_tx, 1, A);
    submit(e, &b2, CC_BLOCK_NEW_TIP);
    cc_tx waiting = pay(e, A, B, 0.5);
    submit_tx(e, &waiting);
    assert_int_equal(cc_chain_mempool_size(e->chain), 1);

    assert_payment_known(e, &mined_tx, "mined payment");
    assert_payment_known(e, &waiting, "waiting payment");
    assert_message_known(e, &mined_tx, "mined payment");
    assert_message_known(e, &waiting, "waiting payment");

    cc_test_chain_env_reopen(e);
    assert_int_equal(cc_chain_mempool_size(e->chain), 1);
    assert_payment_known(e, &mined_tx, "mined payment after reopen");
    assert_payment_known(e, &waiting, "waiting payment after reopen");
    assert_message_known(e, &mined_tx, "mined payment after reopen");
    assert_message_known(e, &waiting, "waiting payment after reopen");

    /* A block that pays the mined payment again is refused as well: the
     * filter answers for the branch's txindex too. */
    cc_test_mined again = mine(e, 3, b2.hash, &mined_tx, 1, A);
    cc_test_assert_block_refused(e->chain, again.text.data, again.text.len,
                                 CC_REFUSAL_PAYMENT_REPEATED, "already in the chain");
    assert_int_equal(cc_chain_height(e->chain), 2);

    /* And a payment that is new is still taken. */
    cc_tx fresh = pay(e, A, B, 0.125);
    submit_tx(e, &fresh);
    assert_int_equal(cc_chain_mempool_size(e->chain), 2);

    cc_tx_clear(&mined_tx);
    cc_tx_clear(&waiting);
    cc_tx_clear(&fresh);
    cc_buf_free(&b1.text);
    cc_buf_free(&b2.text);
    cc_buf_free(&again.text);
}

/* ---- (b) served block texts --------------------------------------------------- */

/* Beyond the depth at which side blocks are checked as they arrive (8). */
#define DEEP 10

/* A block's text is the same from the store and from the cache; an
 * unknown hash, and a block stored but not checked on its branch, are not
 * found however often asked; once checked, that block is served too. */
static void test_block_text_same_before_and_after_cached(void **state)
{
    env *e = *state;
    cc_test_mined best[DEEP];
    const char *prev = CC_HTTP_GENESIS_HASH;
    for (int i = 0; i < DEEP; i++) {
        cc_tx tx = i > 0 ? pay(e, A, B, 0.125) : (cc_tx){0};
        best[i] = i > 0 ? mine(e, i + 1, prev, &tx, 1, A) : mine_empty(e, 1, prev, A);
        if (i > 0)
            cc_tx_clear(&tx);
        submit(e, &best[i], CC_BLOCK_NEW_TIP);
        prev = best[i].hash;
    }
    for (int i = 0; i < DEEP; i++)
        assert_text_twice(e, best[i].hash, &best[i].text);
    /* In another order, and again: each hash still gets its own text. */
    for (int i = DEEP - 1; i >= 0; i--)
        assert_text_twice(e, best[i].hash, &best[i].text);

    char unknown[CC_HASH_HEX_LEN + 1];
    memcpy(unknown, best[0].hash, sizeof unknown);
    unknown[0] = unknown[0] == '0' ? '1' : '0'; /* same slot as best[0] */
    assert_text_twice(e, unknown, NULL);
    assert_text_twice(e, "not a hash", NULL);
    assert_text_twice(e, best[0].hash, &best[0].text);

    /* A deep side branch is stored unchecked: not served, before or after
     * being asked for, until it becomes the best. */
    cc_test_mined side[DEEP + 1];
    prev = CC_HTTP_GENESIS_HASH;
    for (int i = 0; i < DEEP + 1; i++) {
        side[i] = mine_empty(e, i + 1, prev, Z);
        prev = side[i].hash;
    }
    for (int i = 0; i < DEEP; i++) {
        assert_false(submit(e, &side[i], CC_BLOCK_SIDE).checked);
        assert_text_twice(e, side[i].hash, NULL);
    }
    submit(e, &side[DEEP], CC_BLOCK_NEW_TIP);
    for (int i = 0; i < DEEP + 1; i++)
        assert_text_twice(e, side[i].hash, &side[i].text);
    /* The abandoned branch stays valid on its own: still served. */
    for (int i = 0; i < DEEP; i++)
        assert_text_twice(e, best[i].hash, &best[i].text);

    for (int i = 0; i < DEEP; i++)
        cc_buf_free(&best[i].text);
    for (int i = 0; i < DEEP + 1; i++)
        cc_buf_free(&side[i].text);
}

/* ---- (c) texts read inside a batch -------------------------------------------- */

/* Makes every write to a regular file fail (EFBIG) until restore_writes.
 * The public API has no other way to make a batch's final COMMIT fail, so
 * that the batch rolls back while the chain stays open (closing the chain
 * mid-batch rolls back too, but drops the cache with the chain, so it
 * could not show a stale entry). SIGXFSZ would end the process: ignored
 * meanwhile. */
typedef struct writes_off {
    struct rlimit limit;
    struct sigaction xfsz;
} writes_off;

static writes_off stop_writes(void)
{
    writes_off old;
    struct sigaction ignore = {.sa_handler = SIG_IGN};
    sigemptyset(&ignore.sa_mask);
    assert_int_equal(sigaction(SIGXFSZ, &ignore, &old.xfsz), 0);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old.limit), 0);
    struct rlimit none = {.rlim_cur = 0, .rlim_max = old.limit.rlim_max};
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &none), 0);
    return old;
}

static void restore_writes(const writes_off *old)
{
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old->limit), 0);
    assert_int_equal(sigaction(SIGXFSZ, &old->xfsz, NULL), 0);
}

/* A block submitted in a batch reads as stored while the batch is open;
 * when the batch's commit fails and the batch is rolled back, the block is
 * gone, and its text, read inside the batch, must not be served from
 * memory. The chain works on afterwards, and the block is welcome again. */
static void test_text_read_in_batch_not_kept_past_rollback(void **state)
{
    env *e = *state;
    cc_test_mined b1 = mine_empty(e, 1, CC_HTTP_GENESIS_HASH, A);
    submit(e, &b1, CC_BLOCK_NEW_TIP);
    cc_test_mined b2 = mine_empty(e, 2, b1.hash, A);

    cc_err err = {0};
    if (!cc_chain_batch_begin(e->chain, &err))
        fail_msg("batch not begun: %s", err.msg);
    submit(e, &b2, CC_BLOCK_NEW_TIP);
    assert_text_twice(e, b2.hash, &b2.text);
    assert_text_twice(e, b1.hash, &b1.text);

    writes_off old = stop_writes();
    bool ended = cc_chain_batch_end(e->chain, &err);
    restore_writes(&old);
    if (ended)
        fail_msg("the batch committed although no file could be written");

    /* Rolled back: the chain's state followed the database. */
    assert_int_equal(cc_chain_height(e->chain), 1);
    assert_string_equal(cc_chain_tip(e->chain), b1.hash);
    assert_text_twice(e, b2.hash, NULL);
    assert_text_twice(e, b1.hash, &b1.text);

    submit(e, &b2, CC_BLOCK_NEW_TIP);
    assert_text_twice(e, b2.hash, &b2.text);
    cc_test_chain_env_reopen(e);
    assert_string_equal(cc_chain_tip(e->chain), b2.hash);
    assert_text_twice(e, b2.hash, &b2.text);

    cc_buf_free(&b1.text);
    cc_buf_free(&b2.text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_known_payments_refused_after_reopen, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_block_text_same_before_and_after_cached, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_text_read_in_batch_not_kept_past_rollback, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

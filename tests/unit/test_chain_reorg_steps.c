/* Unit tests for deep reorganisations run in steps (chain/chain.h): while a
 * switch to a longer branch is under way every read shows the state before
 * it and every change is refused with CC_ERR_UNAVAILABLE; the steps end in
 * the same ledger a switch made at once gives; a branch that breaks a rule
 * is marked invalid and the old best chain stays; orphans waiting for the
 * new tip are adopted when the switch ends; a switch interrupted by a close
 * is finished when the chain opens again. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <gmp.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "consensus/http.h"
#include "util/buf.h"
#include "wallet/payment.h"

#include "chain_env.h"

#define INLINE_MAX 2 /* deeper switches run in steps */
enum { A, B, C, M };

typedef cc_test_chain_env env;

typedef struct branch {
    cc_buf text[16];
    char hash[16][CC_HASH_HEX_LEN + 1];
    size_t n;
} branch;

static int setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    if (!e || !cc_test_chain_env_setup(e, "/tmp/cc-steps-XXXXXX", 2000, 4, "2026-02-01", 100)) {
        free(e);
        return -1;
    }
    e->cfg.reorg_inline_max = INLINE_MAX;
    cc_test_chain_env_reopen(e);
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

static void branch_free(branch *b)
{
    for (size_t i = 0; i < b->n; i++)
        cc_buf_free(&b->text[i]);
}

/* n blocks on the genesis, each rewarding key `to`; block `pay_at` (1-based,
 * 0 for none) also holds a payment of `amount` from `from` to C. */
static void make_branch(env *e, branch *b, size_t n, int to, size_t pay_at, int from,
                        double amount)
{
    memset(b, 0, sizeof *b);
    const char *prev = CC_HTTP_GENESIS_HASH;
    for (size_t i = 0; i < n; i++) {
        cc_tx tx;
        size_t n_txs = 0;
        if (pay_at == i + 1) {
            char ts[32];
            cc_test_chain_env_next_ts(e, ts);
            cc_number sum = {.is_int = false, .d = amount};
            cc_err err = {0};
            assert_true(cc_http_tx_create(&e->keys[from], e->keys[C].pub_hex, &sum, ts, &tx, &err));
            n_txs = 1;
        }
        cc_test_mined m = cc_test_chain_env_mine(e, (int64_t)i + 1, prev, &tx, n_txs, to, M);
        if (n_txs)
            cc_tx_clear(&tx);
        b->text[i] = m.text;
        memcpy(b->hash[i], m.hash, sizeof b->hash[i]);
        prev = b->hash[i];
        b->n++;
    }
}

static void submit_all(env *e, const branch *b, size_t from, size_t to, cc_block_outcome want)
{
    for (size_t i = from; i < to; i++)
        cc_test_submit_block(e->chain, b->text[i].data, b->text[i].len, want);
}

static double balance_of(env *e, int key)
{
    mpq_t got;
    mpq_init(got);
    cc_err err = {0};
    assert_true(cc_chain_balance(e->chain, e->keys[key].pub_hex, got, &err));
    double d = mpq_get_d(got);
    mpq_clear(got);
    return d;
}

/* Steps (one block each) until done; returns the steps taken and the final
 * result. */
static size_t run_steps(env *e, cc_block_result *res)
{
    size_t steps = 0;
    bool done = false;
    cc_err err = {0};
    while (!done) {
        if (!cc_chain_reorg_step(e->chain, 1, &done, res, &err))
            fail_msg("a step failed: %s", err.msg);
        steps++;
    }
    return steps;
}

static void expect_unavailable(bool ok, const cc_err *err)
{
    assert_false(ok);
    assert_int_equal(err->code, CC_ERR_UNAVAILABLE);
    assert_non_null(strstr(err->msg, "switching to a longer branch"));
}

/* A: 4 blocks rewarding A. B: 5 rewarding B, its 2nd paying 0.5 from B to C. */
static cc_block_result start_switch(env *e, branch *a, branch *b)
{
    make_branch(e, a, 4, A, 0, A, 0);
    make_branch(e, b, 5, B, 2, B, 0.5);
    submit_all(e, a, 0, 4, CC_BLOCK_NEW_TIP);
    submit_all(e, b, 0, 4, CC_BLOCK_SIDE);
    cc_block_result res = cc_test_submit_block(e->chain, b->text[4].data, b->text[4].len,
                                               CC_BLOCK_SIDE);
    assert_true(res.reorg_pending);
    assert_false(res.checked);
    assert_true(cc_chain_reorg_pending(e->chain));
    return res;
}

static void test_reads_show_the_old_state_and_changes_wait(void **state)
{
    env *e = *state;
    branch a, b;
    start_switch(e, &a, &b);
    cc_block_result res;
    bool done = false;
    cc_err err = {0};
    for (int step = 0; step < 3; step++) { /* partway: A's blocks undone, some of B's applied */
        assert_true(cc_chain_reorg_step(e->chain, 2, &done, &res, &err));
        assert_false(done);
        assert_int_equal(cc_chain_height(e->chain), 4);
        assert_string_equal(cc_chain_tip(e->chain), a.hash[3]);
        char at[CC_HASH_HEX_LEN + 1];
        assert_true(cc_chain_hash_at(e->chain, 4, at, &err));
        assert_string_equal(at, a.hash[3]);
        assert_true(balance_of(e, A) == 4);
        assert_true(balance_of(e, B) == 0);
        cc_buf all = CC_BUF_INIT;
        assert_true(cc_chain_write_all(e->chain, &all, &err));
        assert_non_null(strstr(all.data, a.hash[3]));
        cc_buf_free(&all);

        cc_block_result other;
        expect_unavailable(cc_chain_submit_block(e->chain, a.text[0].data, a.text[0].len, &other,
                                                 &err), &err);
        cc_tx tx;
        char ts[32];
        cc_test_chain_env_next_ts(e, ts);
        cc_number one = {.is_int = true, .i = 1};
        assert_true(cc_http_tx_create(&e->keys[A], e->keys[C].pub_hex, &one, ts, &tx, &err));
        expect_unavailable(cc_chain_accept_tx(e->chain, &tx, &err), &err);
        cc_tx_clear(&tx);
        expect_unavailable(cc_chain_batch_begin(e->chain, &err), &err);
    }
    run_steps(e, &res);
    assert_int_equal(res.outcome, CC_BLOCK_NEW_TIP);
    assert_true(res.tip_changed && res.checked);
    assert_int_equal(res.reorg_depth, 4);
    assert_string_equal(res.hash, b.hash[4]);
    assert_false(cc_chain_reorg_pending(e->chain));
    assert_int_equal(cc_chain_height(e->chain), 5);
    assert_string_equal(cc_chain_tip(e->chain), b.hash[4]);
    assert_true(balance_of(e, A) == 0);
    assert_true(balance_of(e, B) == 4.5);
    assert_true(balance_of(e, C) == 0.5);
    /* changes are taken again, and the ledger survives a reopen */
    cc_block_result again;
    assert_false(cc_chain_submit_block(e->chain, a.text[0].data, a.text[0].len, &again, &err));
    assert_non_null(strstr(err.msg, "already exists"));
    cc_test_chain_env_reopen(e);
    assert_string_equal(cc_chain_tip(e->chain), b.hash[4]);
    assert_true(balance_of(e, B) == 4.5);
    branch_free(&a);
    branch_free(&b);
}

static void test_steps_end_where_a_switch_at_once_ends(void **state)
{
    env *e = *state;
    branch a, b;
    start_switch(e, &a, &b);
    cc_block_result res;
    /* 4 blocks undone and 5 applied, one a step, then one that puts the
     * abandoned payments back and commits */
    assert_int_equal(run_steps(e, &res), 10);
    cc_buf stepped = CC_BUF_INIT;
    cc_err err = {0};
    assert_true(cc_chain_write_all(e->chain, &stepped, &err));

    /* The same blocks into a chain that switches at once. */
    cc_test_chain_env_teardown(e);
    assert_true(cc_test_chain_env_setup(e, "/tmp/cc-steps-XXXXXX", 2000, 4, "2026-02-01", 100));
    submit_all(e, &a, 0, 4, CC_BLOCK_NEW_TIP);
    submit_all(e, &b, 0, 4, CC_BLOCK_SIDE);
    res = cc_test_submit_block(e->chain, b.text[4].data, b.text[4].len, CC_BLOCK_NEW_TIP);
    assert_int_equal(res.reorg_depth, 4);
    cc_buf at_once = CC_BUF_INIT;
    assert_true(cc_chain_write_all(e->chain, &at_once, &err));
    assert_string_equal(stepped.data, at_once.data);
    assert_true(balance_of(e, B) == 4.5);
    cc_buf_free(&stepped);
    cc_buf_free(&at_once);
    branch_free(&a);
    branch_free(&b);
}

static void test_branch_breaking_a_rule_is_marked_invalid(void **state)
{
    env *e = *state;
    /* B's 3rd block pays 7 from A, who holds nothing on branch B; the fork
     * is deeper than side blocks are checked at arrival (8), so the block
     * is only found out by the switch. */
    branch a, b;
    make_branch(e, &a, 10, A, 0, A, 0);
    make_branch(e, &b, 11, B, 3, A, 7);
    submit_all(e, &a, 0, 10, CC_BLOCK_NEW_TIP);
    submit_all(e, &b, 0, 10, CC_BLOCK_SIDE);
    cc_block_result res = cc_test_submit_block(e->chain, b.text[10].data, b.text[10].len,
                                               CC_BLOCK_SIDE);
    assert_true(res.reorg_pending);
    bool done = false;
    cc_err err = {0};
    bool ok = true;
    for (int i = 0; ok && !done && i < 100; i++)
        ok = cc_chain_reorg_step(e->chain, 4, &done, &res, &err);
    assert_false(ok);
    assert_non_null(strstr(err.msg, "Insufficient funds"));
    assert_false(cc_chain_reorg_pending(e->chain));
    assert_string_equal(cc_chain_tip(e->chain), a.hash[9]);
    assert_true(balance_of(e, A) == 10);
    assert_true(balance_of(e, B) == 0);
    /* the branch is invalid from the bad block on, for good */
    cc_test_assert_block_refused(e->chain, b.text[10].data, b.text[10].len,
                                 CC_REFUSAL_KNOWN_INVALID, "invalid");
    cc_test_assert_block_refused(e->chain, b.text[2].data, b.text[2].len,
                                 CC_REFUSAL_KNOWN_INVALID, "invalid");
    branch_free(&a);
    branch_free(&b);
}

static void test_orphans_of_the_new_tip_adopted_when_done(void **state)
{
    env *e = *state;
    branch a, b;
    make_branch(e, &a, 4, A, 0, A, 0);
    make_branch(e, &b, 6, B, 0, B, 0);
    submit_all(e, &a, 0, 4, CC_BLOCK_NEW_TIP);
    submit_all(e, &b, 0, 4, CC_BLOCK_SIDE);
    cc_test_submit_block(e->chain, b.text[5].data, b.text[5].len, CC_BLOCK_ORPHAN);
    cc_block_result res = cc_test_submit_block(e->chain, b.text[4].data, b.text[4].len,
                                               CC_BLOCK_SIDE);
    assert_true(res.reorg_pending);
    run_steps(e, &res);
    assert_true(res.tip_changed);
    assert_int_equal(cc_chain_height(e->chain), 6);
    assert_string_equal(cc_chain_tip(e->chain), b.hash[5]);
    branch_free(&a);
    branch_free(&b);
}

static void test_switch_interrupted_by_a_close_finishes_at_opening(void **state)
{
    env *e = *state;
    branch a, b;
    start_switch(e, &a, &b);
    cc_block_result res;
    bool done = false;
    cc_err err = {0};
    assert_true(cc_chain_reorg_step(e->chain, 3, &done, &res, &err));
    assert_false(done);
    cc_test_chain_env_reopen(e); /* closes in the middle: nothing of it was committed */
    assert_false(cc_chain_reorg_pending(e->chain));
    assert_int_equal(cc_chain_height(e->chain), 5);
    assert_string_equal(cc_chain_tip(e->chain), b.hash[4]);
    assert_true(balance_of(e, B) == 4.5);
    assert_true(balance_of(e, A) == 0);
    branch_free(&a);
    branch_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reads_show_the_old_state_and_changes_wait, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_steps_end_where_a_switch_at_once_ends, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_branch_breaking_a_rule_is_marked_invalid, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_orphans_of_the_new_tip_adopted_when_done, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_switch_interrupted_by_a_close_finishes_at_opening,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

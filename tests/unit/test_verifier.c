/* Unit tests for node/verifier: the signature checks that POST /inv, cheese
 * announcements and blocks go through before the mempool or the chain sees
 * them. A batch comes back with each transaction's own verdict (a forged
 * signature among good ones is marked, and only it), on the loop thread;
 * an empty batch is answered from the loop, never from inside the call; a
 * check still under way when the verifier is freed is handed back once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain_env.h"
#include "consensus/cheese.h"
#include "consensus/http.h"
#include "consensus/rules.h"
#include "crypto/rsa.h"
#include "node/verifier.h"
#include "wallet/payment.h"

#define N_TXS 6

typedef struct outcome {
    struct event_base *base;
    int calls;
    bool cancelled;
} outcome;

static void on_done(void *ctx, bool cancelled)
{
    outcome *o = ctx;
    o->calls++;
    o->cancelled = cancelled;
    event_base_loopbreak(o->base);
}

/* Swaps the signatures of a and b: each is then well formed, by the right
 * key, but for the other's message. */
static void swap_signatures(cc_tx *a, cc_tx *b)
{
    char *sig = a->signature;
    a->signature = b->signature;
    b->signature = sig;
}

static void http_payments(cc_tx txs[N_TXS])
{
    cc_p192_key payer, payee;
    cc_test_p192_key(11, &payer);
    cc_test_p192_key(12, &payee);
    for (int i = 0; i < N_TXS; i++) {
        cc_number amount = {.is_int = true, .i = i + 1};
        char timestamp[32];
        snprintf(timestamp, sizeof timestamp, "2026-12-07 00:00:%02d", i);
        cc_err err = {0};
        assert_true(cc_http_tx_create(&payer, payee.pub_hex, &amount, timestamp, &txs[i], &err));
    }
}

static void cheese_payments(cc_tx txs[N_TXS])
{
    cc_rsa_key payer, payee;
    cc_rsa_generate(&payer);
    cc_rsa_generate(&payee);
    for (int i = 0; i < N_TXS; i++) {
        cc_number amount = {.is_int = true, .i = i + 1};
        cc_err err = {0};
        assert_true(cc_cheese_tx_create(&payer, payee.pub_hex, &amount, &txs[i], &err));
    }
    cc_rsa_key_clear(&payer);
    cc_rsa_key_clear(&payee);
}

/* Checks txs with rules on a verifier of `threads` workers; ok gets the
 * verdicts. */
static void check_batch(const cc_rules *rules, unsigned threads, cc_tx txs[N_TXS],
                        bool ok[N_TXS])
{
    struct event_base *base = event_base_new();
    cc_verifier *verifier = cc_verifier_new(base, rules, threads);
    const cc_tx *batch[N_TXS];
    for (int i = 0; i < N_TXS; i++) {
        batch[i] = &txs[i];
        ok[i] = false;
    }
    outcome o = {.base = base};
    cc_verifier_check(verifier, batch, N_TXS, ok, on_done, &o);
    event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY);
    assert_int_equal(o.calls, 1);
    assert_false(o.cancelled);
    assert_int_equal(cc_verifier_pending(verifier), 0);
    cc_verifier_free(verifier);
    event_base_free(base);
}

static void assert_only_forged_refused(const cc_rules *rules, cc_tx txs[N_TXS])
{
    swap_signatures(&txs[1], &txs[4]);
    for (unsigned threads = 1; threads <= 3; threads++) {
        bool ok[N_TXS];
        check_batch(rules, threads, txs, ok);
        for (int i = 0; i < N_TXS; i++)
            assert_true(ok[i] == (i != 1 && i != 4));
    }
    for (int i = 0; i < N_TXS; i++)
        cc_tx_clear(&txs[i]);
}

static void test_http_forged_signatures_marked_alone(void **state)
{
    (void)state;
    cc_tx txs[N_TXS];
    http_payments(txs);
    assert_only_forged_refused(cc_rules_http(), txs);
}

static void test_cheese_forged_signatures_marked_alone(void **state)
{
    (void)state;
    cc_tx txs[N_TXS];
    cheese_payments(txs);
    assert_only_forged_refused(cc_rules_cheese(), txs);
}

/* A reward carries no signature to check: it passes (whether one may
 * appear is the chain's and the mempool's rule). */
static void test_reward_passes(void **state)
{
    (void)state;
    cc_p192_key miner;
    cc_test_p192_key(13, &miner);
    cc_tx txs[N_TXS];
    http_payments(txs);
    cc_tx_clear(&txs[0]);
    cc_number one = {.is_int = true, .i = 1};
    cc_http_tx_reward(miner.pub_hex, &one, "2026-12-07 00:00:00", &txs[0]);
    bool ok[N_TXS];
    check_batch(cc_rules_http(), 2, txs, ok);
    for (int i = 0; i < N_TXS; i++) {
        assert_true(ok[i]);
        cc_tx_clear(&txs[i]);
    }
}

static void test_empty_batch_answered_from_the_loop(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    cc_verifier *verifier = cc_verifier_new(base, cc_rules_http(), 1);
    outcome o = {.base = base};
    cc_verifier_check(verifier, NULL, 0, NULL, on_done, &o);
    assert_int_equal(o.calls, 0);
    event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY);
    assert_int_equal(o.calls, 1);
    assert_false(o.cancelled);
    cc_verifier_free(verifier);
    event_base_free(base);
}

/* Freed before the loop ran: the check is handed back exactly once, either
 * cancelled or (its workers having finished first) with every verdict. */
static void test_free_hands_back_checks_under_way(void **state)
{
    (void)state;
    cc_tx txs[N_TXS];
    http_payments(txs);
    const cc_tx *batch[N_TXS];
    bool ok[N_TXS] = {0};
    for (int i = 0; i < N_TXS; i++)
        batch[i] = &txs[i];
    struct event_base *base = event_base_new();
    cc_verifier *verifier = cc_verifier_new(base, cc_rules_http(), 2);
    outcome o = {.base = base};
    cc_verifier_check(verifier, batch, N_TXS, ok, on_done, &o);
    cc_verifier_free(verifier);
    assert_int_equal(o.calls, 1);
    for (int i = 0; i < N_TXS && !o.cancelled; i++)
        assert_true(ok[i]);
    event_base_free(base);
    for (int i = 0; i < N_TXS; i++)
        cc_tx_clear(&txs[i]);
}

int main(void)
{
    evthread_use_pthreads(); /* workers wake the loop, as the node's do */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_forged_signatures_marked_alone),
        cmocka_unit_test(test_cheese_forged_signatures_marked_alone),
        cmocka_unit_test(test_reward_passes),
        cmocka_unit_test(test_empty_batch_answered_from_the_loop),
        cmocka_unit_test(test_free_hands_back_checks_under_way),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

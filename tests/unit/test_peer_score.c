#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "node/peer_score.h"

static const cc_score_config config = {
    .ban_time_s = 600,
    .ban_threshold = 100,
    .decay_per_s = 0,
    .backoff_base_s = 1,
    .backoff_max_s = 16,
    .max_entries = 8,
};

static void test_points_per_kind(void **state)
{
    (void)state;
    for (int k = 0; k < CC_MISBEHAVE_KINDS; k++) {
        assert_true(cc_misbehaviour_points(k) > 0);
        assert_true(cc_misbehaviour_points(k) <= 100);
        assert_true(strlen(cc_misbehaviour_name(k)) > 3);
    }
    assert_int_equal(cc_misbehaviour_points(CC_MISBEHAVE_KINDS), 0);
    assert_string_equal(cc_misbehaviour_name(CC_MISBEHAVE_KINDS), "unknown");
}

static void test_invalid_blocks_ban_after_threshold(void **state)
{
    (void)state;
    cc_peer_scores *s = cc_scores_new(&config);
    const char *bad = "127.0.0.1:7000";
    int per = cc_misbehaviour_points(CC_MISBEHAVE_INVALID_BLOCK);
    int needed = (100 + per - 1) / per;
    for (int i = 1; i < needed; i++) {
        assert_false(cc_scores_misbehaved(s, bad, CC_MISBEHAVE_INVALID_BLOCK, i));
        assert_int_equal(cc_scores_points(s, bad, i), i * per);
        assert_false(cc_scores_banned(s, bad, i, NULL));
        assert_true(cc_scores_may_send(s, bad, i));
    }
    assert_true(cc_scores_misbehaved(s, bad, CC_MISBEHAVE_INVALID_BLOCK, 10));
    double until = 0;
    assert_true(cc_scores_banned(s, bad, 10, &until));
    assert_true(until == 610);
    assert_false(cc_scores_may_send(s, bad, 11));
    /* offences while banned neither extend the ban nor report a new one */
    assert_false(cc_scores_misbehaved(s, bad, CC_MISBEHAVE_GARBAGE, 20));
    assert_true(cc_scores_banned(s, bad, 609.9, &until) && until == 610);
    /* the ban ends, with a clean slate */
    assert_false(cc_scores_banned(s, bad, 610, NULL));
    assert_true(cc_scores_may_send(s, bad, 610));
    assert_int_equal(cc_scores_points(s, bad, 610), 0);
    /* another address is untouched */
    assert_false(cc_scores_banned(s, "127.0.0.1:7001", 10, NULL));
    cc_scores_free(s);
}

static void test_garbage_bans_sooner(void **state)
{
    (void)state;
    cc_peer_scores *s = cc_scores_new(&config);
    assert_false(cc_scores_misbehaved(s, "a:1", CC_MISBEHAVE_GARBAGE, 0));
    assert_true(cc_scores_misbehaved(s, "a:1", CC_MISBEHAVE_OVERSIZED, 0));
    assert_false(cc_scores_misbehaved(s, "b:1", CC_MISBEHAVE_SLOW, 0));
    assert_true(cc_scores_misbehaved(s, "b:1", CC_MISBEHAVE_SLOW, 0));
    cc_scores_free(s);
}

static void test_points_decay(void **state)
{
    (void)state;
    cc_score_config cfg = config;
    cfg.decay_per_s = 1;
    cc_peer_scores *s = cc_scores_new(&cfg);
    assert_false(cc_scores_misbehaved(s, "a:1", CC_MISBEHAVE_GARBAGE, 0));
    assert_int_equal(cc_scores_points(s, "a:1", 20), 30);
    assert_int_equal(cc_scores_points(s, "a:1", 1000), 0);
    /* 50 at t=0, decayed to 0 by t=60: a second offence does not ban */
    assert_false(cc_scores_misbehaved(s, "a:1", CC_MISBEHAVE_GARBAGE, 60));
    assert_int_equal(cc_scores_points(s, "a:1", 60), 50);
    assert_true(cc_scores_misbehaved(s, "a:1", CC_MISBEHAVE_GARBAGE, 60));
    cc_scores_free(s);

    /* the node's own setting: 100 points per ban time, whole points only,
     * so two offences in quick succession still ban */
    cfg.decay_per_s = 100 / cfg.ban_time_s;
    s = cc_scores_new(&cfg);
    assert_false(cc_scores_misbehaved(s, "b:1", CC_MISBEHAVE_GARBAGE, 0));
    assert_int_equal(cc_scores_points(s, "b:1", 1), 50);
    assert_int_equal(cc_scores_points(s, "b:1", 7), 49);
    assert_true(cc_scores_misbehaved(s, "b:1", CC_MISBEHAVE_GARBAGE, 1));
    cc_scores_free(s);
}

static void test_backoff_doubles_and_resets(void **state)
{
    (void)state;
    cc_peer_scores *s = cc_scores_new(&config);
    const char *p = "127.0.0.1:6000";
    assert_true(cc_scores_may_send(s, p, 0));
    double now = 100, expect_wait = 1;
    for (unsigned i = 1; i <= 7; i++) {
        assert_int_equal(cc_scores_failed(s, p, now), i);
        assert_int_equal(cc_scores_failures(s, p), i);
        assert_false(cc_scores_may_send(s, p, now + expect_wait - 0.01));
        assert_true(cc_scores_may_send(s, p, now + expect_wait));
        now += expect_wait;
        expect_wait = expect_wait * 2 > 16 ? 16 : expect_wait * 2;
    }
    cc_scores_answered(s, p);
    assert_int_equal(cc_scores_failures(s, p), 0);
    assert_true(cc_scores_may_send(s, p, now));
    /* an answered address with nothing against it is forgotten */
    assert_int_equal(cc_scores_count(s), 0);
    cc_scores_answered(s, "never seen:1"); /* harmless */
    cc_scores_free(s);
}

static void test_table_is_bounded_and_keeps_bans(void **state)
{
    (void)state;
    cc_peer_scores *s = cc_scores_new(&config);
    assert_false(cc_scores_misbehaved(s, "bad:1", CC_MISBEHAVE_GARBAGE, 0));
    assert_true(cc_scores_misbehaved(s, "bad:1", CC_MISBEHAVE_GARBAGE, 0));
    char address[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(address, sizeof address, "10.0.0.1:%d", i + 1);
        cc_scores_failed(s, address, 1 + i * 0.5);
        assert_true(cc_scores_count(s) <= config.max_entries);
    }
    /* the ban outlived a flood of other addresses; the oldest failures went */
    assert_true(cc_scores_banned(s, "bad:1", 550, NULL));
    assert_int_equal(cc_scores_failures(s, "10.0.0.1:1"), 0);
    assert_int_equal(cc_scores_failures(s, "10.0.0.1:1000"), 1);
    cc_scores_free(s);
}

static void test_all_banned_table_evicts_earliest_ban(void **state)
{
    (void)state;
    cc_peer_scores *s = cc_scores_new(&config);
    char address[32];
    for (int i = 0; i < 9; i++) {
        snprintf(address, sizeof address, "10.0.0.2:%d", i + 1);
        for (int k = 0; k < 2; k++)
            cc_scores_misbehaved(s, address, CC_MISBEHAVE_GARBAGE, i);
        assert_true(cc_scores_banned(s, address, i, NULL));
    }
    assert_int_equal(cc_scores_count(s), config.max_entries);
    assert_false(cc_scores_banned(s, "10.0.0.2:1", 9, NULL)); /* the first ban made room */
    assert_true(cc_scores_banned(s, "10.0.0.2:2", 9, NULL));
    cc_scores_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_points_per_kind),
        cmocka_unit_test(test_invalid_blocks_ban_after_threshold),
        cmocka_unit_test(test_garbage_bans_sooner),
        cmocka_unit_test(test_points_decay),
        cmocka_unit_test(test_backoff_doubles_and_resets),
        cmocka_unit_test(test_table_is_bounded_and_keeps_bans),
        cmocka_unit_test(test_all_banned_table_evicts_earliest_ban),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for node/faucet: each limit of POST /money (switch, minimum,
 * per request, per recipient, in all, the number of payouts a window
 * remembers), the window sliding, and exact accounting: a window whose
 * total is used up refuses even the tiniest amount. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "node/faucet.h"

static const cc_faucet_config limits = {.enabled = true, .min_per_request = 1e-8,
                                        .max_per_request = 5, .max_per_recipient = 10,
                                        .max_total = 50, .window_s = 3600};

static cc_number num(double d) { return (cc_number){.is_int = false, .d = d}; }
static cc_number whole(int64_t i) { return (cc_number){.is_int = true, .i = i}; }

/* Checks and, when allowed, records; returns the check's error code (0: paid). */
static int pay(cc_faucet *f, const char *to, cc_number amount, double now)
{
    cc_err err = {0};
    if (!cc_faucet_check(f, to, &amount, now, &err))
        return err.code;
    cc_faucet_record(f, to, &amount, now);
    return 0;
}

static void test_switch_minimum_and_per_request(void **state)
{
    (void)state;
    cc_faucet_config off = limits;
    off.enabled = false;
    cc_faucet *f = cc_faucet_new(&off);
    assert_int_equal(pay(f, "a", whole(1), 0), CC_ERR_FORBIDDEN);
    cc_faucet_free(f);

    f = cc_faucet_new(&limits);
    cc_err err = {0};
    cc_number tiny = num(1e-300);
    assert_false(cc_faucet_check(f, "a", &tiny, 0, &err));
    assert_int_equal(err.code, CC_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "at least 1e-08"));
    assert_int_equal(pay(f, "a", num(1e-8), 0), 0); /* the minimum itself is paid */
    assert_int_equal(pay(f, "a", whole(6), 0), CC_ERR_TOO_MANY);
    cc_faucet_free(f);
}

static void test_per_request_and_per_recipient(void **state)
{
    (void)state;
    cc_faucet *f = cc_faucet_new(&limits);
    assert_int_equal(pay(f, "a", num(5.000000000000001), 0), CC_ERR_TOO_MANY);
    assert_int_equal(pay(f, "a", whole(5), 0), 0);
    assert_int_equal(pay(f, "a", num(4.5), 1), 0);
    assert_int_equal(pay(f, "a", num(0.5), 2), 0); /* exactly 10 */
    cc_err err = {0};
    cc_number cent = num(0.01);
    assert_false(cc_faucet_check(f, "a", &cent, 3, &err));
    assert_int_equal(err.code, CC_ERR_TOO_MANY);
    assert_non_null(strstr(err.msg, "to one key"));
    assert_int_equal(pay(f, "b", whole(5), 3), 0); /* another key is not held back */
    /* the window slides: a's first payout (t=0) leaves at t=3600 */
    assert_int_equal(pay(f, "a", whole(5), 3599.5), CC_ERR_TOO_MANY);
    assert_int_equal(pay(f, "a", whole(5), 3600), 0);
    cc_faucet_free(f);
}

static void test_total_is_exact(void **state)
{
    (void)state;
    cc_faucet_config no_minimum = limits;
    no_minimum.min_per_request = 0;
    cc_faucet *f = cc_faucet_new(&no_minimum);
    char key[8];
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(pay(f, key, whole(5), 0), 0);
    }
    /* 50 + 1e-300 is 50 in doubles; exactly, it is more than 50 */
    cc_err err = {0};
    cc_number tiny = num(1e-300);
    assert_false(cc_faucet_check(f, "new", &tiny, 1, &err));
    assert_int_equal(err.code, CC_ERR_TOO_MANY);
    assert_non_null(strstr(err.msg, "in all"));
    assert_int_equal(pay(f, "new", whole(5), 3600), 0); /* all ten have left the window */
    cc_faucet_free(f);
}

static void test_payouts_per_window_bounded(void **state)
{
    (void)state;
    cc_faucet_config many = limits;
    many.min_per_request = 0;
    many.max_per_recipient = 1e9;
    many.max_total = 1e9;
    cc_faucet *f = cc_faucet_new(&many);
    char key[16];
    for (int i = 0; i < CC_FAUCET_MAX_PAYOUTS; i++) {
        snprintf(key, sizeof key, "key%d", i % 100);
        assert_int_equal(pay(f, key, num(1e-300), i * 0.5), 0);
    }
    cc_err err = {0};
    cc_number one = whole(1);
    assert_false(cc_faucet_check(f, "other", &one, 2047.9, &err));
    assert_int_equal(err.code, CC_ERR_TOO_MANY);
    assert_non_null(strstr(err.msg, "payouts"));
    /* the first payout (t=0) leaves the window at t=3600: room for one */
    assert_int_equal(pay(f, "other", one, 3600), 0);
    assert_int_equal(pay(f, "other", one, 3600), CC_ERR_TOO_MANY);
    cc_faucet_free(f); /* ASan: every key and amount freed */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_switch_minimum_and_per_request),
        cmocka_unit_test(test_per_request_and_per_recipient),
        cmocka_unit_test(test_total_is_exact),
        cmocka_unit_test(test_payouts_per_window_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

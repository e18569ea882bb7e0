/* util/parse: the strict flag and config-value parsers of src/tools. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <float.h>

#include "util/parse.h"

static void test_long(void **state)
{
    (void)state;
    long n = 7;
    assert_true(cc_parse_long("42", 1, 65535, &n));
    assert_int_equal(n, 42);
    assert_true(cc_parse_long("-3", -5, 5, &n));
    assert_int_equal(n, -3);
    assert_true(cc_parse_long("65535", 1, 65535, &n));
    assert_int_equal(n, 65535);
    n = 7;
    assert_false(cc_parse_long("0", 1, 65535, &n));
    assert_false(cc_parse_long("65536", 1, 65535, &n));
    assert_false(cc_parse_long("", 1, 65535, &n));
    assert_false(cc_parse_long("12x", 1, 65535, &n));
    assert_false(cc_parse_long("x12", 1, 65535, &n));
    assert_false(cc_parse_long("99999999999999999999999", 0, 10, &n));
    assert_int_equal(n, 7); /* untouched on failure */

    int i = 9;
    assert_true(cc_parse_int("64", 1, 64, &i));
    assert_int_equal(i, 64);
    assert_false(cc_parse_int("65", 1, 64, &i));
    assert_int_equal(i, 64);
}

static void test_double(void **state)
{
    (void)state;
    double d = 5;
    assert_true(cc_parse_double("0.5", 0.01, 86400, &d));
    assert_true(d == 0.5);
    assert_true(cc_parse_double("1e3", 0, 1e15, &d));
    assert_true(d == 1000);
    assert_true(cc_parse_double("0.01", 0.01, 86400, &d));
    assert_true(d == 0.01);
    d = 5;
    assert_false(cc_parse_double("0.001", 0.01, 86400, &d));
    assert_false(cc_parse_double("86401", 0.01, 86400, &d));
    assert_false(cc_parse_double("nan", 0, 1e15, &d));
    assert_false(cc_parse_double("inf", 0, 1e15, &d));
    assert_false(cc_parse_double("", 0, 1e15, &d));
    assert_false(cc_parse_double("1s", 0, 1e15, &d));
    assert_false(cc_parse_double("0", DBL_MIN, 86400, &d));
    assert_true(d == 5); /* untouched on failure */
}

static void test_switch(void **state)
{
    (void)state;
    static const char *yes[] = {"yes", "on", "1", "true"};
    static const char *no[] = {"no", "off", "0", "false"};
    for (size_t k = 0; k < 4; k++) {
        bool b = false;
        assert_true(cc_parse_switch(yes[k], &b));
        assert_true(b);
        assert_true(cc_parse_switch(no[k], &b));
        assert_false(b);
    }
    bool b = true;
    assert_false(cc_parse_switch("Yes", &b));
    assert_false(cc_parse_switch("", &b));
    assert_false(cc_parse_switch("2", &b));
    assert_true(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_long),
        cmocka_unit_test(test_double),
        cmocka_unit_test(test_switch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

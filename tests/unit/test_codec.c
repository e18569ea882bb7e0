/* Unit tests for src/codec: the Python-compatible number printer and the
 * JSON reader with cheesechain's limits. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/json.h"
#include "codec/pynum.h"
#include "util/buf.h"
#include "util/err.h"

#include "checks.h"

/* ---- helpers ---------------------------------------------------------- */

static void assert_repr(double value, const char *expected)
{
    char out[CC_NUMBER_TEXT_MAX];
    memset(out, 'x', sizeof out);
    size_t len = cc_pyfloat_repr(value, out);
    assert_string_equal(out, expected);
    assert_int_equal(len, strlen(expected));
}

static void assert_int_text(int64_t value, const char *expected)
{
    cc_number n = {.is_int = true, .i = value};
    char out[CC_NUMBER_TEXT_MAX];
    size_t len = cc_number_format(&n, out);
    assert_string_equal(out, expected);
    assert_int_equal(len, strlen(expected));
}

static json_t *parse_ok(const char *text, int max_depth)
{
    cc_err err = {0};
    json_t *root = cc_json_parse(text, strlen(text), max_depth, &err);
    if (!root)
        fail_msg("%s: %s", text, err.msg);
    return root;
}

static void assert_parse_fails_n(const char *text, size_t len, int max_depth, const char *part)
{
    cc_err err = {0};
    json_t *root = cc_json_parse(text, len, max_depth, &err);
    if (root) {
        json_decref(root);
        fail_msg("accepted %s", text);
    }
    assert_bad_request(&err, part);
}

static void assert_parse_fails(const char *text, int max_depth, const char *part)
{
    assert_parse_fails_n(text, strlen(text), max_depth, part);
}

/* Deterministic generator kept in the caller's frame: no shared state. */
static uint64_t next_random(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

/* ---- cc_pyfloat_repr / cc_number_format ------------------------------- */

static void test_repr_fixed_and_scientific_layout(void **state)
{
    (void)state;
    assert_repr(0.0, "0.0");
    assert_repr(-0.0, "-0.0");
    assert_repr(2.0, "2.0");
    assert_repr(-1.5, "-1.5");
    assert_repr(0.1, "0.1");
    assert_repr(123.456, "123.456");
    assert_repr(0.0001, "0.0001");
    assert_repr(0.00012, "0.00012");
    assert_repr(0.00001, "1e-05");
    assert_repr(1.5e-5, "1.5e-05");
    assert_repr(9.999999999999999e-05, "9.999999999999999e-05");
    assert_repr(1e15, "1000000000000000.0");
    assert_repr(1234567890123456.7, "1234567890123456.8");
    assert_repr(9999999999999998.0, "9999999999999998.0");
    assert_repr(1e16, "1e+16");
    assert_repr(1.5e16, "1.5e+16");
    assert_repr(1e100, "1e+100");
    assert_repr(1e22, "1e+22");
    assert_repr(1e23, "1e+23");
    assert_repr(123456789012345678.0, "1.2345678901234568e+17");
}

static void test_repr_shortest_digits(void **state)
{
    (void)state;
    assert_repr(0.1 + 0.2, "0.30000000000000004");
    assert_repr(1.0 / 3.0, "0.3333333333333333");
    assert_repr(2.0 / 3.0, "0.6666666666666666");
    assert_repr(0.8, "0.8");
    assert_repr(4.35, "4.35");
    assert_repr(2.675, "2.675");
    assert_repr(9007199254740993.0, "9007199254740992.0");
    assert_repr(5e-324, "5e-324");
    assert_repr(-5e-324, "-5e-324");
    assert_repr(1e-323, "1e-323");
    assert_repr(2.2250738585072014e-308, "2.2250738585072014e-308");
    assert_repr(2.225073858507201e-308, "2.225073858507201e-308");
    assert_repr(1.7976931348623157e308, "1.7976931348623157e+308");
    assert_repr(-1.7976931348623157e308, "-1.7976931348623157e+308");
}

/* At a power of two the gap below is half the gap above, so the correctly
 * rounded 16-digit decimal can miss while its upper neighbour reads back. */
static void test_repr_power_of_two_boundaries(void **state)
{
    (void)state;
    assert_repr(ldexp(1.0, -24), "5.960464477539063e-08");
    assert_repr(ldexp(1.0, -44), "5.684341886080802e-14");
    assert_repr(ldexp(1.0, -1017), "7.120236347223045e-307");
    assert_repr(ldexp(1.0, 89), "6.189700196426902e+26");
    assert_repr(ldexp(1.0, 976), "6.386688990511104e+293");
    assert_repr(ldexp(1.0, 53), "9007199254740992.0");
}

/* A value exactly halfway between two shortest candidates: Python, like
 * glibc, picks the even digit. */
static void test_repr_exact_ties_round_to_even(void **state)
{
    (void)state;
    assert_repr(ldexp(1.0, 50) + 0.25, "1125899906842624.2");
    assert_repr(ldexp(1.0, 50) + 0.75, "1125899906842624.8");
}

static void test_repr_non_finite(void **state)
{
    (void)state;
    assert_repr(INFINITY, "inf");
    assert_repr(-INFINITY, "-inf");
    assert_repr(NAN, "nan");
}

static void test_repr_round_trips_random_doubles(void **state)
{
    (void)state;
    uint64_t seed = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < 20000; i++) {
        uint64_t bits = next_random(&seed);
        double value;
        memcpy(&value, &bits, sizeof value);
        if (!isfinite(value))
            continue;
        char out[CC_NUMBER_TEXT_MAX];
        size_t len = cc_pyfloat_repr(value, out);
        assert_int_equal(len, strlen(out));
        assert_true(len < CC_NUMBER_TEXT_MAX);
        double back = strtod(out, NULL);
        if (memcmp(&back, &value, sizeof back) != 0)
            fail_msg("%016" PRIx64 " printed as %s, which reads back differently", bits, out);
        assert_true(strchr(out, '.') || strchr(out, 'e'));
    }
}

static void test_number_format(void **state)
{
    (void)state;
    assert_int_text(0, "0");
    assert_int_text(2, "2");
    assert_int_text(-1, "-1");
    assert_int_text(INT64_MAX, "9223372036854775807");
    assert_int_text(INT64_MIN, "-9223372036854775808");
    cc_number real = {.is_int = false, .d = 2.0};
    char out[CC_NUMBER_TEXT_MAX];
    assert_int_equal(cc_number_format(&real, out), 3);
    assert_string_equal(out, "2.0");
}

/* The shared vectors were made by the reference Python implementation; each
 * goes through the same path as a network value: JSON text, parse, print. */
static void check_number_vector(const json_t *vector)
{
    const char *source = json_string_value(json_object_get(vector, "json_dumps"));
    const char *expected = json_string_value(json_object_get(vector, "str"));
    const char *repr = json_string_value(json_object_get(vector, "python_value_repr"));
    bool is_int = json_is_true(json_object_get(vector, "is_int"));
    assert_non_null(source);
    assert_non_null(expected);
    assert_non_null(repr);

    char text[96];
    snprintf(text, sizeof text, "{\"v\": %s}", source);
    json_t *root = parse_ok(text, 4);
    cc_number n;
    cc_err err = {0};
    assert_true(cc_json_get_number(root, "v", &n, &err));
    assert_int_equal(n.is_int, is_int);
    char out[CC_NUMBER_TEXT_MAX];
    cc_number_format(&n, out);
    assert_string_equal(out, expected);
    json_decref(root);

    if (!is_int) {
        assert_repr(strtod(repr, NULL), expected);
        return;
    }
    assert_int_text(strtoll(repr, NULL, 10), expected);
}

static void test_number_text_vectors(void **state)
{
    (void)state;
    json_error_t jerr;
    json_t *file = json_load_file(CC_VECTORS_DIR "/http-network.json", 0, &jerr);
    if (!file)
        fail_msg("cannot read vectors: %s", jerr.text);
    const json_t *vectors = json_object_get(file, "number_text");
    assert_true(json_array_size(vectors) >= 10);
    size_t i;
    const json_t *vector;
    json_array_foreach(vectors, i, vector)
        check_number_vector(vector);
    json_decref(file);
}

/* ---- cc_json_parse ---------------------------------------------------- */

static void test_parse_accepts_values(void **state)
{
    (void)state;
    json_t *root = parse_ok("  {\"a\": [1, 2.5, \"x\"], \"b\": {\"c\": null}}\n", 3);
    assert_true(json_is_object(root));
    assert_int_equal(json_array_size(json_object_get(root, "a")), 3);
    json_decref(root);

    root = parse_ok("42", 0);
    assert_true(json_is_integer(root));
    json_decref(root);

    root = parse_ok("\"[[[[\"", 0);
    assert_string_equal(json_string_value(root), "[[[[");
    json_decref(root);
}

static void test_parse_refuses_bad_syntax(void **state)
{
    (void)state;
    assert_parse_fails("{\"a\": }", 8, "invalid JSON:");
    assert_parse_fails("{\"a\": 1,\n \"b\" 2}", 8, "at line 2 column");
    assert_parse_fails("{} x", 8, "invalid JSON:");
    assert_parse_fails("", 8, "invalid JSON:");
    assert_parse_fails("[1, 2", 8, "invalid JSON:");
    assert_parse_fails("\"\xff\"", 8, "invalid JSON:");
    assert_parse_fails("{'a': 1}", 8, "invalid JSON:");
}

static void test_parse_refuses_missing_text(void **state)
{
    (void)state;
    assert_parse_fails_n(NULL, 0, 8, "no input");
}

/* Only the first len bytes count, so a value followed by more text in the
 * same buffer is read on its own. */
static void test_parse_honours_length(void **state)
{
    (void)state;
    cc_err err = {0};
    json_t *root = cc_json_parse("[1]garbage", 3, 4, &err);
    assert_non_null(root);
    assert_int_equal(json_array_size(root), 1);
    json_decref(root);
}

static void test_parse_refuses_duplicates_and_nul(void **state)
{
    (void)state;
    const char *dup = "{\"a\": 1, \"a\": 2}";
    assert_parse_fails(dup, 8, "duplicate object key");
    const char *nul = "{\"a\": \"x\\u0000y\"}";
    assert_parse_fails(nul, 8, "invalid JSON:");
    const char raw[] = "{\"a\": \"x\0y\"}";
    assert_parse_fails_n(raw, sizeof raw - 1, 8, "invalid JSON:");
}

static void test_parse_refuses_out_of_range_numbers(void **state)
{
    (void)state;
    assert_parse_fails("92233720368547758080", 8, "too big integer");
    assert_parse_fails("[9223372036854775808]", 8, "integers must fit in 64 bits");
    assert_parse_fails("-9223372036854775809", 8, "too big negative integer");
    assert_parse_fails("-9223372036854775809", 8, "integers must fit in 64 bits");
    assert_parse_fails("1e400", 8, "real number overflow");
    assert_parse_fails("[-1e400]", 8, "numbers must be finite");
    assert_parse_fails("NaN", 8, "invalid JSON:");
    assert_parse_fails("Infinity", 8, "invalid JSON:");

    json_t *root = parse_ok("[9223372036854775807, -9223372036854775808, 1e-400]", 2);
    assert_int_equal(json_integer_value(json_array_get(root, 0)), INT64_MAX);
    assert_int_equal(json_integer_value(json_array_get(root, 1)), INT64_MIN);
    assert_true(json_real_value(json_array_get(root, 2)) == 0.0);
    json_decref(root);
}

static void test_parse_depth_limit(void **state)
{
    (void)state;
    json_t *root = parse_ok("[[{\"a\": 1}]]", 3);
    json_decref(root);
    assert_parse_fails("[[{\"a\": [1]}]]", 3, "JSON nested deeper than 3 levels");
    assert_parse_fails("[]", 0, "JSON nested deeper than 0 levels");

    /* Brackets in strings, also after an escaped quote, do not nest. */
    root = parse_ok("[\"[[[[{{{{\", \"\\\"[[[[\\\\\", {}]", 2);
    json_decref(root);
    /* Stray closers must not buy extra depth for what follows. */
    assert_parse_fails("]]]][[", 1, "nested deeper than 1 levels");
}

static void test_parse_refuses_very_deep_nesting(void **state)
{
    (void)state;
    enum { DEPTH = 10000 };
    char *text = malloc(2 * DEPTH);
    assert_non_null(text);
    memset(text, '[', DEPTH);
    memset(text + DEPTH, ']', DEPTH);
    assert_parse_fails_n(text, 2 * DEPTH, 64, "JSON nested deeper than 64 levels");
    free(text);
}

static void test_parse_accepts_null_err(void **state)
{
    (void)state;
    assert_null(cc_json_parse("{", 1, 8, NULL));
    assert_null(cc_json_parse("[[", 2, 1, NULL));
}

/* ---- getters ---------------------------------------------------------- */

static void test_text_representable(void **state)
{
    (void)state;
    assert_true(cc_text_representable(""));
    assert_true(cc_text_representable(" azAZ09~!#$%&'()*+,-./:;<=>?@[]^_`{|}"));
    assert_false(cc_text_representable(NULL));
    assert_false(cc_text_representable("a\"b"));
    assert_false(cc_text_representable("a\\b"));
    assert_false(cc_text_representable("a\nb"));
    assert_false(cc_text_representable("\x1f"));
    assert_false(cc_text_representable("\x7f"));
    assert_false(cc_text_representable("caf\xc3\xa9"));
}

static void test_get_text(void **state)
{
    (void)state;
    json_t *root = parse_ok("{\"name\": \"alice\", \"n\": 5, \"nl\": \"a\\nb\", \"q\": \"a\\\"b\","
                            " \"bs\": \"a\\\\b\", \"u\": \"caf\\u00e9\", \"del\": \"\\u007f\"}",
                            2);
    cc_err err = {0};
    const char *text = NULL;
    assert_true(cc_json_get_text(root, "name", 5, &text, &err));
    assert_string_equal(text, "alice");

    assert_false(cc_json_get_text(root, "name", 4, &text, &err));
    assert_bad_request(&err, "field 'name' is longer than 4 characters");
    assert_false(cc_json_get_text(root, "missing", 10, &text, &err));
    assert_bad_request(&err, "missing field 'missing'");
    assert_false(cc_json_get_text(root, "n", 10, &text, &err));
    assert_bad_request(&err, "field 'n' must be a string");
    static const char *const unprintable[] = {"nl", "q", "bs", "u", "del"};
    for (size_t i = 0; i < sizeof unprintable / sizeof *unprintable; i++) {
        cc_err_clear(&err);
        assert_false(cc_json_get_text(root, unprintable[i], 10, &text, &err));
        assert_bad_request(&err, "contains characters the text format cannot carry");
        assert_non_null(strstr(err.msg, unprintable[i]));
    }
    /* A failure leaves out alone and works without a cc_err. */
    assert_false(cc_json_get_text(root, "n", 10, &text, NULL));
    assert_string_equal(text, "alice");
    json_decref(root);
}

static void test_get_text_refuses_built_nul(void **state)
{
    (void)state;
    json_t *obj = json_object();
    json_object_set_new(obj, "s", json_stringn("a\0b", 3));
    cc_err err = {0};
    const char *text = NULL;
    assert_false(cc_json_get_text(obj, "s", 10, &text, &err));
    assert_bad_request(&err, "field 's' contains characters");
    json_decref(obj);
}

static void test_getters_need_an_object(void **state)
{
    (void)state;
    json_t *root = parse_ok("[1]", 2);
    cc_err err = {0};
    const char *text;
    cc_number n;
    int64_t i;
    assert_false(cc_json_get_text(root, "a", 10, &text, &err));
    assert_bad_request(&err, "expected a JSON object holding field 'a'");
    assert_false(cc_json_get_number(root, "b", &n, &err));
    assert_bad_request(&err, "field 'b'");
    assert_false(cc_json_get_int(NULL, "c", &i, &err));
    assert_bad_request(&err, "field 'c'");
    json_decref(root);
}

static void test_get_number(void **state)
{
    (void)state;
    json_t *root = parse_ok("{\"i\": 2, \"r\": 2.0, \"e\": 1e-05, \"neg\": -0.0, \"s\": \"2\","
                            " \"b\": true, \"z\": null, \"o\": {}}",
                            2);
    cc_err err = {0};
    cc_number n;
    assert_true(cc_json_get_number(root, "i", &n, &err));
    assert_true(n.is_int);
    assert_int_equal(n.i, 2);
    assert_true(cc_json_get_number(root, "r", &n, &err));
    assert_false(n.is_int);
    assert_true(n.d == 2.0);
    assert_true(cc_json_get_number(root, "e", &n, &err));
    assert_true(n.d == 1e-05);
    assert_true(cc_json_get_number(root, "neg", &n, &err));
    assert_true(signbit(n.d));

    static const char *const not_numbers[] = {"s", "b", "z", "o"};
    for (size_t k = 0; k < sizeof not_numbers / sizeof *not_numbers; k++) {
        cc_err_clear(&err);
        assert_false(cc_json_get_number(root, not_numbers[k], &n, &err));
        assert_bad_request(&err, "must be a finite number");
    }
    assert_false(cc_json_get_number(root, "x", &n, &err));
    assert_bad_request(&err, "missing field 'x'");
    json_decref(root);
}

static void test_get_int(void **state)
{
    (void)state;
    json_t *root = parse_ok("{\"i\": -7, \"big\": 9223372036854775807, \"r\": 2.0, \"s\": \"2\"}", 2);
    cc_err err = {0};
    int64_t i = 0;
    assert_true(cc_json_get_int(root, "i", &i, &err));
    assert_int_equal(i, -7);
    assert_true(cc_json_get_int(root, "big", &i, &err));
    assert_int_equal(i, INT64_MAX);
    assert_false(cc_json_get_int(root, "r", &i, &err));
    assert_bad_request(&err, "field 'r' must be an integer");
    assert_false(cc_json_get_int(root, "s", &i, &err));
    assert_bad_request(&err, "field 's' must be an integer");
    assert_false(cc_json_get_int(root, "x", &i, &err));
    assert_bad_request(&err, "missing field 'x'");
    json_decref(root);
}

/* ---- cc_json_append_quoted -------------------------------------------- */

static void assert_quoted(const char *input, const char *expected)
{
    cc_buf out = CC_BUF_INIT;
    cc_json_append_quoted(&out, input);
    char *text = cc_buf_take(&out);
    bool same = strcmp(text, expected) == 0;
    if (!same)
        print_error("quoted as %s, expected %s\n", text, expected);
    free(text);
    assert_true(same);
}

static void test_append_quoted(void **state)
{
    (void)state;
    assert_quoted("plain text", "\"plain text\"");
    assert_quoted("", "\"\"");
    assert_quoted(NULL, "\"\"");
    assert_quoted("say \"hi\"\\", "\"say \\\"hi\\\"\\\\\"");
    assert_quoted("a\nb\tc\x01", "\"a\\nb\\tc\\u0001\"");
    /* jansson writes uppercase hex; both cases are valid JSON. */
    assert_quoted("caf\xc3\xa9", "\"caf\\u00E9\"");
    assert_quoted("\xf0\x9f\x98\x80", "\"\\uD83D\\uDE00\"");
    /* Invalid UTF-8 from the network still yields valid JSON. */
    assert_quoted("bad \xff\xfe byte", "\"bad ?? byte\"");
}

static void test_append_quoted_appends(void **state)
{
    (void)state;
    cc_buf out = CC_BUF_INIT;
    cc_buf_puts(&out, "{\"error\": ");
    cc_json_append_quoted(&out, "no");
    cc_buf_putc(&out, '}');
    assert_string_equal(cc_buf_str(&out), "{\"error\": \"no\"}");
    json_t *back = parse_ok(cc_buf_str(&out), 2);
    assert_string_equal(json_string_value(json_object_get(back, "error")), "no");
    json_decref(back);
    cc_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_repr_fixed_and_scientific_layout),
        cmocka_unit_test(test_repr_shortest_digits),
        cmocka_unit_test(test_repr_power_of_two_boundaries),
        cmocka_unit_test(test_repr_exact_ties_round_to_even),
        cmocka_unit_test(test_repr_non_finite),
        cmocka_unit_test(test_repr_round_trips_random_doubles),
        cmocka_unit_test(test_number_format),
        cmocka_unit_test(test_number_text_vectors),
        cmocka_unit_test(test_parse_accepts_values),
        cmocka_unit_test(test_parse_refuses_bad_syntax),
        cmocka_unit_test(test_parse_refuses_missing_text),
        cmocka_unit_test(test_parse_honours_length),
        cmocka_unit_test(test_parse_refuses_duplicates_and_nul),
        cmocka_unit_test(test_parse_refuses_out_of_range_numbers),
        cmocka_unit_test(test_parse_depth_limit),
        cmocka_unit_test(test_parse_refuses_very_deep_nesting),
        cmocka_unit_test(test_parse_accepts_null_err),
        cmocka_unit_test(test_text_representable),
        cmocka_unit_test(test_get_text),
        cmocka_unit_test(test_get_text_refuses_built_nul),
        cmocka_unit_test(test_getters_need_an_object),
        cmocka_unit_test(test_get_number),
        cmocka_unit_test(test_get_int),
        cmocka_unit_test(test_append_quoted),
        cmocka_unit_test(test_append_quoted_appends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

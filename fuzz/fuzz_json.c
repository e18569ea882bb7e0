/* Fuzzes the JSON reader: arbitrary bytes go through cc_json_parse, and
 * whatever it accepts is walked with every getter, checking the promises of
 * codec/json.h (depth within the limit, texts representable and short
 * enough, numbers finite and printable, quoting that reads back).
 *
 * Input: the first byte sets max_depth (0..31) and the getters' max_len;
 * the rest is the JSON text. Any failed property aborts. */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/json.h"
#include "codec/pynum.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
    if (ok)
        return;
    fprintf(stderr, "fuzz_json: %s\n", what);
    abort();
}

/* Quoting must give one JSON string that reads back as the original
 * (jansson-valid strings) or at least as some string (raw bytes). */
static void check_quoting(const char *s, bool valid_utf8)
{
    cc_buf out = CC_BUF_INIT;
    cc_json_append_quoted(&out, s);
    /* DEL (0x7f) is ASCII and JSON leaves it unescaped; controls and
     * non-ASCII bytes must not appear. */
    for (size_t i = 0; i < out.len; i++)
        check((unsigned char)out.data[i] >= 0x20 && (unsigned char)out.data[i] < 0x80,
              "quoted text has control or non-ASCII bytes");
    json_t *back = json_loadb(out.data, out.len, JSON_DECODE_ANY, NULL);
    check(json_is_string(back), "quoted text does not read back as a string");
    if (valid_utf8)
        check(strcmp(json_string_value(back), s) == 0, "quoted text reads back differently");
    json_decref(back);
    cc_buf_free(&out);
}

static void check_number_text(const cc_number *n)
{
    char text[CC_NUMBER_TEXT_MAX];
    size_t len = cc_number_format(n, text);
    check(len == strlen(text) && len < CC_NUMBER_TEXT_MAX, "number text length");
    if (n->is_int) {
        check(strtoll(text, NULL, 10) == n->i, "int text reads back differently");
        return;
    }
    double back = strtod(text, NULL);
    check(memcmp(&back, &n->d, sizeof back) == 0, "float text reads back differently");
    check(strchr(text, '.') || strchr(text, 'e'), "float text looks like an int");
}

static void check_member(const json_t *obj, const char *key, size_t max_len)
{
    const json_t *value = json_object_get(obj, key);
    cc_err err = {0};
    const char *text = NULL;
    bool got_text = cc_json_get_text(obj, key, max_len, &text, &err);
    check(got_text || err.code == CC_ERR_BAD_REQUEST, "get_text error code");
    if (got_text)
        check(json_is_string(value) && cc_text_representable(text) && strlen(text) <= max_len,
              "get_text returned text it should refuse");
    if (!got_text && json_is_string(value) && json_string_length(value) <= max_len)
        check(!cc_text_representable(json_string_value(value)), "get_text refused good text");

    cc_number n;
    bool got_number = cc_json_get_number(obj, key, &n, &err);
    check(got_number == json_is_number(value), "get_number accepts exactly the numbers");
    if (got_number) {
        check(n.is_int == json_is_integer(value), "get_number mixes ints and floats");
        check(n.is_int || isfinite(n.d), "get_number returned a non-finite float");
        check_number_text(&n);
    }

    int64_t i;
    bool got_int = cc_json_get_int(obj, key, &i, &err);
    check(got_int == json_is_integer(value), "get_int accepts exactly the ints");
    check(!got_int || i == json_integer_value(value), "get_int value");
}

static void walk(const json_t *value, int depth, int max_depth, size_t max_len)
{
    if (json_is_object(value) || json_is_array(value))
        check(++depth <= max_depth, "accepted nesting deeper than max_depth");
    if (json_is_string(value)) {
        check(strlen(json_string_value(value)) == json_string_length(value),
              "parser let a NUL through");
        check_quoting(json_string_value(value), true);
    }
    if (json_is_real(value))
        check(isfinite(json_real_value(value)), "parser let a non-finite number through");
    const char *key;
    const json_t *member;
    json_object_foreach((json_t *)value, key, member) {
        check_member(value, key, max_len);
        check_quoting(key, true);
        walk(member, depth, max_depth, max_len);
    }
    size_t index;
    json_array_foreach(value, index, member)
        walk(member, depth, max_depth, max_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int max_depth = data[0] & 31;
    size_t max_len = (size_t)(data[0] >> 5) * 4;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;

    cc_err err = {0};
    json_t *root = cc_json_parse(text, len, max_depth, &err);
    if (!root) {
        check(err.code == CC_ERR_BAD_REQUEST && err.msg[0] != '\0', "parse error not reported");
    } else {
        walk(root, 0, max_depth, max_len);
        cc_err missing = {0};
        int64_t i;
        check(!cc_json_get_int(root, "\x01not a key", &i, &missing) &&
                  missing.code == CC_ERR_BAD_REQUEST,
              "missing member found");
        json_decref(root);
    }

    char *raw = cc_strndup(text, len);
    json_t *as_string = json_string(raw);
    check_quoting(raw, as_string != NULL);
    json_decref(as_string);
    free(raw);
    return 0;
}

#include "codec/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

/* Runs before jansson so that hostile nesting costs one linear pass instead
 * of a deep recursion. Brackets inside strings do not nest, and an escaped
 * quote does not end a string, so both are tracked. */
static bool depth_within(const char *text, size_t len, int max_depth, cc_err *err)
{
    long depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth)
                return cc_fail(err, CC_ERR_BAD_REQUEST, "JSON nested deeper than %d levels",
                               max_depth);
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return true;
}

/* jansson's own words are kept; the number cases get a plainer sentence
 * because a sender is more likely to hit them than a syntax error. */
static bool parse_failed(const json_error_t *jerr, cc_err *err)
{
    const char *why = "";
    if (strstr(jerr->text, "too big") && strstr(jerr->text, "integer"))
        why = " (integers must fit in 64 bits)";
    else if (strstr(jerr->text, "real number overflow"))
        why = " (numbers must be finite doubles)";
    return cc_fail(err, CC_ERR_BAD_REQUEST, "invalid JSON: %s%s at line %d column %d",
                   jerr->text, why, jerr->line, jerr->column);
}

json_t *cc_json_parse(const char *text, size_t len, int max_depth, cc_err *err)
{
    if (!text) {
        cc_fail(err, CC_ERR_BAD_REQUEST, "invalid JSON: no input");
        return NULL;
    }
    if (!depth_within(text, len, max_depth, err))
        return NULL;
    json_error_t jerr;
    /* Without JSON_ALLOW_NUL jansson refuses "\u0000", which our printers
     * could not reproduce inside a C string. */
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root)
        parse_failed(&jerr, err);
    return root;
}

bool cc_text_representable(const char *s)
{
    if (!s)
        return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
            return false;
    }
    return true;
}

static const json_t *member(const json_t *obj, const char *key, cc_err *err)
{
    if (!json_is_object(obj)) {
        cc_fail(err, CC_ERR_BAD_REQUEST, "expected a JSON object holding field '%s'", key);
        return NULL;
    }
    const json_t *value = json_object_get(obj, key);
    if (!value)
        cc_fail(err, CC_ERR_BAD_REQUEST, "missing field '%s'", key);
    return value;
}

bool cc_json_get_text(const json_t *obj, const char *key, size_t max_len, const char **out,
                      cc_err *err)
{
    const json_t *value = member(obj, key, err);
    if (!value)
        return false;
    if (!json_is_string(value))
        return cc_fail(err, CC_ERR_BAD_REQUEST, "field '%s' must be a string", key);
    if (json_string_length(value) > max_len)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "field '%s' is longer than %zu characters", key,
                       max_len);
    const char *text = json_string_value(value);
    /* A json_t built in code (not parsed) may hold a NUL, which would cut
     * the C string short without the check on length. */
    if (!cc_text_representable(text) || strlen(text) != json_string_length(value))
        return cc_fail(err, CC_ERR_BAD_REQUEST,
                       "field '%s' contains characters the text format cannot carry", key);
    *out = text;
    return true;
}

bool cc_json_get_number(const json_t *obj, const char *key, cc_number *out, cc_err *err)
{
    const json_t *value = member(obj, key, err);
    if (!value)
        return false;
    if (json_is_integer(value)) {
        *out = (cc_number){.is_int = true, .i = json_integer_value(value)};
        return true;
    }
    /* jansson never holds a non-finite real today; the check keeps the
     * cc_number promise (d always finite) from resting on that. */
    if (!json_is_real(value) || !isfinite(json_real_value(value)))
        return cc_fail(err, CC_ERR_BAD_REQUEST, "field '%s' must be a finite number", key);
    *out = (cc_number){.is_int = false, .d = json_real_value(value)};
    return true;
}

bool cc_json_get_int(const json_t *obj, const char *key, int64_t *out, cc_err *err)
{
    const json_t *value = member(obj, key, err);
    if (!value)
        return false;
    if (!json_is_integer(value))
        return cc_fail(err, CC_ERR_BAD_REQUEST, "field '%s' must be an integer", key);
    *out = json_integer_value(value);
    return true;
}

/* jansson only builds strings from valid UTF-8; an error message may quote
 * raw bytes from the network, so those are shown as '?' rather than lost. */
static json_t *string_or_replacement(const char *s)
{
    json_t *str = json_string(s);
    if (str)
        return str;
    char *copy = cc_strdup(s);
    for (char *c = copy; *c; c++)
        if ((unsigned char)*c >= 0x80)
            *c = '?';
    str = json_string(copy);
    free(copy);
    return str;
}

void cc_json_append_quoted(cc_buf *out, const char *s)
{
    json_t *str = string_or_replacement(s ? s : "");
    char *text = str ? json_dumps(str, JSON_ENCODE_ANY | JSON_ENSURE_ASCII) : NULL;
    json_decref(str);
    cc_alloc_check(text);
    cc_buf_puts(out, text);
    free(text);
}

void cc_json_append_int_member(cc_buf *out, const char *name, int64_t value, bool known)
{
    if (known)
        cc_buf_printf(out, "\"%s\": %lld", name, (long long)value);
    else
        cc_buf_printf(out, "\"%s\": null", name);
}

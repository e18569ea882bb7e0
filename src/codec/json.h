/* Reading JSON from the network with jansson, under cheesechain's limits.
 *
 * Everything that is hashed or signed is re-printed by our own printers
 * from the values read here, so this reader must keep integers and floats
 * apart and refuse what those printers cannot reproduce: duplicate keys,
 * NUL characters, nesting deeper than the caller allows, non-finite or
 * out-of-range numbers, and (through cc_json_get_text) strings that are not
 * printable ASCII or that would need escaping.
 *
 * Errors: cc_err with CC_ERR_BAD_REQUEST and a message naming the field.
 * Ownership: cc_json_parse returns a new reference the caller json_decref()s;
 * strings returned by the getters point into the json_t and live as long as
 * it does. Thread-safe (no shared state). */
#ifndef CC_CODEC_JSON_H
#define CC_CODEC_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/pynum.h"
#include "util/buf.h"
#include "util/err.h"

/* Parses exactly one JSON value from text[0..len) (surrounding whitespace
 * allowed). Nesting deeper than max_depth is refused before jansson sees it. */
json_t *cc_json_parse(const char *text, size_t len, int max_depth, cc_err *err);

/* True for a string the text formats can carry unescaped: every byte
 * printable ASCII (0x20..0x7e) and none of them '"' or '\\'. */
bool cc_text_representable(const char *s);

/* Member `key` of obj, which must be a string that cc_text_representable
 * accepts and at most max_len bytes long. */
bool cc_json_get_text(const json_t *obj, const char *key, size_t max_len, const char **out,
                      cc_err *err);

/* Member `key` of obj, which must be a JSON number (int or float). */
bool cc_json_get_number(const json_t *obj, const char *key, cc_number *out, cc_err *err);

/* Member `key` of obj, which must be a JSON integer (not a float). */
bool cc_json_get_int(const json_t *obj, const char *key, int64_t *out, cc_err *err);

/* Appends s as a JSON string literal (quotes, escapes, non-ASCII as \uXXXX)
 * for answers that are not hashed, such as error messages. */
void cc_json_append_quoted(cc_buf *out, const char *s);

/* Appends the member "name": value, or "name": null when it is not known. */
void cc_json_append_int_member(cc_buf *out, const char *name, int64_t value, bool known);

#endif

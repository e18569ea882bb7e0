/* Strict parsing of flag and config-file values shared by the programs in
 * src/tools: the whole text must be the value (no leading garbage, no
 * trailing characters), and it must lie in the range given. On failure
 * *out is left untouched. No cc_err: callers print their own usage message.
 * Thread-safe (strtol/strtod only). */
#ifndef CC_UTIL_PARSE_H
#define CC_UTIL_PARSE_H

#include <stdbool.h>

/* A decimal integer in [min, max]; fails on overflow (ERANGE). */
bool cc_parse_long(const char *text, long min, long max, long *out);
/* cc_parse_long for an int field; min and max must fit an int. */
bool cc_parse_int(const char *text, long min, long max, int *out);
/* A number strtod accepts, in [min, max]; NaN always fails. */
bool cc_parse_double(const char *text, double min, double max, double *out);
/* yes/on/1/true or no/off/0/false. */
bool cc_parse_switch(const char *text, bool *out);

#endif

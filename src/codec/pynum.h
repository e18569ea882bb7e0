/* Numbers printed exactly as Python's str() prints the value json.loads
 * made of them: the text that both networks hash and sign.
 *
 * A JSON number is an int when it has no fraction and no exponent, a
 * float (IEEE double) otherwise; the two print differently ("2" vs "2.0")
 * and must never be confused. Pure functions, thread-safe. */
#ifndef CC_CODEC_PYNUM_H
#define CC_CODEC_PYNUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cc_number {
    bool is_int;
    int64_t i; /* valid when is_int */
    double d;  /* valid when !is_int; always finite */
} cc_number;

/* Longest text either printer writes, including the NUL. */
#define CC_NUMBER_TEXT_MAX 32

/* Python repr()/str() of a finite double: the shortest text that reads back
 * as the same double (ties broken towards the closer decimal, as Python
 * does), fixed notation with at least one fractional digit ("2.0", "0.0001",
 * "1000000000000000.0") when the decimal exponent is in [-4, 16), otherwise
 * scientific with a sign and at least two exponent digits ("1e-05",
 * "1e+16", "1.7976931348623157e+308"). Returns the length written.
 * Behaviour for NaN or infinity is to write "nan"/"inf"/"-inf", which the
 * protocols never carry; callers reject non-finite values before this. */
size_t cc_pyfloat_repr(double value, char out[CC_NUMBER_TEXT_MAX]);

/* str() of an int or a float as cc_number describes it. */
size_t cc_number_format(const cc_number *n, char out[CC_NUMBER_TEXT_MAX]);

#endif

#include "codec/pynum.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* digits * 10^exp10, digits nonzero with at most 18 decimal digits (17 plus
 * a carry from rounding up), so it always fits in 64 bits. */
typedef struct decimal {
    uint64_t digits;
    int exp10;
} decimal;

/* The longest significand any double needs to read back as itself. */
enum { MAX_DIGITS = 17 };

/* Trusting libc's strtod (correctly rounded) is what makes "reads back as
 * the same double" a fact rather than an approximation. */
static double read_back(decimal dec)
{
    char text[48];
    snprintf(text, sizeof text, "%" PRIu64 "e%d", dec.digits, dec.exp10);
    return strtod(text, NULL);
}

/* glibc's %e is correctly rounded (ties to even, as Python's dtoa), so this
 * is the p-digit decimal closest to value. */
static decimal nearest_decimal(double value, int p)
{
    char text[48];
    snprintf(text, sizeof text, "%.*e", p - 1, value);
    decimal dec = {0, 0};
    const char *c = text;
    for (; *c && *c != 'e'; c++)
        if (*c >= '0' && *c <= '9')
            dec.digits = dec.digits * 10 + (uint64_t)(*c - '0');
    dec.exp10 = (*c == 'e' ? atoi(c + 1) : 0) - (p - 1);
    return dec;
}

/* The shortest decimal that reads back, closest to value among those of that
 * length. When the nearest p-digit decimal misses (only possible at a power
 * of two, where the gap below is half the gap above), the grid point just
 * across value is the only other p-digit candidate that can still hit. */
static decimal shortest_decimal(double value)
{
    for (int p = 1; p < MAX_DIGITS; p++) {
        decimal dec = nearest_decimal(value, p);
        double back = read_back(dec);
        if (back == value)
            return dec;
        decimal across = dec;
        across.digits = back < value ? dec.digits + 1 : dec.digits - 1;
        if (read_back(across) == value)
            return across;
    }
    return nearest_decimal(value, MAX_DIGITS);
}

static char *append(char *p, const char *text, int len)
{
    memcpy(p, text, (size_t)len);
    return p + len;
}

static char *append_zeros(char *p, int count)
{
    memset(p, '0', (size_t)count);
    return p + count;
}

/* "d.ddde+XX": Python drops the point for a single digit ("1e-05") and
 * always prints at least two exponent digits. */
static char *scientific(char *p, const char *digits, int ndigits, int sci_exp)
{
    *p++ = digits[0];
    if (ndigits > 1) {
        *p++ = '.';
        p = append(p, digits + 1, ndigits - 1);
    }
    return p + sprintf(p, "e%c%02d", sci_exp < 0 ? '-' : '+', abs(sci_exp));
}

/* Fixed notation always carries a fractional part, so "2.0" never reads
 * back as the int 2. */
static char *fixed(char *p, const char *digits, int ndigits, int sci_exp)
{
    if (sci_exp < 0) {
        p = append(p, "0.", 2);
        p = append_zeros(p, -sci_exp - 1);
        return append(p, digits, ndigits);
    }
    int whole = sci_exp + 1;
    if (ndigits > whole) {
        p = append(p, digits, whole);
        *p++ = '.';
        return append(p, digits + whole, ndigits - whole);
    }
    p = append(p, digits, ndigits);
    p = append_zeros(p, whole - ndigits);
    return append(p, ".0", 2);
}

/* Python's float_repr_style 'short' layout: fixed notation while the
 * scientific exponent is in [-4, 16). */
static size_t layout(bool negative, decimal dec, char *out)
{
    while (dec.digits % 10 == 0) {
        dec.digits /= 10;
        dec.exp10++;
    }
    char digits[24];
    int ndigits = snprintf(digits, sizeof digits, "%" PRIu64, dec.digits);
    int sci_exp = dec.exp10 + ndigits - 1;
    char *p = out;
    if (negative)
        *p++ = '-';
    if (sci_exp < -4 || sci_exp >= 16)
        p = scientific(p, digits, ndigits, sci_exp);
    else
        p = fixed(p, digits, ndigits, sci_exp);
    *p = '\0';
    return (size_t)(p - out);
}

static size_t put(char *out, const char *text)
{
    size_t len = strlen(text);
    memcpy(out, text, len + 1);
    return len;
}

size_t cc_pyfloat_repr(double value, char out[CC_NUMBER_TEXT_MAX])
{
    if (isnan(value))
        return put(out, "nan");
    bool negative = signbit(value) != 0;
    if (isinf(value))
        return put(out, negative ? "-inf" : "inf");
    if (value == 0)
        return put(out, negative ? "-0.0" : "0.0");
    return layout(negative, shortest_decimal(fabs(value)), out);
}

size_t cc_number_format(const cc_number *n, char out[CC_NUMBER_TEXT_MAX])
{
    if (!n->is_int)
        return cc_pyfloat_repr(n->d, out);
    int len = snprintf(out, CC_NUMBER_TEXT_MAX, "%" PRId64, n->i);
    return (size_t)len;
}

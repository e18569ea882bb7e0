/* Fuzzes the Python-compatible float printer against an oracle that does not
 * share its method: the exact decimal expansion of the double (glibc prints
 * every digit with %.800e), truncated and bumped by hand.
 *
 * Input: the first byte picks the mode (its value mod 3): 0 reads the next 8
 * bytes as the bit pattern of a double, 1 reads the rest as text for strtod
 * (so short decimals such as 0.3 are reached), 2 picks a power of two and
 * steps a few doubles from it. The last 8 bytes also drive the integer
 * printer. Both printers' texts must also read back through the JSON
 * reader the networks use (codec/json.h) as the same kind of number with
 * the same value, bit for bit: a float never comes back as an int. Any
 * failed property aborts. */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/json.h"
#include "codec/pynum.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* digits (no leading zeros, no sign) * 10^exp10 */
typedef struct decimal {
    char digits[820];
    int exp10;
} decimal;

static void check(bool ok, const char *what, double value, const char *text)
{
    if (ok)
        return;
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    fprintf(stderr, "fuzz_pynum: %s: %016" PRIx64 " printed as \"%s\"\n", what, bits, text);
    abort();
}

static void canonical(decimal *d)
{
    size_t lead = strspn(d->digits, "0");
    memmove(d->digits, d->digits + lead, strlen(d->digits + lead) + 1);
    size_t len = strlen(d->digits);
    while (len > 1 && d->digits[len - 1] == '0') {
        d->digits[--len] = '\0';
        d->exp10++;
    }
}

static bool reads_back(const decimal *d, double value)
{
    char text[900];
    snprintf(text, sizeof text, "%se%d", d->digits, d->exp10);
    return strtod(text, NULL) == value;
}

static bool same(decimal a, decimal b)
{
    canonical(&a);
    canonical(&b);
    return a.exp10 == b.exp10 && strcmp(a.digits, b.digits) == 0;
}

/* The k-digit decimals just below-or-at and just above value's exact
 * expansion (exact has `count` digits and value = exact * 10^exp10). */
static void bracket(const decimal *exact, size_t k, decimal *floor_k, decimal *ceil_k)
{
    size_t count = strlen(exact->digits);
    memcpy(floor_k->digits, exact->digits, k);
    floor_k->digits[k] = '\0';
    floor_k->exp10 = exact->exp10 + (int)(count - k);
    *ceil_k = *floor_k;
    size_t i = k;
    while (i > 0 && ceil_k->digits[i - 1] == '9')
        ceil_k->digits[--i] = '0';
    if (i > 0) {
        ceil_k->digits[i - 1]++;
    } else {
        memmove(ceil_k->digits + 1, ceil_k->digits, k + 1);
        ceil_k->digits[0] = '1';
    }
}

/* Parses what the printer wrote back into digits and exponent, checking the
 * layout rules Python follows on the way. */
static decimal parse_output(const char *text, double value)
{
    const char *p = text + (text[0] == '-');
    check((text[0] == '-') == (signbit(value) != 0), "sign", value, text);
    const char *e = strchr(p, 'e');
    const char *dot = strchr(p, '.');
    int exponent = 0;
    if (e) {
        check(e[1] == '+' || e[1] == '-', "exponent sign", value, text);
        check(strlen(e + 2) >= 2 && strspn(e + 2, "0123456789") == strlen(e + 2),
              "exponent digits", value, text);
        check(strlen(e + 2) == 2 || e[2] != '0', "exponent leading zero", value, text);
        exponent = atoi(e + 1);
        check(p[0] >= '1' && p[0] <= '9', "scientific lead digit", value, text);
        check(!dot || (dot == p + 1 && dot + 1 < e && e[-1] != '0'), "scientific point", value,
              text);
    } else {
        check(dot && dot > p && dot[1] != '\0', "fixed needs a fractional digit", value, text);
        check(p[0] != '0' || dot == p + 1, "fixed leading zero", value, text);
        check(strcmp(dot, ".0") == 0 || text[strlen(text) - 1] != '0', "fixed trailing zero",
              value, text);
    }
    decimal d = {.digits = "", .exp10 = exponent};
    size_t n = 0;
    const char *end = e ? e : p + strlen(p);
    for (const char *c = p; c < end; c++) {
        if (c == dot)
            continue;
        check(*c >= '0' && *c <= '9', "stray character", value, text);
        d.digits[n++] = *c;
        if (dot && c > dot)
            d.exp10--;
    }
    d.digits[n] = '\0';
    canonical(&d);
    int sci_exp = d.exp10 + (int)strlen(d.digits) - 1;
    check(e ? (sci_exp < -4 || sci_exp >= 16) : (sci_exp >= -4 && sci_exp < 16),
          "notation does not match the exponent", value, text);
    return d;
}

/* Which of two equally short candidates Python picks: the nearer, and on an
 * exact tie the one with the even last digit. */
static bool prefers_ceiling(const decimal *exact, size_t n, const decimal *floor_n)
{
    const char *rest = exact->digits + n;
    int cmp = rest[0] - '5';
    if (cmp == 0 && strspn(rest + 1, "0") != strlen(rest + 1))
        cmp = 1;
    if (rest[0] == '\0')
        cmp = -1;
    if (cmp != 0)
        return cmp > 0;
    return (floor_n->digits[strlen(floor_n->digits) - 1] - '0') % 2 == 1;
}

static void check_double(double value)
{
    char text[CC_NUMBER_TEXT_MAX + 8];
    memset(text, 0x55, sizeof text);
    size_t len = cc_pyfloat_repr(value, text);
    check(len == strlen(text) && len < CC_NUMBER_TEXT_MAX, "length", value, text);
    if (!isfinite(value) || value == 0) {
        const char *want = isnan(value) ? "nan"
                           : isinf(value) ? (value < 0 ? "-inf" : "inf")
                           : signbit(value) ? "-0.0" : "0.0";
        check(strcmp(text, want) == 0, "special value", value, text);
        return;
    }
    double back = strtod(text, NULL);
    check(memcmp(&back, &value, sizeof back) == 0, "does not read back", value, text);

    decimal ours = parse_output(text, value);
    size_t n = strlen(ours.digits);
    check(n <= 17, "more than 17 digits", value, text);

    double magnitude = fabs(value);
    char full[900];
    snprintf(full, sizeof full, "%.800e", magnitude);
    decimal exact = {.digits = "", .exp10 = atoi(strchr(full, 'e') + 1) - 800};
    exact.digits[0] = full[0];
    memcpy(exact.digits + 1, full + 2, 800);
    exact.digits[801] = '\0';

    decimal lo, hi;
    if (n > 1) {
        bracket(&exact, n - 1, &lo, &hi);
        check(!reads_back(&lo, magnitude) && !reads_back(&hi, magnitude), "not the shortest",
              value, text);
    }
    bracket(&exact, n, &lo, &hi);
    bool lo_ok = reads_back(&lo, magnitude), hi_ok = reads_back(&hi, magnitude);
    bool want_hi = lo_ok && hi_ok ? prefers_ceiling(&exact, n, &lo) : hi_ok;
    check(same(ours, want_hi ? hi : lo), "not the closest shortest decimal", value, text);
}

static void check_int(int64_t i)
{
    cc_number n = {.is_int = true, .i = i};
    char text[CC_NUMBER_TEXT_MAX];
    size_t len = cc_number_format(&n, text);
    char *end;
    long long back = strtoll(text, &end, 10);
    if (len != strlen(text) || *end != '\0' || back != i || strchr(text, '.')) {
        fprintf(stderr, "fuzz_pynum: int %" PRId64 " printed as \"%s\"\n", i, text);
        abort();
    }
}

/* Random bit patterns almost never land on a power of two, where the
 * asymmetric gap makes the shortest decimal hard, so mode 2 aims there. */
static double value_from_input(const uint8_t *data, size_t size)
{
    size_t n = size - 1 < 8 ? size - 1 : 8;
    uint64_t bits = 0;
    memcpy(&bits, data + 1, n);
    if (data[0] % 3 == 1) {
        char text[128];
        size_t len = size - 1 < sizeof text - 1 ? size - 1 : sizeof text - 1;
        memcpy(text, data + 1, len);
        text[len] = '\0';
        return strtod(text, NULL);
    }
    double value;
    memcpy(&value, &bits, sizeof value);
    if (data[0] % 3 == 0)
        return value;
    value = ldexp(1.0, (int)(bits % 2098) - 1074);
    for (int step = (int)((bits >> 16) % 5) - 2; step != 0; step += step < 0 ? 1 : -1)
        value = nextafter(value, step < 0 ? 0.0 : INFINITY);
    return (bits >> 20) & 1 ? -value : value;
}

/* What a peer's JSON reader makes of the text we print for n. */
static void check_json_read_back(const cc_number *n)
{
    char text[CC_NUMBER_TEXT_MAX];
    size_t len = cc_number_format(n, text);
    json_t *v = cc_json_parse(text, len, 1, NULL);
    cc_number back;
    json_t *holder = json_pack("{s:O}", "n", v);
    bool ok = json_is_number(v) && cc_json_get_number(holder, "n", &back, NULL);
    if (!ok || back.is_int != n->is_int ||
        (n->is_int ? back.i != n->i : memcmp(&back.d, &n->d, sizeof back.d) != 0)) {
        fprintf(stderr, "fuzz_pynum: \"%s\" reads back through JSON as another number\n", text);
        abort();
    }
    json_decref(holder);
    json_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    double value = value_from_input(data, size);
    check_double(value);
    cc_number as_float = {.is_int = false, .d = value};
    char a[CC_NUMBER_TEXT_MAX], b[CC_NUMBER_TEXT_MAX];
    cc_number_format(&as_float, a);
    cc_pyfloat_repr(value, b);
    check(strcmp(a, b) == 0, "cc_number_format differs from cc_pyfloat_repr", value, a);

    int64_t i = 0;
    if (size >= 9)
        memcpy(&i, data + size - 8, sizeof i);
    check_int(i);
    cc_number as_int = {.is_int = true, .i = i};
    check_json_read_back(&as_int);
    if (isfinite(value))
        check_json_read_back(&as_float);
    return 0;
}

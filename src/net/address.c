#include "net/address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define PORT_MAX 65535
#define LABEL_MAX 63

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool cc_addr_port(const char *text, size_t len, int *port, cc_err *err)
{
    if (len == 0)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "the port is missing");
    unsigned long value = 0;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(text[i]))
            return cc_fail(err, CC_ERR_BAD_REQUEST, "the port must be digits only");
        value = value * 10 + (unsigned long)(text[i] - '0');
        if (value > PORT_MAX) /* stops here: any number of digits cannot overflow */
            return cc_fail(err, CC_ERR_BAD_REQUEST, "the port must be 1 to 65535");
    }
    if (value == 0)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "the port must be 1 to 65535");
    *port = (int)value;
    return true;
}

/* ---- IPv4, as inet_aton reads it ---- */

static int digit_in(char c, unsigned base)
{
    int d = is_digit(c) ? c - '0'
            : (c >= 'a' && c <= 'f') ? c - 'a' + 10
            : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                     : 99;
    return d < (int)base ? d : -1;
}

/* One part, from s[*i] up to the next '.' or the end: decimal, octal after
 * a leading 0, hexadecimal after 0x; at most 32 bits, as the C library
 * takes it (a part that starts with anything but a digit is refused). */
static bool ipv4_part(const char *s, size_t len, size_t *i, uint32_t *value)
{
    size_t at = *i;
    if (at >= len || !is_digit(s[at]))
        return false;
    unsigned base = 10;
    bool digits = false;
    if (s[at] == '0') {
        base = 8;
        digits = true; /* "0" alone is zero */
        at++;
        if (at < len && (s[at] == 'x' || s[at] == 'X')) {
            base = 16;
            digits = false;
            at++;
        }
    }
    uint64_t v = 0;
    for (; at < len && s[at] != '.'; at++) {
        int d = digit_in(s[at], base);
        if (d < 0)
            return false;
        v = v * base + (unsigned)d;
        if (v > UINT32_MAX)
            return false;
        digits = true;
    }
    if (!digits)
        return false;
    *i = at;
    *value = (uint32_t)v;
    return true;
}

/* "a.b.c.d", "a.b.c" (c is 16 bits), "a.b" (b is 24 bits) or "a" (32 bits). */
static bool parse_ipv4(const char *s, size_t len, unsigned char ip[4])
{
    static const uint32_t last_max[4] = {UINT32_MAX, 0xffffff, 0xffff, 0xff};
    uint32_t parts[4];
    size_t n = 0, i = 0;
    for (;;) {
        if (n == 4 || !ipv4_part(s, len, &i, &parts[n]))
            return false;
        n++;
        if (i == len)
            break;
        i++; /* the '.' that ended the part */
    }
    uint32_t value = parts[n - 1];
    if (value > last_max[n - 1])
        return false;
    for (size_t k = 0; k + 1 < n; k++) {
        if (parts[k] > 0xff)
            return false;
        value |= parts[k] << (24 - 8 * k);
    }
    for (int k = 0; k < 4; k++)
        ip[k] = (unsigned char)(value >> (24 - 8 * k));
    return true;
}

/* ---- the address ---- */

static const unsigned char v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Writes digits of value (0..65535) at out; returns the end. By hand, as
 * glibc's inet_ntop and snprintf go through printf: the node names the
 * sender of every request it answers. */
static char *put_number(char *out, unsigned value)
{
    char digits[5];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value > 0);
    while (n > 0)
        *out++ = digits[--n];
    return out;
}

static void format_ipv4(const unsigned char ip[4], char out[CC_ADDR_HOST_MAX])
{
    char *end = out;
    for (int i = 0; i < 4; i++) {
        if (i > 0)
            *end++ = '.';
        end = put_number(end, ip[i]);
    }
    *end = '\0';
}

static void set_ip(cc_addr *a, int family, const unsigned char *ip)
{
    memset(a->ip, 0, sizeof a->ip);
    if (family == AF_INET6 && memcmp(ip, v4_mapped_prefix, sizeof v4_mapped_prefix) == 0) {
        family = AF_INET; /* a connection to it arrives over IPv4, from that address */
        ip += sizeof v4_mapped_prefix;
    }
    a->family = family;
    memcpy(a->ip, ip, family == AF_INET ? 4 : 16);
    if (family == AF_INET)
        format_ipv4(a->ip, a->host);
    else
        inet_ntop(family, a->ip, a->host, sizeof a->host);
}

static bool is_localhost(const char *host, size_t len)
{
    if (len == 10 && host[9] == '.')
        len = 9; /* the fully qualified form */
    return len == 9 && strncasecmp(host, "localhost", 9) == 0;
}

static bool parse_ipv6(const char *host, size_t len, unsigned char ip[16])
{
    char text[CC_ADDR_HOST_MAX];
    if (len >= sizeof text || memchr(host, '\0', len))
        return false;
    memcpy(text, host, len);
    text[len] = '\0';
    return inet_pton(AF_INET6, text, ip) == 1;
}

bool cc_addr_make(const char *host, size_t len, int port, cc_addr *out, cc_err *err)
{
    if (port < 1 || port > PORT_MAX)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "the port must be 1 to 65535");
    if (len == 0)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "the host is empty");
    /* a fully qualified name may end in one more character, its dot */
    if (len - (len > 0 && host[len - 1] == '.') > CC_ADDR_NAME_MAX)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "the host is longer than %d characters",
                       CC_ADDR_NAME_MAX);
    unsigned char ip[16];
    cc_addr a = {.port = port};
    bool bracketed = host[0] == '[';
    if (is_localhost(host, len)) {
        static const unsigned char loopback[4] = {127, 0, 0, 1};
        set_ip(&a, AF_INET, loopback);
    } else if (bracketed || memchr(host, ':', len)) {
        if (bracketed && (len < 2 || host[len - 1] != ']'))
            return cc_fail(err, CC_ERR_BAD_REQUEST, "the host has an unclosed bracket");
        if (!parse_ipv6(host + bracketed, len - 2 * bracketed, ip))
            return cc_fail(err, CC_ERR_BAD_REQUEST, "the host is not an IPv6 address");
        set_ip(&a, AF_INET6, ip);
    } else if (parse_ipv4(host, len, ip)) {
        set_ip(&a, AF_INET, ip);
    } else if (cc_addr_host_is_name(host, len)) {
        return cc_fail(err, CC_ERR_BAD_REQUEST, "the host is a name, not an address");
    } else {
        return cc_fail(err, CC_ERR_BAD_REQUEST, "the host is not an IP address");
    }
    *out = a;
    return true;
}

bool cc_addr_split(const char *text, size_t len, const char **host, size_t *host_len, int *port,
                   cc_err *err)
{
    const char *colon;
    if (len > 0 && text[0] == '[') {
        const char *close = memchr(text, ']', len);
        if (!close)
            return cc_fail(err, CC_ERR_BAD_REQUEST, "the host has an unclosed bracket");
        colon = close + 1;
        if (colon == text + len || *colon != ':')
            return cc_fail(err, CC_ERR_BAD_REQUEST, "the address needs a port (HOST:PORT)");
    } else {
        colon = len > 0 ? memrchr(text, ':', len) : NULL;
        if (!colon)
            return cc_fail(err, CC_ERR_BAD_REQUEST, "the address needs a port (HOST:PORT)");
    }
    int p;
    if (!cc_addr_port(colon + 1, (size_t)(text + len - colon - 1), &p, err))
        return false;
    *host = text;
    *host_len = (size_t)(colon - text);
    *port = p;
    return true;
}

bool cc_addr_parse(const char *text, size_t len, cc_addr *out, cc_err *err)
{
    const char *host = NULL;
    size_t host_len = 0;
    int port = 0;
    return cc_addr_split(text, len, &host, &host_len, &port, err) &&
           cc_addr_make(host, host_len, port, out, err);
}

void cc_addr_format(const cc_addr *a, char out[CC_ADDR_TEXT_MAX])
{
    if (a->family == AF_INET6) {
        snprintf(out, CC_ADDR_TEXT_MAX, "[%s]:%d", a->host, a->port);
        return;
    }
    size_t len = strlen(a->host);
    memcpy(out, a->host, len);
    out[len] = ':';
    *put_number(out + len + 1, (unsigned)a->port) = '\0';
}

bool cc_addr_canonical(const char *text, char out[CC_ADDR_TEXT_MAX], cc_err *err)
{
    cc_addr a;
    if (!cc_addr_parse(text, strlen(text), &a, err))
        return false;
    cc_addr_format(&a, out);
    return true;
}

bool cc_addr_host_is_name(const char *host, size_t len)
{
    if (len > 0 && host[len - 1] == '.')
        len--; /* the fully qualified form */
    if (len == 0 || len > CC_ADDR_NAME_MAX)
        return false;
    size_t label = 0;
    bool all_digits = true; /* of the current label */
    for (size_t i = 0; i < len; i++) {
        char c = host[i];
        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
            all_digits = true;
            continue;
        }
        if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '_')
            return false;
        if (++label > LABEL_MAX)
            return false;
        all_digits = all_digits && is_digit(c);
    }
    return label > 0 && !all_digits;
}

bool cc_addr_from_sockaddr(const struct sockaddr *sa, int port, cc_addr *out, cc_err *err)
{
    if (port < 1 || port > PORT_MAX)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "the port must be 1 to 65535");
    cc_addr a = {.port = port};
    if (sa->sa_family == AF_INET)
        set_ip(&a, AF_INET, (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr);
    else if (sa->sa_family == AF_INET6)
        set_ip(&a, AF_INET6,
               (const unsigned char *)&((const struct sockaddr_in6 *)sa)->sin6_addr);
    else
        return cc_fail(err, CC_ERR_BAD_REQUEST, "not an IPv4 or IPv6 address");
    *out = a;
    return true;
}

static size_t ip_len(const cc_addr *a) { return a->family == AF_INET ? 4 : 16; }

static bool same_ip(const cc_addr *a, const cc_addr *b)
{
    return a->family == b->family && memcmp(a->ip, b->ip, ip_len(a)) == 0;
}

bool cc_addr_equal(const cc_addr *a, const cc_addr *b)
{
    return a->port == b->port && same_ip(a, b);
}

static bool is_unspecified(const cc_addr *a)
{
    static const unsigned char zeros[16] = {0};
    return memcmp(a->ip, zeros, ip_len(a)) == 0;
}

static bool is_loopback(const cc_addr *a)
{
    static const unsigned char v6_loopback[16] = {[15] = 1};
    return a->family == AF_INET ? a->ip[0] == 127 : memcmp(a->ip, v6_loopback, 16) == 0;
}

bool cc_addr_reaches(const cc_addr *target, const cc_addr *listener)
{
    if (target->port != listener->port)
        return false;
    cc_addr lands = *target;
    if (is_unspecified(&lands)) {
        if (lands.family == AF_INET)
            lands.ip[0] = 127, lands.ip[3] = 1;
        else
            lands.ip[15] = 1;
    }
    return same_ip(&lands, listener) || (is_unspecified(listener) && is_loopback(&lands));
}

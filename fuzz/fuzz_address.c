/* Fuzzes the reader of peer addresses (net/address.h) against oracles that
 * do not share its code: the C library's inet_aton for IPv4 (the reading
 * every reference peer dials with), inet_pton for IPv6, strtoul for ports.
 *
 * The input is one "HOST:PORT" text. Accepted, it must: agree with the
 * oracles on the address and port; print as a host that inet_pton reads
 * back as the same bytes (so libevent, which reads only that form the same
 * way, dials where the peer meant); read back from its printed text as
 * itself, printed the same (one canonical form); and reach itself.
 * Refused, it must give a 400 with a message and leave its output alone;
 * a host refused as "a name" is exactly one cc_addr_host_is_name accepts.
 * Any failed property aborts. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "net/address.h"
#include "util/err.h"

#include "fuzz_support.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TARGET "fuzz_address"
#define INPUT_MAX 400

static void check(bool ok, const char *what) { fuzz_check(TARGET, ok, what); }

/* What inet_aton makes of host, when the C library reads it the way we
 * mean to: no NUL, no white space (inet_aton stops at the first), not
 * "localhost" (a name we map ourselves). -1: not comparable. */
static int aton_oracle(const char *host, size_t len, unsigned char ip[4])
{
    if (len == 0 || len > 253 || memchr(host, ':', len) || host[0] == '[')
        return -1;
    char text[260];
    for (size_t i = 0; i < len; i++)
        if (host[i] == '\0' || isspace((unsigned char)host[i]))
            return -1;
    memcpy(text, host, len);
    text[len] = '\0';
    if (strcasecmp(text, "localhost") == 0 || strcasecmp(text, "localhost.") == 0)
        return -1;
    struct in_addr in;
    if (inet_aton(text, &in) == 0)
        return 0;
    memcpy(ip, &in, 4);
    return 1;
}

/* inet_pton of an IPv6 host (brackets taken off). -1: not IPv6 text. */
static int pton6_oracle(const char *host, size_t len, unsigned char ip[16])
{
    bool bracketed = len >= 2 && host[0] == '[' && host[len - 1] == ']';
    if (!bracketed && (!memchr(host, ':', len) || host[0] == '['))
        return -1;
    if (bracketed) {
        host++;
        len -= 2;
    }
    char text[64];
    if (len >= sizeof text || memchr(host, '\0', len))
        return 0;
    memcpy(text, host, len);
    text[len] = '\0';
    return inet_pton(AF_INET6, text, ip) == 1;
}

static int port_oracle(const char *text, size_t len)
{
    if (len == 0 || len > 40)
        return -1; /* longer runs of digits are all refused or leading zeros: skip */
    char digits[48];
    for (size_t i = 0; i < len; i++)
        if (text[i] < '0' || text[i] > '9')
            return 0;
    memcpy(digits, text, len);
    digits[len] = '\0';
    errno = 0;
    unsigned long v = strtoul(digits, NULL, 10);
    return errno == 0 && v >= 1 && v <= 65535 ? (int)v : 0;
}

static void check_printed(const cc_addr *a)
{
    check(a->port >= 1 && a->port <= 65535, "port out of range");
    check(a->family == AF_INET || a->family == AF_INET6, "family");
    unsigned char back[16];
    check(inet_pton(a->family, a->host, back) == 1, "the canonical host is not inet_pton text");
    check(memcmp(back, a->ip, a->family == AF_INET ? 4 : 16) == 0,
          "the canonical host names other bytes");
    if (a->family == AF_INET6) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        check(memcmp(a->ip, mapped, sizeof mapped) != 0, "an IPv4-mapped address stayed IPv6");
    }
    char text[CC_ADDR_TEXT_MAX];
    cc_addr_format(a, text);
    cc_addr again;
    check(cc_addr_parse(text, strlen(text), &again, NULL), "the canonical text is refused");
    check(cc_addr_equal(a, &again), "the canonical text reads back as another address");
    char twice[CC_ADDR_TEXT_MAX];
    cc_addr_format(&again, twice);
    check(strcmp(text, twice) == 0, "the canonical text is not a fixed point");
    check(cc_addr_reaches(a, a), "an address does not reach itself");
}

/* The oracles, on what cc_addr_split made of the text. */
static void check_oracles(const char *host, size_t host_len, const char *port_text,
                          size_t port_len, bool accepted, const cc_addr *a)
{
    int port = port_oracle(port_text, port_len);
    if (port == 0)
        check(!accepted, "a bad port was accepted");
    if (port > 0 && accepted)
        check(a->port == port, "the port differs from strtoul's");
    unsigned char ip[16];
    int v4 = aton_oracle(host, host_len, ip);
    if (v4 == 1 && port > 0) {
        check(accepted, "an address inet_aton reads was refused");
        check(a->family == AF_INET && memcmp(a->ip, ip, 4) == 0, "not the address inet_aton reads");
    }
    if (v4 == 0 && accepted)
        check(false, "accepted an IPv4 host inet_aton refuses");
    int v6 = pton6_oracle(host, host_len, ip);
    if (v6 == 1 && port > 0) {
        check(accepted, "an address inet_pton reads was refused");
        unsigned char back[16];
        inet_pton(a->family, a->host, back);
        if (a->family == AF_INET6)
            check(memcmp(a->ip, ip, 16) == 0, "not the address inet_pton reads");
        else
            check(memcmp(a->ip, ip + 12, 4) == 0, "not the IPv4 address that is mapped");
    }
    if (v6 == 0)
        check(!accepted, "accepted an IPv6 host inet_pton refuses");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > INPUT_MAX)
        return 0;
    const char *text = (const char *)data;
    cc_addr a;
    memset(&a, 0xa5, sizeof a);
    cc_addr before = a;
    cc_err err = {0};
    bool accepted = cc_addr_parse(text, size, &a, &err);
    if (accepted)
        check_printed(&a);
    else
        check(err.code == CC_ERR_BAD_REQUEST && err.msg[0] && memcmp(&a, &before, sizeof a) == 0,
              "a refusal without a 400 and a message, or with its output changed");

    const char *host;
    size_t host_len;
    int port;
    if (!cc_addr_split(text, size, &host, &host_len, &port, NULL))
        return 0;
    const char *port_text = host + host_len + 1;
    check_oracles(host, host_len, port_text, (size_t)(text + size - port_text), accepted, &a);
    cc_addr made;
    cc_err why = {0};
    bool made_ok = cc_addr_make(host, host_len, port, &made, &why);
    check(made_ok == accepted, "split and make disagree with parse");
    if (!made_ok)
        check((strstr(why.msg, "a name") != NULL) == cc_addr_host_is_name(host, host_len),
              "a host refused as a name is not a name, or a name refused otherwise");
    return 0;
}

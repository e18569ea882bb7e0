/* Peer addresses in one canonical form, so that one peer is one address
 * however it was spelt: peers are compared, stored and dialled only in
 * this form (docs/http-network.md, "Peers"; docs/cheese-node.md, "Peers").
 *
 *   - IPv4 is printed in dotted decimal without leading zeros
 *     ("127.0.0.1"). It is read the way the C library's resolver and
 *     Python's socket module read it (inet_aton, POSIX inet_addr), since
 *     that is where every other implementation connects: one to four
 *     parts, each decimal, octal after a leading 0 or hexadecimal after
 *     0x, the last part filling the bytes left. So "0177.0.0.1",
 *     "127.000.000.001", "127.1" and "0x7f000001" are all 127.0.0.1, and
 *     "127.0.0.010" is 127.0.0.8. libevent's own parser reads "0177" as
 *     decimal 177: that disagreement is why nothing but canonical text is
 *     ever handed to a dialler.
 *   - IPv6 is read by inet_pton and printed by inet_ntop ("::1"); an
 *     IPv4-mapped address (::ffff:a.b.c.d) is the IPv4 address it maps,
 *     which is where a connection to it arrives. Zone ids are refused.
 *   - "localhost" (any case, with or without a final dot) is 127.0.0.1:
 *     the name is loopback by definition (RFC 6761), so no look-up is
 *     needed and nothing blocks.
 *   - A port is decimal digits only (leading zeros allowed), 1..65535,
 *     printed without leading zeros.
 *   - "HOST:PORT" text splits at the last ':' (so a bare IPv6 host works),
 *     or takes an IPv6 host in brackets; it is printed "1.2.3.4:80" or
 *     "[::1]:80".
 *
 * Other host names are not addresses. cc_addr_host_is_name tells a name
 * from garbage, for callers that look names up (net/lookup.h) and then
 * canonicalise the address found.
 *
 * Errors: CC_ERR_BAD_REQUEST, with a message that says what is wrong
 * ("the port must be 1 to 65535", "the host is a name, not an address")
 * without quoting the text, which may hold anything: callers add what
 * context they can show. On failure every output is left untouched.
 * Pure: no I/O, no state; any thread. */
#ifndef CC_NET_ADDRESS_H
#define CC_NET_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

struct sockaddr;

#define CC_ADDR_HOST_MAX 46  /* INET6_ADDRSTRLEN: the longest canonical host */
#define CC_ADDR_TEXT_MAX 56  /* "[" host "]:" port and the NUL */
#define CC_ADDR_NAME_MAX 253 /* the longest host name (RFC 1035) */

typedef struct cc_addr {
    int family;                  /* AF_INET or AF_INET6 */
    unsigned char ip[16];        /* network byte order; the first 4 bytes for AF_INET */
    int port;                    /* 1..65535 */
    char host[CC_ADDR_HOST_MAX]; /* the canonical host text */
} cc_addr;

/* A port: len digits (leading zeros allowed) with a value of 1..65535. */
bool cc_addr_port(const char *text, size_t len, int *port, cc_err *err);

/* host (len bytes: an IPv4 or IPv6 address, IPv6 optionally in brackets,
 * or localhost) and port (1..65535) as an address. A host name is refused
 * with "... is a host name, not an address". */
bool cc_addr_make(const char *host, size_t len, int port, cc_addr *out, cc_err *err);

/* Splits "HOST:PORT" (len bytes) and reads the port: *host points into
 * text (an IPv6 host in brackets keeps them); the host is not checked. */
bool cc_addr_split(const char *text, size_t len, const char **host, size_t *host_len, int *port,
                   cc_err *err);

/* "HOST:PORT" (len bytes) as an address: cc_addr_split, then cc_addr_make. */
bool cc_addr_parse(const char *text, size_t len, cc_addr *out, cc_err *err);

/* The canonical "HOST:PORT" text of a. */
void cc_addr_format(const cc_addr *a, char out[CC_ADDR_TEXT_MAX]);

/* The canonical form of the NUL-terminated "HOST:PORT" text. */
bool cc_addr_canonical(const char *text, char out[CC_ADDR_TEXT_MAX], cc_err *err);

/* True when host (len bytes) has the form of a DNS name that is not an
 * address: labels of letters, digits, '-' and '_', 1..63 bytes each,
 * 253 in all, an optional final dot, and a last label that is not all
 * digits (so "1.2.3.256" is a bad address, not a name). */
bool cc_addr_host_is_name(const char *host, size_t len);

/* An IPv4 or IPv6 socket address (a resolver's answer) with port, as an
 * address; false for other families. */
bool cc_addr_from_sockaddr(const struct sockaddr *sa, int port, cc_addr *out, cc_err *err);

/* True when a and b are the same IP and port. */
bool cc_addr_equal(const cc_addr *a, const cc_addr *b);

/* True when a connection to target arrives at a socket listening on
 * listener: the same port, and the same IP, or a loopback one when the
 * listener is on every address (0.0.0.0 or ::). A target of 0.0.0.0 or ::
 * is where Linux connects it: the loopback 127.0.0.1 or ::1. This is how
 * a node recognises itself under another spelling. */
bool cc_addr_reaches(const cc_addr *target, const cc_addr *listener);

#endif

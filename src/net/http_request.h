/* The lenient HTTP/1.1 request reader: an incremental parser that turns
 * bytes from a socket into requests, accepting what reference nodes of the
 * http network send (PROTOCOL.md A.5):
 *   - POST without Content-Length: the body runs until the client closes its
 *     side (cc_http_parser_finish), or ends as soon as it holds one complete
 *     JSON value (balanced brackets outside strings), since a client that
 *     neither closes nor says how long its body is would otherwise wait
 *     forever;
 *   - bare "\n" line ends as well as "\r\n", any header-name case,
 *     "Content-Type: json/application" or none at all;
 *   - "Transfer-Encoding: chunked" bodies, decoded.
 * Limits (header bytes, body bytes) are checked before anything grows.
 *
 * Pure: no sockets, no libevent; the server feeds it bytes. Not thread-safe;
 * one parser per connection. Ownership: the parser owns the request it
 * fills; cc_http_parser_reset releases it and readies the parser for the
 * next request on a keep-alive connection. */
#ifndef CC_NET_HTTP_REQUEST_H
#define CC_NET_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

typedef struct cc_http_request {
    char method[16];   /* "GET", "POST", ... as sent (upper-cased) */
    char *target;      /* request target as sent, e.g. "/getblocks?id=00ab" */
    char *path;        /* target up to '?', percent-decoding NOT applied */
    char *query;       /* after '?', or "" */
    char *host;        /* Host header value or NULL */
    char *authorization; /* Authorization header value or NULL */
    char *origin;      /* Origin header value or NULL (browsers send it; the API
                          trusts no page with the loopback rule) */
    int64_t content_length; /* -1 when absent */
    bool keep_alive;   /* HTTP/1.1 without "Connection: close", or 1.0 with keep-alive */
    bool body_until_close; /* the body had no length: the connection ends after the answer */
    cc_buf body;
} cc_http_request;

typedef struct cc_http_limits {
    size_t max_header_bytes; /* request line + headers; beyond: CC_ERR_HEADERS_TOO_LARGE */
    size_t max_body_bytes;   /* beyond: CC_ERR_TOO_LARGE (413) */
} cc_http_limits;
/* max_header_bytes counts every byte up to and including the blank line
 * that ends the headers (line ends and any blank lines before the request
 * line too), and is enforced as each byte arrives, so a header line that
 * never ends is cut off. The trailers of a chunked body get the same limit
 * on their own; a chunk-size line may be at most 1024 bytes (400 beyond). */

typedef enum cc_http_parse_status {
    CC_HTTP_NEED_MORE, /* all bytes consumed, request not complete yet */
    CC_HTTP_DONE,      /* a request is complete; *consumed says how much was used */
    CC_HTTP_ERROR,     /* malformed or over a limit; err says why; the connection
                          should get that status and be closed */
} cc_http_parse_status;

typedef struct cc_http_parser cc_http_parser;

/* limits must not be NULL; they are copied. */
cc_http_parser *cc_http_parser_new(const cc_http_limits *limits);
void cc_http_parser_free(cc_http_parser *p);

/* Feeds len bytes. Sets *consumed to the number of bytes used: on DONE the
 * remaining bytes belong to the next request (pipelining). */
cc_http_parse_status cc_http_parser_feed(cc_http_parser *p, const char *data, size_t len,
                                         size_t *consumed, cc_err *err);

/* The client closed its side. Completes a body that runs until close
 * (DONE), or reports a request cut short (ERROR) or nothing pending
 * (NEED_MORE, meaning: no request at all). */
cc_http_parse_status cc_http_parser_finish(cc_http_parser *p, cc_err *err);

/* The completed request; valid after DONE until reset/free. */
const cc_http_request *cc_http_parser_request(const cc_http_parser *p);

/* Forgets the completed request and readies the parser for the next one. */
void cc_http_parser_reset(cc_http_parser *p);

/* True once any byte of a request has arrived (for idle timeouts). */
bool cc_http_parser_started(const cc_http_parser *p);

/* Finds the value of `name` in a query string "a=1&b=2" (no decoding
 * beyond '%XX' and '+'); writes it NUL-terminated to out (out_size bytes).
 * Returns false when absent or too long. */
bool cc_http_query_get(const char *query, const char *name, char *out, size_t out_size);

#endif

#include "net/http_request.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hex.h"
#include "util/mem.h"

/* A chunk-size line is a few hex digits in practice; the cap only stops a
 * line that never ends from growing without bound. */
#define CHUNK_LINE_MAX 1024

typedef enum stage {
    ST_HEAD,        /* request line and headers, line by line */
    ST_BODY,        /* Content-Length body */
    ST_CHUNK_SIZE,  /* chunk-size line */
    ST_CHUNK_DATA,  /* chunk bytes */
    ST_CHUNK_END,   /* the line end after chunk bytes */
    ST_TRAILERS,    /* trailer lines after the last chunk */
    ST_UNTIL_CLOSE, /* body without length */
    ST_DONE,
    ST_ERROR,
} stage;

typedef enum json_phase {
    JSON_LEADING,   /* only whitespace so far */
    JSON_CONTAINER, /* inside an object or array */
    JSON_OTHER,     /* not an object or array: only a close can end it */
} json_phase;

/* Tracks, one byte at a time, whether the body so far holds a complete JSON
 * object or array, so that no byte is ever looked at twice. */
typedef struct json_scan {
    json_phase phase;
    size_t depth;
    bool in_string;
    bool escaped;
} json_scan;

typedef enum line_result { LINE_PARTIAL, LINE_DONE, LINE_OVER } line_result;

struct cc_http_parser {
    cc_http_limits limits;
    stage stage;
    cc_http_request req;
    cc_buf line;          /* the line being collected, without its LF */
    size_t section_bytes; /* bytes of the current header/trailer section or chunk line */
    uint64_t remaining;   /* bytes still due in the sized body or current chunk */
    json_scan json;
    bool started;
    bool have_request_line;
    bool http10;
    bool has_length;
    bool chunked;
    bool conn_close;
    bool conn_keep_alive;
    bool chunk_cr; /* a CR after chunk data has been seen */
    cc_err err;    /* kept so that a later feed or finish reports the same error */
};

static bool failf(cc_http_parser *p, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool failf(cc_http_parser *p, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err.msg, sizeof p->err.msg, fmt, ap);
    va_end(ap);
    p->err.code = code;
    p->stage = ST_ERROR;
    return false;
}

static bool bad_request(cc_http_parser *p, const char *what)
{
    return failf(p, CC_ERR_BAD_REQUEST, "%s", what);
}

/* ---- character classes ---- */

static bool is_ows(char c) { return c == ' ' || c == '\t'; }

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* RFC 9110 tchar: what a header name may be made of. */
static bool is_tchar(char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Control characters (other than tab) in a head line would let a request
 * smuggle a line end past us or into logs. */
static bool has_ctl(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return true;
    }
    return false;
}

static bool ieq(const char *s, size_t len, const char *lit)
{
    if (strlen(lit) != len)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != lit[i])
            return false;
    }
    return true;
}

static void trim_ows(const char **s, size_t *len)
{
    while (*len > 0 && is_ows((*s)[0])) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && is_ows((*s)[*len - 1]))
        (*len)--;
}

/* ---- line collection ---- */

/* Appends bytes up to the next LF to p->line. `room` is how many bytes
 * (LF included) the line may still take: exceeding it is reported as soon
 * as the excess byte arrives, not when the line finally ends. */
static line_result gather_line(cc_http_parser *p, const char *d, size_t n, size_t room,
                               size_t *used)
{
    const char *lf = memchr(d, '\n', n);
    size_t take = lf ? (size_t)(lf - d) + 1 : n;
    if (take > room) {
        *used = room;
        return LINE_OVER;
    }
    cc_buf_append(&p->line, d, lf ? take - 1 : take);
    *used = take;
    return lf ? LINE_DONE : LINE_PARTIAL;
}

/* The collected line without its optional CR. */
static const char *line_text(const cc_http_parser *p, size_t *len)
{
    *len = p->line.len;
    if (*len > 0 && p->line.data[*len - 1] == '\r')
        (*len)--;
    return cc_buf_str(&p->line);
}

/* ---- request line ---- */

static bool valid_method(const char *s, size_t len)
{
    if (len == 0 || len >= sizeof ((cc_http_request *)0)->method)
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] < 'A' || s[i] > 'Z')
            return false;
    return true;
}

/* "HTTP/1.<digit>": a higher 1.x minor is read as 1.1 (RFC 9112 2.3). */
static bool parse_version(cc_http_parser *p, const char *v, size_t len)
{
    if (len != 8 || memcmp(v, "HTTP/1.", 7) != 0 || !is_digit(v[7]))
        return bad_request(p, "unsupported HTTP version (expected HTTP/1.x)");
    p->http10 = v[7] == '0';
    return true;
}

static void set_target(cc_http_request *r, const char *t, size_t len)
{
    const char *q = memchr(t, '?', len);
    size_t path_len = q ? (size_t)(q - t) : len;
    r->target = cc_strndup(t, len);
    r->path = cc_strndup(t, path_len);
    r->query = q ? cc_strndup(q + 1, len - path_len - 1) : cc_strdup("");
}

static bool request_line(cc_http_parser *p, const char *s, size_t len)
{
    if (has_ctl(s, len))
        return bad_request(p, "control character in request line");
    const char *sp1 = memchr(s, ' ', len);
    const char *target = sp1 ? sp1 + 1 : NULL;
    const char *sp2 = target ? memchr(target, ' ', len - (size_t)(target - s)) : NULL;
    if (!sp2)
        return bad_request(p, "malformed request line (expected METHOD SP target SP HTTP/1.x)");
    size_t method_len = (size_t)(sp1 - s);
    size_t target_len = (size_t)(sp2 - target);
    if (!valid_method(s, method_len))
        return bad_request(p, "method must be 1 to 15 upper-case letters");
    if (target_len == 0 || target[0] != '/')
        return bad_request(p, "request target must start with '/'");
    if (memchr(target, '\t', target_len))
        return bad_request(p, "tab in request target");
    if (!parse_version(p, sp2 + 1, len - (size_t)(sp2 + 1 - s)))
        return false;
    memcpy(p->req.method, s, method_len);
    p->req.method[method_len] = '\0';
    set_target(&p->req, target, target_len);
    p->have_request_line = true;
    return true;
}

/* ---- header fields ---- */

typedef struct field {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} field;

/* Splits "name: value"; `what` names the section in error messages. */
static bool parse_field(cc_http_parser *p, const char *s, size_t len, const char *what,
                        field *f)
{
    if (len > 0 && is_ows(s[0]))
        return failf(p, CC_ERR_BAD_REQUEST, "folded %s line (obsolete line folding)", what);
    if (has_ctl(s, len))
        return failf(p, CC_ERR_BAD_REQUEST, "control character in %s", what);
    const char *colon = memchr(s, ':', len);
    if (!colon)
        return failf(p, CC_ERR_BAD_REQUEST, "%s line without ':'", what);
    f->name = s;
    f->name_len = (size_t)(colon - s);
    if (f->name_len == 0)
        return failf(p, CC_ERR_BAD_REQUEST, "empty %s name", what);
    for (size_t i = 0; i < f->name_len; i++)
        if (!is_tchar(s[i]))
            return failf(p, CC_ERR_BAD_REQUEST, "invalid character in %s name", what);
    f->value = colon + 1;
    f->value_len = len - f->name_len - 1;
    trim_ows(&f->value, &f->value_len);
    return true;
}

static bool apply_content_length(cc_http_parser *p, const char *v, size_t len)
{
    if (len == 0)
        return bad_request(p, "empty Content-Length");
    uint64_t n = 0;
    bool huge = false;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(v[i]))
            return bad_request(p, "Content-Length must be digits only");
        unsigned d = (unsigned)(v[i] - '0');
        if (huge || n > ((uint64_t)INT64_MAX - d) / 10)
            huge = true;
        else
            n = n * 10 + d;
    }
    if (huge || n > p->limits.max_body_bytes)
        return failf(p, CC_ERR_TOO_LARGE, "body larger than the limit of %zu bytes",
                     p->limits.max_body_bytes);
    if (p->has_length && (uint64_t)p->req.content_length != n)
        return bad_request(p, "conflicting Content-Length headers");
    p->has_length = true;
    p->req.content_length = (int64_t)n;
    return true;
}

static bool apply_transfer_encoding(cc_http_parser *p, const char *v, size_t len)
{
    if (p->chunked)
        return bad_request(p, "repeated Transfer-Encoding header");
    if (!ieq(v, len, "chunked"))
        return bad_request(p, "unsupported Transfer-Encoding (only chunked is accepted)");
    p->chunked = true;
    return true;
}

/* Connection is a comma-separated list; other tokens (Upgrade, TE) are
 * irrelevant to us. */
static void apply_connection(cc_http_parser *p, const char *v, size_t len)
{
    while (len > 0) {
        const char *comma = memchr(v, ',', len);
        size_t tok_len = comma ? (size_t)(comma - v) : len;
        const char *tok = v;
        size_t trimmed = tok_len;
        trim_ows(&tok, &trimmed);
        if (ieq(tok, trimmed, "close"))
            p->conn_close = true;
        else if (ieq(tok, trimmed, "keep-alive"))
            p->conn_keep_alive = true;
        v += tok_len + (comma ? 1 : 0);
        len -= tok_len + (comma ? 1 : 0);
    }
}

static bool apply_header(cc_http_parser *p, const field *f)
{
    if (ieq(f->name, f->name_len, "content-length"))
        return apply_content_length(p, f->value, f->value_len);
    if (ieq(f->name, f->name_len, "transfer-encoding"))
        return apply_transfer_encoding(p, f->value, f->value_len);
    if (ieq(f->name, f->name_len, "connection")) {
        apply_connection(p, f->value, f->value_len);
        return true;
    }
    if (ieq(f->name, f->name_len, "host")) {
        /* Two Host headers could route one request two ways (RFC 9112 3.2). */
        if (p->req.host)
            return bad_request(p, "repeated Host header");
        p->req.host = cc_strndup(f->value, f->value_len);
    }
    /* Repeated, either could be the one checked: refused like Host. */
    if (ieq(f->name, f->name_len, "authorization")) {
        if (p->req.authorization)
            return bad_request(p, "repeated Authorization header");
        p->req.authorization = cc_strndup(f->value, f->value_len);
    }
    if (ieq(f->name, f->name_len, "origin")) {
        if (p->req.origin)
            return bad_request(p, "repeated Origin header");
        p->req.origin = cc_strndup(f->value, f->value_len);
    }
    return true;
}

/* ---- end of head: choose how the body is framed ---- */

static bool method_is(const cc_http_parser *p, const char *m)
{
    return strcmp(p->req.method, m) == 0;
}

static void start_chunk_line(cc_http_parser *p)
{
    p->stage = ST_CHUNK_SIZE;
    p->section_bytes = 0;
}

static bool end_of_head(cc_http_parser *p)
{
    /* Both framings at once is the classic request-smuggling vector. */
    if (p->has_length && p->chunked)
        return bad_request(p, "both Content-Length and Transfer-Encoding");
    p->req.keep_alive = p->http10 ? p->conn_keep_alive && !p->conn_close : !p->conn_close;
    if (p->chunked) {
        start_chunk_line(p);
    } else if (p->has_length) {
        p->remaining = (uint64_t)p->req.content_length;
        p->stage = p->remaining > 0 ? ST_BODY : ST_DONE;
    } else if (method_is(p, "POST") || method_is(p, "PUT")) {
        /* Reference nodes post without a length; only the close (or a
         * complete JSON value) marks the end, so the connection cannot
         * carry another request. */
        p->req.body_until_close = true;
        p->req.keep_alive = false;
        p->stage = ST_UNTIL_CLOSE;
    } else {
        p->stage = ST_DONE;
    }
    return true;
}

static bool head_line(cc_http_parser *p)
{
    size_t len;
    const char *s = line_text(p, &len);
    bool ok = true;
    field f;
    if (!p->have_request_line) {
        /* Blank lines before a request are allowed (RFC 9112 2.2): some
         * clients end a body with a stray CRLF. */
        if (len > 0)
            ok = request_line(p, s, len);
    } else if (len == 0) {
        ok = end_of_head(p);
    } else {
        ok = parse_field(p, s, len, "header", &f) && apply_header(p, &f);
    }
    cc_buf_reset(&p->line);
    return ok;
}

static void note_start(cc_http_parser *p, const char *d, size_t n)
{
    for (size_t i = 0; i < n && !p->started; i++)
        if (d[i] != '\r' && d[i] != '\n')
            p->started = true;
}

static bool step_head(cc_http_parser *p, const char *d, size_t n, size_t *used)
{
    size_t room = p->limits.max_header_bytes - p->section_bytes;
    line_result r = gather_line(p, d, n, room, used);
    p->section_bytes += *used;
    if (!p->started)
        note_start(p, d, *used);
    if (r == LINE_OVER)
        return failf(p, CC_ERR_HEADERS_TOO_LARGE,
                     "request line and headers exceed the limit of %zu bytes",
                     p->limits.max_header_bytes);
    return r == LINE_PARTIAL || head_line(p);
}

/* ---- bodies ---- */

static bool step_body(cc_http_parser *p, const char *d, size_t n, size_t *used)
{
    size_t take = n < p->remaining ? n : (size_t)p->remaining;
    cc_buf_append(&p->req.body, d, take);
    p->remaining -= take;
    *used = take;
    if (p->remaining == 0)
        p->stage = p->chunked ? ST_CHUNK_END : ST_DONE;
    return true;
}

static bool chunk_size_line(cc_http_parser *p)
{
    size_t len;
    const char *s = line_text(p, &len);
    if (has_ctl(s, len))
        return bad_request(p, "control character in chunk size line");
    size_t i = 0;
    uint64_t size = 0;
    bool huge = false;
    for (; i < len && cc_hex_digit(s[i]) >= 0; i++) {
        huge = huge || size > (UINT64_MAX >> 4);
        size = (size << 4) | (uint64_t)cc_hex_digit(s[i]);
    }
    size_t digits = i;
    while (i < len && is_ows(s[i]))
        i++;
    if (digits == 0 || (i < len && s[i] != ';'))
        return bad_request(p, "malformed chunk size line");
    if (huge || size > p->limits.max_body_bytes - p->req.body.len)
        return failf(p, CC_ERR_TOO_LARGE, "chunked body larger than the limit of %zu bytes",
                     p->limits.max_body_bytes);
    cc_buf_reset(&p->line);
    p->remaining = size;
    p->section_bytes = 0;
    p->stage = size > 0 ? ST_CHUNK_DATA : ST_TRAILERS;
    return true;
}

static bool step_chunk_size(cc_http_parser *p, const char *d, size_t n, size_t *used)
{
    line_result r = gather_line(p, d, n, CHUNK_LINE_MAX - p->section_bytes, used);
    p->section_bytes += *used;
    if (r == LINE_OVER)
        return failf(p, CC_ERR_BAD_REQUEST, "chunk size line longer than %d bytes",
                     CHUNK_LINE_MAX);
    return r == LINE_PARTIAL || chunk_size_line(p);
}

static bool step_chunk_end(cc_http_parser *p, const char *d, size_t n, size_t *used)
{
    (void)n;
    *used = 1;
    if (d[0] == '\r' && !p->chunk_cr) {
        p->chunk_cr = true;
        return true;
    }
    if (d[0] != '\n')
        return bad_request(p, "chunk data not followed by a line end");
    p->chunk_cr = false;
    start_chunk_line(p);
    return true;
}

/* Trailers are checked for syntax and otherwise ignored: nothing we need
 * may arrive after the body. */
static bool step_trailers(cc_http_parser *p, const char *d, size_t n, size_t *used)
{
    size_t room = p->limits.max_header_bytes - p->section_bytes;
    line_result r = gather_line(p, d, n, room, used);
    p->section_bytes += *used;
    if (r == LINE_OVER)
        return failf(p, CC_ERR_HEADERS_TOO_LARGE, "trailers exceed the limit of %zu bytes",
                     p->limits.max_header_bytes);
    if (r == LINE_PARTIAL)
        return true;
    size_t len;
    const char *s = line_text(p, &len);
    field f;
    bool ok = len == 0 || parse_field(p, s, len, "trailer", &f);
    cc_buf_reset(&p->line);
    if (ok && len == 0)
        p->stage = ST_DONE;
    return ok;
}

static bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* True when c closes the outermost bracket. Brackets are counted without
 * pairing '{' with '}': a mismatch is invalid JSON that the body's reader
 * rejects anyway, and valid JSON always balances at its true end. */
static bool json_step(json_scan *j, char c)
{
    if (j->phase == JSON_LEADING) {
        if (!is_json_space(c))
            j->phase = (c == '{' || c == '[') ? JSON_CONTAINER : JSON_OTHER;
        j->depth = j->phase == JSON_CONTAINER;
        return false;
    }
    if (j->in_string) {
        if (j->escaped)
            j->escaped = false;
        else if (c == '\\')
            j->escaped = true;
        else if (c == '"')
            j->in_string = false;
        return false;
    }
    if (c == '"')
        j->in_string = true;
    else if (c == '{' || c == '[')
        j->depth++;
    else if (c == '}' || c == ']')
        return --j->depth == 0;
    return false;
}

/* Returns how many of the n bytes belong to the body: all of them, or up
 * to and including the byte that completes the JSON value. */
static size_t json_scan_bytes(json_scan *j, const char *d, size_t n, bool *complete)
{
    *complete = false;
    for (size_t i = 0; i < n && j->phase != JSON_OTHER; i++) {
        if (json_step(j, d[i])) {
            *complete = true;
            return i + 1;
        }
    }
    return n;
}

static bool step_until_close(cc_http_parser *p, const char *d, size_t n, size_t *used)
{
    size_t room = p->limits.max_body_bytes - p->req.body.len;
    bool complete;
    size_t take = json_scan_bytes(&p->json, d, n < room ? n : room, &complete);
    cc_buf_append(&p->req.body, d, take);
    *used = take;
    if (complete)
        p->stage = ST_DONE;
    else if (take < n)
        return failf(p, CC_ERR_TOO_LARGE, "body larger than the limit of %zu bytes",
                     p->limits.max_body_bytes);
    return true;
}

/* ---- public interface ---- */

static bool step(cc_http_parser *p, const char *d, size_t n, size_t *used)
{
    switch (p->stage) {
    case ST_HEAD:
        return step_head(p, d, n, used);
    case ST_BODY:
    case ST_CHUNK_DATA:
        return step_body(p, d, n, used);
    case ST_CHUNK_SIZE:
        return step_chunk_size(p, d, n, used);
    case ST_CHUNK_END:
        return step_chunk_end(p, d, n, used);
    case ST_TRAILERS:
        return step_trailers(p, d, n, used);
    case ST_UNTIL_CLOSE:
        return step_until_close(p, d, n, used);
    case ST_DONE:
    case ST_ERROR:
        break;
    }
    *used = 0;
    return true;
}

static cc_http_parse_status report(const cc_http_parser *p, cc_err *err)
{
    if (p->stage == ST_DONE)
        return CC_HTTP_DONE;
    if (p->stage != ST_ERROR)
        return CC_HTTP_NEED_MORE;
    if (err)
        *err = p->err;
    return CC_HTTP_ERROR;
}

static void request_init(cc_http_request *r)
{
    memset(r, 0, sizeof *r);
    r->content_length = -1;
}

static void request_release(cc_http_request *r)
{
    free(r->target);
    free(r->path);
    free(r->query);
    free(r->host);
    free(r->authorization);
    free(r->origin);
    cc_buf_free(&r->body);
    request_init(r);
}

cc_http_parser *cc_http_parser_new(const cc_http_limits *limits)
{
    cc_http_parser *p = cc_calloc(1, sizeof *p);
    p->limits = *limits;
    request_init(&p->req);
    return p;
}

void cc_http_parser_free(cc_http_parser *p)
{
    if (!p)
        return;
    request_release(&p->req);
    cc_buf_free(&p->line);
    free(p);
}

cc_http_parse_status cc_http_parser_feed(cc_http_parser *p, const char *data, size_t len,
                                         size_t *consumed, cc_err *err)
{
    size_t pos = 0;
    while (pos < len && p->stage != ST_DONE && p->stage != ST_ERROR) {
        size_t used = 0;
        bool ok = step(p, data + pos, len - pos, &used);
        pos += used;
        if (!ok)
            break;
    }
    if (consumed)
        *consumed = pos;
    return report(p, err);
}

cc_http_parse_status cc_http_parser_finish(cc_http_parser *p, cc_err *err)
{
    if (p->stage == ST_UNTIL_CLOSE)
        p->stage = ST_DONE;
    else if (p->stage != ST_DONE && p->stage != ST_ERROR && p->started)
        failf(p, CC_ERR_BAD_REQUEST, "request cut short");
    return report(p, err);
}

const cc_http_request *cc_http_parser_request(const cc_http_parser *p) { return &p->req; }

void cc_http_parser_reset(cc_http_parser *p)
{
    cc_http_limits limits = p->limits;
    cc_buf line = p->line;
    request_release(&p->req);
    memset(p, 0, sizeof *p);
    p->limits = limits;
    p->line = line;
    cc_buf_reset(&p->line);
    request_init(&p->req);
}

bool cc_http_parser_started(const cc_http_parser *p) { return p->started; }

/* ---- query strings ---- */

/* Decodes one character at *s: '+' is a space and "%XX" a byte; a '%' not
 * followed by two hex digits stands for itself, as in Python's unquote. */
static char query_char(const char **s, const char *end)
{
    const char *c = *s;
    if (*c == '+') {
        *s = c + 1;
        return ' ';
    }
    if (*c == '%' && end - c >= 3 && cc_hex_digit(c[1]) >= 0 && cc_hex_digit(c[2]) >= 0) {
        *s = c + 3;
        return (char)(cc_hex_digit(c[1]) * 16 + cc_hex_digit(c[2]));
    }
    *s = c + 1;
    return *c;
}

static bool key_matches(const char *k, const char *end, const char *name)
{
    while (k < end) {
        if (*name == '\0' || query_char(&k, end) != *name)
            return false;
        name++;
    }
    return *name == '\0';
}

/* A decoded NUL could not be told apart from the end of out, so such a
 * value is refused rather than silently cut. */
static bool copy_value(const char *v, const char *end, char *out, size_t out_size)
{
    size_t n = 0;
    while (v < end) {
        char c = query_char(&v, end);
        if (c == '\0' || n + 1 >= out_size)
            return false;
        out[n++] = c;
    }
    out[n] = '\0';
    return true;
}

bool cc_http_query_get(const char *query, const char *name, char *out, size_t out_size)
{
    if (!query || !name || !out || out_size == 0)
        return false;
    out[0] = '\0';
    for (const char *pair = query;;) {
        const char *amp = strchr(pair, '&');
        const char *end = amp ? amp : pair + strlen(pair);
        const char *eq = memchr(pair, '=', (size_t)(end - pair));
        if (end > pair && key_matches(pair, eq ? eq : end, name)) {
            if (copy_value(eq ? eq + 1 : end, end, out, out_size))
                return true;
            out[0] = '\0';
            return false;
        }
        if (!amp)
            return false;
        pair = amp + 1;
    }
}

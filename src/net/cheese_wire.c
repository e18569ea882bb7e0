#include "net/cheese_wire.h"

#include <event2/buffer.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

/* Longest whole keyword, opener included ("GETOPENTRANSACTIONSRESP["): the
 * bytes held at the start of a message never exceed it, since they grow only
 * while they are a proper prefix of some keyword. */
#define KW_MAX 32
_Static_assert(sizeof "GETOPENTRANSACTIONSRESP[" <= KW_MAX, "KW_MAX too small");

/* A buffer larger than this is freed, not kept for reuse, once its message
 * is done with: a connection that once sent a 16 MiB payload would
 * otherwise hold that much for as long as it stays open, counted nowhere
 * (cc_cheese_wire_held counts only messages still arriving). */
#define KEEP_BYTES (8 * 1024)

typedef enum shape {
    BARE, /* the keyword is the whole message */
    ARG,  /* the keyword, then an argument up to newline, keyword or silence */
    JSON, /* the keyword, then one balanced JSON object or array */
} shape;

typedef struct keyword {
    const char *text;    /* as on the wire; for JSON without the opening bracket */
    size_t text_len;
    cc_cheese_cmd cmd;
    cc_cheese_spelling spelling;
    shape shape;
    const char *openers; /* JSON: the brackets that may follow the text */
    char suffix;         /* JSON: separator of an optional trailing peer id, or 0 */
    bool keeps_keyword;  /* "PID": the keyword is the start of the argument (the id) */
    /* Written with "\r\n" after it: the seed era's code reads requests as
     * lines and never answers one that has no line end. Its answers come
     * bare and are read one recv() each, every byte kept (an id read as
     * "PID...\r\n" would be a different id), so answers get none. */
    bool line_end;
} keyword;

#define KW(text, ...) {text, sizeof text - 1, __VA_ARGS__}

/* Whole forms never extend one another except "HCK" / "HCKACK", which is
 * why a bare keyword may have to wait for the next byte. */
static const keyword keywords[] = {
    KW("Connection Successful", CC_CHEESE_GREETING, CC_CHEESE_ANY, BARE, NULL, 0, false, false),
    KW("JOIN_CHAIN:", CC_CHEESE_JOIN, CC_CHEESE_SEED, ARG, NULL, 0, false, true),
    KW("PCONNECT:", CC_CHEESE_JOIN, CC_CHEESE_LATER, ARG, NULL, 0, false, false),
    KW("PID", CC_CHEESE_JOINED, CC_CHEESE_SEED, ARG, NULL, 0, true, false),
    KW("TCONNECTRESP:", CC_CHEESE_JOINED, CC_CHEESE_LATER, ARG, NULL, 0, false, false),
    KW("GET_PEERS:", CC_CHEESE_GET_PEERS, CC_CHEESE_SEED, ARG, NULL, 0, false, true),
    KW("GETPEERS:", CC_CHEESE_GET_PEERS, CC_CHEESE_LATER, ARG, NULL, 0, false, false),
    KW("CPSS", CC_CHEESE_PEERS, CC_CHEESE_SEED, JSON, "[", 0, false, false),
    KW("GETPEERSRESP", CC_CHEESE_PEERS, CC_CHEESE_LATER, JSON, "[", 0, false, false),
    KW("INVALID_PEER_ID", CC_CHEESE_INVALID_PEER_ID, CC_CHEESE_SEED, BARE, NULL, 0, false, false),
    KW("INVALIDPEERID", CC_CHEESE_INVALID_PEER_ID, CC_CHEESE_LATER, BARE, NULL, 0, false, false),
    KW("Connection to peer ", CC_CHEESE_PEER_GREETING, CC_CHEESE_SEED, ARG, NULL, 0, false, false),
    /* the seed era's code greets this way; read, never written */
    KW("Connected to peer: ", CC_CHEESE_PEER_GREETING, CC_CHEESE_SEED, ARG, NULL, 0, false, false),
    KW("PCONNECTACK:", CC_CHEESE_PEER_GREETING, CC_CHEESE_LATER, ARG, NULL, 0, false, false),
    KW("GET_CHAIN:", CC_CHEESE_GET_CHAIN, CC_CHEESE_SEED, ARG, NULL, 0, false, true),
    KW("GETCHAIN:", CC_CHEESE_GET_CHAIN, CC_CHEESE_LATER, ARG, NULL, 0, false, false),
    KW("CHAIN", CC_CHEESE_CHAIN, CC_CHEESE_SEED, JSON, "[", 0, false, false),
    KW("GETCHAINRESP", CC_CHEESE_CHAIN, CC_CHEESE_LATER, JSON, "[", 0, false, false),
    KW("GET_OPEN_TRANSACTIONS:", CC_CHEESE_GET_OPEN_TXS, CC_CHEESE_SEED, ARG, NULL, 0, false, true),
    KW("GETOPENTRANSACTIONS:", CC_CHEESE_GET_OPEN_TXS, CC_CHEESE_LATER, ARG, NULL, 0, false, false),
    KW("TR", CC_CHEESE_OPEN_TXS, CC_CHEESE_SEED, JSON, "[", 0, false, false),
    KW("GETOPENTRANSACTIONSRESP", CC_CHEESE_OPEN_TXS, CC_CHEESE_LATER, JSON, "[", 0, false, false),
    KW("NEW_CHEESE", CC_CHEESE_NEW_CHEESE, CC_CHEESE_SEED, JSON, "{", 0, false, true),
    KW("BRCHEESE", CC_CHEESE_NEW_CHEESE, CC_CHEESE_LATER, JSON, "{[", ';', false, false),
    KW("BRCHEESEACK", CC_CHEESE_CHEESE_ACK, CC_CHEESE_LATER, BARE, NULL, 0, false, false),
    KW("BRTRANSACTION", CC_CHEESE_NEW_TX, CC_CHEESE_LATER, JSON, "{", ':', false, false),
    KW("BRTRANSACTIONACK", CC_CHEESE_TX_ACK, CC_CHEESE_LATER, BARE, NULL, 0, false, false),
    KW("HCK", CC_CHEESE_HEALTH_CHECK, CC_CHEESE_LATER, BARE, NULL, 0, false, false),
    KW("HCKACK", CC_CHEESE_HEALTH_ACK, CC_CHEESE_LATER, BARE, NULL, 0, false, false),
    KW("REFUSED:", CC_CHEESE_REFUSED, CC_CHEESE_ANY, ARG, NULL, 0, false, false),
};
#define N_KEYWORDS (sizeof keywords / sizeof keywords[0])
_Static_assert(N_KEYWORDS <= 64, "keyword sets are 64-bit masks");
#define ALL_KEYWORDS (~(uint64_t)0 >> (64 - N_KEYWORDS))

/* The bytes that end some keyword's whole form, one bit each: the first
 * test of keyword_ending, which runs for every byte of every argument read
 * or written. Built from the table (keyword_enders), so it cannot fall out
 * of step with it. */
typedef struct enders {
    uint32_t bits[256 / 32];
} enders;

typedef enum state {
    ST_START,  /* between messages: kw holds the bytes of a keyword so far */
    ST_TEXT,   /* an argument (cur != NULL) or unknown text (cur == NULL) */
    ST_JSON,   /* a JSON payload, until its brackets balance */
    ST_SUFFIX, /* a payload is complete; its optional peer-id suffix may follow */
    ST_ERROR,
} state;

struct cc_cheese_wire {
    cc_cheese_wire_limits limits;
    state state;
    const keyword *cur; /* the command being read */
    char kw[KW_MAX];
    size_t kw_len;
    uint64_t alive;    /* the keywords kw[0..kw_len) is a prefix of, bit i for keywords[i] */
    enders enders;
    cc_buf text;       /* argument or unknown text */
    size_t text_floor; /* a keyword ending the text must start at or after this */
    cc_buf payload;
    size_t depth;
    bool in_string;
    bool escaped;
    /* Bytes already consumed that must be read again before new input: a
     * keyword that ended an argument, or what followed a failed keyword. */
    cc_buf carry;
    size_t carry_pos;
    bool ready; /* msg was handed out; its texts are cleared on the next call */
    cc_cheese_msg msg;
    cc_err err;
};

/* ---- keywords ---- */

typedef enum fit { FIT_NONE, FIT_PREFIX, FIT_FULL } fit;

static size_t full_len(const keyword *k) { return k->text_len + (k->shape == JSON); }

static bool is_opener(const keyword *k, char c)
{
    return c != '\0' && strchr(k->openers, c) != NULL;
}

/* How s[0..n) relates to k's whole form: unrelated, a proper prefix, or it. */
static fit fit_keyword(const keyword *k, const char *s, size_t n)
{
    size_t text_len = k->text_len;
    size_t whole = full_len(k);
    if (n > whole || memcmp(s, k->text, n < text_len ? n : text_len) != 0)
        return FIT_NONE;
    if (n > text_len && !is_opener(k, s[text_len]))
        return FIT_NONE;
    return n == whole ? FIT_FULL : FIT_PREFIX;
}

static const keyword *full_bare(const char *s, size_t n)
{
    for (size_t i = 0; i < N_KEYWORDS; i++)
        if (keywords[i].shape == BARE && fit_keyword(&keywords[i], s, n) == FIT_FULL)
            return &keywords[i];
    return NULL;
}

static void enders_add(enders *e, char c)
{
    unsigned char u = (unsigned char)c;
    e->bits[u / 32] |= (uint32_t)1 << (u % 32);
}

static bool enders_has(const enders *e, char c)
{
    unsigned char u = (unsigned char)c;
    return (e->bits[u / 32] >> (u % 32)) & 1;
}

static void keyword_enders(enders *e)
{
    *e = (enders){{0}};
    for (size_t i = 0; i < N_KEYWORDS; i++) {
        const keyword *k = &keywords[i];
        if (k->shape != JSON) {
            enders_add(e, k->text[k->text_len - 1]);
            continue;
        }
        for (const char *o = k->openers; *o; o++)
            enders_add(e, *o);
    }
}

/* The longest keyword whose whole form ends s[0..n) and starts at or after
 * `from`. "PID" counts only when ids_too: inside an argument it is the start
 * of a peer id, not a new message. e: keyword_enders. */
static const keyword *keyword_ending(const enders *e, const char *s, size_t n, size_t from,
                                     bool ids_too)
{
    if (n == 0 || !enders_has(e, s[n - 1]))
        return NULL; /* most bytes end no keyword */
    const keyword *best = NULL;
    for (size_t i = 0; i < N_KEYWORDS; i++) {
        const keyword *k = &keywords[i];
        size_t whole = full_len(k);
        if ((k->keeps_keyword && !ids_too) || whole > n || n - whole < from)
            continue;
        char last = s[n - 1]; /* cheap test first: this runs for every argument byte */
        if (k->shape == JSON ? !is_opener(k, last) : last != k->text[k->text_len - 1])
            continue;
        if ((!best || whole > full_len(best)) && fit_keyword(k, s + n - whole, whole) == FIT_FULL)
            best = k;
    }
    return best;
}

/* ---- state changes ---- */

static void failf(cc_cheese_wire *w, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void failf(cc_cheese_wire *w, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err.msg, sizeof w->err.msg, fmt, ap);
    va_end(ap);
    w->err.code = code;
    w->state = ST_ERROR;
}

/* Error texts name no command keyword, so that they can travel back to the
 * sender in a REFUSED message. */
static void fail_line(cc_cheese_wire *w)
{
    if (w->cur)
        failf(w, CC_ERR_TOO_LARGE, "message argument longer than %zu bytes",
              w->limits.max_line);
    else
        failf(w, CC_ERR_TOO_LARGE, "unknown text longer than %zu bytes without a line end",
              w->limits.max_line);
}

/* Puts bytes in front of those still to be read again. */
static void pushback(cc_cheese_wire *w, const char *bytes, size_t n)
{
    if (n == 0)
        return;
    if (w->carry_pos >= n) {
        w->carry_pos -= n;
        memcpy(w->carry.data + w->carry_pos, bytes, n);
        return;
    }
    cc_buf rest = CC_BUF_INIT;
    cc_buf_append(&rest, bytes, n);
    if (w->carry.len > w->carry_pos)
        cc_buf_append(&rest, w->carry.data + w->carry_pos, w->carry.len - w->carry_pos);
    cc_buf_free(&w->carry);
    w->carry = rest;
    w->carry_pos = 0;
}

static bool carry_pending(const cc_cheese_wire *w) { return w->carry_pos < w->carry.len; }

/* Completes a message of command k (NULL: unknown text) from what is held. */
static void emit(cc_cheese_wire *w, const keyword *k)
{
    w->msg = (cc_cheese_msg){
        .cmd = k ? k->cmd : CC_CHEESE_UNKNOWN,
        .spelling = k ? k->spelling : CC_CHEESE_ANY,
        .arg = cc_buf_str(&w->text),
        .arg_len = w->text.len,
        .payload = w->payload.len ? w->payload.data : NULL,
        .payload_len = w->payload.len,
    };
    w->ready = true;
    w->state = ST_START;
    w->kw_len = 0;
}

static void finish_text(cc_cheese_wire *w)
{
    if (w->text.len > w->limits.max_line)
        fail_line(w);
    else
        emit(w, w->cur);
}

static void begin(cc_cheese_wire *w, const keyword *k)
{
    char opener = w->kw[w->kw_len - 1];
    w->kw_len = 0;
    w->cur = k;
    if (k->shape == BARE) {
        emit(w, k);
    } else if (k->shape == ARG) {
        if (k->keeps_keyword)
            cc_buf_puts(&w->text, k->text);
        w->text_floor = w->text.len;
        w->state = ST_TEXT;
    } else {
        cc_buf_putc(&w->payload, opener);
        w->depth = 1;
        w->in_string = w->escaped = false;
        w->state = ST_JSON;
    }
}

/* The first byte is unknown text; the others are read again, as a keyword
 * may start inside them ("GEHCK" is "GE" then "HCK"). */
static void begin_unknown(cc_cheese_wire *w)
{
    w->cur = NULL;
    cc_buf_putc(&w->text, w->kw[0]);
    w->text_floor = 1;
    w->state = ST_TEXT;
    pushback(w, w->kw + 1, w->kw_len - 1);
    w->kw_len = 0;
}

/* No keyword starts with the bytes held. The longest bare command they
 * begin with is a message ("HCK" of "HCKAX"); otherwise they are unknown
 * text. Either way the bytes after it are read again. */
static void start_failed(cc_cheese_wire *w)
{
    for (size_t n = w->kw_len - 1; n > 0; n--) {
        const keyword *k = full_bare(w->kw, n);
        if (k) {
            pushback(w, w->kw + n, w->kw_len - n);
            emit(w, k);
            return;
        }
    }
    begin_unknown(w);
}

/* ---- one byte at a time ---- */

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* How the byte at position pos of k's whole form, c, extends a match of
 * the bytes before it (which fit): fit_keyword for one more byte. */
static fit extend_keyword(const keyword *k, size_t pos, char c)
{
    bool same = pos < k->text_len ? c == k->text[pos]
                                  : pos == k->text_len && k->shape == JSON && is_opener(k, c);
    if (!same)
        return FIT_NONE;
    return pos + 1 == full_len(k) ? FIT_FULL : FIT_PREFIX;
}

/* Only the keywords the bytes so far still fit are tried, each on the new
 * byte alone: this runs for every byte of every command read. */
static void step_start(cc_cheese_wire *w, char c)
{
    if (w->kw_len == 0 && is_space(c))
        return; /* line ends and blanks between messages carry nothing */
    if (w->kw_len == 0)
        w->alive = ALL_KEYWORDS;
    size_t pos = w->kw_len;
    w->kw[w->kw_len++] = c;
    const keyword *full = NULL;
    bool longer = false;
    for (uint64_t m = w->alive; m; m &= m - 1) {
        size_t i = (size_t)__builtin_ctzll(m);
        fit f = extend_keyword(&keywords[i], pos, c);
        if (f == FIT_NONE)
            w->alive &= ~((uint64_t)1 << i);
        else if (f == FIT_FULL)
            full = &keywords[i];
        longer = longer || f == FIT_PREFIX;
    }
    if (full && !longer)
        begin(w, full);
    else if (!full && !longer)
        start_failed(w);
}

static void step_text(cc_cheese_wire *w, char c)
{
    if (c == '\n') {
        if (w->text.len > w->text_floor && w->text.data[w->text.len - 1] == '\r')
            w->text.data[--w->text.len] = '\0';
        finish_text(w);
        return;
    }
    cc_buf_putc(&w->text, c);
    /* Room for a keyword that may be about to end the text: the limit
     * applies to the text without it, checked again when it completes. */
    if (w->text.len > w->limits.max_line + KW_MAX) {
        fail_line(w);
        return;
    }
    const keyword *k =
        keyword_ending(&w->enders, w->text.data, w->text.len, w->text_floor, w->cur == NULL);
    if (!k)
        return;
    size_t whole = full_len(k);
    w->text.len -= whole;
    pushback(w, w->text.data + w->text.len, whole);
    w->text.data[w->text.len] = '\0';
    finish_text(w);
}

/* Takes the bytes that neither end the text nor end a keyword in it in one
 * go, as step_text would one at a time (up to the length where it would
 * refuse the text); a byte that may do either goes to step_text. Returns
 * how many bytes of d[0..n) (n > 0) were read. */
static size_t step_text_run(cc_cheese_wire *w, const char *d, size_t n)
{
    size_t most = w->limits.max_line + KW_MAX;
    size_t room = w->text.len < most ? most - w->text.len : 0;
    size_t run = 0;
    while (run < n && run < room && d[run] != '\n' && !enders_has(&w->enders, d[run]))
        run++;
    if (run == 0) {
        step_text(w, d[0]);
        return 1;
    }
    cc_buf_append(&w->text, d, run);
    return run;
}

static bool json_byte(cc_cheese_wire *w, char c)
{
    if (w->in_string) {
        if (w->escaped)
            w->escaped = false;
        else if (c == '\\')
            w->escaped = true;
        else if (c == '"')
            w->in_string = false;
        return false;
    }
    if (c == '"')
        w->in_string = true;
    else if (c == '{' || c == '[')
        w->depth++;
    else if (c == '}' || c == ']')
        return --w->depth == 0;
    return false;
}

/* The first quote or backslash in d[from..n), or n: inside a string the
 * only bytes json_byte does something with. */
static size_t string_stop(const char *d, size_t from, size_t n)
{
    const char *quote = memchr(d + from, '"', n - from);
    size_t end = quote ? (size_t)(quote - d) : n;
    const char *backslash = memchr(d + from, '\\', end - from);
    return backslash ? (size_t)(backslash - d) : end;
}

/* Feeds d[0..n) to json_byte until the brackets balance; returns how many
 * bytes were read (the closing one included) and says in *closed whether
 * the brackets balanced. Payloads are mostly strings, whose bytes change
 * nothing until their closing quote or a backslash: memchr finds those
 * faster than a look at every byte. */
static size_t json_scan(cc_cheese_wire *w, const char *d, size_t n, bool *closed)
{
    *closed = false;
    size_t i = 0;
    while (i < n) {
        if (w->in_string && !w->escaped) {
            i = string_stop(d, i, n);
            if (i == n)
                break;
        }
        if (json_byte(w, d[i++])) {
            *closed = true;
            return i;
        }
    }
    return n;
}

/* Reads payload bytes from d[0..n) until the brackets balance; returns how
 * many belong to the payload. Brackets are counted without pairing '{' with
 * '}': a mismatch is invalid JSON that the payload's reader refuses, and
 * valid JSON always balances at its true end. */
static size_t step_json(cc_cheese_wire *w, const char *d, size_t n)
{
    size_t room = w->limits.max_payload - w->payload.len;
    size_t scan = n < room ? n : room;
    bool closed;
    size_t used = json_scan(w, d, scan, &closed);
    if (closed) {
        cc_buf_append(&w->payload, d, used);
        if (w->cur->suffix)
            w->state = ST_SUFFIX;
        else
            emit(w, w->cur);
        return used;
    }
    cc_buf_append(&w->payload, d, scan);
    if (n > room)
        failf(w, CC_ERR_TOO_LARGE, "message payload longer than %zu bytes",
              w->limits.max_payload);
    return n;
}

static void step_suffix(cc_cheese_wire *w, char c)
{
    if (c == w->cur->suffix) {
        w->text_floor = 0;
        w->state = ST_TEXT;
        return;
    }
    pushback(w, &c, 1);
    emit(w, w->cur);
}

static void step(cc_cheese_wire *w, char c)
{
    switch (w->state) {
    case ST_START:
        step_start(w, c);
        break;
    case ST_TEXT:
        step_text(w, c);
        break;
    case ST_JSON:
        step_json(w, &c, 1);
        break;
    case ST_SUFFIX:
        step_suffix(w, c);
        break;
    case ST_ERROR:
        break;
    }
}

/* ---- public interface ---- */

cc_cheese_wire *cc_cheese_wire_new(const cc_cheese_wire_limits *limits)
{
    cc_cheese_wire *w = cc_calloc(1, sizeof *w);
    w->limits = *limits;
    keyword_enders(&w->enders);
    return w;
}

void cc_cheese_wire_free(cc_cheese_wire *w)
{
    if (!w)
        return;
    cc_buf_free(&w->text);
    cc_buf_free(&w->payload);
    cc_buf_free(&w->carry);
    free(w);
}

static void clear_text(cc_buf *b)
{
    if (b->cap > KEEP_BYTES)
        cc_buf_free(b);
    else
        cc_buf_reset(b);
}

/* The message handed out last is done with: its texts can go. */
static void begin_call(cc_cheese_wire *w)
{
    if (!w->ready)
        return;
    w->ready = false;
    clear_text(&w->text);
    clear_text(&w->payload);
}

void cc_cheese_wire_done(cc_cheese_wire *w) { begin_call(w); }

static cc_cheese_status report(cc_cheese_wire *w, cc_cheese_msg *msg, cc_err *err)
{
    if (w->state == ST_ERROR) {
        if (err)
            *err = w->err;
        return CC_CHEESE_ERROR;
    }
    if (!w->ready)
        return CC_CHEESE_NEED_MORE;
    *msg = w->msg;
    return CC_CHEESE_MSG;
}

cc_cheese_status cc_cheese_wire_feed(cc_cheese_wire *w, const char *data, size_t len,
                                     size_t *consumed, cc_cheese_msg *msg, cc_err *err)
{
    begin_call(w);
    size_t i = 0;
    while (!w->ready && w->state != ST_ERROR) {
        if (carry_pending(w))
            step(w, w->carry.data[w->carry_pos++]);
        else if (i >= len)
            break;
        else if (w->state == ST_JSON)
            i += step_json(w, data + i, len - i); /* payloads are long: take runs */
        else if (w->state == ST_TEXT)
            i += step_text_run(w, data + i, len - i);
        else
            step(w, data[i++]);
    }
    if (!carry_pending(w)) {
        cc_buf_reset(&w->carry);
        w->carry_pos = 0;
    }
    if (consumed)
        *consumed = i;
    return report(w, msg, err);
}

/* Completes what silence completes; false when there is nothing to. */
static bool complete_at_silence(cc_cheese_wire *w)
{
    switch (w->state) {
    case ST_START:
        if (w->kw_len == 0)
            return false;
        if (full_bare(w->kw, w->kw_len))
            emit(w, full_bare(w->kw, w->kw_len));
        else
            start_failed(w); /* a keyword cut short: "GET_PEE" is unknown text */
        return true;
    case ST_TEXT:
        finish_text(w);
        return true;
    case ST_SUFFIX:
        emit(w, w->cur);
        return true;
    case ST_JSON:
    case ST_ERROR:
        break;
    }
    return false;
}

cc_cheese_status cc_cheese_wire_flush(cc_cheese_wire *w, cc_cheese_msg *msg, cc_err *err)
{
    for (;;) {
        cc_cheese_status st = cc_cheese_wire_feed(w, NULL, 0, NULL, msg, err);
        if (st != CC_CHEESE_NEED_MORE)
            return st;
        if (!complete_at_silence(w))
            return CC_CHEESE_NEED_MORE;
        if (w->ready || w->state == ST_ERROR)
            return report(w, msg, err);
    }
}

bool cc_cheese_wire_flushable(const cc_cheese_wire *w)
{
    return carry_pending(w) || w->state == ST_TEXT || w->state == ST_SUFFIX ||
           (w->state == ST_START && w->kw_len > 0);
}

cc_cheese_cmd cc_cheese_wire_pending(const cc_cheese_wire *w)
{
    bool started = w->state == ST_JSON || w->state == ST_SUFFIX || w->state == ST_TEXT;
    return started && w->cur ? w->cur->cmd : CC_CHEESE_UNKNOWN;
}

bool cc_cheese_wire_busy(const cc_cheese_wire *w)
{
    return carry_pending(w) || w->state != ST_START || w->kw_len > 0;
}

size_t cc_cheese_wire_held(const cc_cheese_wire *w)
{
    size_t carried = w->carry.len - w->carry_pos;
    /* the texts of a message handed out belong to a finished message */
    if (w->ready)
        return carried;
    return w->kw_len + w->text.len + w->payload.len + carried;
}

/* ---- writing ---- */

bool cc_cheese_peer_id_valid(const char *s, size_t len)
{
    if (len < 4 || len > 3 + 64 || memcmp(s, "PID", 3) != 0)
        return false;
    for (size_t i = 3; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F') ||
              (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* The keyword of cmd in a spelling; CC_CHEESE_ANY takes the first there is. */
static const keyword *find_keyword(cc_cheese_cmd cmd, cc_cheese_spelling spelling)
{
    for (size_t i = 0; i < N_KEYWORDS; i++) {
        const keyword *k = &keywords[i];
        if (k->cmd == cmd &&
            (spelling == CC_CHEESE_ANY || k->spelling == CC_CHEESE_ANY || k->spelling == spelling))
            return k;
    }
    return NULL;
}

const char *cc_cheese_cmd_name(cc_cheese_cmd cmd, cc_cheese_spelling spelling)
{
    const keyword *k = find_keyword(cmd, spelling);
    return k ? k->text : "?";
}

/* An argument the reader gets back exactly: printable ASCII, no keyword
 * inside that would end it early. */
static bool arg_writable(const char *arg, size_t len, cc_err *err)
{
    enders e;
    keyword_enders(&e);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)arg[i];
        if (c < 0x20 || c > 0x7e)
            return cc_fail(err, CC_ERR_BAD_REQUEST, "argument holds a control or non-ASCII byte");
        const keyword *k = keyword_ending(&e, arg, i + 1, 0, false);
        if (k)
            return cc_fail(err, CC_ERR_BAD_REQUEST, "argument holds the command %s", k->text);
    }
    return true;
}

/* One balanced value that k may carry, and nothing after it. */
static bool payload_writable(const keyword *k, const char *p, size_t len, cc_err *err)
{
    if (!p || len < 2 || !is_opener(k, p[0]))
        return cc_fail(err, CC_ERR_BAD_REQUEST, "%s needs a payload starting with %s", k->text,
                       k->openers);
    cc_cheese_wire scan = {.depth = 1};
    bool closed;
    size_t used = json_scan(&scan, p + 1, len - 1, &closed);
    if (!closed)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "payload of %s does not close", k->text);
    return used + 1 == len ||
           cc_fail(err, CC_ERR_BAD_REQUEST, "payload of %s has bytes after its end", k->text);
}

static bool needs_id(const keyword *k)
{
    return k->cmd == CC_CHEESE_JOINED || k->cmd == CC_CHEESE_PEER_GREETING;
}

static bool check_message(const keyword *k, const cc_cheese_msg *m, cc_err *err)
{
    const char *arg = m->arg ? m->arg : "";
    if (!m->arg && m->arg_len > 0)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "argument length without an argument");
    if (k->shape == JSON && !payload_writable(k, m->payload, m->payload_len, err))
        return false;
    if (k->shape != JSON && m->payload)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "%s takes no payload", k->text);
    if (m->arg_len > 0 && (k->shape == BARE || (k->shape == JSON && !k->suffix)))
        return cc_fail(err, CC_ERR_BAD_REQUEST, "%s takes no argument", k->text);
    if (needs_id(k) && !cc_cheese_peer_id_valid(arg, m->arg_len))
        return cc_fail(err, CC_ERR_BAD_REQUEST, "%s needs a peer id", k->text);
    return arg_writable(arg, m->arg_len, err);
}

bool cc_cheese_wire_format(cc_buf *out, const cc_cheese_msg *m, cc_err *err)
{
    if (m->cmd == CC_CHEESE_UNKNOWN)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "unknown text has no command to send");
    const keyword *k = find_keyword(m->cmd, m->spelling);
    if (!k)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "no such command in the %s spelling",
                       m->spelling == CC_CHEESE_LATER ? "later" : "seed");
    if (!check_message(k, m, err))
        return false;
    /* one allocation for the whole message, not one per doubling */
    cc_buf_reserve(out, k->text_len + m->payload_len + 1 + m->arg_len + 2);
    if (!k->keeps_keyword)
        cc_buf_puts(out, k->text);
    if (k->shape == JSON) {
        cc_buf_append(out, m->payload, m->payload_len);
        if (m->arg_len > 0)
            cc_buf_putc(out, k->suffix);
    }
    cc_buf_append(out, m->arg ? m->arg : "", m->arg_len);
    if (k->line_end)
        cc_buf_puts(out, "\r\n");
    return true;
}

#define HOST_MAX 253 /* the longest DNS name */

bool cc_cheese_host_valid(const char *s, size_t len)
{
    if (len == 0 || len > HOST_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_' || ch == ':';
        if (!ok)
            return false;
    }
    return true;
}

cc_cheese_status cc_cheese_wire_feed_evbuffer(cc_cheese_wire *w, struct evbuffer *in,
                                              cc_cheese_msg *msg, cc_err *err)
{
    struct evbuffer_iovec chunk = {0};
    bool have = evbuffer_peek(in, -1, NULL, &chunk, 1) > 0;
    size_t used = 0;
    cc_cheese_status st = cc_cheese_wire_feed(w, have ? chunk.iov_base : NULL,
                                              have ? chunk.iov_len : 0, &used, msg, err);
    evbuffer_drain(in, used);
    return st;
}

/* The cheese wire reader and writer (net/cheese_wire.h): every command in
 * both spellings, messages split over many reads and glued in one, silence,
 * limits and garbage. Every case is fed whole and in pieces of 1, 2, 3, 5, 7
 * and 64 bytes: the messages read must be the same. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "net/cheese_wire.h"
#include "util/buf.h"

static const cc_cheese_wire_limits limits = {.max_line = 64, .max_payload = 128};

static const size_t steps[] = {0, 1, 2, 3, 5, 7, 64};
#define NSTEPS (sizeof steps / sizeof steps[0])

static const char *const cmd_names[] = {
    "UNKNOWN",     "GREETING",   "JOIN",     "JOINED",         "GET_PEERS",
    "PEERS",       "INVALID_ID", "PEER_HELLO", "GET_CHAIN",    "CHAIN",
    "GET_OPEN_TXS", "OPEN_TXS",  "NEW_CHEESE", "CHEESE_ACK",   "NEW_TX",
    "TX_ACK",      "HCK",        "HCKACK",   "REFUSED",
};
static const char *const spelling_names[] = {"seed", "later", "any"};

/* Bytes as text, anything not printable as \xNN. */
static void append_escaped(cc_buf *log, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f)
            cc_buf_putc(log, (char)c);
        else
            cc_buf_printf(log, "\\x%02x", c);
    }
}

/* One line per message: "JOIN seed arg=h:1", "PEERS later payload=[]". */
static void record(cc_buf *log, const cc_cheese_msg *m)
{
    cc_buf_printf(log, "%s %s", cmd_names[m->cmd], spelling_names[m->spelling]);
    assert_non_null(m->arg);
    assert_int_equal(m->arg[m->arg_len], '\0');
    if (m->payload) {
        assert_int_equal(m->payload[m->payload_len], '\0');
        cc_buf_puts(log, " payload=");
        append_escaped(log, m->payload, m->payload_len);
    }
    if (m->arg_len > 0) {
        cc_buf_puts(log, " arg=");
        append_escaped(log, m->arg, m->arg_len);
    }
    cc_buf_putc(log, '\n');
}

static void record_error(cc_buf *log, const cc_err *err)
{
    cc_buf_printf(log, "ERROR %d\n", err->code);
}

/* Feeds one segment in pieces of `step` (0: whole), reading every message.
 * Returns false after an error. */
static bool feed_segment(cc_cheese_wire *w, const char *s, size_t len, size_t step, cc_buf *log)
{
    size_t off = 0;
    size_t piece = step ? step : len;
    do {
        size_t n = len - off < piece ? len - off : piece;
        const char *d = s + off;
        off += n;
        for (;;) {
            cc_cheese_msg m;
            cc_err err = {0};
            size_t used = 99999;
            cc_cheese_status st = cc_cheese_wire_feed(w, d, n, &used, &m, &err);
            if (st == CC_CHEESE_ERROR) {
                record_error(log, &err);
                return false;
            }
            assert_true(used <= n);
            d += used;
            n -= used;
            if (st == CC_CHEESE_NEED_MORE) {
                assert_int_equal(n, 0);
                break;
            }
            record(log, &m);
        }
    } while (off < len);
    return true;
}

static bool flush_all(cc_cheese_wire *w, cc_buf *log)
{
    cc_cheese_msg m;
    cc_err err = {0};
    cc_cheese_status st;
    while ((st = cc_cheese_wire_flush(w, &m, &err)) == CC_CHEESE_MSG)
        record(log, &m);
    if (st == CC_CHEESE_ERROR) {
        record_error(log, &err);
        return false;
    }
    assert_false(cc_cheese_wire_flushable(w));
    return true;
}

/* Segments end in silence (a flush) unless `silent_end` is false for the
 * last one. `segs` is NULL-terminated. */
static void transcript(const char *const *segs, const size_t *lens, bool silent_end,
                       size_t step, cc_buf *log)
{
    cc_cheese_wire *w = cc_cheese_wire_new(&limits);
    for (size_t i = 0; segs[i]; i++) {
        size_t len = lens && lens[i] ? lens[i] : strlen(segs[i]);
        if (!feed_segment(w, segs[i], len, step, log))
            break;
        if ((segs[i + 1] || silent_end) && !flush_all(w, log))
            break;
    }
    cc_cheese_wire_free(w);
}

static void check_segments(const char *const *segs, const size_t *lens, bool silent_end,
                           const char *want)
{
    for (size_t i = 0; i < NSTEPS; i++) {
        cc_buf log = CC_BUF_INIT;
        transcript(segs, lens, silent_end, steps[i], &log);
        if (strcmp(cc_buf_str(&log), want) != 0)
            fail_msg("step %zu\nwant:\n%sgot:\n%s", steps[i], want, cc_buf_str(&log));
        cc_buf_free(&log);
    }
}

/* The sender sends `text` and then waits (silence). */
static void check(const char *text, const char *want)
{
    const char *segs[] = {text, NULL};
    check_segments(segs, NULL, true, want);
}

/* The sender sends `text` and the stream stays open (no silence yet). */
static void check_no_silence(const char *text, const char *want)
{
    const char *segs[] = {text, NULL};
    check_segments(segs, NULL, false, want);
}

/* ---- every command, both spellings ---- */

static void test_tracker_commands(void **state)
{
    (void)state;
    check("Connection Successful", "GREETING any\n");
    check("JOIN_CHAIN:127.0.0.1:9009", "JOIN seed arg=127.0.0.1:9009\n");
    check("PCONNECT:localhost:9009", "JOIN later arg=localhost:9009\n");
    check("PID0123456789ABCDEF0123", "JOINED seed arg=PID0123456789ABCDEF0123\n");
    /* the seed era's tracker: a lower-case id, bare */
    check("PIDb1242de1fa9b4c6a8c2b7d2e5f0a3b91",
          "JOINED seed arg=PIDb1242de1fa9b4c6a8c2b7d2e5f0a3b91\n");
    check("JOIN_CHAIN:127.0.0.1:40123\r\n", "JOIN seed arg=127.0.0.1:40123\n");
    check("TCONNECTRESP:PID0A", "JOINED later arg=PID0A\n");
    check("GET_PEERS:PID0A", "GET_PEERS seed arg=PID0A\n");
    check("GETPEERS:PID0A", "GET_PEERS later arg=PID0A\n");
    check("CPSS[]", "PEERS seed payload=[]\n");
    check("CPSS[{\"peer_id\": \"PID0A\", \"host\": \"h\", \"port\": \"9009\"}]",
          "PEERS seed payload=[{\"peer_id\": \"PID0A\", \"host\": \"h\", \"port\": \"9009\"}]\n");
    check("GETPEERSRESP[{\"peer_id\": \"PID0A\"}]",
          "PEERS later payload=[{\"peer_id\": \"PID0A\"}]\n");
    check("INVALID_PEER_ID", "INVALID_ID seed\n");
    check("INVALIDPEERID", "INVALID_ID later\n");
    check("HCK", "HCK later\n");
    check("HCKACK", "HCKACK later\n");
    check("REFUSED:join needs a port from 1 to 65535",
          "REFUSED any arg=join needs a port from 1 to 65535\n");
}

static void test_peer_commands(void **state)
{
    (void)state;
    check("Connection to peer PID0A", "PEER_HELLO seed arg=PID0A\n");
    check("Connected to peer: PIDb1242de1", "PEER_HELLO seed arg=PIDb1242de1\n");
    check("PCONNECTACK:PID0A", "PEER_HELLO later arg=PID0A\n");
    check("GET_CHAIN:PID0A", "GET_CHAIN seed arg=PID0A\n");
    check("GET_CHAIN:PIDb1242de1:5005\r\n", "GET_CHAIN seed arg=PIDb1242de1:5005\n");
    check("GETCHAIN:PID0A", "GET_CHAIN later arg=PID0A\n");
    check("CHAIN[{\"sequence_number\": 0}]", "CHAIN seed payload=[{\"sequence_number\": 0}]\n");
    check("GETCHAINRESP[]", "CHAIN later payload=[]\n");
    check("GET_OPEN_TRANSACTIONS:PID0A", "GET_OPEN_TXS seed arg=PID0A\n");
    check("GETOPENTRANSACTIONS:PID0A", "GET_OPEN_TXS later arg=PID0A\n");
    check("TR[{\"amount\": 1}]", "OPEN_TXS seed payload=[{\"amount\": 1}]\n");
    check("GETOPENTRANSACTIONSRESP[]", "OPEN_TXS later payload=[]\n");
    check("NEW_CHEESE{\"nonce\": 1}", "NEW_CHEESE seed payload={\"nonce\": 1}\n");
    check("BRCHEESE{\"nonce\": 1}", "NEW_CHEESE later payload={\"nonce\": 1}\n");
    check("BRCHEESE[{\"nonce\": 1}]", "NEW_CHEESE later payload=[{\"nonce\": 1}]\n");
    check("BRCHEESE{\"nonce\": 1};PID0A", "NEW_CHEESE later payload={\"nonce\": 1} arg=PID0A\n");
    check("BRCHEESEACK", "CHEESE_ACK later\n");
    check("BRTRANSACTION{\"amount\": 2}", "NEW_TX later payload={\"amount\": 2}\n");
    check("BRTRANSACTION{\"amount\": 2}:PID0A", "NEW_TX later payload={\"amount\": 2} arg=PID0A\n");
    check("BRTRANSACTIONACK", "TX_ACK later\n");
}

/* ---- what completes without silence ---- */

static void test_self_delimiting(void **state)
{
    (void)state;
    /* JSON payloads and unambiguous bare commands need no silence */
    check_no_silence("CPSS[]", "PEERS seed payload=[]\n");
    check_no_silence("INVALIDPEERID", "INVALID_ID later\n");
    check_no_silence("Connection Successful", "GREETING any\n");
    check_no_silence("HCKACK", "HCKACK later\n");
    check_no_silence("BRTRANSACTIONACK", "TX_ACK later\n");
    /* arguments, HCK (HCKACK?) and broadcasts (a suffix?) wait for more */
    check_no_silence("GET_PEERS:PID0A", "");
    check_no_silence("HCK", "");
    check_no_silence("BRCHEESE{}", "");
    check_no_silence("BRTRANSACTION{}", "");
    check_no_silence("CPSS[{\"a\": [1, 2", "");
    /* ... until a line end or the next byte decides */
    check_no_silence("GET_PEERS:PID0A\n", "GET_PEERS seed arg=PID0A\n");
    check_no_silence("GET_PEERS:PID0A\r\n", "GET_PEERS seed arg=PID0A\n");
    check_no_silence("HCK\n", "HCK later\n");
    check_no_silence("BRCHEESE{}\n", "NEW_CHEESE later payload={}\n");
    check_no_silence("BRCHEESE{}HCKACK", "NEW_CHEESE later payload={}\nHCKACK later\n");
}

static void test_silence_in_the_middle(void **state)
{
    (void)state;
    /* a join whose port arrives after a pause is cut at the pause: that is
     * the price of a wire without framing, and why silence must be long
     * compared with one write */
    const char *join[] = {"JOIN_CHAIN:h:90", "09", NULL};
    check_segments(join, NULL, true, "JOIN seed arg=h:90\nUNKNOWN any arg=09\n");
    /* a payload is not cut by silence */
    const char *slow[] = {"CHAIN[{\"a\":", " 1}]", NULL};
    check_segments(slow, NULL, true, "CHAIN seed payload=[{\"a\": 1}]\n");
    /* a broadcast with its suffix after a pause gets none */
    const char *late[] = {"BRCHEESE{}", ";PID0A", NULL};
    check_segments(late, NULL, true,
                   "NEW_CHEESE later payload={}\nUNKNOWN any arg=;\nJOINED seed arg=PID0A\n");
    /* a keyword cut by silence is unknown text */
    check("GET_PEE", "UNKNOWN any arg=GET_PEE\n");
    check("HCKA", "HCK later\nUNKNOWN any arg=A\n");
    check("GET_PEERS:", "GET_PEERS seed\n");
    check("   \r\n", "");
    check("", "");
}

/* ---- several messages in one read ---- */

static void test_glued_messages(void **state)
{
    (void)state;
    check("Connection SuccessfulPID0123ABC",
          "GREETING any\nJOINED seed arg=PID0123ABC\n");
    check("PID0123ABCHCK", "JOINED seed arg=PID0123ABC\nHCK later\n");
    check("PIDABCCPSS[]", "JOINED seed arg=PIDABC\nPEERS seed payload=[]\n");
    check("PIDABCCHAIN[]", "JOINED seed arg=PIDABC\nCHAIN seed payload=[]\n");
    check("HCKHCKHCKACKHCK", "HCK later\nHCK later\nHCKACK later\nHCK later\n");
    check("CPSS[]CHAIN[]TR[]GETPEERSRESP[]",
          "PEERS seed payload=[]\nCHAIN seed payload=[]\nOPEN_TXS seed payload=[]\n"
          "PEERS later payload=[]\n");
    check("GET_PEERS:PIDAAGETCHAIN:PIDBBHCKACK",
          "GET_PEERS seed arg=PIDAA\nGET_CHAIN later arg=PIDBB\nHCKACK later\n");
    check("JOIN_CHAIN:h:1\nJOIN_CHAIN:h:2\nPCONNECT:h:3",
          "JOIN seed arg=h:1\nJOIN seed arg=h:2\nJOIN later arg=h:3\n");
    check("TCONNECTRESP:PID0AGETPEERSRESP[]INVALIDPEERID",
          "JOINED later arg=PID0A\nPEERS later payload=[]\nINVALID_ID later\n");
    check("BRCHEESE{};PID0ABRCHEESEACK",
          "NEW_CHEESE later payload={} arg=PID0A\nCHEESE_ACK later\n");
    check("BRTRANSACTION{}:PID0ABRTRANSACTIONACKBRTRANSACTION{}",
          "NEW_TX later payload={} arg=PID0A\nTX_ACK later\nNEW_TX later payload={}\n");
    check("Connection to peer PID0AGET_CHAIN:PID0B",
          "PEER_HELLO seed arg=PID0A\nGET_CHAIN seed arg=PID0B\n");
    check("NEW_CHEESE{}NEW_CHEESE{}", "NEW_CHEESE seed payload={}\nNEW_CHEESE seed payload={}\n");
}

static void test_json_strings_and_escapes(void **state)
{
    (void)state;
    check("CPSS[{\"host\": \"a]b\\\"}[\", \"x\": [1, {\"y\": \"}\"}]}]HCKACK",
          "PEERS seed payload=[{\"host\": \"a]b\\\"}[\", \"x\": [1, {\"y\": \"}\"}]}]\n"
          "HCKACK later\n");
    check("CHAIN[\"\\\\\"]TR[]", "CHAIN seed payload=[\"\\\\\"]\nOPEN_TXS seed payload=[]\n");
    check("NEW_CHEESE{\"k\": \"HCK PID GET_PEERS:\"}",
          "NEW_CHEESE seed payload={\"k\": \"HCK PID GET_PEERS:\"}\n");
}

/* ---- garbage ---- */

static void test_garbage(void **state)
{
    (void)state;
    check("hello\nHCKACK", "UNKNOWN any arg=hello\nHCKACK later\n");
    check("xyzJOIN_CHAIN:h:1", "UNKNOWN any arg=xyz\nJOIN seed arg=h:1\n");
    check("GEHCKACK", "UNKNOWN any arg=GE\nHCKACK later\n");
    check("GET_PEEHCK", "UNKNOWN any arg=GET_PEE\nHCK later\n");
    check("xPID0A", "UNKNOWN any arg=x\nJOINED seed arg=PID0A\n");
    check("CPSS{}", "UNKNOWN any arg=CPSS{}\n");
    check("NEW_CHEESE[]\nHCK", "UNKNOWN any arg=NEW_CHEESE[]\nHCK later\n");
    /* garbage ends where any command starts, "PID" included */
    check("get_peers:PID0A", "UNKNOWN any arg=get_peers:\nJOINED seed arg=PID0A\n");
    check("GETCHAIN[]", "UNKNOWN any arg=GET\nCHAIN seed payload=[]\n");
    check("a\nb\n\nc", "UNKNOWN any arg=a\nUNKNOWN any arg=b\nUNKNOWN any arg=c\n");
    /* binary bytes, NUL included, are carried with their length */
    const char bin[] = {'\x00', '\x01', '\xff', '\n', 'H', 'C', 'K', 'A', 'C', 'K'};
    const char *segs[] = {bin, NULL};
    const size_t lens[] = {sizeof bin, 0};
    check_segments(segs, lens, true, "UNKNOWN any arg=\\x00\\x01\\xff\nHCKACK later\n");
}

static void test_arguments_end_at_keywords_not_at_pid(void **state)
{
    (void)state;
    /* "PID" inside an argument is the peer id, not a new message */
    check("GET_PEERS:PIDPID0A", "GET_PEERS seed arg=PIDPID0A\n");
    check("JOIN_CHAIN:HCKhost:1", "JOIN seed\nHCK later\nUNKNOWN any arg=host:1\n");
    check("JOIN_CHAIN:h:1INVALID_PEER_ID", "JOIN seed arg=h:1\nINVALID_ID seed\n");
}

/* ---- limits ---- */

static void repeat(char *out, char c, size_t n)
{
    memset(out, c, n);
    out[n] = '\0';
}

static void test_limits(void **state)
{
    (void)state;
    char text[1024], want[1100];
    /* an argument of exactly max_line bytes is fine; one more is refused */
    strcpy(text, "GET_PEERS:PID");
    repeat(text + 13, 'A', 64 - 3);
    snprintf(want, sizeof want, "GET_PEERS seed arg=%s\n", text + 10);
    check(text, want);
    strcat(text, "A");
    check(text, "ERROR 413\n");
    check_no_silence(text, "");
    strcat(text, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    check_no_silence(text, "ERROR 413\n"); /* refused as it arrives, not at the end */
    /* unknown text without a line end */
    repeat(text, 'x', 200);
    check_no_silence(text, "ERROR 413\n");
    /* a payload of exactly max_payload bytes, and one byte more */
    strcpy(text, "CHAIN[\"");
    repeat(text + 7, 'a', 128 - 4);
    strcat(text, "\"]");
    snprintf(want, sizeof want, "CHAIN seed payload=%s\n", text + 5);
    check(text, want);
    repeat(text + 7, 'a', 128 - 3);
    strcat(text, "\"]");
    check(text, "ERROR 413\n");
    /* a message before the error is still read */
    strcpy(text, "HCKACK");
    repeat(text + 6, 'x', 300);
    check_no_silence(text, "HCKACK later\nERROR 413\n");
}

static void test_error_sticks(void **state)
{
    (void)state;
    cc_cheese_wire *w = cc_cheese_wire_new(&limits);
    char text[200];
    repeat(text, 'x', sizeof text - 1);
    cc_cheese_msg m;
    cc_err err = {0};
    size_t used;
    assert_int_equal(cc_cheese_wire_feed(w, text, strlen(text), &used, &m, &err), CC_CHEESE_ERROR);
    assert_int_equal(err.code, 413);
    assert_non_null(strstr(err.msg, "64 bytes"));
    cc_err again = {0};
    assert_int_equal(cc_cheese_wire_feed(w, "HCKACK", 6, &used, &m, &again), CC_CHEESE_ERROR);
    assert_int_equal(cc_cheese_wire_flush(w, &m, &again), CC_CHEESE_ERROR);
    assert_string_equal(again.msg, err.msg);
    cc_cheese_wire_free(w);
}

/* ---- the calling contract ---- */

static void test_consumed_and_state(void **state)
{
    (void)state;
    cc_cheese_wire *w = cc_cheese_wire_new(&limits);
    cc_cheese_msg m;
    size_t used;
    const char *two = "CPSS[]TR[]";
    assert_int_equal(cc_cheese_wire_feed(w, two, strlen(two), &used, &m, NULL), CC_CHEESE_MSG);
    assert_int_equal(used, 6);
    assert_int_equal(m.cmd, CC_CHEESE_PEERS);
    assert_int_equal(cc_cheese_wire_feed(w, two + 6, 4, &used, &m, NULL), CC_CHEESE_MSG);
    assert_int_equal(m.cmd, CC_CHEESE_OPEN_TXS);
    assert_false(cc_cheese_wire_busy(w));
    assert_int_equal(cc_cheese_wire_feed(w, "CHAIN[", 6, &used, &m, NULL), CC_CHEESE_NEED_MORE);
    assert_true(cc_cheese_wire_busy(w));
    assert_false(cc_cheese_wire_flushable(w));
    assert_int_equal(cc_cheese_wire_flush(w, &m, NULL), CC_CHEESE_NEED_MORE);
    assert_int_equal(cc_cheese_wire_feed(w, "]GET_PEERS:PIDA", 15, &used, &m, NULL),
                     CC_CHEESE_MSG);
    assert_int_equal(used, 1);
    assert_int_equal(cc_cheese_wire_feed(w, "GET_PEERS:PIDA", 14, &used, &m, NULL),
                     CC_CHEESE_NEED_MORE);
    assert_true(cc_cheese_wire_flushable(w));
    /* "HCK" ends the argument; the message comes out, "HCK" is held back */
    assert_int_equal(cc_cheese_wire_feed(w, "HCK", 3, &used, &m, NULL), CC_CHEESE_MSG);
    assert_int_equal(used, 3);
    assert_string_equal(m.arg, "PIDA");
    assert_int_equal(cc_cheese_wire_feed(w, NULL, 0, &used, &m, NULL), CC_CHEESE_NEED_MORE);
    assert_true(cc_cheese_wire_flushable(w));
    assert_int_equal(cc_cheese_wire_flush(w, &m, NULL), CC_CHEESE_MSG);
    assert_int_equal(m.cmd, CC_CHEESE_HEALTH_CHECK);
    assert_int_equal(cc_cheese_wire_flush(w, &m, NULL), CC_CHEESE_NEED_MORE);
    assert_false(cc_cheese_wire_busy(w));
    cc_cheese_wire_free(w);
}

/* What the reader holds for a message still arriving: what a node sums over
 * its connections to bound them all (net/cheese_conn.h). */
static void test_held_bytes(void **state)
{
    (void)state;
    cc_cheese_wire *w = cc_cheese_wire_new(&limits);
    cc_cheese_msg m;
    size_t used;
    assert_int_equal(cc_cheese_wire_held(w), 0);
    /* a keyword so far, then a payload so far (the keyword is not kept) */
    assert_int_equal(cc_cheese_wire_feed(w, "BRTRAN", 6, &used, &m, NULL), CC_CHEESE_NEED_MORE);
    assert_int_equal(cc_cheese_wire_held(w), 6);
    const char *part = "SACTION{\"a\": \"xx";
    assert_int_equal(cc_cheese_wire_feed(w, part, strlen(part), &used, &m, NULL),
                     CC_CHEESE_NEED_MORE);
    assert_int_equal(cc_cheese_wire_held(w), strlen("{\"a\": \"xx"));
    char xs[100];
    memset(xs, 'x', sizeof xs);
    assert_int_equal(cc_cheese_wire_feed(w, xs, sizeof xs, &used, &m, NULL), CC_CHEESE_NEED_MORE);
    assert_int_equal(cc_cheese_wire_held(w), 9 + sizeof xs);
    /* complete, waiting for its optional ":PID...": still arriving */
    assert_int_equal(cc_cheese_wire_feed(w, "\"}", 2, &used, &m, NULL), CC_CHEESE_NEED_MORE);
    assert_int_equal(cc_cheese_wire_held(w), 9 + sizeof xs + 2);
    assert_int_equal(cc_cheese_wire_flush(w, &m, NULL), CC_CHEESE_MSG);
    assert_int_equal(m.payload_len, 9 + sizeof xs + 2);
    /* handed out: no longer counted, and let go of on request */
    assert_int_equal(cc_cheese_wire_held(w), 0);
    cc_cheese_wire_done(w);
    assert_int_equal(cc_cheese_wire_held(w), 0);
    /* an argument so far; bytes held back to be read again count too */
    assert_int_equal(cc_cheese_wire_feed(w, "GETCHAIN:PID12", 14, &used, &m, NULL),
                     CC_CHEESE_NEED_MORE);
    assert_int_equal(cc_cheese_wire_held(w), 5);
    assert_int_equal(cc_cheese_wire_feed(w, "HCK", 3, &used, &m, NULL), CC_CHEESE_MSG);
    assert_string_equal(m.arg, "PID12");
    assert_int_equal(cc_cheese_wire_held(w), 3);
    assert_int_equal(cc_cheese_wire_flush(w, &m, NULL), CC_CHEESE_MSG);
    assert_int_equal(m.cmd, CC_CHEESE_HEALTH_CHECK);
    assert_int_equal(cc_cheese_wire_held(w), 0);
    cc_cheese_wire_free(w);
}

/* ---- writing ---- */

/* The message to write: cmd in spelling sp with arg and payload (either may
 * be NULL). */
static cc_cheese_msg msg_of(cc_cheese_cmd cmd, cc_cheese_spelling sp, const char *arg,
                            const char *payload)
{
    return (cc_cheese_msg){.cmd = cmd,
                           .spelling = sp,
                           .arg = arg,
                           .arg_len = arg ? strlen(arg) : 0,
                           .payload = payload,
                           .payload_len = payload ? strlen(payload) : 0};
}

static void round_trip(cc_cheese_cmd cmd, cc_cheese_spelling sp, const char *arg,
                       const char *payload, const char *wire)
{
    cc_cheese_msg m = msg_of(cmd, sp, arg, payload);
    cc_buf out = CC_BUF_INIT;
    cc_err err = {0};
    if (!cc_cheese_wire_format(&out, &m, &err))
        fail_msg("format %s: %s", wire, err.msg);
    assert_string_equal(cc_buf_str(&out), wire);
    /* and the reader gets the same message back */
    cc_cheese_wire *w = cc_cheese_wire_new(&limits);
    cc_cheese_msg back;
    size_t used;
    cc_cheese_status st = cc_cheese_wire_feed(w, out.data, out.len, &used, &back, NULL);
    if (st == CC_CHEESE_NEED_MORE)
        st = cc_cheese_wire_flush(w, &back, NULL);
    assert_int_equal(st, CC_CHEESE_MSG);
    assert_int_equal(back.cmd, cmd);
    if (sp != CC_CHEESE_ANY)
        assert_int_equal(back.spelling, sp);
    assert_string_equal(back.arg, arg ? arg : "");
    if (payload)
        assert_string_equal(back.payload, payload);
    else
        assert_null(back.payload);
    cc_cheese_wire_free(w);
    cc_buf_free(&out);
}

static void test_format_round_trips(void **state)
{
    (void)state;
    round_trip(CC_CHEESE_GREETING, CC_CHEESE_ANY, NULL, NULL, "Connection Successful");
    round_trip(CC_CHEESE_JOIN, CC_CHEESE_SEED, "127.0.0.1:9009", NULL,
               "JOIN_CHAIN:127.0.0.1:9009\r\n");
    round_trip(CC_CHEESE_JOIN, CC_CHEESE_LATER, "127.0.0.1:9009", NULL, "PCONNECT:127.0.0.1:9009");
    round_trip(CC_CHEESE_JOINED, CC_CHEESE_SEED, "PID0A1B", NULL, "PID0A1B");
    round_trip(CC_CHEESE_JOINED, CC_CHEESE_SEED, "PID0a1b", NULL, "PID0a1b");
    round_trip(CC_CHEESE_JOINED, CC_CHEESE_LATER, "PID0A1B", NULL, "TCONNECTRESP:PID0A1B");
    round_trip(CC_CHEESE_GET_PEERS, CC_CHEESE_SEED, "PID0A", NULL, "GET_PEERS:PID0A\r\n");
    round_trip(CC_CHEESE_GET_PEERS, CC_CHEESE_LATER, "PID0A", NULL, "GETPEERS:PID0A");
    round_trip(CC_CHEESE_PEERS, CC_CHEESE_SEED, NULL, "[]", "CPSS[]");
    round_trip(CC_CHEESE_PEERS, CC_CHEESE_LATER, NULL, "[{\"a\": \"]\"}]",
               "GETPEERSRESP[{\"a\": \"]\"}]");
    round_trip(CC_CHEESE_INVALID_PEER_ID, CC_CHEESE_SEED, NULL, NULL, "INVALID_PEER_ID");
    round_trip(CC_CHEESE_INVALID_PEER_ID, CC_CHEESE_LATER, NULL, NULL, "INVALIDPEERID");
    round_trip(CC_CHEESE_PEER_GREETING, CC_CHEESE_SEED, "PID0A", NULL, "Connection to peer PID0A");
    round_trip(CC_CHEESE_PEER_GREETING, CC_CHEESE_LATER, "PID0A", NULL, "PCONNECTACK:PID0A");
    round_trip(CC_CHEESE_GET_CHAIN, CC_CHEESE_SEED, "PID0A", NULL, "GET_CHAIN:PID0A\r\n");
    round_trip(CC_CHEESE_GET_CHAIN, CC_CHEESE_SEED, "PID0a:9009", NULL,
               "GET_CHAIN:PID0a:9009\r\n");
    round_trip(CC_CHEESE_GET_CHAIN, CC_CHEESE_LATER, "PID0A", NULL, "GETCHAIN:PID0A");
    round_trip(CC_CHEESE_CHAIN, CC_CHEESE_SEED, NULL, "[]", "CHAIN[]");
    round_trip(CC_CHEESE_CHAIN, CC_CHEESE_LATER, NULL, "[]", "GETCHAINRESP[]");
    round_trip(CC_CHEESE_GET_OPEN_TXS, CC_CHEESE_SEED, "PID0A", NULL,
               "GET_OPEN_TRANSACTIONS:PID0A\r\n");
    round_trip(CC_CHEESE_GET_OPEN_TXS, CC_CHEESE_LATER, "PID0A", NULL, "GETOPENTRANSACTIONS:PID0A");
    round_trip(CC_CHEESE_OPEN_TXS, CC_CHEESE_SEED, NULL, "[]", "TR[]");
    round_trip(CC_CHEESE_OPEN_TXS, CC_CHEESE_LATER, NULL, "[]", "GETOPENTRANSACTIONSRESP[]");
    round_trip(CC_CHEESE_NEW_CHEESE, CC_CHEESE_SEED, NULL, "{}", "NEW_CHEESE{}\r\n");
    round_trip(CC_CHEESE_NEW_CHEESE, CC_CHEESE_LATER, NULL, "{}", "BRCHEESE{}");
    round_trip(CC_CHEESE_NEW_CHEESE, CC_CHEESE_LATER, "PID0A", "[{}]", "BRCHEESE[{}];PID0A");
    round_trip(CC_CHEESE_CHEESE_ACK, CC_CHEESE_LATER, NULL, NULL, "BRCHEESEACK");
    round_trip(CC_CHEESE_NEW_TX, CC_CHEESE_LATER, "PID0A", "{}", "BRTRANSACTION{}:PID0A");
    round_trip(CC_CHEESE_TX_ACK, CC_CHEESE_LATER, NULL, NULL, "BRTRANSACTIONACK");
    round_trip(CC_CHEESE_HEALTH_CHECK, CC_CHEESE_LATER, NULL, NULL, "HCK");
    round_trip(CC_CHEESE_HEALTH_CHECK, CC_CHEESE_ANY, NULL, NULL, "HCK");
    round_trip(CC_CHEESE_HEALTH_ACK, CC_CHEESE_LATER, NULL, NULL, "HCKACK");
    round_trip(CC_CHEESE_REFUSED, CC_CHEESE_ANY, "bad port", NULL, "REFUSED:bad port");
}

static void refused(cc_cheese_cmd cmd, cc_cheese_spelling sp, const char *arg,
                    const char *payload, const char *says)
{
    cc_cheese_msg m = msg_of(cmd, sp, arg, payload);
    cc_buf out = CC_BUF_INIT;
    cc_err err = {0};
    assert_false(cc_cheese_wire_format(&out, &m, &err));
    assert_int_equal(err.code, 400);
    if (!strstr(err.msg, says))
        fail_msg("expected '%s' in '%s'", says, err.msg);
    cc_buf_free(&out);
}

static void test_format_refusals(void **state)
{
    (void)state;
    refused(CC_CHEESE_NEW_TX, CC_CHEESE_SEED, NULL, "{}", "spelling");
    refused(CC_CHEESE_HEALTH_CHECK, CC_CHEESE_SEED, NULL, NULL, "spelling");
    refused(CC_CHEESE_UNKNOWN, CC_CHEESE_ANY, "x", NULL, "no command");
    refused(CC_CHEESE_GET_PEERS, CC_CHEESE_SEED, "PIDAHCK", NULL, "HCK");
    refused(CC_CHEESE_GET_PEERS, CC_CHEESE_SEED, "PIDA\nB", NULL, "control");
    refused(CC_CHEESE_JOIN, CC_CHEESE_LATER, "h\xc3\xa9:1", NULL, "non-ASCII");
    refused(CC_CHEESE_JOINED, CC_CHEESE_SEED, "XID0A", NULL, "peer id");
    refused(CC_CHEESE_PEER_GREETING, CC_CHEESE_LATER, "PIDz", NULL, "peer id");
    refused(CC_CHEESE_PEERS, CC_CHEESE_SEED, NULL, "{}", "payload");
    refused(CC_CHEESE_PEERS, CC_CHEESE_SEED, NULL, "[[]", "does not close");
    refused(CC_CHEESE_PEERS, CC_CHEESE_SEED, NULL, "[]]", "after its end");
    refused(CC_CHEESE_PEERS, CC_CHEESE_SEED, NULL, NULL, "payload");
    refused(CC_CHEESE_NEW_CHEESE, CC_CHEESE_SEED, "PID0A", "{}", "no argument");
    refused(CC_CHEESE_HEALTH_ACK, CC_CHEESE_LATER, "x", NULL, "no argument");
    refused(CC_CHEESE_GET_PEERS, CC_CHEESE_LATER, "PID0A", "{}", "no payload");
}

/* What a message is about is known once its keyword is in. */
static void test_pending_command(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        cc_cheese_cmd pending;
    } cases[] = {
        {"", CC_CHEESE_UNKNOWN},
        {"PCONNECTACK", CC_CHEESE_UNKNOWN},
        {"PCONNECTACK:", CC_CHEESE_PEER_GREETING},
        {"Connected to peer: PIDab", CC_CHEESE_PEER_GREETING},
        {"Connection to peer PID0", CC_CHEESE_PEER_GREETING},
        {"GETCHAINRESP[{", CC_CHEESE_CHAIN},
        {"hello", CC_CHEESE_UNKNOWN},
        {"Connection Successful", CC_CHEESE_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cc_cheese_wire *w = cc_cheese_wire_new(&limits);
        cc_cheese_msg m;
        size_t used;
        const char *b = cases[i].bytes;
        while (cc_cheese_wire_feed(w, b, strlen(b), &used, &m, NULL) == CC_CHEESE_MSG)
            b += used;
        if (cc_cheese_wire_pending(w) != cases[i].pending)
            fail_msg("after '%s': pending %d, want %d", cases[i].bytes,
                     (int)cc_cheese_wire_pending(w), (int)cases[i].pending);
        cc_cheese_wire_free(w);
    }
}

static void test_peer_ids_and_names(void **state)
{
    (void)state;
    assert_true(cc_cheese_peer_id_valid("PID0123456789ABCDEF0123", 23));
    assert_true(cc_cheese_peer_id_valid("PIDA", 4));
    assert_true(cc_cheese_peer_id_valid("PIDa", 4));
    assert_true(cc_cheese_peer_id_valid("PIDb1242de1fa9b4c6a8c2b7d2e5f0a3b91", 35));
    assert_false(cc_cheese_peer_id_valid("PID", 3));
    assert_false(cc_cheese_peer_id_valid("PIDg", 4));
    assert_false(cc_cheese_peer_id_valid("pid0A", 5));
    assert_false(cc_cheese_peer_id_valid("PID0G", 5));
    assert_string_equal(cc_cheese_cmd_name(CC_CHEESE_PEERS, CC_CHEESE_LATER), "GETPEERSRESP");
    assert_string_equal(cc_cheese_cmd_name(CC_CHEESE_PEERS, CC_CHEESE_SEED), "CPSS");
    assert_string_equal(cc_cheese_cmd_name(CC_CHEESE_HEALTH_CHECK, CC_CHEESE_SEED), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tracker_commands),
        cmocka_unit_test(test_peer_commands),
        cmocka_unit_test(test_self_delimiting),
        cmocka_unit_test(test_silence_in_the_middle),
        cmocka_unit_test(test_glued_messages),
        cmocka_unit_test(test_json_strings_and_escapes),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_arguments_end_at_keywords_not_at_pid),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_error_sticks),
        cmocka_unit_test(test_consumed_and_state),
        cmocka_unit_test(test_held_bytes),
        cmocka_unit_test(test_format_round_trips),
        cmocka_unit_test(test_format_refusals),
        cmocka_unit_test(test_pending_command),
        cmocka_unit_test(test_peer_ids_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* cheese-bench-inv: the load generator of the payment intake benchmarks
 * (POST /inv on the http network, BRTRANSACTION on the cheese network),
 * and the request driver the other chain benchmarks share
 * (docs/benchmarks.md).
 *
 *   sign: turns a key file (cheese-bench-chaingen or cheese-bench-cheesegen
 *         --keys-out) into signed payments, one wire text per line, all made
 *         before anything is timed: each key pays its whole balance in
 *         --per-key equal parts. On http all parts go to the key after it
 *         in the file, told apart by their timestamps. Cheese payments
 *         carry no time, and the node refuses a second payment of the same
 *         sender, recipient and amount as a replay, so there each part goes
 *         to a different one of the --per-key keys after it.
 *   send: sends every line of a file to a node over --connections
 *         connections (one thread each, one request under way on each, no
 *         pipelining, each kept open) and counts the answers that accept.
 *         http: a line is the body of a POST (or the path of a GET), and an
 *         answer counts when it is 200 and contains --expect. cheese: a line
 *         is the JSON payload of --command (BRTRANSACTION, or BRCHEESE for
 *         blocks), sent in the later spelling without a peer id, as a
 *         peer of the later revision announces; an answer counts when it is
 *         that command's acknowledgement, not REFUSED:. Prints one JSON
 *         object: counts, wall time, rate, latency percentiles, and the
 *         first refusal seen.
 *
 * With one connection the lines go out in file order (how blocks are
 * loaded). http answers are read by Content-Length, or until the node
 * closes. Cheese answers have no framing: they are read with the node's own
 * wire reader (net/cheese_wire.h); a greeting (the node greets a peer that
 * stays silent for a moment after connecting) is skipped, and a REFUSED:,
 * whose reason has no terminator, ends at 100 ms of silence, as the
 * tracker ends arguments. The node, too, takes a bare BRTRANSACTION{...} as
 * complete only at the next byte or at 100 ms of silence, because a peer id
 * may follow it; --newline ends each message with a newline (a blank
 * between messages, which the node skips), so that it completes at once
 * and the figure is the node's work rather than that wait.
 *
 * Exit status: 0 done (whatever the node answered), 1 failure, 2 usage. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "codec/json.h"
#include "consensus/http.h"
#include "crypto/rsa.h"
#include "net/cheese_wire.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/fileio.h"
#include "util/hex.h"
#include "util/mem.h"
#include "util/parse.h"
#include "wallet/payment.h"

#define MAX_INPUT_BYTES (1L << 30)
#define MAX_CONNECTIONS 256
#define FAILURE_TEXT 200
/* Silence that ends an argument the node sent (REFUSED:reason). */
#define SILENCE_MS 100
/* An answer that takes longer means the node is stuck. */
#define ANSWER_TIMEOUT_MS 60000
/* The cheese answers we read are short; anything longer is not one. */
#define CHEESE_MAX_LINE 1024
#define CHEESE_MAX_PAYLOAD (1 << 20)

static const char usage[] =
    "usage: cheese-bench-inv sign --keys FILE --out FILE [--per-key N] [--network NAME]\n"
    "       cheese-bench-inv send --port N [options] FILE\n"
    "\n"
    "sign: every key of FILE (cheese-bench-chaingen or cheese-bench-cheesegen --keys-out)\n"
    "      pays its balance in N equal payments (8): on http to the next key, on\n"
    "      cheese to each of the N next keys; one signed transaction per line.\n"
    "send: each line of FILE is sent as a request; prints a JSON summary.\n"
    "  --network http|cheese  whose keys and wire (http)\n"
    "  --host ADDR          node address (127.0.0.1)\n"
    "  --port N             node port (required): HTTP, or the cheese peer port\n"
    "  --connections N      connections, one thread each (1)\n"
    "  --limit N            send only the first N lines\n"
    "  --skip N             start at line N + 1 (0)\n"
    "  http:\n"
    "  --method GET|POST    GET: lines are paths; POST: lines are bodies (POST)\n"
    "  --path PATH          where POST bodies go (/inv)\n"
    "  --expect TEXT        an answer counts when it is 200 and holds TEXT (none)\n"
    "  cheese:\n"
    "  --command CMD        BRTRANSACTION or BRCHEESE: lines are its payloads\n"
    "                       (BRTRANSACTION); its acknowledgement counts\n"
    "  --newline            end each message with a newline, which completes it at\n"
    "                       once: without one the node waits for 100 ms of silence,\n"
    "                       as a peer id may follow the payload\n";

typedef enum network { NET_HTTP, NET_CHEESE } network;

static bool network_named(const char *name, network *out)
{
    if (!strcmp(name, "http"))
        return (*out = NET_HTTP), true;
    if (!strcmp(name, "cheese"))
        return (*out = NET_CHEESE), true;
    return false;
}

/* ---- input lines ------------------------------------------------------------ */

typedef struct lines {
    cc_buf file;
    char **line;
    size_t *len;
    size_t n;
} lines;

/* Splits the file in place; empty lines are skipped. */
static bool lines_read(const char *path, lines *out, cc_err *err)
{
    memset(out, 0, sizeof *out);
    if (!cc_read_file(path, (size_t)MAX_INPUT_BYTES, &out->file, err))
        return false;
    size_t cap = 1024;
    out->line = cc_malloc(cap * sizeof *out->line);
    out->len = cc_malloc(cap * sizeof *out->len);
    char *p = out->file.data, *end = p + out->file.len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *stop = nl ? nl : end;
        if (stop > p) {
            if (out->n == cap) {
                cap *= 2;
                out->line = cc_realloc(out->line, cap * sizeof *out->line);
                out->len = cc_realloc(out->len, cap * sizeof *out->len);
            }
            *stop = '\0';
            out->line[out->n] = p;
            out->len[out->n++] = (size_t)(stop - p);
        }
        p = stop + 1;
    }
    return true;
}

static void lines_free(lines *l)
{
    cc_buf_free(&l->file);
    free(l->line);
    free(l->len);
}

/* ---- sign ------------------------------------------------------------------------ */

typedef struct funded {
    cc_p192_key p192; /* http */
    cc_rsa_key rsa;   /* cheese */
    double balance;
} funded;

/* {"priv": ..., "balance": X}: a P-192 scalar (48 hex digits) on http, the
 * hex of a DER RSAPrivateKey on cheese. */
static bool read_key(network net, const char *text, size_t len, funded *out, cc_err *err)
{
    json_t *doc = cc_json_parse(text, len, 2, err);
    if (!doc)
        return false;
    const char *priv;
    cc_number balance;
    size_t max = net == NET_CHEESE ? CC_RSA_PRIV_HEX_MAX : 2 * CC_P192_PRIV_LEN;
    bool ok = cc_json_get_text(doc, "priv", max, &priv, err) &&
              cc_json_get_number(doc, "balance", &balance, err);
    if (ok && net == NET_CHEESE) {
        ok = cc_rsa_from_private_hex(priv, &out->rsa, err);
    } else if (ok) {
        uint8_t scalar[CC_P192_PRIV_LEN];
        ok = (cc_hex_decode(priv, sizeof scalar, scalar) ||
              cc_fail(err, CC_ERR_BAD_REQUEST, "priv must be 48 hex digits")) &&
             cc_p192_from_private(scalar, &out->p192, err);
    }
    out->balance = balance.is_int ? (double)balance.i : balance.d;
    json_decref(doc);
    return ok;
}

/* Part k of n of a balance; an integral part prints as an int, as a
 * Python client holding an int would send it. */
static cc_number part_of(double balance, long n)
{
    double part = balance / (double)n;
    if (part == (double)(int64_t)part)
        return (cc_number){.is_int = true, .i = (int64_t)part};
    return (cc_number){.d = part};
}

/* Payment i of key k (see the opening comment for who gets it). */
static bool pay(network net, const funded *f, size_t n, size_t k, long i, const cc_number *amount,
                cc_tx *tx, cc_err *err)
{
    if (net == NET_CHEESE)
        return cc_cheese_tx_create(&f[k].rsa, f[(k + 1 + (size_t)i) % n].rsa.pub_hex, amount, tx,
                                   err);
    /* Distinct timestamps make each payment a distinct message. */
    char ts[32];
    snprintf(ts, sizeof ts, "2024-06-01T00:00:00.%06ld", i % 1000000);
    return cc_http_tx_create(&f[k].p192, f[(k + 1) % n].p192.pub_hex, amount, ts, tx, err);
}

static bool sign_all(network net, const lines *keys, long per_key, cc_buf *out, cc_err *err)
{
    funded *f = cc_calloc(keys->n, sizeof *f);
    bool ok = keys->n >= 2 || cc_fail(err, CC_ERR_BAD_REQUEST, "need at least two keys");
    if (ok && net == NET_CHEESE && keys->n <= (size_t)per_key)
        ok = cc_fail(err, CC_ERR_BAD_REQUEST, "cheese: --per-key %ld needs more than %ld keys",
                     per_key, per_key);
    for (size_t k = 0; ok && k < keys->n; k++)
        ok = read_key(net, keys->line[k], keys->len[k], &f[k], err) ||
             cc_err_prefix(err, "key line %zu: ", k + 1);
    for (size_t k = 0; ok && k < keys->n; k++) {
        cc_number amount = part_of(f[k].balance, per_key);
        for (long i = 0; ok && i < per_key; i++) {
            cc_tx tx;
            ok = pay(net, f, keys->n, k, i, &amount, &tx, err);
            if (ok) {
                cc_buf_append(out, tx.text, tx.text_len);
                cc_buf_putc(out, '\n');
                cc_tx_clear(&tx);
            }
        }
    }
    for (size_t k = 0; k < keys->n; k++)
        cc_rsa_key_clear(&f[k].rsa);
    free(f);
    return ok;
}

static int run_sign(int argc, char **argv)
{
    const char *keys_path = NULL, *out_path = NULL;
    long per_key = 8;
    network net = NET_HTTP;
    static const struct option opts[] = {{"keys", required_argument, 0, 'k'},
                                         {"out", required_argument, 0, 'o'},
                                         {"per-key", required_argument, 0, 'n'},
                                         {"network", required_argument, 0, 'N'},
                                         {0, 0, 0, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (opt == 'k')
            keys_path = optarg;
        else if (opt == 'o')
            out_path = optarg;
        else if (opt == 'N' && network_named(optarg, &net))
            continue;
        else if (opt != 'n' || !cc_parse_long(optarg, 1, 1000000, &per_key))
            return fputs(usage, stderr), 2;
    }
    if (!keys_path || !out_path || optind < argc)
        return fputs(usage, stderr), 2;
    lines keys;
    cc_buf out = CC_BUF_INIT;
    cc_err err = {0};
    double started = cc_clock_mono();
    bool ok = lines_read(keys_path, &keys, &err) && sign_all(net, &keys, per_key, &out, &err) &&
              cc_write_file_atomic(out_path, out.data, out.len, 0644, &err);
    if (ok)
        printf("{\"transactions\": %zu, \"seconds\": %.3f}\n", keys.n * (size_t)per_key,
               cc_clock_mono() - started);
    else
        fprintf(stderr, "cheese-bench-inv: %s\n", err.msg);
    lines_free(&keys);
    cc_buf_free(&out);
    return ok ? 0 : 1;
}

/* ---- send: connections ----------------------------------------------------------- */

typedef struct send_config {
    struct sockaddr_in addr;
    const char *host;
    int port;
    network net;
    bool get;
    const char *path;
    const char *expect;
    const char *command;   /* cheese: the keyword each payload goes behind */
    cc_cheese_cmd ack;     /* cheese: the answer that accepts */
    bool newline;          /* cheese: each message ends with a newline */
} send_config;

/* One sender's connection and its buffers. */
typedef struct conn {
    int fd;
    cc_buf req;
    cc_buf in;            /* bytes read */
    size_t in_used;       /* cheese: how many of them the wire reader took */
    cc_cheese_wire *wire; /* cheese: a reader per connection, as it holds state */
    cc_buf note;          /* cheese: the last answer, as text */
} conn;

/* The node's answer to one request. */
typedef struct reply {
    bool good;
    bool close;       /* the node ends the connection after it */
    int status;       /* http; 0 on cheese */
    const char *text; /* for the first refusal's note; lives in the conn */
    size_t text_len;
} reply;

static bool conn_open(conn *c, const send_config *cfg)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (const struct sockaddr *)&cfg->addr, sizeof cfg->addr) != 0) {
        close(fd);
        return false;
    }
    c->fd = fd;
    cc_buf_reset(&c->in);
    c->in_used = 0;
    if (cfg->net == NET_CHEESE) {
        static const cc_cheese_wire_limits limits = {.max_line = CHEESE_MAX_LINE,
                                                     .max_payload = CHEESE_MAX_PAYLOAD};
        c->wire = cc_cheese_wire_new(&limits);
    }
    return true;
}

static void conn_close(conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    cc_cheese_wire_free(c->wire);
    c->wire = NULL;
}

static void conn_free(conn *c)
{
    conn_close(c);
    cc_buf_free(&c->req);
    cc_buf_free(&c->in);
    cc_buf_free(&c->note);
}

static bool write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        data += n;
        len -= (size_t)n;
    }
    return true;
}

/* ---- send: http answers ----------------------------------------------------------- */

typedef struct answer {
    int status;
    size_t head_len;
    size_t body_len;
    bool close;
} answer;

/* Value of a header in the head (NUL-terminated), or NULL. */
static const char *header_value(const char *head, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':')
            return p + 3 + n + strspn(p + 3 + n, " \t");
    }
    return NULL;
}

static bool parse_head(cc_buf *in, answer *a)
{
    if (in->len == 0)
        return false;
    char *end = strstr(in->data, "\r\n\r\n");
    if (!end)
        return false;
    a->head_len = (size_t)(end - in->data) + 4;
    char saved = in->data[a->head_len - 2];
    in->data[a->head_len - 2] = '\0';
    a->status = strncmp(in->data, "HTTP/1.", 7) == 0 ? atoi(in->data + 9) : 0;
    const char *length = header_value(in->data, "Content-Length");
    const char *connection = header_value(in->data, "Connection");
    a->body_len = length ? (size_t)strtoull(length, NULL, 10) : SIZE_MAX;
    a->close = !length || (connection && strncasecmp(connection, "close", 5) == 0);
    in->data[a->head_len - 2] = saved;
    return true;
}

/* Reads one answer into in (head and body). False when the connection
 * broke before a complete answer. */
static bool read_answer(int fd, cc_buf *in, answer *a)
{
    cc_buf_reset(in);
    bool have_head = false;
    for (;;) {
        if (!have_head)
            have_head = parse_head(in, a);
        if (have_head && a->body_len != SIZE_MAX && in->len >= a->head_len + a->body_len)
            return true;
        cc_buf_reserve(in, 65536);
        ssize_t n = recv(fd, in->data + in->len, in->cap - in->len - 1, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (have_head && a->body_len == SIZE_MAX) {
                a->body_len = in->len - a->head_len;
                return true;
            }
            return false;
        }
        in->len += (size_t)n;
        in->data[in->len] = '\0';
    }
}

static bool http_reply(const send_config *cfg, conn *c, reply *r)
{
    answer a = {0};
    if (!read_answer(c->fd, &c->in, &a))
        return false;
    const char *body = c->in.data + a.head_len;
    *r = (reply){.good = a.status == 200 && (!cfg->expect || strstr(body, cfg->expect) != NULL),
                 .close = a.close,
                 .status = a.status,
                 .text = body,
                 .text_len = c->in.len - a.head_len};
    return true;
}

/* ---- send: cheese answers ---------------------------------------------------------- */

/* Waits up to timeout_ms for bytes and appends them to in: how many came,
 * 0 when none did in time, -1 when the connection broke. */
static ssize_t recv_within(int fd, cc_buf *in, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int ready;
    do
        ready = poll(&p, 1, timeout_ms);
    while (ready < 0 && errno == EINTR);
    if (ready <= 0)
        return ready;
    cc_buf_reserve(in, 65536);
    ssize_t n;
    do
        n = recv(fd, in->data + in->len, in->cap - in->len - 1, 0);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return -1;
    in->len += (size_t)n;
    in->data[in->len] = '\0';
    return n;
}

/* True when m answers the request under way (a greeting does not). */
static bool cheese_take(const send_config *cfg, const cc_cheese_msg *m, conn *c, reply *r)
{
    if (m->cmd == CC_CHEESE_PEER_GREETING)
        return false;
    cc_buf_reset(&c->note);
    cc_buf_puts(&c->note, cc_cheese_cmd_name(m->cmd, m->spelling));
    cc_buf_append(&c->note, m->arg, m->arg_len);
    *r = (reply){.good = m->cmd == cfg->ack, .text = c->note.data, .text_len = c->note.len};
    return true;
}

/* The next message from the node that answers: bytes already read first,
 * then more from the socket; an argument the node stopped sending is
 * ended by silence. False when the connection broke or stayed silent. */
static bool cheese_reply(const send_config *cfg, conn *c, reply *r)
{
    for (;;) {
        cc_cheese_msg m;
        cc_err err = {0};
        size_t used = 0;
        const char *rest = c->in.data ? c->in.data + c->in_used : "";
        cc_cheese_status st =
            cc_cheese_wire_feed(c->wire, rest, c->in.len - c->in_used, &used, &m, &err);
        c->in_used += used;
        if (st == CC_CHEESE_ERROR)
            return false;
        if (st == CC_CHEESE_MSG) {
            if (cheese_take(cfg, &m, c, r))
                return true;
            continue;
        }
        cc_buf_reset(&c->in); /* every byte was taken */
        c->in_used = 0;
        bool flushable = cc_cheese_wire_flushable(c->wire);
        ssize_t n = recv_within(c->fd, &c->in, flushable ? SILENCE_MS : ANSWER_TIMEOUT_MS);
        if (n < 0 || (n == 0 && !flushable))
            return false;
        if (n == 0 && cc_cheese_wire_flush(c->wire, &m, &err) == CC_CHEESE_MSG &&
            cheese_take(cfg, &m, c, r))
            return true;
    }
}

/* ---- send: the load ---------------------------------------------------------------- */

typedef struct shared {
    const send_config *cfg;
    const lines *input;
    size_t first, end;
    _Atomic size_t next;
    _Atomic size_t ok, refused, errors;
    double *latency_us; /* one per request, by line */
    pthread_mutex_t lock;
    char failure[FAILURE_TEXT]; /* guarded by lock */
} shared;

static void note_failure(shared *s, size_t index, const reply *r)
{
    pthread_mutex_lock(&s->lock);
    if (!s->failure[0] && r->status)
        snprintf(s->failure, sizeof s->failure, "line %zu: %d %.*s", index + 1, r->status,
                 (int)r->text_len, r->text);
    else if (!s->failure[0])
        snprintf(s->failure, sizeof s->failure, "line %zu: %.*s", index + 1, (int)r->text_len,
                 r->text);
    pthread_mutex_unlock(&s->lock);
}

static void build_request(const shared *s, size_t i, cc_buf *req)
{
    const send_config *c = s->cfg;
    cc_buf_reset(req);
    if (c->net == NET_CHEESE) {
        cc_buf_puts(req, c->command);
        cc_buf_append(req, s->input->line[i], s->input->len[i]);
        if (c->newline)
            cc_buf_putc(req, '\n');
        return;
    }
    if (c->get) {
        cc_buf_printf(req, "GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n", s->input->line[i], c->host,
                      c->port);
        return;
    }
    cc_buf_printf(req,
                  "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                  "Content-Length: %zu\r\n\r\n",
                  c->path, c->host, c->port, s->input->len[i]);
    cc_buf_append(req, s->input->line[i], s->input->len[i]);
}

/* One request on c (dialled again when the node closed it); false when
 * the node cannot be reached at all. */
static bool exchange(shared *s, size_t i, conn *c)
{
    const send_config *cfg = s->cfg;
    build_request(s, i, &c->req);
    reply r = {.text = "no answer", .text_len = 9};
    bool answered = false;
    double started = cc_clock_mono();
    for (int attempt = 0; attempt < 2 && !answered; attempt++) {
        if (c->fd < 0 && !conn_open(c, cfg)) {
            atomic_fetch_add(&s->errors, 1);
            return false;
        }
        answered = write_all(c->fd, c->req.data, c->req.len) &&
                   (cfg->net == NET_CHEESE ? cheese_reply(cfg, c, &r) : http_reply(cfg, c, &r));
        if (!answered)
            conn_close(c);
    }
    s->latency_us[i] = (cc_clock_mono() - started) * 1e6;
    atomic_fetch_add(r.good ? &s->ok : answered ? &s->refused : &s->errors, 1);
    if (!r.good)
        note_failure(s, i, &r);
    if (r.close)
        conn_close(c);
    return true;
}

static void *sender(void *arg)
{
    shared *s = arg;
    conn c = {.fd = -1};
    for (;;) {
        size_t i = atomic_fetch_add(&s->next, 1);
        if (i >= s->end || !exchange(s, i, &c))
            break;
    }
    conn_free(&c);
    return NULL;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void print_summary(shared *s, double seconds)
{
    size_t n = s->end - s->first;
    double *lat = s->latency_us + s->first;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += lat[i];
    qsort(lat, n, sizeof *lat, compare_double);
    size_t ok = atomic_load(&s->ok), sent = ok + atomic_load(&s->refused);
    cc_buf failure = CC_BUF_INIT;
    cc_json_append_quoted(&failure, s->failure);
    printf("{\"requests\": %zu, \"answered\": %zu, \"ok\": %zu, \"refused\": %zu, \"errors\": %zu, "
           "\"seconds\": %.6f, \"ok_per_s\": %.1f, \"mean_us\": %.1f, \"p50_us\": %.1f, "
           "\"p99_us\": %.1f, \"first_failure\": %s}\n",
           n, sent, ok, atomic_load(&s->refused), atomic_load(&s->errors), seconds,
           seconds > 0 ? (double)ok / seconds : 0.0, n ? sum / (double)n : 0.0,
           n ? lat[n / 2] : 0.0, n ? lat[n * 99 / 100] : 0.0, failure.data);
    cc_buf_free(&failure);
}

/* The calling thread sends too, so a thread that cannot be started only
 * means fewer connections. */
static void send_all(shared *s, long connections)
{
    pthread_t threads[MAX_CONNECTIONS];
    double started = cc_clock_mono();
    long running = 0;
    while (running < connections - 1 && pthread_create(&threads[running], NULL, sender, s) == 0)
        running++;
    sender(s);
    for (long t = 0; t < running; t++)
        pthread_join(threads[t], NULL);
    print_summary(s, cc_clock_mono() - started);
}

/* BRTRANSACTION or BRCHEESE, and the acknowledgement that accepts it. */
static bool cheese_command(const char *name, send_config *cfg)
{
    if (!strcmp(name, "BRTRANSACTION"))
        cfg->ack = CC_CHEESE_TX_ACK;
    else if (!strcmp(name, "BRCHEESE"))
        cfg->ack = CC_CHEESE_CHEESE_ACK;
    else
        return false;
    cfg->command = name;
    return true;
}

static bool send_option(int opt, send_config *cfg, long *port, long *connections, long *limit,
                        long *skip)
{
    switch (opt) {
    case 'h': return (cfg->host = optarg), true;
    case 'p': return cc_parse_long(optarg, 1, 65535, port);
    case 'N': return network_named(optarg, &cfg->net);
    case 'm': return (cfg->get = !strcmp(optarg, "GET")) || !strcmp(optarg, "POST");
    case 'P': return (cfg->path = optarg), true;
    case 'c': return cc_parse_long(optarg, 1, MAX_CONNECTIONS, connections);
    case 'e': return (cfg->expect = optarg), true;
    case 'C': return cheese_command(optarg, cfg);
    case 'n': return (cfg->newline = true), true;
    case 'l': return cc_parse_long(optarg, 0, 1L << 40, limit);
    case 's': return cc_parse_long(optarg, 0, 1L << 40, skip);
    default: return false;
    }
}

static int run_send(int argc, char **argv)
{
    send_config cfg = {.host = "127.0.0.1", .path = "/inv", .command = "BRTRANSACTION",
                       .ack = CC_CHEESE_TX_ACK};
    long connections = 1, limit = -1, skip = 0, port = 0;
    static const struct option opts[] = {
        {"host", required_argument, 0, 'h'},        {"port", required_argument, 0, 'p'},
        {"network", required_argument, 0, 'N'},     {"method", required_argument, 0, 'm'},
        {"path", required_argument, 0, 'P'},        {"connections", required_argument, 0, 'c'},
        {"expect", required_argument, 0, 'e'},      {"command", required_argument, 0, 'C'},
        {"newline", no_argument, 0, 'n'},           {"limit", required_argument, 0, 'l'},
        {"skip", required_argument, 0, 's'},        {0, 0, 0, 0}};
    int opt;
    bool ok = true;
    while (ok && (opt = getopt_long(argc, argv, "", opts, NULL)) != -1)
        ok = send_option(opt, &cfg, &port, &connections, &limit, &skip);
    cfg.port = (int)port;
    cfg.addr.sin_family = AF_INET;
    cfg.addr.sin_port = htons((uint16_t)port);
    if (!ok || port == 0 || optind + 1 != argc ||
        inet_pton(AF_INET, cfg.host, &cfg.addr.sin_addr) != 1)
        return fputs(usage, stderr), 2;
    lines input;
    cc_err err = {0};
    if (!lines_read(argv[optind], &input, &err)) {
        fprintf(stderr, "cheese-bench-inv: %s\n", err.msg);
        return 1;
    }
    shared s = {.cfg = &cfg, .input = &input};
    s.first = (size_t)skip < input.n ? (size_t)skip : input.n;
    s.end = limit >= 0 && s.first + (size_t)limit < input.n ? s.first + (size_t)limit : input.n;
    atomic_init(&s.next, s.first);
    s.latency_us = cc_calloc(input.n + 1, sizeof *s.latency_us);
    pthread_mutex_init(&s.lock, NULL);
    send_all(&s, connections);
    pthread_mutex_destroy(&s.lock);
    free(s.latency_us);
    lines_free(&input);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "sign"))
        return run_sign(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "send"))
        return run_send(argc - 1, argv + 1);
    bool help = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
    fputs(usage, help ? stdout : stderr);
    return help ? 0 : 2;
}

/* cheese-bench-inv: the load generator of the POST /inv benchmark, and the
 * request driver the other chain benchmarks share (docs/benchmarks.md).
 *
 *   sign: turns a key file (cheese-bench-chaingen --keys-out) into signed
 *         payments, one wire text per line, all made before anything is
 *         timed: each key pays its whole balance in --per-key equal parts
 *         to the key after it in the file.
 *   send: sends every line of a file to a node over --connections keep-alive
 *         connections (one thread each, one request under way on each, no
 *         pipelining) as the body of a POST, or as the path of a GET, and
 *         counts the answers that are 200 and contain --expect. Prints one
 *         JSON object: counts, wall time, rate, latency percentiles, and
 *         the first refusal seen.
 *
 * With one connection the lines go out in file order (how blocks are
 * loaded). Answers are read by Content-Length, or until the node closes.
 *
 * Exit status: 0 done (whatever the node answered), 1 failure, 2 usage. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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

static const char usage[] =
    "usage: cheese-bench-inv sign --keys FILE --out FILE [--per-key N]\n"
    "       cheese-bench-inv send --port N [options] FILE\n"
    "\n"
    "sign: every key of FILE (cheese-bench-chaingen --keys-out) pays its balance in\n"
    "      N equal payments (8) to the next key; one signed transaction per line.\n"
    "send: each line of FILE is sent as a request; prints a JSON summary.\n"
    "  --host ADDR          node address (127.0.0.1)\n"
    "  --port N             node port (required)\n"
    "  --method GET|POST    GET: lines are paths; POST: lines are bodies (POST)\n"
    "  --path PATH          where POST bodies go (/inv)\n"
    "  --connections N      keep-alive connections, one thread each (1)\n"
    "  --expect TEXT        an answer counts when it is 200 and holds TEXT (none)\n"
    "  --limit N            send only the first N lines\n"
    "  --skip N             start at line N + 1 (0)\n";

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
    cc_p192_key key;
    double balance;
} funded;

static bool read_key(const char *text, size_t len, funded *out, cc_err *err)
{
    json_t *doc = cc_json_parse(text, len, 2, err);
    if (!doc)
        return false;
    const char *priv;
    cc_number balance;
    uint8_t scalar[CC_P192_PRIV_LEN];
    bool ok = cc_json_get_text(doc, "priv", 2 * CC_P192_PRIV_LEN, &priv, err) &&
              cc_json_get_number(doc, "balance", &balance, err);
    if (ok && !cc_hex_decode(priv, sizeof scalar, scalar))
        ok = cc_fail(err, CC_ERR_BAD_REQUEST, "priv must be 48 hex digits");
    ok = ok && cc_p192_from_private(scalar, &out->key, err);
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

static bool sign_all(const lines *keys, long per_key, cc_buf *out, cc_err *err)
{
    funded *f = cc_calloc(keys->n, sizeof *f);
    bool ok = keys->n >= 2 || cc_fail(err, CC_ERR_BAD_REQUEST, "need at least two keys");
    for (size_t k = 0; ok && k < keys->n; k++)
        ok = read_key(keys->line[k], keys->len[k], &f[k], err) ||
             cc_err_prefix(err, "key line %zu: ", k + 1);
    for (size_t k = 0; ok && k < keys->n; k++) {
        cc_number amount = part_of(f[k].balance, per_key);
        for (long i = 0; ok && i < per_key; i++) {
            /* Distinct timestamps make each payment a distinct message. */
            char ts[32];
            snprintf(ts, sizeof ts, "2024-06-01T00:00:00.%06ld", i % 1000000);
            cc_tx tx;
            ok = cc_http_tx_create(&f[k].key, f[(k + 1) % keys->n].key.pub_hex, &amount, ts, &tx,
                                   err);
            if (ok) {
                cc_buf_append(out, tx.text, tx.text_len);
                cc_buf_putc(out, '\n');
                cc_tx_clear(&tx);
            }
        }
    }
    free(f);
    return ok;
}

static int run_sign(int argc, char **argv)
{
    const char *keys_path = NULL, *out_path = NULL;
    long per_key = 8;
    static const struct option opts[] = {{"keys", required_argument, 0, 'k'},
                                         {"out", required_argument, 0, 'o'},
                                         {"per-key", required_argument, 0, 'n'},
                                         {0, 0, 0, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (opt == 'k')
            keys_path = optarg;
        else if (opt == 'o')
            out_path = optarg;
        else if (opt != 'n' || !cc_parse_long(optarg, 1, 1000000, &per_key))
            return fputs(usage, stderr), 2;
    }
    if (!keys_path || !out_path || optind < argc)
        return fputs(usage, stderr), 2;
    lines keys;
    cc_buf out = CC_BUF_INIT;
    cc_err err = {0};
    double started = cc_clock_mono();
    bool ok = lines_read(keys_path, &keys, &err) && sign_all(&keys, per_key, &out, &err) &&
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

/* ---- send ------------------------------------------------------------------------- */

typedef struct send_config {
    struct sockaddr_in addr;
    const char *host;
    int port;
    bool get;
    const char *path;
    const char *expect;
} send_config;

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

typedef struct answer {
    int status;
    size_t head_len;
    size_t body_len;
    bool close;
} answer;

static int dial(const send_config *cfg)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (const struct sockaddr *)&cfg->addr, sizeof cfg->addr) != 0) {
        close(fd);
        return -1;
    }
    return fd;
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

static void note_failure(shared *s, size_t index, const answer *a, const cc_buf *in)
{
    pthread_mutex_lock(&s->lock);
    if (!s->failure[0])
        snprintf(s->failure, sizeof s->failure, "line %zu: %d %.*s", index + 1, a->status,
                 (int)(in->len > a->head_len ? in->len - a->head_len : 0),
                 in->data + a->head_len);
    pthread_mutex_unlock(&s->lock);
}

static void build_request(const shared *s, size_t i, cc_buf *req)
{
    const send_config *c = s->cfg;
    cc_buf_reset(req);
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

/* One request on *fd (dialled again when the node closed it); false when
 * the node cannot be reached at all. */
static bool exchange(shared *s, size_t i, int *fd, cc_buf *req, cc_buf *in)
{
    build_request(s, i, req);
    answer a = {0};
    double started = cc_clock_mono();
    for (int attempt = 0; attempt < 2; attempt++) {
        if (*fd < 0 && (*fd = dial(s->cfg)) < 0) {
            atomic_fetch_add(&s->errors, 1);
            return false;
        }
        if (write_all(*fd, req->data, req->len) && read_answer(*fd, in, &a))
            break;
        close(*fd);
        *fd = -1;
        a.status = 0;
    }
    s->latency_us[i] = (cc_clock_mono() - started) * 1e6;
    bool good = a.status == 200 &&
                (!s->cfg->expect || strstr(in->data + a.head_len, s->cfg->expect) != NULL);
    atomic_fetch_add(good ? &s->ok : a.status ? &s->refused : &s->errors, 1);
    if (!good)
        note_failure(s, i, &a, in);
    if (a.close && *fd >= 0) {
        close(*fd);
        *fd = -1;
    }
    return true;
}

static void *sender(void *arg)
{
    shared *s = arg;
    cc_buf req = CC_BUF_INIT, in = CC_BUF_INIT;
    int fd = -1;
    for (;;) {
        size_t i = atomic_fetch_add(&s->next, 1);
        if (i >= s->end || !exchange(s, i, &fd, &req, &in))
            break;
    }
    if (fd >= 0)
        close(fd);
    cc_buf_free(&req);
    cc_buf_free(&in);
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

static void send_all(shared *s, long connections)
{
    pthread_t threads[MAX_CONNECTIONS];
    double started = cc_clock_mono();
    for (long t = 0; t < connections; t++)
        pthread_create(&threads[t], NULL, sender, s);
    for (long t = 0; t < connections; t++)
        pthread_join(threads[t], NULL);
    print_summary(s, cc_clock_mono() - started);
}

static int run_send(int argc, char **argv)
{
    send_config cfg = {.host = "127.0.0.1", .path = "/inv"};
    long connections = 1, limit = -1, skip = 0, port = 0;
    static const struct option opts[] = {
        {"host", required_argument, 0, 'h'},    {"port", required_argument, 0, 'p'},
        {"method", required_argument, 0, 'm'},  {"path", required_argument, 0, 'P'},
        {"connections", required_argument, 0, 'c'}, {"expect", required_argument, 0, 'e'},
        {"limit", required_argument, 0, 'l'},   {"skip", required_argument, 0, 's'},
        {0, 0, 0, 0}};
    int opt;
    bool ok = true;
    while (ok && (opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (opt == 'h')
            cfg.host = optarg;
        else if (opt == 'p')
            ok = cc_parse_long(optarg, 1, 65535, &port);
        else if (opt == 'm')
            ok = (cfg.get = !strcmp(optarg, "GET")) || !strcmp(optarg, "POST");
        else if (opt == 'P')
            cfg.path = optarg;
        else if (opt == 'c')
            ok = cc_parse_long(optarg, 1, MAX_CONNECTIONS, &connections);
        else if (opt == 'e')
            cfg.expect = optarg;
        else if (opt == 'l')
            ok = cc_parse_long(optarg, 0, 1L << 40, &limit);
        else if (opt == 's')
            ok = cc_parse_long(optarg, 0, 1L << 40, &skip);
        else
            ok = false;
    }
    cfg.port = (int)port;
    cfg.addr.sin_family = AF_INET;
    cfg.addr.sin_port = htons((uint16_t)port);
    if (!ok || port == 0 || optind + 1 != argc || inet_pton(AF_INET, cfg.host, &cfg.addr.sin_addr) != 1)
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

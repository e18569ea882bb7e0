/* cheese-bench-tracker: load generator and anchor of the tracker benchmark
 * of `make bench` (docs/benchmarks.md). Three modes:
 *
 *   load   many connections, each greeted, then asking in turn for a join
 *          and for a peer list, one request at a time, for a fixed time;
 *          prints the answers counted as JSON.
 *   hold   opens N connections, joins each, prints a JSON line once all
 *          have joined and keeps them open (answering HCK) until SIGTERM.
 *   echo   the anchor: a server that greets like a tracker and sends every
 *          byte back, so that `load` against it measures the client, the
 *          loop and loopback TCP alone.
 *
 * Requests end with a newline, which the tracker takes as the end of the
 * argument (docs/cheese-network-wire.md), so no silence timer is waited
 * for. The tracker answers each request with one write, so an argument
 * answer ("TCONNECTRESP:PID...") is taken to end where a read ends.
 *
 * Exit status: 0 after a run (or SIGTERM in hold and echo), 1 when the
 * program cannot run (nothing to connect to, port taken), 2 for usage. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "net/cheese_wire.h"
#include "net/listener.h"
#include "util/fileio.h"
#include "util/clock.h"
#include "util/mem.h"
#include "util/parse.h"
#include "util/timeval.h"

#define MAX_CONNECTING 128 /* handshakes under way at once, to stay under the backlog */
#define ID_MAX 64
/* What a client sends before it has an id of its own (against the echo
 * server, which never hands one out): well-formed, so it reads back. */
#define PLACEHOLDER_ID "PID00000000000000000000"

static const char usage[] =
    "usage: cheese-bench-tracker load --port N [--connections C] [--seconds S] [--spelling S]\n"
    "       cheese-bench-tracker hold --port N --connections C [--spelling S]\n"
    "       cheese-bench-tracker echo --port N\n"
    "\n"
    "load: C connections (64) each send a join, then a peer-list request, and so\n"
    "on, one at a time, for S seconds (5) once all have joined; prints the answers.\n"
    "hold: C connections join and stay open until SIGTERM; prints a line once all\n"
    "have joined. echo: greets like a tracker and echoes every byte back.\n"
    "\n"
    "  --host ADDR        tracker address (127.0.0.1)\n"
    "  --port N           tracker port, or the port echo listens on\n"
    "  --connections C    connections to open\n"
    "  --seconds S        measured time of load\n"
    "  --spelling S       later (PCONNECT, GETPEERS) or seed (JOIN_CHAIN, GET_PEERS)\n"
    "  --help             show this text\n";

typedef enum mode { MODE_LOAD, MODE_HOLD, MODE_ECHO } mode;

typedef struct options {
    mode mode;
    const char *host;
    int port;
    long connections;
    double seconds;
    cc_cheese_spelling spelling;
} options;

typedef enum client_state {
    CL_CONNECTING,
    CL_GREETING, /* connected, waiting for "Connection Successful" */
    CL_WAITING,  /* a request is out */
    CL_IDLE,     /* joined, holding the connection */
} client_state;

typedef struct bench bench;

typedef struct client {
    bench *b;
    struct bufferevent *bev;
    cc_cheese_wire *wire;
    client_state state;
    unsigned index;
    bool next_is_join;
    bool joined;
    char id[ID_MAX + 1];
} client;

/* Counters of the run; "window" ones only while the clock runs. */
struct bench {
    options opt;
    struct event_base *base;
    struct sockaddr_in addr;
    client **clients;
    size_t opened, connecting, joined, closed;
    bool measuring;
    double started_at, stopped_at;
    unsigned long long joins, lists, refused, other;
    unsigned long long ids, peer_lists; /* answers that are what a tracker sends */
    struct event *stop_timer;
};

static const cc_cheese_wire_limits limits = {.max_line = 1024, .max_payload = 16384};

static void tune_socket(evutil_socket_t fd)
{
    int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

/* ---- the client side ---- */

static void open_more(bench *b);

static void client_close(client *c)
{
    bench *b = c->b;
    if (!c->joined)
        b->connecting--;
    b->clients[c->index] = NULL;
    b->closed++;
    bufferevent_free(c->bev);
    cc_cheese_wire_free(c->wire);
    free(c);
    open_more(b);
}

/* One request, one write, ended by a newline. */
static void send_request(client *c)
{
    bench *b = c->b;
    bool later = b->opt.spelling == CC_CHEESE_LATER;
    char line[160];
    int n;
    if (c->next_is_join)
        n = snprintf(line, sizeof line, "%s:127.0.0.1:%u\n", later ? "PCONNECT" : "JOIN_CHAIN",
                     10000 + c->index % 50000);
    else
        n = snprintf(line, sizeof line, "%s:%s\n", later ? "GETPEERS" : "GET_PEERS", c->id);
    bufferevent_write(c->bev, line, (size_t)n);
    c->state = CL_WAITING;
}

static void count_answer(client *c, const cc_cheese_msg *m)
{
    bench *b = c->b;
    if (!b->measuring)
        return;
    b->ids += m->cmd == CC_CHEESE_JOINED;
    b->peer_lists += m->cmd == CC_CHEESE_PEERS;
    if (m->cmd == CC_CHEESE_REFUSED || m->cmd == CC_CHEESE_INVALID_PEER_ID)
        b->refused++;
    else if (c->next_is_join)
        b->joins++;
    else
        b->lists++;
}

static void on_joined(client *c)
{
    bench *b = c->b;
    c->joined = true;
    b->connecting--;
    b->joined++;
    open_more(b);
}

/* The answer to the request that was out. Against the tracker a join is
 * answered with the id; against the echo server with the join itself. */
static void on_answer(client *c, const cc_cheese_msg *m)
{
    bench *b = c->b;
    if (m->cmd == CC_CHEESE_JOINED && m->arg_len <= ID_MAX)
        memcpy(c->id, m->arg, m->arg_len + 1);
    count_answer(c, m);
    if (!c->joined)
        on_joined(c);
    if (b->opt.mode == MODE_HOLD) {
        c->state = CL_IDLE;
        return;
    }
    c->next_is_join = !c->next_is_join;
    send_request(c);
}

static void on_message(client *c, const cc_cheese_msg *m)
{
    if (m->cmd == CC_CHEESE_HEALTH_CHECK) {
        bufferevent_write(c->bev, "HCKACK", 6);
        return;
    }
    if (c->state == CL_GREETING && m->cmd == CC_CHEESE_GREETING) {
        c->next_is_join = true;
        send_request(c);
        return;
    }
    if (c->state == CL_WAITING) {
        on_answer(c, m);
        return;
    }
    c->b->other++;
}

static void client_read(struct bufferevent *bev, void *arg)
{
    client *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    cc_cheese_msg m;
    cc_err err = {0};
    for (;;) {
        cc_cheese_status st = cc_cheese_wire_feed_evbuffer(c->wire, in, &m, &err);
        if (st == CC_CHEESE_ERROR) {
            fprintf(stderr, "cheese-bench-tracker: answer refused: %s\n", err.msg);
            client_close(c);
            return;
        }
        if (st == CC_CHEESE_NEED_MORE && evbuffer_get_length(in) == 0)
            break;
        if (st == CC_CHEESE_MSG)
            on_message(c, &m);
    }
    /* The end of a read is the end of an argument answer (one write each). */
    while (cc_cheese_wire_flushable(c->wire) &&
           cc_cheese_wire_flush(c->wire, &m, &err) == CC_CHEESE_MSG)
        on_message(c, &m);
}

static void client_event(struct bufferevent *bev, short what, void *arg)
{
    client *c = arg;
    if (what & BEV_EVENT_CONNECTED) {
        tune_socket(bufferevent_getfd(bev));
        c->state = CL_GREETING;
        return;
    }
    if (c->b->measuring || !c->joined)
        fprintf(stderr, "cheese-bench-tracker: connection %u %s\n", c->index,
                (what & BEV_EVENT_EOF) ? "closed by the server" : strerror(errno));
    client_close(c);
}

static bool open_one(bench *b)
{
    client *c = cc_calloc(1, sizeof *c);
    c->b = b;
    c->index = (unsigned)b->opened;
    c->wire = cc_cheese_wire_new(&limits);
    memcpy(c->id, PLACEHOLDER_ID, sizeof PLACEHOLDER_ID);
    c->bev = bufferevent_socket_new(b->base, -1, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(c->bev, client_read, NULL, client_event, c);
    bufferevent_enable(c->bev, EV_READ);
    b->clients[b->opened++] = c;
    b->connecting++;
    if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&b->addr, sizeof b->addr) != 0) {
        fprintf(stderr, "cheese-bench-tracker: cannot connect: %s\n", strerror(errno));
        client_close(c);
        return false;
    }
    return true;
}

static void start_clock(bench *b);

/* Keeps MAX_CONNECTING handshakes under way until all are open; starts
 * the clock (load) or reports (hold) once every connection has joined. */
static void open_more(bench *b)
{
    while (b->opened < (size_t)b->opt.connections && b->connecting < MAX_CONNECTING)
        if (!open_one(b))
            return;
    if (b->started_at > 0 || b->connecting > 0 || b->opened < (size_t)b->opt.connections)
        return;
    if (b->closed == b->opened) {
        event_base_loopbreak(b->base); /* nobody got through: nothing to measure */
        return;
    }
    start_clock(b);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    bench *b = arg;
    b->measuring = false;
    b->stopped_at = cc_clock_mono();
    event_base_loopbreak(b->base);
}

static void start_clock(bench *b)
{
    b->started_at = cc_clock_mono();
    if (b->opt.mode == MODE_HOLD) {
        printf("{\"connections\": %zu, \"joined\": %zu}\n", b->opened, b->joined);
        fflush(stdout);
        return;
    }
    b->measuring = true;
    b->stop_timer = evtimer_new(b->base, on_stop, b);
    struct timeval tv = cc_timeval_of(b->opt.seconds);
    evtimer_add(b->stop_timer, &tv);
}

static void report(const bench *b)
{
    double elapsed = b->stopped_at - b->started_at;
    double answers = (double)(b->joins + b->lists);
    printf("{\"connections\": %zu, \"joined\": %zu, \"seconds\": %.3f, \"joins\": %llu, "
           "\"lists\": %llu, \"ids\": %llu, \"peer_lists\": %llu, \"refused\": %llu, "
           "\"unexpected\": %llu, \"closed\": %zu, \"answers_per_second\": %.1f}\n",
           b->opened, b->joined, elapsed, b->joins, b->lists, b->ids, b->peer_lists, b->refused,
           b->other, b->closed,
           elapsed > 0 ? answers / elapsed : 0.0);
}

static void free_clients(bench *b)
{
    for (size_t i = 0; i < b->opened; i++) {
        client *c = b->clients[i];
        if (!c)
            continue;
        bufferevent_free(c->bev);
        cc_cheese_wire_free(c->wire);
        free(c);
    }
    free(b->clients);
}

static int run_client(bench *b)
{
    if (inet_pton(AF_INET, b->opt.host, &b->addr.sin_addr) != 1) {
        fprintf(stderr, "cheese-bench-tracker: %s is not an IPv4 address\n", b->opt.host);
        return 2;
    }
    b->addr.sin_family = AF_INET;
    b->addr.sin_port = htons((uint16_t)b->opt.port);
    b->clients = cc_calloc((size_t)b->opt.connections, sizeof *b->clients);
    open_more(b);
    event_base_dispatch(b->base);
    bool all_joined = b->joined == (size_t)b->opt.connections;
    if (b->opt.mode == MODE_LOAD)
        report(b);
    else if (!all_joined)
        printf("{\"connections\": %zu, \"joined\": %zu}\n", b->opened, b->joined);
    if (b->stop_timer)
        event_free(b->stop_timer);
    free_clients(b);
    return all_joined ? 0 : 1;
}

/* ---- the echo server ---- */

static void echo_read(struct bufferevent *bev, void *arg)
{
    (void)arg;
    bufferevent_write_buffer(bev, bufferevent_get_input(bev));
}

static void echo_event(struct bufferevent *bev, short what, void *arg)
{
    (void)what;
    (void)arg;
    bufferevent_free(bev);
}

static void echo_accept(struct evconnlistener *listener, evutil_socket_t fd, struct sockaddr *addr,
                        int len, void *arg)
{
    (void)listener;
    (void)addr;
    (void)len;
    (void)arg;
    tune_socket(fd);
    struct event_base *base = evconnlistener_get_base(listener);
    struct bufferevent *bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(bev, echo_read, NULL, echo_event, NULL);
    bufferevent_enable(bev, EV_READ);
    static const char greeting[] = "Connection Successful";
    bufferevent_write(bev, greeting, sizeof greeting - 1);
}

static int run_echo(bench *b)
{
    cc_err err = {0};
    struct evconnlistener *listener =
        cc_listener_bind(b->base, b->opt.host, b->opt.port, -1, echo_accept, NULL, &err);
    if (!listener) {
        fprintf(stderr, "cheese-bench-tracker: %s\n", err.msg);
        return 1;
    }
    printf("{\"listening\": %d}\n", b->opt.port);
    fflush(stdout);
    event_base_dispatch(b->base);
    evconnlistener_free(listener);
    return 0;
}

/* ---- main ---- */

static const struct option long_options[] = {
    {"host", required_argument, 0, 'a'},
    {"port", required_argument, 0, 'p'},
    {"connections", required_argument, 0, 'c'},
    {"seconds", required_argument, 0, 's'},
    {"spelling", required_argument, 0, 'w'},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

static bool parse_mode(const char *text, mode *out)
{
    static const char *const names[] = {"load", "hold", "echo"};
    for (int i = 0; i < 3; i++)
        if (strcmp(text, names[i]) == 0)
            return (*out = (mode)i), true;
    return false;
}

static bool parse_spelling(const char *text, cc_cheese_spelling *out)
{
    if (strcmp(text, "later") == 0)
        return (*out = CC_CHEESE_LATER), true;
    if (strcmp(text, "seed") == 0)
        return (*out = CC_CHEESE_SEED), true;
    return false;
}

/* Returns an exit status, or -1 to go on. */
static int parse_args(int argc, char **argv, options *o)
{
    *o = (options){.host = "127.0.0.1", .connections = 64, .seconds = 5,
                   .spelling = CC_CHEESE_LATER};
    int opt;
    while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        bool ok = true;
        if (opt == 'a')
            o->host = optarg;
        else if (opt == 'p')
            ok = cc_parse_int(optarg, 1, 65535, &o->port);
        else if (opt == 'c')
            ok = cc_parse_long(optarg, 1, 1000000, &o->connections);
        else if (opt == 's')
            ok = cc_parse_double(optarg, 0.1, 3600, &o->seconds);
        else if (opt == 'w')
            ok = parse_spelling(optarg, &o->spelling);
        else if (opt == 'h')
            return fputs(usage, stdout), 0;
        else
            ok = false;
        if (!ok)
            return fputs(usage, stderr), 2;
    }
    if (optind + 1 != argc || !parse_mode(argv[optind], &o->mode) || o->port == 0)
        return fputs(usage, stderr), 2;
    return -1;
}

static void on_signal(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

int main(int argc, char **argv)
{
    bench b = {0};
    int status = parse_args(argc, argv, &b.opt);
    if (status >= 0)
        return status;
    cc_raise_fd_limit(NULL);
    signal(SIGPIPE, SIG_IGN);
    b.base = event_base_new();
    struct event *term = evsignal_new(b.base, SIGTERM, on_signal, b.base);
    struct event *intr = evsignal_new(b.base, SIGINT, on_signal, b.base);
    event_add(term, NULL);
    event_add(intr, NULL);
    status = b.opt.mode == MODE_ECHO ? run_echo(&b) : run_client(&b);
    event_free(term);
    event_free(intr);
    event_base_free(b.base);
    return status;
}

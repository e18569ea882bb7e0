/* cheese-tracker: the tracker of the cheese network (seed 000). Flags set
 * the tracker's configuration; everything else happens in net/cheese_tracker.
 * Exit status: 0 after a clean shutdown (SIGINT/SIGTERM), 1 when it could not
 * start, 2 for usage errors. */
#include <event2/dns.h>
#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/address.h"
#include "net/cheese_tracker.h"
#include "util/fileio.h"
#include "util/mem.h"
#include "util/parse.h"
#include "util/version.h"

static const char usage[] =
    "usage: cheese-tracker [options]\n"
    "\n"
    "Runs the tracker of the cheese network: peers join it, ask it\n"
    "for other peers, and are dropped when they close or fail a liveness check\n"
    "(HCK, or for peers without HCK a greeting on the port they joined with).\n"
    "Both spellings of the protocol (the first document's and its later\n"
    "revision's) are served.\n"
    "\n"
    "  --host ADDR              IP address to listen on (127.0.0.1; 0.0.0.0 for all)\n"
    "  --port N                 1-65535: TCP port (9999)\n"
    "  --health-interval S      0.01-86400: check every peer's liveness every S\n"
    "                           seconds (15)\n"
    "  --health-timeout S       0.01-86400: drop a peer whose HCKACK or greeting\n"
    "                           takes longer (5)\n"
    "  --join-timeout S         0.01-86400: close connections that have not joined\n"
    "                           after S seconds (60)\n"
    "  --max-connections N      1-10000000: simultaneous connections (100000)\n"
    "  --allow HOST:PORT        repeatable: take joins only with these addresses\n"
    "                           (a private network's tracker); others are refused\n"
    "  --log-level LEVEL        debug, info, notice, warn or error (info)\n"
    "  --log-file FILE          append log lines to FILE instead of stderr; SIGHUP\n"
    "                           opens it again (after a rotation)\n"
    "  --help                   show this text\n"
    "  --version                show the version\n";

typedef struct settings {
    cc_cheese_tracker_config tracker;
    cc_log log;
    cc_addr *allow; /* --allow, owned; tracker.allow points here */
} settings;

/* One --allow: an IP address (or localhost) and a port. */
static bool add_allow(settings *s, const char *value)
{
    cc_addr a;
    if (!cc_addr_parse(value, strlen(value), &a, NULL))
        return false;
    s->allow = cc_realloc(s->allow, (s->tracker.n_allow + 1) * sizeof *s->allow);
    s->allow[s->tracker.n_allow++] = a;
    s->tracker.allow = s->allow;
    return true;
}

static bool parse_seconds(const char *text, double *out)
{
    return cc_parse_double(text, 0.01, 86400, out);
}

static bool apply(settings *s, const char *key, const char *value)
{
    cc_cheese_tracker_config *c = &s->tracker;
    long n;
    if (!strcmp(key, "host"))
        return (c->host = value), true;
    if (!strcmp(key, "port"))
        return cc_parse_long(value, 1, 65535, &n) && ((c->port = (int)n), true);
    if (!strcmp(key, "health-interval"))
        return parse_seconds(value, &c->health_interval_s);
    if (!strcmp(key, "health-timeout"))
        return parse_seconds(value, &c->health_timeout_s);
    if (!strcmp(key, "join-timeout"))
        return parse_seconds(value, &c->join_timeout_s);
    if (!strcmp(key, "max-connections"))
        return cc_parse_long(value, 1, 10000000, &n) && ((c->max_connections = (size_t)n), true);
    if (!strcmp(key, "log-level"))
        return cc_log_level_parse(value, &s->log.threshold);
    if (!strcmp(key, "log-file"))
        return *value && ((s->log.path = value), true);
    if (!strcmp(key, "allow"))
        return add_allow(s, value);
    return false;
}

static const struct option long_options[] = {
    {"host", required_argument, 0, 0},
    {"port", required_argument, 0, 0},
    {"health-interval", required_argument, 0, 0},
    {"health-timeout", required_argument, 0, 0},
    {"join-timeout", required_argument, 0, 0},
    {"max-connections", required_argument, 0, 0},
    {"allow", required_argument, 0, 0},
    {"log-level", required_argument, 0, 0},
    {"log-file", required_argument, 0, 0},
    {"help", no_argument, 0, 'h'},
    {"version", no_argument, 0, 'V'},
    {0, 0, 0, 0},
};

/* Returns an exit status, or -1 to go on. */
static int parse_args(settings *s, int argc, char **argv)
{
    int index;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", long_options, &index)) != -1) {
        if (opt == 'h') {
            fputs(usage, stdout);
            return 0;
        }
        if (opt == 'V') {
            printf("cheese-tracker %s\n", CC_VERSION);
            return 0;
        }
        if (opt != 0) {
            fputs(usage, stderr);
            return 2;
        }
        if (!apply(s, long_options[index].name, optarg)) {
            fprintf(stderr, "cheese-tracker: bad value for --%s: %s\n%s", long_options[index].name,
                    optarg, usage);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "cheese-tracker: unexpected argument: %s\n%s", argv[optind], usage);
        return 2;
    }
    return -1;
}

typedef struct signals {
    struct event_base *base;
    const cc_log *log;
} signals;

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    const signals *s = arg;
    cc_notice(s->log, "signal %d: shutting down", (int)sig);
    event_base_loopbreak(s->base);
}

static void on_hangup(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    const signals *s = arg;
    cc_err err = {0};
    if (!cc_log_reopen(s->log, &err))
        cc_error(s->log, "SIGHUP: %s", err.msg);
    else
        cc_notice(s->log, "SIGHUP: log file %s opened again",
                  s->log->path ? s->log->path : "(none: logging to stderr)");
}

static int run(settings *s)
{
    signal(SIGPIPE, SIG_IGN);
    cc_raise_fd_limit(&s->log);
    struct event_base *base = event_base_new();
    if (!base) {
        fputs("cheese-tracker: cannot create the event loop\n", stderr);
        return 1;
    }
    /* Peers may join with a host name, looked up on the loop before it is
     * registered; without a resolver only addresses can join. */
    struct evdns_base *dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
    s->tracker.dns = dns;
    cc_err err = {0};
    cc_cheese_tracker *t = cc_cheese_tracker_start(base, &s->tracker, &err);
    if (!t) {
        fprintf(stderr, "cheese-tracker: %s\n", err.msg);
        if (dns)
            evdns_base_free(dns, 0);
        event_base_free(base);
        return 1;
    }
    signals sig = {.base = base, .log = &s->log};
    struct event *sigint = evsignal_new(base, SIGINT, on_signal, &sig);
    struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, &sig);
    struct event *sighup = evsignal_new(base, SIGHUP, on_hangup, &sig);
    event_add(sigint, NULL);
    event_add(sigterm, NULL);
    event_add(sighup, NULL);
    cc_notice(&s->log, "listening on %s:%d", s->tracker.host, cc_cheese_tracker_port(t));
    if (s->tracker.n_allow)
        cc_notice(&s->log, "taking joins only from the %zu addresses given with --allow",
                  s->tracker.n_allow);
    event_base_dispatch(base);
    event_free(sigint);
    event_free(sigterm);
    event_free(sighup);
    cc_cheese_tracker_free(t);
    if (dns)
        evdns_base_free(dns, 0);
    event_base_free(base);
    return 0;
}

int main(int argc, char **argv)
{
    settings s = {.log = {.threshold = CC_LOG_INFO, .component = "tracker"}};
    cc_cheese_tracker_defaults(&s.tracker);
    s.tracker.log = &s.log;
    int status = parse_args(&s, argc, argv);
    cc_err err = {0};
    if (status < 0 && s.log.path && !cc_log_open_file(&s.log, &err)) {
        fprintf(stderr, "cheese-tracker: %s\n", err.msg);
        status = 1;
    }
    if (status < 0)
        status = run(&s);
    if (s.log.fd > 0)
        close(s.log.fd);
    free(s.allow);
    return status;
}

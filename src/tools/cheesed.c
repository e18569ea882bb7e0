/* cheesed: the cheesechain node. Flags and the config file set the node's
 * configuration; everything else happens in node/. Exit status: 0 after a
 * clean shutdown, 1 when the node could not start, 2 for usage errors. */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "consensus/rules.h"
#include "net/address.h"
#include "node/cheese_node.h"
#include "node/http_node.h"
#include "node/node_common.h"
#include "node/peers.h"
#include "util/buf.h"
#include "util/fileio.h"
#include "util/mem.h"
#include "util/parse.h"
#include "util/version.h"

typedef struct settings {
    const char *network;
    cc_http_node_config node;
    cc_cheese_node_config cheese;
    cc_log log;
    char **owned; /* strings read from a config file */
    size_t n_owned;
    /* --connect, from the file or the command line (not both: the command
     * line's list replaces the file's, as for every other setting) */
    bool only_connect;
    const char **connect;
    size_t n_connect;
    bool reading_flags;     /* the command line is being applied */
    bool connect_on_flags;  /* a --connect came from it */
} settings;

/* Each setting with its range and, in parentheses, its default: what
 * apply_http and apply_cheese accept. */
static const char usage[] =
    "usage: cheesed --network http [options]\n"
    "       cheesed --network cheese [--tracker HOST:PORT] [options]\n"
    "\n"
    "Runs a cheesechain node: of the http network (nodes are HTTP servers that\n"
    "exchange blocks and payments) or of the cheese network (peers found through\n"
    "a tracker, talking over plain TCP).\n"
    "\n"
    "  --network NAME           http or cheese (http)\n"
    "  --host ADDR              IP address to listen on (127.0.0.1; 0.0.0.0: all)\n"
    "  --advertise HOST         the address peers are told to dial (--host; needed\n"
    "                           with --host 0.0.0.0)\n"
    "  --port N                 1-65535: HTTP port (6000); cheese: peer port (9009)\n"
    "  --api-port N             1-65535: the explorer (for browsers), JSON API and\n"
    "                           /metrics (the node's port + 1000); the http node's\n"
    "                           own port serves the JSON API too\n"
    "  --datadir DIR            data directory (./data/<network>-<port>)\n"
    "  --peers-default FILE     peers to start from ({\"peers\": [...]}; default\n"
    "                           ./peers-default.json when it exists)\n"
    "  --connect HOST:PORT      repeatable: these are the node's only peers; no\n"
    "                           other is ever listed, asked or sent anything, and\n"
    "                           an http node refuses other nodes' peer-list\n"
    "                           requests, blocks and payments; none: no peer\n"
    "                           (excludes --peers-default)\n"
    "  --n-transactions N       1-255: waiting transactions that trigger mining (2)\n"
    "  --miner-threads N        0-256: mining threads, 0 = one per core (0)\n"
    "  --miner-nice N           0-19: mining threads' niceness (19: the node\n"
    "                           answers first; 0 under a checker such as valgrind)\n"
    "  --verify-threads N       0-256: signature-checking threads, 0 = one per core (0)\n"
    "  --mine-on-start yes|no   mine block 1 when the chain is only the genesis (yes)\n"
    "  --faucet on|off          pay from the node's wallet on POST /money (on)\n"
    "  --faucet-min-request X   0-1e15: least paid per request (0.00000001)\n"
    "  --faucet-max-request X   0-1e15: most paid per request (5)\n"
    "  --faucet-max-recipient X\n"
    "                           0-1e15: most paid to one key per window (10)\n"
    "  --faucet-max-total X     0-1e15: most paid in all per window (50)\n"
    "  --faucet-window S        1-1e15: the faucet's window in seconds (3600)\n"
    "  --max-body BYTES         4096-67108864: largest request body (1048576)\n"
    "  --idle-timeout S         0.1-1e15: drop connections silent this long (10)\n"
    "  --max-connections N      1-1000000: simultaneous connections (1024)\n"
    "  --max-mempool N          1-10000000: transactions waiting at most (10000)\n"
    "  --max-peers N            1-100000: peers kept at most (128)\n"
    "  --gossip-interval S      0.1-86400: ask peers for their peers every S\n"
    "                           seconds, +-25% (60)\n"
    "  --ban-time S             0-1e9: seconds a misbehaving peer stays banned (600)\n"
    "  --api-trust-loopback yes|no\n"
    "                           /api/send and /api/mine answer programs on\n"
    "                           loopback without DATADIR/api.token (yes)\n"
    "  --log-level LEVEL        debug, info, notice, warn or error (notice)\n"
    "  --log-file FILE          append log lines to FILE instead of stderr; SIGHUP\n"
    "                           opens it again (after a rotation)\n"
    "  --conf FILE              read KEY=VALUE lines, same keys as the flags\n"
    "  --help                   show this text\n"
    "  --version                show the version\n"
    "\n"
    "cheese network only:\n"
    "  --tracker HOST:PORT      the tracker (127.0.0.1:9999)\n"
    "  --tracker-interval S     0.05-86400: ask the tracker for peers every S\n"
    "                           seconds (10)\n"
    "  --resync-interval S      0.1-86400: fetch a random peer's chain every S\n"
    "                           seconds (60)\n";

/* Flag values that are amounts or durations: at least min, at most 1e15. */
static bool parse_double(const char *text, double min, double *out)
{
    return cc_parse_double(text, min, 1e15, out);
}

static bool set_size(size_t *field, const char *value, long min, long max)
{
    long n;
    if (!cc_parse_long(value, min, max, &n))
        return false;
    *field = (size_t)n;
    return true;
}

/* Keeps a string the settings point into until the end. */
static char *own(settings *s, char *text)
{
    s->owned = cc_realloc(s->owned, (s->n_owned + 1) * sizeof *s->owned);
    s->owned[s->n_owned++] = text;
    return text;
}

/* "HOST:PORT", split at the last ':'; host points into value's copy. */
static bool parse_tracker(settings *s, const char *value)
{
    const char *colon = strrchr(value, ':');
    long n;
    if (!colon || colon == value || !cc_parse_long(colon + 1, 1, 65535, &n))
        return false;
    char *host = own(s, cc_strndup(value, (size_t)(colon - value)));
    s->cheese.tracker_host = host;
    s->cheese.tracker_port = (int)n;
    return true;
}

/* One --connect: an IP address (or localhost) and a port, or "none" (the
 * mode without a peer: a devnet of one node). Whether the address suits
 * the network is checked once the network is known (check_connect). */
static bool add_connect(settings *s, const char *value)
{
    if (s->reading_flags && !s->connect_on_flags) {
        s->connect_on_flags = true; /* the command line's list replaces the file's */
        s->n_connect = 0;
    }
    s->only_connect = true;
    if (!strcmp(value, "none"))
        return true;
    if (!cc_addr_parse(value, strlen(value), &(cc_addr){0}, NULL))
        return false;
    s->connect = cc_realloc(s->connect, (s->n_connect + 1) * sizeof *s->connect);
    s->connect[s->n_connect++] = value;
    return true;
}

/* Keys of the cheese network's node; the shared ones are set by apply. */
static bool apply_cheese(settings *s, const char *key, const char *value)
{
    cc_cheese_node_config *c = &s->cheese;
    long n;
    if (!strcmp(key, "tracker"))
        return parse_tracker(s, value);
    if (!strcmp(key, "api-port"))
        return cc_parse_long(value, 1, 65535, &n) &&
               ((c->api_port = s->node.web_port = (int)n), true);
    if (!strcmp(key, "tracker-interval"))
        return parse_double(value, 0.05, &c->tracker_interval_s) && c->tracker_interval_s <= 86400;
    if (!strcmp(key, "resync-interval"))
        return parse_double(value, 0.1, &c->resync_interval_s) && c->resync_interval_s <= 86400;
    return false;
}

/* Settings both nodes have go to both configurations. */
static void share(settings *s, const char *key)
{
    const cc_http_node_config *h = &s->node;
    cc_cheese_node_config *c = &s->cheese;
    if (!strcmp(key, "host"))
        c->host = h->host;
    else if (!strcmp(key, "advertise"))
        c->advertise = h->advertise;
    else if (!strcmp(key, "port"))
        c->port = h->port;
    else if (!strcmp(key, "idle-timeout"))
        c->idle_timeout_s = h->idle_timeout_s;
    else if (!strcmp(key, "max-connections"))
        c->max_connections = h->max_connections;
    else if (!strcmp(key, "max-peers"))
        c->max_peers = h->max_peers;
    else if (!strcmp(key, "ban-time"))
        c->ban_time_s = h->ban_time_s;
}

static bool apply_http(settings *s, const char *key, const char *value);

/* One place that knows every key, for flags and config files alike. */
static bool apply(settings *s, const char *key, const char *value)
{
    if (!strcmp(key, "connect"))
        return add_connect(s, value);
    if (apply_cheese(s, key, value))
        return true;
    if (!apply_http(s, key, value))
        return false;
    share(s, key);
    return true;
}

/* The settings of the node core (both networks) are read into the http
 * node's, and given to the cheese node's when it runs (run_cheese). */
static bool apply_http(settings *s, const char *key, const char *value)
{
    cc_http_node_config *c = &s->node;
    long n;
    if (!strcmp(key, "network"))
        return (s->network = value), true;
    if (!strcmp(key, "host"))
        return (c->host = value), true;
    if (!strcmp(key, "advertise"))
        return *value && ((c->advertise = value), true);
    if (!strcmp(key, "port"))
        return cc_parse_long(value, 1, 65535, &n) && ((c->port = (int)n), true);
    if (!strcmp(key, "datadir"))
        return (c->core.datadir = value), true;
    if (!strcmp(key, "peers-default"))
        return (c->peers_default = value), true;
    if (!strcmp(key, "n-transactions"))
        return set_size(&c->core.n_transactions, value, 1, 255);
    if (!strcmp(key, "miner-threads"))
        return cc_parse_long(value, 0, 256, &n) && ((c->core.miner_threads = (unsigned)n), true);
    if (!strcmp(key, "miner-nice"))
        return cc_parse_long(value, 0, 19, &n) && ((c->core.miner_nice = (int)n), true);
    if (!strcmp(key, "verify-threads"))
        return cc_parse_long(value, 0, 256, &n) && ((c->core.verify_threads = (unsigned)n), true);
    if (!strcmp(key, "mine-on-start"))
        return cc_parse_switch(value, &c->core.mine_on_start);
    if (!strcmp(key, "faucet"))
        return cc_parse_switch(value, &c->faucet.enabled);
    if (!strcmp(key, "faucet-min-request"))
        return parse_double(value, 0, &c->faucet.min_per_request);
    if (!strcmp(key, "faucet-max-request"))
        return parse_double(value, 0, &c->faucet.max_per_request);
    if (!strcmp(key, "faucet-max-recipient"))
        return parse_double(value, 0, &c->faucet.max_per_recipient);
    if (!strcmp(key, "faucet-max-total"))
        return parse_double(value, 0, &c->faucet.max_total);
    if (!strcmp(key, "faucet-window"))
        return parse_double(value, 1, &c->faucet.window_s);
    if (!strcmp(key, "max-body"))
        return set_size(&c->max_body_bytes, value, 4096, 64L << 20);
    if (!strcmp(key, "idle-timeout"))
        return parse_double(value, 0.1, &c->idle_timeout_s);
    if (!strcmp(key, "max-connections"))
        return set_size(&c->max_connections, value, 1, 1000000);
    if (!strcmp(key, "max-mempool"))
        return set_size(&c->core.max_mempool, value, 1, 10000000);
    if (!strcmp(key, "max-peers"))
        return set_size(&c->max_peers, value, 1, 100000);
    if (!strcmp(key, "gossip-interval"))
        return parse_double(value, 0.1, &c->gossip_interval_s) && c->gossip_interval_s <= 86400;
    if (!strcmp(key, "ban-time"))
        return parse_double(value, 0, &c->ban_time_s) && c->ban_time_s <= 1e9;
    if (!strcmp(key, "api-trust-loopback"))
        return cc_parse_switch(value, &c->core.api_trust_loopback);
    if (!strcmp(key, "log-level"))
        return cc_log_level_parse(value, &s->log.threshold);
    if (!strcmp(key, "log-file"))
        return *value && ((s->log.path = value), true);
    return false;
}

static bool apply_reported(settings *s, const char *key, const char *value, const char *where)
{
    if (apply(s, key, value))
        return true;
    fprintf(stderr, "cheesed: %s: bad value for %s: %s\n", where, key, value);
    return false;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
        *--end = '\0';
    return s;
}

/* A '#' at the start of a line or after a blank starts a comment, so
 * "datadir=/srv/node # main" is /srv/node; one inside a word ("pass#1")
 * is part of the value. */
static void strip_comment(char *line)
{
    for (char *c = line; *c; c++)
        if (*c == '#' && (c == line || c[-1] == ' ' || c[-1] == '\t')) {
            *c = '\0';
            return;
        }
}

static bool is_setting(const char *key);
static const char *nearest_setting(const char *key);

/* One KEY=VALUE line of a config file; where is "FILE:LINE". */
static bool read_conf_line(settings *s, char *line, const char *where)
{
    strip_comment(line);
    line = trim(line);
    if (!*line)
        return true;
    char *eq = strchr(line, '=');
    if (!eq) {
        fprintf(stderr, "cheesed: %s: expected KEY=VALUE, got: %s\n", where, line);
        return false;
    }
    *eq = '\0';
    const char *key = trim(line);
    if (!is_setting(key)) {
        const char *near = nearest_setting(key);
        fprintf(stderr, "cheesed: %s: unknown setting '%s'%s%s%s (cheesed --help lists them)\n",
                where, key, near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
        return false;
    }
    char *value = own(s, cc_strdup(trim(eq + 1)));
    return apply_reported(s, key, value, where);
}

static bool read_conf(settings *s, const char *path)
{
    cc_buf text = CC_BUF_INIT;
    cc_err err = {0};
    if (!cc_read_file(path, 1 << 20, &text, &err)) {
        fprintf(stderr, "cheesed: %s\n", err.msg);
        return false;
    }
    bool ok = true;
    char *line = text.data;
    for (unsigned number = 1; ok && line; number++) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char where[4200];
        snprintf(where, sizeof where, "%s:%u", path, number);
        ok = read_conf_line(s, line, where);
        line = next;
    }
    cc_buf_free(&text);
    return ok;
}

static const struct option long_options[] = {
    {"network", required_argument, 0, 0},       {"host", required_argument, 0, 0},
    {"advertise", required_argument, 0, 0},
    {"port", required_argument, 0, 0},          {"datadir", required_argument, 0, 0},
    {"peers-default", required_argument, 0, 0}, {"n-transactions", required_argument, 0, 0},
    {"connect", required_argument, 0, 0},
    {"miner-threads", required_argument, 0, 0}, {"mine-on-start", required_argument, 0, 0},
    {"verify-threads", required_argument, 0, 0}, {"miner-nice", required_argument, 0, 0},
    {"faucet", required_argument, 0, 0},        {"faucet-max-request", required_argument, 0, 0},
    {"faucet-min-request", required_argument, 0, 0},
    {"faucet-max-recipient", required_argument, 0, 0},
    {"faucet-max-total", required_argument, 0, 0},
    {"faucet-window", required_argument, 0, 0}, {"max-body", required_argument, 0, 0},
    {"idle-timeout", required_argument, 0, 0},  {"max-connections", required_argument, 0, 0},
    {"max-mempool", required_argument, 0, 0},   {"max-peers", required_argument, 0, 0},
    {"gossip-interval", required_argument, 0, 0}, {"ban-time", required_argument, 0, 0},
    {"api-trust-loopback", required_argument, 0, 0},
    {"log-level", required_argument, 0, 0},     {"conf", required_argument, 0, 'c'},
    {"log-file", required_argument, 0, 0},
    {"tracker", required_argument, 0, 0},       {"api-port", required_argument, 0, 0},
    {"tracker-interval", required_argument, 0, 0},
    {"resync-interval", required_argument, 0, 0},
    {"help", no_argument, 0, 'h'},              {"version", no_argument, 0, 'V'},
    {0, 0, 0, 0},
};

static bool is_setting(const char *key)
{
    for (const struct option *o = long_options; o->name; o++)
        if (o->has_arg == required_argument && strcmp(o->name, "conf") != 0 &&
            !strcmp(o->name, key))
            return true;
    return false;
}

/* Levenshtein distance of a and b, both short (setting names). */
static size_t edit_distance(const char *a, const char *b)
{
    size_t lb = strlen(b);
    if (strlen(a) > 64 || lb > 64)
        return SIZE_MAX;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; a[i - 1]; i++) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t above = row[j];
            size_t change = diagonal + (a[i - 1] != b[j - 1]);
            size_t shorter = (above < row[j - 1] ? above : row[j - 1]) + 1;
            row[j] = change < shorter ? change : shorter;
            diagonal = above;
        }
    }
    return row[lb];
}

/* The setting a mistyped key most likely meant (at most two edits away). */
static const char *nearest_setting(const char *key)
{
    const char *best = NULL;
    size_t best_distance = 3;
    for (const struct option *o = long_options; o->name; o++) {
        if (o->has_arg != required_argument || !strcmp(o->name, "conf"))
            continue;
        size_t d = edit_distance(key, o->name);
        if (d < best_distance) {
            best = o->name;
            best_distance = d;
        }
    }
    return best;
}

/* Config files first, so that flags given on the command line win: a first
 * getopt pass reads every --conf (in any spelling getopt accepts: "--conf F",
 * "--conf=F", "--con F"), a second applies the other flags. */
static int parse_args(settings *s, int argc, char **argv)
{
    int index;
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", long_options, &index)) != -1)
        if (opt == 'c' && !read_conf(s, optarg))
            return 2;
    opterr = 1;
    optind = 0; /* GNU: start over */
    s->reading_flags = true;
    while ((opt = getopt_long(argc, argv, "h", long_options, &index)) != -1) {
        if (opt == 'h') {
            fputs(usage, stdout);
            return 0;
        }
        if (opt == 'V') {
            printf("cheesed %s\n", CC_VERSION);
            return 0;
        }
        if (opt == 'c')
            continue;
        if (opt != 0 || !apply_reported(s, long_options[index].name, optarg, "command line")) {
            fputs(usage, stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "cheesed: unexpected argument: %s\n%s", argv[optind], usage);
        return 2;
    }
    return -1;
}

/* --connect against the rest, once every setting is read: a list beside
 * one it would replace, or an address the network cannot dial, is a usage
 * error before anything is created. */
static bool check_connect(settings *s)
{
    if (!s->only_connect)
        return true;
    if (s->node.peers_default) {
        fprintf(stderr, "cheesed: --connect and --peers-default exclude each other: the "
                        "peers given with --connect are the node's only ones\n");
        return false;
    }
    for (size_t i = 0; strcmp(s->network, "http") == 0 && i < s->n_connect; i++) {
        char canonical[CC_ADDR_TEXT_MAX];
        cc_err err = {0};
        if (!cc_peer_address(s->connect[i], canonical, &err)) {
            fprintf(stderr, "cheesed: bad value for connect: %s (%s)\n", s->connect[i], err.msg);
            return false;
        }
    }
    s->node.only_connect = s->cheese.only_connect = true;
    s->node.connect = s->cheese.connect = s->connect;
    s->node.n_connect = s->cheese.n_connect = s->n_connect;
    return true;
}

static void free_settings(settings *s)
{
    for (size_t i = 0; i < s->n_owned; i++)
        free(s->owned[i]);
    free(s->owned);
    free(s->connect);
    if (s->log.fd > 0)
        close(s->log.fd);
}

static int run_cheese(settings *s)
{
    char datadir[4096], component[32];
    /* The core's settings, as read, but what is the cheese node's own: it
     * mines when payments wait or on demand, and adopts chains whole. */
    cc_node_core_config core = s->node.core;
    core.mine_on_start = false;
    core.reorg_inline_max = 0;
    core.reorg_step_blocks = 0;
    s->cheese.core = core;
    if (!s->cheese.core.datadir) {
        snprintf(datadir, sizeof datadir, "./data/cheese-%d", s->cheese.port);
        s->cheese.core.datadir = datadir;
    }
    s->cheese.core.rules = cc_rules_cheese();
    if (!s->cheese.api_port && !cc_rules_api_port(s->cheese.core.rules, s->cheese.port)) {
        fprintf(stderr, "cheesed: --port %d leaves no room for the default API port "
                        "(port + %d): give --api-port\n", s->cheese.port,
                s->cheese.core.rules->api_port_offset);
        return 2;
    }
    snprintf(component, sizeof component, "cheese-%d", s->cheese.port);
    s->log.component = component;
    cc_err err = {0};
    bool ok = cc_cheese_node_run(&s->cheese, &err);
    if (!ok)
        fprintf(stderr, "cheesed: %s\n", err.msg);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    settings s = {.network = "http", .log = {.threshold = CC_LOG_NOTICE}};
    cc_http_node_defaults(&s.node);
    s.node.core.log = &s.log;
    cc_cheese_node_defaults(&s.cheese);
    int status = parse_args(&s, argc, argv);
    if (status < 0 && !check_connect(&s))
        status = 2;
    if (status >= 0) {
        free_settings(&s);
        return status;
    }
    cc_err log_err = {0};
    if (!cc_node_advertised(s.node.host, s.node.advertise, &log_err)) {
        fprintf(stderr, "cheesed: %s\n", log_err.msg);
        free_settings(&s);
        return 2;
    }
    if (s.log.path && !cc_log_open_file(&s.log, &log_err)) {
        fprintf(stderr, "cheesed: %s\n", log_err.msg);
        free_settings(&s);
        return 1;
    }
    cc_raise_fd_limit(&s.log);
    if (strcmp(s.network, "cheese") == 0) {
        status = run_cheese(&s);
        free_settings(&s);
        return status;
    }
    if (strcmp(s.network, "http") != 0) {
        fprintf(stderr, "cheesed: unknown network '%s' (known: http, cheese)\n", s.network);
        free_settings(&s);
        return 2;
    }
    char datadir[4096], component[32];
    if (!s.node.core.datadir) {
        snprintf(datadir, sizeof datadir, "./data/http-%d", s.node.port);
        s.node.core.datadir = datadir;
    }
    /* Under --connect the node's peers are the ones given: no file adds any. */
    if (!s.node.peers_default && !s.node.only_connect) {
        FILE *f = fopen("peers-default.json", "r");
        if (f) {
            fclose(f);
            s.node.peers_default = "peers-default.json";
        }
    }
    snprintf(component, sizeof component, "http-%d", s.node.port);
    s.log.component = component;
    s.node.core.rules = cc_rules_http();
    cc_err err = {0};
    bool ok = cc_http_node_run(&s.node, &err);
    if (!ok)
        fprintf(stderr, "cheesed: %s\n", err.msg);
    free_settings(&s);
    return ok ? 0 : 1;
}

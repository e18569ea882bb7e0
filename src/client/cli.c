/* cheese-cli's commands (cli.h): requests to the node's JSON API, their
 * answers printed through cli_format.h or as they came; and the wallet
 * commands, which ask no node (wallet/backup.h does the work). */
#include "client/cli.h"

#include <ctype.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/json.h"
#include "consensus/rules.h"
#include "net/http_call.h"
#include "client/cli_format.h"
#include "util/atomic_file.h"
#include "util/clock.h"
#include "util/fileio.h"
#include "util/hex.h"
#include "util/mem.h"
#include "wallet/backup.h"
#include "wallet/keys.h"

#define CLI_JSON_DEPTH 32
#define CLI_MAX_TOKEN 1024
#define CLI_MAX_ARG 4096 /* longest key or amount taken from the command line */

/* name, arguments, what it does, least and most arguments, local (no node) */
static const cc_cli_command commands[] = {
    {"info", "", "network, height, tip, peers, mempool, sync, key, balance", 0, 0, false},
    {"balance", "[KEY]", "what KEY holds and may spend (default: the node's key)", 0, 1,
     false},
    {"send", "TO AMOUNT", "pay AMOUNT from the node's wallet to the public key TO", 2, 2, false},
    {"block", "HASH|HEIGHT", "a block by its hash, or the best chain's block at HEIGHT", 1, 1,
     false},
    {"tx", "TXID", "a transaction, mined on the best chain or waiting", 1, 1, false},
    {"mempool", "", "the transactions waiting to be mined, in mining order", 0, 0, false},
    {"peers", "", "the node's peers", 0, 0, false},
    {"mine", "", "mine a block now with what waits (--wait: until found)", 0, 0, false},
    {"export", "[FILE]", "write the whole chain to FILE (blocks-PORT.json)", 0, 1, false},
    {"keys", "", "the node's public key, and its wallet file when known", 0, 0, false},
    {"wallet backup", "FILE", "copy DIR's wallet to FILE, a new file (node may run)", 1, 1,
     true},
    {"wallet restore", "FILE", "make FILE DIR's wallet, keeping the old (node stopped)", 1, 1,
     true},
    {"key export", "", "print DIR's private key, as key import takes it", 0, 0, true},
    {"key import", "FILE|-", "wallet restore from key export's text (-: stdin)", 1, 1, true},
};

const cc_cli_command *cc_cli_commands(size_t *count)
{
    *count = sizeof commands / sizeof commands[0];
    return commands;
}

const cc_cli_command *cc_cli_command_find(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

const cc_cli_command *cc_cli_command_match(int argc, char *const *words, int *used)
{
    *used = 0;
    if (argc < 1)
        return NULL;
    if (argc >= 2) {
        size_t first = strlen(words[0]);
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
            const char *name = commands[i].name;
            if (strncmp(name, words[0], first) == 0 && name[first] == ' ' &&
                strcmp(name + first + 1, words[1]) == 0) {
                *used = 2;
                return &commands[i];
            }
        }
    }
    const cc_cli_command *cmd = cc_cli_command_find(words[0]);
    if (cmd)
        *used = 1;
    return cmd;
}

/* ---- requests ------------------------------------------------------------------------ */

typedef struct session {
    const cc_cli_config *cfg;
    char *token; /* NULL: none */
    cc_buf *out;
    cc_buf *notes;
} session;

static int usage_error(cc_err *err, const char *what, const char *arg)
{
    cc_fail(err, CC_CLI_USAGE, "%s, not '%.70s'", what, arg);
    return CC_CLI_USAGE;
}

/* An error answer: the node's errmsg when it sent {"errcode", "errmsg"}. */
static int node_error(const cc_http_call_answer *ans, cc_err *err)
{
    json_t *doc = cc_json_parse(ans->body.data, ans->body.len, CLI_JSON_DEPTH, NULL);
    const json_t *msg = json_is_object(doc) ? json_object_get(doc, "errmsg") : NULL;
    if (json_is_string(msg))
        cc_fail(err, ans->status, "%s (HTTP %d)", json_string_value(msg), ans->status);
    else
        cc_fail(err, ans->status, "HTTP %d: %.160s", ans->status,
                ans->body.len ? ans->body.data : "(no body)");
    json_decref(doc);
    return CC_CLI_FAILED;
}

/* One request. CC_CLI_OK with a 2xx answer in ans (the body in ans->body
 * unless sink took it); otherwise the exit status, with err filled. */
static int call(session *s, const char *method, const char *path, const char *body,
                cc_http_call_answer *ans, cc_http_call_sink sink, void *sink_ctx, cc_err *err)
{
    cc_http_call_request req = {
        .host = s->cfg->host,
        .port = s->cfg->port,
        .method = method,
        .path = path,
        .body = body,
        .body_len = body ? strlen(body) : 0,
        .bearer_token = s->token,
        .timeout_s = s->cfg->timeout_s,
        .sink = sink,
        .sink_ctx = sink_ctx,
    };
    cc_err why = {0};
    if (!cc_http_call(&req, ans, &why)) {
        if (ans->failure == CC_CALL_SINK) {
            *err = why;
            return CC_CLI_FAILED;
        }
        cc_fail(err, CC_ERR_UNAVAILABLE, "cannot reach the node: %s", why.msg);
        return CC_CLI_UNREACHABLE;
    }
    if (ans->status < 200 || ans->status > 299)
        return node_error(ans, err);
    return CC_CLI_OK;
}

/* A request whose answer must be a JSON object; *doc is the caller's. */
static int call_json(session *s, const char *method, const char *path, const char *body,
                     cc_http_call_answer *ans, json_t **doc, cc_err *err)
{
    int status = call(s, method, path, body, ans, NULL, NULL, err);
    if (status != CC_CLI_OK)
        return status;
    cc_err why = {0};
    *doc = cc_json_parse(ans->body.data, ans->body.len, CLI_JSON_DEPTH, &why);
    if (!json_is_object(*doc)) {
        json_decref(*doc);
        *doc = NULL;
        cc_fail(err, CC_ERR_UNAVAILABLE, "%s:%d answered %s with something that is not a "
                "JSON object (is it a cheesechain node?): %.80s", s->cfg->host, s->cfg->port,
                path, ans->body.data);
        return CC_CLI_UNREACHABLE;
    }
    return CC_CLI_OK;
}

/* Prints an answer: as it came with --json, readably otherwise. */
static int print_answer(session *s, const char *command, const char *body, size_t len,
                        cc_err *err)
{
    if (s->cfg->json) {
        cc_buf_append(s->out, body, len);
        cc_buf_putc(s->out, '\n');
        return CC_CLI_OK;
    }
    cc_err why = {0};
    if (cc_cli_format(command, body, len, s->out, &why))
        return CC_CLI_OK;
    cc_fail(err, CC_ERR_UNAVAILABLE, "%s:%d gave an answer that is not a node's: %s",
            s->cfg->host, s->cfg->port, why.msg);
    return CC_CLI_UNREACHABLE;
}

/* The simple commands: one request, its answer printed. */
static int simple(session *s, const char *command, const char *method, const char *path,
                  const char *body, cc_err *err)
{
    cc_http_call_answer ans = {0};
    json_t *doc = NULL;
    int status = call_json(s, method, path, body, &ans, &doc, err);
    if (status == CC_CLI_OK)
        status = print_answer(s, command, ans.body.data, ans.body.len, err);
    json_decref(doc);
    cc_buf_free(&ans.body);
    return status;
}

/* ---- arguments -------------------------------------------------------------------------- */

static void url_encode(cc_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
            cc_buf_putc(b, (char)c);
        else
            cc_buf_printf(b, "%%%02X", c);
    }
}

/* A JSON number literal: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool is_json_number(const char *s)
{
    const char *p = s;
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (isdigit((unsigned char)*p))
            p++;
    else
        return false;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return false;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!isdigit((unsigned char)*p))
            return false;
        while (isdigit((unsigned char)*p))
            p++;
    }
    return *p == '\0' && p - s < 400;
}

/* 64 hex digits, returned in lowercase. */
static bool hash_arg(const char *arg, char out[65])
{
    if (strlen(arg) != 64)
        return false;
    for (int i = 0; i < 64; i++) {
        if (cc_hex_digit(arg[i]) < 0)
            return false;
        out[i] = (char)tolower((unsigned char)arg[i]);
    }
    out[64] = '\0';
    return true;
}

static bool height_arg(const char *arg, long long *out)
{
    size_t len = strlen(arg);
    if (len == 0 || len > 18 || strspn(arg, "0123456789") != len)
        return false;
    *out = strtoll(arg, NULL, 10);
    return true;
}

/* ---- the commands ------------------------------------------------------------------------- */

static int cmd_info(session *s, char *const *argv, cc_err *err)
{
    (void)argv;
    return simple(s, "info", "GET", "/api/info", NULL, err);
}

/* The node's own key, from /api/info. */
static int node_key(session *s, char **key, char **network, cc_err *err)
{
    cc_http_call_answer ans = {0};
    json_t *doc = NULL;
    int status = call_json(s, "GET", "/api/info", NULL, &ans, &doc, err);
    if (status == CC_CLI_OK) {
        const json_t *k = json_object_get(doc, "key");
        const json_t *n = json_object_get(doc, "network");
        if (json_is_string(k)) {
            *key = cc_strdup(json_string_value(k));
            if (network)
                *network = cc_strdup(json_is_string(n) ? json_string_value(n) : "");
        } else {
            cc_fail(err, CC_ERR_UNAVAILABLE, "/api/info has no key: is it a cheesechain node?");
            status = CC_CLI_UNREACHABLE;
        }
    }
    json_decref(doc);
    cc_buf_free(&ans.body);
    return status;
}

static int cmd_balance(session *s, char *const *argv, cc_err *err)
{
    char *own = NULL;
    const char *key = argv[0];
    if (!key) {
        int status = node_key(s, &own, NULL, err);
        if (status != CC_CLI_OK)
            return status;
        key = own;
    } else if (!*key || strlen(key) > CLI_MAX_ARG) {
        return usage_error(err, "balance: KEY must be a public key", key);
    }
    cc_buf path = CC_BUF_INIT;
    cc_buf_puts(&path, "/api/balance?key=");
    url_encode(&path, key);
    int status = simple(s, "balance", "GET", path.data, NULL, err);
    cc_buf_free(&path);
    free(own);
    return status;
}

static int cmd_send(session *s, char *const *argv, cc_err *err)
{
    const char *to = argv[0], *amount = argv[1];
    if (!*to || strlen(to) > CLI_MAX_ARG)
        return usage_error(err, "send: TO must be a public key", to);
    if (!is_json_number(amount))
        return usage_error(err, "send: AMOUNT must be a number such as 2 or 0.5", amount);
    if (amount[0] == '-' || strtod(amount, NULL) == 0)
        return usage_error(err, "send: AMOUNT must be more than 0", amount);
    cc_buf body = CC_BUF_INIT;
    cc_buf_puts(&body, "{\"to\": ");
    cc_json_append_quoted(&body, to);
    cc_buf_printf(&body, ", \"sum\": %s}", amount);
    int status = simple(s, "send", "POST", "/api/send", body.data, err);
    cc_buf_free(&body);
    return status;
}

static int cmd_block(session *s, char *const *argv, cc_err *err)
{
    char path[128], hash[65];
    long long height;
    if (hash_arg(argv[0], hash))
        snprintf(path, sizeof path, "/api/block?hash=%s", hash);
    else if (height_arg(argv[0], &height))
        snprintf(path, sizeof path, "/api/block?height=%lld", height);
    else
        return usage_error(err, "block: give a block hash (64 hex digits) or a height "
                                "(0, 1, ...)", argv[0]);
    return simple(s, "block", "GET", path, NULL, err);
}

static int cmd_tx(session *s, char *const *argv, cc_err *err)
{
    char path[128], txid[65];
    if (!hash_arg(argv[0], txid))
        return usage_error(err, "tx: TXID must be 64 hex digits", argv[0]);
    snprintf(path, sizeof path, "/api/tx?txid=%s", txid);
    return simple(s, "tx", "GET", path, NULL, err);
}

static int cmd_mempool(session *s, char *const *argv, cc_err *err)
{
    (void)argv;
    return simple(s, "mempool", "GET", "/api/mempool", NULL, err);
}

static int cmd_peers(session *s, char *const *argv, cc_err *err)
{
    (void)argv;
    return simple(s, "peers", "GET", "/api/peers", NULL, err);
}

static void sleep_s(double seconds)
{
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL);
}

/* The best chain's height and the hash at `at` (when it reaches it). */
static int height_and_hash(session *s, long long at, long long *height, char hash[65],
                           cc_err *err)
{
    cc_http_call_answer ans = {0};
    json_t *doc = NULL;
    int status = call_json(s, "GET", "/api/info", NULL, &ans, &doc, err);
    if (status == CC_CLI_OK) {
        const json_t *h = json_object_get(doc, "height");
        *height = json_is_integer(h) ? (long long)json_integer_value(h) : -1;
    }
    json_decref(doc);
    doc = NULL;
    hash[0] = '\0';
    if (status == CC_CLI_OK && *height >= at) {
        char path[64];
        snprintf(path, sizeof path, "/api/block?height=%lld", at);
        status = call_json(s, "GET", path, NULL, &ans, &doc, err);
        const json_t *hv = doc ? json_object_get(doc, "hash") : NULL;
        if (status == CC_CLI_OK && json_is_string(hv))
            snprintf(hash, 65, "%s", json_string_value(hv));
    }
    json_decref(doc);
    cc_buf_free(&ans.body);
    return status;
}

static int cmd_mine(session *s, char *const *argv, cc_err *err)
{
    (void)argv;
    if (!s->cfg->wait)
        return simple(s, "mine", "POST", "/api/mine", NULL, err);
    cc_http_call_answer ans = {0};
    json_t *doc = NULL;
    int status = call_json(s, "POST", "/api/mine", NULL, &ans, &doc, err);
    const json_t *m = doc ? json_object_get(doc, "mining") : NULL;
    long long target = json_is_integer(m) ? (long long)json_integer_value(m) : -1;
    json_decref(doc);
    cc_buf_free(&ans.body);
    if (status != CC_CLI_OK)
        return status;
    if (target < 0) {
        cc_fail(err, CC_ERR_UNAVAILABLE, "/api/mine did not say which height it mines");
        return CC_CLI_UNREACHABLE;
    }
    double deadline = cc_clock_mono() + s->cfg->timeout_s;
    char hash[65] = "";
    long long height = -1;
    for (;;) {
        status = height_and_hash(s, target, &height, hash, err);
        if (status != CC_CLI_OK || hash[0])
            break;
        if (cc_clock_mono() > deadline) {
            cc_fail(err, CC_ERR_TIMEOUT, "no block at height %lld after %.3g s (the height is "
                    "%lld); it may still come: see cheese-cli info", target,
                    s->cfg->timeout_s, height);
            return CC_CLI_FAILED;
        }
        sleep_s(0.1);
    }
    if (status != CC_CLI_OK)
        return status;
    char text[160];
    int len = snprintf(text, sizeof text, "{\"mining\": %lld, \"hash\": \"%s\"}", target, hash);
    return print_answer(s, "mine", text, (size_t)len, err);
}

/* ---- export --------------------------------------------------------------------------- */

/* Streams the answer into the file, following its JSON structure to count
 * heights (arrays at depth 3: {"chain": [[...], ...]}) and to know that
 * what came is whole. */
typedef struct export_sink {
    cc_atomic_file file;
    int depth;
    bool in_string, escape, started, bad;
    size_t heights;
} export_sink;

static void scan(export_sink *x, const char *data, size_t len)
{
    for (size_t i = 0; i < len && !x->bad; i++) {
        char c = data[i];
        if (x->in_string) {
            if (x->escape)
                x->escape = false;
            else if (c == '\\')
                x->escape = true;
            else if (c == '"')
                x->in_string = false;
            continue;
        }
        if (!x->started) {
            if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
                continue;
            x->started = true;
            x->bad = c != '{';
        }
        if (c == '"') {
            x->in_string = true;
        } else if (c == '[' || c == '{') {
            if (++x->depth == 3 && c == '[')
                x->heights++;
        } else if (c == ']' || c == '}') {
            x->bad = --x->depth < 0;
        }
    }
}

static bool export_write(void *ctx, const char *data, size_t len, cc_err *err)
{
    export_sink *x = ctx;
    scan(x, data, len);
    return cc_atomic_file_write(&x->file, data, len, err);
}

/* The cheese network's node serves only the API on its API port, so its
 * chain is gathered a height at a time from /api/block?height=N, each
 * block's text copied as the node wrote it (the "block" member is last:
 * {"hash": ..., "height": ..., "best": ..., "block": <text>}). */
static int export_by_height(session *s, export_sink *x, long long tip, cc_err *err)
{
    static const char head[] = "{\"chain\": [";
    if (!export_write(x, head, sizeof head - 1, err))
        return CC_CLI_FAILED;
    cc_http_call_answer ans = {0};
    int status = CC_CLI_OK;
    for (long long h = 0; h <= tip && status == CC_CLI_OK; h++) {
        char path[64];
        snprintf(path, sizeof path, "/api/block?height=%lld", h);
        status = call(s, "GET", path, NULL, &ans, NULL, NULL, err);
        if (status != CC_CLI_OK)
            break;
        const char *start = strstr(ans.body.data, "\"block\": ");
        size_t end = ans.body.len;
        while (end > 0 && strchr(" \r\n\t", ans.body.data[end - 1]))
            end--;
        if (!start || end == 0 || ans.body.data[end - 1] != '}') {
            cc_fail(err, CC_ERR_UNAVAILABLE, "%s: not a block answer", path);
            status = CC_CLI_UNREACHABLE;
            break;
        }
        start += strlen("\"block\": ");
        size_t len = (size_t)(ans.body.data + end - 1 - start);
        if (!export_write(x, h ? ", [" : "[", h ? 3 : 1, err) ||
            !export_write(x, start, len, err) || !export_write(x, "]", 1, err))
            status = CC_CLI_FAILED;
    }
    cc_buf_free(&ans.body);
    if (status == CC_CLI_OK && !export_write(x, "]}", 2, err))
        status = CC_CLI_FAILED;
    return status;
}

/* The answer of GET /getblocks was 404: a cheese node's API port, or not a node. */
static int export_fallback(session *s, export_sink *x, cc_err *err)
{
    cc_http_call_answer ans = {0};
    json_t *doc = NULL;
    cc_err why = {0};
    int status = call_json(s, "GET", "/api/info", NULL, &ans, &doc, &why);
    const json_t *net = doc ? json_object_get(doc, "network") : NULL;
    const json_t *height = doc ? json_object_get(doc, "height") : NULL;
    if (status == CC_CLI_OK && json_is_string(net) && json_is_integer(height) &&
        strcmp(json_string_value(net), "http") != 0)
        status = export_by_height(s, x, (long long)json_integer_value(height), err);
    else
        status = CC_CLI_FAILED; /* keep the 404's message */
    json_decref(doc);
    cc_buf_free(&ans.body);
    return status;
}

static int cmd_export(session *s, char *const *argv, cc_err *err)
{
    char name[64];
    snprintf(name, sizeof name, "blocks-%d.json", s->cfg->port);
    const char *path = argv[0] ? argv[0] : name;
    export_sink x = {0};
    cc_err why = {0};
    if (!cc_atomic_file_open(&x.file, path, 0644, &why)) {
        cc_fail(err, CC_ERR_INTERNAL, "export: %s", why.msg);
        return CC_CLI_FAILED;
    }
    cc_http_call_answer ans = {0};
    int status = call(s, "GET", "/getblocks", NULL, &ans, export_write, &x, err);
    if (status == CC_CLI_FAILED && ans.failure == CC_CALL_OK && ans.status == 404) {
        cc_err first = *err, second = {0};
        x = (export_sink){.file = x.file}; /* nothing was written: the sink saw no 404 */
        status = export_fallback(s, &x, &second);
        *err = second.msg[0] ? second : first;
    }
    cc_buf_free(&ans.body);
    if (status == CC_CLI_OK && (x.bad || x.in_string || x.depth != 0 || !x.started)) {
        cc_fail(err, CC_ERR_UNAVAILABLE, "GET /getblocks did not answer a complete "
                                         "{\"chain\": [...]}; %s left as it was", path);
        status = CC_CLI_UNREACHABLE;
    }
    size_t bytes = x.file.written;
    if (status != CC_CLI_OK) {
        cc_atomic_file_abort(&x.file);
        return status;
    }
    if (!cc_atomic_file_commit(&x.file, &why)) {
        cc_fail(err, CC_ERR_INTERNAL, "export: %s", why.msg);
        return CC_CLI_FAILED;
    }
    cc_buf doc = CC_BUF_INIT;
    cc_buf_puts(&doc, "{\"file\": ");
    cc_json_append_quoted(&doc, path);
    cc_buf_printf(&doc, ", \"heights\": %zu, \"bytes\": %zu}", x.heights, bytes);
    status = print_answer(s, "export", doc.data, doc.len, err);
    cc_buf_free(&doc);
    return status;
}

/* ---- keys ------------------------------------------------------------------------------- */

static void trim_end(cc_buf *b)
{
    while (b->len && strchr(" \t\r\n", b->data[b->len - 1]))
        b->data[--b->len] = '\0';
}

static void wipe(cc_buf *b)
{
    if (b->data)
        explicit_bzero(b->data, b->cap);
    cc_buf_free(b);
}

/* Where the node's wallet is: DATADIR (given, or the node's default
 * ./data/<network>-<port>) holding the wallet file of the node's key. */
static char *find_wallet(session *s, const char *network, const char *key)
{
    const cc_rules *rules = cc_rules_find(network);
    if (!rules)
        return NULL;
    const char *file = rules->wallet_file;
    char dir[PATH_MAX], path[PATH_MAX + 32];
    if (s->cfg->datadir) {
        snprintf(dir, sizeof dir, "%s", s->cfg->datadir);
    } else {
        /* the node's port, from its API port by the network's rule (unless
         * --api-port said otherwise, which the user then says here too) */
        int port = s->cfg->port - rules->api_port_offset;
        snprintf(dir, sizeof dir, "./data/%s-%d", network, port);
    }
    snprintf(path, sizeof path, "%s/%s", dir, file);
    const cc_key_kind *kind = cc_key_kind_of(rules);
    if (!kind || !cc_wallet_file_holds(kind, path, key))
        return NULL;
    char *real = realpath(path, NULL);
    return real ? real : cc_strdup(path);
}

static int cmd_keys(session *s, char *const *argv, cc_err *err)
{
    (void)argv;
    char *key = NULL, *network = NULL;
    int status = node_key(s, &key, &network, err);
    if (status != CC_CLI_OK)
        return status;
    char *wallet = find_wallet(s, network, key);
    cc_buf doc = CC_BUF_INIT;
    cc_buf_puts(&doc, "{\"network\": ");
    cc_json_append_quoted(&doc, network);
    cc_buf_puts(&doc, ", \"key\": ");
    cc_json_append_quoted(&doc, key);
    cc_buf_puts(&doc, ", \"wallet\": ");
    if (wallet)
        cc_json_append_quoted(&doc, wallet);
    else
        cc_buf_puts(&doc, "null");
    cc_buf_putc(&doc, '}');
    status = print_answer(s, "keys", doc.data, doc.len, err);
    cc_buf_free(&doc);
    free(wallet);
    free(key);
    free(network);
    return status;
}

/* ---- the wallet file -------------------------------------------------------------------- */

/* --datadir is where the wallet is; --network is needed only where the
 * directory holds a wallet of each network, which is a question for the
 * user, not a failure. */
static int wallet_dir(session *s, const char *command, cc_err *err)
{
    const char *dir = s->cfg->datadir;
    if (!dir) {
        cc_fail(err, CC_CLI_USAGE, "%s: --datadir DIR must name the node's data directory, "
                "where its wallet is", command);
        return CC_CLI_USAGE;
    }
    const cc_key_kind *found[2];
    if (!s->cfg->network && cc_wallet_present(dir, found, 2) > 1) {
        cc_fail(err, CC_CLI_USAGE, "%s: %.80s holds a wallet of each network (%s and %s): "
                "say which with --network %s or --network %s", command, dir,
                cc_rules_find(found[0]->network)->wallet_file,
                cc_rules_find(found[1]->network)->wallet_file, found[0]->network,
                found[1]->network);
        return CC_CLI_USAGE;
    }
    return CC_CLI_OK;
}

static int wallet_failed(const char *command, const cc_err *why, cc_err *err)
{
    cc_fail(err, why->code, "%s: %s", command, why->msg);
    return CC_CLI_FAILED;
}

/* {"network", "wallet", "key", <copy_label>: path|null[, "changed"]}, printed. */
static int print_outcome(session *s, const char *command, const cc_wallet_outcome *o,
                         const char *copy_label, bool with_changed, cc_err *err)
{
    cc_buf doc = CC_BUF_INIT;
    cc_buf_puts(&doc, "{\"network\": ");
    cc_json_append_quoted(&doc, o->kind->network);
    cc_buf_puts(&doc, ", \"wallet\": ");
    cc_json_append_quoted(&doc, o->wallet);
    cc_buf_puts(&doc, ", \"key\": ");
    cc_json_append_quoted(&doc, o->pub);
    cc_buf_printf(&doc, ", \"%s\": ", copy_label);
    if (o->copy)
        cc_json_append_quoted(&doc, o->copy);
    else
        cc_buf_puts(&doc, "null");
    if (with_changed)
        cc_buf_printf(&doc, ", \"changed\": %s", o->changed ? "true" : "false");
    cc_buf_putc(&doc, '}');
    int status = print_answer(s, command, doc.data, doc.len, err);
    cc_buf_free(&doc);
    return status;
}

static int cmd_wallet_backup(session *s, char *const *argv, cc_err *err)
{
    static const char command[] = "wallet backup";
    int status = wallet_dir(s, command, err);
    if (status != CC_CLI_OK)
        return status;
    if (!*argv[0] || strcmp(argv[0], "-") == 0)
        return usage_error(err, "wallet backup: FILE must name the new file (key export "
                                "prints the key)", argv[0]);
    cc_wallet_outcome o;
    cc_err why = {0};
    if (!cc_wallet_backup(s->cfg->datadir, s->cfg->network, argv[0], &o, &why))
        return wallet_failed(command, &why, err);
    status = print_outcome(s, command, &o, "backup", false, err);
    cc_wallet_outcome_free(&o);
    return status;
}

/* restore and import: the same safe replacement, from a file or stdin. */
static int restore(session *s, const char *command, const char *source, cc_err *err)
{
    int status = wallet_dir(s, command, err);
    if (status != CC_CLI_OK)
        return status;
    if (!*source)
        return usage_error(err, "FILE must name a file (or - for stdin)", source);
    cc_wallet_outcome o;
    cc_err why = {0};
    if (!cc_wallet_restore(s->cfg->datadir, s->cfg->network, source, time(NULL), &o, &why))
        return wallet_failed(command, &why, err);
    status = print_outcome(s, command, &o, "replaced", true, err);
    cc_wallet_outcome_free(&o);
    return status;
}

static int cmd_wallet_restore(session *s, char *const *argv, cc_err *err)
{
    return restore(s, "wallet restore", argv[0], err);
}

static int cmd_key_import(session *s, char *const *argv, cc_err *err)
{
    return restore(s, "key import", argv[0], err);
}

/* The key alone on stdout, --json or not: it is the wallet file's own
 * text, which key import and restore read back. */
static int cmd_key_export(session *s, char *const *argv, cc_err *err)
{
    (void)argv;
    static const char command[] = "key export";
    int status = wallet_dir(s, command, err);
    if (status != CC_CLI_OK)
        return status;
    cc_wallet_outcome o;
    cc_err why = {0};
    if (!cc_wallet_export(s->cfg->datadir, s->cfg->network, s->out, &o, &why))
        return wallet_failed(command, &why, err);
    char shown[CC_CLI_SHORT_MAX];
    cc_cli_short(o.pub, 24, shown);
    cc_buf_printf(s->notes, "cheese-cli: warning: this is the private key of %s (%s network, "
                  "public key %s): whoever holds it can spend its coins; keep it secret\n",
                  o.wallet, o.kind->network, shown);
    cc_wallet_outcome_free(&o);
    return CC_CLI_OK;
}

/* ---- running one ------------------------------------------------------------------------- */

/* --token-file, or DATADIR/api.token when --datadir is given and it exists. */
static int load_token(session *s, cc_err *err)
{
    char path[PATH_MAX + 16];
    const char *file = s->cfg->token_file;
    if (!file && s->cfg->datadir) {
        snprintf(path, sizeof path, "%s/api.token", s->cfg->datadir);
        file = path;
    }
    if (!file)
        return CC_CLI_OK;
    cc_buf text = CC_BUF_INIT;
    cc_err why = {0};
    bool ok = cc_read_file(file, CLI_MAX_TOKEN, &text, &why);
    if (!ok && why.code == CC_ERR_NOT_FOUND && !s->cfg->token_file) {
        cc_buf_free(&text);
        return CC_CLI_OK; /* a datadir without a token: loopback rules */
    }
    if (ok) {
        trim_end(&text);
        size_t start = strspn(text.data, " \t\r\n");
        ok = text.len > start;
        for (size_t i = start; ok && i < text.len; i++)
            ok = text.data[i] > 0x20 && text.data[i] < 0x7f;
        if (!ok)
            cc_fail(&why, CC_ERR_BAD_REQUEST, "%s does not hold a token (one line of "
                    "printable text)", file);
        else
            s->token = cc_strdup(text.data + start);
    }
    wipe(&text);
    if (ok)
        return CC_CLI_OK;
    cc_fail(err, CC_CLI_USAGE, "token file: %s", why.msg);
    return CC_CLI_USAGE;
}

int cc_cli_run(const cc_cli_config *cfg, const cc_cli_command *cmd, int argc,
               char *const *argv, cc_buf *out, cc_buf *notes, cc_err *err)
{
    static const struct {
        const char *name;
        int (*fn)(session *, char *const *, cc_err *);
    } table[] = {
        {"info", cmd_info},       {"balance", cmd_balance}, {"send", cmd_send},
        {"block", cmd_block},     {"tx", cmd_tx},           {"mempool", cmd_mempool},
        {"peers", cmd_peers},     {"mine", cmd_mine},       {"export", cmd_export},
        {"keys", cmd_keys},
        {"wallet backup", cmd_wallet_backup}, {"wallet restore", cmd_wallet_restore},
        {"key export", cmd_key_export},       {"key import", cmd_key_import},
    };
    if (argc < cmd->min_args || argc > cmd->max_args) {
        cc_fail(err, CC_CLI_USAGE, "%s: wrong number of arguments", cmd->name);
        return CC_CLI_USAGE;
    }
    char *args[4] = {NULL, NULL, NULL, NULL};
    for (int i = 0; i < argc && i < 3; i++)
        args[i] = argv[i];
    session s = {.cfg = cfg, .out = out, .notes = notes};
    /* a local command asks no node: a token (or a bad token file) is no concern of it */
    int status = cmd->local ? CC_CLI_OK : load_token(&s, err);
    for (size_t i = 0; status == CC_CLI_OK && i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].name, cmd->name) == 0) {
            status = table[i].fn(&s, args, err);
            break;
        }
    if (s.token) {
        explicit_bzero(s.token, strlen(s.token));
        free(s.token);
    }
    return status;
}

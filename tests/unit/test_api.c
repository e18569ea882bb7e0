/* Unit tests for node/api.c with a stub backend over a real chain: routing,
 * methods, the access rule for send and mine (loopback, Origin: the node's
 * own page or another, Host, the token, token_only), amounts (nearest
 * double and exact text), parameters and bodies, the token file, and a
 * key's payments (their shape, pages and refusals) over blocks mined here. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chain/chain.h"
#include "consensus/http.h"
#include "consensus/rules.h"
#include "node/api.h"
#include "util/fileio.h"

#include "chain_env.h"

#define KEY_OK "ab"
#define TOKEN "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

typedef struct env {
    char dir[64];
    char path[128];
    cc_chain *chain;
    cc_api_backend backend;
    int sends, mines;
    cc_number last_sum;
    char last_to[128];
} env;

static void stub_peers(void *ctx, cc_buf *out)
{
    (void)ctx;
    cc_buf_puts(out, "[\"127.0.0.1:6001\", \"127.0.0.1:6002\"]");
}

static void stub_sync(void *ctx, cc_buf *out)
{
    (void)ctx;
    cc_buf_puts(out, "{\"state\": \"idle\"}");
}

static bool stub_send(void *ctx, const char *to, const cc_number *amount, cc_buf *out,
                      cc_err *err)
{
    env *e = ctx;
    if (strcmp(to, "poor") == 0)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "Insufficient funds: stub");
    e->sends++;
    e->last_sum = *amount;
    snprintf(e->last_to, sizeof e->last_to, "%s", to);
    cc_buf_puts(out, "{\"txid\": \"t\", \"transaction\": {}}");
    return true;
}

static bool stub_mine(void *ctx, cc_buf *out, cc_err *err)
{
    (void)err;
    env *e = ctx;
    e->mines++;
    cc_buf_puts(out, "{\"mining\": 1}");
    return true;
}

static int setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "/tmp/cc-api-XXXXXX");
    if (!mkdtemp(e->dir))
        return -1;
    snprintf(e->path, sizeof e->path, "%s/chain.db", e->dir);
    cc_chain_config cfg = {.db_path = e->path, .rules = cc_rules_http(), .max_orphans = 1,
                           .max_mempool = 10};
    e->chain = cc_chain_open(&cfg, NULL);
    assert_non_null(e->chain);
    e->backend = (cc_api_backend){.network = "test", .chain = e->chain, .node_key = "me",
                                  .token = TOKEN, .ctx = e, .peers = stub_peers,
                                  .sync = stub_sync, .send = stub_send, .mine = stub_mine};
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env *e = *state;
    cc_chain_close(e->chain);
    static const char *const files[] = {"chain.db", "chain.db-wal", "chain.db-shm",
                                        "chain.db-journal", "api.token"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char file[160];
        snprintf(file, sizeof file, "%s/%s", e->dir, files[i]);
        unlink(file);
    }
    assert_int_equal(rmdir(e->dir), 0);
    free(e);
    return 0;
}

typedef struct call {
    const char *method;
    const char *path;
    const char *query;
    const char *body;
    const char *ip;
    const char *host;
    const char *authorization;
    const char *origin;
} call;

/* Runs one call; returns the status and leaves the parsed answer in *doc. */
static int run(env *e, const call *c, json_t **doc)
{
    cc_http_request req = {.content_length = -1};
    snprintf(req.method, sizeof req.method, "%s", c->method ? c->method : "GET");
    req.path = (char *)c->path;
    req.target = (char *)c->path;
    req.query = (char *)(c->query ? c->query : "");
    req.host = (char *)(c->host ? c->host : "127.0.0.1:6000");
    req.authorization = (char *)c->authorization;
    req.origin = (char *)c->origin;
    if (c->body)
        cc_buf_puts(&req.body, c->body);
    cc_http_response resp = {.status = 200};
    assert_true(cc_api_is_call(&req));
    cc_api_handle(&e->backend, &req, c->ip ? c->ip : "127.0.0.1", &resp);
    json_error_t jerr;
    json_t *parsed = json_loadb(resp.body.data, resp.body.len, 0, &jerr);
    if (!parsed)
        fail_msg("answer is not JSON: %s", cc_buf_str(&resp.body));
    if (resp.status != 200) {
        assert_int_equal(json_integer_value(json_object_get(parsed, "errcode")), resp.status);
        assert_true(json_is_string(json_object_get(parsed, "errmsg")));
    }
    cc_buf_free(&resp.body);
    cc_buf_free(&req.body);
    if (doc)
        *doc = parsed;
    else
        json_decref(parsed);
    return resp.status;
}

static int status_of(env *e, const call *c) { return run(e, c, NULL); }

static void test_routes_and_methods(void **state)
{
    env *e = *state;
    json_t *doc;
    assert_int_equal(run(e, &(call){.path = "/api/info"}, &doc), 200);
    assert_string_equal(json_string_value(json_object_get(doc, "network")), "test");
    assert_int_equal(json_integer_value(json_object_get(doc, "peers")), 2); /* counted */
    assert_int_equal(json_integer_value(json_object_get(doc, "height")), 0);
    assert_string_equal(json_string_value(json_object_get(doc, "balance_exact")), "0");
    assert_true(json_is_real(json_object_get(doc, "balance")));
    json_decref(doc);
    assert_int_equal(status_of(e, &(call){.path = "/api/info/"}), 200);
    assert_int_equal(status_of(e, &(call){.path = "/api/peers"}), 200);
    assert_int_equal(status_of(e, &(call){.path = "/api/mempool"}), 200);
    assert_int_equal(status_of(e, &(call){.path = "/api/mempool", .query = "limit=x"}), 400);
    assert_int_equal(status_of(e, &(call){.path = "/api/info/x"}), 404);
    assert_int_equal(status_of(e, &(call){.path = "/api/"}), 404);
    assert_int_equal(status_of(e, &(call){.path = "/api"}), 404);
    assert_int_equal(status_of(e, &(call){.method = "POST", .path = "/api/info"}), 405);
    assert_int_equal(status_of(e, &(call){.method = "GET", .path = "/api/send"}), 405);
    assert_int_equal(status_of(e, &(call){.method = "DELETE", .path = "/api/mine"}), 405);
    assert_int_equal(e->mines + e->sends, 0);

    cc_http_request other = {.path = "/apix"};
    assert_false(cc_api_is_call(&other));
    other.path = "/getblocks";
    assert_false(cc_api_is_call(&other));
}

static void test_access_rule(void **state)
{
    env *e = *state;
    const char *bearer = "Bearer " TOKEN;
    static const struct {
        call c;
        int status;
    } cases[] = {
        {{.ip = "127.0.0.1"}, 200},
        {{.ip = "127.8.9.10", .host = "localhost"}, 200},
        {{.ip = "::1", .host = "[::1]:6000"}, 200},
        {{.ip = "::ffff:127.0.0.1", .host = "LOCALHOST:1"}, 200},
        {{.ip = "10.0.0.1"}, 403},
        {{.ip = "::ffff:10.0.0.1"}, 403},
        {{.ip = "128.0.0.1"}, 403},
        /* the node's own page (the explorer): Origin is http:// + Host */
        {{.ip = "127.0.0.1", .origin = "http://127.0.0.1:6000"}, 200},
        {{.ip = "127.0.0.1", .host = "localhost:6000", .origin = "HTTP://LocalHost:6000"}, 200},
        {{.ip = "::1", .host = "[::1]:6000", .origin = "http://[::1]:6000"}, 200},
        /* pages of any other origin: cross-site request forgery */
        {{.ip = "127.0.0.1", .origin = "http://127.0.0.1:6001"}, 403},
        {{.ip = "127.0.0.1", .origin = "http://localhost:6000"}, 403},
        {{.ip = "127.0.0.1", .origin = "https://127.0.0.1:6000"}, 403},
        {{.ip = "127.0.0.1", .origin = "null"}, 403},
        {{.ip = "127.0.0.1", .origin = ""}, 403},
        {{.ip = "127.0.0.1", .origin = "http://127.0.0.1:6000.evil.example"}, 403},
        {{.ip = "127.0.0.1", .origin = "http://127.0.0.1:6000/"}, 403},
        {{.ip = "127.0.0.1", .origin = "http://evil.example"}, 403},
        /* DNS rebinding: Origin and Host agree, but Host is no loopback name */
        {{.ip = "127.0.0.1", .origin = "http://evil.example:6000", .host = "evil.example:6000"},
         403},
        /* a browser on another machine: the token */
        {{.ip = "10.0.0.1", .origin = "http://10.0.0.2:6000", .host = "10.0.0.2:6000"}, 403},
        {{.ip = "127.0.0.1", .host = "evil.example:6000"}, 403},
        {{.ip = "127.0.0.1", .host = "127.0.0.1.evil.example"}, 403},
        {{.ip = "127.0.0.1", .host = "[::2]:6000"}, 403},
        {{.ip = "127.0.0.1", .authorization = "Bearer 00"}, 403},
        {{.ip = "127.0.0.1", .authorization = "Basic " TOKEN}, 403},
        {{.ip = "10.0.0.1", .authorization = "bearer  " TOKEN}, 200},
        {{.ip = "10.0.0.1", .origin = "http://x", .host = "x", .authorization = "Bearer " TOKEN},
         200},
        {{.ip = "10.0.0.1", .authorization = "Bearer " TOKEN "0"}, 403},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        call c = cases[i].c;
        c.method = "POST";
        c.path = "/api/mine";
        int mines = e->mines;
        int got = status_of(e, &c);
        if (got != cases[i].status)
            fail_msg("case %zu: status %d, expected %d", i, got, cases[i].status);
        assert_int_equal(e->mines, mines + (got == 200));
    }
    /* token_only: loopback alone is not enough, nor the node's own page. */
    e->backend.token_only = true;
    assert_int_equal(status_of(e, &(call){.method = "POST", .path = "/api/mine"}), 403);
    assert_int_equal(status_of(e, &(call){.method = "POST", .path = "/api/mine",
                                          .origin = "http://127.0.0.1:6000"}),
                     403);
    assert_int_equal(
        status_of(e, &(call){.method = "POST", .path = "/api/mine", .authorization = bearer}),
        200);
    /* Without a token, only loopback. */
    e->backend.token_only = false;
    e->backend.token = NULL;
    assert_int_equal(
        status_of(e, &(call){.method = "POST", .path = "/api/mine", .authorization = bearer}),
        403);
    assert_int_equal(status_of(e, &(call){.method = "POST", .path = "/api/mine"}), 200);
    /* Reading needs nothing. */
    assert_int_equal(status_of(e, &(call){.path = "/api/info", .ip = "10.0.0.1",
                                          .origin = "http://x"}),
                     200);
}

static void test_send_bodies(void **state)
{
    env *e = *state;
    static const struct {
        const char *body;
        int status;
    } cases[] = {
        {"{\"to\": \"" KEY_OK "\", \"sum\": 2.5}", 200},
        {"{\"to\": \"" KEY_OK "\", \"sum\": 3}", 200},
        {"{\"to\": \"poor\", \"sum\": 3}", 400},
        {"{\"to\": \"" KEY_OK "\", \"sum\": 0}", 400},
        {"{\"to\": \"" KEY_OK "\", \"sum\": -0.5}", 400},
        {"{\"to\": \"" KEY_OK "\", \"sum\": true}", 400},
        {"{\"to\": \"a\\\"b\", \"sum\": 1}", 400},
        {"{\"to\": \"\", \"sum\": 1}", 400},
        {"{\"to\": 5, \"sum\": 1}", 400},
        {"{\"to\": \"" KEY_OK "\", \"to\": \"x\", \"sum\": 1}", 400},
        {"[1]", 400},
        {"", 400},
        {"{{{{{{{{{{}}}}}}}}}}", 400},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = status_of(e, &(call){.method = "POST", .path = "/api/send",
                                       .body = cases[i].body});
        if (got != cases[i].status)
            fail_msg("case %zu (%s): status %d, expected %d", i, cases[i].body, got,
                     cases[i].status);
    }
    assert_int_equal(e->sends, 2);
    assert_string_equal(e->last_to, KEY_OK);
    assert_true(e->last_sum.is_int && e->last_sum.i == 3);
}

static bool key_two_letters(void *ctx, const char *key, cc_err *err)
{
    (void)ctx;
    return strlen(key) == 2 || cc_fail(err, CC_ERR_BAD_REQUEST, "key must be two letters");
}

static void test_balance_and_lookups(void **state)
{
    env *e = *state;
    json_t *doc;
    assert_int_equal(run(e, &(call){.path = "/api/balance", .query = "key=zz"}, &doc), 200);
    assert_string_equal(json_string_value(json_object_get(doc, "key")), "zz");
    assert_string_equal(json_string_value(json_object_get(doc, "spendable_exact")), "0");
    json_decref(doc);
    assert_int_equal(status_of(e, &(call){.path = "/api/balance"}), 400);
    assert_int_equal(status_of(e, &(call){.path = "/api/balance", .query = "key="}), 400);
    assert_int_equal(status_of(e, &(call){.path = "/api/balance", .query = "key=a%22b"}), 400);
    e->backend.key_valid = key_two_letters;
    assert_int_equal(status_of(e, &(call){.path = "/api/balance", .query = "key=zzz"}), 400);
    assert_int_equal(status_of(e, &(call){.method = "POST", .path = "/api/send",
                                          .body = "{\"to\": \"zzz\", \"sum\": 1}"}),
                     400);
    assert_int_equal(e->sends, 0);

    assert_int_equal(run(e, &(call){.path = "/api/block", .query = "height=0"}, &doc), 200);
    assert_string_equal(json_string_value(json_object_get(doc, "hash")),
                        cc_rules_http()->genesis_hash);
    assert_true(json_is_true(json_object_get(doc, "best")));
    assert_true(json_is_object(json_object_get(doc, "block")));
    json_decref(doc);
    assert_int_equal(status_of(e, &(call){.path = "/api/block", .query = "height=1"}), 404);
    assert_int_equal(status_of(e, &(call){.path = "/api/block", .query = "height=1x"}), 400);
    assert_int_equal(
        status_of(e, &(call){.path = "/api/block", .query = "height=9999999999999999999"}), 400);
    assert_int_equal(status_of(e, &(call){.path = "/api/tx", .query = "txid=00"}), 400);
}

static void test_token_file(void **state)
{
    env *e = *state;
    const cc_log quiet = {.threshold = CC_LOG_ERROR, .component = "test"};
    char token[65], again[65];
    cc_err err = {0};
    assert_true(cc_api_token_load(e->dir, token, &quiet, &err));
    assert_int_equal(strlen(token), 64);
    assert_int_equal(strspn(token, "0123456789abcdef"), 64);
    char path[160];
    snprintf(path, sizeof path, "%s/api.token", e->dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_true(cc_api_token_load(e->dir, again, &quiet, &err));
    assert_string_equal(again, token);

    /* Written by hand with a newline: read. Anything else: refused. */
    assert_true(cc_write_file_atomic(path, TOKEN "\n", 65, 0600, NULL));
    assert_true(cc_api_token_load(e->dir, again, &quiet, &err));
    assert_string_equal(again, TOKEN);
    /* Left readable by others: tightened to the owner, still read. */
    assert_true(cc_write_file_atomic(path, TOKEN, 64, 0644, NULL));
    assert_int_equal(chmod(path, 0644), 0); /* whatever the umask */
    assert_true(cc_api_token_load(e->dir, again, &quiet, &err));
    assert_string_equal(again, TOKEN);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    assert_true(cc_write_file_atomic(path, "secret", 6, 0600, NULL));
    assert_false(cc_api_token_load(e->dir, again, &quiet, &err));
    assert_int_equal(err.code, CC_ERR_INTERNAL);
    assert_non_null(strstr(err.msg, "64 hex digits"));
}

/* ---- a key's payments ---------------------------------------------------- */

static json_t *get_payments(env *e, const char *query)
{
    json_t *doc;
    int status = run(e, &(call){.path = "/api/payments", .query = query}, &doc);
    if (status != 200)
        fail_msg("/api/payments?%s: %d %s", query, status,
                 json_string_value(json_object_get(doc, "errmsg")));
    return doc;
}

static void assert_members(const json_t *object, const char *const *names, size_t n)
{
    assert_true(json_is_object(object));
    assert_int_equal(json_object_size(object), n);
    for (size_t i = 0; i < n; i++)
        if (!json_object_get(object, names[i]))
            fail_msg("no member \"%s\"", names[i]);
}

/* The transaction exactly as its wire text is. */
static void assert_tx_is(const json_t *item, const cc_tx *tx)
{
    json_error_t jerr;
    json_t *want = json_loads(tx->text, 0, &jerr);
    assert_non_null(want);
    assert_true(json_equal(json_object_get(item, "transaction"), want));
    assert_string_equal(json_string_value(json_object_get(item, "txid")), tx->txid);
    json_decref(want);
}

static void test_payments(void **state)
{
    env *e = *state;
    /* Keys 0 (A) and 1 (B): blocks mined here, B creating them. */
    cc_test_chain_env gen = {0};
    snprintf(gen.day, sizeof gen.day, "2026-05-01");
    cc_test_p192_key(9001, &gen.keys[0]);
    cc_test_p192_key(9002, &gen.keys[1]);
    const char *a = gen.keys[0].pub_hex, *b = gen.keys[1].pub_hex;
    cc_test_mined b1 = cc_test_chain_env_mine(&gen, 1, CC_HTTP_GENESIS_HASH, NULL, 0, 0, 1);
    cc_test_submit_block(e->chain, b1.text.data, b1.text.len, CC_BLOCK_NEW_TIP);
    cc_tx paid = cc_test_chain_env_pay(&gen, 0, 1, 0.5);
    cc_test_mined b2 = cc_test_chain_env_mine(&gen, 2, b1.hash, &paid, 1, 1, 1);
    cc_test_submit_block(e->chain, b2.text.data, b2.text.len, CC_BLOCK_NEW_TIP);
    cc_test_mined b3 = cc_test_chain_env_mine(&gen, 3, b2.hash, NULL, 0, 1, 1);
    cc_test_submit_block(e->chain, b3.text.data, b3.text.len, CC_BLOCK_NEW_TIP);
    cc_tx waits = cc_test_chain_env_pay(&gen, 0, 0, 0.25);
    assert_true(cc_chain_accept_tx(e->chain, &waits, NULL));

    char query[256];
    snprintf(query, sizeof query, "key=%s", a);
    json_t *doc = get_payments(e, query);
    static const char *const page[] = {"key", "total", "offset", "limit", "payments", "waiting"};
    assert_members(doc, page, 6);
    assert_string_equal(json_string_value(json_object_get(doc, "key")), a);
    assert_int_equal(json_integer_value(json_object_get(doc, "total")), 2);
    assert_int_equal(json_integer_value(json_object_get(doc, "offset")), 0);
    assert_int_equal(json_integer_value(json_object_get(doc, "limit")), 20);
    const json_t *list = json_object_get(doc, "payments");
    assert_int_equal(json_array_size(list), 2);
    static const char *const mined[] = {"txid", "status", "height", "block", "confirmations",
                                        "direction", "transaction"};
    const json_t *out = json_array_get(list, 0), *in = json_array_get(list, 1);
    assert_members(out, mined, 7);
    assert_tx_is(out, &paid);
    assert_string_equal(json_string_value(json_object_get(out, "status")), "mined");
    assert_string_equal(json_string_value(json_object_get(out, "direction")), "out");
    assert_string_equal(json_string_value(json_object_get(out, "block")), b2.hash);
    assert_int_equal(json_integer_value(json_object_get(out, "height")), 2);
    assert_int_equal(json_integer_value(json_object_get(out, "confirmations")), 2);
    assert_members(in, mined, 7);
    assert_string_equal(json_string_value(json_object_get(in, "txid")), b1.reward);
    assert_string_equal(json_string_value(json_object_get(in, "direction")), "in");
    assert_int_equal(json_integer_value(json_object_get(in, "confirmations")), 3);
    const json_t *waiting = json_object_get(doc, "waiting");
    assert_int_equal(json_array_size(waiting), 1);
    static const char *const waits_members[] = {"txid", "direction", "transaction"};
    assert_members(json_array_get(waiting, 0), waits_members, 3);
    assert_tx_is(json_array_get(waiting, 0), &waits);
    assert_string_equal(json_string_value(json_object_get(json_array_get(waiting, 0),
                                                          "direction")),
                        "self");
    json_decref(doc);

    /* B: the payment in, and the rewards of b2 and b3, newest first. */
    snprintf(query, sizeof query, "limit=2&key=%s&offset=1", b);
    doc = get_payments(e, query);
    assert_int_equal(json_integer_value(json_object_get(doc, "total")), 3);
    assert_int_equal(json_integer_value(json_object_get(doc, "offset")), 1);
    assert_int_equal(json_integer_value(json_object_get(doc, "limit")), 2);
    list = json_object_get(doc, "payments");
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "txid")),
                        b2.reward);
    assert_tx_is(json_array_get(list, 1), &paid);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "direction")),
                        "in");
    assert_int_equal(json_array_size(json_object_get(doc, "waiting")), 0);
    json_decref(doc);
    snprintf(query, sizeof query, "key=%s&offset=3&limit=100", b);
    doc = get_payments(e, query);
    assert_int_equal(json_array_size(json_object_get(doc, "payments")), 0);
    assert_int_equal(json_integer_value(json_object_get(doc, "total")), 3);
    json_decref(doc);
    doc = get_payments(e, "key=zz&limit=0");
    assert_int_equal(json_integer_value(json_object_get(doc, "total")), 0);
    assert_int_equal(json_array_size(json_object_get(doc, "payments")), 0);
    json_decref(doc);

    static const char *const bad[] = {
        "", "key=", "key=a%22b", "offset=1", "key=zz&limit=101", "key=zz&limit=-1",
        "key=zz&limit=x", "key=zz&limit=", "key=zz&offset=-1", "key=zz&offset=1e3",
        "key=zz&offset=9999999999999999999",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (status_of(e, &(call){.path = "/api/payments", .query = bad[i]}) != 400)
            fail_msg("?%s was not refused", bad[i]);
    char *long_key = malloc(2100);
    assert_non_null(long_key);
    memcpy(long_key, "key=", 4);
    memset(long_key + 4, 'a', 2095);
    long_key[2099] = '\0';
    assert_int_equal(status_of(e, &(call){.path = "/api/payments", .query = long_key}), 400);
    free(long_key);
    e->backend.key_valid = key_two_letters;
    assert_int_equal(status_of(e, &(call){.path = "/api/payments", .query = "key=zzz"}), 400);
    assert_int_equal(status_of(e, &(call){.path = "/api/payments", .query = "key=zz"}), 200);
    assert_int_equal(status_of(e, &(call){.method = "POST", .path = "/api/payments",
                                          .query = "key=zz"}),
                     405);
    assert_int_equal(run(e, &(call){.path = "/api/payment"}, &doc), 404);
    assert_non_null(strstr(json_string_value(json_object_get(doc, "errmsg")), "payments"));
    json_decref(doc);

    cc_tx_clear(&paid);
    cc_tx_clear(&waits);
    cc_buf_free(&b1.text);
    cc_buf_free(&b2.text);
    cc_buf_free(&b3.text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_routes_and_methods, setup, teardown),
        cmocka_unit_test_setup_teardown(test_access_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_balance_and_lookups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_payments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

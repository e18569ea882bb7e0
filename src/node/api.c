/* The node's JSON API (docs/api.md): reading calls straight from the chain,
 * the rest through the backend's callbacks. */
#include "node/api.h"

#include <arpa/inet.h>
#include <float.h>
#include <gmp.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "codec/json.h"
#include "crypto/random.h"
#include "util/fileio.h"
#include "util/hex.h"

#define API_PREFIX "/api/"
#define API_JSON_DEPTH 8        /* a send body is one flat object */
#define API_MAX_KEY 1024        /* longest key taken in a query or a body */
#define API_MEMPOOL_DEFAULT 1000 /* transactions listed unless ?limit= says otherwise */
#define API_MEMPOOL_MAX 100000
#define API_BLOCKS_DEFAULT 10    /* blocks listed unless ?limit= says otherwise */
#define API_BLOCKS_MAX 100       /* the explorer's charts take 60; each is read and parsed on the loop */
#define API_BLOCK_DEPTH 16       /* a block's transactions nest four deep */
#define TOKEN_HEX 64

/* ---- small helpers ---------------------------------------------------------- */

static void reply_error(cc_http_response *resp, const cc_err *err)
{
    cc_http_error(resp, err->code ? err->code : CC_ERR_BAD_REQUEST, err->msg);
}

/* True when the query names the parameter, with any value or none. */
static bool query_has(const char *query, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = query; p && *p; p = strchr(p, '&'), p = p ? p + 1 : NULL)
        if (strncmp(p, name, len) == 0 && (p[len] == '=' || p[len] == '&' || p[len] == '\0'))
            return true;
    return false;
}

/* A non-negative decimal integer of at most 18 digits. */
static bool parse_count(const char *text, int64_t *out)
{
    size_t len = strlen(text);
    if (len == 0 || len > 18 || strspn(text, "0123456789") != len)
        return false;
    *out = strtoll(text, NULL, 10);
    return true;
}

/* The double nearest to q (ties to even), as a float sum would round it;
 * mpq_get_d alone truncates, and 0.1 + 0.2 would show as 0.3. */
static double nearest_double(const mpq_t q)
{
    double d = mpq_get_d(q);
    if (!isfinite(d))
        return d;
    /* The next double away from zero: one more in the magnitude's bits. */
    double away;
    if (d == 0) {
        away = mpq_sgn(q) < 0 ? -DBL_TRUE_MIN : DBL_TRUE_MIN;
    } else {
        uint64_t bits;
        memcpy(&bits, &d, sizeof bits);
        bits++;
        memcpy(&away, &bits, sizeof away);
        if (!isfinite(away))
            return d;
    }
    mpq_t below, above;
    mpq_inits(below, above, NULL);
    mpq_set_d(below, d);
    mpq_sub(below, q, below);
    mpq_abs(below, below);
    mpq_set_d(above, away);
    mpq_sub(above, above, q);
    mpq_abs(above, above);
    int cmp = mpq_cmp(below, above);
    mpq_clears(below, above, NULL);
    if (cmp != 0)
        return cmp < 0 ? d : away;
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    return bits & 1 ? away : d;
}

/* "name": <nearest double, as Python prints it>, "name_exact": "p/q" */
static void put_amount(cc_buf *out, const char *name, const mpq_t q)
{
    double d = nearest_double(q);
    char text[CC_NUMBER_TEXT_MAX];
    if (isfinite(d))
        cc_pyfloat_repr(d, text);
    else
        snprintf(text, sizeof text, "null"); /* beyond any double: the exact text says it */
    char *exact = mpq_get_str(NULL, 10, q);
    cc_buf_printf(out, "\"%s\": %s, \"%s_exact\": \"%s\"", name, text, name, exact);
    void (*gmp_free)(void *, size_t);
    mp_get_memory_functions(NULL, NULL, &gmp_free);
    gmp_free(exact, strlen(exact) + 1);
}

/* A key from a query or a body, its hex digits first turned to lowercase
 * in place: keys of both networks are hex, a user may paste one in upper
 * case, and lowercase is the only spelling the wire carries, so the same
 * key is looked up and paid whichever case it came in. Then the network's
 * own check when there is one, otherwise printable text that goes into
 * answers unescaped. */
static bool check_key(const cc_api_backend *b, char *key, cc_err *err)
{
    cc_hex_lowercase(key);
    if (b->key_valid)
        return b->key_valid(b->ctx, key, err);
    if (!*key || strlen(key) >= API_MAX_KEY || !cc_text_representable(key))
        return cc_fail(err, CC_ERR_BAD_REQUEST, "key must be printable text without quotes "
                       "or backslashes, 1 to %d characters", API_MAX_KEY - 1);
    return true;
}

/* ?key=K: present, not too long, and a key (check_key). */
static bool key_param(const cc_api_backend *b, const cc_http_request *req,
                      char key[API_MAX_KEY], cc_err *err)
{
    if (!cc_http_query_get(req->query, "key", key, API_MAX_KEY))
        return cc_fail(err, CC_ERR_BAD_REQUEST, query_has(req->query, "key")
                                                    ? "key is too long"
                                                    : "key=<public key> is required");
    return check_key(b, key, err);
}

/* ---- access ---------------------------------------------------------------------- */

static bool ip_is_loopback(const char *ip)
{
    struct in_addr v4;
    struct in6_addr v6;
    if (inet_pton(AF_INET, ip, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, ip, &v6) != 1)
        return false;
    if (IN6_IS_ADDR_LOOPBACK(&v6))
        return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

/* A Host header naming this machine's loopback: "localhost", 127.x.x.x or
 * [::1], with or without a port. Absent (HTTP/1.0 clients) counts too. */
static bool host_is_loopback(const char *host)
{
    if (!host)
        return true;
    char name[256];
    if (host[0] == '[') {
        const char *end = strchr(host, ']');
        if (!end || (size_t)(end - host - 1) >= sizeof name)
            return false;
        snprintf(name, sizeof name, "%.*s", (int)(end - host - 1), host + 1);
        return (end[1] == '\0' || end[1] == ':') && ip_is_loopback(name);
    }
    const char *colon = strchr(host, ':');
    size_t len = colon ? (size_t)(colon - host) : strlen(host);
    if (len >= sizeof name)
        return false;
    snprintf(name, sizeof name, "%.*s", (int)len, host);
    struct in_addr v4;
    return strcasecmp(name, "localhost") == 0 ||
           (inet_pton(AF_INET, name, &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127);
}

/* The page asking is the node's own (the explorer, served from this very
 * host and port): Origin is exactly "http://" + Host. A page of any other
 * origin (another site, another port, "null", localhost against 127.0.0.1)
 * differs; the Host is checked to be a loopback name on its own. */
static bool origin_is_own(const char *origin, const char *host)
{
    static const char scheme[] = "http://";
    size_t n = strlen(scheme);
    return origin && host && *host && strncasecmp(origin, scheme, n) == 0 &&
           strcasecmp(origin + n, host) == 0;
}

/* Compares in time independent of where the texts differ. */
static bool token_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = la != lb;
    for (size_t i = 0; i < la && i < lb; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

/* send and mine: the token, or a program on loopback (docs/api.md). */
static bool authorized(const cc_api_backend *b, const char *call, const cc_http_request *req,
                       const char *peer_ip, cc_err *err)
{
    if (req->authorization) {
        const char *v = req->authorization;
        if (strncasecmp(v, "Bearer ", 7) == 0) {
            v += 7;
            while (*v == ' ')
                v++;
            if (b->token && token_equal(v, b->token))
                return true;
        }
        return cc_fail(err, CC_ERR_FORBIDDEN, "Forbidden: wrong API token (send "
                       "\"Authorization: Bearer <DATADIR/api.token>\")");
    }
    const char *why;
    if (b->token_only)
        why = "this node trusts no one without it";
    else if (!peer_ip || !ip_is_loopback(peer_ip))
        why = "only programs on the node's loopback go without it";
    else if (req->origin && !origin_is_own(req->origin, req->host))
        why = "a web page of another origin (Origin header) never goes without it";
    else if (!host_is_loopback(req->host))
        why = "the Host header is not a loopback name";
    else
        return true;
    return cc_fail(err, CC_ERR_FORBIDDEN, "Forbidden: /api/%s needs the API token, sent as "
                   "\"Authorization: Bearer <DATADIR/api.token>\" (%s)", call, why);
}

/* ---- calls --------------------------------------------------------------------------- */

static size_t count_peers(const cc_api_backend *b)
{
    if (b->peer_count)
        return b->peer_count(b->ctx);
    cc_buf list = CC_BUF_INIT;
    b->peers(b->ctx, &list);
    json_t *doc = cc_json_parse(list.data ? list.data : "[]", list.len ? list.len : 2,
                                API_JSON_DEPTH, NULL);
    size_t n = json_is_array(doc) ? json_array_size(doc) : 0;
    json_decref(doc);
    cc_buf_free(&list);
    return n;
}

static bool api_info(const cc_api_backend *b, const cc_http_request *req, cc_buf *out,
                     cc_err *err)
{
    (void)req;
    mpq_t balance;
    mpq_init(balance);
    bool ok = cc_chain_balance(b->chain, b->node_key, balance, err);
    if (ok) {
        cc_buf_puts(out, "{\"network\": ");
        cc_json_append_quoted(out, b->network);
        cc_buf_printf(out, ", \"height\": %lld, \"tip\": \"%s\", \"peers\": %zu, \"mempool\": %zu, "
                      "\"sync\": ", (long long)cc_chain_height(b->chain), cc_chain_tip(b->chain),
                      count_peers(b), cc_chain_mempool_size(b->chain));
        size_t before = out->len;
        if (b->sync)
            b->sync(b->ctx, out);
        if (out->len == before)
            cc_buf_puts(out, "{\"state\": \"idle\"}");
        cc_buf_puts(out, ", \"key\": ");
        cc_json_append_quoted(out, b->node_key);
        cc_buf_puts(out, ", ");
        put_amount(out, "balance", balance);
        cc_buf_putc(out, '}');
    }
    mpq_clear(balance);
    return ok;
}

static bool hash_param(const cc_http_request *req, const char *name,
                       char out[CC_HASH_HEX_LEN + 1], cc_err *err)
{
    if (!cc_http_query_get(req->query, name, out, CC_HASH_HEX_LEN + 1) ||
        !cc_is_lower_hex(out, CC_HASH_HEX_LEN))
        return cc_fail(err, CC_ERR_BAD_REQUEST, "%s must be 64 lowercase hex characters", name);
    return true;
}

/* ?hash=H or ?height=N (on the best chain). */
static bool api_block(const cc_api_backend *b, const cc_http_request *req, cc_buf *out,
                      cc_err *err)
{
    bool by_hash = query_has(req->query, "hash"), by_height = query_has(req->query, "height");
    if (by_hash == by_height)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "give either hash=<block hash> or "
                       "height=<number on the best chain>");
    char hash[CC_HASH_HEX_LEN + 1];
    if (by_hash && !hash_param(req, "hash", hash, err))
        return false;
    if (by_height) {
        char text[24];
        int64_t height;
        if (!cc_http_query_get(req->query, "height", text, sizeof text) ||
            !parse_count(text, &height))
            return cc_fail(err, CC_ERR_BAD_REQUEST, "height must be a number from 0 up");
        if (!cc_chain_hash_at(b->chain, height, hash, err))
            return false;
    }
    cc_buf text = CC_BUF_INIT;
    cc_chain_block_info info;
    bool ok = cc_chain_block_get(b->chain, hash, &text, &info, err);
    if (ok) {
        cc_buf_printf(out, "{\"hash\": \"%s\", \"height\": %lld, \"best\": %s, \"block\": ", hash,
                      (long long)info.height, info.best ? "true" : "false");
        cc_buf_append(out, text.data, text.len);
        cc_buf_putc(out, '}');
    }
    cc_buf_free(&text);
    return ok;
}

/* A number from the query, or fallback when absent; 400 outside [0, max]. */
static bool query_count(const cc_http_request *req, const char *name, int64_t fallback,
                        int64_t max, int64_t *out, cc_err *err)
{
    *out = fallback;
    char text[24];
    if (query_has(req->query, name) &&
        (!cc_http_query_get(req->query, name, text, sizeof text) || !parse_count(text, out) ||
         *out > max))
        return max == INT64_MAX
                   ? cc_fail(err, CC_ERR_BAD_REQUEST, "%s must be a number from 0 up", name)
                   : cc_fail(err, CC_ERR_BAD_REQUEST, "%s must be a number from 0 to %lld", name,
                             (long long)max);
    return true;
}

/* A JSON value as its sender would print it: a float as Python's repr
 * (cheese timestamps), anything else as jansson writes it. */
static void put_value(cc_buf *out, const json_t *value)
{
    if (json_is_real(value)) {
        char text[CC_NUMBER_TEXT_MAX];
        cc_pyfloat_repr(json_real_value(value), text);
        cc_buf_puts(out, text);
        return;
    }
    char *text = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
    cc_buf_puts(out, text ? text : "null");
    free(text);
}

/* {"height": H, "hash": ..., "timestamp": <as in the block>, "transactions": N} */
static bool put_block_summary(const cc_api_backend *b, int64_t height, cc_buf *out,
                              cc_err *err)
{
    char hash[CC_HASH_HEX_LEN + 1];
    cc_buf text = CC_BUF_INIT;
    json_t *doc = NULL;
    bool ok = cc_chain_hash_at(b->chain, height, hash, err) &&
              cc_chain_block_get(b->chain, hash, &text, NULL, err) &&
              (doc = cc_json_parse(text.data, text.len, API_BLOCK_DEPTH, err)) != NULL;
    if (ok) {
        const json_t *txs = json_object_get(doc, "transactions");
        const json_t *stamp = json_object_get(doc, "timestamp");
        cc_buf_printf(out, "{\"height\": %lld, \"hash\": \"%s\", \"timestamp\": ",
                      (long long)height, hash);
        put_value(out, stamp ? stamp : json_null());
        cc_buf_printf(out, ", \"transactions\": %zu}", json_is_array(txs) ? json_array_size(txs) : 0);
    }
    json_decref(doc);
    cc_buf_free(&text);
    return ok;
}

/* The best chain's blocks from ?top= (the tip unless said) down, at most
 * ?limit= of them: what a page of the block list and the charts need. */
static bool api_blocks(const cc_api_backend *b, const cc_http_request *req, cc_buf *out,
                       cc_err *err)
{
    int64_t tip = cc_chain_height(b->chain), top, limit;
    if (!query_count(req, "top", tip, INT64_MAX, &top, err) ||
        !query_count(req, "limit", API_BLOCKS_DEFAULT, API_BLOCKS_MAX, &limit, err))
        return false;
    if (top > tip)
        top = tip;
    cc_buf_printf(out, "{\"height\": %lld, \"top\": %lld, \"blocks\": [", (long long)tip,
                  (long long)top);
    for (int64_t h = top; h >= 0 && h > top - limit; h--) {
        if (h != top)
            cc_buf_puts(out, ", ");
        if (!put_block_summary(b, h, out, err))
            return false;
    }
    cc_buf_puts(out, "]}");
    return true;
}

static bool api_tx(const cc_api_backend *b, const cc_http_request *req, cc_buf *out,
                   cc_err *err)
{
    char txid[CC_HASH_HEX_LEN + 1];
    if (!hash_param(req, "txid", txid, err))
        return false;
    cc_buf text = CC_BUF_INIT;
    cc_chain_tx_info info;
    bool ok = cc_chain_tx_find(b->chain, txid, &text, &info, err);
    if (ok) {
        cc_buf_printf(out, "{\"txid\": \"%s\", \"status\": \"%s\", ", txid,
                      info.mined ? "mined" : "mempool");
        if (info.mined)
            cc_buf_printf(out, "\"block\": \"%s\", \"height\": %lld, \"confirmations\": %lld, ",
                          info.block, (long long)info.height,
                          (long long)(cc_chain_height(b->chain) - info.height + 1));
        else
            cc_buf_puts(out, "\"block\": null, \"height\": null, \"confirmations\": 0, ");
        cc_buf_puts(out, "\"transaction\": ");
        cc_buf_append(out, text.data, text.len);
        cc_buf_putc(out, '}');
    }
    cc_buf_free(&text);
    return ok;
}

static bool api_balance(const cc_api_backend *b, const cc_http_request *req, cc_buf *out,
                        cc_err *err)
{
    char key[API_MAX_KEY];
    if (!key_param(b, req, key, err))
        return false;
    mpq_t balance, spendable;
    mpq_inits(balance, spendable, NULL);
    bool ok = cc_chain_balance(b->chain, key, balance, err) &&
              cc_chain_spendable(b->chain, key, spendable, err);
    if (ok) {
        cc_buf_puts(out, "{\"key\": ");
        cc_json_append_quoted(out, key);
        cc_buf_puts(out, ", ");
        put_amount(out, "balance", balance);
        cc_buf_puts(out, ", ");
        put_amount(out, "spendable", spendable);
        cc_buf_putc(out, '}');
    }
    mpq_clears(balance, spendable, NULL);
    return ok;
}

/* ---- a key's payments (GET /api/payments) ---- */

#define API_PAYMENTS_DEFAULT 20
#define API_PAYMENTS_MAX 100 /* each listed is read from its block, on the loop */

typedef struct payments_page {
    cc_buf *out;
    int64_t tip;
    size_t n;
} payments_page;

static const char *direction_name(cc_chain_direction d)
{
    return d == CC_CHAIN_OUT ? "out" : d == CC_CHAIN_SELF ? "self" : "in";
}

static void put_key_tx(void *ctx, const cc_chain_key_tx *tx)
{
    payments_page *p = ctx;
    cc_buf_puts(p->out, p->n++ ? ", {" : "{");
    cc_buf_printf(p->out, "\"txid\": \"%s\", ", tx->txid);
    if (tx->mined)
        cc_buf_printf(p->out, "\"status\": \"mined\", \"height\": %lld, \"block\": \"%s\", "
                      "\"confirmations\": %lld, ", (long long)tx->height, tx->block,
                      (long long)(p->tip - tx->height + 1));
    cc_buf_printf(p->out, "\"direction\": \"%s\", \"transaction\": ",
                  direction_name(tx->direction));
    cc_buf_append(p->out, tx->text, tx->text_len);
    cc_buf_putc(p->out, '}');
}

/* ?key=K&offset=N&limit=M: K's transactions on the best chain, newest
 * first, a page at a time, and what K has waiting. */
static bool api_payments(const cc_api_backend *b, const cc_http_request *req, cc_buf *out,
                         cc_err *err)
{
    char key[API_MAX_KEY];
    int64_t offset, limit;
    if (!key_param(b, req, key, err) || !query_count(req, "offset", 0, INT64_MAX, &offset, err) ||
        !query_count(req, "limit", API_PAYMENTS_DEFAULT, API_PAYMENTS_MAX, &limit, err))
        return false;
    cc_buf list = CC_BUF_INIT;
    size_t total = 0;
    payments_page page = {.out = &list, .tip = cc_chain_height(b->chain)};
    bool ok = cc_chain_key_payments(b->chain, key, (size_t)offset, (size_t)limit, put_key_tx,
                                    &page, &total, err);
    if (ok) {
        cc_buf_puts(out, "{\"key\": ");
        cc_json_append_quoted(out, key);
        cc_buf_printf(out, ", \"total\": %zu, \"offset\": %lld, \"limit\": %lld, "
                      "\"payments\": [", total, (long long)offset, (long long)limit);
        cc_buf_append(out, list.data, list.len);
        cc_buf_puts(out, "], \"waiting\": [");
        page = (payments_page){.out = out};
        cc_chain_key_waiting(b->chain, key, API_PAYMENTS_MAX, put_key_tx, &page);
        cc_buf_puts(out, "]}");
    }
    cc_buf_free(&list);
    return ok;
}

static bool api_mempool(const cc_api_backend *b, const cc_http_request *req, cc_buf *out,
                        cc_err *err)
{
    int64_t limit;
    if (!query_count(req, "limit", API_MEMPOOL_DEFAULT, API_MEMPOOL_MAX, &limit, err))
        return false;
    cc_buf_puts(out, "{\"transactions\": ");
    if (!cc_chain_mempool_write(b->chain, (size_t)limit, out, err))
        return false;
    cc_buf_printf(out, ", \"count\": %zu}", cc_chain_mempool_size(b->chain));
    return true;
}

static bool api_mempool_history(const cc_api_backend *b, const cc_http_request *req,
                                cc_buf *out, cc_err *err)
{
    (void)req;
    if (!b->mempool_history)
        return cc_fail(err, CC_ERR_NOT_FOUND, "This node keeps no mempool history");
    b->mempool_history(b->ctx, out);
    return true;
}

static bool api_peers(const cc_api_backend *b, const cc_http_request *req, cc_buf *out,
                      cc_err *err)
{
    (void)req;
    (void)err;
    cc_buf_puts(out, "{\"peers\": ");
    size_t before = out->len;
    b->peers(b->ctx, out);
    if (out->len == before)
        cc_buf_puts(out, "[]");
    if (b->peer_table) {
        cc_buf_puts(out, ", \"table\": ");
        b->peer_table(b->ctx, out);
    }
    cc_buf_putc(out, '}');
    return true;
}

static bool api_send(const cc_api_backend *b, const cc_http_request *req, cc_buf *out,
                     cc_err *err)
{
    json_t *doc = cc_json_parse(req->body.data ? req->body.data : "", req->body.len,
                                API_JSON_DEPTH, err);
    if (!doc)
        return false;
    const char *to = NULL;
    cc_number sum;
    bool ok = json_is_object(doc)
                  ? cc_json_get_text(doc, "to", API_MAX_KEY - 1, &to, err) &&
                        cc_json_get_number(doc, "sum", &sum, err)
                  : cc_fail(err, CC_ERR_BAD_REQUEST,
                            "the body must be a JSON object {\"to\": KEY, \"sum\": AMOUNT}");
    if (ok && !(sum.is_int ? sum.i > 0 : sum.d > 0))
        ok = cc_fail(err, CC_ERR_BAD_REQUEST, "sum must be a positive number");
    char key[API_MAX_KEY] = "";
    if (ok)
        snprintf(key, sizeof key, "%s", to); /* check_key spells it canonically */
    ok = ok && check_key(b, key, err) && b->send(b->ctx, key, &sum, out, err);
    json_decref(doc);
    return ok;
}

static bool api_mine(const cc_api_backend *b, const cc_http_request *req, cc_buf *out,
                     cc_err *err)
{
    (void)req;
    return b->mine(b->ctx, out, err);
}

typedef bool (*api_fn)(const cc_api_backend *, const cc_http_request *, cc_buf *, cc_err *);

static const struct api_route {
    const char *name;
    const char *method;
    bool guarded; /* spends or mines: the access rule applies */
    api_fn fn;
} routes[] = {
    {"info", "GET", false, api_info},       {"block", "GET", false, api_block},
    {"blocks", "GET", false, api_blocks},
    {"tx", "GET", false, api_tx},           {"balance", "GET", false, api_balance},
    {"payments", "GET", false, api_payments},
    {"mempool", "GET", false, api_mempool},
    {"mempool-history", "GET", false, api_mempool_history}, {"peers", "GET", false, api_peers},
    {"send", "POST", true, api_send},       {"mine", "POST", true, api_mine},
};

bool cc_api_is_call(const cc_http_request *req)
{
    return strcmp(req->path, "/api") == 0 ||
           strncmp(req->path, API_PREFIX, strlen(API_PREFIX)) == 0;
}

/* "/api/info" and "/api/info/" name the same call. */
static bool call_is(const char *path, const char *name)
{
    size_t len = strlen(name);
    const char *rest = path + strlen(API_PREFIX);
    return strncmp(path, API_PREFIX, strlen(API_PREFIX)) == 0 && strncmp(rest, name, len) == 0 &&
           (rest[len] == '\0' || strcmp(rest + len, "/") == 0);
}

void cc_api_handle(const cc_api_backend *backend, const cc_http_request *req,
                   const char *peer_ip, cc_http_response *resp)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const struct api_route *r = &routes[i];
        if (!call_is(req->path, r->name))
            continue;
        cc_err err = {0};
        if (strcmp(req->method, r->method) != 0) {
            cc_fail(&err, CC_ERR_METHOD, "Method not allowed: /api/%s takes %s", r->name,
                    r->method);
        } else if (!r->guarded || authorized(backend, r->name, req, peer_ip, &err)) {
            cc_buf_reset(&resp->body);
            if (r->fn(backend, req, &resp->body, &err))
                return;
        }
        reply_error(resp, &err);
        return;
    }
    cc_http_error(resp, CC_ERR_NOT_FOUND,
                  "Unknown API call (info, block, blocks, tx, balance, payments, mempool, mempool-history, peers, send, mine)");
}

/* ---- the token ------------------------------------------------------------------------ */

bool cc_api_token_load(const char *datadir, char out[65], const cc_log *log, cc_err *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/api.token", datadir);
    cc_buf text = CC_BUF_INIT;
    cc_err why = {0};
    if (cc_read_file(path, 1024, &text, &why)) {
        while (text.len && strchr(" \t\r\n", text.data[text.len - 1]))
            text.data[--text.len] = '\0';
        bool ok = text.len == TOKEN_HEX && strspn(text.data, "0123456789abcdefABCDEF") == TOKEN_HEX;
        if (ok)
            memcpy(out, text.data, TOKEN_HEX + 1);
        cc_buf_free(&text);
        if (!ok)
            return cc_fail(err, CC_ERR_INTERNAL, "%s must hold 64 hex digits (delete it and "
                           "the node makes a new one)", path);
        /* The token spends the wallet: as secret as wallet.key. */
        return cc_restrict_to_owner(path, log, err);
    }
    cc_buf_free(&text);
    if (why.code != CC_ERR_NOT_FOUND) {
        if (err)
            *err = why;
        return false;
    }
    uint8_t secret[TOKEN_HEX / 2];
    cc_random_bytes(secret, sizeof secret);
    cc_hex_encode(secret, sizeof secret, out);
    return cc_write_file_atomic(path, out, TOKEN_HEX, 0600, err);
}

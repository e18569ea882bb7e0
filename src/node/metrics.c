/* Counters and their Prometheus text (node/metrics.h). */
#include "node/metrics.h"

#include <string.h>
#include <strings.h>

static const char *const reason_names[CC_REASON_COUNT] = {
    [CC_REASON_NEW_TIP] = "new_tip",
    [CC_REASON_SIDE_BRANCH] = "side_branch",
    [CC_REASON_ORPHAN] = "orphan",
    [CC_REASON_MEMPOOL] = "mempool",
    [CC_REASON_DUPLICATE] = "duplicate",
    [CC_REASON_KNOWN_INVALID] = "known_invalid",
    [CC_REASON_INVALID_SIGNATURE] = "invalid_signature",
    [CC_REASON_INSUFFICIENT_FUNDS] = "insufficient_funds",
    [CC_REASON_BAD_POW] = "bad_pow",
    [CC_REASON_INVALID_PARENT] = "invalid_parent",
    [CC_REASON_MEMPOOL_FULL] = "mempool_full",
    [CC_REASON_INVALID] = "invalid",
};

static const char *const path_names[CC_PATH_COUNT] = {
    [CC_PATH_GETBLOCKS] = "/getblocks", [CC_PATH_GETDATA] = "/getdata",
    [CC_PATH_GETPEERS] = "/getpeers",   [CC_PATH_BLOCK] = "/block",
    [CC_PATH_INV] = "/inv",             [CC_PATH_MONEY] = "/money",
    [CC_PATH_API] = "/api",             [CC_PATH_EXPLORER] = "/explorer",
    [CC_PATH_METRICS] = "/metrics",     [CC_PATH_OTHER] = "other",
};

/* Upper bounds in seconds, written as Prometheus expects them. */
static const double bucket_bounds[CC_METRICS_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
static const char *const bucket_labels[CC_METRICS_BUCKETS] = {
    "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
    "0.05",   "0.1",   "0.25",   "0.5",   "1",    "2.5"};

cc_metrics_reason cc_metrics_reason_of(const cc_err *err)
{
    if (!err)
        return CC_REASON_INVALID;
    switch (cc_err_refusal(err)) {
    case CC_REFUSAL_DUPLICATE:
    case CC_REFUSAL_PAYMENT_REPEATED: return CC_REASON_DUPLICATE;
    case CC_REFUSAL_KNOWN_INVALID: return CC_REASON_KNOWN_INVALID;
    case CC_REFUSAL_BAD_SIGNATURE: return CC_REASON_INVALID_SIGNATURE;
    case CC_REFUSAL_FUNDS: return CC_REASON_INSUFFICIENT_FUNDS;
    case CC_REFUSAL_BAD_POW: return CC_REASON_BAD_POW;
    case CC_REFUSAL_INVALID_PARENT: return CC_REASON_INVALID_PARENT;
    case CC_REFUSAL_MEMPOOL_FULL: return CC_REASON_MEMPOOL_FULL;
    case CC_REFUSAL_MALFORMED:
    case CC_REFUSAL_NONE: break;
    }
    return CC_REASON_INVALID;
}

void cc_metrics_block(cc_metrics *m, bool ok, const cc_block_result *res, const cc_err *err)
{
    if (!ok) {
        m->blocks[cc_metrics_reason_of(err)]++;
        return;
    }
    switch (res->outcome) {
    case CC_BLOCK_NEW_TIP: m->blocks[CC_REASON_NEW_TIP]++; break;
    case CC_BLOCK_SIDE: m->blocks[CC_REASON_SIDE_BRANCH]++; break;
    case CC_BLOCK_ORPHAN: m->blocks[CC_REASON_ORPHAN]++; break;
    }
}

void cc_metrics_tx(cc_metrics *m, bool ok, const cc_err *err)
{
    m->txs[ok ? CC_REASON_MEMPOOL : cc_metrics_reason_of(err)]++;
}

/* "/getpeers" and "/getpeers/" are one resource, as for the routes. */
static bool path_is(const char *path, const char *name)
{
    size_t len = strlen(name);
    return strncmp(path, name, len) == 0 && (path[len] == '\0' || strcmp(path + len, "/") == 0);
}

cc_metrics_path cc_metrics_path_of(const char *path)
{
    if (strcmp(path, "/api") == 0 || strncmp(path, "/api/", 5) == 0)
        return CC_PATH_API;
    if (strcmp(path, "/") == 0 || path_is(path, "/explorer"))
        return CC_PATH_EXPLORER;
    for (int i = 0; i < CC_PATH_COUNT; i++)
        if (i != CC_PATH_OTHER && path_is(path, path_names[i]))
            return (cc_metrics_path)i;
    return CC_PATH_OTHER;
}

void cc_metrics_request(cc_metrics *m, const char *path, double seconds)
{
    if (seconds < 0)
        seconds = 0;
    m->requests[cc_metrics_path_of(path)]++;
    m->latency_count++;
    m->latency_sum += seconds;
    for (int i = 0; i < CC_METRICS_BUCKETS; i++) {
        if (seconds <= bucket_bounds[i]) {
            m->latency[i]++;
            break;
        }
    }
}

static void write_results(cc_buf *out, const char *name, const char *help,
                          const uint64_t counts[CC_REASON_COUNT], const cc_metrics_reason *accepted,
                          size_t n_accepted)
{
    cc_buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
    for (size_t i = 0; i < n_accepted; i++)
        cc_buf_printf(out, "%s{result=\"accepted\",reason=\"%s\"} %llu\n", name,
                      reason_names[accepted[i]], (unsigned long long)counts[accepted[i]]);
    for (int r = CC_REASON_DUPLICATE; r < CC_REASON_COUNT; r++)
        cc_buf_printf(out, "%s{result=\"refused\",reason=\"%s\"} %llu\n", name, reason_names[r],
                      (unsigned long long)counts[r]);
}

void cc_metrics_write(const cc_metrics *m, const cc_metrics_gauges *g, cc_buf *out)
{
    cc_buf_printf(out, "# HELP cheese_height Height of the best chain.\n"
                       "# TYPE cheese_height gauge\ncheese_height %lld\n",
                  (long long)g->height);
    cc_buf_printf(out, "# HELP cheese_peers Peers the node knows.\n"
                       "# TYPE cheese_peers gauge\ncheese_peers %zu\n", g->peers);
    cc_buf_printf(out, "# HELP cheese_mempool_transactions Transactions waiting to be mined.\n"
                       "# TYPE cheese_mempool_transactions gauge\n"
                       "cheese_mempool_transactions %zu\n", g->mempool);

    static const cc_metrics_reason block_ok[] = {CC_REASON_NEW_TIP, CC_REASON_SIDE_BRANCH,
                                                 CC_REASON_ORPHAN};
    static const cc_metrics_reason tx_ok[] = {CC_REASON_MEMPOOL};
    write_results(out, "cheese_blocks_total", "Blocks offered to the chain, by outcome.",
                  m->blocks, block_ok, sizeof block_ok / sizeof block_ok[0]);
    write_results(out, "cheese_transactions_total",
                  "Transactions offered to the mempool, by outcome.", m->txs, tx_ok,
                  sizeof tx_ok / sizeof tx_ok[0]);

    cc_buf_puts(out, "# HELP cheese_http_requests_total HTTP requests answered, by path.\n"
                     "# TYPE cheese_http_requests_total counter\n");
    for (int i = 0; i < CC_PATH_COUNT; i++)
        cc_buf_printf(out, "cheese_http_requests_total{path=\"%s\"} %llu\n", path_names[i],
                      (unsigned long long)m->requests[i]);

    static const char name[] = "cheese_http_request_duration_seconds";
    cc_buf_printf(out, "# HELP %s Time the node took to answer a request.\n"
                       "# TYPE %s histogram\n", name, name);
    uint64_t cumulative = 0;
    for (int i = 0; i < CC_METRICS_BUCKETS; i++) {
        cumulative += m->latency[i];
        cc_buf_printf(out, "%s_bucket{le=\"%s\"} %llu\n", name, bucket_labels[i],
                      (unsigned long long)cumulative);
    }
    cc_buf_printf(out, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.9g\n%s_count %llu\n", name,
                  (unsigned long long)m->latency_count, name, m->latency_sum, name,
                  (unsigned long long)m->latency_count);
}

bool cc_metrics_is_call(const cc_http_request *req)
{
    return path_is(req->path, "/metrics");
}

void cc_metrics_handle(const cc_metrics *m, const cc_metrics_gauges *g,
                       const cc_http_request *req, cc_http_response *resp)
{
    if (strcmp(req->method, "GET") != 0) {
        cc_http_error(resp, CC_ERR_METHOD, "Method not allowed: /metrics takes GET");
        return;
    }
    cc_buf_reset(&resp->body);
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
    cc_metrics_write(m, g, &resp->body);
}

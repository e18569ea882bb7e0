/* The node's counters, served as Prometheus text on GET /metrics
 * (docs/api.md): blocks and transactions accepted or refused (with a
 * reason from a small fixed set, never free text), HTTP requests by path
 * (a fixed set too) and a histogram of the time handlers take.
 *
 * A cc_metrics is plain data owned by the node (no process-wide state);
 * gauges (height, peers, mempool) are read by the node when it writes.
 * Thread: the loop thread, like everything that counts. */
#ifndef CC_NODE_METRICS_H
#define CC_NODE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/chain.h"
#include "net/http_request.h"
#include "net/http_server.h"
#include "util/buf.h"
#include "util/err.h"

/* Why an input was accepted or refused: the "reason" label. */
typedef enum cc_metrics_reason {
    /* accepted */
    CC_REASON_NEW_TIP,      /* a block that moved the tip */
    CC_REASON_SIDE_BRANCH,  /* a block stored off the best chain */
    CC_REASON_ORPHAN,       /* a block held until its parent arrives */
    CC_REASON_MEMPOOL,      /* a transaction now waiting */
    /* refused */
    CC_REASON_DUPLICATE,
    CC_REASON_KNOWN_INVALID, /* a block found invalid before, offered again */
    CC_REASON_INVALID_SIGNATURE,
    CC_REASON_INSUFFICIENT_FUNDS,
    CC_REASON_BAD_POW,
    CC_REASON_INVALID_PARENT,
    CC_REASON_MEMPOOL_FULL,
    CC_REASON_INVALID,      /* anything else */
    CC_REASON_COUNT
} cc_metrics_reason;

/* The "path" label of cheese_http_requests_total. */
typedef enum cc_metrics_path {
    CC_PATH_GETBLOCKS,
    CC_PATH_GETDATA,
    CC_PATH_GETPEERS,
    CC_PATH_BLOCK,
    CC_PATH_INV,
    CC_PATH_MONEY,
    CC_PATH_API,
    CC_PATH_EXPLORER,
    CC_PATH_METRICS,
    CC_PATH_OTHER,
    CC_PATH_COUNT
} cc_metrics_path;

#define CC_METRICS_BUCKETS 12 /* finite upper bounds; +Inf is the count */

typedef struct cc_metrics {
    uint64_t blocks[CC_REASON_COUNT];
    uint64_t txs[CC_REASON_COUNT];
    uint64_t requests[CC_PATH_COUNT];
    uint64_t latency[CC_METRICS_BUCKETS]; /* per bucket, not cumulative */
    uint64_t latency_count;
    double latency_sum;
} cc_metrics;

typedef struct cc_metrics_gauges {
    int64_t height;
    size_t peers;
    size_t mempool;
} cc_metrics_gauges;

/* The refusal reason an error stands for ("Block already exists" ->
 * CC_REASON_DUPLICATE, ...); CC_REASON_INVALID when none fits. */
cc_metrics_reason cc_metrics_reason_of(const cc_err *err);

/* One block offered to the chain: ok with its result, or refused with err. */
void cc_metrics_block(cc_metrics *m, bool ok, const cc_block_result *res, const cc_err *err);
/* One transaction offered to the mempool. */
void cc_metrics_tx(cc_metrics *m, bool ok, const cc_err *err);

cc_metrics_path cc_metrics_path_of(const char *path);
/* One request answered in `seconds`. */
void cc_metrics_request(cc_metrics *m, const char *path, double seconds);

/* True when req is for /metrics (or /metrics/). */
bool cc_metrics_is_call(const cc_http_request *req);

/* Answers GET /metrics (405 for another method). */
void cc_metrics_handle(const cc_metrics *m, const cc_metrics_gauges *g,
                       const cc_http_request *req, cc_http_response *resp);

/* Appends the Prometheus text exposition (format 0.0.4). */
void cc_metrics_write(const cc_metrics *m, const cc_metrics_gauges *g, cc_buf *out);

#endif

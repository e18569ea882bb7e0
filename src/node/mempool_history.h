/* How many payments waited, sampled at a steady pace over the last hour,
 * for the explorer's chart (GET /api/mempool-history, docs/api.md). A
 * fixed ring in the node's memory: the oldest sample gives way to the
 * newest, nothing is allocated and nothing is kept across restarts.
 * Thread: the loop thread (the owner's). */
#ifndef CC_NODE_MEMPOOL_HISTORY_H
#define CC_NODE_MEMPOOL_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define CC_MEMPOOL_SAMPLE_S 10 /* one sample every ten seconds ... */
#define CC_MEMPOOL_SAMPLES 360 /* ... for an hour */

typedef struct cc_mempool_sample {
    int64_t unix_time;
    size_t waiting;
} cc_mempool_sample;

typedef struct cc_mempool_history {
    cc_mempool_sample ring[CC_MEMPOOL_SAMPLES];
    size_t first; /* the oldest sample's slot */
    size_t count;
} cc_mempool_history;

/* An empty history (a zeroed one is empty too). */
void cc_mempool_history_init(cc_mempool_history *h);

/* Adds a sample; the oldest goes once the ring is full. */
void cc_mempool_history_add(cc_mempool_history *h, int64_t unix_time, size_t waiting);

/* Appends {"interval_s": 10, "samples": [[unix_time, waiting], ...]},
 * oldest first, then the sample (now, waiting_now) so that the chart
 * reaches the present between two ticks. */
void cc_mempool_history_write_json(const cc_mempool_history *h, int64_t now, size_t waiting_now,
                                   cc_buf *out);

#endif

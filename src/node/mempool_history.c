#include "node/mempool_history.h"

#include <string.h>

void cc_mempool_history_init(cc_mempool_history *h) { memset(h, 0, sizeof *h); }

void cc_mempool_history_add(cc_mempool_history *h, int64_t unix_time, size_t waiting)
{
    size_t slot = (h->first + h->count) % CC_MEMPOOL_SAMPLES;
    h->ring[slot] = (cc_mempool_sample){.unix_time = unix_time, .waiting = waiting};
    if (h->count < CC_MEMPOOL_SAMPLES)
        h->count++;
    else
        h->first = (h->first + 1) % CC_MEMPOOL_SAMPLES;
}

void cc_mempool_history_write_json(const cc_mempool_history *h, int64_t now, size_t waiting_now,
                                   cc_buf *out)
{
    cc_buf_printf(out, "{\"interval_s\": %d, \"samples\": [", CC_MEMPOOL_SAMPLE_S);
    for (size_t i = 0; i < h->count; i++) {
        const cc_mempool_sample *s = &h->ring[(h->first + i) % CC_MEMPOOL_SAMPLES];
        cc_buf_printf(out, "[%lld, %zu], ", (long long)s->unix_time, s->waiting);
    }
    cc_buf_printf(out, "[%lld, %zu]]}", (long long)now, waiting_now);
}

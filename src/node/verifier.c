#include "node/verifier.h"

#include <stdlib.h>

#include "util/mem.h"
#include "util/work_pool.h"

/* Below this many signatures a batch is one job: splitting costs more in
 * wake-ups than it saves. */
#define MIN_PER_JOB 4

struct cc_verifier {
    const cc_rules *rules;
    cc_work_pool *pool;
    struct event *wake;
    size_t checks; /* under way */
    cc_verify_round_fn round_begin, round_end;
    void *round_ctx;
};

typedef struct check {
    cc_verifier *verifier;
    const cc_tx *const *txs;
    bool *ok;
    size_t n;
    cc_verify_part_fn run; /* NULL: check txs */
    size_t parts, parts_left;
    bool cancelled;
    cc_verify_done_fn done;
    void *ctx;
} check;

typedef struct part {
    check *whole;
    size_t index;
} part;

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    cc_verifier *verifier = arg;
    if (verifier->round_begin)
        verifier->round_begin(verifier->round_ctx);
    cc_work_pool_drain(verifier->pool);
    if (verifier->round_end)
        verifier->round_end(verifier->round_ctx);
}

void cc_verifier_set_round_hooks(cc_verifier *verifier, cc_verify_round_fn begin,
                                 cc_verify_round_fn end, void *ctx)
{
    verifier->round_begin = begin;
    verifier->round_end = end;
    verifier->round_ctx = ctx;
}

/* From a worker: libevent is thread-aware (cc_node_process_init). */
static void notify(void *arg)
{
    cc_verifier *verifier = arg;
    event_active(verifier->wake, EV_READ, 0);
}

static void run_part(void *arg)
{
    part *p = arg;
    const check *c = p->whole;
    if (c->run) {
        c->run(c->ctx, p->index, c->parts);
        return;
    }
    for (size_t i = c->n * p->index / c->parts; i < c->n * (p->index + 1) / c->parts; i++)
        c->ok[i] = c->verifier->rules->tx_verify(c->txs[i]);
}

static void part_done(void *arg, bool cancelled)
{
    part *p = arg;
    check *c = p->whole;
    free(p);
    c->cancelled = c->cancelled || cancelled;
    if (--c->parts_left > 0)
        return;
    c->verifier->checks--;
    c->done(c->ctx, c->cancelled);
    free(c);
}

cc_verifier *cc_verifier_new(struct event_base *base, const cc_rules *rules, unsigned threads)
{
    cc_verifier *verifier = cc_calloc(1, sizeof *verifier);
    verifier->rules = rules;
    verifier->wake = event_new(base, -1, 0, on_wake, verifier);
    verifier->pool = cc_work_pool_new(threads ? threads : cc_work_pool_default_threads(), notify,
                                      verifier);
    return verifier;
}

void cc_verifier_free(cc_verifier *verifier)
{
    if (!verifier)
        return;
    cc_work_pool_free(verifier->pool);
    event_free(verifier->wake);
    free(verifier);
}

static void submit_parts(cc_verifier *verifier, check *c)
{
    c->parts_left = c->parts;
    verifier->checks++;
    for (size_t k = 0; k < c->parts; k++) {
        part *p = cc_malloc(sizeof *p);
        *p = (part){.whole = c, .index = k};
        cc_work_pool_submit(verifier->pool, run_part, part_done, p);
    }
}

void cc_verifier_check(cc_verifier *verifier, const cc_tx *const *txs, size_t n, bool *ok,
                       cc_verify_done_fn done, void *ctx)
{
    check *c = cc_calloc(1, sizeof *c);
    *c = (check){.verifier = verifier, .txs = txs, .ok = ok, .n = n, .done = done, .ctx = ctx};
    size_t threads = cc_work_pool_threads(verifier->pool);
    c->parts = n / MIN_PER_JOB < threads ? n / MIN_PER_JOB : threads;
    if (c->parts == 0)
        c->parts = 1;
    submit_parts(verifier, c);
}

void cc_verifier_run(cc_verifier *verifier, cc_verify_part_fn run, cc_verify_done_fn done,
                     void *ctx)
{
    check *c = cc_calloc(1, sizeof *c);
    *c = (check){.verifier = verifier, .run = run, .done = done, .ctx = ctx};
    c->parts = cc_work_pool_threads(verifier->pool);
    submit_parts(verifier, c);
}

size_t cc_verifier_pending(const cc_verifier *verifier) { return verifier->checks; }

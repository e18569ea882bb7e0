/* Unit tests for util/work_pool: where run, done and notify execute, that
 * every job is handed back exactly once (drained, finished before free, or
 * cancelled by free), the start order, and the pending count.
 *
 * cmocka's assertions only run on the test's own thread: workers record
 * what they saw in the job, and the test checks it after done. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT */
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "util/work_pool.h"

#define LIVENESS_S 60 /* a generous deadline for the workers: never a timing */

/* ---- a gate a job can wait on ----------------------------------------------- */

typedef struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool open;
} gate;

static void gate_init(gate *g)
{
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->cond, NULL);
    g->open = false;
}

static void gate_destroy(gate *g)
{
    pthread_cond_destroy(&g->cond);
    pthread_mutex_destroy(&g->lock);
}

static void gate_open(gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->open = true;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

/* False when the liveness deadline passed first. */
static bool gate_wait(gate *g)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += LIVENESS_S;
    pthread_mutex_lock(&g->lock);
    int rc = 0;
    while (!g->open && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&g->cond, &g->lock, &deadline);
    bool open = g->open;
    pthread_mutex_unlock(&g->lock);
    return open;
}

/* The pool joins its workers in cc_work_pool_free only after telling them
 * to stop: opening a gate there lets a job blocked in run finish exactly
 * when the jobs still queued can no longer start, which makes the
 * cancellation test deterministic. */
static gate *open_on_join;

int pthread_join(pthread_t thread, void **retval)
{
    static int (*real_join)(pthread_t, void **);
    if (!real_join)
        *(void **)&real_join = dlsym(RTLD_NEXT, "pthread_join");
    if (open_on_join)
        gate_open(open_on_join);
    return real_join(thread, retval);
}

/* ---- jobs that record where and when they ran ---------------------------------- */

typedef struct probe {
    pthread_t owner;
    bool in_drain; /* set by the test around cc_work_pool_drain (owner only) */
    atomic_uint started; /* runs begun, for the start order */
    atomic_uint ran;     /* runs ended */
    atomic_uint notified;
    atomic_uint notified_on_owner;
    unsigned done_calls;
} probe;

typedef struct job_arg {
    probe *p;
    gate *hold;    /* run waits for it to open (NULL: no wait) */
    gate *running; /* opened when run begins (NULL: none) */
    /* written by run, on a worker */
    bool ran;
    bool ran_on_owner;
    bool hold_opened;
    unsigned start_order;
    /* written by done, on the owner */
    unsigned done_calls;
    bool cancelled;
    bool done_on_owner;
    bool done_in_drain;
    unsigned done_order;
} job_arg;

static void probe_init(probe *p)
{
    *p = (probe){.owner = pthread_self()};
    atomic_init(&p->started, 0);
    atomic_init(&p->ran, 0);
    atomic_init(&p->notified, 0);
    atomic_init(&p->notified_on_owner, 0);
}

static void job_run(void *arg)
{
    job_arg *j = arg;
    j->start_order = atomic_fetch_add(&j->p->started, 1);
    j->ran = true;
    j->ran_on_owner = pthread_equal(pthread_self(), j->p->owner);
    if (j->running)
        gate_open(j->running);
    j->hold_opened = !j->hold || gate_wait(j->hold);
    atomic_fetch_add(&j->p->ran, 1);
}

static void job_done(void *arg, bool cancelled)
{
    job_arg *j = arg;
    j->done_calls++;
    j->cancelled = cancelled;
    j->done_on_owner = pthread_equal(pthread_self(), j->p->owner);
    j->done_in_drain = j->p->in_drain;
    j->done_order = j->p->done_calls++;
}

static void notify(void *ctx)
{
    probe *p = ctx;
    if (pthread_equal(pthread_self(), p->owner))
        atomic_fetch_add(&p->notified_on_owner, 1);
    atomic_fetch_add(&p->notified, 1);
}

static size_t drain(cc_work_pool *pool, probe *p)
{
    p->in_drain = true;
    size_t n = cc_work_pool_drain(pool);
    p->in_drain = false;
    return n;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap(void)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 1000000};
    nanosleep(&ts, NULL);
}

/* Drains until nothing is pending, waking on notify as an event loop
 * would; checks that pending falls by what each drain handed back. */
static size_t drain_all(cc_work_pool *pool, probe *p)
{
    double deadline = now_s() + LIVENESS_S;
    size_t total = 0;
    while (cc_work_pool_pending(pool) > 0) {
        unsigned seen = atomic_load(&p->notified);
        size_t before = cc_work_pool_pending(pool);
        size_t n = drain(pool, p);
        assert_int_equal(cc_work_pool_pending(pool), before - n);
        total += n;
        while (cc_work_pool_pending(pool) > 0 && atomic_load(&p->notified) == seen) {
            if (now_s() > deadline)
                fail_msg("jobs still pending after %d s without a notification", LIVENESS_S);
            nap();
        }
    }
    return total;
}

static void wait_ran(probe *p, unsigned n)
{
    double deadline = now_s() + LIVENESS_S;
    while (atomic_load(&p->ran) < n) {
        if (now_s() > deadline)
            fail_msg("only %u of %u jobs ran within %d s", atomic_load(&p->ran), n, LIVENESS_S);
        nap();
    }
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_thread_counts(void **state)
{
    (void)state;
    assert_true(cc_work_pool_default_threads() >= 1);
    cc_work_pool *one = cc_work_pool_new(0, NULL, NULL);
    assert_int_equal(cc_work_pool_threads(one), 1);
    assert_int_equal(cc_work_pool_pending(one), 0);
    assert_int_equal(cc_work_pool_drain(one), 0); /* nothing finished: returns at once */
    cc_work_pool_free(one);
    cc_work_pool *three = cc_work_pool_new(3, NULL, NULL);
    assert_int_equal(cc_work_pool_threads(three), 3);
    cc_work_pool_free(three);
    cc_work_pool_free(NULL);
}

/* Many jobs over several workers: each runs once on a worker, its done
 * runs once on the owner inside a drain, and notify wakes the owner. */
static void test_jobs_run_on_workers_done_in_drain_once(void **state)
{
    (void)state;
    enum { N = 500 };
    probe p;
    probe_init(&p);
    job_arg *jobs = calloc(N, sizeof *jobs);
    cc_work_pool *pool = cc_work_pool_new(4, notify, &p);
    for (size_t i = 0; i < N; i++) {
        jobs[i].p = &p;
        cc_work_pool_submit(pool, job_run, job_done, &jobs[i]);
        assert_int_equal(cc_work_pool_pending(pool), i + 1);
    }
    /* Finished jobs wait for the owner: nothing is handed back meanwhile. */
    wait_ran(&p, N);
    assert_int_equal(p.done_calls, 0);
    assert_int_equal(cc_work_pool_pending(pool), N);
    assert_int_equal(drain_all(pool, &p), N);
    assert_int_equal(cc_work_pool_pending(pool), 0);
    assert_int_equal(cc_work_pool_drain(pool), 0);
    assert_true(atomic_load(&p.notified) >= 1);
    assert_int_equal(atomic_load(&p.notified_on_owner), 0);
    for (size_t i = 0; i < N; i++) {
        assert_true(jobs[i].ran);
        assert_false(jobs[i].ran_on_owner);
        assert_int_equal(jobs[i].done_calls, 1);
        assert_false(jobs[i].cancelled);
        assert_true(jobs[i].done_on_owner);
        assert_true(jobs[i].done_in_drain);
    }
    cc_work_pool_free(pool);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(jobs[i].done_calls, 1); /* free hands nothing back twice */
    free(jobs);
}

/* One worker: jobs start in submission order, so they also finish and are
 * handed back in it. */
static void test_one_worker_keeps_submission_order(void **state)
{
    (void)state;
    enum { N = 50 };
    probe p;
    probe_init(&p);
    job_arg jobs[N] = {0};
    cc_work_pool *pool = cc_work_pool_new(1, notify, &p);
    for (size_t i = 0; i < N; i++) {
        jobs[i].p = &p;
        cc_work_pool_submit(pool, job_run, job_done, &jobs[i]);
    }
    assert_int_equal(drain_all(pool, &p), N);
    for (unsigned i = 0; i < N; i++) {
        assert_int_equal(jobs[i].start_order, i);
        assert_int_equal(jobs[i].done_order, i);
    }
    cc_work_pool_free(pool);
}

/* Without a notify hook the owner can still poll. */
static void test_without_notify(void **state)
{
    (void)state;
    probe p;
    probe_init(&p);
    job_arg jobs[3] = {{.p = &p}, {.p = &p}, {.p = &p}};
    cc_work_pool *pool = cc_work_pool_new(2, NULL, NULL);
    for (size_t i = 0; i < 3; i++)
        cc_work_pool_submit(pool, job_run, job_done, &jobs[i]);
    wait_ran(&p, 3);
    double deadline = now_s() + LIVENESS_S;
    while (cc_work_pool_pending(pool) > 0) {
        drain(pool, &p);
        if (now_s() > deadline)
            fail_msg("jobs never handed back");
        nap();
    }
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(jobs[i].done_calls, 1);
    cc_work_pool_free(pool);
}

/* Freeing the pool: a job finished but not drained gets done(false), the
 * job running when free is called finishes and gets done(false), and the
 * jobs that never started get done(true) without having run. All on the
 * thread calling free, once each. */
static void test_free_cancels_jobs_not_started(void **state)
{
    (void)state;
    probe p;
    probe_init(&p);
    gate hold, running;
    gate_init(&hold);
    gate_init(&running);
    job_arg finished = {.p = &p};
    job_arg blocker = {.p = &p, .hold = &hold, .running = &running};
    job_arg queued[3] = {{.p = &p}, {.p = &p}, {.p = &p}};
    cc_work_pool *pool = cc_work_pool_new(1, notify, &p);

    cc_work_pool_submit(pool, job_run, job_done, &finished);
    wait_ran(&p, 1);
    cc_work_pool_submit(pool, job_run, job_done, &blocker);
    assert_true(gate_wait(&running)); /* the only worker is now busy */
    for (size_t i = 0; i < 3; i++)
        cc_work_pool_submit(pool, job_run, job_done, &queued[i]);
    assert_int_equal(cc_work_pool_pending(pool), 5);
    assert_int_equal(p.done_calls, 0);

    open_on_join = &hold;
    cc_work_pool_free(pool);
    open_on_join = NULL;

    assert_int_equal(p.done_calls, 5);
    assert_true(finished.ran);
    assert_int_equal(finished.done_calls, 1);
    assert_false(finished.cancelled);
    assert_true(blocker.ran && blocker.hold_opened);
    assert_int_equal(blocker.done_calls, 1);
    assert_false(blocker.cancelled);
    for (size_t i = 0; i < 3; i++) {
        assert_false(queued[i].ran);
        assert_int_equal(queued[i].done_calls, 1);
        assert_true(queued[i].cancelled);
        assert_true(queued[i].done_on_owner);
        assert_false(queued[i].done_in_drain);
    }
    assert_true(finished.done_on_owner && blocker.done_on_owner);
    gate_destroy(&hold);
    gate_destroy(&running);
}

/* Free right after submitting many jobs: whatever had started or not,
 * every argument comes back exactly once, cancelled only if it never ran. */
static void test_free_hands_every_job_back_once(void **state)
{
    (void)state;
    enum { N = 300 };
    probe p;
    probe_init(&p);
    job_arg *jobs = calloc(N, sizeof *jobs);
    cc_work_pool *pool = cc_work_pool_new(2, notify, &p);
    for (size_t i = 0; i < N; i++) {
        jobs[i].p = &p;
        cc_work_pool_submit(pool, job_run, job_done, &jobs[i]);
    }
    cc_work_pool_free(pool);
    assert_int_equal(p.done_calls, N);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(jobs[i].done_calls, 1);
        assert_true(jobs[i].cancelled == !jobs[i].ran);
    }
    free(jobs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thread_counts),
        cmocka_unit_test(test_jobs_run_on_workers_done_in_drain_once),
        cmocka_unit_test(test_one_worker_keeps_submission_order),
        cmocka_unit_test(test_without_notify),
        cmocka_unit_test(test_free_cancels_jobs_not_started),
        cmocka_unit_test(test_free_hands_every_job_back_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

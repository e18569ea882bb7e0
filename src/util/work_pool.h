/* A small pool of worker threads for CPU-heavy work (signature checks) that
 * must not run on the event-loop thread.
 *
 * A job is two functions and an argument: `run` executes on a worker, then
 * `done` executes on the owner's thread, when the owner calls
 * cc_work_pool_drain. The pool calls `notify` (from a worker) whenever a
 * finished job is waiting, so that an event loop can wake up and drain;
 * the pool itself knows nothing of event loops.
 *
 * Jobs start in submission order; `done` callbacks run in the order the
 * jobs finish. Freeing the pool joins the workers: jobs not started get
 * done(arg, true) without having run, finished ones done(arg, false), so
 * every argument is handed back exactly once and can always be released.
 *
 * Thread: new, submit, drain and free on the owner thread only; run on the
 * workers; notify on a worker. Ownership: the pool never frees arguments. */
#ifndef CC_UTIL_WORK_POOL_H
#define CC_UTIL_WORK_POOL_H

#include <stdbool.h>
#include <stddef.h>

typedef struct cc_work_pool cc_work_pool;

typedef void (*cc_work_run_fn)(void *arg);
typedef void (*cc_work_done_fn)(void *arg, bool cancelled);
typedef void (*cc_work_notify_fn)(void *ctx);

/* threads >= 1. Aborts when a thread cannot be created, like an
 * allocation failure: a node without its workers cannot check anything. */
cc_work_pool *cc_work_pool_new(unsigned threads, cc_work_notify_fn notify, void *notify_ctx);
void cc_work_pool_free(cc_work_pool *pool);

void cc_work_pool_submit(cc_work_pool *pool, cc_work_run_fn run, cc_work_done_fn done, void *arg);

/* Runs done() of every finished job; returns how many. */
size_t cc_work_pool_drain(cc_work_pool *pool);

unsigned cc_work_pool_threads(const cc_work_pool *pool);
/* Jobs submitted whose done() has not run yet. */
size_t cc_work_pool_pending(const cc_work_pool *pool);

/* Threads worth using on this machine: the online cores, at least 1. */
unsigned cc_work_pool_default_threads(void);

#endif

#include "util/work_pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/mem.h"

typedef struct job {
    cc_work_run_fn run;
    cc_work_done_fn done;
    void *arg;
    struct job *next;
} job;

/* A singly linked FIFO. */
typedef struct job_queue {
    job *head, *tail;
} job_queue;

struct cc_work_pool {
    pthread_t *threads;
    unsigned n_threads;
    cc_work_notify_fn notify;
    void *notify_ctx;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    job_queue todo;     /* guarded by lock */
    job_queue finished; /* guarded by lock */
    bool stopping;      /* guarded by lock */
    size_t pending;     /* owner thread only */
};

static void queue_push(job_queue *q, job *j)
{
    j->next = NULL;
    if (q->tail)
        q->tail->next = j;
    else
        q->head = j;
    q->tail = j;
}

static job *queue_take_all(job_queue *q)
{
    job *all = q->head;
    q->head = q->tail = NULL;
    return all;
}

static job *queue_pop(job_queue *q)
{
    job *j = q->head;
    if (j) {
        q->head = j->next;
        if (!q->head)
            q->tail = NULL;
    }
    return j;
}

static void *worker_main(void *arg)
{
    cc_work_pool *pool = arg;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (!pool->stopping && !pool->todo.head)
            pthread_cond_wait(&pool->wake, &pool->lock);
        if (pool->stopping)
            break;
        job *j = queue_pop(&pool->todo);
        pthread_mutex_unlock(&pool->lock);
        j->run(j->arg);
        pthread_mutex_lock(&pool->lock);
        bool was_empty = pool->finished.head == NULL;
        queue_push(&pool->finished, j);
        /* One wake-up per batch of finished jobs is enough: the owner
         * drains them all at once. Outside the lock, so that notify may
         * take locks of its own (libevent's). */
        if (was_empty && pool->notify) {
            pthread_mutex_unlock(&pool->lock);
            pool->notify(pool->notify_ctx);
            pthread_mutex_lock(&pool->lock);
        }
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

cc_work_pool *cc_work_pool_new(unsigned threads, cc_work_notify_fn notify, void *notify_ctx)
{
    cc_work_pool *pool = cc_calloc(1, sizeof *pool);
    pool->n_threads = threads ? threads : 1;
    pool->notify = notify;
    pool->notify_ctx = notify_ctx;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pool->threads = cc_calloc(pool->n_threads, sizeof *pool->threads);
    for (unsigned i = 0; i < pool->n_threads; i++)
        if (pthread_create(&pool->threads[i], NULL, worker_main, pool) != 0)
            abort();
    return pool;
}

void cc_work_pool_submit(cc_work_pool *pool, cc_work_run_fn run, cc_work_done_fn done, void *arg)
{
    job *j = cc_malloc(sizeof *j);
    *j = (job){.run = run, .done = done, .arg = arg};
    pool->pending++;
    pthread_mutex_lock(&pool->lock);
    queue_push(&pool->todo, j);
    pthread_cond_signal(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
}

static size_t finish_all(cc_work_pool *pool, job *list, bool cancelled)
{
    size_t n = 0;
    while (list) {
        job *j = list;
        list = j->next;
        pool->pending--;
        j->done(j->arg, cancelled);
        free(j);
        n++;
    }
    return n;
}

size_t cc_work_pool_drain(cc_work_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    job *finished = queue_take_all(&pool->finished);
    pthread_mutex_unlock(&pool->lock);
    return finish_all(pool, finished, false);
}

void cc_work_pool_free(cc_work_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->stopping = true;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (unsigned i = 0; i < pool->n_threads; i++)
        pthread_join(pool->threads[i], NULL);
    finish_all(pool, queue_take_all(&pool->finished), false);
    finish_all(pool, queue_take_all(&pool->todo), true);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->lock);
    free(pool->threads);
    free(pool);
}

unsigned cc_work_pool_threads(const cc_work_pool *pool) { return pool->n_threads; }

size_t cc_work_pool_pending(const cc_work_pool *pool) { return pool->pending; }

unsigned cc_work_pool_default_threads(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores > 0 ? (unsigned)cores : 1;
}

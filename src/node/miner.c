#include "node/miner.h"

#include <pthread.h>
#include <sys/resource.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/hash.h"
#include "crypto/random.h"
#include "util/mem.h"

/* How often a worker looks whether its job is still wanted. */
#define CHECK_EVERY 2048

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
#define ALPHABET_LEN 62

typedef struct job {
    uint64_t id;
    char *prefix, *suffix;
    size_t prefix_len, suffix_len;
    unsigned zero_digits;
    cc_nonce_style style;
} job;

struct cc_miner {
    struct event_base *base;
    struct event *found_event;
    cc_miner_found found;
    void *ctx;
    pthread_t *threads;
    unsigned n_threads;
    int nice;
    _Atomic unsigned next_worker; /* hands each worker its index */

    pthread_mutex_t lock;
    pthread_cond_t wake;
    job current;            /* guarded by lock */
    bool stopping;          /* guarded by lock */
    uint64_t won_job;       /* guarded by lock */
    char won_nonce[CC_MINER_NONCE_LEN + 1];
    _Atomic uint64_t active_id; /* read by workers without the lock */
    _Atomic uint64_t attempts;
};

static bool digest_meets(const uint8_t *digest, unsigned zero_digits)
{
    for (unsigned i = 0; i < zero_digits / 2; i++)
        if (digest[i] != 0)
            return false;
    return zero_digits % 2 == 0 || (digest[zero_digits / 2] >> 4) == 0;
}

/* Takes a private copy of the current job, waiting while there is none. */
static bool wait_for_job(cc_miner *miner, job *mine)
{
    pthread_mutex_lock(&miner->lock);
    while (!miner->stopping && miner->current.id == 0)
        pthread_cond_wait(&miner->wake, &miner->lock);
    bool go = !miner->stopping;
    if (go) {
        *mine = miner->current;
        mine->prefix = cc_strndup(miner->current.prefix, miner->current.prefix_len);
        mine->suffix = cc_strndup(miner->current.suffix, miner->current.suffix_len);
    }
    pthread_mutex_unlock(&miner->lock);
    return go;
}

static void report_win(cc_miner *miner, uint64_t id, const char *nonce)
{
    pthread_mutex_lock(&miner->lock);
    if (miner->current.id == id) {
        miner->won_job = id;
        memcpy(miner->won_nonce, nonce, sizeof miner->won_nonce);
        miner->current.id = 0;
        atomic_store(&miner->active_id, 0);
        event_active(miner->found_event, EV_READ, 0);
    }
    pthread_mutex_unlock(&miner->lock);
}

/* Writes the nonce of attempt number counter into nonce (NUL-terminated),
 * returning its length. Text nonces are 8 random characters (so workers and
 * restarts never search the same space) and a 12-character base-62 counter. */
static size_t nonce_text(const job *mine, uint64_t counter, unsigned worker, unsigned workers,
                         char nonce[CC_MINER_NONCE_LEN + 1])
{
    if (mine->style == CC_NONCE_DECIMAL)
        return (size_t)snprintf(nonce, CC_MINER_NONCE_LEN + 1, "%llu",
                                (unsigned long long)(counter * workers + worker));
    for (int i = CC_MINER_NONCE_LEN - 1; i >= 8; i--, counter /= ALPHABET_LEN)
        nonce[i] = alphabet[counter % ALPHABET_LEN];
    return CC_MINER_NONCE_LEN;
}

static void search(cc_miner *miner, const job *mine, unsigned worker)
{
    char nonce[CC_MINER_NONCE_LEN + 1];
    uint8_t seed[8];
    cc_random_bytes(seed, sizeof seed);
    for (int i = 0; i < 8; i++)
        nonce[i] = alphabet[seed[i] % ALPHABET_LEN];
    nonce[CC_MINER_NONCE_LEN] = '\0';
    cc_sha256_ctx midstate;
    cc_sha256_init(&midstate);
    cc_sha256_update(&midstate, mine->prefix, mine->prefix_len);
    for (uint64_t counter = 0;; counter++) {
        if (counter % CHECK_EVERY == 0) {
            atomic_fetch_add(&miner->attempts, counter ? CHECK_EVERY : 0);
            if (atomic_load(&miner->active_id) != mine->id)
                return;
        }
        size_t len = nonce_text(mine, counter, worker, miner->n_threads, nonce);
        cc_sha256_ctx ctx = midstate;
        cc_sha256_update(&ctx, nonce, len);
        cc_sha256_update(&ctx, mine->suffix, mine->suffix_len);
        uint8_t digest[CC_SHA256_LEN];
        cc_sha256_final(&ctx, digest);
        if (digest_meets(digest, mine->zero_digits)) {
            report_win(miner, mine->id, nonce);
            return;
        }
    }
}

static void *worker(void *arg)
{
    cc_miner *miner = arg;
    unsigned worker = atomic_fetch_add(&miner->next_worker, 1);
    /* Mining runs at the lowest priority (nice 19, this thread only): the
     * event loop and the signature checks of the same node go first (a
     * nice-19 thread weighs 15 against their 1024, about 1.5 % of the CPU
     * they could use), so a node that mines still answers and accepts at
     * full speed. Not SCHED_IDLE: an idle-class thread gets nothing at all
     * while other programs keep every core busy, and a node on a loaded
     * machine would never mine. Where it is refused, mining runs at the
     * node's own priority. --miner-nice lowers it for programs that run
     * one thread at a time (valgrind): there a starved miner holding the
     * turn would leave the loop waiting. */
    setpriority(PRIO_PROCESS, (id_t)gettid(), miner->nice);
    job mine;
    while (wait_for_job(miner, &mine)) {
        search(miner, &mine, worker);
        free(mine.prefix);
        free(mine.suffix);
        /* Wait for a different job than the one just finished. */
        pthread_mutex_lock(&miner->lock);
        while (!miner->stopping && miner->current.id == mine.id)
            pthread_cond_wait(&miner->wake, &miner->lock);
        pthread_mutex_unlock(&miner->lock);
    }
    return NULL;
}

static void on_found(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    cc_miner *miner = arg;
    pthread_mutex_lock(&miner->lock);
    uint64_t id = miner->won_job;
    char nonce[CC_MINER_NONCE_LEN + 1];
    memcpy(nonce, miner->won_nonce, sizeof nonce);
    miner->won_job = 0;
    pthread_mutex_unlock(&miner->lock);
    if (id)
        miner->found(miner->ctx, id, nonce);
}

cc_miner *cc_miner_new(struct event_base *base, unsigned threads, int nice, cc_miner_found found,
                       void *ctx)
{
    cc_miner *miner = cc_calloc(1, sizeof *miner);
    miner->base = base;
    miner->found = found;
    miner->ctx = ctx;
    miner->nice = nice;
    miner->found_event = event_new(base, -1, 0, on_found, miner);
    pthread_mutex_init(&miner->lock, NULL);
    pthread_cond_init(&miner->wake, NULL);
    if (threads == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cores > 0 ? (unsigned)cores : 1;
    }
    miner->n_threads = threads;
    miner->threads = cc_calloc(threads, sizeof *miner->threads);
    for (unsigned i = 0; i < threads; i++)
        pthread_create(&miner->threads[i], NULL, worker, miner);
    return miner;
}

static void drop_job_locked(cc_miner *miner)
{
    free(miner->current.prefix);
    free(miner->current.suffix);
    memset(&miner->current, 0, sizeof miner->current);
    atomic_store(&miner->active_id, 0);
    miner->won_job = 0;
}

void cc_miner_free(cc_miner *miner)
{
    if (!miner)
        return;
    pthread_mutex_lock(&miner->lock);
    miner->stopping = true;
    drop_job_locked(miner);
    pthread_cond_broadcast(&miner->wake);
    pthread_mutex_unlock(&miner->lock);
    for (unsigned i = 0; i < miner->n_threads; i++)
        pthread_join(miner->threads[i], NULL);
    free(miner->threads);
    event_free(miner->found_event);
    pthread_mutex_destroy(&miner->lock);
    pthread_cond_destroy(&miner->wake);
    free(miner);
}

void cc_miner_start(cc_miner *miner, uint64_t job_id, const char *prefix, size_t prefix_len,
                    const char *suffix, size_t suffix_len, unsigned zero_digits,
                    cc_nonce_style style)
{
    pthread_mutex_lock(&miner->lock);
    drop_job_locked(miner);
    miner->current = (job){.id = job_id,
                           .prefix = cc_strndup(prefix, prefix_len),
                           .suffix = cc_strndup(suffix, suffix_len),
                           .prefix_len = prefix_len,
                           .suffix_len = suffix_len,
                           .zero_digits = zero_digits,
                           .style = style};
    atomic_store(&miner->active_id, job_id);
    pthread_cond_broadcast(&miner->wake);
    pthread_mutex_unlock(&miner->lock);
}

void cc_miner_cancel(cc_miner *miner)
{
    pthread_mutex_lock(&miner->lock);
    drop_job_locked(miner);
    pthread_cond_broadcast(&miner->wake);
    pthread_mutex_unlock(&miner->lock);
}

uint64_t cc_miner_job(const cc_miner *miner) { return atomic_load(&miner->active_id); }

uint64_t cc_miner_attempts(const cc_miner *miner) { return atomic_load(&miner->attempts); }

#include "chain/checkpointer.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>

#include "util/mem.h"

struct cc_checkpointer {
    sqlite3 *db;
    int threshold;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool wanted;   /* guarded by lock */
    bool stopping; /* guarded by lock */
};

static void *checkpointer_main(void *arg)
{
    cc_checkpointer *cp = arg;
    pthread_mutex_lock(&cp->lock);
    for (;;) {
        while (!cp->wanted && !cp->stopping)
            pthread_cond_wait(&cp->wake, &cp->lock);
        if (cp->stopping)
            break;
        cp->wanted = false;
        pthread_mutex_unlock(&cp->lock);
        sqlite3_wal_checkpoint_v2(cp->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&cp->lock);
    }
    pthread_mutex_unlock(&cp->lock);
    return NULL;
}

cc_checkpointer *cc_checkpointer_start(const char *path, int threshold_pages)
{
    cc_checkpointer *cp = cc_calloc(1, sizeof *cp);
    cp->threshold = threshold_pages;
    if (sqlite3_open_v2(path, &cp->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        sqlite3_close(cp->db);
        free(cp);
        return NULL;
    }
    sqlite3_busy_timeout(cp->db, 5000);
    /* A connection learns it is in WAL mode only when it first reads the
     * database; until then its checkpoints do nothing. */
    sqlite3_exec(cp->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
    pthread_mutex_init(&cp->lock, NULL);
    pthread_cond_init(&cp->wake, NULL);
    if (pthread_create(&cp->thread, NULL, checkpointer_main, cp) != 0)
        abort(); /* as an allocation failure: the machine is exhausted */
    return cp;
}

void cc_checkpointer_note(cc_checkpointer *cp, int wal_pages)
{
    if (wal_pages < cp->threshold)
        return;
    pthread_mutex_lock(&cp->lock);
    cp->wanted = true;
    pthread_cond_signal(&cp->wake);
    pthread_mutex_unlock(&cp->lock);
}

void cc_checkpointer_stop(cc_checkpointer *cp)
{
    if (!cp)
        return;
    pthread_mutex_lock(&cp->lock);
    cp->stopping = true;
    pthread_cond_signal(&cp->wake);
    pthread_mutex_unlock(&cp->lock);
    pthread_join(cp->thread, NULL);
    pthread_cond_destroy(&cp->wake);
    pthread_mutex_destroy(&cp->lock);
    sqlite3_close(cp->db);
    free(cp);
}

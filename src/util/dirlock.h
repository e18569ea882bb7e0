/* An exclusive lock on a data directory, held for the life of the process
 * that owns the directory (a node, a devnet), so that a second program
 * started on the same directory stops at once instead of sharing the
 * wallet and the database with the first.
 *
 * The lock is flock(2) on DIR/.lock, which also holds the owner's pid for
 * the message a second program prints. The kernel releases it when the
 * process ends, however it ends (kill -9 included), so a stale lock file
 * never blocks a restart.
 * Errors: cc_err; CC_ERR_UNAVAILABLE when another process holds the lock,
 * CC_ERR_INTERNAL when the lock file cannot be opened.
 * Thread: plain calls; one owner per cc_dir_lock. */
#ifndef CC_UTIL_DIRLOCK_H
#define CC_UTIL_DIRLOCK_H

#include <stdbool.h>

#include "util/err.h"

typedef struct cc_dir_lock {
    int fd; /* -1 when not held */
} cc_dir_lock;

#define CC_DIR_LOCK_INIT {.fd = -1}

/* Takes the lock on dir (which must exist) without waiting. On failure
 * *lock stays unheld and err names the directory and, when known, the pid
 * of the process that holds it. */
bool cc_dir_lock_take(cc_dir_lock *lock, const char *dir, cc_err *err);

/* Releases the lock (no-op when not held). The lock file stays: removing
 * it would race with a program taking it at that moment. */
void cc_dir_lock_release(cc_dir_lock *lock);

#endif

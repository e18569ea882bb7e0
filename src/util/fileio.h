/* Whole-file reads and crash-safe whole-file writes.
 *
 * Writes go to a temporary file in the same directory, are fsynced, then
 * renamed over the target, so a reader (or a restart after kill -9) sees
 * either the old contents or the new, never a truncated file.
 * Errors are reported as cc_err with CC_ERR_INTERNAL and the errno text.
 * Thread-safe as long as two threads do not write the same path. */
#ifndef CC_UTIL_FILEIO_H
#define CC_UTIL_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"

/* Reads the file into out (replacing its contents). Fails with
 * CC_ERR_NOT_FOUND when it does not exist, CC_ERR_TOO_LARGE beyond max_len. */
bool cc_read_file(const char *path, size_t max_len, cc_buf *out, cc_err *err);

/* Atomically replaces path with data, created with the given mode: one
 * cc_atomic_file (util/atomic_file.h) opened, written and committed. */
bool cc_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                          cc_err *err);

/* Creates the directory and its parents (mode 0700 for new ones). */
bool cc_mkdir_p(const char *path, cc_err *err);

/* For a file or directory that holds secrets (a wallet, an API token, the
 * data directory holding them): when it grants anything to group or others,
 * warns on log and takes those rights away, keeping the owner's. Fails
 * (CC_ERR_INTERNAL) when it cannot be examined or changed: a secret that
 * stays readable by others must not be used. */
bool cc_restrict_to_owner(const char *path, const cc_log *log, cc_err *err);

/* Raises this process's soft open-file limit to the hard one: every
 * connection holds a descriptor, and the usual soft limit (1024) is below
 * what a server is configured for. A failure is warned about on log; the
 * process goes on with what it has. */
void cc_raise_fd_limit(const cc_log *log);

#endif

/* A file written piece by piece that appears all at once: the pieces go to
 * a temporary file beside the target (same directory, so the rename stays
 * on one file system), which cc_atomic_file_commit fsyncs and renames over
 * the target. A reader sees the old file or the complete new one, never a
 * part; an abandoned or failed write leaves the target untouched and no
 * temporary file behind. For streaming something too large to hold in
 * memory (cheese-cli export); util/fileio.h writes a buffer at once.
 *
 * Errors: cc_err with CC_ERR_INTERNAL and the errno text, naming the path.
 * Not thread-safe: one writer per cc_atomic_file. */
#ifndef CC_UTIL_ATOMIC_FILE_H
#define CC_UTIL_ATOMIC_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/err.h"

typedef struct cc_atomic_file {
    char *path; /* the target */
    char *tmp;  /* the temporary file being written */
    int fd;
    size_t written;
} cc_atomic_file;

/* Creates the temporary file (mode & ~umask) for path. */
bool cc_atomic_file_open(cc_atomic_file *f, const char *path, mode_t mode, cc_err *err);
bool cc_atomic_file_write(cc_atomic_file *f, const void *data, size_t len, cc_err *err);
/* fsyncs, renames over the target, fsyncs the directory; frees f. On
 * failure the temporary file is removed and f freed as well. */
bool cc_atomic_file_commit(cc_atomic_file *f, cc_err *err);
/* Removes the temporary file and frees f; harmless on a freed or zeroed f. */
void cc_atomic_file_abort(cc_atomic_file *f);

/* Removes the temporary files of path left by writers that died before
 * their commit (a kill -9 mid-write): those whose process is gone. A live
 * writer's file is left alone. Best effort: errors are ignored. */
void cc_atomic_file_sweep(const char *path);

/* fsyncs the directory holding path, so that a rename or link made there
 * survives a crash. Best effort: errors are ignored. */
void cc_fsync_dir_of(const char *path);

#endif

/* Copies the write-ahead log into the database file on a thread of its
 * own. SQLite's automatic checkpoint runs inside the commit that crosses
 * its threshold, on the committing thread: reading the log's pages back,
 * writing them to the database and syncing it, which held the event loop
 * for a large part of every catch-up (measured: about a tenth of the
 * loop's time while syncing). Here the owner's commits only note the log's
 * size, and a PASSIVE checkpoint on a second connection does the copying
 * without ever blocking the writer; WAL makes the two connections safe
 * together, and a crash at any point leaves SQLite's usual recovery.
 *
 * Thread: start, note and stop on the owner's thread; the copying on the
 * checkpointer's. Errors: a failed checkpoint is retried at the next
 * note; the log only grows meanwhile. */
#ifndef CC_CHAIN_CHECKPOINTER_H
#define CC_CHAIN_CHECKPOINTER_H

#include <stdbool.h>

typedef struct cc_checkpointer cc_checkpointer;

/* Starts the thread for the database at path; NULL when its connection
 * cannot be opened (the caller then keeps SQLite's own checkpoints). */
cc_checkpointer *cc_checkpointer_start(const char *path, int threshold_pages);
/* A commit left wal_pages in the log: a checkpoint starts past the threshold. */
void cc_checkpointer_note(cc_checkpointer *cp, int wal_pages);
/* Finishes the checkpoint under way and joins; harmless on NULL. */
void cc_checkpointer_stop(cc_checkpointer *cp);

#endif

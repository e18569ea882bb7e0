/* The whole chain as GET /getblocks answers it ({"chain": [[b0], [b1,
 * b1'], ...]}, the same bytes as cc_chain_write_all), read piece by piece
 * so that serving a chain of any length holds only one piece in memory.
 *
 * The reader works on a snapshot: its own read-only connection to the
 * database holds one read transaction (WAL lets the node keep writing
 * meanwhile), so the length announced first is exactly the bytes that
 * follow, whatever the node stores in between.
 *
 * Errors: cc_err, CC_ERR_INTERNAL for database failures.
 * Thread: the chain's thread (it only borrows the chain to open). */
#ifndef CC_CHAIN_CHAIN_READER_H
#define CC_CHAIN_CHAIN_READER_H

#include <stdbool.h>
#include <stddef.h>

#include "chain/chain.h"
#include "util/buf.h"
#include "util/err.h"

typedef struct cc_chain_reader cc_chain_reader;

/* The length of that answer now, read through the chain's own connection
 * (cheap: no block text is loaded), to choose between building a short
 * answer at once and streaming a long one. */
bool cc_chain_whole_length(cc_chain *chain, size_t *length, cc_err *err);

cc_chain_reader *cc_chain_reader_all(cc_chain *chain, cc_err *err);
void cc_chain_reader_free(cc_chain_reader *reader);

/* Bytes of the whole answer. */
size_t cc_chain_reader_length(const cc_chain_reader *reader);

/* Appends the next piece (about max_bytes, at least one block) to out;
 * sets *done after the last. */
bool cc_chain_reader_next(cc_chain_reader *reader, size_t max_bytes, cc_buf *out, bool *done,
                          cc_err *err);

#endif

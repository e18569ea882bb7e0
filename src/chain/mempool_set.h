/* The mempool's payments in memory: arrival order, look-up by txid and by
 * signed message, and the sum each sender has waiting. The store keeps a
 * copy of every payment (the `waiting` table) so that a restart loses none;
 * this set is what the node consults, so that taking a payment costs no
 * index writes and no queries.
 *
 * Changes follow the store's transactions: cc_mempool_set_begin marks a
 * point (a transaction or a savepoint of the database), _release keeps what
 * was changed since (folded into the enclosing mark, or for good when it was
 * the outermost), _rollback undoes it. A payment removed inside an open mark
 * is kept until the outermost mark is released, so undoing puts back the
 * very same entry.
 *
 * Ownership: the set owns its entries and their copies of the payments;
 * pointers to entries stay valid until the entry is removed and the
 * outermost mark is released (or, outside any mark, until removed).
 * Thread: not thread-safe; the chain's owner thread uses it. */
#ifndef CC_CHAIN_MEMPOOL_SET_H
#define CC_CHAIN_MEMPOOL_SET_H

#include <gmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus/block.h"

typedef struct cc_mempool_entry {
    cc_tx tx;
    mpq_t amount;
    int64_t seq; /* arrival order; restored payments get seqs below the first */
    struct cc_mempool_entry *prev, *next;
} cc_mempool_entry;

typedef struct cc_mempool_set cc_mempool_set;

/* Never NULL (aborts when out of memory). */
cc_mempool_set *cc_mempool_set_new(void);
void cc_mempool_set_free(cc_mempool_set *set);

/* A deep copy of the entries, without marks: a frozen view for readers. */
cc_mempool_set *cc_mempool_set_clone(const cc_mempool_set *set);

size_t cc_mempool_set_count(const cc_mempool_set *set);
/* The first in arrival order (NULL when empty); entry->next walks on. */
const cc_mempool_entry *cc_mempool_set_first(const cc_mempool_set *set);
/* The smallest and largest seq (0 when empty). */
int64_t cc_mempool_set_min_seq(const cc_mempool_set *set);
int64_t cc_mempool_set_max_seq(const cc_mempool_set *set);

cc_mempool_entry *cc_mempool_set_by_txid(const cc_mempool_set *set, const char *txid);
cc_mempool_entry *cc_mempool_set_by_msgid(const cc_mempool_set *set, const char *msgid);
/* True when tx waits, by txid or by signed message. */
bool cc_mempool_set_has(const cc_mempool_set *set, const cc_tx *tx);

/* out = the sum of key's waiting payments (0 when none). */
void cc_mempool_set_pending(const cc_mempool_set *set, const char *key, mpq_t out);

/* Adds a copy of tx at position seq of the arrival order (seq not in use,
 * tx not waiting: the caller checks). Returns the entry. */
cc_mempool_entry *cc_mempool_set_add(cc_mempool_set *set, const cc_tx *tx, int64_t seq);
void cc_mempool_set_remove(cc_mempool_set *set, cc_mempool_entry *entry);

void cc_mempool_set_begin(cc_mempool_set *set);
void cc_mempool_set_release(cc_mempool_set *set);
void cc_mempool_set_rollback(cc_mempool_set *set);
/* Marks open (0: every change so far is for good). */
size_t cc_mempool_set_depth(const cc_mempool_set *set);

#endif

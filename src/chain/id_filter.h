/* A Bloom filter of the payments the store holds (txids and signed-message
 * ids, on the best chain or waiting), so that the question asked of every
 * new payment, "is it known?", is answered "no" without a query in the
 * common case.
 *
 * Only ever a superset: ids are added when written and never removed (a
 * payment dropped, rolled back or disconnected stays "maybe"), so "no" is
 * always right and "maybe" sends the question to the store. Past its
 * capacity the filter answers "maybe" more often than it should; the owner
 * then builds a larger one from the store (cc_id_filter_full).
 *
 * Ids are 64 hex digits of a SHA-256; anything else is always "maybe".
 *
 * Thread: not thread-safe; the chain's owner thread uses it. */
#ifndef CC_CHAIN_ID_FILTER_H
#define CC_CHAIN_ID_FILTER_H

#include <stdbool.h>
#include <stddef.h>

typedef struct cc_id_filter cc_id_filter;

/* Room for capacity ids at about one false "maybe" in a thousand. Never
 * NULL (aborts when out of memory). */
cc_id_filter *cc_id_filter_new(size_t capacity);
void cc_id_filter_free(cc_id_filter *filter);

void cc_id_filter_add(cc_id_filter *filter, const char *id);
/* False only when id was never added. */
bool cc_id_filter_may_have(const cc_id_filter *filter, const char *id);
/* True once more ids were added than the filter has room for. */
bool cc_id_filter_full(const cc_id_filter *filter);
size_t cc_id_filter_capacity(const cc_id_filter *filter);

#endif

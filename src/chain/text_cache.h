/* The wire text of recently served valid blocks, so that the blocks peers
 * ask for most (the new tip, while it spreads) are answered from memory
 * rather than from the store.
 *
 * Direct-mapped: a block's slot is picked by its hash, and a new entry
 * replaces whatever held the slot. A block is only ever entered once it is
 * valid on disk, and a valid block's text never changes, so an entry never
 * goes stale; a forgotten one only costs one read of the store. Bounded by
 * a byte budget: a text that would take the total over it is not kept.
 *
 * Thread: not thread-safe; the chain's owner thread uses it. */
#ifndef CC_CHAIN_TEXT_CACHE_H
#define CC_CHAIN_TEXT_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

typedef struct cc_text_cache cc_text_cache;

/* n_slots: rounded up to a power of two; max_bytes: the budget of all the
 * texts held together. Never NULL (aborts when out of memory). */
cc_text_cache *cc_text_cache_new(size_t n_slots, size_t max_bytes);
void cc_text_cache_free(cc_text_cache *cache);

/* hash: 64 hex digits (others are neither kept nor found). Copies text. */
void cc_text_cache_put(cc_text_cache *cache, const char *hash, const char *text, size_t len);
/* Appends the text of hash to out; false (out untouched) when not held. */
bool cc_text_cache_get(const cc_text_cache *cache, const char *hash, cc_buf *out);

#endif

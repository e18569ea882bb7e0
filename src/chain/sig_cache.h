/* The transactions whose signatures are known to be valid, so that a
 * signature is checked once: when a payment reaches the mempool and again
 * in the block that mines it, or when the worker pool checked a whole page
 * of blocks before they are connected one by one.
 *
 * A transaction is named by its txid, the SHA-256 of its whole canonical
 * text, which holds the sender, the signed message and the signature: a
 * different key, message or signature is a different txid, so a hit can
 * never vouch for anything that was not verified.
 *
 * Bounded: two generations of `capacity` entries each; when the current
 * one is full it becomes the old one and the oldest generation is dropped.
 * A forgotten entry only costs one more check.
 *
 * Thread: not thread-safe; the chain's owner thread uses it. */
#ifndef CC_CHAIN_SIG_CACHE_H
#define CC_CHAIN_SIG_CACHE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct cc_sig_cache cc_sig_cache;

cc_sig_cache *cc_sig_cache_new(size_t capacity);
void cc_sig_cache_free(cc_sig_cache *cache);

/* txid: 64 hex digits. Malformed ids are neither added nor found. */
void cc_sig_cache_add(cc_sig_cache *cache, const char *txid);
bool cc_sig_cache_has(const cc_sig_cache *cache, const char *txid);

#endif

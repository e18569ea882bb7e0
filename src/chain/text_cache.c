#include "chain/text_cache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/block.h"
#include "util/hex.h"
#include "util/mem.h"

typedef struct slot {
    char hash[CC_HASH_HEX_LEN + 1]; /* "" when empty */
    char *text;
    size_t len;
} slot;

struct cc_text_cache {
    slot *slots;
    size_t mask;
    size_t bytes, max_bytes;
};

cc_text_cache *cc_text_cache_new(size_t n_slots, size_t max_bytes)
{
    size_t n = 1;
    while (n < n_slots)
        n <<= 1;
    cc_text_cache *cache = cc_calloc(1, sizeof *cache);
    cache->slots = cc_calloc(n, sizeof *cache->slots);
    cache->mask = n - 1;
    cache->max_bytes = max_bytes;
    return cache;
}

void cc_text_cache_free(cc_text_cache *cache)
{
    if (!cache)
        return;
    for (size_t i = 0; i <= cache->mask; i++)
        free(cache->slots[i].text);
    free(cache->slots);
    free(cache);
}

/* The slot of a well-formed hash; NULL otherwise. The digits are a SHA-256,
 * so its last eight are as good an index as any. */
static slot *slot_of(const cc_text_cache *cache, const char *hash)
{
    if (!cc_is_lower_hex(hash, CC_HASH_HEX_LEN))
        return NULL;
    uint32_t index = 0;
    for (size_t i = CC_HASH_HEX_LEN - 8; i < CC_HASH_HEX_LEN; i++)
        index = index << 4 | (uint32_t)cc_hex_digit(hash[i]);
    return &cache->slots[index & cache->mask];
}

void cc_text_cache_put(cc_text_cache *cache, const char *hash, const char *text, size_t len)
{
    slot *s = slot_of(cache, hash);
    if (!s)
        return;
    size_t bytes = cache->bytes - s->len;
    if (len > cache->max_bytes - bytes)
        return; /* keeps what the slot held: as good a guess as the new one */
    char *copy = cc_malloc(len + 1);
    memcpy(copy, text, len);
    copy[len] = '\0';
    free(s->text);
    memcpy(s->hash, hash, sizeof s->hash);
    s->text = copy;
    s->len = len;
    cache->bytes = bytes + len;
}

bool cc_text_cache_get(const cc_text_cache *cache, const char *hash, cc_buf *out)
{
    const slot *s = slot_of(cache, hash);
    if (!s || strcmp(s->hash, hash) != 0)
        return false;
    cc_buf_append(out, s->text, s->len);
    return true;
}

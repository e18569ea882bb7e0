#include "chain/sig_cache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/hex.h"
#include "util/mem.h"

#define ID_LEN 32

/* Open addressing, linear probing, never deleted from: a generation is
 * dropped whole. Slots are twice the capacity, so probes stay short. */
typedef struct generation {
    uint8_t (*slots)[ID_LEN];
    bool *used;
    size_t n_slots; /* a power of two */
    size_t count;
} generation;

struct cc_sig_cache {
    generation current, old;
    size_t capacity;
};

static void generation_init(generation *g, size_t n_slots)
{
    g->slots = cc_calloc(n_slots, sizeof *g->slots);
    g->used = cc_calloc(n_slots, sizeof *g->used);
    g->n_slots = n_slots;
    g->count = 0;
}

static void generation_free(generation *g)
{
    free(g->slots);
    free(g->used);
}

/* The id's digits are a SHA-256: any 8 of its bytes are a uniform hash. */
static size_t first_slot(const generation *g, const uint8_t id[ID_LEN])
{
    uint64_t h;
    memcpy(&h, id, sizeof h);
    return (size_t)h & (g->n_slots - 1);
}

/* The slot holding id, or the empty slot where it would go. */
static size_t probe(const generation *g, const uint8_t id[ID_LEN])
{
    size_t i = first_slot(g, id);
    while (g->used[i] && memcmp(g->slots[i], id, ID_LEN) != 0)
        i = (i + 1) & (g->n_slots - 1);
    return i;
}

static bool generation_has(const generation *g, const uint8_t id[ID_LEN])
{
    return g->used[probe(g, id)];
}

static bool id_of(const char *txid, uint8_t id[ID_LEN])
{
    return txid && strlen(txid) == 2 * ID_LEN && cc_hex_decode(txid, ID_LEN, id);
}

cc_sig_cache *cc_sig_cache_new(size_t capacity)
{
    cc_sig_cache *cache = cc_calloc(1, sizeof *cache);
    size_t n_slots = 16;
    while (n_slots < 2 * capacity)
        n_slots *= 2;
    cache->capacity = capacity ? capacity : 1;
    generation_init(&cache->current, n_slots);
    generation_init(&cache->old, n_slots);
    return cache;
}

void cc_sig_cache_free(cc_sig_cache *cache)
{
    if (!cache)
        return;
    generation_free(&cache->current);
    generation_free(&cache->old);
    free(cache);
}

void cc_sig_cache_add(cc_sig_cache *cache, const char *txid)
{
    uint8_t id[ID_LEN];
    if (!id_of(txid, id))
        return;
    generation *g = &cache->current;
    size_t slot = probe(g, id);
    if (g->used[slot])
        return;
    if (g->count >= cache->capacity) {
        generation dropped = cache->old;
        cache->old = cache->current;
        memset(dropped.used, 0, dropped.n_slots * sizeof *dropped.used);
        dropped.count = 0;
        cache->current = dropped;
        slot = probe(g, id);
    }
    memcpy(g->slots[slot], id, ID_LEN);
    g->used[slot] = true;
    g->count++;
}

bool cc_sig_cache_has(const cc_sig_cache *cache, const char *txid)
{
    uint8_t id[ID_LEN];
    return id_of(txid, id) && (generation_has(&cache->current, id) || generation_has(&cache->old, id));
}

#include "chain/id_filter.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/block.h"
#include "util/hex.h"
#include "util/mem.h"

/* 16 bits per id and 5 probes: about 0.1 % false "maybe" when full. */
#define BITS_PER_ID 16
#define PROBES 5
/* Each probe reads 8 hex digits (32 bits) of the id, a different 8 each. */
#define PROBE_DIGITS 8

struct cc_id_filter {
    uint64_t *words;
    size_t mask; /* bits - 1; bits a power of two */
    size_t count, capacity;
};

cc_id_filter *cc_id_filter_new(size_t capacity)
{
    size_t bits = 64;
    while (bits < capacity * BITS_PER_ID)
        bits <<= 1;
    cc_id_filter *filter = cc_calloc(1, sizeof *filter);
    filter->words = cc_calloc(bits / 64, sizeof *filter->words);
    filter->mask = bits - 1;
    filter->capacity = capacity;
    return filter;
}

void cc_id_filter_free(cc_id_filter *filter)
{
    if (!filter)
        return;
    free(filter->words);
    free(filter);
}

/* The bit positions of id; false when id is not 64 lower-case hex digits.
 * The digits are a SHA-256: any 32 of its bits are as good as a hash. */
static bool probes(const cc_id_filter *filter, const char *id, size_t out[PROBES])
{
    if (!cc_is_lower_hex(id, CC_HASH_HEX_LEN))
        return false;
    for (size_t p = 0; p < PROBES; p++) {
        uint32_t v = 0;
        for (size_t i = 0; i < PROBE_DIGITS; i++)
            v = v << 4 | (uint32_t)cc_hex_digit(id[p * PROBE_DIGITS + i]);
        out[p] = v & filter->mask;
    }
    return true;
}

void cc_id_filter_add(cc_id_filter *filter, const char *id)
{
    size_t bit[PROBES];
    if (!probes(filter, id, bit))
        return;
    for (size_t p = 0; p < PROBES; p++)
        filter->words[bit[p] / 64] |= UINT64_C(1) << (bit[p] % 64);
    filter->count++;
}

bool cc_id_filter_may_have(const cc_id_filter *filter, const char *id)
{
    size_t bit[PROBES];
    if (!probes(filter, id, bit))
        return true;
    for (size_t p = 0; p < PROBES; p++)
        if (!(filter->words[bit[p] / 64] & UINT64_C(1) << (bit[p] % 64)))
            return false;
    return true;
}

bool cc_id_filter_full(const cc_id_filter *filter) { return filter->count > filter->capacity; }

size_t cc_id_filter_capacity(const cc_id_filter *filter) { return filter->capacity; }

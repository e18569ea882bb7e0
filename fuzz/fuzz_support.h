/* What the fuzz targets share: a failed check aborts with the target's
 * name (so libFuzzer keeps the input), numbers are compared bit for bit, a
 * block decoded again from its own canonical text must come out identical,
 * and fields are drawn from the input by the targets that build values.
 * Header-only: each target is one program. */
#ifndef CC_FUZZ_SUPPORT_H
#define CC_FUZZ_SUPPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/block.h"

static inline void fuzz_check(const char *target, bool ok, const char *what)
{
    if (ok)
        return;
    fprintf(stderr, "%s: %s\n", target, what);
    abort();
}

static inline bool fuzz_same_number(const cc_number *a, const cc_number *b)
{
    if (a->is_int != b->is_int)
        return false;
    return a->is_int ? a->i == b->i : memcmp(&a->d, &b->d, sizeof a->d) == 0;
}

static inline void fuzz_same_block(const char *target, const cc_block *a, const cc_block *b)
{
    fuzz_check(target, a->text_len == b->text_len && memcmp(a->text, b->text, a->text_len) == 0,
               "canonical text changes when decoded again");
    fuzz_check(target, strcmp(a->hash, b->hash) == 0, "hash changes when decoded again");
    fuzz_check(target, strcmp(a->prev, b->prev) == 0 && a->height == b->height,
               "header changes");
    fuzz_check(target, a->n_txs == b->n_txs, "transaction count changes");
    for (size_t i = 0; i < a->n_txs; i++)
        fuzz_check(target, strcmp(a->txs[i].txid, b->txs[i].txid) == 0, "a txid changes");
}

/* Fields drawn from the input, for the targets that build values rather
 * than decode bytes: reads past the end give zeros, so every input is
 * usable and a short one simply means small fields. */
typedef struct fuzz_input {
    const uint8_t *p;
    size_t n;
} fuzz_input;

static inline uint8_t fuzz_u8(fuzz_input *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

static inline uint64_t fuzz_u64(fuzz_input *in)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | fuzz_u8(in);
    return v;
}

/* Up to max characters (a length byte, then one byte per character)
 * drawn from alphabet; out holds max + 1 bytes. */
static inline size_t fuzz_text(fuzz_input *in, const char *alphabet, size_t max, char *out)
{
    size_t len = fuzz_u8(in) % (max + 1), n = strlen(alphabet);
    for (size_t i = 0; i < len; i++)
        out[i] = alphabet[fuzz_u8(in) % n];
    out[len] = '\0';
    return len;
}

#endif

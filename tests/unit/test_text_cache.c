/* Unit tests for chain/text_cache: a text put is got back byte for byte,
 * appended to the caller's buffer; what is not held leaves the buffer
 * alone; malformed hashes are neither kept nor found; a hash that takes
 * another's slot replaces it without ever answering for it; and the byte
 * budget, counted across replacements, is never exceeded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "chain/text_cache.h"
#include "crypto/hash.h"
#include "util/buf.h"
#include "util/hex.h"

/* A block-hash-like key: the SHA-256 of "id <n>" in hex. */
static void id_of(unsigned n, char out[65])
{
    char text[32];
    snprintf(text, sizeof text, "id %u", n);
    uint8_t digest[CC_SHA256_LEN];
    cc_sha256(text, strlen(text), digest);
    cc_hex_encode(digest, sizeof digest, out);
}

/* A hash that differs from base but ends in the same 8 digits: the slot
 * is picked from those, so the two share a slot at any cache size. */
static void same_slot_as(const char base[65], unsigned n, char out[65])
{
    id_of(n, out);
    memcpy(out + 56, base + 56, 8);
    assert_string_not_equal(out, base);
}

/* Each test keeps its cache in *state, so that a failed assertion, which
 * leaves the test at once, does not leak it under ASan. */
static int free_cache(void **state)
{
    cc_text_cache_free(*state);
    return 0;
}

/* The text held for hash, which must be held (the buffer starts empty). */
static void assert_holds(const cc_text_cache *cache, const char *hash, const char *text,
                         size_t len)
{
    cc_buf out = CC_BUF_INIT;
    bool held = cc_text_cache_get(cache, hash, &out);
    bool same = held && out.len == len && memcmp(out.data, text, len) == 0;
    size_t got = out.len;
    cc_buf_free(&out);
    if (!held)
        fail_msg("%.16s... not held", hash);
    if (!same)
        fail_msg("%.16s... held with another text (%zu bytes, expected %zu)", hash, got, len);
}

/* hash is not held, and the buffer handed in is left exactly as it was. */
static void assert_not_held(const cc_text_cache *cache, const char *hash)
{
    cc_buf out = CC_BUF_INIT;
    cc_buf_puts(&out, "before");
    bool held = cc_text_cache_get(cache, hash, &out);
    bool untouched = out.len == 6 && strcmp(out.data, "before") == 0;
    cc_buf_free(&out);
    if (held)
        fail_msg("\"%s\" held", hash);
    if (!untouched)
        fail_msg("\"%s\" not held, but the buffer changed", hash);
}

static void test_put_then_get_byte_for_byte(void **state)
{
    cc_text_cache *cache = cc_text_cache_new(16, 1 << 20);
    *state = cache;
    char h1[65], h2[65];
    id_of(1, h1);
    id_of(2, h2);
    /* Block texts are handled by length: a NUL or a high byte inside one
     * must come back as it went in. */
    char text[] = "{\"block\": 1}\0tail\xff\x01";
    size_t len = sizeof text - 1;
    cc_text_cache_put(cache, h1, text, len);
    cc_text_cache_put(cache, h2, "second", 6);

    /* Appended after what the buffer held, not over it. */
    cc_buf out = CC_BUF_INIT;
    cc_buf_puts(&out, "prefix:");
    bool held = cc_text_cache_get(cache, h1, &out);
    bool appended = held && out.len == 7 + len && memcmp(out.data, "prefix:", 7) == 0 &&
                    memcmp(out.data + 7, text, len) == 0 &&
                    out.data[out.len] == '\0'; /* cc_buf's promise kept */
    cc_buf_free(&out);
    assert_true(held);
    assert_true(appended);

    /* The cache holds its own copy: the caller's text may change after. */
    memset(text, 'x', len);
    assert_holds(cache, h1, "{\"block\": 1}\0tail\xff\x01", len);
    assert_holds(cache, h2, "second", 6);
    /* Asked again, the same: a get takes nothing away. */
    assert_holds(cache, h2, "second", 6);
}

static void test_unknown_hash_not_found(void **state)
{
    cc_text_cache *cache = cc_text_cache_new(8, 1 << 20);
    *state = cache;
    char held[65], other[65];
    id_of(1, held);
    id_of(2, other);
    assert_not_held(cache, held); /* empty cache */
    cc_text_cache_put(cache, held, "text", 4);
    assert_not_held(cache, other);
    assert_holds(cache, held, "text", 4);
}

/* Malformed hashes, each built from good: none is kept, none is found,
 * and none takes the place of the well-formed entry in its slot. The bad
 * digit is put at the start, the middle and the end, since a slot is
 * picked from a part of the hash only. */
static void test_malformed_hashes_neither_kept_nor_found(void **state)
{
    cc_text_cache *cache = cc_text_cache_new(64, 1 << 20);
    *state = cache;
    char good[65];
    id_of(3, good);
    /* The upper-case forms only differ from good where it has a letter. */
    size_t letter_first = strcspn(good, "abcdef"), letter_last = 0;
    for (size_t i = 0; i < 64; i++)
        if (good[i] >= 'a')
            letter_last = i;
    assert_true(letter_first < 64 && letter_last > letter_first);

    enum { N_BAD = 10 };
    char bad[N_BAD][66];
    for (size_t i = 0; i < N_BAD; i++)
        memcpy(bad[i], good, 65);
    bad[0][63] = '\0';                  /* short */
    snprintf(bad[1], 66, "%s0", good);  /* long */
    bad[2][0] = 'g';                    /* not hex: first digit */
    bad[3][30] = 'z';                   /* in the middle */
    bad[4][63] = ' ';                   /* last digit */
    bad[5][letter_first] -= 'a' - 'A';  /* upper case: first letter */
    bad[6][letter_last] -= 'a' - 'A';   /* last letter */
    for (size_t i = 0; i < 64; i++)     /* all of it */
        if (bad[7][i] >= 'a')
            bad[7][i] -= 'a' - 'A';
    bad[8][0] = '\0'; /* empty */
    memset(bad[9], 'z', 64);

    for (size_t i = 0; i < N_BAD; i++) {
        char text[16];
        snprintf(text, sizeof text, "bad %zu", i);
        cc_text_cache_put(cache, bad[i], text, strlen(text));
        assert_not_held(cache, bad[i]);
        assert_not_held(cache, good); /* not taken for the hash it resembles */
    }
    /* Put after the well-formed one, they do not evict it either. */
    cc_text_cache_put(cache, good, "good", 4);
    for (size_t i = 0; i < N_BAD; i++) {
        cc_text_cache_put(cache, bad[i], "bad", 3);
        assert_not_held(cache, bad[i]);
        assert_holds(cache, good, "good", 4);
    }
}

/* Two hashes in one slot: the newer replaces the older, which is then not
 * found (rather than answered with the newer's text), and back again. */
static void test_same_slot_newer_replaces_older(void **state)
{
    cc_text_cache *cache = cc_text_cache_new(1024, 1 << 20);
    *state = cache;
    char older[65], newer[65], elsewhere[65];
    id_of(10, older);
    same_slot_as(older, 11, newer);
    id_of(12, elsewhere);
    cc_text_cache_put(cache, older, "older text", 10);
    cc_text_cache_put(cache, elsewhere, "elsewhere", 9);
    cc_text_cache_put(cache, newer, "newer", 5);
    assert_holds(cache, newer, "newer", 5);
    assert_not_held(cache, older);
    assert_holds(cache, elsewhere, "elsewhere", 9); /* other slots untouched */

    cc_text_cache_put(cache, older, "older again", 11);
    assert_holds(cache, older, "older again", 11);
    assert_not_held(cache, newer);

    /* The same hash put again: its new text replaces the old one. */
    cc_text_cache_put(cache, older, "third", 5);
    assert_holds(cache, older, "third", 5);
}

/* A cache of one slot (n_slots 0 is taken as 1): every hash shares it. */
static void test_one_slot(void **state)
{
    cc_text_cache *cache = cc_text_cache_new(0, 100);
    *state = cache;
    char a[65], b[65];
    id_of(20, a);
    id_of(21, b);
    cc_text_cache_put(cache, a, "a", 1);
    assert_holds(cache, a, "a", 1);
    cc_text_cache_put(cache, b, "b", 1);
    assert_holds(cache, b, "b", 1);
    assert_not_held(cache, a);
}

/* n_slots is rounded up, never down: a cache asked for 10 slots has 16,
 * and 16 hashes whose slot digits run 0 to 15 are all held at once. */
static void test_slots_rounded_up(void **state)
{
    cc_text_cache *cache = cc_text_cache_new(10, 1 << 20);
    *state = cache;
    char hashes[16][65];
    for (unsigned i = 0; i < 16; i++) {
        id_of(50 + i, hashes[i]);
        snprintf(hashes[i] + 56, 9, "%08x", i);
        cc_text_cache_put(cache, hashes[i], hashes[i], 64);
    }
    for (unsigned i = 0; i < 16; i++)
        assert_holds(cache, hashes[i], hashes[i], 64);
}

/* A text that would take the total over the budget is not kept, and the
 * slot keeps what it held; a text that fills the budget exactly is kept. */
static void test_text_over_budget_not_kept(void **state)
{
    enum { BUDGET = 100 };
    char big[BUDGET + 1];
    memset(big, 'b', sizeof big);
    cc_text_cache *cache = cc_text_cache_new(16, BUDGET);
    *state = cache;
    char held[65], rival[65];
    id_of(30, held);
    same_slot_as(held, 31, rival);

    cc_text_cache_put(cache, held, "small", 5);
    /* Over by one byte, whether it would replace the slot's own entry... */
    cc_text_cache_put(cache, held, big, BUDGET + 1);
    assert_holds(cache, held, "small", 5);
    /* ... or another hash's in the same slot. */
    cc_text_cache_put(cache, rival, big, BUDGET + 1);
    assert_not_held(cache, rival);
    assert_holds(cache, held, "small", 5);

    /* Exactly the budget fits, since it replaces "small". */
    cc_text_cache_put(cache, rival, big, BUDGET);
    assert_holds(cache, rival, big, BUDGET);
    assert_not_held(cache, held);
}

/* The total counts what a slot holds once: entries replaced (by the same
 * hash or another in the slot) give their bytes back, refused ones never
 * take any, and the budget still bounds the sum over all slots. */
static void test_budget_counts_replaced_entries(void **state)
{
    enum { BUDGET = 100 };
    char text[BUDGET];
    memset(text, 't', sizeof text);
    cc_text_cache *cache = cc_text_cache_new(16, BUDGET);
    *state = cache;
    char a[65], a2[65], b[65], c[65];
    id_of(40, a);
    id_of(41, a2);
    id_of(42, b);
    id_of(43, c);
    /* a and a2 share a slot; b and c have one each. */
    memcpy(a + 56, "00000003", 8);
    memcpy(a2 + 56, "00000003", 8);
    memcpy(b + 56, "00000001", 8);
    memcpy(c + 56, "00000002", 8);

    /* Fill the slot of a with 60 bytes, then replace it many times over,
     * by the other hash of the slot and by the same hash: if replaced
     * bytes were not given back, the total would pass 100 at once. */
    cc_text_cache_put(cache, a, text, 60);
    assert_holds(cache, a, text, 60);
    for (int i = 0; i < 10; i++) {
        cc_text_cache_put(cache, a2, text, 60);
        assert_holds(cache, a2, text, 60);
        cc_text_cache_put(cache, a, text, 60);
        assert_holds(cache, a, text, 60);
    }
    cc_text_cache_put(cache, a2, text, 60);
    cc_text_cache_put(cache, a2, text, 60);
    assert_holds(cache, a2, text, 60);
    /* A refused text takes nothing of the budget. */
    cc_text_cache_put(cache, b, text, 41);
    assert_not_held(cache, b);
    /* 60 held (in a2's hands), so 40 more fit exactly... */
    cc_text_cache_put(cache, b, text, 40);
    assert_holds(cache, b, text, 40);
    assert_holds(cache, a2, text, 60);
    /* ... and then not one byte more, in any slot. */
    cc_text_cache_put(cache, c, "c", 1);
    assert_not_held(cache, c);
    /* Shrinking one entry makes room for the rest. */
    cc_text_cache_put(cache, a2, text, 10);
    cc_text_cache_put(cache, c, text, 50);
    assert_holds(cache, c, text, 50);
    assert_holds(cache, b, text, 40);
    assert_holds(cache, a2, text, 10);
}

static void test_free_null(void **state)
{
    (void)state;
    cc_text_cache_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_put_then_get_byte_for_byte, free_cache),
        cmocka_unit_test_teardown(test_unknown_hash_not_found, free_cache),
        cmocka_unit_test_teardown(test_malformed_hashes_neither_kept_nor_found, free_cache),
        cmocka_unit_test_teardown(test_same_slot_newer_replaces_older, free_cache),
        cmocka_unit_test_teardown(test_one_slot, free_cache),
        cmocka_unit_test_teardown(test_slots_rounded_up, free_cache),
        cmocka_unit_test_teardown(test_text_over_budget_not_kept, free_cache),
        cmocka_unit_test_teardown(test_budget_counts_replaced_entries, free_cache),
        cmocka_unit_test(test_free_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

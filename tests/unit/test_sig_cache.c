/* Unit tests for chain/sig_cache: ids added are found, malformed ids are
 * neither added nor found, and the bound: an id is kept at least while
 * `capacity` newer ones are added, and forgotten once 2 x capacity newer
 * ones have been. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "chain/sig_cache.h"
#include "crypto/hash.h"
#include "util/hex.h"

/* A txid-like id: the SHA-256 of "id <n>" in hex, as txids are. */
static void id_of(unsigned n, char out[65])
{
    char text[32];
    snprintf(text, sizeof text, "id %u", n);
    uint8_t digest[CC_SHA256_LEN];
    cc_sha256(text, strlen(text), digest);
    cc_hex_encode(digest, sizeof digest, out);
}

static void test_added_ids_are_found(void **state)
{
    (void)state;
    cc_sig_cache *cache = cc_sig_cache_new(100);
    char ids[50][65];
    for (unsigned i = 0; i < 50; i++) {
        id_of(i, ids[i]);
        assert_false(cc_sig_cache_has(cache, ids[i]));
    }
    for (unsigned i = 0; i < 50; i += 2)
        cc_sig_cache_add(cache, ids[i]);
    for (unsigned i = 0; i < 50; i++)
        assert_true(cc_sig_cache_has(cache, ids[i]) == (i % 2 == 0));
    /* Adding again changes nothing. */
    cc_sig_cache_add(cache, ids[0]);
    assert_true(cc_sig_cache_has(cache, ids[0]));
    assert_false(cc_sig_cache_has(cache, ids[1]));
    cc_sig_cache_free(cache);
    cc_sig_cache_free(NULL);
}

/* Ids that share their first bytes (the slot) are still told apart. */
static void test_ids_sharing_a_prefix(void **state)
{
    (void)state;
    cc_sig_cache *cache = cc_sig_cache_new(64);
    char base[65];
    id_of(7, base);
    char ids[40][65];
    for (unsigned i = 0; i < 40; i++) {
        memcpy(ids[i], base, sizeof base);
        snprintf(ids[i] + 60, 5, "%04x", i);
    }
    for (unsigned i = 0; i < 40; i += 2)
        cc_sig_cache_add(cache, ids[i]);
    for (unsigned i = 0; i < 40; i++)
        assert_true(cc_sig_cache_has(cache, ids[i]) == (i % 2 == 0));
    cc_sig_cache_free(cache);
}

static void test_malformed_ids_neither_added_nor_found(void **state)
{
    (void)state;
    cc_sig_cache *cache = cc_sig_cache_new(16);
    char good[65];
    id_of(1, good);
    char short_id[64], long_id[66], not_hex[65], spaced[65];
    memcpy(short_id, good, 63);
    short_id[63] = '\0';
    snprintf(long_id, sizeof long_id, "%s0", good);
    memcpy(not_hex, good, sizeof good);
    not_hex[10] = 'g';
    memcpy(spaced, good, sizeof good);
    spaced[63] = ' ';
    const char *bad[] = {NULL, "", "00", short_id, long_id, not_hex, spaced,
                         "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cc_sig_cache_add(cache, bad[i]);
        assert_false(cc_sig_cache_has(cache, bad[i]));
    }
    /* None of them was taken for the id it resembles. */
    assert_false(cc_sig_cache_has(cache, good));
    /* A well-formed id is found, but not through a longer or shorter text. */
    cc_sig_cache_add(cache, good);
    assert_true(cc_sig_cache_has(cache, good));
    assert_false(cc_sig_cache_has(cache, long_id));
    assert_false(cc_sig_cache_has(cache, short_id));
    cc_sig_cache_free(cache);
}

/* After each of many adds: the id added k adds ago is found when k <=
 * capacity and gone when k >= 2 x capacity. */
static void check_bound(size_t capacity)
{
    cc_sig_cache *cache = cc_sig_cache_new(capacity);
    size_t n = 10 * capacity + 3;
    for (size_t i = 0; i < n; i++) {
        char id[65];
        id_of((unsigned)i, id);
        cc_sig_cache_add(cache, id);
        for (size_t j = 0; j <= i; j++) {
            size_t newer = i - j;
            id_of((unsigned)j, id);
            bool has = cc_sig_cache_has(cache, id);
            if (newer <= capacity && !has)
                fail_msg("capacity %zu: id %zu forgotten after only %zu newer ids", capacity, j,
                         newer);
            if (newer >= 2 * capacity && has)
                fail_msg("capacity %zu: id %zu still kept after %zu newer ids", capacity, j,
                         newer);
        }
    }
    cc_sig_cache_free(cache);
}

static void test_oldest_generation_forgotten(void **state)
{
    (void)state;
    check_bound(1);
    check_bound(5);
    check_bound(16);
    check_bound(33);
}

/* The first generation of a cache of capacity C: all kept through C newer
 * ids, all gone after 2 x C, while the C most recent are kept. */
static void test_first_generation_dropped_whole(void **state)
{
    (void)state;
    enum { C = 8 };
    cc_sig_cache *cache = cc_sig_cache_new(C);
    char id[65];
    for (unsigned i = 0; i < C; i++) {
        id_of(i, id);
        cc_sig_cache_add(cache, id);
    }
    for (unsigned i = C; i < 2 * C; i++) {
        id_of(i, id);
        cc_sig_cache_add(cache, id);
    }
    for (unsigned i = 0; i < 2 * C; i++) {
        id_of(i, id);
        assert_true(cc_sig_cache_has(cache, id));
    }
    id_of(2 * C, id);
    cc_sig_cache_add(cache, id);
    for (unsigned i = 0; i < C; i++) {
        id_of(i, id);
        assert_false(cc_sig_cache_has(cache, id));
    }
    for (unsigned i = C; i <= 2 * C; i++) {
        id_of(i, id);
        assert_true(cc_sig_cache_has(cache, id));
    }
    cc_sig_cache_free(cache);
}

/* Capacity 0 is taken as 1: the cache still remembers the last id. */
static void test_capacity_zero(void **state)
{
    (void)state;
    cc_sig_cache *cache = cc_sig_cache_new(0);
    char a[65], b[65], c[65];
    id_of(1, a);
    id_of(2, b);
    id_of(3, c);
    cc_sig_cache_add(cache, a);
    assert_true(cc_sig_cache_has(cache, a));
    cc_sig_cache_add(cache, b);
    assert_true(cc_sig_cache_has(cache, b));
    cc_sig_cache_add(cache, c);
    assert_true(cc_sig_cache_has(cache, c));
    assert_false(cc_sig_cache_has(cache, a));
    cc_sig_cache_free(cache);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_added_ids_are_found),
        cmocka_unit_test(test_ids_sharing_a_prefix),
        cmocka_unit_test(test_malformed_ids_neither_added_nor_found),
        cmocka_unit_test(test_oldest_generation_forgotten),
        cmocka_unit_test(test_first_generation_dropped_whole),
        cmocka_unit_test(test_capacity_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for chain/id_filter: every id added is "maybe" (the filter is
 * a superset, so the chain may trust a "no"); ids never added are mostly
 * "no" at full capacity; malformed ids are always "maybe" and adding them
 * changes nothing; the filter says it is full once it holds more than its
 * capacity. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "chain/id_filter.h"
#include "crypto/hash.h"
#include "util/hex.h"

/* Each test keeps its filter in *state, so that a failed assertion, which
 * leaves the test at once, does not leak it under ASan. */
static int free_filter(void **state)
{
    cc_id_filter_free(*state);
    return 0;
}

/* A txid-like id: the SHA-256 of "id <n>" in hex, as txids are. */
static void id_of(unsigned n, char out[65])
{
    char text[32];
    snprintf(text, sizeof text, "id %u", n);
    uint8_t digest[CC_SHA256_LEN];
    cc_sha256(text, strlen(text), digest);
    cc_hex_encode(digest, sizeof digest, out);
}

static void test_added_ids_are_maybe(void **state)
{
    enum { N = 2000 };
    cc_id_filter *filter = cc_id_filter_new(N);
    *state = filter;
    assert_int_equal(cc_id_filter_capacity(filter), N);
    char id[65];
    /* An empty filter says "no" to everything well-formed. */
    for (unsigned i = 0; i < N; i++) {
        id_of(i, id);
        assert_false(cc_id_filter_may_have(filter, id));
    }
    for (unsigned i = 0; i < N; i++) {
        id_of(i, id);
        cc_id_filter_add(filter, id);
        assert_true(cc_id_filter_may_have(filter, id));
    }
    /* Still all there once the rest were added: adding never clears. */
    for (unsigned i = 0; i < N; i++) {
        id_of(i, id);
        if (!cc_id_filter_may_have(filter, id))
            fail_msg("id %u was added but the filter says no", i);
    }
    cc_id_filter_free(NULL);
}

/* At capacity (10,000 ids in a filter of 10,000), fewer than 1 % of
 * 10,000 other ids are "maybe": the filter saves the store most queries.
 * The design aims at about 0.1 %. */
static void test_few_false_maybes_at_capacity(void **state)
{
    enum { N = 10000 };
    cc_id_filter *filter = cc_id_filter_new(N);
    *state = filter;
    char id[65];
    for (unsigned i = 0; i < N; i++) {
        id_of(i, id);
        cc_id_filter_add(filter, id);
    }
    assert_false(cc_id_filter_full(filter));
    unsigned maybe = 0;
    for (unsigned i = N; i < 2 * N; i++) {
        id_of(i, id);
        maybe += cc_id_filter_may_have(filter, id);
    }
    if (maybe >= N / 100)
        fail_msg("%u of %u ids never added are \"maybe\"", maybe, (unsigned)N);
}

/* Malformed forms of good, with the bad digit at the start, in the middle
 * and at the end (the filter reads the id in parts). */
enum { N_BAD = 9 };
static void malformed_forms(const char good[65], char bad[N_BAD][66])
{
    for (size_t i = 0; i < N_BAD; i++)
        memcpy(bad[i], good, 65);
    bad[0][63] = '\0';                 /* short */
    snprintf(bad[1], 66, "%s0", good); /* long */
    bad[2][0] = 'g';                   /* not hex */
    bad[3][33] = 'z';
    bad[4][63] = ' ';
    for (size_t i = 0; i < 64; i++) /* upper case, all of it */
        if (bad[5][i] >= 'a')
            bad[5][i] -= 'a' - 'A';
    bad[6][63] = 'A'; /* upper case, the last digit */
    bad[7][0] = 'F';  /* the first */
    bad[8][0] = '\0'; /* empty */
}

static void test_malformed_ids_always_maybe(void **state)
{
    cc_id_filter *filter = cc_id_filter_new(100);
    *state = filter;
    for (unsigned n = 0; n < 20; n++) {
        char good[65], bad[N_BAD][66];
        id_of(n, good);
        malformed_forms(good, bad);
        for (size_t i = 0; i < N_BAD; i++)
            if (!cc_id_filter_may_have(filter, bad[i]))
                fail_msg("malformed id %zu of %u (\"%s\") is \"no\" in an empty filter", i, n,
                         bad[i]);
    }
}

/* Adding malformed ids sets no bit and counts for nothing: the good ids
 * they were made from stay "no" in a filter that holds nothing else, and
 * the filter becomes full after exactly capacity + 1 good ids still. */
static void test_adding_malformed_ids_changes_nothing(void **state)
{
    enum { CAPACITY = 50, GOOD = 30 };
    cc_id_filter *filter = cc_id_filter_new(CAPACITY);
    *state = filter;
    char good[GOOD][65];
    for (unsigned n = 0; n < GOOD; n++) {
        char bad[N_BAD][66];
        id_of(n, good[n]);
        malformed_forms(good[n], bad);
        for (size_t i = 0; i < N_BAD; i++)
            cc_id_filter_add(filter, bad[i]);
    }
    /* GOOD x N_BAD (270) malformed adds: far past the capacity, had they
     * counted. */
    assert_false(cc_id_filter_full(filter));
    for (unsigned n = 0; n < GOOD; n++)
        if (cc_id_filter_may_have(filter, good[n]))
            fail_msg("id %u was never added but its malformed forms made it \"maybe\"", n);

    char id[65];
    for (unsigned i = 0; i < CAPACITY; i++) {
        id_of(1000 + i, id);
        cc_id_filter_add(filter, id);
        assert_false(cc_id_filter_full(filter));
    }
    id_of(2000, id);
    cc_id_filter_add(filter, id);
    assert_true(cc_id_filter_full(filter));
}

/* Full exactly after capacity + 1 adds (not at capacity), and from then
 * on; returns how many adds it took (0 when it was full before any). */
static size_t adds_until_full(size_t capacity)
{
    cc_id_filter *filter = cc_id_filter_new(capacity);
    bool capacity_kept = cc_id_filter_capacity(filter) == capacity;
    size_t adds = 0;
    char id[65];
    while (!cc_id_filter_full(filter) && adds <= capacity + 1) {
        id_of((unsigned)adds, id);
        cc_id_filter_add(filter, id);
        adds++;
    }
    /* And it stays full. */
    id_of((unsigned)adds, id);
    cc_id_filter_add(filter, id);
    bool stays_full = cc_id_filter_full(filter);
    cc_id_filter_free(filter);
    assert_true(capacity_kept);
    assert_true(stays_full);
    return adds;
}

static void test_full_after_capacity_plus_one(void **state)
{
    (void)state;
    const size_t capacities[] = {0, 1, 7, 64, 1000};
    for (size_t i = 0; i < sizeof capacities / sizeof *capacities; i++) {
        size_t adds = adds_until_full(capacities[i]);
        if (adds != capacities[i] + 1)
            fail_msg("capacity %zu: full after %zu adds, expected %zu", capacities[i], adds,
                     capacities[i] + 1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_added_ids_are_maybe, free_filter),
        cmocka_unit_test_teardown(test_few_false_maybes_at_capacity, free_filter),
        cmocka_unit_test_teardown(test_malformed_ids_always_maybe, free_filter),
        cmocka_unit_test_teardown(test_adding_malformed_ids_changes_nothing, free_filter),
        cmocka_unit_test(test_full_after_capacity_plus_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

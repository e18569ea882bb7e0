/* Unit tests for node/mempool_history: the samples come back oldest first
 * with the present appended; once the ring is full the oldest give way one
 * by one, and an hour's samples are kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/mempool_history.h"
#include "util/buf.h"

static cc_mempool_history *history_new(void)
{
    cc_mempool_history *h = malloc(sizeof *h);
    assert_non_null(h);
    cc_mempool_history_init(h);
    return h;
}

static char *written(const cc_mempool_history *h, int64_t now, size_t waiting)
{
    cc_buf out = CC_BUF_INIT;
    cc_mempool_history_write_json(h, now, waiting, &out);
    return out.data;
}

static void test_empty_history_is_the_present(void **state)
{
    (void)state;
    cc_mempool_history *h = history_new();
    char *json = written(h, 1000, 7);
    assert_string_equal(json, "{\"interval_s\": 10, \"samples\": [[1000, 7]]}");
    free(json);
    free(h);
}

static void test_samples_oldest_first(void **state)
{
    (void)state;
    cc_mempool_history *h = history_new();
    cc_mempool_history_add(h, 100, 0);
    cc_mempool_history_add(h, 110, 3);
    cc_mempool_history_add(h, 120, 1);
    char *json = written(h, 125, 2);
    assert_string_equal(json, "{\"interval_s\": 10, \"samples\": "
                              "[[100, 0], [110, 3], [120, 1], [125, 2]]}");
    free(json);
    free(h);
}

/* Past the ring's size the oldest samples go, in order, and an hour stays. */
static void test_full_ring_drops_the_oldest(void **state)
{
    (void)state;
    assert_true(CC_MEMPOOL_SAMPLES * CC_MEMPOOL_SAMPLE_S >= 3600);
    cc_mempool_history *h = history_new();
    size_t total = CC_MEMPOOL_SAMPLES + 5;
    for (size_t i = 0; i < total; i++)
        cc_mempool_history_add(h, (int64_t)(i * CC_MEMPOOL_SAMPLE_S), i);
    assert_int_equal(h->count, CC_MEMPOOL_SAMPLES);
    char *json = written(h, 999999, 0);
    char first[64], last[64];
    snprintf(first, sizeof first, "\"samples\": [[%d, 5], [%d, 6], ", 5 * CC_MEMPOOL_SAMPLE_S,
             6 * CC_MEMPOOL_SAMPLE_S);
    snprintf(last, sizeof last, "[%zu, %zu], [999999, 0]]}",
             (total - 1) * CC_MEMPOOL_SAMPLE_S, total - 1);
    assert_non_null(strstr(json, first));
    assert_non_null(strstr(json, last));
    size_t pairs = 0;
    for (const char *p = json; (p = strstr(p, "], [")) != NULL; p++)
        pairs++;
    assert_int_equal(pairs, CC_MEMPOOL_SAMPLES); /* the samples and the present: one more */
    free(json);
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_history_is_the_present),
        cmocka_unit_test(test_samples_oldest_first),
        cmocka_unit_test(test_full_ring_drops_the_oldest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

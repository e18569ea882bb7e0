/* Unit tests for what src/chain offers a node that catches up: the block
 * locator, the answer to a locator (fork point, then a bounded page of the
 * best chain) and pages of /getblocks?id=. The main chain is the first
 * blocks of tests/fixtures/chain-1000.jsonl (mined once, valid); forks are
 * mined here at the real difficulty. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain/chain.h"
#include "consensus/http.h"
#include "consensus/rules.h"
#include "crypto/hash.h"
#include "crypto/p192.h"
#include "util/buf.h"

#include "chain_env.h"

#define FIXTURE CC_VECTORS_DIR "/../fixtures/chain-1000.jsonl"
#define N_MAIN 40
#define HASH_SIZE (CC_HASH_HEX_LEN + 1)

typedef struct env {
    cc_test_db db;
    cc_chain *chain;
    cc_p192_key key;
    char *texts[N_MAIN + 1];          /* [h]: fixture block h (h >= 1) */
    char hashes[N_MAIN + 1][HASH_SIZE]; /* [0]: genesis */
} env;

/* ---- setup ------------------------------------------------------------- */

static void read_fixture(env *e)
{
    FILE *f = fopen(FIXTURE, "r");
    if (!f)
        fail_msg("cannot open %s", FIXTURE);
    snprintf(e->hashes[0], HASH_SIZE, "%s", CC_HTTP_GENESIS_HASH);
    for (int h = 1; h <= N_MAIN; h++) {
        char *line = NULL;
        size_t cap = 0;
        ssize_t len = getline(&line, &cap, f);
        assert_true(len > 0);
        line[strcspn(line, "\n")] = '\0';
        e->texts[h] = line;
        const char *hash = strstr(line, "\"hash\": \"");
        assert_non_null(hash);
        snprintf(e->hashes[h], HASH_SIZE, "%.64s", hash + 9);
    }
    fclose(f);
}

static int setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    if (!cc_test_db_make(&e->db, "/tmp/cc-sync-XXXXXX"))
        return -1;
    cc_chain_config cfg = {.db_path = e->db.path, .rules = cc_rules_http(), .max_orphans = 4,
                           .max_mempool = 10};
    e->chain = cc_test_chain_open(&cfg);
    cc_test_p192_key(7, &e->key);
    read_fixture(e);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env *e = *state;
    cc_chain_close(e->chain);
    cc_test_db_remove(&e->db);
    for (int h = 1; h <= N_MAIN; h++)
        free(e->texts[h]);
    free(e);
    return 0;
}

/* ---- blocks ---------------------------------------------------------------- */

static cc_block_result submit_text(env *e, const char *text, cc_block_outcome expected)
{
    return cc_test_submit_block(e->chain, text, strlen(text), expected);
}

/* Fixture blocks 1..n on the genesis. */
static void load_main(env *e, int n)
{
    for (int h = 1; h <= n; h++)
        submit_text(e, e->texts[h], CC_BLOCK_NEW_TIP);
    assert_int_equal(cc_chain_height(e->chain), n);
}

/* A block paying only its reward, at height on prev, mined here. */
static char *mine_on(env *e, int64_t height, const char *prev, char hash[HASH_SIZE])
{
    char ts[32];
    snprintf(ts, sizeof ts, "2030-01-01T00:00:%02d.000000", (int)(height % 60));
    cc_number one = {.is_int = true, .i = 1};
    cc_tx reward;
    cc_http_tx_reward(e->key.pub_hex, &one, ts, &reward);
    cc_block_template tpl;
    cc_http_template_build(&tpl, height, prev, ts, e->key.pub_hex, &reward, 1);
    cc_tx_clear(&reward);
    cc_buf out = CC_BUF_INIT;
    cc_test_http_mine(&tpl, &out, hash);
    cc_block_template_clear(&tpl);
    return cc_buf_take(&out);
}

/* ---- answers ------------------------------------------------------------------ */

typedef struct answer {
    json_t *doc;
    size_t n;
    char hashes[N_MAIN + 2][HASH_SIZE];
} answer;

/* Parses {"chain": [block, ...], ...} and lists the block hashes. */
static void read_answer(const cc_buf *out, answer *a)
{
    json_error_t jerr;
    a->doc = json_loadb(out->data, out->len, 0, &jerr);
    if (!a->doc)
        fail_msg("answer is not JSON: %s", jerr.text);
    json_t *chain = json_object_get(a->doc, "chain");
    assert_true(json_is_array(chain));
    a->n = json_array_size(chain);
    assert_true(a->n <= N_MAIN + 2);
    for (size_t i = 0; i < a->n; i++)
        snprintf(a->hashes[i], HASH_SIZE, "%s",
                 json_string_value(json_object_get(json_array_get(chain, i), "hash")));
}

/* The answer lists main-chain blocks first..last, in order. */
static void assert_main_range(env *e, const answer *a, int first, int last)
{
    assert_int_equal(a->n, (size_t)(last - first + 1));
    for (int h = first; h <= last; h++)
        assert_string_equal(a->hashes[h - first], e->hashes[h]);
}

static void write_after(env *e, const char (*locator)[HASH_SIZE], size_t n,
                        const cc_chain_page *page, answer *a)
{
    cc_buf out = CC_BUF_INIT;
    cc_err err = {0};
    if (!cc_chain_write_after(e->chain, locator, n, page, &out, &err))
        fail_msg("write_after failed: %s", err.msg);
    read_answer(&out, a);
    cc_buf_free(&out);
}

static const cc_chain_page everything = {SIZE_MAX, SIZE_MAX};

/* ---- tests ------------------------------------------------------------------------ */

static void test_locator_of_genesis_only(void **state)
{
    env *e = *state;
    char loc[8][HASH_SIZE];
    assert_int_equal(cc_chain_locator(e->chain, loc, 8), 1);
    assert_string_equal(loc[0], CC_HTTP_GENESIS_HASH);
}

static void test_locator_steps_back_doubling_and_ends_at_genesis(void **state)
{
    env *e = *state;
    load_main(e, N_MAIN);
    char loc[32][HASH_SIZE];
    static const int heights[] = {40, 39, 38, 36, 32, 24, 8, 0};
    size_t n = cc_chain_locator(e->chain, loc, 32);
    assert_int_equal(n, sizeof heights / sizeof heights[0]);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(loc[i], e->hashes[heights[i]]);
    /* capped: the newest hashes, and the genesis still last */
    assert_int_equal(cc_chain_locator(e->chain, loc, 3), 3);
    assert_string_equal(loc[0], e->hashes[40]);
    assert_string_equal(loc[1], e->hashes[39]);
    assert_string_equal(loc[2], CC_HTTP_GENESIS_HASH);
}

static void test_answer_starts_at_first_known_hash_on_best_chain(void **state)
{
    env *e = *state;
    load_main(e, N_MAIN);
    /* a node that has the first 10 blocks */
    const char loc[][HASH_SIZE] = {
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    };
    char behind[3][HASH_SIZE];
    memcpy(behind[0], loc[0], HASH_SIZE);
    memcpy(behind[1], e->hashes[10], HASH_SIZE);
    memcpy(behind[2], e->hashes[0], HASH_SIZE);
    answer a;
    write_after(e, (const char(*)[HASH_SIZE])behind, 3, &everything, &a);
    assert_main_range(e, &a, 10, N_MAIN);
    assert_int_equal(json_integer_value(json_object_get(a.doc, "height")), N_MAIN);
    json_decref(a.doc);
    /* nothing known: from the genesis; an empty locator too */
    write_after(e, loc, 1, &everything, &a);
    assert_main_range(e, &a, 0, N_MAIN);
    json_decref(a.doc);
    write_after(e, loc, 0, &everything, &a);
    assert_main_range(e, &a, 0, N_MAIN);
    json_decref(a.doc);
    /* a node at our tip gets only the tip */
    write_after(e, (const char(*)[HASH_SIZE]) & e->hashes[N_MAIN], 1, &everything, &a);
    assert_main_range(e, &a, N_MAIN, N_MAIN);
    json_decref(a.doc);
}

static void test_answer_pages_by_count_and_bytes(void **state)
{
    env *e = *state;
    load_main(e, N_MAIN);
    answer a;
    cc_chain_page five = {5, SIZE_MAX};
    write_after(e, (const char(*)[HASH_SIZE]) & e->hashes[10], 1, &five, &a);
    assert_main_range(e, &a, 10, 15);
    json_decref(a.doc);
    /* a byte budget smaller than one block still moves one block on */
    cc_chain_page tiny = {SIZE_MAX, 1};
    write_after(e, (const char(*)[HASH_SIZE]) & e->hashes[10], 1, &tiny, &a);
    assert_main_range(e, &a, 10, 11);
    json_decref(a.doc);
    /* about three blocks' worth of text: the page stops once it is reached */
    cc_chain_page bytes = {SIZE_MAX, 3 * strlen(e->texts[11])};
    write_after(e, (const char(*)[HASH_SIZE]) & e->hashes[10], 1, &bytes, &a);
    assert_true(a.n >= 3 && a.n <= 4);
    assert_main_range(e, &a, 10, 10 + (int)a.n - 1);
    json_decref(a.doc);
}

static void test_answer_skips_side_blocks_to_the_fork_point(void **state)
{
    env *e = *state;
    load_main(e, 12);
    /* a node on a fork from block 10: x11, x12 are side blocks here */
    char x11[HASH_SIZE], x12[HASH_SIZE];
    char *t11 = mine_on(e, 11, e->hashes[10], x11);
    char *t12 = mine_on(e, 12, x11, x12);
    submit_text(e, t11, CC_BLOCK_SIDE);
    submit_text(e, t12, CC_BLOCK_SIDE);
    char theirs[3][HASH_SIZE];
    memcpy(theirs[0], x12, HASH_SIZE);
    memcpy(theirs[1], x11, HASH_SIZE);
    memcpy(theirs[2], e->hashes[10], HASH_SIZE);
    answer a;
    write_after(e, (const char(*)[HASH_SIZE])theirs, 3, &everything, &a);
    assert_main_range(e, &a, 10, 12);
    json_decref(a.doc);
    /* once their branch is the best, our old blocks are the side ones */
    char x13[HASH_SIZE];
    char *t13 = mine_on(e, 13, x12, x13);
    submit_text(e, t13, CC_BLOCK_NEW_TIP);
    char ours[2][HASH_SIZE];
    memcpy(ours[0], e->hashes[12], HASH_SIZE);
    memcpy(ours[1], e->hashes[11], HASH_SIZE);
    write_after(e, (const char(*)[HASH_SIZE])ours, 2, &everything, &a);
    assert_int_equal(a.n, 14); /* from the genesis: neither is on the best chain */
    assert_string_equal(a.hashes[11], x11);
    assert_string_equal(a.hashes[13], x13);
    json_decref(a.doc);
    char loc[16][HASH_SIZE];
    size_t n = cc_chain_locator(e->chain, loc, 16);
    assert_string_equal(loc[0], x13);
    assert_string_equal(loc[1], x12);
    assert_string_equal(loc[2], x11);
    assert_string_equal(loc[n - 1], CC_HTTP_GENESIS_HASH);
    free(t11);
    free(t12);
    free(t13);
}

static void test_getblocks_id_pages(void **state)
{
    env *e = *state;
    load_main(e, 20);
    cc_buf out = CC_BUF_INIT;
    cc_err err = {0};
    cc_chain_page three = {3, SIZE_MAX};
    assert_true(cc_chain_write_from_page(e->chain, e->hashes[5], &three, &out, &err));
    answer a;
    read_answer(&out, &a);
    assert_main_range(e, &a, 5, 8);
    assert_null(json_object_get(a.doc, "height")); /* the seed's shape, unchanged */
    json_decref(a.doc);
    cc_buf_reset(&out);
    assert_true(cc_chain_write_from(e->chain, e->hashes[5], &out, &err));
    read_answer(&out, &a);
    assert_main_range(e, &a, 5, 20);
    json_decref(a.doc);
    cc_buf_reset(&out);
    char unknown[HASH_SIZE];
    memset(unknown, '0', CC_HASH_HEX_LEN);
    unknown[CC_HASH_HEX_LEN] = '\0';
    assert_false(cc_chain_write_from_page(e->chain, unknown, &three, &out, &err));
    assert_int_equal(err.code, CC_ERR_NOT_FOUND);
    cc_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_locator_of_genesis_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_locator_steps_back_doubling_and_ends_at_genesis,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_starts_at_first_known_hash_on_best_chain,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_pages_by_count_and_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_skips_side_blocks_to_the_fork_point, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_getblocks_id_pages, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

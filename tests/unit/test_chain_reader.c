/* Unit tests for chain/chain_reader: the whole chain read piece by piece
 * is the same bytes as cc_chain_write_all (side branches, a reorganised
 * height, an invalid block left out), for any piece size; the announced
 * length is exact, and so is cc_chain_whole_length; the reader works on a
 * snapshot, so blocks stored after it was made are not in its output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "chain/chain_reader.h"
#include "consensus/http.h"
#include "consensus/rules.h"
#include "util/buf.h"
#include "wallet/payment.h"

#include "chain_env.h"

enum { A, B, M, N_KEYS };

typedef struct env {
    cc_test_chain_env c;
    char tip[CC_HASH_HEX_LEN + 1]; /* of the chain built by grow() */
    int64_t height;
} env;

static int setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    if (!e || !cc_test_chain_env_setup(&e->c, "/tmp/cc-reader-XXXXXX", 3000, N_KEYS,
                                       "2026-03-01", 100)) {
        free(e);
        return -1;
    }
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env *e = *state;
    cc_test_chain_env_teardown(&e->c);
    free(e);
    return 0;
}

/* ---- blocks ------------------------------------------------------------------------ */

static void next_ts(env *e, char out[32]) { cc_test_chain_env_next_ts(&e->c, out); }

/* Mines a block at height on prev (a payment tx when not NULL, then a
 * reward of 1 to reward_to), submits it and returns its hash in out. */
static void add_block(env *e, int64_t height, const char *prev, const cc_tx *tx, int reward_to,
                      cc_block_outcome expected, char out[CC_HASH_HEX_LEN + 1])
{
    cc_test_mined m = cc_test_chain_env_mine(&e->c, height, prev, tx, tx ? 1 : 0, reward_to, M);
    cc_test_submit_block(e->c.chain, m.text.data, m.text.len, expected);
    if (out)
        memcpy(out, m.hash, sizeof m.hash);
    cc_buf_free(&m.text);
}

/* Extends the best chain by n blocks rewarding A. */
static void grow(env *e, int n)
{
    for (int i = 0; i < n; i++) {
        add_block(e, e->height + 1, e->tip, NULL, A, CC_BLOCK_NEW_TIP, e->tip);
        e->height++;
    }
}

/* A chain with something at every kind of height: one block, a side block
 * stored after the best one, two side blocks, a height where the best
 * block came after the side one (a reorganisation), and an invalid block
 * (remembered, never served). */
static void build_forked_chain(env *e)
{
    memcpy(e->tip, CC_HTTP_GENESIS_HASH, sizeof e->tip);
    grow(e, 3);
    char b2[CC_HASH_HEX_LEN + 1];
    assert_true(cc_chain_hash_at(e->c.chain, 2, b2, NULL));
    add_block(e, 3, b2, NULL, B, CC_BLOCK_SIDE, NULL);
    add_block(e, 3, b2, NULL, M, CC_BLOCK_SIDE, NULL);
    grow(e, 2);
    /* A branch from height 5 that overtakes: 6' and 7' become the best. */
    char b5[CC_HASH_HEX_LEN + 1], c6[CC_HASH_HEX_LEN + 1], c7[CC_HASH_HEX_LEN + 1];
    memcpy(b5, e->tip, sizeof b5);
    grow(e, 1);
    add_block(e, 6, b5, NULL, B, CC_BLOCK_SIDE, c6);
    add_block(e, 7, c6, NULL, B, CC_BLOCK_NEW_TIP, c7);
    memcpy(e->tip, c7, sizeof e->tip);
    e->height = 7;
    /* An overspend on the tip: refused and remembered as invalid. */
    char ts[32];
    next_ts(e, ts);
    cc_number lots = {.is_int = true, .i = 1000};
    cc_tx over;
    assert_true(cc_http_tx_create(&e->c.keys[B], e->c.keys[A].pub_hex, &lots, ts, &over, NULL));
    cc_test_mined bad = cc_test_chain_env_mine(&e->c, 8, e->tip, &over, 1, M, M);
    cc_block_result res;
    cc_err err = {0};
    assert_false(cc_chain_submit_block(e->c.chain, bad.text.data, bad.text.len, &res, &err));
    assert_non_null(strstr(err.msg, "Insufficient funds"));
    cc_buf_free(&bad.text);
    cc_tx_clear(&over);
    grow(e, 2);
}

/* ---- reading ------------------------------------------------------------------------- */

static cc_buf write_all(env *e)
{
    cc_buf out = CC_BUF_INIT;
    cc_err err = {0};
    assert_true(cc_chain_write_all(e->c.chain, &out, &err));
    return out;
}

/* Reads the reader to its end in pieces of piece bytes, checking that
 * each call but the last adds at least one block and stays near the
 * piece size, and that calls after the end add nothing. */
static cc_buf read_all(cc_chain_reader *reader, size_t piece)
{
    cc_buf out = CC_BUF_INIT;
    cc_err err = {0};
    bool done = false;
    size_t calls = 0;
    while (!done) {
        size_t before = out.len;
        if (!cc_chain_reader_next(reader, piece, &out, &done, &err))
            fail_msg("reader failed: %s", err.msg);
        if (!done && out.len == before)
            fail_msg("a piece of %zu bytes added nothing", piece);
        if (++calls > 100000)
            fail_msg("the reader never ends");
    }
    size_t len = out.len;
    assert_true(cc_chain_reader_next(reader, piece, &out, &done, &err));
    assert_true(done);
    assert_int_equal(out.len, len);
    return out;
}

static void assert_same_bytes(const cc_buf *got, const cc_buf *want, size_t piece)
{
    if (got->len != want->len || memcmp(got->data, want->data, want->len) != 0) {
        size_t at = 0;
        while (at < got->len && at < want->len && got->data[at] == want->data[at])
            at++;
        fail_msg("pieces of %zu: %zu bytes, expected %zu; first difference at byte %zu", piece,
                 got->len, want->len, at);
    }
}

static void check_reader_matches(env *e)
{
    cc_buf want = write_all(e);
    size_t whole = 0;
    cc_err err = {0};
    assert_true(cc_chain_whole_length(e->c.chain, &whole, &err));
    assert_int_equal(whole, want.len);
    const size_t pieces[] = {1, 2, 100, 1000, want.len, SIZE_MAX};
    for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++) {
        cc_chain_reader *reader = cc_chain_reader_all(e->c.chain, &err);
        if (!reader)
            fail_msg("no reader: %s", err.msg);
        assert_int_equal(cc_chain_reader_length(reader), want.len);
        cc_buf got = read_all(reader, pieces[i]);
        assert_same_bytes(&got, &want, pieces[i]);
        cc_buf_free(&got);
        cc_chain_reader_free(reader);
    }
    cc_buf_free(&want);
}

static void test_genesis_only(void **state)
{
    env *e = *state;
    check_reader_matches(e);
}

static void test_forked_chain_same_bytes_any_piece(void **state)
{
    env *e = *state;
    build_forked_chain(e);
    check_reader_matches(e);
    /* The same after reopening (the reader opens the file itself). */
    cc_test_chain_env_reopen(&e->c);
    check_reader_matches(e);
}

/* Pieces follow the size asked: a small size gives many pieces, and no
 * piece holds much more than the size plus one block. */
static void test_pieces_bounded(void **state)
{
    env *e = *state;
    memcpy(e->tip, CC_HTTP_GENESIS_HASH, sizeof e->tip);
    grow(e, 12);
    cc_err err = {0};
    cc_chain_reader *reader = cc_chain_reader_all(e->c.chain, &err);
    assert_non_null(reader);
    cc_buf out = CC_BUF_INIT;
    bool done = false;
    size_t calls = 0, biggest = 0;
    while (!done) {
        size_t before = out.len;
        assert_true(cc_chain_reader_next(reader, 1500, &out, &done, &err));
        biggest = out.len - before > biggest ? out.len - before : biggest;
        calls++;
    }
    assert_true(calls >= 4);
    /* a block of this chain is well under 1,500 bytes */
    assert_true(biggest < 1500 + 1500);
    assert_int_equal(out.len, cc_chain_reader_length(reader));
    cc_buf_free(&out);
    cc_chain_reader_free(reader);
}

/* "at least one block" per piece, whatever the size asked, 0 included. */
static void test_piece_size_zero_still_progresses(void **state)
{
    env *e = *state;
    memcpy(e->tip, CC_HTTP_GENESIS_HASH, sizeof e->tip);
    grow(e, 3);
    cc_buf want = write_all(e);
    cc_err err = {0};
    cc_chain_reader *reader = cc_chain_reader_all(e->c.chain, &err);
    assert_non_null(reader);
    cc_buf got = read_all(reader, 0);
    assert_same_bytes(&got, &want, 0);
    cc_buf_free(&got);
    cc_buf_free(&want);
    cc_chain_reader_free(reader);
}

/* Blocks stored after the reader was made (before it read anything, and
 * between its pieces) are not in its output, and its length still is the
 * bytes it gives; a reader made afterwards has them. */
static void test_snapshot(void **state)
{
    env *e = *state;
    build_forked_chain(e);
    cc_buf before = write_all(e);
    cc_err err = {0};
    cc_chain_reader *untouched = cc_chain_reader_all(e->c.chain, &err);
    cc_chain_reader *started = cc_chain_reader_all(e->c.chain, &err);
    assert_non_null(untouched);
    assert_non_null(started);
    cc_buf first = CC_BUF_INIT;
    bool done = false;
    assert_true(cc_chain_reader_next(started, 1, &first, &done, &err));
    assert_false(done);

    /* The chain goes on: new tips and a side block, written while both
     * readers hold their snapshot. */
    char side_parent[CC_HASH_HEX_LEN + 1];
    memcpy(side_parent, e->tip, sizeof side_parent);
    grow(e, 3);
    add_block(e, e->height - 2, side_parent, NULL, B, CC_BLOCK_SIDE, NULL);
    cc_buf after = write_all(e);
    assert_true(after.len > before.len);
    size_t whole = 0;
    assert_true(cc_chain_whole_length(e->c.chain, &whole, &err));
    assert_int_equal(whole, after.len);

    assert_int_equal(cc_chain_reader_length(untouched), before.len);
    cc_buf got = read_all(untouched, 100);
    assert_same_bytes(&got, &before, 100);
    cc_buf_free(&got);

    assert_int_equal(cc_chain_reader_length(started), before.len);
    cc_buf rest = read_all(started, 100);
    cc_buf_append(&first, rest.data, rest.len);
    assert_same_bytes(&first, &before, 1);
    cc_buf_free(&rest);

    cc_chain_reader *fresh = cc_chain_reader_all(e->c.chain, &err);
    assert_non_null(fresh);
    assert_int_equal(cc_chain_reader_length(fresh), after.len);
    got = read_all(fresh, 100);
    assert_same_bytes(&got, &after, 100);

    cc_buf_free(&got);
    cc_buf_free(&first);
    cc_buf_free(&before);
    cc_buf_free(&after);
    cc_chain_reader_free(untouched);
    cc_chain_reader_free(started);
    cc_chain_reader_free(fresh);
}

/* A reader left before its end releases everything (the sanitizer's leak
 * check) and does not keep the chain from writing. */
static void test_reader_dropped_midway(void **state)
{
    env *e = *state;
    memcpy(e->tip, CC_HTTP_GENESIS_HASH, sizeof e->tip);
    grow(e, 4);
    cc_err err = {0};
    cc_chain_reader *reader = cc_chain_reader_all(e->c.chain, &err);
    assert_non_null(reader);
    cc_buf out = CC_BUF_INIT;
    bool done = false;
    assert_true(cc_chain_reader_next(reader, 1, &out, &done, &err));
    assert_false(done);
    cc_chain_reader_free(reader);
    cc_chain_reader_free(NULL);
    grow(e, 1);
    assert_int_equal(cc_chain_height(e->c.chain), 5);
    cc_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_genesis_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forked_chain_same_bytes_any_piece, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pieces_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_piece_size_zero_still_progresses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_dropped_midway, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

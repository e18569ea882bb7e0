/* Unit tests for the chain's batches (cc_chain_batch_begin/end), its
 * memory of verified signatures (cc_chain_note_verified,
 * cc_chain_signature_known) and the cheap refusals of cc_chain_check_new_tx,
 * with the http network's rules against a temporary SQLite file.
 *
 * What chain.h promises for a batch: every change in it is refused or kept
 * alone, all of them are durable once cc_chain_batch_end returns, and
 * nothing of it is durable before (a node stopped in the middle finds the
 * chain as it was before the batch). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <gmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "consensus/http.h"
#include "consensus/rules.h"
#include "util/buf.h"
#include "wallet/payment.h"

#include "chain_env.h"

enum { A, B, M, Z, N_KEYS };

typedef cc_test_chain_env env;

static int setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    if (!e || !cc_test_chain_env_setup(e, "/tmp/cc-batch-XXXXXX", 2000, N_KEYS, "2026-02-01",
                                       100)) {
        free(e);
        return -1;
    }
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env *e = *state;
    cc_test_chain_env_teardown(e);
    free(e);
    return 0;
}

static void reopen(env *e) { cc_test_chain_env_reopen(e); }

/* ---- payments and blocks ------------------------------------------------------ */

static void next_ts(env *e, char out[32]) { cc_test_chain_env_next_ts(e, out); }

static cc_tx pay(env *e, int from, int to, double amount)
{
    return cc_test_chain_env_pay(e, from, to, amount);
}

/* The same payment with one digit of its signature changed: it decodes,
 * its message (msgid) is the same, its signature does not verify. */
static cc_tx forged(const cc_tx *tx)
{
    cc_buf text = CC_BUF_INIT;
    cc_buf_append(&text, tx->text, tx->text_len);
    char *last_digit = strstr(text.data, "\"signature\": \"") + 14 + CC_P192_SIG_HEX_LEN - 1;
    *last_digit = *last_digit == '0' ? '1' : '0';
    cc_tx out;
    cc_err err = {0};
    if (!cc_http_tx_decode(text.data, text.len, &out, &err))
        fail_msg("forged payment does not decode: %s", err.msg);
    assert_false(cc_http_tx_verify(&out));
    assert_string_equal(out.msgid, tx->msgid);
    cc_buf_free(&text);
    return out;
}

static cc_tx reward_of(env *e, int to)
{
    char ts[32];
    next_ts(e, ts);
    cc_number one = {.is_int = true, .i = 1};
    cc_tx tx;
    cc_http_tx_reward(e->keys[to].pub_hex, &one, ts, &tx);
    return tx;
}

typedef struct mined {
    char *text;
    size_t len;
    char hash[CC_HASH_HEX_LEN + 1];
} mined;

/* A block at height on prev holding txs, then a reward of 1 to reward_to. */
static mined mine(env *e, int64_t height, const char *prev, const cc_tx *txs, size_t n,
                  int reward_to)
{
    cc_test_mined m = cc_test_chain_env_mine(e, height, prev, txs, n, reward_to, M);
    mined out = {.len = m.text.len};
    out.text = cc_buf_take(&m.text);
    memcpy(out.hash, m.hash, sizeof out.hash);
    return out;
}

static mined mine_empty(env *e, int64_t height, const char *prev, int reward_to)
{
    return mine(e, height, prev, NULL, 0, reward_to);
}

static void submit(env *e, const mined *m, cc_block_outcome expected)
{
    cc_block_result res = cc_test_submit_block(e->chain, m->text, m->len, expected);
    assert_string_equal(res.hash, m->hash);
}

static void assert_block_refused(env *e, const mined *m, cc_refusal why, const char *says)
{
    cc_test_assert_block_refused(e->chain, m->text, m->len, why, says);
}

static void submit_tx(env *e, const cc_tx *tx)
{
    char txid[CC_HASH_HEX_LEN + 1];
    cc_err err = {0};
    if (!cc_chain_submit_tx(e->chain, tx->text, tx->text_len, txid, &err))
        fail_msg("payment refused: %s", err.msg);
}

static void assert_check_refused(env *e, const cc_tx *tx, const char *says)
{
    cc_err err = {0};
    size_t before = cc_chain_mempool_size(e->chain);
    assert_false(cc_chain_check_new_tx(e->chain, tx, &err));
    assert_int_equal(err.code, CC_ERR_BAD_REQUEST);
    if (!strstr(err.msg, says))
        fail_msg("error \"%s\" does not say \"%s\"", err.msg, says);
    assert_int_equal(cc_chain_mempool_size(e->chain), before);
}

static void assert_balance(env *e, int key, const char *rational)
{
    mpq_t want, got;
    mpq_inits(want, got, NULL);
    assert_int_equal(mpq_set_str(want, rational, 10), 0);
    mpq_canonicalize(want);
    cc_err err = {0};
    assert_true(cc_chain_balance(e->chain, e->keys[key].pub_hex, got, &err));
    if (!mpq_equal(got, want))
        fail_msg("balance of key %d is %s, expected %s", key, mpq_get_str(NULL, 10, got),
                 rational);
    mpq_clears(want, got, NULL);
}

static char *write_all(env *e)
{
    cc_buf out = CC_BUF_INIT;
    cc_err err = {0};
    assert_true(cc_chain_write_all(e->chain, &out, &err));
    return cc_buf_take(&out);
}

static bool holds_block(env *e, const mined *m)
{
    cc_buf text = CC_BUF_INIT;
    cc_err err = {0};
    bool found = cc_chain_block_text(e->chain, m->hash, &text, &err);
    cc_buf_free(&text);
    return found;
}

static void begin(env *e)
{
    cc_err err = {0};
    if (!cc_chain_batch_begin(e->chain, &err))
        fail_msg("batch not begun: %s", err.msg);
}

static void end(env *e)
{
    cc_err err = {0};
    if (!cc_chain_batch_end(e->chain, &err))
        fail_msg("batch not ended: %s", err.msg);
}

/* ---- batches --------------------------------------------------------------------- */

static void test_batch_blocks_kept_after_end_and_reopen(void **state)
{
    env *e = *state;
    mined b[5];
    b[1] = mine_empty(e, 1, CC_HTTP_GENESIS_HASH, A);
    b[2] = mine_empty(e, 2, b[1].hash, A);
    cc_tx p = pay(e, A, B, 0.5);
    b[3] = mine(e, 3, b[2].hash, &p, 1, A);
    b[4] = mine_empty(e, 4, b[3].hash, A);
    mined side = mine_empty(e, 2, b[1].hash, Z);

    begin(e);
    for (int i = 1; i <= 4; i++) {
        submit(e, &b[i], CC_BLOCK_NEW_TIP);
        /* Inside the batch the chain already reads as it will be. */
        assert_int_equal(cc_chain_height(e->chain), i);
        assert_string_equal(cc_chain_tip(e->chain), b[i].hash);
    }
    submit(e, &side, CC_BLOCK_SIDE);
    end(e);

    assert_int_equal(cc_chain_height(e->chain), 4);
    assert_balance(e, A, "7/2");
    assert_balance(e, B, "1/2");
    char *before = write_all(e);
    reopen(e);
    assert_int_equal(cc_chain_height(e->chain), 4);
    assert_string_equal(cc_chain_tip(e->chain), b[4].hash);
    assert_balance(e, A, "7/2");
    assert_balance(e, B, "1/2");
    assert_true(holds_block(e, &side));
    char *after = write_all(e);
    assert_string_equal(after, before);
    /* Still there: sent again, they are duplicates. */
    assert_block_refused(e, &b[3], CC_REFUSAL_DUPLICATE, "Block already exists");
    assert_check_refused(e, &p, "Transaction already exists");

    free(before);
    free(after);
    cc_tx_clear(&p);
    for (int i = 1; i <= 4; i++)
        free(b[i].text);
    free(side.text);
}

/* Refused blocks inside a batch undo themselves only: the blocks before
 * and after them are kept, and an invalid block is remembered as such. */
static void test_refused_block_in_batch_undoes_only_itself(void **state)
{
    env *e = *state;
    mined b1 = mine_empty(e, 1, CC_HTTP_GENESIS_HASH, A);
    mined b2 = mine_empty(e, 2, b1.hash, A);
    cc_tx over = pay(e, A, B, 5); /* A holds 2 on b2 */
    mined overspend = mine(e, 3, b2.hash, &over, 1, M);
    cc_tx good = pay(e, A, B, 0.25);
    cc_tx bad = forged(&good);
    mined bad_sig = mine(e, 3, b2.hash, &bad, 1, M);
    mined b3 = mine(e, 3, b2.hash, &good, 1, A);
    mined on_overspend = mine_empty(e, 4, overspend.hash, M);

    begin(e);
    submit(e, &b1, CC_BLOCK_NEW_TIP);
    submit(e, &b2, CC_BLOCK_NEW_TIP);
    assert_block_refused(e, &overspend, CC_REFUSAL_FUNDS, "Insufficient funds");
    assert_block_refused(e, &bad_sig, CC_REFUSAL_BAD_SIGNATURE, "transaction 0: invalid signature");
    assert_block_refused(e, &b1, CC_REFUSAL_DUPLICATE, "Block already exists");
    assert_int_equal(cc_chain_height(e->chain), 2);
    assert_string_equal(cc_chain_tip(e->chain), b2.hash);
    submit(e, &b3, CC_BLOCK_NEW_TIP);
    end(e);

    assert_int_equal(cc_chain_height(e->chain), 3);
    reopen(e);
    assert_int_equal(cc_chain_height(e->chain), 3);
    assert_string_equal(cc_chain_tip(e->chain), b3.hash);
    assert_true(holds_block(e, &b1) && holds_block(e, &b2));
    assert_false(holds_block(e, &overspend));
    assert_false(holds_block(e, &bad_sig));
    assert_balance(e, A, "11/4");
    assert_balance(e, B, "1/4");
    /* The overspend was remembered invalid inside the batch, and that
     * verdict was committed with it. */
    assert_block_refused(e, &overspend, CC_REFUSAL_KNOWN_INVALID, "invalid");
    assert_block_refused(e, &on_overspend, CC_REFUSAL_INVALID_PARENT, "invalid");

    cc_tx_clear(&over);
    cc_tx_clear(&good);
    cc_tx_clear(&bad);
    free(b1.text);
    free(b2.text);
    free(b3.text);
    free(overspend.text);
    free(bad_sig.text);
    free(on_overspend.text);
}

/* Closing the chain with a batch open (a node stopped mid-page) keeps
 * nothing of the batch: blocks, balances and payments are as before it. */
static void test_unfinished_batch_leaves_nothing(void **state)
{
    env *e = *state;
    mined b1 = mine_empty(e, 1, CC_HTTP_GENESIS_HASH, A);
    submit(e, &b1, CC_BLOCK_NEW_TIP); /* outside a batch: kept */
    mined b2 = mine_empty(e, 2, b1.hash, A);
    mined b3 = mine_empty(e, 3, b2.hash, A);
    cc_tx p = pay(e, A, B, 0.5);
    char *before = write_all(e);

    begin(e);
    submit(e, &b2, CC_BLOCK_NEW_TIP);
    submit(e, &b3, CC_BLOCK_NEW_TIP);
    submit_tx(e, &p);
    assert_int_equal(cc_chain_mempool_size(e->chain), 1);
    reopen(e); /* no batch_end */

    assert_int_equal(cc_chain_height(e->chain), 1);
    assert_string_equal(cc_chain_tip(e->chain), b1.hash);
    assert_int_equal(cc_chain_mempool_size(e->chain), 0);
    assert_balance(e, A, "1");
    assert_false(holds_block(e, &b2));
    char *after = write_all(e);
    assert_string_equal(after, before);
    /* Nothing remembers them: they are welcome again. */
    submit(e, &b2, CC_BLOCK_NEW_TIP);
    submit(e, &b3, CC_BLOCK_NEW_TIP);
    submit_tx(e, &p);
    assert_balance(e, A, "3");

    free(before);
    free(after);
    cc_tx_clear(&p);
    free(b1.text);
    free(b2.text);
    free(b3.text);
}

static void test_batch_begin_twice_end_without_begin(void **state)
{
    env *e = *state;
    cc_err err = {0};
    assert_true(cc_chain_batch_end(e->chain, &err)); /* no batch: nothing to do */
    begin(e);
    assert_false(cc_chain_batch_begin(e->chain, &err));
    assert_int_equal(err.code, CC_ERR_INTERNAL);
    assert_non_null(strstr(err.msg, "already"));
    /* The batch that is open still works and ends once. */
    mined b1 = mine_empty(e, 1, CC_HTTP_GENESIS_HASH, A);
    submit(e, &b1, CC_BLOCK_NEW_TIP);
    end(e);
    assert_true(cc_chain_batch_end(e->chain, &err));
    /* After the batch, each change commits alone again. */
    mined b2 = mine_empty(e, 2, b1.hash, A);
    submit(e, &b2, CC_BLOCK_NEW_TIP);
    reopen(e);
    assert_int_equal(cc_chain_height(e->chain), 2);
    assert_string_equal(cc_chain_tip(e->chain), b2.hash);
    free(b1.text);
    free(b2.text);
}

/* A reorganisation inside a batch: the abandoned block's payment goes back
 * to the mempool, and all of it is there after reopening. */
static void test_reorg_inside_batch(void **state)
{
    env *e = *state;
    mined b1 = mine_empty(e, 1, CC_HTTP_GENESIS_HASH, A);
    cc_tx p = pay(e, A, B, 0.5);
    mined b2 = mine(e, 2, b1.hash, &p, 1, A);
    mined c2 = mine_empty(e, 2, b1.hash, Z);
    mined c3 = mine_empty(e, 3, c2.hash, Z);

    begin(e);
    submit(e, &b1, CC_BLOCK_NEW_TIP);
    submit(e, &b2, CC_BLOCK_NEW_TIP);
    submit(e, &c2, CC_BLOCK_SIDE);
    submit(e, &c3, CC_BLOCK_NEW_TIP);
    end(e);

    reopen(e);
    assert_int_equal(cc_chain_height(e->chain), 3);
    assert_string_equal(cc_chain_tip(e->chain), c3.hash);
    assert_int_equal(cc_chain_mempool_size(e->chain), 1);
    assert_check_refused(e, &p, "Transaction already exists"); /* waiting again */
    assert_balance(e, A, "1");
    assert_balance(e, B, "0");
    assert_balance(e, Z, "2");
    assert_true(holds_block(e, &b2));

    cc_tx_clear(&p);
    free(b1.text);
    free(b2.text);
    free(c2.text);
    free(c3.text);
}

/* ---- verified signatures ------------------------------------------------------------- */

/* A signature noted as verified is not checked again by the chain: a
 * payment whose signature is in fact bad, noted anyway, passes. (Only the
 * node's workers note signatures, after checking them; this shows that
 * the chain relies on the note.) */
static void test_noted_signature_not_checked_again(void **state)
{
    env *e = *state;
    mined b1 = mine_empty(e, 1, CC_HTTP_GENESIS_HASH, A);
    submit(e, &b1, CC_BLOCK_NEW_TIP);
    cc_tx valid = pay(e, A, B, 0.25);
    cc_tx paid = pay(e, A, B, 0.5);
    cc_tx bad = forged(&paid);
    mined block = mine(e, 2, b1.hash, (cc_tx[]){valid, bad}, 2, M);

    assert_block_refused(e, &block, CC_REFUSAL_BAD_SIGNATURE, "transaction 1: invalid signature");
    assert_false(cc_chain_signature_known(e->chain, &bad));
    cc_chain_note_verified(e->chain, &bad);
    assert_true(cc_chain_signature_known(e->chain, &bad));
    submit(e, &block, CC_BLOCK_NEW_TIP);
    assert_balance(e, B, "3/4");

    cc_tx_clear(&valid);
    cc_tx_clear(&paid);
    cc_tx_clear(&bad);
    free(b1.text);
    free(block.text);
}

/* A block whose payments the workers checked and noted is accepted, and
 * the first bad signature is named by its place in the block. */
static void test_noted_block_accepted_bad_one_named(void **state)
{
    env *e = *state;
    mined b1 = mine_empty(e, 1, CC_HTTP_GENESIS_HASH, A);
    submit(e, &b1, CC_BLOCK_NEW_TIP);
    cc_tx txs[3] = {pay(e, A, B, 0.125), pay(e, A, B, 0.25), pay(e, A, Z, 0.5)};
    for (size_t i = 0; i < 3; i++)
        cc_chain_note_verified(e->chain, &txs[i]);
    cc_tx bad = forged(&txs[2]);
    cc_tx with_bad[3] = {txs[0], txs[1], bad};
    mined refused = mine(e, 2, b1.hash, with_bad, 3, M);
    assert_block_refused(e, &refused, CC_REFUSAL_BAD_SIGNATURE, "transaction 2: invalid signature");
    mined block = mine(e, 2, b1.hash, txs, 3, M);
    submit(e, &block, CC_BLOCK_NEW_TIP);
    assert_balance(e, B, "3/8");
    assert_balance(e, Z, "1/2");
    for (size_t i = 0; i < 3; i++)
        cc_tx_clear(&txs[i]);
    cc_tx_clear(&bad);
    free(b1.text);
    free(refused.text);
    free(block.text);
}

static void test_signature_known(void **state)
{
    env *e = *state;
    mined b1 = mine_empty(e, 1, CC_HTTP_GENESIS_HASH, A);
    submit(e, &b1, CC_BLOCK_NEW_TIP);

    cc_tx reward = reward_of(e, B);
    assert_true(cc_chain_signature_known(e->chain, &reward));

    /* A payment is known once verified: noted, or checked by the chain
     * itself when it entered the mempool or came in a block. */
    cc_tx noted = pay(e, A, B, 0.125);
    assert_false(cc_chain_signature_known(e->chain, &noted));
    cc_chain_note_verified(e->chain, &noted);
    assert_true(cc_chain_signature_known(e->chain, &noted));

    cc_tx waiting = pay(e, A, B, 0.25);
    assert_false(cc_chain_signature_known(e->chain, &waiting));
    submit_tx(e, &waiting);
    assert_true(cc_chain_signature_known(e->chain, &waiting));

    cc_tx mined_tx = pay(e, A, Z, 0.5);
    mined b2 = mine(e, 2, b1.hash, &mined_tx, 1, M);
    submit(e, &b2, CC_BLOCK_NEW_TIP);
    assert_true(cc_chain_signature_known(e->chain, &mined_tx));

    /* A bad signature refused by the chain is not remembered; the same
     * message under another signature is another transaction. */
    cc_tx other = pay(e, A, Z, 0.0625);
    cc_tx bad = forged(&other);
    char txid[CC_HASH_HEX_LEN + 1];
    cc_err err = {0};
    assert_false(cc_chain_submit_tx(e->chain, bad.text, bad.text_len, txid, &err));
    assert_non_null(strstr(err.msg, "Invalid signature"));
    assert_false(cc_chain_signature_known(e->chain, &bad));
    cc_tx bad_noted = forged(&noted);
    assert_false(cc_chain_signature_known(e->chain, &bad_noted));
    assert_false(cc_chain_signature_known(e->chain, &other));

    /* The memory is the chain's, not the database's: after reopening,
     * signatures are checked again. */
    reopen(e);
    assert_false(cc_chain_signature_known(e->chain, &noted));
    assert_true(cc_chain_signature_known(e->chain, &reward));

    cc_tx_clear(&reward);
    cc_tx_clear(&noted);
    cc_tx_clear(&waiting);
    cc_tx_clear(&mined_tx);
    cc_tx_clear(&other);
    cc_tx_clear(&bad);
    cc_tx_clear(&bad_noted);
    free(b1.text);
    free(b2.text);
}

/* ---- the cheap refusals ------------------------------------------------------------ */

static void test_check_new_tx(void **state)
{
    env *e = *state;
    mined b1 = mine_empty(e, 1, CC_HTTP_GENESIS_HASH, A);
    submit(e, &b1, CC_BLOCK_NEW_TIP);
    cc_err err = {0};

    cc_tx reward = reward_of(e, A);
    assert_check_refused(e, &reward, "System transactions are only valid inside a block");

    /* Neither the signature nor the funds are looked at, and nothing is
     * added to the mempool. */
    cc_tx fresh = pay(e, A, B, 0.5);
    assert_true(cc_chain_check_new_tx(e->chain, &fresh, &err));
    cc_tx fresh_bad = forged(&fresh);
    assert_true(cc_chain_check_new_tx(e->chain, &fresh_bad, &err));
    cc_tx broke = pay(e, Z, B, 100);
    assert_true(cc_chain_check_new_tx(e->chain, &broke, &err));
    assert_int_equal(cc_chain_mempool_size(e->chain), 0);

    /* Waiting in the mempool: refused, under its own or another signature. */
    submit_tx(e, &fresh);
    assert_check_refused(e, &fresh, "Transaction already exists");
    assert_check_refused(e, &fresh_bad, "Transaction already exists");

    /* On the best chain: refused too. */
    cc_tx onchain = pay(e, A, Z, 0.25);
    mined b2 = mine(e, 2, b1.hash, &onchain, 1, M);
    submit(e, &b2, CC_BLOCK_NEW_TIP);
    assert_check_refused(e, &onchain, "Transaction already exists");
    cc_tx onchain_bad = forged(&onchain);
    assert_check_refused(e, &onchain_bad, "Transaction already exists");

    cc_tx_clear(&reward);
    cc_tx_clear(&fresh);
    cc_tx_clear(&fresh_bad);
    cc_tx_clear(&broke);
    cc_tx_clear(&onchain);
    cc_tx_clear(&onchain_bad);
    free(b1.text);
    free(b2.text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_batch_blocks_kept_after_end_and_reopen, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_refused_block_in_batch_undoes_only_itself, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unfinished_batch_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_begin_twice_end_without_begin, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reorg_inside_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_noted_signature_not_checked_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_noted_block_accepted_bad_one_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signature_known, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_new_tx, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for chain/mempool_set, the mempool in memory: arrival order
 * (restored payments ahead of the rest), look-ups by txid and by signed
 * message, each sender's pending sum, and changes that follow the store's
 * transactions: a rollback puts back exactly what was there (nested marks
 * included), a release keeps it, and a frozen copy does not move. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <gmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "chain/mempool_set.h"

/* Each test keeps its set in *state: a failed assertion leaves the test at
 * once, and the teardown still frees it (ASan would report a leak). */
static int free_set(void **state)
{
    cc_mempool_set_free(*state);
    return 0;
}

/* Payment n of sender `from` for `amount`: txid and msgid are made apart
 * (the first letter differs), as they are for real payments. */
static cc_tx payment(unsigned n, const char *from, int64_t amount)
{
    static char text[64], sender[32];
    cc_tx tx = {0};
    snprintf(tx.txid, sizeof tx.txid, "a%063u", n);
    snprintf(tx.msgid, sizeof tx.msgid, "b%063u", n);
    snprintf(text, sizeof text, "{\"payment\": %u}", n);
    snprintf(sender, sizeof sender, "%s", from);
    tx.text = text;
    tx.text_len = strlen(text);
    tx.from = sender;
    tx.amount = (cc_number){.is_int = true, .i = amount};
    return tx;
}

static cc_mempool_entry *add(cc_mempool_set *set, unsigned n, const char *from, int64_t amount,
                             int64_t seq)
{
    cc_tx tx = payment(n, from, amount);
    return cc_mempool_set_add(set, &tx, seq);
}

/* The payment numbers in arrival order, as "1 2 3". */
static const char *order(const cc_mempool_set *set)
{
    static char out[256];
    out[0] = '\0';
    for (const cc_mempool_entry *e = cc_mempool_set_first(set); e; e = e->next) {
        unsigned n;
        sscanf(e->tx.text, "{\"payment\": %u}", &n);
        snprintf(out + strlen(out), sizeof out - strlen(out), "%s%u", out[0] ? " " : "", n);
    }
    return out;
}

static long pending(const cc_mempool_set *set, const char *key)
{
    mpq_t sum;
    mpq_init(sum);
    cc_mempool_set_pending(set, key, sum);
    long whole = mpz_get_si(mpq_numref(sum));
    assert_int_equal(mpz_get_si(mpq_denref(sum)), 1);
    mpq_clear(sum);
    return whole;
}

static void test_arrival_order_with_restores_in_front(void **state)
{
    cc_mempool_set *set = cc_mempool_set_new();
    *state = set;
    add(set, 1, "alice", 1, 10);
    add(set, 2, "bob", 1, 12);
    add(set, 3, "alice", 1, 14);
    /* A reorganisation puts abandoned payments back below the first seq,
     * in their chain order. */
    add(set, 4, "carol", 1, 7);
    add(set, 5, "carol", 1, 8);
    add(set, 6, "carol", 1, 9);
    assert_string_equal(order(set), "4 5 6 1 2 3");
    /* A seq between two others goes between them. */
    add(set, 7, "dave", 1, 13);
    assert_string_equal(order(set), "4 5 6 1 2 7 3");
    assert_int_equal(cc_mempool_set_count(set), 7);
    assert_int_equal(cc_mempool_set_min_seq(set), 7);
    assert_int_equal(cc_mempool_set_max_seq(set), 14);
}

static void test_lookups_and_pending_sums(void **state)
{
    cc_mempool_set *set = cc_mempool_set_new();
    *state = set;
    assert_int_equal(cc_mempool_set_min_seq(set), 0);
    assert_int_equal(cc_mempool_set_max_seq(set), 0);
    assert_int_equal(pending(set, "alice"), 0);
    cc_mempool_entry *first = add(set, 1, "alice", 5, 1);
    add(set, 2, "alice", 7, 2);
    add(set, 3, "bob", 11, 3);
    assert_int_equal(pending(set, "alice"), 12);
    assert_int_equal(pending(set, "bob"), 11);
    assert_int_equal(pending(set, "carol"), 0);

    cc_tx probe = payment(2, "alice", 7);
    assert_ptr_equal(cc_mempool_set_by_txid(set, probe.txid),
                     cc_mempool_set_by_msgid(set, probe.msgid));
    assert_true(cc_mempool_set_has(set, &probe));
    /* A payment with the same signed message but another txid (a second
     * signature) is the same payment; so is one with the same txid. */
    probe = payment(2, "alice", 7);
    probe.txid[10] = 'f';
    assert_true(cc_mempool_set_has(set, &probe));
    probe = payment(2, "alice", 7);
    probe.msgid[10] = 'f';
    assert_true(cc_mempool_set_has(set, &probe));
    probe = payment(9, "alice", 7);
    assert_false(cc_mempool_set_has(set, &probe));
    assert_null(cc_mempool_set_by_txid(set, probe.txid));
    /* An id is looked up as a txid or as a msgid, never as the other. */
    cc_tx one = payment(1, "alice", 5);
    assert_null(cc_mempool_set_by_txid(set, one.msgid));
    assert_null(cc_mempool_set_by_msgid(set, one.txid));

    cc_mempool_set_remove(set, first);
    assert_int_equal(pending(set, "alice"), 7);
    assert_false(cc_mempool_set_has(set, &one));
    assert_string_equal(order(set), "2 3");
    cc_mempool_set_remove(set, cc_mempool_set_by_txid(set, payment(2, "alice", 7).txid));
    assert_int_equal(pending(set, "alice"), 0);
    assert_int_equal(cc_mempool_set_count(set), 1);
}

static void test_rollback_puts_back_what_was_there(void **state)
{
    cc_mempool_set *set = cc_mempool_set_new();
    *state = set;
    add(set, 1, "alice", 5, 1);
    cc_mempool_entry *second = add(set, 2, "alice", 7, 2);
    add(set, 3, "bob", 11, 3);
    assert_int_equal(cc_mempool_set_depth(set), 0);

    cc_mempool_set_begin(set);
    add(set, 4, "carol", 1, 4);
    cc_mempool_set_remove(set, second);
    add(set, 5, "alice", 2, 0); /* a restore, in front */
    assert_string_equal(order(set), "5 1 3 4");
    assert_int_equal(pending(set, "alice"), 7);
    cc_mempool_set_rollback(set);

    assert_int_equal(cc_mempool_set_depth(set), 0);
    assert_string_equal(order(set), "1 2 3");
    assert_int_equal(pending(set, "alice"), 12);
    assert_int_equal(pending(set, "carol"), 0);
    /* The very entry that was removed is back. */
    assert_ptr_equal(cc_mempool_set_by_txid(set, payment(2, "alice", 7).txid), second);
    cc_tx gone = payment(4, "carol", 1);
    assert_false(cc_mempool_set_has(set, &gone));
}

static void test_nested_marks_follow_savepoints(void **state)
{
    cc_mempool_set *set = cc_mempool_set_new();
    *state = set;
    cc_mempool_entry *first = add(set, 1, "alice", 5, 1);

    cc_mempool_set_begin(set); /* the batch */
    add(set, 2, "bob", 3, 2);
    cc_mempool_set_begin(set); /* one change of it, refused */
    add(set, 3, "bob", 4, 3);
    cc_mempool_set_remove(set, first);
    assert_string_equal(order(set), "2 3");
    cc_mempool_set_rollback(set);
    assert_string_equal(order(set), "1 2");

    cc_mempool_set_begin(set); /* another change, kept */
    cc_mempool_set_remove(set, first);
    add(set, 4, "carol", 1, 4);
    cc_mempool_set_release(set);
    assert_int_equal(cc_mempool_set_depth(set), 1);
    assert_string_equal(order(set), "2 4");

    /* Undoing the batch undoes the change released inside it too. */
    cc_mempool_set_rollback(set);
    assert_string_equal(order(set), "1");
    assert_int_equal(pending(set, "alice"), 5);
    assert_int_equal(pending(set, "bob"), 0);

    /* Released at the outermost mark, a removal is for good. */
    cc_mempool_set_begin(set);
    add(set, 5, "dave", 2, 5);
    cc_mempool_set_remove(set, first);
    cc_mempool_set_release(set);
    assert_int_equal(cc_mempool_set_depth(set), 0);
    cc_mempool_set_rollback(set); /* nothing open: nothing to undo */
    assert_string_equal(order(set), "5");
}

static void test_added_then_removed_under_one_mark(void **state)
{
    cc_mempool_set *set = cc_mempool_set_new();
    *state = set;
    cc_mempool_set_begin(set);
    cc_mempool_entry *e = add(set, 1, "alice", 5, 1);
    cc_mempool_set_remove(set, e);
    cc_mempool_set_rollback(set);
    assert_int_equal(cc_mempool_set_count(set), 0);
    assert_int_equal(pending(set, "alice"), 0);

    cc_mempool_set_begin(set);
    e = add(set, 2, "alice", 5, 2);
    cc_mempool_set_remove(set, e);
    cc_mempool_set_release(set);
    assert_int_equal(cc_mempool_set_count(set), 0);

    /* Freed with a mark still open: what it holds is released (ASan). */
    cc_mempool_set_begin(set);
    add(set, 3, "bob", 1, 3);
    cc_mempool_set_remove(set, add(set, 4, "bob", 1, 4));
}

static void test_clone_is_frozen(void **state)
{
    cc_mempool_set *set = cc_mempool_set_new();
    *state = set;
    add(set, 1, "alice", 5, 1);
    add(set, 2, "bob", 3, 2);
    cc_mempool_set_begin(set);
    cc_mempool_set *copy = cc_mempool_set_clone(set);
    cc_mempool_set_remove(set, cc_mempool_set_by_txid(set, payment(1, "alice", 5).txid));
    add(set, 3, "carol", 1, 0);
    assert_string_equal(order(copy), "1 2");
    assert_int_equal(pending(copy, "alice"), 5);
    assert_int_equal(cc_mempool_set_depth(copy), 0);
    assert_string_equal(order(set), "3 2");
    /* The copy holds its own texts. */
    cc_mempool_set_release(set);
    assert_string_equal(cc_mempool_set_first(copy)->tx.text, "{\"payment\": 1}");
    cc_mempool_set_free(copy);
}

/* Many entries whose ids spread over the index, and others sharing their
 * first 16 digits (so they collide whatever the salt): after removing
 * every third one, each left is found by both ids and none removed is. */
static void test_many_entries_found_after_removals(void **state)
{
    cc_mempool_set *set = cc_mempool_set_new();
    *state = set;
    enum { N = 3000 };
    static cc_mempool_entry *entries[N];
    for (unsigned n = 0; n < N; n++) {
        cc_tx tx = payment(n, "alice", 1);
        if (n % 2 == 0) { /* spread: the leading digits differ */
            char lead[17];
            snprintf(lead, sizeof lead, "%016llx", (unsigned long long)n * 0x9e3779b97f4aULL);
            memcpy(tx.txid, lead, 16);
            memcpy(tx.msgid, lead, 16);
            tx.msgid[16] = 'c';
        }
        entries[n] = cc_mempool_set_add(set, &tx, n + 1);
    }
    char txids[N][65], msgids[N][65];
    for (unsigned n = 0; n < N; n++) {
        memcpy(txids[n], entries[n]->tx.txid, 65);
        memcpy(msgids[n], entries[n]->tx.msgid, 65);
    }
    for (unsigned n = 0; n < N; n += 3)
        cc_mempool_set_remove(set, entries[n]);
    for (unsigned n = 0; n < N; n++) {
        cc_mempool_entry *want = n % 3 == 0 ? NULL : entries[n];
        if (cc_mempool_set_by_txid(set, txids[n]) != want ||
            cc_mempool_set_by_msgid(set, msgids[n]) != want)
            fail_msg("payment %u: look-up wrong after removals", n);
    }
    assert_int_equal(cc_mempool_set_count(set), N - (N + 2) / 3);
    assert_int_equal(pending(set, "alice"), N - (N + 2) / 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_arrival_order_with_restores_in_front, free_set),
        cmocka_unit_test_teardown(test_lookups_and_pending_sums, free_set),
        cmocka_unit_test_teardown(test_rollback_puts_back_what_was_there, free_set),
        cmocka_unit_test_teardown(test_nested_marks_follow_savepoints, free_set),
        cmocka_unit_test_teardown(test_added_then_removed_under_one_mark, free_set),
        cmocka_unit_test_teardown(test_clone_is_frozen, free_set),
        cmocka_unit_test_teardown(test_many_entries_found_after_removals, free_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

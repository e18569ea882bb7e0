#include "chain/chain.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/store.h"
#include "util/mem.h"

/* Transactions per generation of the signature cache (chain/sig_cache.h):
 * a few pages of blocks being caught up with plus a full mempool. */
#define SIG_CACHE_CAPACITY (1u << 15)
/* Served block texts kept in memory (chain/text_cache.h): room for the
 * blocks near the tip that peers ask for while they spread; a few MB at
 * most, whatever the blocks' size. */
#define TEXT_CACHE_SLOTS 1024
#define TEXT_CACHE_BYTES (4u << 20)

/* ---- small store queries ----------------------------------------------- */

typedef struct stored_block {
    bool found;
    char prev[CC_HASH_HEX_LEN + 1];
    int64_t height;
    int status;
} stored_block;

/* STORED: passed the checks that need no chain context; VALID: passed every
 * rule on its own branch (connected to the best chain at least once, or
 * checked as a side branch); INVALID: broke one, or builds on one that did.
 * Only VALID blocks are ever served or listed. */
enum { STATUS_STORED = 0, STATUS_VALID = 1, STATUS_INVALID = 2 };

/* A side block whose branch leaves the best chain at most this far below
 * the tip is checked against its branch when it arrives (a trial
 * reorganisation, rolled back): competing blocks near the tip, the usual
 * fork, are then served and relayed like any other. A deeper fork waits,
 * unseen, until its branch is about to become the best: checking it at
 * once would let a peer make us replay deep forks for one proof of work. */
#define SIDE_CHECK_DEPTH 8

static bool block_lookup(cc_chain *chain, const char *hash, stored_block *out, cc_buf *text,
                         cc_err *err)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *stmt = store_stmt(chain, SQL_BLOCK_GET);
    store_bind_text(stmt, 1, hash);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        out->found = true;
        snprintf(out->prev, sizeof out->prev, "%s", (const char *)sqlite3_column_text(stmt, 0));
        out->height = sqlite3_column_int64(stmt, 1);
        out->status = sqlite3_column_int(stmt, 2);
        if (text) {
            cc_buf_reset(text);
            cc_buf_append(text, sqlite3_column_blob(stmt, 3), (size_t)sqlite3_column_bytes(stmt, 3));
        }
    }
    sqlite3_reset(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_db_fail(chain, err);
    return true;
}

static bool best_hash_at(cc_chain *chain, int64_t height, char out[CC_HASH_HEX_LEN + 1])
{
    sqlite3_stmt *stmt = store_stmt(chain, SQL_BEST_GET);
    sqlite3_bind_int64(stmt, 1, height);
    bool found = sqlite3_step(stmt) == SQLITE_ROW;
    if (found)
        snprintf(out, CC_HASH_HEX_LEN + 1, "%s", (const char *)sqlite3_column_text(stmt, 0));
    sqlite3_reset(stmt);
    return found;
}

static bool load_tip(cc_chain *chain, cc_err *err)
{
    sqlite3_stmt *stmt = store_stmt(chain, SQL_BEST_TIP);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        chain->height = sqlite3_column_int64(stmt, 0);
        snprintf(chain->tip, sizeof chain->tip, "%s", (const char *)sqlite3_column_text(stmt, 1));
    }
    sqlite3_reset(stmt);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? cc_fail(err, CC_ERR_INTERNAL, "database has no best chain")
                                 : store_db_fail(chain, err);
    return true;
}

/* Re-reads what the node caches from the database after a commit or a
 * rollback, so memory never disagrees with the truth on disk. */
static bool refresh_state(cc_chain *chain, cc_err *err)
{
    return load_tip(chain, err);
}

static bool set_status(cc_chain *chain, const char *hash, int status, cc_err *err)
{
    sqlite3_stmt *stmt = store_stmt(chain, SQL_BLOCK_SET_STATUS);
    store_bind_text(stmt, 1, hash);
    sqlite3_bind_int(stmt, 2, status);
    return store_run(chain, stmt, err);
}

/* ---- applying blocks to balances ---------------------------------------- */

static bool reward_repeated(const cc_block *block, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (block->txs[j].is_reward && strcmp(block->txs[j].txid, block->txs[i].txid) == 0)
            return true;
    return false;
}

/* Moves tx's amount (sign = +1 to apply, -1 to undo). */
static bool move_amount(cc_chain *chain, const cc_tx *tx, int sign, cc_err *err)
{
    mpq_t amount;
    mpq_init(amount);
    cc_amount_to_mpq(&tx->amount, amount);
    if (sign < 0)
        mpq_neg(amount, amount);
    bool ok = store_balance_add(chain, tx->to, amount, err);
    if (ok && !tx->is_reward) {
        mpq_neg(amount, amount);
        ok = store_balance_add(chain, tx->from, amount, err);
    }
    mpq_clear(amount);
    return ok;
}

static bool index_reward(cc_chain *chain, const cc_block *block, const cc_tx *tx, cc_err *err)
{
    sqlite3_stmt *stmt = store_stmt(chain, SQL_REWARD_ADD);
    store_bind_text(stmt, 1, tx->txid);
    store_bind_text(stmt, 2, block->hash);
    return store_run(chain, stmt, err);
}

static bool connect_tx(cc_chain *chain, const cc_block *block, size_t i, cc_err *err)
{
    const cc_tx *tx = &block->txs[i];
    if (tx->is_reward)
        return reward_repeated(block, i) ||
               (index_reward(chain, block, tx, err) &&
                key_index_add(chain, block->height, i, tx, err) &&
                move_amount(chain, tx, +1, err));
    if (store_tx_mined(chain, tx))
        return cc_refuse(err, CC_REFUSAL_PAYMENT_REPEATED,
                         "transaction %zu (%s) is already in the chain", i, tx->txid);
    mpq_t balance;
    mpq_init(balance);
    bool ok = store_balance_get(chain, tx->from, balance, err) &&
              store_check_affordable(tx, balance, err);
    mpq_clear(balance);
    if (!ok)
        return cc_err_prefix(err, "transaction %zu: ", i);
    sqlite3_stmt *stmt = store_stmt(chain, SQL_TXINDEX_ADD);
    store_bind_text(stmt, 1, tx->txid);
    store_bind_text(stmt, 2, tx->msgid);
    store_bind_text(stmt, 3, block->hash);
    if (!store_run(chain, stmt, err) || !key_index_add(chain, block->height, i, tx, err))
        return false;
    store_note_payment(chain, tx);
    return move_amount(chain, tx, +1, err);
}

static bool connect_block(cc_chain *chain, const cc_block *block, cc_err *err)
{
    for (size_t i = 0; i < block->n_txs; i++)
        if (!connect_tx(chain, block, i, err))
            return false;
    sqlite3_stmt *stmt = store_stmt(chain, SQL_BEST_SET);
    sqlite3_bind_int64(stmt, 1, block->height);
    store_bind_text(stmt, 2, block->hash);
    if (!store_run(chain, stmt, err) || !set_status(chain, block->hash, STATUS_VALID, err))
        return false;
    return mempool_drop_mined(chain, block, err);
}

/* Takes tx of block out of the txindex (a payment) or the reward index. */
static bool unindex_tx(cc_chain *chain, const cc_block *block, const cc_tx *tx, cc_err *err)
{
    sqlite3_stmt *stmt = store_stmt(chain, tx->is_reward ? SQL_REWARD_DEL : SQL_TXINDEX_DEL);
    store_bind_text(stmt, 1, tx->txid);
    store_bind_text(stmt, 2, block->hash);
    return store_run(chain, stmt, err);
}

static bool disconnect_block(cc_chain *chain, const cc_block *block, cc_err *err)
{
    for (size_t i = block->n_txs; i-- > 0;) {
        const cc_tx *tx = &block->txs[i];
        if (tx->is_reward && reward_repeated(block, i))
            continue;
        if (!move_amount(chain, tx, -1, err) || !unindex_tx(chain, block, tx, err) ||
            !key_index_remove(chain, block->height, i, tx, err))
            return false;
    }
    sqlite3_stmt *stmt = store_stmt(chain, SQL_BEST_DEL);
    sqlite3_bind_int64(stmt, 1, block->height);
    return store_run(chain, stmt, err);
}

/* Stored blocks passed every context-free check when they arrived; decoding
 * them again only rebuilds the structure. */
static bool load_block(cc_chain *chain, const char *hash, cc_block *out, cc_err *err)
{
    /* Callers clear out whatever happened, also when the lookup failed. */
    memset(out, 0, sizeof *out);
    cc_buf text = CC_BUF_INIT;
    stored_block info;
    bool ok = block_lookup(chain, hash, &info, &text, err);
    if (ok && !info.found)
        ok = cc_fail(err, CC_ERR_INTERNAL, "block %s missing from the store", hash);
    if (ok)
        ok = chain->rules->block_decode(text.data, text.len, out, err);
    cc_buf_free(&text);
    return ok;
}

/* ---- reorganisation ------------------------------------------------------ */

typedef struct tx_list {
    cc_tx *items;
    size_t n;
} tx_list;

static void tx_list_clear(tx_list *list)
{
    for (size_t i = 0; i < list->n; i++)
        cc_tx_clear(&list->items[i]);
    free(list->items);
    memset(list, 0, sizeof *list);
}

/* Puts block's payments in front of those already listed: blocks are
 * disconnected newest first, and the list must end up in chain order so
 * that a sender's older payment keeps its claim on the funds. */
static void tx_list_prepend_payments(tx_list *list, const cc_block *block)
{
    size_t n = 0;
    for (size_t i = 0; i < block->n_txs; i++)
        n += !block->txs[i].is_reward;
    list->items = cc_realloc(list->items, (list->n + n) * sizeof *list->items);
    memmove(list->items + n, list->items, list->n * sizeof *list->items);
    for (size_t i = 0, j = 0; i < block->n_txs; i++)
        if (!block->txs[i].is_reward)
            cc_tx_copy(&list->items[j++], &block->txs[i]);
    list->n += n;
}

/* A stored branch: the hashes from the best chain (excluded) to its tip,
 * oldest first, and the height of the best chain's block it forks from. */
typedef struct branch {
    char (*path)[CC_HASH_HEX_LEN + 1];
    size_t n;
    int64_t fork_height;
} branch;

static void branch_clear(branch *b)
{
    free(b->path);
    memset(b, 0, sizeof *b);
}

static bool walk_back(cc_chain *chain, const char *target, branch *out, cc_err *err)
{
    char hash[CC_HASH_HEX_LEN + 1];
    snprintf(hash, sizeof hash, "%s", target);
    for (;;) {
        stored_block info;
        if (!block_lookup(chain, hash, &info, NULL, err))
            return false;
        if (!info.found)
            return cc_fail(err, CC_ERR_INTERNAL, "branch broken at %s", hash);
        char best[CC_HASH_HEX_LEN + 1];
        if (best_hash_at(chain, info.height, best) && strcmp(best, hash) == 0) {
            out->fork_height = info.height;
            return true;
        }
        out->path = cc_realloc(out->path, (out->n + 1) * sizeof *out->path);
        memcpy(out->path[out->n++], hash, CC_HASH_HEX_LEN + 1);
        snprintf(hash, sizeof hash, "%s", info.prev);
    }
}

/* The branch ending at target; nothing to free on failure. */
static bool branch_of(cc_chain *chain, const char *target, branch *out, cc_err *err)
{
    memset(out, 0, sizeof *out);
    if (!walk_back(chain, target, out, err)) {
        branch_clear(out);
        return false;
    }
    for (size_t i = 0; i < out->n / 2; i++) {
        char swap[CC_HASH_HEX_LEN + 1];
        memcpy(swap, out->path[i], sizeof swap);
        memcpy(out->path[i], out->path[out->n - 1 - i], sizeof swap);
        memcpy(out->path[out->n - 1 - i], swap, sizeof swap);
    }
    return true;
}

/* Disconnects the best chain's block at height h (its payments to
 * abandoned). */
static bool disconnect_at(cc_chain *chain, int64_t h, tx_list *abandoned, size_t *depth,
                          cc_err *err)
{
    char hash[CC_HASH_HEX_LEN + 1];
    if (!best_hash_at(chain, h, hash))
        return cc_fail(err, CC_ERR_INTERNAL, "best chain has no block at %lld", (long long)h);
    cc_block block;
    if (!load_block(chain, hash, &block, err))
        return false;
    bool ok = disconnect_block(chain, &block, err);
    tx_list_prepend_payments(abandoned, &block);
    cc_block_clear(&block);
    *depth += ok;
    return ok;
}

static bool disconnect_to(cc_chain *chain, int64_t fork_height, tx_list *abandoned,
                          size_t *depth, cc_err *err)
{
    for (int64_t h = chain->height; h > fork_height; h--)
        if (!disconnect_at(chain, h, abandoned, depth, err))
            return false;
    return true;
}

/* Connects one block of the branch being activated. A rule broken (as
 * opposed to a database failure) names the block in bad; that verdict
 * must not depend on whether the caller asked for the error. */
static bool connect_stored(cc_chain *chain, const char *hash, const char *target,
                           char bad[CC_HASH_HEX_LEN + 1], cc_err *err)
{
    cc_block block;
    cc_err why = {0};
    bool ok = load_block(chain, hash, &block, &why);
    if (ok && !connect_block(chain, &block, &why)) {
        ok = false;
        if (why.code == CC_ERR_BAD_REQUEST) {
            memcpy(bad, hash, CC_HASH_HEX_LEN + 1);
            if (strcmp(hash, target) != 0)
                cc_err_prefix(&why, "earlier block %s on its branch: ", hash);
        }
    }
    cc_block_clear(&block);
    if (!ok && err)
        *err = why;
    return ok;
}

/* Undoes the best chain down to fork_height and connects path (oldest
 * first) in its place; the abandoned blocks' payments go to abandoned. On
 * failure *bad names the block that broke the rules (empty for database
 * failures); the caller rolls back. */
static bool switch_branch(cc_chain *chain, const branch *b, tx_list *abandoned, size_t *depth,
                          char bad[CC_HASH_HEX_LEN + 1], cc_err *err)
{
    bad[0] = '\0';
    bool ok = disconnect_to(chain, b->fork_height, abandoned, depth, err);
    for (size_t i = 0; ok && i < b->n; i++)
        ok = connect_stored(chain, b->path[i], b->path[b->n - 1], bad, err);
    return ok;
}

/* Connects the branch ending at target in place of the best chain's blocks
 * above the fork. On failure *bad names the block that broke the rules
 * (empty for database failures); the caller rolls back. */
static bool activate(cc_chain *chain, const char *target, size_t *depth,
                     char bad[CC_HASH_HEX_LEN + 1], cc_err *err)
{
    bad[0] = '\0';
    branch b;
    if (!branch_of(chain, target, &b, err))
        return false;
    tx_list abandoned = {0};
    bool ok = switch_branch(chain, &b, &abandoned, depth, bad, err) &&
              mempool_restore(chain, abandoned.items, abandoned.n, err);
    tx_list_clear(&abandoned);
    branch_clear(&b);
    return ok;
}

/* What activate does for the common case, a block on the tip: connected
 * as it was decoded, without walking back to the tip and reading the
 * block back from the store. */
static bool extend_tip(cc_chain *chain, const cc_block *block, char bad[CC_HASH_HEX_LEN + 1],
                       cc_err *err)
{
    bad[0] = '\0';
    cc_err why = {0};
    if (!connect_block(chain, block, &why)) {
        if (why.code == CC_ERR_BAD_REQUEST)
            memcpy(bad, block->hash, CC_HASH_HEX_LEN + 1);
        if (err)
            *err = why;
        return false;
    }
    /* its payments may leave waiting ones of the same senders unfunded;
     * the count only ever errs high (mined ones are deleted uncounted) */
    return cc_mempool_set_count(chain->mempool) == 0 || mempool_restore(chain, NULL, 0, err);
}

/* Connects path as a trial inside a savepoint that is always rolled back:
 * the best chain, balances and mempool end as they were. */
static bool try_branch(cc_chain *chain, const branch *b, char bad[CC_HASH_HEX_LEN + 1],
                       cc_err *err)
{
    if (!store_trial_begin(chain, err))
        return false;
    tx_list abandoned = {0};
    size_t depth = 0;
    bool ok = switch_branch(chain, b, &abandoned, &depth, bad, err);
    tx_list_clear(&abandoned);
    if (!store_trial_end(chain, ok ? err : NULL))
        return false;
    return ok;
}

/* A side block just stored (inside the caller's transaction): checked
 * against its branch when the fork is shallow, and then its branch is
 * marked valid (*checked). False with *bad set when a rule is broken;
 * a deep fork is left unchecked (true, *checked false). */
static bool check_side(cc_chain *chain, const char *hash, bool *checked,
                       char bad[CC_HASH_HEX_LEN + 1], cc_err *err)
{
    *checked = false;
    bad[0] = '\0';
    branch b;
    if (!branch_of(chain, hash, &b, err))
        return false;
    bool ok = true;
    if (chain->height - b.fork_height <= SIDE_CHECK_DEPTH) {
        ok = try_branch(chain, &b, bad, err);
        for (size_t i = 0; ok && i < b.n; i++)
            ok = set_status(chain, b.path[i], STATUS_VALID, err);
        *checked = ok;
    }
    branch_clear(&b);
    return ok;
}

/* Marks hash and every stored descendant invalid (inside the caller's
 * transaction). */
static bool mark_invalid(cc_chain *chain, const char *hash, cc_err *err)
{
    char(*queue)[CC_HASH_HEX_LEN + 1] = cc_malloc(sizeof *queue);
    size_t head = 0, tail = 0, cap = 1;
    memcpy(queue[tail++], hash, CC_HASH_HEX_LEN + 1);
    bool ok = true;
    while (ok && head < tail) {
        char current[CC_HASH_HEX_LEN + 1];
        memcpy(current, queue[head++], sizeof current);
        ok = set_status(chain, current, STATUS_INVALID, err);
        sqlite3_stmt *stmt = store_stmt(chain, SQL_BLOCK_CHILDREN);
        store_bind_text(stmt, 1, current);
        int rc = SQLITE_DONE;
        while (ok && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
            if (tail == cap)
                queue = cc_realloc(queue, (cap *= 2) * sizeof *queue);
            snprintf(queue[tail++], CC_HASH_HEX_LEN + 1, "%s",
                     (const char *)sqlite3_column_text(stmt, 0));
        }
        sqlite3_reset(stmt);
        ok = ok && (rc == SQLITE_DONE || store_db_fail(chain, err));
    }
    free(queue);
    return ok;
}

static bool insert_block(cc_chain *chain, const cc_block *block, cc_err *err)
{
    sqlite3_stmt *stmt = store_stmt(chain, SQL_BLOCK_INSERT);
    store_bind_text(stmt, 1, block->hash);
    store_bind_text(stmt, 2, block->prev);
    sqlite3_bind_int64(stmt, 3, block->height);
    /* A rolled-back insert leaves a gap in seq, which only orders. */
    sqlite3_bind_int64(stmt, 4, chain->next_block_seq++);
    sqlite3_bind_blob(stmt, 5, block->text, (int)block->text_len, SQLITE_STATIC);
    return store_run(chain, stmt, err);
}

/* After a branch failed at block bad (block itself or one of its
 * ancestors), and the attempt was rolled back: stores block and marks bad
 * and everything built on it invalid, in a transaction of its own. Such a
 * block stays invalid whatever happens later (its branch is fixed by its
 * ancestry), so sending it or a child again is refused at once instead of
 * redoing the reorganisation. */
static void remember_invalid(cc_chain *chain, const cc_block *block, const char *bad)
{
    if (!store_begin(chain, NULL))
        return;
    bool ok = insert_block(chain, block, NULL) && mark_invalid(chain, bad, NULL);
    if (!ok || !store_commit(chain, NULL))
        store_rollback(chain);
}

/* ---- deep reorganisations, in steps ---------------------------------------
 *
 * A reorganisation deeper than reorg_inline_max blocks would hold the
 * caller's thread (the event loop) for as long as it takes to undo and
 * apply every block. Instead the new tip is stored (committed, unchecked)
 * and the switch runs in steps of a few blocks, which the caller drives
 * (cc_chain_reorg_step), all of them one SQLite transaction on db. Between
 * steps, reads go to the view connection, whose snapshot is the state
 * before the switch: it agrees with the tip, height and mempool count held
 * in memory, which change only when the switch commits. Changes wait:
 * they are refused (CC_ERR_UNAVAILABLE) until it ends. */

typedef struct chain_reorg {
    char target[CC_HASH_HEX_LEN + 1];
    branch branch;       /* the blocks to apply */
    size_t next;         /* the next of them */
    int64_t undo_height; /* the best chain's block to undo next */
    tx_list abandoned;
    size_t depth;
    bool restoring;    /* the abandoned payments are being put back */
    size_t restored;   /* abandoned.items[0..restored) are */
    int64_t first_seq; /* the arrival order of the first */
    char bad[CC_HASH_HEX_LEN + 1];
} chain_reorg;

/* Abandoned payments put back in the mempool for one block of a step's
 * budget: a payment costs a fraction of a block. */
#define RESTORE_PER_BLOCK 16

static void reorg_free(chain_reorg *r)
{
    if (!r)
        return;
    tx_list_clear(&r->abandoned);
    branch_clear(&r->branch);
    free(r);
}

bool chain_writable(const cc_chain *chain, cc_err *err)
{
    if (!chain->reorg)
        return true;
    const chain_reorg *r = chain->reorg;
    size_t total = (size_t)(chain->height - r->branch.fork_height) + r->branch.n;
    size_t done = (size_t)(chain->height - r->undo_height) + r->next;
    return cc_fail(err, CC_ERR_UNAVAILABLE,
                   "The chain is switching to a longer branch (%zu of %zu blocks done); "
                   "try again in a moment", done, total);
}

/* A plan (*out) when making target the tip is a reorganisation to run in
 * steps; NULL when it is done at once. */
static bool plan_reorg(cc_chain *chain, const char *target, chain_reorg **out, cc_err *err)
{
    *out = NULL;
    if (chain->in_batch || chain->reorg_inline_max == 0)
        return true;
    branch b;
    if (!branch_of(chain, target, &b, err))
        return false;
    if ((size_t)(chain->height - b.fork_height) <= chain->reorg_inline_max) {
        branch_clear(&b);
        return true;
    }
    chain_reorg *r = cc_calloc(1, sizeof *r);
    memcpy(r->target, target, sizeof r->target);
    r->branch = b;
    r->undo_height = chain->height;
    *out = r;
    return true;
}

/* Called once the planned tip is committed. Should the view or the
 * transaction not start, the switch is made at once instead. */
static bool start_reorg(cc_chain *chain, chain_reorg *r, cc_block_result *res, cc_err *err)
{
    res->outcome = CC_BLOCK_SIDE;
    res->reorg_pending = true;
    cc_err why = {0};
    bool viewed = store_view_begin(chain, &why);
    if (viewed && store_txn_begin(chain, &why)) {
        chain->reorg = r;
        chain->mempool_frozen = cc_mempool_set_clone(chain->mempool);
        cc_info(chain->log, "switching to the branch of %s: %lld blocks to undo, %zu to apply, "
                "in steps", r->target, (long long)(chain->height - r->branch.fork_height), r->branch.n);
        return true;
    }
    if (viewed)
        store_view_end(chain);
    cc_warn(chain->log, "switching to %s at once: %s", r->target, why.msg);
    if (!store_txn_begin(chain, err)) {
        reorg_free(r);
        return false;
    }
    chain->reorg = r;
    bool done = false;
    while (!done)
        if (!cc_chain_reorg_step(chain, SIZE_MAX, &done, res, err))
            return false;
    return true;
}

/* One block of the switch: the next to undo, or else the next to apply. */
static bool reorg_one(cc_chain *chain, chain_reorg *r, cc_err *err)
{
    if (r->undo_height > r->branch.fork_height)
        return disconnect_at(chain, r->undo_height--, &r->abandoned, &r->depth, err);
    return connect_stored(chain, r->branch.path[r->next++], r->target, r->bad, err);
}

static bool reorg_applied(const chain_reorg *r)
{
    return r->undo_height == r->branch.fork_height && r->next == r->branch.n;
}

static bool reorg_finished(const chain_reorg *r)
{
    return reorg_applied(r) && r->restoring && r->restored == r->abandoned.n;
}

/* Up to budget blocks undone or applied, then what is left of the budget
 * spent on putting abandoned payments back. */
static bool reorg_work(cc_chain *chain, chain_reorg *r, size_t budget, cc_err *err)
{
    for (; budget > 0 && !reorg_applied(r); budget--)
        if (!reorg_one(chain, r, err))
            return false;
    if (budget == 0 || !reorg_applied(r))
        return true;
    if (!r->restoring) {
        r->first_seq = mempool_restore_begin(chain, r->abandoned.n);
        r->restoring = true;
    }
    size_t room = budget > SIZE_MAX / RESTORE_PER_BLOCK ? SIZE_MAX : budget * RESTORE_PER_BLOCK;
    size_t left = r->abandoned.n - r->restored;
    size_t to = r->restored + (left < room ? left : room);
    if (!mempool_restore_some(chain, r->abandoned.items, r->restored, to, r->first_seq, err))
        return false;
    r->restored = to;
    return true;
}

static void adopt_orphans(cc_chain *chain, const char *parent, cc_block_result *res);

/* The switch is over (committed, or rolled back by the caller): reads go
 * back to db and memory follows the database. */
static chain_reorg *reorg_end(cc_chain *chain)
{
    chain_reorg *r = chain->reorg;
    store_view_end(chain);
    cc_mempool_set_free(chain->mempool_frozen);
    chain->mempool_frozen = NULL;
    chain->reorg = NULL;
    refresh_state(chain, NULL);
    return r;
}

static bool reorg_failed(cc_chain *chain, cc_block_result *res, cc_err *err)
{
    store_txn_rollback(chain);
    chain_reorg *r = reorg_end(chain);
    res->outcome = CC_BLOCK_SIDE;
    memcpy(res->hash, r->target, sizeof res->hash);
    /* The branch stays stored; a rule broken on it marks it invalid for
     * good, so that it is never tried again. */
    if (r->bad[0] && store_begin(chain, NULL)) {
        if (mark_invalid(chain, r->bad, NULL))
            store_commit(chain, NULL);
        else
            store_rollback(chain);
    }
    cc_err_prefix(err, "switching to the branch of %s: ", r->target);
    cc_warn(chain->log, "%s", err ? err->msg : "switching to a branch failed");
    reorg_free(r);
    return false;
}

static void reorg_done(cc_chain *chain, cc_block_result *res)
{
    chain_reorg *r = reorg_end(chain);
    chain->generation++;
    res->outcome = CC_BLOCK_NEW_TIP;
    memcpy(res->hash, r->target, sizeof res->hash);
    res->height = chain->height;
    res->tip_changed = true;
    res->checked = true;
    res->reorg_depth = r->depth;
    cc_info(chain->log, "switched to the branch of %s: %zu blocks undone, %zu applied",
            r->target, r->depth, r->branch.n);
    adopt_orphans(chain, r->target, res);
    reorg_free(r);
}

bool cc_chain_reorg_pending(const cc_chain *chain) { return chain->reorg != NULL; }

bool cc_chain_reorg_step(cc_chain *chain, size_t max_blocks, bool *done, cc_block_result *res,
                         cc_err *err)
{
    memset(res, 0, sizeof *res);
    *done = chain->reorg == NULL;
    if (*done)
        return true;
    chain_reorg *r = chain->reorg;
    cc_err why = {0};
    chain->in_reorg_step = true;
    bool ok = reorg_work(chain, r, max_blocks, &why);
    bool applied = ok && reorg_finished(r);
    if (applied)
        ok = mempool_restore_end(chain, &why) && store_txn_commit(chain, &why);
    chain->in_reorg_step = false;
    if (!ok) {
        if (err)
            *err = why;
        return reorg_failed(chain, res, err);
    }
    if (applied) {
        reorg_done(chain, res);
        *done = true;
    }
    return true;
}

/* ---- orphans -------------------------------------------------------------- */

static bool orphan_known(const cc_chain *chain, const char *hash)
{
    for (size_t i = 0; i < chain->n_orphans; i++)
        if (strcmp(chain->orphans[i].hash, hash) == 0)
            return true;
    return false;
}

static void orphan_add(cc_chain *chain, const cc_block *block)
{
    if (chain->max_orphans == 0)
        return;
    if (chain->n_orphans == chain->max_orphans) {
        free(chain->orphans[0].text);
        memmove(chain->orphans, chain->orphans + 1, --chain->n_orphans * sizeof *chain->orphans);
    }
    orphan *o = &chain->orphans[chain->n_orphans++];
    memcpy(o->hash, block->hash, sizeof o->hash);
    memcpy(o->prev, block->prev, sizeof o->prev);
    o->text = cc_strndup(block->text, block->text_len);
    o->len = block->text_len;
}

/* Removes and returns one orphan whose parent is hash (caller frees text). */
static bool orphan_take_child(cc_chain *chain, const char *hash, orphan *out)
{
    for (size_t i = 0; i < chain->n_orphans; i++) {
        if (strcmp(chain->orphans[i].prev, hash) != 0)
            continue;
        *out = chain->orphans[i];
        memmove(chain->orphans + i, chain->orphans + i + 1,
                (--chain->n_orphans - i) * sizeof *chain->orphans);
        return true;
    }
    return false;
}

/* ---- submitting blocks ----------------------------------------------------- */

bool chain_tx_signature_ok(cc_chain *chain, const cc_tx *tx)
{
    if (cc_sig_cache_has(chain->verified, tx->txid))
        return true;
    if (!chain->rules->tx_verify(tx))
        return false;
    cc_sig_cache_add(chain->verified, tx->txid);
    return true;
}

static bool verify_signatures(cc_chain *chain, const cc_block *block, cc_err *err)
{
    for (size_t i = 0; i < block->n_txs; i++)
        if (!chain_tx_signature_ok(chain, &block->txs[i]))
            return cc_refuse(err, CC_REFUSAL_BAD_SIGNATURE, "transaction %zu: invalid signature",
                             i);
    return true;
}

static bool check_parent(cc_chain *chain, const cc_block *block, bool *parent_known,
                         cc_err *err)
{
    stored_block parent = {.found = true, .status = STATUS_VALID, .height = chain->height};
    /* the tip, the parent of most blocks, is known and valid without a look */
    if (strcmp(block->prev, chain->tip) != 0 &&
        !block_lookup(chain, block->prev, &parent, NULL, err))
        return false;
    *parent_known = parent.found;
    if (!parent.found)
        return true;
    if (parent.status == STATUS_INVALID)
        return cc_refuse(err, CC_REFUSAL_INVALID_PARENT, "Block builds on an invalid block");
    if (block->height != parent.height + 1)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "nr must be %lld (its parent's nr + 1)",
                       (long long)parent.height + 1);
    return true;
}

static bool store_block(cc_chain *chain, const cc_block *block, cc_block_result *res,
                        cc_err *err)
{
    if (!store_begin(chain, err))
        return false;
    bool ok = insert_block(chain, block, err);
    char bad[CC_HASH_HEX_LEN + 1] = "";
    bool extends = block->height > chain->height;
    chain_reorg *later = NULL;
    bool on_tip = extends && strcmp(block->prev, chain->tip) == 0;
    if (ok && extends && !on_tip)
        ok = plan_reorg(chain, block->hash, &later, err);
    if (ok && on_tip)
        ok = extend_tip(chain, block, bad, err);
    else if (ok && extends && !later)
        ok = activate(chain, block->hash, &res->reorg_depth, bad, err);
    else if (ok && !extends)
        ok = check_side(chain, block->hash, &res->checked, bad, err);
    if (ok && later && store_commit(chain, err))
        return start_reorg(chain, later, res, err);
    if (ok && !later && store_commit(chain, err)) {
        res->outcome = extends ? CC_BLOCK_NEW_TIP : CC_BLOCK_SIDE;
        if (extends) {
            res->checked = true;
            res->tip_changed = true;
            chain->generation++;
        }
        return refresh_state(chain, err);
    }
    store_rollback(chain);
    reorg_free(later);
    if (bad[0])
        remember_invalid(chain, block, bad);
    res->reorg_depth = 0;
    res->checked = false;
    refresh_state(chain, NULL);
    return false;
}

static bool submit_decoded(cc_chain *chain, cc_block *block, cc_block_result *res,
                           cc_err *err);

static void adopt_orphans(cc_chain *chain, const char *parent, cc_block_result *res)
{
    orphan child;
    while (orphan_take_child(chain, parent, &child)) {
        cc_block block;
        cc_err why;
        cc_block_result child_res = {0};
        if (chain->rules->block_decode(child.text, child.len, &block, &why) &&
            submit_decoded(chain, &block, &child_res, &why)) {
            res->tip_changed = res->tip_changed || child_res.tip_changed;
            res->reorg_depth += child_res.reorg_depth;
        } else {
            cc_info(chain->log, "orphan %s refused: %s", child.hash, why.msg);
        }
        cc_block_clear(&block);
        free(child.text);
    }
}

static bool submit_decoded(cc_chain *chain, cc_block *block, cc_block_result *res,
                           cc_err *err)
{
    memcpy(res->hash, block->hash, sizeof res->hash);
    res->height = block->height;
    stored_block known;
    if (!block_lookup(chain, block->hash, &known, NULL, err))
        return false;
    if (known.found && known.status == STATUS_INVALID)
        return cc_refuse(err, CC_REFUSAL_KNOWN_INVALID,
                         "Block already exists: it was found invalid");
    if (known.found || orphan_known(chain, block->hash) || block->height == 0)
        return cc_refuse(err, CC_REFUSAL_DUPLICATE, "Block already exists");
    if (!verify_signatures(chain, block, err))
        return false;
    bool parent_known;
    if (!check_parent(chain, block, &parent_known, err))
        return false;
    if (!parent_known) {
        orphan_add(chain, block);
        res->outcome = CC_BLOCK_ORPHAN;
        memcpy(res->missing_parent, block->prev, sizeof res->missing_parent);
        return true;
    }
    bool stored = store_block(chain, block, res, err);
    /* A switch under way adopts them when it is done. */
    if (chain->reorg)
        return stored;
    /* Orphans waiting for this block are settled now: connected when it was
     * stored, refused when it was remembered as invalid. After a database
     * failure it is not stored and they keep waiting. */
    stored_block after;
    if (stored || (block_lookup(chain, block->hash, &after, NULL, NULL) && after.found))
        adopt_orphans(chain, block->hash, res);
    return stored;
}

bool cc_chain_block_known(cc_chain *chain, const cc_block *block)
{
    stored_block known;
    if (!block_lookup(chain, block->hash, &known, NULL, NULL))
        return false; /* the submission will say why */
    return known.found || orphan_known(chain, block->hash) || block->height == 0;
}

bool cc_chain_submit_block(cc_chain *chain, const char *text, size_t len, cc_block_result *res,
                           cc_err *err)
{
    memset(res, 0, sizeof *res);
    if (!chain_writable(chain, err))
        return false;
    cc_block block;
    if (!chain->rules->block_decode(text, len, &block, err))
        return false;
    bool ok = submit_decoded(chain, &block, res, err);
    cc_block_clear(&block);
    return ok;
}

bool cc_chain_submit_decoded(cc_chain *chain, cc_block *block, cc_block_result *res,
                             cc_err *err)
{
    memset(res, 0, sizeof *res);
    return chain_writable(chain, err) && submit_decoded(chain, block, res, err);
}

/* ---- opening ----------------------------------------------------------------- */

static bool store_genesis(cc_chain *chain, cc_err *err)
{
    const cc_rules *rules = chain->rules;
    char best[CC_HASH_HEX_LEN + 1];
    if (best_hash_at(chain, 0, best))
        return strcmp(best, rules->genesis_hash) == 0
                   ? true
                   : cc_fail(err, CC_ERR_INTERNAL, "database belongs to another network");
    if (!store_begin(chain, err))
        return false;
    sqlite3_stmt *stmt = store_stmt(chain, SQL_BLOCK_INSERT);
    store_bind_text(stmt, 1, rules->genesis_hash);
    store_bind_text(stmt, 2, "");
    sqlite3_bind_int64(stmt, 3, 0);
    sqlite3_bind_int64(stmt, 4, 0);
    sqlite3_bind_blob(stmt, 5, rules->genesis_text, (int)strlen(rules->genesis_text),
                      SQLITE_STATIC);
    bool ok = store_run(chain, stmt, err) &&
              set_status(chain, rules->genesis_hash, STATUS_VALID, err);
    stmt = store_stmt(chain, SQL_BEST_SET);
    sqlite3_bind_int64(stmt, 1, 0);
    store_bind_text(stmt, 2, rules->genesis_hash);
    ok = ok && store_run(chain, stmt, err) && store_commit(chain, err);
    if (!ok)
        store_rollback(chain);
    return ok;
}

/* The indexes of one best-chain block that a database made before them
 * lacks. */
static bool backfill_block(cc_chain *chain, const cc_block *block, cc_err *err)
{
    for (size_t i = 0; i < block->n_txs; i++) {
        const cc_tx *tx = &block->txs[i];
        if (tx->is_reward && reward_repeated(block, i))
            continue;
        if (tx->is_reward && chain->reward_index_new && !index_reward(chain, block, tx, err))
            return false;
        if (chain->key_index_new && !key_index_add(chain, block->height, i, tx, err))
            return false;
    }
    return true;
}

/* A database made before the reward index or the key index (or a new
 * one): the best chain's blocks are indexed once, in one transaction with
 * the version that says so, so a crash half-way leaves it to the next
 * start. The genesis is left out, as connecting blocks leaves it out: it
 * moves no balance. */
static bool backfill_indexes(cc_chain *chain, cc_err *err)
{
    if (!chain->reward_index_new && !chain->key_index_new)
        return true;
    if (chain->height > 0)
        cc_info(chain->log, "indexing the %s of %lld blocks",
                chain->reward_index_new ? "rewards and keys" : "keys", (long long)chain->height);
    if (!store_begin(chain, err))
        return false;
    /* until the version says it is filled, whatever the table holds is
     * not trusted */
    bool ok = !chain->key_index_new || store_run(chain, store_stmt(chain, SQL_KEYTX_CLEAR), err);
    for (int64_t h = 1; ok && h <= chain->height; h++) {
        char hash[CC_HASH_HEX_LEN + 1];
        if (!best_hash_at(chain, h, hash)) {
            ok = cc_fail(err, CC_ERR_INTERNAL, "best chain has no block at %lld", (long long)h);
            break;
        }
        cc_block block;
        ok = load_block(chain, hash, &block, err) && backfill_block(chain, &block, err);
        cc_block_clear(&block);
    }
    char version[40];
    snprintf(version, sizeof version, "PRAGMA user_version=%d", STORE_VERSION_KEYS);
    if (ok && store_exec(chain, version, err) && store_commit(chain, err)) {
        chain->reward_index_new = false;
        chain->key_index_new = false;
        return true;
    }
    store_rollback(chain);
    return false;
}

/* A node stopped while switching to a longer branch comes back on the old
 * one with the longer branch's tip stored: the switch is made at opening,
 * at once (nobody waits yet). A branch that breaks a rule is marked
 * invalid and the old one stays. */
static bool finish_interrupted_switch(cc_chain *chain, cc_err *err)
{
    sqlite3_stmt *stmt = store_stmt(chain, SQL_BLOCK_LONGEST_UNCHECKED);
    sqlite3_bind_int64(stmt, 1, chain->height);
    char target[CC_HASH_HEX_LEN + 1] = "";
    if (sqlite3_step(stmt) == SQLITE_ROW)
        snprintf(target, sizeof target, "%s", (const char *)sqlite3_column_text(stmt, 0));
    sqlite3_reset(stmt);
    if (!target[0])
        return true;
    char bad[CC_HASH_HEX_LEN + 1] = "";
    size_t depth = 0;
    cc_info(chain->log, "finishing the switch to the branch of %s", target);
    bool ok = store_begin(chain, err) && activate(chain, target, &depth, bad, NULL);
    if (ok)
        return store_commit(chain, err) && refresh_state(chain, err);
    store_rollback(chain);
    if (bad[0] && store_begin(chain, err)) {
        if (!mark_invalid(chain, bad, err) || !store_commit(chain, err)) {
            store_rollback(chain);
            return false;
        }
    }
    return refresh_state(chain, err);
}

cc_chain *cc_chain_open(const cc_chain_config *config, cc_err *err)
{
    cc_chain *chain = cc_calloc(1, sizeof *chain);
    chain->rules = config->rules;
    chain->log = config->log;
    chain->max_orphans = config->max_orphans;
    chain->max_mempool = config->max_mempool;
    chain->reorg_inline_max = config->reorg_inline_max;
    chain->orphans = cc_calloc(config->max_orphans ? config->max_orphans : 1, sizeof(orphan));
    chain->verified = cc_sig_cache_new(SIG_CACHE_CAPACITY);
    chain->served = cc_text_cache_new(TEXT_CACHE_SLOTS, TEXT_CACHE_BYTES);
    chain->mempool = cc_mempool_set_new();
    if (!store_open(chain, config->db_path, err) || !store_genesis(chain, err) ||
        !load_tip(chain, err) || !backfill_indexes(chain, err) ||
        !mempool_load(chain, err) || !store_known_rebuild(chain, err)) {
        cc_chain_close(chain);
        return NULL;
    }
    chain->next_block_seq = store_query_int(chain, SQL_SEQ_MAX) + 1;
    if (!finish_interrupted_switch(chain, err)) {
        cc_chain_close(chain);
        return NULL;
    }
    return chain;
}

void cc_chain_close(cc_chain *chain)
{
    if (!chain)
        return;
    if (chain->reorg) {
        /* Unfinished: nothing of it was committed, the new tip stays stored
         * and the switch is made again when a block builds on it. */
        store_txn_rollback(chain);
        reorg_free(reorg_end(chain));
    }
    store_close(chain);
    for (size_t i = 0; i < chain->n_orphans; i++)
        free(chain->orphans[i].text);
    free(chain->orphans);
    cc_sig_cache_free(chain->verified);
    cc_text_cache_free(chain->served);
    cc_id_filter_free(chain->known);
    cc_mempool_set_free(chain->mempool);
    free(chain);
}

bool cc_chain_batch_begin(cc_chain *chain, cc_err *err)
{
    if (!chain_writable(chain, err))
        return false;
    if (chain->in_batch)
        return cc_fail(err, CC_ERR_INTERNAL, "a batch is already open");
    if (!store_txn_begin(chain, err))
        return false;
    chain->in_batch = true;
    return true;
}

bool cc_chain_batch_end(cc_chain *chain, cc_err *err)
{
    if (!chain->in_batch)
        return true;
    chain->in_batch = false;
    if (store_txn_commit(chain, err))
        return true;
    /* Nothing of the batch is kept: the state in memory follows the
     * database back. */
    store_txn_rollback(chain);
    refresh_state(chain, NULL);
    return false;
}

bool cc_chain_signature_known(const cc_chain *chain, const cc_tx *tx)
{
    return tx->is_reward || cc_sig_cache_has(chain->verified, tx->txid);
}

void cc_chain_note_verified(cc_chain *chain, const cc_tx *tx)
{
    cc_sig_cache_add(chain->verified, tx->txid);
}

/* ---- reading ---------------------------------------------------------------------- */

int64_t cc_chain_height(const cc_chain *chain) { return chain->height; }
const char *cc_chain_tip(const cc_chain *chain) { return chain->tip; }
uint64_t cc_chain_tip_generation(const cc_chain *chain) { return chain->generation; }

bool cc_chain_block_text(cc_chain *chain, const char *hash, cc_buf *out, cc_err *err)
{
    cc_buf_reset(out);
    if (cc_text_cache_get(chain->served, hash, out))
        return true;
    stored_block info;
    if (!block_lookup(chain, hash, &info, out, err))
        return false;
    if (!info.found || info.status != STATUS_VALID) {
        cc_buf_reset(out); /* only a block checked on its branch is an answer */
        return cc_fail(err, CC_ERR_NOT_FOUND, "Block not found");
    }
    /* Inside an open transaction the status read may yet be rolled back;
     * only what is committed is remembered. */
    if (sqlite3_get_autocommit(chain->db))
        cc_text_cache_put(chain->served, hash, out->data, out->len);
    return true;
}

bool cc_chain_write_all(cc_chain *chain, cc_buf *out, cc_err *err)
{
    sqlite3_stmt *stmt = store_stmt(chain, SQL_BLOCK_ALL);
    cc_buf_puts(out, "{\"chain\": [");
    int64_t current = -1;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        int64_t height = sqlite3_column_int64(stmt, 0);
        if (height != current)
            cc_buf_puts(out, current < 0 ? "[" : "], [");
        else
            cc_buf_puts(out, ", ");
        current = height;
        cc_buf_append(out, sqlite3_column_blob(stmt, 1), (size_t)sqlite3_column_bytes(stmt, 1));
    }
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE)
        return store_db_fail(chain, err);
    cc_buf_puts(out, current < 0 ? "]}" : "]]}");
    return true;
}

static bool on_best_chain(cc_chain *chain, const char *hash, int64_t height)
{
    char best[CC_HASH_HEX_LEN + 1];
    return best_hash_at(chain, height, best) && strcmp(best, hash) == 0;
}

/* Appends ", <text>" for the best-chain blocks above height within page;
 * bytes is the block text the page holds already. Rows stream from the
 * best table (ordered by its key, so SQLite sorts nothing): stopping early
 * costs nothing and the chain is never read whole. */
static bool append_best_after(cc_chain *chain, int64_t height, const cc_chain_page *page,
                              size_t bytes, cc_buf *out, cc_err *err)
{
    sqlite3_stmt *stmt = store_stmt(chain, SQL_BEST_FROM);
    sqlite3_bind_int64(stmt, 1, height);
    size_t blocks = 0;
    int rc = SQLITE_DONE;
    while (blocks < page->max_blocks && (blocks == 0 || bytes < page->max_bytes) &&
           (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        size_t len = (size_t)sqlite3_column_bytes(stmt, 0);
        cc_buf_puts(out, ", ");
        cc_buf_append(out, sqlite3_column_blob(stmt, 0), len);
        blocks++;
        bytes += len;
    }
    sqlite3_reset(stmt);
    return rc == SQLITE_DONE || rc == SQLITE_ROW || store_db_fail(chain, err);
}

/* Writes `{"chain": [H, ...]` (H, then the best-chain blocks after it when
 * H is on the best chain) and leaves the object open: callers differ in
 * what they add before closing it. */
static bool write_page_open(cc_chain *chain, const char *hash, const cc_chain_page *page,
                            cc_buf *out, cc_err *err)
{
    cc_buf first = CC_BUF_INIT;
    stored_block info;
    bool ok = block_lookup(chain, hash, &info, &first, err);
    if (ok && (!info.found || info.status != STATUS_VALID))
        ok = cc_fail(err, CC_ERR_NOT_FOUND, "Block not found");
    if (ok) {
        cc_buf_puts(out, "{\"chain\": [");
        cc_buf_append(out, first.data, first.len);
        int64_t after = on_best_chain(chain, hash, info.height) ? info.height : INT64_MAX;
        ok = append_best_after(chain, after, page, first.len, out, err);
        cc_buf_puts(out, "]");
    }
    cc_buf_free(&first);
    return ok;
}

bool cc_chain_write_from_page(cc_chain *chain, const char *hash, const cc_chain_page *page,
                              cc_buf *out, cc_err *err)
{
    if (!write_page_open(chain, hash, page, out, err))
        return false;
    cc_buf_puts(out, "}");
    return true;
}

bool cc_chain_write_from(cc_chain *chain, const char *hash, cc_buf *out, cc_err *err)
{
    static const cc_chain_page all = {SIZE_MAX, SIZE_MAX};
    return cc_chain_write_from_page(chain, hash, &all, out, err);
}

size_t cc_chain_locator(cc_chain *chain, char (*hashes)[CC_HASH_HEX_LEN + 1], size_t max)
{
    size_t n = 0;
    /* Offsets 0, 1, 2, 4, 8, ...: dense near the tip, where forks are. */
    for (int64_t back = 0; chain->height - back > 0 && n + 1 < max; back = back ? back * 2 : 1)
        n += best_hash_at(chain, chain->height - back, hashes[n]);
    if (n < max)
        snprintf(hashes[n++], CC_HASH_HEX_LEN + 1, "%s", chain->rules->genesis_hash);
    return n;
}

/* The newest locator hash on our best chain (the genesis when none is). */
static bool find_fork_point(cc_chain *chain, const char (*locator)[CC_HASH_HEX_LEN + 1],
                            size_t n, char out[CC_HASH_HEX_LEN + 1], cc_err *err)
{
    for (size_t i = 0; i < n; i++) {
        stored_block info;
        if (!block_lookup(chain, locator[i], &info, NULL, err))
            return false;
        if (info.found && on_best_chain(chain, locator[i], info.height)) {
            memcpy(out, locator[i], CC_HASH_HEX_LEN + 1);
            return true;
        }
    }
    snprintf(out, CC_HASH_HEX_LEN + 1, "%s", chain->rules->genesis_hash);
    return true;
}

bool cc_chain_write_after(cc_chain *chain, const char (*locator)[CC_HASH_HEX_LEN + 1], size_t n,
                          const cc_chain_page *page, cc_buf *out, cc_err *err)
{
    char fork[CC_HASH_HEX_LEN + 1];
    if (!find_fork_point(chain, locator, n, fork, err) ||
        !write_page_open(chain, fork, page, out, err))
        return false;
    cc_buf_printf(out, ", \"height\": %lld}", (long long)chain->height);
    return true;
}

bool cc_chain_balance(cc_chain *chain, const char *key, mpq_t out, cc_err *err)
{
    return store_balance_get(chain, key, out, err);
}

/* ---- looking things up ------------------------------------------------------------ */

bool cc_chain_block_get(cc_chain *chain, const char *hash, cc_buf *text,
                        cc_chain_block_info *info, cc_err *err)
{
    stored_block stored;
    if (!block_lookup(chain, hash, &stored, text, err))
        return false;
    if (!stored.found || stored.status != STATUS_VALID) {
        if (text)
            cc_buf_reset(text);
        return cc_fail(err, CC_ERR_NOT_FOUND, "Block not found");
    }
    if (info)
        *info = (cc_chain_block_info){.height = stored.height,
                                      .best = on_best_chain(chain, hash, stored.height)};
    return true;
}

bool cc_chain_hash_at(cc_chain *chain, int64_t height, char out[CC_HASH_HEX_LEN + 1],
                      cc_err *err)
{
    if (height < 0 || height > chain->height || !best_hash_at(chain, height, out))
        return cc_fail(err, CC_ERR_NOT_FOUND, "No block at height %lld (the best chain's "
                       "height is %lld)", (long long)height, (long long)chain->height);
    return true;
}

/* The block and height of a mined transaction through one of the indexes. */
static bool index_find(cc_chain *chain, store_sql id, const char *txid, cc_chain_tx_info *info,
                       cc_err *err)
{
    sqlite3_stmt *stmt = store_stmt(chain, id);
    store_bind_text(stmt, 1, txid);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        info->mined = true;
        snprintf(info->block, sizeof info->block, "%s", (const char *)sqlite3_column_text(stmt, 0));
        info->height = sqlite3_column_int64(stmt, 1);
    }
    sqlite3_reset(stmt);
    return rc == SQLITE_ROW || rc == SQLITE_DONE || store_db_fail(chain, err);
}

/* The text of transaction txid inside a stored block. */
static bool tx_text_in_block(cc_chain *chain, const char *hash, const char *txid, cc_buf *text,
                             cc_err *err)
{
    cc_block block;
    bool ok = load_block(chain, hash, &block, err);
    bool found = false;
    for (size_t i = 0; ok && !found && i < block.n_txs; i++) {
        if (strcmp(block.txs[i].txid, txid) != 0)
            continue;
        found = true;
        cc_buf_append(text, block.txs[i].text, block.txs[i].text_len);
    }
    cc_block_clear(&block);
    return ok && (found || cc_fail(err, CC_ERR_INTERNAL, "transaction %s missing from block %s",
                                   txid, hash));
}

bool cc_chain_tx_find(cc_chain *chain, const char *txid, cc_buf *text, cc_chain_tx_info *info,
                      cc_err *err)
{
    *info = (cc_chain_tx_info){.height = -1};
    if (text)
        cc_buf_reset(text);
    if (!index_find(chain, SQL_TX_FIND_PAYMENT, txid, info, err) ||
        (!info->mined && !index_find(chain, SQL_TX_FIND_REWARD, txid, info, err)))
        return false;
    if (info->mined)
        return !text || tx_text_in_block(chain, info->block, txid, text, err);
    return mempool_text_of(chain, txid, text) ||
           cc_fail(err, CC_ERR_NOT_FOUND, "Transaction not found");
}

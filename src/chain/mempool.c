/* The mempool: transactions waiting to be mined, held in memory
 * (chain/mempool_set.h) with a copy of each in the database's `waiting`
 * table, written in the same transaction, so a restart loses none.
 * Invariant: in arrival order (seq), every sender can afford each of its
 * waiting payments on top of the best chain, and no payment is already on
 * the best chain. */
#include <search.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "chain/store.h"
#include "util/mem.h"

/* What readers see: between the steps of a deep reorganisation, the
 * mempool as it was before it (as the database is seen through view). */
static const cc_mempool_set *readable(const cc_chain *chain)
{
    return chain->mempool_frozen && !chain->in_reorg_step ? chain->mempool_frozen
                                                           : chain->mempool;
}

bool cc_chain_spendable(cc_chain *chain, const char *key, mpq_t out, cc_err *err)
{
    if (!store_balance_get(chain, key, out, err))
        return false;
    mpq_t pending;
    mpq_init(pending);
    cc_mempool_set_pending(readable(chain), key, pending);
    mpq_sub(out, out, pending);
    mpq_clear(pending);
    return true;
}

static bool check_new_payment(cc_chain *chain, const cc_tx *tx, cc_err *err)
{
    if (tx->is_reward)
        return cc_fail(err, CC_ERR_BAD_REQUEST,
                       "System transactions are only valid inside a block");
    if (cc_mempool_set_has(chain->mempool, tx) || store_tx_mined(chain, tx))
        return cc_refuse(err, CC_REFUSAL_DUPLICATE, "Transaction already exists");
    return true;
}

/* Adds tx at position seq of the arrival order, without looking at funds.
 * Inside a transaction, a rollback takes it out again (memory included);
 * outside one, the row commits by itself. */
static bool mempool_add(cc_chain *chain, const cc_tx *tx, int64_t seq, cc_err *err)
{
    sqlite3_stmt *stmt = store_stmt(chain, SQL_WAITING_ADD);
    sqlite3_bind_int64(stmt, 1, seq);
    sqlite3_bind_blob(stmt, 2, tx->text, (int)tx->text_len, SQLITE_STATIC);
    if (!store_run(chain, stmt, err))
        return false;
    cc_mempool_set_add(chain->mempool, tx, seq);
    store_note_payment(chain, tx);
    return true;
}

static bool mempool_drop(cc_chain *chain, cc_mempool_entry *entry, cc_err *err)
{
    sqlite3_stmt *stmt = store_stmt(chain, SQL_WAITING_DEL);
    sqlite3_bind_int64(stmt, 1, entry->seq);
    if (!store_run(chain, stmt, err))
        return false;
    cc_mempool_set_remove(chain->mempool, entry);
    return true;
}

static bool mempool_full(const cc_chain *chain, cc_err *err)
{
    size_t count = cc_mempool_set_count(chain->mempool);
    if (count < chain->max_mempool)
        return false;
    cc_refuse(err, CC_REFUSAL_MEMPOOL_FULL, "Mempool is full (%zu transactions)",
              chain->max_mempool);
    return true;
}

/* A new arrival, checked new by the caller: last in the arrival order,
 * and only if the sender can afford it on top of everything it already has
 * waiting. */
static bool mempool_insert(cc_chain *chain, const cc_tx *tx, cc_err *err)
{
    if (mempool_full(chain, err))
        return false;
    mpq_t available;
    mpq_init(available);
    bool ok = cc_chain_spendable(chain, tx->from, available, err) &&
              store_check_affordable(tx, available, err) &&
              mempool_add(chain, tx, chain->next_mempool_seq++, err);
    mpq_clear(available);
    return ok;
}

bool mempool_drop_mined(cc_chain *chain, const cc_block *block, cc_err *err)
{
    bool ok = true;
    for (size_t i = 0; ok && i < block->n_txs && cc_mempool_set_count(chain->mempool) > 0; i++) {
        cc_mempool_entry *entry = cc_mempool_set_by_msgid(chain->mempool, block->txs[i].msgid);
        if (entry)
            ok = mempool_drop(chain, entry, err);
    }
    return ok;
}

/* What a sender has left to spend while the trim walks the mempool in
 * arrival order. key first: a pointer to a key string is a probe. */
typedef struct funds_left {
    char *key;
    mpq_t left;
} funds_left;

static int compare_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void funds_left_free(void *p)
{
    funds_left *f = p;
    free(f->key);
    mpq_clear(f->left);
    free(f);
}

static funds_left *funds_of(cc_chain *chain, void **senders, const char *key, cc_err *err)
{
    funds_left *const *found = tfind(&key, senders, compare_keys);
    if (found)
        return *found;
    funds_left *f = cc_calloc(1, sizeof *f);
    f->key = cc_strdup(key);
    mpq_init(f->left);
    cc_alloc_check(tsearch(f, senders, compare_keys));
    return store_balance_get(chain, key, f->left, err) ? f : NULL;
}

/* Drops, in arrival order, the payments that their senders' balances on
 * the new best chain no longer cover. */
static bool trim_unaffordable(cc_chain *chain, cc_err *err)
{
    void *senders = NULL;
    bool ok = true;
    const cc_mempool_entry *next;
    for (const cc_mempool_entry *e = cc_mempool_set_first(chain->mempool); ok && e; e = next) {
        next = e->next;
        funds_left *f = funds_of(chain, &senders, e->tx.from, err);
        if (!f) {
            ok = false;
        } else if (mpq_cmp(f->left, e->amount) >= 0) {
            mpq_sub(f->left, f->left, e->amount);
        } else {
            ok = mempool_drop(chain, (cc_mempool_entry *)e, err);
        }
    }
    tdestroy(senders, funds_left_free);
    return ok;
}

/* The abandoned payments were accepted by the network before anything now
 * waiting, so they go back ahead of it (seqs below the smallest one) and
 * keep their claim on the funds when the trim runs; a payment the new
 * branch already holds stays out. */
int64_t mempool_restore_begin(cc_chain *chain, size_t n)
{
    return cc_mempool_set_min_seq(chain->mempool) - (int64_t)n;
}

bool mempool_restore_some(cc_chain *chain, const cc_tx *abandoned, size_t from, size_t to,
                          int64_t first_seq, cc_err *err)
{
    bool ok = true;
    for (size_t i = from; ok && i < to; i++)
        if (check_new_payment(chain, &abandoned[i], NULL) && !mempool_full(chain, NULL))
            ok = mempool_add(chain, &abandoned[i], first_seq + (int64_t)i, err);
    return ok;
}

bool mempool_restore_end(cc_chain *chain, cc_err *err) { return trim_unaffordable(chain, err); }

bool mempool_restore(cc_chain *chain, const cc_tx *abandoned, size_t n, cc_err *err)
{
    int64_t first_seq = mempool_restore_begin(chain, n);
    return mempool_restore_some(chain, abandoned, 0, n, first_seq, err) &&
           mempool_restore_end(chain, err);
}

bool mempool_load(cc_chain *chain, cc_err *err)
{
    sqlite3_stmt *stmt = store_stmt(chain, SQL_WAITING_ALL);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        cc_tx tx;
        const char *text = sqlite3_column_blob(stmt, 1);
        size_t len = (size_t)sqlite3_column_bytes(stmt, 1);
        /* Every row was a valid payment when written; one that no longer
         * reads (a damaged file) is left out rather than stopping the node. */
        if (!chain->rules->tx_decode(text, len, &tx, NULL))
            continue;
        cc_mempool_set_add(chain->mempool, &tx, sqlite3_column_int64(stmt, 0));
        cc_tx_clear(&tx);
    }
    sqlite3_reset(stmt);
    chain->next_mempool_seq = cc_mempool_set_max_seq(chain->mempool) + 1;
    return rc == SQLITE_DONE || store_db_fail(chain, err);
}

bool cc_chain_check_new_tx(cc_chain *chain, const cc_tx *tx, cc_err *err)
{
    return check_new_payment(chain, tx, err);
}

bool cc_chain_accept_tx(cc_chain *chain, const cc_tx *tx, cc_err *err)
{
    if (!chain_writable(chain, err))
        return false;
    /* The cheap refusals before the costly signature check. The node's own
     * payments come through here too: they are checked like any other, so
     * a wallet bug cannot put an unspendable payment in the mempool. */
    if (!check_new_payment(chain, tx, err))
        return false;
    if (!chain_tx_signature_ok(chain, tx))
        return cc_refuse(err, CC_REFUSAL_BAD_SIGNATURE, "Invalid signature");
    /* No transaction of its own: the one INSERT is atomic (in a batch, a
     * part of the batch's transaction; alone, committed by itself), and
     * memory changes only once it has succeeded. */
    return mempool_insert(chain, tx, err);
}

bool cc_chain_submit_tx(cc_chain *chain, const char *text, size_t len,
                        char txid[CC_HASH_HEX_LEN + 1], cc_err *err)
{
    if (!chain_writable(chain, err))
        return false;
    cc_tx tx;
    if (!chain->rules->tx_decode(text, len, &tx, err))
        return false;
    bool ok = cc_chain_accept_tx(chain, &tx, err);
    if (ok)
        memcpy(txid, tx.txid, CC_HASH_HEX_LEN + 1);
    cc_tx_clear(&tx);
    return ok;
}

bool cc_chain_mempool_take(cc_chain *chain, size_t max, cc_tx **txs, size_t *n, cc_err *err)
{
    (void)err;
    const cc_mempool_set *set = readable(chain);
    size_t count = cc_mempool_set_count(set);
    *n = 0;
    *txs = count > 0 && max > 0 ? cc_calloc(count < max ? count : max, sizeof **txs) : NULL;
    for (const cc_mempool_entry *e = cc_mempool_set_first(set); e && *n < max; e = e->next)
        cc_tx_copy(&(*txs)[(*n)++], &e->tx);
    return true;
}

bool cc_chain_mempool_write(cc_chain *chain, size_t max, cc_buf *out, cc_err *err)
{
    (void)err;
    cc_buf_putc(out, '[');
    size_t n = 0;
    for (const cc_mempool_entry *e = cc_mempool_set_first(readable(chain)); e && n < max;
         e = e->next) {
        if (n++)
            cc_buf_puts(out, ", ");
        cc_buf_append(out, e->tx.text, e->tx.text_len);
    }
    cc_buf_putc(out, ']');
    return true;
}

size_t cc_chain_mempool_size(const cc_chain *chain)
{
    return cc_mempool_set_count(readable(chain));
}

bool mempool_text_of(cc_chain *chain, const char *txid, cc_buf *text)
{
    const cc_mempool_entry *e = cc_mempool_set_by_txid(readable(chain), txid);
    if (e && text)
        cc_buf_append(text, e->tx.text, e->tx.text_len);
    return e != NULL;
}

size_t cc_chain_key_waiting(cc_chain *chain, const char *key, size_t max, cc_chain_key_tx_fn fn,
                            void *ctx)
{
    size_t listed = 0, scanned = 0;
    for (const cc_mempool_entry *e = cc_mempool_set_first(readable(chain));
         e && listed < max && scanned < CC_CHAIN_WAITING_SCAN; e = e->next, scanned++) {
        bool from = strcmp(e->tx.from, key) == 0, to = strcmp(e->tx.to, key) == 0;
        if (!from && !to)
            continue;
        cc_chain_key_tx item = {.height = -1, .text = e->tx.text, .text_len = e->tx.text_len,
                                .direction = from ? (to ? CC_CHAIN_SELF : CC_CHAIN_OUT)
                                                  : CC_CHAIN_IN};
        memcpy(item.txid, e->tx.txid, sizeof item.txid);
        fn(ctx, &item);
        listed++;
    }
    return listed;
}

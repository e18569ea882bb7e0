/* The mempool: transactions waiting to be mined, kept in the database so a
 * restart loses none. Invariant: in arrival order (seq), every sender can
 * afford each of its waiting payments on top of the best chain, and no
 * payment is already on the best chain. */
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "chain/store.h"
#include "util/mem.h"

static bool pending_spend(cc_chain *chain, const char *key, mpq_t out, cc_err *err)
{
    mpq_set_ui(out, 0, 1);
    mpq_t amount;
    mpq_init(amount);
    sqlite3_stmt *stmt = store_stmt(chain, SQL_MEMPOOL_SENDER);
    store_bind_text(stmt, 1, key);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        store_mpq_parse((const char *)sqlite3_column_text(stmt, 1), amount);
        mpq_add(out, out, amount);
    }
    sqlite3_reset(stmt);
    mpq_clear(amount);
    return rc == SQLITE_DONE || store_db_fail(chain, err);
}

bool cc_chain_spendable(cc_chain *chain, const char *key, mpq_t out, cc_err *err)
{
    mpq_t pending;
    mpq_init(pending);
    bool ok = store_balance_get(chain, key, out, err) && pending_spend(chain, key, pending, err);
    if (ok)
        mpq_sub(out, out, pending);
    mpq_clear(pending);
    return ok;
}

static bool check_new_payment(cc_chain *chain, const cc_tx *tx, cc_err *err)
{
    if (tx->is_reward)
        return cc_fail(err, CC_ERR_BAD_REQUEST,
                       "System transactions are only valid inside a block");
    if (store_tx_waiting(chain, tx) || store_tx_mined(chain, tx))
        return cc_refuse(err, CC_REFUSAL_DUPLICATE, "Transaction already exists");
    return true;
}

/* Adds tx at position seq of the arrival order, without looking at funds. */
static bool mempool_add(cc_chain *chain, const cc_tx *tx, int64_t seq, cc_err *err)
{
    mpq_t amount;
    mpq_init(amount);
    cc_amount_to_mpq(&tx->amount, amount);
    char *amount_text = store_mpq_text(amount);
    sqlite3_stmt *stmt = store_stmt(chain, SQL_MEMPOOL_ADD);
    store_bind_text(stmt, 1, tx->txid);
    store_bind_text(stmt, 2, tx->msgid);
    store_bind_text(stmt, 3, tx->from);
    store_bind_text(stmt, 4, amount_text);
    sqlite3_bind_int64(stmt, 5, seq);
    sqlite3_bind_blob(stmt, 6, tx->text, (int)tx->text_len, SQLITE_STATIC);
    bool ok = store_run(chain, stmt, err);
    if (ok)
        store_note_payment(chain, tx);
    chain->mempool_count += ok;
    free(amount_text);
    mpq_clear(amount);
    return ok;
}

static bool mempool_full(const cc_chain *chain, cc_err *err)
{
    if (chain->mempool_count < chain->max_mempool)
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

typedef struct key_list {
    char **keys;
    size_t n;
} key_list;

static void key_list_clear(key_list *list)
{
    for (size_t i = 0; i < list->n; i++)
        free(list->keys[i]);
    free(list->keys);
}

static bool mempool_senders(cc_chain *chain, key_list *out, cc_err *err)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *stmt = store_stmt(chain, SQL_MEMPOOL_SENDERS);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        out->keys = cc_realloc(out->keys, (out->n + 1) * sizeof *out->keys);
        out->keys[out->n++] = cc_strdup((const char *)sqlite3_column_text(stmt, 0));
    }
    sqlite3_reset(stmt);
    return rc == SQLITE_DONE || store_db_fail(chain, err);
}

/* Drops, in arrival order, the payments of key that its balance on the new
 * best chain no longer covers. */
static bool trim_sender(cc_chain *chain, const char *key, cc_err *err)
{
    mpq_t available, amount;
    mpq_inits(available, amount, NULL);
    key_list drop = {0};
    bool ok = store_balance_get(chain, key, available, err);
    sqlite3_stmt *stmt = store_stmt(chain, SQL_MEMPOOL_SENDER);
    store_bind_text(stmt, 1, key);
    while (ok && sqlite3_step(stmt) == SQLITE_ROW) {
        store_mpq_parse((const char *)sqlite3_column_text(stmt, 1), amount);
        if (mpq_cmp(available, amount) >= 0) {
            mpq_sub(available, available, amount);
            continue;
        }
        drop.keys = cc_realloc(drop.keys, (drop.n + 1) * sizeof *drop.keys);
        drop.keys[drop.n++] = cc_strdup((const char *)sqlite3_column_text(stmt, 0));
    }
    sqlite3_reset(stmt);
    for (size_t i = 0; ok && i < drop.n; i++) {
        stmt = store_stmt(chain, SQL_MEMPOOL_DEL);
        store_bind_text(stmt, 1, drop.keys[i]);
        ok = store_run(chain, stmt, err);
    }
    key_list_clear(&drop);
    mpq_clears(available, amount, NULL);
    return ok;
}

static bool trim_all_senders(cc_chain *chain, cc_err *err)
{
    key_list senders;
    bool ok = mempool_senders(chain, &senders, err);
    for (size_t i = 0; ok && i < senders.n; i++)
        ok = trim_sender(chain, senders.keys[i], err);
    key_list_clear(&senders);
    return ok;
}

/* The abandoned payments were accepted by the network before anything now
 * waiting, so they go back ahead of it (seqs below the smallest one) and
 * keep their claim on the funds when the trim runs; a payment the new
 * branch already holds stays out. */
int64_t mempool_restore_begin(cc_chain *chain, size_t n)
{
    /* Connecting blocks deleted what they mined: the bound needs the real
     * count, not the one from before the change. */
    chain->mempool_count = (size_t)store_query_int(chain, SQL_MEMPOOL_COUNT);
    return store_query_int(chain, SQL_MEMPOOL_SEQ_MIN) - (int64_t)n;
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

bool mempool_restore_end(cc_chain *chain, cc_err *err) { return trim_all_senders(chain, err); }

bool mempool_restore(cc_chain *chain, const cc_tx *abandoned, size_t n, cc_err *err)
{
    int64_t first_seq = mempool_restore_begin(chain, n);
    return mempool_restore_some(chain, abandoned, 0, n, first_seq, err) &&
           mempool_restore_end(chain, err);
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
    if (!store_begin(chain, err))
        return false;
    size_t count_before = chain->mempool_count;
    if (mempool_insert(chain, tx, err) && store_commit(chain, err))
        return true;
    store_rollback(chain);
    chain->mempool_count = count_before;
    return false;
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
    *txs = NULL;
    *n = 0;
    sqlite3_stmt *stmt = store_stmt(chain, SQL_MEMPOOL_ALL);
    sqlite3_bind_int64(stmt, 1, (sqlite3_int64)max);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        cc_tx tx;
        const char *text = sqlite3_column_blob(stmt, 0);
        if (!chain->rules->tx_decode(text, (size_t)sqlite3_column_bytes(stmt, 0), &tx, NULL))
            continue;
        *txs = cc_realloc(*txs, (*n + 1) * sizeof **txs);
        (*txs)[(*n)++] = tx;
    }
    sqlite3_reset(stmt);
    return rc == SQLITE_DONE || store_db_fail(chain, err);
}

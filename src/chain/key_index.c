/* The key index (table keytx, docs/architecture.md): the best chain's
 * payments and rewards by key, kept by connect and disconnect in chain.c,
 * and the page of a key read from it (chain.h). */
#include <stdint.h>
#include <string.h>

#include "chain/chain.h"
#include "chain/store.h"
#include "crypto/hash.h"

/* The first 64 bits of the key's SHA-256. Databases keep these ids: the
 * definition cannot change without the index being rebuilt. */
static int64_t key_id(const char *key)
{
    uint8_t digest[CC_SHA256_LEN];
    cc_sha256(key, strlen(key), digest);
    uint64_t bits = 0;
    for (size_t i = 0; i < sizeof bits; i++)
        bits = bits << 8 | digest[i];
    int64_t id; /* SQLite's integers are signed: the same 64 bits */
    memcpy(&id, &bits, sizeof id);
    return id;
}

static bool key_row(cc_chain *chain, store_sql id, int64_t keyid, int64_t height, size_t pos,
                    cc_err *err)
{
    sqlite3_stmt *stmt = store_stmt(chain, id);
    sqlite3_bind_int64(stmt, 1, keyid);
    sqlite3_bind_int64(stmt, 2, height);
    sqlite3_bind_int64(stmt, 3, (int64_t)pos);
    return store_run(chain, stmt, err);
}

/* A reward's sender is no key ("System"); a payment between two keys of
 * the same id is one row, as the primary key has it. */
static bool key_rows(cc_chain *chain, store_sql id, int64_t height, size_t pos, const cc_tx *tx,
                     cc_err *err)
{
    int64_t to = key_id(tx->to);
    if (!key_row(chain, id, to, height, pos, err))
        return false;
    if (tx->is_reward)
        return true;
    int64_t from = key_id(tx->from);
    return from == to || key_row(chain, id, from, height, pos, err);
}

bool key_index_add(cc_chain *chain, int64_t height, size_t pos, const cc_tx *tx, cc_err *err)
{
    return key_rows(chain, SQL_KEYTX_ADD, height, pos, tx, err);
}

bool key_index_remove(cc_chain *chain, int64_t height, size_t pos, const cc_tx *tx,
                      cc_err *err)
{
    return key_rows(chain, SQL_KEYTX_DEL, height, pos, tx, err);
}

/* False when tx is neither from nor to key: a row of a colliding id. */
static bool direction_of(const cc_tx *tx, const char *key, cc_chain_direction *out)
{
    bool to = strcmp(tx->to, key) == 0;
    bool from = !tx->is_reward && strcmp(tx->from, key) == 0;
    *out = from ? (to ? CC_CHAIN_SELF : CC_CHAIN_OUT) : CC_CHAIN_IN;
    return to || from;
}

static bool count_rows(cc_chain *chain, int64_t keyid, size_t *total, cc_err *err)
{
    sqlite3_stmt *stmt = store_stmt(chain, SQL_KEYTX_COUNT);
    sqlite3_bind_int64(stmt, 1, keyid);
    int rc = sqlite3_step(stmt);
    *total = rc == SQLITE_ROW ? (size_t)sqlite3_column_int64(stmt, 0) : 0;
    sqlite3_reset(stmt);
    return rc == SQLITE_ROW || store_db_fail(chain, err);
}

static int64_t clamp(size_t n) { return n > INT64_MAX ? INT64_MAX : (int64_t)n; }

/* Lists the transaction of one row; block holds the block of the row
 * before it (height -1 before the first), decoded again only when the
 * height changes: a key's transactions in one block are neighbours. */
static bool list_row(cc_chain *chain, sqlite3_stmt *stmt, const char *key, cc_block *block,
                     cc_chain_key_tx_fn fn, void *ctx, cc_err *err)
{
    int64_t height = sqlite3_column_int64(stmt, 0);
    int64_t pos = sqlite3_column_int64(stmt, 1);
    if (block->height != height) {
        cc_block_clear(block);
        const char *text = sqlite3_column_blob(stmt, 2);
        size_t len = (size_t)sqlite3_column_bytes(stmt, 2);
        if (!chain->rules->block_decode(text, len, block, err))
            return cc_err_prefix(err, "stored block at height %lld: ", (long long)height);
    }
    /* A place past the block's end: a row left behind by an older node,
     * which disconnected blocks knowing nothing of the index. It names
     * none of key's transactions. */
    if (pos < 0 || (uint64_t)pos >= block->n_txs)
        return true;
    const cc_tx *tx = &block->txs[pos];
    cc_chain_key_tx item = {.mined = true, .height = height, .text = tx->text,
                            .text_len = tx->text_len};
    if (!direction_of(tx, key, &item.direction))
        return true;
    memcpy(item.txid, tx->txid, sizeof item.txid);
    memcpy(item.block, block->hash, sizeof item.block);
    fn(ctx, &item);
    return true;
}

bool cc_chain_key_payments(cc_chain *chain, const char *key, size_t offset, size_t limit,
                           cc_chain_key_tx_fn fn, void *ctx, size_t *total, cc_err *err)
{
    int64_t keyid = key_id(key);
    if (!count_rows(chain, keyid, total, err))
        return false;
    if (limit == 0 || offset >= *total)
        return true;
    sqlite3_stmt *stmt = store_stmt(chain, SQL_KEYTX_PAGE);
    sqlite3_bind_int64(stmt, 1, keyid);
    sqlite3_bind_int64(stmt, 2, clamp(limit));
    sqlite3_bind_int64(stmt, 3, clamp(offset));
    cc_block block = {.height = -1};
    bool ok = true;
    int rc = SQLITE_DONE;
    while (ok && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
        ok = list_row(chain, stmt, key, &block, fn, ctx, err);
    sqlite3_reset(stmt);
    cc_block_clear(&block);
    return ok && (rc == SQLITE_DONE || store_db_fail(chain, err));
}

#include "chain/store.h"

#include "chain/checkpointer.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

/* reward: the reward (System) transactions of the best chain, which the
 * txindex leaves out (they move no sender's funds, and the same reward
 * text may be mined more than once), so that a txid lookup finds them.
 *
 * status: 0 = stored, checked without chain context (a side block of a
 * deep fork, kept out of every answer); 1 = valid on its branch: connected
 * to the best chain at least once, or checked as a side block; 2 = invalid
 * on its branch (kept so that it and its descendants are refused at once).
 * Only status 1 is ever served or listed. */
/* Blocks are rows in arrival order (seq is the rowid), so their texts
 * fill pages one after the other; a table keyed by the random hash, as it
 * once was, split a page at nearly every insert and left the block table
 * a third full (89 MB of pages for 31 MB of blocks), which the WAL and the
 * checkpoints then wrote twice. The hash is a unique index of its own. */
#define BLOCK_TABLE                                                                               \
    "CREATE TABLE IF NOT EXISTS block(seq INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE,"         \
    " prev TEXT NOT NULL, height INTEGER NOT NULL, status INTEGER NOT NULL, text BLOB NOT NULL);"
#define BLOCK_INDEXES                                                                             \
    "CREATE INDEX IF NOT EXISTS block_height ON block(height, seq);"                              \
    "CREATE INDEX IF NOT EXISTS block_prev ON block(prev);"

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "PRAGMA foreign_keys=OFF;"
    /* A page of blocks caught up with is one transaction that dirties
     * index pages all over (hashes are random): with SQLite's default 2 MB
     * it spills to the WAL mid-transaction and reads pages back. */
    "PRAGMA cache_size=-32768;"
    "PRAGMA temp_store=MEMORY;"
    BLOCK_TABLE
    BLOCK_INDEXES
    "CREATE TABLE IF NOT EXISTS best(height INTEGER PRIMARY KEY, hash TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS balance(key TEXT PRIMARY KEY, amount TEXT NOT NULL)"
    " WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS txindex(txid TEXT PRIMARY KEY, msgid TEXT NOT NULL UNIQUE,"
    " block TEXT NOT NULL) WITHOUT ROWID;"
    /* Disconnecting a block deletes its payments and its reward by txid
     * (the block is decoded then): no index by block to keep up at every
     * payment connected. Older databases have them. */
    "DROP INDEX IF EXISTS txindex_block;"
    /* The mempool's copy: only the texts, in arrival order. The node
     * looks payments up in memory (chain/mempool_set.h), so the table has
     * no index to keep, and a payment taken is one row appended. */
    "CREATE TABLE IF NOT EXISTS waiting(seq INTEGER PRIMARY KEY, text BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS reward(txid TEXT NOT NULL, block TEXT NOT NULL,"
    " PRIMARY KEY(txid, block)) WITHOUT ROWID;"
    "DROP INDEX IF EXISTS reward_block;"
    /* keytx: the best chain's payments and rewards by key (key_index.c).
     * A row names a transaction by where it is (the height of its block on
     * the best chain, its place in the block) under a 64-bit id hashed
     * from the key, so it stays a few bytes whatever the key's length (96
     * hex digits on http, about 324 on cheese); a key's rows are one range
     * of the primary key, newest last. Ids of different keys may collide:
     * readers check the transaction's own from and to. */
    "CREATE TABLE IF NOT EXISTS keytx(keyid INTEGER NOT NULL, height INTEGER NOT NULL,"
    " pos INTEGER NOT NULL, PRIMARY KEY(keyid, height, pos)) WITHOUT ROWID;";

static const char *const sql_text[SQL_COUNT_] = {
    [SQL_BLOCK_GET] = "SELECT prev, height, status, text FROM block WHERE hash=?1",
    [SQL_BLOCK_INSERT] =
        "INSERT INTO block(hash, prev, height, seq, status, text) VALUES(?1,?2,?3,?4,0,?5)",
    [SQL_BLOCK_SET_STATUS] = "UPDATE block SET status=?2 WHERE hash=?1",
    [SQL_BLOCK_CHILDREN] = "SELECT hash FROM block WHERE prev=?1",
    [SQL_BLOCK_ALL] = ("SELECT b.height, b.text FROM block b"
                      " LEFT JOIN best c ON c.height=b.height AND c.hash=b.hash"
                      " WHERE b.status=1 ORDER BY b.height, c.hash IS NULL, b.seq"),
    [SQL_BEST_GET] = "SELECT hash FROM best WHERE height=?1",
    [SQL_BEST_SET] = "INSERT OR REPLACE INTO best(height, hash) VALUES(?1,?2)",
    [SQL_BEST_DEL] = "DELETE FROM best WHERE height=?1",
    [SQL_BEST_TIP] = "SELECT height, hash FROM best ORDER BY height DESC LIMIT 1",
    [SQL_BEST_FROM] = ("SELECT b.text FROM best c JOIN block b ON b.hash=c.hash"
                      " WHERE c.height>?1 ORDER BY c.height"),
    [SQL_SEQ_MAX] = "SELECT COALESCE(MAX(seq), 0) FROM block",
    [SQL_BALANCE_GET] = "SELECT amount FROM balance WHERE key=?1",
    [SQL_BALANCE_SET] = "INSERT OR REPLACE INTO balance(key, amount) VALUES(?1,?2)",
    [SQL_TXINDEX_HAS] = "SELECT 1 FROM txindex WHERE txid=?1 OR msgid=?2",
    [SQL_TXINDEX_ADD] = "INSERT INTO txindex(txid, msgid, block) VALUES(?1,?2,?3)",
    [SQL_TXINDEX_DEL] = "DELETE FROM txindex WHERE txid=?1 AND block=?2",
    [SQL_TXN_BEGIN] = "BEGIN IMMEDIATE",
    [SQL_TXN_COMMIT] = "COMMIT",
    [SQL_TXN_ROLLBACK] = "ROLLBACK",
    [SQL_CHANGE_BEGIN] = "SAVEPOINT change",
    [SQL_CHANGE_RELEASE] = "RELEASE change",
    [SQL_CHANGE_UNDO] = "ROLLBACK TO change",
    [SQL_TRIAL_BEGIN] = "SAVEPOINT trial",
    [SQL_TRIAL_RELEASE] = "RELEASE trial",
    [SQL_TRIAL_UNDO] = "ROLLBACK TO trial",
    [SQL_WAITING_ADD] = "INSERT INTO waiting(seq, text) VALUES(?1,?2)",
    [SQL_WAITING_DEL] = "DELETE FROM waiting WHERE seq=?1",
    [SQL_WAITING_ALL] = "SELECT seq, text FROM waiting ORDER BY seq",
    [SQL_REWARD_ADD] = "INSERT OR IGNORE INTO reward(txid, block) VALUES(?1,?2)",
    [SQL_REWARD_DEL] = "DELETE FROM reward WHERE txid=?1 AND block=?2",
    [SQL_TX_FIND_PAYMENT] = ("SELECT t.block, b.height FROM txindex t"
                            " JOIN block b ON b.hash=t.block WHERE t.txid=?1"),
    [SQL_TX_FIND_REWARD] = ("SELECT r.block, b.height FROM reward r"
                           " JOIN block b ON b.hash=r.block WHERE r.txid=?1"
                           " ORDER BY b.height LIMIT 1"),
    [SQL_BLOCK_LONGEST_UNCHECKED] =
        "SELECT hash FROM block WHERE status=0 AND height>?1 ORDER BY height DESC, seq LIMIT 1",
    /* OR IGNORE: the two parties of a payment may share an id (a payment
     * to oneself, or a collision), and their transaction has one row. */
    [SQL_KEYTX_ADD] = "INSERT OR IGNORE INTO keytx(keyid, height, pos) VALUES(?1,?2,?3)",
    [SQL_KEYTX_DEL] = "DELETE FROM keytx WHERE keyid=?1 AND height=?2 AND pos=?3",
    [SQL_KEYTX_CLEAR] = "DELETE FROM keytx",
    [SQL_KEYTX_COUNT] = "SELECT COUNT(*) FROM keytx WHERE keyid=?1",
    /* The page is cut from the key's range of the index alone, so rows
     * skipped by the offset cost no look-up of their block. */
    [SQL_KEYTX_PAGE] = ("SELECT k.height, k.pos, b.text FROM"
                       " (SELECT height, pos FROM keytx WHERE keyid=?1"
                       " ORDER BY height DESC, pos DESC LIMIT ?2 OFFSET ?3) k"
                       " JOIN best c ON c.height=k.height JOIN block b ON b.hash=c.hash"
                       " ORDER BY k.height DESC, k.pos DESC"),
};

bool store_db_fail(cc_chain *chain, cc_err *err)
{
    return cc_fail(err, CC_ERR_INTERNAL, "database: %s", sqlite3_errmsg(chain->db));
}

bool store_exec(cc_chain *chain, const char *sql, cc_err *err)
{
    if (sqlite3_exec(chain->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return store_db_fail(chain, err);
    return true;
}

/* Transaction control is prepared like any other statement (parsing
 * "COMMIT" at every payment showed in the profiles), and always runs on db,
 * whatever reads go to. */
static bool control(cc_chain *chain, store_sql id, cc_err *err)
{
    sqlite3_stmt *stmt = chain->stmts[id];
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    return rc == SQLITE_DONE || store_db_fail(chain, err);
}

/* Each opening statement marks the mempool, each closing one releases or
 * undoes the mark: memory and database change together or not at all. */
static bool open_mark(cc_chain *chain, store_sql id, cc_err *err)
{
    if (!control(chain, id, err))
        return false;
    cc_mempool_set_begin(chain->mempool);
    return true;
}

static bool close_mark(cc_chain *chain, store_sql id, cc_err *err)
{
    if (!control(chain, id, err))
        return false;
    cc_mempool_set_release(chain->mempool);
    return true;
}

/* A savepoint rolled back stays open until released. */
static bool undo_savepoint(cc_chain *chain, store_sql undo, store_sql release, cc_err *err)
{
    cc_mempool_set_rollback(chain->mempool);
    return control(chain, undo, err) && control(chain, release, err);
}

bool store_txn_begin(cc_chain *chain, cc_err *err) { return open_mark(chain, SQL_TXN_BEGIN, err); }

bool store_txn_commit(cc_chain *chain, cc_err *err)
{
    return close_mark(chain, SQL_TXN_COMMIT, err);
}

void store_txn_rollback(cc_chain *chain)
{
    cc_mempool_set_rollback(chain->mempool);
    control(chain, SQL_TXN_ROLLBACK, NULL);
}

bool store_trial_begin(cc_chain *chain, cc_err *err)
{
    return open_mark(chain, SQL_TRIAL_BEGIN, err);
}

bool store_trial_end(cc_chain *chain, cc_err *err)
{
    return undo_savepoint(chain, SQL_TRIAL_UNDO, SQL_TRIAL_RELEASE, err);
}

/* Inside a batch each change is a savepoint of the batch's transaction:
 * a refused block is undone alone, and the batch commits once. */
bool store_begin(cc_chain *chain, cc_err *err)
{
    return chain->in_batch ? open_mark(chain, SQL_CHANGE_BEGIN, err) : store_txn_begin(chain, err);
}

bool store_commit(cc_chain *chain, cc_err *err)
{
    return chain->in_batch ? close_mark(chain, SQL_CHANGE_RELEASE, err)
                           : store_txn_commit(chain, err);
}

void store_rollback(cc_chain *chain)
{
    if (chain->in_batch)
        undo_savepoint(chain, SQL_CHANGE_UNDO, SQL_CHANGE_RELEASE, NULL);
    else
        store_txn_rollback(chain);
}

/* The log is copied into the database by chain/checkpointer.c once it
 * holds this many pages (SQLite's own default threshold). */
#define CHECKPOINT_PAGES 1000

static int on_wal_commit(void *ctx, sqlite3 *db, const char *name, int wal_pages)
{
    (void)db;
    (void)name;
    cc_checkpointer_note(ctx, wal_pages);
    return SQLITE_OK;
}

static bool table_sql_has(cc_chain *chain, const char *table, const char *part, bool *has,
                          cc_err *err)
{
    static const char sql[] = "SELECT sql FROM sqlite_master WHERE type='table' AND name=?1";
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(chain->db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return store_db_fail(chain, err);
    sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
    const char *text = sqlite3_step(stmt) == SQLITE_ROW
                           ? (const char *)sqlite3_column_text(stmt, 0)
                           : NULL;
    *has = text && strstr(text, part);
    sqlite3_finalize(stmt);
    return true;
}

/* Runs the statements of sql in one transaction: all or none. */
static bool migrate(cc_chain *chain, const char *sql, cc_err *err)
{
    if (!store_exec(chain, "BEGIN IMMEDIATE", err))
        return false;
    if (store_exec(chain, sql, err) && store_exec(chain, "COMMIT", err))
        return true;
    store_exec(chain, "ROLLBACK", NULL);
    return false;
}

/* Databases made when the block table was keyed by hash (WITHOUT ROWID)
 * get it rebuilt in arrival order, once. */
static bool migrate_block_table(cc_chain *chain, cc_err *err)
{
    bool old = false;
    if (!table_sql_has(chain, "block", "WITHOUT ROWID", &old, err))
        return false;
    if (!old)
        return true;
    cc_info(chain->log, "rewriting the block table in arrival order (once)");
    return migrate(chain,
                   "ALTER TABLE block RENAME TO block_by_hash;"
                   "DROP INDEX IF EXISTS block_height;"
                   "DROP INDEX IF EXISTS block_prev;" BLOCK_TABLE
                   "INSERT INTO block(seq, hash, prev, height, status, text)"
                   " SELECT seq, hash, prev, height, status, text FROM block_by_hash ORDER BY seq;"
                   "DROP TABLE block_by_hash;" BLOCK_INDEXES,
                   err);
}

/* Databases made before the mempool was kept in memory hold it in a table
 * of its own (with four indexes): its texts move to `waiting`, in their
 * order, in one transaction. */
static bool migrate_mempool_table(cc_chain *chain, cc_err *err)
{
    bool old = false;
    if (!table_sql_has(chain, "mempool", "CREATE", &old, err))
        return false;
    if (!old)
        return true;
    return migrate(chain,
                   "INSERT OR IGNORE INTO waiting(seq, text) SELECT seq, text FROM mempool;"
                   "DROP TABLE mempool;",
                   err);
}

bool store_open(cc_chain *chain, const char *path, cc_err *err)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &chain->db, flags, NULL) != SQLITE_OK) {
        cc_fail(err, CC_ERR_INTERNAL, "cannot open database %s: %s", path,
                chain->db ? sqlite3_errmsg(chain->db) : "out of memory");
        return false;
    }
    sqlite3_busy_timeout(chain->db, 5000);
    /* user_version 1: the reward index is filled; 2: the key index too. A
     * database made before them (or a new one) gets them filled once by
     * cc_chain_open. */
    sqlite3_stmt *probe = NULL;
    if (sqlite3_prepare_v2(chain->db, "PRAGMA user_version", -1, &probe, NULL) != SQLITE_OK)
        return store_db_fail(chain, err);
    int version = sqlite3_step(probe) == SQLITE_ROW ? sqlite3_column_int(probe, 0) : INT_MAX;
    sqlite3_finalize(probe);
    chain->reward_index_new = version < STORE_VERSION_REWARDS;
    chain->key_index_new = version < STORE_VERSION_KEYS;
    if (!store_exec(chain, schema, err) || !migrate_block_table(chain, err) ||
        !migrate_mempool_table(chain, err))
        return false;
    for (int i = 0; i < SQL_COUNT_; i++) {
        if (sqlite3_prepare_v3(chain->db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT,
                               &chain->stmts[i], NULL) != SQLITE_OK)
            return store_db_fail(chain, err);
    }
    /* A wal hook replaces SQLite's automatic checkpoints. */
    chain->checkpointer = cc_checkpointer_start(path, CHECKPOINT_PAGES);
    if (chain->checkpointer)
        sqlite3_wal_hook(chain->db, on_wal_commit, chain->checkpointer);
    return true;
}

static bool view_open(cc_chain *chain, const char *path, cc_err *err)
{
    int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &chain->view, flags, NULL) != SQLITE_OK)
        return cc_fail(err, CC_ERR_INTERNAL, "cannot open database %s to read: %s", path,
                       chain->view ? sqlite3_errmsg(chain->view) : "out of memory");
    sqlite3_busy_timeout(chain->view, 5000);
    /* Writes are prepared too (store_stmt picks by id); on a read-only
     * connection they could never run. */
    for (int i = 0; i < SQL_COUNT_; i++)
        if (sqlite3_prepare_v3(chain->view, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT,
                               &chain->view_stmts[i], NULL) != SQLITE_OK)
            return cc_fail(err, CC_ERR_INTERNAL, "database: %s", sqlite3_errmsg(chain->view));
    return true;
}

bool store_view_begin(cc_chain *chain, cc_err *err)
{
    if (!chain->view && !view_open(chain, sqlite3_db_filename(chain->db, "main"), err))
        return false;
    /* A read transaction takes its snapshot at its first read. */
    sqlite3_stmt *tip = chain->view_stmts[SQL_BEST_TIP];
    bool ok = sqlite3_exec(chain->view, "BEGIN", NULL, NULL, NULL) == SQLITE_OK &&
              sqlite3_step(tip) == SQLITE_ROW;
    sqlite3_reset(tip);
    if (!ok)
        return cc_fail(err, CC_ERR_INTERNAL, "database: %s", sqlite3_errmsg(chain->view));
    return true;
}

void store_view_end(cc_chain *chain)
{
    for (int i = 0; i < SQL_COUNT_; i++)
        sqlite3_reset(chain->view_stmts[i]);
    sqlite3_exec(chain->view, "COMMIT", NULL, NULL, NULL);
}

void store_close(cc_chain *chain)
{
    /* First, so that closing the last connection checkpoints as usual. */
    cc_checkpointer_stop(chain->checkpointer);
    chain->checkpointer = NULL;
    for (int i = 0; i < SQL_COUNT_; i++)
        sqlite3_finalize(chain->view_stmts[i]);
    if (chain->view)
        sqlite3_close(chain->view);
    chain->view = NULL;
    for (int i = 0; i < SQL_COUNT_; i++)
        sqlite3_finalize(chain->stmts[i]);
    if (chain->db)
        sqlite3_close(chain->db);
    chain->db = NULL;
}

sqlite3_stmt *store_stmt(cc_chain *chain, store_sql id)
{
    bool view = chain->reorg && !chain->in_reorg_step;
    sqlite3_stmt *stmt = view ? chain->view_stmts[id] : chain->stmts[id];
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return stmt;
}

bool store_run(cc_chain *chain, sqlite3_stmt *stmt, cc_err *err)
{
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return store_db_fail(chain, err);
    return true;
}

int64_t store_query_int(cc_chain *chain, store_sql id)
{
    sqlite3_stmt *stmt = store_stmt(chain, id);
    int64_t value = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
    sqlite3_reset(stmt);
    return value;
}

void store_bind_text(sqlite3_stmt *stmt, int index, const char *text)
{
    sqlite3_bind_text(stmt, index, text, -1, SQLITE_STATIC);
}

char *store_mpq_text(const mpq_t value)
{
    char *gmp_text = mpq_get_str(NULL, 10, value);
    char *copy = cc_strdup(gmp_text);
    void (*gmp_free)(void *, size_t);
    mp_get_memory_functions(NULL, NULL, &gmp_free);
    gmp_free(gmp_text, strlen(gmp_text) + 1);
    return copy;
}

void store_mpq_parse(const char *text, mpq_t out)
{
    if (mpq_set_str(out, text, 10) != 0)
        mpq_set_ui(out, 0, 1);
    mpq_canonicalize(out);
}

bool store_balance_get(cc_chain *chain, const char *key, mpq_t out, cc_err *err)
{
    sqlite3_stmt *stmt = store_stmt(chain, SQL_BALANCE_GET);
    store_bind_text(stmt, 1, key);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        store_mpq_parse((const char *)sqlite3_column_text(stmt, 0), out);
    else
        mpq_set_ui(out, 0, 1);
    sqlite3_reset(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_db_fail(chain, err);
    return true;
}

bool store_balance_add(cc_chain *chain, const char *key, const mpq_t delta, cc_err *err)
{
    mpq_t balance;
    mpq_init(balance);
    bool ok = store_balance_get(chain, key, balance, err);
    if (ok) {
        mpq_add(balance, balance, delta);
        char *text = store_mpq_text(balance);
        sqlite3_stmt *stmt = store_stmt(chain, SQL_BALANCE_SET);
        store_bind_text(stmt, 1, key);
        store_bind_text(stmt, 2, text);
        ok = store_run(chain, stmt, err);
        free(text);
    }
    mpq_clear(balance);
    return ok;
}

/* ---- the filter of known payments (chain/id_filter.h) ---- */

/* Room for twice the payments (two ids each) the store holds when the
 * filter is built, and at least this many ids: a filter is rebuilt
 * rarely, and a small one costs little memory (16 bits per id). */
#define KNOWN_MIN_CAPACITY (1u << 16)

static bool count_payments(cc_chain *chain, size_t *rows, cc_err *err)
{
    static const char sql[] = "SELECT COUNT(*) FROM txindex";
    sqlite3_stmt *stmt;
    if (sqlite3_prepare_v2(chain->db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return store_db_fail(chain, err);
    bool ok = sqlite3_step(stmt) == SQLITE_ROW;
    *rows = ok ? (size_t)sqlite3_column_int64(stmt, 0) : 0;
    *rows += cc_mempool_set_count(chain->mempool);
    sqlite3_finalize(stmt);
    return ok || store_db_fail(chain, err);
}

/* Read from db itself, never from the view of a reorganisation under way:
 * the filter must hold what db holds, its open transaction included (and
 * the mempool as it stands, not its frozen copy). */
static bool fill_filter(cc_chain *chain, cc_id_filter *filter, cc_err *err)
{
    for (const cc_mempool_entry *e = cc_mempool_set_first(chain->mempool); e; e = e->next) {
        cc_id_filter_add(filter, e->tx.txid);
        cc_id_filter_add(filter, e->tx.msgid);
    }
    static const char sql[] = "SELECT txid, msgid FROM txindex";
    sqlite3_stmt *stmt;
    if (sqlite3_prepare_v2(chain->db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return store_db_fail(chain, err);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        cc_id_filter_add(filter, (const char *)sqlite3_column_text(stmt, 0));
        cc_id_filter_add(filter, (const char *)sqlite3_column_text(stmt, 1));
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE || store_db_fail(chain, err);
}

bool store_known_rebuild(cc_chain *chain, cc_err *err)
{
    size_t rows = 0;
    if (!count_payments(chain, &rows, err))
        return false;
    size_t capacity = 4 * rows > KNOWN_MIN_CAPACITY ? 4 * rows : KNOWN_MIN_CAPACITY;
    cc_id_filter *filter = cc_id_filter_new(capacity);
    if (!fill_filter(chain, filter, err)) {
        cc_id_filter_free(filter);
        return false;
    }
    cc_id_filter_free(chain->known);
    chain->known = filter;
    return true;
}

void store_note_payment(cc_chain *chain, const cc_tx *tx)
{
    if (!chain->known)
        return; /* not built yet: it will be read from the store */
    cc_id_filter_add(chain->known, tx->txid);
    cc_id_filter_add(chain->known, tx->msgid);
}

/* False when tx is certainly neither mined nor waiting. */
static bool maybe_known(cc_chain *chain, const cc_tx *tx)
{
    if (!chain->known)
        return true;
    if (cc_id_filter_full(chain->known))
        store_known_rebuild(chain, NULL); /* on failure the full one serves */
    return cc_id_filter_may_have(chain->known, tx->txid) ||
           cc_id_filter_may_have(chain->known, tx->msgid);
}

/* The best chain's index is looked up by txid or by signed message:
 * either one matching means the payment is mined. */
bool store_tx_mined(cc_chain *chain, const cc_tx *tx)
{
    if (!maybe_known(chain, tx))
        return false;
    sqlite3_stmt *stmt = store_stmt(chain, SQL_TXINDEX_HAS);
    store_bind_text(stmt, 1, tx->txid);
    store_bind_text(stmt, 2, tx->msgid);
    bool found = sqlite3_step(stmt) == SQLITE_ROW;
    sqlite3_reset(stmt);
    return found;
}

bool store_check_affordable(const cc_tx *tx, const mpq_t available, cc_err *err)
{
    mpq_t amount;
    mpq_init(amount);
    cc_amount_to_mpq(&tx->amount, amount);
    bool ok = mpq_cmp(available, amount) >= 0;
    if (!ok) {
        /* Shown as Python would show the nearest double: exact rationals
         * would be unreadable and the point is only which is larger. */
        char have[CC_NUMBER_TEXT_MAX], need[CC_NUMBER_TEXT_MAX];
        cc_pyfloat_repr(mpq_get_d(available), have);
        cc_pyfloat_repr(mpq_get_d(amount), need);
        cc_refuse(err, CC_REFUSAL_FUNDS, "Insufficient funds: %s can spend %s, needs %s",
                  tx->from, have, need);
    }
    mpq_clear(amount);
    return ok;
}

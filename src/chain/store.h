/* chain/ internals: the SQLite schema and the statements the chain state
 * and the mempool share. Not part of chain/'s public interface.
 * Thread: the owning cc_chain's thread only. */
#ifndef CC_CHAIN_STORE_H
#define CC_CHAIN_STORE_H

#include <gmp.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "chain/chain.h"
#include "chain/checkpointer.h"
#include "chain/id_filter.h"
#include "chain/mempool_set.h"
#include "chain/sig_cache.h"
#include "chain/text_cache.h"

/* PRAGMA user_version from which the reward index holds every reward of
 * the best chain. */
#define STORE_VERSION_REWARDS 1
/* PRAGMA user_version from which the key index (keytx) holds every
 * payment and reward of the best chain. */
#define STORE_VERSION_KEYS 2

typedef enum store_sql {
    SQL_BLOCK_GET,
    SQL_BLOCK_INSERT,
    SQL_BLOCK_SET_STATUS,
    SQL_BLOCK_CHILDREN,
    SQL_BLOCK_ALL,
    SQL_BEST_GET,
    SQL_BEST_SET,
    SQL_BEST_DEL,
    SQL_BEST_TIP,
    SQL_BEST_FROM,
    SQL_SEQ_MAX,
    SQL_BALANCE_GET,
    SQL_BALANCE_SET,
    SQL_TXINDEX_HAS,
    SQL_TXINDEX_ADD,
    SQL_TXINDEX_DEL,
    SQL_TXN_BEGIN,
    SQL_TXN_COMMIT,
    SQL_TXN_ROLLBACK,
    SQL_CHANGE_BEGIN,
    SQL_CHANGE_RELEASE,
    SQL_CHANGE_UNDO,
    SQL_TRIAL_BEGIN,
    SQL_TRIAL_RELEASE,
    SQL_TRIAL_UNDO,
    SQL_WAITING_ADD,
    SQL_WAITING_DEL,
    SQL_WAITING_ALL,
    SQL_REWARD_ADD,
    SQL_REWARD_DEL,
    SQL_TX_FIND_PAYMENT,
    SQL_TX_FIND_REWARD,
    SQL_BLOCK_LONGEST_UNCHECKED,
    SQL_KEYTX_ADD,
    SQL_KEYTX_DEL,
    SQL_KEYTX_CLEAR,
    SQL_KEYTX_COUNT,
    SQL_KEYTX_PAGE,
    SQL_COUNT_
} store_sql;

typedef struct orphan {
    char hash[CC_HASH_HEX_LEN + 1];
    char prev[CC_HASH_HEX_LEN + 1];
    char *text;
    size_t len;
} orphan;

struct cc_chain {
    sqlite3 *db;
    sqlite3_stmt *stmts[SQL_COUNT_];
    const cc_rules *rules;
    const cc_log *log;
    size_t max_orphans;
    size_t max_mempool;
    char tip[CC_HASH_HEX_LEN + 1];
    int64_t height;
    uint64_t generation;
    int64_t next_block_seq;
    int64_t next_mempool_seq;
    /* The mempool (chain/mempool_set.h), its changes marked and undone with
     * the database's transactions (store_begin and the others below); the
     * `waiting` table holds a copy for restarts. */
    cc_mempool_set *mempool;
    /* While a deep reorganisation runs in steps: the mempool as it was
     * before, which reads see (as they see the database through view). */
    cc_mempool_set *mempool_frozen;
    orphan *orphans;
    size_t n_orphans;
    bool reward_index_new; /* the reward index is not filled yet (user_version < 1) */
    bool key_index_new;    /* nor the key index (user_version < 2) */
    cc_sig_cache *verified; /* transactions whose signature was checked */
    cc_text_cache *served;  /* texts of valid blocks lately served */
    cc_id_filter *known;    /* a superset of the payments stored (store_note_payment) */
    bool in_batch;          /* changes are savepoints of one open transaction */
    cc_checkpointer *checkpointer; /* NULL: SQLite's own checkpoints */
    /* A deep reorganisation runs in steps (chain.c), its changes one open
     * transaction of db; between steps every read goes to view, a
     * read-only connection whose read transaction began before the
     * reorganisation did: the state it shows matches tip and height. */
    size_t reorg_inline_max;      /* deeper reorganisations run in steps */
    struct chain_reorg *reorg;    /* the one under way, or NULL */
    bool in_reorg_step;           /* reads and writes go to db */
    sqlite3 *view;                /* opened at the first stepped reorganisation */
    sqlite3_stmt *view_stmts[SQL_COUNT_];
};

/* False (CC_ERR_UNAVAILABLE, saying how far it got) while a deep
 * reorganisation is under way: changes wait for it (chain.c). */
bool chain_writable(const cc_chain *chain, cc_err *err);

/* A signature check that is made at most once per transaction: a hit in
 * chain->verified, else the rules' check, remembered when it passes. */
bool chain_tx_signature_ok(cc_chain *chain, const cc_tx *tx);

bool store_open(cc_chain *chain, const char *path, cc_err *err);
void store_close(cc_chain *chain);

/* Starts a read transaction on the view connection (opened on first use),
 * so that reads between the steps of a reorganisation see the state before
 * it; store_view_end ends it. */
bool store_view_begin(cc_chain *chain, cc_err *err);
void store_view_end(cc_chain *chain);

/* The prepared statement for id, reset and with bindings cleared. */
sqlite3_stmt *store_stmt(cc_chain *chain, store_sql id);
/* Runs a statement that returns no rows; false (with err) on failure. */
bool store_run(cc_chain *chain, sqlite3_stmt *stmt, cc_err *err);
bool store_exec(cc_chain *chain, const char *sql, cc_err *err);

/* Transactions of the database and, with them, of the mempool in memory:
 * every BEGIN, SAVEPOINT, COMMIT, RELEASE and ROLLBACK of db goes through
 * these, so that a rollback undoes the mempool's changes too. A failed
 * commit leaves the transaction open: the caller rolls it back. */
bool store_txn_begin(cc_chain *chain, cc_err *err);
bool store_txn_commit(cc_chain *chain, cc_err *err);
void store_txn_rollback(cc_chain *chain);
/* A savepoint that is always rolled back (a trial). */
bool store_trial_begin(cc_chain *chain, cc_err *err);
bool store_trial_end(cc_chain *chain, cc_err *err);

/* One change (a block, a payment): a transaction of its own, or a
 * savepoint when a batch (cc_chain_batch_begin) is open. */
bool store_begin(cc_chain *chain, cc_err *err);
bool store_commit(cc_chain *chain, cc_err *err);
void store_rollback(cc_chain *chain);
bool store_db_fail(cc_chain *chain, cc_err *err);

void store_bind_text(sqlite3_stmt *stmt, int index, const char *text);

/* Exact amounts are stored as GMP rational text ("3/4"). */
bool store_balance_get(cc_chain *chain, const char *key, mpq_t out, cc_err *err);
/* balance(key) += delta (negative deltas subtract). */
bool store_balance_add(cc_chain *chain, const char *key, const mpq_t delta, cc_err *err);
char *store_mpq_text(const mpq_t value);
void store_mpq_parse(const char *text, mpq_t out);

/* Builds chain->known afresh from the store (chain/id_filter.h), sized
 * for what it holds now; false (err) leaves the old one in place. */
bool store_known_rebuild(cc_chain *chain, cc_err *err);
/* Every payment written to the txindex or the mempool goes through here. */
void store_note_payment(cc_chain *chain, const cc_tx *tx);
/* True when tx (by txid or by signed message) is on the best chain. */
bool store_tx_mined(cc_chain *chain, const cc_tx *tx);

/* The first integer of a one-row query (0 when it gives no row). */
int64_t store_query_int(cc_chain *chain, store_sql id);

/* Fails with "Insufficient funds" when available does not cover tx. */
bool store_check_affordable(const cc_tx *tx, const mpq_t available, cc_err *err);

/* The key index (key_index.c): the rows of tx, the transaction at place pos
 * of the best chain's block at height, added when the block is connected
 * and removed when it is disconnected, inside the chain's transaction. */
bool key_index_add(cc_chain *chain, int64_t height, size_t pos, const cc_tx *tx, cc_err *err);
bool key_index_remove(cc_chain *chain, int64_t height, size_t pos, const cc_tx *tx,
                      cc_err *err);

/* Mempool maintenance after the best chain changed, in mempool.c, called
 * inside the chain's transaction: abandoned holds the payments of the
 * blocks the change disconnected, in chain order (n may be 0). */
bool mempool_restore(cc_chain *chain, const cc_tx *abandoned, size_t n, cc_err *err);

/* The same in parts, for a reorganisation run in steps: begin (returns the
 * arrival order of abandoned[0]), then some of abandoned[from..to) at a
 * time, then end (the trim of what the new branch cannot afford). */
int64_t mempool_restore_begin(cc_chain *chain, size_t n);
bool mempool_restore_some(cc_chain *chain, const cc_tx *abandoned, size_t from, size_t to,
                          int64_t first_seq, cc_err *err);
bool mempool_restore_end(cc_chain *chain, cc_err *err);

/* Takes the payments block mined out of the mempool (inside the chain's
 * transaction). */
bool mempool_drop_mined(cc_chain *chain, const cc_block *block, cc_err *err);
/* Fills the mempool from the `waiting` table, at opening. */
bool mempool_load(cc_chain *chain, cc_err *err);
/* Appends the text of the waiting payment txid to text (when not NULL);
 * false when none waits. */
bool mempool_text_of(cc_chain *chain, const char *txid, cc_buf *text);

#endif

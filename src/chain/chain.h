/* The chain state of one node: the block store, the best chain with its
 * reorganisations, orphans, balances and the mempool, all in one SQLite
 * database (WAL) that is the node's source of truth.
 *
 * Rules (PROTOCOL.md A.4): best chain = most blocks, ties keep the first
 * seen; side blocks are kept; a block whose parent is unknown waits in a
 * bounded orphan pool; every transaction is checked against its own branch
 * (funds, no payment twice); a reorganisation sends the still-valid
 * transactions of abandoned blocks back to the mempool, ahead of those
 * already waiting.
 *
 * A side block whose branch forks near the tip is checked against its
 * branch (funds, no payment twice) when it arrives, by a trial
 * reorganisation that is rolled back. A deeper fork is checked, as in
 * Bitcoin, only when its branch would become the best: checking every side
 * block at once would let a peer make us replay deep forks for the price
 * of one proof of work. Until a block has passed that check it is kept out
 * of sight: only blocks valid on their branch are served (block text,
 * /getblocks lists, pages, look-ups), so that nothing this node hands out
 * breaks a rule. A block that fails the check is remembered as invalid
 * with everything built on it.
 *
 * Every change is one SQLite transaction: committed before a call returns
 * success, rolled back on any failure, so a rejected block or transaction
 * changes nothing and a crash leaves the last committed state.
 *
 * Errors: cc_err; CC_ERR_BAD_REQUEST for invalid input (the message says
 * why), CC_ERR_INTERNAL for database failures.
 * Thread: not thread-safe; the node's event-loop thread owns it. */
#ifndef CC_CHAIN_CHAIN_H
#define CC_CHAIN_CHAIN_H

#include <gmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus/rules.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"

typedef struct cc_chain cc_chain;

typedef struct cc_chain_config {
    const char *db_path;
    const cc_rules *rules;
    const cc_log *log;
    size_t max_orphans;  /* blocks waiting for a parent */
    size_t max_mempool;  /* transactions waiting to be mined */
    /* A reorganisation undoing more blocks than this runs in steps that the
     * caller drives (cc_chain_reorg_step), so that the thread stays free for
     * other work; 0: every one at once. Catching up in a batch is never
     * split. */
    size_t reorg_inline_max;
} cc_chain_config;

/* Opens (creating when new) the database and loads the best chain. */
cc_chain *cc_chain_open(const cc_chain_config *config, cc_err *err);
void cc_chain_close(cc_chain *chain);

typedef enum cc_block_outcome {
    CC_BLOCK_NEW_TIP,  /* connected; the best chain now ends here (maybe by reorg) */
    CC_BLOCK_SIDE,     /* stored on a branch that is not the best (see checked) */
    CC_BLOCK_ORPHAN,   /* parent unknown: held until the parent arrives */
} cc_block_outcome;

typedef struct cc_block_result {
    cc_block_outcome outcome;
    char hash[CC_HASH_HEX_LEN + 1];
    int64_t height;       /* the block's nr: for an orphan, a height its sender has */
    char missing_parent[CC_HASH_HEX_LEN + 1]; /* for CC_BLOCK_ORPHAN */
    bool tip_changed;     /* the best tip moved (this block or adopted orphans) */
    bool checked;         /* valid on its branch (a new tip, or a side block of a
                           * shallow fork): served, and fit to relay; false for
                           * an orphan or an unchecked side block */
    size_t reorg_depth;   /* blocks disconnected from the old best chain */
    bool reorg_pending;   /* stored, and the best chain is switching to its branch
                           * in steps (cc_chain_reorg_step): not checked yet */
} cc_block_result;

/* Validates and stores a block received as wire text. A block seen before
 * fails with CC_ERR_BAD_REQUEST "Block already exists" (with ": it was
 * found invalid" added when it was), a block built on an invalid one with
 * "Block builds on an invalid block". */
bool cc_chain_submit_block(cc_chain *chain, const char *text, size_t len, cc_block_result *res,
                           cc_err *err);

/* The same for a block the caller decoded with the chain's rules (on a
 * worker, say); the block stays the caller's. */
bool cc_chain_submit_decoded(cc_chain *chain, cc_block *block, cc_block_result *res,
                             cc_err *err);

/* ---- deep reorganisations in steps ----
 *
 * When a block makes a branch forking more than reorg_inline_max blocks
 * below the tip the longest, cc_chain_submit_* store it (outcome
 * CC_BLOCK_SIDE, reorg_pending) and leave the switch to the caller, who
 * calls cc_chain_reorg_step until *done, yielding to other work between
 * calls. Meanwhile every read (blocks, balances, the mempool, height and
 * tip) shows the state before the switch, and every change (blocks,
 * payments, batches) fails with CC_ERR_UNAVAILABLE. When done, res says
 * what a submission that made the switch at once would have said
 * (CC_BLOCK_NEW_TIP, tip_changed, reorg_depth, orphans adopted). A branch
 * that breaks a rule is marked invalid: the step returns false with err,
 * and the best chain stays what it was. A node that stops in the middle
 * loses nothing: no step is committed before the last. */
bool cc_chain_reorg_pending(const cc_chain *chain);
bool cc_chain_reorg_step(cc_chain *chain, size_t max_blocks, bool *done, cc_block_result *res,
                         cc_err *err);

/* A batch makes the changes between begin and end one SQLite transaction
 * (each change a savepoint of it, still refused alone): catching up with a
 * page of blocks commits once instead of once per block. Nothing in a
 * batch is durable before cc_chain_batch_end, so a caller acknowledges
 * nothing inside one; when the final commit fails, the whole batch is
 * undone and the chain's state follows the database back. */
bool cc_chain_batch_begin(cc_chain *chain, cc_err *err);
bool cc_chain_batch_end(cc_chain *chain, cc_err *err);

/* Records that tx's signature was checked and is valid (a worker thread
 * checked it with the chain's rules), so that the chain does not check it
 * again: see chain/sig_cache.h. */
void cc_chain_note_verified(cc_chain *chain, const cc_tx *tx);
/* True when tx needs no signature check: a reward, or one noted above. */
bool cc_chain_signature_known(const cc_chain *chain, const cc_tx *tx);

/* True when the chain refuses block without reading its payments: it holds
 * it (stored, waiting as an orphan, or found invalid), or it is a genesis. */
bool cc_chain_block_known(cc_chain *chain, const cc_block *block);

/* The cheap refusals of cc_chain_accept_tx, without the signature check or
 * the funds: a reward, or a payment the chain or the mempool holds. A
 * caller checks these before spending a worker on the signature. */
bool cc_chain_check_new_tx(cc_chain *chain, const cc_tx *tx, cc_err *err);

/* Validates a transaction received as wire text and puts it in the mempool;
 * writes its txid. A transaction seen before (in the mempool or on the best
 * chain, under any signature) fails with "Transaction already exists". */
bool cc_chain_submit_tx(cc_chain *chain, const char *text, size_t len,
                        char txid[CC_HASH_HEX_LEN + 1], cc_err *err);

/* The same for a transaction already decoded (the node's own payments),
 * with the same checks, the signature included. */
bool cc_chain_accept_tx(cc_chain *chain, const cc_tx *tx, cc_err *err);

int64_t cc_chain_height(const cc_chain *chain);
const char *cc_chain_tip(const cc_chain *chain);
/* Counts the best chain's changes; lets the miner notice a moved tip. */
uint64_t cc_chain_tip_generation(const cc_chain *chain);

/* Wire text of a block valid on its branch (any branch), in place of what
 * out held; CC_ERR_NOT_FOUND (out emptied) otherwise (unknown, invalid, or
 * not checked yet). */
bool cc_chain_block_text(cc_chain *chain, const char *hash, cc_buf *out, cc_err *err);
/* {"chain": [[b0], [b1, b1'], ...]}: every block valid on its branch, by
 * height, best-chain block first. */
bool cc_chain_write_all(cc_chain *chain, cc_buf *out, cc_err *err);
/* {"chain": [H, child, ...]}: block H then the best-chain blocks after it
 * (only H itself when H is not on the best chain); CC_ERR_NOT_FOUND when H
 * is not a block valid on its branch. */
bool cc_chain_write_from(cc_chain *chain, const char *hash, cc_buf *out, cc_err *err);

/* ---- catching up (a node serving and following another's best chain) ----
 *
 * A page bounds an answer for a peer that catches up: at most max_blocks
 * blocks after the first, and no more once the page holds max_bytes of
 * block text (at least one is always added, so every page makes progress).
 * Pages stream from the database: memory stays bounded whatever the
 * length of the chain. */
typedef struct cc_chain_page {
    size_t max_blocks;
    size_t max_bytes;
} cc_chain_page;

/* The same as cc_chain_write_from, the blocks after H bounded by page. */
bool cc_chain_write_from_page(cc_chain *chain, const char *hash, const cc_chain_page *page,
                              cc_buf *out, cc_err *err);

/* A block locator, as in Bitcoin: hashes of the best chain at the tip,
 * tip-1, tip-2, tip-4, tip-8, ... and always the genesis last, at most max
 * (>= 2) of them, newest first. A peer finds in it the newest block that is
 * on its own best chain (the fork point, give or take twice the fork's
 * depth) in O(log height) hashes. Returns the count written. */
size_t cc_chain_locator(cc_chain *chain, char (*hashes)[CC_HASH_HEX_LEN + 1], size_t max);

/* The answer to a locator: {"chain": [F, child, ...], "height": H} where F
 * is the first locator hash on our best chain (unknown hashes and side
 * blocks are skipped; the genesis when none is on it), followed by a page
 * of the best-chain blocks after it, and H is our best height (so that
 * the asking node can show its progress). The same shape as
 * /getblocks?id=, plus "height". */
bool cc_chain_write_after(cc_chain *chain, const char (*locator)[CC_HASH_HEX_LEN + 1], size_t n,
                          const cc_chain_page *page, cc_buf *out, cc_err *err);

/* Balance of key on the best chain (exact). */
bool cc_chain_balance(cc_chain *chain, const char *key, mpq_t out, cc_err *err);
/* The best-chain balance less what the mempool already spends from key. */
bool cc_chain_spendable(cc_chain *chain, const char *key, mpq_t out, cc_err *err);

/* ---- looking things up (the node's JSON API, docs/api.md) ---- */

typedef struct cc_chain_block_info {
    int64_t height;
    bool best; /* on the best chain */
} cc_chain_block_info;

/* A block valid on its branch (any branch) by hash: its wire text (text
 * may be NULL), height and place; CC_ERR_NOT_FOUND "Block not found"
 * otherwise. */
bool cc_chain_block_get(cc_chain *chain, const char *hash, cc_buf *text,
                        cc_chain_block_info *info, cc_err *err);

/* The hash of the best chain's block at height (0 is the genesis);
 * CC_ERR_NOT_FOUND when height is negative or above the tip. */
bool cc_chain_hash_at(cc_chain *chain, int64_t height, char out[CC_HASH_HEX_LEN + 1],
                      cc_err *err);

typedef struct cc_chain_tx_info {
    bool mined;                      /* on the best chain; false: in the mempool */
    char block[CC_HASH_HEX_LEN + 1]; /* mined: the block holding it ("" otherwise) */
    int64_t height;                  /* mined: that block's height (-1 otherwise) */
} cc_chain_tx_info;

/* A transaction by txid, on the best chain or waiting in the mempool: its
 * wire text (text may be NULL) and where it is; CC_ERR_NOT_FOUND
 * "Transaction not found" otherwise. Payments are found through the
 * txindex, rewards through the reward index (a reward text mined in more
 * than one block is reported in the lowest); the genesis block's
 * transaction, which moves no balance, is not indexed. Side branches are
 * not searched. */
bool cc_chain_tx_find(cc_chain *chain, const char *txid, cc_buf *text, cc_chain_tx_info *info,
                      cc_err *err);

/* ---- a key's transactions (the explorer's page of a key) ----
 *
 * The best chain's transactions are indexed by key as blocks are connected
 * and disconnected (one SQLite transaction with everything else, so a
 * reorganisation leaves the index exact): every payment under its sender
 * and its recipient (a payment to oneself once), every reward under its
 * recipient. The genesis block's transaction moves no balance and is not
 * indexed, as the txindex leaves it out; a reward text repeated within one
 * block, which is credited once, is indexed once. */

typedef enum cc_chain_direction {
    CC_CHAIN_IN,   /* paid to the key by another (rewards included) */
    CC_CHAIN_OUT,  /* paid by the key to another */
    CC_CHAIN_SELF, /* paid by the key to itself */
} cc_chain_direction;

typedef struct cc_chain_key_tx {
    char txid[CC_HASH_HEX_LEN + 1];
    bool mined;                      /* on the best chain; false: waiting */
    char block[CC_HASH_HEX_LEN + 1]; /* mined: the block holding it ("" otherwise) */
    int64_t height;                  /* mined: that block's height (-1 otherwise) */
    cc_chain_direction direction;
    const char *text; /* the wire text as mined or received; the callback's only */
    size_t text_len;
} cc_chain_key_tx;

/* Called once per transaction listed. It must not call the chain: the
 * list is read while it runs. */
typedef void (*cc_chain_key_tx_fn)(void *ctx, const cc_chain_key_tx *tx);

/* The best chain's transactions of key, newest first (height descending,
 * then the later in the block first), skipping the first offset and
 * listing at most limit: fn is called for each. *total is the number of
 * rows the index holds under key's id, what offset and limit count in.
 * Ids are 64-bit hashes of the keys, and every row is checked against its
 * transaction's sender and recipient before it is listed: a row of
 * another key whose id collides with key's (never met by chance: 1 in
 * 2^64 per pair of keys) is counted in *total and skipped, so such a page
 * lists fewer than limit, and pages of offset 0, limit, 2 limit, ... up to
 * *total still list each of key's transactions once. During a
 * reorganisation in steps the list is the best chain's before it.
 * CC_ERR_INTERNAL for database failures. */
bool cc_chain_key_payments(cc_chain *chain, const char *key, size_t offset, size_t limit,
                           cc_chain_key_tx_fn fn, void *ctx, size_t *total, cc_err *err);

/* Waiting transactions searched for a key: the whole mempool at the node's
 * default bound (10,000), the oldest this many of a larger one. */
#define CC_CHAIN_WAITING_SCAN 100000

/* The mempool's payments from or to key, in arrival order, at most max of
 * them among the first CC_CHAIN_WAITING_SCAN waiting: fn is called for
 * each. Returns how many were listed. */
size_t cc_chain_key_waiting(cc_chain *chain, const char *key, size_t max, cc_chain_key_tx_fn fn,
                            void *ctx);

/* Appends the mempool as a JSON array of transaction wire texts, in
 * arrival order, at most max of them ("[]" when empty). */
bool cc_chain_mempool_write(cc_chain *chain, size_t max, cc_buf *out, cc_err *err);

size_t cc_chain_mempool_size(const cc_chain *chain);
/* Copies of up to max mempool transactions in arrival order, for a block
 * template. The caller clears each and frees the array. */
bool cc_chain_mempool_take(cc_chain *chain, size_t max, cc_tx **txs, size_t *n, cc_err *err);

#endif

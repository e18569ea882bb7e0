/* The node, whatever its network: the data directory and its lock, the
 * wallet, the chain, the miner and the signature workers; mining; blocks
 * and payments offered to the chain (each outcome counted in /metrics);
 * payments from the node's wallet; the JSON API's backend and the web
 * endpoints (/metrics, /api/, the explorer); signals and shut-down.
 *
 * What a network does differently reaches the core through its rules
 * (consensus/rules.h: templates, rewards, decoding, signatures), its key
 * kind (wallet/keys.h: the wallet file, payments) and an adapter, written
 * per network (node/http_node.c, node/cheese_node.c): how a block or a
 * payment is announced to peers, how a missing parent is fetched, and what
 * the API says of peers and sync. docs/architecture.md draws it.
 *
 * Lifetime: cc_node_core_open, then cc_node_core_start with the adapter,
 * cc_node_core_run until a signal, cc_node_core_close (also after a failed
 * open). Errors: cc_err for what stops the node from starting.
 * Thread: the loop thread. */
#ifndef CC_NODE_CORE_H
#define CC_NODE_CORE_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/chain.h"
#include "consensus/rules.h"
#include "node/api.h"
#include "node/mempool_history.h"
#include "node/metrics.h"
#include "node/miner.h"
#include "node/node_common.h"
#include "node/verifier.h"
#include "util/dirlock.h"
#include "util/err.h"
#include "util/log.h"
#include "wallet/keys.h"

typedef struct cc_node_core_config {
    const cc_rules *rules;
    const char *datadir;
    size_t n_transactions;   /* waiting payments that start mining */
    unsigned miner_threads;  /* 0: one per core */
    int miner_nice;          /* the mining threads' niceness, 0 to 19 */
    unsigned verify_threads; /* signature-checking workers; 0: one per core */
    bool mine_on_start;      /* mine block 1 when the chain is only the genesis */
    size_t max_mempool;
    size_t max_orphans;
    /* A switch to a branch forking deeper than this runs in steps, the loop
     * serving everyone else in between (chain.h); 0: every switch at once. */
    size_t reorg_inline_max;
    size_t reorg_step_blocks;
    bool api_trust_loopback; /* send and mine answer loopback without the token */
    const cc_log *log;
} cc_node_core_config;

/* What one network's node does on its own; ctx is the adapter's. */
typedef struct cc_node_adapter {
    /* Sends a block's wire text to every peer but except (NULL: all). */
    void (*announce_block)(void *ctx, const char *text, size_t len, const char *except);
    /* The same for a payment. */
    void (*announce_tx)(void *ctx, const char *text, size_t len, const char *except);
    /* A block whose parent we lack came from source (NULL: unknown). */
    void (*orphan)(void *ctx, const cc_block_result *res, const char *source);
    /* Optional: the best chain switched branch (its abandoned payments are
     * back in the mempool). */
    void (*reorganised)(void *ctx);
    /* The API's peer list (a JSON array) and sync state (a JSON object). */
    void (*peers_json)(void *ctx, cc_buf *out);
    void (*sync_json)(void *ctx, cc_buf *out);
    /* Optional: the explorer's peer table, a JSON array of {"address",
     * "height", "spelling", "last_answer"} (node/api.h). */
    void (*peer_table)(void *ctx, cc_buf *out);
    size_t (*peer_count)(void *ctx);
    void *ctx;
} cc_node_adapter;

typedef struct cc_node_core {
    cc_node_core_config cfg;
    cc_node_adapter adapter;
    cc_dir_lock datadir_lock;
    struct event_base *base;
    cc_chain *chain;
    cc_miner *miner;
    cc_verifier *verifier;
    const cc_key_kind *key_kind;
    cc_wallet_key key;
    bool key_loaded;
    char api_token[65];
    cc_api_backend api;
    cc_node_web web; /* /metrics, /api/ and the explorer */
    cc_metrics metrics;
    /* the block being mined */
    uint64_t job_id;
    uint64_t job_generation;
    bool mine_requested; /* through the API: until a block of ours is found */
    cc_block_template tpl;
    struct event *reorg_step; /* drives a switch to a longer branch, step by step */
    cc_mempool_history mempool_history; /* the explorer's chart */
    struct event *history_tick;
    cc_node_signals signals;
    /* payments of one verifier round share one open batch (chain.h) */
    bool round_open;
    bool batch_open;
    struct tx_check **settling; /* accepted in the batch, answered once it is stored */
    size_t n_settling;
} cc_node_core;

/* The documented defaults (docs/configuration.md); no rules, data
 * directory or log yet, every reorganisation at once. */
void cc_node_core_defaults(cc_node_core_config *config);

/* Makes the loop, takes the data directory, loads (or creates) the wallet
 * and the API token and opens the chain. */
bool cc_node_core_open(cc_node_core *core, const cc_node_core_config *cfg, cc_err *err);

/* Starts the miner, the workers and the signal handlers; from here on the
 * adapter is called. */
void cc_node_core_start(cc_node_core *core, const cc_node_adapter *adapter);

/* Mines what waits (if it is time) and runs the loop until a signal. */
void cc_node_core_run(cc_node_core *core);

/* Releases everything, in the order that lets pending work finish. Safe on
 * a core whose open failed. */
void cc_node_core_close(cc_node_core *core);

/* The node's public key. */
const char *cc_node_core_key(const cc_node_core *core);

/* Where a browser finds the node, unless told otherwise: its port + this.
 * Browsers refuse some ports outright (6000, X11's, the http network's
 * default, among them), so the explorer has a port of its own. */
#define CC_NODE_WEB_PORT_OFFSET 1000

/* The handler (ctx: the core) of the port that serves the explorer at /,
 * the JSON API under /api/ and /metrics, and nothing else. */
void cc_node_core_web_handle(void *ctx, const cc_http_request *req, const char *peer_ip,
                             cc_http_response *resp);

/* Mines when the chain is only the genesis (mine_on_start), when enough
 * payments wait or when a block was asked for; a job whose tip has moved
 * is rebuilt on the new tip, or dropped. */
void cc_node_core_maybe_mine(cc_node_core *core);

/* Decodes a block with the network's rules; a refusal is counted. */
bool cc_node_core_decode_block(cc_node_core *core, const char *text, size_t len,
                               cc_block *block, cc_err *err);

/* Offers a decoded block to the chain (signatures not yet known valid are
 * checked there) and acts on what happened: announced when new and
 * checked, an orphan handed to the adapter, the new tip announced when
 * waiting orphans joined it, mining moved to the new tip. The block stays
 * the caller's. */
bool cc_node_core_take_block(cc_node_core *core, cc_block *block, const char *source,
                             cc_block_result *res, cc_err *err);

/* ---- intake: signatures checked off the loop ----
 *
 * A block or payment from outside is checked in two steps: its signatures
 * that the chain has not seen valid on the workers (node/verifier.h), then
 * everything else on the loop, where it is offered to the chain. One whose
 * signatures are all known (a block of payments already in our mempool, a
 * block we hold) goes to the chain at once. */

/* How a check of blocks reports back, on the loop thread. */
typedef struct cc_node_block_intake {
    /* Each block's outcome, in the list's order; false stops the list
     * there (the rest are not offered). err may be changed. */
    bool (*taken)(void *ctx, const cc_block *block, bool ok, const cc_block_result *res,
                  cc_err *err);
    /* Once, after the last block, or when the node shuts down first
     * (cancelled: the blocks not taken yet never are). */
    void (*done)(void *ctx, bool cancelled);
    void *ctx;
} cc_node_block_intake;

/* Checks blocks[0..n) (each building on what comes before it in the list,
 * or on the chain) and offers them in order: announced when announce is
 * set (cc_node_core_take_block), else only stored, orphans handed to the
 * adapter. Takes the blocks (the array is freed with them). source: the
 * peer they came from (never announced back to), or NULL. The intake's
 * callbacks may run before this returns. */
void cc_node_core_check_blocks(cc_node_core *core, cc_block *blocks, size_t n,
                               const char *source, bool announce,
                               const cc_node_block_intake *intake);

/* How a payment's check ended, on the loop thread: accepted into the
 * mempool (and announced, when asked), or err says why not (a refusal
 * reason, or CC_ERR_UNAVAILABLE when the node shuts down first). */
typedef void (*cc_node_tx_done)(void *ctx, const cc_tx *tx, bool accepted, const cc_err *err);

/* Checks a payment: the cheap refusals (cc_chain_check_new_tx) at once,
 * then its signature on the workers, then the mempool. Payments whose
 * signatures come back together are stored with one commit, and answered
 * once it is made. Takes tx. done may run before this returns. */
void cc_node_core_check_tx(cc_node_core *core, cc_tx *tx, const char *source, bool announce,
                           cc_node_tx_done done, void *ctx);

/* Offers a block to the chain and counts the outcome, nothing more (a page
 * of a catch-up, relayed once at its end). Payments waiting for their
 * batch's commit are stored first. */
bool cc_node_core_store_block(cc_node_core *core, cc_block *block, cc_block_result *res,
                              cc_err *err);

/* Puts a decoded payment in the mempool (its signature checked unless
 * known) and counts the outcome. */
bool cc_node_core_accept_tx(cc_node_core *core, const cc_tx *tx, cc_err *err);

/* A payment of amount from the node's wallet to `to`, accepted into the
 * mempool and announced; out is the caller's on success. */
bool cc_node_core_pay(cc_node_core *core, const char *to, const cc_number *amount, cc_tx *out,
                      cc_err *err);

/* Announces the best tip to every peer but except. */
void cc_node_core_announce_tip(cc_node_core *core, const char *except);

/* The wall clock in both forms a network stamps with. */
void cc_node_stamp_now(cc_stamp *out);

#endif

/* Catching up with peers on the http network: a new or lagging node, or
 * one whose tip is not on a peer's best chain, fetches what it lacks one
 * page at a time (docs/http-network.md, "Catching up").
 *
 * One round asks one peer, page after page, for the blocks after our block
 * locator (`/getblocks?locator=...&limit=N`: the peer answers from the
 * newest of our blocks on its best chain, so a fork point is found in one
 * request) until a page brings nothing new. Only a peer that has shown it
 * speaks that form (node/http_peering.h: cc_peering_api) is sent it: a
 * reference node's handler dies on it. Any other peer, and one that does
 * not understand the form after all (an error, its whole chain, or the
 * connection closed with no answer), is asked the seed's way:
 * `/getblocks?id=<our tip>`, and when that block is unknown to it or its
 * answer is no chain (a reference node's is broken JSON), the whole
 * `/getblocks`, every block of which is fed, height by height. Such a peer
 * never fetches, so the blocks of our best chain that its whole chain
 * lacks are posted to it, a few each round.
 * Rounds start at cc_sync_start, every few seconds (jittered, one peer
 * after the other), and at once when a peer shows us a block we cannot
 * connect. At most one request and one page are under way at any time, so
 * memory does not grow with the chain; progress (height, percent of the
 * peer's height when known, blocks/s) is logged at info.
 *
 * Blocks go to the chain through the node's submit hook, and the node
 * hears once per page that the tip moved (advanced), so that relaying and
 * mining stay the node's business and a long catch-up is not relayed
 * block by block.
 *
 * Thread: the loop thread. Ownership: borrows everything in its config,
 * which must outlive it; free it after the HTTP client and the peering
 * object (their reports of dropped requests still reach it) and before the
 * event base. */
#ifndef CC_NODE_HTTP_SYNC_H
#define CC_NODE_HTTP_SYNC_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/chain.h"
#include "node/http_peering.h"
#include "node/peers.h"
#include "node/verifier.h"
#include "util/err.h"
#include "util/log.h"

/* What a node serves a catching-up peer at most: blocks and bytes of one
 * page (well under the 4 MiB a node accepts in an answer, even when the
 * last block added is a full one), and hashes read from one locator. */
#define CC_SYNC_PAGE_MAX_BLOCKS 500
#define CC_SYNC_PAGE_MAX_BYTES (1u << 20)
#define CC_SYNC_MAX_LOCATOR 64

/* Stores one decoded block of a page (no relaying), its signatures
 * already checked; the result and err of cc_chain_submit_decoded. */
typedef bool (*cc_sync_submit_fn)(void *ctx, cc_block *block, cc_block_result *res,
                                  cc_err *err);
/* A page moved our best tip; peer is where it came from. */
typedef void (*cc_sync_advanced_fn)(void *ctx, const char *peer);

typedef struct cc_sync_config {
    struct event_base *base;
    cc_peering *peering;
    const cc_peers *peers;
    const cc_rules *rules;      /* decodes and checks the blocks of a page */
    cc_chain *chain;            /* read here (tip, height, locator), written through submit */
    cc_verifier *verifier;      /* checks a page's signatures; freed before the sync */
    cc_sync_submit_fn submit;
    cc_sync_advanced_fn advanced;
    void *ctx;                  /* for submit and advanced */
    double interval_s;          /* between rounds, jittered */
    size_t page_blocks;         /* blocks asked for per page */
    const cc_log *log;
} cc_sync_config;

typedef struct cc_sync cc_sync;

cc_sync *cc_sync_new(const cc_sync_config *cfg);
void cc_sync_free(cc_sync *sync);

/* A first round now, then one every interval. */
void cc_sync_start(cc_sync *sync);

/* A peer (NULL when not a listed one) showed us a block at height whose
 * parent we lack: a round with that peer (or the next one) starts as soon
 * as none is under way. */
void cc_sync_orphan(cc_sync *sync, const char *peer, int64_t height);

/* A peer was just listed: a round with it starts as soon as none is under
 * way, so a new node does not wait a whole interval for its first blocks. */
void cc_sync_new_peer(cc_sync *sync, const char *peer);

/* What the sync knows, for the node's API. */
typedef struct cc_sync_status {
    bool busy;               /* a round is under way */
    char peer[96];           /* the peer it asks ("" when none is) */
    int64_t best_height;     /* the highest best height a peer showed us (-1: none yet) */
    char best_peer[96];      /* that peer ("" when none) */
} cc_sync_status;

void cc_sync_get_status(const cc_sync *sync, cc_sync_status *out);

/* The best height peer has shown us (-1: none, or forgotten). */
int64_t cc_sync_peer_height(const cc_sync *sync, const char *peer);

#endif

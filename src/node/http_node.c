#include "node/http_node.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "chain/chain_reader.h"
#include "codec/json.h"
#include "consensus/http.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "node/api.h"
#include "node/metrics.h"
#include "node/miner.h"
#include "node/node_common.h"
#include "node/http_peering.h"
#include "node/http_sync.h"
#include "node/peers.h"
#include "node/verifier.h"
#include "util/clock.h"
#include "util/fileio.h"
#include "util/hex.h"
#include "util/mem.h"
#include "wallet/keys.h"
#include "wallet/payment.h"

#define SYNC_S 4             /* between catch-up rounds (jittered) */
#define PARENT_FETCH_GAP 8   /* orphans further ahead are left to the sync */
/* A switch to a branch forking deeper than this runs in steps of
 * REORG_STEP_BLOCKS, the loop serving everyone else in between (chain.h);
 * a step takes a few milliseconds. */
#define REORG_INLINE_MAX 32
#define REORG_STEP_BLOCKS 16

typedef struct http_node {
    const cc_http_node_config *cfg;
    cc_dir_lock datadir_lock;
    struct event_base *base;
    cc_chain *chain;
    cc_http_server *server;
    cc_http_client *client;
    cc_miner *miner;
    cc_verifier *verifier; /* signature checks off the loop */
    cc_faucet *faucet;
    cc_peers *peers;
    cc_p192_key key;
    char self[96];
    /* the block being mined */
    uint64_t job_id;
    uint64_t job_generation;
    cc_http_template tpl;
    cc_peering *peering;
    cc_sync *sync;
    bool sync_reorged; /* a page being fed reorganised the chain */
    bool round_open;   /* the verifier is handing back a round of results */
    bool batch_open;   /* payments of this round share one open batch */
    struct inv_check **settling; /* accepted in the batch, answered once it is stored */
    size_t n_settling;
    char api_token[65];
    cc_api_backend api;
    cc_node_web web; /* /metrics, /api/ and the explorer */
    cc_metrics metrics;
    struct event *reorg_step; /* drives a switch to a longer branch, step by step */
} http_node;

void cc_http_node_defaults(cc_http_node_config *config)
{
    *config = (cc_http_node_config){
        .host = "127.0.0.1",
        .port = 6000,
        .n_transactions = 2,
        .miner_nice = CC_MINER_NICE_DEFAULT,
        .mine_on_start = true,
        .faucet = {.enabled = true, .min_per_request = 1e-8, .max_per_request = 5,
                   .max_per_recipient = 10, .max_total = 50, .window_s = 3600},
        .max_body_bytes = 1 << 20,
        .max_header_bytes = 16 << 10,
        .idle_timeout_s = 10,
        .max_connections = 1024,
        .max_mempool = 10000,
        .max_orphans = 256,
        .max_peers = 128,
        .gossip_interval_s = 60,
        .ban_time_s = 600,
        .api_trust_loopback = true,
    };
}

/* ---- mining ------------------------------------------------------------ */

static bool start_job(http_node *node, cc_err *err)
{
    cc_tx *txs = NULL;
    size_t n = 0;
    cc_err why = {0};
    if (!cc_chain_mempool_take(node->chain, CC_HTTP_MAX_BLOCK_TXS - 1, &txs, &n, &why)) {
        cc_error(node->cfg->log, "cannot read the mempool: %s", why.msg);
        if (err)
            *err = why;
        return false;
    }
    txs = cc_realloc(txs, (n + 1) * sizeof *txs);
    char now[27];
    cc_clock_iso_now(now);
    cc_number reward = {.is_int = true, .i = 1};
    cc_http_tx_reward(node->key.pub_hex, &reward, now, &txs[n++]);
    cc_http_template_clear(&node->tpl);
    cc_http_template_build(&node->tpl, cc_chain_height(node->chain) + 1, cc_chain_tip(node->chain),
                           now, node->key.pub_hex, txs, n);
    for (size_t i = 0; i < n; i++)
        cc_tx_clear(&txs[i]);
    free(txs);
    node->job_id++;
    node->job_generation = cc_chain_tip_generation(node->chain);
    cc_info(node->cfg->log, "mining block %lld with %zu transactions",
            (long long)node->tpl.height, n);
    const cc_rules *rules = node->cfg->rules;
    cc_miner_start(node->miner, node->job_id, node->tpl.prefix.data, node->tpl.prefix.len,
                   node->tpl.suffix.data, node->tpl.suffix.len, rules->pow_zero_digits,
                   rules->nonce_style);
    return true;
}

/* Mines when the chain is only the genesis (the reference's first block)
 * or when enough transactions wait; drops a job whose tip has moved.
 * forced (POST /api/mine): mines now whatever waits, even nothing, and a
 * job under way is replaced so that the block holds what waits now. Like
 * any job, a forced one is dropped when the tip moves before it is found. */
static bool update_mining(http_node *node, bool forced, cc_err *err)
{
    /* Whatever is mined before a switch ends builds on a tip that goes. */
    if (cc_chain_reorg_pending(node->chain)) {
        cc_miner_cancel(node->miner);
        return !forced || cc_fail(err, CC_ERR_UNAVAILABLE, "The chain is switching to a "
                                  "longer branch; mine again in a moment");
    }
    bool busy = cc_miner_job(node->miner) != 0;
    bool stale = node->job_generation != cc_chain_tip_generation(node->chain);
    if (busy && !stale && !forced)
        return true;
    bool want = forced || (cc_chain_height(node->chain) == 0 && node->cfg->mine_on_start) ||
                cc_chain_mempool_size(node->chain) >= node->cfg->n_transactions;
    if (want)
        return start_job(node, err);
    if (busy)
        cc_miner_cancel(node->miner);
    return true;
}

static void maybe_mine(http_node *node)
{
    update_mining(node, false, NULL);
}

static void on_fetched_block(void *ctx, const char *peer, const cc_http_client_answer *a);

/* Every block and transaction offered to the chain goes through these
 * two, so that /metrics counts each outcome once. */
static bool submit_decoded(http_node *node, cc_block *block, cc_block_result *res, cc_err *err)
{
    bool ok = cc_chain_submit_decoded(node->chain, block, res, err);
    cc_metrics_block(&node->metrics, ok, res, err);
    return ok;
}

static bool accept_tx(http_node *node, const cc_tx *tx, cc_err *err)
{
    bool ok = cc_chain_accept_tx(node->chain, tx, err);
    cc_metrics_tx(&node->metrics, ok, err);
    return ok;
}

/* Sends our best tip to every peer but source: a peer that lacks blocks
 * under it sees an orphan and fetches them. */
static void relay_tip(http_node *node, const char *source)
{
    cc_buf tip = CC_BUF_INIT;
    if (cc_chain_block_text(node->chain, cc_chain_tip(node->chain), &tip, NULL))
        cc_peering_broadcast(node->peering, "POST", "/block", tip.data, tip.len, source, NULL,
                             NULL);
    cc_buf_free(&tip);
}

/* After a reorganisation the payments of the abandoned blocks are back in
 * our mempool, but the peers that were on the winning branch never had
 * them (they may have been cut off from us): they are offered again, so
 * that whoever mines next can mine them. Peers drop what they hold. */
#define REORG_RELAY_MAX 256

static void relay_mempool(http_node *node)
{
    cc_tx *txs = NULL;
    size_t n = 0;
    if (!cc_chain_mempool_take(node->chain, REORG_RELAY_MAX, &txs, &n, NULL))
        return;
    for (size_t i = 0; i < n; i++) {
        cc_peering_broadcast(node->peering, "POST", "/inv", txs[i].text, txs[i].text_len, NULL,
                             NULL, NULL);
        cc_tx_clear(&txs[i]);
    }
    free(txs);
    if (n)
        cc_info(node->cfg->log, "offered %zu waiting payments to peers after a reorganisation", n);
}

/* Once a switch to a longer branch is done: its tip goes to every peer
 * (they fetch what they lack under it), and mining starts on it. */
static void switched(http_node *node, const cc_block_result *res)
{
    relay_tip(node, NULL);
    if (res->reorg_depth > 0)
        relay_mempool(node);
    maybe_mine(node);
}

/* A timer, not an active event: the loop polls its sockets before it
 * runs, so a step never follows a step without a look at the clients. */
static void step_soon(http_node *node)
{
    static const struct timeval now = {0, 0};
    evtimer_add(node->reorg_step, &now);
}

static void on_reorg_step(evutil_socket_t fd, short what, void *ctx)
{
    (void)fd;
    (void)what;
    http_node *node = ctx;
    bool done = false;
    cc_block_result res;
    if (!cc_chain_reorg_step(node->chain, REORG_STEP_BLOCKS, &done, &res, NULL)) {
        maybe_mine(node); /* the chain said why; the old tip stays */
        return;
    }
    if (done) {
        switched(node, &res);
        return;
    }
    step_soon(node);
}

/* Stores a block from a client, a peer (source) or our miner (NULL);
 * relays it to every other peer when it is new and checked on its branch
 * (a side block of a deep fork is not, yet: chain.h). For an orphan, a
 * short gap is filled by asking the peers for the parent at once; the
 * sync (which pages) takes on whatever a longer gap or a fork needs. */
static bool accept_decoded(http_node *node, cc_block *block, const char *source,
                           cc_block_result *res, cc_err *err)
{
    if (!submit_decoded(node, block, res, err))
        return false;
    if (res->reorg_pending)
        step_soon(node);
    if (res->outcome == CC_BLOCK_ORPHAN) {
        cc_sync_orphan(node->sync, source, res->height);
        char path[96];
        snprintf(path, sizeof path, "/getdata?id=%s", res->missing_parent);
        if (res->height <= cc_chain_height(node->chain) + PARENT_FETCH_GAP)
            cc_peering_fetch(node->peering, path, source, on_fetched_block, node);
    } else if (res->checked) {
        cc_peering_broadcast(node->peering, "POST", "/block", block->text, block->text_len,
                             source, NULL, NULL);
    }
    /* Orphans waiting for this block were connected on top of it: peers get
     * the new tip too, and fetch what they lack in between. */
    if (res->tip_changed && strcmp(cc_chain_tip(node->chain), res->hash) != 0)
        relay_tip(node, NULL);
    if (res->reorg_depth > 0)
        relay_mempool(node);
    maybe_mine(node);
    return true;
}

static bool decode_block(http_node *node, const char *text, size_t len, cc_block *block,
                         cc_err *err)
{
    if (node->cfg->rules->block_decode(text, len, block, err))
        return true;
    cc_block_result none = {0};
    cc_metrics_block(&node->metrics, false, &none, err);
    return false;
}

/* ---- signatures checked off the loop ------------------------------------------
 *
 * A block or payment whose signatures the chain has not seen verified waits
 * for the worker pool (node/verifier.h) before it is offered to the chain;
 * one whose signatures are all known (our miner's blocks, a block of
 * payments already in our mempool, a duplicate) is offered at once. */

/* A block from POST /block (pending set) or one we fetched (pending NULL). */
typedef struct block_check {
    http_node *node;
    cc_http_pending *pending;
    cc_block block;
    char source[96]; /* the listed peer it came from, not relayed back to ("" none) */
    char sender[96]; /* who is scored when it breaks the rules ("" nobody) */
    char peer_ip[64];
    const cc_tx **txs; /* those to check, in block order */
    size_t *place;     /* their index in the block */
    bool *ok;
    size_t n;
} block_check;

static void block_check_free(block_check *bc)
{
    cc_block_clear(&bc->block);
    free(bc->txs);
    free(bc->place);
    free(bc->ok);
    free(bc);
}

/* Takes the workers' verdicts to the chain; the first bad signature in the
 * block's order is the reason given, as the chain itself would give it. */
static bool take_verdicts(http_node *node, const block_check *bc, cc_err *err)
{
    for (size_t i = 0; i < bc->n; i++) {
        if (!bc->ok[i])
            return cc_refuse(err, CC_REFUSAL_BAD_SIGNATURE, "transaction %zu: invalid signature",
                             bc->place[i]);
        cc_chain_note_verified(node->chain, bc->txs[i]);
    }
    return true;
}

static void answer_block(http_node *node, cc_http_response *resp, const cc_block_result *res,
                         const char *from)
{
    static const char *const outcome[] = {"Block accepted", "Block stored on a side branch",
                                          "Block held until its parent arrives"};
    cc_buf_printf(&resp->body, "{\"message\": \"%s\", \"hash\": \"%s\", \"height\": %lld}",
                  outcome[res->outcome], res->hash, (long long)cc_chain_height(node->chain));
    cc_info(node->cfg->log, "block %s from %s: %s", res->hash, from, outcome[res->outcome]);
}

static void reply_error(cc_http_response *resp, const cc_err *err)
{
    cc_http_error(resp, err->code ? err->code : CC_ERR_BAD_REQUEST, err->msg);
}

/* The end of every block check, on the loop thread: the answer goes into
 * direct (a request answered at once), to the deferred request, or, for a
 * block we fetched, nowhere. */
static void settle_payments(http_node *node);

static void finish_block(block_check *bc, bool cancelled, cc_http_response *direct)
{
    http_node *node = bc->node;
    settle_payments(node);
    cc_err err = {0};
    cc_block_result res = {0};
    bool ok = cancelled ? cc_fail(&err, CC_ERR_UNAVAILABLE, "the node is shutting down")
                        : take_verdicts(node, bc, &err) &&
                              accept_decoded(node, &bc->block, bc->source[0] ? bc->source : NULL,
                                             &res, &err);
    /* the peer's address when the request names it, else its IP */
    const char *from = bc->sender[0] ? bc->sender : bc->peer_ip;
    if (!ok && !cancelled) {
        cc_info(node->cfg->log, "block %s from %s refused: %s", bc->block.hash, from, err.msg);
        if (bc->sender[0] && cc_peering_is_invalid_block(&err))
            cc_peering_misbehaved(node->peering, bc->sender, CC_MISBEHAVE_INVALID_BLOCK,
                                  err.msg);
    }
    cc_http_response deferred = {.status = 200};
    cc_http_response *resp = direct ? direct : bc->pending ? &deferred : NULL;
    if (resp && ok)
        answer_block(node, resp, &res, from);
    else if (resp)
        reply_error(resp, &err);
    else if (ok)
        cc_info(node->cfg->log, "fetched block %s from %s", res.hash,
                bc->source[0] ? bc->source : from);
    if (bc->pending) {
        cc_http_answer(bc->pending, &deferred);
        cc_buf_free(&deferred.body);
        cc_buf_free(&deferred.headers);
    }
    block_check_free(bc);
}

static void on_block_verified(void *ctx, bool cancelled) { finish_block(ctx, cancelled, NULL); }

/* Checks bc's unknown signatures on the workers, or finishes at once when
 * there are none. */
static void check_block(block_check *bc, cc_http_response *resp)
{
    http_node *node = bc->node;
    cc_block *block = &bc->block;
    bc->txs = cc_calloc(block->n_txs + 1, sizeof *bc->txs);
    bc->place = cc_calloc(block->n_txs + 1, sizeof *bc->place);
    bc->ok = cc_calloc(block->n_txs + 1, sizeof *bc->ok);
    for (size_t i = 0; i < block->n_txs; i++) {
        if (cc_chain_signature_known(node->chain, &block->txs[i]))
            continue;
        bc->txs[bc->n] = &block->txs[i];
        bc->place[bc->n++] = i;
    }
    if (bc->n == 0) {
        finish_block(bc, false, resp);
        return;
    }
    if (resp)
        bc->pending = cc_http_defer(resp);
    cc_verifier_check(node->verifier, bc->txs, bc->n, bc->ok, on_block_verified, bc);
}

static void on_new_peer(void *ctx, const char *address)
{
    http_node *node = ctx;
    if (node->sync)
        cc_sync_new_peer(node->sync, address);
}

/* A block of a sync page: stored only. A catch-up of thousands of blocks
 * is not relayed block by block; sync_advanced relays the tip once a page. */
static bool sync_submit(void *ctx, cc_block *block, cc_block_result *res, cc_err *err)
{
    http_node *node = ctx;
    settle_payments(node);
    bool ok = submit_decoded(node, block, res, err);
    node->sync_reorged = node->sync_reorged || (ok && res->reorg_depth > 0);
    return ok;
}

static void sync_advanced(void *ctx, const char *peer)
{
    http_node *node = ctx;
    relay_tip(node, peer);
    if (node->sync_reorged)
        relay_mempool(node);
    node->sync_reorged = false;
    maybe_mine(node);
}

/* A block a peer sent us when we asked for a missing parent. */
static block_check *new_block_check(http_node *node, const char *peer_ip)
{
    block_check *bc = cc_calloc(1, sizeof *bc);
    bc->node = node;
    snprintf(bc->peer_ip, sizeof bc->peer_ip, "%s", peer_ip);
    return bc;
}

static void on_fetched_block(void *ctx, const char *peer, const cc_http_client_answer *a)
{
    http_node *node = ctx;
    if (a->status != 200)
        return;
    block_check *bc = new_block_check(node, peer);
    cc_err err = {0};
    if (!decode_block(node, a->body, a->len, &bc->block, &err)) {
        cc_peering_served_block_refused(node->peering, peer, a->body, a->len, &err);
        block_check_free(bc);
        return;
    }
    snprintf(bc->source, sizeof bc->source, "%s", peer);
    snprintf(bc->sender, sizeof bc->sender, "%s", peer);
    check_block(bc, NULL);
}

/* Our miner's block: every payment in it came through our mempool, so
 * its signatures are known and nothing waits for the workers. */
static bool accept_mined(http_node *node, const char *text, size_t len, cc_block_result *res,
                         cc_err *err)
{
    cc_block block;
    memset(res, 0, sizeof *res);
    if (!decode_block(node, text, len, &block, err))
        return false;
    bool ok = accept_decoded(node, &block, NULL, res, err);
    cc_block_clear(&block);
    return ok;
}

static void on_block_found(void *ctx, uint64_t job_id, const char *nonce)
{
    http_node *node = ctx;
    if (job_id != node->job_id)
        return;
    cc_buf text = CC_BUF_INIT;
    cc_http_template_finish(&node->tpl, nonce, &text);
    cc_block_result res;
    cc_err err = {0};
    if (accept_mined(node, text.data, text.len, &res, &err)) {
        cc_info(node->cfg->log, "mined block %lld %s", (long long)node->tpl.height, res.hash);
    } else {
        cc_warn(node->cfg->log, "mined block refused: %s", err.msg);
        maybe_mine(node);
    }
    cc_buf_free(&text);
}

/* ---- endpoints ------------------------------------------------------------- */


static bool block_id_param(const cc_http_request *req, char id[CC_HASH_HEX_LEN + 1], cc_err *err)
{
    if (!cc_http_query_get(req->query, "id", id, CC_HASH_HEX_LEN + 1) ||
        !cc_is_lower_hex(id, CC_HASH_HEX_LEN))
        return cc_fail(err, CC_ERR_BAD_REQUEST,
                       "id must be a block hash of 64 lowercase hex characters");
    return true;
}

/* True when the query names the parameter, with any value or none. */
static bool query_has(const cc_http_request *req, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = req->query; p; p = strchr(p, '&'), p = p ? p + 1 : NULL)
        if (strncmp(p, name, len) == 0 && strchr("=&", p[len])) /* or p[len] == '\0' */
            return true;
    return false;
}

/* ?limit=N bounds a page: at most N blocks (capped) and about a MiB of
 * text, so that an answer always fits the asking node's answer limit. */
static bool page_param(const cc_http_request *req, cc_chain_page *page, cc_err *err)
{
    *page = (cc_chain_page){.max_blocks = CC_SYNC_PAGE_MAX_BLOCKS,
                            .max_bytes = CC_SYNC_PAGE_MAX_BYTES};
    char value[24];
    if (!query_has(req, "limit"))
        return true;
    char *end = NULL;
    long long n = cc_http_query_get(req->query, "limit", value, sizeof value)
                      ? strtoll(value, &end, 10) : 0;
    if (!end || *end != '\0' || n < 1)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "limit must be a positive number of blocks");
    if ((unsigned long long)n < page->max_blocks)
        page->max_blocks = (size_t)n;
    return true;
}

/* ?locator=h1,h2,...: block hashes, newest first (cc_chain_locator). */
static bool locator_param(const cc_http_request *req,
                          char (*hashes)[CC_HASH_HEX_LEN + 1], size_t *n, cc_err *err)
{
    char value[CC_SYNC_MAX_LOCATOR * (CC_HASH_HEX_LEN + 1) + 1];
    if (!cc_http_query_get(req->query, "locator", value, sizeof value))
        return cc_fail(err, CC_ERR_BAD_REQUEST, "locator: at most %d block hashes",
                       CC_SYNC_MAX_LOCATOR);
    *n = 0;
    for (char *save = NULL, *h = strtok_r(value, ",", &save); h; h = strtok_r(NULL, ",", &save)) {
        if (strlen(h) != CC_HASH_HEX_LEN || !cc_is_lower_hex(h, CC_HASH_HEX_LEN))
            return cc_fail(err, CC_ERR_BAD_REQUEST,
                           "locator: block hashes of 64 lowercase hex characters, "
                           "separated by commas");
        memcpy(hashes[(*n)++], h, CC_HASH_HEX_LEN + 1);
    }
    return true;
}

/* A long whole chain is streamed from a snapshot of the database
 * (chain/chain_reader.h): its size grows with the chain, the node's memory
 * must not. */
#define CHAIN_PIECE_BYTES (256u << 10)

static bool chain_piece(void *ctx, cc_buf *out, bool *done)
{
    cc_err err = {0};
    return cc_chain_reader_next(ctx, CHAIN_PIECE_BYTES, out, done, &err);
}

static void chain_reader_done(void *ctx) { cc_chain_reader_free(ctx); }

static bool stream_whole_chain(http_node *node, cc_http_response *resp, cc_err *err)
{
    size_t length;
    if (!cc_chain_whole_length(node->chain, &length, err))
        return false;
    if (length <= CHAIN_PIECE_BYTES) /* the common short chain: no snapshot needed */
        return cc_chain_write_all(node->chain, &resp->body, err);
    cc_chain_reader *reader = cc_chain_reader_all(node->chain, err);
    if (!reader)
        return false;
    resp->stream = (cc_http_stream){.length = cc_chain_reader_length(reader),
                                    .next = chain_piece,
                                    .free_ctx = chain_reader_done,
                                    .ctx = reader};
    return true;
}

/* The seed's two forms, plus two for nodes that catch up (docs/http-network.md):
 * ?id=H&limit=N pages the flat list, and ?locator=... answers from the
 * newest of the asker's blocks that is on our best chain. Without them the
 * answers are exactly the seed's. */
static void get_blocks(http_node *node, const cc_http_request *req, const char *peer_ip,
                       cc_http_response *resp)
{
    (void)peer_ip;
    cc_err err = {0};
    char id[CC_HASH_HEX_LEN + 1];
    cc_chain_page page;
    bool ok;
    if (query_has(req, "locator")) {
        char locator[CC_SYNC_MAX_LOCATOR][CC_HASH_HEX_LEN + 1];
        size_t n = 0;
        ok = locator_param(req, locator, &n, &err) && page_param(req, &page, &err) &&
             cc_chain_write_after(node->chain, (const char(*)[CC_HASH_HEX_LEN + 1])locator, n,
                                  &page, &resp->body, &err);
    } else if (query_has(req, "id")) {
        ok = block_id_param(req, id, &err) &&
             (query_has(req, "limit")
                  ? page_param(req, &page, &err) &&
                        cc_chain_write_from_page(node->chain, id, &page, &resp->body, &err)
                  : cc_chain_write_from(node->chain, id, &resp->body, &err));
    } else {
        ok = stream_whole_chain(node, resp, &err);
    }
    if (!ok)
        reply_error(resp, &err);
}

static void get_data(http_node *node, const cc_http_request *req, const char *peer_ip,
                     cc_http_response *resp)
{
    (void)peer_ip;
    cc_err err = {0};
    char id[CC_HASH_HEX_LEN + 1];
    if (!block_id_param(req, id, &err) || !cc_chain_block_text(node->chain, id, &resp->body, &err))
        reply_error(resp, &err);
}

static void get_peers(http_node *node, const cc_http_request *req, const char *peer_ip,
                      cc_http_response *resp)
{
    char instance[32];
    if (cc_http_query_get(req->query, "node", instance, sizeof instance) &&
        strcmp(instance, cc_peering_instance(node->peering)) == 0) {
        /* Our own check, come back through an address we did not know as
         * ours (0.0.0.0, a LAN address, ...): fail it, so it is not listed. */
        cc_http_error(resp, CC_ERR_BAD_REQUEST, "This address leads to the asking node itself");
        return;
    }
    cc_peers_write_json(node->peers, &resp->body);
    /* Tells peers that we serve the catch-up forms (node/http_peering.h). */
    cc_buf_puts(&resp->headers, CC_PEERING_API_HEADER ": " CC_PEERING_API_VALUE "\r\n");
    cc_peering_register_requester(node->peering, req, peer_ip);
}

static void post_block(http_node *node, const cc_http_request *req, const char *peer_ip,
                       cc_http_response *resp)
{
    cc_err err = {0};
    if (!cc_peering_admit(node->peering, req, peer_ip, &err)) {
        reply_error(resp, &err);
        return;
    }
    block_check *bc = new_block_check(node, peer_ip);
    if (!decode_block(node, req->body.data, req->body.len, &bc->block, &err)) {
        cc_info(node->cfg->log, "block from %s refused: %s", peer_ip, err.msg);
        cc_peering_block_refused(node->peering, req, peer_ip, &err);
        reply_error(resp, &err);
        block_check_free(bc);
        return;
    }
    const char *source = cc_peering_source(node->peering, req, peer_ip);
    snprintf(bc->source, sizeof bc->source, "%s", source ? source : "");
    if (!cc_peering_sender(node->peering, req, peer_ip, bc->sender))
        bc->sender[0] = '\0';
    check_block(bc, resp);
}

/* A payment from POST /inv waiting for its signature check. */
typedef struct inv_check {
    http_node *node;
    cc_http_pending *pending;
    cc_tx tx;
    const cc_tx *txp; /* &tx, as the verifier takes a list */
    bool ok;
    char source[96];
    char peer_ip[64];
} inv_check;

static void answer_inv(http_node *node, inv_check *ic, bool accepted, const cc_err *err,
                       cc_http_response *resp)
{
    if (accepted) {
        cc_buf_printf(&resp->body, "{\"message\": \"Transaction accepted\", \"txid\": \"%s\"}",
                      ic->tx.txid);
        cc_peering_broadcast(node->peering, "POST", "/inv", ic->tx.text, ic->tx.text_len,
                             ic->source[0] ? ic->source : NULL, NULL, NULL);
    } else {
        cc_info(node->cfg->log, "transaction from %s refused: %s", ic->peer_ip, err->msg);
        reply_error(resp, err);
    }
}

static void answer_deferred_inv(http_node *node, inv_check *ic, bool accepted, const cc_err *err)
{
    cc_http_response resp = {.status = 200};
    answer_inv(node, ic, accepted, err, &resp);
    cc_http_answer(ic->pending, &resp);
    cc_buf_free(&resp.body);
    cc_buf_free(&resp.headers);
    cc_tx_clear(&ic->tx);
    free(ic);
}

/* ---- a burst of payments, one commit ---------------------------------------
 *
 * The payments whose signatures the workers finished together are stored
 * as one batch (chain.h): one SQLite commit for the burst instead of one
 * each, which was most of the loop's cost per payment. Nothing of a batch
 * is answered or relayed before its commit: the accepted payments wait in
 * node->settling until settle_payments, at the end of the round, or
 * before anything else (a block, a page of blocks) is offered to the
 * chain. */

static void open_payments(void *ctx)
{
    http_node *node = ctx;
    node->round_open = true;
}

static void settle_payments(http_node *node)
{
    if (!node->batch_open)
        return;
    node->batch_open = false;
    cc_err err = {0};
    bool stored = cc_chain_batch_end(node->chain, &err);
    if (!stored)
        cc_error(node->cfg->log, "cannot store %zu payments: %s", node->n_settling, err.msg);
    for (size_t i = 0; i < node->n_settling; i++)
        answer_deferred_inv(node, node->settling[i], stored, &err);
    node->n_settling = 0;
    maybe_mine(node);
}

static void close_payments(void *ctx)
{
    http_node *node = ctx;
    settle_payments(node);
    node->round_open = false;
}

static void finish_inv(inv_check *ic, bool cancelled, cc_http_response *direct)
{
    http_node *node = ic->node;
    cc_err err = {0};
    bool accepted = false;
    if (cancelled) {
        cc_fail(&err, CC_ERR_UNAVAILABLE, "the node is shutting down");
    } else if (!ic->ok) {
        cc_refuse(&err, CC_REFUSAL_BAD_SIGNATURE, "Invalid signature");
        cc_metrics_tx(&node->metrics, false, &err);
    } else {
        cc_chain_note_verified(node->chain, &ic->tx);
        if (!direct && node->round_open && !node->batch_open)
            node->batch_open = cc_chain_batch_begin(node->chain, NULL);
        accepted = accept_tx(node, &ic->tx, &err);
    }
    if (accepted && !direct && node->batch_open) {
        node->settling = cc_realloc(node->settling, (node->n_settling + 1) * sizeof *node->settling);
        node->settling[node->n_settling++] = ic;
        return;
    }
    if (direct) {
        answer_inv(node, ic, accepted, &err, direct);
        cc_tx_clear(&ic->tx);
        free(ic);
    } else {
        answer_deferred_inv(node, ic, accepted, &err);
    }
    if (accepted)
        maybe_mine(node);
}

static void on_inv_verified(void *ctx, bool cancelled) { finish_inv(ctx, cancelled, NULL); }

/* The cheap refusals (malformed, a reward, a payment we hold) come back at
 * once; only then is a worker spent on the signature. */
static void post_inv(http_node *node, const cc_http_request *req, const char *peer_ip,
                     cc_http_response *resp)
{
    cc_err err = {0};
    inv_check *ic = cc_calloc(1, sizeof *ic);
    bool ok = cc_peering_admit(node->peering, req, peer_ip, &err) &&
              node->cfg->rules->tx_decode(req->body.data, req->body.len, &ic->tx, &err) &&
              cc_chain_check_new_tx(node->chain, &ic->tx, &err);
    if (!ok) {
        if (err.code != CC_ERR_FORBIDDEN)
            cc_metrics_tx(&node->metrics, false, &err);
        cc_info(node->cfg->log, "transaction from %s refused: %s", peer_ip, err.msg);
        reply_error(resp, &err);
        cc_tx_clear(&ic->tx);
        free(ic);
        return;
    }
    ic->node = node;
    ic->txp = &ic->tx;
    const char *source = cc_peering_source(node->peering, req, peer_ip);
    snprintf(ic->source, sizeof ic->source, "%s", source ? source : "");
    snprintf(ic->peer_ip, sizeof ic->peer_ip, "%s", peer_ip);
    if (cc_chain_signature_known(node->chain, &ic->tx)) {
        ic->ok = true;
        finish_inv(ic, false, resp);
        return;
    }
    ic->pending = cc_http_defer(resp);
    cc_verifier_check(node->verifier, &ic->txp, 1, &ic->ok, on_inv_verified, ic);
}

static bool read_money_request(const cc_http_request *req, const char **to, cc_number *sum,
                               json_t **doc, cc_err *err)
{
    *doc = cc_json_parse(req->body.data, req->body.len, CC_HTTP_MAX_JSON_DEPTH, err);
    if (!*doc)
        return false;
    if (!json_is_object(*doc))
        return cc_fail(err, CC_ERR_BAD_REQUEST, "the body must be a JSON object {\"to\", \"sum\"}");
    return cc_json_get_text(*doc, "to", CC_HTTP_MAX_FIELD, to, err) &&
           cc_json_get_number(*doc, "sum", sum, err);
}

static void post_money(http_node *node, const cc_http_request *req, const char *peer_ip,
                       cc_http_response *resp)
{
    cc_err err = {0};
    const char *to;
    cc_number sum;
    json_t *doc;
    cc_tx tx = {0};
    char now[27];
    cc_clock_iso_now(now);
    bool ok = read_money_request(req, &to, &sum, &doc, &err);
    double when = cc_clock_mono();
    if (ok) {
        ok = cc_http_tx_create(&node->key, to, &sum, now, &tx, &err) &&
             cc_faucet_check(node->faucet, to, &sum, when, &err) && accept_tx(node, &tx, &err);
    }
    if (ok) {
        cc_faucet_record(node->faucet, to, &sum, when);
        cc_buf_printf(&resp->body, "{\"message\": \"Transaction created\", \"txid\": \"%s\", "
                                   "\"transaction\": %s}", tx.txid, tx.text);
        cc_info(node->cfg->log, "paid %s to %s for %s", tx.txid, to, peer_ip);
        cc_peering_broadcast(node->peering, "POST", "/inv", tx.text, tx.text_len, NULL, NULL,
                             NULL);
        maybe_mine(node);
    } else {
        reply_error(resp, &err);
    }
    cc_tx_clear(&tx);
    json_decref(doc);
}

typedef void (*endpoint_fn)(http_node *, const cc_http_request *, const char *,
                            cc_http_response *);

static const struct route {
    const char *path;
    const char *method;
    endpoint_fn fn;
    bool between_nodes; /* what peers ask each other: a peer asking is up */
} routes[] = {
    {"/getblocks", "GET", get_blocks, true}, {"/getdata", "GET", get_data, true},
    {"/getpeers", "GET", get_peers, true},   {"/block", "POST", post_block, true},
    {"/inv", "POST", post_inv, true},        {"/money", "POST", post_money, false},
};

/* "/getpeers/" is the same resource as "/getpeers". */
static bool path_is(const char *path, const char *route)
{
    size_t len = strlen(route);
    return strncmp(path, route, len) == 0 && (path[len] == '\0' || strcmp(path + len, "/") == 0);
}

static void metrics_gauges(void *ctx, cc_metrics_gauges *gauges)
{
    http_node *node = ctx;
    *gauges = (cc_metrics_gauges){.height = cc_chain_height(node->chain),
                                  .peers = cc_peers_count(node->peers),
                                  .mempool = cc_chain_mempool_size(node->chain)};
}

static void answer(void *ctx, const cc_http_request *req, const char *peer_ip,
                   cc_http_response *resp)
{
    http_node *node = ctx;
    if (cc_node_web_answer(&node->web, req, peer_ip, resp)) /* /metrics, /api/, explorer */
        return;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (!path_is(req->path, routes[i].path))
            continue;
        if (strcmp(req->method, routes[i].method) != 0) {
            char msg[96];
            snprintf(msg, sizeof msg, "Method not allowed: %s takes %s", routes[i].path,
                     routes[i].method);
            cc_http_error(resp, CC_ERR_METHOD, msg);
            return;
        }
        if (routes[i].between_nodes)
            cc_peering_heard_from(node->peering, req, peer_ip);
        routes[i].fn(node, req, peer_ip, resp);
        return;
    }
    cc_http_error(resp, CC_ERR_NOT_FOUND, "Not found");
}

/* Every request, timed for the latency histogram of /metrics. */
static void handle(void *ctx, const cc_http_request *req, const char *peer_ip,
                   cc_http_response *resp)
{
    http_node *node = ctx;
    cc_node_timed(&node->metrics, answer, node, req, peer_ip, resp);
}

/* ---- the JSON API (node/api.h, docs/api.md) ------------------------------------ */

static void api_peers(void *ctx, cc_buf *out)
{
    const http_node *node = ctx;
    cc_buf_putc(out, '[');
    for (size_t i = 0; i < cc_peers_count(node->peers); i++) {
        if (i)
            cc_buf_puts(out, ", ");
        cc_json_append_quoted(out, cc_peers_at(node->peers, i));
    }
    cc_buf_putc(out, ']');
}

static size_t api_peer_count(void *ctx)
{
    const http_node *node = ctx;
    return cc_peers_count(node->peers);
}

static void append_text_or_null(cc_buf *out, const char *text)
{
    if (*text)
        cc_json_append_quoted(out, text);
    else
        cc_buf_puts(out, "null");
}

/* {"state": "syncing" | "idle", "asking": peer | null, "best_peer": ...,
 * "best_peer_height": n | null, "behind": blocks} */
static void api_sync(void *ctx, cc_buf *out)
{
    const http_node *node = ctx;
    cc_sync_status st;
    cc_sync_get_status(node->sync, &st);
    int64_t height = cc_chain_height(node->chain);
    int64_t behind = st.best_height > height ? st.best_height - height : 0;
    cc_buf_printf(out, "{\"state\": \"%s\", \"asking\": ", behind ? "syncing" : "idle");
    append_text_or_null(out, st.peer);
    cc_buf_puts(out, ", \"best_peer\": ");
    append_text_or_null(out, st.best_peer);
    if (st.best_height >= 0)
        cc_buf_printf(out, ", \"best_peer_height\": %lld", (long long)st.best_height);
    else
        cc_buf_puts(out, ", \"best_peer_height\": null");
    cc_buf_printf(out, ", \"behind\": %lld}", (long long)behind);
}

/* The owner's payment: /money without the faucet's limits. */
static bool api_send(void *ctx, const char *to, const cc_number *amount, cc_buf *out,
                     cc_err *err)
{
    http_node *node = ctx;
    cc_tx tx = {0};
    char now[27];
    cc_clock_iso_now(now);
    bool ok = cc_http_tx_create(&node->key, to, amount, now, &tx, err) &&
              accept_tx(node, &tx, err);
    if (ok) {
        cc_buf_printf(out, "{\"txid\": \"%s\", \"transaction\": %s}", tx.txid, tx.text);
        cc_info(node->cfg->log, "paid %s to %s (API)", tx.txid, to);
        cc_peering_broadcast(node->peering, "POST", "/inv", tx.text, tx.text_len, NULL, NULL,
                             NULL);
        maybe_mine(node);
    }
    cc_tx_clear(&tx);
    return ok;
}

static bool api_mine(void *ctx, cc_buf *out, cc_err *err)
{
    http_node *node = ctx;
    if (!update_mining(node, true, err))
        return false;
    cc_buf_printf(out, "{\"mining\": %lld}", (long long)node->tpl.height);
    return true;
}

static bool api_key_valid(const char *key, cc_err *err)
{
    if (!cc_is_lower_hex(key, CC_P192_PUB_HEX_LEN))
        return cc_fail(err, CC_ERR_BAD_REQUEST,
                       "key must be a public key of 96 lowercase hex characters");
    return true;
}

static void api_setup(http_node *node)
{
    node->api = (cc_api_backend){
        .network = node->cfg->rules->network,
        .chain = node->chain,
        .node_key = node->key.pub_hex,
        .token = node->api_token,
        .token_only = !node->cfg->api_trust_loopback,
        .ctx = node,
        .peers = api_peers,
        .sync = api_sync,
        .send = api_send,
        .mine = api_mine,
        .peer_count = api_peer_count,
        .key_valid = api_key_valid,
    };
}

/* ---- start and stop ---------------------------------------------------------- */

static bool open_state(http_node *node, cc_err *err)
{
    const cc_http_node_config *cfg = node->cfg;
    if (!cc_node_datadir_open(cfg->datadir, &node->datadir_lock, cfg->log, err))
        return false;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", cfg->datadir, cfg->rules->wallet_file);
    bool created;
    if (!cc_wallet_load_or_create(path, &node->key, &created, cfg->log, err))
        return false;
    cc_node_report_key(node->key.pub_hex, created, path);
    if (!cc_api_token_load(cfg->datadir, node->api_token, cfg->log, err))
        return false;
    node->chain = cc_node_chain_open(cfg->datadir, cfg->rules, cfg->log, cfg->max_orphans,
                                     cfg->max_mempool, REORG_INLINE_MAX, err);
    if (!node->chain)
        return false;
    snprintf(node->self, sizeof node->self, "%s:%d", cfg->host, cfg->port);
    snprintf(path, sizeof path, "%s/peers-%d.json", cfg->datadir, cfg->port);
    node->peers = cc_peers_open(path, cfg->peers_default, node->self, cfg->port, cfg->max_peers,
                                cfg->log, err);
    return node->peers != NULL;
}

static bool start_server(http_node *node, cc_err *err)
{
    const cc_http_node_config *cfg = node->cfg;
    /* node->api is filled by api_setup before the loop runs. */
    node->web = (cc_node_web){.metrics = &node->metrics,
                              .api = &node->api,
                              .gauges = metrics_gauges,
                              .ctx = node};
    cc_http_server_config server_cfg = {
        .host = cfg->host,
        .port = cfg->port,
        .limits = {.max_header_bytes = cfg->max_header_bytes, .max_body_bytes = cfg->max_body_bytes},
        .idle_timeout_s = cfg->idle_timeout_s,
        .max_connections = cfg->max_connections,
        .handler = handle,
        .handler_ctx = node,
        .log = cfg->log,
    };
    node->server = cc_http_server_start(node->base, &server_cfg, err);
    return node->server != NULL;
}

static void close_node(http_node *node)
{
    /* Checks still under way end first (answered "shutting down"), while
     * everything they use is still there. */
    cc_verifier_free(node->verifier);
    free(node->settling);
    if (node->reorg_step)
        event_free(node->reorg_step);
    /* The client reports dropped requests to their callbacks, which still
     * use the peering object and the chain: it goes first. */
    cc_http_client_free(node->client);
    cc_peering_free(node->peering); /* reports its queued requests too: sync's among them */
    cc_sync_free(node->sync);
    cc_miner_free(node->miner);
    cc_http_server_free(node->server);
    cc_http_template_clear(&node->tpl);
    cc_peers_free(node->peers);
    cc_faucet_free(node->faucet);
    cc_chain_close(node->chain);
    if (node->base)
        event_base_free(node->base);
    cc_dir_lock_release(&node->datadir_lock); /* last: the database is closed */
}

bool cc_http_node_run(const cc_http_node_config *cfg, cc_err *err)
{
    cc_node_process_init();
    http_node node = {.cfg = cfg, .datadir_lock = CC_DIR_LOCK_INIT};
    node.base = event_base_new();
    node.faucet = cc_faucet_new(&cfg->faucet);
    node.client = node.base ? cc_http_client_new(node.base) : NULL;
    bool ok = node.base && open_state(&node, err) && start_server(&node, err);
    if (!ok) {
        close_node(&node);
        return false;
    }
    node.miner =
        cc_miner_new(node.base, cfg->miner_threads, cfg->miner_nice, on_block_found, &node);
    node.verifier = cc_verifier_new(node.base, cfg->rules, cfg->verify_threads);
    node.reorg_step = evtimer_new(node.base, on_reorg_step, &node);
    cc_verifier_set_round_hooks(node.verifier, open_payments, close_payments, &node);
    cc_node_signals signals;
    cc_node_signals_start(&signals, node.base, cfg->log);
    cc_info(cfg->log, "http node listening on %s, height %lld, tip %s", node.self,
            (long long)cc_chain_height(node.chain), cc_chain_tip(node.chain));
    fprintf(stderr, "listening on http://%s\n", node.self);
    cc_peering_config peering_cfg = {.base = node.base,
                                     .client = node.client,
                                     .peers = node.peers,
                                     .self = node.self,
                                     .port = cfg->port,
                                     .gossip_interval_s = cfg->gossip_interval_s,
                                     .ban_time_s = cfg->ban_time_s,
                                     .new_peer = on_new_peer,
                                     .new_peer_ctx = &node,
                                     .log = cfg->log};
    node.peering = cc_peering_new(&peering_cfg);
    cc_peering_start(node.peering);
    cc_sync_config sync_cfg = {.base = node.base,
                               .peering = node.peering,
                               .peers = node.peers,
                               .rules = cfg->rules,
                               .chain = node.chain,
                               .verifier = node.verifier,
                               .submit = sync_submit,
                               .advanced = sync_advanced,
                               .ctx = &node,
                               .interval_s = SYNC_S,
                               .page_blocks = CC_SYNC_PAGE_MAX_BLOCKS,
                               .log = cfg->log};
    node.sync = cc_sync_new(&sync_cfg);
    cc_sync_start(node.sync);
    api_setup(&node);
    maybe_mine(&node);
    event_base_dispatch(node.base);
    cc_node_signals_stop(&signals);
    close_node(&node);
    return true;
}

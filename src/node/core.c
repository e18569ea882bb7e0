#include "node/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/clock.h"
#include "util/mem.h"

void cc_node_stamp_now(cc_stamp *out)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    cc_clock_iso_now(out->iso);
    out->unix_s = (cc_number){.is_int = false, .d = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9};
}

static void web_answer(void *ctx, const cc_http_request *req, const char *peer_ip,
                       cc_http_response *resp)
{
    cc_node_core *core = ctx;
    if (!cc_node_web_answer(&core->web, req, peer_ip, resp))
        cc_http_error(resp, CC_ERR_NOT_FOUND, "Not found: this port serves the explorer at /, "
                                              "the JSON API under /api/ and /metrics");
}

void cc_node_core_web_handle(void *ctx, const cc_http_request *req, const char *peer_ip,
                             cc_http_response *resp)
{
    cc_node_core *core = ctx;
    cc_node_timed(&core->metrics, web_answer, core, req, peer_ip, resp);
}

const char *cc_node_core_key(const cc_node_core *core)
{
    return core->key_kind->public_hex(&core->key);
}

/* ---- mining ------------------------------------------------------------ */

static bool start_job(cc_node_core *core, cc_err *err)
{
    const cc_rules *rules = core->cfg.rules;
    cc_tx *payments = NULL;
    size_t n = 0;
    cc_err why = {0};
    if (!cc_chain_mempool_take(core->chain, rules->max_block_txs - 1, &payments, &n, &why)) {
        cc_error(core->cfg.log, "cannot read the mempool: %s", why.msg);
        if (err)
            *err = why;
        return false;
    }
    cc_stamp stamp;
    cc_node_stamp_now(&stamp);
    cc_template_input in = {.height = cc_chain_height(core->chain) + 1,
                            .prev = cc_chain_tip(core->chain),
                            .miner = cc_node_core_key(core),
                            .stamp = &stamp,
                            .payments = payments,
                            .n_payments = n};
    cc_block_template_clear(&core->tpl);
    rules->template_build(&core->tpl, &in);
    for (size_t i = 0; i < n; i++)
        cc_tx_clear(&payments[i]);
    free(payments);
    core->job_id++;
    core->job_generation = cc_chain_tip_generation(core->chain);
    cc_info(core->cfg.log, "mining block %lld with %zu transactions (%zu payments and the reward)",
            (long long)core->tpl.height, n + 1, n);
    cc_miner_start(core->miner, core->job_id, core->tpl.prefix.data, core->tpl.prefix.len,
                   core->tpl.suffix.data, core->tpl.suffix.len, rules->pow_zero_digits,
                   rules->nonce_style);
    return true;
}

/* forced (POST /api/mine): a job under way is replaced, so that the block
 * holds what waits now. */
static bool update_mining(cc_node_core *core, bool forced, cc_err *err)
{
    /* Whatever is mined before a switch ends builds on a tip that goes. */
    if (cc_chain_reorg_pending(core->chain)) {
        cc_miner_cancel(core->miner);
        return !forced || cc_fail(err, CC_ERR_UNAVAILABLE, "The chain is switching to a "
                                  "longer branch; mine again in a moment");
    }
    core->mine_requested = core->mine_requested || forced;
    bool busy = cc_miner_job(core->miner) != 0;
    bool stale = core->job_generation != cc_chain_tip_generation(core->chain);
    if (busy && !stale && !forced)
        return true;
    bool want = core->mine_requested ||
                (cc_chain_height(core->chain) == 0 && core->cfg.mine_on_start) ||
                cc_chain_mempool_size(core->chain) >= core->cfg.n_transactions;
    if (want)
        return start_job(core, err);
    if (busy)
        cc_miner_cancel(core->miner);
    return true;
}

void cc_node_core_maybe_mine(cc_node_core *core)
{
    update_mining(core, false, NULL);
}

static void on_block_found(void *ctx, uint64_t job_id, const char *nonce)
{
    cc_node_core *core = ctx;
    if (job_id != core->job_id)
        return;
    cc_buf text = CC_BUF_INIT;
    cc_block block = {0};
    cc_block_result res = {0};
    cc_err err = {0};
    if (!core->cfg.rules->template_finish(&core->tpl, nonce, &text)) {
        cc_error(core->cfg.log, "the miner found an unusable nonce %s", nonce);
    } else if (cc_node_core_decode_block(core, text.data, text.len, &block, &err) &&
               cc_node_core_take_block(core, &block, NULL, &res, &err)) {
        /* every payment in it came through our mempool: nothing waits for
         * the workers */
        cc_info(core->cfg.log, "mined block %lld %s", (long long)core->tpl.height, res.hash);
        core->mine_requested = false;
    } else {
        cc_warn(core->cfg.log, "mined block refused: %s", err.msg);
    }
    cc_block_clear(&block);
    cc_buf_free(&text);
    cc_node_core_maybe_mine(core);
}

/* ---- blocks and payments ------------------------------------------------ */

static void settle_payments(cc_node_core *core);

bool cc_node_core_decode_block(cc_node_core *core, const char *text, size_t len,
                               cc_block *block, cc_err *err)
{
    if (core->cfg.rules->block_decode(text, len, block, err))
        return true;
    cc_block_result none = {0};
    cc_metrics_block(&core->metrics, false, &none, err);
    return false;
}

bool cc_node_core_store_block(cc_node_core *core, cc_block *block, cc_block_result *res,
                              cc_err *err)
{
    settle_payments(core);
    bool ok = cc_chain_submit_decoded(core->chain, block, res, err);
    cc_metrics_block(&core->metrics, ok, res, err);
    return ok;
}

void cc_node_core_announce_tip(cc_node_core *core, const char *except)
{
    cc_buf tip = CC_BUF_INIT;
    if (cc_chain_block_text(core->chain, cc_chain_tip(core->chain), &tip, NULL))
        core->adapter.announce_block(core->adapter.ctx, tip.data, tip.len, except);
    cc_buf_free(&tip);
}

/* A timer, not an active event: the loop polls its sockets before it
 * runs, so a step never follows a step without a look at the clients. */
static void step_soon(cc_node_core *core)
{
    static const struct timeval now = {0, 0};
    evtimer_add(core->reorg_step, &now);
}

static void reorganised(cc_node_core *core)
{
    if (core->adapter.reorganised)
        core->adapter.reorganised(core->adapter.ctx);
}

/* Once a switch to a longer branch is done: its tip goes to every peer
 * (they fetch what they lack under it), and mining starts on it. */
static void on_reorg_step(evutil_socket_t fd, short what, void *ctx)
{
    (void)fd;
    (void)what;
    cc_node_core *core = ctx;
    bool done = false;
    cc_block_result res;
    if (!cc_chain_reorg_step(core->chain, core->cfg.reorg_step_blocks, &done, &res, NULL)) {
        cc_node_core_maybe_mine(core); /* the chain said why; the old tip stays */
        return;
    }
    if (!done) {
        step_soon(core);
        return;
    }
    cc_node_core_announce_tip(core, NULL);
    if (res.reorg_depth > 0)
        reorganised(core);
    cc_node_core_maybe_mine(core);
}

bool cc_node_core_take_block(cc_node_core *core, cc_block *block, const char *source,
                             cc_block_result *res, cc_err *err)
{
    if (!cc_node_core_store_block(core, block, res, err))
        return false;
    if (res->reorg_pending)
        step_soon(core);
    if (res->outcome == CC_BLOCK_ORPHAN)
        core->adapter.orphan(core->adapter.ctx, res, source);
    else if (res->checked) /* a side block of a deep fork is not, yet: chain.h */
        core->adapter.announce_block(core->adapter.ctx, block->text, block->text_len, source);
    /* Orphans waiting for this block were connected on top of it: peers get
     * the new tip too, and fetch what they lack in between. */
    if (res->tip_changed && strcmp(cc_chain_tip(core->chain), res->hash) != 0)
        cc_node_core_announce_tip(core, NULL);
    if (res->reorg_depth > 0)
        reorganised(core);
    return true;
}

bool cc_node_core_accept_tx(cc_node_core *core, const cc_tx *tx, cc_err *err)
{
    bool ok = cc_chain_accept_tx(core->chain, tx, err);
    cc_metrics_tx(&core->metrics, ok, err);
    return ok;
}

static bool recipient_valid(const cc_node_core *core, const char *to, cc_err *err)
{
    const cc_rules *rules = core->cfg.rules;
    return rules->key_valid(to) ||
           cc_fail(err, CC_ERR_BAD_REQUEST, "the recipient must be %s: coins sent to anything "
                   "else could never be spent", rules->key_form);
}

bool cc_node_core_pay(cc_node_core *core, const char *to, const cc_number *amount, cc_tx *out,
                      cc_err *err)
{
    /* The wallet's own payments (the faucet, /api/send) only to keys that
     * can spend: the network takes a payment to 96 hex digits that are no
     * point of the curve, and its coins are gone. */
    if (!recipient_valid(core, to, err))
        return false;
    cc_stamp stamp;
    cc_node_stamp_now(&stamp);
    if (!core->key_kind->pay(&core->key, to, amount, &stamp, out, err))
        return false;
    if (!cc_node_core_accept_tx(core, out, err)) {
        cc_tx_clear(out);
        return false;
    }
    core->adapter.announce_tx(core->adapter.ctx, out->text, out->text_len, NULL);
    cc_node_core_maybe_mine(core);
    return true;
}

/* ---- intake: signatures checked off the loop ------------------------------ */

#define SOURCE_MAX 128

typedef struct block_check {
    cc_node_core *core;
    cc_block *blocks;
    size_t n_blocks;
    char source[SOURCE_MAX]; /* "" none */
    bool announce;
    cc_node_block_intake intake;
    const cc_tx **txs; /* the signatures to check, in list order */
    size_t *first;     /* block b's are txs[first[b] .. first[b + 1]) */
    size_t *place;     /* each one's index in its block */
    bool *ok;
    size_t n;
} block_check;

static void block_check_free(block_check *bc)
{
    for (size_t i = 0; i < bc->n_blocks; i++)
        cc_block_clear(&bc->blocks[i]);
    free(bc->blocks);
    free(bc->txs);
    free(bc->first);
    free(bc->place);
    free(bc->ok);
    free(bc);
}

/* A block whose signature the workers found bad is refused as the chain
 * itself would refuse it: the first bad one in the block's order. */
static bool take_verdicts(cc_node_core *core, const block_check *bc, size_t b, cc_err *err)
{
    for (size_t i = bc->first[b]; i < bc->first[b + 1]; i++) {
        if (!bc->ok[i])
            return cc_refuse(err, CC_REFUSAL_BAD_SIGNATURE, "transaction %zu: invalid signature",
                             bc->place[i]);
        cc_chain_note_verified(core->chain, bc->txs[i]);
    }
    return true;
}

static bool take_one(cc_node_core *core, cc_block *block, const char *source, bool announce,
                     cc_block_result *res, cc_err *err)
{
    if (announce)
        return cc_node_core_take_block(core, block, source, res, err);
    if (!cc_node_core_store_block(core, block, res, err))
        return false;
    if (res->outcome == CC_BLOCK_ORPHAN)
        core->adapter.orphan(core->adapter.ctx, res, source);
    return true;
}

static void finish_blocks(void *ctx, bool cancelled)
{
    block_check *bc = ctx;
    cc_node_core *core = bc->core;
    const char *source = bc->source[0] ? bc->source : NULL;
    settle_payments(core);
    for (size_t b = 0; !cancelled && b < bc->n_blocks; b++) {
        cc_block_result res = {0};
        cc_err err = {0};
        bool ok = take_verdicts(core, bc, b, &err) &&
                  take_one(core, &bc->blocks[b], source, bc->announce, &res, &err);
        if (!bc->intake.taken(bc->intake.ctx, &bc->blocks[b], ok, &res, &err))
            break;
    }
    if (!cancelled)
        cc_node_core_maybe_mine(core);
    bc->intake.done(bc->intake.ctx, cancelled);
    block_check_free(bc);
}

static void collect_signatures(block_check *bc)
{
    cc_chain *chain = bc->core->chain;
    size_t total = 0;
    for (size_t b = 0; b < bc->n_blocks; b++)
        total += bc->blocks[b].n_txs;
    bc->txs = cc_calloc(total + 1, sizeof *bc->txs);
    bc->first = cc_calloc(bc->n_blocks + 1, sizeof *bc->first);
    bc->place = cc_calloc(total + 1, sizeof *bc->place);
    bc->ok = cc_calloc(total + 1, sizeof *bc->ok);
    for (size_t b = 0; b < bc->n_blocks; b++) {
        const cc_block *block = &bc->blocks[b];
        bc->first[b] = bc->n;
        /* one the chain refuses unread (we hold it) costs no worker */
        if (cc_chain_block_known(chain, block))
            continue;
        for (size_t i = 0; i < block->n_txs; i++) {
            if (cc_chain_signature_known(chain, &block->txs[i]))
                continue;
            bc->txs[bc->n] = &block->txs[i];
            bc->place[bc->n++] = i;
        }
    }
    bc->first[bc->n_blocks] = bc->n;
}

void cc_node_core_check_blocks(cc_node_core *core, cc_block *blocks, size_t n,
                               const char *source, bool announce,
                               const cc_node_block_intake *intake)
{
    block_check *bc = cc_calloc(1, sizeof *bc);
    bc->core = core;
    bc->blocks = blocks;
    bc->n_blocks = n;
    snprintf(bc->source, sizeof bc->source, "%s", source ? source : "");
    bc->announce = announce;
    bc->intake = *intake;
    collect_signatures(bc);
    if (bc->n == 0) {
        finish_blocks(bc, false);
        return;
    }
    cc_verifier_check(core->verifier, bc->txs, bc->n, bc->ok, finish_blocks, bc);
}

/* ---- a burst of payments, one commit ----
 *
 * The payments whose signatures the workers finished together are stored
 * as one batch (chain.h): one SQLite commit for the burst instead of one
 * each, which was most of the loop's cost per payment. Nothing of a batch
 * is answered or announced before its commit: the accepted payments wait
 * in core->settling until settle_payments, at the end of the round, or
 * before anything else (a block) is offered to the chain. */

typedef struct tx_check {
    cc_node_core *core;
    cc_tx tx;
    const cc_tx *txp; /* &tx, as the verifier takes a list */
    bool ok;
    bool announce;
    char source[SOURCE_MAX];
    cc_node_tx_done done;
    void *ctx;
} tx_check;

static void tx_check_end(tx_check *tc, bool accepted, const cc_err *err)
{
    cc_node_core *core = tc->core;
    if (accepted && tc->announce)
        core->adapter.announce_tx(core->adapter.ctx, tc->tx.text, tc->tx.text_len,
                                  tc->source[0] ? tc->source : NULL);
    if (tc->done)
        tc->done(tc->ctx, &tc->tx, accepted, err);
    cc_tx_clear(&tc->tx);
    free(tc);
}

static void open_payments(void *ctx)
{
    cc_node_core *core = ctx;
    core->round_open = true;
}

static void settle_payments(cc_node_core *core)
{
    if (!core->batch_open)
        return;
    core->batch_open = false;
    cc_err err = {0};
    bool stored = cc_chain_batch_end(core->chain, &err);
    if (!stored)
        cc_error(core->cfg.log, "cannot store %zu payments: %s", core->n_settling, err.msg);
    for (size_t i = 0; i < core->n_settling; i++)
        tx_check_end(core->settling[i], stored, &err);
    core->n_settling = 0;
    cc_node_core_maybe_mine(core);
}

static void close_payments(void *ctx)
{
    cc_node_core *core = ctx;
    settle_payments(core);
    core->round_open = false;
}

static void finish_tx(void *ctx, bool cancelled)
{
    tx_check *tc = ctx;
    cc_node_core *core = tc->core;
    cc_err err = {0};
    bool accepted = false;
    if (cancelled) {
        cc_fail(&err, CC_ERR_UNAVAILABLE, "the node is shutting down");
    } else if (!tc->ok) {
        cc_refuse(&err, CC_REFUSAL_BAD_SIGNATURE, "Invalid signature");
        cc_metrics_tx(&core->metrics, false, &err);
    } else {
        cc_chain_note_verified(core->chain, &tc->tx);
        if (core->round_open && !core->batch_open)
            core->batch_open = cc_chain_batch_begin(core->chain, NULL);
        accepted = cc_node_core_accept_tx(core, &tc->tx, &err);
    }
    if (accepted && core->batch_open) {
        core->settling = cc_realloc(core->settling, (core->n_settling + 1) * sizeof *core->settling);
        core->settling[core->n_settling++] = tc;
        return;
    }
    tx_check_end(tc, accepted, &err);
    if (accepted)
        cc_node_core_maybe_mine(core);
}

void cc_node_core_check_tx(cc_node_core *core, cc_tx *tx, const char *source, bool announce,
                           cc_node_tx_done done, void *ctx)
{
    tx_check *tc = cc_calloc(1, sizeof *tc);
    *tc = (tx_check){.core = core, .tx = *tx, .announce = announce, .done = done, .ctx = ctx};
    memset(tx, 0, sizeof *tx);
    tc->txp = &tc->tx;
    snprintf(tc->source, sizeof tc->source, "%s", source ? source : "");
    cc_err err = {0};
    if (!cc_chain_check_new_tx(core->chain, &tc->tx, &err)) {
        cc_metrics_tx(&core->metrics, false, &err);
        tx_check_end(tc, false, &err);
        return;
    }
    if (cc_chain_signature_known(core->chain, &tc->tx)) {
        tc->ok = true;
        finish_tx(tc, false);
        return;
    }
    cc_verifier_check(core->verifier, &tc->txp, 1, &tc->ok, finish_tx, tc);
}

/* ---- the JSON API (node/api.h, docs/api.md) ----------------------------- */

static void api_peers(void *ctx, cc_buf *out)
{
    cc_node_core *core = ctx;
    core->adapter.peers_json(core->adapter.ctx, out);
}

static void api_peer_table(void *ctx, cc_buf *out)
{
    cc_node_core *core = ctx;
    core->adapter.peer_table(core->adapter.ctx, out);
}

static void api_sync(void *ctx, cc_buf *out)
{
    cc_node_core *core = ctx;
    core->adapter.sync_json(core->adapter.ctx, out);
}

static size_t api_peer_count(void *ctx)
{
    cc_node_core *core = ctx;
    return core->adapter.peer_count(core->adapter.ctx);
}

/* The owner's payment: no faucet limits. */
static bool api_send(void *ctx, const char *to, const cc_number *amount, cc_buf *out,
                     cc_err *err)
{
    cc_node_core *core = ctx;
    cc_tx tx = {0};
    if (!cc_node_core_pay(core, to, amount, &tx, err))
        return false;
    cc_buf_printf(out, "{\"txid\": \"%s\", \"transaction\": %s}", tx.txid, tx.text);
    cc_info(core->cfg.log, "paid %s to %s (API)", tx.txid, to);
    cc_tx_clear(&tx);
    return true;
}

static bool api_mine(void *ctx, cc_buf *out, cc_err *err)
{
    cc_node_core *core = ctx;
    if (!update_mining(core, true, err))
        return false;
    cc_buf_printf(out, "{\"mining\": %lld}", (long long)core->tpl.height);
    return true;
}

static void api_mempool_history(void *ctx, cc_buf *out)
{
    const cc_node_core *core = ctx;
    cc_mempool_history_write_json(&core->mempool_history, cc_clock_unix(),
                                  cc_chain_mempool_size(core->chain), out);
}

static void on_history_tick(evutil_socket_t fd, short what, void *ctx)
{
    (void)fd;
    (void)what;
    cc_node_core *core = ctx;
    cc_mempool_history_add(&core->mempool_history, cc_clock_unix(),
                           cc_chain_mempool_size(core->chain));
}

/* The first sample at once, so that a chart drawn a second after the
 * start already spans from the start to now. */
static void start_history(cc_node_core *core)
{
    cc_mempool_history_init(&core->mempool_history);
    on_history_tick(-1, 0, core);
    core->history_tick = event_new(core->base, -1, EV_PERSIST, on_history_tick, core);
    struct timeval every = {.tv_sec = CC_MEMPOOL_SAMPLE_S};
    evtimer_add(core->history_tick, &every);
}

static bool api_key_valid(void *ctx, const char *key, cc_err *err)
{
    const cc_node_core *core = ctx;
    const cc_rules *rules = core->cfg.rules;
    return rules->key_valid(key) || cc_fail(err, CC_ERR_BAD_REQUEST, "key must be %s",
                                            rules->key_form);
}

static void metrics_gauges(void *ctx, cc_metrics_gauges *gauges)
{
    cc_node_core *core = ctx;
    *gauges = (cc_metrics_gauges){.height = cc_chain_height(core->chain),
                                  .peers = api_peer_count(core),
                                  .mempool = cc_chain_mempool_size(core->chain)};
}

/* ---- start and stop ------------------------------------------------------ */

static bool open_wallet(cc_node_core *core, cc_err *err)
{
    const cc_node_core_config *cfg = &core->cfg;
    core->key_kind = cc_key_kind_of(cfg->rules);
    if (!core->key_kind)
        return cc_fail(err, CC_ERR_INTERNAL, "the %s network has no wallet",
                       cfg->rules->network);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", cfg->datadir, cfg->rules->wallet_file);
    bool created;
    if (!cc_wallet_file_load_or_create(&core->key_kind->file, path, &core->key, &created,
                                       cfg->log, err))
        return false;
    core->key_loaded = true;
    cc_node_report_key(cfg->log, cc_node_core_key(core), created, path);
    return true;
}

void cc_node_core_defaults(cc_node_core_config *config)
{
    *config = (cc_node_core_config){
        .n_transactions = 2,
        .miner_nice = CC_MINER_NICE_DEFAULT,
        .max_mempool = 10000,
        .max_orphans = 256,
        .api_trust_loopback = true,
    };
}

bool cc_node_core_open(cc_node_core *core, const cc_node_core_config *cfg, cc_err *err)
{
    memset(core, 0, sizeof *core);
    core->cfg = *cfg;
    core->datadir_lock = (cc_dir_lock)CC_DIR_LOCK_INIT;
    cc_node_process_init();
    core->base = event_base_new();
    if (!core->base)
        return cc_fail(err, CC_ERR_INTERNAL, "cannot make an event loop");
    if (!cc_node_datadir_open(cfg->datadir, &core->datadir_lock, cfg->log, err) ||
        !open_wallet(core, err) || !cc_api_token_load(cfg->datadir, core->api_token, cfg->log, err))
        return false;
    core->chain = cc_node_chain_open(cfg->datadir, cfg->rules, cfg->log, cfg->max_orphans,
                                     cfg->max_mempool, cfg->reorg_inline_max, err);
    return core->chain != NULL;
}

void cc_node_core_start(cc_node_core *core, const cc_node_adapter *adapter)
{
    const cc_node_core_config *cfg = &core->cfg;
    core->adapter = *adapter;
    core->miner = cc_miner_new(core->base, cfg->miner_threads, cfg->miner_nice, on_block_found,
                               core);
    core->verifier = cc_verifier_new(core->base, cfg->rules, cfg->verify_threads);
    core->reorg_step = evtimer_new(core->base, on_reorg_step, core);
    cc_verifier_set_round_hooks(core->verifier, open_payments, close_payments, core);
    core->api = (cc_api_backend){
        .network = cfg->rules->network,
        .chain = core->chain,
        .node_key = cc_node_core_key(core),
        .token = core->api_token,
        .token_only = !cfg->api_trust_loopback,
        .ctx = core,
        .peers = api_peers,
        .sync = api_sync,
        .send = api_send,
        .mine = api_mine,
        .peer_count = api_peer_count,
        .key_valid = api_key_valid,
        .mempool_history = api_mempool_history,
        .peer_table = adapter->peer_table ? api_peer_table : NULL,
    };
    core->web = (cc_node_web){.metrics = &core->metrics,
                              .api = &core->api,
                              .gauges = metrics_gauges,
                              .ctx = core};
    start_history(core);
    cc_node_signals_start(&core->signals, core->base, cfg->log);
}

void cc_node_core_run(cc_node_core *core)
{
    cc_node_core_maybe_mine(core);
    event_base_dispatch(core->base);
    cc_node_signals_stop(&core->signals);
}

void cc_node_core_close(cc_node_core *core)
{
    /* Checks still under way end first (answered "shutting down"), while
     * everything they use is still there. */
    cc_verifier_free(core->verifier);
    core->verifier = NULL;
    free(core->settling);
    core->settling = NULL;
    if (core->reorg_step)
        event_free(core->reorg_step);
    core->reorg_step = NULL;
    if (core->history_tick)
        event_free(core->history_tick);
    core->history_tick = NULL;
    /* Stopped by cc_node_core_run; a node whose start failed after
     * cc_node_core_start never ran. */
    cc_node_signals_stop(&core->signals);
    cc_miner_free(core->miner);
    core->miner = NULL;
    cc_block_template_clear(&core->tpl);
    cc_chain_close(core->chain);
    core->chain = NULL;
    if (core->key_loaded)
        core->key_kind->file.clear(&core->key);
    core->key_loaded = false;
    if (core->base)
        event_base_free(core->base);
    core->base = NULL;
    cc_dir_lock_release(&core->datadir_lock); /* last: the database is closed */
}

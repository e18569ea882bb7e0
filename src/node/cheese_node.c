#include "node/cheese_node.h"

#include <event2/dns.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chain/chain.h"
#include "codec/json.h"
#include "consensus/cheese.h"
#include "crypto/random.h"
#include "net/http_server.h"
#include "net/listener.h"
#include "node/api.h"
#include "node/cheese_peers.h"
#include "node/cheese_serve.h"
#include "node/cheese_tracker_client.h"
#include "node/metrics.h"
#include "node/miner.h"
#include "node/peer_score.h"
#include "node/core.h"
#include "util/clock.h"
#include "util/fileio.h"
#include "util/mem.h"
#include "util/timeval.h"
#include "wallet/keys.h"
#include "wallet/payment.h"

#define GREET_WAIT_S 0.15     /* a connecting peer silent this long is greeted */
#define SILENCE_S 0.1         /* silence that ends an argument (as the tracker) */
#define SPELLING_WAIT_S 1.0   /* tracker silent this long: try the other spelling */
#define ANSWER_TIMEOUT_S 10.0 /* tracker or peer answers, and progress on long ones */
#define LINK_IDLE_S 5.0       /* outbound links with nothing to do close */
#define GREETING_WAIT_S 1.0   /* a peer that does not greet is taken to speak the later spelling */
#define HCK_WAIT_S 3.0        /* a later peer silent on HCK this long gets no transactions */
#define RETRY_MIN_S 0.25      /* tracker reconnect back-off */
#define RETRY_MAX_S 5.0
#define MAX_LINE 1024         /* argument or unknown text */
#define TRACKER_PAYLOAD (1 << 20)
#define LINK_QUEUE 256        /* messages waiting per outbound link */
#define ORPHAN_FETCH_GAP_S 2.0 /* between chain fetches from every peer for orphans */
#define OPEN_TXS_MAX 1000     /* transactions in one TR[...] answer */
#define LIST_DEPTH (CC_CHEESE_MAX_JSON_DEPTH + 1)
#define ID_RANDOM_BYTES 10

typedef struct cheese_node {
    const cc_cheese_node_config *cfg;
    cc_node_core core;
    const cc_rules *rules;
    struct evdns_base *dns;
    cc_chain *chain; /* the core's */
    cc_tracker_client *tracker;
    cc_cheese_peers *peers;
    cc_cheese_serve *serve;
    cc_http_server *api; /* /metrics, /api/ and the explorer */
    const char *advertised; /* announced to the tracker (cc_node_advertised) */
    cc_peer_scores *scores; /* misbehaviour of peer addresses */
    char greet_id[3 + 2 * ID_RANDOM_BYTES + 1]; /* until the tracker gives us one */
    struct event *resync;
    double last_orphan_fetch;
    int api_port;
} cheese_node;

void cc_cheese_node_defaults(cc_cheese_node_config *config)
{
    *config = (cc_cheese_node_config){
        .host = "127.0.0.1",
        .port = 9009,
        .tracker_host = "127.0.0.1",
        .tracker_port = 9999,
        .idle_timeout_s = 10,
        .max_connections = 1024,
        .max_peers = 128,
        .tracker_interval_s = 10,
        .resync_interval_s = 60,
        .max_chain_bytes = 64 << 20,
        .max_message_bytes = 16 << 20,
        .ban_time_s = 600,
    };
    /* Chains arrive whole and are adopted at once: cheese-node.md. */
    cc_node_core_defaults(&config->core);
}

/* ---- blocks and transactions ---- */

static void cheese_announce_block(void *ctx, const char *text, size_t len, const char *except)
{
    cheese_node *node = ctx;
    cc_cheese_peers_announce_block(node->peers, text, len, except);
}

static void cheese_announce_tx(void *ctx, const char *text, size_t len, const char *except)
{
    cheese_node *node = ctx;
    cc_cheese_peers_announce_tx(node->peers, text, len, except);
}

/* A block whose parent we lack: someone has the chain it belongs to. */
static void cheese_fetch_parent(void *ctx, const cc_block_result *res, const char *source)
{
    cheese_node *node = ctx;
    cc_info(node->cfg->core.log, "block %lld %s: parent unknown, fetching chains",
            (long long)res->height, res->hash);
    if (source && cc_cheese_peers_has(node->peers, source)) {
        cc_cheese_peers_fetch(node->peers, source);
        return;
    }
    double now = cc_clock_mono();
    if (now - node->last_orphan_fetch < ORPHAN_FETCH_GAP_S)
        return;
    node->last_orphan_fetch = now;
    cc_cheese_peers_fetch(node->peers, NULL);
}

/* ---- what peers send us, checked by the core (node/core.h) ----
 *
 * Blocks and payments go to the core, which checks their signatures on the
 * workers; the peer's connection waits for the verdict (its answer keeps
 * its place), a chain we fetched for nobody's answer. */

typedef struct intake {
    cheese_node *node;
    cc_cheese_verdict *verdict; /* NULL: a chain we asked for */
    char source[96];            /* the peer's id ("" unknown) */
    bool list;                  /* errors name the block's place in the list */
    const cc_block *blocks;     /* as the core holds them, while it checks */
    size_t *place;              /* each block's place in the list */
    bool ok;
    cc_err err;       /* the first refusal */
    cc_err tail_err;  /* why the list could not be read past the last block */
    bool relay_each;  /* else only the new tip, once: a catch-up */
    uint64_t generation;
    int64_t height_before;
} intake;

static bool peer_misbehaved(void *ctx, const char *ip, cc_refusal why);

/* A chain we asked a listed peer for holds a block that breaks the rules:
 * its address is scored as if it had announced it. One we cannot read is
 * not: the seed era's peers answer in forms of their own. */
static void chain_refused(cheese_node *node, const char *peer_id, const cc_err *why)
{
    const char *host = cc_cheese_peers_host(node->peers, peer_id);
    cc_refusal refusal = cc_err_refusal(why);
    if (host && refusal != CC_REFUSAL_MALFORMED)
        peer_misbehaved(node, host, refusal);
}

static intake *intake_new(cheese_node *node, cc_cheese_verdict *verdict, const char *source)
{
    intake *in = cc_calloc(1, sizeof *in);
    in->node = node;
    in->verdict = verdict;
    snprintf(in->source, sizeof in->source, "%s", source ? source : "");
    in->ok = true;
    in->relay_each = true;
    in->generation = cc_chain_tip_generation(node->chain);
    in->height_before = cc_chain_height(node->chain);
    return in;
}

/* A block we have is fine (gossip reaches us more than once); anything
 * else refused stops the list: the rest build on it. */
static bool block_taken(void *ctx, const cc_block *block, bool ok, const cc_block_result *res,
                        cc_err *err)
{
    intake *in = ctx;
    cheese_node *node = in->node;
    if (!ok && cc_err_refusal(err) == CC_REFUSAL_DUPLICATE)
        return true;
    if (!ok) {
        in->ok = false;
        in->err = *err;
        if (in->list)
            cc_err_prefix(&in->err, "block %zu of the list: ", in->place[block - in->blocks]);
        return false;
    }
    if (res->outcome != CC_BLOCK_ORPHAN)
        cc_info(node->cfg->core.log, "block %lld %s stored%s; height %lld", (long long)res->height,
                res->hash,
                res->outcome == CC_BLOCK_NEW_TIP ? " as the new tip" : " on a side branch",
                (long long)cc_chain_height(node->chain));
    return true;
}

static void intake_done(void *ctx, bool cancelled)
{
    intake *in = ctx;
    cheese_node *node = in->node;
    if (cancelled) {
        in->ok = cc_fail(&in->err, CC_ERR_UNAVAILABLE, "the node is shutting down");
    } else if (in->ok && in->tail_err.code) {
        in->ok = false;
        in->err = in->tail_err;
    }
    if (!cancelled && !in->relay_each && in->generation != cc_chain_tip_generation(node->chain))
        cc_node_core_announce_tip(&node->core, in->source[0] ? in->source : NULL);
    if (!in->verdict && !in->ok && !cancelled)
        chain_refused(node, in->source, &in->err);
    if (in->verdict) {
        cc_cheese_verdict_give(in->verdict, in->ok, &in->err);
    } else {
        if (!in->ok && !cancelled)
            cc_info(node->cfg->core.log, "chain from %s: %s", in->source, in->err.msg);
        if (cc_chain_height(node->chain) != in->height_before)
            cc_info(node->cfg->core.log, "caught up with %s: height %lld -> %lld", in->source,
                    (long long)in->height_before, (long long)cc_chain_height(node->chain));
    }
    free(in->place);
    free(in);
}

static void check_blocks(intake *in, cc_block *blocks, size_t n)
{
    cc_node_block_intake cb = {.taken = block_taken, .done = intake_done, .ctx = in};
    in->blocks = blocks;
    cc_node_core_check_blocks(&in->node->core, blocks, n, in->source[0] ? in->source : NULL,
                              in->relay_each, &cb);
}

/* A list of blocks, in order: read up to the first that cannot be read
 * (which refuses the rest), the genesis passed over. Returns the highest
 * height read, what the peer claims its chain's height is (the explorer's
 * peers table): 0 for a list whose first block cannot be read, -1 for an
 * empty list. */
static int64_t take_block_list(intake *in, const char *payload, size_t len)
{
    in->list = true;
    json_t *doc = cc_json_parse(payload, len, LIST_DEPTH, &in->tail_err);
    if (doc && !json_is_array(doc))
        cc_fail(&in->tail_err, CC_ERR_BAD_REQUEST, "a chain must be a list of blocks");
    size_t count = json_is_array(doc) ? json_array_size(doc) : 0;
    cc_block *blocks = cc_calloc(count + 1, sizeof *blocks);
    in->place = cc_calloc(count + 1, sizeof *in->place);
    size_t n = 0;
    int64_t highest = count ? 0 : -1; /* the genesis, skipped below, is height 0 */
    for (size_t i = 0; i < count; i++) {
        cc_block block = {0};
        if (!cc_cheese_block_from_json(json_array_get(doc, i), &block, &in->tail_err)) {
            cc_err_prefix(&in->tail_err, "block %zu of the list: ", i);
            break;
        }
        if (block.height == 0) {
            cc_block_clear(&block);
            continue;
        }
        if (block.height > highest)
            highest = block.height;
        in->place[n] = i;
        blocks[n++] = block;
    }
    json_decref(doc);
    check_blocks(in, blocks, n);
    return highest;
}

static void on_peer_blocks(void *ctx, const char *payload, size_t len, const char *source,
                           cc_cheese_verdict *verdict)
{
    cheese_node *node = ctx;
    intake *in = intake_new(node, verdict, source);
    if (payload[0] == '[') {
        take_block_list(in, payload, len);
        return;
    }
    cc_block *block = cc_calloc(1, sizeof *block);
    size_t n = cc_node_core_decode_block(&node->core, payload, len, block, &in->tail_err) ? 1 : 0;
    check_blocks(in, block, n);
}

static void tx_done(void *ctx, const cc_tx *tx, bool accepted, const cc_err *err)
{
    intake *in = ctx;
    cheese_node *node = in->node;
    if (accepted)
        cc_info(node->cfg->core.log, "transaction %s accepted; %zu waiting", tx->txid,
                cc_chain_mempool_size(node->chain));
    /* gossip reaching us twice is fine */
    bool fine = accepted || cc_err_refusal(err) == CC_REFUSAL_DUPLICATE;
    cc_cheese_verdict_give(in->verdict, fine, err);
    free(in);
}

/* The canonical text, the one we hashed, is what gets relayed. */
static void on_peer_tx(void *ctx, const char *payload, size_t len, const char *source,
                       cc_cheese_verdict *verdict)
{
    cheese_node *node = ctx;
    cc_tx tx = {0};
    cc_err err = {0};
    if (!node->rules->tx_decode(payload, len, &tx, &err)) {
        cc_metrics_tx(&node->core.metrics, false, &err);
        cc_cheese_verdict_give(verdict, false, &err);
        return;
    }
    intake *in = intake_new(node, verdict, source);
    cc_node_core_check_tx(&node->core, &tx, source, true, tx_done, in);
}

/* ---- misbehaviour and bans ----
 *
 * A peer's address earns points for what the node refuses as broken
 * (malformed, a bad signature or proof of work, a block on an invalid
 * one), never for what an honest peer sends too (a block or payment we
 * hold, one our chain cannot pay for yet, a full mempool), and is banned
 * for ban_time_s at 100. Points are kept per IP address: that is all an
 * inbound connection shows. The node's own address and loopback are
 * never banned (every program on this machine shares them; as in Bitcoin
 * Core, a local peer is only disconnected). */

static bool refusal_is_offence(cc_refusal why)
{
    switch (why) {
    case CC_REFUSAL_MALFORMED:
    case CC_REFUSAL_BAD_SIGNATURE:
    case CC_REFUSAL_BAD_POW:
    case CC_REFUSAL_INVALID_PARENT:
    case CC_REFUSAL_KNOWN_INVALID: return true;
    default: return false;
    }
}

static bool never_banned(const cheese_node *node, const char *ip)
{
    return strcmp(ip, node->advertised) == 0 || strcmp(ip, "127.0.0.1") == 0 ||
           strcmp(ip, "::1") == 0;
}

static bool peer_misbehaved(void *ctx, const char *ip, cc_refusal why)
{
    cheese_node *node = ctx;
    if (!refusal_is_offence(why) || never_banned(node, ip))
        return false;
    if (!cc_scores_misbehaved(node->scores, ip, CC_MISBEHAVE_INVALID_BLOCK, cc_clock_mono()))
        return cc_scores_banned(node->scores, ip, cc_clock_mono(), NULL);
    cc_warn(node->cfg->core.log, "banning %s for %.0f s: too many invalid messages", ip,
            node->cfg->ban_time_s);
    return true;
}

static bool ip_banned(void *ctx, const char *ip)
{
    cheese_node *node = ctx;
    return cc_scores_banned(node->scores, ip, cc_clock_mono(), NULL);
}

/* ---- what peers answer us ---- */

static void on_chain(void *ctx, const char *peer_id, const char *payload, size_t len)
{
    cheese_node *node = ctx;
    intake *in = intake_new(node, NULL, peer_id);
    in->relay_each = false;
    cc_cheese_peers_note_height(node->peers, peer_id, take_block_list(in, payload, len));
}

static void on_open_txs(void *ctx, const char *peer_id, const char *payload, size_t len)
{
    cheese_node *node = ctx;
    json_t *doc = cc_json_parse(payload, len, LIST_DEPTH, NULL);
    size_t offered = 0;
    size_t i;
    json_t *item;
    json_array_foreach(doc, i, item) {
        cc_tx tx = {0};
        if (cc_cheese_tx_from_json(item, &tx, NULL) && !tx.is_reward) {
            cc_node_core_check_tx(&node->core, &tx, peer_id, false, NULL, NULL);
            offered++;
        }
        cc_tx_clear(&tx);
    }
    json_decref(doc);
    if (offered > 0)
        cc_info(node->cfg->core.log, "%zu open transactions from %s", offered, peer_id);
}

/* ---- what we serve peers ---- */

static const char *self_id(void *ctx)
{
    cheese_node *node = ctx;
    const char *id = cc_tracker_client_id(node->tracker);
    return id ? id : node->greet_id;
}

/* The best chain from the genesis, as a JSON list: the "chain" member of
 * cc_chain_write_from's {"chain": [...]}. */
static void serve_chain(void *ctx, cc_buf *out)
{
    cheese_node *node = ctx;
    cc_buf doc = CC_BUF_INIT;
    static const char head[] = "{\"chain\": ";
    cc_err err = {0};
    if (cc_chain_write_from(node->chain, node->rules->genesis_hash, &doc, &err) &&
        doc.len > sizeof head && memcmp(doc.data, head, sizeof head - 1) == 0) {
        cc_buf_append(out, doc.data + sizeof head - 1, doc.len - sizeof head);
    } else {
        cc_error(node->cfg->core.log, "cannot read the chain: %s", err.msg);
        cc_buf_puts(out, "[");
        cc_buf_puts(out, node->rules->genesis_text);
        cc_buf_puts(out, "]");
    }
    cc_buf_free(&doc);
}

static void serve_open_txs(void *ctx, cc_buf *out)
{
    cheese_node *node = ctx;
    cc_tx *txs = NULL;
    size_t n = 0;
    cc_buf_putc(out, '[');
    if (cc_chain_mempool_take(node->chain, OPEN_TXS_MAX, &txs, &n, NULL)) {
        for (size_t i = 0; i < n; i++) {
            if (i > 0)
                cc_buf_puts(out, ", ");
            cc_buf_append(out, txs[i].text, txs[i].text_len);
            cc_tx_clear(&txs[i]);
        }
        free(txs);
    }
    cc_buf_putc(out, ']');
}

/* ---- the tracker ---- */

static void on_joined(void *ctx, const char *id, cc_cheese_spelling spelling)
{
    (void)spelling;
    cheese_node *node = ctx;
    cc_cheese_peers_set_self(node->peers, id);
}

static void on_tracker_lost(void *ctx)
{
    cheese_node *node = ctx;
    cc_cheese_peers_set_self(node->peers, NULL);
}

static void on_tracker_peers(void *ctx, const cc_cheese_peer_entry *entries, size_t n)
{
    cheese_node *node = ctx;
    for (size_t i = 0; i < n; i++)
        if (cc_cheese_peers_add(node->peers, entries[i].id, entries[i].host, entries[i].port))
            cc_cheese_peers_fetch(node->peers, entries[i].id); /* catch up with it */
}

static void on_resync(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    cheese_node *node = arg;
    /* Announcements can be missed (we or a peer were down for a moment):
     * now and then one peer's chain is compared with ours. Peers answer
     * with their whole chain, so this is kept rare. */
    cc_cheese_peers_fetch_random(node->peers);
    struct timeval tv = cc_timeval_of(node->cfg->resync_interval_s);
    evtimer_add(node->resync, &tv);
}

/* ---- what the JSON API asks of the network (node/core.h) ---- */

static void cheese_peers_json(void *ctx, cc_buf *out)
{
    cheese_node *node = ctx;
    cc_cheese_peers_write_json(node->peers, out);
}

static void cheese_peer_table(void *ctx, cc_buf *out)
{
    cheese_node *node = ctx;
    cc_cheese_peers_write_table(node->peers, out);
}

static void cheese_sync_json(void *ctx, cc_buf *out)
{
    cheese_node *node = ctx;
    size_t fetching = cc_cheese_peers_fetching(node->peers);
    cc_buf_printf(out, "{\"state\": \"%s\", \"height\": %lld, \"peers\": %zu, \"fetching\": %zu, "
                       "\"tracker\": ",
                  fetching ? "syncing" : "idle", (long long)cc_chain_height(node->chain),
                  cc_cheese_peers_count(node->peers), fetching);
    cc_tracker_client_write_json(node->tracker, out);
    cc_buf_putc(out, '}');
}

static size_t cheese_peer_count(void *ctx)
{
    cheese_node *node = ctx;
    return cc_cheese_peers_count(node->peers);
}

/* ---- start and stop ---- */

static bool open_state(cheese_node *node, cc_err *err)
{
    const cc_cheese_node_config *cfg = node->cfg;
    if (!cc_node_core_open(&node->core, &cfg->core, err))
        return false;
    node->chain = node->core.chain;
    return true;
}

static void make_greet_id(char out[3 + 2 * ID_RANDOM_BYTES + 1])
{
    static const char digits[] = "0123456789ABCDEF";
    unsigned char bytes[ID_RANDOM_BYTES];
    cc_random_bytes(bytes, sizeof bytes);
    memcpy(out, "PID", 3);
    for (size_t i = 0; i < sizeof bytes; i++) {
        out[3 + 2 * i] = digits[bytes[i] >> 4];
        out[4 + 2 * i] = digits[bytes[i] & 15];
    }
    out[3 + 2 * ID_RANDOM_BYTES] = '\0';
}

static bool start_network(cheese_node *node, cc_err *err)
{
    const cc_cheese_node_config *cfg = node->cfg;
    node->dns = evdns_base_new(node->core.base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
    cc_score_config score_cfg = {.ban_time_s = cfg->ban_time_s,
                                 .ban_threshold = 100,
                                 .decay_per_s = cfg->ban_time_s > 0 ? 100 / cfg->ban_time_s : 0,
                                 .backoff_base_s = 1,
                                 .backoff_max_s = 60,
                                 .max_entries = 4096};
    node->scores = cc_scores_new(&score_cfg);
    cc_cheese_peers_config peers_cfg = {
        .base = node->core.base,
        .dns = node->dns,
        .self_host = node->advertised,
        .self_port = cfg->port,
        .max_peers = cfg->max_peers,
        .max_queue = LINK_QUEUE,
        .known_ttl_s = 3 * cfg->tracker_interval_s > 30 ? 3 * cfg->tracker_interval_s : 30,
        .answer_timeout_s = ANSWER_TIMEOUT_S,
        .greeting_wait_s = GREETING_WAIT_S,
        .hck_wait_s = HCK_WAIT_S,
        .link_idle_s = LINK_IDLE_S,
        .silence_s = SILENCE_S,
        .limits = {.max_line = MAX_LINE, .max_payload = cfg->max_chain_bytes},
        .only_connect = cfg->only_connect,
        .connect = cfg->connect,
        .n_connect = cfg->n_connect,
        .chain = on_chain,
        .open_txs = on_open_txs,
        .banned = ip_banned,
        .ctx = node,
        .log = cfg->core.log,
    };
    node->peers = cc_cheese_peers_new(&peers_cfg);
    cc_tracker_client_config tracker_cfg = {
        .base = node->core.base,
        .dns = node->dns,
        .host = cfg->tracker_host,
        .port = cfg->tracker_port,
        .self_host = node->advertised,
        .self_port = cfg->port,
        .poll_interval_s = cfg->tracker_interval_s,
        .answer_timeout_s = ANSWER_TIMEOUT_S,
        .spelling_wait_s = SPELLING_WAIT_S,
        .silence_s = SILENCE_S,
        .retry_min_s = RETRY_MIN_S,
        .retry_max_s = RETRY_MAX_S,
        .limits = {.max_line = MAX_LINE, .max_payload = TRACKER_PAYLOAD},
        .joined = on_joined,
        .lost = on_tracker_lost,
        .peers = on_tracker_peers,
        .ctx = node,
        .log = cfg->core.log,
    };
    node->tracker = cc_tracker_client_new(&tracker_cfg);
    cc_cheese_serve_config serve_cfg = {
        .base = node->core.base,
        .host = cfg->host,
        .port = cfg->port,
        .idle_timeout_s = cfg->idle_timeout_s,
        .greet_wait_s = GREET_WAIT_S,
        .silence_s = SILENCE_S,
        .max_connections = cfg->max_connections,
        .limits = {.max_line = MAX_LINE, .max_payload = cfg->max_message_bytes},
        .tracker = node->tracker,
        .peers = node->peers,
        .self_id = self_id,
        .chain = serve_chain,
        .open_txs = serve_open_txs,
        .blocks = on_peer_blocks,
        .tx = on_peer_tx,
        .misbehaved = peer_misbehaved,
        .ip_banned = ip_banned,
        .ctx = node,
        .log = cfg->core.log,
    };
    node->serve = cc_cheese_serve_start(&serve_cfg, err);
    if (!node->serve)
        return false;
    cc_http_server_config api_cfg = {
        .host = cfg->host,
        .port = node->api_port,
        .limits = {.max_header_bytes = 16 << 10, .max_body_bytes = 64 << 10},
        .idle_timeout_s = cfg->idle_timeout_s,
        .max_connections = 256,
        .handler = cc_node_core_web_handle,
        .handler_ctx = &node->core,
        .log = cfg->core.log,
    };
    node->api = cc_http_server_start(node->core.base, &api_cfg, err);
    return node->api != NULL;
}

static void close_node(cheese_node *node)
{
    /* Inbound connections first: they may wait on the tracker's checks. */
    cc_cheese_serve_free(node->serve);
    cc_tracker_client_free(node->tracker);
    cc_cheese_peers_free(node->peers);
    cc_http_server_free(node->api);
    cc_scores_free(node->scores);
    if (node->resync)
        event_free(node->resync);
    if (node->dns)
        evdns_base_free(node->dns, 0);
    cc_node_core_close(&node->core);
}

bool cc_cheese_node_run(const cc_cheese_node_config *cfg, cc_err *err)
{
    cheese_node node = {.cfg = cfg, .rules = cfg->core.rules};
    node.api_port = cfg->api_port ? cfg->api_port : cc_rules_api_port(cfg->core.rules, cfg->port);
    if (node.api_port == 0)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "--port %d leaves no default API port "
                                                "(port + %d): give --api-port",
                       cfg->port, cfg->core.rules->api_port_offset);
    /* Before anything is created: a port in use leaves no data directory. */
    if (!cc_listener_can_bind(cfg->host, cfg->port, err) ||
        !cc_listener_can_bind(cfg->host, node.api_port, err))
        return false;
    node.advertised = cc_node_advertised(cfg->host, cfg->advertise, err);
    if (!node.advertised)
        return false;
    make_greet_id(node.greet_id);
    if (!open_state(&node, err)) {
        close_node(&node);
        return false;
    }
    cc_node_adapter adapter = {.announce_block = cheese_announce_block,
                               .announce_tx = cheese_announce_tx,
                               .orphan = cheese_fetch_parent,
                               .peers_json = cheese_peers_json,
                               .peer_table = cheese_peer_table,
                               .sync_json = cheese_sync_json,
                               .peer_count = cheese_peer_count,
                               .ctx = &node};
    cc_node_core_start(&node.core, &adapter);
    if (!start_network(&node, err)) {
        close_node(&node);
        return false;
    }
    node.resync = evtimer_new(node.core.base, on_resync, &node);
    struct timeval first = {(time_t)cfg->resync_interval_s, 0};
    evtimer_add(node.resync, &first);
    cc_info(cfg->core.log, "cheese node listening on %s:%d (API on port %d), height %lld, tip %s",
            cfg->host, cfg->port, node.api_port, (long long)cc_chain_height(node.chain),
            cc_chain_tip(node.chain));
    cc_notice(cfg->core.log, "listening on cheese://%s:%d, JSON API on http://%s:%d/api/",
              node.advertised, cfg->port, node.advertised, node.api_port);
    cc_notice(cfg->core.log, "explorer on http://%s:%d/", node.advertised, node.api_port);
    cc_tracker_client_start(node.tracker);
    cc_node_core_run(&node.core);
    close_node(&node);
    return true;
}

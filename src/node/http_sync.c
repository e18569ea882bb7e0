#include "node/http_sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/random.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/mem.h"
#include "consensus/http.h"

#define MAX_PEER_STATES 256    /* peers whose ways we remember */
#define LOCATOR_HASHES 32      /* ours (enough for 2^30 blocks); plus a cursor, under the cap */
#define MAX_NESTING 16         /* of an answer's JSON, blocks included */
#define SEED_ONLY_RETRY_S 600  /* then ask a seed-only peer our way again: it may have changed */
#define NO_PEER_RETRY_S 0.25   /* first wait for a peer to be listed, doubling up to the interval */

_Static_assert(LOCATOR_HASHES + 1 <= CC_SYNC_MAX_LOCATOR, "a locator must fit what nodes read");

/* How we ask a peer for blocks, from ours to the seed's. */
typedef enum ask { ASK_LOCATOR, ASK_BY_ID, ASK_FULL } ask;

typedef struct page_job page_job;

typedef struct peer_state {
    char address[96];
    double seed_only_since;           /* 0: it answers our locator form */
    double whole_only_since;          /* 0: its ?id= answers are chains */
    char cursor[CC_HASH_HEX_LEN + 1]; /* the last block it sent us ("" none) */
    int64_t claimed;                  /* its best height as far as we know (-1) */
} peer_state;

struct cc_sync {
    cc_sync_config cfg;
    struct event *timer;
    peer_state states[MAX_PEER_STATES];
    size_t n_states;
    size_t next_slot;          /* replaced next once the table is full */
    size_t turn;               /* the listed peer whose turn is next */
    char pending[96];          /* a peer to ask first ("" none) */
    bool want_round;           /* asked for while a round ran */
    double no_peer_wait;       /* next wait while no peer is listed */
    /* the round under way */
    bool busy;
    char peer[96];
    ask asked;
    double started;
    size_t stored;
    double last_loud;          /* when progress last went out at notice (0 never) */
    bool in_flight;            /* a request for a page is under way */
    page_job *job;             /* a page being checked by the workers (NULL none) */
    int held_status;           /* an answer that came while a page was checked */
    cc_http_failure held_failure;
    char *held_body;
    size_t held_len;
    bool drop_next;            /* the page asked ahead is not wanted: end the round on it */
};

/* ---- peers and timing ------------------------------------------------------ */

static peer_state *state_of(cc_sync *sync, const char *address)
{
    for (size_t i = 0; i < sync->n_states; i++)
        if (strcmp(sync->states[i].address, address) == 0)
            return &sync->states[i];
    /* A full table forgets the oldest entry: only hints are lost. */
    peer_state *ps = sync->n_states < MAX_PEER_STATES ? &sync->states[sync->n_states++]
                                                      : &sync->states[sync->next_slot++ %
                                                                      MAX_PEER_STATES];
    *ps = (peer_state){.claimed = -1};
    snprintf(ps->address, sizeof ps->address, "%s", address);
    return ps;
}

int64_t cc_sync_peer_height(const cc_sync *sync, const char *peer)
{
    for (size_t i = 0; i < sync->n_states; i++)
        if (strcmp(sync->states[i].address, peer) == 0)
            return sync->states[i].claimed;
    return -1;
}

static bool recent(double since)
{
    return since > 0 && cc_clock_mono() - since < SEED_ONLY_RETRY_S;
}

static bool seed_only(const peer_state *ps) { return recent(ps->seed_only_since); }

/* Jitter keeps nodes started together from asking each other in step. */
static double jittered(double seconds)
{
    uint16_t r;
    cc_random_bytes(&r, sizeof r);
    return seconds * (0.75 + 0.5 * r / 65535.0);
}

static void schedule(cc_sync *sync, double seconds)
{
    struct timeval tv = {(time_t)seconds,
                         (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6)};
    evtimer_add(sync->timer, &tv);
}

/* ---- reading answers ----------------------------------------------------------
 *
 * Answers are read in place, not through a JSON tree: each block's own text
 * goes to the chain, which parses and checks it fully, and a page of a
 * thousand blocks costs no copy. The envelope is read just enough to find
 * its members. */

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

/* p at '"': the byte after the closing quote, or NULL. */
static const char *skip_string(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '"')
            return p + 1;
        if (*p == '\\' && ++p == end) /* the escaped byte is passed over */
            break;
    }
    return NULL;
}

/* The end of the JSON value at p, or NULL when it is cut off or too deep. */
static const char *skip_value(const char *p, const char *end)
{
    if (p >= end)
        return NULL;
    if (*p == '"')
        return skip_string(p, end);
    if (*p != '{' && *p != '[') {
        const char *q = p;
        while (q < end && !strchr(",]} \t\r\n", *q))
            q++;
        return q > p ? q : NULL;
    }
    int depth = 0;
    while (p < end) {
        if (*p == '"') {
            if (!(p = skip_string(p, end)))
                return NULL;
            continue;
        }
        if ((*p == '{' || *p == '[') && ++depth > MAX_NESTING)
            return NULL;
        if ((*p == '}' || *p == ']') && --depth == 0)
            return p + 1;
        p++;
    }
    return NULL;
}

typedef struct envelope {
    const char *chain, *chain_end; /* the "chain" array, brackets included */
    bool errcode;                  /* an error, whatever the HTTP status said */
    int64_t height;                /* "height" (our nodes' locator answers), -1 */
} envelope;

static bool key_is(const char *key, const char *key_end, const char *name)
{
    return (size_t)(key_end - key) == strlen(name) && memcmp(key, name, strlen(name)) == 0;
}

static void read_member(const char *key, const char *key_end, const char *value,
                        const char *value_end, envelope *env)
{
    if (key_is(key, key_end, "chain") && *value == '[') {
        env->chain = value;
        env->chain_end = value_end;
    } else if (key_is(key, key_end, "errcode")) {
        env->errcode = true;
    } else if (key_is(key, key_end, "height") && *value >= '0' && *value <= '9') {
        env->height = strtoll(value, NULL, 10);
    }
}

/* {"member": value, ...}: false when the text is not such an object. */
static bool read_envelope(const char *p, const char *end, envelope *env)
{
    *env = (envelope){.height = -1};
    p = skip_ws(p, end);
    if (p == end || *p != '{')
        return false;
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}')
        return true;
    for (;;) {
        const char *key_end = p < end && *p == '"' ? skip_string(p, end) : NULL;
        if (!key_end)
            return false;
        const char *colon = skip_ws(key_end, end);
        if (colon == end || *colon != ':')
            return false;
        const char *value = skip_ws(colon + 1, end);
        const char *value_end = skip_value(value, end);
        if (!value_end)
            return false;
        read_member(p + 1, key_end - 1, value, value_end, env);
        p = skip_ws(value_end, end);
        if (p < end && *p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        return p < end && *p == '}';
    }
}

/* The elements of an array, one by one. */
typedef struct items {
    const char *p, *end; /* end: the closing bracket */
    bool bad;
} items;

static items items_of(const char *array, const char *array_end)
{
    return (items){.p = array + 1, .end = array_end - 1};
}

static bool items_next(items *it, const char **value, size_t *len)
{
    const char *p = skip_ws(it->p, it->end);
    if (p == it->end)
        return false;
    const char *q = skip_value(p, it->end);
    if (!q) {
        it->bad = true;
        return false;
    }
    *value = p;
    *len = (size_t)(q - p);
    q = skip_ws(q, it->end);
    if (q < it->end && *q++ != ',') {
        it->bad = true;
        return false;
    }
    it->p = q;
    return true;
}

/* ---- feeding a page to the chain ----------------------------------------------
 *
 * A page goes to the chain in two steps: the workers (node/verifier.h)
 * decode its blocks and check every signature, then the loop submits the
 * blocks in order as one batch (one SQLite commit a page). While the loop
 * stores one page, the next one is already being fetched (ask_ahead). */

typedef struct page {
    bool nested;      /* the seed's whole chain: [[b0], [b1, b1'], ...] */
    size_t items;     /* elements of "chain" */
    size_t stored;    /* blocks new to us */
    char last[CC_HASH_HEX_LEN + 1];
    int64_t last_height;
} page;

#define NO_BAD_TX ((size_t)-1)

/* One block of a page: its text in the page, then, from a worker, the
 * decoded block and the place of its first bad signature. */
typedef struct page_block {
    const char *text;
    size_t len;
    cc_block block;
    bool decoded;
    cc_err err;    /* why it could not be decoded */
    size_t bad_tx; /* NO_BAD_TX when every signature checks out */
} page_block;

struct page_job {
    cc_sync *sync;
    char *body; /* a copy of the answer: env and the blocks' texts point into it */
    envelope env;
    page pg;
    bool well_formed;
    page_block *blocks;
    size_t n_blocks;
    /* Started while the page before it was stored, which then ended the
     * round (after_stale says how): dropped once checked. */
    bool stale;
    int after_stale;
};

static void page_job_free(page_job *job)
{
    for (size_t i = 0; i < job->n_blocks; i++)
        cc_block_clear(&job->blocks[i].block);
    free(job->blocks);
    free(job->body);
    free(job);
}

static void collect_block(page_job *job, const char *text, size_t len)
{
    job->blocks = cc_realloc(job->blocks, (job->n_blocks + 1) * sizeof *job->blocks);
    job->blocks[job->n_blocks++] = (page_block){.text = text, .len = len, .bad_tx = NO_BAD_TX};
}

/* The blocks of "chain": a flat list (ours, or the seed's ?id=) from its
 * second block on, since the first is the one we named and hold; or every
 * block of a whole chain, height by height. Every block, not only the first
 * of each height: a reference node lists a height's blocks in the order
 * they reached it, not best first, and a parent always comes a height
 * before its children. False when malformed. */
static bool collect_page(page_job *job)
{
    items it = items_of(job->env.chain, job->env.chain_end);
    const char *value;
    size_t len;
    while (items_next(&it, &value, &len)) {
        bool first = job->pg.items++ == 0;
        if (*value == '[') {
            job->pg.nested = true;
            items height = items_of(value, value + len);
            while (items_next(&height, &value, &len))
                collect_block(job, value, len);
            it.bad = it.bad || height.bad;
        } else if (!first) {
            collect_block(job, value, len);
        }
    }
    return !it.bad;
}

/* On a worker: decodes its share of the page's blocks (every parts-th)
 * and checks their signatures. A block past a bad one is decoded for
 * nothing, which costs less than making the workers wait for each other. */
static void check_share(void *ctx, size_t part, size_t parts)
{
    page_job *job = ctx;
    const cc_rules *rules = job->sync->cfg.rules;
    for (size_t b = part; b < job->n_blocks; b += parts) {
        page_block *pb = &job->blocks[b];
        if (!pb->decoded) /* the last one was decoded by the loop (start_page) */
            pb->decoded = rules->block_decode(pb->text, pb->len, &pb->block, &pb->err);
        for (size_t i = 0; pb->decoded && i < pb->block.n_txs; i++) {
            if (!rules->tx_verify(&pb->block.txs[i])) {
                pb->bad_tx = i;
                break;
            }
        }
    }
}

/* Hands a block's verdicts to the chain: false (with the reason the chain
 * would give) when a signature is bad. */
static bool take_verdicts(page_job *job, const page_block *pb, cc_err *err)
{
    if (pb->bad_tx != NO_BAD_TX)
        return cc_refuse(err, CC_REFUSAL_BAD_SIGNATURE, "transaction %zu: invalid signature",
                         pb->bad_tx);
    for (size_t i = 0; i < pb->block.n_txs; i++)
        cc_chain_note_verified(job->sync->cfg.chain, &pb->block.txs[i]);
    return true;
}

/* A refusal for a block judged before (it, or the block it builds on, was
 * found invalid): a whole chain lists it again every time, and the peer
 * was scored the first time. */
static bool judged_before(const cc_err *err)
{
    cc_refusal why = cc_err_refusal(err);
    return why == CC_REFUSAL_DUPLICATE || why == CC_REFUSAL_KNOWN_INVALID ||
           why == CC_REFUSAL_INVALID_PARENT;
}

/* Feeds block b; false when the rest of the page is no use. In a flat page
 * each block builds on the one before, so the page ends at the first
 * refused or unconnected block; a whole chain lists every branch, so it
 * goes on. */
static bool feed_block(page_job *job, size_t b)
{
    cc_sync *sync = job->sync;
    page_block *pb = &job->blocks[b];
    cc_block_result res = {0};
    cc_err err = pb->err;
    bool ok = pb->decoded && take_verdicts(job, pb, &err) &&
              sync->cfg.submit(sync->cfg.ctx, &pb->block, &res, &err);
    if (!ok) {
        /* Blocks we hold already (a whole chain starts at the genesis) are
         * passed over. */
        bool invalid = cc_peering_is_invalid_block(&err);
        if (err.code == CC_ERR_BAD_REQUEST && (!invalid || (job->pg.nested && judged_before(&err))))
            return true;
        cc_info(sync->cfg.log, "sync: block from %s refused: %s", sync->peer, err.msg);
        if (invalid)
            cc_peering_misbehaved(sync->cfg.peering, sync->peer, CC_MISBEHAVE_INVALID_BLOCK,
                                  err.msg);
        return job->pg.nested && err.code == CC_ERR_BAD_REQUEST;
    }
    if (res.outcome == CC_BLOCK_ORPHAN)
        return job->pg.nested; /* flat: the rest would only fill the pool */
    job->pg.stored++;
    memcpy(job->pg.last, res.hash, sizeof job->pg.last);
    job->pg.last_height = res.height;
    return true;
}

/* All of a page's blocks in one batch: a crash loses at most the page,
 * which is fetched again. */
static void feed_page(page_job *job)
{
    cc_chain *chain = job->sync->cfg.chain;
    cc_err err = {0};
    bool batch = cc_chain_batch_begin(chain, &err);
    for (size_t b = 0; b < job->n_blocks && feed_block(job, b); b++)
        ;
    if (batch && !cc_chain_batch_end(chain, &err)) {
        cc_error(job->sync->cfg.log, "sync: cannot store a page: %s", err.msg);
        job->pg.stored = 0;
    }
}

/* ---- rounds -------------------------------------------------------------------- */

static void on_answer(void *ctx, const char *peer, const cc_http_client_answer *a);

/* A round running longer than this shows its progress at notice, so that the
 * quiet default (docs/configuration.md) still shows long catch-ups, at most
 * one line per LOUD_EVERY_S. */
#define LOUD_AFTER_S 5.0
#define LOUD_EVERY_S 5.0

static void end_round(cc_sync *sync)
{
    if (sync->stored) {
        double elapsed = cc_clock_mono() - sync->started;
        cc_logf(sync->cfg.log, elapsed > LOUD_AFTER_S ? CC_LOG_NOTICE : CC_LOG_INFO,
                "sync with %s: %zu new blocks in %.1f s (%.0f blocks/s), height %lld",
                sync->peer, sync->stored, elapsed, elapsed > 0 ? (double)sync->stored / elapsed : 0.0,
                (long long)cc_chain_height(sync->cfg.chain));
    }
    sync->busy = false;
    /* Never a request from here: this also runs while the client drops
     * everything at shutdown. The timer starts the next round. */
    schedule(sync, sync->want_round ? 0 : jittered(sync->cfg.interval_s));
    sync->want_round = false;
}

/* /getblocks?locator=<cursor>,<our locator>&limit=N: the cursor (the last
 * block this peer sent us) comes first, so that a peer whose branch we
 * stored on the side goes on from there instead of sending it again. */
static void locator_path(cc_sync *sync, const char *cursor, cc_buf *path)
{
    char hashes[LOCATOR_HASHES][CC_HASH_HEX_LEN + 1];
    size_t n = cc_chain_locator(sync->cfg.chain, hashes, LOCATOR_HASHES);
    cc_buf_puts(path, "/getblocks?locator=");
    if (cursor[0] && strcmp(cursor, hashes[0]) != 0)
        cc_buf_printf(path, "%s,", cursor);
    for (size_t i = 0; i < n; i++)
        cc_buf_printf(path, i ? ",%s" : "%s", hashes[i]);
    cc_buf_printf(path, "&limit=%zu", sync->cfg.page_blocks);
}

/* cursor: the block to go on from (ASK_LOCATOR); NULL for the peer's. */
static void request_page(cc_sync *sync, ask how, const char *cursor)
{
    sync->asked = how;
    cc_buf path = CC_BUF_INIT;
    if (how == ASK_LOCATOR)
        locator_path(sync, cursor ? cursor : state_of(sync, sync->peer)->cursor, &path);
    else if (how == ASK_BY_ID)
        cc_buf_printf(&path, "/getblocks?id=%s", cc_chain_tip(sync->cfg.chain));
    else
        cc_buf_puts(&path, "/getblocks");
    bool sent = cc_peering_send(sync->cfg.peering, sync->peer, "GET", path.data, NULL, 0,
                                on_answer, sync);
    cc_buf_free(&path);
    sync->in_flight = sent;
    if (!sent && !sync->job)
        end_round(sync);
}

static void ask_peer(cc_sync *sync, ask how) { request_page(sync, how, NULL); }

/* The seed's way for a peer: by id, or its whole chain when its ?id=
 * answers are no chains (a reference node's are broken JSON). */
static ask seed_way(const peer_state *ps)
{
    return recent(ps->whole_only_since) ? ASK_FULL : ASK_BY_ID;
}

/* Our locator form only for a peer that has shown it speaks it: a
 * reference node's handler dies on it. */
static ask first_ask(cc_sync *sync, const peer_state *ps)
{
    bool ours = cc_peering_api(sync->cfg.peering, ps->address) == CC_PEER_API_EXTENDED;
    return ours && !seed_only(ps) ? ASK_LOCATOR : seed_way(ps);
}

/* A peer can be asked once it has shown which API it speaks: a restarted
 * node lists its peers from its file before they have answered. */
static bool askable(const cc_sync *sync, const char *address)
{
    return cc_peering_api(sync->cfg.peering, address) != CC_PEER_API_UNKNOWN;
}

static bool pick_peer(cc_sync *sync)
{
    bool pending = sync->pending[0] && askable(sync, sync->pending);
    if (pending)
        memcpy(sync->peer, sync->pending, sizeof sync->peer);
    sync->pending[0] = '\0';
    if (pending)
        return true;
    size_t n = cc_peers_count(sync->cfg.peers);
    for (size_t i = 0; i < n; i++) {
        const char *address = cc_peers_at(sync->cfg.peers, sync->turn++ % n);
        if (askable(sync, address)) {
            snprintf(sync->peer, sizeof sync->peer, "%s", address);
            return true;
        }
    }
    return false;
}

static void start_round(cc_sync *sync)
{
    if (!pick_peer(sync)) {
        /* A node just started lists its default peers once they answer: it
         * starts catching up a moment later, not a whole interval later. */
        schedule(sync, sync->no_peer_wait);
        sync->no_peer_wait = sync->no_peer_wait * 2 < sync->cfg.interval_s
                                 ? sync->no_peer_wait * 2 : sync->cfg.interval_s;
        return;
    }
    sync->no_peer_wait = NO_PEER_RETRY_S;
    sync->busy = true;
    sync->started = cc_clock_mono();
    sync->stored = 0;
    sync->last_loud = 0;
    ask_peer(sync, first_ask(sync, state_of(sync, sync->peer)));
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    cc_sync *sync = arg;
    if (!sync->busy)
        start_round(sync);
}

static void mark_seed_only(cc_sync *sync, peer_state *ps)
{
    if (!seed_only(ps))
        cc_info(sync->cfg.log, "sync: %s does not page by locator; asking it the seed's way",
                ps->address);
    ps->seed_only_since = cc_clock_mono();
}

/* The peer did not understand what we asked: reference nodes answer
 * errors with 200, ours and others with 400 or 404, and a reference node's
 * handler that dies on a request closes the connection with no answer. For
 * anything else (403, 429, 5xx, no connection, silence) another round
 * will do. */
static bool not_understood(int status, cc_http_failure failure)
{
    return status == 200 || status == 400 || status == 404 || failure == CC_HTTP_FAIL_CLOSED;
}

/* An answer that is not a chain: the next, plainer way. */
static void fall_back(cc_sync *sync)
{
    peer_state *ps = state_of(sync, sync->peer);
    if (sync->asked == ASK_LOCATOR) {
        mark_seed_only(sync, ps);
        ask_peer(sync, seed_way(ps));
    } else if (sync->asked == ASK_BY_ID) {
        /* Our tip is on no chain it knows, or its ?id= answers are no use:
         * only its whole chain shows where we part. */
        ask_peer(sync, ASK_FULL);
    } else {
        end_round(sync);
    }
}

/* ", 1 min 05 s left" and the like; "" when nothing is known. */
static void time_left(double seconds, char *out, size_t size)
{
    if (!(seconds >= 0) || seconds > 1e8) {
        out[0] = '\0';
        return;
    }
    long long s = (long long)(seconds + 0.5);
    if (s < 60)
        snprintf(out, size, ", %lld s left", s);
    else if (s < 3600)
        snprintf(out, size, ", %lld min %02lld s left", s / 60, s % 60);
    else
        snprintf(out, size, ", %lld h %02lld min left", s / 3600, s / 60 % 60);
}

static void log_progress(cc_sync *sync, const peer_state *ps)
{
    double now = cc_clock_mono();
    double elapsed = now - sync->started;
    double rate = elapsed > 0 ? (double)sync->stored / elapsed : 0.0;
    long long height = (long long)cc_chain_height(sync->cfg.chain);
    cc_log_level level = CC_LOG_INFO;
    if (elapsed > LOUD_AFTER_S && (sync->last_loud == 0 || now - sync->last_loud >= LOUD_EVERY_S)) {
        level = CC_LOG_NOTICE;
        sync->last_loud = now;
    }
    if (ps->claimed > 0) {
        double percent = 100.0 * (double)height / (double)ps->claimed;
        char left[48] = "";
        if (ps->claimed > height && rate > 0)
            time_left((double)(ps->claimed - height) / rate, left, sizeof left);
        cc_logf(sync->cfg.log, level, "sync: height %lld of %lld (%.1f%%) from %s, "
                "%.0f blocks/s%s", height, (long long)ps->claimed,
                percent > 100 ? 100.0 : percent, sync->peer, rate, left);
    } else {
        cc_logf(sync->cfg.log, level, "sync: height %lld from %s, %.0f blocks/s", height,
                sync->peer, rate);
    }
}

/* What a page taught us about the peer, and what to do next. */
typedef enum next_step { STEP_NEXT_PAGE, STEP_WHOLE_CHAIN, STEP_END } next_step;

static next_step after_page(cc_sync *sync, const envelope *env, const page *pg)
{
    peer_state *ps = state_of(sync, sync->peer);
    if (pg->nested) {
        ps->claimed = (int64_t)pg->items - 1;
        if (sync->asked == ASK_LOCATOR)
            mark_seed_only(sync, ps); /* it ignored the locator and sent everything */
    } else if (env->height >= 0) {
        ps->claimed = env->height;
    }
    if (pg->stored) {
        if (pg->last_height > ps->claimed)
            ps->claimed = pg->last_height; /* the seed's ?id= answers do not say */
        memcpy(ps->cursor, pg->last, sizeof ps->cursor);
        log_progress(sync, ps);
    }
    if (pg->stored && !pg->nested && (env->height < 0 || pg->last_height < env->height))
        return STEP_NEXT_PAGE;
    if (sync->asked == ASK_BY_ID && !pg->stored &&
        ps->claimed > cc_chain_height(sync->cfg.chain))
        return STEP_WHOLE_CHAIN; /* our tip is only on a side branch of theirs */
    return STEP_END;
}

/* ---- a peer that never fetches ---------------------------------------------------
 *
 * A reference node takes a block only when it is posted to it and it holds
 * the parent; it never asks for what it lacks. One relay it missed (its
 * handlers also rewrite its chain file from copies read earlier, losing
 * blocks that came meanwhile) leaves it behind for good. Its whole chain
 * shows what it holds, so the blocks of our best chain above the highest
 * one it holds are posted to it, oldest first (the peering object sends a
 * seed-only peer one request at a time, in order), a few each round. */

#define PUSH_MAX_BLOCKS 16

/* The height of the highest block of our best chain among the page's
 * (the genesis, which every chain starts with, when none is). */
static int64_t shared_height(const page_job *job)
{
    cc_chain *chain = job->sync->cfg.chain;
    int64_t shared = 0;
    for (size_t i = 0; i < job->n_blocks; i++) {
        const page_block *pb = &job->blocks[i];
        char best[CC_HASH_HEX_LEN + 1];
        if (pb->decoded && pb->block.height > shared &&
            cc_chain_hash_at(chain, pb->block.height, best, NULL) &&
            strcmp(best, pb->block.hash) == 0)
            shared = pb->block.height;
    }
    return shared;
}

static void push_missing(page_job *job)
{
    cc_sync *sync = job->sync;
    cc_chain *chain = sync->cfg.chain;
    int64_t from = shared_height(job) + 1, height = cc_chain_height(chain);
    size_t sent = 0;
    cc_buf text = CC_BUF_INIT;
    for (int64_t h = from; h <= height && sent < PUSH_MAX_BLOCKS; h++, sent++) {
        char hash[CC_HASH_HEX_LEN + 1];
        cc_buf_reset(&text);
        /* A block the peer cannot take (too large for it) ends the push:
         * the rest build on it. */
        if (!cc_chain_hash_at(chain, h, hash, NULL) ||
            !cc_chain_block_text(chain, hash, &text, NULL) ||
            !cc_peering_send(sync->cfg.peering, sync->peer, "POST", "/block", text.data, text.len,
                             NULL, NULL))
            break;
    }
    cc_buf_free(&text);
    if (sent)
        cc_info(sync->cfg.log, "sync: %s lacks blocks %lld to %lld of our best chain and never "
                "fetches: posted it %zu", sync->peer, (long long)from, (long long)height, sent);
}

/* A full page of our locator form: the next one is asked for as soon as
 * this one arrives, from the page's last block, so that it travels while
 * this one is checked, and is checked while this one is stored. */
static void ask_ahead(page_job *job)
{
    cc_sync *sync = job->sync;
    const page_block *last = job->n_blocks ? &job->blocks[job->n_blocks - 1] : NULL;
    bool full = !job->pg.nested && job->n_blocks >= sync->cfg.page_blocks;
    if (sync->in_flight || sync->asked != ASK_LOCATOR || !full || !last->decoded ||
        (job->env.height >= 0 && last->block.height >= job->env.height))
        return;
    request_page(sync, ASK_LOCATOR, last->block.hash);
}

static void handle_answer(cc_sync *sync, int status, cc_http_failure failure, const char *body,
                          size_t len);

/* A held answer (it came while a page was being checked) is handled now. */
static bool take_held(cc_sync *sync)
{
    if (!sync->held_status && !sync->held_body)
        return false;
    int status = sync->held_status;
    char *body = sync->held_body;
    size_t len = sync->held_len;
    sync->held_status = 0;
    sync->held_body = NULL;
    handle_answer(sync, status, sync->held_failure, body ? body : "", len);
    free(body);
    return true;
}

static void drop_held(cc_sync *sync)
{
    free(sync->held_body);
    sync->held_body = NULL;
    sync->held_status = 0;
}

/* The tail of a round that a page ended (step is not STEP_NEXT_PAGE). */
static void finish_round(cc_sync *sync, next_step step)
{
    drop_held(sync);
    if (step == STEP_WHOLE_CHAIN && !sync->in_flight)
        ask_peer(sync, ASK_FULL);
    else if (sync->in_flight)
        sync->drop_next = true; /* a page asked ahead is no longer wanted */
    else
        end_round(sync);
}

/* A page that came while the one before was checked goes to the workers
 * before that one is stored: the loop stores while they check. */
static void start_held_page(cc_sync *sync)
{
    envelope env;
    if (sync->held_status != 200 || !sync->held_body || sync->drop_next ||
        !read_envelope(sync->held_body, sync->held_body + sync->held_len, &env) ||
        env.errcode || !env.chain)
        return;
    take_held(sync);
}

static void on_page_checked(void *ctx, bool cancelled)
{
    page_job *job = ctx;
    cc_sync *sync = job->sync;
    sync->job = NULL;
    if (cancelled) {
        page_job_free(job);
        drop_held(sync);
        end_round(sync);
        return;
    }
    if (job->stale) {
        next_step step = (next_step)job->after_stale;
        page_job_free(job);
        finish_round(sync, step);
        return;
    }
    if (job->well_formed)
        start_held_page(sync);
    uint64_t generation = cc_chain_tip_generation(sync->cfg.chain);
    feed_page(job);
    sync->stored += job->pg.stored;
    if (cc_chain_tip_generation(sync->cfg.chain) != generation)
        sync->cfg.advanced(sync->cfg.ctx, sync->peer);
    next_step step = STEP_END;
    if (job->well_formed)
        step = after_page(sync, &job->env, &job->pg);
    else
        cc_info(sync->cfg.log, "sync: malformed answer from %s", sync->peer);
    if (job->well_formed && job->pg.nested &&
        first_ask(sync, state_of(sync, sync->peer)) != ASK_LOCATOR)
        push_missing(job);
    page_job_free(job);
    if (step == STEP_NEXT_PAGE) {
        if (!sync->job && !take_held(sync) && !sync->in_flight)
            ask_peer(sync, sync->asked == ASK_LOCATOR ? ASK_LOCATOR : ASK_BY_ID);
        return;
    }
    if (sync->job) {
        /* the next page, started early, is not wanted: the round ends
         * once the workers are done with it */
        sync->job->stale = true;
        sync->job->after_stale = (int)step;
        return;
    }
    finish_round(sync, step);
}

static void start_page(cc_sync *sync, const envelope *env, const char *body, size_t len)
{
    page_job *job = cc_calloc(1, sizeof *job);
    job->sync = sync;
    job->body = cc_malloc(len + 1);
    memcpy(job->body, body, len);
    job->body[len] = '\0';
    job->env = *env;
    job->env.chain = job->body + (env->chain - body);
    job->env.chain_end = job->body + (env->chain_end - body);
    job->well_formed = collect_page(job);
    sync->job = job;
    if (job->well_formed && job->n_blocks > 0) {
        page_block *last = &job->blocks[job->n_blocks - 1];
        last->decoded = sync->cfg.rules->block_decode(last->text, last->len, &last->block,
                                                      &last->err);
        ask_ahead(job);
    }
    cc_verifier_run(sync->cfg.verifier, check_share, on_page_checked, job);
}

static void mark_whole_only(cc_sync *sync, peer_state *ps)
{
    if (!recent(ps->whole_only_since))
        cc_info(sync->cfg.log, "sync: %s answers /getblocks?id= with no chain; asking it for "
                "its whole chain", ps->address);
    ps->whole_only_since = cc_clock_mono();
}

static void handle_answer(cc_sync *sync, int status, cc_http_failure failure, const char *body,
                          size_t len)
{
    if (sync->drop_next) {
        sync->drop_next = false;
        end_round(sync);
        return;
    }
    envelope env;
    bool readable = status == 200 && read_envelope(body, body + len, &env);
    if (readable && !env.errcode && env.chain) {
        start_page(sync, &env, body, len);
        return;
    }
    cc_debug(sync->cfg.log, "sync: %s answered request kind %d with %d (%s)", sync->peer,
             (int)sync->asked, status, cc_http_failure_name(failure));
    if (!not_understood(status, failure)) {
        end_round(sync);
        return;
    }
    if (status == 200 && !readable && sync->asked == ASK_BY_ID)
        mark_whole_only(sync, state_of(sync, sync->peer));
    fall_back(sync);
}

static void on_answer(void *ctx, const char *peer, const cc_http_client_answer *a)
{
    (void)peer;
    cc_sync *sync = ctx;
    sync->in_flight = false;
    const char *body = a->body ? a->body : "";
    if (sync->job) {
        /* The answer to a page asked ahead: it waits for the page before
         * it (the client's buffer is only ours during this call). */
        sync->held_status = a->status;
        sync->held_failure = a->failure;
        sync->held_body = cc_malloc(a->len + 1);
        memcpy(sync->held_body, body, a->len);
        sync->held_len = a->len;
        return;
    }
    handle_answer(sync, a->status, a->failure, body, a->len);
}

/* ---- life ------------------------------------------------------------------------ */

cc_sync *cc_sync_new(const cc_sync_config *cfg)
{
    cc_sync *sync = cc_calloc(1, sizeof *sync);
    sync->cfg = *cfg;
    sync->no_peer_wait = NO_PEER_RETRY_S;
    sync->timer = evtimer_new(cfg->base, on_timer, sync);
    return sync;
}

void cc_sync_free(cc_sync *sync)
{
    if (!sync)
        return;
    event_free(sync->timer);
    drop_held(sync);
    free(sync);
}

void cc_sync_start(cc_sync *sync) { schedule(sync, 0); }

void cc_sync_new_peer(cc_sync *sync, const char *peer) { cc_sync_orphan(sync, peer, -1); }

void cc_sync_orphan(cc_sync *sync, const char *peer, int64_t height)
{
    if (peer) {
        peer_state *ps = state_of(sync, peer);
        if (height > ps->claimed)
            ps->claimed = height;
        snprintf(sync->pending, sizeof sync->pending, "%s", peer);
    }
    if (sync->busy)
        sync->want_round = true;
    else
        schedule(sync, 0);
}

void cc_sync_get_status(const cc_sync *sync, cc_sync_status *out)
{
    *out = (cc_sync_status){.busy = sync->busy, .best_height = -1};
    if (sync->busy)
        snprintf(out->peer, sizeof out->peer, "%s", sync->peer);
    for (size_t i = 0; i < sync->n_states; i++) {
        const peer_state *ps = &sync->states[i];
        if (ps->claimed > out->best_height) {
            out->best_height = ps->claimed;
            snprintf(out->best_peer, sizeof out->best_peer, "%s", ps->address);
        }
    }
}

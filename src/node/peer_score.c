#include "node/peer_score.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

#define ADDRESS_MAX 96

typedef struct entry {
    char address[ADDRESS_MAX];
    uint64_t key;          /* hash of address, compared first */
    double points;         /* as of points_at */
    double points_at;
    double banned_until;   /* 0: never banned */
    unsigned failures;     /* in a row */
    double retry_at;       /* no request before this */
    double touched;        /* last change, for eviction */
} entry;

struct cc_peer_scores {
    cc_score_config cfg;
    entry *items;
    size_t n;
};

static const struct {
    const char *name;
    int points;
} kinds[CC_MISBEHAVE_KINDS] = {
    [CC_MISBEHAVE_GARBAGE] = {"garbage answer", 50},
    [CC_MISBEHAVE_OVERSIZED] = {"oversized answer", 50},
    [CC_MISBEHAVE_SLOW] = {"answer too slow", 50},
    [CC_MISBEHAVE_INVALID_BLOCK] = {"invalid block", 20},
};

int cc_misbehaviour_points(cc_misbehaviour kind)
{
    return (unsigned)kind < CC_MISBEHAVE_KINDS ? kinds[kind].points : 0;
}

const char *cc_misbehaviour_name(cc_misbehaviour kind)
{
    return (unsigned)kind < CC_MISBEHAVE_KINDS ? kinds[kind].name : "unknown";
}

static uint64_t hash_address(const char *address)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)address; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return h;
}

cc_peer_scores *cc_scores_new(const cc_score_config *config)
{
    cc_peer_scores *scores = cc_calloc(1, sizeof *scores);
    scores->cfg = *config;
    if (scores->cfg.max_entries == 0)
        scores->cfg.max_entries = 1;
    if (scores->cfg.ban_threshold <= 0)
        scores->cfg.ban_threshold = 100;
    scores->items = cc_calloc(scores->cfg.max_entries, sizeof *scores->items);
    return scores;
}

void cc_scores_free(cc_peer_scores *scores)
{
    if (!scores)
        return;
    free(scores->items);
    free(scores);
}

size_t cc_scores_count(const cc_peer_scores *scores) { return scores->n; }

static entry *find(const cc_peer_scores *scores, const char *address)
{
    uint64_t key = hash_address(address);
    for (size_t i = 0; i < scores->n; i++)
        if (scores->items[i].key == key && strcmp(scores->items[i].address, address) == 0)
            return &scores->items[i];
    return NULL;
}

static void remove_at(cc_peer_scores *scores, size_t i)
{
    scores->items[i] = scores->items[--scores->n];
}

/* The entry to forget when the table is full: one that is not banned and
 * changed longest ago; when every entry is banned, the ban ending first. */
static size_t victim(const cc_peer_scores *scores, double now)
{
    size_t best = 0;
    bool best_banned = true;
    for (size_t i = 0; i < scores->n; i++) {
        const entry *e = &scores->items[i];
        bool banned = e->banned_until > now;
        const entry *b = &scores->items[best];
        if (best_banned && !banned) {
            best = i;
            best_banned = false;
        } else if (banned == best_banned &&
                   (banned ? e->banned_until < b->banned_until : e->touched < b->touched)) {
            best = i;
        }
    }
    return best;
}

static entry *get(cc_peer_scores *scores, const char *address, double now)
{
    entry *e = find(scores, address);
    if (e)
        return e;
    if (scores->n == scores->cfg.max_entries)
        remove_at(scores, victim(scores, now));
    e = &scores->items[scores->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->address, sizeof e->address, "%s", address);
    e->key = hash_address(e->address);
    e->points_at = now;
    e->touched = now;
    return e;
}

static double decayed(const cc_peer_scores *scores, const entry *e, double now)
{
    double points = e->points;
    if (scores->cfg.decay_per_s > 0 && now > e->points_at)
        points -= scores->cfg.decay_per_s * (now - e->points_at);
    if (points <= 0)
        return 0;
    /* whole points only: a point is forgiven once its time has passed */
    double whole = (double)(long long)points;
    return whole < points ? whole + 1 : whole;
}

bool cc_scores_misbehaved(cc_peer_scores *scores, const char *address, cc_misbehaviour kind,
                          double now)
{
    entry *e = get(scores, address, now);
    e->touched = now;
    if (e->banned_until > now)
        return false;
    e->points = decayed(scores, e, now) + cc_misbehaviour_points(kind);
    e->points_at = now;
    if (e->points < scores->cfg.ban_threshold)
        return false;
    e->points = 0;
    e->banned_until = now + scores->cfg.ban_time_s;
    return true;
}

int cc_scores_points(cc_peer_scores *scores, const char *address, double now)
{
    const entry *e = find(scores, address);
    return e ? (int)decayed(scores, e, now) : 0;
}

bool cc_scores_banned(const cc_peer_scores *scores, const char *address, double now,
                      double *until)
{
    const entry *e = find(scores, address);
    if (!e || e->banned_until <= now)
        return false;
    if (until)
        *until = e->banned_until;
    return true;
}

unsigned cc_scores_failed(cc_peer_scores *scores, const char *address, double now)
{
    entry *e = get(scores, address, now);
    e->touched = now;
    if (e->failures < 64)
        e->failures++;
    double wait = scores->cfg.backoff_base_s;
    for (unsigned i = 1; i < e->failures && wait < scores->cfg.backoff_max_s; i++)
        wait *= 2;
    if (wait > scores->cfg.backoff_max_s)
        wait = scores->cfg.backoff_max_s;
    e->retry_at = now + wait;
    return e->failures;
}

void cc_scores_answered(cc_peer_scores *scores, const char *address)
{
    entry *e = find(scores, address);
    if (!e)
        return;
    e->failures = 0;
    e->retry_at = 0;
    /* nothing left to remember: make room */
    if (e->points <= 0 && e->banned_until == 0)
        remove_at(scores, (size_t)(e - scores->items));
}

unsigned cc_scores_failures(const cc_peer_scores *scores, const char *address)
{
    const entry *e = find(scores, address);
    return e ? e->failures : 0;
}

bool cc_scores_may_send(const cc_peer_scores *scores, const char *address, double now)
{
    const entry *e = find(scores, address);
    return !e || (e->banned_until <= now && now >= e->retry_at);
}

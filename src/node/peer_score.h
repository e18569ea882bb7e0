/* How well each peer address behaves: consecutive failures with an
 * exponential back-off before the next try, and misbehaviour points per kind
 * of offence that lead to a ban for a while (docs/http-network.md,
 * "Hostile peers").
 *
 * Pure: no I/O, no clock; every call that depends on time takes `now`
 * (seconds on any monotonic scale). The table is bounded: beyond
 * max_entries the address seen least recently among those not banned (or,
 * when all are banned, the ban that ends first) is forgotten, so a flood
 * of made-up addresses costs a fixed
 * amount of memory. Not thread-safe: one owner (the loop thread). */
#ifndef CC_NODE_PEER_SCORE_H
#define CC_NODE_PEER_SCORE_H

#include <stdbool.h>
#include <stddef.h>

typedef enum cc_misbehaviour {
    CC_MISBEHAVE_GARBAGE,       /* an answer that is not HTTP, or not what was asked */
    CC_MISBEHAVE_OVERSIZED,     /* an answer over the size limit */
    CC_MISBEHAVE_SLOW,          /* an answer that did not finish before the deadline */
    CC_MISBEHAVE_INVALID_BLOCK, /* a block sent or served that breaks the rules */
    CC_MISBEHAVE_KINDS
} cc_misbehaviour;

typedef struct cc_score_config {
    double ban_time_s;      /* how long a ban lasts */
    int ban_threshold;      /* points that earn a ban (100) */
    double decay_per_s;     /* points forgiven per second (0: never) */
    double backoff_base_s;  /* wait after the first failure; doubles with each */
    double backoff_max_s;   /* longest wait */
    size_t max_entries;     /* addresses remembered */
} cc_score_config;

typedef struct cc_peer_scores cc_peer_scores;

cc_peer_scores *cc_scores_new(const cc_score_config *config);
void cc_scores_free(cc_peer_scores *scores);

/* Points an offence of this kind costs, and its name for logs. */
int cc_misbehaviour_points(cc_misbehaviour kind);
const char *cc_misbehaviour_name(cc_misbehaviour kind);

/* Adds the points of one offence; true when this offence started a ban. A
 * banned address collects no more points (its ban is not extended). */
bool cc_scores_misbehaved(cc_peer_scores *scores, const char *address, cc_misbehaviour kind,
                          double now);
/* Current points, after decay. */
int cc_scores_points(cc_peer_scores *scores, const char *address, double now);
/* True while banned; *until (may be NULL) gets the end of the ban. */
bool cc_scores_banned(const cc_peer_scores *scores, const char *address, double now,
                      double *until);

/* A request to address got no usable answer: returns the number of
 * failures in a row, and sets the back-off before the next try. */
unsigned cc_scores_failed(cc_peer_scores *scores, const char *address, double now);
/* A request to address was answered, or address sent us a request of its
 * own: it is up, so the failure count and the back-off start over (a ban
 * stays). */
void cc_scores_answered(cc_peer_scores *scores, const char *address);
unsigned cc_scores_failures(const cc_peer_scores *scores, const char *address);
/* True when address is neither banned nor waiting out a back-off. */
bool cc_scores_may_send(const cc_peer_scores *scores, const char *address, double now);

/* Addresses remembered (for tests and memory bounds). */
size_t cc_scores_count(const cc_peer_scores *scores);

#endif

/* Proof-of-work search on worker threads, never on the event loop.
 *
 * A job is a pre-image prefix + NONCE + suffix; a nonce wins when the
 * SHA-256 of the pre-image, in hex, starts with `zero_digits` zeros. The
 * prefix is hashed once per job and its state copied for every attempt
 * (midstate). Nonces follow the network's style: 20 letters and digits
 * (http network, as its reference writes them) or a decimal counter from 0
 * (cheese network), worker k trying k, k + n, k + 2n, ...
 *
 * Starting a new job or cancelling makes every worker drop the old one at
 * its next check (every few thousand attempts). The winning nonce is handed
 * to the loop thread through a libevent event, so `found` runs on the loop.
 *
 * Thread: cc_miner_* calls come from the loop thread only; the workers are
 * internal. Requires evthread_use_pthreads() before the event base exists. */
#ifndef CC_NODE_MINER_H
#define CC_NODE_MINER_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus/rules.h"

/* Longest nonce either style writes (a decimal uint64 fits too). */
#define CC_MINER_NONCE_LEN 20

typedef void (*cc_miner_found)(void *ctx, uint64_t job_id, const char *nonce);

typedef struct cc_miner cc_miner;

/* Lowest mining priority, the default: the node's loop and checks go first. */
#define CC_MINER_NICE_DEFAULT 19

/* threads = 0 picks one per core; nice (0 to 19) is each mining thread's
 * niceness. */
cc_miner *cc_miner_new(struct event_base *base, unsigned threads, int nice, cc_miner_found found,
                       void *ctx);
/* Stops and joins the workers. */
void cc_miner_free(cc_miner *miner);

/* Replaces any running job. The miner copies prefix and suffix. */
void cc_miner_start(cc_miner *miner, uint64_t job_id, const char *prefix, size_t prefix_len,
                    const char *suffix, size_t suffix_len, unsigned zero_digits,
                    cc_nonce_style style);
void cc_miner_cancel(cc_miner *miner);
/* The running job's id, or 0 when idle. */
uint64_t cc_miner_job(const cc_miner *miner);
/* Attempts made since the miner was created (all workers). */
uint64_t cc_miner_attempts(const cc_miner *miner);

#endif

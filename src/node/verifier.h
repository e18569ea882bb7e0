/* Signature checks off the event-loop thread (DESIGN.md, Concurrency): a
 * batch of decoded transactions is split across the worker pool and the
 * caller hears, back on the loop thread, which signatures are valid.
 *
 * Callers check a transaction here only when the chain has not seen it
 * verified (cc_chain_note_verified takes the results back), so that the
 * chain, which runs on the loop thread, finds every signature already
 * checked and never verifies one itself in the common case.
 *
 * Thread: new, check and free on the loop thread of `base`; done runs
 * there too. Ownership: txs and ok are borrowed until done is called; done
 * is called exactly once per check, with cancelled = true when the node
 * stops first (ok is then unset). */
#ifndef CC_NODE_VERIFIER_H
#define CC_NODE_VERIFIER_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>

#include "consensus/block.h"
#include "consensus/rules.h"

typedef struct cc_verifier cc_verifier;

typedef void (*cc_verify_done_fn)(void *ctx, bool cancelled);

/* threads: 0 for one per core. */
cc_verifier *cc_verifier_new(struct event_base *base, const cc_rules *rules, unsigned threads);
/* Calls done (cancelled) of every check still under way, then joins. */
void cc_verifier_free(cc_verifier *verifier);

/* Verifies txs[0..n) with the rules' signature check, writing ok[i]; n may
 * be 0 (done then runs from the loop, never from inside this call). */
void cc_verifier_check(cc_verifier *verifier, const cc_tx *const *txs, size_t n, bool *ok,
                       cc_verify_done_fn done, void *ctx);

/* Runs run(ctx, part, parts) for part = 0 .. parts-1 on the workers (a
 * parallel for: each call takes its share of the caller's items), then
 * done(ctx, cancelled) once on the loop. run must touch only its share and
 * thread-safe code (the rules' decoding and checks are). */
typedef void (*cc_verify_part_fn)(void *ctx, size_t part, size_t parts);
void cc_verifier_run(cc_verifier *verifier, cc_verify_part_fn run, cc_verify_done_fn done,
                     void *ctx);

/* Optional: around each round of done callbacks (all the checks that
 * finished together), begin and end run on the loop, so that the owner can
 * share work between them (one database commit for a burst of payments). */
typedef void (*cc_verify_round_fn)(void *ctx);
void cc_verifier_set_round_hooks(cc_verifier *verifier, cc_verify_round_fn begin,
                                 cc_verify_round_fn end, void *ctx);

/* Checks under way (for tests and metrics). */
size_t cc_verifier_pending(const cc_verifier *verifier);

#endif

/* The JSON API every node offers its command-line client and its explorer
 * page, the same for both networks (docs/api.md). The http network's node
 * serves it on its own port beside the seed's endpoints (paths under
 * /api/); the cheese network's node on --api-port.
 *
 * Reading calls answer anyone. Calls that spend or mine (send, mine) answer
 * only clients on loopback or presenting the node's API token
 * (`Authorization: Bearer <token>`, the token being DATADIR/api.token).
 * The loopback rule trusts programs on the machine (cheese-cli, curl) and
 * the node's own explorer page, not other web pages a browser on it shows:
 * a request with an Origin other than "http://" + its Host (another site or
 * port: cross-site request forgery), or a Host that is not a loopback name
 * (DNS rebinding), needs the token too.
 * A wrong token is refused even from loopback.
 *
 * The API reads the chain directly and reaches the rest of the node
 * through the backend's callbacks, so it knows no network by name.
 * Thread: the loop thread. */
#ifndef CC_NODE_API_H
#define CC_NODE_API_H

#include <stdbool.h>
#include <stddef.h>

#include "chain/chain.h"
#include "codec/pynum.h"
#include "net/http_request.h"
#include "net/http_server.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"

typedef struct cc_api_backend {
    const char *network;  /* "http" or "cheese" */
    cc_chain *chain;
    const char *node_key; /* the wallet's public key */
    const char *token;    /* API token; NULL: loopback only */
    bool token_only;      /* send and mine need the token even from loopback
                             (cheesed --api-trust-loopback no) */
    void *ctx;            /* for the callbacks */
    /* Writes the peer list as a JSON array of strings or objects. */
    void (*peers)(void *ctx, cc_buf *json_array);
    /* Writes the sync state as a JSON object ({"state": "idle"} at least). */
    void (*sync)(void *ctx, cc_buf *json_object);
    /* Pays amount from the node's wallet to `to`; writes the answer
     * {"txid": ..., "transaction": <its wire text>}. A bad key or an
     * amount the wallet cannot pay fails with CC_ERR_BAD_REQUEST. */
    bool (*send)(void *ctx, const char *to, const cc_number *amount, cc_buf *out, cc_err *err);
    /* Starts mining a block now (with whatever waits, maybe nothing);
     * writes {"mining": height}. */
    bool (*mine)(void *ctx, cc_buf *out, cc_err *err);
    /* Optional. The number of peers (else the peers array is counted). */
    size_t (*peer_count)(void *ctx);
    /* Optional. False (with a 400 err) when key is not a key of this
     * network; without it any short printable text is taken. */
    bool (*key_valid)(void *ctx, const char *key, cc_err *err);
    /* Optional. Writes {"interval_s": S, "samples": [[unix_time, waiting],
     * ...]} (node/mempool_history.h); without it the call answers 404. */
    void (*mempool_history)(void *ctx, cc_buf *json_object);
    /* Optional. Writes [{"address": "HOST:PORT", "height": N|null,
     * "spelling": "seed"|"later"|"unknown"|null, "last_answer": unix
     * time|null}, ...]: what the explorer's peer table shows (cheese
     * entries also carry "peer_id"). */
    void (*peer_table)(void *ctx, cc_buf *json_array);
} cc_api_backend;

/* True when req is an API call (path under /api/). */
bool cc_api_is_call(const cc_http_request *req);

/* Answers one API call. */
void cc_api_handle(const cc_api_backend *backend, const cc_http_request *req,
                   const char *peer_ip, cc_http_response *resp);

/* Loads DATADIR/api.token, creating a random one (mode 0600) when absent;
 * out must hold 65 bytes. The file holds 64 hex digits (32 random bytes);
 * anything else fails with CC_ERR_INTERNAL (delete the file for a new one).
 * A token file open to other users is restricted to its owner, with a
 * warning on log (cc_restrict_to_owner). */
bool cc_api_token_load(const char *datadir, char out[65], const cc_log *log, cc_err *err);

#endif

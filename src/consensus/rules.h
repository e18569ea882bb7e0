/* One network's consensus rules behind one table, so that chain/, net/ and
 * node/ run either network without `if (network == ...)` (the way Bitcoin
 * Core's chainparams select a chain). Tables are immutable and static.
 * Thread-safe. */
#ifndef CC_CONSENSUS_RULES_H
#define CC_CONSENSUS_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "consensus/block.h"
#include "util/err.h"

/* How a network's miners write the nonce into the proof-of-work pre-image. */
typedef enum cc_nonce_style {
    CC_NONCE_TEXT,    /* http: free ASCII text (20 random letters and digits) */
    CC_NONCE_DECIMAL, /* cheese: a decimal integer counted up from 0 */
} cc_nonce_style;

typedef struct cc_rules {
    const char *network;      /* "http", "cheese" */
    int default_port;         /* a node's port when none is given (cheese: its peer port) */
    int api_port_offset;      /* 0: the JSON API shares the node's port; else port + this */
    const char *wallet_file;  /* the key's file in a data directory */
    bool has_tracker;         /* peers meet through a tracker (cheese-tracker), not
                                 through each other's peer lists */
    /* True when pub is a public key of this network (a payment to it can
     * be spent). */
    bool (*key_valid)(const char *pub);
    /* What such a key looks like, for messages: "key must be <key_form>". */
    const char *key_form;
    const char *genesis_hash;
    const char *genesis_text;
    size_t max_block_txs;     /* rewards included */
    cc_number block_reward;
    unsigned pow_zero_digits; /* leading zero hex digits of a proof of work */
    cc_nonce_style nonce_style;
    /* Wire text -> block, with every check that needs no chain context
     * except signatures. */
    bool (*block_decode)(const char *text, size_t len, cc_block *out, cc_err *err);
    /* Wire text -> transaction, form checks only. */
    bool (*tx_decode)(const char *text, size_t len, cc_tx *out, cc_err *err);
    /* Signature check (true for rewards). CPU-heavy: callers may run it on
     * worker threads. */
    bool (*tx_verify)(const cc_tx *tx);
    /* Lays out the block a miner works on: in's payments, then the
     * network's reward to in->miner (block_reward), stamped in->stamp.
     * tpl is overwritten (clear it with cc_block_template_clear). */
    void (*template_build)(cc_block_template *tpl, const cc_template_input *in);
    /* The wire text of tpl completed with nonce (text reset first); false
     * when nonce is not one the network's format can carry. */
    bool (*template_finish)(const cc_block_template *tpl, const char *nonce, cc_buf *text);
} cc_rules;

/* Only programs (tools/) and tests name a network's table; the layers take
 * it from their configuration (tests/check_layers.sh). */
const cc_rules *cc_rules_http(void);
const cc_rules *cc_rules_cheese(void);
/* The table named name ("http", "cheese"), or NULL. */
const cc_rules *cc_rules_find(const char *name);
/* The JSON API's port for a node on port: port itself, or port plus the
 * network's offset; 0 when that is beyond 65535. */
int cc_rules_api_port(const cc_rules *rules, int port);

#endif

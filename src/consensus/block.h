/* The network-neutral view of transactions and blocks that chain/ works
 * with. Each network's rules (consensus/http.c, ...) decode wire text into
 * these, keep the canonical text they were printed from, and compute the
 * hashes; chain/ only reads the fields.
 *
 * Ownership: a cc_tx or cc_block owns every string it points to; release
 * with cc_tx_clear / cc_block_clear (safe on zeroed values, idempotent).
 * Thread: plain data. */
#ifndef CC_CONSENSUS_BLOCK_H
#define CC_CONSENSUS_BLOCK_H

#include <gmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/pynum.h"
#include "util/buf.h"

#define CC_HASH_HEX_LEN 64

typedef struct cc_tx {
    char txid[CC_HASH_HEX_LEN + 1];
    /* Hash of the signed message alone. Two transactions with the same
     * message are the same payment even when their signatures differ
     * (ECDSA signatures are malleable), so replays are caught by this. */
    char msgid[CC_HASH_HEX_LEN + 1];
    char *text;       /* canonical wire text; txid = sha256(text) */
    size_t text_len;
    size_t msg_off;   /* the signed message is text[msg_off .. msg_off+msg_len); */
    size_t msg_len;   /* both 0 where it is no slice of the text (cheese) */
    char *from;
    char *to;
    char *signature;
    char *timestamp;  /* NULL on networks without one */
    cc_number amount;
    bool is_reward;
} cc_tx;

typedef struct cc_block {
    char hash[CC_HASH_HEX_LEN + 1];
    char prev[CC_HASH_HEX_LEN + 1]; /* "" for a genesis block */
    int64_t height;
    char *text;       /* canonical wire text, as stored and served */
    size_t text_len;
    cc_tx *txs;
    size_t n_txs;
} cc_block;

/* The wall-clock time a block or payment is stamped with, in each form a
 * network prints: UTC in the form of Python's datetime.isoformat()
 * (http; the reference prints its local time, and the text has no zone) and Unix seconds as a float, as time.time() (cheese). consensus/
 * reads no clock: the node fills this and passes it in. */
typedef struct cc_stamp {
    char iso[27];
    cc_number unix_s;
} cc_stamp;

/* A block being mined. The proof-of-work pre-image is prefix + nonce +
 * suffix; the network's template_finish (consensus/rules.h) prints the
 * wire text from it (text_prefix and text_suffix are its parts around the
 * nonce where the network needs them). */
typedef struct cc_block_template {
    cc_buf prefix;
    cc_buf suffix;
    cc_buf text_prefix;
    cc_buf text_suffix;
    int64_t height;
} cc_block_template;

/* What a template is built from. */
typedef struct cc_template_input {
    int64_t height;
    const char *prev;       /* the parent's hash */
    const char *miner;      /* public key the reward is paid to */
    const cc_stamp *stamp;
    const cc_tx *payments;  /* already validated, without rewards */
    size_t n_payments;
} cc_template_input;

void cc_tx_clear(cc_tx *tx);
void cc_block_clear(cc_block *block);
void cc_block_template_clear(cc_block_template *tpl);
/* Deep copy of src into dst (dst is overwritten without being cleared). */
void cc_tx_copy(cc_tx *dst, const cc_tx *src);

/* The exact value of an amount as a rational: every finite double and every
 * int is a rational, so balances add and subtract without rounding. */
void cc_amount_to_mpq(const cc_number *amount, mpq_t out);

#endif

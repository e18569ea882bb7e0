/* The rules of the cheese network (seed 000, PROTOCOL.md B.2-B.3): its
 * block ("cheese") and transaction texts, the smell (block hash), proof of
 * work, rewards, genesis and RSA signatures, decoded into the
 * network-neutral cc_block / cc_tx of consensus/block.h:
 *
 *     sequence_number -> height, parent_smell -> prev, smell -> hash,
 *     sender -> from, recipient -> to, no timestamp on transactions.
 *
 * Texts (docs/cheese-network.md has them all):
 *   wire transaction {"sender": "<s>", "recipient": "<r>", "amount": <a>, "signature": "<sig>"}
 *   wire block       {"sequence_number": N, "parent_smell": "<p>", "transactions": [<tx>, <tx>], "nonce": K, "timestamp": T}
 *   signed payload   <s><r><a>              (msgid = SHA-256 of it)
 *   smell pre-image  {"nonce": K, "parent_smell": "<p>", "sequence_number": N, "timestamp": T, "transactions": [{"amount": <a>, "recipient": "<r>", "sender": "<s>"}, ...]}
 *   proof of work    [OrderedDict([('sender', '<s>'), ('recipient', '<r>'), ('amount', <a>)]), ...]<p><K>
 *                    over every transaction but the reward; its SHA-256 hex starts with "00".
 *
 * Numbers print as Python's str() prints what json.loads made of them
 * (codec/pynum.h). Strings are printable ASCII; keys, signatures and smells
 * are lowercase hex. The signed payload is not a slice of the wire text, so
 * cc_tx.msg_off and msg_len are 0 here; txid = SHA-256 of the wire text.
 *
 * Pure: no I/O, no clock, no globals; times and keys come in as arguments.
 * Errors: cc_err with CC_ERR_BAD_REQUEST and a message a peer or user can
 * act on. Thread-safe. */
#ifndef CC_CONSENSUS_CHEESE_H
#define CC_CONSENSUS_CHEESE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/json.h"
#include "consensus/block.h"
#include "crypto/hash.h"
#include "crypto/rsa.h"
#include "util/buf.h"
#include "util/err.h"

#define CC_CHEESE_GENESIS_SMELL "589aabe32e398b6b8e3eab39ebdd3976b657dbdf8562251af0b04d2c6d1d6e0c"
/* The fixed genesis block, byte for byte as reference nodes serve it. */
#define CC_CHEESE_GENESIS_TEXT \
    "{\"sequence_number\": 0, \"parent_smell\": \"\", \"transactions\": [], \"nonce\": 100, " \
    "\"timestamp\": 0}"
#define CC_CHEESE_REWARD_SENDER "CHEESECHAIN REWARD SYSTEM"
#define CC_CHEESE_REWARD_SIGNATURE "rewardtransactionsignature"
/* The reward of a mined block: exactly one, the last transaction. */
#define CC_CHEESE_REWARD 10
/* Leading zero hex digits of the proof-of-work hash. */
#define CC_CHEESE_POW_ZEROS 2
/* Transactions per block, the reward included: bounds the signature checks
 * one cheap proof of work can demand. */
#define CC_CHEESE_MAX_BLOCK_TXS 256
/* JSON nesting a block needs is 3; anything deeper is hostile. */
#define CC_CHEESE_MAX_JSON_DEPTH 8
/* Longest sender / recipient string. */
#define CC_CHEESE_MAX_KEY CC_RSA_PUB_HEX_MAX

/* The fixed genesis block text. */
const char *cc_cheese_genesis_text(void);

/* ---- Python texts -------------------------------------------------------- */

/* Appends Python's repr() of the str s (what str() of a list or tuple shows
 * for it): single quotes, or double quotes when s holds a ' and no ";
 * backslashes and the chosen quote escaped. Only printable ASCII
 * (0x20..0x7e) is supported: for anything else nothing is appended and
 * false is returned (Python's choice of escapes there depends on its
 * Unicode tables, which a consensus text should not). */
bool cc_cheese_py_repr(const char *s, cc_buf *out);

/* Appends s as json.dumps(s) writes it (ensure_ascii): double quotes, '"'
 * and '\\' escaped. Printable ASCII only, as cc_cheese_py_repr. */
bool cc_cheese_json_str(const char *s, cc_buf *out);

/* ---- transactions ------------------------------------------------------------ */

/* Decodes a transaction (JSON text), checks every field's type and form,
 * and fills out with its canonical wire text, txid and msgid. Members other
 * than the four are ignored, as reference nodes ignore them. Does not check
 * the signature (cc_cheese_tx_verify) nor funds. A reward transaction (the
 * reward sender and signature, any positive amount) is accepted here;
 * callers decide whether one may appear (only last in a block, for 10). */
bool cc_cheese_tx_decode(const char *text, size_t len, cc_tx *out, cc_err *err);
/* Same, from an already parsed JSON value. */
bool cc_cheese_tx_from_json(const json_t *value, cc_tx *out, cc_err *err);

/* Appends the signed payload str(sender) + str(recipient) + str(amount). */
void cc_cheese_tx_payload(const cc_tx *tx, cc_buf *out);

/* True when tx is a reward, or its signature verifies against its sender
 * key over the payload. */
bool cc_cheese_tx_verify(const cc_tx *tx);

/* Builds the payment of amount from `from` to `to`, not yet signed and not
 * yet printed: the payer signs its payload (cc_cheese_tx_payload), and
 * cc_cheese_tx_attach_signature completes it. Signing is the wallet's work
 * (wallet/payment.h). Fails when either key is not a valid RSA public key
 * or the amount is not positive and finite. */
bool cc_cheese_tx_unsigned(const char *from, const char *to, const cc_number *amount,
                           cc_tx *out, cc_err *err);
/* Takes signature (lowercase hex, allocated) into tx and prints its text. */
void cc_cheese_tx_attach_signature(cc_tx *tx, char *signature);

/* Builds the reward transaction paying CC_CHEESE_REWARD to `to`. */
void cc_cheese_tx_reward(const char *to, cc_tx *out);

/* ---- blocks ---------------------------------------------------------------------- */

/* The fields of a block besides its transactions. */
typedef struct cc_cheese_header {
    int64_t sequence_number;
    const char *parent_smell;
    int64_t nonce;
    cc_number timestamp;
} cc_cheese_header;

/* Appends the canonical wire text of a block. */
void cc_cheese_block_text(const cc_cheese_header *h, const cc_tx *txs, size_t n_txs, cc_buf *out);
/* Appends the smell pre-image (json.dumps(block, sort_keys=True), each
 * transaction reduced to amount, recipient, sender). */
void cc_cheese_smell_preimage(const cc_cheese_header *h, const cc_tx *txs, size_t n_txs,
                              cc_buf *out);
/* Writes the smell: SHA-256 hex of the pre-image. */
void cc_cheese_smell(const cc_cheese_header *h, const cc_tx *txs, size_t n_txs,
                     char out[CC_HASH_HEX_LEN + 1]);
/* Appends the proof-of-work pre-image up to the nonce: str(list) of the
 * payments (pass every transaction but the reward) + parent_smell. */
void cc_cheese_pow_prefix(const cc_tx *payments, size_t n_payments, const char *parent_smell,
                          cc_buf *out);
/* True when a hex hash meets the proof of work (two leading zeros). */
bool cc_cheese_pow_ok(const char *hash_hex);
bool cc_cheese_pow_ok_raw(const uint8_t digest[CC_SHA256_LEN]);

/* Decodes a block and checks everything that needs no chain context:
 * field types and forms, the proof of work, exactly one reward of 10 as the
 * last transaction, transaction forms, no payment twice in the block.
 * A block with sequence_number 0 must be the genesis (it is answered with
 * the fixed genesis text). Signatures are left to cc_cheese_tx_verify so
 * callers can spread them over threads. Members other than the five are
 * ignored, as reference nodes ignore them; the canonical text leaves them
 * out. */
bool cc_cheese_block_decode(const char *text, size_t len, cc_block *out, cc_err *err);
/* Same, from an already parsed JSON value (an element of a CHAIN[...] or
 * BRCHEESE[...] list; the caller parsed it under its own depth limit, at
 * least 3 levels below the list). */
bool cc_cheese_block_from_json(const json_t *value, cc_block *out, cc_err *err);

/* ---- mining templates ------------------------------------------------------------- */

/* The proof-of-work pre-image of a template is prefix + nonce + suffix
 * (suffix is empty, but a valid string), where the nonce is a decimal
 * integer counted from 0; the wire text is text_prefix + nonce +
 * text_suffix.
 * Lays out a block at height on top of parent_smell, stamped timestamp
 * (unix seconds; a float, as the reference's time.time()), holding txs
 * (already validated; the reward to the miner last). */
void cc_cheese_template_build(cc_block_template *tpl, int64_t height, const char *parent_smell,
                              const cc_number *timestamp, const cc_tx *txs, size_t n_txs);
/* The wire text of the template completed with nonce, which must be a
 * decimal integer without a sign or leading zeros that fits in 63 bits;
 * false (text untouched) otherwise. */
bool cc_cheese_template_finish(const cc_block_template *tpl, const char *nonce, cc_buf *text);

#endif

/* The rules of the http network (seed 003, PROTOCOL.md A.1-A.4): its text
 * formats, txid, block hash, proof of work, merkle root, genesis and
 * signatures. Pure: no I/O, no clock, no globals; times and keys come in as
 * arguments. Errors: cc_err with CC_ERR_BAD_REQUEST and a message a peer or
 * user can act on. Thread-safe. */
#ifndef CC_CONSENSUS_HTTP_H
#define CC_CONSENSUS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "codec/json.h"
#include "consensus/block.h"
#include "crypto/hash.h"
#include "crypto/p192.h"
#include "util/buf.h"
#include "util/err.h"

#define CC_HTTP_GENESIS_HASH "00008c26fa89c80d23ce0b98afb3bff429f828253c008b562ca8599606cb60e3"
/* The fixed genesis block, byte for byte as reference nodes serve it. */
#define CC_HTTP_GENESIS_TEXT \
    "{\"nr\": 0,\"previous_hash\": \"\",\"timestamp\": \"01/01/2009\",\"nonce\": " \
    "\"VDEODFTZ041jHIZuIyEY\",\"hash\": \"" CC_HTTP_GENESIS_HASH "\",\"creator\": \"Satoshi " \
    "Nakamoto\",\"merkle_root\": " \
    "\"563826313bf3d6ae2fc191f05f3eb08b60a3fb50704e8a89c4e0827ed663fdfb\",\"count\": " \
    "1,\"transactions\": [{\"signature\": \"System\",\"transaction\": {\"from\": " \
    "\"System\",\"to\": \"Satoshi Nakamoto\",\"sum\": 50,\"timestamp\": \"01/01/2009\"}}]}" 
#define CC_HTTP_REWARD_FROM "System"
/* What the rewards of one block may pay in all. */
#define CC_HTTP_REWARD 1
/* Longest free-text field (timestamp, nonce, creator) a block may carry. */
#define CC_HTTP_MAX_FIELD 128
/* Transactions per block: the merkle root costs count^2/2 hashes. */
#define CC_HTTP_MAX_BLOCK_TXS 256
/* JSON nesting a block needs is 4; anything deeper is hostile. */
#define CC_HTTP_MAX_JSON_DEPTH 8

/* The fixed genesis block text. */
const char *cc_http_genesis_text(void);

/* Decodes a signed transaction (JSON text), checks every field's type and
 * form, and fills out with its canonical text, txid and msgid. Does not
 * check the signature (cc_http_tx_verify) nor funds. A reward transaction
 * ("System" from and signature) is accepted here; callers decide whether
 * one may appear (only inside a block). */
bool cc_http_tx_decode(const char *text, size_t len, cc_tx *out, cc_err *err);
/* Same, from an already parsed JSON value. */
bool cc_http_tx_from_json(const json_t *value, cc_tx *out, cc_err *err);

/* True when tx is a reward, or its signature verifies against its from key. */
bool cc_http_tx_verify(const cc_tx *tx);

/* Builds the payment of amount from `from` to `to`, not yet signed (an
 * empty signature): the payer signs its message, text[msg_off .. msg_off +
 * msg_len), and cc_http_tx_attach_signature completes it. Signing is the
 * wallet's work (wallet/payment.h), which holds the key and the randomness.
 * Fails when a key is not 96 lowercase hex digits, the amount is not
 * positive and finite, or the timestamp is not a text the format can
 * carry. */
bool cc_http_tx_unsigned(const char *from, const char *to, const cc_number *amount,
                         const char *timestamp, cc_tx *out, cc_err *err);
/* Puts signature (96 hex digits) into tx and prints its text again; the
 * txid is then the signed payment's. */
void cc_http_tx_attach_signature(cc_tx *tx, const char *signature);

/* Builds the unsigned reward transaction paying amount to `to`. The
 * fields are printed as given: `to` must be a valid key and timestamp a
 * text the format can carry (the node passes its own key and clock); a
 * caller with other input checks it as cc_http_tx_unsigned does. */
void cc_http_tx_reward(const char *to, const cc_number *amount, const char *timestamp,
                       cc_tx *out);

/* Decodes a block and checks everything that needs no chain context:
 * field types, hash, proof of work, count, merkle root, transaction forms,
 * rewards within the block reward, no payment twice in the block.
 * Signatures are left to cc_http_tx_verify so callers can spread them over
 * threads. */
bool cc_http_block_decode(const char *text, size_t len, cc_block *out, cc_err *err);

/* The reference merkle root over txids (PROTOCOL.md A.2); "" when n is 0
 * (a block always holds at least one transaction). */
void cc_http_merkle_root(const char (*txids)[CC_HASH_HEX_LEN + 1], size_t n,
                         char out[CC_HASH_HEX_LEN + 1]);

/* True when a hex hash meets the proof of work (four leading zeros). */
bool cc_http_pow_ok(const char *hash_hex);
bool cc_http_pow_ok_raw(const uint8_t digest[CC_SHA256_LEN]);

/* Mining: the hash pre-image of a template is prefix + nonce + suffix, and
 * the wire text is prefix + nonce + "\",\"hash\": \"" + hash + suffix.
 * Lays out a block at height on top of prev, created by creator at
 * timestamp, holding txs (already validated; the reward included). The
 * text fields are printed as given, so they must be texts the format can
 * carry (the node's own tip, key and clock are). */
void cc_http_template_build(cc_block_template *tpl, int64_t height, const char *prev,
                            const char *timestamp, const char *creator, const cc_tx *txs,
                            size_t n_txs);
/* The wire text of the template completed with nonce (always true: any
 * nonce text will do). */
bool cc_http_template_finish(const cc_block_template *tpl, const char *nonce, cc_buf *text);

#endif

/* A network's keys as a wallet keeps them: how its key file is read and
 * made, and what a key's public half is, behind one table per network
 * (found from the network's rules), so that the node and the client load
 * and recognise keys without asking which network they are on.
 *
 * http: DATADIR/wallet.key holds the hex of the P-192 private scalar.
 * cheese: DATADIR/wallet-rsa.key holds the lowercase hex of the DER PKCS#1
 * RSAPrivateKey (what PyCryptodome's export_key(format='DER') writes); the
 * public key (hex of the DER SubjectPublicKeyInfo) is derived from it.
 *
 * Errors: cc_err (CC_ERR_INTERNAL for file problems, with the path).
 * Ownership: a loaded key is the caller's; clear it with the kind's clear.
 * Thread: any; the tables are immutable. */
#ifndef CC_WALLET_KEYS_H
#define CC_WALLET_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "consensus/rules.h"
#include "crypto/p192.h"
#include "crypto/rsa.h"
#include "util/err.h"
#include "util/log.h"
#include "wallet/key_file.h"

/* A key of either network; the kind says which member is used. */
typedef union cc_wallet_key {
    cc_p192_key p192;
    cc_rsa_key rsa;
} cc_wallet_key;

typedef struct cc_key_kind {
    const char *network;
    cc_wallet_file_kind file; /* its key file; file.clear wipes a key */
    const char *(*public_hex)(const cc_wallet_key *key);
    /* A payment of amount from key to `to`, signed (wallet/payment.h);
     * stamped with stamp where the network stamps payments. */
    bool (*pay)(const cc_wallet_key *key, const char *to, const cc_number *amount,
                const cc_stamp *stamp, cc_tx *out, cc_err *err);
} cc_key_kind;

/* The key kind of the network of rules; NULL for a network without one. */
const cc_key_kind *cc_key_kind_of(const cc_rules *rules);
/* The key kind of the network called network ("http"), or NULL. */
const cc_key_kind *cc_key_kind_named(const char *network);
/* Every network's key kind, for finding which network a key or a data
 * directory is of. */
const cc_key_kind *const *cc_key_kinds(size_t *count);

/* True when the key file at path holds the private key whose public key
 * is pub; false when it does not, or cannot be read. */
bool cc_wallet_file_holds(const cc_key_kind *kind, const char *path, const char *pub);

/* The node's own key: loaded from path, or made and saved there when the
 * file does not exist (*created tells which). The caller clears an RSA
 * key. */
bool cc_wallet_load_or_create(const char *path, cc_p192_key *key, bool *created,
                              const cc_log *log, cc_err *err);
bool cc_wallet_rsa_load_or_create(const char *path, cc_rsa_key *key, bool *created,
                                  const cc_log *log, cc_err *err);

#endif

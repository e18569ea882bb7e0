/* The cheese node's own RSA key pair (PROTOCOL.md B.3), kept in
 * DATADIR/wallet-rsa.key as the lowercase hex of the DER PKCS#1
 * RSAPrivateKey (what PyCryptodome's export_key(format='DER') writes), file
 * mode 0600, created on first start and reloaded after. The public key (hex
 * of the DER SubjectPublicKeyInfo) is derived from it.
 * Errors: cc_err (CC_ERR_INTERNAL for file problems, with the path).
 * Thread: plain data after loading. */
#ifndef CC_NODE_WALLET_RSA_H
#define CC_NODE_WALLET_RSA_H

#include <stdbool.h>

#include "crypto/rsa.h"
#include "util/err.h"
#include "util/log.h"

/* Loads the key at path, or creates and saves a new one when the file does
 * not exist. *created tells which happened. The caller clears key. */
bool cc_wallet_rsa_load_or_create(const char *path, cc_rsa_key *key, bool *created,
                                  const cc_log *log, cc_err *err);

#endif

/* ECDSA on NIST P-192 as the http network uses it (PROTOCOL.md A.3):
 * public key = hex of X||Y (96 characters), private key = 24-byte scalar,
 * signature = hex of r||s (96 characters) over the SHA-1 digest of the
 * message, python-ecdsa's default. Implemented with nettle/hogweed.
 * Thread-safe: no shared state. */
#ifndef CC_CRYPTO_P192_H
#define CC_CRYPTO_P192_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define CC_P192_PRIV_LEN 24
#define CC_P192_PUB_HEX_LEN 96
#define CC_P192_SIG_HEX_LEN 96

typedef struct cc_p192_key {
    uint8_t priv[CC_P192_PRIV_LEN];
    char pub_hex[CC_P192_PUB_HEX_LEN + 1];
} cc_p192_key;

/* A fresh random key pair. */
void cc_p192_generate(cc_p192_key *out);

/* The key pair of a given private scalar; fails (CC_ERR_BAD_REQUEST) when
 * the scalar is 0 or not below the group order. */
bool cc_p192_from_private(const uint8_t priv[CC_P192_PRIV_LEN], cc_p192_key *out,
                          cc_err *err);

/* True when pub_hex is 96 hex digits naming a point on the curve. */
bool cc_p192_pubkey_valid(const char *pub_hex);

/* Signs SHA-1(msg) with a random nonce; writes 96 hex digits and a NUL. */
void cc_p192_sign(const cc_p192_key *key, const void *msg, size_t len,
                  char sig_hex[CC_P192_SIG_HEX_LEN + 1]);

/* True only when sig_hex (96 hex digits) is a valid signature of
 * SHA-1(msg) by pub_hex. Malformed keys or signatures are simply invalid. */
bool cc_p192_verify(const char *pub_hex, const void *msg, size_t len, const char *sig_hex);

#endif

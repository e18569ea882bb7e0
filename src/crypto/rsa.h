/* RSA as the cheese network uses it (PROTOCOL.md B.3): keys of 1024 bits,
 * public key = lowercase hex of the DER SubjectPublicKeyInfo
 * ("30819f300d06092a864886f70d0101010500..."), private key = lowercase hex of
 * the DER PKCS#1 RSAPrivateKey, signature = RSASSA-PKCS1-v1_5 with SHA-256,
 * hex of exactly as many bytes as the modulus (what PyCryptodome writes and
 * demands).
 *
 * Keys are read strictly: the hex must be lowercase and the DER canonical
 * (it must re-encode to the very same bytes), so one key has one spelling
 * and one balance. Moduli of CC_RSA_MIN_BITS..CC_RSA_MAX_BITS bits and odd
 * public exponents of 3 up to CC_RSA_MAX_E_BITS bits are accepted: the
 * reference makes 1024-bit keys with e = 65537, and the bounds keep a
 * verification under about 50 us (a 4096-bit key with a 64-bit exponent
 * costs 0.6 ms, which a block of 256 payments and a trivial proof of work
 * would multiply). Keys this node makes have 1024 bits and e = 65537.
 *
 * Implemented with nettle/hogweed; see rsa.c for why not OpenSSL.
 * Ownership: a cc_rsa_key owns its two strings (cc_rsa_key_clear; safe on a
 * zeroed key, idempotent). Thread-safe: no shared state. */
#ifndef CC_CRYPTO_RSA_H
#define CC_CRYPTO_RSA_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

#define CC_RSA_BITS 1024     /* what cc_rsa_generate makes */
#define CC_RSA_MIN_BITS 1024 /* smallest modulus accepted */
#define CC_RSA_MAX_BITS 2048 /* largest modulus accepted */
#define CC_RSA_MAX_E_BITS 32 /* largest public exponent accepted, in bits */
/* Longest public key hex: the SPKI of a 2048-bit key with a 32-bit
 * exponent is 296 bytes. */
#define CC_RSA_PUB_HEX_MAX 600
/* Longest private key hex: a 2048-bit RSAPrivateKey is under 1,250 bytes. */
#define CC_RSA_PRIV_HEX_MAX 2600
/* Longest signature hex: one 2048-bit number. */
#define CC_RSA_SIG_HEX_MAX (2 * CC_RSA_MAX_BITS / 8)

typedef struct cc_rsa_key {
    char *priv_hex; /* DER PKCS#1 RSAPrivateKey, lowercase hex */
    char *pub_hex;  /* DER SubjectPublicKeyInfo, lowercase hex */
} cc_rsa_key;

/* A fresh random key pair of CC_RSA_BITS bits, e = 65537. */
void cc_rsa_generate(cc_rsa_key *out);

/* The key pair of a private key given as hex of a DER RSAPrivateKey
 * (either case of hex digits is read; the key written back is lowercase).
 * Fails (CC_ERR_BAD_REQUEST) when the DER is not a canonical two-prime
 * RSAPrivateKey, the sizes are out of range, or the numbers do not form a
 * consistent key (n = p*q, the CRT values match d and e). */
bool cc_rsa_from_private_hex(const char *priv_hex, cc_rsa_key *out, cc_err *err);

void cc_rsa_key_clear(cc_rsa_key *key);

/* True when pub_hex is the lowercase hex of a canonical DER
 * SubjectPublicKeyInfo holding an rsaEncryption key within the limits. */
bool cc_rsa_pubkey_valid(const char *pub_hex);
/* The modulus length in bytes of a key cc_rsa_pubkey_valid accepts (so a
 * signature by it has twice as many hex digits), or 0 for any other text. */
size_t cc_rsa_pubkey_size(const char *pub_hex);

/* Signs SHA-256(msg) (RSASSA-PKCS1-v1_5, blinded, and checked against the
 * public key before it is returned). Returns a new lowercase hex string the
 * caller frees, or NULL when key does not hold a usable private key. */
char *cc_rsa_sign(const cc_rsa_key *key, const void *msg, size_t len);

/* True only when sig_hex (lowercase hex, exactly the modulus length) is the
 * RSASSA-PKCS1-v1_5 SHA-256 signature of msg by pub_hex. Malformed keys or
 * signatures are simply invalid. */
bool cc_rsa_verify(const char *pub_hex, const void *msg, size_t len, const char *sig_hex);

#endif

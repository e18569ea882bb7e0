/* SHA-256 and SHA-1 through nettle, with the SHA-256 state exposed so a
 * miner can hash a constant prefix once and copy the state (midstate) for
 * every nonce it tries. Pure, thread-safe. */
#ifndef CC_CRYPTO_HASH_H
#define CC_CRYPTO_HASH_H

#include <nettle/sha1.h>
#include <nettle/sha2.h>
#include <stddef.h>
#include <stdint.h>

#define CC_SHA256_LEN 32
#define CC_SHA256_HEX_LEN 64
#define CC_SHA1_LEN 20

typedef struct sha256_ctx cc_sha256_ctx;

void cc_sha256_init(cc_sha256_ctx *ctx);
void cc_sha256_update(cc_sha256_ctx *ctx, const void *data, size_t len);
void cc_sha256_final(cc_sha256_ctx *ctx, uint8_t out[CC_SHA256_LEN]);

void cc_sha256(const void *data, size_t len, uint8_t out[CC_SHA256_LEN]);
/* Lowercase hex digest and a NUL. */
void cc_sha256_hex(const void *data, size_t len, char out[CC_SHA256_HEX_LEN + 1]);
void cc_sha1(const void *data, size_t len, uint8_t out[CC_SHA1_LEN]);

#endif

#include "crypto/hash.h"

#include "util/hex.h"

void cc_sha256_init(cc_sha256_ctx *ctx) { sha256_init(ctx); }

void cc_sha256_update(cc_sha256_ctx *ctx, const void *data, size_t len)
{
    sha256_update(ctx, len, data);
}

void cc_sha256_final(cc_sha256_ctx *ctx, uint8_t out[CC_SHA256_LEN])
{
    sha256_digest(ctx, CC_SHA256_LEN, out);
}

void cc_sha256(const void *data, size_t len, uint8_t out[CC_SHA256_LEN])
{
    cc_sha256_ctx ctx;
    sha256_init(&ctx);
    sha256_update(&ctx, len, data);
    sha256_digest(&ctx, CC_SHA256_LEN, out);
}

void cc_sha256_hex(const void *data, size_t len, char out[CC_SHA256_HEX_LEN + 1])
{
    uint8_t digest[CC_SHA256_LEN];
    cc_sha256(data, len, digest);
    cc_hex_encode(digest, sizeof digest, out);
}

void cc_sha1(const void *data, size_t len, uint8_t out[CC_SHA1_LEN])
{
    struct sha1_ctx ctx;
    sha1_init(&ctx);
    sha1_update(&ctx, len, data);
    sha1_digest(&ctx, CC_SHA1_LEN, out);
}

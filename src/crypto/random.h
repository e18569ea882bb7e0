/* Randomness from the kernel (getrandom), for keys, signature nonces, mining
 * nonces and peer ids. Thread-safe. */
#ifndef CC_CRYPTO_RANDOM_H
#define CC_CRYPTO_RANDOM_H

#include <stddef.h>
#include <stdint.h>

/* Fills out with len random bytes. Aborts if the kernel cannot provide
 * them: continuing with predictable keys would be worse than stopping. */
void cc_random_bytes(void *out, size_t len);

/* nettle's random callback signature, backed by cc_random_bytes. */
void cc_random_nettle(void *ctx, size_t len, uint8_t *out);

#endif

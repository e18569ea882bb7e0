/* Payments made and signed by a wallet's key, on either network. The
 * rules of what a payment is live in consensus/ (pure); signing needs the
 * private key and, for ECDSA, fresh randomness, which is why it is done
 * here and not there.
 *
 * Errors: the consensus checks' (400: a recipient that is no key, an
 * amount that is not positive and finite, a timestamp the format cannot
 * carry; a paying RSA key that cannot sign). Ownership: out is the
 * caller's on success (cc_tx_clear); untouched or cleared on failure.
 * Thread: any; each call uses only its arguments. */
#ifndef CC_WALLET_PAYMENT_H
#define CC_WALLET_PAYMENT_H

#include <stdbool.h>

#include "codec/pynum.h"
#include "consensus/block.h"
#include "crypto/p192.h"
#include "crypto/rsa.h"
#include "util/err.h"

/* An http payment of amount from key to `to`, stamped timestamp. */
bool cc_http_tx_create(const cc_p192_key *key, const char *to, const cc_number *amount,
                       const char *timestamp, cc_tx *out, cc_err *err);

/* A cheese payment of amount from key to `to`. */
bool cc_cheese_tx_create(const cc_rsa_key *key, const char *to, const cc_number *amount,
                         cc_tx *out, cc_err *err);

#endif

#include "crypto/p192.h"

#include <gmp.h>
#include <nettle/bignum.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecc.h>
#include <nettle/ecdsa.h>
#include <string.h>

#include "crypto/hash.h"
#include "crypto/random.h"
#include "util/hex.h"

#define COORD_LEN 24

static void public_hex_of(const struct ecc_scalar *key, char out[CC_P192_PUB_HEX_LEN + 1])
{
    struct ecc_point pub;
    ecc_point_init(&pub, nettle_get_secp_192r1());
    ecc_point_mul_g(&pub, key);
    mpz_t x, y;
    mpz_inits(x, y, NULL);
    ecc_point_get(&pub, x, y);
    uint8_t xy[2 * COORD_LEN];
    nettle_mpz_get_str_256(COORD_LEN, xy, x);
    nettle_mpz_get_str_256(COORD_LEN, xy + COORD_LEN, y);
    cc_hex_encode(xy, sizeof xy, out);
    mpz_clears(x, y, NULL);
    ecc_point_clear(&pub);
}

/* Loads a scalar; false when it is outside [1, q-1]. */
static bool scalar_load(struct ecc_scalar *key, const uint8_t priv[CC_P192_PRIV_LEN])
{
    mpz_t z;
    mpz_init(z);
    nettle_mpz_set_str_256_u(z, CC_P192_PRIV_LEN, priv);
    ecc_scalar_init(key, nettle_get_secp_192r1());
    bool ok = ecc_scalar_set(key, z) == 1;
    mpz_clear(z);
    if (!ok)
        ecc_scalar_clear(key);
    return ok;
}

bool cc_p192_from_private(const uint8_t priv[CC_P192_PRIV_LEN], cc_p192_key *out, cc_err *err)
{
    struct ecc_scalar key;
    if (!scalar_load(&key, priv))
        return cc_fail(err, CC_ERR_BAD_REQUEST, "private key is not a valid P-192 scalar");
    memcpy(out->priv, priv, CC_P192_PRIV_LEN);
    public_hex_of(&key, out->pub_hex);
    ecc_scalar_clear(&key);
    return true;
}

void cc_p192_generate(cc_p192_key *out)
{
    for (;;) {
        uint8_t priv[CC_P192_PRIV_LEN];
        cc_random_bytes(priv, sizeof priv);
        if (cc_p192_from_private(priv, out, NULL))
            return;
    }
}

/* Parses "X||Y" hex into a curve point; false when off the curve. */
static bool point_load(struct ecc_point *pub, const char *pub_hex)
{
    uint8_t xy[2 * COORD_LEN];
    if (strlen(pub_hex) != CC_P192_PUB_HEX_LEN || !cc_hex_decode(pub_hex, sizeof xy, xy))
        return false;
    mpz_t x, y;
    mpz_inits(x, y, NULL);
    nettle_mpz_set_str_256_u(x, COORD_LEN, xy);
    nettle_mpz_set_str_256_u(y, COORD_LEN, xy + COORD_LEN);
    ecc_point_init(pub, nettle_get_secp_192r1());
    bool ok = ecc_point_set(pub, x, y) == 1;
    mpz_clears(x, y, NULL);
    if (!ok)
        ecc_point_clear(pub);
    return ok;
}

bool cc_p192_pubkey_valid(const char *pub_hex)
{
    struct ecc_point pub;
    if (!point_load(&pub, pub_hex))
        return false;
    ecc_point_clear(&pub);
    return true;
}

void cc_p192_sign(const cc_p192_key *key, const void *msg, size_t len,
                  char sig_hex[CC_P192_SIG_HEX_LEN + 1])
{
    struct ecc_scalar scalar;
    if (!scalar_load(&scalar, key->priv)) {
        /* A cc_p192_key only ever holds a scalar that loaded before. */
        memset(sig_hex, '0', CC_P192_SIG_HEX_LEN);
        sig_hex[CC_P192_SIG_HEX_LEN] = '\0';
        return;
    }
    uint8_t digest[CC_SHA1_LEN];
    cc_sha1(msg, len, digest);
    struct dsa_signature sig;
    dsa_signature_init(&sig);
    ecdsa_sign(&scalar, NULL, cc_random_nettle, sizeof digest, digest, &sig);
    uint8_t rs[2 * COORD_LEN];
    nettle_mpz_get_str_256(COORD_LEN, rs, sig.r);
    nettle_mpz_get_str_256(COORD_LEN, rs + COORD_LEN, sig.s);
    cc_hex_encode(rs, sizeof rs, sig_hex);
    dsa_signature_clear(&sig);
    ecc_scalar_clear(&scalar);
}

bool cc_p192_verify(const char *pub_hex, const void *msg, size_t len, const char *sig_hex)
{
    uint8_t rs[2 * COORD_LEN];
    if (strlen(sig_hex) != CC_P192_SIG_HEX_LEN || !cc_hex_decode(sig_hex, sizeof rs, rs))
        return false;
    struct ecc_point pub;
    if (!point_load(&pub, pub_hex))
        return false;
    uint8_t digest[CC_SHA1_LEN];
    cc_sha1(msg, len, digest);
    struct dsa_signature sig;
    dsa_signature_init(&sig);
    nettle_mpz_set_str_256_u(sig.r, COORD_LEN, rs);
    nettle_mpz_set_str_256_u(sig.s, COORD_LEN, rs + COORD_LEN);
    bool ok = ecdsa_verify(&pub, sizeof digest, digest, &sig) == 1;
    dsa_signature_clear(&sig);
    ecc_point_clear(&pub);
    return ok;
}

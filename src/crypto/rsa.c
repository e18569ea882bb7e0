/* RSA keys and PKCS#1 v1.5 signatures for the cheese network.
 *
 * Why nettle and a small DER writer, not OpenSSL: nettle/hogweed is already
 * the project's crypto library and does everything hard here (key
 * generation, blinded signing that checks its own result, strict
 * EMSA-PKCS1-v1_5 verification, DER reading of RSAPrivateKey and, through
 * its ASN.1 iterators, of SubjectPublicKeyInfo). The one thing it lacks is
 * writing DER, and the two structures needed are a SEQUENCE of positive
 * INTEGERs and a fixed wrapper around one: about forty lines below, checked
 * byte for byte against the keys PyCryptodome wrote (tests/unit/test_rsa.c).
 * OpenSSL 3 would bring a second crypto library into the process for that,
 * and its way to build a key from raw numbers (OSSL_PARAM_BLD +
 * EVP_PKEY_fromdata + encoder contexts) is longer and harder to audit than
 * the writer itself.
 *
 * Reading is strict: every key read is written back with the same writer
 * and must give the same bytes, so BER leniency, trailing bytes, leading
 * zeros or a second spelling of one key never get through. */
#include "crypto/rsa.h"

#include <gmp.h>
#include <nettle/asn1.h>
#include <nettle/bignum.h>
#include <nettle/rsa.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hash.h"
#include "crypto/random.h"
#include "util/buf.h"
#include "util/hex.h"
#include "util/mem.h"

/* AlgorithmIdentifier { rsaEncryption (1.2.840.113549.1.1.1), NULL }. */
static const uint8_t rsa_algorithm_id[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
                                           0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
#define RSA_OID_LEN 9
#define RSA_E 65537

/* ---- DER writing --------------------------------------------------------- */

static void der_header(cc_buf *out, uint8_t tag, size_t len)
{
    cc_buf_putc(out, (char)tag);
    if (len < 0x80) {
        cc_buf_putc(out, (char)len);
        return;
    }
    uint8_t bytes[sizeof len];
    int n = 0;
    for (size_t rest = len; rest; rest >>= 8)
        bytes[n++] = (uint8_t)(rest & 0xff);
    cc_buf_putc(out, (char)(0x80 | n));
    while (n-- > 0)
        cc_buf_putc(out, (char)bytes[n]);
}

static void der_wrap(cc_buf *out, uint8_t tag, const cc_buf *content)
{
    der_header(out, tag, content->len);
    cc_buf_append(out, content->data, content->len);
}

/* A non-negative INTEGER: minimal big-endian bytes, with a 0 byte in front
 * when the top bit is set (0 itself is the single byte 0). */
static void der_integer(cc_buf *out, const mpz_t x)
{
    size_t n = nettle_mpz_sizeinbase_256_u(x);
    uint8_t *bytes = cc_malloc(n + 1);
    bytes[0] = 0;
    nettle_mpz_get_str_256(n, bytes + 1, x);
    size_t pad = (bytes[1] & 0x80) ? 1 : 0;
    der_header(out, 0x02, n + pad);
    cc_buf_append(out, bytes + 1 - pad, n + pad);
    explicit_bzero(bytes, n + 1);
    free(bytes);
}

/* SubjectPublicKeyInfo { algorithm, BIT STRING { RSAPublicKey { n, e } } }. */
static void spki_write(const struct rsa_public_key *pub, cc_buf *out)
{
    cc_buf numbers = CC_BUF_INIT, bits = CC_BUF_INIT, body = CC_BUF_INIT;
    der_integer(&numbers, pub->n);
    der_integer(&numbers, pub->e);
    cc_buf_putc(&bits, 0); /* no unused bits */
    der_wrap(&bits, 0x30, &numbers);
    cc_buf_append(&body, rsa_algorithm_id, sizeof rsa_algorithm_id);
    der_wrap(&body, 0x03, &bits);
    der_wrap(out, 0x30, &body);
    cc_buf_free(&numbers);
    cc_buf_free(&bits);
    cc_buf_free(&body);
}

/* RSAPrivateKey { 0, n, e, d, p, q, d mod (p-1), d mod (q-1), q^-1 mod p }:
 * nettle's a, b and c are exactly the last three. */
static void private_write(const struct rsa_public_key *pub, const struct rsa_private_key *priv,
                          cc_buf *out)
{
    cc_buf numbers = CC_BUF_INIT;
    cc_buf_append(&numbers, "\x02\x01\x00", 3);
    der_integer(&numbers, pub->n);
    der_integer(&numbers, pub->e);
    der_integer(&numbers, priv->d);
    der_integer(&numbers, priv->p);
    der_integer(&numbers, priv->q);
    der_integer(&numbers, priv->a);
    der_integer(&numbers, priv->b);
    der_integer(&numbers, priv->c);
    der_wrap(out, 0x30, &numbers);
    explicit_bzero(numbers.data, numbers.len);
    cc_buf_free(&numbers);
}

static char *hex_of(const cc_buf *der)
{
    char *hex = cc_malloc(2 * der->len + 1);
    cc_hex_encode((const uint8_t *)der->data, der->len, hex);
    return hex;
}

/* ---- reading --------------------------------------------------------------- */

static bool public_in_limits(const struct rsa_public_key *pub)
{
    size_t bits = mpz_sizeinbase(pub->n, 2);
    return mpz_sgn(pub->n) > 0 && bits >= CC_RSA_MIN_BITS && bits <= CC_RSA_MAX_BITS &&
           mpz_odd_p(pub->n) && mpz_odd_p(pub->e) && mpz_cmp_ui(pub->e, 3) >= 0 &&
           mpz_sizeinbase(pub->e, 2) <= CC_RSA_MAX_E_BITS && mpz_cmp(pub->e, pub->n) < 0;
}

/* True when der is exactly what spki_write makes of the key it holds. */
static bool der_same(const cc_buf *written, const uint8_t *der, size_t len)
{
    return written->len == len && memcmp(written->data, der, len) == 0;
}

/* Walks SubjectPublicKeyInfo with nettle's iterators (as its pkcs1-conv
 * tool does); the caller compares the re-encoding, so this only needs to
 * find n and e. */
static bool spki_read(struct rsa_public_key *pub, const uint8_t *der, size_t len)
{
    struct asn1_der_iterator i, alg;
    if (asn1_der_iterator_first(&i, len, der) != ASN1_ITERATOR_CONSTRUCTED ||
        i.type != ASN1_SEQUENCE || asn1_der_decode_constructed_last(&i) != ASN1_ITERATOR_CONSTRUCTED ||
        i.type != ASN1_SEQUENCE || asn1_der_decode_constructed(&i, &alg) != ASN1_ITERATOR_PRIMITIVE ||
        alg.type != ASN1_IDENTIFIER || alg.length != RSA_OID_LEN ||
        memcmp(alg.data, rsa_algorithm_id + 4, RSA_OID_LEN) != 0 ||
        asn1_der_iterator_next(&i) != ASN1_ITERATOR_PRIMITIVE || i.type != ASN1_BITSTRING ||
        asn1_der_decode_bitstring_last(&i) != ASN1_ITERATOR_CONSTRUCTED || i.type != ASN1_SEQUENCE)
        return false;
    return rsa_public_key_from_der_iterator(pub, CC_RSA_MAX_BITS, &i) == 1;
}

/* Hex of at most max_hex digits (lower case only when strict) into a new
 * byte array; NULL when the text is not that. */
static uint8_t *hex_bytes(const char *hex, size_t max_hex, bool lower_only, size_t *len)
{
    size_t hex_len = strnlen(hex, max_hex + 1);
    if (hex_len == 0 || hex_len > max_hex || hex_len % 2 != 0)
        return NULL;
    if (lower_only && !cc_is_lower_hex(hex, hex_len))
        return NULL;
    *len = hex_len / 2;
    uint8_t *bytes = cc_malloc(*len);
    if (!cc_hex_decode(hex, *len, bytes)) {
        free(bytes);
        return NULL;
    }
    return bytes;
}

/* Loads pub from the hex of a canonical SPKI within the limits; on failure
 * pub is left cleared. */
static bool public_load(struct rsa_public_key *pub, const char *pub_hex)
{
    size_t len;
    uint8_t *der = hex_bytes(pub_hex, CC_RSA_PUB_HEX_MAX, true, &len);
    if (!der)
        return false;
    rsa_public_key_init(pub);
    bool ok = spki_read(pub, der, len) && public_in_limits(pub);
    if (ok) {
        cc_buf again = CC_BUF_INIT;
        spki_write(pub, &again);
        ok = der_same(&again, der, len);
        cc_buf_free(&again);
    }
    free(der);
    if (!ok)
        rsa_public_key_clear(pub);
    return ok;
}

/* The numbers form one working key: n = p*q, and the CRT values the
 * signer uses (a, b, c) agree with d, e, p and q, so a signature made with
 * them verifies under (n, e). */
static bool private_consistent(const struct rsa_public_key *pub,
                               const struct rsa_private_key *priv)
{
    mpz_t t, m;
    mpz_inits(t, m, NULL);
    bool ok = mpz_cmp_ui(priv->p, 2) > 0 && mpz_cmp_ui(priv->q, 2) > 0;
    if (ok) {
        mpz_mul(t, priv->p, priv->q);
        ok = mpz_cmp(t, pub->n) == 0;
    }
    mpz_srcptr factors[2] = {priv->p, priv->q};
    mpz_srcptr exps[2] = {priv->a, priv->b};
    for (int k = 0; ok && k < 2; k++) {
        mpz_sub_ui(m, factors[k], 1);
        mpz_mod(t, priv->d, m);
        ok = mpz_cmp(t, exps[k]) == 0;
        mpz_mul(t, pub->e, exps[k]);
        mpz_mod(t, t, m);
        ok = ok && mpz_cmp_ui(t, 1) == 0;
    }
    if (ok) {
        mpz_mul(t, priv->c, priv->q);
        mpz_mod(t, t, priv->p);
        ok = mpz_cmp_ui(t, 1) == 0;
    }
    mpz_clears(t, m, NULL);
    return ok;
}

static bool private_load(struct rsa_public_key *pub, struct rsa_private_key *priv,
                         const char *priv_hex, cc_err *err)
{
    size_t len;
    uint8_t *der = hex_bytes(priv_hex, CC_RSA_PRIV_HEX_MAX, false, &len);
    if (!der)
        return cc_fail(err, CC_ERR_BAD_REQUEST,
                       "private key must be hex of at most %d digits", CC_RSA_PRIV_HEX_MAX);
    rsa_public_key_init(pub);
    rsa_private_key_init(priv);
    bool ok = rsa_keypair_from_der(pub, priv, CC_RSA_MAX_BITS, len, der) == 1;
    if (!ok)
        cc_fail(err, CC_ERR_BAD_REQUEST, "private key is not a DER RSAPrivateKey");
    if (ok && !public_in_limits(pub))
        ok = cc_fail(err, CC_ERR_BAD_REQUEST,
                     "private key must have a %d to %d-bit modulus and an odd exponent of 3 to %d bits",
                     CC_RSA_MIN_BITS, CC_RSA_MAX_BITS, CC_RSA_MAX_E_BITS);
    if (ok && !private_consistent(pub, priv))
        ok = cc_fail(err, CC_ERR_BAD_REQUEST, "private key numbers do not form one RSA key");
    if (ok) {
        cc_buf again = CC_BUF_INIT;
        private_write(pub, priv, &again);
        ok = der_same(&again, der, len);
        explicit_bzero(again.data, again.len);
        cc_buf_free(&again);
        if (!ok)
            cc_fail(err, CC_ERR_BAD_REQUEST, "private key DER is not canonical");
    }
    explicit_bzero(der, len);
    free(der);
    if (!ok) {
        rsa_public_key_clear(pub);
        rsa_private_key_clear(priv);
    }
    return ok;
}

/* ---- keys ------------------------------------------------------------------- */

static void key_fill(const struct rsa_public_key *pub, const struct rsa_private_key *priv,
                     cc_rsa_key *out)
{
    cc_buf der = CC_BUF_INIT;
    private_write(pub, priv, &der);
    out->priv_hex = hex_of(&der);
    explicit_bzero(der.data, der.len);
    cc_buf_reset(&der);
    spki_write(pub, &der);
    out->pub_hex = hex_of(&der);
    cc_buf_free(&der);
}

void cc_rsa_generate(cc_rsa_key *out)
{
    struct rsa_public_key pub;
    struct rsa_private_key priv;
    rsa_public_key_init(&pub);
    rsa_private_key_init(&priv);
    mpz_set_ui(pub.e, RSA_E);
    if (!rsa_generate_keypair(&pub, &priv, NULL, cc_random_nettle, NULL, NULL, CC_RSA_BITS, 0))
        abort(); /* only fails on impossible sizes, which are constants here */
    key_fill(&pub, &priv, out);
    rsa_public_key_clear(&pub);
    rsa_private_key_clear(&priv);
}

bool cc_rsa_from_private_hex(const char *priv_hex, cc_rsa_key *out, cc_err *err)
{
    memset(out, 0, sizeof *out);
    if (!priv_hex)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "no private key");
    struct rsa_public_key pub;
    struct rsa_private_key priv;
    if (!private_load(&pub, &priv, priv_hex, err))
        return false;
    key_fill(&pub, &priv, out);
    rsa_public_key_clear(&pub);
    rsa_private_key_clear(&priv);
    return true;
}

void cc_rsa_key_clear(cc_rsa_key *key)
{
    if (key->priv_hex) {
        explicit_bzero(key->priv_hex, strlen(key->priv_hex));
        free(key->priv_hex);
    }
    free(key->pub_hex);
    memset(key, 0, sizeof *key);
}

size_t cc_rsa_pubkey_size(const char *pub_hex)
{
    struct rsa_public_key pub;
    if (!pub_hex || !public_load(&pub, pub_hex))
        return 0;
    size_t size = pub.size;
    rsa_public_key_clear(&pub);
    return size;
}

bool cc_rsa_pubkey_valid(const char *pub_hex) { return cc_rsa_pubkey_size(pub_hex) != 0; }

/* ---- signatures ----------------------------------------------------------------- */

char *cc_rsa_sign(const cc_rsa_key *key, const void *msg, size_t len)
{
    struct rsa_public_key pub;
    struct rsa_private_key priv;
    if (!key->priv_hex || !private_load(&pub, &priv, key->priv_hex, NULL))
        return NULL;
    uint8_t digest[CC_SHA256_LEN];
    cc_sha256(msg, len, digest);
    mpz_t s;
    mpz_init(s);
    char *hex = NULL;
    /* The _tr variant blinds the private operation and verifies the result
     * under (n, e) before returning it. */
    if (rsa_sha256_sign_digest_tr(&pub, &priv, NULL, cc_random_nettle, digest, s) == 1) {
        uint8_t *bytes = cc_malloc(pub.size);
        nettle_mpz_get_str_256(pub.size, bytes, s);
        hex = cc_malloc(2 * pub.size + 1);
        cc_hex_encode(bytes, pub.size, hex);
        free(bytes);
    }
    mpz_clear(s);
    rsa_public_key_clear(&pub);
    rsa_private_key_clear(&priv);
    return hex;
}

bool cc_rsa_verify(const char *pub_hex, const void *msg, size_t len, const char *sig_hex)
{
    if (!pub_hex || !sig_hex)
        return false;
    struct rsa_public_key pub;
    if (!public_load(&pub, pub_hex))
        return false;
    /* Exactly the modulus length, as PyCryptodome demands: with leading
     * zeros kept, and no other spelling of the same number. */
    size_t sig_len;
    uint8_t *sig = hex_bytes(sig_hex, CC_RSA_SIG_HEX_MAX, true, &sig_len);
    bool ok = sig && sig_len == pub.size;
    if (ok) {
        uint8_t digest[CC_SHA256_LEN];
        cc_sha256(msg, len, digest);
        mpz_t s;
        mpz_init(s);
        nettle_mpz_set_str_256_u(s, sig_len, sig);
        ok = rsa_sha256_verify_digest(&pub, digest, s) == 1;
        mpz_clear(s);
    }
    free(sig);
    rsa_public_key_clear(&pub);
    return ok;
}

/* Unit tests for src/crypto/rsa.c: the keys of tests/vectors/cheese-network.json
 * (written by PyCryptodome) read and written back byte for byte, their
 * signature reproduced (PKCS#1 v1.5 is deterministic), keys made here
 * working, and every malformed key or signature of
 * tests/vectors/cheese-extra.json (made by tests/vectors/make-cheese-extra.py
 * with PyCryptodome and a DER writer of its own) refused. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rsa.h"
#include "util/buf.h"
#include "util/mem.h"

#include "vectors.h"

#define VECTORS CC_VECTORS_DIR "/cheese-network.json"
#define EXTRA CC_VECTORS_DIR "/cheese-extra.json"
/* The first 29 bytes of every 1024-bit SPKI with a 128-byte modulus. */
#define SPKI_1024_HEAD "30819f300d06092a864886f70d010101050003818d0030818902818100"

static const char *vector_key(const json_t *root, size_t i, const char *which)
{
    return str_at(json_array_get(json_object_get(root, "keys"), i), which);
}

/* The signed payload of the vector transaction. */
static const char *vector_payload(const json_t *root)
{
    return str_at(json_array_get(json_object_get(root, "transactions"), 0), "signed_payload");
}

static char *vector_signature(const json_t *root)
{
    const char *text = str_at(json_array_get(json_object_get(root, "transactions"), 0), "json");
    json_t *tx = json_loads(text, 0, NULL);
    char *sig = cc_strdup(str_at(tx, "signature"));
    json_decref(tx);
    return sig;
}

static char *upper(const char *s)
{
    char *copy = cc_strdup(s);
    for (char *c = copy; *c; c++)
        if (*c >= 'a' && *c <= 'f')
            *c = (char)(*c - 'a' + 'A');
    return copy;
}

static char *concat(const char *a, const char *b)
{
    cc_buf buf = CC_BUF_INIT;
    cc_buf_puts(&buf, a);
    cc_buf_puts(&buf, b);
    return cc_buf_take(&buf);
}

/* ---- vectors ------------------------------------------------------------- */

static void test_vector_keys_round_trip(void **state)
{
    (void)state;
    json_t *root = load_json(VECTORS);
    for (size_t i = 0; i < 2; i++) {
        const char *priv = vector_key(root, i, "private_key_der_hex");
        const char *pub = vector_key(root, i, "public_key_der_hex");
        cc_rsa_key key;
        cc_err err = {0};
        if (!cc_rsa_from_private_hex(priv, &key, &err))
            fail_msg("vector key %zu refused: %s", i, err.msg);
        assert_string_equal(key.pub_hex, pub);
        assert_string_equal(key.priv_hex, priv);
        assert_true(cc_rsa_pubkey_valid(pub));
        assert_int_equal(cc_rsa_pubkey_size(pub), 128);
        assert_memory_equal(pub, SPKI_1024_HEAD, strlen(SPKI_1024_HEAD));
        cc_rsa_key_clear(&key);
        cc_rsa_key_clear(&key); /* idempotent */
        /* Upper-case hex is read for a private key and written lower. */
        char *up = upper(priv);
        assert_true(cc_rsa_from_private_hex(up, &key, &err));
        assert_string_equal(key.priv_hex, priv);
        assert_string_equal(key.pub_hex, pub);
        cc_rsa_key_clear(&key);
        free(up);
    }
    json_decref(root);
}

static void test_vector_signature_reproduced(void **state)
{
    (void)state;
    json_t *root = load_json(VECTORS);
    const char *payload = vector_payload(root);
    char *expected = vector_signature(root);
    cc_rsa_key key;
    assert_true(cc_rsa_from_private_hex(vector_key(root, 0, "private_key_der_hex"), &key, NULL));
    char *sig = cc_rsa_sign(&key, payload, strlen(payload));
    assert_non_null(sig);
    assert_string_equal(sig, expected);
    const char *pub0 = vector_key(root, 0, "public_key_der_hex");
    const char *pub1 = vector_key(root, 1, "public_key_der_hex");
    assert_true(cc_rsa_verify(pub0, payload, strlen(payload), sig));
    /* Another key, another payload, or one bit less of the payload. */
    assert_false(cc_rsa_verify(pub1, payload, strlen(payload), sig));
    char *changed = cc_strdup(payload);
    changed[strlen(changed) - 3] = '4'; /* 3.5 -> 4.5, the vector's invalid case */
    assert_false(cc_rsa_verify(pub0, changed, strlen(changed), sig));
    assert_false(cc_rsa_verify(pub0, payload, strlen(payload) - 1, sig));
    free(changed);
    free(sig);
    free(expected);
    cc_rsa_key_clear(&key);
    json_decref(root);
}

/* ---- keys made here ---------------------------------------------------------- */

static void test_generate(void **state)
{
    (void)state;
    cc_rsa_key a, b;
    cc_rsa_generate(&a);
    cc_rsa_generate(&b);
    assert_string_not_equal(a.pub_hex, b.pub_hex);
    assert_memory_equal(a.pub_hex, SPKI_1024_HEAD, strlen(SPKI_1024_HEAD));
    assert_int_equal(strlen(a.pub_hex), 2 * 162);
    /* e = 65537 closes the SPKI. */
    assert_string_equal(a.pub_hex + strlen(a.pub_hex) - 10, "0203010001");
    assert_int_equal(cc_rsa_pubkey_size(a.pub_hex), 128);
    /* The private key reads back to the same pair. */
    cc_rsa_key again;
    cc_err err = {0};
    if (!cc_rsa_from_private_hex(a.priv_hex, &again, &err))
        fail_msg("own key refused: %s", err.msg);
    assert_string_equal(again.pub_hex, a.pub_hex);
    assert_string_equal(again.priv_hex, a.priv_hex);
    const char msg[] = "a message";
    char *sig = cc_rsa_sign(&a, msg, sizeof msg - 1);
    assert_non_null(sig);
    assert_int_equal(strlen(sig), 256);
    assert_true(cc_rsa_verify(a.pub_hex, msg, sizeof msg - 1, sig));
    assert_false(cc_rsa_verify(b.pub_hex, msg, sizeof msg - 1, sig));
    /* Deterministic: the same key signs the same message the same way. */
    char *sig2 = cc_rsa_sign(&again, msg, sizeof msg - 1);
    assert_string_equal(sig, sig2);
    free(sig);
    free(sig2);
    cc_rsa_key_clear(&again);
    cc_rsa_key_clear(&a);
    cc_rsa_key_clear(&b);
}

static void test_other_sizes_accepted(void **state)
{
    (void)state;
    json_t *root = load_json(EXTRA);
    const json_t *rsa = json_object_get(root, "rsa");
    /* A 2048-bit key from PyCryptodome: read, and its signature verifies. */
    const char *pub = str_at(rsa, "pub_2048");
    const char *sig = str_at(rsa, "sig_2048");
    assert_int_equal(cc_rsa_pubkey_size(pub), 256);
    assert_true(cc_rsa_verify(pub, "hello cheese", 12, sig));
    assert_false(cc_rsa_verify(pub, "hello cheese!", 13, sig));
    cc_rsa_key key;
    assert_true(cc_rsa_from_private_hex(str_at(rsa, "priv_2048"), &key, NULL));
    assert_string_equal(key.pub_hex, pub);
    char *mine = cc_rsa_sign(&key, "hello cheese", 12);
    assert_string_equal(mine, sig);
    free(mine);
    cc_rsa_key_clear(&key);
    /* Exponents 3 and 2^32-1 are within the limits. */
    assert_true(cc_rsa_pubkey_valid(str_at(rsa, "pub_e3")));
    assert_true(cc_rsa_pubkey_valid(str_at(rsa, "pub_e32")));
    json_decref(root);
}

/* A signature whose first byte is 0 keeps it: exactly the modulus length. */
static void test_signature_leading_zero(void **state)
{
    (void)state;
    json_t *vectors = load_json(VECTORS), *root = load_json(EXTRA);
    const json_t *rsa = json_object_get(root, "rsa");
    const char *pub = vector_key(vectors, 0, "public_key_der_hex");
    const char *msg = str_at(rsa, "zero_msg");
    const char *sig = str_at(rsa, "zero_sig");
    assert_memory_equal(sig, "00", 2);
    assert_true(cc_rsa_verify(pub, msg, strlen(msg), sig));
    assert_false(cc_rsa_verify(pub, msg, strlen(msg), sig + 2));
    char *longer = concat("00", sig);
    assert_false(cc_rsa_verify(pub, msg, strlen(msg), longer));
    free(longer);
    cc_rsa_key key;
    assert_true(cc_rsa_from_private_hex(vector_key(vectors, 0, "private_key_der_hex"), &key, NULL));
    char *mine = cc_rsa_sign(&key, msg, strlen(msg));
    assert_string_equal(mine, sig);
    free(mine);
    cc_rsa_key_clear(&key);
    json_decref(root);
    json_decref(vectors);
}

/* ---- what must be refused ------------------------------------------------------ */

static void test_malformed_public_keys(void **state)
{
    (void)state;
    json_t *vectors = load_json(VECTORS), *root = load_json(EXTRA);
    const json_t *rsa = json_object_get(root, "rsa");
    const char *pub = vector_key(vectors, 0, "public_key_der_hex");
    /* Sizes and exponents beyond the limits, then forms that are not the
     * one DER spelling of an rsaEncryption SubjectPublicKeyInfo. */
    const char *bad_named[] = {"pub_512",         "pub_1023",      "pub_2049",    "pub_4096",
                               "pub_4097",        "pub_e1",        "pub_e4",      "pub_e33",
                               "pub_e64",         "pub_e65",       "pub_even_n",  "pub_no_null",
                               "pub_wrong_oid",   "pub_ber_len",   "pub_ber_zero", "pub_rsapublickey_only",
                               "pub_unused_bits", "pkcs8_0"};
    for (size_t i = 0; i < sizeof bad_named / sizeof bad_named[0]; i++)
        if (cc_rsa_pubkey_valid(str_at(rsa, bad_named[i])))
            fail_msg("public key %s accepted", bad_named[i]);
    /* Spellings of the good key that are not the one spelling. */
    char *up = upper(pub);
    char *trailing = concat(pub, "00");
    char *odd = concat(pub, "0");
    char *truncated = cc_strndup(pub, strlen(pub) - 2);
    char *nonhex = cc_strdup(pub);
    nonhex[40] = 'g';
    char *spaced = concat(" ", pub);
    const char *bad[] = {up, trailing, odd, truncated, nonhex, spaced, "", "30", "3000",
                         "CHEESECHAIN REWARD SYSTEM", vector_key(vectors, 0, "private_key_der_hex")};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (cc_rsa_pubkey_valid(bad[i]))
            fail_msg("public key %zu accepted: %.60s", i, bad[i]);
        assert_int_equal(cc_rsa_pubkey_size(bad[i]), 0);
    }
    assert_false(cc_rsa_pubkey_valid(NULL));
    /* Longer than any key may be. */
    char *huge = cc_malloc(CC_RSA_PUB_HEX_MAX + 3);
    memset(huge, 'a', CC_RSA_PUB_HEX_MAX + 2);
    huge[CC_RSA_PUB_HEX_MAX + 2] = '\0';
    assert_false(cc_rsa_pubkey_valid(huge));
    free(huge);
    free(up);
    free(trailing);
    free(odd);
    free(truncated);
    free(nonhex);
    free(spaced);
    json_decref(root);
    json_decref(vectors);
}

static void test_malformed_signatures(void **state)
{
    (void)state;
    json_t *vectors = load_json(VECTORS);
    const char *pub = vector_key(vectors, 0, "public_key_der_hex");
    const char *payload = vector_payload(vectors);
    size_t len = strlen(payload);
    char *sig = vector_signature(vectors);
    assert_true(cc_rsa_verify(pub, payload, len, sig));
    char *up = upper(sig);
    char *shorter = cc_strndup(sig, strlen(sig) - 2);
    char *longer = concat(sig, "00");
    char *flipped = cc_strdup(sig);
    flipped[100] = flipped[100] == '0' ? '1' : '0';
    char *all_f = cc_strdup(sig); /* not below the modulus */
    memset(all_f, 'f', strlen(all_f));
    char *zero = cc_strdup(sig);
    memset(zero, '0', strlen(zero));
    const char *bad[] = {up, shorter, longer, flipped, all_f, zero, "", "rewardtransactionsignature"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (cc_rsa_verify(pub, payload, len, bad[i]))
            fail_msg("signature %zu accepted", i);
    assert_false(cc_rsa_verify(pub, payload, len, NULL));
    assert_false(cc_rsa_verify(NULL, payload, len, sig));
    assert_false(cc_rsa_verify("30", payload, len, sig));
    free(up);
    free(shorter);
    free(longer);
    free(flipped);
    free(all_f);
    free(zero);
    free(sig);
    json_decref(vectors);
}

static void test_malformed_private_keys(void **state)
{
    (void)state;
    json_t *vectors = load_json(VECTORS), *root = load_json(EXTRA);
    const json_t *rsa = json_object_get(root, "rsa");
    const char *priv = vector_key(vectors, 0, "private_key_der_hex");
    struct {
        const char *text;
        const char *why;
    } bad[] = {
        {str_at(rsa, "priv_swapped_pq"), "one RSA key"},
        {str_at(rsa, "priv_bad_c"), "one RSA key"},
        {str_at(rsa, "priv_bad_n"), "one RSA key"},
        {str_at(rsa, "priv_version1"), "RSAPrivateKey"},
        {str_at(rsa, "pkcs8_0"), "RSAPrivateKey"},
        {vector_key(vectors, 0, "public_key_der_hex"), "RSAPrivateKey"},
        {"", "hex"},
        {"3", "hex"},
        {"zz", "hex"},
        {"3000", "RSAPrivateKey"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cc_rsa_key key;
        memset(&key, 0xa5, sizeof key);
        cc_err err = {0};
        if (cc_rsa_from_private_hex(bad[i].text, &key, &err)) {
            cc_rsa_key_clear(&key);
            fail_msg("private key %zu accepted", i);
        }
        assert_int_equal(err.code, CC_ERR_BAD_REQUEST);
        if (!strstr(err.msg, bad[i].why))
            fail_msg("private key %zu: \"%s\" does not mention \"%s\"", i, err.msg, bad[i].why);
        assert_null(key.priv_hex);
        assert_null(key.pub_hex);
        cc_rsa_key_clear(&key);
    }
    /* Trailing bytes: not canonical. */
    char *trailing = concat(priv, "00");
    cc_rsa_key key;
    cc_err err = {0};
    assert_false(cc_rsa_from_private_hex(trailing, &key, &err));
    assert_int_equal(err.code, CC_ERR_BAD_REQUEST);
    free(trailing);
    assert_false(cc_rsa_from_private_hex(NULL, &key, NULL));
    /* A key without a private half cannot sign. */
    cc_rsa_key empty = {0};
    assert_null(cc_rsa_sign(&empty, "x", 1));
    cc_rsa_key broken = {.priv_hex = (char *)"3000", .pub_hex = NULL};
    assert_null(cc_rsa_sign(&broken, "x", 1));
    json_decref(root);
    json_decref(vectors);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector_keys_round_trip),
        cmocka_unit_test(test_vector_signature_reproduced),
        cmocka_unit_test(test_generate),
        cmocka_unit_test(test_other_sizes_accepted),
        cmocka_unit_test(test_signature_leading_zero),
        cmocka_unit_test(test_malformed_public_keys),
        cmocka_unit_test(test_malformed_signatures),
        cmocka_unit_test(test_malformed_private_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for src/crypto: SHA-256 and SHA-1 known answers, and ECDSA on
 * P-192 against the reference's own keys and signatures
 * (tests/vectors/http-network.json), plus everything malformed that a peer
 * could send in place of a key or a signature. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <gmp.h>
#include <jansson.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hash.h"
#include "crypto/p192.h"
#include "util/hex.h"

#include "vectors.h"

#define VECTORS CC_VECTORS_DIR "/http-network.json"

/* The curve's constants (SEC 2, secp192r1). */
#define P192_P "fffffffffffffffffffffffffffffffeffffffffffffffff"
#define P192_N "ffffffffffffffffffffffff99def836146bc9b1b4d22831"
#define P192_GX "188da80eb03090f67cbf20eb43a18800f4ff0afd82ff1012"
#define P192_GY "07192b95ffc8da78631011ed6b24cdd573f977a11e794811"
#define P192_B "64210519e59c80e70fa7e9ab72243049feb8deecc146b9b1"

/* ---- helpers ---------------------------------------------------------- */

static void sha256_hex_of(const char *text, size_t len, char out[CC_SHA256_HEX_LEN + 1])
{
    cc_sha256_hex(text, len, out);
}

static void sha1_hex_of(const char *text, size_t len, char out[2 * CC_SHA1_LEN + 1])
{
    uint8_t digest[CC_SHA1_LEN];
    cc_sha1(text, len, digest);
    cc_hex_encode(digest, sizeof digest, out);
}

static void priv_from_hex(const char *hex, uint8_t out[CC_P192_PRIV_LEN])
{
    assert_int_equal(strlen(hex), 2 * CC_P192_PRIV_LEN);
    assert_true(cc_hex_decode(hex, CC_P192_PRIV_LEN, out));
}

/* 48 hex digits of value (which must fit in 24 bytes). */
static void mpz_hex48(const mpz_t value, char out[49])
{
    char *digits = mpz_get_str(NULL, 16, value);
    size_t len = strlen(digits);
    assert_true(len <= 48);
    memset(out, '0', 48 - len);
    memcpy(out + 48 - len, digits, len + 1);
    void (*gmp_free)(void *, size_t);
    mp_get_memory_functions(NULL, NULL, &gmp_free);
    gmp_free(digits, len + 1);
}

/* sig with its s replaced by n - s: the other valid signature ECDSA allows. */
static void malleate(const char *sig, char out[CC_P192_SIG_HEX_LEN + 1])
{
    mpz_t s, n;
    mpz_init_set_str(s, sig + 48, 16);
    mpz_init_set_str(n, P192_N, 16);
    mpz_sub(s, n, s);
    memcpy(out, sig, 48);
    mpz_hex48(s, out + 48);
    mpz_clears(s, n, NULL);
}

/* The signed message and its signature and key, taken from a signed_json. */
typedef struct vector_tx {
    json_t *root;
    const char *from;
    const char *signature;
    const char *message;
    bool valid;
} vector_tx;

static vector_tx vector_tx_at(const json_t *entry)
{
    vector_tx v = {0};
    v.root = json_loads(str_at(entry, "signed_json"), 0, NULL);
    assert_non_null(v.root);
    v.signature = str_at(v.root, "signature");
    v.from = str_at(json_object_get(v.root, "transaction"), "from");
    v.message = str_at(entry, "signed_message");
    v.valid = json_is_true(json_object_get(entry, "valid"));
    return v;
}

/* ---- hashes ------------------------------------------------------------ */

static void test_sha256_known_answers(void **state)
{
    (void)state;
    char hex[CC_SHA256_HEX_LEN + 1];
    sha256_hex_of("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha256_hex_of("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_hex_of(two_blocks, strlen(two_blocks), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

    /* A million 'a', fed in uneven pieces through the streaming interface. */
    char chunk[997];
    memset(chunk, 'a', sizeof chunk);
    cc_sha256_ctx ctx;
    cc_sha256_init(&ctx);
    size_t left = 1000000;
    while (left > 0) {
        size_t n = left < sizeof chunk ? left : sizeof chunk;
        cc_sha256_update(&ctx, chunk, n);
        left -= n;
    }
    uint8_t digest[CC_SHA256_LEN];
    cc_sha256_final(&ctx, digest);
    cc_hex_encode(digest, sizeof digest, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* The miner hashes a prefix once and copies the state per nonce. */
static void test_sha256_midstate_copy(void **state)
{
    (void)state;
    const char *prefix = "{\"nr\": 1,\"previous_hash\": \"...\",\"nonce\": \"";
    cc_sha256_ctx base;
    cc_sha256_init(&base);
    cc_sha256_update(&base, prefix, strlen(prefix));
    for (int i = 0; i < 3; i++) {
        char nonce[16];
        snprintf(nonce, sizeof nonce, "n%d\"}", i);
        cc_sha256_ctx ctx = base;
        cc_sha256_update(&ctx, nonce, strlen(nonce));
        uint8_t digest[CC_SHA256_LEN], whole[CC_SHA256_LEN];
        cc_sha256_final(&ctx, digest);
        char text[128];
        snprintf(text, sizeof text, "%s%s", prefix, nonce);
        cc_sha256(text, strlen(text), whole);
        assert_memory_equal(digest, whole, CC_SHA256_LEN);
    }
}

static void test_sha1_known_answers(void **state)
{
    (void)state;
    char hex[2 * CC_SHA1_LEN + 1];
    sha1_hex_of("", 0, hex);
    assert_string_equal(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    sha1_hex_of("abc", 3, hex);
    assert_string_equal(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
    const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha1_hex_of(two_blocks, strlen(two_blocks), hex);
    assert_string_equal(hex, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
}

/* ---- keys --------------------------------------------------------------- */

static void test_vector_keys(void **state)
{
    (void)state;
    json_t *root = load_json(VECTORS);
    const json_t *keys = json_object_get(root, "keys");
    assert_int_equal(json_array_size(keys), 3);
    size_t i;
    const json_t *entry;
    json_array_foreach(keys, i, entry) {
        uint8_t priv[CC_P192_PRIV_LEN];
        priv_from_hex(str_at(entry, "private_key_hex"), priv);
        cc_p192_key key;
        cc_err err = {0};
        assert_true(cc_p192_from_private(priv, &key, &err));
        assert_string_equal(key.pub_hex, str_at(entry, "public_key_hex"));
        assert_memory_equal(key.priv, priv, CC_P192_PRIV_LEN);
        assert_true(cc_p192_pubkey_valid(key.pub_hex));
    }
    json_decref(root);
}

/* 1 gives the generator; n - 1 gives its negation (x, p - y). */
static void test_scalar_edges(void **state)
{
    (void)state;
    uint8_t priv[CC_P192_PRIV_LEN] = {0};
    cc_p192_key key;
    cc_err err = {0};
    priv[CC_P192_PRIV_LEN - 1] = 1;
    assert_true(cc_p192_from_private(priv, &key, &err));
    assert_string_equal(key.pub_hex, P192_GX P192_GY);

    mpz_t n, p, y;
    mpz_init_set_str(n, P192_N, 16);
    mpz_init_set_str(p, P192_P, 16);
    mpz_init_set_str(y, P192_GY, 16);
    mpz_sub_ui(n, n, 1);
    char hex[49], expected[CC_P192_PUB_HEX_LEN + 1];
    mpz_hex48(n, hex);
    priv_from_hex(hex, priv);
    assert_true(cc_p192_from_private(priv, &key, &err));
    mpz_sub(y, p, y);
    memcpy(expected, P192_GX, 48);
    mpz_hex48(y, expected + 48);
    assert_string_equal(key.pub_hex, expected);
    mpz_clears(n, p, y, NULL);
}

static void assert_scalar_refused(const char *hex)
{
    uint8_t priv[CC_P192_PRIV_LEN];
    priv_from_hex(hex, priv);
    cc_p192_key key;
    cc_err err = {0};
    if (cc_p192_from_private(priv, &key, &err))
        fail_msg("scalar %s accepted", hex);
    assert_int_equal(err.code, CC_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "scalar"));
    assert_false(cc_p192_from_private(priv, &key, NULL));
}

static void test_scalar_out_of_range_refused(void **state)
{
    (void)state;
    assert_scalar_refused("000000000000000000000000000000000000000000000000");
    assert_scalar_refused(P192_N);
    assert_scalar_refused("ffffffffffffffffffffffff99def836146bc9b1b4d22832");
    assert_scalar_refused("ffffffffffffffffffffffffffffffffffffffffffffffff");
}

static void test_generate_gives_distinct_working_keys(void **state)
{
    (void)state;
    cc_p192_key a, b;
    cc_p192_generate(&a);
    cc_p192_generate(&b);
    assert_string_not_equal(a.pub_hex, b.pub_hex);
    assert_true(cc_is_lower_hex(a.pub_hex, CC_P192_PUB_HEX_LEN));
    cc_p192_key again;
    assert_true(cc_p192_from_private(a.priv, &again, NULL));
    assert_string_equal(again.pub_hex, a.pub_hex);
}

/* A key pasted in upper case is the same key once its hex digits are
 * lowercased (what the node does with keys users give it), while the wire's
 * rule stays: only the lowercase spelling is a key. Text that is no hex is
 * left exactly as it was. */
static void test_keys_in_either_case(void **state)
{
    (void)state;
    cc_p192_key key;
    cc_p192_generate(&key);
    char text[CC_P192_PUB_HEX_LEN + 1];
    for (size_t i = 0; i < CC_P192_PUB_HEX_LEN; i++)
        text[i] = (char)(i % 2 ? key.pub_hex[i] : toupper((unsigned char)key.pub_hex[i]));
    text[CC_P192_PUB_HEX_LEN] = '\0';
    assert_false(cc_is_lower_hex(text, CC_P192_PUB_HEX_LEN)); /* not a key on the wire */
    cc_hex_lowercase(text);
    assert_string_equal(text, key.pub_hex);
    char other[] = "0A1b2C3d4E5f Gg Zz xX \"\\ \xc3\x89";
    cc_hex_lowercase(other);
    assert_string_equal(other, "0a1b2c3d4e5f Gg Zz xX \"\\ \xc3\x89");
}

/* ---- signatures ---------------------------------------------------------- */

static void test_vector_signatures(void **state)
{
    (void)state;
    json_t *root = load_json(VECTORS);
    const json_t *txs = json_object_get(root, "transactions");
    assert_true(json_array_size(txs) >= 8);
    size_t i, n_valid = 0, n_invalid = 0;
    const json_t *entry;
    json_array_foreach(txs, i, entry) {
        vector_tx v = vector_tx_at(entry);
        bool ok = cc_p192_verify(v.from, v.message, strlen(v.message), v.signature);
        if (ok != v.valid)
            fail_msg("transaction vector %zu: verify gave %d, expected %d", i, ok, v.valid);
        n_valid += v.valid;
        n_invalid += !v.valid;
        json_decref(v.root);
    }
    assert_true(n_valid >= 7);
    assert_int_equal(n_invalid, 1);
    json_decref(root);
}

/* ECDSA signatures are malleable: (r, n - s) verifies as well as (r, s).
 * chain/ depends on this being true to know why it deduplicates by the
 * signed message rather than by the txid. */
static void test_malleated_signature_still_verifies(void **state)
{
    (void)state;
    json_t *root = load_json(VECTORS);
    vector_tx v = vector_tx_at(json_array_get(json_object_get(root, "transactions"), 0));
    char other[CC_P192_SIG_HEX_LEN + 1];
    malleate(v.signature, other);
    assert_string_not_equal(other, v.signature);
    assert_true(cc_p192_verify(v.from, v.message, strlen(v.message), other));
    json_decref(v.root);
    json_decref(root);
}

static void test_sign_verify_round_trip(void **state)
{
    (void)state;
    cc_p192_key key, other;
    cc_p192_generate(&key);
    cc_p192_generate(&other);
    const char *msg = "{\"from\": \"a\",\"to\": \"b\",\"sum\": 1,\"timestamp\": \"t\"}";
    char sig[CC_P192_SIG_HEX_LEN + 1], sig2[CC_P192_SIG_HEX_LEN + 1];
    cc_p192_sign(&key, msg, strlen(msg), sig);
    assert_int_equal(strlen(sig), CC_P192_SIG_HEX_LEN);
    assert_true(cc_is_lower_hex(sig, CC_P192_SIG_HEX_LEN));
    assert_true(cc_p192_verify(key.pub_hex, msg, strlen(msg), sig));
    /* Randomised nonce: a second signature differs and verifies too. */
    cc_p192_sign(&key, msg, strlen(msg), sig2);
    assert_string_not_equal(sig, sig2);
    assert_true(cc_p192_verify(key.pub_hex, msg, strlen(msg), sig2));
    /* Another key, another message, a shorter message: all invalid. */
    assert_false(cc_p192_verify(other.pub_hex, msg, strlen(msg), sig));
    assert_false(cc_p192_verify(key.pub_hex, "x", 1, sig));
    assert_false(cc_p192_verify(key.pub_hex, msg, strlen(msg) - 1, sig));
    /* A signature of the vector key over the same text verifies with it. */
    uint8_t priv[CC_P192_PRIV_LEN];
    priv_from_hex("0000000000000000000000000000000000000000000003e8", priv);
    cc_p192_key vector_key;
    assert_true(cc_p192_from_private(priv, &vector_key, NULL));
    cc_p192_sign(&vector_key, msg, strlen(msg), sig);
    assert_true(cc_p192_verify(vector_key.pub_hex, msg, strlen(msg), sig));
}

/* Every way a peer can send a broken signature or key: simply invalid,
 * never a crash. */
static void test_malformed_inputs_invalid(void **state)
{
    (void)state;
    json_t *root = load_json(VECTORS);
    vector_tx v = vector_tx_at(json_array_get(json_object_get(root, "transactions"), 0));
    const char *msg = v.message;
    size_t len = strlen(msg);
    assert_true(cc_p192_verify(v.from, msg, len, v.signature));

    char sig[CC_P192_SIG_HEX_LEN + 2], key[CC_P192_PUB_HEX_LEN + 2];

    /* Signature length. */
    snprintf(sig, sizeof sig, "%.95s", v.signature);
    assert_false(cc_p192_verify(v.from, msg, len, sig));
    snprintf(sig, sizeof sig, "%s0", v.signature);
    assert_false(cc_p192_verify(v.from, msg, len, sig));
    assert_false(cc_p192_verify(v.from, msg, len, ""));
    assert_false(cc_p192_verify(v.from, msg, len, "System"));
    /* Non-hex digit. */
    snprintf(sig, sizeof sig, "%s", v.signature);
    sig[10] = 'g';
    assert_false(cc_p192_verify(v.from, msg, len, sig));
    snprintf(sig, sizeof sig, "%s", v.signature);
    sig[95] = ' ';
    assert_false(cc_p192_verify(v.from, msg, len, sig));

    /* r or s zero, equal to the order, or above it. */
    char zeros[49];
    memset(zeros, '0', 48);
    zeros[48] = '\0';
    snprintf(sig, sizeof sig, "%s%s", zeros, v.signature + 48);
    assert_false(cc_p192_verify(v.from, msg, len, sig));
    snprintf(sig, sizeof sig, "%.48s%s", v.signature, zeros);
    assert_false(cc_p192_verify(v.from, msg, len, sig));
    snprintf(sig, sizeof sig, "%s%s", P192_N, v.signature + 48);
    assert_false(cc_p192_verify(v.from, msg, len, sig));
    snprintf(sig, sizeof sig, "%.48s%s", v.signature, P192_N);
    assert_false(cc_p192_verify(v.from, msg, len, sig));
    /* r + n and s + n still fit in 24 bytes for this r and s when they are
     * small enough; either way they must not verify. */
    mpz_t r, s, n, limit;
    mpz_init_set_str(n, P192_N, 16);
    mpz_init_set_str(limit, "1000000000000000000000000000000000000000000000000", 16);
    mpz_init(r);
    mpz_init(s);
    char r_text[49], s_text[49];
    memcpy(r_text, v.signature, 48);
    r_text[48] = '\0';
    memcpy(s_text, v.signature + 48, 48);
    s_text[48] = '\0';
    mpz_set_str(r, r_text, 16);
    mpz_set_str(s, s_text, 16);
    mpz_add(r, r, n);
    mpz_add(s, s, n);
    char hex[49];
    if (mpz_cmp(r, limit) < 0) {
        mpz_hex48(r, hex);
        snprintf(sig, sizeof sig, "%s%s", hex, s_text);
        assert_false(cc_p192_verify(v.from, msg, len, sig));
    }
    if (mpz_cmp(s, limit) < 0) {
        mpz_hex48(s, hex);
        snprintf(sig, sizeof sig, "%s%s", r_text, hex);
        assert_false(cc_p192_verify(v.from, msg, len, sig));
    }
    /* All ff: both above the order. */
    memset(sig, 'f', CC_P192_SIG_HEX_LEN);
    sig[CC_P192_SIG_HEX_LEN] = '\0';
    assert_false(cc_p192_verify(v.from, msg, len, sig));
    mpz_clears(r, s, n, limit, NULL);

    /* Keys: length, non-hex, off the curve, coordinates not below p. */
    snprintf(key, sizeof key, "%.95s", v.from);
    assert_false(cc_p192_pubkey_valid(key));
    assert_false(cc_p192_verify(key, msg, len, v.signature));
    snprintf(key, sizeof key, "%s0", v.from);
    assert_false(cc_p192_pubkey_valid(key));
    assert_false(cc_p192_verify(key, msg, len, v.signature));
    snprintf(key, sizeof key, "%s", v.from);
    key[3] = 'x';
    assert_false(cc_p192_pubkey_valid(key));
    assert_false(cc_p192_verify(key, msg, len, v.signature));
    snprintf(key, sizeof key, "%s", v.from);
    key[95] = key[95] == '0' ? '1' : '0'; /* y changed: off the curve */
    assert_false(cc_p192_pubkey_valid(key));
    assert_false(cc_p192_verify(key, msg, len, v.signature));
    memset(key, '0', CC_P192_PUB_HEX_LEN); /* (0, 0): not on P-192 */
    key[CC_P192_PUB_HEX_LEN] = '\0';
    assert_false(cc_p192_pubkey_valid(key));
    memset(key, 'f', CC_P192_PUB_HEX_LEN);
    assert_false(cc_p192_pubkey_valid(key));
    snprintf(key, sizeof key, "%s%s", P192_P, P192_GY);
    assert_false(cc_p192_pubkey_valid(key));
    assert_false(cc_p192_pubkey_valid(""));
    assert_true(cc_p192_pubkey_valid(P192_GX P192_GY));
    /* Y + p does not fit in 24 bytes, but G's x + p would not either;
     * (x, y) with y replaced by p - y is the point's negation: a valid,
     * different key under which the vector signature must fail. */
    mpz_t y, p;
    mpz_init_set_str(p, P192_P, 16);
    mpz_init_set_str(y, v.from + 48, 16);
    mpz_sub(y, p, y);
    memcpy(key, v.from, 48);
    mpz_hex48(y, key + 48);
    assert_true(cc_p192_pubkey_valid(key));
    assert_false(cc_p192_verify(key, msg, len, v.signature));
    mpz_clears(y, p, NULL);

    json_decref(v.root);
    json_decref(root);
}

/* A point with a small x, so that x + p still fits in 24 bytes: the same
 * point written with an unreduced coordinate must be refused, or one key
 * would have two spellings. */
static void test_unreduced_coordinate_refused(void **state)
{
    (void)state;
    mpz_t p, b, x, rhs, y, check;
    mpz_init_set_str(p, P192_P, 16);
    mpz_init_set_str(b, P192_B, 16);
    mpz_inits(x, rhs, y, check, NULL);
    bool found = false;
    for (unsigned long i = 0; i < 64 && !found; i++) {
        mpz_set_ui(x, i);
        mpz_pow_ui(rhs, x, 3);
        mpz_submul_ui(rhs, x, 3);
        mpz_add(rhs, rhs, b);
        mpz_mod(rhs, rhs, p);
        /* p = 3 mod 4: a square root is rhs^((p+1)/4) when one exists. */
        mpz_add_ui(check, p, 1);
        mpz_fdiv_q_2exp(check, check, 2);
        mpz_powm(y, rhs, check, p);
        mpz_powm_ui(check, y, 2, p);
        found = mpz_cmp(check, rhs) == 0;
    }
    assert_true(found);
    char key[CC_P192_PUB_HEX_LEN + 1];
    mpz_hex48(x, key);
    mpz_hex48(y, key + 48);
    assert_true(cc_p192_pubkey_valid(key));
    mpz_add(x, x, p);
    mpz_hex48(x, key);
    assert_false(cc_p192_pubkey_valid(key));
    mpz_clears(p, b, x, rhs, y, check, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_known_answers),
        cmocka_unit_test(test_sha256_midstate_copy),
        cmocka_unit_test(test_sha1_known_answers),
        cmocka_unit_test(test_vector_keys),
        cmocka_unit_test(test_scalar_edges),
        cmocka_unit_test(test_scalar_out_of_range_refused),
        cmocka_unit_test(test_generate_gives_distinct_working_keys),
        cmocka_unit_test(test_keys_in_either_case),
        cmocka_unit_test(test_vector_signatures),
        cmocka_unit_test(test_malleated_signature_still_verifies),
        cmocka_unit_test(test_sign_verify_round_trip),
        cmocka_unit_test(test_malformed_inputs_invalid),
        cmocka_unit_test(test_unreduced_coordinate_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

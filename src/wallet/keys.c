#include "wallet/keys.h"

#include <string.h>

#include "util/hex.h"
#include "wallet/payment.h"

/* ---- P-192 (http) ---- */

static bool p192_from_text(const char *path, const char *text, size_t len, void *key,
                           cc_err *err)
{
    uint8_t priv[CC_P192_PRIV_LEN];
    bool ok = len == 2 * CC_P192_PRIV_LEN && cc_hex_decode(text, sizeof priv, priv);
    if (!ok)
        cc_fail(err, CC_ERR_INTERNAL, "%s does not hold a 48-digit hex private key", path);
    else if (!cc_p192_from_private(priv, key, err))
        ok = cc_err_prefix(err, "%s: ", path);
    explicit_bzero(priv, sizeof priv);
    return ok;
}

static void p192_to_text(const void *key, cc_buf *text)
{
    const cc_p192_key *k = key;
    char hex[2 * CC_P192_PRIV_LEN + 1];
    cc_hex_encode(k->priv, CC_P192_PRIV_LEN, hex);
    cc_buf_puts(text, hex);
    explicit_bzero(hex, sizeof hex);
}

static void p192_generate(void *key, cc_buf *text)
{
    cc_p192_generate(key);
    p192_to_text(key, text);
}

static void p192_clear(void *key)
{
    explicit_bzero(key, sizeof(cc_p192_key));
}

static const char *p192_public(const cc_wallet_key *key)
{
    return key->p192.pub_hex;
}

static bool p192_pay(const cc_wallet_key *key, const char *to, const cc_number *amount,
                     const cc_stamp *stamp, cc_tx *out, cc_err *err)
{
    return cc_http_tx_create(&key->p192, to, amount, stamp->iso, out, err);
}

/* ---- RSA (cheese) ---- */

static bool rsa_from_text(const char *path, const char *text, size_t len, void *key, cc_err *err)
{
    if (len == 0 || strlen(text) != len)
        return cc_fail(err, CC_ERR_INTERNAL, "%s does not hold a hex RSA private key", path);
    cc_err why = {0};
    if (cc_rsa_from_private_hex(text, key, &why))
        return true;
    return cc_fail(err, CC_ERR_INTERNAL, "%s: %s", path, why.msg);
}

static void rsa_to_text(const void *key, cc_buf *text)
{
    const cc_rsa_key *k = key;
    cc_buf_puts(text, k->priv_hex);
}

static void rsa_generate(void *key, cc_buf *text)
{
    cc_rsa_generate(key);
    rsa_to_text(key, text);
}

static void rsa_clear(void *key)
{
    cc_rsa_key_clear(key);
}

static const char *rsa_public(const cc_wallet_key *key)
{
    return key->rsa.pub_hex;
}

static bool rsa_pay(const cc_wallet_key *key, const char *to, const cc_number *amount,
                    const cc_stamp *stamp, cc_tx *out, cc_err *err)
{
    (void)stamp; /* cheese payments carry no time */
    return cc_cheese_tx_create(&key->rsa, to, amount, out, err);
}

/* ---- the table ---- */

static const cc_key_kind p192_kind = {
    .network = "http",
    .file = {.max_len = 1024, .form = "48 hex digits, a P-192 private key",
             .from_text = p192_from_text, .generate = p192_generate, .clear = p192_clear,
             .to_text = p192_to_text},
    .public_hex = p192_public,
    .pay = p192_pay,
};

static const cc_key_kind rsa_kind = {
    .network = "cheese",
    .file = {.max_len = CC_RSA_PRIV_HEX_MAX + 16,
             .form = "the hex of a DER PKCS#1 RSA private key", .from_text = rsa_from_text,
             .generate = rsa_generate, .clear = rsa_clear, .to_text = rsa_to_text},
    .public_hex = rsa_public,
    .pay = rsa_pay,
};

static const cc_key_kind *const kinds[] = {&p192_kind, &rsa_kind};

const cc_key_kind *const *cc_key_kinds(size_t *count)
{
    *count = sizeof kinds / sizeof kinds[0];
    return kinds;
}

const cc_key_kind *cc_key_kind_named(const char *network)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kinds[i]->network, network) == 0)
            return kinds[i];
    return NULL;
}

const cc_key_kind *cc_key_kind_of(const cc_rules *rules)
{
    return cc_key_kind_named(rules->network);
}

bool cc_wallet_file_holds(const cc_key_kind *kind, const char *path, const char *pub)
{
    cc_wallet_key key;
    memset(&key, 0, sizeof key);
    if (!cc_wallet_file_read(&kind->file, path, &key, NULL))
        return false;
    bool same = strcmp(kind->public_hex(&key), pub) == 0;
    kind->file.clear(&key);
    return same;
}

bool cc_wallet_load_or_create(const char *path, cc_p192_key *key, bool *created,
                              const cc_log *log, cc_err *err)
{
    return cc_wallet_file_load_or_create(&p192_kind.file, path, key, created, log, err);
}

bool cc_wallet_rsa_load_or_create(const char *path, cc_rsa_key *key, bool *created,
                                  const cc_log *log, cc_err *err)
{
    return cc_wallet_file_load_or_create(&rsa_kind.file, path, key, created, log, err);
}

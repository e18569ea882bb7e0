#include "node/wallet_rsa.h"

#include <string.h>

#include "node/wallet_file.h"

static bool from_text(const char *path, const char *text, size_t len, void *key, cc_err *err)
{
    if (len == 0 || strlen(text) != len)
        return cc_fail(err, CC_ERR_INTERNAL, "%s does not hold a hex RSA private key", path);
    if (!cc_rsa_from_private_hex(text, key, err)) {
        err->code = CC_ERR_INTERNAL;
        return cc_err_prefix(err, "%s: ", path);
    }
    return true;
}

static void generate(void *key, cc_buf *text)
{
    cc_rsa_key *k = key;
    cc_rsa_generate(k);
    cc_buf_puts(text, k->priv_hex);
}

static void clear(void *key)
{
    cc_rsa_key_clear(key);
}

static const cc_wallet_file_kind rsa_file = {
    .max_len = CC_RSA_PRIV_HEX_MAX + 16, .from_text = from_text, .generate = generate,
    .clear = clear};

bool cc_wallet_rsa_load_or_create(const char *path, cc_rsa_key *key, bool *created,
                                  const cc_log *log, cc_err *err)
{
    return cc_wallet_file_load_or_create(&rsa_file, path, key, created, log, err);
}

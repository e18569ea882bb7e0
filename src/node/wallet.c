#include "node/wallet.h"

#include "node/wallet_file.h"
#include "util/hex.h"

static bool from_text(const char *path, const char *text, size_t len, void *key, cc_err *err)
{
    uint8_t priv[CC_P192_PRIV_LEN];
    if (len != 2 * CC_P192_PRIV_LEN || !cc_hex_decode(text, sizeof priv, priv))
        return cc_fail(err, CC_ERR_INTERNAL, "%s does not hold a 48-digit hex private key", path);
    if (!cc_p192_from_private(priv, key, err))
        return cc_err_prefix(err, "%s: ", path);
    return true;
}

static void generate(void *key, cc_buf *text)
{
    cc_p192_key *k = key;
    cc_p192_generate(k);
    char hex[2 * CC_P192_PRIV_LEN + 1];
    cc_hex_encode(k->priv, CC_P192_PRIV_LEN, hex);
    cc_buf_puts(text, hex);
}

static const cc_wallet_file_kind p192_file = {
    .max_len = 1024, .from_text = from_text, .generate = generate};

bool cc_wallet_load_or_create(const char *path, cc_p192_key *key, bool *created,
                              const cc_log *log, cc_err *err)
{
    return cc_wallet_file_load_or_create(&p192_file, path, key, created, log, err);
}

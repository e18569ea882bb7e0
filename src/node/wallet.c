#include "node/wallet.h"

#include <string.h>
#include <sys/stat.h>

#include "util/buf.h"
#include "util/fileio.h"
#include "util/hex.h"

static bool load(const char *path, cc_p192_key *key, const cc_log *log, cc_err *err)
{
    cc_buf text = CC_BUF_INIT;
    bool ok = cc_read_file(path, 1024, &text, err);
    while (ok && text.len > 0 && (text.data[text.len - 1] == '\n' || text.data[text.len - 1] == '\r'))
        text.data[--text.len] = '\0';
    uint8_t priv[CC_P192_PRIV_LEN];
    if (ok && (text.len != 2 * CC_P192_PRIV_LEN || !cc_hex_decode(text.data, sizeof priv, priv)))
        ok = cc_fail(err, CC_ERR_INTERNAL, "%s does not hold a 48-digit hex private key", path);
    if (ok && !cc_p192_from_private(priv, key, err))
        ok = cc_err_prefix(err, "%s: ", path);
    cc_buf_free(&text);
    struct stat st;
    if (ok && stat(path, &st) == 0 && (st.st_mode & 077)) {
        cc_warn(log, "%s was readable by others; restricting it to its owner", path);
        chmod(path, 0600);
    }
    return ok;
}

bool cc_wallet_load_or_create(const char *path, cc_p192_key *key, bool *created,
                              const cc_log *log, cc_err *err)
{
    cc_err why = {0};
    *created = false;
    if (load(path, key, log, &why))
        return true;
    if (why.code != CC_ERR_NOT_FOUND) {
        *err = why;
        return false;
    }
    cc_p192_generate(key);
    char hex[2 * CC_P192_PRIV_LEN + 2];
    cc_hex_encode(key->priv, CC_P192_PRIV_LEN, hex);
    strcat(hex, "\n");
    if (!cc_write_file_atomic(path, hex, strlen(hex), 0600, err))
        return false;
    *created = true;
    return true;
}

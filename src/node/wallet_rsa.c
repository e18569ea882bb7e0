#include "node/wallet_rsa.h"

#include <string.h>
#include <sys/stat.h>

#include "util/buf.h"
#include "util/fileio.h"

static bool load(const char *path, cc_rsa_key *key, const cc_log *log, cc_err *err)
{
    cc_buf text = CC_BUF_INIT;
    bool ok = cc_read_file(path, CC_RSA_PRIV_HEX_MAX + 16, &text, err);
    while (ok && text.len > 0 &&
           (text.data[text.len - 1] == '\n' || text.data[text.len - 1] == '\r'))
        text.data[--text.len] = '\0';
    if (ok && (text.len == 0 || strlen(text.data) != text.len))
        ok = cc_fail(err, CC_ERR_INTERNAL, "%s does not hold a hex RSA private key", path);
    if (ok && !cc_rsa_from_private_hex(text.data, key, err)) {
        err->code = CC_ERR_INTERNAL;
        ok = cc_err_prefix(err, "%s: ", path);
    }
    cc_buf_free(&text);
    struct stat st;
    if (ok && stat(path, &st) == 0 && (st.st_mode & 077)) {
        cc_warn(log, "%s was readable by others; restricting it to its owner", path);
        chmod(path, 0600);
    }
    return ok;
}

bool cc_wallet_rsa_load_or_create(const char *path, cc_rsa_key *key, bool *created,
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
    cc_rsa_generate(key);
    cc_buf text = CC_BUF_INIT;
    cc_buf_puts(&text, key->priv_hex);
    cc_buf_putc(&text, '\n');
    bool ok = cc_write_file_atomic(path, text.data, text.len, 0600, err);
    cc_buf_free(&text);
    if (!ok) {
        cc_rsa_key_clear(key);
        return false;
    }
    *created = true;
    return true;
}

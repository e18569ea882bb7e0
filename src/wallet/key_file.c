#include "wallet/key_file.h"

#include <string.h>

#include "util/fileio.h"

bool cc_wallet_file_read(const cc_wallet_file_kind *kind, const char *path, void *key,
                         cc_err *err)
{
    cc_buf text = CC_BUF_INIT;
    bool ok = cc_read_file(path, kind->max_len, &text, err);
    while (ok && text.len > 0 &&
           (text.data[text.len - 1] == '\n' || text.data[text.len - 1] == '\r'))
        text.data[--text.len] = '\0';
    if (ok)
        ok = kind->from_text(path, text.data, text.len, key, err);
    if (text.data)
        explicit_bzero(text.data, text.cap);
    cc_buf_free(&text);
    return ok;
}

static bool load(const cc_wallet_file_kind *kind, const char *path, void *key,
                 const cc_log *log, cc_err *err)
{
    return cc_wallet_file_read(kind, path, key, err) && cc_restrict_to_owner(path, log, err);
}

bool cc_wallet_file_load_or_create(const cc_wallet_file_kind *kind, const char *path, void *key,
                                   bool *created, const cc_log *log, cc_err *err)
{
    cc_err why = {0};
    *created = false;
    if (load(kind, path, key, log, &why))
        return true;
    if (why.code != CC_ERR_NOT_FOUND) {
        *err = why;
        return false;
    }
    cc_buf text = CC_BUF_INIT;
    kind->generate(key, &text);
    cc_buf_putc(&text, '\n');
    bool ok = cc_write_file_atomic(path, text.data, text.len, 0600, err);
    explicit_bzero(text.data, text.cap);
    cc_buf_free(&text);
    if (!ok) {
        if (kind->clear)
            kind->clear(key);
        return false;
    }
    *created = true;
    return true;
}

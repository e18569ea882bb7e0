#include "wallet/key_file.h"

#include <string.h>

#include "util/fileio.h"

bool cc_wallet_text_read(const cc_wallet_file_kind *kind, const char *name, const char *text,
                         size_t len, void *key, cc_err *err)
{
    if (len > kind->max_len)
        return cc_fail(err, CC_ERR_TOO_LARGE, "%s is larger than %zu bytes: it is no key file",
                       name, kind->max_len);
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        len--;
    if (len == 0)
        return cc_fail(err, CC_ERR_INTERNAL, "%s is empty: it holds no key", name);
    /* from_text wants its own NUL-terminated copy, wiped after */
    cc_buf copy = CC_BUF_INIT;
    cc_buf_append(&copy, text, len);
    bool ok = kind->from_text(name, copy.data, copy.len, key, err);
    explicit_bzero(copy.data, copy.cap);
    cc_buf_free(&copy);
    return ok;
}

bool cc_wallet_file_read(const cc_wallet_file_kind *kind, const char *path, void *key,
                         cc_err *err)
{
    cc_buf text = CC_BUF_INIT;
    bool ok = cc_read_file(path, kind->max_len, &text, err) &&
              cc_wallet_text_read(kind, path, text.data, text.len, key, err);
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

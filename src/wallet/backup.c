#include "wallet/backup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "consensus/rules.h"
#include "util/atomic_file.h"
#include "util/dirlock.h"
#include "util/fileio.h"
#include "util/mem.h"

#define MAX_KINDS 8
#define MAX_ASIDE_NAMES 100 /* WALLET.replaced-<time>, then -2, -3, ... within one second */

void cc_wallet_outcome_free(cc_wallet_outcome *out)
{
    free(out->wallet);
    free(out->pub);
    free(out->copy);
    *out = (cc_wallet_outcome){0};
}

static const char *file_name(const cc_key_kind *kind)
{
    return cc_rules_find(kind->network)->wallet_file;
}

/* A directory with a wallet of each network: which one is meant? */
static bool two_wallets(const char *datadir, const cc_key_kind *const *found, cc_err *err)
{
    return cc_fail(err, CC_ERR_BAD_REQUEST, "%.120s holds a wallet of each network (%s: %s, "
                   "%s: %s): name the network", datadir, file_name(found[0]), found[0]->network,
                   file_name(found[1]), found[1]->network);
}

static char *join(const char *dir, const char *name)
{
    cc_buf b = CC_BUF_INIT;
    cc_buf_printf(&b, "%s/%s", dir, name);
    return b.data;
}

/* What a user is shown: the path from the root, its folder resolved but
 * not its last name (a wallet that is a symbolic link is shown as itself). */
static char *absolute(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? cc_strndup(path, slash == path ? 1 : (size_t)(slash - path))
                      : cc_strdup(".");
    char *real = realpath(dir, NULL);
    free(dir);
    if (!real)
        return cc_strdup(path);
    cc_buf b = CC_BUF_INIT;
    cc_buf_printf(&b, "%s%s%s", real, strcmp(real, "/") == 0 ? "" : "/",
                  slash ? slash + 1 : path);
    free(real);
    return b.data;
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

size_t cc_wallet_present(const char *datadir, const cc_key_kind **found, size_t max)
{
    size_t count, n = 0;
    const cc_key_kind *const *kinds = cc_key_kinds(&count);
    for (size_t i = 0; i < count; i++) {
        char *path = join(datadir, file_name(kinds[i]));
        if (exists(path)) {
            if (n < max)
                found[n] = kinds[i];
            n++;
        }
        free(path);
    }
    return n;
}

/* The kind of the wallet of datadir and its path (the caller's). */
static bool locate(const char *datadir, const char *network, const cc_key_kind **kind,
                   char **path, cc_err *err)
{
    if (network) {
        *kind = cc_key_kind_named(network);
        if (!*kind)
            return cc_fail(err, CC_ERR_BAD_REQUEST, "no network is called '%.40s'", network);
        *path = join(datadir, file_name(*kind));
        if (exists(*path))
            return true;
        free(*path);
        *path = NULL;
        return cc_fail(err, CC_ERR_NOT_FOUND, "%.120s has no %s (no %s network wallet)",
                       datadir, file_name(*kind), network);
    }
    const cc_key_kind *found[MAX_KINDS];
    size_t n = cc_wallet_present(datadir, found, MAX_KINDS);
    if (n == 0)
        return cc_fail(err, CC_ERR_NOT_FOUND, "%.120s holds no wallet (%s or %s)", datadir,
                       cc_rules_find("http")->wallet_file, cc_rules_find("cheese")->wallet_file);
    if (n > 1)
        return two_wallets(datadir, found, err);
    *kind = found[0];
    *path = join(datadir, file_name(*kind));
    return true;
}

/* ---- files that appear whole ------------------------------------------------------ */

/* Writes data to a new temporary file beside target (mode 0600) and
 * fsyncs it; *tmp is its path (the caller's) on success. The name is the
 * one util/atomic_file.h uses, so that its sweep knows a leftover. */
static bool temp_write(const char *target, const void *data, size_t len, char **tmp,
                       cc_err *err)
{
    size_t cap = strlen(target) + 40;
    char *name = cc_malloc(cap);
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        snprintf(name, cap, "%s.tmp.%ld.%d", target, (long)getpid(), attempt);
        fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        cc_fail(err, CC_ERR_INTERNAL, "cannot create %s: %s", target, strerror(errno));
        free(name);
        return false;
    }
    /* a umask never widens 0600, but one could narrow it below the owner's
     * read, and the copy must be readable to be checked and used */
    bool ok = fchmod(fd, 0600) == 0;
    const char *p = data;
    size_t left = len;
    while (ok && left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        ok = n > 0;
        if (ok) {
            p += n;
            left -= (size_t)n;
        }
    }
    ok = ok && fsync(fd) == 0;
    int saved = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (!ok) {
        cc_fail(err, CC_ERR_INTERNAL, "cannot write %s: %s", name, strerror(saved));
        unlink(name);
        free(name);
        return false;
    }
    *tmp = name;
    return true;
}

/* True when the file at path reads, through the node's reader, as the key
 * whose public key is pub. */
static bool reads_back(const cc_key_kind *kind, const char *path, const char *pub, cc_err *err)
{
    cc_wallet_key key;
    memset(&key, 0, sizeof key);
    cc_err why = {0};
    if (!cc_wallet_file_read(&kind->file, path, &key, &why))
        return cc_fail(err, CC_ERR_INTERNAL, "the copy does not read back as a key: %s", why.msg);
    bool same = strcmp(kind->public_hex(&key), pub) == 0;
    kind->file.clear(&key);
    if (!same)
        return cc_fail(err, CC_ERR_INTERNAL, "the copy %s reads back as another key", path);
    return true;
}

/* Gives tmp the name dest, which must not exist: a rename that refuses to
 * replace, or a hard link where the file system cannot rename so. */
static bool name_new(const char *tmp, const char *dest, cc_err *err)
{
    int why = 0;
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dest, RENAME_NOREPLACE) == 0)
        return true;
    why = errno;
    if (why == EINVAL || why == ENOSYS || why == ENOTSUP) {
        if (link(tmp, dest) == 0) {
            unlink(tmp);
            return true;
        }
        why = errno;
    }
    if (why == EEXIST)
        return cc_fail(err, CC_ERR_FORBIDDEN, "%s exists already; it is left as it is (give "
                       "a name that is not taken, or move it away first)", dest);
    return cc_fail(err, CC_ERR_INTERNAL, "cannot create %s: %s", dest, strerror(why));
}

/* ---- reading keys ------------------------------------------------------------------ */

static size_t largest_file(void)
{
    size_t count, max = 0;
    const cc_key_kind *const *kinds = cc_key_kinds(&count);
    for (size_t i = 0; i < count; i++)
        if (kinds[i]->file.max_len > max)
            max = kinds[i]->file.max_len;
    return max;
}

/* The text of source ("-": stdin), at most the largest key file. */
static bool read_source(const char *source, const char *name, cc_buf *text, cc_err *err)
{
    size_t max = largest_file();
    if (strcmp(source, "-") != 0)
        return cc_read_file(source, max, text, err);
    char chunk[1024];
    bool ok = true;
    for (;;) {
        ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ok = cc_fail(err, CC_ERR_INTERNAL, "cannot read %s: %s", name, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        if (text->len + (size_t)n > max) {
            ok = cc_fail(err, CC_ERR_TOO_LARGE, "%s is larger than %zu bytes: it is no key "
                         "file", name, max);
            break;
        }
        cc_buf_append(text, chunk, (size_t)n);
    }
    explicit_bzero(chunk, sizeof chunk);
    if (ok && !text->data)
        cc_buf_append(text, "", 0);
    return ok;
}

/* The one kind whose reader takes text, or NULL (none, or several). */
static const cc_key_kind *kind_of_text(const char *text, size_t len)
{
    size_t count;
    const cc_key_kind *const *kinds = cc_key_kinds(&count);
    const cc_key_kind *found = NULL;
    for (size_t i = 0; i < count; i++) {
        cc_wallet_key key;
        memset(&key, 0, sizeof key);
        if (!cc_wallet_text_read(&kinds[i]->file, "", text, len, &key, NULL))
            continue;
        kinds[i]->file.clear(&key);
        if (found)
            return NULL;
        found = kinds[i];
    }
    return found;
}

/* The network a restore writes: the one named, else the wallet's there,
 * else the key's own. */
static bool restore_kind(const char *datadir, const char *network, const char *name,
                         const cc_buf *text, const cc_key_kind **kind, cc_err *err)
{
    if (network) {
        *kind = cc_key_kind_named(network);
        return *kind ? true : cc_fail(err, CC_ERR_BAD_REQUEST, "no network is called '%.40s'",
                                      network);
    }
    const cc_key_kind *found[MAX_KINDS];
    size_t n = cc_wallet_present(datadir, found, MAX_KINDS);
    if (n > 1)
        return two_wallets(datadir, found, err);
    if (n == 1) {
        *kind = found[0];
        return true;
    }
    *kind = kind_of_text(text->data, text->len);
    if (*kind)
        return true;
    size_t len = text->len;
    while (len > 0 && (text->data[len - 1] == '\n' || text->data[len - 1] == '\r'))
        len--;
    if (len == 0)
        return cc_fail(err, CC_ERR_INTERNAL, "%s is empty: it holds no key", name);
    size_t count;
    const cc_key_kind *const *kinds = cc_key_kinds(&count);
    cc_buf forms = CC_BUF_INIT;
    for (size_t i = 0; i < count; i++)
        cc_buf_printf(&forms, "%s%s: %s", i ? "; " : "", kinds[i]->network,
                      kinds[i]->file.form);
    cc_fail(err, CC_ERR_INTERNAL, "%s holds no private key of any network (%s)", name,
            forms.data);
    cc_buf_free(&forms);
    return false;
}

/* Reads text as a key of kind; a key of another network is named as such. */
static bool read_key(const cc_key_kind *kind, const char *name, const char *wallet,
                     const cc_buf *text, cc_wallet_key *key, cc_err *err)
{
    cc_err why = {0};
    if (cc_wallet_text_read(&kind->file, name, text->data, text->len, key, &why))
        return true;
    const cc_key_kind *other = kind_of_text(text->data, text->len);
    if (other && other != kind)
        return cc_fail(err, CC_ERR_INTERNAL, "%s holds a key of the %s network, not of the %s "
                       "network (%s)", name, other->network, kind->network, wallet);
    *err = why;
    return false;
}

/* ---- backup and export ------------------------------------------------------------- */

bool cc_wallet_backup(const char *datadir, const char *network, const char *dest,
                      cc_wallet_outcome *out, cc_err *err)
{
    *out = (cc_wallet_outcome){0};
    const cc_key_kind *kind = NULL;
    char *wallet = NULL;
    if (!locate(datadir, network, &kind, &wallet, err))
        return false;
    out->kind = kind;
    out->wallet = absolute(wallet);
    /* the very bytes copied are the ones checked: nothing can change between */
    cc_buf bytes = CC_BUF_INIT;
    cc_wallet_key key;
    memset(&key, 0, sizeof key);
    bool ok = cc_read_file(wallet, kind->file.max_len, &bytes, err) &&
              cc_wallet_text_read(&kind->file, wallet, bytes.data, bytes.len, &key, err);
    if (ok) {
        out->pub = cc_strdup(kind->public_hex(&key));
        kind->file.clear(&key);
    } else {
        cc_err_prefix(err, "no backup made: ");
    }
    if (ok && exists(dest))
        ok = cc_fail(err, CC_ERR_FORBIDDEN, "%s exists already; it is left as it is (give a "
                     "name that is not taken, or move it away first)", dest);
    char *tmp = NULL;
    if (ok && temp_write(dest, bytes.data, bytes.len, &tmp, err)) {
        ok = reads_back(kind, tmp, out->pub, err) && name_new(tmp, dest, err);
        if (!ok)
            unlink(tmp);
        else
            cc_fsync_dir_of(dest);
        free(tmp);
    } else {
        ok = false;
    }
    cc_buf_wipe(&bytes);
    free(wallet);
    if (ok)
        out->copy = absolute(dest);
    else
        cc_wallet_outcome_free(out);
    return ok;
}

bool cc_wallet_export(const char *datadir, const char *network, cc_buf *text,
                      cc_wallet_outcome *out, cc_err *err)
{
    *out = (cc_wallet_outcome){0};
    const cc_key_kind *kind = NULL;
    char *wallet = NULL;
    if (!locate(datadir, network, &kind, &wallet, err))
        return false;
    cc_wallet_key key;
    memset(&key, 0, sizeof key);
    bool ok = cc_wallet_file_read(&kind->file, wallet, &key, err);
    if (ok) {
        out->kind = kind;
        out->wallet = absolute(wallet);
        out->pub = cc_strdup(kind->public_hex(&key));
        kind->file.to_text(&key, text);
        cc_buf_putc(text, '\n');
        kind->file.clear(&key);
    }
    free(wallet);
    return ok;
}

/* ---- restore ----------------------------------------------------------------------- */

/* Keeps the wallet under a name of its own that nothing had: a second
 * link to it when the file system has them (the wallet's name never stops
 * naming a key), else the wallet renamed (*moved). *aside is the caller's. */
/* Run as root (sudo cheese-cli ... wallet restore), the new wallet and
 * the lock file are given the data directory's owner: a node running as
 * that user (a systemd unit's) could not open files of root's, mode 0600. */
static bool owned_like_datadir(const char *tmp, const char *datadir, cc_err *err)
{
    struct stat st;
    if (geteuid() != 0 || stat(datadir, &st) != 0 || st.st_uid == 0)
        return true;
    if (chown(tmp, st.st_uid, st.st_gid) != 0)
        return cc_fail(err, CC_ERR_INTERNAL, "cannot give %s to the owner of %s: %s", tmp,
                       datadir, strerror(errno));
    return true;
}

static bool keep_aside(const char *wallet, time_t now, char **aside, bool *moved, cc_err *err)
{
    struct tm tm;
    char stamp[32];
    if (!gmtime_r(&now, &tm) || !strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm))
        snprintf(stamp, sizeof stamp, "%lld", (long long)now);
    cc_buf name = CC_BUF_INIT;
    for (int n = 1; n <= MAX_ASIDE_NAMES; n++) {
        cc_buf_reset(&name);
        cc_buf_printf(&name, "%s.replaced-%s", wallet, stamp);
        if (n > 1)
            cc_buf_printf(&name, "-%d", n);
        *moved = false;
        int why = link(wallet, name.data) == 0 ? 0 : errno;
        if (why != 0 && why != EEXIST) {
            *moved = true;
            why = renameat2(AT_FDCWD, wallet, AT_FDCWD, name.data, RENAME_NOREPLACE) == 0
                      ? 0 : errno;
        }
        if (why == 0) {
            cc_fsync_dir_of(wallet);
            *aside = name.data;
            return true;
        }
        if (why != EEXIST) {
            cc_fail(err, CC_ERR_INTERNAL, "cannot keep %s as %s: %s", wallet, name.data,
                    strerror(why));
            cc_buf_free(&name);
            return false;
        }
    }
    cc_fail(err, CC_ERR_INTERNAL, "cannot keep %s: %d copies named %s.replaced-%s... exist",
            wallet, MAX_ASIDE_NAMES, wallet, stamp);
    cc_buf_free(&name);
    return false;
}

/* With the directory locked: the wallet file made to hold key. */
static bool put_in_place(const cc_key_kind *kind, const char *datadir, const cc_wallet_key *key,
                         time_t now, cc_wallet_outcome *out, cc_err *err)
{
    char *wallet = join(datadir, file_name(kind));
    out->kind = kind;
    out->pub = cc_strdup(kind->public_hex(key));
    bool had = exists(wallet);
    if (had) {
        cc_wallet_key old;
        memset(&old, 0, sizeof old);
        /* a wallet that cannot be read is kept aside like any other */
        if (cc_wallet_file_read(&kind->file, wallet, &old, NULL)) {
            bool same = strcmp(kind->public_hex(&old), out->pub) == 0;
            kind->file.clear(&old);
            if (same) {
                out->wallet = absolute(wallet);
                free(wallet);
                return true;
            }
        }
    }
    cc_buf text = CC_BUF_INIT;
    kind->file.to_text(key, &text);
    cc_buf_putc(&text, '\n');
    char *tmp = NULL, *aside = NULL;
    bool moved = false;
    bool ok = temp_write(wallet, text.data, text.len, &tmp, err);
    cc_buf_wipe(&text);
    ok = ok && reads_back(kind, tmp, out->pub, err);
    if (ok && had && !keep_aside(wallet, now, &aside, &moved, err))
        ok = false;
    ok = ok && owned_like_datadir(tmp, datadir, err);
    if (ok && rename(tmp, wallet) != 0) {
        int why = errno;
        /* undo: the old key back under its name */
        bool undone = true;
        if (aside && moved)
            undone = renameat2(AT_FDCWD, aside, AT_FDCWD, wallet, RENAME_NOREPLACE) == 0;
        else if (aside)
            unlink(aside); /* a second name of the file the wallet still is */
        if (undone)
            ok = cc_fail(err, CC_ERR_INTERNAL, "cannot rename %s to %s: %s", tmp, wallet,
                         strerror(why));
        else
            ok = cc_fail(err, CC_ERR_INTERNAL, "cannot rename %s to %s: %s; the old wallet "
                         "is kept as %s: rename it back to %s", tmp, wallet, strerror(why),
                         aside, wallet);
        free(aside);
        aside = NULL;
    }
    if (tmp && !ok)
        unlink(tmp);
    free(tmp);
    if (ok) {
        cc_fsync_dir_of(wallet);
        out->changed = true;
        out->copy = aside ? absolute(aside) : NULL;
        free(aside);
        out->wallet = absolute(wallet);
        cc_err why = {0};
        if (!reads_back(kind, wallet, out->pub, &why))
            ok = cc_fail(err, CC_ERR_INTERNAL, "%s does not hold the key restored (%s); the "
                         "wallet it replaced is %s", wallet, why.msg,
                         out->copy ? out->copy : "none");
    }
    free(wallet);
    return ok;
}

bool cc_wallet_restore(const char *datadir, const char *network, const char *source, time_t now,
                       cc_wallet_outcome *out, cc_err *err)
{
    *out = (cc_wallet_outcome){0};
    const char *name = strcmp(source, "-") == 0 ? "stdin" : source;
    cc_buf text = CC_BUF_INIT;
    bool ok = read_source(source, name, &text, err);
    /* the key is checked before anything is created or locked: a bad file
     * leaves no trace; put_in_place looks at the wallet again under the lock */
    const cc_key_kind *kind = NULL;
    ok = ok && restore_kind(datadir, network, name, &text, &kind, err);
    cc_wallet_key key;
    memset(&key, 0, sizeof key);
    bool have_key = false;
    if (ok) {
        char *wallet = join(datadir, file_name(kind));
        ok = have_key = read_key(kind, name, wallet, &text, &key, err);
        free(wallet);
    }
    cc_dir_lock lock = CC_DIR_LOCK_INIT;
    if (ok && !(cc_mkdir_p(datadir, err) && cc_dir_lock_take(&lock, datadir, err)))
        ok = cc_err_prefix(err, "wallet not changed: ");
    if (ok) { /* a lock file root made would keep the node's user out */
        char *lock_file = join(datadir, ".lock");
        ok = owned_like_datadir(lock_file, datadir, err);
        free(lock_file);
    }
    ok = ok && put_in_place(kind, datadir, &key, now, out, err);
    if (have_key)
        kind->file.clear(&key);
    cc_dir_lock_release(&lock);
    cc_buf_wipe(&text);
    if (!ok)
        cc_wallet_outcome_free(out);
    return ok;
}

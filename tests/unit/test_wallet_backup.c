/* Unit tests for wallet/backup: a backup is a byte-for-byte copy of mode
 * 0600 that never takes an existing file's name; a restore refuses every
 * bad source (empty, not hex, the other network's key, too long,
 * unreadable, missing) and a locked directory with nothing changed or
 * created, keeps the wallet it replaces under a name of its own (another
 * one when that is taken), and writes nothing when the key is there
 * already; an export reads back through a restore as the same key; a
 * directory with a wallet of each network needs the network named. Both
 * networks' keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "consensus/rules.h"
#include "util/buf.h"
#include "util/dirlock.h"
#include "util/fileio.h"
#include "wallet/backup.h"
#include "wallet/keys.h"

#define WHEN ((time_t)1704164645) /* 2024-01-02T03:04:05Z */

typedef struct scratch {
    char root[64];
    char data[96];  /* a data directory, not made yet */
    char other[96]; /* files outside it */
} scratch;

static int setup(void **state)
{
    scratch *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    snprintf(s->root, sizeof s->root, "/tmp/cc-wallet-backup-XXXXXX");
    if (!mkdtemp(s->root))
        return -1;
    snprintf(s->data, sizeof s->data, "%s/data", s->root);
    snprintf(s->other, sizeof s->other, "%s/other", s->root);
    if (mkdir(s->other, 0700) != 0)
        return -1;
    *state = s;
    return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    scratch *s = *state;
    nftw(s->root, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    free(s);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------- */

static char *path_in(const char *dir, const char *name)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    assert_non_null(p);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

static void write_bytes(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
}

static void write_text(const char *path, const char *text)
{
    write_bytes(path, text, strlen(text));
}

/* The file's contents (the caller frees), or NULL when it cannot be read. */
static char *contents(const char *path)
{
    cc_buf b = CC_BUF_INIT;
    if (!cc_read_file(path, 1 << 20, &b, NULL)) {
        cc_buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* The names in dir, sorted, one per line after a "|" ("" when empty):
 * a listing to compare before and after. Hidden files included. */
static char *listing(const char *dir)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    cc_buf b = CC_BUF_INIT;
    cc_buf_puts(&b, "");
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, ".."))
            cc_buf_printf(&b, "|%s", names[i]->d_name);
        free(names[i]);
    }
    if (n >= 0)
        free(names);
    return b.data;
}

static const cc_key_kind *kind_of(const char *network)
{
    return cc_key_kind_of(cc_rules_find(network));
}

/* A new wallet of network in dir (made as the node makes it); returns its
 * public key (the caller frees). */
static char *make_wallet(const char *dir, const char *network)
{
    const cc_key_kind *kind = kind_of(network);
    char *path = path_in(dir, cc_rules_find(network)->wallet_file);
    cc_wallet_key key;
    memset(&key, 0, sizeof key);
    bool created = false;
    cc_err err = {0};
    assert_true(cc_mkdir_p(dir, &err));
    assert_true(cc_wallet_file_load_or_create(&kind->file, path, &key, &created, NULL, &err));
    assert_true(created);
    char *pub = strdup(kind->public_hex(&key));
    kind->file.clear(&key);
    free(path);
    return pub;
}

/* A key file of network at path holding a new key; returns its public key. */
static char *make_key_file(const char *path, const char *network)
{
    const cc_key_kind *kind = kind_of(network);
    cc_wallet_key key;
    memset(&key, 0, sizeof key);
    cc_buf text = CC_BUF_INIT;
    kind->file.generate(&key, &text);
    cc_buf_putc(&text, '\n');
    write_bytes(path, text.data, text.len);
    cc_buf_free(&text);
    char *pub = strdup(kind->public_hex(&key));
    kind->file.clear(&key);
    return pub;
}

/* The public key the file at path holds, or NULL. */
static char *pub_of(const char *path, const char *network)
{
    const cc_key_kind *kind = kind_of(network);
    cc_wallet_key key;
    memset(&key, 0, sizeof key);
    if (!cc_wallet_file_read(&kind->file, path, &key, NULL))
        return NULL;
    char *pub = strdup(kind->public_hex(&key));
    kind->file.clear(&key);
    return pub;
}

static int mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (int)(st.st_mode & 0777);
}

/* ---- backup ------------------------------------------------------------------------- */

static void backup_copies(scratch *s, const char *network)
{
    char *pub = make_wallet(s->data, network);
    char *wallet = path_in(s->data, cc_rules_find(network)->wallet_file);
    char *dest = path_in(s->other, "wallet.bak");
    cc_wallet_outcome out;
    cc_err err = {0};
    assert_true(cc_wallet_backup(s->data, NULL, dest, &out, &err));
    assert_string_equal(out.kind->network, network);
    assert_string_equal(out.pub, pub);
    assert_string_equal(out.copy, dest);
    assert_string_equal(out.wallet, wallet);
    char *a = contents(wallet), *b = contents(dest);
    assert_string_equal(a, b);
    assert_int_equal(mode_of(dest), 0600);
    char *names = listing(s->other);
    assert_string_equal(names, "|wallet.bak"); /* no temporary file left */
    free(names);
    cc_wallet_outcome_free(&out);

    /* the network named gives the same */
    char *dest2 = path_in(s->other, "again.bak");
    assert_true(cc_wallet_backup(s->data, network, dest2, &out, &err));
    char *c = contents(dest2);
    assert_string_equal(a, c);
    cc_wallet_outcome_free(&out);
    free(a), free(b), free(c), free(dest2), free(dest), free(wallet), free(pub);
}

static void test_backup_http(void **state)
{
    backup_copies(*state, "http");
}

static void test_backup_cheese(void **state)
{
    backup_copies(*state, "cheese");
}

static void test_backup_never_overwrites(void **state)
{
    scratch *s = *state;
    char *pub = make_wallet(s->data, "http");
    char *dest = path_in(s->other, "taken");
    write_text(dest, "precious\n");
    cc_wallet_outcome out;
    cc_err err = {0};
    assert_false(cc_wallet_backup(s->data, NULL, dest, &out, &err));
    assert_int_equal(err.code, CC_ERR_FORBIDDEN);
    assert_non_null(strstr(err.msg, "exists already"));
    assert_null(out.pub);
    char *text = contents(dest);
    assert_string_equal(text, "precious\n");
    char *names = listing(s->other);
    assert_string_equal(names, "|taken");
    /* nor a link that dangles */
    char *link_dest = path_in(s->other, "dangling");
    assert_int_equal(symlink("/nonexistent/target", link_dest), 0);
    assert_false(cc_wallet_backup(s->data, NULL, link_dest, &out, &err));
    assert_int_equal(err.code, CC_ERR_FORBIDDEN);
    free(names), free(text), free(dest), free(pub), free(link_dest);
}

static void test_backup_refuses_what_is_no_wallet(void **state)
{
    scratch *s = *state;
    char *dest = path_in(s->other, "wallet.bak");
    cc_wallet_outcome out;
    cc_err err = {0};
    /* no directory, then no wallet in it */
    assert_false(cc_wallet_backup(s->data, NULL, dest, &out, &err));
    assert_int_equal(err.code, CC_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "holds no wallet"));
    assert_int_equal(mkdir(s->data, 0700), 0);
    assert_false(cc_wallet_backup(s->data, NULL, dest, &out, &err));
    assert_int_equal(err.code, CC_ERR_NOT_FOUND);
    /* a wallet that holds no key is not copied as if it were one */
    char *wallet = path_in(s->data, "wallet.key");
    write_text(wallet, "not a key\n");
    assert_false(cc_wallet_backup(s->data, NULL, dest, &out, &err));
    assert_non_null(strstr(err.msg, "no backup made"));
    assert_non_null(strstr(err.msg, wallet));
    /* the network named, and its file missing */
    assert_false(cc_wallet_backup(s->data, "cheese", dest, &out, &err));
    assert_int_equal(err.code, CC_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "wallet-rsa.key"));
    assert_false(cc_wallet_backup(s->data, "cheddar", dest, &out, &err));
    assert_int_equal(err.code, CC_ERR_BAD_REQUEST);
    char *names = listing(s->other);
    assert_string_equal(names, "");
    /* a folder that does not exist */
    unlink(wallet);
    free(make_wallet(s->data, "http"));
    char *nowhere = path_in(s->other, "no/such/dir/w.bak");
    assert_false(cc_wallet_backup(s->data, NULL, nowhere, &out, &err));
    assert_non_null(strstr(err.msg, "cannot create"));
    free(names), free(wallet), free(dest), free(nowhere);
}

static void test_both_networks_need_a_name(void **state)
{
    scratch *s = *state;
    char *http_pub = make_wallet(s->data, "http");
    char *cheese_pub = make_wallet(s->data, "cheese");
    const cc_key_kind *found[4];
    assert_int_equal(cc_wallet_present(s->data, found, 4), 2);
    assert_string_equal(found[0]->network, "http");
    assert_string_equal(found[1]->network, "cheese");
    char *dest = path_in(s->other, "w.bak");
    cc_wallet_outcome out;
    cc_err err = {0};
    assert_false(cc_wallet_backup(s->data, NULL, dest, &out, &err));
    assert_int_equal(err.code, CC_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "each network"));
    cc_buf text = CC_BUF_INIT;
    assert_false(cc_wallet_export(s->data, NULL, &text, &out, &err));
    assert_int_equal(text.len, 0);
    assert_true(cc_wallet_backup(s->data, "cheese", dest, &out, &err));
    assert_string_equal(out.pub, cheese_pub);
    cc_wallet_outcome_free(&out);
    assert_true(cc_wallet_export(s->data, "http", &text, &out, &err));
    assert_string_equal(out.pub, http_pub);
    cc_wallet_outcome_free(&out);
    cc_buf_free(&text);
    free(dest), free(http_pub), free(cheese_pub);
}

/* ---- export and restore ---------------------------------------------------------------- */

static void export_imports_back(scratch *s, const char *network)
{
    char *pub = make_wallet(s->data, network);
    cc_wallet_outcome out;
    cc_err err = {0};
    cc_buf text = CC_BUF_INIT;
    assert_true(cc_wallet_export(s->data, NULL, &text, &out, &err));
    assert_string_equal(out.pub, pub);
    assert_null(out.copy);
    cc_wallet_outcome_free(&out);
    /* the file's own text: one line of lowercase hex */
    char *wallet = path_in(s->data, cc_rules_find(network)->wallet_file);
    char *file = contents(wallet);
    assert_string_equal(cc_buf_str(&text), file);
    assert_int_equal(text.data[text.len - 1], '\n');
    assert_int_equal(strspn(text.data, "0123456789abcdef"), text.len - 1);

    /* into a directory that does not exist: made, the network the key's */
    char *exported = path_in(s->other, "exported");
    write_bytes(exported, text.data, text.len);
    char *fresh = path_in(s->root, "fresh/data");
    assert_true(cc_wallet_restore(fresh, NULL, exported, WHEN, &out, &err));
    assert_string_equal(out.kind->network, network);
    assert_string_equal(out.pub, pub);
    assert_true(out.changed);
    assert_null(out.copy);
    char *restored = path_in(fresh, cc_rules_find(network)->wallet_file);
    assert_string_equal(out.wallet, restored);
    char *again = pub_of(restored, network);
    assert_string_equal(again, pub);
    assert_int_equal(mode_of(restored), 0600);
    cc_wallet_outcome_free(&out);
    cc_buf_free(&text);
    free(again), free(restored), free(fresh), free(exported), free(file), free(wallet), free(pub);
}

static void test_export_import_http(void **state)
{
    export_imports_back(*state, "http");
}

static void test_export_import_cheese(void **state)
{
    export_imports_back(*state, "cheese");
}

/* A restore that replaces keeps the old wallet, under another name when
 * the first is taken; one that finds its key there writes nothing. */
static void replaced_kept(scratch *s, const char *network)
{
    const char *file = cc_rules_find(network)->wallet_file;
    char *old_pub = make_wallet(s->data, network);
    char *wallet = path_in(s->data, file);
    char *old_text = contents(wallet);
    char *source = path_in(s->other, "new.key");
    char *new_pub = make_key_file(source, network);

    cc_wallet_outcome out;
    cc_err err = {0};
    assert_true(cc_wallet_restore(s->data, NULL, source, WHEN, &out, &err));
    assert_true(out.changed);
    assert_string_equal(out.pub, new_pub);
    char aside[256];
    snprintf(aside, sizeof aside, "%s.replaced-20240102T030405Z", wallet);
    assert_string_equal(out.copy, aside);
    char *kept = contents(aside);
    assert_string_equal(kept, old_text); /* byte for byte */
    char *now = pub_of(wallet, network);
    assert_string_equal(now, new_pub);
    assert_int_equal(mode_of(wallet), 0600);
    cc_wallet_outcome_free(&out);

    /* the same second again: the first copy stays, the next gets -2 */
    char *back = path_in(s->other, "old.key");
    write_text(back, old_text);
    assert_true(cc_wallet_restore(s->data, network, back, WHEN, &out, &err));
    char aside2[300];
    snprintf(aside2, sizeof aside2, "%s-2", aside);
    assert_string_equal(out.copy, aside2);
    char *kept1 = pub_of(aside, network), *kept2 = pub_of(aside2, network);
    assert_string_equal(kept1, old_pub);
    assert_string_equal(kept2, new_pub);
    cc_wallet_outcome_free(&out);

    /* the key already there: nothing written */
    char *before = listing(s->data);
    assert_true(cc_wallet_restore(s->data, NULL, back, WHEN + 60, &out, &err));
    assert_false(out.changed);
    assert_null(out.copy);
    assert_string_equal(out.pub, old_pub);
    char *after = listing(s->data);
    assert_string_equal(before, after);
    cc_wallet_outcome_free(&out);
    free(before), free(after), free(kept1), free(kept2), free(back), free(now), free(kept);
    free(new_pub), free(source), free(old_text), free(wallet), free(old_pub);
}

static void test_restore_keeps_replaced_http(void **state)
{
    replaced_kept(*state, "http");
}

static void test_restore_keeps_replaced_cheese(void **state)
{
    replaced_kept(*state, "cheese");
}

/* A wallet that holds no key is kept aside as well: a restore is how one
 * recovers from it. */
static void test_restore_over_a_broken_wallet(void **state)
{
    scratch *s = *state;
    assert_int_equal(mkdir(s->data, 0700), 0);
    char *wallet = path_in(s->data, "wallet.key");
    write_text(wallet, "garbage\n");
    char *source = path_in(s->other, "k");
    char *pub = make_key_file(source, "http");
    cc_wallet_outcome out;
    cc_err err = {0};
    assert_true(cc_wallet_restore(s->data, NULL, source, WHEN, &out, &err));
    char *kept = contents(out.copy);
    assert_string_equal(kept, "garbage\n");
    char *now = pub_of(wallet, "http");
    assert_string_equal(now, pub);
    cc_wallet_outcome_free(&out);
    free(now), free(kept), free(pub), free(source), free(wallet);
}

/* A wallet that is a symbolic link: the link is what is kept aside, and
 * the file it names is not written through it. */
static void test_restore_over_a_linked_wallet(void **state)
{
    scratch *s = *state;
    assert_int_equal(mkdir(s->data, 0700), 0);
    char *target = path_in(s->other, "real.key");
    char *old_pub = make_key_file(target, "http");
    char *old_text = contents(target);
    char *wallet = path_in(s->data, "wallet.key");
    assert_int_equal(symlink(target, wallet), 0);
    char *source = path_in(s->other, "k");
    char *pub = make_key_file(source, "http");
    cc_wallet_outcome out;
    cc_err err = {0};
    assert_true(cc_wallet_restore(s->data, NULL, source, WHEN, &out, &err));
    char aside[256];
    snprintf(aside, sizeof aside, "%s.replaced-20240102T030405Z", wallet);
    assert_string_equal(out.copy, aside);
    struct stat st;
    assert_int_equal(lstat(aside, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(lstat(wallet, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    char *still = contents(target), *kept = pub_of(aside, "http"), *now = pub_of(wallet, "http");
    assert_string_equal(still, old_text);
    assert_string_equal(kept, old_pub);
    assert_string_equal(now, pub);
    cc_wallet_outcome_free(&out);
    free(still), free(kept), free(now), free(pub), free(source), free(wallet), free(old_text);
    free(old_pub), free(target);
}

/* Every bad source is refused with its reason, and nothing changes in the
 * data directory (or it is not even made). */
static void bad_sources_refused(scratch *s, const char *network, bool with_wallet)
{
    const char *other_network = strcmp(network, "http") == 0 ? "cheese" : "http";
    char *pub = with_wallet ? make_wallet(s->data, network) : NULL;
    char *wallet = path_in(s->data, cc_rules_find(network)->wallet_file);
    char *before_text = with_wallet ? contents(wallet) : NULL;
    char *before = with_wallet ? listing(s->data) : NULL;

    char *empty = path_in(s->other, "empty");
    write_text(empty, "");
    char *newline = path_in(s->other, "newline");
    write_text(newline, "\r\n");
    char *not_hex = path_in(s->other, "not-hex");
    write_text(not_hex, "this is not a key at all\n");
    char *wrong = path_in(s->other, "wrong-network");
    free(make_key_file(wrong, other_network));
    char *too_long = path_in(s->other, "too-long");
    char big[8192];
    memset(big, 'a', sizeof big);
    write_bytes(too_long, big, sizeof big);
    char *nul = path_in(s->other, "nul");
    write_bytes(nul, "0011\0" "2233", 9);
    char *missing = path_in(s->other, "missing");
    char *unreadable = s->other; /* a directory: read(2) fails, even for root */

    const struct {
        const char *path, *says;
    } cases[] = {
        {empty, "is empty"},
        {newline, "is empty"},
        {not_hex, "not-hex"},
        {wrong, "of the"},
        {too_long, "larger than"},
        {nul, "nul"},
        {missing, "No such file"},
        {unreadable, "cannot read"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cc_wallet_outcome out;
        cc_err err = {0};
        /* the network named, and found by itself */
        for (int named = 0; named < 2; named++) {
            /* into no wallet, the other network's key is a wallet of that
             * network: refused only when the network is named */
            if (!named && !with_wallet && cases[i].path == wrong)
                continue;
            bool ok = cc_wallet_restore(s->data, named ? network : NULL, cases[i].path, WHEN,
                                        &out, &err);
            if (ok)
                fail_msg("%s restored", cases[i].path);
            if (!strstr(err.msg, cases[i].says))
                fail_msg("%s: '%s' does not say '%s'", cases[i].path, err.msg, cases[i].says);
            assert_null(out.pub);
            assert_null(out.wallet);
        }
    }
    if (with_wallet) {
        char *after_text = contents(wallet), *after = listing(s->data);
        assert_string_equal(before_text, after_text);
        assert_string_equal(before, after);
        free(after_text), free(after);
    } else {
        assert_int_equal(access(s->data, F_OK), -1); /* not even made */
    }
    /* the other network's key is named as such once the wallet says which
     * network the directory is of */
    if (with_wallet) {
        cc_wallet_outcome out;
        cc_err err = {0};
        assert_false(cc_wallet_restore(s->data, NULL, wrong, WHEN, &out, &err));
        char says[64];
        snprintf(says, sizeof says, "a key of the %s network, not of the %s", other_network,
                 network);
        assert_non_null(strstr(err.msg, says));
    }
    free(empty), free(newline), free(not_hex), free(wrong), free(too_long), free(nul);
    free(missing), free(wallet), free(before_text), free(before), free(pub);
}

static void test_bad_sources_http(void **state)
{
    bad_sources_refused(*state, "http", true);
}

static void test_bad_sources_cheese(void **state)
{
    bad_sources_refused(*state, "cheese", true);
}

static void test_bad_sources_into_nothing(void **state)
{
    scratch *s = *state;
    bad_sources_refused(s, "http", false);
    /* a key of no network, found by itself: both forms are named */
    char *not_hex = path_in(s->other, "zz");
    write_text(not_hex, "zz\n");
    cc_wallet_outcome out;
    cc_err err = {0};
    assert_false(cc_wallet_restore(s->data, NULL, not_hex, WHEN, &out, &err));
    assert_non_null(strstr(err.msg, "no private key of any network"));
    assert_int_equal(access(s->data, F_OK), -1);
    free(not_hex);
}

/* While another process (here: another lock) holds the directory, a
 * restore changes nothing; once it is free, the restore goes through. */
static void test_restore_refused_while_locked(void **state)
{
    scratch *s = *state;
    char *pub = make_wallet(s->data, "http");
    char *wallet = path_in(s->data, "wallet.key");
    char *before = contents(wallet);
    char *source = path_in(s->other, "k");
    char *new_pub = make_key_file(source, "http");
    cc_dir_lock lock = CC_DIR_LOCK_INIT;
    cc_err err = {0};
    assert_true(cc_dir_lock_take(&lock, s->data, &err));
    char *names = listing(s->data);
    cc_wallet_outcome out;
    assert_false(cc_wallet_restore(s->data, NULL, source, WHEN, &out, &err));
    assert_int_equal(err.code, CC_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "wallet not changed"));
    assert_non_null(strstr(err.msg, "in use"));
    char *after = contents(wallet), *names_after = listing(s->data);
    assert_string_equal(before, after);
    assert_string_equal(names, names_after);
    cc_dir_lock_release(&lock);
    assert_true(cc_wallet_restore(s->data, NULL, source, WHEN, &out, &err));
    assert_string_equal(out.pub, new_pub);
    cc_wallet_outcome_free(&out);
    free(names), free(names_after), free(after), free(new_pub), free(source), free(before);
    free(wallet), free(pub);
}

/* The text of a key file as it may come from elsewhere: CRLF, upper-case
 * hex; the file written is the network's own text. */
static void test_restore_writes_the_files_own_text(void **state)
{
    scratch *s = *state;
    char *source = path_in(s->other, "upper");
    write_text(source, "00000000000000000000000000000000000000000000ABCD\r\n");
    cc_wallet_outcome out;
    cc_err err = {0};
    assert_true(cc_wallet_restore(s->data, NULL, source, WHEN, &out, &err));
    assert_string_equal(out.kind->network, "http");
    char *wallet = path_in(s->data, "wallet.key");
    char *text = contents(wallet);
    assert_string_equal(text, "00000000000000000000000000000000000000000000abcd\n");
    cc_wallet_outcome_free(&out);
    free(text), free(wallet), free(source);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_backup_http, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backup_cheese, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backup_never_overwrites, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backup_refuses_what_is_no_wallet, setup, teardown),
        cmocka_unit_test_setup_teardown(test_both_networks_need_a_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_import_http, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_import_cheese, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_keeps_replaced_http, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_keeps_replaced_cheese, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_over_a_broken_wallet, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_over_a_linked_wallet, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_sources_http, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_sources_cheese, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_sources_into_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_refused_while_locked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_writes_the_files_own_text, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

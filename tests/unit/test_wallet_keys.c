/* Unit tests for wallet/keys: each network's kind is found from its rules;
 * a key file is made once (mode 0600) and loaded again to the same key;
 * cc_wallet_file_holds recognises the file of a public key and nothing
 * else (another key, a file of garbage, no file, the other network's
 * file). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "consensus/rules.h"
#include "wallet/keys.h"

typedef struct scratch {
    char dir[64];
    char path[128];
} scratch;

static void scratch_make(scratch *s, const char *file)
{
    snprintf(s->dir, sizeof s->dir, "/tmp/cc-wallet-keys-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    snprintf(s->path, sizeof s->path, "%s/%s", s->dir, file);
}

static void scratch_remove(const scratch *s)
{
    unlink(s->path);
    rmdir(s->dir);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_kinds_follow_the_rules(void **state)
{
    (void)state;
    assert_string_equal(cc_key_kind_of(cc_rules_http())->network, "http");
    assert_string_equal(cc_key_kind_of(cc_rules_cheese())->network, "cheese");
    cc_rules other = *cc_rules_http();
    other.network = "cheddar";
    assert_null(cc_key_kind_of(&other));
}

/* Made once with mode 0600, loaded again to the same key, and recognised
 * by its public key only. */
static void made_loaded_and_recognised(const cc_rules *rules, cc_wallet_key *first,
                                       cc_wallet_key *again, const char *other_pub)
{
    const cc_key_kind *kind = cc_key_kind_of(rules);
    scratch s;
    scratch_make(&s, rules->wallet_file);
    bool created = false;
    cc_err err = {0};
    assert_false(cc_wallet_file_holds(kind, s.path, "00"));
    assert_true(cc_wallet_file_load_or_create(&kind->file, s.path, first, &created, NULL, &err));
    assert_true(created);
    struct stat st;
    assert_int_equal(stat(s.path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_true(cc_wallet_file_load_or_create(&kind->file, s.path, again, &created, NULL, &err));
    assert_false(created);
    assert_string_equal(kind->public_hex(first), kind->public_hex(again));
    assert_true(cc_wallet_file_holds(kind, s.path, kind->public_hex(first)));
    assert_false(cc_wallet_file_holds(kind, s.path, other_pub));
    kind->file.clear(again);
    write_text(s.path, "not a key\n");
    assert_false(cc_wallet_file_holds(kind, s.path, kind->public_hex(first)));
    assert_false(cc_wallet_file_load_or_create(&kind->file, s.path, again, &created, NULL, &err));
    assert_non_null(strstr(err.msg, s.path));
    kind->file.clear(first);
    scratch_remove(&s);
}

static void test_http_key_file(void **state)
{
    (void)state;
    cc_wallet_key first, again;
    cc_p192_key other;
    cc_p192_generate(&other);
    made_loaded_and_recognised(cc_rules_http(), &first, &again, other.pub_hex);
}

static void test_cheese_key_file(void **state)
{
    (void)state;
    cc_wallet_key first = {0}, again = {0};
    cc_rsa_key other;
    cc_rsa_generate(&other);
    made_loaded_and_recognised(cc_rules_cheese(), &first, &again, other.pub_hex);
    cc_rsa_key_clear(&other);
}

/* A file of one network's key is no key of the other's. */
static void test_other_networks_file_not_recognised(void **state)
{
    (void)state;
    const cc_key_kind *http = cc_key_kind_of(cc_rules_http());
    const cc_key_kind *cheese = cc_key_kind_of(cc_rules_cheese());
    scratch s;
    scratch_make(&s, "wallet.key");
    cc_p192_key key;
    bool created;
    cc_err err = {0};
    assert_true(cc_wallet_load_or_create(s.path, &key, &created, NULL, &err));
    assert_true(cc_wallet_file_holds(http, s.path, key.pub_hex));
    assert_false(cc_wallet_file_holds(cheese, s.path, key.pub_hex));
    scratch_remove(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds_follow_the_rules),
        cmocka_unit_test(test_http_key_file),
        cmocka_unit_test(test_cheese_key_file),
        cmocka_unit_test(test_other_networks_file_not_recognised),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The cheese node's pure parts: reading a tracker's peer list, and the RSA
 * wallet file (docs/cheese-node.md). The network behaviour is covered by
 * tests/functional/test_cheese_network.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "node/cheese_tracker_client.h"
#include "wallet/keys.h"
#include "util/fileio.h"

static size_t parse(const char *text, cc_cheese_peer_entry **entries)
{
    return cc_cheese_peer_list_parse(text, strlen(text), entries);
}

static void test_peer_list_as_trackers_write_it(void **state)
{
    (void)state;
    cc_cheese_peer_entry *e;
    /* ours and the reference's form (port a string), and the seed
     * document's with its extra "socket" member */
    size_t n = parse("[{\"peer_id\": \"PID0A1B\", \"host\": \"127.0.0.1\", \"port\": \"9009\"}, "
                     "{\"peer_id\":\"PIDFF\", \"host\":\"localhost\",\"port\":\"9010\", "
                     "\"socket\":\" SOCKET OBJECT\"}, "
                     "{\"peer_id\": \"PID12\", \"host\": \"node-3.example\", \"port\": 9011}]",
                     &e);
    assert_int_equal(n, 3);
    assert_string_equal(e[0].id, "PID0A1B");
    assert_string_equal(e[0].host, "127.0.0.1");
    assert_int_equal(e[0].port, 9009);
    assert_string_equal(e[1].host, "localhost");
    assert_int_equal(e[1].port, 9010);
    assert_int_equal(e[2].port, 9011);
    cc_cheese_peer_entries_free(e, n);
    assert_int_equal(parse("[]", &e), 0);
    cc_cheese_peer_entries_free(e, 0);
}

static void test_peer_list_skips_bad_entries(void **state)
{
    (void)state;
    cc_cheese_peer_entry *e;
    size_t n = parse("[{\"peer_id\": \"pid0a\", \"host\": \"h\", \"port\": \"1\"}, "
                     "{\"peer_id\": \"PID0A\", \"host\": \"h\", \"port\": \"9009\\n\"}, "
                     "{\"peer_id\": \"PID0A\", \"host\": \"h\", \"port\": \"0\"}, "
                     "{\"peer_id\": \"PID0A\", \"host\": \"h\", \"port\": \"65536\"}, "
                     "{\"peer_id\": \"PID0A\", \"host\": \"h\", \"port\": \"-1\"}, "
                     "{\"peer_id\": \"PID0A\", \"host\": \"a b\", \"port\": \"1\"}, "
                     "{\"peer_id\": \"PID0A\", \"host\": \"\", \"port\": \"1\"}, "
                     "{\"peer_id\": \"PID0A\", \"port\": \"1\"}, "
                     "{\"peer_id\": 7, \"host\": \"h\", \"port\": \"1\"}, "
                     "[1, 2], \"PID0A\", "
                     "{\"peer_id\": \"PID0B\", \"host\": \"h\", \"port\": \"65535\"}]",
                     &e);
    assert_int_equal(n, 1);
    assert_string_equal(e[0].id, "PID0B");
    assert_int_equal(e[0].port, 65535);
    cc_cheese_peer_entries_free(e, n);
    /* not a list, not JSON, too deep */
    assert_int_equal(parse("{\"peer_id\": \"PID0A\"}", &e), 0);
    cc_cheese_peer_entries_free(e, 0);
    assert_int_equal(parse("[{\"peer_id\": ", &e), 0);
    cc_cheese_peer_entries_free(e, 0);
    assert_int_equal(parse("[[[[[[[[[[]]]]]]]]]]", &e), 0);
    cc_cheese_peer_entries_free(e, 0);
}

static void test_wallet_created_then_reloaded(void **state)
{
    (void)state;
    char dir[] = "/tmp/cc-wallet-rsa-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/wallet-rsa.key", dir);
    cc_rsa_key first = {0}, again = {0};
    bool created = false;
    cc_err err = {0};
    assert_true(cc_wallet_rsa_load_or_create(path, &first, &created, NULL, &err));
    assert_true(created);
    assert_true(cc_rsa_pubkey_valid(first.pub_hex));
    assert_int_equal(strncmp(first.pub_hex, "30819f30", 8), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* the file is the private key's hex, a newline after it */
    cc_buf text = CC_BUF_INIT;
    assert_true(cc_read_file(path, 1 << 16, &text, &err));
    assert_int_equal(text.len, strlen(first.priv_hex) + 1);
    assert_memory_equal(text.data, first.priv_hex, text.len - 1);
    cc_buf_free(&text);
    /* loaded back, the same key; a loose mode is tightened */
    chmod(path, 0644);
    assert_true(cc_wallet_rsa_load_or_create(path, &again, &created, NULL, &err));
    assert_false(created);
    assert_string_equal(again.pub_hex, first.pub_hex);
    assert_string_equal(again.priv_hex, first.priv_hex);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* a damaged file is an error, never silently replaced */
    cc_rsa_key_clear(&again);
    assert_true(cc_write_file_atomic(path, "30820", 5, 0600, &err));
    assert_false(cc_wallet_rsa_load_or_create(path, &again, &created, NULL, &err));
    assert_int_equal(err.code, CC_ERR_INTERNAL);
    assert_non_null(strstr(err.msg, path));
    assert_true(cc_write_file_atomic(path, "", 0, 0600, &err));
    assert_false(cc_wallet_rsa_load_or_create(path, &again, &created, NULL, &err));
    cc_rsa_key_clear(&first);
    cc_rsa_key_clear(&again);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peer_list_as_trackers_write_it),
        cmocka_unit_test(test_peer_list_skips_bad_entries),
        cmocka_unit_test(test_wallet_created_then_reloaded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

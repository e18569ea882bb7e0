/* node/cli_format (cheese-cli's readable output) and util/atomic_file
 * (export's streamed file, the peers file's writes and their clean-up). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/cli_format.h"
#include "util/atomic_file.h"
#include "util/fileio.h"

#define KEY96 "189d78d94674da6ce2a8e2a4b6d43a49f6338ff855a7e8b3e16ccbed0371b828" \
              "63395740a6165dcb829eb75030b95565"
#define HASH "00006dc53f54605db2d7defeb2c4e083e612370ea3f97f4abfccf469d4524860"

static char *format(const char *command, const char *body)
{
    cc_buf out = CC_BUF_INIT;
    cc_err err = {0};
    assert_true(cc_cli_format(command, body, strlen(body), &out, &err));
    return cc_buf_take(&out);
}

static void test_short(void **state)
{
    (void)state;
    char out[CC_CLI_SHORT_MAX];
    cc_cli_short("System", 20, out);
    assert_string_equal(out, "System");
    cc_cli_short(KEY96, 20, out);
    assert_string_equal(out, "189d78d9467...b95565");
    assert_int_equal(strlen(out), 20);
    cc_cli_short(KEY96, 1000, out); /* capped */
    assert_int_equal(strlen(out), CC_CLI_SHORT_MAX - 1);
    /* an RSA key (DER SPKI hex) is shown by its modulus, not its common header */
    char rsa[400] = "30819f300d06092a864886f70d010101050003818d0030818902818100";
    size_t n = strlen(rsa);
    for (int i = 0; i < 256; i++)
        rsa[n++] = "c1ff36b683b87b27"[i % 16];
    rsa[n - 1] = 'e';
    strcpy(rsa + n, "0203010001");
    cc_cli_short(rsa, 20, out);
    assert_string_equal(out, "c1ff36b683b...b87b2e");
}

static void test_info(void **state)
{
    (void)state;
    char *text = format("info", "{\"network\": \"http\", \"height\": 12, \"tip\": \"" HASH "\", "
                        "\"peers\": 2, \"mempool\": 1, \"sync\": {\"state\": \"syncing\", "
                        "\"asking\": \"127.0.0.1:6001\", \"best_peer\": \"127.0.0.1:6001\", "
                        "\"best_peer_height\": 15, \"behind\": 3}, \"key\": \"" KEY96 "\", "
                        "\"balance\": 0.30000000000000004, \"balance_exact\": "
                        "\"3/10\"}");
    assert_string_equal(text,
        "network: http\n"
        "height:  12\n"
        "tip:     " HASH "\n"
        "peers:   2\n"
        "mempool: 1\n"
        "sync:    syncing (best peer 127.0.0.1:6001 at height 15, 3 behind), "
        "asking 127.0.0.1:6001\n"
        "key:     " KEY96 "\n"
        "balance: 0.30000000000000004 (exactly 3/10)\n");
    free(text);
    /* an exact amount that is the double itself is shown once */
    text = format("balance", "{\"key\": \"k\", \"balance\": 1.5, \"balance_exact\": \"3/2\", "
                             "\"spendable\": 1e-05, \"spendable_exact\": "
                             "\"5902958103587057/590295810358705651712\"}");
    assert_string_equal(text, "key:       k\nbalance:   1.5\nspendable: 1e-05\n");
    free(text);
}

/* A cheese node's info: its RSA key whole (a user copies it to be paid),
 * and its tracker's state on a row of its own. */
static void test_info_cheese(void **state)
{
    (void)state;
    char key[325];
    memset(key, 'a', 324);
    memcpy(key, "30819f30", 8);
    key[324] = '\0';
    char body[1024];
    snprintf(body, sizeof body,
             "{\"network\": \"cheese\", \"sync\": {\"state\": \"idle\", \"tracker\": "
             "{\"state\": \"waiting\", \"host\": \"127.0.0.1:9999\"}}, \"key\": \"%s\"}", key);
    char *text = format("info", body);
    char want[1024];
    snprintf(want, sizeof want,
             "network: cheese\n"
             "sync:    idle\n"
             "key:     %s\n"
             "tracker: 127.0.0.1:9999 (waiting)\n", key);
    assert_string_equal(text, want);
    free(text);
    snprintf(body, sizeof body, "{\"key\": \"%s\", \"balance\": 1}", key);
    text = format("balance", body);
    assert_non_null(strstr(text, key));
    free(text);
}

static void test_block(void **state)
{
    (void)state;
    char *text = format("block",
        "{\"hash\": \"" HASH "\", \"height\": 1, \"best\": true, \"block\": {\"nr\": 1,"
        "\"previous_hash\": \"" HASH "\",\"timestamp\": \"2024-01-01T00:00:00\","
        "\"nonce\": \"abc\",\"hash\": \"" HASH "\",\"creator\": \"" KEY96 "\","
        "\"merkle_root\": \"" HASH "\",\"count\": 2,\"transactions\": ["
        "{\"signature\": \"sig\",\"transaction\": {\"from\": \"" KEY96 "\",\"to\": \"" KEY96
        "\",\"sum\": 2.5,\"timestamp\": \"t1\"}},"
        "{\"signature\": \"System\",\"transaction\": {\"from\": \"System\",\"to\": \"" KEY96
        "\",\"sum\": 1,\"timestamp\": \"t2\"}}]}}");
    assert_string_equal(text,
        "hash:          " HASH "\n"
        "height:        1\n"
        "best chain:    yes\n"
        "nr:            1\n"
        "previous hash: " HASH "\n"
        "timestamp:     2024-01-01T00:00:00\n"
        "nonce:         abc\n"
        "creator:       " KEY96 "\n"
        "merkle root:   " HASH "\n"
        "count:         2\n"
        "transactions:  2\n"
        "  1. 189d78d9467...b95565 -> 189d78d9467...b95565  2.5  t1\n"
        "  2. System -> 189d78d9467...b95565  1  t2\n");
    free(text);
    /* the cheese network's block: its own names, an empty parent */
    text = format("block", "{\"hash\": \"" HASH "\", \"height\": 0, \"best\": true, \"block\": "
                           "{\"sequence_number\": 0, \"parent_smell\": \"\", \"transactions\": "
                           "[{\"sender\": \"CHEESECHAIN REWARD SYSTEM\", \"recipient\": \"r\", "
                           "\"amount\": 10, \"signature\": \"x\"}], \"nonce\": 100, "
                           "\"timestamp\": 0}}");
    assert_non_null(strstr(text, "sequence number: 0\n"));
    assert_non_null(strstr(text, "parent smell:    (empty)\n"));
    assert_non_null(strstr(text, "  1. CHEESECHAIN...SYSTEM -> r  10\n"));
    free(text);
}

static void test_tx_send_mempool_peers_mine(void **state)
{
    (void)state;
    const char *tx = "{\"signature\": \"" KEY96 "\",\"transaction\": {\"from\": \"" KEY96
                     "\",\"to\": \"abc\",\"sum\": 0.1,\"timestamp\": \"t\"}}";
    char body[1024];
    snprintf(body, sizeof body, "{\"txid\": \"" HASH "\", \"status\": \"mempool\", \"block\": "
             "null, \"height\": null, \"confirmations\": 0, \"transaction\": %s}", tx);
    char *text = format("tx", body);
    assert_string_equal(text,
        "txid:          " HASH "\n"
        "status:        mempool\n"
        "block:         -\n"
        "height:        -\n"
        "confirmations: 0\n"
        "from:          " KEY96 "\n"
        "to:            abc\n"
        "sum:           0.1\n"
        "timestamp:     t\n"
        "signature:     189d78d94674da6...b95565\n");
    free(text);
    snprintf(body, sizeof body, "{\"txid\": \"" HASH "\", \"transaction\": %s}", tx);
    text = format("send", body);
    assert_true(strncmp(text, "txid:      " HASH "\nfrom:      ", 11 + 64 + 12) == 0);
    free(text);
    snprintf(body, sizeof body, "{\"transactions\": [%s], \"count\": 4}", tx);
    text = format("mempool", body);
    assert_string_equal(text, "waiting: 4 (the first 1 shown)\n"
                              "  1. 189d78d9467...b95565 -> abc  0.1  t\n");
    free(text);
    text = format("peers", "{\"peers\": [\"127.0.0.1:6001\", {\"peer_id\": \"P1\", "
                           "\"host\": \"127.0.0.1\", \"port\": \"9010\"}]}");
    assert_string_equal(text, "peers: 2\n  127.0.0.1:6001\n  127.0.0.1:9010  peer_id P1\n");
    free(text);
    text = format("peers", "{\"peers\": []}");
    assert_string_equal(text, "peers: 0\n");
    free(text);
    text = format("mine", "{\"mining\": 13}");
    assert_string_equal(text, "mining: a block at height 13\n");
    free(text);
    text = format("keys", "{\"network\": \"http\", \"key\": \"k\", \"wallet\": null}");
    assert_non_null(strstr(text, "wallet:  unknown"));
    free(text);
    text = format("export", "{\"file\": \"blocks-6000.json\", \"heights\": 3, \"bytes\": 1200}");
    assert_string_equal(text, "file:    blocks-6000.json\nheights: 3\nbytes:   1200\n");
    free(text);
}

static void test_not_an_object(void **state)
{
    (void)state;
    cc_buf out = CC_BUF_INIT;
    cc_err err = {0};
    assert_false(cc_cli_format("info", "[1]", 3, &out, &err));
    assert_false(cc_cli_format("info", "<html>", 6, &out, &err));
    assert_int_equal(err.code, CC_ERR_BAD_REQUEST);
    cc_buf_free(&out);
}

static void test_atomic_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/cc-atomic-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/blocks-6000.json", dir);
    cc_err err = {0};
    assert_true(cc_write_file_atomic(path, "old", 3, 0644, &err));

    /* abandoned: the old file stays, no temporary is left */
    cc_atomic_file f;
    assert_true(cc_atomic_file_open(&f, path, 0644, &err));
    assert_true(cc_atomic_file_write(&f, "new ", 4, &err));
    cc_buf text = CC_BUF_INIT;
    assert_true(cc_read_file(path, 100, &text, &err));
    assert_string_equal(text.data, "old"); /* nothing shows before the commit */
    cc_atomic_file_abort(&f);
    cc_atomic_file_abort(&f); /* harmless twice */
    assert_true(cc_read_file(path, 100, &text, &err));
    assert_string_equal(text.data, "old");

    /* committed: replaced at once */
    assert_true(cc_atomic_file_open(&f, path, 0644, &err));
    assert_true(cc_atomic_file_write(&f, "new ", 4, &err));
    assert_true(cc_atomic_file_write(&f, "text", 4, &err));
    assert_int_equal(f.written, 8);
    assert_true(cc_atomic_file_commit(&f, &err));
    assert_true(cc_read_file(path, 100, &text, &err));
    assert_string_equal(text.data, "new text");
    cc_buf_free(&text);

    /* only the target is in the folder */
    char cmd[256];
    snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) -eq 1", dir);
    assert_int_equal(system(cmd), 0);

    /* a folder that does not exist */
    snprintf(path, sizeof path, "%s/nowhere/x.json", dir);
    assert_false(cc_atomic_file_open(&f, path, 0644, &err));
    assert_int_equal(err.code, CC_ERR_INTERNAL);
    cc_atomic_file_abort(&f);
    bool stdin_open = fcntl(0, F_GETFD) != -1;
    cc_atomic_file zeroed = {0};
    cc_atomic_file_abort(&zeroed); /* must not close fd 0 */
    assert_int_equal(fcntl(0, F_GETFD) != -1, stdin_open);

    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* A writer killed before its commit leaves its temporary file: the sweep
 * removes it, while a live writer's file (ours here) and other files stay. */
static void test_atomic_file_sweep(void **state)
{
    (void)state;
    char dir[] = "/tmp/cc-sweep-XXXXXX";
    assert_non_null(mkdtemp(dir));
    pid_t dead = fork();
    if (dead == 0)
        _exit(0);
    assert_true(dead > 0);
    assert_int_equal(waitpid(dead, NULL, 0), dead);
    char path[128], stale[192], live[192], other[192], cmd[256];
    snprintf(path, sizeof path, "%s/peers-6000.json", dir);
    snprintf(stale, sizeof stale, "%s.tmp.%ld.0", path, (long)dead);
    snprintf(live, sizeof live, "%s.tmp.%ld.3", path, (long)getpid());
    snprintf(other, sizeof other, "%s/peers-6001.json.tmp.%ld.0", dir, (long)dead);
    cc_err err = {0};
    const char *files[] = {path, stale, live, other};
    for (size_t i = 0; i < 4; i++)
        assert_true(cc_write_file_atomic(files[i], "{}", 2, 0644, &err));
    cc_atomic_file_sweep(path);
    assert_int_equal(access(stale, F_OK), -1);
    assert_int_equal(access(live, F_OK), 0);
    assert_int_equal(access(other, F_OK), 0); /* another target's */
    assert_int_equal(access(path, F_OK), 0);
    cc_atomic_file_sweep("/nonexistent-dir/x.json"); /* harmless */
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void expect_safe(const char *in, size_t len, cc_cli_text how, const char *want)
{
    cc_buf out = CC_BUF_INIT;
    cc_cli_terminal_safe(in, len, how, &out);
    assert_string_equal(cc_buf_str(&out), want);
    cc_buf_free(&out);
}

static void test_terminal_safe(void **state)
{
    (void)state;
    expect_safe("plain ASCII", 11, CC_CLI_VALUE, "plain ASCII");
    expect_safe("caf\xc3\xa9 \xe2\x82\xac", 9, CC_CLI_VALUE, "caf\xc3\xa9 \xe2\x82\xac");
    expect_safe("\x1b[2J\x07\x7f", 6, CC_CLI_VALUE, "\\x1b[2J\\x07\\x7f");
    expect_safe("a\nb\tc\rd", 7, CC_CLI_VALUE, "a\\x0ab\\x09c\\x0dd");
    expect_safe("a\nb\tc\rd", 7, CC_CLI_OUTPUT, "a\nb\tc\\x0dd");
    expect_safe("\xc2\x9b" "1m", 4, CC_CLI_OUTPUT, "\\x9b1m"); /* C1 CSI */
    expect_safe("\x9b" "1m", 3, CC_CLI_OUTPUT, "\\x9b1m");     /* a lone byte */
    expect_safe("\xc0\x9b", 2, CC_CLI_OUTPUT, "\\xc0\\x9b");   /* overlong */
    expect_safe("\xed\xa0\x80", 3, CC_CLI_OUTPUT, "\\xed\\xa0\\x80"); /* surrogate */
    expect_safe("\xe2\x82", 2, CC_CLI_OUTPUT, "\\xe2\\x82");   /* cut short */
    expect_safe("\"\x1b\"\n", 4, CC_CLI_JSON, "\"\\u001b\"\n");
    expect_safe("nul\0x", 5, CC_CLI_VALUE, "nul\\x00x");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short),
        cmocka_unit_test(test_terminal_safe),
        cmocka_unit_test(test_info),
        cmocka_unit_test(test_info_cheese),
        cmocka_unit_test(test_block),
        cmocka_unit_test(test_tx_send_mempool_peers_mine),
        cmocka_unit_test(test_not_an_object),
        cmocka_unit_test(test_atomic_file),
        cmocka_unit_test(test_atomic_file_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

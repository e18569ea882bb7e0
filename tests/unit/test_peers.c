/* Unit tests for the http node's peer list under --connect (node/peers.h,
 * cc_peers_only): the given addresses, in any spelling, become the only
 * candidates; what an earlier run listed outside them is unlisted, in
 * memory and in the file; nothing else can be listed afterwards; a bad
 * address changes nothing; "none" (no address) allows no peer at all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/peers.h"
#include "util/buf.h"
#include "util/fileio.h"

#define SELF "127.0.0.1:6000"

typedef struct env {
    char dir[64];
    char path[128];
    cc_log log;
} env;

static int setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "/tmp/cc-peers-XXXXXX");
    if (!mkdtemp(e->dir))
        return -1;
    snprintf(e->path, sizeof e->path, "%s/peers-6000.json", e->dir);
    e->log = (cc_log){.threshold = CC_LOG_ERROR, .component = "test"};
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env *e = *state;
    unlink(e->path);
    rmdir(e->dir);
    free(e);
    return 0;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *file_text(const char *path)
{
    cc_buf text = CC_BUF_INIT;
    assert_true(cc_read_file(path, 1 << 20, &text, NULL));
    char *copy = strdup(text.data);
    cc_buf_free(&text);
    return copy;
}

static cc_peers *open_list(env *e)
{
    cc_err err = {0};
    cc_peers *peers = cc_peers_open(e->path, NULL, SELF, 6000, 16, &e->log, &err);
    if (!peers)
        fail_msg("cannot open the list: %s", err.msg);
    return peers;
}

static void test_only_the_given_peers(void **state)
{
    env *e = *state;
    /* an earlier run without --connect listed an outsider beside a peer */
    write_text(e->path, "{\"peers\": [\"127.0.0.1:6100\", \"127.0.0.1:6001\"]}\n");
    cc_peers *peers = open_list(e);
    assert_true(cc_peers_allowed(peers, "127.0.0.1:6100")); /* no restriction yet */
    static const char *const given[] = {"localhost:06001", "127.0.0.1:6001", SELF,
                                        "127.0.0.1:6002"};
    cc_err err = {0};
    assert_true(cc_peers_only(peers, given, 4, &err));

    /* one candidate per peer, canonical, never the node itself */
    assert_int_equal(cc_peers_candidate_count(peers), 2);
    assert_string_equal(cc_peers_candidate_at(peers, 0), "127.0.0.1:6001");
    assert_string_equal(cc_peers_candidate_at(peers, 1), "127.0.0.1:6002");
    /* the outsider is unlisted, in the file too */
    assert_int_equal(cc_peers_count(peers), 1);
    assert_string_equal(cc_peers_at(peers, 0), "127.0.0.1:6001");
    char *text = file_text(e->path);
    assert_null(strstr(text, "6100"));
    assert_non_null(strstr(text, "127.0.0.1:6001"));
    free(text);

    /* in any spelling, only the given ones may be listed */
    assert_true(cc_peers_allowed(peers, "0177.0.0.1:6002"));
    assert_false(cc_peers_allowed(peers, "127.0.0.1:6100"));
    assert_false(cc_peers_allowed(peers, "not an address"));
    assert_false(cc_peers_add(peers, "127.0.0.1:6100", &err));
    assert_int_equal(err.code, CC_ERR_FORBIDDEN);
    assert_non_null(strstr(err.msg, "--connect"));
    assert_int_equal(cc_peers_count(peers), 1);
    assert_true(cc_peers_add(peers, "localhost:6002", &err));
    assert_int_equal(cc_peers_count(peers), 2);
    cc_peers_free(peers);

    /* a restart under --connect starts from the file, outsider-free */
    peers = open_list(e);
    assert_int_equal(cc_peers_count(peers), 2);
    cc_peers_free(peers);
}

static void test_a_bad_address_changes_nothing(void **state)
{
    env *e = *state;
    write_text(e->path, "{\"peers\": [\"127.0.0.1:6100\"]}\n");
    cc_peers *peers = open_list(e);
    static const char *const given[] = {"127.0.0.1:6001", "[::1]:6002"};
    cc_err err = {0};
    assert_false(cc_peers_only(peers, given, 2, &err));
    assert_int_equal(err.code, CC_ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "[::1]:6002"));
    assert_int_equal(cc_peers_count(peers), 1);
    assert_int_equal(cc_peers_candidate_count(peers), 0);
    assert_true(cc_peers_allowed(peers, "127.0.0.1:6100"));
    cc_peers_free(peers);
}

/* --connect none: a network of one */
static void test_no_peer_at_all(void **state)
{
    env *e = *state;
    write_text(e->path, "{\"peers\": [\"127.0.0.1:6100\"]}\n");
    cc_peers *peers = open_list(e);
    cc_err err = {0};
    assert_true(cc_peers_only(peers, NULL, 0, &err));
    assert_int_equal(cc_peers_count(peers), 0);
    assert_int_equal(cc_peers_candidate_count(peers), 0);
    assert_false(cc_peers_allowed(peers, "127.0.0.1:6100"));
    assert_false(cc_peers_add(peers, "127.0.0.1:6100", &err));
    assert_int_equal(err.code, CC_ERR_FORBIDDEN);
    cc_peers_free(peers);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_only_the_given_peers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_bad_address_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_peer_at_all, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

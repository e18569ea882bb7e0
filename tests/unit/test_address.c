/* Unit tests for net/address (the canonical form of peer addresses),
 * net/lookup (host names looked up on the loop) and the http node's peer
 * addresses (node/peers.h): every spelling of one address gives one text,
 * bad input is refused with a clear error and changes nothing, and a node
 * knows itself under any spelling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/address.h"
#include "net/lookup.h"
#include "node/peers.h"

static void expect_canonical(const char *text, const char *want)
{
    char out[CC_ADDR_TEXT_MAX];
    cc_err err = {0};
    if (!cc_addr_canonical(text, out, &err))
        fail_msg("\"%s\" refused: %s", text, err.msg);
    if (strcmp(out, want) != 0)
        fail_msg("\"%s\" gave \"%s\", not \"%s\"", text, out, want);
    /* canonical text reads back as itself */
    char again[CC_ADDR_TEXT_MAX];
    assert_true(cc_addr_canonical(out, again, NULL));
    assert_string_equal(again, out);
}

static void test_spellings_of_one_address(void **state)
{
    (void)state;
    static const char *const loopback[] = {
        "127.0.0.1:6000",       "127.0.0.1:06000",      "127.0.0.1:000000000006000",
        "localhost:6000",       "LocalHost.:06000",     "127.000.000.001:6000",
        "127.0.0.01:6000",      "0177.0.0.1:6000",      "0177.0.0.01:6000",
        "127.1:6000",           "127.0.1:6000",         "0x7f.0.0.1:6000",
        "0X7F000001:6000",      "2130706433:6000",      "017700000001:6000",
        "[::ffff:127.0.0.1]:6000", "::ffff:7f00:1:6000", "[::FFFF:7F00:0001]:6000",
    };
    for (size_t i = 0; i < sizeof loopback / sizeof *loopback; i++)
        expect_canonical(loopback[i], "127.0.0.1:6000");
    /* octal is octal, as the C library and Python read it */
    expect_canonical("127.0.0.010:1", "127.0.0.8:1");
    expect_canonical("0.0.0.0:9009", "0.0.0.0:9009");
    expect_canonical("255.255.255.255:65535", "255.255.255.255:65535");
    expect_canonical("1.2.65535:80", "1.2.255.255:80");
    expect_canonical("10.16777215:80", "10.255.255.255:80");
    expect_canonical("[::1]:9009", "[::1]:9009");
    expect_canonical("::1:9009", "[::1]:9009");
    expect_canonical("[0:0:0:0:0:0:0:1]:09009", "[::1]:9009");
    expect_canonical("[2001:DB8:0::1]:1", "[2001:db8::1]:1");
}

static void test_bad_addresses_are_refused_and_change_nothing(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *says;
    } bad[] = {
        {"", "port"},
        {":", "port"},
        {"127.0.0.1", "port"},
        {"127.0.0.1:", "port"},
        {"127.0.0.1:0", "port"},
        {"127.0.0.1:00000", "port"},
        {"127.0.0.1:65536", "port"},
        {"127.0.0.1:99999999999999999999", "port"},
        {"127.0.0.1:-1", "port"},
        {"127.0.0.1:+80", "port"},
        {"127.0.0.1: 80", "port"},
        {"127.0.0.1:80 ", "port"},
        {"127.0.0.1:0x50", "port"},
        {":80", "host"},
        {"127.0.0.256:80", "host"},
        {"256.0.0.1:80", "host"},
        {"1.2.3.4.5:80", "host"},
        {"1..2.3:80", "host"},
        {"1.2.3.:80", "host"},
        {".1.2.3:80", "host"},
        {"08.0.0.1:80", "host"},
        {"0x:80", "host"},
        {"0x1g.0.0.1:80", "host"},
        {"4294967296:80", "host"},
        {"1.16777216:80", "host"},
        {"1.2.65536:80", "host"},
        {"-1.0.0.1:80", "host"},
        {"127.0.0.1 :80", "host"},
        {" 127.0.0.1:80", "host"},
        {"[127.0.0.1]:80", "host"},
        {"[::1:80", "bracket"},
        {"[::1]80", "port"},
        {"::1]:80", "host"},
        {"fe80::1%eth0:80", "host"},
        {"[fe80::1%eth0]:80", "host"},
        {"1:2:3:4:5:6:7:8:9:80", "host"},
        {"example.com:80", "name"},
        {"node-3:80", "name"},
        {"bad host:80", "host"},
        {"h\"x:80", "host"},
        {"\x1b[2J:80", "host"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char out[CC_ADDR_TEXT_MAX] = "untouched";
        cc_err err = {0};
        if (cc_addr_canonical(bad[i].text, out, &err))
            fail_msg("\"%s\" was taken as \"%s\"", bad[i].text, out);
        assert_int_equal(err.code, CC_ERR_BAD_REQUEST);
        if (!strstr(err.msg, bad[i].says))
            fail_msg("\"%s\": \"%s\" does not say %s", bad[i].text, err.msg, bad[i].says);
        assert_string_equal(out, "untouched");
        cc_addr a = {.port = 7};
        assert_false(cc_addr_parse(bad[i].text, strlen(bad[i].text), &a, NULL));
        assert_int_equal(a.port, 7);
    }
    /* a NUL inside the text is no terminator */
    cc_addr a = {.port = 7};
    assert_false(cc_addr_parse("127.0.0.1\0:80", 13, &a, NULL));
    assert_false(cc_addr_make("127.0.0.1\0", 10, 80, &a, NULL));
    assert_int_equal(a.port, 7);
    /* a name longer than DNS allows */
    char longest[400];
    memset(longest, 'a', sizeof longest);
    snprintf(longest + 254, sizeof longest - 254, ":80");
    assert_false(cc_addr_parse(longest, strlen(longest), &a, NULL));
    assert_false(cc_addr_make("127.0.0.1", 9, 0, &a, NULL));
    assert_false(cc_addr_make("127.0.0.1", 9, 65536, &a, NULL));
    assert_int_equal(a.port, 7);
}

static void test_ports(void **state)
{
    (void)state;
    int port = 7;
    assert_true(cc_addr_port("00080", 5, &port, NULL));
    assert_int_equal(port, 80);
    assert_true(cc_addr_port("65535", 5, &port, NULL));
    assert_int_equal(port, 65535);
    cc_err err = {0};
    assert_false(cc_addr_port("", 0, &port, &err));
    assert_false(cc_addr_port("1e3", 3, &port, &err));
    assert_false(cc_addr_port("000000000000000000000000000000000000000065536", 45, &port, &err));
    assert_non_null(strstr(err.msg, "1 to 65535"));
    assert_int_equal(port, 65535);
}

static void test_names(void **state)
{
    (void)state;
    static const char *const names[] = {"localhost", "node-3.example", "example.com.",
                                        "a_b",       "x",              "1a.2b",
                                        "0xzz"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        assert_true(cc_addr_host_is_name(names[i], strlen(names[i])));
    static const char *const not_names[] = {"", ".", "1.2.3.256", "12345", "a..b", ".a",
                                            "a b", "a:b", "a/b", "é"};
    for (size_t i = 0; i < sizeof not_names / sizeof *not_names; i++)
        if (cc_addr_host_is_name(not_names[i], strlen(not_names[i])))
            fail_msg("\"%s\" taken as a name", not_names[i]);
    char label[80];
    memset(label, 'a', 64);
    label[64] = '\0';
    assert_false(cc_addr_host_is_name(label, 64)); /* a label of 64 */
    assert_true(cc_addr_host_is_name(label, 63));
    /* the longest name, 253 characters, also in its fully qualified form
     * (one more: the dot): refused as a name, as anything one longer is
     * refused as too long */
    char longest[260];
    for (size_t i = 0; i < 253; i++)
        longest[i] = i % 50 == 49 ? '.' : 'a';
    longest[253] = '.';
    cc_addr a;
    cc_err err = {0};
    for (size_t len = 253; len <= 254; len++) {
        assert_true(cc_addr_host_is_name(longest, len));
        assert_false(cc_addr_make(longest, len, 80, &a, &err));
        assert_non_null(strstr(err.msg, "a name"));
    }
    longest[253] = 'a';
    assert_false(cc_addr_host_is_name(longest, 254));
    assert_false(cc_addr_make(longest, 254, 80, &a, &err));
    assert_non_null(strstr(err.msg, "longer than 253"));
}

static cc_addr addr(const char *text)
{
    cc_addr a;
    cc_err err = {0};
    if (!cc_addr_parse(text, strlen(text), &a, &err))
        fail_msg("\"%s\": %s", text, err.msg);
    return a;
}

static bool reaches(const char *target, const char *listener)
{
    cc_addr t = addr(target), l = addr(listener);
    return cc_addr_reaches(&t, &l);
}

static void test_a_node_knows_itself(void **state)
{
    (void)state;
    assert_true(reaches("127.0.0.1:9009", "127.0.0.1:9009"));
    assert_true(reaches("0177.0.0.1:09009", "127.0.0.1:9009"));
    assert_true(reaches("localhost:9009", "127.0.0.1:9009"));
    assert_true(reaches("0.0.0.0:9009", "127.0.0.1:9009")); /* Linux connects it to loopback */
    assert_false(reaches("127.0.0.2:9009", "127.0.0.1:9009"));
    assert_false(reaches("127.0.0.1:9010", "127.0.0.1:9009"));
    /* listening on every address: every loopback address is us */
    assert_true(reaches("127.5.6.7:9009", "0.0.0.0:9009"));
    assert_true(reaches("0:9009", "0.0.0.0:9009"));
    assert_true(reaches("[::1]:9009", "0.0.0.0:9009"));
    assert_true(reaches("127.0.0.1:9009", "[::]:9009"));
    assert_false(reaches("10.0.0.1:9009", "0.0.0.0:9009"));
    assert_true(reaches("[::]:9009", "[::1]:9009"));
    assert_false(reaches("127.0.0.1:9009", "[::1]:9009"));
    assert_true(reaches("192.168.1.5:9009", "192.168.1.5:9009"));
    assert_false(reaches("127.0.0.1:9009", "192.168.1.5:9009"));
    cc_addr a = addr("127.1:80"), b = addr("[::ffff:127.0.0.1]:080");
    assert_true(cc_addr_equal(&a, &b));
}

static void test_from_sockaddr(void **state)
{
    (void)state;
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6};
    assert_int_equal(inet_pton(AF_INET6, "::ffff:10.1.2.3", &v6.sin6_addr), 1);
    cc_addr a;
    assert_true(cc_addr_from_sockaddr((struct sockaddr *)&v6, 80, &a, NULL));
    assert_int_equal(a.family, AF_INET);
    assert_string_equal(a.host, "10.1.2.3");
    struct sockaddr un = {.sa_family = AF_UNIX};
    cc_err err = {0};
    assert_false(cc_addr_from_sockaddr(&un, 80, &a, &err));
    assert_int_equal(err.code, CC_ERR_BAD_REQUEST);
}

static void test_http_peer_addresses(void **state)
{
    (void)state;
    char out[CC_ADDR_TEXT_MAX];
    assert_true(cc_peer_address("localhost:016011", out, NULL));
    assert_string_equal(out, "127.0.0.1:16011");
    strcpy(out, "untouched");
    cc_err err = {0};
    assert_false(cc_peer_address("[::1]:6000", out, &err)); /* the http network is IPv4 */
    assert_non_null(strstr(err.msg, "IPv4"));
    assert_false(cc_peer_address("peer.example:6000", out, &err));
    assert_string_equal(out, "untouched");
}

/* ---- look-ups ---- */

typedef struct answer {
    int calls;
    cc_addr addr;
    cc_err err;
    bool found;
    struct event_base *base;
} answer;

static void on_answer(void *ctx, const cc_addr *a, const cc_err *err)
{
    answer *ans = ctx;
    ans->calls++;
    ans->found = a != NULL;
    if (a)
        ans->addr = *a;
    else
        ans->err = *err;
    event_base_loopbreak(ans->base);
}

typedef struct resolver {
    struct event_base *base;
    struct evdns_base *dns;
    char hosts[64];
} resolver;

/* A resolver that knows only a hosts file of its own: nothing leaves the
 * machine, and the answers are the test's. */
static int resolver_setup(void **state)
{
    resolver *r = calloc(1, sizeof *r);
    snprintf(r->hosts, sizeof r->hosts, "/tmp/cc-hosts-XXXXXX");
    int fd = mkstemp(r->hosts);
    static const char text[] = "10.1.2.3 peer.test\n::1 six.test\n";
    if (fd < 0 || write(fd, text, sizeof text - 1) != (ssize_t)(sizeof text - 1))
        return -1;
    close(fd);
    r->base = event_base_new();
    r->dns = evdns_base_new(r->base, 0);
    if (!r->base || !r->dns || evdns_base_load_hosts(r->dns, r->hosts) != 0)
        return -1;
    *state = r;
    return 0;
}

static int resolver_teardown(void **state)
{
    resolver *r = *state;
    evdns_base_free(r->dns, 0);
    event_base_free(r->base);
    unlink(r->hosts);
    free(r);
    return 0;
}

static void look_up(resolver *r, const char *name, answer *ans)
{
    *ans = (answer){.base = r->base};
    cc_lookup_start(r->base, r->dns, name, 9009, 0.2, on_answer, ans);
    assert_int_equal(ans->calls, 0); /* never inside cc_lookup_start */
    event_base_dispatch(r->base);
    assert_int_equal(ans->calls, 1);
    event_base_loop(r->base, EVLOOP_NONBLOCK); /* evdns lets go of a look-up given up */
}

static void test_names_are_looked_up_on_the_loop(void **state)
{
    resolver *r = *state;
    answer ans;
    look_up(r, "peer.test", &ans);
    assert_true(ans.found);
    char text[CC_ADDR_TEXT_MAX];
    cc_addr_format(&ans.addr, text);
    assert_string_equal(text, "10.1.2.3:9009");
    look_up(r, "six.test", &ans);
    assert_true(ans.found);
    cc_addr_format(&ans.addr, text);
    assert_string_equal(text, "[::1]:9009");
    /* not in the file, and no server to ask: evdns would wait for ever */
    look_up(r, "nowhere.test", &ans);
    assert_false(ans.found);
    assert_int_equal(ans.err.code, CC_ERR_UNAVAILABLE);
    assert_non_null(strstr(ans.err.msg, "nowhere.test"));
}

static void test_a_cancelled_look_up_never_answers(void **state)
{
    resolver *r = *state;
    answer ans = {.base = r->base};
    cc_lookup *l = cc_lookup_start(r->base, r->dns, "peer.test", 9009, 0.2, on_answer, &ans);
    cc_lookup_cancel(l); /* answered already, not yet handed over */
    cc_lookup_cancel(NULL);
    event_base_loop(r->base, EVLOOP_NONBLOCK);
    assert_int_equal(ans.calls, 0);
    l = cc_lookup_start(r->base, r->dns, "nowhere.test", 9009, 0.2, on_answer, &ans);
    cc_lookup_cancel(l); /* still with evdns, which lets go from the loop */
    event_base_loop(r->base, EVLOOP_NONBLOCK);
    assert_int_equal(ans.calls, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spellings_of_one_address),
        cmocka_unit_test(test_bad_addresses_are_refused_and_change_nothing),
        cmocka_unit_test(test_ports),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_a_node_knows_itself),
        cmocka_unit_test(test_from_sockaddr),
        cmocka_unit_test(test_http_peer_addresses),
        cmocka_unit_test_setup_teardown(test_names_are_looked_up_on_the_loop, resolver_setup,
                                        resolver_teardown),
        cmocka_unit_test_setup_teardown(test_a_cancelled_look_up_never_answers, resolver_setup,
                                        resolver_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

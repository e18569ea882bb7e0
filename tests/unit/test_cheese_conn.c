/* net/cheese_conn's bound on unfinished messages over several connections
 * (cc_cheese_budget), on a real event loop over socketpairs: the quietest
 * holder is refused and closed once the total passes the bound, a
 * connection holding nothing is never chosen and one holding a few bytes
 * only after larger holders, a finished message stops counting, and
 * freeing the budget frees the connections still lingering.
 * The reader's count (cc_cheese_wire_held) is covered in test_cheese_wire.c;
 * the bound on the node's real ports in tests/functional/test_hostile.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <event2/event.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/cheese_conn.h"
#include "util/buf.h"

#define N_CONNS 4
#define MAX_HELD 1000
#define WAIT_S 5

typedef struct side {
    cc_cheese_conn *conn; /* NULL once closed */
    int client;           /* the other end, ours */
    char closed_why[128];
    size_t messages;
    size_t last_payload_len;
} side;

typedef struct rig {
    struct event_base *base;
    cc_cheese_budget *budget;
    side sides[N_CONNS];
    cc_log log;
} rig;

static void on_message(void *ctx, const cc_cheese_msg *m)
{
    side *s = ctx;
    s->messages++;
    s->last_payload_len = m->payload_len;
}

static void on_closed(void *ctx, const char *why)
{
    side *s = ctx;
    snprintf(s->closed_why, sizeof s->closed_why, "%s", why);
    s->conn = NULL;
}

static const cc_cheese_conn_handlers handlers = {.message = on_message, .closed = on_closed};

/* silence_s: how long an argument waits for the silence that ends it */
static void rig_start(rig *r, double silence_s)
{
    memset(r, 0, sizeof *r);
    r->log = (cc_log){.threshold = CC_LOG_ERROR, .component = "test"};
    r->base = event_base_new();
    r->budget = cc_cheese_budget_new(MAX_HELD, &r->log);
    cc_cheese_conn_config cfg = {.base = r->base,
                                 .limits = {.max_line = 64, .max_payload = 4096},
                                 .silence_s = silence_s,
                                 .max_output = 1 << 20,
                                 .budget = r->budget,
                                 .log = &r->log};
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    for (size_t i = 0; i < N_CONNS; i++) {
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        r->sides[i].client = sv[0];
        r->sides[i].conn = cc_cheese_conn_accept(&cfg, sv[1], (const struct sockaddr *)&addr,
                                                 &handlers, &r->sides[i]);
    }
}

static void rig_stop(rig *r)
{
    for (size_t i = 0; i < N_CONNS; i++) {
        cc_cheese_conn_close(r->sides[i].conn);
        close(r->sides[i].client);
    }
    /* frees the connections closed to keep the bound, still lingering */
    cc_cheese_budget_free(r->budget);
    event_base_free(r->base);
}

typedef bool (*condition)(const rig *r, size_t i);

/* Runs the loop until cond holds; fails after WAIT_S. */
static void run_until(rig *r, condition cond, size_t i, const char *what)
{
    struct timeval tick = {0, 10 * 1000};
    for (int n = 0; n < WAIT_S * 100; n++) {
        if (cond(r, i))
            return;
        event_base_loopexit(r->base, &tick);
        event_base_dispatch(r->base);
    }
    fail_msg("timed out waiting for %s", what);
}

static bool holds(const rig *r, size_t i, size_t bytes)
{
    return r->sides[i].conn && cc_cheese_conn_held(r->sides[i].conn) == bytes;
}

/* What send_part(i) leaves the reader holding: the payload so far. */
#define PART_PAYLOAD 300
static bool holds_part(const rig *r, size_t i) { return holds(r, i, PART_PAYLOAD); }
static bool is_closed(const rig *r, size_t i) { return r->sides[i].conn == NULL; }
static bool got_message(const rig *r, size_t i) { return r->sides[i].messages > 0; }

static void send_bytes(rig *r, size_t i, const char *data, size_t len)
{
    assert_int_equal(write(r->sides[i].client, data, len), (ssize_t)len);
}

/* BRTRANSACTION{"a": "xxx... : a payload of PART_PAYLOAD bytes so far. */
static void send_part(rig *r, size_t i)
{
    cc_buf b = CC_BUF_INIT;
    cc_buf_puts(&b, "BRTRANSACTION{\"a\": \"");
    while (b.len < strlen("BRTRANSACTION") + PART_PAYLOAD)
        cc_buf_putc(&b, 'x');
    send_bytes(r, i, b.data, b.len);
    cc_buf_free(&b);
    run_until(r, holds_part, i, "the part to be read");
}

/* Everything the node wrote to side i until it closed. */
static void read_to_end(rig *r, size_t i, cc_buf *out)
{
    char chunk[512];
    for (;;) {
        /* the node writes from the loop: run it while waiting */
        struct timeval tick = {0, 10 * 1000};
        event_base_loopexit(r->base, &tick);
        event_base_dispatch(r->base);
        ssize_t n = recv(r->sides[i].client, chunk, sizeof chunk, MSG_DONTWAIT);
        if (n == 0)
            return;
        if (n > 0)
            cc_buf_append(out, chunk, (size_t)n);
        assert_true(out->len < 4096);
    }
}

static void test_default_bound(void **state)
{
    (void)state;
    assert_int_equal(cc_cheese_budget_default(1024), CC_CHEESE_HELD_MIN);
    assert_int_equal(cc_cheese_budget_default(16u << 20), 64u << 20);
    assert_int_equal(cc_cheese_budget_default(64u << 20), 128u << 20);
}

static void test_quietest_holder_closed_over_the_bound(void **state)
{
    (void)state;
    rig r;
    rig_start(&r, 0.05);
    /* side 3 holds nothing and sent nothing for longest: never chosen */
    send_part(&r, 0);
    send_part(&r, 1);
    send_part(&r, 2);
    assert_int_equal(cc_cheese_budget_held(r.budget), 3 * PART_PAYLOAD);
    assert_int_equal(cc_cheese_budget_max(r.budget), MAX_HELD);
    /* side 1 goes on: 150 bytes more take the total over the bound, and
     * side 0, silent longest among the holders, goes */
    char more[150];
    memset(more, 'y', sizeof more);
    send_bytes(&r, 1, more, sizeof more);
    run_until(&r, is_closed, 0, "the quietest holder to be closed");
    assert_string_equal(r.sides[0].closed_why, "the node holds too many unfinished messages");
    assert_int_equal(cc_cheese_budget_held(r.budget), 2 * PART_PAYLOAD + sizeof more);
    assert_non_null(r.sides[1].conn);
    assert_non_null(r.sides[2].conn);
    assert_non_null(r.sides[3].conn);
    cc_buf said = CC_BUF_INIT;
    read_to_end(&r, 0, &said);
    assert_string_equal(cc_buf_str(&said), "REFUSED:the node holds too many unfinished messages");
    cc_buf_free(&said);
    /* a message that completes no longer counts, and its sender is served */
    send_bytes(&r, 2, "\"}", 2);
    run_until(&r, got_message, 2, "the message to complete");
    assert_int_equal(r.sides[2].last_payload_len, PART_PAYLOAD + 2);
    assert_int_equal(cc_cheese_budget_held(r.budget), PART_PAYLOAD + sizeof more);
    assert_non_null(r.sides[2].conn);
    rig_stop(&r);
}

static void test_one_message_over_the_bound_alone(void **state)
{
    (void)state;
    rig r;
    rig_start(&r, 0.05);
    /* within the payload limit (4096) but over the bound by itself: the
     * sender is the only holder, so it goes, from inside its own read */
    cc_buf b = CC_BUF_INIT;
    cc_buf_puts(&b, "BRCHEESE[");
    while (b.len < MAX_HELD + 100)
        cc_buf_putc(&b, ' ');
    send_bytes(&r, 1, b.data, b.len);
    cc_buf_free(&b);
    run_until(&r, is_closed, 1, "the holder to be closed");
    assert_int_equal(cc_cheese_budget_held(r.budget), 0);
    assert_non_null(r.sides[0].conn);
    /* the others are served as before */
    send_bytes(&r, 0, "CHAIN[]", 7);
    run_until(&r, got_message, 0, "the message of another connection");
    rig_stop(&r);
}

static bool holds_hck(const rig *r, size_t i) { return holds(r, i, 3); }
static bool holds_hck_part(const rig *r, size_t i) { return holds(r, i, 2); }

static void test_a_few_bytes_waiting_for_silence_are_spared(void **state)
{
    (void)state;
    rig r;
    rig_start(&r, 60);
    /* side 3, quietest of all, holds "HCK" until a silence ends it (it
     * could be "HCKACK"): a well-behaved request, which closing would not
     * help; the quietest of those holding more goes instead */
    send_bytes(&r, 3, "HCK", 3);
    run_until(&r, holds_hck, 3, "HCK to be read");
    send_part(&r, 0);
    send_part(&r, 1);
    send_part(&r, 2);
    char more[150];
    memset(more, 'y', sizeof more);
    send_bytes(&r, 1, more, sizeof more);
    run_until(&r, is_closed, 0, "the quietest large holder to be closed");
    assert_non_null(r.sides[3].conn);
    assert_int_equal(cc_cheese_budget_held(r.budget), 2 * PART_PAYLOAD + sizeof more + 3);
    rig_stop(&r);
}

/* Bytes the other side sent count as input from the moment they are in
 * the socket, before the loop has read them (a greeting timer that comes
 * due in the same turn must see them), and while part of a message is
 * held; none before anything was sent. */
static void test_input_seen_before_it_is_read(void **state)
{
    (void)state;
    rig r;
    rig_start(&r, 60);
    assert_false(cc_cheese_conn_has_input(r.sides[0].conn));
    send_bytes(&r, 0, "HC", 2);
    assert_true(cc_cheese_conn_has_input(r.sides[0].conn)); /* still in the socket */
    run_until(&r, holds_hck_part, 0, "the two bytes to be read");
    assert_true(cc_cheese_conn_has_input(r.sides[0].conn)); /* held, unfinished */
    assert_false(cc_cheese_conn_has_input(r.sides[1].conn));
    rig_stop(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_bound),
        cmocka_unit_test(test_quietest_holder_closed_over_the_bound),
        cmocka_unit_test(test_one_message_over_the_bound_alone),
        cmocka_unit_test(test_a_few_bytes_waiting_for_silence_are_spared),
        cmocka_unit_test(test_input_seen_before_it_is_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

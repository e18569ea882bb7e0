#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/metrics.h"

static cc_err refused(cc_refusal why, const char *msg)
{
    cc_err err = {0};
    cc_refuse(&err, why, "%s", msg);
    return err;
}

/* Reasons come from the refusal the rule recorded, never from the words:
 * the same message under another refusal counts as that one. */
static void test_reasons_come_from_a_fixed_set(void **state)
{
    (void)state;
    static const struct {
        cc_refusal why;
        cc_metrics_reason reason;
    } cases[] = {
        {CC_REFUSAL_DUPLICATE, CC_REASON_DUPLICATE},
        {CC_REFUSAL_PAYMENT_REPEATED, CC_REASON_DUPLICATE},
        {CC_REFUSAL_KNOWN_INVALID, CC_REASON_KNOWN_INVALID},
        {CC_REFUSAL_BAD_SIGNATURE, CC_REASON_INVALID_SIGNATURE},
        {CC_REFUSAL_FUNDS, CC_REASON_INSUFFICIENT_FUNDS},
        {CC_REFUSAL_BAD_POW, CC_REASON_BAD_POW},
        {CC_REFUSAL_INVALID_PARENT, CC_REASON_INVALID_PARENT},
        {CC_REFUSAL_MEMPOOL_FULL, CC_REASON_MEMPOOL_FULL},
        {CC_REFUSAL_MALFORMED, CC_REASON_INVALID},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cc_err err = refused(cases[i].why, "Block already exists");
        assert_int_equal(cc_metrics_reason_of(&err), cases[i].reason);
    }
    /* an untyped 400 is malformed input; words alone decide nothing */
    cc_err plain = {0};
    cc_fail(&plain, CC_ERR_BAD_REQUEST, "Block already exists");
    assert_int_equal(cc_metrics_reason_of(&plain), CC_REASON_INVALID);
    cc_fail(&plain, CC_ERR_BAD_REQUEST, "Insufficient funds: k can spend 1, needs 2");
    assert_int_equal(cc_metrics_reason_of(&plain), CC_REASON_INVALID);
    assert_int_equal(cc_metrics_reason_of(NULL), CC_REASON_INVALID);
}

static void test_paths_come_from_a_fixed_set(void **state)
{
    (void)state;
    assert_int_equal(cc_metrics_path_of("/getblocks"), CC_PATH_GETBLOCKS);
    assert_int_equal(cc_metrics_path_of("/getpeers/"), CC_PATH_GETPEERS);
    assert_int_equal(cc_metrics_path_of("/block"), CC_PATH_BLOCK);
    assert_int_equal(cc_metrics_path_of("/blockx"), CC_PATH_OTHER);
    assert_int_equal(cc_metrics_path_of("/api/info"), CC_PATH_API);
    assert_int_equal(cc_metrics_path_of("/api"), CC_PATH_API);
    assert_int_equal(cc_metrics_path_of("/"), CC_PATH_EXPLORER);
    assert_int_equal(cc_metrics_path_of("/explorer"), CC_PATH_EXPLORER);
    assert_int_equal(cc_metrics_path_of("/metrics"), CC_PATH_METRICS);
    assert_int_equal(cc_metrics_path_of("/../etc/passwd\"}"), CC_PATH_OTHER);
    assert_int_equal(cc_metrics_path_of(""), CC_PATH_OTHER);
}

static bool has_line(const cc_buf *out, const char *line)
{
    const char *text = cc_buf_str(out);
    size_t len = strlen(line);
    for (const char *p = strstr(text, line); p; p = strstr(p + 1, line))
        if ((p == text || p[-1] == '\n') && p[len] == '\n')
            return true;
    return false;
}

static void test_text_exposition(void **state)
{
    (void)state;
    cc_metrics m = {0};
    cc_block_result res = {.outcome = CC_BLOCK_NEW_TIP};
    cc_metrics_block(&m, true, &res, NULL);
    res.outcome = CC_BLOCK_ORPHAN;
    cc_metrics_block(&m, true, &res, NULL);
    cc_err dup = refused(CC_REFUSAL_DUPLICATE, "Block already exists");
    cc_metrics_block(&m, false, NULL, &dup);
    cc_metrics_block(&m, false, NULL, &dup);
    cc_err funds = refused(CC_REFUSAL_FUNDS, "Insufficient funds: a can spend 0, needs 1");
    cc_metrics_tx(&m, false, &funds);
    cc_metrics_tx(&m, true, NULL);
    cc_metrics_request(&m, "/getblocks", 0.0001);
    cc_metrics_request(&m, "/getblocks?x", 0.003); /* a path never holds the query: "other" */
    cc_metrics_request(&m, "/api/info", 0.2);
    cc_metrics_request(&m, "/nowhere", 10);

    cc_metrics_gauges g = {.height = 42, .peers = 3, .mempool = 7};
    cc_buf out = CC_BUF_INIT;
    cc_metrics_write(&m, &g, &out);
    assert_true(has_line(&out, "# TYPE cheese_height gauge"));
    assert_true(has_line(&out, "cheese_height 42"));
    assert_true(has_line(&out, "cheese_peers 3"));
    assert_true(has_line(&out, "cheese_mempool_transactions 7"));
    assert_true(has_line(&out, "# TYPE cheese_blocks_total counter"));
    assert_true(has_line(&out, "cheese_blocks_total{result=\"accepted\",reason=\"new_tip\"} 1"));
    assert_true(has_line(&out, "cheese_blocks_total{result=\"accepted\",reason=\"orphan\"} 1"));
    assert_true(has_line(&out, "cheese_blocks_total{result=\"refused\",reason=\"duplicate\"} 2"));
    assert_true(has_line(&out, "cheese_blocks_total{result=\"refused\",reason=\"bad_pow\"} 0"));
    assert_true(has_line(&out, "cheese_transactions_total{result=\"accepted\","
                               "reason=\"mempool\"} 1"));
    assert_true(has_line(&out, "cheese_transactions_total{result=\"refused\","
                               "reason=\"insufficient_funds\"} 1"));
    assert_true(has_line(&out, "cheese_http_requests_total{path=\"/getblocks\"} 1"));
    assert_true(has_line(&out, "cheese_http_requests_total{path=\"/api\"} 1"));
    assert_true(has_line(&out, "cheese_http_requests_total{path=\"other\"} 2"));
    assert_true(has_line(&out, "# TYPE cheese_http_request_duration_seconds histogram"));
    /* cumulative buckets */
    assert_true(has_line(&out, "cheese_http_request_duration_seconds_bucket{le=\"0.0005\"} 1"));
    assert_true(has_line(&out, "cheese_http_request_duration_seconds_bucket{le=\"0.005\"} 2"));
    assert_true(has_line(&out, "cheese_http_request_duration_seconds_bucket{le=\"0.25\"} 3"));
    assert_true(has_line(&out, "cheese_http_request_duration_seconds_bucket{le=\"2.5\"} 3"));
    assert_true(has_line(&out, "cheese_http_request_duration_seconds_bucket{le=\"+Inf\"} 4"));
    assert_true(has_line(&out, "cheese_http_request_duration_seconds_count 4"));
    assert_non_null(strstr(cc_buf_str(&out), "cheese_http_request_duration_seconds_sum 10.2031"));

    /* Every sample line is NAME{...} VALUE or NAME VALUE with a number. */
    char *copy = strdup(cc_buf_str(&out));
    size_t samples = 0;
    for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#') {
            assert_true(strncmp(line, "# HELP cheese_", 14) == 0 ||
                        strncmp(line, "# TYPE cheese_", 14) == 0);
            continue;
        }
        assert_true(strncmp(line, "cheese_", 7) == 0);
        char *value = strrchr(line, ' ');
        assert_non_null(value);
        char *end;
        strtod(value + 1, &end);
        assert_true(*end == '\0' && end > value + 1);
        samples++;
    }
    free(copy);
    assert_true(samples > 30);
    cc_buf_free(&out);
}

static void test_handle_answers_get_only(void **state)
{
    (void)state;
    cc_metrics m = {0};
    cc_metrics_gauges g = {0};
    char path[] = "/metrics", query[] = "";
    cc_http_request req = {.method = "GET", .path = path, .query = query};
    assert_true(cc_metrics_is_call(&req));
    cc_http_response resp = {.status = 200};
    cc_metrics_handle(&m, &g, &req, &resp);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert_non_null(strstr(cc_buf_str(&resp.body), "cheese_height 0\n"));
    cc_buf_free(&resp.body);

    snprintf(req.method, sizeof req.method, "POST");
    resp = (cc_http_response){.status = 200};
    cc_metrics_handle(&m, &g, &req, &resp);
    assert_int_equal(resp.status, 405);
    cc_buf_free(&resp.body);

    char other[] = "/metricsx";
    req.path = other;
    assert_false(cc_metrics_is_call(&req));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reasons_come_from_a_fixed_set),
        cmocka_unit_test(test_paths_come_from_a_fixed_set),
        cmocka_unit_test(test_text_exposition),
        cmocka_unit_test(test_handle_answers_get_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

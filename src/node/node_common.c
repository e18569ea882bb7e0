#include "node/node_common.h"

#include <event2/thread.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "node/explorer.h"
#include "util/clock.h"
#include "util/fileio.h"

/* Buffers this large (message bodies, chains being read or written) are
 * mapped on their own and unmapped when freed. Setting the threshold also
 * turns off glibc's habit of raising it after each such free: then the
 * next big buffers come from the heap, and after a flood of unfinished
 * messages the node would keep their memory for good (seen as RSS that
 * never came down once the senders were closed). */
#define BIG_BUFFER_BYTES (256 << 10)

void cc_node_process_init(void)
{
    signal(SIGPIPE, SIG_IGN);
    evthread_use_pthreads();
    mallopt(M_MMAP_THRESHOLD, BIG_BUFFER_BYTES);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    cc_node_signals *s = arg;
    cc_notice(s->log, "signal %d: shutting down", (int)sig);
    event_base_loopbreak(s->base);
}

static void on_hangup(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    cc_node_signals *s = arg;
    cc_err err = {0};
    if (!cc_log_reopen(s->log, &err))
        cc_error(s->log, "SIGHUP: %s", err.msg);
    else
        cc_notice(s->log, "SIGHUP: log file %s opened again",
                  s->log && s->log->path ? s->log->path : "(none: logging to stderr)");
}

void cc_node_signals_start(cc_node_signals *s, struct event_base *base, const cc_log *log)
{
    s->base = base;
    s->log = log;
    s->sigint = evsignal_new(base, SIGINT, on_signal, s);
    s->sigterm = evsignal_new(base, SIGTERM, on_signal, s);
    s->sighup = evsignal_new(base, SIGHUP, on_hangup, s);
    event_add(s->sigint, NULL);
    event_add(s->sigterm, NULL);
    event_add(s->sighup, NULL);
}

void cc_node_signals_stop(cc_node_signals *s)
{
    if (s->sigint)
        event_free(s->sigint);
    if (s->sigterm)
        event_free(s->sigterm);
    if (s->sighup)
        event_free(s->sighup);
    s->sighup = NULL;
    s->sigint = s->sigterm = NULL;
}

bool cc_node_datadir_open(const char *datadir, cc_dir_lock *lock, const cc_log *log,
                          cc_err *err)
{
    /* The lock before anything is read or written, so a second node on the
     * directory changes nothing; the folder's rights after it, so that the
     * warning is the first node's alone. */
    return cc_mkdir_p(datadir, err) && cc_dir_lock_take(lock, datadir, err) &&
           cc_restrict_to_owner(datadir, log, err);
}

cc_chain *cc_node_chain_open(const char *datadir, const cc_rules *rules, const cc_log *log,
                             size_t max_orphans, size_t max_mempool, size_t reorg_inline_max,
                             cc_err *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/chain.sqlite", datadir);
    cc_chain_config chain_cfg = {.db_path = path,
                                 .rules = rules,
                                 .log = log,
                                 .max_orphans = max_orphans,
                                 .reorg_inline_max = reorg_inline_max,
                                 .max_mempool = max_mempool};
    return cc_chain_open(&chain_cfg, err);
}

const char *cc_node_advertised(const char *host, const char *advertise, cc_err *err)
{
    if (advertise && *advertise)
        return advertise;
    if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 || !*host) {
        cc_fail(err, CC_ERR_BAD_REQUEST, "--host %s listens on every address, which no peer "
                "can dial: give --advertise HOST, the address peers should use",
                *host ? host : "(empty)");
        return NULL;
    }
    return host;
}

void cc_node_report_key(const cc_log *log, const char *pub_hex, bool created, const char *path)
{
    cc_notice(log, "public key: %s (%s)", pub_hex, created ? "new wallet" : path);
}

bool cc_node_web_answer(const cc_node_web *web, const cc_http_request *req, const char *peer_ip,
                        cc_http_response *resp)
{
    if (cc_metrics_is_call(req)) {
        cc_metrics_gauges gauges = {0};
        web->gauges(web->ctx, &gauges);
        cc_metrics_handle(web->metrics, &gauges, req, resp);
        return true;
    }
    if (cc_api_is_call(req)) {
        cc_api_handle(web->api, req, peer_ip, resp);
        return true;
    }
    return cc_explorer_handle(req, resp); /* GET / and /explorer: the page */
}

void cc_node_timed(cc_metrics *metrics, cc_http_handler handler, void *ctx,
                   const cc_http_request *req, const char *peer_ip, cc_http_response *resp)
{
    double started = cc_clock_mono();
    handler(ctx, req, peer_ip, resp);
    cc_metrics_request(metrics, req->path, cc_clock_mono() - started);
}

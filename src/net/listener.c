#include "net/listener.h"

#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/mem.h"

/* host:port as an address to bind (spec: how messages name it). */
static bool listen_address(const char *host, int port, struct sockaddr_storage *addr,
                           int *addr_len, char spec[128], cc_err *err)
{
    *addr_len = sizeof *addr;
    /* libevent reads an address without a port as port 0 (any free port,
     * which cc_cheese_tracker_config promises) but refuses ":0". */
    if (port == 0)
        snprintf(spec, 128, strchr(host, ':') ? "[%s]" : "%s", host);
    else
        snprintf(spec, 128, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
    if (evutil_parse_sockaddr_port(spec, (struct sockaddr *)addr, addr_len) != 0)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "cannot use host %s: not an IP address", host);
    return true;
}

bool cc_listener_can_bind(const char *host, int port, cc_err *err)
{
    struct sockaddr_storage addr;
    int addr_len;
    char spec[128];
    if (!listen_address(host, port, &addr, &addr_len, spec, err))
        return false;
    int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int on = 1;
    bool ok = fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == 0 &&
              bind(fd, (struct sockaddr *)&addr, (socklen_t)addr_len) == 0;
    if (!ok)
        cc_fail(err, CC_ERR_INTERNAL, "cannot listen on %s: %s", spec, strerror(errno));
    if (fd >= 0)
        close(fd);
    return ok;
}

struct evconnlistener *cc_listener_bind(struct event_base *base, const char *host, int port,
                                        int backlog, evconnlistener_cb cb, void *ctx,
                                        cc_err *err)
{
    struct sockaddr_storage addr;
    int addr_len;
    char spec[128];
    if (!listen_address(host, port, &addr, &addr_len, spec, err))
        return NULL;
    struct evconnlistener *listener = evconnlistener_new_bind(
        base, cb, ctx, LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, backlog,
        (struct sockaddr *)&addr, addr_len);
    if (!listener)
        cc_fail(err, CC_ERR_INTERNAL, "cannot listen on %s: %s", spec,
                evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    return listener;
}

struct cc_listener {
    cc_listen_at at;
    const cc_listener_owner *owner;
    void *ctx;
    const cc_log *log;
    struct evconnlistener *socket;
    struct event *retry; /* accepting again after running out of descriptors */
    int port;
};

bool cc_listener_make_room(cc_listener *l)
{
    if (l->owner->connections(l->ctx) < l->at.max_connections)
        return true;
    return l->owner->evict_quietest && l->owner->evict_quietest(l->ctx, "connection limit reached");
}

static void on_accept(struct evconnlistener *socket, evutil_socket_t fd, struct sockaddr *addr,
                      int addr_len, void *arg)
{
    (void)socket;
    (void)addr_len;
    cc_listener *l = arg;
    if ((l->owner->admit && !l->owner->admit(l->ctx, addr)) || !cc_listener_make_room(l)) {
        evutil_closesocket(fd);
        return;
    }
    l->owner->accepted(l->ctx, fd, addr);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    cc_listener *l = arg;
    evconnlistener_enable(l->socket);
}

static void on_accept_error(struct evconnlistener *socket, void *arg)
{
    cc_listener *l = arg;
    int e = EVUTIL_SOCKET_ERROR();
    bool out_of_descriptors = e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM;
    if (out_of_descriptors && l->owner->evict_quietest &&
        l->owner->evict_quietest(l->ctx, "out of file descriptors"))
        return;
    cc_warn(l->log, "accept failed: %s", evutil_socket_error_to_string(e));
    if (!out_of_descriptors)
        return;
    evconnlistener_disable(socket);
    struct timeval second = {1, 0};
    evtimer_add(l->retry, &second);
}

static int bound_port(struct evconnlistener *socket)
{
    struct sockaddr_storage addr;
    socklen_t len = sizeof addr;
    if (getsockname(evconnlistener_get_fd(socket), (struct sockaddr *)&addr, &len) != 0)
        return 0;
    if (addr.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&addr)->sin_port);
    if (addr.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
    return 0;
}

cc_listener *cc_listener_start(struct event_base *base, const cc_listen_at *at,
                               const cc_listener_owner *owner, void *ctx, const cc_log *log,
                               cc_err *err)
{
    cc_listener *l = cc_calloc(1, sizeof *l);
    *l = (cc_listener){.at = *at, .owner = owner, .ctx = ctx, .log = log};
    l->socket = cc_listener_bind(base, at->host, at->port, at->backlog, on_accept, l, err);
    if (!l->socket) {
        free(l);
        return NULL;
    }
    evconnlistener_set_error_cb(l->socket, on_accept_error);
    l->retry = evtimer_new(base, on_retry, l);
    cc_alloc_check(l->retry);
    l->port = bound_port(l->socket);
    return l;
}

void cc_listener_free(cc_listener *l)
{
    if (!l)
        return;
    evconnlistener_free(l->socket);
    event_free(l->retry);
    free(l);
}

int cc_listener_port(const cc_listener *l) { return l->port; }

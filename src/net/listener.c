#include "net/listener.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

struct evconnlistener *cc_listener_bind(struct event_base *base, const char *host, int port,
                                        int backlog, evconnlistener_cb cb, void *ctx,
                                        cc_err *err)
{
    struct sockaddr_storage addr;
    int addr_len = sizeof addr;
    char spec[128];
    /* libevent reads an address without a port as port 0 (any free port,
     * which cc_cheese_tracker_config promises) but refuses ":0". */
    if (port == 0)
        snprintf(spec, sizeof spec, strchr(host, ':') ? "[%s]" : "%s", host);
    else
        snprintf(spec, sizeof spec, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
    if (evutil_parse_sockaddr_port(spec, (struct sockaddr *)&addr, &addr_len) != 0) {
        cc_fail(err, CC_ERR_BAD_REQUEST, "cannot use host %s: not an IP address", host);
        return NULL;
    }
    struct evconnlistener *listener = evconnlistener_new_bind(
        base, cb, ctx, LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, backlog,
        (struct sockaddr *)&addr, addr_len);
    if (!listener)
        cc_fail(err, CC_ERR_INTERNAL, "cannot listen on %s: %s", spec,
                evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    return listener;
}

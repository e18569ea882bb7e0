#include "net/send_now.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <sys/socket.h>

void cc_send_now(struct bufferevent *bev, const void *data, size_t len)
{
    size_t sent = 0;
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
        ssize_t n = send(bufferevent_getfd(bev), data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        sent = n > 0 ? (size_t)n : 0;
    }
    if (sent < len)
        bufferevent_write(bev, (const char *)data + sent, len - sent);
}

/* What the targets that drive a server through its own event loop share:
 * a loop whose timers keep microsecond time, one end of a socketpair for
 * the server to adopt, knowing when the server has read everything sent,
 * collecting what it answered, and matching answers against expectations.
 * Header-only: each target is one program. */
#ifndef CC_FUZZ_LOOP_H
#define CC_FUZZ_LOOP_H

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/buf.h"

/* The default clock ticks every few milliseconds; a silence timer of a
 * microsecond must fall due within the next round of the loop. */
static inline struct event_base *fuzz_base_new(void)
{
    struct event_config *ec = event_config_new();
    event_config_set_flag(ec, EVENT_BASE_FLAG_PRECISE_TIMER);
    struct event_base *base = event_base_new_with_config(ec);
    event_config_free(ec);
    /* A server may write to a client that has just closed. */
    signal(SIGPIPE, SIG_IGN);
    return base;
}

/* A connected pair: sv[0] for the target, sv[1] for the server. False when
 * the process is out of descriptors. */
static inline bool fuzz_socketpair(int sv[2])
{
    return socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0;
}

/* The loopback address a server logs for a socketpair client. */
static inline struct sockaddr_in fuzz_loopback(unsigned port)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
}

/* True when the server has read everything written to fd (for a Unix
 * socket, SIOCOUTQ counts what the other end has not read yet). */
static inline bool fuzz_all_read(int fd)
{
    int queued = 0;
    return ioctl(fd, SIOCOUTQ, &queued) == 0 && queued == 0;
}

/* Appends what fd holds to in; *eof once the server has closed (or reset)
 * its end. True when anything happened. */
static inline bool fuzz_receive(int fd, cc_buf *in, bool *eof)
{
    bool news = false;
    for (;;) {
        char chunk[4096];
        ssize_t n = recv(fd, chunk, sizeof chunk, 0);
        if (n > 0) {
            cc_buf_append(in, chunk, (size_t)n);
            news = true;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return news;
        *eof = true;
        return true;
    }
}

/* Consumes text at in[*pos] when it is there. */
static inline bool fuzz_take(const cc_buf *in, size_t *pos, const char *text)
{
    size_t n = strlen(text);
    if (in->len - *pos < n || memcmp(in->data + *pos, text, n) != 0)
        return false;
    *pos += n;
    return true;
}

#endif

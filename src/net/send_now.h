/* Writing to a bufferevent's socket without a turn of the loop.
 *
 * bufferevent_write queues the bytes and watches the socket for room, then
 * stops watching once they are written: two epoll_ctl calls and a loop
 * turn for every answer, as much as a small answer's whole cost. When
 * nothing is queued, the bytes can go to the kernel at once instead.
 *
 * Thread: the bufferevent's loop thread. */
#ifndef CC_NET_SEND_NOW_H
#define CC_NET_SEND_NOW_H

#include <stddef.h>

struct bufferevent;

/* Writes len bytes behind everything written to bev before: straight to
 * its socket when its output is empty, and queues in bev what the kernel
 * does not take. An error is left to bev, which meets it on its next write
 * and reports it through its event callback as it would have. */
void cc_send_now(struct bufferevent *bev, const void *data, size_t len);

#endif

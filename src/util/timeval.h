/* Seconds as a double to the struct timeval libevent takes. */
#ifndef CC_UTIL_TIMEVAL_H
#define CC_UTIL_TIMEVAL_H

#include <sys/time.h>

/* Whole seconds and the fraction in microseconds (truncated). A negative
 * `s` is not clamped: callers that may pass one clamp to 0 first. */
struct timeval cc_timeval_of(double s);

#endif

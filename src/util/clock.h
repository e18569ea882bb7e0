/* Wall-clock and monotonic time. Kept out of consensus/, which is pure and
 * receives times as arguments. Thread-safe. */
#ifndef CC_UTIL_CLOCK_H
#define CC_UTIL_CLOCK_H

#include <stdint.h>

/* UTC in the form of Python's datetime.isoformat():
 * "2026-01-01T00:00:01.000000" (26 characters + NUL). The http network's
 * timestamps carry no zone; writing UTC lets every reader (the explorer
 * among them) show them as UTC. */
void cc_clock_iso_now(char out[27]);
/* UTC "YYYY-MM-DD<sep>HH:MM:SS" plus microseconds of now. */
void cc_clock_utc(char sep, char out[20], long *micros);
/* Seconds since an arbitrary point, never going backwards. */
double cc_clock_mono(void);
/* Unix time in seconds. */
int64_t cc_clock_unix(void);

#endif

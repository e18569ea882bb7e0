#include "util/clock.h"

#include <stdio.h>
#include <sys/time.h>
#include <time.h>

void cc_clock_utc(char sep, char out[20], long *micros)
{
    struct timeval now;
    gettimeofday(&now, NULL);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    strftime(out, 20, "%Y-%m-%d %H:%M:%S", &tm);
    out[10] = sep;
    *micros = (long)now.tv_usec;
}

void cc_clock_iso_now(char out[27])
{
    char date[20];
    long micros;
    cc_clock_utc('T', date, &micros);
    snprintf(out, 27, "%.19s.%06ld", date, micros);
}

double cc_clock_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t cc_clock_unix(void) { return (int64_t)time(NULL); }

#include "util/clock.h"

#include <stdio.h>
#include <sys/time.h>
#include <time.h>

void cc_clock_iso_now(char out[27])
{
    struct timeval now;
    gettimeofday(&now, NULL);
    struct tm tm;
    localtime_r(&now.tv_sec, &tm);
    char date[20];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 27, "%.19s.%06ld", date, (long)now.tv_usec);
}

double cc_clock_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t cc_clock_unix(void) { return (int64_t)time(NULL); }

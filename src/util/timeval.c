#include "util/timeval.h"

#include <time.h>

struct timeval cc_timeval_of(double s)
{
    return (struct timeval){(time_t)s, (suseconds_t)((s - (double)(time_t)s) * 1e6)};
}

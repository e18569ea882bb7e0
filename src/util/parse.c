#include "util/parse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool cc_parse_long(const char *text, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno || end == text || *end || value < min || value > max)
        return false;
    *out = value;
    return true;
}

bool cc_parse_int(const char *text, long min, long max, int *out)
{
    long value;
    if (!cc_parse_long(text, min, max, &value))
        return false;
    *out = (int)value;
    return true;
}

bool cc_parse_double(const char *text, double min, double max, double *out)
{
    char *end;
    double value = strtod(text, &end);
    if (end == text || *end || !(value >= min) || value > max)
        return false;
    *out = value;
    return true;
}

bool cc_parse_switch(const char *text, bool *out)
{
    if (!strcmp(text, "yes") || !strcmp(text, "on") || !strcmp(text, "1") || !strcmp(text, "true"))
        return (*out = true);
    if (!strcmp(text, "no") || !strcmp(text, "off") || !strcmp(text, "0") || !strcmp(text, "false"))
        return !(*out = false);
    return false;
}

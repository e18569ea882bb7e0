#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *checked(void *p)
{
    if (p)
        return p;
    fputs("cheesechain: out of memory\n", stderr);
    abort();
}

void cc_alloc_check(const void *p) { checked((void *)p); }

void *cc_malloc(size_t size) { return checked(malloc(size ? size : 1)); }

void *cc_calloc(size_t count, size_t size)
{
    return checked(calloc(count ? count : 1, size ? size : 1));
}

void *cc_realloc(void *ptr, size_t size) { return checked(realloc(ptr, size ? size : 1)); }

char *cc_strdup(const char *s) { return cc_strndup(s, strlen(s)); }

char *cc_strndup(const char *s, size_t len)
{
    char *copy = cc_malloc(len + 1);
    memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}

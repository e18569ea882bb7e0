#include "util/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

void cc_buf_free(cc_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void cc_buf_wipe(cc_buf *b)
{
    if (b->data)
        explicit_bzero(b->data, b->cap);
    cc_buf_free(b);
}

void cc_buf_reset(cc_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void cc_buf_reserve(cc_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    b->data = cc_realloc(b->data, cap);
    b->cap = cap;
}

void cc_buf_append(cc_buf *b, const void *data, size_t len)
{
    cc_buf_reserve(b, len);
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void cc_buf_puts(cc_buf *b, const char *s) { cc_buf_append(b, s, strlen(s)); }

void cc_buf_putc(cc_buf *b, char c) { cc_buf_append(b, &c, 1); }

void cc_buf_vprintf(cc_buf *b, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n <= 0)
        return;
    cc_buf_reserve(b, (size_t)n);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void cc_buf_printf(cc_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cc_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

const char *cc_buf_str(const cc_buf *b) { return b->data ? b->data : ""; }

char *cc_buf_take(cc_buf *b)
{
    char *data = b->data ? b->data : cc_strdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return data;
}

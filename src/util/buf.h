/* A growable byte buffer, always kept NUL-terminated so that its contents
 * can be used as a C string when they are text.
 *
 * Ownership: the cc_buf owns data; cc_buf_free releases it. A zeroed cc_buf
 * (or CC_BUF_INIT) is a valid empty buffer. Not thread-safe. */
#ifndef CC_UTIL_BUF_H
#define CC_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct cc_buf {
    char *data;
    size_t len;
    size_t cap;
} cc_buf;

#define CC_BUF_INIT {NULL, 0, 0}

void cc_buf_free(cc_buf *b);
/* Zeroes the whole allocation, then frees it: for key material. */
void cc_buf_wipe(cc_buf *b);
/* Empties the buffer but keeps its memory for reuse. */
void cc_buf_reset(cc_buf *b);
void cc_buf_reserve(cc_buf *b, size_t extra);
void cc_buf_append(cc_buf *b, const void *data, size_t len);
void cc_buf_puts(cc_buf *b, const char *s);
void cc_buf_putc(cc_buf *b, char c);
void cc_buf_printf(cc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cc_buf_vprintf(cc_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Returns the contents as a C string ("" when empty); valid until the
 * buffer next changes. */
const char *cc_buf_str(const cc_buf *b);
/* Hands the memory to the caller (who frees it) and leaves b empty. */
char *cc_buf_take(cc_buf *b);

#endif

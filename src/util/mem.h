/* Allocation that never returns NULL.
 *
 * Running out of memory is not an input error a node can report and carry
 * on from: like git and Bitcoin Core, cheesechain aborts with a message.
 * Input sizes are bounded before anything is allocated for them, so this
 * only fires when the machine itself is exhausted. Thread-safe. */
#ifndef CC_UTIL_MEM_H
#define CC_UTIL_MEM_H

#include <stddef.h>

void *cc_malloc(size_t size);
void *cc_calloc(size_t count, size_t size);
void *cc_realloc(void *ptr, size_t size);
/* Aborts as the functions above do when a library's allocation (a
 * libevent event, a jansson text) came back NULL; otherwise does nothing. */
void cc_alloc_check(const void *p);
/* Copies a NUL-terminated string; the caller frees the copy. */
char *cc_strdup(const char *s);
/* Copies len bytes and appends a NUL; the caller frees the copy. */
char *cc_strndup(const char *s, size_t len);

#endif

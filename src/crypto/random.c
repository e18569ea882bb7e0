#include "crypto/random.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

void cc_random_bytes(void *out, size_t len)
{
    uint8_t *p = out;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fputs("cheesechain: the kernel gave no random bytes\n", stderr);
            abort();
        }
        p += n;
        len -= (size_t)n;
    }
}

void cc_random_nettle(void *ctx, size_t len, uint8_t *out)
{
    (void)ctx;
    cc_random_bytes(out, len);
}

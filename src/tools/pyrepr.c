/* Test helper: reads one number per line (hex bit pattern of a double, or
 * "int N") from stdin and prints what cheesechain's Python-compatible
 * printer makes of it, one per line. The functional tests compare this
 * output with Python's own str() over many values. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/pynum.h"

int main(void)
{
    char line[128];
    while (fgets(line, sizeof line, stdin)) {
        cc_number n = {0};
        if (strncmp(line, "int ", 4) == 0) {
            n.is_int = true;
            n.i = strtoll(line + 4, NULL, 10);
        } else {
            uint64_t bits = strtoull(line, NULL, 16);
            memcpy(&n.d, &bits, sizeof n.d);
        }
        char text[CC_NUMBER_TEXT_MAX];
        cc_number_format(&n, text);
        puts(text);
    }
    return 0;
}

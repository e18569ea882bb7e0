#include "checks.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

void assert_bad_request(const cc_err *err, const char *part)
{
    assert_int_equal(err->code, CC_ERR_BAD_REQUEST);
    if (!strstr(err->msg, part))
        fail_msg("error \"%s\" does not mention \"%s\"", err->msg, part);
}

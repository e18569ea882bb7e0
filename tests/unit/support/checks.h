/* Test support: assertions on what the code under test reports. Failures
 * end the running cmocka test. */
#ifndef CC_TEST_CHECKS_H
#define CC_TEST_CHECKS_H

#include "util/err.h"

/* err is a CC_ERR_BAD_REQUEST whose message mentions part. */
void assert_bad_request(const cc_err *err, const char *part);

#endif

/* Test support: reading the JSON vector files of tests/vectors. Failures
 * end the running cmocka test (fail_msg). */
#ifndef CC_TEST_VECTORS_H
#define CC_TEST_VECTORS_H

#include <jansson.h>

/* The parsed document at path; the caller json_decref()s it. */
json_t *load_json(const char *path);

/* The string field key of obj, which must be there. */
const char *str_at(const json_t *obj, const char *key);

#endif

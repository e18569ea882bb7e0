#include "vectors.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

json_t *load_json(const char *path)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root)
        fail_msg("cannot read %s: %s", path, jerr.text);
    return root;
}

const char *str_at(const json_t *obj, const char *key)
{
    const json_t *value = json_object_get(obj, key);
    if (!json_is_string(value))
        fail_msg("vector field '%s' missing", key);
    return json_string_value(value);
}

/* Unit tests for util/dirlock and cc_restrict_to_owner (util/fileio): one
 * holder per data directory, a clear refusal naming the directory and the
 * holder's pid, the lock free again once released; secrets' files and
 * folders restricted to their owner. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/dirlock.h"
#include "util/fileio.h"

static int setup(void **state)
{
    char *dir = strdup("/tmp/cc-dirlock-XXXXXX");
    if (!dir || !mkdtemp(dir))
        return -1;
    *state = dir;
    return 0;
}

static int teardown(void **state)
{
    char *dir = *state;
    char path[256];
    snprintf(path, sizeof path, "%s/.lock", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/secret", dir);
    unlink(path);
    rmdir(dir);
    free(dir);
    return 0;
}

static void test_second_holder_refused(void **state)
{
    const char *dir = *state;
    cc_dir_lock first = CC_DIR_LOCK_INIT, second = CC_DIR_LOCK_INIT;
    cc_err err = {0};
    assert_true(cc_dir_lock_take(&first, dir, &err));

    assert_false(cc_dir_lock_take(&second, dir, &err));
    assert_int_equal(second.fd, -1);
    assert_int_equal(err.code, CC_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.msg, dir));
    char pid[32];
    snprintf(pid, sizeof pid, "process %ld", (long)getpid());
    assert_non_null(strstr(err.msg, pid));

    cc_dir_lock_release(&first);
    assert_int_equal(first.fd, -1);
    cc_dir_lock_release(&first); /* twice is harmless */
    assert_true(cc_dir_lock_take(&second, dir, &err));
    cc_dir_lock_release(&second);
}

static void test_missing_directory(void **state)
{
    char path[256];
    snprintf(path, sizeof path, "%s/not/there", (const char *)*state);
    cc_dir_lock lock = CC_DIR_LOCK_INIT;
    cc_err err = {0};
    assert_false(cc_dir_lock_take(&lock, path, &err));
    assert_int_equal(err.code, CC_ERR_INTERNAL);
    assert_non_null(strstr(err.msg, path));
    assert_int_equal(lock.fd, -1);
}

static void test_restrict_to_owner(void **state)
{
    const char *dir = *state;
    const cc_log quiet = {.threshold = CC_LOG_ERROR, .component = "test"};
    char path[256];
    snprintf(path, sizeof path, "%s/secret", dir);
    assert_true(cc_write_file_atomic(path, "x", 1, 0600, NULL));
    struct stat st;
    cc_err err = {0};

    assert_int_equal(chmod(path, 0644), 0);
    assert_true(cc_restrict_to_owner(path, &quiet, &err));
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    assert_int_equal(chmod(dir, 0755), 0);
    assert_true(cc_restrict_to_owner(dir, &quiet, &err));
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);

    /* Already private: left as it is. */
    assert_int_equal(chmod(path, 0400), 0);
    assert_true(cc_restrict_to_owner(path, &quiet, &err));
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0400);

    snprintf(path, sizeof path, "%s/absent", dir);
    assert_false(cc_restrict_to_owner(path, &quiet, &err));
    assert_int_equal(err.code, CC_ERR_INTERNAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_second_holder_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restrict_to_owner, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

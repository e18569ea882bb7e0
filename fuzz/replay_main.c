/* Replays inputs through one fuzz target without libFuzzer, so that the
 * ordinary test build (gcc, ASan + UBSan) runs every seed and every input
 * that once made a target fail:
 *
 *     replay_<target> DIR_OR_FILE...
 *
 * feeds each file (a directory's files in name order; a directory that does
 * not exist is skipped, since a target may have no regressions yet) to
 * LLVMFuzzerTestOneInput. A failed property aborts and a sanitizer error
 * ends the process, so the name of the file being replayed is printed as
 * the process dies; where LeakSanitizer runs, leaks are looked for after
 * every file, so that a leak names its input too. Exit status 0 when every
 * file passed, 1 otherwise, 2 for usage. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fileio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Present only when a sanitizer runtime is linked in. */
void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));
int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

/* The file being replayed, for the dying words: a signal handler and a
 * sanitizer's death callback take no argument, so it has to live here. */
static char current[4096];

static void say_current(void)
{
    static const char head[] = "replay: the input that failed is ";
    ssize_t ignored = write(STDERR_FILENO, head, sizeof head - 1);
    ignored = write(STDERR_FILENO, current, strlen(current));
    ignored = write(STDERR_FILENO, "\n", 1);
    (void)ignored;
}

static void on_fatal_signal(int sig)
{
    say_current();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Aborts are failed properties. Other fatal signals are left to the
 * sanitizer's own report when there is one (it names the input through the
 * death callback). */
static void install_handlers(void)
{
    signal(SIGABRT, on_fatal_signal);
    if (__sanitizer_set_death_callback) {
        __sanitizer_set_death_callback(say_current);
        return;
    }
    signal(SIGSEGV, on_fatal_signal);
    signal(SIGBUS, on_fatal_signal);
    signal(SIGFPE, on_fatal_signal);
    signal(SIGILL, on_fatal_signal);
}

static int replay_file(const char *path)
{
    snprintf(current, sizeof current, "%s", path);
    cc_buf file = CC_BUF_INIT;
    cc_err err = {0};
    if (!cc_read_file(path, 1 << 24, &file, &err)) {
        fprintf(stderr, "replay: %s\n", err.msg);
        cc_buf_free(&file);
        return 1;
    }
    /* An allocation of exactly the input's size, as libFuzzer passes it,
     * so that reading one byte past the end is caught here too. */
    size_t len = file.len;
    uint8_t *data = malloc(len ? len : 1);
    if (len)
        memcpy(data, file.data, len);
    cc_buf_free(&file);
    LLVMFuzzerTestOneInput(data, len);
    free(data);
    if (__lsan_do_recoverable_leak_check && __lsan_do_recoverable_leak_check() != 0) {
        say_current();
        _exit(1); /* the check at exit would report the same leak again */
    }
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int skip_dots(const struct dirent *e) { return e->d_name[0] != '.'; }

/* Every file of dir in name order; *count how many were replayed. */
static int replay_dir(const char *dir, size_t *count)
{
    struct dirent **names;
    int n = scandir(dir, &names, skip_dots, by_name);
    if (n < 0) {
        if (errno == ENOENT)
            return 0;
        fprintf(stderr, "replay: cannot read %s: %s\n", dir, strerror(errno));
        return 1;
    }
    int failed = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        struct stat st;
        if (!failed && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            failed = replay_file(path);
            (*count)++;
        }
        free(names[i]);
    }
    free(names);
    return failed;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    install_handlers();
    size_t count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        int failed = stat(argv[i], &st) == 0 && S_ISREG(st.st_mode)
                         ? (count++, replay_file(argv[i]))
                         : replay_dir(argv[i], &count);
        if (failed)
            return 1;
    }
    printf("replay: %zu inputs passed\n", count);
    return 0;
}

/* cheese-bench-mine: drives the node's own miner (node/miner.h) on a real
 * http-network block template for a fixed time and prints how many hash
 * attempts it made, as one JSON object on stdout, for `make bench`
 * (docs/benchmarks.md).
 *
 * The template is what a node mines after `--payments` payments arrived:
 * block 1 on the genesis holding that many signed payments plus the
 * reward. The difficulty is set beyond reach so that no attempt wins and
 * every worker hashes for the whole run, as during a long search.
 *
 * Rates are given per CPU second of the process (user + system), which is
 * what `openssl speed` reports too, so that other programs competing for
 * the cores change the figure less; the wall-clock rate is printed beside it.
 * Exit status: 0 after a run, 2 for usage errors. */
#include <event2/event.h>
#include <event2/thread.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "consensus/http.h"
#include "node/miner.h"
#include "util/clock.h"
#include "util/mem.h"
#include "util/parse.h"
#include "wallet/payment.h"

/* More leading zero digits than a SHA-256 has: no attempt ever wins. */
#define UNREACHABLE_ZEROS 64
#define SHA256_BLOCK 64
/* Padding adds a 0x80 byte and the 8-byte length to the last block. */
#define SHA256_PAD_MIN 9

static const char usage[] =
    "usage: cheese-bench-mine [--seconds S] [--threads N] [--payments P]\n"
    "\n"
    "Runs the node's miner on a block template holding P signed payments and\n"
    "the reward for S seconds with N threads (0: one per core) and prints the\n"
    "attempts made and the pre-image's size as JSON.\n"
    "\n"
    "  --seconds S    length of the measured run (5)\n"
    "  --threads N    mining threads, 0 for one per core (0)\n"
    "  --payments P   signed payments in the template, 0 to 255 (2)\n"
    "  --help         show this text\n";

typedef struct options {
    double seconds;
    long threads;
    long payments;
} options;

static const struct option long_options[] = {
    {"seconds", required_argument, 0, 's'},
    {"threads", required_argument, 0, 't'},
    {"payments", required_argument, 0, 'p'},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

/* Returns an exit status, or -1 to go on. */
static int parse_args(int argc, char **argv, options *o)
{
    *o = (options){.seconds = 5, .threads = 0, .payments = 2};
    int opt;
    while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        bool ok = true;
        if (opt == 's')
            ok = cc_parse_double(optarg, 0.1, 3600, &o->seconds);
        else if (opt == 't')
            ok = cc_parse_long(optarg, 0, 1024, &o->threads);
        else if (opt == 'p')
            ok = cc_parse_long(optarg, 0, CC_HTTP_MAX_BLOCK_TXS - 1, &o->payments);
        else if (opt == 'h')
            return fputs(usage, stdout), 0;
        else
            ok = false;
        if (!ok)
            return fputs(usage, stderr), 2;
    }
    if (optind != argc)
        return fputs(usage, stderr), 2;
    return -1;
}

/* Block 1 on the genesis with `payments` payments from one fresh key to
 * others and the reward to the miner's key, as the node lays it out. */
static bool build_template(long payments, cc_block_template *tpl, cc_err *err)
{
    cc_p192_key miner, payer, payee;
    cc_p192_generate(&miner);
    cc_p192_generate(&payer);
    char now[27];
    cc_clock_iso_now(now);
    size_t n = (size_t)payments + 1;
    cc_tx *txs = cc_calloc(n, sizeof *txs);
    bool ok = true;
    for (size_t i = 0; ok && i + 1 < n; i++) {
        cc_p192_generate(&payee);
        cc_number amount = {.is_int = false, .d = 0.25};
        ok = cc_http_tx_create(&payer, payee.pub_hex, &amount, now, &txs[i], err);
    }
    if (ok) {
        cc_number reward = {.is_int = true, .i = 1};
        cc_http_tx_reward(miner.pub_hex, &reward, now, &txs[n - 1]);
        cc_http_template_build(tpl, 1, CC_HTTP_GENESIS_HASH, now, miner.pub_hex, txs, n);
    }
    for (size_t i = 0; i < n; i++)
        cc_tx_clear(&txs[i]);
    free(txs);
    return ok;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void sleep_for(double seconds)
{
    struct timespec ts = {.tv_sec = (time_t)seconds,
                          .tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static void never_found(void *ctx, uint64_t job_id, const char *nonce)
{
    (void)ctx;
    (void)job_id;
    (void)nonce;
}

static size_t sha256_blocks(size_t len) { return (len + SHA256_PAD_MIN + SHA256_BLOCK - 1) / SHA256_BLOCK; }

static void report(const options *o, unsigned threads, const cc_block_template *tpl,
                   uint64_t attempts, double wall, double cpu)
{
    size_t preimage = tpl->prefix.len + CC_MINER_NONCE_LEN + tpl->suffix.len;
    size_t whole = sha256_blocks(preimage);
    /* The midstate keeps the prefix's complete 64-byte blocks; the rest of
     * the prefix sits in the copied state's buffer and is hashed again. */
    size_t saved = tpl->prefix.len / SHA256_BLOCK;
    printf("{\"threads\": %u, \"payments\": %ld, \"seconds\": %.3f, \"cpu_seconds\": %.3f, "
           "\"attempts\": %llu, \"attempts_per_cpu_second\": %.1f, "
           "\"attempts_per_second_per_thread\": %.1f, \"prefix_bytes\": %zu, "
           "\"nonce_bytes\": %d, \"suffix_bytes\": %zu, \"preimage_bytes\": %zu, "
           "\"blocks_without_midstate\": %zu, \"blocks_with_midstate\": %zu}\n",
           threads, o->payments, wall, cpu, (unsigned long long)attempts,
           cpu > 0 ? (double)attempts / cpu : 0.0,
           wall > 0 ? (double)attempts / wall / threads : 0.0, tpl->prefix.len,
           CC_MINER_NONCE_LEN, tpl->suffix.len, preimage, whole, whole - saved);
}

int main(int argc, char **argv)
{
    options o;
    int status = parse_args(argc, argv, &o);
    if (status >= 0)
        return status;
    cc_block_template tpl;
    cc_err err = {0};
    if (!build_template(o.payments, &tpl, &err)) {
        fprintf(stderr, "cheese-bench-mine: cannot build a template: %s\n", err.msg);
        return 1;
    }
    evthread_use_pthreads();
    struct event_base *base = event_base_new();
    unsigned threads = (unsigned)o.threads;
    if (threads == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cores > 0 ? (unsigned)cores : 1;
    }
    cc_miner *miner = cc_miner_new(base, threads, CC_MINER_NICE_DEFAULT, never_found, NULL);
    cc_miner_start(miner, 1, tpl.prefix.data, tpl.prefix.len, tpl.suffix.data, tpl.suffix.len,
                   UNREACHABLE_ZEROS, CC_NONCE_TEXT);
    /* Let every worker take the job before the clock starts. */
    sleep_for(0.3);
    uint64_t a0 = cc_miner_attempts(miner);
    double t0 = cc_clock_mono(), c0 = cpu_seconds();
    sleep_for(o.seconds);
    uint64_t a1 = cc_miner_attempts(miner);
    double t1 = cc_clock_mono(), c1 = cpu_seconds();
    cc_miner_free(miner);
    event_base_free(base);
    report(&o, threads, &tpl, a1 - a0, t1 - t0, c1 - c0);
    cc_block_template_clear(&tpl);
    return 0;
}

/* cheese-bench-verify: how many payment signatures the node's own verifier
 * checks per second (the network's rules: P-192 ECDSA for http, RSA PKCS#1
 * v1.5 for cheese, both on nettle), on one core and then on --threads cores
 * at once: the anchor of the sync and intake benchmarks
 * (docs/benchmarks.md). Rates are given per second of wall clock and per
 * second of CPU time, which a busy machine changes less. The messages are
 * payments of the network, signed beforehand by a fresh wallet key (1024-bit
 * RSA on cheese, as the reference makes them); every verification must
 * succeed or the run fails.
 * Prints one JSON object.
 *
 * Exit status: 0 done, 1 a signature failed to verify, 2 usage. */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "consensus/rules.h"
#include "util/clock.h"
#include "util/parse.h"
#include "wallet/keys.h"

#define N_MESSAGES 64

static const char usage[] =
    "usage: cheese-bench-verify [--network http|cheese] [--seconds S] [--threads N]\n"
    "  --network NAME whose signatures (http)\n"
    "  --seconds S   time of each of the two measurements (2)\n"
    "  --threads N   threads of the second measurement, 0 = one per core (0)\n";

typedef struct sample {
    const cc_rules *rules;
    cc_tx txs[N_MESSAGES];
    double seconds;
} sample;

typedef struct worker {
    const sample *s;
    uint64_t verified;
    double cpu_s; /* this thread's CPU time */
    bool failed;
} worker;

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* N_MESSAGES payments of different amounts from one key to another. */
static bool make_sample(sample *s)
{
    const cc_key_kind *kind = cc_key_kind_of(s->rules);
    cc_wallet_key from, to;
    cc_buf hex = CC_BUF_INIT;
    kind->file.generate(&from, &hex);
    kind->file.generate(&to, &hex);
    cc_buf_free(&hex);
    bool ok = true;
    for (int i = 0; ok && i < N_MESSAGES; i++) {
        cc_stamp stamp = {.unix_s = {.d = 1704067200.0 + i}};
        snprintf(stamp.iso, sizeof stamp.iso, "2024-01-01T00:00:%02d.000000", i % 60);
        cc_number amount = {.d = 0.25 + i};
        ok = kind->pay(&from, kind->public_hex(&to), &amount, &stamp, &s->txs[i], NULL);
    }
    kind->file.clear(&from);
    kind->file.clear(&to);
    return ok;
}

static void *verify_loop(void *arg)
{
    worker *w = arg;
    double cpu = thread_cpu_s();
    double end = cc_clock_mono() + w->s->seconds;
    while (cc_clock_mono() < end) {
        for (int i = 0; i < N_MESSAGES; i++)
            w->failed |= !w->s->rules->tx_verify(&w->s->txs[i]);
        w->verified += N_MESSAGES;
    }
    w->cpu_s = thread_cpu_s() - cpu;
    return NULL;
}

typedef struct rate {
    double per_s;     /* all threads, per second of wall clock */
    double per_cpu_s; /* per second of CPU time, however busy the machine is */
} rate;

/* Verifications per second over all threads; false when one failed. */
static bool measure(const sample *s, unsigned threads, rate *out)
{
    pthread_t ids[256];
    worker w[256];
    memset(w, 0, sizeof w);
    double started = cc_clock_mono();
    for (unsigned t = 0; t < threads; t++) {
        w[t].s = s;
        pthread_create(&ids[t], NULL, verify_loop, &w[t]);
    }
    uint64_t total = 0;
    double cpu = 0;
    bool ok = true;
    for (unsigned t = 0; t < threads; t++) {
        pthread_join(ids[t], NULL);
        total += w[t].verified;
        cpu += w[t].cpu_s;
        ok = ok && !w[t].failed;
    }
    out->per_s = (double)total / (cc_clock_mono() - started);
    out->per_cpu_s = cpu > 0 ? (double)total / cpu : 0;
    return ok;
}

int main(int argc, char **argv)
{
    double seconds = 2;
    long threads = 0;
    const cc_rules *rules = cc_rules_http();
    static const struct option opts[] = {{"network", required_argument, 0, 'n'},
                                         {"seconds", required_argument, 0, 's'},
                                         {"threads", required_argument, 0, 't'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        bool ok = (opt == 'n' && (rules = cc_rules_find(optarg)) && cc_key_kind_of(rules)) ||
                  (opt == 's' && cc_parse_double(optarg, 0.1, 600, &seconds)) ||
                  (opt == 't' && cc_parse_long(optarg, 0, 256, &threads));
        if (opt == 'h')
            return fputs(usage, stdout), 0;
        if (!ok)
            return fputs(usage, stderr), 2;
    }
    if (optind < argc)
        return fputs(usage, stderr), 2;
    if (threads == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cores > 0 ? cores : 1;
    }
    static sample s;
    s.rules = rules;
    if (!make_sample(&s))
        return fputs("cheese-bench-verify: cannot sign the sample payments\n", stderr), 1;
    s.seconds = seconds;
    rate one = {0}, all = {0};
    bool ok = measure(&s, 1, &one) && measure(&s, (unsigned)threads, &all);
    for (int i = 0; i < N_MESSAGES; i++)
        cc_tx_clear(&s.txs[i]);
    if (!ok) {
        fputs("cheese-bench-verify: a signature did not verify\n", stderr);
        return 1;
    }
    printf("{\"network\": \"%s\", \"one_core_per_s\": %.1f, \"one_core_per_cpu_s\": %.1f, \"threads\": %ld, "
           "\"all_threads_per_s\": %.1f, \"all_threads_per_cpu_s\": %.1f}\n",
           rules->network, one.per_s, one.per_cpu_s, threads, all.per_s, all.per_cpu_s);
    return 0;
}

/* cheese-bench-cheesegen: writes a valid cheese-network chain for the
 * benchmarks (docs/benchmarks.md): cheeses 1..N on the fixed genesis, one
 * block's wire text per line, each as a node serves it and as BRCHEESE
 * carries it.
 *
 * Keys are fresh RSA-1024 pairs, about 8 ms each, made on --threads
 * threads. They are random (cc_rsa_generate draws its own randomness), so
 * two runs give different chains: the key file written beside the chain is
 * what ties the two together, and the benchmarks cache them as one.
 *
 * Cheese n pays its reward of 10 to key (n-1) mod R. From cheese 2 on,
 * every --payment-every-th cheese carries --payments signed payments, each
 * from the next key in turn that can afford it out of what earlier cheeses
 * gave it (a key pays at most once per cheese); a cheese without enough
 * funded senders carries fewer. No payment may repeat: the signed payload
 * is sender + recipient + amount and nothing else, and a node refuses a
 * second payment of the same text (docs/cheese-network.md, Replays). So
 * the r-th payment of key k goes to key k+1+(r mod) and pays
 * 1 + r div coins: each (recipient, amount) pair comes once per
 * sender, and amounts stay whole numbers, exact in any ledger.
 *
 * Cheese n is stamped 2024-01-01T00:00:00Z + n minutes (a float of Unix
 * seconds, as time.time() gives). Its nonce is the smallest that meets
 * the proof of work (two leading zero hex digits: about 256 attempts), so
 * one thread mines, copying the state of the pre-image's prefix for each
 * attempt. Every cheese is decoded and its signatures verified, as a node
 * would, before it is written.
 *
 * --keys-out writes every key holding funds at the end as JSON lines
 * {"priv": DER hex, "pub": DER hex, "balance": N}. A summary goes to stdout
 * as one JSON object, progress to stderr. The chain file appears only once
 * complete (written beside it, then renamed).
 *
 * Exit status: 0 done, 1 failure, 2 usage. */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "consensus/cheese.h"
#include "crypto/hash.h"
#include "crypto/rsa.h"
#include "util/atomic_file.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/fileio.h"
#include "util/mem.h"
#include "util/parse.h"
#include "wallet/payment.h"

/* Part of the cache key of generated chains: raise it whenever the bytes a
 * given set of options produces change shape. */
#define CHEESEGEN_VERSION "1"

#define EPOCH_UNIX 1704067200
#define BLOCK_SECONDS 60
/* Flush the chain text to the file in pieces of about this size. */
#define FLUSH_BYTES (1 << 20)
#define MAX_THREADS 256
/* Decimal digits of any int64_t, and its NUL. */
#define NONCE_MAX 21

static const char usage[] =
    "usage: cheese-bench-cheesegen --blocks N --out FILE [options]\n"
    "\n"
    "Writes a valid cheese-network chain (cheeses 1..N on the genesis), one\n"
    "block text per line, for the benchmarks (docs/benchmarks.md).\n"
    "\n"
    "  --blocks N             cheeses to write (required)\n"
    "  --out FILE             the chain (required; written whole or not at all)\n"
    "  --payments P           signed payments per cheese (0, at most 255)\n"
    "  --payment-every K      only every K-th cheese carries payments (1)\n"
    "  --reward-keys R        distinct RSA keys the rewards go to, in turn (2)\n"
    "  --keys-out FILE        every funded key: {\"priv\", \"pub\", \"balance\"} lines\n"
    "  --threads N            key-making threads, 0 = one per core (0)\n"
    "  --version              print the generator's version (part of cache keys)\n"
    "  --help                 show this text\n";

typedef struct options {
    long blocks;
    long payments;
    long payment_every;
    long reward_keys;
    long threads;
    const char *out;
    const char *keys_out;
} options;

typedef struct generator {
    options opt;
    cc_rsa_key *keys;
    size_t n_keys;
    int64_t *coins;   /* balance of each key on the chain written so far */
    int64_t *paid;    /* payments each key made so far: its next recipient and amount */
    size_t next_sender;
    char prev[CC_HASH_HEX_LEN + 1];
    cc_atomic_file file;
    cc_buf pending;
    uint64_t payments_written;
    uint64_t attempts;
    size_t bytes_written;
    double keygen_seconds;
} generator;

/* ---- keys ----------------------------------------------------------------------- */

typedef struct keygen {
    cc_rsa_key *keys;
    size_t n;
    _Atomic size_t next;
} keygen;

static void *keygen_thread(void *arg)
{
    keygen *k = arg;
    for (size_t i; (i = atomic_fetch_add(&k->next, 1)) < k->n;)
        cc_rsa_generate(&k->keys[i]);
    return NULL;
}

/* The calling thread makes keys too, so a thread that cannot be started
 * only slows the work down. */
static void make_keys(cc_rsa_key *keys, size_t n, long threads)
{
    if (threads == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cores > 0 ? cores : 1;
    }
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    keygen k = {.keys = keys, .n = n};
    atomic_init(&k.next, 0);
    pthread_t ids[MAX_THREADS];
    long started = 0;
    while (started < threads - 1 && pthread_create(&ids[started], NULL, keygen_thread, &k) == 0)
        started++;
    keygen_thread(&k);
    for (long t = 0; t < started; t++)
        pthread_join(ids[t], NULL);
}

/* ---- payments ---------------------------------------------------------------------- */

/* The next key (from the rotating cursor) that has not paid in this cheese
 * and can afford its next payment. */
static bool pick_sender(generator *g, const bool *paying, size_t *out)
{
    size_t others = g->n_keys - 1;
    for (size_t tried = 0; tried < g->n_keys; tried++) {
        size_t k = (g->next_sender + tried) % g->n_keys;
        int64_t amount = 1 + g->paid[k] / (int64_t)others;
        if (!paying[k] && g->coins[k] >= amount) {
            g->next_sender = (k + 1) % g->n_keys;
            *out = k;
            return true;
        }
    }
    return false;
}

/* The payment key k makes next (its paid[k]-th): see the opening comment. */
static bool make_payment(const generator *g, size_t k, cc_tx *tx, size_t *to, int64_t *amount,
                         cc_err *err)
{
    int64_t others = (int64_t)g->n_keys - 1;
    *to = (k + 1 + (size_t)(g->paid[k] % others)) % g->n_keys;
    *amount = 1 + g->paid[k] / others;
    cc_number sum = {.is_int = true, .i = *amount};
    return cc_cheese_tx_create(&g->keys[k], g->keys[*to].pub_hex, &sum, tx, err);
}

/* Fills txs with this cheese's payments and returns how many; senders,
 * recipients and amounts go to from/to/amounts, and balances change only
 * once the cheese is written. */
static size_t add_payments(generator *g, int64_t nr, cc_tx *txs, size_t *from, size_t *to,
                           int64_t *amounts, cc_err *err)
{
    bool due = nr > 1 && nr % g->opt.payment_every == 0;
    if (!due || g->opt.payments == 0)
        return 0;
    bool *paying = cc_calloc(g->n_keys, sizeof *paying);
    size_t n = 0;
    for (long j = 0; j < g->opt.payments; j++) {
        size_t sender;
        if (!pick_sender(g, paying, &sender) ||
            !make_payment(g, sender, &txs[n], &to[n], &amounts[n], err))
            break;
        paying[sender] = true;
        from[n++] = sender;
    }
    free(paying);
    return n;
}

/* ---- one cheese -------------------------------------------------------------------- */

/* The smallest nonce meeting the proof of work; the prefix is hashed once. */
static void mine(generator *g, const cc_block_template *tpl, char nonce[NONCE_MAX])
{
    cc_sha256_ctx midstate;
    cc_sha256_init(&midstate);
    cc_sha256_update(&midstate, tpl->prefix.data, tpl->prefix.len);
    for (uint64_t n = 0;; n++) {
        int len = snprintf(nonce, NONCE_MAX, "%" PRIu64, n);
        cc_sha256_ctx ctx = midstate;
        cc_sha256_update(&ctx, nonce, (size_t)len);
        cc_sha256_update(&ctx, tpl->suffix.data, tpl->suffix.len);
        uint8_t digest[CC_SHA256_LEN];
        cc_sha256_final(&ctx, digest);
        if (cc_cheese_pow_ok_raw(digest)) {
            g->attempts += n + 1;
            return;
        }
    }
}

static bool flush_pending(generator *g, cc_err *err)
{
    if (!cc_atomic_file_write(&g->file, g->pending.data, g->pending.len, err))
        return false;
    g->bytes_written += g->pending.len;
    cc_buf_reset(&g->pending);
    return true;
}

/* Mines the cheese, checks it as any node would (decode: smell, proof of
 * work, reward, forms; then every signature), and queues its line. */
static bool finish_block(generator *g, const cc_block_template *tpl, cc_err *err)
{
    char nonce[NONCE_MAX];
    mine(g, tpl, nonce);
    cc_buf text = CC_BUF_INIT;
    cc_block block = {0};
    bool ok = cc_cheese_template_finish(tpl, nonce, &text) ||
              cc_fail(err, CC_ERR_INTERNAL, "nonce %s cannot finish the template", nonce);
    ok = ok && cc_cheese_block_decode(text.data, text.len, &block, err);
    for (size_t i = 0; ok && i < block.n_txs; i++)
        if (!cc_cheese_tx_verify(&block.txs[i]))
            ok = cc_fail(err, CC_ERR_INTERNAL, "transaction %zu does not verify", i);
    if (ok) {
        memcpy(g->prev, block.hash, sizeof g->prev);
        cc_buf_append(&g->pending, text.data, text.len);
        cc_buf_putc(&g->pending, '\n');
    }
    cc_block_clear(&block);
    cc_buf_free(&text);
    return ok && (g->pending.len < FLUSH_BYTES || flush_pending(g, err));
}

static void settle(generator *g, size_t n, const size_t *from, const size_t *to,
                   const int64_t *amounts, size_t winner)
{
    for (size_t i = 0; i < n; i++) {
        g->coins[from[i]] -= amounts[i];
        g->coins[to[i]] += amounts[i];
        g->paid[from[i]]++;
    }
    g->coins[winner] += CC_CHEESE_REWARD;
    g->payments_written += n;
}

static bool write_block(generator *g, int64_t nr, cc_err *err)
{
    size_t cap = (size_t)g->opt.payments + 1;
    cc_tx *txs = cc_calloc(cap, sizeof *txs);
    size_t *from = cc_calloc(cap, sizeof *from);
    size_t *to = cc_calloc(cap, sizeof *to);
    int64_t *amounts = cc_calloc(cap, sizeof *amounts);
    cc_err_clear(err);
    size_t n = add_payments(g, nr, txs, from, to, amounts, err);
    bool ok = err->code == 0;
    size_t winner = (size_t)((nr - 1) % (int64_t)g->n_keys);
    cc_cheese_tx_reward(g->keys[winner].pub_hex, &txs[n]);
    cc_number stamp = {.d = (double)(EPOCH_UNIX + nr * BLOCK_SECONDS)};
    cc_block_template tpl;
    cc_cheese_template_build(&tpl, nr, g->prev, &stamp, txs, n + 1);
    ok = ok && finish_block(g, &tpl, err);
    if (ok)
        settle(g, n, from, to, amounts, winner);
    cc_block_template_clear(&tpl);
    for (size_t i = 0; i <= n; i++)
        cc_tx_clear(&txs[i]);
    free(txs);
    free(from);
    free(to);
    free(amounts);
    return ok;
}

/* ---- the whole chain --------------------------------------------------------------- */

static bool write_keys(const generator *g, cc_err *err)
{
    cc_buf text = CC_BUF_INIT;
    for (size_t k = 0; k < g->n_keys; k++)
        if (g->coins[k] > 0)
            cc_buf_printf(&text, "{\"priv\": \"%s\", \"pub\": \"%s\", \"balance\": %" PRId64 "}\n",
                          g->keys[k].priv_hex, g->keys[k].pub_hex, g->coins[k]);
    bool ok = cc_write_file_atomic(g->opt.keys_out, text.data, text.len, 0600, err);
    explicit_bzero(text.data, text.len);
    cc_buf_free(&text);
    return ok;
}

static void progress(const generator *g, int64_t nr, double started)
{
    double elapsed = cc_clock_mono() - started;
    fprintf(stderr, "cheesegen: cheese %lld of %ld, %.1f cheeses/s, %.0f s so far\n",
            (long long)nr, g->opt.blocks, (double)nr / (elapsed > 0 ? elapsed : 1), elapsed);
}

/* CPU time of the whole process (key-making threads included). */
static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void print_summary(const generator *g, double seconds)
{
    printf("{\"blocks\": %ld, \"payments\": %" PRIu64 ", \"keys\": %zu, \"bytes\": %zu, "
           "\"seconds\": %.3f, \"keygen_seconds\": %.3f, \"cpu_seconds\": %.3f, "
           "\"blocks_per_s\": %.2f, \"attempts\": %" PRIu64 ", \"version\": \"%s\"}\n",
           g->opt.blocks, g->payments_written, g->n_keys, g->bytes_written, seconds,
           g->keygen_seconds, cpu_seconds(), (double)g->opt.blocks / (seconds > 0 ? seconds : 1),
           g->attempts, CHEESEGEN_VERSION);
}

/* started: when the run began, keys included (the summary's time); the
 * progress lines time the cheeses alone. */
static bool generate(generator *g, double started, cc_err *err)
{
    if (!cc_atomic_file_open(&g->file, g->opt.out, 0644, err))
        return false;
    double cheeses_started = cc_clock_mono();
    bool ok = true;
    for (int64_t nr = 1; ok && nr <= g->opt.blocks; nr++) {
        ok = write_block(g, nr, err);
        if (ok && nr % 1000 == 0)
            progress(g, nr, cheeses_started);
    }
    ok = ok && flush_pending(g, err) && cc_atomic_file_commit(&g->file, err);
    if (!ok) {
        cc_atomic_file_abort(&g->file);
        return false;
    }
    if (g->opt.keys_out && !write_keys(g, err))
        return false;
    print_summary(g, cc_clock_mono() - started);
    return true;
}

static void generator_init(generator *g, const options *opt)
{
    memset(g, 0, sizeof *g);
    g->opt = *opt;
    g->n_keys = (size_t)opt->reward_keys;
    g->keys = cc_calloc(g->n_keys, sizeof *g->keys);
    g->coins = cc_calloc(g->n_keys, sizeof *g->coins);
    g->paid = cc_calloc(g->n_keys, sizeof *g->paid);
    double started = cc_clock_mono();
    make_keys(g->keys, g->n_keys, opt->threads);
    g->keygen_seconds = cc_clock_mono() - started;
    memcpy(g->prev, CC_CHEESE_GENESIS_SMELL, sizeof g->prev);
}

static void generator_free(generator *g)
{
    for (size_t k = 0; k < g->n_keys; k++)
        cc_rsa_key_clear(&g->keys[k]);
    cc_buf_free(&g->pending);
    free(g->keys);
    free(g->coins);
    free(g->paid);
}

/* ---- flags ------------------------------------------------------------------------- */

static bool apply(options *o, const char *key, const char *value)
{
    if (!strcmp(key, "blocks"))
        return cc_parse_long(value, 1, 10000000, &o->blocks);
    if (!strcmp(key, "payments"))
        return cc_parse_long(value, 0, CC_CHEESE_MAX_BLOCK_TXS - 1, &o->payments);
    if (!strcmp(key, "payment-every"))
        return cc_parse_long(value, 1, 10000000, &o->payment_every);
    if (!strcmp(key, "reward-keys")) /* payments need a recipient besides their sender */
        return cc_parse_long(value, 2, 1000000, &o->reward_keys);
    if (!strcmp(key, "threads"))
        return cc_parse_long(value, 0, MAX_THREADS, &o->threads);
    if (!strcmp(key, "out"))
        return (o->out = value), true;
    if (!strcmp(key, "keys-out"))
        return (o->keys_out = value), true;
    return false;
}

static const struct option long_options[] = {
    {"blocks", required_argument, 0, 0},        {"payments", required_argument, 0, 0},
    {"payment-every", required_argument, 0, 0}, {"reward-keys", required_argument, 0, 0},
    {"threads", required_argument, 0, 0},       {"out", required_argument, 0, 0},
    {"keys-out", required_argument, 0, 0},      {"version", no_argument, 0, 'v'},
    {"help", no_argument, 0, 'h'},              {0, 0, 0, 0},
};

/* Returns an exit status, or -1 to go on. */
static int parse_args(options *o, int argc, char **argv)
{
    int index, opt;
    while ((opt = getopt_long(argc, argv, "hv", long_options, &index)) != -1) {
        if (opt == 'h' || opt == 'v') {
            fputs(opt == 'h' ? usage : CHEESEGEN_VERSION "\n", stdout);
            return 0;
        }
        if (opt != 0) {
            fputs(usage, stderr);
            return 2;
        }
        if (!apply(o, long_options[index].name, optarg)) {
            fprintf(stderr, "cheese-bench-cheesegen: bad value for --%s: %s\n%s",
                    long_options[index].name, optarg, usage);
            return 2;
        }
    }
    if (optind < argc || o->blocks == 0 || !o->out) {
        fprintf(stderr, "cheese-bench-cheesegen: --blocks and --out are required\n%s", usage);
        return 2;
    }
    return -1;
}

int main(int argc, char **argv)
{
    options opt = {.payment_every = 1, .reward_keys = 2};
    int status = parse_args(&opt, argc, argv);
    if (status >= 0)
        return status;
    double started = cc_clock_mono();
    generator g;
    generator_init(&g, &opt);
    cc_err err = {0};
    bool ok = generate(&g, started, &err);
    generator_free(&g);
    if (!ok)
        fprintf(stderr, "cheese-bench-cheesegen: %s\n", err.msg);
    return ok ? 0 : 1;
}

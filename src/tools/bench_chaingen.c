/* cheese-bench-chaingen: writes a valid http-network chain for the
 * benchmarks, one block's wire text per line (the layout of
 * tests/fixtures/chain-1000.jsonl), blocks 1..N on top of the fixed genesis.
 *
 * Keys are P-192 scalars derived from --seed, so the same options give the
 * same keys, ledger and key file; signatures are randomised as the node's
 * own are, so two runs differ in those bytes (and so in the nonces found).
 * Block n pays its reward of 1 to reward key (n-1) mod R. From block 2 on, blocks carry
 * --payments signed payments of 0.25 each (every --payment-every blocks),
 * each from the next key that can afford it out of what earlier blocks gave
 * it, to the key after it; a block without enough funded senders carries
 * fewer. The nonce is the smallest 20-digit counter that meets the proof of
 * work, searched in chunks by one thread per core with the prefix's SHA-256
 * state copied for each attempt (midstate), as node/miner.c does: about
 * 65,000 attempts per block, each hashing the nonce and every byte after
 * it. The search is its own rather than the node's miner, whose threads
 * take only CPU nothing else wants: a fixture must be made even on a busy
 * machine.
 *
 * --keys-out writes every key holding funds at the end as JSON lines
 * {"priv": 48 hex, "pub": 96 hex, "balance": X}. A summary goes to stdout as
 * one JSON object, progress to stderr. The chain file appears only once
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
#include <time.h>
#include <unistd.h>

#include "consensus/http.h"
#include "consensus/rules.h"
#include "util/atomic_file.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/fileio.h"
#include "util/hex.h"
#include "util/mem.h"
#include "util/parse.h"
#include "wallet/payment.h"

/* Part of the cache key of generated chains: raise it whenever the bytes a
 * given set of options produces change shape. */
#define CHAINGEN_VERSION "1"

/* 2024-01-01T00:00:00Z: block n is stamped n minutes later. */
#define EPOCH_UNIX 1704067200
/* Amounts are tracked in quarters: a payment is 0.25, a reward 1. */
#define QUARTERS_PER_COIN 4
#define PAYMENT_QUARTERS 1
/* Flush the chain text to the file in pieces of about this size. */
#define FLUSH_BYTES (1 << 20)
/* Nonces a search thread takes at a time: a few milliseconds of work. */
#define CHUNK 4096
#define NONCE_LEN 20
#define MAX_THREADS 256

static const char usage[] =
    "usage: cheese-bench-chaingen --blocks N --out FILE [options]\n"
    "\n"
    "Writes a valid http-network chain (blocks 1..N on the genesis), one block\n"
    "text per line, for the benchmarks (docs/benchmarks.md).\n"
    "\n"
    "  --blocks N             blocks to write (required)\n"
    "  --out FILE             the chain (required; written whole or not at all)\n"
    "  --payments P           signed payments of 0.25 per block (0, at most 255)\n"
    "  --payment-every K      only every K-th block carries payments (1)\n"
    "  --reward-keys R        distinct keys the rewards go to, in turn (1)\n"
    "  --seed TEXT            keys are derived from it (bench)\n"
    "  --keys-out FILE        every funded key: {\"priv\", \"pub\", \"balance\"} lines\n"
    "  --threads N            mining threads, 0 = one per core (0)\n"
    "  --version              print the generator's version (part of cache keys)\n"
    "  --help                 show this text\n";

typedef struct options {
    long blocks;
    long payments;
    long payment_every;
    long reward_keys;
    long threads;
    const char *seed;
    const char *out;
    const char *keys_out;
} options;

/* The proof-of-work search shared by the threads, one block at a time.
 * Chunks are handed out in order and a thread stops once its chunk starts
 * past the best nonce found, so every chunk below the winner is searched
 * and the winner is the smallest nonce that meets the proof of work. */
typedef struct search {
    pthread_t threads[MAX_THREADS];
    unsigned n_threads;
    pthread_barrier_t start, done;
    bool stopping;                /* read after the start barrier */
    const cc_block_template *tpl;  /* the block being mined */
    cc_sha256_ctx midstate;       /* the template's prefix, hashed once */
    _Atomic uint64_t next_chunk;
    _Atomic uint64_t best;        /* smallest winning nonce, UINT64_MAX while none */
    _Atomic uint64_t attempts;
} search;

typedef struct generator {
    options opt;
    cc_p192_key *keys;
    int64_t *quarters; /* balance of each key on the chain written so far */
    size_t n_keys;
    size_t next_sender;
    char prev[CC_HASH_HEX_LEN + 1];
    search pow;
    cc_atomic_file file;
    cc_buf pending;
    uint64_t payments_written;
    size_t bytes_written;
} generator;

/* ---- keys and amounts ---------------------------------------------------- */

/* Key i of the seed: the first scalar of SHA-256(label/attempt) that lies
 * on the curve's range (nearly always the first). */
static void derive_key(const char *seed, size_t index, cc_p192_key *out)
{
    for (unsigned attempt = 0;; attempt++) {
        char label[512];
        int n = snprintf(label, sizeof label, "cheese-bench-chaingen/%s/%zu/%u", seed, index,
                         attempt);
        uint8_t digest[CC_SHA256_LEN];
        cc_sha256(label, (size_t)n, digest);
        if (cc_p192_from_private(digest, out, NULL))
            return;
    }
}

/* "2024-01-01T00:01:00.000000" as Python's isoformat() writes it. */
static void stamp(int64_t seconds, long micros, char out[27])
{
    time_t t = (time_t)(EPOCH_UNIX + seconds);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 20, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + 19, 8, ".%06u", (unsigned)(micros % 1000000));
}

static cc_number quarters_number(int64_t quarters)
{
    if (quarters % QUARTERS_PER_COIN == 0)
        return (cc_number){.is_int = true, .i = quarters / QUARTERS_PER_COIN};
    return (cc_number){.d = (double)quarters / QUARTERS_PER_COIN};
}

/* ---- one block ------------------------------------------------------------ */

/* The next key (from the rotating cursor) that can pay one more payment
 * out of its balance less what this block already spends from it. */
static bool pick_sender(generator *g, const int64_t *spent, size_t *out)
{
    for (size_t tried = 0; tried < g->n_keys; tried++) {
        size_t k = (g->next_sender + tried) % g->n_keys;
        if (g->quarters[k] - spent[k] >= PAYMENT_QUARTERS) {
            g->next_sender = (k + 1) % g->n_keys;
            *out = k;
            return true;
        }
    }
    return false;
}

/* Fills txs with this block's payments (senders and recipients in from/to)
 * and returns how many; balances change only once the block is written. */
static size_t add_payments(generator *g, int64_t nr, cc_tx *txs, size_t *from, size_t *to,
                           cc_err *err)
{
    bool due = nr > 1 && nr % g->opt.payment_every == 0;
    if (!due || g->opt.payments == 0)
        return 0;
    int64_t *spent = cc_calloc(g->n_keys, sizeof *spent);
    cc_number amount = quarters_number(PAYMENT_QUARTERS);
    size_t n = 0;
    for (long j = 0; j < g->opt.payments; j++) {
        size_t sender;
        if (!pick_sender(g, spent, &sender))
            break;
        size_t recipient = (sender + 1) % g->n_keys;
        char ts[27];
        stamp(nr * 60 - 1, j, ts);
        if (!cc_http_tx_create(&g->keys[sender], g->keys[recipient].pub_hex, &amount, ts, &txs[n],
                               err))
            break;
        spent[sender] += PAYMENT_QUARTERS;
        from[n] = sender;
        to[n] = recipient;
        n++;
    }
    free(spent);
    return n;
}

/* ---- proof of work ----------------------------------------------------------- */

static void atomic_min(_Atomic uint64_t *target, uint64_t value)
{
    uint64_t seen = atomic_load(target);
    while (value < seen && !atomic_compare_exchange_weak(target, &seen, value))
        ;
}

static void search_chunk(search *s, uint64_t first)
{
    const cc_block_template *tpl = s->tpl;
    char nonce[NONCE_LEN + 1];
    uint64_t n = first;
    for (; n < first + CHUNK && n < atomic_load(&s->best); n++) {
        snprintf(nonce, sizeof nonce, "%020" PRIu64, n);
        cc_sha256_ctx ctx = s->midstate;
        cc_sha256_update(&ctx, nonce, NONCE_LEN);
        cc_sha256_update(&ctx, tpl->suffix.data, tpl->suffix.len);
        uint8_t digest[CC_SHA256_LEN];
        cc_sha256_final(&ctx, digest);
        if (cc_http_pow_ok_raw(digest)) {
            atomic_min(&s->best, n);
            n++;
            break;
        }
    }
    atomic_fetch_add(&s->attempts, n - first);
}

static void *search_thread(void *arg)
{
    search *s = arg;
    for (;;) {
        pthread_barrier_wait(&s->start);
        if (s->stopping)
            return NULL;
        for (;;) {
            uint64_t first = atomic_fetch_add(&s->next_chunk, 1) * CHUNK;
            if (first >= atomic_load(&s->best))
                break;
            search_chunk(s, first);
        }
        pthread_barrier_wait(&s->done);
    }
}

static void search_start(search *s, long threads)
{
    if (threads == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cores > 0 ? cores : 1;
    }
    s->n_threads = threads > MAX_THREADS ? MAX_THREADS : (unsigned)threads;
    pthread_barrier_init(&s->start, NULL, s->n_threads + 1);
    pthread_barrier_init(&s->done, NULL, s->n_threads + 1);
    for (unsigned t = 0; t < s->n_threads; t++)
        pthread_create(&s->threads[t], NULL, search_thread, s);
}

static void search_stop(search *s)
{
    s->stopping = true;
    pthread_barrier_wait(&s->start);
    for (unsigned t = 0; t < s->n_threads; t++)
        pthread_join(s->threads[t], NULL);
    pthread_barrier_destroy(&s->start);
    pthread_barrier_destroy(&s->done);
}

/* The smallest nonce of tpl meeting the proof of work, as text. */
static void mine(search *s, const cc_block_template *tpl, char nonce[NONCE_LEN + 1])
{
    s->tpl = tpl;
    cc_sha256_init(&s->midstate);
    cc_sha256_update(&s->midstate, tpl->prefix.data, tpl->prefix.len);
    atomic_store(&s->next_chunk, 0);
    atomic_store(&s->best, UINT64_MAX);
    pthread_barrier_wait(&s->start);
    pthread_barrier_wait(&s->done);
    snprintf(nonce, NONCE_LEN + 1, "%020" PRIu64, atomic_load(&s->best));
}

static bool flush_pending(generator *g, cc_err *err)
{
    if (!cc_atomic_file_write(&g->file, g->pending.data, g->pending.len, err))
        return false;
    g->bytes_written += g->pending.len;
    cc_buf_reset(&g->pending);
    return true;
}

/* Mines the block, checks it as any node would (decode: hash, proof of
 * work, merkle root; every signature), and queues its line. */
static bool finish_block(generator *g, const cc_block_template *tpl, const cc_tx *txs, size_t n,
                         cc_err *err)
{
    char nonce[NONCE_LEN + 1];
    mine(&g->pow, tpl, nonce);
    cc_buf text = CC_BUF_INIT;
    cc_http_template_finish(tpl, nonce, &text);
    cc_block block;
    bool ok = cc_http_block_decode(text.data, text.len, &block, err);
    for (size_t i = 0; ok && i < n; i++)
        if (!cc_http_tx_verify(&txs[i]))
            ok = cc_fail(err, CC_ERR_INTERNAL, "transaction %zu does not verify", i);
    if (ok) {
        memcpy(g->prev, block.hash, sizeof g->prev);
        cc_buf_append(&g->pending, text.data, text.len);
        cc_buf_putc(&g->pending, '\n');
        cc_block_clear(&block);
    }
    cc_buf_free(&text);
    return ok && (g->pending.len < FLUSH_BYTES || flush_pending(g, err));
}

static bool write_block(generator *g, int64_t nr, cc_err *err)
{
    size_t cap = (size_t)g->opt.payments + 1;
    cc_tx *txs = cc_calloc(cap, sizeof *txs);
    size_t *from = cc_calloc(cap, sizeof *from);
    size_t *to = cc_calloc(cap, sizeof *to);
    cc_err_clear(err);
    size_t n = add_payments(g, nr, txs, from, to, err);
    bool ok = err->code == 0;
    size_t winner = (size_t)((nr - 1) % g->opt.reward_keys);
    char ts[27];
    stamp(nr * 60, 0, ts);
    cc_number reward = cc_rules_http()->block_reward;
    cc_http_tx_reward(g->keys[winner].pub_hex, &reward, ts, &txs[n]);
    cc_block_template tpl;
    cc_http_template_build(&tpl, nr, g->prev, ts, g->keys[winner].pub_hex, txs, n + 1);
    ok = ok && finish_block(g, &tpl, txs, n + 1, err);
    if (ok) {
        for (size_t i = 0; i < n; i++) {
            g->quarters[from[i]] -= PAYMENT_QUARTERS;
            g->quarters[to[i]] += PAYMENT_QUARTERS;
        }
        g->quarters[winner] += QUARTERS_PER_COIN;
        g->payments_written += n;
    }
    cc_block_template_clear(&tpl);
    for (size_t i = 0; i <= n; i++)
        cc_tx_clear(&txs[i]);
    free(txs);
    free(from);
    free(to);
    return ok;
}

/* ---- the whole chain ------------------------------------------------------- */

static bool write_keys(const generator *g, cc_err *err)
{
    cc_buf text = CC_BUF_INIT;
    for (size_t k = 0; k < g->n_keys; k++) {
        if (g->quarters[k] <= 0)
            continue;
        char priv[2 * CC_P192_PRIV_LEN + 1];
        cc_hex_encode(g->keys[k].priv, CC_P192_PRIV_LEN, priv);
        cc_number balance = quarters_number(g->quarters[k]);
        char sum[CC_NUMBER_TEXT_MAX];
        cc_number_format(&balance, sum);
        cc_buf_printf(&text, "{\"priv\": \"%s\", \"pub\": \"%s\", \"balance\": %s}\n", priv,
                      g->keys[k].pub_hex, sum);
    }
    bool ok = cc_write_file_atomic(g->opt.keys_out, text.data, text.len, 0644, err);
    cc_buf_free(&text);
    return ok;
}

static void progress(const generator *g, int64_t nr, double started)
{
    double elapsed = cc_clock_mono() - started;
    fprintf(stderr, "chaingen: block %lld of %ld, %.1f blocks/s, %.0f s so far\n", (long long)nr,
            g->opt.blocks, (double)nr / (elapsed > 0 ? elapsed : 1), elapsed);
}

/* CPU time of the whole process (every mining thread): what the chain
 * costs whatever else the machine is doing. */
static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static bool generate(generator *g, cc_err *err)
{
    double started = cc_clock_mono();
    if (!cc_atomic_file_open(&g->file, g->opt.out, 0644, err))
        return false;
    bool ok = true;
    for (int64_t nr = 1; ok && nr <= g->opt.blocks; nr++) {
        ok = write_block(g, nr, err);
        if (ok && nr % 1000 == 0)
            progress(g, nr, started);
    }
    ok = ok && flush_pending(g, err) && cc_atomic_file_commit(&g->file, err);
    if (!ok) {
        cc_atomic_file_abort(&g->file);
        return false;
    }
    if (g->opt.keys_out && !write_keys(g, err))
        return false;
    double seconds = cc_clock_mono() - started;
    printf("{\"blocks\": %ld, \"payments\": %llu, \"bytes\": %zu, \"seconds\": %.3f, "
           "\"cpu_seconds\": %.3f, \"blocks_per_s\": %.2f, \"attempts\": %llu, "
           "\"version\": \"%s\"}\n",
           g->opt.blocks, (unsigned long long)g->payments_written, g->bytes_written, seconds,
           cpu_seconds(), (double)g->opt.blocks / (seconds > 0 ? seconds : 1),
           (unsigned long long)atomic_load(&g->pow.attempts), CHAINGEN_VERSION);
    return true;
}

static void generator_init(generator *g, const options *opt)
{
    memset(g, 0, sizeof *g);
    g->opt = *opt;
    /* Payments need a recipient other than their sender. */
    g->n_keys = opt->reward_keys < 2 ? 2 : (size_t)opt->reward_keys;
    g->keys = cc_calloc(g->n_keys, sizeof *g->keys);
    g->quarters = cc_calloc(g->n_keys, sizeof *g->quarters);
    for (size_t k = 0; k < g->n_keys; k++)
        derive_key(opt->seed, k, &g->keys[k]);
    memcpy(g->prev, CC_HTTP_GENESIS_HASH, sizeof g->prev);
    search_start(&g->pow, opt->threads);
}

static void generator_free(generator *g)
{
    search_stop(&g->pow);
    cc_buf_free(&g->pending);
    free(g->keys);
    free(g->quarters);
}

/* ---- flags ------------------------------------------------------------------- */

static bool apply(options *o, const char *key, const char *value)
{
    if (!strcmp(key, "blocks"))
        return cc_parse_long(value, 1, 10000000, &o->blocks);
    if (!strcmp(key, "payments"))
        return cc_parse_long(value, 0, CC_HTTP_MAX_BLOCK_TXS - 1, &o->payments);
    if (!strcmp(key, "payment-every"))
        return cc_parse_long(value, 1, 10000000, &o->payment_every);
    if (!strcmp(key, "reward-keys"))
        return cc_parse_long(value, 1, 10000000, &o->reward_keys);
    if (!strcmp(key, "threads"))
        return cc_parse_long(value, 0, 256, &o->threads);
    if (!strcmp(key, "seed"))
        return (o->seed = value), true;
    if (!strcmp(key, "out"))
        return (o->out = value), true;
    if (!strcmp(key, "keys-out"))
        return (o->keys_out = value), true;
    return false;
}

static const struct option long_options[] = {
    {"blocks", required_argument, 0, 0},   {"payments", required_argument, 0, 0},
    {"payment-every", required_argument, 0, 0}, {"reward-keys", required_argument, 0, 0},
    {"threads", required_argument, 0, 0},  {"seed", required_argument, 0, 0},
    {"out", required_argument, 0, 0},      {"keys-out", required_argument, 0, 0},
    {"version", no_argument, 0, 'v'},      {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

/* Returns an exit status, or -1 to go on. */
static int parse_args(options *o, int argc, char **argv)
{
    int index, opt;
    while ((opt = getopt_long(argc, argv, "hv", long_options, &index)) != -1) {
        if (opt == 'h' || opt == 'v') {
            fputs(opt == 'h' ? usage : CHAINGEN_VERSION "\n", stdout);
            return 0;
        }
        if (opt != 0) {
            fputs(usage, stderr);
            return 2;
        }
        if (!apply(o, long_options[index].name, optarg)) {
            fprintf(stderr, "cheese-bench-chaingen: bad value for --%s: %s\n%s",
                    long_options[index].name, optarg, usage);
            return 2;
        }
    }
    if (optind < argc || o->blocks == 0 || !o->out) {
        fprintf(stderr, "cheese-bench-chaingen: --blocks and --out are required\n%s", usage);
        return 2;
    }
    return -1;
}

int main(int argc, char **argv)
{
    options opt = {.payment_every = 1, .reward_keys = 1, .seed = "bench"};
    int status = parse_args(&opt, argc, argv);
    if (status >= 0)
        return status;
    generator g;
    generator_init(&g, &opt);
    cc_err err = {0};
    bool ok = generate(&g, &err);
    generator_free(&g);
    if (!ok)
        fprintf(stderr, "cheese-bench-chaingen: %s\n", err.msg);
    return ok ? 0 : 1;
}

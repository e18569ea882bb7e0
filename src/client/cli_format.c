/* Readable forms of the JSON API's answers (cli_format.h). */
#include "client/cli_format.h"

#include <gmp.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/json.h"
#include "codec/pynum.h"
#include "util/mem.h"

#define FORMAT_JSON_DEPTH 32 /* blocks hold transactions holding objects */
#define MAX_ROWS 48
#define DETAIL_KEEP 100 /* longest text shown whole in a label: value line */
/* Keys are what a user copies into the next command: shown whole on their
 * own line whatever their length (an RSA key is some 300 hex digits). */
#define KEY_KEEP SIZE_MAX
#define LIST_KEEP 20    /* longest text shown whole in a list line */

/* Where the distinctive part of a text starts and ends. A DER RSA public
 * key in hex (the cheese network's keys) opens with the same SPKI header
 * and closes with the same exponent for every key, so a shortened key
 * shows its modulus: the digits after the INTEGER header "028181" or
 * "02820101" (and the modulus's leading 00), up to "0203010001". */
static void distinctive(const char *text, size_t len, size_t *start, size_t *end)
{
    *start = 0;
    *end = len;
    if (len < 200 || strncmp(text, "30", 2) != 0 || strspn(text, "0123456789abcdef") != len)
        return;
    static const char *const heads[] = {"02818100", "0282010100", "028181", "02820101"};
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
        const char *at = strstr(text, heads[i]);
        if (at && at - text < 80) {
            *start = (size_t)(at - text) + strlen(heads[i]);
            break;
        }
    }
    static const char tail[] = "0203010001";
    if (len - *start > 2 * (sizeof tail - 1) && strcmp(text + len - (sizeof tail - 1), tail) == 0)
        *end = len - (sizeof tail - 1);
}

void cc_cli_short(const char *text, size_t keep, char out[CC_CLI_SHORT_MAX])
{
    if (keep > CC_CLI_SHORT_MAX - 1)
        keep = CC_CLI_SHORT_MAX - 1;
    if (keep < 12)
        keep = 12;
    size_t len = strlen(text);
    if (len <= keep) {
        memcpy(out, text, len + 1);
        return;
    }
    size_t start, end;
    distinctive(text, len, &start, &end);
    size_t head = keep - 9, tail = 6;
    snprintf(out, CC_CLI_SHORT_MAX, "%.*s...%.*s", (int)head, text + start, (int)tail,
             text + end - tail);
}

/* ---- text from the node ------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (1 to 4), or 0 when the bytes
 * there are not one (overlong forms, surrogates and values beyond
 * U+10FFFF included). *cp receives the code point. */
static size_t utf8_sequence(const unsigned char *s, size_t len, unsigned long *cp)
{
    static const unsigned long min_of[5] = {0, 0, 0x80, 0x800, 0x10000};
    size_t n = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3
             : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (n == 0 || n > len)
        return 0;
    unsigned long v = n == 1 ? s[0] : s[0] & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3f);
    }
    if (v < min_of[n] || (v >= 0xd800 && v <= 0xdfff) || v > 0x10ffff)
        return 0;
    *cp = v;
    return n;
}

static bool is_control(unsigned long cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

void cc_cli_terminal_safe(const char *in, size_t len, cc_cli_text how, cc_buf *out)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t i = 0;
    while (i < len) {
        unsigned long cp = 0;
        size_t n = utf8_sequence(s + i, len - i, &cp);
        bool kept_space = how != CC_CLI_VALUE && (cp == '\n' || cp == '\t');
        if (n > 0 && (!is_control(cp) || kept_space)) {
            cc_buf_append(out, in + i, n);
            i += n;
        } else if (n > 0 && how == CC_CLI_JSON) {
            cc_buf_printf(out, "\\u%04lx", cp);
            i += n;
        } else if (n > 0) {
            cc_buf_printf(out, "\\x%02lx", cp);
            i += n;
        } else {
            cc_buf_printf(out, "\\x%02x", s[i]);
            i++;
        }
    }
}

/* ---- label: value rows ------------------------------------------------------------- */

typedef struct rows {
    size_t n;
    char label[MAX_ROWS][40];
    cc_buf value[MAX_ROWS];
    cc_buf list; /* indented lines after the rows */
} rows;

/* The value buffer of a new row (or the last one again when the table is
 * full). The label is a member's name with '_' read as ' '. */
static cc_buf *row(rows *r, const char *label)
{
    if (r->n == MAX_ROWS)
        return &r->value[MAX_ROWS - 1];
    char *copy = r->label[r->n];
    snprintf(copy, sizeof r->label[0], "%s", label);
    for (char *p = copy; *p; p++)
        if (*p == '_')
            *p = ' ';
    return &r->value[r->n++];
}

static void rows_emit(rows *r, cc_buf *out)
{
    size_t width = 0;
    for (size_t i = 0; i < r->n; i++)
        if (strlen(r->label[i]) > width)
            width = strlen(r->label[i]);
    for (size_t i = 0; i < r->n; i++) {
        cc_buf_printf(out, "%s:%*s %s\n", r->label[i], (int)(width - strlen(r->label[i])), "",
                      cc_buf_str(&r->value[i]));
        cc_buf_free(&r->value[i]);
    }
    cc_buf_append(out, r->list.data ? r->list.data : "", r->list.len);
    cc_buf_free(&r->list);
    r->n = 0;
}

/* ---- values ------------------------------------------------------------------------ */

static void put_text(cc_buf *b, const char *s, size_t keep)
{
    if (!*s) {
        cc_buf_puts(b, "(empty)");
        return;
    }
    char shortened[CC_CLI_SHORT_MAX];
    if (strlen(s) > keep) {
        cc_cli_short(s, keep > CC_CLI_SHORT_MAX - 1 ? 24 : keep, shortened);
        s = shortened;
    }
    cc_cli_terminal_safe(s, strlen(s), CC_CLI_VALUE, b);
}

static void put_double(cc_buf *b, double d)
{
    char text[CC_NUMBER_TEXT_MAX];
    cc_pyfloat_repr(d, text);
    cc_buf_puts(b, text);
}

/* A scalar as a person reads it; objects and arrays as compact JSON. */
static void put_value(cc_buf *b, const json_t *v, size_t keep)
{
    if (json_is_string(v)) {
        put_text(b, json_string_value(v), keep);
    } else if (json_is_integer(v)) {
        cc_buf_printf(b, "%lld", (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
        put_double(b, json_real_value(v));
    } else if (json_is_true(v)) {
        cc_buf_puts(b, "yes");
    } else if (json_is_false(v)) {
        cc_buf_puts(b, "no");
    } else if (json_is_null(v) || !v) {
        cc_buf_puts(b, "-");
    } else {
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        cc_buf_puts(b, text ? text : "?");
        free(text);
    }
}

/* True when the exact text "p/q" or "p" names exactly the double d. */
static bool exact_is(const char *exact, double d)
{
    mpq_t q, qd;
    mpq_inits(q, qd, NULL);
    bool same = false;
    if (mpq_set_str(q, exact, 10) == 0 && isfinite(d)) {
        mpq_canonicalize(q);
        mpq_set_d(qd, d);
        same = mpq_equal(q, qd) != 0;
    }
    mpq_clears(q, qd, NULL);
    return same;
}

/* An amount ("balance") and its exact twin ("balance_exact"). */
static void put_amount(cc_buf *b, const json_t *obj, const char *name)
{
    char exact_name[64];
    snprintf(exact_name, sizeof exact_name, "%s_exact", name);
    const json_t *v = json_object_get(obj, name);
    const json_t *exact = json_object_get(obj, exact_name);
    if (json_is_null(v) && json_is_string(exact)) { /* beyond any double */
        cc_buf_puts(b, json_string_value(exact));
        return;
    }
    put_value(b, v, DETAIL_KEEP);
    if (json_is_string(exact) && json_is_number(v) &&
        !exact_is(json_string_value(exact), json_number_value(v)))
        cc_buf_printf(b, " (exactly %s)", json_string_value(exact));
}

/* ---- transactions --------------------------------------------------------------------- */

/* A member of a transaction under any of the networks' names: the http
 * network nests {from, to, sum, timestamp} in "transaction" beside the
 * signature; the cheese network has {sender, recipient, amount, signature}. */
static const json_t *tx_member(const json_t *tx, const char *http_name, const char *cheese_name)
{
    const json_t *inner = json_object_get(tx, "transaction");
    const json_t *v = NULL;
    if (json_is_object(inner))
        v = json_object_get(inner, http_name);
    if (!v)
        v = json_object_get(tx, http_name);
    if (!v && cheese_name)
        v = json_object_get(tx, cheese_name);
    return v;
}

/* "  1. 3f2a9b01c4d...c0ffee -> System  2.5  2024-05-01T12:00:00" */
static void tx_line(cc_buf *b, size_t index, const json_t *tx)
{
    cc_buf_printf(b, "  %zu. ", index);
    if (!json_is_object(tx)) {
        put_value(b, tx, LIST_KEEP);
        cc_buf_putc(b, '\n');
        return;
    }
    const json_t *from = tx_member(tx, "from", "sender");
    const json_t *to = tx_member(tx, "to", "recipient");
    const json_t *sum = tx_member(tx, "sum", "amount");
    const json_t *when = tx_member(tx, "timestamp", NULL);
    put_value(b, from, LIST_KEEP);
    cc_buf_puts(b, " -> ");
    put_value(b, to, LIST_KEEP);
    cc_buf_puts(b, "  ");
    put_value(b, sum, LIST_KEEP);
    if (when) {
        cc_buf_puts(b, "  ");
        put_value(b, when, 40);
    }
    cc_buf_putc(b, '\n');
}

/* The rows of one transaction: its members, the nested ones first. */
static void tx_rows(rows *r, const json_t *tx)
{
    static const char *const names[][2] = {
        {"from", "sender"}, {"to", "recipient"}, {"sum", "amount"}, {"timestamp", NULL},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const json_t *v = tx_member(tx, names[i][0], names[i][1]);
        if (v)
            put_value(row(r, names[i][0]), v, i < 2 ? KEY_KEEP : DETAIL_KEEP);
    }
    const json_t *sig = json_object_get(tx, "signature");
    if (sig)
        put_value(row(r, "signature"), sig, 40);
}

static void tx_list(rows *r, const json_t *list)
{
    size_t i;
    const json_t *tx;
    json_array_foreach(list, i, tx)
        tx_line(&r->list, i + 1, tx);
}

/* ---- one format per call ------------------------------------------------------------------- */

static void format_generic(rows *r, const json_t *doc)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)doc, key, v) {
        size_t len = strlen(key);
        if (len > 6 && strcmp(key + len - 6, "_exact") == 0)
            continue;
        char exact_name[128];
        snprintf(exact_name, sizeof exact_name, "%s_exact", key);
        cc_buf *b = row(r, key);
        if (json_object_get(doc, exact_name))
            put_amount(b, doc, key);
        else
            put_value(b, v, DETAIL_KEEP);
    }
}

static void format_sync(cc_buf *b, const json_t *sync)
{
    if (!json_is_object(sync)) {
        put_value(b, sync, DETAIL_KEEP);
        return;
    }
    put_value(b, json_object_get(sync, "state"), DETAIL_KEEP);
    const json_t *best = json_object_get(sync, "best_peer");
    if (json_is_string(best)) {
        cc_buf_puts(b, " (best peer ");
        put_value(b, best, DETAIL_KEEP);
        const json_t *h = json_object_get(sync, "best_peer_height");
        if (json_is_integer(h))
            cc_buf_printf(b, " at height %lld", (long long)json_integer_value(h));
        const json_t *behind = json_object_get(sync, "behind");
        if (json_is_integer(behind))
            cc_buf_printf(b, ", %lld behind", (long long)json_integer_value(behind));
        cc_buf_putc(b, ')');
    }
    const json_t *asking = json_object_get(sync, "asking");
    if (json_is_string(asking)) {
        cc_buf_puts(b, ", asking ");
        put_value(b, asking, DETAIL_KEEP);
    }
}

static void format_info(rows *r, const json_t *doc)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)doc, key, v) {
        if (strcmp(key, "balance_exact") == 0)
            continue;
        cc_buf *b = row(r, key);
        if (strcmp(key, "sync") == 0)
            format_sync(b, v);
        else if (strcmp(key, "balance") == 0)
            put_amount(b, doc, "balance");
        else
            put_value(b, v, strcmp(key, "key") == 0 ? KEY_KEEP : DETAIL_KEEP);
    }
    /* The cheese node's tracker: whether it is joined is what a user asks
     * when no peer shows up. */
    const json_t *sync = json_object_get(doc, "sync");
    const json_t *tracker = json_is_object(sync) ? json_object_get(sync, "tracker") : NULL;
    if (json_is_object(tracker)) {
        cc_buf *b = row(r, "tracker");
        put_value(b, json_object_get(tracker, "host"), DETAIL_KEEP);
        cc_buf_puts(b, " (");
        put_value(b, json_object_get(tracker, "state"), DETAIL_KEEP);
        cc_buf_putc(b, ')');
    }
}

static void format_block(rows *r, const json_t *doc)
{
    const json_t *block = json_object_get(doc, "block");
    put_value(row(r, "hash"), json_object_get(doc, "hash"), DETAIL_KEEP);
    put_value(row(r, "height"), json_object_get(doc, "height"), DETAIL_KEEP);
    put_value(row(r, "best chain"), json_object_get(doc, "best"), DETAIL_KEEP);
    if (!json_is_object(block))
        return;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)block, key, v) {
        if (strcmp(key, "hash") != 0 && strcmp(key, "transactions") != 0)
            put_value(row(r, key), v, DETAIL_KEEP);
    }
    const json_t *txs = json_object_get(block, "transactions");
    if (json_is_array(txs)) {
        cc_buf_printf(row(r, "transactions"), "%zu", json_array_size(txs));
        tx_list(r, txs);
    }
}

static void format_tx(rows *r, const json_t *doc)
{
    static const char *const top[] = {"txid", "status", "block", "height", "confirmations"};
    for (size_t i = 0; i < sizeof top / sizeof top[0]; i++) {
        const json_t *v = json_object_get(doc, top[i]);
        if (v)
            put_value(row(r, top[i]), v, DETAIL_KEEP);
    }
    const json_t *tx = json_object_get(doc, "transaction");
    if (json_is_object(tx))
        tx_rows(r, tx);
}

static void format_balance(rows *r, const json_t *doc)
{
    put_value(row(r, "key"), json_object_get(doc, "key"), KEY_KEEP);
    put_amount(row(r, "balance"), doc, "balance");
    if (json_object_get(doc, "spendable"))
        put_amount(row(r, "spendable"), doc, "spendable");
}

static void format_mempool(rows *r, const json_t *doc)
{
    const json_t *txs = json_object_get(doc, "transactions");
    const json_t *count = json_object_get(doc, "count");
    size_t shown = json_is_array(txs) ? json_array_size(txs) : 0;
    cc_buf *b = row(r, "waiting");
    if (json_is_integer(count)) {
        cc_buf_printf(b, "%lld", (long long)json_integer_value(count));
        if ((long long)shown < json_integer_value(count))
            cc_buf_printf(b, " (the first %zu shown)", shown);
    } else {
        cc_buf_printf(b, "%zu", shown);
    }
    if (json_is_array(txs))
        tx_list(r, txs);
}

static void format_peers(rows *r, const json_t *doc)
{
    const json_t *peers = json_object_get(doc, "peers");
    size_t n = json_is_array(peers) ? json_array_size(peers) : 0;
    cc_buf_printf(row(r, "peers"), "%zu", n);
    size_t i;
    const json_t *p;
    json_array_foreach(peers, i, p) {
        cc_buf_puts(&r->list, "  ");
        if (json_is_object(p)) { /* cheese: {"peer_id", "host", "port", ...} */
            const json_t *host = json_object_get(p, "host");
            const json_t *port = json_object_get(p, "port");
            if (json_is_string(host) && (json_is_integer(port) || json_is_string(port))) {
                put_value(&r->list, host, DETAIL_KEEP);
                cc_buf_putc(&r->list, ':');
                put_value(&r->list, port, DETAIL_KEEP);
                const char *key;
                const json_t *v;
                json_object_foreach((json_t *)p, key, v) {
                    if (strcmp(key, "host") == 0 || strcmp(key, "port") == 0)
                        continue;
                    cc_buf_printf(&r->list, "  %s ", key);
                    put_value(&r->list, v, DETAIL_KEEP);
                }
            } else {
                put_value(&r->list, p, DETAIL_KEEP);
            }
        } else {
            put_value(&r->list, p, DETAIL_KEEP);
        }
        cc_buf_putc(&r->list, '\n');
    }
}

static void format_mine(rows *r, const json_t *doc)
{
    const json_t *height = json_object_get(doc, "mining");
    cc_buf *b = row(r, "mining");
    cc_buf_puts(b, "a block at height ");
    put_value(b, height, DETAIL_KEEP);
    const json_t *hash = json_object_get(doc, "hash");
    if (hash) /* cheese-cli mine --wait adds the block it saw */
        put_value(row(r, "mined"), hash, DETAIL_KEEP);
}

/* The node's key is what a user copies to be paid: always whole. */
static void format_keys(rows *r, const json_t *doc)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)doc, key, v) {
        if (strcmp(key, "wallet") == 0 && json_is_null(v))
            cc_buf_puts(row(r, key), "unknown (--datadir DIR names the node's folder)");
        else
            put_value(row(r, key), v, (size_t)-1);
    }
}

/* wallet backup, wallet restore, key import: paths and the key whole (they
 * are what a user checks and copies); a restore that replaced nothing says
 * why. */
static void format_wallet(rows *r, const json_t *doc)
{
    const char *key;
    const json_t *v;
    bool changed = !json_is_false(json_object_get(doc, "changed"));
    json_object_foreach((json_t *)doc, key, v) {
        if (strcmp(key, "changed") == 0)
            continue;
        if (strcmp(key, "replaced") == 0 && json_is_null(v))
            cc_buf_puts(row(r, key), changed ? "none (there was no wallet)"
                                             : "none (the wallet holds this key already: "
                                               "nothing changed)");
        else
            put_value(row(r, key), v, (size_t)-1);
    }
}

bool cc_cli_format(const char *command, const char *body, size_t len, cc_buf *out, cc_err *err)
{
    json_t *doc = cc_json_parse(body, len, FORMAT_JSON_DEPTH, err);
    if (!doc)
        return false;
    if (!json_is_object(doc)) {
        json_decref(doc);
        return cc_fail(err, CC_ERR_BAD_REQUEST, "the answer is not a JSON object");
    }
    rows *r = cc_calloc(1, sizeof *r);
    if (strcmp(command, "info") == 0)
        format_info(r, doc);
    else if (strcmp(command, "block") == 0)
        format_block(r, doc);
    else if (strcmp(command, "tx") == 0 || strcmp(command, "send") == 0)
        format_tx(r, doc);
    else if (strcmp(command, "balance") == 0)
        format_balance(r, doc);
    else if (strcmp(command, "mempool") == 0)
        format_mempool(r, doc);
    else if (strcmp(command, "peers") == 0)
        format_peers(r, doc);
    else if (strcmp(command, "mine") == 0)
        format_mine(r, doc);
    else if (strcmp(command, "keys") == 0)
        format_keys(r, doc);
    else if (strncmp(command, "wallet ", 7) == 0 || strcmp(command, "key import") == 0)
        format_wallet(r, doc);
    else
        format_generic(r, doc);
    rows_emit(r, out);
    free(r);
    json_decref(doc);
    return true;
}

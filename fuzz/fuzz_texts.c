/* Fuzzes the printers of both networks the other way round from the
 * decoding targets: fields drawn from the input are printed by the code
 * that makes what this node signs, hashes and sends, and what comes out must
 * read back, through readers that share nothing with the printers, as
 * exactly the fields that went in:
 *
 *   - Python's repr() and json.dumps() of a string (cheese pre-images):
 *     accepted for printable ASCII only (nothing appended otherwise); repr
 *     reads back with a Python literal reader written here and picks the
 *     quote Python picks, json.dumps reads back with jansson and escapes
 *     nothing but quotes and backslashes;
 *   - http transactions from cc_http_tx_reward and cc_http_tx_create:
 *     valid fields decode as the very fields, text, txid and msgid printed;
 *     tx_create accepts exactly the valid fields (so nothing that could
 *     smuggle other members into the text) and its signature verifies;
 *   - http block templates: the finished text, read by jansson, holds
 *     every field, the merkle root of the transactions and the SHA-256 of
 *     the text without its hash member; the block decoder accepts it when
 *     the hash meets the proof of work and otherwise refuses it for that
 *     reason alone;
 *   - cheese transactions from cc_cheese_tx_reward and cc_cheese_tx_create,
 *     as for http, except that whatever the recipient, a reward text that
 *     decodes is the very reward printed (json.dumps escapes quotes);
 *   - cheese blocks: a template is mined (two zero digits take a few
 *     hundred hashes), finished, and must decode to the same text, smell and
 *     transactions; cc_cheese_block_text prints the same text; the smell
 *     pre-image is sorted JSON holding the fields; the proof-of-work
 *     pre-image reads back as the Python list of the payments plus the
 *     parent smell; template_finish takes exactly the canonical nonces.
 *
 * Signing is slow next to the rest, so the input's first byte says whether
 * this run signs. Any failed property aborts. */
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/json.h"
#include "codec/pynum.h"
#include "consensus/block.h"
#include "consensus/cheese.h"
#include "consensus/http.h"
#include "crypto/hash.h"
#include "crypto/p192.h"
#include "crypto/rsa.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/hex.h"
#include "util/mem.h"
#include "wallet/payment.h"

#include "fuzz_support.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what) { fuzz_check("fuzz_texts", ok, what); }

#define MAX_FIELD 140 /* a little over CC_HTTP_MAX_FIELD, to reach its limit */
#define MAX_PAYMENTS 4
#define MINING_TRIES 100000 /* 256 expected; 2^-560 chance of giving up */

static const char PRINTABLE[] = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                "[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";
static const char PLAIN[] = " !#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                            "[]^_`abcdefghijklmnopqrstuvwxyz{|}~";
static const char HEX[] = "0123456789abcdef";

/* The http vectors' key 0 (private scalar 1000). */
static const uint8_t P192_PRIV[CC_P192_PRIV_LEN] = {[22] = 0x03, [23] = 0xe8};

/* The cheese vectors' keys 0 and 1 and a 2048-bit key of cheese-extra.json. */
static const char RSA_PRIV_0[] =
    "3082025c02010002818100d30f24354566c5d44baf1f4fdfbde7762247b99fa75cd9bc86a393cad8ba4c95d5"
    "876f77f75524e71c4ce7b145232adcc75f883464be44d01e5f6f0f7d22562f193f0f5125e7a06f898264b08f"
    "5e95855ee9b5f35697ce24a7737c2c51cb82d5f8f6682997721796115347640ffcb6ebf700612a9ccc38e73d"
    "50aa30da21c6e10203010001028180202416e73ee3a4fe4cad4547306336d7a466485412145f7b2884ca19b2"
    "b2023e32178f27d584439ba75165da36d5616e603541e47ab008022a91ed738e2297bd8af40ed93d8744bfe6"
    "40b2f4b11ce55dbc356d38d7f15bb8f2b8e9897c2b76ede2479d6520d4217f2e3f08f41a27dcc0c3e00739c7"
    "e8afcc93977b996d1478ed024100d91444d0e0fdfffbfaee32bcb225291c76068016500bc8523877cdaec4dd"
    "a17413e41f04ce83f5c63d5aaa26c257de632280347610e2b1e55b58b2342a7da36d024100f8e68f1622e64c"
    "415538b345f026f98af3dfec27db6defcb059b7dcb97ffaf929ce59c50ee2b16c48428f5e9081b1c4cde4df5"
    "fc066a0826d42fb09a85d894c502404fc8a24e3f133bbd4a09b7fe205f860f9ed55ec8549d3000001f102a96"
    "d27a5fa65be686a6bc5b5d83f949a63b317e5be3374990c73dfa7238b38db39c9656b50241008628d8456948"
    "5320000c90ed08b62959d17c0831afa00159a04b20b225dae6cb1310dc81eeee80d62a1a5dfa5ea92646f4a8"
    "7707827992ad433ff56444f2e9b50240027277eaca94d6b4197851187f44866bc1b74b7125e18e1b8aab12ae"
    "364ea5cf88c1c87c691ec2b35e7a969d00101b64b9c9fcfaba98154140a21ab4f78d9971";
static const char RSA_PUB_0[] =
    "30819f300d06092a864886f70d010101050003818d0030818902818100d30f24354566c5d44baf1f4fdfbde7"
    "762247b99fa75cd9bc86a393cad8ba4c95d5876f77f75524e71c4ce7b145232adcc75f883464be44d01e5f6f"
    "0f7d22562f193f0f5125e7a06f898264b08f5e95855ee9b5f35697ce24a7737c2c51cb82d5f8f66829977217"
    "96115347640ffcb6ebf700612a9ccc38e73d50aa30da21c6e10203010001";
static const char RSA_PUB_1[] =
    "30819f300d06092a864886f70d010101050003818d0030818902818100df6cc474d48dd671190966ff91244e"
    "f3d1b9806bc23230916fa1b1f8249335a03c3204eb73ad50f6d1ff5af1691d0c9c7cc13fcc3346c20485f885"
    "63d21a578bfd6cb495d1d8d7f92ff3d2066dfe5ad320b229629d9cb571b6cb1ed080e95097c280c9a21c6b8b"
    "bf7fb3db5979657d36e539eb4dbc2f189ac1b59cd3477566330203010001";
static const char RSA_PUB_2048[] =
    "30820122300d06092a864886f70d01010105000382010f003082010a0282010100d17e1751c902416ae15c64"
    "0582b9a663f256d18d698db657b429afc2368d4fc92debb1be084084e40c768c02ac79148d749b656e57f983"
    "b58293d3615891edc4aadbb728ac7b44c159459a503c3aea72eb47f153ea7341f253bb0eb17534f656044a9b"
    "514bbc3955d7ad8f3d2c7c47826a07dfc3ed314179dac68fba50f573b0dc937612a999adc41b51d8cb99df70"
    "b3f079a98785f2bcf4494ef31aa4683228a278cf0c01f566e059add30a48c4fc87d74919a0fa1ba9046f88ef"
    "5d00a2a385d3a5082e49aace377a4725c250f2843e4a3bac324215375b986aabf3e1072879fb6dbc0dbd5602"
    "2fc0e5d01d76f251e798f2b4291a9234f770f538ddaaeaafe10203010001";
static const char *const RSA_PUBS[] = {RSA_PUB_0, RSA_PUB_1, RSA_PUB_2048};

/* ---- drawing fields ---- */

static void draw_hex(fuzz_input *in, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++)
        out[i] = HEX[fuzz_u8(in) % 16];
    out[len] = '\0';
}

/* A key-shaped field: usually well formed, sometimes any printable text. */
static void draw_p192_key(fuzz_input *in, char out[MAX_FIELD + 1])
{
    if (fuzz_u8(in) % 8)
        draw_hex(in, CC_P192_PUB_HEX_LEN, out);
    else
        fuzz_text(in, PRINTABLE, MAX_FIELD, out);
}

static const char *draw_rsa_key(fuzz_input *in, char scratch[MAX_FIELD + 1])
{
    uint8_t b = fuzz_u8(in);
    if (b % 8)
        return RSA_PUBS[b % 3];
    fuzz_text(in, PRINTABLE, MAX_FIELD, scratch);
    return scratch;
}

/* Any int or double, or small ones that print as short decimals. */
static cc_number draw_amount(fuzz_input *in)
{
    uint8_t how = fuzz_u8(in) % 4;
    uint64_t bits = fuzz_u64(in);
    double d;
    memcpy(&d, &bits, sizeof d);
    switch (how) {
    case 0:
        return (cc_number){.is_int = true, .i = (int64_t)bits};
    case 1:
        return (cc_number){.is_int = true, .i = (int64_t)(bits % 1000)};
    case 2:
        return (cc_number){.is_int = false, .d = d};
    default:
        return (cc_number){.is_int = false, .d = (double)(bits % 100000) / 1000.0};
    }
}

static bool positive(const cc_number *n)
{
    return n->is_int ? n->i > 0 : (isfinite(n->d) && n->d > 0);
}

static bool field_ok(const char *s) { return cc_text_representable(s) && strlen(s) <= 128; }

static json_t *number_json(const cc_number *n)
{
    return n->is_int ? json_integer(n->i) : json_real(n->d);
}

/* A number's text reads back, with strtoll or strtod, as the same kind
 * and value (an int never looks like a float, nor a float like an int). */
static bool number_reads_back(const char *text, size_t len, const cc_number *n)
{
    char copy[CC_NUMBER_TEXT_MAX + 1];
    if (len == 0 || len >= sizeof copy)
        return false;
    memcpy(copy, text, len);
    copy[len] = '\0';
    char *end;
    bool looks_int = strspn(copy + (copy[0] == '-'), "0123456789") == len - (copy[0] == '-');
    if (n->is_int)
        return looks_int && strtoll(copy, &end, 10) == n->i && *end == '\0';
    double back = strtod(copy, &end);
    return !looks_int && *end == '\0' && memcmp(&back, &n->d, sizeof back) == 0;
}

/* ---- Python and JSON strings ---- */

/* One Python str literal as repr() writes printable ASCII: its length, or
 * 0 when the text does not start with one. */
static size_t read_py_str(const char *t, size_t n, cc_buf *out)
{
    if (n < 2 || (t[0] != '\'' && t[0] != '"'))
        return 0;
    char quote = t[0];
    for (size_t i = 1; i < n; i++) {
        char c = t[i];
        if (c == quote)
            return i + 1;
        if (c == '\\') {
            if (i + 1 >= n || (t[i + 1] != quote && t[i + 1] != '\\'))
                return 0;
            c = t[++i];
        }
        if (c < 0x20 || c > 0x7e)
            return 0;
        cc_buf_putc(out, c);
    }
    return 0;
}

static void check_py_repr(const char *s, bool printable)
{
    cc_buf out = CC_BUF_INIT, back = CC_BUF_INIT;
    cc_buf_putc(&out, '[');
    bool ok = cc_cheese_py_repr(s, &out);
    check(ok == printable, "repr accepts exactly printable ASCII");
    if (ok) {
        check(read_py_str(out.data + 1, out.len - 1, &back) == out.len - 1,
              "repr is not one Python str literal");
        check(back.len == strlen(s) && strcmp(cc_buf_str(&back), s) == 0,
              "repr reads back as another string");
        bool double_quotes = strchr(s, '\'') && !strchr(s, '"');
        check(out.data[1] == (double_quotes ? '"' : '\''), "repr picks another quote than Python");
    } else {
        check(out.len == 1, "a refused repr appended something");
    }
    cc_buf_free(&out);
    cc_buf_free(&back);
}

static void check_json_str(const char *s, bool printable)
{
    cc_buf out = CC_BUF_INIT;
    cc_buf_putc(&out, '[');
    bool ok = cc_cheese_json_str(s, &out);
    check(ok == printable, "json_str accepts exactly printable ASCII");
    if (!ok) {
        check(out.len == 1, "a refused json_str appended something");
        cc_buf_free(&out);
        return;
    }
    size_t escapes = 0;
    for (const char *c = s; *c; c++)
        escapes += *c == '"' || *c == '\\';
    check(out.len - 1 == strlen(s) + 2 + escapes, "json_str escapes more than json.dumps");
    json_t *back = json_loadb(out.data + 1, out.len - 1, JSON_DECODE_ANY, NULL);
    check(json_is_string(back) && strcmp(json_string_value(back), s) == 0,
          "json_str reads back as another string");
    json_decref(back);
    cc_buf_free(&out);
}

static void check_strings(fuzz_input *in)
{
    char s[MAX_FIELD + 1];
    fuzz_text(in, PRINTABLE, MAX_FIELD, s);
    check_py_repr(s, true);
    check_json_str(s, true);
    /* Any bytes but NUL: only printable ASCII may be printed. */
    size_t len = fuzz_u8(in) % 16;
    bool printable = true;
    for (size_t i = 0; i < len; i++) {
        s[i] = (char)(fuzz_u8(in) % 255 + 1);
        printable = printable && s[i] >= 0x20 && s[i] <= 0x7e;
    }
    s[len] = '\0';
    check_py_repr(s, printable);
    check_json_str(s, printable);
}

/* ---- transactions ---- */

/* A printed transaction either is refused or decodes to the very fields,
 * text and hashes printed; valid fields must decode. */
static void check_tx_reads_back(const cc_tx *tx, bool valid,
                                bool (*decode)(const char *, size_t, cc_tx *, cc_err *))
{
    cc_tx back;
    cc_err err = {0};
    bool ok = decode(tx->text, tx->text_len, &back, &err);
    if (valid && !ok)
        fprintf(stderr, "fuzz_texts: %s\n%s\n", err.msg, tx->text);
    check(ok || !valid, "the text of valid fields is refused");
    if (!ok)
        return;
    check(strcmp(back.from, tx->from) == 0 && strcmp(back.to, tx->to) == 0 &&
              strcmp(back.signature, tx->signature) == 0,
          "fields change through the text");
    check((back.timestamp == NULL) == (tx->timestamp == NULL) &&
              (!tx->timestamp || strcmp(back.timestamp, tx->timestamp) == 0),
          "timestamp changes through the text");
    check(fuzz_same_number(&back.amount, &tx->amount), "amount changes through the text");
    check(back.text_len == tx->text_len && memcmp(back.text, tx->text, tx->text_len) == 0,
          "text changes when decoded");
    check(strcmp(back.txid, tx->txid) == 0 && strcmp(back.msgid, tx->msgid) == 0 &&
              back.msg_off == tx->msg_off && back.msg_len == tx->msg_len,
          "hashes change when decoded");
    check(back.is_reward == tx->is_reward, "kind changes when decoded");
    cc_tx_clear(&back);
}

static void check_http_txs(fuzz_input *in, bool sign)
{
    char to[MAX_FIELD + 1], ts[MAX_FIELD + 1];
    draw_p192_key(in, to);
    cc_number amount = draw_amount(in);
    fuzz_text(in, fuzz_u8(in) % 8 ? PLAIN : PRINTABLE, MAX_FIELD, ts);
    bool valid = cc_is_lower_hex(to, CC_P192_PUB_HEX_LEN) && positive(&amount) && field_ok(ts);

    /* The reward builder prints what it is given (the node gives its own
     * key and clock): a timestamp holding '"' could add members to the
     * text. So only valid fields are held to reading back. */
    cc_tx tx;
    cc_http_tx_reward(to, &amount, ts, &tx);
    if (valid)
        check_tx_reads_back(&tx, true, cc_http_tx_decode);
    cc_tx_clear(&tx);
    if (!sign)
        return;
    cc_p192_key key;
    check(cc_p192_from_private(P192_PRIV, &key, NULL), "the vector key");
    cc_err err = {0};
    bool made = cc_http_tx_create(&key, to, &amount, ts, &tx, &err);
    check(made == valid, "tx_create accepts other fields than the valid ones");
    if (!made) {
        check(err.code == CC_ERR_BAD_REQUEST && err.msg[0], "tx_create refusal not reported");
        return;
    }
    check(strcmp(tx.from, key.pub_hex) == 0 && !tx.is_reward, "tx_create pays from the key");
    check_tx_reads_back(&tx, true, cc_http_tx_decode);
    check(cc_http_tx_verify(&tx), "a transaction made by tx_create does not verify");
    cc_tx_clear(&tx);
}

static void check_cheese_txs(fuzz_input *in, bool sign)
{
    char scratch[MAX_FIELD + 1];
    const char *to = draw_rsa_key(in, scratch);
    cc_number amount = draw_amount(in);
    bool to_valid = cc_rsa_pubkey_valid(to);

    cc_tx tx;
    cc_cheese_tx_reward(to, &tx);
    check_tx_reads_back(&tx, to_valid, cc_cheese_tx_decode);
    check(cc_cheese_tx_verify(&tx), "a reward does not verify");
    cc_tx_clear(&tx);
    if (!sign)
        return;
    cc_rsa_key key = {0};
    check(cc_rsa_from_private_hex(RSA_PRIV_0, &key, NULL), "the vector key");
    cc_err err = {0};
    bool made = cc_cheese_tx_create(&key, to, &amount, &tx, &err);
    check(made == (to_valid && positive(&amount)),
          "tx_create accepts other fields than the valid ones");
    if (made) {
        check(strcmp(tx.from, RSA_PUB_0) == 0 && !tx.is_reward, "tx_create pays from the key");
        check_tx_reads_back(&tx, true, cc_cheese_tx_decode);
        check(cc_cheese_tx_verify(&tx), "a transaction made by tx_create does not verify");
        cc_tx_clear(&tx);
    }
    cc_rsa_key_clear(&key);
}

/* ---- http blocks ---- */

/* A payment with a well-formed (not genuine) signature, read from values
 * built with jansson; distinct timestamps keep the payments distinct. */
static void http_payment(fuzz_input *in, size_t i, cc_tx *out)
{
    char from[CC_P192_PUB_HEX_LEN + 1], to[CC_P192_PUB_HEX_LEN + 1], sig[CC_P192_SIG_HEX_LEN + 1];
    char drawn[MAX_FIELD + 1], ts[MAX_FIELD + 8];
    draw_hex(in, CC_P192_PUB_HEX_LEN, from);
    draw_hex(in, CC_P192_PUB_HEX_LEN, to);
    draw_hex(in, CC_P192_SIG_HEX_LEN, sig);
    fuzz_text(in, PLAIN, 100, drawn);
    snprintf(ts, sizeof ts, "%zu %s", i, drawn);
    cc_number amount = draw_amount(in);
    if (!positive(&amount))
        amount = (cc_number){.is_int = true, .i = 1};
    json_t *body = json_pack("{s:s, s:s, s:o, s:s}", "from", from, "to", to, "sum",
                             number_json(&amount), "timestamp", ts);
    json_t *value = json_pack("{s:s, s:o}", "signature", sig, "transaction", body);
    cc_err err = {0};
    check(cc_http_tx_from_json(value, out, &err), "a payment of valid fields is refused");
    json_decref(value);
}

static void check_http_block_json(const json_t *v, int64_t height, const char *prev,
                                  const char *ts, const char *nonce, const char *creator,
                                  const cc_tx *txs, size_t n)
{
    check(json_is_object(v) && json_object_size(v) == 9, "template text is not a 9-member object");
    check(json_integer_value(json_object_get(v, "nr")) == height, "nr");
    const char *names[] = {"previous_hash", "timestamp", "nonce", "creator"};
    const char *values[] = {prev, ts, nonce, creator};
    for (int i = 0; i < 4; i++) {
        const char *got = json_string_value(json_object_get(v, names[i]));
        check(got && strcmp(got, values[i]) == 0, "a text member of the template differs");
    }
    char(*txids)[CC_HASH_HEX_LEN + 1] = cc_malloc(n * sizeof *txids);
    for (size_t i = 0; i < n; i++)
        memcpy(txids[i], txs[i].txid, sizeof *txids);
    char root[CC_HASH_HEX_LEN + 1];
    cc_http_merkle_root((const char(*)[CC_HASH_HEX_LEN + 1])txids, n, root);
    free(txids);
    const char *got_root = json_string_value(json_object_get(v, "merkle_root"));
    check(got_root && strcmp(got_root, root) == 0, "template merkle root");
    check(json_integer_value(json_object_get(v, "count")) == (json_int_t)n, "template count");
    const json_t *list = json_object_get(v, "transactions");
    check(json_array_size(list) == n, "template transaction list");
    for (size_t i = 0; i < n; i++) {
        cc_tx back;
        check(cc_http_tx_from_json(json_array_get(list, i), &back, NULL) &&
                  strcmp(back.txid, txs[i].txid) == 0,
              "a template transaction reads back as another");
        cc_tx_clear(&back);
    }
}

static void check_http_block(fuzz_input *in)
{
    cc_tx txs[1 + MAX_PAYMENTS];
    char to[CC_P192_PUB_HEX_LEN + 1], ts[MAX_FIELD + 1], creator[MAX_FIELD + 1];
    char nonce[MAX_FIELD + 1], prev[CC_HASH_HEX_LEN + 1];
    draw_hex(in, CC_P192_PUB_HEX_LEN, to);
    cc_number reward = draw_amount(in);
    bool within = reward.is_int ? reward.i <= 1 : reward.d <= 1.0;
    if (!positive(&reward) || !within)
        reward = (cc_number){.is_int = true, .i = 1};
    fuzz_text(in, PLAIN, 128, ts);
    cc_http_tx_reward(to, &reward, ts, &txs[0]);
    size_t n = 1 + fuzz_u8(in) % (MAX_PAYMENTS + 1);
    for (size_t i = 1; i < n; i++)
        http_payment(in, i, &txs[i]);
    int64_t height = (int64_t)(fuzz_u64(in) >> 1);
    height = height ? height : 1;
    draw_hex(in, CC_HASH_HEX_LEN, prev);
    fuzz_text(in, PLAIN, 128, creator);
    fuzz_text(in, PLAIN, 128, nonce);

    cc_block_template tpl;
    cc_http_template_build(&tpl, height, prev, ts, creator, txs, n);
    cc_buf text = CC_BUF_INIT, pre = CC_BUF_INIT;
    cc_http_template_finish(&tpl, nonce, &text);
    json_t *v = json_loadb(text.data, text.len, JSON_REJECT_DUPLICATES, NULL);
    check_http_block_json(v, height, prev, ts, nonce, creator, txs, n);
    cc_buf_printf(&pre, "%s%s%s", cc_buf_str(&tpl.prefix), nonce, cc_buf_str(&tpl.suffix));
    char hash[CC_HASH_HEX_LEN + 1], member[100];
    cc_sha256_hex(pre.data, pre.len, hash);
    const char *got = json_string_value(json_object_get(v, "hash"));
    check(got && strcmp(got, hash) == 0, "template hash is not the SHA-256 of the pre-image");
    snprintf(member, sizeof member, ",\"hash\": \"%s\"", hash);
    const char *at = strstr(cc_buf_str(&text), member);
    check(at && text.len - strlen(member) == pre.len &&
              memcmp(text.data, pre.data, (size_t)(at - text.data)) == 0 &&
              strcmp(at + strlen(member), pre.data + (at - text.data)) == 0,
          "the text without its hash member is not the pre-image");

    cc_block block;
    cc_err err = {0};
    bool ok = cc_http_block_decode(text.data, text.len, &block, &err);
    if (cc_http_pow_ok(hash)) {
        check(ok, "a template that meets the proof of work is refused");
        check(block.text_len == text.len && memcmp(block.text, text.data, text.len) == 0 &&
                  strcmp(block.hash, hash) == 0 && block.height == height && block.n_txs == n,
              "a mined template decodes as another block");
        cc_block_clear(&block);
    } else {
        if (ok || !strstr(err.msg, "proof of work"))
            fprintf(stderr, "fuzz_texts: %s\n%s\n", ok ? "accepted" : err.msg, text.data);
        check(!ok && strstr(err.msg, "proof of work"),
              "a template is refused for more than its proof of work");
    }
    json_decref(v);
    cc_buf_free(&text);
    cc_buf_free(&pre);
    cc_block_template_clear(&tpl);
    for (size_t i = 0; i < n; i++)
        cc_tx_clear(&txs[i]);
}

/* ---- cheese blocks ---- */

static bool cheese_payment(fuzz_input *in, const cc_tx *before, size_t i, cc_tx *out)
{
    const char *from = RSA_PUBS[fuzz_u8(in) % 3], *to = RSA_PUBS[fuzz_u8(in) % 3];
    char sig[CC_RSA_SIG_HEX_MAX + 1];
    draw_hex(in, 2 * cc_rsa_pubkey_size(from), sig);
    cc_number amount = draw_amount(in);
    if (!positive(&amount))
        amount = (cc_number){.is_int = true, .i = (int64_t)i + 1};
    json_t *value = json_pack("{s:s, s:s, s:o, s:s}", "sender", from, "recipient", to, "amount",
                              number_json(&amount), "signature", sig);
    cc_err err = {0};
    check(cc_cheese_tx_from_json(value, out, &err), "a payment of valid fields is refused");
    json_decref(value);
    for (size_t j = 0; j < i; j++) {
        if (strcmp(before[j].msgid, out->msgid) == 0) {
            cc_tx_clear(out);
            return false; /* the same payment twice: a block may not hold it */
        }
    }
    return true;
}

/* [OrderedDict([('sender', S), ('recipient', R), ('amount', A)]), ...] + parent */
static void check_pow_prefix(const cc_tx *payments, size_t n, const char *parent)
{
    cc_buf pre = CC_BUF_INIT, s = CC_BUF_INIT;
    cc_cheese_pow_prefix(payments, n, parent, &pre);
    const char *p = pre.data, *end = pre.data + pre.len;
#define EXPECT(lit)                                                                      \
    do {                                                                                 \
        check((size_t)(end - p) >= sizeof lit - 1 && memcmp(p, lit, sizeof lit - 1) == 0, \
              "proof-of-work pre-image is not the Python list: " lit);                   \
        p += sizeof lit - 1;                                                             \
    } while (0)
    EXPECT("[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            EXPECT(", ");
        EXPECT("OrderedDict([('sender', ");
        cc_buf_reset(&s);
        p += read_py_str(p, (size_t)(end - p), &s);
        check(strcmp(cc_buf_str(&s), payments[i].from) == 0, "sender in the pre-image");
        EXPECT("), ('recipient', ");
        cc_buf_reset(&s);
        p += read_py_str(p, (size_t)(end - p), &s);
        check(strcmp(cc_buf_str(&s), payments[i].to) == 0, "recipient in the pre-image");
        EXPECT("), ('amount', ");
        const char *close = memchr(p, ')', (size_t)(end - p));
        check(close && number_reads_back(p, (size_t)(close - p), &payments[i].amount),
              "amount in the pre-image");
        p = close;
        EXPECT(")])");
    }
    EXPECT("]");
#undef EXPECT
    check((size_t)(end - p) == strlen(parent) && memcmp(p, parent, (size_t)(end - p)) == 0,
          "the pre-image does not end with the parent smell");
    cc_buf_free(&pre);
    cc_buf_free(&s);
}

static bool same_number_json(const json_t *v, const cc_number *n)
{
    if (n->is_int)
        return json_is_integer(v) && json_integer_value(v) == n->i;
    double d = json_real_value(v);
    return json_is_real(v) && memcmp(&d, &n->d, sizeof d) == 0;
}

/* json.dumps(block, sort_keys=True) of the fields, each transaction reduced
 * to amount, recipient and sender. */
static void check_smell_preimage(const cc_cheese_header *h, const cc_tx *txs, size_t n)
{
    cc_buf pre = CC_BUF_INIT;
    cc_cheese_smell_preimage(h, txs, n, &pre);
    json_t *v = json_loadb(pre.data, pre.len, JSON_PRESERVE_ORDER | JSON_REJECT_DUPLICATES, NULL);
    static const char *const keys[] = {"nonce", "parent_smell", "sequence_number", "timestamp",
                                       "transactions"};
    size_t i = 0;
    const char *key;
    json_t *member;
    check(json_is_object(v) && json_object_size(v) == 5, "smell pre-image has five members");
    json_object_foreach(v, key, member) check(strcmp(key, keys[i++]) == 0, "smell keys not sorted");
    check(json_integer_value(json_object_get(v, "nonce")) == h->nonce &&
              json_integer_value(json_object_get(v, "sequence_number")) == h->sequence_number &&
              strcmp(json_string_value(json_object_get(v, "parent_smell")), h->parent_smell) == 0 &&
              same_number_json(json_object_get(v, "timestamp"), &h->timestamp),
          "smell pre-image header");
    const json_t *list = json_object_get(v, "transactions");
    check(json_array_size(list) == n, "smell pre-image transactions");
    static const char *const tx_keys[] = {"amount", "recipient", "sender"};
    for (size_t t = 0; t < n; t++) {
        const json_t *tx = json_array_get(list, t);
        i = 0;
        check(json_object_size(tx) == 3, "a smell transaction has three members");
        json_object_foreach((json_t *)tx, key, member)
            check(strcmp(key, tx_keys[i++]) == 0, "smell transaction keys not sorted");
        check(same_number_json(json_object_get(tx, "amount"), &txs[t].amount) &&
                  strcmp(json_string_value(json_object_get(tx, "recipient")), txs[t].to) == 0 &&
                  strcmp(json_string_value(json_object_get(tx, "sender")), txs[t].from) == 0,
              "smell transaction fields");
    }
    char smell[CC_HASH_HEX_LEN + 1], direct[CC_HASH_HEX_LEN + 1];
    cc_sha256_hex(pre.data, pre.len, smell);
    cc_cheese_smell(h, txs, n, direct);
    check(strcmp(smell, direct) == 0, "smell is not the SHA-256 of its pre-image");
    json_decref(v);
    cc_buf_free(&pre);
}

/* Python's str() of a non-negative int that fits in 63 bits. */
static bool nonce_canonical(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > 19 || strspn(s, "0123456789") != len || (len > 1 && s[0] == '0'))
        return false;
    return len < 19 || strcmp(s, "9223372036854775807") <= 0;
}

static int64_t mine(const cc_block_template *tpl)
{
    cc_sha256_ctx base;
    cc_sha256_init(&base);
    cc_sha256_update(&base, tpl->prefix.data, tpl->prefix.len);
    for (int64_t nonce = 0; nonce < MINING_TRIES; nonce++) {
        cc_sha256_ctx ctx = base;
        char text[24];
        int len = snprintf(text, sizeof text, "%lld", (long long)nonce);
        cc_sha256_update(&ctx, text, (size_t)len);
        cc_sha256_update(&ctx, tpl->suffix.data, tpl->suffix.len);
        uint8_t digest[CC_SHA256_LEN];
        cc_sha256_final(&ctx, digest);
        if (cc_cheese_pow_ok_raw(digest))
            return nonce;
    }
    return -1;
}

static void check_mined(const cc_cheese_header *h, const cc_tx *txs, size_t n, const char *text)
{
    cc_block block;
    cc_err err = {0};
    bool ok = cc_cheese_block_decode(text, strlen(text), &block, &err);
    if (!ok)
        fprintf(stderr, "fuzz_texts: %s\n%s\n", err.msg, text);
    check(ok, "a mined template is refused");
    check(block.text_len == strlen(text) && strcmp(block.text, text) == 0,
          "a mined template decodes to another text");
    char smell[CC_HASH_HEX_LEN + 1];
    cc_cheese_smell(h, txs, n, smell);
    check(strcmp(block.hash, smell) == 0 && block.height == h->sequence_number &&
              strcmp(block.prev, h->parent_smell) == 0 && block.n_txs == n,
          "a mined template decodes to other fields");
    for (size_t i = 0; i < n; i++)
        check(strcmp(block.txs[i].txid, txs[i].txid) == 0, "a transaction changes in the block");
    cc_buf again = CC_BUF_INIT;
    cc_cheese_block_text(h, txs, n, &again);
    check(strcmp(cc_buf_str(&again), text) == 0, "block_text and the template differ");
    cc_buf_free(&again);
    cc_block_clear(&block);
}

static void check_cheese_block(fuzz_input *in)
{
    cc_tx txs[MAX_PAYMENTS + 1];
    size_t n = 0, want = fuzz_u8(in) % (MAX_PAYMENTS + 1);
    for (size_t i = 0; i < want; i++)
        n += cheese_payment(in, txs, n, &txs[n]);
    cc_cheese_tx_reward(RSA_PUBS[fuzz_u8(in) % 3], &txs[n++]);
    char parent[CC_HASH_HEX_LEN + 1], nonce_text[24];
    draw_hex(in, CC_HASH_HEX_LEN, parent);
    cc_number ts = draw_amount(in);
    if (!ts.is_int && !isfinite(ts.d))
        ts.d = 0.5;
    int64_t height = (int64_t)(fuzz_u64(in) >> 1);
    height = height ? height : 1;

    cc_block_template tpl;
    cc_cheese_template_build(&tpl, height, parent, &ts, txs, n);
    check_pow_prefix(txs, n - 1, parent);
    check(strcmp(cc_buf_str(&tpl.suffix), "") == 0, "proof-of-work suffix");
    cc_buf text = CC_BUF_INIT;
    fuzz_text(in, "0123456789-+ x", 22, nonce_text);
    check(cc_cheese_template_finish(&tpl, nonce_text, &text) == nonce_canonical(nonce_text),
          "template_finish takes other nonces than the canonical ones");
    int64_t nonce = mine(&tpl);
    if (nonce >= 0) {
        snprintf(nonce_text, sizeof nonce_text, "%lld", (long long)nonce);
        check(cc_cheese_template_finish(&tpl, nonce_text, &text), "a mined nonce is refused");
        cc_cheese_header h = {height, parent, nonce, ts};
        check_mined(&h, txs, n, cc_buf_str(&text));
        check_smell_preimage(&h, txs, n);
    }
    cc_buf_free(&text);
    cc_block_template_clear(&tpl);
    for (size_t i = 0; i < n; i++)
        cc_tx_clear(&txs[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size};
    uint8_t flags = fuzz_u8(&in);
    bool sign = (flags & 0x0f) == 0;
    check_strings(&in);
    check_http_txs(&in, sign);
    check_cheese_txs(&in, sign);
    check_http_block(&in);
    check_cheese_block(&in);
    return 0;
}

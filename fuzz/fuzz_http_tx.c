/* Fuzzes the http network's transaction reader: arbitrary bytes go through
 * cc_http_tx_decode, and whatever it accepts must keep the promises of
 * consensus/http.h and PROTOCOL.md A.1-A.3: the canonical text is printable
 * ASCII JSON that decodes again to itself (same text, txid, msgid, amount,
 * kind), the txid and msgid are the SHA-256 of the text and of the signed
 * message inside it, keys and signatures have their fixed forms, sums are
 * positive; the text read by plain jansson holds exactly the decoded
 * fields; verification gives the same verdict on the re-decoded copy and
 * through the network's rule table (consensus/rules.h), whose reader gives
 * the same verdict. Refusals must carry a 400 and a message and leave
 * nothing allocated. Any failed property aborts. */
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/json.h"
#include "consensus/block.h"
#include "consensus/http.h"
#include "consensus/rules.h"
#include "crypto/hash.h"
#include "util/err.h"
#include "util/hex.h"

#include "fuzz_support.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what) { fuzz_check("fuzz_http_tx", ok, what); }

static void check_form(const cc_tx *tx)
{
    check(tx->text_len == strlen(tx->text), "text length");
    check(cc_text_representable(tx->from) && cc_text_representable(tx->to) &&
              cc_text_representable(tx->signature) && cc_text_representable(tx->timestamp),
          "fields not representable");
    for (size_t i = 0; i < tx->text_len; i++)
        check(tx->text[i] >= 0x20 && tx->text[i] < 0x7f, "text not printable ASCII");
    char hash[CC_HASH_HEX_LEN + 1];
    cc_sha256_hex(tx->text, tx->text_len, hash);
    check(strcmp(hash, tx->txid) == 0, "txid is not sha256(text)");
    check(tx->msg_off + tx->msg_len < tx->text_len, "message outside the text");
    cc_sha256_hex(tx->text + tx->msg_off, tx->msg_len, hash);
    check(strcmp(hash, tx->msgid) == 0, "msgid is not sha256(message)");
    check(tx->text[tx->msg_off] == '{' && tx->text[tx->msg_off + tx->msg_len - 1] == '}',
          "message is not an object");
    check(tx->amount.is_int ? tx->amount.i > 0 : (isfinite(tx->amount.d) && tx->amount.d > 0),
          "sum not positive");
    check(cc_is_lower_hex(tx->to, CC_P192_PUB_HEX_LEN), "to is not a key");
    bool system = strcmp(tx->from, CC_HTTP_REWARD_FROM) == 0;
    check(tx->is_reward == system, "is_reward does not follow from");
    check(system == (strcmp(tx->signature, CC_HTTP_REWARD_FROM) == 0), "System signature");
    if (!system) {
        check(cc_is_lower_hex(tx->from, CC_P192_PUB_HEX_LEN), "from is not a key");
        check(cc_is_lower_hex(tx->signature, CC_P192_SIG_HEX_LEN), "signature form");
    }
}

/* The text, read by plain jansson, holds the five decoded fields. */
static void check_text_fields(const cc_tx *tx)
{
    json_t *v = json_loadb(tx->text, tx->text_len, JSON_REJECT_DUPLICATES, NULL);
    const json_t *body = json_object_get(v, "transaction");
    check(json_object_size(v) == 2 && json_object_size(body) == 4,
          "text is not a signature and a four-member transaction");
    const char *names[] = {"from", "to", "timestamp"};
    const char *fields[] = {tx->from, tx->to, tx->timestamp};
    for (int i = 0; i < 3; i++) {
        const char *got = json_string_value(json_object_get(body, names[i]));
        check(got && strcmp(got, fields[i]) == 0, "a string member differs from the decoded field");
    }
    const char *signature = json_string_value(json_object_get(v, "signature"));
    check(signature && strcmp(signature, tx->signature) == 0, "signature member differs");
    const json_t *sum = json_object_get(body, "sum");
    double d = json_real_value(sum);
    check(tx->amount.is_int ? json_is_integer(sum) && json_integer_value(sum) == tx->amount.i
                            : json_is_real(sum) && memcmp(&d, &tx->amount.d, sizeof d) == 0,
          "sum member differs from the decoded sum");
    json_decref(v);
}

static void check_rules_table(const uint8_t *data, size_t size, bool accepted, const cc_tx *tx)
{
    const cc_rules *rules = cc_rules_find("http");
    cc_tx via;
    bool ok = rules->tx_decode((const char *)data, size, &via, NULL);
    check(ok == accepted, "the rule table's reader gives another verdict");
    if (ok)
        check(strcmp(via.txid, tx->txid) == 0 && rules->tx_verify(&via) == cc_http_tx_verify(tx),
              "the rule table reads or verifies otherwise");
    cc_tx_clear(&via);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cc_tx tx;
    cc_err err = {0};
    if (!cc_http_tx_decode((const char *)data, size, &tx, &err)) {
        check(err.code == CC_ERR_BAD_REQUEST && err.msg[0] != '\0', "refusal not reported");
        check(tx.text == NULL && tx.from == NULL, "refusal left something allocated");
        check_rules_table(data, size, false, NULL);
        return 0;
    }
    check_form(&tx);
    check_text_fields(&tx);
    check_rules_table(data, size, true, &tx);
    cc_tx again;
    check(cc_http_tx_decode(tx.text, tx.text_len, &again, &err), "canonical text refused");
    check(again.text_len == tx.text_len && memcmp(again.text, tx.text, tx.text_len) == 0,
          "canonical text changes when decoded again");
    check(strcmp(again.txid, tx.txid) == 0 && strcmp(again.msgid, tx.msgid) == 0,
          "hashes change when decoded again");
    check(again.msg_off == tx.msg_off && again.msg_len == tx.msg_len, "message moves");
    check(fuzz_same_number(&again.amount, &tx.amount), "sum changes when decoded again");
    check(again.is_reward == tx.is_reward, "kind changes when decoded again");
    bool valid = cc_http_tx_verify(&tx);
    check(valid == cc_http_tx_verify(&again), "verify differs on the same text");
    check(!tx.is_reward || valid, "a reward must verify");
    cc_tx copy;
    cc_tx_copy(&copy, &tx);
    check(strcmp(copy.text, tx.text) == 0 && strcmp(copy.txid, tx.txid) == 0, "copy differs");
    cc_tx_clear(&copy);
    cc_tx_clear(&again);
    cc_tx_clear(&tx);
    return 0;
}

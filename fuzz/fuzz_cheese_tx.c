/* Fuzzes the cheese network's transaction reader: arbitrary bytes go
 * through cc_cheese_tx_decode, and whatever it accepts must keep the
 * promises of consensus/cheese.h and PROTOCOL.md B.2-B.3: the canonical
 * text is printable ASCII JSON holding exactly the decoded fields, and
 * decodes again to itself (same text, txid, msgid, amount, kind); the txid
 * is the SHA-256 of the text and the msgid that of the signed payload
 * sender + recipient + str(amount); keys are valid RSA keys and signatures
 * have the sender key's length; amounts are positive; verification gives
 * the same verdict on the re-decoded copy and a reward always verifies;
 * the network's rule table (consensus/rules.h) reads and verifies alike.
 * Refusals must carry a 400 and a message and leave nothing allocated. Any
 * failed property aborts. */
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
#include "consensus/cheese.h"
#include "consensus/rules.h"
#include "crypto/hash.h"
#include "crypto/rsa.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/hex.h"

#include "fuzz_support.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what) { fuzz_check("fuzz_cheese_tx", ok, what); }

/* The text, read by plain jansson, holds the four decoded fields. */
static void check_text_fields(const cc_tx *tx)
{
    json_t *value = json_loadb(tx->text, tx->text_len, 0, NULL);
    check(value != NULL && json_is_object(value) && json_object_size(value) == 4,
          "text is not a JSON object of four members");
    const char *names[] = {"sender", "recipient", "signature"};
    const char *fields[] = {tx->from, tx->to, tx->signature};
    for (int i = 0; i < 3; i++) {
        const json_t *s = json_object_get(value, names[i]);
        check(json_is_string(s) && strcmp(json_string_value(s), fields[i]) == 0,
              "a string member differs from the decoded field");
    }
    const json_t *amount = json_object_get(value, "amount");
    check(tx->amount.is_int ? json_is_integer(amount) && json_integer_value(amount) == tx->amount.i
                            : json_is_real(amount) && json_real_value(amount) == tx->amount.d,
          "amount member differs from the decoded amount");
    json_decref(value);
}

static void check_form(const cc_tx *tx)
{
    check(tx->text_len == strlen(tx->text), "text length");
    for (size_t i = 0; i < tx->text_len; i++)
        check(tx->text[i] >= 0x20 && tx->text[i] < 0x7f, "text not printable ASCII");
    check(strncmp(tx->text, "{\"sender\": \"", 12) == 0, "text does not start with the sender");
    char hash[CC_HASH_HEX_LEN + 1];
    cc_sha256_hex(tx->text, tx->text_len, hash);
    check(strcmp(hash, tx->txid) == 0, "txid is not sha256(text)");
    check(tx->msg_off == 0 && tx->msg_len == 0, "cheese messages are no slice of the text");
    cc_buf payload = CC_BUF_INIT;
    char amount[CC_NUMBER_TEXT_MAX];
    cc_number_format(&tx->amount, amount);
    cc_buf_printf(&payload, "%s%s%s", tx->from, tx->to, amount);
    cc_sha256_hex(payload.data, payload.len, hash);
    check(strcmp(hash, tx->msgid) == 0, "msgid is not sha256(sender + recipient + amount)");
    cc_buf_reset(&payload);
    cc_cheese_tx_payload(tx, &payload);
    cc_sha256_hex(payload.data, payload.len, hash);
    check(strcmp(hash, tx->msgid) == 0, "cc_cheese_tx_payload differs");
    cc_buf_free(&payload);
    check(tx->amount.is_int ? tx->amount.i > 0 : (isfinite(tx->amount.d) && tx->amount.d > 0),
          "amount not positive");
    check(tx->timestamp == NULL, "a cheese transaction has no timestamp");
    check(cc_rsa_pubkey_valid(tx->to), "recipient is not a key");
    bool reward = strcmp(tx->from, CC_CHEESE_REWARD_SENDER) == 0;
    check(tx->is_reward == reward, "is_reward does not follow the sender");
    check(reward == (strcmp(tx->signature, CC_CHEESE_REWARD_SIGNATURE) == 0), "reward signature");
    if (!reward) {
        size_t size = cc_rsa_pubkey_size(tx->from);
        check(size != 0, "sender is not a key");
        check(cc_is_lower_hex(tx->signature, 2 * size), "signature form");
    }
    check_text_fields(tx);
}

static void check_rules_table(const uint8_t *data, size_t size, bool accepted, const cc_tx *tx)
{
    const cc_rules *rules = cc_rules_find("cheese");
    cc_tx via;
    bool ok = rules->tx_decode((const char *)data, size, &via, NULL);
    check(ok == accepted, "the rule table's reader gives another verdict");
    if (ok)
        check(strcmp(via.txid, tx->txid) == 0 && rules->tx_verify(&via) == cc_cheese_tx_verify(tx),
              "the rule table reads or verifies otherwise");
    cc_tx_clear(&via);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cc_tx tx;
    cc_err err = {0};
    if (!cc_cheese_tx_decode((const char *)data, size, &tx, &err)) {
        check(err.code == CC_ERR_BAD_REQUEST && err.msg[0] != '\0', "refusal not reported");
        check(tx.text == NULL && tx.from == NULL, "refusal left something allocated");
        check_rules_table(data, size, false, NULL);
        return 0;
    }
    check_form(&tx);
    check_rules_table(data, size, true, &tx);
    cc_tx again;
    check(cc_cheese_tx_decode(tx.text, tx.text_len, &again, &err), "canonical text refused");
    check(again.text_len == tx.text_len && memcmp(again.text, tx.text, tx.text_len) == 0,
          "canonical text changes when decoded again");
    check(strcmp(again.txid, tx.txid) == 0 && strcmp(again.msgid, tx.msgid) == 0,
          "hashes change when decoded again");
    check(fuzz_same_number(&again.amount, &tx.amount), "amount changes when decoded again");
    check(again.is_reward == tx.is_reward, "kind changes when decoded again");
    bool valid = cc_cheese_tx_verify(&tx);
    check(valid == cc_cheese_tx_verify(&again), "verify differs on the same text");
    check(!tx.is_reward || valid, "a reward must verify");
    cc_tx copy;
    cc_tx_copy(&copy, &tx);
    check(strcmp(copy.text, tx.text) == 0 && strcmp(copy.txid, tx.txid) == 0, "copy differs");
    cc_tx_clear(&copy);
    cc_tx_clear(&again);
    cc_tx_clear(&tx);
    return 0;
}

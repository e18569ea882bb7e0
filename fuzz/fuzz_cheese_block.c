/* Fuzzes the cheese network's block reader: arbitrary bytes go through
 * cc_cheese_block_decode, and whatever it accepts must keep the promises of
 * consensus/cheese.h and PROTOCOL.md B.2-B.3: the canonical text decodes
 * again to itself with the same smell; it is the block printed from its
 * own fields; the smell is the SHA-256 of the sorted dump of those fields;
 * the proof of work over every transaction but the reward, the parent smell
 * and the nonce starts with "00"; a block numbered 0 is the fixed genesis;
 * any other has a 64-hex parent, 1 to 256 transactions, exactly one reward
 * of 10, last, and no payment twice; each transaction's text decodes on
 * its own as the same transaction. Every transaction is verified (the
 * verdict must not change on the re-decoded copy), and the network's rule
 * table (consensus/rules.h) gives the same verdicts. When the input is a
 * JSON list, as in CHAIN[...] answers, each element goes through
 * cc_cheese_block_from_json, which must agree with decoding that element's
 * text. Refusals must carry a 400 and a message and leave nothing
 * allocated. Any failed property aborts. */
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/block.h"
#include "consensus/cheese.h"
#include "consensus/rules.h"
#include "codec/json.h"
#include "crypto/hash.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/hex.h"

#include "fuzz_support.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what) { fuzz_check("fuzz_cheese_block", ok, what); }

/* Reads the header back from the canonical text with plain jansson. */
static void read_header(const cc_block *block, json_t **root, cc_cheese_header *h)
{
    *root = json_loadb(block->text, block->text_len, 0, NULL);
    check(*root != NULL && json_object_size(*root) == 5, "text is not a five-member object");
    const json_t *seq = json_object_get(*root, "sequence_number");
    const json_t *parent = json_object_get(*root, "parent_smell");
    const json_t *nonce = json_object_get(*root, "nonce");
    const json_t *ts = json_object_get(*root, "timestamp");
    check(json_is_integer(seq) && json_is_string(parent) && json_is_integer(nonce) &&
              json_is_number(ts) && json_is_array(json_object_get(*root, "transactions")),
          "member types");
    h->sequence_number = json_integer_value(seq);
    h->parent_smell = json_string_value(parent);
    h->nonce = json_integer_value(nonce);
    h->timestamp = json_is_integer(ts) ? (cc_number){.is_int = true, .i = json_integer_value(ts)}
                                       : (cc_number){.is_int = false, .d = json_real_value(ts)};
    check(h->sequence_number == block->height, "height is not the sequence_number");
    check(strcmp(h->parent_smell, block->prev) == 0, "prev is not the parent_smell");
}

static void check_hashes(const cc_block *block, const cc_cheese_header *h)
{
    cc_buf text = CC_BUF_INIT;
    cc_cheese_block_text(h, block->txs, block->n_txs, &text);
    check(text.len == block->text_len && memcmp(text.data, block->text, text.len) == 0,
          "text is not the block printed from its fields");
    char smell[CC_HASH_HEX_LEN + 1];
    cc_cheese_smell(h, block->txs, block->n_txs, smell);
    check(strcmp(smell, block->hash) == 0, "hash is not the smell of the fields");
    if (block->height == 0) {
        check(strcmp(block->text, CC_CHEESE_GENESIS_TEXT) == 0, "genesis text");
        check(strcmp(block->hash, CC_CHEESE_GENESIS_SMELL) == 0, "genesis smell");
        check(block->n_txs == 0 && block->prev[0] == '\0', "genesis form");
        cc_buf_free(&text);
        return;
    }
    cc_buf_reset(&text);
    cc_cheese_pow_prefix(block->txs, block->n_txs - 1, block->prev, &text);
    cc_buf_printf(&text, "%lld", (long long)h->nonce);
    char hash[CC_HASH_HEX_LEN + 1];
    cc_sha256_hex(text.data, text.len, hash);
    check(strncmp(hash, "00", 2) == 0, "proof of work not met");
    cc_buf_free(&text);
}

static void check_payments(const cc_block *block)
{
    check(block->height >= 1 && cc_is_lower_hex(block->prev, CC_HASH_HEX_LEN), "header form");
    check(block->n_txs >= 1 && block->n_txs <= CC_CHEESE_MAX_BLOCK_TXS, "transaction count");
    for (size_t i = 0; i < block->n_txs; i++) {
        const cc_tx *tx = &block->txs[i];
        check(tx->is_reward == (i + 1 == block->n_txs), "the reward is not exactly the last");
        for (size_t j = 0; j < i; j++)
            check(strcmp(block->txs[j].msgid, tx->msgid) != 0, "a payment appears twice");
        check(strstr(block->text, tx->text) != NULL, "transaction text not in the block");
    }
    const cc_number *r = &block->txs[block->n_txs - 1].amount;
    check(r->is_int ? r->i == CC_CHEESE_REWARD : r->d == CC_CHEESE_REWARD, "reward is not 10");
}

static void check_txs_alone(const cc_block *block)
{
    for (size_t i = 0; i < block->n_txs; i++) {
        const cc_tx *tx = &block->txs[i];
        cc_tx alone;
        check(cc_cheese_tx_decode(tx->text, tx->text_len, &alone, NULL),
              "a transaction of the block is refused on its own");
        check(strcmp(alone.txid, tx->txid) == 0 && strcmp(alone.msgid, tx->msgid) == 0 &&
                  alone.is_reward == tx->is_reward && fuzz_same_number(&alone.amount, &tx->amount),
              "a transaction of the block decodes as another on its own");
        cc_tx_clear(&alone);
    }
}

static void check_rules_table(const uint8_t *data, size_t size, bool accepted,
                              const cc_block *block)
{
    const cc_rules *rules = cc_rules_find("cheese");
    cc_block via;
    bool ok = rules->block_decode((const char *)data, size, &via, NULL);
    check(ok == accepted, "the rule table's block reader gives another verdict");
    if (ok) {
        fuzz_same_block("fuzz_cheese_block", block, &via);
        for (size_t i = 0; i < via.n_txs; i++)
            check(rules->tx_verify(&via.txs[i]) == cc_cheese_tx_verify(&block->txs[i]),
                  "the rule table verifies otherwise");
    }
    cc_block_clear(&via);
}

/* A list of blocks, as a peer's chain arrives: each element read from the
 * parsed list must fare as its own text does. */
static void check_list(const uint8_t *data, size_t size)
{
    json_t *list = cc_json_parse((const char *)data, size, CC_CHEESE_MAX_JSON_DEPTH + 1, NULL);
    size_t i;
    json_t *element;
    json_array_foreach(list, i, element) {
        cc_block from_list, from_text;
        cc_err err = {0};
        bool ok = cc_cheese_block_from_json(element, &from_list, &err);
        check(ok || (err.code == CC_ERR_BAD_REQUEST && err.msg[0]), "refusal not reported");
        char *text = json_dumps(element, JSON_ENCODE_ANY);
        check(cc_cheese_block_decode(text, strlen(text), &from_text, NULL) == ok,
              "a block of a list fares otherwise than its text");
        if (ok)
            fuzz_same_block("fuzz_cheese_block", &from_list, &from_text);
        free(text);
        cc_block_clear(&from_list);
        cc_block_clear(&from_text);
    }
    json_decref(list);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_list(data, size);
    cc_block block;
    cc_err err = {0};
    if (!cc_cheese_block_decode((const char *)data, size, &block, &err)) {
        check_rules_table(data, size, false, NULL);
        check(err.code == CC_ERR_BAD_REQUEST && err.msg[0] != '\0', "refusal not reported");
        check(block.text == NULL && block.txs == NULL, "refusal left something allocated");
        return 0;
    }
    check(block.text_len == strlen(block.text), "text length");
    cc_block again;
    check(cc_cheese_block_decode(block.text, block.text_len, &again, &err), "canonical text refused");
    fuzz_same_block("fuzz_cheese_block", &block, &again);
    json_t *root;
    cc_cheese_header h;
    read_header(&block, &root, &h);
    check_hashes(&block, &h);
    json_decref(root);
    if (block.height != 0) {
        check_payments(&block);
        check_txs_alone(&block);
        for (size_t i = 0; i < block.n_txs; i++)
            check(cc_cheese_tx_verify(&block.txs[i]) == cc_cheese_tx_verify(&again.txs[i]),
                  "verify differs on the same text");
    }
    check_rules_table(data, size, true, &block);
    cc_block_clear(&again);
    cc_block_clear(&block);
    return 0;
}

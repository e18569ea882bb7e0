/* Fuzzes the http network's block reader: arbitrary bytes go through
 * cc_http_block_decode, and whatever it accepts must keep the promises of
 * consensus/http.h and PROTOCOL.md A.1-A.4: the canonical text decodes
 * again to itself with the same hash, the hash meets the proof of work and
 * is the SHA-256 of the text without its hash member, the merkle root in
 * the text is the one over the transactions, counts and limits hold,
 * rewards stay within 1, no payment appears twice; the text read by plain
 * jansson holds the decoded height, parent and count; each transaction's
 * text decodes on its own as the same transaction. Every transaction is
 * verified (the verdict must not change on the re-decoded copy), and the
 * network's rule table (consensus/rules.h) gives the same verdicts.
 * Refusals must carry a 400 and a message and leave nothing allocated.
 * Any failed property aborts. */
#include <gmp.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/block.h"
#include "consensus/http.h"
#include "consensus/rules.h"
#include "crypto/hash.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/hex.h"
#include "util/mem.h"

#include "fuzz_support.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what) { fuzz_check("fuzz_http_block", ok, what); }

/* The text without `,"hash": "<64 hex>"`, which is what the hash covers. */
static void check_hash(const cc_block *block)
{
    char member[80];
    snprintf(member, sizeof member, ",\"hash\": \"%s\"", block->hash);
    const char *at = strstr(block->text, member);
    check(at != NULL, "hash member missing from the text");
    cc_buf pre = CC_BUF_INIT;
    cc_buf_append(&pre, block->text, (size_t)(at - block->text));
    cc_buf_puts(&pre, at + strlen(member));
    char hash[CC_HASH_HEX_LEN + 1];
    cc_sha256_hex(pre.data, pre.len, hash);
    check(strcmp(hash, block->hash) == 0, "hash is not sha256 of the text without it");
    check(cc_http_pow_ok(block->hash), "hash misses the proof of work");
    cc_buf_free(&pre);
}

static void check_merkle(const cc_block *block)
{
    char(*txids)[CC_HASH_HEX_LEN + 1] = cc_malloc(block->n_txs * sizeof *txids);
    for (size_t i = 0; i < block->n_txs; i++)
        memcpy(txids[i], block->txs[i].txid, sizeof *txids);
    char root[CC_HASH_HEX_LEN + 1], member[96];
    cc_http_merkle_root((const char(*)[CC_HASH_HEX_LEN + 1])txids, block->n_txs, root);
    free(txids);
    snprintf(member, sizeof member, ",\"merkle_root\": \"%s\",", root);
    check(strstr(block->text, member) != NULL, "merkle root is not the transactions'");
}

/* Rewards within 1 (a txid repeated counted once), no message twice. */
static void check_payments(const cc_block *block)
{
    mpq_t total, amount, one;
    mpq_inits(total, amount, one, NULL);
    mpq_set_ui(one, 1, 1);
    for (size_t i = 0; i < block->n_txs; i++) {
        const cc_tx *tx = &block->txs[i];
        bool repeated = false;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(block->txs[j].msgid, tx->msgid) == 0) {
                check(tx->is_reward && strcmp(block->txs[j].txid, tx->txid) == 0,
                      "a payment appears twice");
                repeated = true;
            }
        }
        if (tx->is_reward && !repeated) {
            cc_amount_to_mpq(&tx->amount, amount);
            mpq_add(total, total, amount);
        }
        check(strstr(block->text, tx->text) != NULL, "transaction text not in the block");
    }
    check(mpq_cmp(total, one) <= 0, "rewards above 1");
    mpq_clears(total, amount, one, NULL);
}

/* What a reader that shares nothing with ours sees in the text. */
static void check_header(const cc_block *block)
{
    json_t *v = json_loadb(block->text, block->text_len, JSON_REJECT_DUPLICATES, NULL);
    check(json_is_object(v) && json_object_size(v) == 9, "text is not a nine-member object");
    const char *prev = json_string_value(json_object_get(v, "previous_hash"));
    check(json_integer_value(json_object_get(v, "nr")) == block->height && prev &&
              strcmp(prev, block->prev) == 0,
          "nr and previous_hash differ from the decoded header");
    check(json_integer_value(json_object_get(v, "count")) == (json_int_t)block->n_txs &&
              json_array_size(json_object_get(v, "transactions")) == block->n_txs,
          "count differs from the decoded transactions");
    json_decref(v);
}

static void check_txs_alone(const cc_block *block)
{
    for (size_t i = 0; i < block->n_txs; i++) {
        const cc_tx *tx = &block->txs[i];
        cc_tx alone;
        check(cc_http_tx_decode(tx->text, tx->text_len, &alone, NULL),
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
    const cc_rules *rules = cc_rules_find("http");
    cc_block via;
    bool ok = rules->block_decode((const char *)data, size, &via, NULL);
    check(ok == accepted, "the rule table's block reader gives another verdict");
    if (ok) {
        fuzz_same_block("fuzz_http_block", block, &via);
        for (size_t i = 0; i < via.n_txs; i++)
            check(rules->tx_verify(&via.txs[i]) == cc_http_tx_verify(&block->txs[i]),
                  "the rule table verifies otherwise");
    }
    cc_block_clear(&via);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cc_block block;
    cc_err err = {0};
    if (!cc_http_block_decode((const char *)data, size, &block, &err)) {
        check_rules_table(data, size, false, NULL);
        check(err.code == CC_ERR_BAD_REQUEST && err.msg[0] != '\0', "refusal not reported");
        check(block.text == NULL && block.txs == NULL, "refusal left something allocated");
        return 0;
    }
    check(block.text_len == strlen(block.text), "text length");
    cc_block again;
    check(cc_http_block_decode(block.text, block.text_len, &again, &err),
          "canonical text refused");
    fuzz_same_block("fuzz_http_block", &block, &again);
    check_hash(&block);
    if (block.height == 0) {
        /* A genesis claim is answered with the fixed genesis. */
        check(strcmp(block.text, CC_HTTP_GENESIS_TEXT) == 0, "genesis text");
        check(strcmp(block.hash, CC_HTTP_GENESIS_HASH) == 0, "genesis hash");
    } else {
        check(block.height >= 1 && cc_is_lower_hex(block.prev, CC_HASH_HEX_LEN), "header form");
        check(block.n_txs >= 1 && block.n_txs <= CC_HTTP_MAX_BLOCK_TXS, "transaction count");
        check_merkle(&block);
        check_payments(&block);
        check_header(&block);
        check_txs_alone(&block);
        for (size_t i = 0; i < block.n_txs; i++)
            check(cc_http_tx_verify(&block.txs[i]) == cc_http_tx_verify(&again.txs[i]),
                  "verify differs on the same text");
    }
    check_rules_table(data, size, true, &block);
    cc_block_clear(&again);
    cc_block_clear(&block);
    return 0;
}

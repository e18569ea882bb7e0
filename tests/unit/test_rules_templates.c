/* Unit tests for the mining templates of the rules table (consensus/rules.h):
 * on each network, a template built from payments and finished with a
 * nonce that meets the proof of work is a block the network's own decoder
 * takes, at the height and on the parent given, holding the payments in
 * order and then the reward (the network's block reward, to the miner).
 * A nonce the format cannot carry is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "consensus/rules.h"
#include "crypto/hash.h"
#include "wallet/keys.h"

/* The first decimal nonce whose pre-image meets the proof of work. */
static void find_nonce(const cc_rules *rules, const cc_block_template *tpl, char nonce[24])
{
    cc_buf preimage = CC_BUF_INIT;
    char hex[CC_SHA256_HEX_LEN + 1];
    for (unsigned long long n = 0;; n++) {
        snprintf(nonce, 24, "%llu", n);
        cc_buf_reset(&preimage);
        cc_buf_append(&preimage, tpl->prefix.data, tpl->prefix.len);
        cc_buf_puts(&preimage, nonce);
        cc_buf_append(&preimage, tpl->suffix.data, tpl->suffix.len);
        cc_sha256_hex(preimage.data, preimage.len, hex);
        if (strspn(hex, "0") >= rules->pow_zero_digits)
            break;
    }
    cc_buf_free(&preimage);
}

static void make_key(const cc_key_kind *kind, cc_wallet_key *key)
{
    cc_buf hex = CC_BUF_INIT;
    kind->file.generate(key, &hex);
    cc_buf_free(&hex);
}

static void mined_block_decodes(const cc_rules *rules)
{
    const cc_key_kind *kind = cc_key_kind_of(rules);
    cc_wallet_key miner, payer;
    make_key(kind, &miner);
    make_key(kind, &payer);
    cc_stamp stamp = {.iso = "2026-01-02T03:04:05.000006", .unix_s = {.d = 1767323045.5}};
    cc_tx payment = {0};
    cc_number one = {.is_int = true, .i = 1};
    cc_err err = {0};
    assert_true(kind->pay(&payer, kind->public_hex(&miner), &one, &stamp, &payment, &err));
    cc_template_input in = {.height = 1,
                            .prev = rules->genesis_hash,
                            .miner = kind->public_hex(&miner),
                            .stamp = &stamp,
                            .payments = &payment,
                            .n_payments = 1};
    cc_block_template tpl = {0};
    rules->template_build(&tpl, &in);
    assert_int_equal(tpl.height, 1);
    char nonce[24];
    find_nonce(rules, &tpl, nonce);
    cc_buf text = CC_BUF_INIT;
    assert_true(rules->template_finish(&tpl, nonce, &text));
    cc_block block = {0};
    assert_true(rules->block_decode(text.data, text.len, &block, &err));
    assert_int_equal(block.height, 1);
    assert_string_equal(block.prev, rules->genesis_hash);
    assert_int_equal(block.n_txs, 2);
    assert_string_equal(block.txs[0].txid, payment.txid);
    const cc_tx *reward = &block.txs[1];
    assert_true(reward->is_reward);
    assert_string_equal(reward->to, kind->public_hex(&miner));
    assert_true(reward->amount.is_int);
    assert_int_equal(reward->amount.i, rules->block_reward.i);
    cc_block_clear(&block);
    cc_buf_free(&text);
    cc_block_template_clear(&tpl);
    cc_tx_clear(&payment);
    kind->file.clear(&miner);
    kind->file.clear(&payer);
}

static void test_http_template_makes_a_valid_block(void **state)
{
    (void)state;
    mined_block_decodes(cc_rules_http());
}

static void test_cheese_template_makes_a_valid_block(void **state)
{
    (void)state;
    mined_block_decodes(cc_rules_cheese());
}

/* The cheese nonce is an integer the reference prints with str(): a text
 * that is none is refused, the text left as it was. */
static void test_cheese_nonce_must_be_an_integer(void **state)
{
    (void)state;
    const cc_rules *rules = cc_rules_cheese();
    const cc_key_kind *kind = cc_key_kind_of(rules);
    cc_wallet_key miner;
    make_key(kind, &miner);
    cc_stamp stamp = {.iso = "", .unix_s = {.d = 1.5}};
    cc_template_input in = {.height = 1, .prev = rules->genesis_hash,
                            .miner = kind->public_hex(&miner), .stamp = &stamp};
    cc_block_template tpl = {0};
    rules->template_build(&tpl, &in);
    cc_buf text = CC_BUF_INIT;
    cc_buf_puts(&text, "untouched");
    assert_false(rules->template_finish(&tpl, "12a", &text));
    assert_false(rules->template_finish(&tpl, "012", &text));
    assert_string_equal(text.data, "untouched");
    cc_buf_free(&text);
    cc_block_template_clear(&tpl);
    kind->file.clear(&miner);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_template_makes_a_valid_block),
        cmocka_unit_test(test_cheese_template_makes_a_valid_block),
        cmocka_unit_test(test_cheese_nonce_must_be_an_integer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

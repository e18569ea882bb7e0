#include "consensus/rules.h"

#include <stdlib.h>
#include <string.h>

#include "consensus/cheese.h"
#include "consensus/http.h"
#include "crypto/p192.h"
#include "crypto/rsa.h"
#include "util/hex.h"
#include "util/mem.h"

/* The payments and the reward as one list: the payments are shared, not
 * copied (only the reward, last, is the list's own). */
static cc_tx *with_reward(const cc_template_input *in)
{
    cc_tx *txs = cc_calloc(in->n_payments + 1, sizeof *txs);
    if (in->n_payments)
        memcpy(txs, in->payments, in->n_payments * sizeof *txs);
    return txs;
}

static void free_with_reward(cc_tx *txs, size_t n_payments)
{
    cc_tx_clear(&txs[n_payments]);
    free(txs);
}

/* Keys as payments print them: lowercase, and a point of the curve. */
static bool http_key_valid(const char *pub)
{
    return cc_is_lower_hex(pub, CC_P192_PUB_HEX_LEN) && cc_p192_pubkey_valid(pub);
}

static void http_template(cc_block_template *tpl, const cc_template_input *in)
{
    static const cc_number reward = {.is_int = true, .i = CC_HTTP_REWARD};
    cc_tx *txs = with_reward(in);
    cc_http_tx_reward(in->miner, &reward, in->stamp->iso, &txs[in->n_payments]);
    cc_http_template_build(tpl, in->height, in->prev, in->stamp->iso, in->miner, txs,
                           in->n_payments + 1);
    free_with_reward(txs, in->n_payments);
}

static void cheese_template(cc_block_template *tpl, const cc_template_input *in)
{
    cc_tx *txs = with_reward(in);
    cc_cheese_tx_reward(in->miner, &txs[in->n_payments]);
    cc_cheese_template_build(tpl, in->height, in->prev, &in->stamp->unix_s, txs,
                             in->n_payments + 1);
    free_with_reward(txs, in->n_payments);
}

static const cc_rules http_rules = {
    .network = "http",
    .default_port = 6000,
    .api_port_offset = 0,
    .wallet_file = "wallet.key",
    .has_tracker = false,
    .key_valid = http_key_valid,
    .key_form = "a P-192 public key of 96 lowercase hex characters",
    .genesis_hash = CC_HTTP_GENESIS_HASH,
    .genesis_text = CC_HTTP_GENESIS_TEXT,
    .max_block_txs = CC_HTTP_MAX_BLOCK_TXS,
    .block_reward = {.is_int = true, .i = CC_HTTP_REWARD},
    .pow_zero_digits = 4,
    .nonce_style = CC_NONCE_TEXT,
    .block_decode = cc_http_block_decode,
    .tx_decode = cc_http_tx_decode,
    .tx_verify = cc_http_tx_verify,
    .template_build = http_template,
    .template_finish = cc_http_template_finish,
};

static const cc_rules cheese_rules = {
    .network = "cheese",
    .default_port = 9009,
    .api_port_offset = 1000,
    .wallet_file = "wallet-rsa.key",
    .has_tracker = true,
    .key_valid = cc_rsa_pubkey_valid,
    .key_form = "the lowercase hex of a DER RSA public key (30819f30...)",
    .genesis_hash = CC_CHEESE_GENESIS_SMELL,
    .genesis_text = CC_CHEESE_GENESIS_TEXT,
    .max_block_txs = CC_CHEESE_MAX_BLOCK_TXS,
    .block_reward = {.is_int = true, .i = CC_CHEESE_REWARD},
    .pow_zero_digits = CC_CHEESE_POW_ZEROS,
    .nonce_style = CC_NONCE_DECIMAL,
    .block_decode = cc_cheese_block_decode,
    .tx_decode = cc_cheese_tx_decode,
    .tx_verify = cc_cheese_tx_verify,
    .template_build = cheese_template,
    .template_finish = cc_cheese_template_finish,
};

const cc_rules *cc_rules_http(void)
{
    return &http_rules;
}

const cc_rules *cc_rules_cheese(void)
{
    return &cheese_rules;
}

const cc_rules *cc_rules_find(const char *name)
{
    if (strcmp(name, "http") == 0)
        return cc_rules_http();
    if (strcmp(name, "cheese") == 0)
        return cc_rules_cheese();
    return NULL;
}

int cc_rules_api_port(const cc_rules *rules, int port)
{
    int api = port + rules->api_port_offset;
    return api <= 65535 ? api : 0;
}

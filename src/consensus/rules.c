#include "consensus/rules.h"

#include <string.h>

#include "consensus/cheese.h"
#include "consensus/http.h"
#include "crypto/p192.h"
#include "crypto/rsa.h"

static const cc_rules http_rules = {
    .network = "http",
    .default_port = 6000,
    .api_port_offset = 0,
    .wallet_file = "wallet.key",
    .key_valid = cc_p192_pubkey_valid,
    .genesis_hash = CC_HTTP_GENESIS_HASH,
    .genesis_text = CC_HTTP_GENESIS_TEXT,
    .max_block_txs = CC_HTTP_MAX_BLOCK_TXS,
    .block_reward = {.is_int = true, .i = 1},
    .pow_zero_digits = 4,
    .nonce_style = CC_NONCE_TEXT,
    .block_decode = cc_http_block_decode,
    .tx_decode = cc_http_tx_decode,
    .tx_verify = cc_http_tx_verify,
};

static const cc_rules cheese_rules = {
    .network = "cheese",
    .default_port = 9009,
    .api_port_offset = 1000,
    .wallet_file = "wallet-rsa.key",
    .key_valid = cc_rsa_pubkey_valid,
    .genesis_hash = CC_CHEESE_GENESIS_SMELL,
    .genesis_text = CC_CHEESE_GENESIS_TEXT,
    .max_block_txs = CC_CHEESE_MAX_BLOCK_TXS,
    .block_reward = {.is_int = true, .i = CC_CHEESE_REWARD},
    .pow_zero_digits = CC_CHEESE_POW_ZEROS,
    .nonce_style = CC_NONCE_DECIMAL,
    .block_decode = cc_cheese_block_decode,
    .tx_decode = cc_cheese_tx_decode,
    .tx_verify = cc_cheese_tx_verify,
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

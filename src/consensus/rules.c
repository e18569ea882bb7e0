#include "consensus/rules.h"

#include <string.h>

#include "consensus/http.h"

static const cc_rules http_rules = {
    .network = "http",
    .genesis_hash = CC_HTTP_GENESIS_HASH,
    .genesis_text = CC_HTTP_GENESIS_TEXT,
    .max_block_txs = CC_HTTP_MAX_BLOCK_TXS,
    .block_reward = {.is_int = true, .i = 1},
    .block_decode = cc_http_block_decode,
    .tx_decode = cc_http_tx_decode,
    .tx_verify = cc_http_tx_verify,
};

const cc_rules *cc_rules_http(void)
{
    return &http_rules;
}

const cc_rules *cc_rules_find(const char *name)
{
    if (strcmp(name, "http") == 0)
        return cc_rules_http();
    return NULL;
}

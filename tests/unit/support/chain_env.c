#include "chain_env.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/hex.h"

bool cc_test_db_make(cc_test_db *db, const char *dir_template)
{
    snprintf(db->dir, sizeof db->dir, "%s", dir_template);
    if (!mkdtemp(db->dir))
        return false;
    snprintf(db->path, sizeof db->path, "%s/chain.db", db->dir);
    return true;
}

void cc_test_db_remove(const cc_test_db *db)
{
    const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < 4; i++) {
        char file[160];
        snprintf(file, sizeof file, "%s%s", db->path, suffixes[i]);
        unlink(file);
    }
    rmdir(db->dir);
}

cc_chain *cc_test_chain_open(const cc_chain_config *cfg)
{
    cc_err err = {0};
    cc_chain *chain = cc_chain_open(cfg, &err);
    if (!chain)
        fail_msg("cannot open the chain: %s", err.msg);
    return chain;
}

void cc_test_p192_key(unsigned scalar, cc_p192_key *out)
{
    uint8_t priv[CC_P192_PRIV_LEN] = {0};
    priv[CC_P192_PRIV_LEN - 2] = (uint8_t)(scalar >> 8);
    priv[CC_P192_PRIV_LEN - 1] = (uint8_t)scalar;
    assert_true(cc_p192_from_private(priv, out, NULL));
}

void cc_test_http_mine(const cc_http_template *tpl, cc_buf *text,
                       char hash[CC_HASH_HEX_LEN + 1])
{
    cc_sha256_ctx base;
    cc_sha256_init(&base);
    cc_sha256_update(&base, tpl->prefix.data, tpl->prefix.len);
    for (unsigned long i = 0;; i++) {
        char nonce[24];
        snprintf(nonce, sizeof nonce, "%020lu", i);
        cc_sha256_ctx ctx = base;
        cc_sha256_update(&ctx, nonce, strlen(nonce));
        cc_sha256_update(&ctx, tpl->suffix.data, tpl->suffix.len);
        uint8_t digest[CC_SHA256_LEN];
        cc_sha256_final(&ctx, digest);
        if (!cc_http_pow_ok_raw(digest))
            continue;
        cc_hex_encode(digest, sizeof digest, hash);
        cc_http_template_finish(tpl, nonce, text);
        return;
    }
}

cc_block_result cc_test_submit_block(cc_chain *chain, const char *text, size_t len,
                                     cc_block_outcome expected)
{
    cc_block_result res;
    cc_err err = {0};
    if (!cc_chain_submit_block(chain, text, len, &res, &err))
        fail_msg("block refused: %s", err.msg);
    if (res.outcome != expected)
        fail_msg("block outcome %d, expected %d", res.outcome, expected);
    return res;
}

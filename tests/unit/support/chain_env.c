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

#include "consensus/rules.h"
#include "util/hex.h"
#include "wallet/payment.h"

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

void cc_test_http_mine(const cc_block_template *tpl, cc_buf *text,
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

void cc_test_assert_block_refused(cc_chain *chain, const char *text, size_t len, cc_refusal why,
                                  const char *part)
{
    cc_block_result res;
    cc_err err = {0};
    if (cc_chain_submit_block(chain, text, len, &res, &err))
        fail_msg("block accepted (outcome %d), expected \"%s\"", res.outcome, part);
    assert_int_equal(err.code, CC_ERR_BAD_REQUEST);
    if (cc_err_refusal(&err) != why)
        fail_msg("refused for reason %d (\"%s\"), expected %d", (int)cc_err_refusal(&err),
                 err.msg, (int)why);
    if (!strstr(err.msg, part))
        fail_msg("error \"%s\" does not mention \"%s\"", err.msg, part);
}

bool cc_test_chain_env_setup(cc_test_chain_env *env, const char *dir_template,
                             unsigned key_base, size_t n_keys, const char *day,
                             size_t max_mempool)
{
    assert_true(n_keys <= CC_TEST_CHAIN_MAX_KEYS);
    if (!cc_test_db_make(&env->db, dir_template))
        return false;
    env->cfg = (cc_chain_config){.db_path = env->db.path,
                                 .rules = cc_rules_http(),
                                 .max_orphans = 4,
                                 .max_mempool = max_mempool};
    for (size_t i = 0; i < n_keys; i++)
        cc_test_p192_key(key_base + (unsigned)i, &env->keys[i]);
    snprintf(env->day, sizeof env->day, "%s", day);
    env->chain = cc_test_chain_open(&env->cfg);
    return true;
}

void cc_test_chain_env_teardown(cc_test_chain_env *env)
{
    cc_chain_close(env->chain);
    env->chain = NULL;
    cc_test_db_remove(&env->db);
}

int cc_test_chain_env_new(void **state, const char *dir_template, unsigned key_base,
                          size_t n_keys, const char *day, size_t max_mempool)
{
    cc_test_chain_env *env = calloc(1, sizeof *env);
    if (!env || !cc_test_chain_env_setup(env, dir_template, key_base, n_keys, day, max_mempool)) {
        free(env);
        return -1;
    }
    *state = env;
    return 0;
}

int cc_test_chain_env_free(void **state)
{
    cc_test_chain_env_teardown(*state);
    free(*state);
    return 0;
}

cc_tx cc_test_chain_env_pay(cc_test_chain_env *env, int from, int to, double amount)
{
    char ts[32];
    cc_test_chain_env_next_ts(env, ts);
    cc_number sum = {.is_int = false, .d = amount};
    cc_tx tx;
    cc_err err = {0};
    if (!cc_http_tx_create(&env->keys[from], env->keys[to].pub_hex, &sum, ts, &tx, &err))
        fail_msg("cannot create a payment: %s", err.msg);
    return tx;
}

void cc_test_chain_env_reopen(cc_test_chain_env *env)
{
    cc_chain_close(env->chain);
    env->chain = cc_test_chain_open(&env->cfg);
}

void cc_test_chain_env_next_ts(cc_test_chain_env *env, char out[32])
{
    unsigned n = ++env->stamp;
    snprintf(out, 32, "%.10sT%02u:%02u:%02u.%06u", env->day, n / 3600 % 24, n / 60 % 60,
             n % 60, n);
}

cc_test_mined cc_test_chain_env_mine(cc_test_chain_env *env, int64_t height, const char *prev,
                                     const cc_tx *txs, size_t n, int reward_to, int miner)
{
    cc_tx *all = calloc(n + 1, sizeof *all);
    assert_non_null(all);
    if (n)
        memcpy(all, txs, n * sizeof *txs);
    char ts[32];
    cc_test_chain_env_next_ts(env, ts);
    cc_test_mined out = {.text = CC_BUF_INIT};
    size_t count = n;
    if (reward_to >= 0) {
        cc_number one = {.is_int = true, .i = 1};
        cc_http_tx_reward(env->keys[reward_to].pub_hex, &one, ts, &all[count]);
        memcpy(out.reward, all[count].txid, sizeof out.reward);
        count++;
    }
    cc_block_template tpl;
    cc_http_template_build(&tpl, height, prev, ts, env->keys[miner].pub_hex, all, count);
    if (reward_to >= 0)
        cc_tx_clear(&all[n]);
    free(all);
    cc_test_http_mine(&tpl, &out.text, out.hash);
    cc_block_template_clear(&tpl);
    return out;
}

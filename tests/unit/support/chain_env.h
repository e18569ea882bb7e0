/* Test support: what the chain tests share to set up a chain in a
 * temporary database, make keys, mine http-network blocks and submit them.
 * Failures end the running cmocka test (fail_msg / assertions). */
#ifndef CC_TEST_CHAIN_ENV_H
#define CC_TEST_CHAIN_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chain/chain.h"
#include "consensus/block.h"
#include "consensus/http.h"
#include "crypto/hash.h"
#include "crypto/p192.h"
#include "util/buf.h"

/* A temporary directory holding one database file, dir/chain.db. */
typedef struct cc_test_db {
    char dir[64];
    char path[128];
} cc_test_db;

/* Makes the directory from a mkdtemp template ("/tmp/name-XXXXXX");
 * false if it cannot. */
bool cc_test_db_make(cc_test_db *db, const char *dir_template);

/* Removes the database, its -wal, -shm and -journal, and the directory. */
void cc_test_db_remove(const cc_test_db *db);

/* Opens the chain of cfg, failing the test if it cannot. */
cc_chain *cc_test_chain_open(const cc_chain_config *cfg);

/* The P-192 key whose private scalar is the given (small) number. */
void cc_test_p192_key(unsigned scalar, cc_p192_key *out);

/* Searches the nonces "%020lu" from 0 until tpl's block meets the proof of
 * work; writes the finished block to text and its hash (hex) to hash. */
void cc_test_http_mine(const cc_block_template *tpl, cc_buf *text,
                       char hash[CC_HASH_HEX_LEN + 1]);

/* Submits a block that must be read and reach the expected outcome. */
cc_block_result cc_test_submit_block(cc_chain *chain, const char *text, size_t len,
                                     cc_block_outcome expected);

/* Submits a block that must be refused as a bad request for the reason
 * why, with a message that mentions part. */
void cc_test_assert_block_refused(cc_chain *chain, const char *text, size_t len, cc_refusal why,
                                  const char *part);

/* What the chain tests set up for each test: a chain on the http rules
 * in a temporary database, and up to CC_TEST_CHAIN_MAX_KEYS keys. The
 * struct is the caller's; setup fills it, teardown releases what it holds.
 * stamp counts the timestamps handed out, so each one is new. */
enum { CC_TEST_CHAIN_MAX_KEYS = 5 };

typedef struct cc_test_chain_env {
    cc_test_db db;
    cc_chain *chain;
    cc_chain_config cfg;
    cc_p192_key keys[CC_TEST_CHAIN_MAX_KEYS];
    unsigned stamp;
    char day[16]; /* "YYYY-MM-DD" of the timestamps */
} cc_test_chain_env;

/* Makes the database from dir_template (see cc_test_db_make), keys i from
 * scalar key_base + i for i < n_keys, and opens the chain with 4 orphans
 * and max_mempool transactions waiting. False if the directory cannot be
 * made; a chain that does not open fails the test. */
bool cc_test_chain_env_setup(cc_test_chain_env *env, const char *dir_template,
                             unsigned key_base, size_t n_keys, const char *day,
                             size_t max_mempool);

/* Closes the chain and removes the database. */
void cc_test_chain_env_teardown(cc_test_chain_env *env);

/* cmocka group-less setup and teardown in one call each: a new env in
 * *state (as cc_test_chain_env_setup), -1 when it cannot be made; and its
 * release. */
int cc_test_chain_env_new(void **state, const char *dir_template, unsigned key_base,
                          size_t n_keys, const char *day, size_t max_mempool);
int cc_test_chain_env_free(void **state);

/* A payment of amount (a float) from key from to key to, stamped with the
 * next timestamp; the caller clears it. */
cc_tx cc_test_chain_env_pay(cc_test_chain_env *env, int from, int to, double amount);

/* Closes the chain and opens it again on the same database. */
void cc_test_chain_env_reopen(cc_test_chain_env *env);

/* The next timestamp of env's day, later than every one before. */
void cc_test_chain_env_next_ts(cc_test_chain_env *env, char out[32]);

/* A mined block: its text (the caller frees it), its hash and the txid of
 * its reward ("" when it has none). */
typedef struct cc_test_mined {
    cc_buf text;
    char hash[CC_HASH_HEX_LEN + 1];
    char reward[CC_HASH_HEX_LEN + 1];
} cc_test_mined;

/* Mines a block at height on prev, created by key miner, holding txs then
 * (unless reward_to < 0) a reward of 1 to key reward_to; the block and the
 * reward take one new timestamp. txs stay the caller's. */
cc_test_mined cc_test_chain_env_mine(cc_test_chain_env *env, int64_t height, const char *prev,
                                     const cc_tx *txs, size_t n, int reward_to, int miner);

#endif

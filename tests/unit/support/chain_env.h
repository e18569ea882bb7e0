/* Test support: what the chain tests share to set up a chain in a
 * temporary database, make keys, mine http-network blocks and submit them.
 * Failures end the running cmocka test (fail_msg / assertions). */
#ifndef CC_TEST_CHAIN_ENV_H
#define CC_TEST_CHAIN_ENV_H

#include <stddef.h>

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
void cc_test_http_mine(const cc_http_template *tpl, cc_buf *text,
                       char hash[CC_HASH_HEX_LEN + 1]);

/* Submits a block that must be read and reach the expected outcome. */
cc_block_result cc_test_submit_block(cc_chain *chain, const char *text, size_t len,
                                     cc_block_outcome expected);

#endif

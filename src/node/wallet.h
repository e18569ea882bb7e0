/* The node's own P-192 key pair, kept in DATADIR/wallet.key as the hex of
 * the private scalar (file mode 0600), created on first start and reloaded
 * after. Errors: cc_err (CC_ERR_INTERNAL for file problems, with the path).
 * Thread: plain data after loading. */
#ifndef CC_NODE_WALLET_H
#define CC_NODE_WALLET_H

#include <stdbool.h>

#include "crypto/p192.h"
#include "util/err.h"
#include "util/log.h"

/* Loads the key at path, or creates and saves a new one when the file does
 * not exist. *created tells which happened. */
bool cc_wallet_load_or_create(const char *path, cc_p192_key *key, bool *created,
                              const cc_log *log, cc_err *err);

#endif

/* A node's wallet file copied out and put back (cheese-cli wallet backup
 * and restore, key export and import) so that no step can lose a key:
 *
 *  - a backup is written to a temporary file (mode 0600) beside its
 *    target, fsynced, read back through the node's own reader
 *    (wallet/key_file.h) and only then given its name, which it never
 *    takes from an existing file (renameat2 RENAME_NOREPLACE, or link(2)
 *    where the file system has no such rename);
 *  - a restore reads and checks the new key first, holds the data
 *    directory's lock (util/dirlock.h) while it works, so it refuses while
 *    a node runs there and no node starts meanwhile, keeps the wallet it
 *    replaces as WALLET.replaced-<UTC time> (never deleted, never written
 *    over), and puts the new file in place with one rename: at every
 *    moment the wallet file holds the old key or the new one;
 *  - a backup and an export only read the wallet, so they work while the
 *    node runs (a node writes its wallet only when it makes a new one, and
 *    then atomically).
 *
 * The wallet of a data directory is the file of the network asked for, or
 * else the one network's file that is there (wallet.key: http,
 * wallet-rsa.key: cheese); a directory with both needs the network named.
 * A restore into a directory without a wallet takes the network of the
 * key itself when none is named.
 *
 * Errors: cc_err, naming the paths: CC_ERR_NOT_FOUND no wallet file (or
 * no source file); CC_ERR_BAD_REQUEST a network that is not one, or two
 * wallets and no network named; CC_ERR_FORBIDDEN a backup's target
 * exists; CC_ERR_UNAVAILABLE another process holds the data directory;
 * CC_ERR_TOO_LARGE a source too large to be a key file; CC_ERR_INTERNAL
 * anything else (a text that is no key, I/O).
 * Ownership: an outcome's strings are the caller's (cc_wallet_outcome_free);
 * on failure the outcome holds nothing. Key material is wiped from every
 * buffer of ours once used; exported text is the caller's to wipe.
 * Thread: plain blocking calls using only their arguments; two restores of
 * one directory exclude each other through its lock. */
#ifndef CC_WALLET_BACKUP_H
#define CC_WALLET_BACKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "util/buf.h"
#include "util/err.h"
#include "wallet/keys.h"

typedef struct cc_wallet_outcome {
    const cc_key_kind *kind; /* the wallet's network */
    char *wallet;            /* the wallet file (absolute when it can be resolved) */
    char *pub;               /* the public key of what it holds now */
    /* backup: the file written; restore: where the wallet it replaced
     * went, NULL when none was replaced */
    char *copy;
    bool changed; /* restore: false when the wallet held that key already */
} cc_wallet_outcome;

void cc_wallet_outcome_free(cc_wallet_outcome *out);

/* The networks whose wallet file is in datadir (whatever it holds), in
 * the order of cc_key_kinds; at most max of them are stored in found.
 * Returns how many there are. */
size_t cc_wallet_present(const char *datadir, const cc_key_kind **found, size_t max);

/* Copies the wallet of datadir (of network, NULL: whichever is there) to
 * dest, byte for byte, after checking that it holds a key of its network
 * and that the copy reads back as that key. dest must not exist. */
bool cc_wallet_backup(const char *datadir, const char *network, const char *dest,
                      cc_wallet_outcome *out, cc_err *err);

/* Appends the private key of the wallet of datadir to text as its file
 * holds it (the network's hex, lowercase, then "\n"): what
 * cc_wallet_restore reads back. */
bool cc_wallet_export(const char *datadir, const char *network, cc_buf *text,
                      cc_wallet_outcome *out, cc_err *err);

/* Makes the key in source (a key file's text; "-" reads stdin) the wallet
 * of datadir (created when missing), refusing while another process holds
 * the directory. The key must be of network (NULL: of the network of the
 * wallet there, or, when there is none, of its own). now names the kept
 * copy of the wallet replaced. When the wallet holds that key already,
 * nothing is written (out->changed false). */
bool cc_wallet_restore(const char *datadir, const char *network, const char *source, time_t now,
                       cc_wallet_outcome *out, cc_err *err);

#endif

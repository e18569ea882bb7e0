/* The commands of cheese-cli: each one turned into calls of a running
 * node's JSON API (docs/api.md) over net/http_call.h, its answer printed
 * readably (node/cli_format.h) or, with json, exactly as the node sent it.
 * The wallet commands (wallet backup|restore, key export|import) ask no
 * node: they work on the wallet file of --datadir (wallet/backup.h).
 * tools/cheese_cli.c only reads the flags and prints what comes back.
 *
 * Exit statuses (docs/cli.md):
 *   0  done;
 *   1  the node answered with an error (its errmsg is the message), or a
 *      local step failed (export could not write its file, a wallet
 *      command refused or failed: nothing was changed);
 *   2  usage: unknown command, wrong arguments, unreadable token file, a
 *      wallet command without --datadir (or without --network where the
 *      directory holds a wallet of each network);
 *   3  the node cannot be reached, or what answered is not a node.
 *
 * Thread: any one thread. Blocking: each call waits up to timeout_s. */
#ifndef CC_CLIENT_CLI_H
#define CC_CLIENT_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

enum {
    CC_CLI_OK = 0,
    CC_CLI_FAILED = 1,
    CC_CLI_USAGE = 2,
    CC_CLI_UNREACHABLE = 3,
};

typedef struct cc_cli_config {
    const char *host;       /* the node: "127.0.0.1" */
    int port;               /* its HTTP (http) or API (cheese) port */
    bool json;              /* print the node's answers as they are */
    const char *token_file; /* NULL: DATADIR/api.token when datadir is given, else none */
    const char *datadir;    /* the node's data directory when known, else NULL */
    double timeout_s;       /* each request; also how long mine --wait waits */
    bool wait;              /* mine: wait for the block and show its hash */
    const char *network;    /* wallet commands: "http", "cheese"; NULL: from the datadir */
} cc_cli_config;

typedef struct cc_cli_command {
    const char *name;    /* one word, or two for a group ("wallet backup") */
    const char *args;    /* "TO AMOUNT", "" */
    const char *summary; /* one line */
    int min_args, max_args;
    bool local;          /* works on local files only: no node, no token */
} cc_cli_command;

/* The commands, in the order --help lists them. */
const cc_cli_command *cc_cli_commands(size_t *count);
/* The command called name, or NULL. */
const cc_cli_command *cc_cli_command_find(const char *name);
/* The command that words (argc of them) start with: a two-word name
 * ("key import") or a one-word one; *used says how many words it took.
 * NULL when none. */
const cc_cli_command *cc_cli_command_match(int argc, char *const *words, int *used);

/* Runs cmd with its arguments; appends what it prints to out (stdout),
 * warnings meant for stderr even on success to notes (whole lines), and,
 * on failure, puts the message in err (for stderr). Returns the exit
 * status. Arguments are checked here; a count outside the command's range
 * is the caller's to refuse (CC_CLI_USAGE). out may receive a private key
 * (key export): the caller wipes it. */
int cc_cli_run(const cc_cli_config *cfg, const cc_cli_command *cmd, int argc,
               char *const *argv, cc_buf *out, cc_buf *notes, cc_err *err);

#endif

/* The commands of cheese-cli: each one turned into calls of a running
 * node's JSON API (docs/api.md) over net/http_call.h, its answer printed
 * readably (node/cli_format.h) or, with json, exactly as the node sent it.
 * tools/cheese_cli.c only reads the flags and prints what comes back.
 *
 * Exit statuses (docs/cli.md):
 *   0  done;
 *   1  the node answered with an error (its errmsg is the message), or a
 *      local step failed (export could not write its file);
 *   2  usage: unknown command, wrong arguments, unreadable token file;
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
} cc_cli_config;

typedef struct cc_cli_command {
    const char *name;
    const char *args;    /* "TO AMOUNT", "" */
    const char *summary; /* one line */
    int min_args, max_args;
} cc_cli_command;

/* The commands, in the order --help lists them. */
const cc_cli_command *cc_cli_commands(size_t *count);
/* The command called name, or NULL. */
const cc_cli_command *cc_cli_command_find(const char *name);

/* Runs cmd with its arguments; appends what it prints to out (stdout)
 * and, on failure, puts the message in err (for stderr). Returns the exit
 * status. Arguments are checked here; a count outside the command's range
 * is the caller's to refuse (CC_CLI_USAGE). */
int cc_cli_run(const cc_cli_config *cfg, const cc_cli_command *cmd, int argc,
               char *const *argv, cc_buf *out, cc_err *err);

#endif

/* What cheese-cli prints by default: each answer of the node's JSON API
 * (docs/api.md) as aligned "label: value" lines, lists indented below
 * them. --json prints the node's answer itself instead, so nothing here
 * has to be parseable.
 *
 * Amounts are shown as the node wrote them (Python's float repr, through
 * codec/pynum.h, since jansson re-prints doubles differently), followed by
 * the exact rational when that differs from the double. Hashes are shown
 * whole where they are the subject or something to copy into the next
 * command (a block's hash, a txid, the tip); keys and signatures longer
 * than a line allows, and every key in a list, are shortened to their
 * ends ("3f2a9b01c4d5e6f7...c0ffee").
 *
 * Pure: no I/O. Errors: CC_ERR_BAD_REQUEST when the body is not the JSON
 * object the call answers. Thread-safe. */
#ifndef CC_NODE_CLI_FORMAT_H
#define CC_NODE_CLI_FORMAT_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

/* Longest text cc_cli_short writes, including the NUL. */
#define CC_CLI_SHORT_MAX 32

/* Texts longer than `keep` characters become their first keep-8
 * characters, "...", and their last 6; shorter ones are copied. keep is
 * at most CC_CLI_SHORT_MAX - 1 (and at least 12). */
void cc_cli_short(const char *text, size_t keep, char out[CC_CLI_SHORT_MAX]);

/* How cc_cli_terminal_safe treats text from a node, which may be hostile:
 * nothing it sends may reach the terminal as a control sequence. */
typedef enum cc_cli_text {
    CC_CLI_VALUE,  /* one value on one line: every control character escaped */
    CC_CLI_OUTPUT, /* whole readable output: newlines and tabs kept */
    CC_CLI_JSON,   /* the node's JSON as it is: newlines and tabs kept, other
                      control characters as JSON's \u00XX, so a string stays
                      valid JSON */
} cc_cli_text;

/* Appends in[0..len) to out with every C0 and C1 control character and DEL
 * (and, in UTF-8 text, every byte that is not part of a valid sequence)
 * written as a visible escape (\x1b, or \u001b for CC_CLI_JSON).
 * Printable ASCII and valid UTF-8 pass unchanged. */
void cc_cli_terminal_safe(const char *in, size_t len, cc_cli_text how, cc_buf *out);

/* Appends the readable form of `command`'s answer (info, balance, send,
 * block, tx, mempool, peers, mine, export, keys, and what wallet backup,
 * wallet restore and key import did; anything else as plain label: value
 * lines) to out, ending with a newline. */
bool cc_cli_format(const char *command, const char *body, size_t len, cc_buf *out, cc_err *err);

#endif

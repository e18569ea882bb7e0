/* cheese-cli: talks to a running node through its JSON API, and backs up
 * and restores a node's wallet file. Flags only; the commands are
 * client/cli.c. Exit status: 0 done, 1 the node reported an error (or a
 * local step failed: export, a wallet command), 2 usage, 3 the node cannot
 * be reached (docs/cli.md). */
#include <errno.h>
#include <float.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/http_call.h"
#include "client/cli.h"
#include "client/cli_format.h"
#include "consensus/rules.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/parse.h"
#include "util/version.h"

static const char usage_head[] =
    "usage: cheese-cli [--node HOST:PORT] [--json] [--token-file F] COMMAND [ARGS]\n"
    "       cheese-cli --datadir DIR [--network http|cheese] wallet|key COMMAND [ARGS]\n"
    "\n"
    "Talks to a running cheesechain node through its JSON API (/api/...); the\n"
    "wallet and key commands work on the wallet file of DIR and ask no node.\n"
    "\n"
    "  --node HOST:PORT   the node: its port (http network), API port (cheese)\n"
    "                     (127.0.0.1:6000; a bare PORT means 127.0.0.1:PORT)\n"
    "  --json             print the node's answers as JSON, exactly as it sent them\n"
    "  --token-file F     send the token in F as \"Authorization: Bearer\" (send and\n"
    "                     mine need it unless the node is on this machine)\n"
    "  --datadir DIR      the node's data directory: the token is read from\n"
    "                     DIR/api.token, keys shows the wallet file there, and\n"
    "                     the wallet and key commands work on it\n"
    "  --network http|cheese  wallet and key commands: http (DIR/wallet.key) or\n"
    "                     cheese (DIR/wallet-rsa.key); needed only when DIR holds both\n"
    "  --timeout S        0-86400 (more than 0): wait at most S seconds for each\n"
    "                     answer (30)\n"
    "  --wait             mine: wait until the block is there and show its hash\n"
    "  --help             show this text\n"
    "  --version          show the version\n"
    "\n"
    "commands:\n";

static const char usage_tail[] =
    "\n"
    "exit status: 0 done, 1 the node reported an error (or a local step failed,\n"
    "changing nothing), 2 usage, 3 the node cannot be reached\n";

static void print_usage(FILE *to)
{
    fputs(usage_head, to);
    size_t n;
    const cc_cli_command *cmds = cc_cli_commands(&n);
    for (size_t i = 0; i < n; i++) {
        char left[40];
        snprintf(left, sizeof left, "%s %s", cmds[i].name, cmds[i].args);
        fprintf(to, "  %-20s %s\n", left, cmds[i].summary);
    }
    fputs(usage_tail, to);
}

static void command_usage(const cc_cli_command *cmd)
{
    fprintf(stderr, "usage: cheese-cli [options] %s%s%s\n", cmd->name, cmd->args[0] ? " " : "",
            cmd->args);
}

static const struct option long_options[] = {
    {"node", required_argument, 0, 'n'},   {"json", no_argument, 0, 'j'},
    {"token-file", required_argument, 0, 't'}, {"datadir", required_argument, 0, 'd'},
    {"timeout", required_argument, 0, 'T'}, {"wait", no_argument, 0, 'w'},
    {"help", no_argument, 0, 'h'},         {"version", no_argument, 0, 'V'},
    {"network", required_argument, 0, 'N'},
    {0, 0, 0, 0},
};

/* "-1", "-0.5": a number, which only a command's argument can be. */
static bool is_negative_number(const char *arg)
{
    return arg[0] == '-' && ((arg[1] >= '0' && arg[1] <= '9') || arg[1] == '.');
}

/* The long option arg names (unambiguous abbreviations included, as
 * getopt_long takes them), or NULL. */
static const struct option *long_option_of(const char *arg)
{
    if (strncmp(arg, "--", 2) != 0 || strchr(arg, '='))
        return NULL;
    const struct option *found = NULL;
    size_t len = strlen(arg + 2);
    for (const struct option *o = long_options; o->name; o++) {
        if (strncmp(o->name, arg + 2, len) != 0)
            continue;
        if (strlen(o->name) == len)
            return o;
        if (found)
            return NULL;
        found = o;
    }
    return found;
}

/* getopt takes "-1" for an option, so "send KEY -1" would be an unknown
 * option and 30 lines of help. The arguments go, in their order, after a
 * "--" of our own and the options before it, so that a negative amount
 * reaches the command, which says what is wrong with it. Returns the new
 * argv (argc + 2 pointers; the caller frees it) and sets *count. */
static char **arguments_last(int argc, char **argv, int *count)
{
    char **out = cc_calloc((size_t)argc + 2, sizeof *out);
    char **args = cc_calloc((size_t)argc + 1, sizeof *args);
    int n = 0, m = 0;
    out[n++] = argv[0];
    bool options_over = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (options_over || arg[0] != '-' || arg[1] == '\0' || is_negative_number(arg)) {
            args[m++] = argv[i];
        } else if (!strcmp(arg, "--")) {
            options_over = true;
        } else {
            out[n++] = argv[i];
            const struct option *o = long_option_of(arg);
            if (o && o->has_arg == required_argument && i + 1 < argc)
                out[n++] = argv[++i];
        }
    }
    out[n++] = "--";
    for (int j = 0; j < m; j++)
        out[n++] = args[j];
    free(args);
    *count = n;
    return out;
}

static int run(int argc, char **argv);

/* No command starts with words: a group's name ("wallet") without a
 * command of its own is answered with the group's commands. */
static int unknown_command(int argc, char **words)
{
    size_t n, len = strlen(words[0]);
    const cc_cli_command *cmds = cc_cli_commands(&n);
    bool group = false;
    for (size_t i = 0; i < n && !group; i++)
        group = strncmp(cmds[i].name, words[0], len) == 0 && cmds[i].name[len] == ' ';
    if (!group) {
        fprintf(stderr, "cheese-cli: unknown command '%s'\n", words[0]);
        print_usage(stderr);
        return CC_CLI_USAGE;
    }
    if (argc > 1)
        fprintf(stderr, "cheese-cli: unknown command '%s %s'\n", words[0], words[1]);
    else
        fprintf(stderr, "cheese-cli: %s: which one?\n", words[0]);
    for (size_t i = 0; i < n; i++)
        if (strncmp(cmds[i].name, words[0], len) == 0 && cmds[i].name[len] == ' ')
            command_usage(&cmds[i]);
    return CC_CLI_USAGE;
}

int main(int argc, char **argv)
{
    int count;
    char **ordered = arguments_last(argc, argv, &count);
    int status = run(count, ordered);
    free(ordered);
    return status;
}

static int run(int argc, char **argv)
{
    char host[256] = "127.0.0.1";
    cc_cli_config cfg = {.host = host, .port = 6000, .timeout_s = 30};
    int opt;
    /* Options may come before or after the command (getopt permutes);
     * "--" ends them. getopt's own messages would name the program by its
     * whole path: ours say cheese-cli. */
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        switch (opt) {
        case 'n':
            if (!cc_parse_host_port(optarg, host, sizeof host, &cfg.port)) {
                fprintf(stderr, "cheese-cli: --node wants HOST:PORT, not '%s'\n", optarg);
                return CC_CLI_USAGE;
            }
            break;
        case 'j':
            cfg.json = true;
            break;
        case 't':
            cfg.token_file = optarg;
            break;
        case 'd':
            cfg.datadir = optarg;
            break;
        case 'T':
            /* above 0: DBL_MIN also turns away the underflows (ERANGE) */
            if (!cc_parse_double(optarg, DBL_MIN, 86400, &cfg.timeout_s)) {
                fprintf(stderr, "cheese-cli: --timeout wants seconds, not '%s'\n", optarg);
                return CC_CLI_USAGE;
            }
            break;
        case 'w':
            cfg.wait = true;
            break;
        case 'N':
            if (!cc_rules_find(optarg)) {
                fprintf(stderr, "cheese-cli: --network wants http or cheese, not '%s'\n",
                        optarg);
                return CC_CLI_USAGE;
            }
            cfg.network = optarg;
            break;
        case 'h':
            print_usage(stdout);
            return 0;
        case 'V':
            printf("cheese-cli %s\n", CC_VERSION);
            return 0;
        default:
            fprintf(stderr, "cheese-cli: unknown option, or one missing its value: %s\n",
                    argv[optind - 1]);
            print_usage(stderr);
            return CC_CLI_USAGE;
        }
    }
    if (optind >= argc) {
        fputs("cheese-cli: no command given\n", stderr);
        print_usage(stderr);
        return CC_CLI_USAGE;
    }
    int words = 0;
    const cc_cli_command *cmd = cc_cli_command_match(argc - optind, argv + optind, &words);
    if (!cmd)
        return unknown_command(argc - optind, argv + optind);
    int nargs = argc - optind - words;
    if (nargs < cmd->min_args || nargs > cmd->max_args) {
        fprintf(stderr, "cheese-cli: %s: %s\n", cmd->name,
                nargs < cmd->min_args ? "missing arguments" : "too many arguments");
        command_usage(cmd);
        return CC_CLI_USAGE;
    }
    cc_buf out = CC_BUF_INIT, notes = CC_BUF_INIT;
    cc_err err = {0};
    int status = cc_cli_run(&cfg, cmd, nargs, argv + optind + words, &out, &notes, &err);
    if (notes.len) {
        cc_buf safe_notes = CC_BUF_INIT;
        cc_cli_terminal_safe(notes.data, notes.len, CC_CLI_OUTPUT, &safe_notes);
        fwrite(safe_notes.data, 1, safe_notes.len, stderr);
        cc_buf_free(&safe_notes);
    }
    cc_buf_free(&notes);
    /* Everything printed may come from the node: escaped for the terminal. */
    cc_buf safe = CC_BUF_INIT;
    cc_cli_terminal_safe(out.data, out.len, cfg.json ? CC_CLI_JSON : CC_CLI_OUTPUT, &safe);
    if (safe.len)
        fwrite(safe.data, 1, safe.len, stdout);
    /* key export put a private key in both */
    cc_buf_wipe(&safe);
    cc_buf_wipe(&out);
    if (fflush(stdout) != 0 && status == CC_CLI_OK) {
        fprintf(stderr, "cheese-cli: cannot write the output: %s\n", strerror(errno));
        status = CC_CLI_FAILED;
    }
    if (status != CC_CLI_OK) {
        cc_buf msg = CC_BUF_INIT;
        cc_cli_terminal_safe(err.msg, strlen(err.msg), CC_CLI_VALUE, &msg);
        fprintf(stderr, "cheese-cli: %s\n", msg.len ? cc_buf_str(&msg) : "failed");
        cc_buf_free(&msg);
        if (status == CC_CLI_USAGE)
            command_usage(cmd);
    }
    return status;
}

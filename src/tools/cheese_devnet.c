/* cheese-devnet: a loopback network of cheesechain nodes in one command.
 * Flags only; the work is node/devnet.c. Exit status: 0 after a clean
 * stop (SIGINT/SIGTERM), 1 when the network could not start or a process
 * did not stop cleanly, 2 for usage errors. */
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devnet/devnet.h"
#include "util/parse.h"
#include "util/version.h"

static const char usage[] =
    "usage: cheese-devnet [--network http|cheese] [--nodes N] [--base-port P] [--dir DIR]\n"
    "                     [-- CHEESED-OPTIONS...]\n"
    "\n"
    "Starts a network of cheesed nodes on 127.0.0.1 (for the cheese network, a\n"
    "cheese-tracker first), wired to each other and to nothing else, prints each\n"
    "node's addresses (its explorer's among them) as soon as it answers, and\n"
    "stops them all on Ctrl-C (SIGINT) or SIGTERM. cheesed and cheese-tracker are\n"
    "taken from the folder cheese-devnet is in.\n"
    "\n"
    "  --network NAME     http or cheese (http)\n"
    "  --nodes N          1-64: how many nodes (3)\n"
    "  --base-port P      1-65535: http: nodes on P, P+1, ... (6000); cheese: the\n"
    "                     tracker on P, nodes on P+1, P+2, ... (9000); each node's\n"
    "                     explorer (cheese: and JSON API) on its port + 1000\n"
    "  --dir DIR          the folder for every node's data and log\n"
    "                     (./data/devnet-<network>)\n"
    "  --ready-timeout S  1-3600: every node must answer within S seconds (60)\n"
    "  --help             show this text\n"
    "  --version          show the version\n"
    "\n"
    "Arguments after \"--\" go to every cheesed (e.g. -- --n-transactions 1).\n";

/* The folder holding this program (and so cheesed and cheese-tracker). */
static bool own_dir(const char *argv0, char *out, size_t size)
{
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n > 0) {
        path[n] = '\0';
    } else if (strchr(argv0, '/') && realpath(argv0, path)) {
        /* path holds it */
    } else {
        return false;
    }
    snprintf(out, size, "%s", dirname(path));
    return true;
}

static const struct option long_options[] = {
    {"network", required_argument, 0, 'n'},   {"nodes", required_argument, 0, 'N'},
    {"base-port", required_argument, 0, 'p'}, {"dir", required_argument, 0, 'd'},
    {"ready-timeout", required_argument, 0, 'r'}, {"help", no_argument, 0, 'h'},
    {"version", no_argument, 0, 'V'},
    {0, 0, 0, 0},
};

int main(int argc, char **argv)
{
    cc_devnet_config cfg = {.network = "http", .nodes = 3, .ready_timeout_s = 60,
                            .stop_timeout_s = 30, .out = stdout};
    int base_port = 0, ready = 0;
    const char *dir = NULL;
    /* "--" and what follows are cheesed's: getopt sees only what comes before */
    int own_argc = 1;
    while (own_argc < argc && strcmp(argv[own_argc], "--") != 0)
        own_argc++;
    cfg.node_args = own_argc + 1 < argc ? argv + own_argc + 1 : NULL;
    argv[own_argc < argc ? own_argc : argc] = NULL;
    int opt;
    while ((opt = getopt_long(own_argc, argv, "h", long_options, NULL)) != -1) {
        bool ok = true;
        switch (opt) {
        case 'n':
            cfg.network = optarg;
            break;
        case 'N':
            ok = cc_parse_int(optarg, 1, CC_DEVNET_MAX_NODES, &cfg.nodes);
            break;
        case 'p':
            ok = cc_parse_int(optarg, 1, 65535, &base_port);
            break;
        case 'd':
            dir = optarg;
            break;
        case 'r':
            ok = cc_parse_int(optarg, 1, 3600, &ready);
            cfg.ready_timeout_s = ready;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        case 'V':
            printf("cheese-devnet %s\n", CC_VERSION);
            return 0;
        default:
            ok = false;
        }
        if (!ok) {
            if (opt != '?')
                fprintf(stderr, "cheese-devnet: bad value for --%s: %s\n",
                        opt == 'N' ? "nodes" : opt == 'p' ? "base-port" : "ready-timeout",
                        optarg);
            fputs(usage, stderr);
            return 2;
        }
    }
    if (optind < own_argc) {
        fprintf(stderr, "cheese-devnet: unexpected argument: %s (node options go after --)\n%s",
                argv[optind], usage);
        return 2;
    }
    bool cheese = strcmp(cfg.network, "cheese") == 0;
    cfg.base_port = base_port ? base_port : cheese ? 9000 : 6000;
    char default_dir[64], bin_dir[PATH_MAX];
    snprintf(default_dir, sizeof default_dir, "./data/devnet-%.20s", cfg.network);
    cfg.dir = dir ? dir : default_dir;
    cc_err err = {0};
    if (!cc_devnet_check(&cfg, &err)) {
        fprintf(stderr, "cheese-devnet: %s\n%s", err.msg, usage);
        return 2;
    }
    if (!own_dir(argv[0], bin_dir, sizeof bin_dir)) {
        fprintf(stderr, "cheese-devnet: cannot tell which folder it runs from\n");
        return 1;
    }
    cfg.bin_dir = bin_dir;
    int status = cc_devnet_run(&cfg, &err);
    if (status != 0)
        fprintf(stderr, "cheese-devnet: %s\n", err.msg[0] ? err.msg : "failed");
    return status;
}

/* A network of cheesechain nodes on loopback, for trying things out and
 * for tests: cheese-devnet's engine (tools/cheese_devnet.c reads flags).
 *
 * http network: N cheesed processes on ports base..base+N-1. cheese
 * network: a cheese-tracker on port base first, then N cheesed on
 * base+1..base+N with --tracker pointing at it and their JSON APIs on their
 * port + 1000. A devnet is made of its own processes only: every node gets
 * --connect for each of the others (--connect none when it is alone) and
 * the tracker --allow for every node, so that no node of another run on
 * the machine joins it. Everything lives under one folder:
 *
 *     DIR/http-6000/           a node's --datadir, with node.log (its stderr)
 *     DIR/tracker/tracker.log  (cheese)
 *
 * Each node's address is printed as soon as it answers its JSON API; a
 * last line says the network is ready. SIGINT or SIGTERM stops it: every
 * node gets SIGTERM (then the tracker), is waited for (SIGKILL after
 * stop_timeout_s), and the run ends.
 *
 * Children run in their own process group, so a Ctrl-C in the terminal
 * reaches only cheese-devnet, which then stops them in order; and each asks
 * the kernel for SIGTERM should cheese-devnet die without stopping them
 * (PR_SET_PDEATHSIG), so no node outlives it.
 *
 * Thread: the main thread of a single-threaded process; it blocks SIGINT,
 * SIGTERM and SIGCHLD and waits for them with sigtimedwait. */
#ifndef CC_DEVNET_DEVNET_H
#define CC_DEVNET_DEVNET_H

#include <stdbool.h>
#include <stdio.h>

#include "util/err.h"

typedef struct cc_devnet_config {
    const char *network;            /* "http" or "cheese" */
    int nodes;                      /* 1..CC_DEVNET_MAX_NODES */
    int base_port;                  /* see above */
    const char *dir;                /* the one folder */
    const char *bin_dir;            /* holds cheesed and cheese-tracker */
    char *const *node_args;         /* more arguments for every cheesed; NULL-terminated or NULL */
    double ready_timeout_s;         /* every node must answer within this */
    double stop_timeout_s;          /* then SIGKILL */
    FILE *out;                      /* addresses and progress (stdout) */
} cc_devnet_config;

#define CC_DEVNET_MAX_NODES 64

/* Port of node i (0-based) and of its JSON API; the tracker's port. */
int cc_devnet_node_port(const cc_devnet_config *cfg, int i);
int cc_devnet_api_port(const cc_devnet_config *cfg, int i);
int cc_devnet_tracker_port(const cc_devnet_config *cfg);

/* Checks the configuration: network known, node count and ports in range
 * (CC_ERR_BAD_REQUEST with the reason). */
bool cc_devnet_check(const cc_devnet_config *cfg, cc_err *err);

/* Starts the network, waits for SIGINT/SIGTERM, stops it. Returns 0 after
 * a clean stop, 1 when it could not start (a process failed or did not
 * answer in time: err says which, and the rest were stopped) or a process
 * did not stop cleanly. */
int cc_devnet_run(const cc_devnet_config *cfg, cc_err *err);

#endif

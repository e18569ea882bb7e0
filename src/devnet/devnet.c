/* cheese-devnet's engine (devnet.h): start, watch and stop a loopback
 * network of processes. Signals are blocked and taken with sigtimedwait,
 * so there are no asynchronous handlers and no races with waitpid. */
#include "devnet/devnet.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "consensus/rules.h"
#include "net/http_call.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/dirlock.h"
#include "util/fileio.h"
#include "util/mem.h"

#define HOST "127.0.0.1"
#define PROBE_TIMEOUT_S 1.0
#define POLL_S 0.05
#define DEVNET_DISCOVERY_S "2" /* --gossip-interval, --tracker-interval */
/* A node's explorer: its port + 1000, as cheesed's default (the cheese
 * node's JSON API port is the same one). */
#define DEVNET_WEB_OFFSET 1000

typedef struct proc {
    char name[32];   /* "node 1", "tracker" */
    pid_t pid;       /* 0: not running */
    int port;        /* what it listens on */
    int probe_port;  /* where it answers /api/info; 0: a TCP connect is enough */
    int web_port;    /* where a browser finds its explorer (0: none, the tracker) */
    char dir[4096];  /* its folder */
    char log[4200];
    bool ready;
    int status;      /* from waitpid, once reaped */
} proc;

typedef struct devnet {
    const cc_devnet_config *cfg;
    proc procs[CC_DEVNET_MAX_NODES + 1]; /* the tracker (cheese) first */
    int n;
    int first_node;   /* procs[0..first_node) is the tracker */
    char *dir;        /* cfg->dir made absolute: children run in their own folders */
    cc_dir_lock lock; /* on cfg->dir, for the devnet's life */
    sigset_t signals; /* SIGINT, SIGTERM, SIGCHLD */
    bool stopping;
} devnet;

/* Whether the network's nodes meet through a tracker (the devnet's first
 * process, on the base port); false for an unknown network. */
static bool has_tracker(const cc_devnet_config *cfg)
{
    const cc_rules *rules = cc_rules_find(cfg->network);
    return rules && rules->has_tracker;
}

int cc_devnet_tracker_port(const cc_devnet_config *cfg) { return cfg->base_port; }

int cc_devnet_node_port(const cc_devnet_config *cfg, int i)
{
    return cfg->base_port + i + (has_tracker(cfg) ? 1 : 0);
}

int cc_devnet_api_port(const cc_devnet_config *cfg, int i)
{
    const cc_rules *rules = cc_rules_find(cfg->network);
    int port = cc_devnet_node_port(cfg, i);
    return rules ? cc_rules_api_port(rules, port) : 0;
}

bool cc_devnet_check(const cc_devnet_config *cfg, cc_err *err)
{
    const cc_rules *rules = cc_rules_find(cfg->network);
    if (!rules)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "unknown network '%s' (http or cheese)",
                       cfg->network);
    if (cfg->nodes < 1 || cfg->nodes > CC_DEVNET_MAX_NODES)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "--nodes must be 1 to %d", CC_DEVNET_MAX_NODES);
    int highest = cc_devnet_node_port(cfg, cfg->nodes - 1) + DEVNET_WEB_OFFSET;
    if (cfg->base_port < 1 || highest > 65535)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "ports %d to %d do not fit below 65536",
                       cfg->base_port, highest);
    return true;
}

/* ---- processes ---------------------------------------------------------------------------- */

static void say(const devnet *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(const devnet *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(d->cfg->out, fmt, ap);
    va_end(ap);
    fflush(d->cfg->out);
}

/* Child side of spawn: never returns. Only async-signal-safe calls. */
static void exec_child(const proc *p, char *const *argv, pid_t parent)
{
    setpgid(0, 0); /* the terminal's Ctrl-C is for cheese-devnet, which stops us in order */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) /* the parent died before prctl */
        _exit(1);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int log = open(p->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (log < 0 || null < 0 || dup2(null, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0 ||
        chdir(p->dir) != 0)
        _exit(126);
    execv(argv[0], argv);
    static const char msg[] = "cheese-devnet: cannot run the program\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(127);
}

static bool spawn(proc *p, char *const *argv, cc_err *err)
{
    if (access(argv[0], X_OK) != 0)
        return cc_fail(err, CC_ERR_INTERNAL, "cannot run %s: %s", argv[0], strerror(errno));
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return cc_fail(err, CC_ERR_INTERNAL, "fork: %s", strerror(errno));
    if (pid == 0)
        exec_child(p, argv, parent);
    p->pid = pid;
    return true;
}

/* Reaps every child that exited; reports those that were not asked to. */
static void reap(devnet *d)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            return;
        for (int i = 0; i < d->n; i++) {
            proc *p = &d->procs[i];
            if (p->pid != pid)
                continue;
            p->pid = 0;
            p->status = status;
            if (!d->stopping) {
                if (WIFEXITED(status))
                    fprintf(stderr, "cheese-devnet: %s (port %d) exited with status %d; its "
                                    "log: %s\n", p->name, p->port, WEXITSTATUS(status), p->log);
                else
                    fprintf(stderr, "cheese-devnet: %s (port %d) was killed by signal %d; its "
                                    "log: %s\n", p->name, p->port, WTERMSIG(status), p->log);
            }
        }
    }
}

/* Waits up to seconds for one of our signals; returns it, or 0. */
static int wait_signal(devnet *d, double seconds)
{
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    for (;;) {
        int sig = sigtimedwait(&d->signals, NULL, &ts);
        if (sig > 0)
            return sig;
        if (errno == EINTR)
            continue;
        return 0;
    }
}

static int running(const devnet *d)
{
    int n = 0;
    for (int i = 0; i < d->n; i++)
        n += d->procs[i].pid != 0;
    return n;
}

/* SIGTERM to procs[from..to); SIGKILL for those left after stop_timeout_s
 * or a second SIGINT/SIGTERM. False when one had to be killed. */
static bool stop_group(devnet *d, int from, int to)
{
    for (int i = from; i < to; i++)
        if (d->procs[i].pid)
            kill(d->procs[i].pid, SIGTERM);
    double deadline = cc_clock_mono() + d->cfg->stop_timeout_s;
    bool hurry = false;
    for (;;) {
        reap(d);
        int left = 0;
        for (int i = from; i < to; i++)
            left += d->procs[i].pid != 0;
        if (left == 0)
            return true;
        if (hurry || cc_clock_mono() > deadline)
            break;
        int sig = wait_signal(d, 0.1);
        if (sig == SIGINT || sig == SIGTERM) {
            fprintf(stderr, "cheese-devnet: second signal: killing what is left\n");
            hurry = true;
        }
    }
    for (int i = from; i < to; i++) {
        proc *p = &d->procs[i];
        if (!p->pid)
            continue;
        fprintf(stderr, "cheese-devnet: %s (port %d) did not stop: killed\n", p->name, p->port);
        kill(p->pid, SIGKILL);
        waitpid(p->pid, &p->status, 0);
        p->pid = 0;
    }
    return false;
}

/* The nodes, then the tracker. False when a process did not exit cleanly
 * (status 0 after SIGTERM). */
static bool stop_all(devnet *d)
{
    d->stopping = true;
    reap(d);
    bool clean = stop_group(d, d->first_node, d->n);
    clean = stop_group(d, 0, d->first_node) && clean;
    for (int i = 0; i < d->n; i++) {
        const proc *p = &d->procs[i];
        if (p->status == 0 || (WIFSIGNALED(p->status) && WTERMSIG(p->status) == SIGKILL))
            continue; /* clean, or reported as killed */
        fprintf(stderr, "cheese-devnet: %s (port %d) stopped with %s %d; its log: %s\n",
                p->name, p->port, WIFSIGNALED(p->status) ? "signal" : "status",
                WIFSIGNALED(p->status) ? WTERMSIG(p->status) : WEXITSTATUS(p->status), p->log);
        clean = false;
    }
    return clean;
}

/* ---- readiness -------------------------------------------------------------------------- */

static bool answers(const proc *p)
{
    if (!p->probe_port)
        return cc_tcp_can_connect(HOST, p->port, PROBE_TIMEOUT_S);
    cc_http_call_request req = {.host = HOST, .port = p->probe_port, .method = "GET",
                                .path = "/api/info", .timeout_s = PROBE_TIMEOUT_S,
                                .deadline_s = 2 * PROBE_TIMEOUT_S,
                                .max_body_bytes = 1 << 20};
    cc_http_call_answer ans = {0};
    bool ok = cc_http_call(&req, &ans, NULL) && ans.status == 200;
    cc_buf_free(&ans.body);
    return ok;
}

static void announce(const devnet *d, const proc *p)
{
    if (!p->probe_port) {
        say(d, "tracker: %s:%d (log %s)\n", HOST, p->port, p->log);
        return;
    }
    say(d, "%s: %s:%d (api http://%s:%d/api/, explorer http://%s:%d/, data %s)\n", p->name,
        HOST, p->port, HOST, p->probe_port, HOST, p->web_port, p->dir);
}

/* Waits until procs[from..to) all answer. False (err) when one exits, the
 * time runs out, or a signal asks to stop (err empty then). */
static bool wait_ready(devnet *d, int from, int to, cc_err *err)
{
    double deadline = cc_clock_mono() + d->cfg->ready_timeout_s;
    for (;;) {
        reap(d);
        int waiting = 0;
        for (int i = from; i < to; i++) {
            proc *p = &d->procs[i];
            if (p->ready)
                continue;
            if (!p->pid)
                return cc_fail(err, CC_ERR_INTERNAL, "%s did not start; see %s", p->name, p->log);
            if (answers(p)) {
                p->ready = true;
                announce(d, p);
            } else {
                waiting++;
            }
        }
        if (!waiting)
            return true;
        if (cc_clock_mono() > deadline)
            return cc_fail(err, CC_ERR_TIMEOUT, "not every process answered within %.3g s; "
                           "see the logs under %s", d->cfg->ready_timeout_s, d->cfg->dir);
        int sig = wait_signal(d, POLL_S);
        if (sig == SIGINT || sig == SIGTERM) {
            cc_err_clear(err);
            return false;
        }
    }
}

/* ---- starting ------------------------------------------------------------------------------ */

static bool prepare_dir(proc *p, const char *dir, const char *sub, const char *log_name,
                        cc_err *err)
{
    snprintf(p->dir, sizeof p->dir, "%s/%s", dir, sub);
    snprintf(p->log, sizeof p->log, "%s/%s/%s", dir, sub, log_name);
    return cc_mkdir_p(p->dir, err);
}

static bool port_free(int port, cc_err *err)
{
    if (cc_tcp_can_connect(HOST, port, 0.5))
        return cc_fail(err, CC_ERR_BAD_REQUEST, "port %d is in use already: pick another "
                       "--base-port", port);
    return true;
}

/* The devnet's own addresses, as arguments: `flag` "127.0.0.1:PORT" for
 * every node but node `skip` (-1: none), appended to argv at *n. A devnet
 * is made of its own processes only: each node gets --connect for the
 * others, the tracker --allow for every node, so that a node of another
 * run on this machine that dials a devnet port (a peers-default.json
 * listing 6000-6002, a --tracker naming the devnet's) never joins it. */
static void devnet_addresses(const devnet *d, const char *flag, int skip,
                             char (*text)[32], char **argv, int *n)
{
    for (int j = 0; j < d->cfg->nodes; j++) {
        if (j == skip)
            continue;
        snprintf(text[j], sizeof text[j], "%s:%d", HOST, cc_devnet_node_port(d->cfg, j));
        argv[(*n)++] = (char *)flag;
        argv[(*n)++] = text[j];
    }
}

static bool start_tracker(devnet *d, cc_err *err)
{
    const cc_devnet_config *cfg = d->cfg;
    proc *p = &d->procs[d->n++];
    snprintf(p->name, sizeof p->name, "tracker");
    p->port = cc_devnet_tracker_port(cfg);
    if (!port_free(p->port, err) || !prepare_dir(p, d->dir, "tracker", "tracker.log", err))
        return false;
    char exe[4200], port[16], allowed[CC_DEVNET_MAX_NODES][32];
    snprintf(exe, sizeof exe, "%s/cheese-tracker", cfg->bin_dir);
    snprintf(port, sizeof port, "%d", p->port);
    char *argv[8 + 2 * CC_DEVNET_MAX_NODES];
    int n = 0;
    argv[n++] = exe;
    argv[n++] = "--host";
    argv[n++] = HOST;
    argv[n++] = "--port";
    argv[n++] = port;
    devnet_addresses(d, "--allow", -1, allowed, argv, &n);
    argv[n] = NULL;
    if (!spawn(p, argv, err))
        return false;
    d->first_node = d->n;
    return true;
}

static bool start_node(devnet *d, int i, cc_err *err)
{
    const cc_devnet_config *cfg = d->cfg;
    proc *p = &d->procs[d->n++];
    snprintf(p->name, sizeof p->name, "node %d", i + 1);
    p->port = cc_devnet_node_port(cfg, i);
    p->probe_port = cc_devnet_api_port(cfg, i);
    p->web_port = p->port + DEVNET_WEB_OFFSET;
    char sub[32];
    snprintf(sub, sizeof sub, "%s-%d", cfg->network, p->port);
    if (!port_free(p->port, err) ||
        (p->probe_port != p->port && !port_free(p->probe_port, err)) ||
        (p->web_port != p->probe_port && !port_free(p->web_port, err)) ||
        !prepare_dir(p, d->dir, sub, "node.log", err))
        return false;

    char exe[4200], port[16], api_port[16], web_port[16], tracker[64];
    char others[CC_DEVNET_MAX_NODES][32];
    snprintf(exe, sizeof exe, "%s/cheesed", cfg->bin_dir);
    snprintf(port, sizeof port, "%d", p->port);
    snprintf(api_port, sizeof api_port, "%d", p->probe_port);
    snprintf(web_port, sizeof web_port, "%d", p->web_port);
    snprintf(tracker, sizeof tracker, "%s:%d", HOST, cc_devnet_tracker_port(cfg));
    int n_user = 0;
    for (char *const *a = cfg->node_args; a && *a; a++)
        n_user++;
    /* ours (at most 24), the other nodes' addresses, the user's, NULL */
    char **argv = cc_calloc((size_t)(24 + 2 * cfg->nodes + n_user + 1), sizeof *argv);
    int n = 0;
    argv[n++] = exe;
    argv[n++] = "--network";
    argv[n++] = (char *)cfg->network;
    argv[n++] = "--host";
    argv[n++] = HOST;
    argv[n++] = "--port";
    argv[n++] = port;
    argv[n++] = "--datadir";
    argv[n++] = p->dir;
    /* Nodes start together, so the first ones find the others down; a
     * short discovery period (a loopback network can afford it) wires them
     * up within seconds. Options after "--" come later and win. */
    if (has_tracker(cfg)) {
        argv[n++] = "--tracker";
        argv[n++] = tracker;
        argv[n++] = "--api-port";
        argv[n++] = api_port;
        argv[n++] = "--tracker-interval";
        argv[n++] = DEVNET_DISCOVERY_S;
    } else {
        argv[n++] = "--api-port";
        argv[n++] = web_port;
        argv[n++] = "--gossip-interval";
        argv[n++] = DEVNET_DISCOVERY_S;
    }
    if (cfg->nodes == 1) {
        argv[n++] = "--connect";
        argv[n++] = "none";
    }
    devnet_addresses(d, "--connect", i, others, argv, &n);
    /* node.log is for finding out what happened: info unless the user's
     * options say otherwise (cheesed's own default is warn). */
    argv[n++] = "--log-level";
    argv[n++] = "info";
    for (char *const *a = cfg->node_args; a && *a; a++)
        argv[n++] = *a;
    argv[n] = NULL;
    bool ok = spawn(p, argv, err);
    free(argv);
    return ok;
}

static bool start(devnet *d, cc_err *err)
{
    const cc_devnet_config *cfg = d->cfg;
    /* The lock keeps a second devnet from starting nodes on the same
     * folders: theirs would refuse to start one by one, far less clearly. */
    if (!cc_mkdir_p(cfg->dir, err) || !cc_dir_lock_take(&d->lock, cfg->dir, err))
        return false;
    d->dir = realpath(cfg->dir, NULL);
    if (!d->dir)
        return cc_fail(err, CC_ERR_INTERNAL, "%s: %s", cfg->dir, strerror(errno));
    say(d, "cheese-devnet: %s network of %d node%s, data in %s\n", cfg->network, cfg->nodes,
        cfg->nodes == 1 ? "" : "s", d->dir);
    if (has_tracker(cfg) && (!start_tracker(d, err) || !wait_ready(d, 0, 1, err)))
        return false;
    int first = d->n;
    for (int i = 0; i < cfg->nodes; i++)
        if (!start_node(d, i, err))
            return false;
    if (!wait_ready(d, first, d->n, err))
        return false;
    say(d, "ready: %d node%s; Ctrl-C stops %s\n", cfg->nodes, cfg->nodes == 1 ? "" : "s",
        cfg->nodes == 1 && !has_tracker(cfg) ? "it" : "them all");
    return true;
}

int cc_devnet_run(const cc_devnet_config *cfg, cc_err *err)
{
    devnet *d = cc_calloc(1, sizeof *d);
    d->cfg = cfg;
    d->lock = (cc_dir_lock)CC_DIR_LOCK_INIT;
    sigemptyset(&d->signals);
    sigaddset(&d->signals, SIGINT);
    sigaddset(&d->signals, SIGTERM);
    sigaddset(&d->signals, SIGCHLD);
    sigset_t old;
    sigprocmask(SIG_BLOCK, &d->signals, &old);

    cc_err_clear(err);
    bool started = cc_devnet_check(cfg, err) && start(d, err);
    bool interrupted = !started && !err->msg[0];
    while (started) {
        int sig = wait_signal(d, 3600);
        if (sig == SIGINT || sig == SIGTERM) {
            say(d, "stopping (%s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
            break;
        }
        reap(d);
        if (running(d) == 0) {
            cc_fail(err, CC_ERR_INTERNAL, "every process has exited; see the logs under %s",
                    cfg->dir);
            started = false;
        }
    }
    if (!started && !interrupted && running(d))
        say(d, "stopping: %s\n", err->msg);
    bool clean = stop_all(d);
    if (clean && (started || interrupted))
        say(d, "stopped\n");
    else if (!clean && (started || interrupted))
        cc_fail(err, CC_ERR_INTERNAL, "not every process stopped cleanly (see above)");
    sigprocmask(SIG_SETMASK, &old, NULL);
    cc_dir_lock_release(&d->lock);
    free(d->dir);
    free(d);
    return clean && (started || interrupted) ? 0 : 1;
}

#include "node/peers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "codec/json.h"
#include "util/atomic_file.h"
#include "util/fileio.h"
#include "util/mem.h"

/* Room for the largest list --max-peers allows (100,000 addresses of up
 * to 95 characters, quoted and separated), so a node always reads back
 * the file it wrote. */
#define MAX_PEERS_FILE (12 << 20)

struct cc_peers {
    char *path;
    cc_addr self; /* where the node listens */
    char **items; /* listed */
    int64_t *heard; /* per item: when it last answered us (unix time, 0: not since the start) */
    size_t n, max;
    char **candidates;
    size_t n_candidates;
    bool only; /* --connect: the candidates are the only addresses ever listed */
    const cc_log *log;
};

bool cc_peer_address(const char *given, char out[CC_ADDR_TEXT_MAX], cc_err *err)
{
    cc_addr a;
    if (!cc_addr_parse(given, strlen(given), &a, err))
        return false;
    if (a.family != AF_INET)
        return cc_fail(err, CC_ERR_BAD_REQUEST, "peers of the http network are IPv4 addresses");
    cc_addr_format(&a, out);
    return true;
}

bool cc_peers_is_self(const cc_peers *peers, const char *address)
{
    cc_addr a;
    return cc_addr_parse(address, strlen(address), &a, NULL) && cc_peers_reach_self(peers, &a);
}

bool cc_peers_reach_self(const cc_peers *peers, const cc_addr *address)
{
    return cc_addr_reaches(address, &peers->self);
}

static bool in_list(char *const *items, size_t n, const char *address)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(items[i], address) == 0)
            return true;
    return false;
}

bool cc_peers_contains(const cc_peers *peers, const char *address)
{
    char canonical[CC_ADDR_TEXT_MAX];
    return cc_peer_address(address, canonical, NULL) && in_list(peers->items, peers->n, canonical);
}

bool cc_peers_is_candidate(const cc_peers *peers, const char *address)
{
    char canonical[CC_ADDR_TEXT_MAX];
    return cc_peer_address(address, canonical, NULL) &&
           in_list(peers->candidates, peers->n_candidates, canonical);
}

void cc_peers_write_json(const cc_peers *peers, cc_buf *out)
{
    cc_buf_puts(out, "{\"peers\": [");
    for (size_t i = 0; i < peers->n; i++) {
        if (i)
            cc_buf_puts(out, ", ");
        cc_json_append_quoted(out, peers->items[i]);
    }
    cc_buf_puts(out, "]}");
}

static bool save(const cc_peers *peers, cc_err *err)
{
    cc_buf text = CC_BUF_INIT;
    cc_peers_write_json(peers, &text);
    cc_buf_putc(&text, '\n');
    bool ok = cc_write_file_atomic(peers->path, text.data, text.len, 0644, err);
    cc_buf_free(&text);
    return ok;
}

static void insert(char ***items, size_t *n, const char *address)
{
    *items = cc_realloc(*items, (*n + 1) * sizeof **items);
    (*items)[(*n)++] = cc_strdup(address);
}

bool cc_peers_add(cc_peers *peers, const char *address, cc_err *err)
{
    char canonical[CC_ADDR_TEXT_MAX];
    if (!cc_peer_address(address, canonical, err))
        return cc_err_prefix(err, "not a peer address: %.64s: ", address);
    if (cc_peers_is_self(peers, canonical))
        return cc_fail(err, CC_ERR_BAD_REQUEST, "%s is this node", canonical);
    if (in_list(peers->items, peers->n, canonical))
        return cc_fail(err, CC_ERR_BAD_REQUEST, "%s is already a peer", canonical);
    if (!cc_peers_allowed(peers, canonical))
        return cc_fail(err, CC_ERR_FORBIDDEN, "%s is not one of the --connect peers", canonical);
    if (peers->n >= peers->max)
        return cc_fail(err, CC_ERR_TOO_MANY, "the peer list is full (%zu)", peers->max);
    insert(&peers->items, &peers->n, canonical);
    peers->heard = cc_realloc(peers->heard, peers->n * sizeof *peers->heard);
    peers->heard[peers->n - 1] = 0;
    return save(peers, err);
}

bool cc_peers_remove(cc_peers *peers, const char *address, cc_err *err)
{
    char canonical[CC_ADDR_TEXT_MAX];
    if (!cc_peer_address(address, canonical, NULL))
        return cc_fail(err, CC_ERR_NOT_FOUND, "%.64s is not a peer", address);
    for (size_t i = 0; i < peers->n; i++) {
        if (strcmp(peers->items[i], canonical) != 0)
            continue;
        free(peers->items[i]);
        memmove(&peers->items[i], &peers->items[i + 1], (peers->n - i - 1) * sizeof *peers->items);
        memmove(&peers->heard[i], &peers->heard[i + 1], (peers->n - i - 1) * sizeof *peers->heard);
        peers->n--;
        return save(peers, err);
    }
    return cc_fail(err, CC_ERR_NOT_FOUND, "%s is not a peer", address);
}

/* Why entry i of a list cannot be listed (canonical in address), or NULL. */
static const char *entry_problem(const cc_peers *peers, const json_t *entry, char *const *items,
                                 size_t n, char address[CC_ADDR_TEXT_MAX], cc_err *why)
{
    const char *given = json_string_value(entry);
    if (!given)
        return "not a string";
    if (!cc_peer_address(given, address, why))
        return why->msg;
    if (cc_peers_is_self(peers, address))
        return "this node";
    if (in_list(items, n, address))
        return "listed already";
    return n >= peers->max ? "the list is full" : NULL;
}

/* Reads {"peers": [...]} into a list, keeping the valid, new addresses in
 * their canonical form: one peer spelt twice is listed once. */
static bool load_list(cc_peers *peers, const char *path, char ***items, size_t *n, cc_err *err)
{
    cc_buf text = CC_BUF_INIT;
    bool ok = cc_read_file(path, MAX_PEERS_FILE, &text, err);
    json_t *doc = ok ? cc_json_parse(text.data, text.len, 4, err) : NULL;
    json_t *list = doc ? json_object_get(doc, "peers") : NULL;
    if (ok && doc && !json_is_array(list))
        ok = cc_fail(err, CC_ERR_BAD_REQUEST, "%s has no \"peers\" list", path);
    ok = ok && doc;
    for (size_t i = 0; ok && i < json_array_size(list); i++) {
        char address[CC_ADDR_TEXT_MAX];
        cc_err why = {0};
        const char *problem = entry_problem(peers, json_array_get(list, i), *items, *n, address,
                                            &why);
        if (problem)
            cc_info(peers->log, "%s: skipping peer entry %zu: %s", path, i, problem);
        else
            insert(items, n, address);
    }
    json_decref(doc);
    cc_buf_free(&text);
    return ok;
}

cc_peers *cc_peers_open(const char *path, const char *default_path, const char *self, int port,
                        size_t max, const cc_log *log, cc_err *err)
{
    cc_addr own;
    if (!cc_addr_parse(self, strlen(self), &own, err) || own.port != port) {
        cc_fail(err, CC_ERR_BAD_REQUEST, "cannot use %.64s as this node's address on port %d",
                self, port);
        return NULL;
    }
    cc_peers *peers = cc_calloc(1, sizeof *peers);
    peers->path = cc_strdup(path);
    peers->self = own;
    peers->max = max;
    peers->log = log;
    cc_atomic_file_sweep(path); /* what a crash mid-write left */
    cc_err why = {0};
    bool ok = load_list(peers, path, &peers->items, &peers->n, &why);
    peers->heard = cc_calloc(peers->n + 1, sizeof *peers->heard);
    if (!ok && why.code == CC_ERR_NOT_FOUND)
        ok = save(peers, &why);
    cc_err warn = {0};
    if (ok && default_path &&
        !load_list(peers, default_path, &peers->candidates, &peers->n_candidates, &warn))
        cc_warn(log, "peers default: %s", warn.msg);
    if (!ok) {
        *err = why;
        cc_peers_free(peers);
        return NULL;
    }
    return peers;
}

bool cc_peers_allowed(const cc_peers *peers, const char *address)
{
    if (!peers->only)
        return true;
    char canonical[CC_ADDR_TEXT_MAX];
    return cc_peer_address(address, canonical, NULL) &&
           in_list(peers->candidates, peers->n_candidates, canonical);
}

static void free_list(char **items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(items[i]);
    free(items);
}

bool cc_peers_only(cc_peers *peers, const char *const *addresses, size_t n, cc_err *err)
{
    /* Every entry is checked before anything changes: a bad one leaves the
     * lists as they were. */
    char **allowed = NULL;
    size_t n_allowed = 0;
    for (size_t i = 0; i < n; i++) {
        char canonical[CC_ADDR_TEXT_MAX];
        if (!cc_peer_address(addresses[i], canonical, err)) {
            free_list(allowed, n_allowed);
            return cc_err_prefix(err, "--connect %.64s: ", addresses[i]);
        }
        if (!cc_peers_is_self(peers, canonical) && !in_list(allowed, n_allowed, canonical))
            insert(&allowed, &n_allowed, canonical);
    }
    free_list(peers->candidates, peers->n_candidates);
    peers->candidates = allowed;
    peers->n_candidates = n_allowed;
    peers->only = true;
    /* What an earlier run without --connect listed (an outsider among
     * them, maybe) goes now, before anyone is told or sent anything. */
    for (size_t i = peers->n; i-- > 0;) {
        if (cc_peers_allowed(peers, peers->items[i]))
            continue;
        cc_info(peers->log, "unlisting %s: not one of the --connect peers", peers->items[i]);
        char address[CC_ADDR_TEXT_MAX];
        snprintf(address, sizeof address, "%s", peers->items[i]);
        if (!cc_peers_remove(peers, address, err))
            return false;
    }
    return true;
}

void cc_peers_free(cc_peers *peers)
{
    if (!peers)
        return;
    for (size_t i = 0; i < peers->n; i++)
        free(peers->items[i]);
    free(peers->items);
    free(peers->heard);
    for (size_t i = 0; i < peers->n_candidates; i++)
        free(peers->candidates[i]);
    free(peers->candidates);
    free(peers->path);
    free(peers);
}

size_t cc_peers_count(const cc_peers *peers) { return peers->n; }

const char *cc_peers_at(const cc_peers *peers, size_t i) { return peers->items[i]; }

void cc_peers_heard(cc_peers *peers, const char *address, int64_t unix_time)
{
    for (size_t i = 0; i < peers->n; i++)
        if (strcmp(peers->items[i], address) == 0)
            peers->heard[i] = unix_time;
}

int64_t cc_peers_heard_at(const cc_peers *peers, size_t i) { return peers->heard[i]; }

size_t cc_peers_candidate_count(const cc_peers *peers) { return peers->n_candidates; }

const char *cc_peers_candidate_at(const cc_peers *peers, size_t i)
{
    return peers->candidates[i];
}

bool cc_peers_full(const cc_peers *peers) { return peers->n >= peers->max; }

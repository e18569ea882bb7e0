#include "chain/mempool_set.h"

#include <search.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/random.h"
#include "util/hex.h"
#include "util/mem.h"

/* What a sender has waiting. key is the first member: a pointer to a key
 * string works as a probe for tfind. */
typedef struct sender_sum {
    char *key;
    mpq_t pending;
    size_t count;
} sender_sum;

/* A change made under an open mark, to be undone by a rollback. */
typedef struct change {
    cc_mempool_entry *entry;
    bool added; /* else removed (and kept until the outermost release) */
} change;

/* Entries by one of their ids (txid or msgid, at byte `field` of the
 * entry): open addressing with linear probing, at most half full. Ids are
 * SHA-256 digests, so their first 16 hex digits are already uniform; the
 * secret salt keeps a sender who grinds payments from choosing which slots
 * they land in. Looked up at every payment, so one or two cache misses
 * instead of a tree's twenty. */
typedef struct id_index {
    cc_mempool_entry **slots;
    size_t cap; /* a power of two */
    size_t used;
    size_t field;
    uint64_t salt;
} id_index;

struct cc_mempool_set {
    cc_mempool_entry *head, *tail;
    cc_mempool_entry *last_added; /* where the next of a run of restores goes */
    size_t count;
    id_index by_txid, by_msgid;
    /* Senders' keys are chosen by senders: a glibc tsearch tree
     * (red-black), with no collisions to choose. */
    void *senders;
    change *changes;
    size_t n_changes, cap_changes;
    size_t *marks;
    size_t n_marks, cap_marks;
};

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ---- the id indexes ---------------------------------------------------------- */

#define INDEX_MIN_CAP 64

static void index_init(id_index *index, size_t field)
{
    index->cap = INDEX_MIN_CAP;
    index->slots = cc_calloc(index->cap, sizeof *index->slots);
    index->field = field;
    cc_random_bytes(&index->salt, sizeof index->salt);
}

static const char *id_at(const id_index *index, const cc_mempool_entry *e)
{
    return (const char *)e + index->field;
}

static size_t slot_of(const id_index *index, const char *id)
{
    uint64_t v = 0;
    for (int i = 0; i < 16 && id[i]; i++)
        v = (v << 4) | (uint64_t)(cc_hex_digit(id[i]) & 0xf);
    v = (v ^ index->salt) * 0x9e3779b97f4a7c15u;
    return (size_t)(v >> 32) & (index->cap - 1);
}

static size_t index_find(const id_index *index, const char *id)
{
    size_t i = slot_of(index, id);
    while (index->slots[i] && strcmp(id_at(index, index->slots[i]), id) != 0)
        i = (i + 1) & (index->cap - 1);
    return i;
}

static void index_grow(id_index *index)
{
    cc_mempool_entry **old = index->slots;
    size_t old_cap = index->cap;
    index->cap *= 2;
    index->slots = cc_calloc(index->cap, sizeof *index->slots);
    for (size_t i = 0; i < old_cap; i++)
        if (old[i])
            index->slots[index_find(index, id_at(index, old[i]))] = old[i];
    free(old);
}

static void index_put(id_index *index, cc_mempool_entry *e)
{
    if (2 * (index->used + 1) > index->cap)
        index_grow(index);
    size_t i = index_find(index, id_at(index, e));
    if (!index->slots[i])
        index->used++;
    index->slots[i] = e;
}

/* Removal with backward shift: the entries after the hole that probed
 * past it move up, so no tombstones slow later look-ups. */
static void index_drop(id_index *index, const cc_mempool_entry *e)
{
    size_t mask = index->cap - 1;
    size_t hole = index_find(index, id_at(index, e));
    if (index->slots[hole] != e)
        return;
    index->slots[hole] = NULL;
    index->used--;
    for (size_t i = (hole + 1) & mask; index->slots[i]; i = (i + 1) & mask) {
        size_t home = slot_of(index, id_at(index, index->slots[i]));
        /* It may fill the hole when its home is not in (hole, i]. */
        bool stays = hole <= i ? (hole < home && home <= i) : (hole < home || home <= i);
        if (stays)
            continue;
        index->slots[hole] = index->slots[i];
        index->slots[i] = NULL;
        hole = i;
    }
}

static cc_mempool_entry *index_get(const id_index *index, const char *id)
{
    return index->slots[index_find(index, id)];
}

cc_mempool_set *cc_mempool_set_new(void)
{
    cc_mempool_set *set = cc_calloc(1, sizeof *set);
    index_init(&set->by_txid, offsetof(cc_mempool_entry, tx.txid));
    index_init(&set->by_msgid, offsetof(cc_mempool_entry, tx.msgid));
    return set;
}

static void entry_free(cc_mempool_entry *entry)
{
    cc_tx_clear(&entry->tx);
    mpq_clear(entry->amount);
    free(entry);
}

static void sender_free(void *p)
{
    sender_sum *s = p;
    free(s->key);
    mpq_clear(s->pending);
    free(s);
}

void cc_mempool_set_free(cc_mempool_set *set)
{
    if (!set)
        return;
    /* Entries removed under an open mark are no longer in the list. */
    for (size_t i = 0; i < set->n_changes; i++)
        if (!set->changes[i].added)
            entry_free(set->changes[i].entry);
    for (cc_mempool_entry *e = set->head, *next; e; e = next) {
        next = e->next;
        entry_free(e);
    }
    free(set->by_txid.slots);
    free(set->by_msgid.slots);
    tdestroy(set->senders, sender_free);
    free(set->changes);
    free(set->marks);
    free(set);
}

size_t cc_mempool_set_count(const cc_mempool_set *set) { return set->count; }

const cc_mempool_entry *cc_mempool_set_first(const cc_mempool_set *set) { return set->head; }

int64_t cc_mempool_set_min_seq(const cc_mempool_set *set)
{
    return set->head ? set->head->seq : 0;
}

int64_t cc_mempool_set_max_seq(const cc_mempool_set *set)
{
    return set->tail ? set->tail->seq : 0;
}

cc_mempool_entry *cc_mempool_set_by_txid(const cc_mempool_set *set, const char *txid)
{
    return index_get(&set->by_txid, txid);
}

cc_mempool_entry *cc_mempool_set_by_msgid(const cc_mempool_set *set, const char *msgid)
{
    return index_get(&set->by_msgid, msgid);
}

bool cc_mempool_set_has(const cc_mempool_set *set, const cc_tx *tx)
{
    return cc_mempool_set_by_txid(set, tx->txid) || cc_mempool_set_by_msgid(set, tx->msgid);
}

static sender_sum *sender_find(const cc_mempool_set *set, const char *key)
{
    sender_sum *const *found = tfind(&key, &set->senders, compare_strings);
    return found ? *found : NULL;
}

void cc_mempool_set_pending(const cc_mempool_set *set, const char *key, mpq_t out)
{
    const sender_sum *s = sender_find(set, key);
    if (s)
        mpq_set(out, s->pending);
    else
        mpq_set_ui(out, 0, 1);
}

/* ---- linking an entry in and out ------------------------------------------- */

static void list_insert_after(cc_mempool_set *set, cc_mempool_entry *after, cc_mempool_entry *e)
{
    e->prev = after;
    e->next = after ? after->next : set->head;
    if (e->next)
        e->next->prev = e;
    else
        set->tail = e;
    if (after)
        after->next = e;
    else
        set->head = e;
}

/* The entry that e goes after: arrivals go last, and a run of restored
 * payments goes one after the other at the front, so both are found at
 * once; anything else walks the list. */
static cc_mempool_entry *position_for(const cc_mempool_set *set, int64_t seq)
{
    if (!set->tail || set->tail->seq < seq)
        return set->tail;
    const cc_mempool_entry *hint = set->last_added;
    if (hint && hint->seq < seq && (!hint->next || hint->next->seq > seq))
        return set->last_added;
    cc_mempool_entry *after = NULL;
    for (cc_mempool_entry *e = set->head; e && e->seq < seq; e = e->next)
        after = e;
    return after;
}

static void pending_add(cc_mempool_set *set, const cc_mempool_entry *e)
{
    const char *key = e->tx.from;
    sender_sum *s = sender_find(set, key);
    if (!s) {
        s = cc_calloc(1, sizeof *s);
        s->key = cc_strdup(key);
        mpq_init(s->pending);
        cc_alloc_check(tsearch(s, &set->senders, compare_strings));
    }
    mpq_add(s->pending, s->pending, e->amount);
    s->count++;
}

static void pending_remove(cc_mempool_set *set, const cc_mempool_entry *e)
{
    sender_sum *s = sender_find(set, e->tx.from);
    if (!s)
        return;
    mpq_sub(s->pending, s->pending, e->amount);
    if (--s->count > 0)
        return;
    tdelete(s, &set->senders, compare_strings);
    sender_free(s);
}

static void link_in(cc_mempool_set *set, cc_mempool_entry *e)
{
    list_insert_after(set, position_for(set, e->seq), e);
    set->last_added = e;
    index_put(&set->by_txid, e);
    index_put(&set->by_msgid, e);
    pending_add(set, e);
    set->count++;
}

static void link_out(cc_mempool_set *set, cc_mempool_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        set->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        set->tail = e->prev;
    if (set->last_added == e)
        set->last_added = NULL;
    e->prev = e->next = NULL;
    index_drop(&set->by_txid, e);
    index_drop(&set->by_msgid, e);
    pending_remove(set, e);
    set->count--;
}

/* ---- changes and marks ------------------------------------------------------ */

static void note_change(cc_mempool_set *set, cc_mempool_entry *e, bool added)
{
    if (set->n_changes == set->cap_changes) {
        set->cap_changes = set->cap_changes ? 2 * set->cap_changes : 64;
        set->changes = cc_realloc(set->changes, set->cap_changes * sizeof *set->changes);
    }
    set->changes[set->n_changes++] = (change){.entry = e, .added = added};
}

cc_mempool_entry *cc_mempool_set_add(cc_mempool_set *set, const cc_tx *tx, int64_t seq)
{
    cc_mempool_entry *e = cc_calloc(1, sizeof *e);
    cc_tx_copy(&e->tx, tx);
    mpq_init(e->amount);
    cc_amount_to_mpq(&tx->amount, e->amount);
    e->seq = seq;
    link_in(set, e);
    if (set->n_marks > 0)
        note_change(set, e, true);
    return e;
}

void cc_mempool_set_remove(cc_mempool_set *set, cc_mempool_entry *entry)
{
    link_out(set, entry);
    if (set->n_marks > 0)
        note_change(set, entry, false);
    else
        entry_free(entry);
}

void cc_mempool_set_begin(cc_mempool_set *set)
{
    if (set->n_marks == set->cap_marks) {
        set->cap_marks = set->cap_marks ? 2 * set->cap_marks : 8;
        set->marks = cc_realloc(set->marks, set->cap_marks * sizeof *set->marks);
    }
    set->marks[set->n_marks++] = set->n_changes;
}

void cc_mempool_set_release(cc_mempool_set *set)
{
    if (set->n_marks == 0 || --set->n_marks > 0)
        return;
    for (size_t i = 0; i < set->n_changes; i++)
        if (!set->changes[i].added)
            entry_free(set->changes[i].entry);
    set->n_changes = 0;
}

void cc_mempool_set_rollback(cc_mempool_set *set)
{
    if (set->n_marks == 0)
        return;
    size_t mark = set->marks[--set->n_marks];
    while (set->n_changes > mark) {
        change c = set->changes[--set->n_changes];
        if (c.added) {
            link_out(set, c.entry);
            entry_free(c.entry);
        } else {
            link_in(set, c.entry);
        }
    }
}

size_t cc_mempool_set_depth(const cc_mempool_set *set) { return set->n_marks; }

cc_mempool_set *cc_mempool_set_clone(const cc_mempool_set *set)
{
    cc_mempool_set *copy = cc_mempool_set_new();
    for (const cc_mempool_entry *e = set->head; e; e = e->next)
        cc_mempool_set_add(copy, &e->tx, e->seq);
    return copy;
}

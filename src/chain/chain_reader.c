#include "chain/chain_reader.h"

#include <sqlite3.h>
#include <stdlib.h>

#include "chain/store.h"
#include "util/mem.h"

/* The same rows, in the same order, as cc_chain_write_all. */
#define SQL_ROWS                                                                                  \
    "SELECT b.height, b.text FROM block b"                                                        \
    " LEFT JOIN best c ON c.height=b.height AND c.hash=b.hash"                                    \
    " WHERE b.status=1 ORDER BY b.height, c.hash IS NULL, b.seq"
/* length() of a blob is read from the record header: the texts are not loaded. */
#define SQL_SIZE                                                                                  \
    "SELECT count(*), count(DISTINCT height), COALESCE(sum(length(text)), 0)"                     \
    " FROM block WHERE status=1"

struct cc_chain_reader {
    sqlite3 *db;
    sqlite3_stmt *rows;
    size_t length;
    int64_t current; /* height of the last block written; -1 before the first */
    bool finished;
};

static bool reader_fail(cc_chain_reader *reader, cc_err *err)
{
    return cc_fail(err, CC_ERR_INTERNAL, "database error: %s", sqlite3_errmsg(reader->db));
}

/* {"chain": [ + per height "[" texts joined by ", " "]" joined by ", " + ]} */
static bool measure(sqlite3 *db, size_t *length, cc_err *err)
{
    sqlite3_stmt *stmt;
    if (sqlite3_prepare_v2(db, SQL_SIZE, -1, &stmt, NULL) != SQLITE_OK)
        return cc_fail(err, CC_ERR_INTERNAL, "database error: %s", sqlite3_errmsg(db));
    bool ok = sqlite3_step(stmt) == SQLITE_ROW;
    if (ok) {
        size_t blocks = (size_t)sqlite3_column_int64(stmt, 0);
        size_t heights = (size_t)sqlite3_column_int64(stmt, 1);
        size_t text = (size_t)sqlite3_column_int64(stmt, 2);
        size_t separators = 2 * (blocks - heights) + (heights ? 2 * (heights - 1) : 0);
        *length = sizeof "{\"chain\": [" - 1 + 2 * heights + text + separators + 2;
    }
    sqlite3_finalize(stmt);
    return ok || cc_fail(err, CC_ERR_INTERNAL, "database error: %s", sqlite3_errmsg(db));
}

bool cc_chain_whole_length(cc_chain *chain, size_t *length, cc_err *err)
{
    return measure(chain->db, length, err);
}

cc_chain_reader *cc_chain_reader_all(cc_chain *chain, cc_err *err)
{
    cc_chain_reader *reader = cc_calloc(1, sizeof *reader);
    reader->current = -1;
    const char *path = sqlite3_db_filename(chain->db, "main");
    bool ok = sqlite3_open_v2(path, &reader->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                              NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_busy_timeout(reader->db, 5000);
        ok = sqlite3_exec(reader->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK &&
             sqlite3_prepare_v2(reader->db, SQL_ROWS, -1, &reader->rows, NULL) == SQLITE_OK;
    }
    /* The snapshot starts with the first read, so measuring fixes it. */
    if (!ok) {
        cc_fail(err, CC_ERR_INTERNAL, "cannot read the chain: %s",
                reader->db ? sqlite3_errmsg(reader->db) : "out of memory");
        cc_chain_reader_free(reader);
        return NULL;
    }
    if (!measure(reader->db, &reader->length, err)) {
        cc_chain_reader_free(reader);
        return NULL;
    }
    return reader;
}

void cc_chain_reader_free(cc_chain_reader *reader)
{
    if (!reader)
        return;
    sqlite3_finalize(reader->rows);
    sqlite3_close(reader->db); /* ends the read transaction */
    free(reader);
}

size_t cc_chain_reader_length(const cc_chain_reader *reader) { return reader->length; }

bool cc_chain_reader_next(cc_chain_reader *reader, size_t max_bytes, cc_buf *out, bool *done,
                          cc_err *err)
{
    *done = false;
    if (reader->current < 0 && !reader->finished)
        cc_buf_puts(out, "{\"chain\": [");
    size_t start = out->len;
    int rc = SQLITE_DONE;
    /* out->len == start: at least one block per piece, even for max_bytes 0 */
    while (!reader->finished && (out->len - start < max_bytes || out->len == start)) {
        rc = sqlite3_step(reader->rows);
        if (rc != SQLITE_ROW)
            break;
        int64_t height = sqlite3_column_int64(reader->rows, 0);
        if (height != reader->current)
            cc_buf_puts(out, reader->current < 0 ? "[" : "], [");
        else
            cc_buf_puts(out, ", ");
        reader->current = height;
        cc_buf_append(out, sqlite3_column_blob(reader->rows, 1),
                      (size_t)sqlite3_column_bytes(reader->rows, 1));
    }
    if (rc == SQLITE_ROW)
        return true;
    if (rc != SQLITE_DONE)
        return reader_fail(reader, err);
    if (!reader->finished)
        cc_buf_puts(out, reader->current < 0 ? "]}" : "]]}");
    reader->finished = true;
    *done = true;
    return true;
}

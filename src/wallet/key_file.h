/* A key file, whatever the network's key (wallet/keys.c has both kinds):
 * one line of hex in a file of mode 0600, loaded when it exists (a file
 * readable by others is warned about and tightened to 0600), otherwise a
 * new key is generated and saved atomically. The callers supply only what
 * differs: how the hex is read into a key and how a new key is made. The
 * file's text is wiped from memory once read.
 * Errors: cc_err (CC_ERR_INTERNAL for file problems, with the path).
 * Thread: whatever the callbacks allow; the file part is plain. */
#ifndef CC_WALLET_KEY_FILE_H
#define CC_WALLET_KEY_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"

typedef struct cc_wallet_file_kind {
    size_t max_len; /* the largest file accepted, newline included */
    const char *form; /* what the text is, for messages: "48 hex digits ..." */
    /* Reads the file's text (trailing CR/LF removed, NUL-terminated, may hold
     * NULs) into key; on failure fills err naming path. */
    bool (*from_text)(const char *path, const char *text, size_t len, void *key, cc_err *err);
    /* Generates a new key and appends its hex (no newline) to text. */
    void (*generate)(void *key, cc_buf *text);
    /* Wipes key after its file could not be saved; NULL when not needed. */
    void (*clear)(void *key);
    /* Appends the hex a file holds for key (no newline) to text: what
     * generate writes, for a key that is already there. */
    void (*to_text)(const void *key, cc_buf *text);
} cc_wallet_file_kind;

/* Reads a key file's text that is already in memory (a file's contents,
 * or what came on stdin), named `name` in messages, exactly as
 * cc_wallet_file_read reads a file: trailing CR/LF removed, at most
 * kind->max_len bytes, then from_text. text is not changed. */
bool cc_wallet_text_read(const cc_wallet_file_kind *kind, const char *name, const char *text,
                         size_t len, void *key, cc_err *err);

/* Reads the key at path as it is (its mode untouched): a program that
 * only looks, such as the command-line client. CC_ERR_NOT_FOUND when there
 * is no file. */
bool cc_wallet_file_read(const cc_wallet_file_kind *kind, const char *path, void *key,
                         cc_err *err);

/* Loads the key at path, or creates and saves a new one when the file does
 * not exist. *created tells which happened. */
bool cc_wallet_file_load_or_create(const cc_wallet_file_kind *kind, const char *path, void *key,
                                   bool *created, const cc_log *log, cc_err *err);

#endif

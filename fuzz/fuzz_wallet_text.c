/* Fuzzes the reading of a wallet's key text (wallet/key_file.h), what
 * `cheese-cli key import` and `wallet restore` take from a user's file or
 * stdin and the node reads from its wallet file, for both networks' keys:
 * the P-192 scalar in hex and the RSA private key as hex DER.
 *
 * The input's first byte picks the network; the rest is the text. Refused,
 * the reader must give an error with a message. Accepted, the key must
 * print (to_text) as canonical text that reads back as a key with the same
 * public key, and printing that one again gives the same text: one key, one
 * file. Any failed property aborts. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/buf.h"
#include "util/err.h"
#include "wallet/keys.h"

#include "fuzz_support.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TARGET "fuzz_wallet_text"

static void check(bool ok, const char *what) { fuzz_check(TARGET, ok, what); }

static void read_back(const cc_key_kind *kind, const cc_wallet_key *key)
{
    cc_buf text = CC_BUF_INIT;
    kind->file.to_text(key, &text);
    cc_wallet_key again;
    memset(&again, 0, sizeof again);
    cc_err err = {0};
    check(cc_wallet_text_read(&kind->file, "printed", text.data, text.len, &again, &err),
          "a printed key does not read back");
    check(strcmp(kind->public_hex(key), kind->public_hex(&again)) == 0,
          "a printed key reads back as another key");
    cc_buf second = CC_BUF_INIT;
    kind->file.to_text(&again, &second);
    check(second.len == text.len && memcmp(second.data, text.data, text.len) == 0,
          "a key prints two ways");
    if (kind->file.clear)
        kind->file.clear(&again);
    cc_buf_free(&second);
    cc_buf_free(&text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t n_kinds;
    const cc_key_kind *const *kinds = cc_key_kinds(&n_kinds);
    const cc_key_kind *kind = kinds[data[0] % n_kinds];
    cc_wallet_key key;
    memset(&key, 0, sizeof key);
    cc_err err = {0};
    if (!cc_wallet_text_read(&kind->file, "input", (const char *)data + 1, size - 1, &key,
                             &err)) {
        check(err.code != 0 && err.msg[0] != '\0', "a refusal without a message");
        return 0;
    }
    read_back(kind, &key);
    if (kind->file.clear)
        kind->file.clear(&key);
    return 0;
}

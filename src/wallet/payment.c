#include "wallet/payment.h"

#include "consensus/cheese.h"
#include "consensus/http.h"
#include "util/buf.h"

bool cc_http_tx_create(const cc_p192_key *key, const char *to, const cc_number *amount,
                       const char *timestamp, cc_tx *out, cc_err *err)
{
    cc_tx tx;
    if (!cc_http_tx_unsigned(key->pub_hex, to, amount, timestamp, &tx, err))
        return false;
    char signature[CC_P192_SIG_HEX_LEN + 1];
    cc_p192_sign(key, tx.text + tx.msg_off, tx.msg_len, signature);
    cc_http_tx_attach_signature(&tx, signature);
    *out = tx;
    return true;
}

bool cc_cheese_tx_create(const cc_rsa_key *key, const char *to, const cc_number *amount,
                         cc_tx *out, cc_err *err)
{
    if (!cc_cheese_tx_unsigned(key->pub_hex, to, amount, out, err))
        return false;
    cc_buf payload = CC_BUF_INIT;
    cc_cheese_tx_payload(out, &payload);
    char *signature = cc_rsa_sign(key, payload.data, payload.len);
    cc_buf_free(&payload);
    if (!signature) {
        cc_tx_clear(out);
        return cc_fail(err, CC_ERR_BAD_REQUEST, "the paying key cannot sign");
    }
    cc_cheese_tx_attach_signature(out, signature);
    return true;
}

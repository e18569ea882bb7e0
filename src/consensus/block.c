#include "consensus/block.h"

#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

void cc_tx_clear(cc_tx *tx)
{
    free(tx->text);
    free(tx->from);
    free(tx->to);
    free(tx->signature);
    free(tx->timestamp);
    memset(tx, 0, sizeof *tx);
}

void cc_block_clear(cc_block *block)
{
    for (size_t i = 0; i < block->n_txs; i++)
        cc_tx_clear(&block->txs[i]);
    free(block->txs);
    free(block->text);
    memset(block, 0, sizeof *block);
}

static char *dup_or_null(const char *s) { return s ? cc_strdup(s) : NULL; }

void cc_tx_copy(cc_tx *dst, const cc_tx *src)
{
    *dst = *src;
    dst->text = src->text ? cc_strndup(src->text, src->text_len) : NULL;
    dst->from = dup_or_null(src->from);
    dst->to = dup_or_null(src->to);
    dst->signature = dup_or_null(src->signature);
    dst->timestamp = dup_or_null(src->timestamp);
}

/* GMP takes a long; every int64 amount must fit in one. */
_Static_assert(sizeof(long) >= sizeof(int64_t), "cc_amount_to_mpq needs a 64-bit long");

void cc_amount_to_mpq(const cc_number *amount, mpq_t out)
{
    if (amount->is_int) {
        mpz_set_si(mpq_numref(out), (long)amount->i);
        mpz_set_ui(mpq_denref(out), 1);
        mpq_canonicalize(out);
        return;
    }
    mpq_set_d(out, amount->d);
}

void cc_block_template_clear(cc_block_template *tpl)
{
    cc_buf_free(&tpl->prefix);
    cc_buf_free(&tpl->suffix);
    cc_buf_free(&tpl->text_prefix);
    cc_buf_free(&tpl->text_suffix);
}

/* libFuzzer target for the flow record codec: decode, then encode gives
 * the same bytes back; judging and opening what was decoded never fails
 * hard. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_tables.h>

#include "alx_flowrec.h"
#include "fuzz.h"

static alx_crypto_t *crypto;
static apr_pool_t *crypto_pool;

/* Registered after OpenSSL's own exit handler, so it runs first (as in
 * fuzz_grace.c). */
static void crypto_done(void)
{
    apr_pool_destroy(crypto_pool);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_start();
    apr_pool_create(&crypto_pool, fuzz_root);
    if (alx_crypto_create(crypto_pool, &crypto) != APR_SUCCESS)
        abort();
    atexit(crypto_done);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static apr_pool_t *p;
    apr_array_header_t *states;
    alx_flowrec_t f;
    apr_size_t len;
    char *again;
    int match, live, i;

    if (!p)
        apr_pool_create(&p, fuzz_root);
    apr_pool_clear(p);
    if (alx_flowrec_decode(p, (const char *)data, size, &f) != APR_SUCCESS)
        return 0;
    again = alx_flowrec_encode(p, &f, &len);
    /* leading zeros in the numbers are the one way to differ at one length;
     * a record over ALX_FLOWREC_FIT loses its oldest flows */
    check(again != NULL);
    check(len != size || memcmp(again, data, size) == 0
          || memchr(data, '0', size));
    check(size > ALX_FLOWREC_FIT || len <= size);
    states = apr_array_make(p, 1, sizeof(const char *));
    APR_ARRAY_PUSH(states, const char *) = "S1";
    check(alx_flowrec_judge(crypto, &f, 1, apr_time_from_sec(600), states,
                            &match, &live) <= ALX_STATE_AMBIGUOUS);
    check(match < f.n && live <= f.n);
    for (i = 0; i < f.n; i++)
        (void)alx_flowrec_client_id(p, crypto, &f.flows[i], states);
    return 0;
}

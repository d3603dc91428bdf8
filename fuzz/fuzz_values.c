/* libFuzzer target for the directive value parsers: results stay in range. */
#include <stdint.h>
#include <stdlib.h>
#include <strings.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "alx_values.h"

static apr_pool_t *root;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static apr_pool_t *p;
    const char *arg;
    apr_int64_t seconds;
    apr_interval_time_t interval;
    apr_off_t bytes;

    if (!root) {
        apr_initialize();
        apr_pool_create(&root, NULL);
        apr_pool_create(&p, root);
    }
    apr_pool_clear(p);
    arg = apr_pstrmemdup(p, (const char *)data, size);
    if (alx_value_seconds(arg, 86400, &seconds) == 0
        && (seconds < 0 || seconds > 86400))
        abort();
    if (alx_value_seconds(arg, APR_INT64_MAX, &seconds) == 0 && seconds < 0)
        abort();
    if (alx_value_decimal_seconds(arg, &interval) == 0
        && (interval <= 0 || interval > APR_USEC_PER_SEC * 3600
            || interval % 1000 != 0))
        abort();
    if (alx_value_size(arg, &bytes) == 0
        && (bytes <= 0 || bytes > 64 * 1024 * 1024))
        abort();
    if (alx_value_duration(arg, 365 * 86400, &seconds) == 0
        && (seconds < 0 || seconds > 365 * 86400))
        abort();
    if (alx_value_duration(arg, APR_INT64_MAX, &seconds) == 0 && seconds < 0)
        abort();
    if (alx_value_url(arg) == 0 && strncasecmp(arg, "http", 4) != 0)
        abort();
    return 0;
}

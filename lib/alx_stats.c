/* Placeholder: being written (lib/alx_stats.h). */
#include "alx_stats.h"

const apr_uint32_t alx_stats_bucket_ms[ALX_STATS_BUCKETS] = {
    50, 100, 250, 500, 1000, 2000, 3000, 4500, 10000, 30000
};

/* jansson values whose reference a pool owns. */
#include "alx_json.h"

static apr_status_t json_release(void *data)
{
    json_decref((json_t *)data);
    return APR_SUCCESS;
}

json_t *alx_json_own(apr_pool_t *p, json_t *v)
{
    if (v)
        apr_pool_cleanup_register(p, v, json_release, apr_pool_cleanup_null);
    return v;
}

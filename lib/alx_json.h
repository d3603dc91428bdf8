/* jansson values whose reference a pool owns. */
#ifndef ALX_JSON_H
#define ALX_JSON_H

#include <apr_pools.h>
#include <jansson.h>

/* Hands v's reference to the pool (json_decref at its cleanup), so no error
 * path can leak it; returns v (NULL stays NULL). */
json_t *alx_json_own(apr_pool_t *p, json_t *v);

#endif

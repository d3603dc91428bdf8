/* Placeholder: being written (lib/alx_authz.h). */
#include <string.h>
#include "alx_authz.h"

const char *alx_region_name(alx_region_e region)
{
    (void)region;
    return "-";
}

alx_region_e alx_authz_region(const char *host, const apr_array_header_t *hosts)
{
    (void)host; (void)hosts;
    return ALX_REGION_NONE;
}

void alx_authz_request_parse(apr_pool_t *p, const char *query, apr_size_t len,
                             const apr_array_header_t *hosts,
                             alx_authz_request_t *out)
{
    (void)p; (void)query; (void)len; (void)hosts;
    memset(out, 0, sizeof(*out));
}

const char *alx_authz_force_offline(apr_pool_t *p, const char *query,
                                    int *changed)
{
    (void)p;
    *changed = 0;
    return query;
}

const char *alx_state_fate_name(alx_state_fate_e fate)
{
    (void)fate;
    return "-";
}

void alx_authz_redirect(apr_pool_t *p, const char *location,
                        const apr_array_header_t *hosts,
                        const char *expected_state, int restore,
                        long long min_ttl, alx_redirect_t *out)
{
    (void)p; (void)hosts; (void)expected_state; (void)restore; (void)min_ttl;
    memset(out, 0, sizeof(*out));
    out->location = location;
}

/* The record of an Alexa authorization flow kept in the store while the
 * customer logs in: what the flow's first request said, so a later step
 * (a login form's POST) knows the state Alexa expects back. */
#ifndef ALX_FLOWREC_H
#define ALX_FLOWREC_H

#include <apr_pools.h>
#include <apr_time.h>

#include "alx_authz.h"

#define ALX_FLOWREC_MAX 2048    /* longer fields make a flow unrecorded */

typedef struct {
    apr_time_t started;
    alx_region_e region;
    const char *response_type;  /* "" when absent */
    const char *client_id;      /* "" when absent */
    const char *state;          /* "" when absent; a secret-ish value */
} alx_flowrec_t;

/* "F1 started region\nresponse_type\nclient_id\nstate": fields may hold any
 * byte but newline and NUL. NULL when a field has one, or the whole is
 * over ALX_FLOWREC_MAX. */
char *alx_flowrec_encode(apr_pool_t *p, const alx_flowrec_t *f,
                         apr_size_t *len);

/* APR_EINVAL for anything alx_flowrec_encode would not have written. */
apr_status_t alx_flowrec_decode(apr_pool_t *p, const char *data,
                                apr_size_t len, alx_flowrec_t *out);

#endif

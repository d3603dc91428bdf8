/* The authorization flow and its login pages (alexalink_authorize.c). */
#ifndef ALEXALINK_AUTHORIZE_H
#define ALEXALINK_AUTHORIZE_H

#include "alexalink_config.h"

#define ALX_FILTER_AUTHZ "ALEXALINK_AUTHZ"

int alexalink_authorize_fixups(request_rec *r);
void alexalink_authorize_insert_filter(request_rec *r);
apr_status_t alexalink_authorize_out_filter(ap_filter_t *f,
                                            apr_bucket_brigade *bb);
alx_authz_rec *alexalink_authz_get(request_rec *r);

#endif

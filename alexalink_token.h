/* The token endpoint (alexalink_token.c): the request side and the answer
 * filter. */
#ifndef ALEXALINK_TOKEN_H
#define ALEXALINK_TOKEN_H

#include "alexalink_exchange.h"

#define ALX_FILTER_TOKEN "ALEXALINK_TOKEN"
#define ALX_FILTER_BODY  "ALEXALINK_BODY"

int alexalink_token_fixups(request_rec *r);
int alexalink_token_handler(request_rec *r);
void alexalink_token_insert_filter(request_rec *r);
apr_status_t alexalink_token_body_filter(ap_filter_t *f, apr_bucket_brigade *bb,
                                   ap_input_mode_t mode,
                                   apr_read_type_e block, apr_off_t readbytes);
apr_status_t alexalink_token_out_filter(ap_filter_t *f, apr_bucket_brigade *bb);
alx_exchange_rec *alexalink_exchange_get(request_rec *r);
void alexalink_set_json_headers(request_rec *r);
/* Milliseconds since the request arrived. */
apr_int64_t alexalink_elapsed_ms(request_rec *r);

#endif

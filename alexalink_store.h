/* The grace store over mod_socache (alexalink_store.c). */
#ifndef ALEXALINK_STORE_H
#define ALEXALINK_STORE_H

#include "alexalink_config.h"
#include "alx_flight.h"
#include "alx_store.h"

/* Ids are ALX_GRACE_ID_LEN bytes; a stored value is at most
 * ALX_STORE_MAX_VALUE bytes (lib/alx_store.h; larger records are not
 * kept). */
int alexalink_store_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                          apr_pool_t *ptemp, server_rec *s);
void alexalink_store_child_init(apr_pool_t *p, server_rec *s);
int alexalink_store_available(request_rec *r);
int alexalink_store_shared(request_rec *r);
apr_status_t alexalink_store_get(request_rec *r, const unsigned char *id,
                           unsigned char *buf, unsigned int *len);
apr_status_t alexalink_store_put(request_rec *r, const unsigned char *id,
                           apr_time_t expiry, const unsigned char *data,
                           unsigned int len);

/* Authorization flows, in an instance of their own (ids as above). */
apr_status_t alexalink_store_flow_put(request_rec *r, const unsigned char *id,
                                      apr_time_t expiry, const char *data,
                                      apr_size_t len);
apr_status_t alexalink_store_flow_get(request_rec *r, const unsigned char *id,
                                      char *buf, apr_size_t *len);

/* A read-modify-write of one value under the store's mutex (lib/alx_store.h
 * says what fn gets and returns). */
apr_status_t alexalink_store_update(request_rec *r, const unsigned char *id,
                                    unsigned char *scratch, unsigned int cap,
                                    alx_store_update_fn fn, void *baton);

/* The in-flight table with the store's mutex held (NULL: no store, or the
 * lock failed and was counted); always paired with the unlock. */
alx_flight_t *alexalink_store_flight_lock(request_rec *r);
void alexalink_store_flight_unlock(request_rec *r);
/* Counts and logs (once a minute) a claim the full table refused. */
void alexalink_store_flight_full(request_rec *r);

/* alexalink_store_put of a new record, and its bookkeeping (maybe a probe,
 * maybe time to look whether earlier records were pushed out before their
 * window) in the same hold of the mutex. */
apr_status_t alexalink_store_put_record(request_rec *r,
                                        const unsigned char *id,
                                        apr_time_t expiry,
                                        const unsigned char *data,
                                        unsigned int len,
                                        apr_interval_time_t window);

#endif

/* mod_alexalink's private header: the glue split by concern
 * (mod_alexalink.c: configuration and hooks; alexalink_token.c: the token
 * endpoint; alexalink_log.c: its log line, notes and count;
 * alexalink_store.c: the socache store and our shared memory;
 * alexalink_grace.c: refresh grace and single flight; alexalink_proxy.c:
 * what mod_proxy will do with a request). Glue functions are alexalink_*, lib/ ones alx_*. */
#ifndef MOD_ALEXALINK_H
#define MOD_ALEXALINK_H

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"
#include "ap_socache.h"
#include "apr_global_mutex.h"
#include "apr_strings.h"

#include "alx_answer.h"
#include "alx_authz.h"
#include "alx_exchange.h"
#include "alx_flight.h"
#include "alx_grace.h"
#include "alx_once.h"
#include "alx_request.h"
#include "alx_stats.h"

#include "alexalink_config.h"
#include "alexalink_shared.h"

APLOG_USE_MODULE(alexalink);

#define ALX_FILTER_TOKEN "ALEXALINK_TOKEN"
#define ALX_FILTER_BODY  "ALEXALINK_BODY"
#define ALX_FILTER_AUTHZ "ALEXALINK_AUTHZ"
#define ALX_JSON_TYPE    "application/json;charset=UTF-8"

/* Refresh-grace state of one token request. */
typedef struct {
    int active;                 /* grace applies: record the answer */
    int claimed;                /* we hold a slot in the in-flight table */
    int cleanup;                /* the pool cleanup that releases is set */
    int remote_claimed;         /* and a claim in the shared store */
    unsigned int slot;
    apr_uint64_t ticket;        /* of our claims */
    apr_time_t extended;        /* when our claim's expiry last moved */
    int recorded;
    int chained;                /* refreshing with the successor */
    alx_grace_keys_t presented; /* keys of the token the client presented */
    alx_grace_keys_t sent;      /* keys of the token sent upstream */
    const char *sent_token;     /* refresh token sent upstream */
    int chain_counted;          /* the chained refresh counted a replay */
    int looked_again;           /* at the records, claim in hand */
    unsigned char *buf;         /* ALX_STORE_MAX_VALUE, reused while polling */
} alx_grace_state_t;

/* What one token exchange learned; lives in r->request_config. */
struct alx_exchange_rec {
    const alx_dir_conf *conf;
    alx_token_request_t req;
    int answer_status;          /* answered by alexalink_token_handler: */
    const char *answer_json;    /*   a rejection, replay or wait timeout */
    const char *answer_verdict; /*   rejected:<reason>, replayed, ... */
    alx_verdict_e answer_verdict_kind;
    apr_int64_t retry_after;   /* seconds, for a 503 of our own (0: 1) */
    const char *answer_content_type; /* NULL: JSON */
    int described;              /* its shape and TTL are set (a replay) */
    int truncated;              /* the upstream did not finish its answer */
    int answered;               /* the output filter saw the whole answer */
    int status_in;
    alx_answer_t answer;
    const char *verdict;        /* as the log prints it */
    alx_verdict_e verdict_kind; /* its first word, for counting */
    apr_int64_t ms;
    alx_grace_state_t grace;
};

/* alexalink_token.c */
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

/* alexalink_log.c: the exchange line and notes (log_transaction hook) */
int alexalink_log_exchange(request_rec *r);
/* Counts one exchange, after its line is logged (rejections included). */
void alexalink_status_exchange(request_rec *r, const alx_exchange_rec *x);

/* alexalink_store.c: ids are ALX_GRACE_ID_LEN bytes; a stored value is at
 * most ALX_STORE_MAX_VALUE bytes (larger records are not kept). */
#define ALX_STORE_MAX_VALUE 65536
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

/* A read-modify-write of one value under the store's mutex: fn gets what
 * is stored (data NULL when nothing) and says what to do. */
typedef enum {
    ALX_STORE_KEEP = 0,
    ALX_STORE_PUT,      /* *out, *out_len until *expiry */
    ALX_STORE_REMOVE
} alx_store_change_e;
typedef alx_store_change_e (*alexalink_store_update_fn)(
    void *baton, const unsigned char *data, unsigned int len,
    const unsigned char **out, unsigned int *out_len, apr_time_t *expiry);
apr_status_t alexalink_store_update(request_rec *r, const unsigned char *id,
                                    unsigned char *scratch, unsigned int cap,
                                    alexalink_store_update_fn fn, void *baton);

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


/* alexalink_authorize.c */
int alexalink_authorize_fixups(request_rec *r);
void alexalink_authorize_insert_filter(request_rec *r);
apr_status_t alexalink_authorize_out_filter(ap_filter_t *f,
                                            apr_bucket_brigade *bb);
alx_authz_rec *alexalink_authz_get(request_rec *r);

/* alexalink_status.c: the status page and what it counts */
void alexalink_status_register_hooks(void);
void alexalink_status_count(request_rec *r, alx_stat_e counter);
void alexalink_status_event(request_rec *r, alx_event_t *e);

/* alexalink_proxy.c */
void alexalink_proxy_post_config(server_rec *s);
apr_interval_time_t alexalink_proxy_timeout(request_rec *r);

/* alexalink_grace.c */
int alexalink_grace_before_proxy(request_rec *r, alx_exchange_rec *x,
                           const char **body, apr_size_t *len);
/* The answer as sent (status, type, body): recorded when a rotation, and
 * handed to the duplicates that waited on this request. */
void alexalink_grace_after_answer(request_rec *r, alx_exchange_rec *x,
                                  int status, const char *content_type,
                                  const char *body, apr_size_t len);
/* Keeps our claim alive while a slow upstream is still sending. */
void alexalink_grace_extend(request_rec *r, alx_exchange_rec *x);
/* Ends our claims without an answer; again is harmless. Also run by a
 * request-pool cleanup once a claim is taken. */
void alexalink_grace_release(request_rec *r, alx_exchange_rec *x);

#endif

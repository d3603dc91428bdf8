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

#include "alx_alexa.h"
#include "alx_answer.h"
#include "alx_authz.h"
#include "alx_exchange.h"
#include "alx_flight.h"
#include "alx_grace.h"
#include "alx_once.h"
#include "alx_refresh.h"
#include "alx_request.h"
#include "alx_stats.h"
#include "alx_vocab.h"

APLOG_USE_MODULE(alexalink);

#define ALX_FILTER_TOKEN "ALEXALINK_TOKEN"
#define ALX_FILTER_BODY  "ALEXALINK_BODY"
#define ALX_FILTER_AUTHZ "ALEXALINK_AUTHZ"
#define ALX_JSON_TYPE    "application/json;charset=UTF-8"

/* Every per-location setting, declared once: the struct, its defaults,
 * create, merge, getters, the directive table and its help text all come
 * from this list (mod_alexalink.c). A row is
 *   X(field, C type, default, default as the help text says it, directive,
 *     argument kind, how the value is read, what it means)
 * the kinds and readers being those of mod_alexalink.c. */
#define ALX_DIR_CONF(X) \
    X(role, int, ALX_ROLE_OFF, "off", "AlexaLink", TAKE1, KEYWORDS(role), \
      "the role of this location: token, authorize or off") \
    X(report, int, 0, "enforce", "AlexaLinkMode", TAKE1, KEYWORDS(mode), \
      "enforce or report: detect and log, change nothing") \
    X(min_ttl, apr_int64_t, 600, "600", "AlexaLinkMinTTL", TAKE1, \
      SECONDS(ALX_MAX_TTL), "floor for expires_in in seconds (0 disables)") \
    X(default_ttl, apr_int64_t, 3600, "3600", "AlexaLinkDefaultTTL", TAKE1, \
      SECONDS(ALX_MAX_TTL), "expires_in inserted when the upstream sends " \
      "none (0 leaves it absent)") \
    X(refresh_grace, apr_interval_time_t, apr_time_from_sec(86400), "86400", \
      "AlexaLinkRefreshGrace", TAKE1, INTERVAL(ALX_MAX_GRACE), \
      "seconds a rotated refresh token keeps working (0 disables)") \
    X(grace_replays, int, ALX_GRACE_REPLAYS, ALX_ALEXA_STR(ALX_GRACE_REPLAYS), \
      "AlexaLinkGraceReplays", TAKE1, \
      COUNT(1000), "how often one rotated refresh token may be answered " \
      "from the grace store") \
    X(keep_refresh, int, 1, "On", "AlexaLinkKeepRefreshToken", FLAG, ONOFF(), \
      "give a refresh answer without refresh_token the presented one back") \
    X(client_auth, int, ALX_AUTH_AS_IS, "as-is", "AlexaLinkClientAuth", \
      TAKE1, KEYWORDS(client_auth), "client authentication the upstream " \
      "wants: as-is, basic or body") \
    X(time_budget, apr_interval_time_t, \
      apr_time_from_msec(ALX_ALEXA_TIME_LIMIT_MS), ALX_ALEXA_TIME_LIMIT_TEXT, \
      "AlexaLinkTimeBudget", TAKE1, DECIMAL(), "seconds after which an " \
      "answer is logged as over budget") \
    X(max_body, apr_off_t, 65536, "65536", "AlexaLinkMaxBody", TAKE1, SIZE(), \
      "largest request or response body buffered (k and m suffixes)") \
    X(redirect_hosts, const apr_array_header_t *, NULL, \
      ALX_ALEXA_HOSTS, \
      "AlexaLinkRedirectHosts", TAKE_ARGV, HOSTS(), \
      "hosts that mark a redirect as going back to Alexa") \
    X(domain_list, const apr_array_header_t *, NULL, "none", \
      "AlexaLinkDomainList", TAKE_ARGV, HOSTS(), \
      "the skill's Domain List: hosts login pages may pull content from") \
    X(force_offline, int, 0, "Off", "AlexaLinkForceOffline", FLAG, ONOFF(), \
      "add access_type=offline and prompt=consent to authorization requests")

#define ALX_MAX_TTL   (10 * 365 * 86400)  /* ten years: larger is a typo */
#define ALX_MAX_GRACE (30 * 86400)
/* AlexaLinkGraceReplays' default: a lost answer comes back a few times
 * (Alexa's retries, duplicates from several devices); many more from one
 * old token look more like a copy of it than a retry. */
#define ALX_GRACE_REPLAYS 8

#define ALX_CONF_FIELD(field, type, ...) type field;
#define ALX_CONF_INDEX(field, ...) ALX_CONF_##field,
enum { ALX_DIR_CONF(ALX_CONF_INDEX) ALX_CONF_FIELDS };

typedef struct {
    apr_uint32_t set;   /* bit ALX_CONF_<field>: said in this section */
    ALX_DIR_CONF(ALX_CONF_FIELD)
} alx_dir_conf;

#define ALX_CONF_GETTER(field, type, ...) \
    static APR_INLINE type alexalink_conf_##field(const alx_dir_conf *c) \
    { return c->field; }
ALX_DIR_CONF(ALX_CONF_GETTER)

typedef struct alx_store alx_store_t;

/* Server-wide; AlexaLinkCache lives in the main server's. */
typedef struct {
    const ap_socache_provider_t *provider;
    const char *provider_name;
    const char *provider_args;
    int disabled;           /* AlexaLinkCache none */
    alx_store_t *store;     /* set for every server in post_config */
    module *proxy_module;   /* mod_proxy, when loaded (alexalink_proxy.c) */
    void *proxy_get_worker; /* its ap_proxy_get_worker */
    void *proxy_get_balancer; /* its ap_proxy_get_balancer */
    const alx_crypto_t *crypto; /* this process's, set in child_init */
    int status_events;          /* AlexaLinkStatusEvents (main server) */
    unsigned int vhost_index;   /* this server's block of the counters */
    alx_stats_t *stats;         /* set for every server in post_config */
} alx_server_conf;


/* What one token exchange learned; lives in r->request_config. */
typedef struct {
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
    alx_refresh_t grace;        /* the refresh protocol's (alexalink_grace.c) */
} alx_exchange_rec;

/* What one request's hooks share: one of these per role. */
typedef struct alx_authz_rec alx_authz_rec;
typedef struct {
    alx_exchange_rec *exchange;
    alx_authz_rec *authz;
} alx_request_rec;

/* mod_alexalink.c */
alx_request_rec *alexalink_request_slot(request_rec *r);
const char *alexalink_vhost_name(apr_pool_t *p, const server_rec *s);
alx_server_conf *alexalink_server_conf_get(server_rec *s);

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
const char *alexalink_store_set_cache(cmd_parms *cmd, void *cfg, const char *arg);
int alexalink_store_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                         apr_pool_t *ptemp);
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
typedef alx_store_update_fn alexalink_store_update_fn;
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

/* alexalink_status_once, kept for its callers: the once-table lives in
 * the status segment, which exists without a store. */
int alexalink_store_once(request_rec *r, apr_uint64_t key,
                         apr_interval_time_t interval);

/* alexalink_authorize.c */
int alexalink_authorize_fixups(request_rec *r);
void alexalink_authorize_insert_filter(request_rec *r);
apr_status_t alexalink_authorize_out_filter(ap_filter_t *f,
                                            apr_bucket_brigade *bb);
alx_authz_rec *alexalink_authz_get(request_rec *r);

/* alexalink_status.c: the status page and what it counts */
const char *alexalink_status_set_events(cmd_parms *cmd, void *cfg,
                                        const char *arg);
int alexalink_status_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                 apr_pool_t *ptemp, server_rec *s);
void alexalink_status_register_hooks(void);
void alexalink_status_count(request_rec *r, alx_stat_e counter);
void alexalink_status_event(request_rec *r, alx_event_t *e);
/* True when key was not said within interval by any child (and now is);
 * lock-free, in the status segment, so it works with AlexaLinkCache none. */
int alexalink_status_once(request_rec *r, apr_uint64_t key,
                          apr_interval_time_t interval);
/* A segment's layout version as this build stamps and expects it (in a
 * build with test hooks, `Define ALX_TEST_LAYOUT_SKEW` moves it, as an
 * upgrade would). */
apr_uint32_t alexalink_layout(apr_uint32_t layout);
void alexalink_status_recorded(request_rec *r);
void alexalink_status_outage(request_rec *r);
void alexalink_status_survival(request_rec *r, apr_uint64_t lost,
                               apr_int64_t survival_s);
/* alexalink_store.c: the provider's name ("none") and shmcb's size (0). */
void alexalink_store_describe(request_rec *r, const char **name,
                              apr_uint64_t *capacity);

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

#endif

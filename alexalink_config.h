/* The module's configuration: every directive, the per-location and the
 * server-wide records they fill, and the getters every glue room reads
 * them with (inlines here, so that no room calls up into mod_alexalink.c). */
#ifndef ALEXALINK_CONFIG_H
#define ALEXALINK_CONFIG_H

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"
#include "ap_socache.h"
#include "apr_strings.h"

#include "alx_alexa.h"
#include "alx_grace.h"
#include "alx_link.h"
#include "alx_request.h"
#include "alx_stats.h"
#include "alx_vocab.h"

APLOG_USE_MODULE(alexalink);

/* Every per-location setting, declared once: the struct, its defaults,
 * create, merge, getters, the directive table and its help text all come
 * from this list (alexalink_config.c). A row is
 *   X(field, C type, default, default as the help text says it, directive,
 *     argument kind, how the value is read, what it means)
 * the kinds and readers being those of alexalink_config.c. */
#define ALX_DIR_CONF(X) \
    X(role, int, ALX_ROLE_OFF, "off", "AlexaLink", TAKE1, KEYWORDS(role), \
      "the role of this location: token, authorize or off") \
    X(report, int, 0, "enforce", "AlexaLinkMode", TAKE1, KEYWORDS(mode), \
      "enforce or report: detect and log, change nothing") \
    X(min_ttl, apr_int64_t, 600, "600", "AlexaLinkMinTTL", TAKE1, \
      SECONDS(ALX_MAX_TTL), "floor for expires_in in seconds (0 disables)") \
    X(default_ttl, apr_int64_t, 3600, "3600", "AlexaLinkDefaultTTL", TAKE1, \
      TTL(ALX_MAX_TTL), "expires_in inserted when the upstream sends none " \
      "and the token's own lifetime cannot be read (console or 0 leaves " \
      "it absent)") \
    X(refresh_grace, apr_interval_time_t, apr_time_from_sec(86400), "86400", \
      "AlexaLinkRefreshGrace", TAKE1, INTERVAL(ALX_MAX_GRACE), \
      "seconds a rotated refresh token keeps working (0 disables)") \
    X(grace_replays, int, ALX_GRACE_REPLAYS, APR_STRINGIFY(ALX_GRACE_REPLAYS), \
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
    X(force_offline, int, ALX_OFFLINE_OFF, "off", "AlexaLinkForceOffline", \
      TAKE1, KEYWORDS(force_offline), "ask the upstream for a refresh " \
      "token: off, google (or On: access_type=offline, prompt=consent), " \
      "oidc (scope offline_access) or both") \
    X(keepalive, apr_int64_t, 0, "off", "AlexaLinkKeepAlive", TAKE1, \
      KEEPALIVE(ALX_MAX_TTL), "keep quiet customers linked: refresh a " \
      "link upstream when nobody has for this long (s, m, h or d; off)") \
    X(keepalive_for, apr_int64_t, ALX_KEEPALIVE_FOR, "180d", \
      "AlexaLinkKeepAliveFor", TAKE1, DURATION(ALX_MAX_TTL), "stop " \
      "keeping a link alive when Alexa has not used it for this long") \
    X(keepalive_url, const char *, NULL, "the location's ProxyPass target", \
      "AlexaLinkKeepAliveURL", TAKE1, URL(), "the upstream token URL the " \
      "keep-alive refreshes at (absolute http or https)")

#define ALX_MAX_TTL   (10 * 365 * 86400)  /* ten years: larger is a typo */
#define ALX_MAX_GRACE (30 * 86400)
#define ALX_KEEPALIVE_FOR (180 * 86400)
/* AlexaLinkGraceReplays' default: a lost answer comes back a few times
 * (Alexa's retries, duplicates from several devices); many more from one
 * old token look more like a copy of it than a retry. */
#define ALX_GRACE_REPLAYS 8
/* AlexaLinkStatusEvents: its default and its bound */
#define ALX_STATUS_EVENTS     200
#define ALX_STATUS_MAX_EVENTS 100000

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
typedef struct alx_keepalive_keys alx_keepalive_keys_t;
typedef struct alx_shared alx_shared_t;

/* Server-wide; AlexaLinkCache lives in the main server's. */
typedef struct {
    const ap_socache_provider_t *provider;
    const char *provider_name;
    const char *provider_args;
    ap_socache_instance_t *instance;  /* made when AlexaLinkCache is read */
    int disabled;           /* AlexaLinkCache none */
    alx_store_t *store;     /* set for every server in post_config */
    alx_shared_t *shared;   /* the shared memory's handle, the same */
    module *proxy_module;   /* mod_proxy, when loaded (alexalink_proxy.c) */
    void *proxy_get_worker; /* its ap_proxy_get_worker */
    void *proxy_get_balancer; /* its ap_proxy_get_balancer */
    const alx_crypto_t *crypto; /* this process's, set in child_init */
    const char *vhost;          /* name:port, set in child_init */
    volatile apr_uint32_t links_table_made; /* alexalink_linkstore.c */
    int status_events;          /* AlexaLinkStatusEvents (main server) */
    unsigned int vhost_index;   /* this server's block of the counters */
    alx_stats_t *stats;         /* set for every server in post_config */
    /* AlexaLinkKeepAliveKey: read as the directive is; a vhost without
     * its own gets the main server's in check_config */
    alx_keepalive_keys_t *keepalive_keys;
    /* AlexaLinkKeepAlive on in one of this server's sections: where it
     * was said (for configtest's line), and its shortest interval */
    const char *keepalive_where;
    apr_int64_t keepalive_min;
} alx_server_conf;

/* What one request's hooks share: one of these per role. */
typedef struct alx_exchange_rec alx_exchange_rec;
typedef struct alx_authz_rec alx_authz_rec;
typedef struct {
    alx_exchange_rec *exchange;
    alx_authz_rec *authz;
} alx_request_rec;

/* The module record, mod_alexalink.c's, handed down when its hooks are
 * registered (LoadModule does that before any directive is read): every
 * room reads its configuration through it. */
extern module *alexalink_config_module;
void alexalink_config_register(module *m);

/* What the module record points at. */
extern const command_rec alexalink_config_cmds[];
void *alexalink_config_create_dir(apr_pool_t *p, char *dir);
void *alexalink_config_merge_dir(apr_pool_t *p, void *basev, void *addv);
void *alexalink_config_create_server(apr_pool_t *p, server_rec *s);

static APR_INLINE alx_server_conf *alexalink_server_conf_get(
    const server_rec *s)
{
    return ap_get_module_config(s->module_config, alexalink_config_module);
}

static APR_INLINE void alexalink_server_conf_set(server_rec *s,
                                                 alx_server_conf *sc)
{
    ap_set_module_config(s->module_config, alexalink_config_module, sc);
}

static APR_INLINE const alx_dir_conf *alexalink_dir_conf_get(
    const ap_conf_vector_t *per_dir_config)
{
    return ap_get_module_config(per_dir_config, alexalink_config_module);
}

/* This request's records, NULL until a role's hook made them. */
static APR_INLINE alx_request_rec *alexalink_request_get(const request_rec *r)
{
    return ap_get_module_config(r->request_config, alexalink_config_module);
}

/* This request's records, made on first use. */
alx_request_rec *alexalink_request_slot(request_rec *r);

/* A vhost as the log, the once-an-hour lines and the status page name it. */
const char *alexalink_vhost_name(apr_pool_t *p, const server_rec *s);

/* The keep-alive keys of s (AlexaLinkKeepAliveKey; the main server's
 * when s has none): keys[0] seals, the others only open what they sealed.
 * NULL and *nkeys 0 when none is configured. */
const alx_link_key_t *alexalink_keepalive_keys(server_rec *s, int *nkeys);

/* configtest's checks across directives (check_config): AlexaLinkKeepAlive
 * needs a key and mod_dbd. */
int alexalink_config_check(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp, server_rec *s);

/* Per-process setup: the OpenSSL objects every vhost's refresh grace uses. */
void alexalink_config_child_init(apr_pool_t *p, server_rec *s);

#endif

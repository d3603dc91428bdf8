/* The directives: every per-location setting is one row of ALX_DIR_CONF
 * (alexalink_config.h), which makes the struct, create, merge, getters and
 * the directive table with its help; AlexaLinkCache makes its socache
 * provider's instance as it is read, so that configtest sees what the
 * provider refuses. */

#include <stddef.h>
#include <strings.h>

#include "alexalink_config.h"
#include "http_log.h"
#include "ap_provider.h"
#include "apr_strings.h"
#include "alx_values.h"

module *alexalink_config_module;

void alexalink_config_register(module *m)
{
    alexalink_config_module = m;
}

/* ---- every row of ALX_DIR_CONF (alexalink_config.h) -------------------- */

typedef struct {
    const char *name;
    int value;
} alx_word_t;

#define ROLE_WORD(id, value, word) {word, ALX_ROLE_##id},
static const alx_word_t role_words[] = { ALX_ROLES(ROLE_WORD) {NULL, 0} };
#define OFFLINE_WORD(id, value, word) {word, ALX_OFFLINE_##id},
static const alx_word_t force_offline_words[] = {
    ALX_OFFLINE_WAYS(OFFLINE_WORD) {"on", ALX_OFFLINE_GOOGLE}, {NULL, 0}
};
static const alx_word_t mode_words[] = {
    {"enforce", 0}, {"report", 1}, {NULL, 0}
};
static const alx_word_t client_auth_words[] = {
    {"as-is", ALX_AUTH_AS_IS}, {"basic", ALX_AUTH_BASIC},
    {"body", ALX_AUTH_BODY}, {NULL, 0}
};

typedef struct alx_directive alx_directive_t;
/* Reads the directive's arguments into field, or says what it takes. */
typedef const char *(*alx_read_fn)(cmd_parms *cmd, const alx_directive_t *d,
                                   void *field, int argc, char *const argv[]);
struct alx_directive {
    alx_read_fn read;
    const alx_word_t *words;    /* keyword directives */
    apr_int64_t max;            /* numeric ones */
    apr_size_t offset;
    unsigned int index;
};

static const char *read_words(cmd_parms *cmd, const alx_directive_t *d,
                              void *field, int argc, char *const argv[])
{
    const alx_word_t *w;
    const char *accepted = "";

    (void)argc;
    for (w = d->words; w->name; w++)
        if (!strcasecmp(argv[0], w->name)) {
            *(int *)field = w->value;
            return NULL;
        }
    for (w = d->words; w->name; w++)
        accepted = apr_pstrcat(cmd->temp_pool, accepted,
                               w == d->words ? "" : w[1].name ? ", " : " or ",
                               w->name, NULL);
    return apr_psprintf(cmd->pool, "%s takes %s, not '%s'", cmd->cmd->name,
                        accepted, argv[0]);
}

static const char *read_seconds(cmd_parms *cmd, const alx_directive_t *d,
                                void *field, int argc, char *const argv[])
{
    (void)argc;
    if (alx_value_seconds(argv[0], d->max, field) != 0)
        return apr_psprintf(cmd->pool, "%s takes whole seconds from 0 to %"
                            APR_INT64_T_FMT " (0 disables), not '%s'",
                            cmd->cmd->name, d->max, argv[0]);
    return NULL;
}

/* AlexaLinkDefaultTTL: console is 0, which leaves expires_in absent so the
 * skill console's Default Access Token Expiration Time applies. */
static const char *read_ttl(cmd_parms *cmd, const alx_directive_t *d,
                            void *field, int argc, char *const argv[])
{
    if (!strcasecmp(argv[0], "console")) {
        *(apr_int64_t *)field = 0;
        return NULL;
    }
    if (alx_value_seconds(argv[0], d->max, field) != 0)
        return apr_psprintf(cmd->pool, "%s takes whole seconds from 0 to %"
                            APR_INT64_T_FMT ", or console (as 0: no "
                            "expires_in, the skill console's default "
                            "applies), not '%s'", cmd->cmd->name, d->max,
                            argv[0]);
    (void)argc;
    return NULL;
}

static const char *read_interval(cmd_parms *cmd, const alx_directive_t *d,
                                 void *field, int argc, char *const argv[])
{
    apr_int64_t sec;
    const char *err = read_seconds(cmd, d, &sec, argc, argv);

    if (!err)
        *(apr_interval_time_t *)field = apr_time_from_sec(sec);
    return err;
}

static const char *read_count(cmd_parms *cmd, const alx_directive_t *d,
                              void *field, int argc, char *const argv[])
{
    apr_int64_t n;

    (void)argc;
    if (alx_value_seconds(argv[0], d->max, &n) != 0)
        return apr_psprintf(cmd->pool, "%s takes a whole number from 0 to %"
                            APR_INT64_T_FMT ", not '%s'", cmd->cmd->name,
                            d->max, argv[0]);
    *(int *)field = (int)n;
    return NULL;
}

static const char *read_decimal(cmd_parms *cmd, const alx_directive_t *d,
                                void *field, int argc, char *const argv[])
{
    (void)d;
    (void)argc;
    if (alx_value_decimal_seconds(argv[0], field) != 0)
        return apr_psprintf(cmd->pool, "%s takes seconds above 0, up to 3600, "
                            "with up to 3 decimals (e.g. 4.5), not '%s'",
                            cmd->cmd->name, argv[0]);
    return NULL;
}

static const char *read_size(cmd_parms *cmd, const alx_directive_t *d,
                             void *field, int argc, char *const argv[])
{
    (void)d;
    (void)argc;
    if (alx_value_size(argv[0], field) != 0)
        return apr_psprintf(cmd->pool, "%s takes a byte count above 0 with an "
                            "optional k or m suffix (e.g. 65536, 64k, 1m), "
                            "up to 64m, not '%s'", cmd->cmd->name, argv[0]);
    return NULL;
}

/* FLAG directives arrive with argv[0] "On" or "Off" (set_FLAG). */
static const char *read_flag(cmd_parms *cmd, const alx_directive_t *d,
                             void *field, int argc, char *const argv[])
{
    (void)cmd;
    (void)d;
    (void)argc;
    *(int *)field = argv[0][1] == 'n';
    return NULL;
}

/* A list replaces the inherited one; "none" alone empties it. */
static const char *read_hosts(cmd_parms *cmd, const alx_directive_t *d,
                              void *field, int argc, char *const argv[])
{
    apr_array_header_t *hosts = apr_array_make(cmd->pool, argc ? argc : 1,
                                               sizeof(const char *));
    int i;

    (void)d;
    if (argc == 0)
        return apr_psprintf(cmd->pool, "%s takes one or more host names, or "
                            "none", cmd->cmd->name);
    for (i = 0; i < argc && !(argc == 1 && !strcasecmp(argv[0], "none"));
         i++) {
        if (alx_value_host(argv[i]) != 0)
            return apr_psprintf(cmd->pool, "%s takes host names (e.g. "
                                "cdn.example.com or *.example.com; no scheme "
                                "or path) or none, not '%s'", cmd->cmd->name,
                                argv[i]);
        APR_ARRAY_PUSH(hosts, const char *) = apr_pstrdup(cmd->pool, argv[i]);
    }
    *(const apr_array_header_t **)field = hosts;
    return NULL;
}

#define KEYWORDS(t)    read_words, t##_words, 0
#define SECONDS(max)   read_seconds, NULL, max
#define TTL(max)       read_ttl, NULL, max
#define INTERVAL(max)  read_interval, NULL, max
#define COUNT(max)     read_count, NULL, max
#define DECIMAL()      read_decimal, NULL, 0
#define SIZE()         read_size, NULL, 0
#define ONOFF()        read_flag, NULL, 0
#define HOSTS()        read_hosts, NULL, 0
#define ALX_CONF_DIRECTIVE(field, type, def, deftext, name, how, reader, help) \
    {reader, offsetof(alx_dir_conf, field), ALX_CONF_##field},
static const alx_directive_t directives[] = {
    ALX_DIR_CONF(ALX_CONF_DIRECTIVE)
};

static const char *set_argv(cmd_parms *cmd, void *cfg, int argc,
                            char *const argv[])
{
    const alx_directive_t *d = cmd->info;
    const char *err = d->read(cmd, d, (char *)cfg + d->offset, argc, argv);

    if (!err)
        ((alx_dir_conf *)cfg)->set |= 1u << d->index;
    return err;
}

static const char *set_TAKE1(cmd_parms *cmd, void *cfg, const char *arg)
{
    char *argv[1];

    argv[0] = (char *)arg;
    return set_argv(cmd, cfg, 1, argv);
}

static const char *set_FLAG(cmd_parms *cmd, void *cfg, int on)
{
    char *argv[1];

    argv[0] = on ? "On" : "Off";
    return set_argv(cmd, cfg, 1, argv);
}

#define set_TAKE_ARGV set_argv

void *alexalink_config_create_dir(apr_pool_t *p, char *dir)
{
    alx_dir_conf *c = apr_palloc(p, sizeof(*c));

    (void)dir;
    c->set = 0;
#define ALX_CONF_DEFAULT(field, type, def, ...) c->field = def;
    ALX_DIR_CONF(ALX_CONF_DEFAULT)
    return c;
}

void *alexalink_config_merge_dir(apr_pool_t *p, void *basev, void *addv)
{
    const alx_dir_conf *base = basev, *add = addv;
    alx_dir_conf *c = apr_palloc(p, sizeof(*c));

    c->set = base->set | add->set;
#define ALX_CONF_MERGE(field, ...) \
    c->field = add->set & (1u << ALX_CONF_##field) ? add->field : base->field;
    ALX_DIR_CONF(ALX_CONF_MERGE)
    return c;
}

/* ---- the server-wide directives -------------------------------------- */

static const char *set_cache(cmd_parms *cmd, void *cfg, const char *arg)
{
    alx_server_conf *sc = alexalink_server_conf_get(cmd->server);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    const char *colon;

    (void)cfg;
    if (err)
        return err;
    colon = ap_strchr_c(arg, ':');
    sc->provider_name = colon ? apr_pstrmemdup(cmd->pool, arg, colon - arg)
                              : arg;
    sc->provider_args = colon ? colon + 1 : NULL;
    if (!strcasecmp(sc->provider_name, "none")) {
        sc->disabled = 1;
        return NULL;
    }
    sc->provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP,
                                      sc->provider_name,
                                      AP_SOCACHE_PROVIDER_VERSION);
    if (!sc->provider)
        return apr_psprintf(cmd->pool, "%s: no socache provider '%s' is "
                            "loaded; use shmcb, redis, memcache, dbm or none "
                            "and load its module first (e.g. a2enmod "
                            "socache_%s)", cmd->cmd->name, sc->provider_name,
                            sc->provider_name);
    /* as the provider's other users do: what it refuses, configtest says */
    err = sc->provider->create(&sc->instance, sc->provider_args,
                               cmd->temp_pool, cmd->pool);
    if (err)
        return apr_psprintf(cmd->pool, "%s %s: %s", cmd->cmd->name,
                            sc->provider_name, err);
    return NULL;
}

static const char *set_status_events(cmd_parms *cmd, void *cfg,
                                     const char *arg)
{
    alx_server_conf *sc = alexalink_server_conf_get(cmd->server);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    apr_int64_t n;

    (void)cfg;
    if (err)
        return err;
    if (alx_value_seconds(arg, ALX_STATUS_MAX_EVENTS, &n) != 0 || n < 1)
        return apr_psprintf(cmd->pool, "%s takes a whole number from 1 to "
                            "%d, not '%s'", cmd->cmd->name,
                            ALX_STATUS_MAX_EVENTS, arg);
    sc->status_events = (int)n;
    return NULL;
}

/* The per-location settings belong to a location (SPEC "Directives",
 * context dir): <Location>, <Directory> and the like, never the server
 * config, where a role would reach every request. The server-wide ones are
 * RSRC_CONF, and the main server's only. */
#define ALX_CONF_SCOPE ACCESS_CONF
#define ALX_CONF_COMMAND(field, type, def, deftext, name, how, reader, help) \
    AP_INIT_##how(name, set_##how, (void *)&directives[ALX_CONF_##field], \
                  ALX_CONF_SCOPE, help " (default " deftext ")"),
const command_rec alexalink_config_cmds[] = {
    ALX_DIR_CONF(ALX_CONF_COMMAND)
    AP_INIT_TAKE1("AlexaLinkCache", set_cache, NULL, RSRC_CONF,
                  "socache provider and arguments for the grace store "
                  "(default shmcb with a 4 MiB segment)"),
    AP_INIT_TAKE1("AlexaLinkStatusEvents", set_status_events, NULL,
                  RSRC_CONF, "size of the status page's recent-events ring "
                  "(default 200)"),
    {NULL, {NULL}, NULL, 0, 0, NULL}
};

/* ---- server configuration and the request's records ------------------ */

void *alexalink_config_create_server(apr_pool_t *p, server_rec *s)
{
    (void)s;
    return apr_pcalloc(p, sizeof(alx_server_conf));
}

alx_request_rec *alexalink_request_slot(request_rec *r)
{
    alx_request_rec *s = alexalink_request_get(r);

    if (!s) {
        s = apr_pcalloc(r->pool, sizeof(*s));
        ap_set_module_config(r->request_config, alexalink_config_module, s);
    }
    return s;
}

/* A vhost as the log, the once-an-hour lines and the status page name it:
 * "name:port", the port it serves on when its ServerName has none, so that
 * vhosts sharing a name on other ports stay apart. */
static const char *vhost_name(apr_pool_t *p, const server_rec *s)
{
    unsigned int port = s->port ? s->port
                        : s->addrs ? s->addrs->host_port : 0;

    return apr_psprintf(p, "%s:%u", s->server_hostname, port);
}

/* A child names its vhosts once (child_init); before, each call does. */
const char *alexalink_vhost_name(apr_pool_t *p, const server_rec *s)
{
    const char *named = alexalink_server_conf_get(s)->vhost;

    return named ? named : vhost_name(p, s);
}

/* Per-process setup, never per request: the OpenSSL objects every vhost's
 * refresh grace uses. Without them grace is off in this process. */
void alexalink_config_child_init(apr_pool_t *p, server_rec *s)
{
    alx_crypto_t *crypto;
    server_rec *vs;

    if (alx_crypto_create(p, &crypto) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "ALX0207: cannot fetch "
                     "HMAC-SHA256 and AES-256-GCM from OpenSSL; refresh grace "
                     "is off in this process");
        crypto = NULL;
    }
    for (vs = s; vs; vs = vs->next) {
        alx_server_conf *sc = alexalink_server_conf_get(vs);

        sc->crypto = crypto;
        sc->vhost = vhost_name(p, vs);
    }
}


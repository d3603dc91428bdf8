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

#include <openssl/crypto.h>

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

/* AlexaLinkKeepAlive: off (or 0), or a duration; where it is on is
 * remembered in the server's record, for configtest's checks across
 * directives and the watchdog's interval. */
static const char *read_keepalive(cmd_parms *cmd, const alx_directive_t *d,
                                  void *field, int argc, char *const argv[])
{
    alx_server_conf *sc = alexalink_server_conf_get(cmd->server);
    apr_int64_t v;

    (void)argc;
    if (!strcasecmp(argv[0], "off"))
        v = 0;
    else if (alx_value_duration(argv[0], d->max, &v) != 0)
        return apr_psprintf(cmd->pool, "%s takes off or a duration from 1s "
                            "to %" APR_INT64_T_FMT "d (digits with an "
                            "optional s, m, h or d suffix, e.g. 25m or 20d), "
                            "not '%s'", cmd->cmd->name, d->max / 86400,
                            argv[0]);
    *(apr_int64_t *)field = v;
    if (v > 0) {
        if (!sc->keepalive_where)
            sc->keepalive_where = apr_psprintf(cmd->pool, "%s:%d",
                                               cmd->directive->filename,
                                               cmd->directive->line_num);
        if (!sc->keepalive_min || v < sc->keepalive_min)
            sc->keepalive_min = v;
    }
    return NULL;
}

static const char *read_duration(cmd_parms *cmd, const alx_directive_t *d,
                                 void *field, int argc, char *const argv[])
{
    apr_int64_t v;

    (void)argc;
    if (alx_value_duration(argv[0], d->max, &v) != 0 || v == 0)
        return apr_psprintf(cmd->pool, "%s takes a duration from 1s to %"
                            APR_INT64_T_FMT "d (digits with an optional s, "
                            "m, h or d suffix, e.g. 180d), not '%s'",
                            cmd->cmd->name, d->max / 86400, argv[0]);
    *(apr_int64_t *)field = v;
    return NULL;
}

static const char *read_url(cmd_parms *cmd, const alx_directive_t *d,
                            void *field, int argc, char *const argv[])
{
    (void)d;
    (void)argc;
    if (alx_value_url(argv[0]) != 0)
        return apr_psprintf(cmd->pool, "%s takes an absolute http or https "
                            "URL (e.g. https://idp.example.com/oauth/token; "
                            "no user info or fragment), not '%s'",
                            cmd->cmd->name, argv[0]);
    *(const char **)field = apr_pstrdup(cmd->pool, argv[0]);
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
#define KEEPALIVE(max) read_keepalive, NULL, max
#define DURATION(max)  read_duration, NULL, max
#define URL()          read_url, NULL, 0
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

/* AlexaLinkKeepAliveKey FILE...: the first seals, the others (keys being
 * replaced) only open what they sealed. Read here, as root, when the
 * configuration is: the children never open the file. */
#define ALX_KEEPALIVE_KEYS     4
#define ALX_KEEPALIVE_KEY_MAX  65536   /* larger is not a key file */

struct alx_keepalive_keys {
    alx_link_key_t key[ALX_KEEPALIVE_KEYS];
    int n;
};

static const char *key_file_bytes(cmd_parms *cmd, const char *path,
                                  unsigned char **bytes, apr_size_t *len)
{
    apr_finfo_t fi;
    apr_file_t *f;
    apr_status_t rv;
    char err[128];

    rv = apr_stat(&fi, path, APR_FINFO_TYPE | APR_FINFO_PROT | APR_FINFO_SIZE,
                  cmd->temp_pool);
    if (rv == APR_SUCCESS && fi.filetype != APR_REG)
        return apr_psprintf(cmd->pool, "%s: %s is not a regular file",
                            cmd->cmd->name, path);
    if (rv == APR_SUCCESS && (fi.protection & APR_FPROT_WREAD))
        return apr_psprintf(cmd->pool, "%s: others can read %s; make it "
                            "readable by root only (chmod 400 %s)",
                            cmd->cmd->name, path, path);
    if (rv == APR_SUCCESS && fi.size > ALX_KEEPALIVE_KEY_MAX)
        return apr_psprintf(cmd->pool, "%s: %s is over %d bytes, not a key "
                            "file", cmd->cmd->name, path,
                            ALX_KEEPALIVE_KEY_MAX);
    if (rv == APR_SUCCESS)
        rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY,
                           APR_OS_DEFAULT, cmd->temp_pool);
    if (rv != APR_SUCCESS)
        return apr_psprintf(cmd->pool, "%s: cannot read %s (%s); make one "
                            "with head -c 32 /dev/urandom > %s; chmod 400 %s",
                            cmd->cmd->name, path,
                            apr_strerror(rv, err, sizeof(err)), path, path);
    *bytes = apr_palloc(cmd->temp_pool, (apr_size_t)fi.size + 1);
    *len = 0;
    rv = apr_file_read_full(f, *bytes, (apr_size_t)fi.size, len);
    apr_file_close(f);
    if (rv != APR_SUCCESS && rv != APR_EOF)
        return apr_psprintf(cmd->pool, "%s: cannot read %s (%s)",
                            cmd->cmd->name, path,
                            apr_strerror(rv, err, sizeof(err)));
    return NULL;
}

static const char *set_keepalive_key(cmd_parms *cmd, void *cfg,
                                     const char *arg)
{
    alx_server_conf *sc = alexalink_server_conf_get(cmd->server);
    const char *path = ap_server_root_relative(cmd->temp_pool, arg);
    const char *err;
    const alx_crypto_t *crypto = NULL;
    alx_crypto_t *made;
    unsigned char *bytes = NULL;
    apr_size_t len = 0;
    alx_link_key_t *k;
    apr_status_t rv;
    int i;

    (void)cfg;
    if (!path)
        return apr_psprintf(cmd->pool, "%s: bad path '%s'", cmd->cmd->name,
                            arg);
    if (!sc->keepalive_keys)
        sc->keepalive_keys = apr_pcalloc(cmd->pool,
                                         sizeof(*sc->keepalive_keys));
    if (sc->keepalive_keys->n == ALX_KEEPALIVE_KEYS)
        return apr_psprintf(cmd->pool, "%s takes at most %d files (the key "
                            "that seals, then the ones being replaced)",
                            cmd->cmd->name, ALX_KEEPALIVE_KEYS);
    if ((err = key_file_bytes(cmd, path, &bytes, &len)) != NULL)
        return err;
    if (len < ALX_CRYPTO_KEY_LEN) {
        OPENSSL_cleanse(bytes, len);
        return apr_psprintf(cmd->pool, "%s: %s holds %" APR_SIZE_T_FMT
                            " bytes; a key is %d or more random bytes (head "
                            "-c 32 /dev/urandom > %s; chmod 400 %s)",
                            cmd->cmd->name, path, len, ALX_CRYPTO_KEY_LEN,
                            path, path);
    }
    /* the children fetch their own ciphers (child_init); this one derives */
    if (alx_crypto_create(cmd->pool, &made) == APR_SUCCESS)
        crypto = made;
    k = &sc->keepalive_keys->key[sc->keepalive_keys->n];
    rv = crypto ? alx_link_key_init(crypto, bytes, len, k) : APR_EGENERAL;
    OPENSSL_cleanse(bytes, len);
    if (rv != APR_SUCCESS)
        return apr_psprintf(cmd->pool, "%s: cannot derive the key from %s "
                            "(OpenSSL's HMAC-SHA256 failed)", cmd->cmd->name,
                            path);
    for (i = 0; i < sc->keepalive_keys->n; i++)
        if (sc->keepalive_keys->key[i].id == k->id)
            return apr_psprintf(cmd->pool, "%s: %s has the key id of an "
                                "earlier file (the same key, or one in 256 "
                                "by chance: make a new one)",
                                cmd->cmd->name, path);
    sc->keepalive_keys->n++;
    return NULL;
}

const alx_link_key_t *alexalink_keepalive_keys(server_rec *s, int *nkeys)
{
    const alx_keepalive_keys_t *k = alexalink_server_conf_get(s)
                                        ->keepalive_keys;

    *nkeys = k ? k->n : 0;
    return k && k->n ? k->key : NULL;
}

/* configtest's checks across directives: AlexaLinkKeepAlive on somewhere
 * needs a key (its own server's, or the main server's) and mod_dbd, where
 * the links live, and mod_watchdog, which keeps them. A vhost without a
 * key of its own gets the main server's here. */
int alexalink_config_check(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp, server_rec *s)
{
    alx_keepalive_keys_t *main_keys = alexalink_server_conf_get(s)
                                          ->keepalive_keys;
    server_rec *vs;

    (void)pconf;
    (void)plog;
    (void)ptemp;
    for (vs = s; vs; vs = vs->next) {
        alx_server_conf *sc = alexalink_server_conf_get(vs);

        if (!sc->keepalive_keys)
            sc->keepalive_keys = main_keys;
        if (!sc->keepalive_where)
            continue;
        if (!sc->keepalive_keys || !sc->keepalive_keys->n) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, vs,
                         "ALX0510: AlexaLinkKeepAlive (%s) needs "
                         "AlexaLinkKeepAliveKey FILE in the server config: "
                         "make one with head -c 32 /dev/urandom > FILE; "
                         "chmod 400 FILE", sc->keepalive_where);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (!ap_find_linked_module("mod_dbd.c")) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, vs,
                         "ALX0511: AlexaLinkKeepAlive (%s) needs mod_dbd, "
                         "where the links live: a2enmod dbd (LoadModule "
                         "dbd_module), with DBDriver and DBDParams",
                         sc->keepalive_where);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (!ap_find_linked_module("mod_watchdog.c")) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, vs,
                         "ALX0512: AlexaLinkKeepAlive (%s) needs "
                         "mod_watchdog, which keeps the links: LoadModule "
                         "watchdog_module", sc->keepalive_where);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return OK;
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
    AP_INIT_ITERATE("AlexaLinkKeepAliveKey", set_keepalive_key, NULL,
                    RSRC_CONF, "the file holding the key that seals kept "
                    "links (32 or more random bytes, readable by root "
                    "only); more files: keys being replaced"),
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
    int i;

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
        if (sc->keepalive_keys && crypto)
            for (i = 0; i < sc->keepalive_keys->n; i++)
                sc->keepalive_keys->key[i].crypto = crypto;
    }
}


/* mod_alexalink: makes an existing OAuth 2.0 server's token endpoint answer
 * the way Amazon Alexa account linking requires. This file holds the
 * directives and the hook registration; the decisions are made in lib/
 * (plain C, unit-tested and fuzzed alone). */

#include <stddef.h>
#include <strings.h>

#include "mod_alexalink.h"
#include "alx_values.h"

/* ---- configuration: every row of ALX_DIR_CONF (mod_alexalink.h) ------- */

typedef struct {
    const char *name;
    int value;
} alx_word_t;

#define ROLE_WORD(id, value, word) {word, ALX_ROLE_##id},
static const alx_word_t role_words[] = { ALX_ROLES(ROLE_WORD) {NULL, 0} };
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

static void *create_dir_conf(apr_pool_t *p, char *dir)
{
    alx_dir_conf *c = apr_palloc(p, sizeof(*c));

    (void)dir;
    c->set = 0;
#define ALX_CONF_DEFAULT(field, type, def, ...) c->field = def;
    ALX_DIR_CONF(ALX_CONF_DEFAULT)
    return c;
}

static void *merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    const alx_dir_conf *base = basev, *add = addv;
    alx_dir_conf *c = apr_palloc(p, sizeof(*c));

    c->set = base->set | add->set;
#define ALX_CONF_MERGE(field, ...) \
    c->field = add->set & (1u << ALX_CONF_##field) ? add->field : base->field;
    ALX_DIR_CONF(ALX_CONF_MERGE)
    return c;
}

#define ALX_CONF_COMMAND(field, type, def, deftext, name, how, reader, help) \
    AP_INIT_##how(name, set_##how, (void *)&directives[ALX_CONF_##field], \
                  OR_ALL, help " (default " deftext ")"),
static const command_rec alx_cmds[] = {
    ALX_DIR_CONF(ALX_CONF_COMMAND)
    AP_INIT_TAKE1("AlexaLinkCache", alexalink_store_set_cache, NULL, RSRC_CONF,
                  "socache provider and arguments for the grace store "
                  "(default shmcb with a 4 MiB segment)"),
    AP_INIT_TAKE1("AlexaLinkStatusEvents", alexalink_status_set_events, NULL,
                  RSRC_CONF, "size of the status page's recent-events ring "
                  "(default 200)"),
    {NULL, {NULL}, NULL, 0, 0, NULL}
};

/* ---- server configuration and registration ---------------------------- */

static void *create_server_conf(apr_pool_t *p, server_rec *s)
{
    (void)s;
    return apr_pcalloc(p, sizeof(alx_server_conf));
}

alx_request_rec *alexalink_request_slot(request_rec *r)
{
    alx_request_rec *s = ap_get_module_config(r->request_config,
                                              &alexalink_module);

    if (!s) {
        s = apr_pcalloc(r->pool, sizeof(*s));
        ap_set_module_config(r->request_config, &alexalink_module, s);
    }
    return s;
}

/* A vhost as the log, the once-an-hour lines and the status page name it:
 * "name:port", the port it serves on when its ServerName has none, so that
 * vhosts sharing a name on other ports stay apart. */
const char *alexalink_vhost_name(apr_pool_t *p, const server_rec *s)
{
    unsigned int port = s->port ? s->port
                        : s->addrs ? s->addrs->host_port : 0;

    return apr_psprintf(p, "%s:%u", s->server_hostname, port);
}

alx_server_conf *alexalink_server_conf_get(server_rec *s)
{
    return ap_get_module_config(s->module_config, &alexalink_module);
}

static int post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                       server_rec *s)
{
    int rv = alexalink_status_post_config(pconf, plog, ptemp, s);

    alexalink_proxy_post_config(s);
    return rv != OK ? rv : alexalink_store_post_config(pconf, plog, ptemp, s);
}

/* Per-process setup, never per request: the OpenSSL objects every vhost's
 * refresh grace uses. Without them grace is off in this process. */
static void child_init(apr_pool_t *p, server_rec *s)
{
    alx_crypto_t *crypto;
    server_rec *vs;

    if (alx_crypto_create(p, &crypto) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "ALX0207: cannot fetch "
                     "HMAC-SHA256 and AES-256-GCM from OpenSSL; refresh grace "
                     "is off in this process");
        crypto = NULL;
    }
    for (vs = s; vs; vs = vs->next)
        alexalink_server_conf_get(vs)->crypto = crypto;
    alexalink_store_child_init(p, s);
}

static void register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_pre_config(alexalink_store_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    alexalink_status_register_hooks();
    ap_hook_post_config(post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_fixups(alexalink_token_fixups, NULL, NULL, APR_HOOK_LAST);
    /* before mod_proxy's fixup reads r->args */
    ap_hook_fixups(alexalink_authorize_fixups, NULL, NULL,
                   APR_HOOK_REALLY_FIRST);
    ap_hook_handler(alexalink_token_handler, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_insert_filter(alexalink_token_insert_filter, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_insert_error_filter(alexalink_token_insert_filter, NULL, NULL,
                                APR_HOOK_MIDDLE);
    ap_hook_insert_filter(alexalink_authorize_insert_filter, NULL, NULL,
                          APR_HOOK_MIDDLE);
    /* a redirect Apache answers itself (mod_alias, mod_rewrite's R=) */
    ap_hook_insert_error_filter(alexalink_authorize_insert_filter, NULL, NULL,
                                APR_HOOK_MIDDLE);
    ap_hook_log_transaction(alexalink_log_exchange, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_register_input_filter(ALX_FILTER_BODY, alexalink_token_body_filter, NULL,
                             AP_FTYPE_RESOURCE);
    ap_register_output_filter(ALX_FILTER_TOKEN, alexalink_token_out_filter, NULL,
                              AP_FTYPE_RESOURCE);
    /* after mod_deflate's INFLATE (RESOURCE - 1): pages are scanned plain */
    ap_register_output_filter(ALX_FILTER_AUTHZ, alexalink_authorize_out_filter,
                              NULL, AP_FTYPE_RESOURCE);
}

module AP_MODULE_DECLARE_DATA alexalink_module = {
    STANDARD20_MODULE_STUFF,
    create_dir_conf,
    merge_dir_conf,
    create_server_conf,
    NULL,
    alx_cmds,
    register_hooks,
    AP_MODULE_FLAG_NONE
};

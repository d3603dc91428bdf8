/* mod_alexalink: makes an existing OAuth 2.0 server's token endpoint answer
 * the way Amazon Alexa account linking requires. This file holds the
 * directives and the hook registration; the decisions are made in lib/
 * (plain C, unit-tested and fuzzed alone). */

#include <stddef.h>

#include "mod_alexalink.h"
#include "alx_values.h"

#define ALX_MAX_TTL   (10 * 365 * 86400)  /* ten years: larger is a typo */
#define ALX_MAX_GRACE (30 * 86400)

/* ---- configuration ---------------------------------------------------- */

int alexalink_conf_role(const alx_dir_conf *c)
{
    return c->role == ALX_UNSET ? ALX_ROLE_OFF : c->role;
}

int alexalink_conf_report(const alx_dir_conf *c)
{
    return c->report == ALX_UNSET ? 0 : c->report;
}

int alexalink_conf_keep_refresh(const alx_dir_conf *c)
{
    return c->keep_refresh == ALX_UNSET ? 1 : c->keep_refresh;
}

alx_client_auth_e alexalink_conf_client_auth(const alx_dir_conf *c)
{
    return c->client_auth == ALX_UNSET ? ALX_AUTH_AS_IS : c->client_auth;
}

apr_int64_t alexalink_conf_min_ttl(const alx_dir_conf *c)
{
    return c->min_ttl == ALX_UNSET ? 600 : c->min_ttl;
}

apr_int64_t alexalink_conf_default_ttl(const alx_dir_conf *c)
{
    return c->default_ttl == ALX_UNSET ? 3600 : c->default_ttl;
}

int alexalink_conf_grace_replays(const alx_dir_conf *c)
{
    return c->grace_replays == ALX_UNSET ? 8 : c->grace_replays;
}

apr_interval_time_t alexalink_conf_refresh_grace(const alx_dir_conf *c)
{
    return apr_time_from_sec(c->refresh_grace == ALX_UNSET ? 86400
                                                           : c->refresh_grace);
}

apr_interval_time_t alexalink_conf_time_budget(const alx_dir_conf *c)
{
    return c->time_budget == ALX_UNSET ? apr_time_from_msec(4500)
                                       : c->time_budget;
}

apr_off_t alexalink_conf_max_body(const alx_dir_conf *c)
{
    return c->max_body == ALX_UNSET ? 65536 : c->max_body;
}

static void *create_dir_conf(apr_pool_t *p, char *dir)
{
    alx_dir_conf *c = apr_palloc(p, sizeof(*c));

    (void)dir;
    c->role = c->report = c->keep_refresh = c->client_auth = ALX_UNSET;
    c->grace_replays = ALX_UNSET;
    c->min_ttl = c->default_ttl = c->refresh_grace = ALX_UNSET;
    c->time_budget = ALX_UNSET;
    c->max_body = ALX_UNSET;
    return c;
}

#define ALX_MERGE(field) (add->field != ALX_UNSET ? add->field : base->field)

static void *merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    const alx_dir_conf *base = basev, *add = addv;
    alx_dir_conf *c = apr_palloc(p, sizeof(*c));

    c->role = ALX_MERGE(role);
    c->report = ALX_MERGE(report);
    c->keep_refresh = ALX_MERGE(keep_refresh);
    c->client_auth = ALX_MERGE(client_auth);
    c->grace_replays = ALX_MERGE(grace_replays);
    c->min_ttl = ALX_MERGE(min_ttl);
    c->default_ttl = ALX_MERGE(default_ttl);
    c->refresh_grace = ALX_MERGE(refresh_grace);
    c->time_budget = ALX_MERGE(time_budget);
    c->max_body = ALX_MERGE(max_body);
    return c;
}

/* AlexaLink, AlexaLinkMode and AlexaLinkClientAuth: one keyword each. */
typedef struct {
    const char *names[4];
    int values[4];
    apr_size_t offset;
    const char *accepted;
} alx_keywords_t;

static const alx_keywords_t role_words = {
    {"token", "authorize", "off"},
    {ALX_ROLE_TOKEN, ALX_ROLE_AUTHORIZE, ALX_ROLE_OFF},
    offsetof(alx_dir_conf, role), "token, authorize or off"
};
static const alx_keywords_t mode_words = {
    {"enforce", "report"}, {0, 1},
    offsetof(alx_dir_conf, report), "enforce or report"
};
static const alx_keywords_t client_auth_words = {
    {"as-is", "basic", "body"},
    {ALX_AUTH_AS_IS, ALX_AUTH_BASIC, ALX_AUTH_BODY},
    offsetof(alx_dir_conf, client_auth), "as-is, basic or body"
};

static const char *set_keyword(cmd_parms *cmd, void *cfg, const char *arg)
{
    const alx_keywords_t *k = cmd->info;
    int i;

    for (i = 0; i < 4 && k->names[i]; i++) {
        if (!strcasecmp(arg, k->names[i])) {
            *(int *)((char *)cfg + k->offset) = k->values[i];
            return NULL;
        }
    }
    return apr_psprintf(cmd->pool, "%s takes %s, not '%s'", cmd->cmd->name,
                        k->accepted, arg);
}

static const char *set_seconds(cmd_parms *cmd, apr_int64_t *field,
                               const char *arg, apr_int64_t max)
{
    if (alx_value_seconds(arg, max, field) != 0)
        return apr_psprintf(cmd->pool, "%s takes whole seconds from 0 to %"
                            APR_INT64_T_FMT " (0 disables), not '%s'",
                            cmd->cmd->name, max, arg);
    return NULL;
}

/* AlexaLinkMinTTL and AlexaLinkDefaultTTL share this; cmd->info is the
 * offset of the field. */
static const char *set_ttl(cmd_parms *cmd, void *cfg, const char *arg)
{
    return set_seconds(cmd, (apr_int64_t *)((char *)cfg
                                            + (apr_size_t)cmd->info),
                       arg, ALX_MAX_TTL);
}

static const char *set_refresh_grace(cmd_parms *cmd, void *cfg,
                                     const char *arg)
{
    return set_seconds(cmd, &((alx_dir_conf *)cfg)->refresh_grace, arg,
                       ALX_MAX_GRACE);
}

static const char *set_grace_replays(cmd_parms *cmd, void *cfg,
                                     const char *arg)
{
    apr_int64_t n;

    if (alx_value_seconds(arg, 1000, &n) != 0)
        return apr_psprintf(cmd->pool, "%s takes a whole number from 0 to "
                            "1000, not '%s'", cmd->cmd->name, arg);
    ((alx_dir_conf *)cfg)->grace_replays = (int)n;
    return NULL;
}

static const char *set_time_budget(cmd_parms *cmd, void *cfg, const char *arg)
{
    alx_dir_conf *c = cfg;

    if (alx_value_decimal_seconds(arg, &c->time_budget) != 0)
        return apr_psprintf(cmd->pool, "%s takes seconds above 0, up to 3600, "
                            "with up to 3 decimals (e.g. 4.5), not '%s'",
                            cmd->cmd->name, arg);
    return NULL;
}

static const char *set_max_body(cmd_parms *cmd, void *cfg, const char *arg)
{
    alx_dir_conf *c = cfg;

    if (alx_value_size(arg, &c->max_body) != 0)
        return apr_psprintf(cmd->pool, "%s takes a byte count above 0 with an "
                            "optional k or m suffix (e.g. 65536, 64k, 1m), "
                            "up to 64m, not '%s'", cmd->cmd->name, arg);
    return NULL;
}

static const char *set_keep_refresh(cmd_parms *cmd, void *cfg, int on)
{
    (void)cmd;
    ((alx_dir_conf *)cfg)->keep_refresh = on;
    return NULL;
}

static const command_rec alx_cmds[] = {
    AP_INIT_TAKE1("AlexaLink", set_keyword, (void *)&role_words, OR_ALL,
                  "the role of this location: token, authorize or off"),
    AP_INIT_TAKE1("AlexaLinkMode", set_keyword, (void *)&mode_words, OR_ALL,
                  "enforce (default) or report: detect and log, change nothing"),
    AP_INIT_TAKE1("AlexaLinkMinTTL", set_ttl,
                  (void *)offsetof(alx_dir_conf, min_ttl), OR_ALL,
                  "floor for expires_in in seconds (default 600, 0 disables)"),
    AP_INIT_TAKE1("AlexaLinkDefaultTTL", set_ttl,
                  (void *)offsetof(alx_dir_conf, default_ttl), OR_ALL,
                  "expires_in inserted when the upstream sends none "
                  "(default 3600, 0 leaves it absent)"),
    AP_INIT_FLAG("AlexaLinkKeepRefreshToken", set_keep_refresh, NULL, OR_ALL,
                 "give a refresh answer without refresh_token the presented "
                 "one back (default On)"),
    AP_INIT_TAKE1("AlexaLinkClientAuth", set_keyword,
                  (void *)&client_auth_words, OR_ALL,
                  "client authentication the upstream wants: as-is, basic "
                  "or body"),
    AP_INIT_TAKE1("AlexaLinkRefreshGrace", set_refresh_grace, NULL, OR_ALL,
                  "seconds a rotated refresh token keeps working "
                  "(default 86400, 0 disables)"),
    AP_INIT_TAKE1("AlexaLinkGraceReplays", set_grace_replays, NULL, OR_ALL,
                  "how often one rotated refresh token may be answered from "
                  "the grace store (default 8)"),
    AP_INIT_TAKE1("AlexaLinkCache", alexalink_store_set_cache, NULL, RSRC_CONF,
                  "socache provider and arguments for the grace store "
                  "(default shmcb with a 4 MiB segment)"),
    AP_INIT_TAKE1("AlexaLinkTimeBudget", set_time_budget, NULL, OR_ALL,
                  "seconds after which an answer is logged as over budget "
                  "(default 4.5)"),
    AP_INIT_TAKE1("AlexaLinkMaxBody", set_max_body, NULL, OR_ALL,
                  "largest request or response body buffered (default 65536; "
                  "k and m suffixes)"),
    {NULL, {NULL}, NULL, 0, 0, NULL}
};

/* ---- server configuration and registration ---------------------------- */

static void *create_server_conf(apr_pool_t *p, server_rec *s)
{
    (void)s;
    return apr_pcalloc(p, sizeof(alx_server_conf));
}

alx_server_conf *alexalink_server_conf_get(server_rec *s)
{
    return ap_get_module_config(s->module_config, &alexalink_module);
}

static int post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                       server_rec *s)
{
    alexalink_proxy_post_config(s);
    return alexalink_store_post_config(pconf, plog, ptemp, s);
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
    ap_hook_post_config(post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_fixups(alexalink_token_fixups, NULL, NULL, APR_HOOK_LAST);
    ap_hook_handler(alexalink_token_handler, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_insert_filter(alexalink_token_insert_filter, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_insert_error_filter(alexalink_token_insert_filter, NULL, NULL,
                                APR_HOOK_MIDDLE);
    ap_hook_log_transaction(alexalink_token_log, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_register_input_filter(ALX_FILTER_BODY, alexalink_token_body_filter, NULL,
                             AP_FTYPE_RESOURCE);
    ap_register_output_filter(ALX_FILTER_TOKEN, alexalink_token_out_filter, NULL,
                              AP_FTYPE_RESOURCE);
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

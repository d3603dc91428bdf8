/* mod_alexalink: makes an existing OAuth 2.0 server's token endpoint answer
 * the way Amazon Alexa account linking requires. Apache glue only: the
 * decisions are made in lib/ (plain C, unit-tested and fuzzed alone). */

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"
#include "apr_strings.h"

#include "alx_answer.h"
#include "alx_exchange.h"
#include "alx_request.h"
#include "alx_shape.h"
#include "alx_values.h"

module AP_MODULE_DECLARE_DATA alexalink_module;

#define ALX_UNSET (-1)
#define ALX_FILTER_TOKEN "ALEXALINK_TOKEN"
#define ALX_FILTER_BODY  "ALEXALINK_BODY"
#define ALX_JSON_TYPE    "application/json;charset=UTF-8"
#define ALX_MAX_TTL      (10 * 365 * 86400)  /* ten years: larger is a typo */

typedef enum {
    ALX_ROLE_OFF = 0,
    ALX_ROLE_TOKEN,
    ALX_ROLE_AUTHORIZE
} alx_role_e;

/* Every field starts as ALX_UNSET; the getters below apply the defaults. */
typedef struct {
    int role;
    int report;
    int keep_refresh;
    int client_auth;
    apr_int64_t min_ttl;
    apr_int64_t default_ttl;
    apr_interval_time_t time_budget;
    apr_off_t max_body;
} alx_dir_conf;

/* What one token exchange learned; lives in r->request_config. */
typedef struct {
    const alx_dir_conf *conf;
    alx_token_request_t req;
    int rejected;               /* answered by alx_reject_handler */
    const char *reject_json;
    int answered;               /* the output filter saw the whole answer */
    int status_in;
    alx_answer_t answer;
    const char *verdict;
    apr_int64_t ms;
} alx_exchange_rec;

typedef struct {
    const char *data;
    apr_size_t len;
    apr_size_t pos;
    int read_on;    /* after the kept bytes, read on from the connection */
} alx_body_ctx;

typedef struct {
    apr_bucket_brigade *bb;
    apr_off_t len;
} alx_token_ctx;

/* ---- configuration ---------------------------------------------------- */

static int conf_role(const alx_dir_conf *c)
{
    return c->role == ALX_UNSET ? ALX_ROLE_OFF : c->role;
}

static int conf_report(const alx_dir_conf *c)
{
    return c->report == ALX_UNSET ? 0 : c->report;
}

static int conf_keep_refresh(const alx_dir_conf *c)
{
    return c->keep_refresh == ALX_UNSET ? 1 : c->keep_refresh;
}

static alx_client_auth_e conf_client_auth(const alx_dir_conf *c)
{
    return c->client_auth == ALX_UNSET ? ALX_AUTH_AS_IS : c->client_auth;
}

static apr_int64_t conf_min_ttl(const alx_dir_conf *c)
{
    return c->min_ttl == ALX_UNSET ? 600 : c->min_ttl;
}

static apr_int64_t conf_default_ttl(const alx_dir_conf *c)
{
    return c->default_ttl == ALX_UNSET ? 3600 : c->default_ttl;
}

static apr_interval_time_t conf_time_budget(const alx_dir_conf *c)
{
    return c->time_budget == ALX_UNSET ? apr_time_from_msec(4500)
                                       : c->time_budget;
}

static apr_off_t conf_max_body(const alx_dir_conf *c)
{
    return c->max_body == ALX_UNSET ? 65536 : c->max_body;
}

static void *create_dir_conf(apr_pool_t *p, char *dir)
{
    alx_dir_conf *c = apr_palloc(p, sizeof(*c));

    (void)dir;
    c->role = c->report = c->keep_refresh = c->client_auth = ALX_UNSET;
    c->min_ttl = c->default_ttl = ALX_UNSET;
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
    c->min_ttl = ALX_MERGE(min_ttl);
    c->default_ttl = ALX_MERGE(default_ttl);
    c->time_budget = ALX_MERGE(time_budget);
    c->max_body = ALX_MERGE(max_body);
    return c;
}

static const char *set_role(cmd_parms *cmd, void *cfg, const char *arg)
{
    alx_dir_conf *c = cfg;

    if (!strcasecmp(arg, "token"))
        c->role = ALX_ROLE_TOKEN;
    else if (!strcasecmp(arg, "authorize"))
        c->role = ALX_ROLE_AUTHORIZE;
    else if (!strcasecmp(arg, "off"))
        c->role = ALX_ROLE_OFF;
    else
        return apr_psprintf(cmd->pool, "%s takes token, authorize or off, "
                            "not '%s'", cmd->cmd->name, arg);
    return NULL;
}

static const char *set_mode(cmd_parms *cmd, void *cfg, const char *arg)
{
    alx_dir_conf *c = cfg;

    if (!strcasecmp(arg, "enforce"))
        c->report = 0;
    else if (!strcasecmp(arg, "report"))
        c->report = 1;
    else
        return apr_psprintf(cmd->pool, "%s takes enforce or report, not '%s'",
                            cmd->cmd->name, arg);
    return NULL;
}

static const char *set_client_auth(cmd_parms *cmd, void *cfg, const char *arg)
{
    alx_dir_conf *c = cfg;

    if (!strcasecmp(arg, "as-is"))
        c->client_auth = ALX_AUTH_AS_IS;
    else if (!strcasecmp(arg, "basic"))
        c->client_auth = ALX_AUTH_BASIC;
    else if (!strcasecmp(arg, "body"))
        c->client_auth = ALX_AUTH_BODY;
    else
        return apr_psprintf(cmd->pool, "%s takes as-is, basic or body, "
                            "not '%s'", cmd->cmd->name, arg);
    return NULL;
}

/* AlexaLinkMinTTL and AlexaLinkDefaultTTL share this; cmd->info is the
 * offset of the field. */
static const char *set_ttl(cmd_parms *cmd, void *cfg, const char *arg)
{
    apr_int64_t *field = (apr_int64_t *)((char *)cfg + (apr_size_t)cmd->info);

    if (alx_value_seconds(arg, ALX_MAX_TTL, field) != 0)
        return apr_psprintf(cmd->pool, "%s takes whole seconds from 0 to %d "
                            "(0 disables), not '%s'", cmd->cmd->name,
                            ALX_MAX_TTL, arg);
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
    AP_INIT_TAKE1("AlexaLink", set_role, NULL, OR_ALL,
                  "the role of this location: token, authorize or off"),
    AP_INIT_TAKE1("AlexaLinkMode", set_mode, NULL, OR_ALL,
                  "enforce (default) or report: detect and log, change nothing"),
    AP_INIT_TAKE1("AlexaLinkMinTTL", set_ttl,
                  (void *)APR_OFFSETOF(alx_dir_conf, min_ttl), OR_ALL,
                  "floor for expires_in in seconds (default 600, 0 disables)"),
    AP_INIT_TAKE1("AlexaLinkDefaultTTL", set_ttl,
                  (void *)APR_OFFSETOF(alx_dir_conf, default_ttl), OR_ALL,
                  "expires_in inserted when the upstream sends none "
                  "(default 3600, 0 leaves it absent)"),
    AP_INIT_FLAG("AlexaLinkKeepRefreshToken", set_keep_refresh, NULL, OR_ALL,
                 "give a refresh answer without refresh_token the presented "
                 "one back (default On)"),
    AP_INIT_TAKE1("AlexaLinkClientAuth", set_client_auth, NULL, OR_ALL,
                  "client authentication the upstream wants: as-is, basic "
                  "or body"),
    AP_INIT_TAKE1("AlexaLinkTimeBudget", set_time_budget, NULL, OR_ALL,
                  "seconds after which an answer is logged as over budget "
                  "(default 4.5)"),
    AP_INIT_TAKE1("AlexaLinkMaxBody", set_max_body, NULL, OR_ALL,
                  "largest request or response body buffered (default 65536; "
                  "k and m suffixes)"),
    {NULL}
};

/* ---- request side ----------------------------------------------------- */

static alx_exchange_rec *exchange_get(request_rec *r)
{
    return ap_get_module_config(r->request_config, &alexalink_module);
}

static apr_int64_t elapsed_ms(request_rec *r)
{
    return apr_time_as_msec(apr_time_now() - r->request_time);
}

/* Reads the whole request body, up to max bytes. APR_ENOSPC when larger,
 * with *data and *len holding what was read (report mode replays it). */
static apr_status_t read_body(request_rec *r, apr_off_t max,
                              const char **data, apr_size_t *len)
{
    apr_bucket_brigade *bb, *kept;
    apr_off_t total = 0, got;
    int seen_eos = 0;
    apr_status_t rv, over = APR_SUCCESS;

    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    kept = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    while (!seen_eos) {
        rv = ap_get_brigade(r->input_filters, bb, AP_MODE_READBYTES,
                            APR_BLOCK_READ, HUGE_STRING_LEN);
        if (rv != APR_SUCCESS)
            return rv;
        seen_eos = !APR_BRIGADE_EMPTY(bb)
                   && APR_BUCKET_IS_EOS(APR_BRIGADE_LAST(bb));
        rv = apr_brigade_length(bb, 1, &got);
        if (rv != APR_SUCCESS)
            return rv;
        total += got;
        if (seen_eos)
            apr_bucket_delete(APR_BRIGADE_LAST(bb));
        rv = ap_save_brigade(NULL, &kept, &bb, r->pool);
        if (rv != APR_SUCCESS)
            return rv;
        apr_brigade_cleanup(bb);
        if (total > max) {
            over = APR_ENOSPC;
            break;
        }
    }
    rv = apr_brigade_pflatten(kept, (char **)data, len, r->pool);
    return rv != APR_SUCCESS ? rv : over;
}

static void reject(alx_exchange_rec *x, int status,
                   const char *error, const char *description,
                   const char *reason)
{
    x->req.status = status;
    x->req.error = error;
    x->req.error_description = description;
    x->req.reason = reason;
}

/* Installs the kept body as what mod_proxy (or any handler) will read.
 * With read_on, the rest of an oversize body follows from the connection
 * and the request's own framing headers stay as they are. */
static void replay_body(request_rec *r, const char *data, apr_size_t len,
                        int read_on)
{
    alx_body_ctx *ctx = apr_pcalloc(r->pool, sizeof(*ctx));

    ctx->data = data;
    ctx->len = len;
    ctx->read_on = read_on;
    if (!read_on) {
        apr_table_unset(r->headers_in, "Transfer-Encoding");
        apr_table_setn(r->headers_in, "Content-Length",
                       apr_off_t_toa(r->pool, (apr_off_t)len));
    }
    ap_add_input_filter(ALX_FILTER_BODY, ctx, r, r->connection);
}

static int token_fixups(request_rec *r)
{
    const alx_dir_conf *conf;
    alx_exchange_rec *x;
    const char *cl, *body = "";
    apr_size_t len = 0;
    apr_status_t rv = APR_SUCCESS;
    int report;

    if (r->main || r->prev || r->method_number != M_POST)
        return DECLINED;
    conf = ap_get_module_config(r->per_dir_config, &alexalink_module);
    if (conf_role(conf) != ALX_ROLE_TOKEN)
        return DECLINED;

    report = conf_report(conf);
    x = apr_pcalloc(r->pool, sizeof(*x));
    x->conf = conf;
    ap_set_module_config(r->request_config, &alexalink_module, x);

    cl = apr_table_get(r->headers_in, "Content-Length");
    if (cl && apr_atoi64(cl) > conf_max_body(conf)) {
        reject(x, HTTP_BAD_REQUEST, "invalid_request",
               "request body larger than the server accepts", "oversize");
    }
    else {
        rv = read_body(r, conf_max_body(conf), &body, &len);
        if (rv == APR_ENOSPC) {
            reject(x, HTTP_BAD_REQUEST, "invalid_request",
                   "request body larger than the server accepts", "oversize");
        }
        else if (rv != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, rv, r,
                          "ALX0112: reading the token request body failed");
            return ap_map_http_request_error(rv, HTTP_BAD_REQUEST);
        }
        else {
            alx_token_request_prepare(r->pool,
                    apr_table_get(r->headers_in, "Content-Type"), body, len,
                    apr_table_get(r->headers_in, "Authorization"),
                    report ? ALX_AUTH_AS_IS : conf_client_auth(conf), &x->req);
        }
    }

    if (x->req.status) {
        ap_log_rerror(APLOG_MARK, report ? APLOG_WARNING : APLOG_NOTICE, 0, r,
                      "ALX0110: token request %s (%s): %d %s: %s",
                      report ? "would be rejected" : "rejected",
                      x->req.reason, x->req.status, x->req.error,
                      x->req.error_description);
        if (!report) {
            x->rejected = 1;
            x->reject_json = alx_error_json(r->pool, x->req.error,
                                            x->req.error_description);
            return DECLINED;
        }
    }
    if (rv == APR_ENOSPC || (x->req.reason && !strcmp(x->req.reason,
                                                       "oversize"))) {
        replay_body(r, body, len, 1);   /* report mode: pass it all on */
        return DECLINED;
    }

    if (!report) {
        if (x->req.changed) {
            body = x->req.body;
            len = x->req.body_len;
            if (x->req.authorization)
                apr_table_setn(r->headers_in, "Authorization",
                               x->req.authorization);
            else
                apr_table_unset(r->headers_in, "Authorization");
        }
        apr_table_setn(r->headers_in, "Accept", "application/json");
        apr_table_setn(r->headers_in, "Accept-Encoding", "identity");
    }
    replay_body(r, body, len, 0);
    return DECLINED;
}

/* Serves the kept (maybe rewritten) body, then EOS. */
static apr_status_t body_in_filter(ap_filter_t *f, apr_bucket_brigade *bb,
                                   ap_input_mode_t mode,
                                   apr_read_type_e block, apr_off_t readbytes)
{
    alx_body_ctx *ctx = f->ctx;
    apr_size_t n;

    if (mode != AP_MODE_READBYTES && mode != AP_MODE_SPECULATIVE
        && mode != AP_MODE_EXHAUSTIVE)
        return APR_ENOTIMPL;
    if (ctx->pos == ctx->len && ctx->read_on)
        return ap_get_brigade(f->next, bb, mode, block, readbytes);
    n = ctx->len - ctx->pos;
    if (mode != AP_MODE_EXHAUSTIVE && readbytes >= 0
        && (apr_off_t)n > readbytes)
        n = (apr_size_t)readbytes;
    if (n > 0)
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_pool_create(ctx->data
                                + ctx->pos, n, f->r->pool, bb->bucket_alloc));
    if (mode != AP_MODE_SPECULATIVE)
        ctx->pos += n;
    if (ctx->pos == ctx->len && !ctx->read_on && mode != AP_MODE_SPECULATIVE)
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
    return APR_SUCCESS;
}

static void set_json_headers(request_rec *r)
{
    apr_table_unset(r->err_headers_out, "Cache-Control");
    apr_table_unset(r->err_headers_out, "Pragma");
    apr_table_unset(r->headers_out, "Content-Encoding");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "Pragma", "no-cache");
    ap_set_content_type(r, ALX_JSON_TYPE);
}

/* Answers a rejected token request with its RFC 6749 error JSON. */
static int reject_handler(request_rec *r)
{
    alx_exchange_rec *x = exchange_get(r);
    apr_size_t len;

    if (!x || !x->rejected)
        return DECLINED;
    /* An oversize body is not worth reading: close instead (lingering
     * close still lets the client read this answer). */
    if (!strcmp(x->req.reason, "oversize") || ap_discard_request_body(r) != OK)
        r->connection->keepalive = AP_CONN_CLOSE;
    r->status = x->req.status;
    set_json_headers(r);
    if (x->req.status == HTTP_UNAUTHORIZED)
        apr_table_setn(r->err_headers_out, "WWW-Authenticate",
                       "Basic realm=\"token\"");
    len = strlen(x->reject_json);
    ap_set_content_length(r, len);
    ap_rwrite(x->reject_json, (int)len, r);
    return OK;
}

/* ---- response side ---------------------------------------------------- */

static const char *header_out(request_rec *r, const char *name)
{
    const char *v = apr_table_get(r->headers_out, name);

    return v ? v : apr_table_get(r->err_headers_out, name);
}

/* Lets the answer through as it is, for a reason that goes in the log. */
static apr_status_t pass_through(ap_filter_t *f, alx_exchange_rec *x,
                                 const char *kind, apr_off_t len,
                                 const char *reason,
                                 apr_bucket_brigade *bb)
{
    request_rec *r = f->r;

    x->answered = 1;
    x->status_in = r->status;
    x->answer.kind = ALX_KIND_OPAQUE;
    x->answer.status = r->status;
    x->answer.shape_in = x->answer.shape_out = alx_shape_opaque(r->pool,
                                                               kind, len);
    x->answer.ttl_in = x->answer.ttl_out = ALX_TTL_ABSENT;
    x->verdict = apr_pstrcat(r->pool, "passthrough:", reason, NULL);
    x->ms = elapsed_ms(r);
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

static apr_status_t send_answer(ap_filter_t *f, alx_exchange_rec *x,
                                alx_token_ctx *ctx)
{
    request_rec *r = f->r;
    const alx_dir_conf *conf = x->conf;
    alx_answer_in_t in = {0};
    apr_bucket_brigade *out;
    char *body;
    apr_size_t len;
    apr_status_t rv;
    int report = conf_report(conf);

    rv = apr_brigade_pflatten(ctx->bb, &body, &len, r->pool);
    if (rv != APR_SUCCESS)
        return rv;
    in.status = r->status;
    in.content_type = r->content_type;
    in.cache_control = header_out(r, "Cache-Control");
    in.body = body;
    in.len = len;
    in.grant_type = x->req.grant_type;
    in.presented_refresh_token = x->req.refresh_token;
    in.min_ttl = conf_min_ttl(conf);
    in.default_ttl = conf_default_ttl(conf);
    in.keep_refresh_token = conf_keep_refresh(conf);
    alx_answer_normalize(r->pool, &in, &x->answer);

    x->answered = 1;
    x->status_in = r->status;
    x->verdict = alx_answer_verdict(r->pool, &x->answer, report);
    x->ms = elapsed_ms(r);
    ap_remove_output_filter(f);

    if (report || !x->answer.body) {
        APR_BRIGADE_INSERT_TAIL(ctx->bb,
                                apr_bucket_eos_create(ctx->bb->bucket_alloc));
        return ap_pass_brigade(f->next, ctx->bb);
    }

    apr_brigade_cleanup(ctx->bb);
    r->status = x->answer.status;
    r->status_line = NULL;
    set_json_headers(r);
    if (r->status == HTTP_UNAUTHORIZED && !header_out(r, "WWW-Authenticate")
        && x->req.auth_in && !strcmp(x->req.auth_in, "basic"))
        apr_table_setn(r->headers_out, "WWW-Authenticate",
                       "Basic realm=\"token\"");
    ap_set_content_length(r, x->answer.len);
    out = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    APR_BRIGADE_INSERT_TAIL(out, apr_bucket_pool_create(x->answer.body,
                            x->answer.len, r->pool, out->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(out, apr_bucket_eos_create(out->bucket_alloc));
    return ap_pass_brigade(f->next, out);
}

/* Decides once, on the first call, whether the answer can be buffered. */
static apr_status_t token_out_start(ap_filter_t *f, alx_exchange_rec *x,
                                    apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    const char *enc = header_out(r, "Content-Encoding");
    const char *cl = header_out(r, "Content-Length");
    apr_off_t max = conf_max_body(x->conf);
    alx_token_ctx *ctx;

    if (enc && strcasecmp(enc, "identity"))
        return pass_through(f, x, alx_log_safe(r->pool, enc, 16),
                            cl ? apr_atoi64(cl) : 0, "compressed", bb);
    if (cl && apr_atoi64(cl) > max)
        return pass_through(f, x, "oversize", apr_atoi64(cl), "oversize", bb);
    f->ctx = ctx = apr_pcalloc(r->pool, sizeof(*ctx));
    ctx->bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    return APR_SUCCESS;
}

/* Buffers the whole upstream answer (FLUSH dropped meanwhile), then sends
 * what alx_answer_normalize makes of it. Over AlexaLinkMaxBody, everything
 * goes on unchanged. */
static apr_status_t token_out_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    alx_exchange_rec *x = exchange_get(r);
    alx_token_ctx *ctx;
    apr_bucket *e;
    const char *data;
    apr_size_t n;
    apr_status_t rv;

    if (!x || x->answered) {
        ap_remove_output_filter(f);
        return ap_pass_brigade(f->next, bb);
    }
    if (!f->ctx) {
        rv = token_out_start(f, x, bb);
        if (rv != APR_SUCCESS || !f->ctx)
            return rv;
    }
    ctx = f->ctx;
    while (!APR_BRIGADE_EMPTY(bb)) {
        e = APR_BRIGADE_FIRST(bb);
        if (APR_BUCKET_IS_EOS(e)) {
            apr_bucket_delete(e);
            return send_answer(f, x, ctx);
        }
        if (APR_BUCKET_IS_FLUSH(e)) {
            apr_bucket_delete(e);
            continue;
        }
        if (!APR_BUCKET_IS_METADATA(e)) {
            rv = apr_bucket_read(e, &data, &n, APR_BLOCK_READ);
            if (rv != APR_SUCCESS)
                return rv;
            ctx->len += n;
        }
        rv = apr_bucket_setaside(e, r->pool);
        if (rv != APR_SUCCESS && rv != APR_ENOTIMPL)
            return rv;
        APR_BUCKET_REMOVE(e);
        APR_BRIGADE_INSERT_TAIL(ctx->bb, e);
        if (ctx->len > conf_max_body(x->conf)) {
            APR_BRIGADE_CONCAT(ctx->bb, bb);
            return pass_through(f, x, "oversize", ctx->len, "oversize",
                                ctx->bb);
        }
    }
    return APR_SUCCESS;
}

static void token_insert_filter(request_rec *r)
{
    alx_exchange_rec *x = exchange_get(r);

    if (x && !x->rejected && !x->answered)
        ap_add_output_filter(ALX_FILTER_TOKEN, NULL, r, r->connection);
}

/* ---- the exchange log line and request notes -------------------------- */

static int exchange_level(const alx_exchange_rec *x, int over_budget)
{
    const alx_answer_t *a = &x->answer;

    if (a->warnings || over_budget || a->kind == ALX_KIND_UNUSABLE
        || a->kind == ALX_KIND_SERVER_ERROR || a->kind == ALX_KIND_OPAQUE
        || (conf_report(x->conf) && a->fixes))
        return APLOG_WARNING;
    return a->fixes ? APLOG_NOTICE : APLOG_INFO;
}

static void set_notes(request_rec *r, const alx_exchange_rec *x)
{
    apr_table_t *n = r->notes;

    apr_table_setn(n, "alexalink-grant",
                   alx_log_safe(r->pool, x->req.grant_type, 32));
    apr_table_setn(n, "alexalink-shape-in",
                   x->answer.shape_in ? x->answer.shape_in : "-");
    apr_table_setn(n, "alexalink-shape-out",
                   x->answer.shape_out ? x->answer.shape_out : "-");
    apr_table_setn(n, "alexalink-verdict", x->verdict ? x->verdict : "-");
    apr_table_setn(n, "alexalink-ms", apr_psprintf(r->pool, "%" APR_INT64_T_FMT,
                                                   x->ms));
    apr_table_setn(n, "alexalink-refresh",
                   x->answer.refresh ? x->answer.refresh : "-");
}

static int token_log(request_rec *r)
{
    alx_exchange_rec *x = exchange_get(r);
    alx_exchange_t line = {0};
    apr_int64_t budget_ms;
    const char *hint;
    int over;

    if (!x)
        return DECLINED;
    if (x->rejected) {
        x->verdict = apr_pstrcat(r->pool, "rejected:", x->req.reason, NULL);
        x->ms = elapsed_ms(r);
        set_notes(r, x);
        return DECLINED;
    }
    if (!x->answered) {   /* the filter never ran: no body at all */
        x->status_in = r->status;
        x->answer.kind = ALX_KIND_OPAQUE;
        x->answer.ttl_in = x->answer.ttl_out = ALX_TTL_ABSENT;
        x->verdict = "passthrough:no-body";
        x->ms = elapsed_ms(r);
    }
    set_notes(r, x);

    budget_ms = apr_time_as_msec(conf_time_budget(x->conf));
    over = x->ms > budget_ms;
    line.grant_type = x->req.grant_type;
    line.client_id = x->req.client_id;
    line.status_in = x->status_in;
    line.status_out = r->status;
    line.shape_in = x->answer.shape_in;
    line.shape_out = x->answer.shape_out;
    line.ttl_in = x->answer.ttl_in;
    line.ttl_out = x->answer.ttl_out;
    line.refresh = x->answer.refresh;
    line.verdict = x->verdict;
    line.ms = x->ms;
    hint = alx_warning_hint(r->pool, x->answer.warnings);
    ap_log_rerror(APLOG_MARK, exchange_level(x, over), 0, r,
                  "ALX0100: token exchange %s%s%s%s",
                  alx_exchange_line(r->pool, &line),
                  hint ? " hint=\"" : "", hint ? hint : "", hint ? "\"" : "");
    if (over)
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "ALX0101: token answer took %" APR_INT64_T_FMT " ms, "
                      "over AlexaLinkTimeBudget (%" APR_INT64_T_FMT " ms): "
                      "Alexa gives up after 4.5 s; speed up the upstream",
                      x->ms, budget_ms);
    return DECLINED;
}

/* ---- registration ----------------------------------------------------- */

static void register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_fixups(token_fixups, NULL, NULL, APR_HOOK_LAST);
    ap_hook_handler(reject_handler, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_insert_filter(token_insert_filter, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_insert_error_filter(token_insert_filter, NULL, NULL,
                                APR_HOOK_MIDDLE);
    ap_hook_log_transaction(token_log, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_register_input_filter(ALX_FILTER_BODY, body_in_filter, NULL,
                             AP_FTYPE_RESOURCE);
    ap_register_output_filter(ALX_FILTER_TOKEN, token_out_filter, NULL,
                              AP_FTYPE_RESOURCE);
}

AP_DECLARE_MODULE(alexalink) = {
    STANDARD20_MODULE_STUFF,
    create_dir_conf,
    merge_dir_conf,
    NULL,
    NULL,
    alx_cmds,
    register_hooks,
    AP_MODULE_FLAG_NONE
};

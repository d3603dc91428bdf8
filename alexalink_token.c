/* The token endpoint (AlexaLink token): request-side checks and client-auth
 * conversion before mod_proxy, the answer rewrite in an output filter (the
 * exchange log line is alexalink_log.c's). */

#include "alexalink_token.h"
#include "alexalink_grace.h"
#include "alexalink_links.h"
#include "alx_shape.h"

typedef struct {
    const char *data;
    apr_size_t len;
    apr_size_t pos;
    int read_on;    /* after the kept bytes, read on from the connection */
} alx_body_ctx;

typedef struct {
    apr_bucket_brigade *bb;
    apr_off_t len;
    int broken;     /* mod_proxy's error bucket: the upstream broke off */
} alx_token_ctx;

/* ---- request side ----------------------------------------------------- */

alx_exchange_rec *alexalink_exchange_get(request_rec *r)
{
    alx_request_rec *s = alexalink_request_get(r);

    return s ? s->exchange : NULL;
}

apr_int64_t alexalink_elapsed_ms(request_rec *r)
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
                   alx_reason_e reason)
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

int alexalink_token_fixups(request_rec *r)
{
    const alx_dir_conf *conf;
    alx_exchange_rec *x;
    const char *cl, *body = "";
    apr_size_t len = 0;
    apr_status_t rv = APR_SUCCESS;
    int report;

    if (r->main || r->prev || r->method_number != M_POST)
        return DECLINED;
    conf = alexalink_dir_conf_get(r->per_dir_config);
    if (alexalink_conf_role(conf) != ALX_ROLE_TOKEN)
        return DECLINED;

    report = alexalink_conf_report(conf);
    x = apr_pcalloc(r->pool, sizeof(*x));
    x->conf = conf;
    alexalink_request_slot(r)->exchange = x;

    cl = apr_table_get(r->headers_in, "Content-Length");
    if (cl && apr_atoi64(cl) > alexalink_conf_max_body(conf)) {
        reject(x, HTTP_BAD_REQUEST, "invalid_request",
               "request body larger than the server accepts",
               ALX_REASON_OVERSIZE);
    }
    else {
        rv = read_body(r, alexalink_conf_max_body(conf), &body, &len);
        if (rv == APR_ENOSPC) {
            reject(x, HTTP_BAD_REQUEST, "invalid_request",
                   "request body larger than the server accepts",
                   ALX_REASON_OVERSIZE);
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
                    report ? ALX_AUTH_AS_IS : alexalink_conf_client_auth(conf), &x->req);
        }
    }

    if (x->req.status) {
        ap_log_rerror(APLOG_MARK, report ? APLOG_WARNING : APLOG_NOTICE, 0, r,
                      "ALX0110: token request %s (%s): %d %s: %s",
                      report ? "would be rejected" : "rejected",
                      alx_reason_name(x->req.reason), x->req.status,
                      x->req.error, x->req.error_description);
        if (!report) {
            x->own.status = x->req.status;
            x->own.json = alx_error_json(r->pool, x->req.error,
                                            x->req.error_description);
            x->own.verdict_kind = ALX_VERDICT_REJECTED;
            x->own.verdict = alx_verdict_word(r->pool,
                    ALX_VERDICT_REJECTED, alx_reason_name(x->req.reason));
            return DECLINED;
        }
    }
    if (rv == APR_ENOSPC || x->req.reason == ALX_REASON_OVERSIZE) {
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
    /* a kept link first: it decides which refresh token goes upstream,
     * and grace then guards that one */
    if (alexalink_links_before_proxy(r, x, &body, &len) == DONE
        || alexalink_grace_before_proxy(r, x, &body, &len) == DONE)
        return DECLINED;   /* alexalink_token_handler answers */
    replay_body(r, body, len, 0);
    return DECLINED;
}

/* Serves the kept (maybe rewritten) body, then EOS. */
apr_status_t alexalink_token_body_filter(ap_filter_t *f, apr_bucket_brigade *bb,
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

void alexalink_set_json_headers(request_rec *r)
{
    apr_table_unset(r->err_headers_out, "Cache-Control");
    apr_table_unset(r->err_headers_out, "Pragma");
    apr_table_unset(r->headers_out, "Content-Encoding");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "Pragma", "no-cache");
    ap_set_content_type(r, ALX_JSON_TYPE);
}

/* Answers a rejected token request with its RFC 6749 error JSON. */
int alexalink_token_handler(request_rec *r)
{
    alx_exchange_rec *x = alexalink_exchange_get(r);
    apr_size_t len;

    if (!x || !x->own.json)
        return DECLINED;
    /* An oversize body is not worth reading: close instead (lingering
     * close still lets the client read this answer). */
    if (x->req.reason == ALX_REASON_OVERSIZE
        || ap_discard_request_body(r) != OK)
        r->connection->keepalive = AP_CONN_CLOSE;
    r->status = x->own.status;
    alexalink_set_json_headers(r);
    if (x->own.content_type)   /* a waiter gets the first answer's type */
        ap_set_content_type(r, x->own.content_type);
    if (x->own.status == HTTP_SERVICE_UNAVAILABLE)
        apr_table_setn(r->headers_out, "Retry-After", x->own.retry_after > 1
                       ? apr_psprintf(r->pool, "%" APR_INT64_T_FMT,
                                      x->own.retry_after) : "1");
    if (x->own.status == HTTP_UNAUTHORIZED)
        apr_table_setn(r->err_headers_out, "WWW-Authenticate",
                       "Basic realm=\"token\"");
    len = strlen(x->own.json);
    ap_set_content_length(r, len);
    ap_rwrite(x->own.json, (int)len, r);
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

    x->upstream.answered = 1;
    x->upstream.status = r->status;
    x->answer.kind = ALX_KIND_OPAQUE;
    x->answer.status = r->status;
    x->answer.shape_in = x->answer.shape_out = alx_shape_opaque(r->pool,
                                                               kind, len);
    x->answer.ttl_in = x->answer.ttl_out = ALX_TTL_ABSENT;
    x->result.kind = ALX_VERDICT_PASSTHROUGH;
    x->result.verdict = alx_verdict_word(r->pool, x->result.kind, reason);
    x->result.ms = alexalink_elapsed_ms(r);
    /* nothing to record or hand on: waiting duplicates are let go */
    alexalink_grace_after_answer(r, x, r->status, NULL, NULL, 0);
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

/* The upstream broke off (mod_proxy's error bucket) or sent fewer bytes
 * than its Content-Length. */
static int unfinished(request_rec *r, const alx_token_ctx *ctx)
{
    const char *cl = header_out(r, "Content-Length");

    return ctx->broken || (cl && apr_atoi64(cl) > ctx->len);
}

/* Whatever the partial bytes parse to, Alexa must not get a 200: 502
 * server_error, nothing recorded, and the connection closed after it. */
static void answer_unfinished(request_rec *r, alx_exchange_rec *x,
                              const alx_token_ctx *ctx, int report)
{
    const char *cl = header_out(r, "Content-Length");
    alx_answer_t *a = &x->answer;

    x->upstream.truncated = 1;
    x->result.kind = report ? ALX_VERDICT_WOULD_REJECT : ALX_VERDICT_TRUNCATED;
    x->result.verdict = alx_verdict_word(r->pool, x->result.kind, report
                                  ? alx_verdict_name(ALX_VERDICT_TRUNCATED)
                                  : NULL);
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "ALX0102: the upstream "
                  "ended its token answer unfinished (%" APR_OFF_T_FMT " of "
                  "%s bytes, status %d); %s, nothing recorded for refresh "
                  "grace. Check the upstream's logs and any proxy between",
                  ctx->len, cl ? cl : "unknown", r->status,
                  report ? "report mode passes it on as mod_proxy does"
                         : "answered 502 server_error and closed the "
                           "connection");
    if (report)
        return;
    a->kind = ALX_KIND_UNUSABLE;
    a->status = HTTP_BAD_GATEWAY;
    a->body = alx_error_json(r->pool, "server_error", "the upstream closed "
                             "the connection before its answer was "
                             "complete");
    a->len = strlen(a->body);
    a->shape_out = alx_shape_opaque(r->pool, "json", (apr_off_t)a->len);
    a->ttl_out = ALX_TTL_ABSENT;
    a->refresh = ALX_REFRESH_NONE;
    a->warnings = 0;
    r->connection->keepalive = AP_CONN_CLOSE;
}

/* Headers that describe the upstream's bytes, wrong for a rewritten body. */
static const char *const alx_upstream_repr_headers[] = {
    "ETag", "Last-Modified", "Content-MD5", "Digest", "Content-Digest",
    "Repr-Digest"
};

/* Removes them from a rewritten answer; Location too when the upstream
 * answered 201 (it named what that 201 created). */
static void drop_upstream_representation_headers(request_rec *r, int status_in)
{
    apr_size_t i;

    for (i = 0; i < sizeof(alx_upstream_repr_headers)
                    / sizeof(alx_upstream_repr_headers[0]); i++) {
        apr_table_unset(r->headers_out, alx_upstream_repr_headers[i]);
        apr_table_unset(r->err_headers_out, alx_upstream_repr_headers[i]);
    }
    if (status_in == HTTP_CREATED) {
        apr_table_unset(r->headers_out, "Location");
        apr_table_unset(r->err_headers_out, "Location");
    }
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
    int report = alexalink_conf_report(conf);

    rv = apr_brigade_pflatten(ctx->bb, &body, &len, r->pool);
    if (rv != APR_SUCCESS)
        return rv;
    in.status = r->status;
    in.content_type = r->content_type;
    in.cache_control = header_out(r, "Cache-Control");
    in.body = body;
    in.len = len;
    in.grant_type = x->req.grant_type;
    in.presented_refresh_token = alexalink_exchange_sent_token(x);
    in.min_ttl = alexalink_conf_min_ttl(conf);
    in.default_ttl = alexalink_conf_default_ttl(conf);
    in.keep_refresh_token = alexalink_conf_keep_refresh(conf);
    in.now = apr_time_sec(apr_time_now());
    alx_answer_normalize(r->pool, &in, &x->answer);

    x->upstream.answered = 1;
    x->upstream.status = r->status;
    x->result.kind = alx_answer_verdict_kind(&x->answer, report);
    x->result.verdict = alx_answer_verdict(r->pool, &x->answer, report);
    x->result.ms = alexalink_elapsed_ms(r);
    if (unfinished(r, ctx))
        answer_unfinished(r, x, ctx, report);
    alexalink_links_after_answer(r, x);
    ap_remove_output_filter(f);

    if (report || !x->answer.body) {
        alexalink_grace_after_answer(r, x, r->status, r->content_type, body,
                                     len);
        APR_BRIGADE_INSERT_TAIL(ctx->bb,
                                apr_bucket_eos_create(ctx->bb->bucket_alloc));
        return ap_pass_brigade(f->next, ctx->bb);
    }

    alexalink_grace_after_answer(r, x, x->answer.status, ALX_JSON_TYPE,
                                 x->answer.body, x->answer.len);
    apr_brigade_cleanup(ctx->bb);
    drop_upstream_representation_headers(r, x->upstream.status);
    r->status = x->answer.status;
    r->status_line = NULL;
    alexalink_set_json_headers(r);
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
    apr_off_t max = alexalink_conf_max_body(x->conf);
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
apr_status_t alexalink_token_out_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    alx_exchange_rec *x = alexalink_exchange_get(r);
    alx_token_ctx *ctx;
    apr_bucket *e;
    const char *data;
    apr_size_t n;
    apr_status_t rv;

    if (!x || x->upstream.answered) {
        ap_remove_output_filter(f);
        return ap_pass_brigade(f->next, bb);
    }
    alexalink_grace_extend(r, x);
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
        if (AP_BUCKET_IS_ERROR(e))   /* kept: report mode passes it on */
            ctx->broken = 1;
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
        if (ctx->len > alexalink_conf_max_body(x->conf)) {
            APR_BRIGADE_CONCAT(ctx->bb, bb);
            return pass_through(f, x, "oversize", ctx->len, "oversize",
                                ctx->bb);
        }
    }
    return APR_SUCCESS;
}

void alexalink_token_insert_filter(request_rec *r)
{
    alx_exchange_rec *x = alexalink_exchange_get(r);

    if (x && !x->own.json && !x->upstream.answered)
        ap_add_output_filter(ALX_FILTER_TOKEN, NULL, r, r->connection);
}

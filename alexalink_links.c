/* Links that last, on the token path (SPEC "Links that last"): the adapter
 * from a token exchange to lib/alx_link. A refresh token Alexa presents is
 * looked up among the kept links: the link's newest refresh token goes
 * upstream instead of an older one, a step the keep-alive made and Alexa
 * has not seen is answered from the record, and every successful answer
 * records the link Alexa now holds. The watchdog's side is
 * alexalink_keepalive.c. */

#include <jansson.h>

#include "alexalink_links.h"
#include "alexalink_keepalive.h"
#include "alexalink_linkstore.h"
#include "alexalink_proxy.h"
#include "alx_form.h"
#include "alx_json.h"

/* A claim outlives the upstream's timeout this long: the answer still has
 * to pass the filters before the link is written back. */
#define LINK_LEASE_SLACK apr_time_from_sec(5)
/* How often a request asks again while the keep-alive holds its link. */
#define LINK_POLL apr_time_from_msec(100)

struct alx_links_rec {
    alx_link_ctx_t ctx;
    alx_link_hold_t hold;
    int held;                   /* hold is ours until written back */
    const char *presented;      /* the refresh token Alexa presented */
};

static int applies(request_rec *r, const alx_exchange_rec *x)
{
    alx_grant_e grant = alx_grant_of(x->req.grant_type);

    (void)r;
    return alexalink_conf_keepalive(x->conf) > 0
           && !alexalink_conf_report(x->conf) && x->req.client_id
           && *x->req.client_id
           && (grant == ALX_GRANT_AUTHORIZATION_CODE
               || (grant == ALX_GRANT_REFRESH_TOKEN && x->req.refresh_token
                   && *x->req.refresh_token));
}

/* However the request ends, a claim it holds ends with it, the link as it
 * was: the keep-alive may take it again at once. */
static apr_status_t release_at_end(void *data)
{
    alx_links_rec *l = data;

    if (l->held)
        alx_link_release(&l->ctx, &l->hold);
    l->held = 0;
    return APR_SUCCESS;
}

static alx_links_rec *start(request_rec *r, alx_exchange_rec *x)
{
    const alx_link_store_t *store = alexalink_linkstore_request(r);
    alx_links_rec *l;
    int nkeys = 0;
    const alx_link_key_t *keys = alexalink_keepalive_keys(r->server, &nkeys);

    if (!store || !keys || nkeys < 1)
        return NULL;
    l = apr_pcalloc(r->pool, sizeof(*l));
    l->ctx.pool = r->pool;
    l->ctx.store = store;
    l->ctx.keys = keys;
    l->ctx.nkeys = nkeys;
    l->ctx.lease = alexalink_proxy_timeout(r) + LINK_LEASE_SLACK;
    l->presented = x->req.refresh_token;
    apr_pool_cleanup_register(r->pool, l, release_at_end,
                              apr_pool_cleanup_null);
    x->links = l;
    return l;
}

/* The form with refresh_token replaced by the link's newest. */
static void send_newest(request_rec *r, alx_exchange_rec *x,
                        const char *newest, const char **body,
                        apr_size_t *len)
{
    apr_array_header_t *pairs = apr_array_copy(r->pool, x->req.pairs);

    alx_form_set(pairs, "refresh_token", newest);
    *body = alx_form_encode(r->pool, pairs, len);
    x->req.pairs = pairs;
    x->req.refresh_token = newest;
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "ALX0530: keep-alive: Alexa "
                  "presented an older refresh token of a kept link for "
                  "client %s; the upstream is asked with the link's newest",
                  alx_log_safe(r->pool, x->req.client_id, 64));
}

/* The step the keep-alive made and Alexa has not seen, as the token path
 * would have sent it (the normaliser's rules apply). 0 when it cannot be
 * read: the request then goes upstream with the newest token. */
static int answer_step(request_rec *r, alx_exchange_rec *x,
                       const alx_link_presented_t *p)
{
    json_t *obj = alx_json_own(r->pool, json_loadb(p->body, p->len, 0, NULL));
    alx_answer_in_t in = {0};
    const char *json;
    apr_size_t len;

    if (!json_is_object(obj))
        return 0;
    json_object_set_new(obj, "expires_in", json_integer(p->ttl));
    json_object_set_new(obj, "refresh_token", json_string(p->refresh_token));
    if (!(json = alx_json_compact(r->pool, obj, &len)))
        return 0;
    in.status = 200;
    in.content_type = ALX_JSON_TYPE;
    in.cache_control = "no-store";
    in.body = json;
    in.len = len;
    in.grant_type = x->req.grant_type;
    in.presented_refresh_token = p->refresh_token;
    in.min_ttl = alexalink_conf_min_ttl(x->conf);
    in.default_ttl = alexalink_conf_default_ttl(x->conf);
    in.keep_refresh_token = 1;
    in.now = apr_time_sec(apr_time_now());
    alx_answer_normalize(r->pool, &in, &x->answer);
    if (x->answer.kind != ALX_KIND_TOKEN)
        return 0;
    x->answer.ttl_in = p->ttl;
    x->own.status = HTTP_OK;
    x->own.json = x->answer.body;
    x->own.verdict_kind = ALX_VERDICT_REPLAYED;
    x->own.verdict = alx_verdict_word(r->pool, ALX_VERDICT_REPLAYED,
                                      "kept-link");
    x->own.described = 1;
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "ALX0531: keep-alive: "
                  "answered from the kept link for client %s, with the step "
                  "the keep-alive made while Alexa was quiet (expires_in %"
                  APR_INT64_T_FMT ")", alx_log_safe(r->pool, x->req.client_id,
                                                    64), p->ttl);
    return 1;
}

/* The keep-alive holds the link: ask again until it lets go, within the
 * budget; then 503, which Alexa retries. */
static apr_status_t wait_for(request_rec *r, alx_exchange_rec *x,
                             alx_links_rec *l, alx_link_presented_t *p)
{
    apr_time_t end = r->request_time + alexalink_conf_time_budget(x->conf);
    apr_status_t rv;

    do {
        apr_sleep(LINK_POLL);
        rv = alx_link_present(&l->ctx, x->req.client_id, l->presented, p);
    } while (rv == APR_SUCCESS && p->decision == ALX_LINK_WAIT
             && apr_time_now() < end);
    if (rv != APR_SUCCESS || p->decision != ALX_LINK_WAIT)
        return rv;
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "ALX0532: keep-alive: the "
                  "kept link for client %s was being refreshed for longer "
                  "than AlexaLinkTimeBudget; answered 503, which Alexa "
                  "retries", alx_log_safe(r->pool, x->req.client_id, 64));
    x->own.status = HTTP_SERVICE_UNAVAILABLE;
    x->own.json = alx_error_json_shaped(r->pool, "temporarily_unavailable",
                                        "the link is being refreshed; try "
                                        "again", &x->answer.shape_out);
    x->own.verdict_kind = ALX_VERDICT_UNRECORDABLE;
    x->own.verdict = alx_verdict_word(r->pool, ALX_VERDICT_UNRECORDABLE,
                                      "kept-link-busy");
    x->own.retry_after = 1;
    x->own.described = 1;
    x->answer.ttl_out = ALX_TTL_ABSENT;
    return APR_EBUSY;
}

int alexalink_links_before_proxy(request_rec *r, alx_exchange_rec *x,
                                 const char **body, apr_size_t *len)
{
    alx_link_presented_t p;
    alx_links_rec *l;
    apr_status_t rv;

    if (!applies(r, x) || !(l = start(r, x)) || !l->presented)
        return OK;      /* a code exchange: recorded after its answer */
    rv = alx_link_present(&l->ctx, x->req.client_id, l->presented, &p);
    if (rv == APR_SUCCESS && p.decision == ALX_LINK_WAIT
        && wait_for(r, x, l, &p) == APR_EBUSY)
        return DONE;
    if (rv != APR_SUCCESS)
        return OK;      /* unreadable or no store: as if no link */
    switch (p.decision) {
    case ALX_LINK_PASS_HELD:
    case ALX_LINK_REFRESH:
    case ALX_LINK_ANSWER:
        l->hold = p.hold;
        l->held = 1;
        break;
    default:
        return OK;
    }
    if (p.decision == ALX_LINK_ANSWER) {
        if (answer_step(r, x, &p)) {
            alexalink_links_after_answer(r, x);
            return DONE;
        }
        p.decision = ALX_LINK_REFRESH;
    }
    if (p.decision == ALX_LINK_REFRESH && x->req.pairs)
        send_newest(r, x, p.refresh_token, body, len);
    return OK;
}

/* The refresh token Alexa got: the one in the answer sent. */
static const char *token_sent(request_rec *r, const alx_exchange_rec *x)
{
    const char *body = x->own.json ? x->own.json : x->answer.body;
    json_t *obj, *v;

    if (!body)
        return NULL;
    obj = alx_json_own(r->pool, json_loads(body, 0, NULL));
    v = json_object_get(obj, "refresh_token");
    return json_is_string(v) ? apr_pstrdup(r->pool, json_string_value(v))
                             : NULL;
}

/* The upstream's own word on the access token's life: its expires_in,
 * else the token's exp, else what was sent. */
static apr_int64_t upstream_ttl(const alx_answer_t *a)
{
    if (a->ttl_in >= 0)
        return a->ttl_in;
    return a->ttl_real > 0 ? a->ttl_real : a->ttl_out;
}

/* The location's client authentication as it goes upstream. */
static alx_link_auth_e upstream_auth(request_rec *r)
{
    const char *h = apr_table_get(r->headers_in, "Authorization");

    return h && !ap_cstr_casecmpn(h, "Basic ", 6) ? ALX_LINK_AUTH_BASIC
                                                   : ALX_LINK_AUTH_BODY;
}

/* The upstream token URL: AlexaLinkKeepAliveURL, else where mod_proxy
 * sends this location (r->filename is proxy:URL after its fixups). */
static const char *token_url(request_rec *r, const alx_exchange_rec *x)
{
    const char *url = alexalink_conf_keepalive_url(x->conf);
    char *q;

    if (url)
        return url;
    if (!r->filename || strncmp(r->filename, "proxy:", 6) != 0)
        return NULL;
    url = apr_pstrdup(r->pool, r->filename + 6);
    if ((q = strchr(url, '?')) != NULL)
        *q = '\0';
    return url;
}

void alexalink_links_after_answer(request_rec *r, alx_exchange_rec *x)
{
    alx_links_rec *l = x->links;
    alx_link_seen_t in;
    apr_status_t rv;

    if (!l)
        return;
    memset(&in, 0, sizeof(in));
    if (x->answer.kind != ALX_KIND_TOKEN || x->upstream.truncated
        || !(in.alexa_token = token_sent(r, x))
        || !(in.token_url = token_url(r, x))) {
        release_at_end(l);
        return;
    }
    in.client_id = x->req.client_id;
    in.client_secret = x->req.client_secret && *x->req.client_secret
                       ? x->req.client_secret : NULL;
    in.auth = upstream_auth(r);
    in.interval = apr_time_from_sec(alexalink_conf_keepalive(x->conf));
    in.keep_for = apr_time_from_sec(alexalink_conf_keepalive_for(x->conf));
    in.presented = l->presented;
    in.ttl = upstream_ttl(&x->answer);
    in.refreshed = !x->own.json;
    rv = alx_link_seen(&l->ctx, l->held ? &l->hold : NULL, &in);
    l->held = 0;
    if (rv != APR_SUCCESS && rv != APR_EBUSY)
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, rv, r, "ALX0533: keep-alive: "
                      "the link for client %s could not be recorded; it is "
                      "not kept alive until its next exchange",
                      alx_log_safe(r->pool, x->req.client_id, 64));
}

/* The authorization endpoint (AlexaLink authorize): the request that starts
 * an Alexa flow is recorded, the redirect that ends it is checked and fixed,
 * and the login pages between are scanned as they stream. The decisions are
 * lib/alx_authz (flow and Location), lib/alx_html (pages) and
 * lib/alx_flowrec (the stored flow). */

#include "alexalink_authorize.h"
#include "alexalink_status.h"
#include "alexalink_store.h"
#include "alexalink_shared.h"
#include "http_ssl.h"
#include "apr_lib.h"
#include "alx_exchange.h"
#include "alx_flowrec.h"
#include "alx_html.h"
#include "alx_stats.h"


#define ALX_FLOW_LIFETIME apr_time_from_sec(600)   /* a login's length */
#define ALX_PAGE_GAP      apr_time_from_sec(3600)  /* repeated findings */
#define ALX_TLS_GAP       apr_time_from_sec(86400)

struct alx_authz_rec {
    const alx_dir_conf *conf;
    alx_authz_request_t req;    /* this request's query */
    const char *own_host;       /* the page's, lower-case */
    apr_hash_t *said;           /* findings already reported by this page */
};

typedef struct {
    request_rec *r;
    alx_authz_rec *a;
    alx_html_t *scanner;
} alx_page_ctx;

/* httpd ends every line logged for a request with ", referer: ..." and a
 * login form's Referer is the login page's URL, Alexa's state in it: the
 * header is hidden while this file decides and logs (the request has gone
 * upstream, or is yet to go, with it). */
static const char *hide_referer(request_rec *r)
{
    const char *v = apr_table_get(r->headers_in, "Referer");

    if (v)
        apr_table_unset(r->headers_in, "Referer");
    return v;
}

static void restore_referer(request_rec *r, const char *v)
{
    if (v)
        apr_table_setn(r->headers_in, "Referer", v);
}

/* Once per hour (or interval) per vhost and key, across all children. */
static int once(request_rec *r, const char *what, const char *key,
                apr_interval_time_t interval)
{
    return alexalink_shared_once(r, alx_once_key(alexalink_vhost_name(r->pool, r->server),
                                                apr_pstrcat(r->pool, what, " ",
                                                            key, NULL)),
                                interval);
}

/* The browser a flow runs in: its address and User-Agent. A later login
 * step (the form's POST) carries neither state nor redirect_uri. */
static void flow_id(request_rec *r, unsigned char *id)
{
    const char *ua = apr_table_get(r->headers_in, "User-Agent");
    const char *key = apr_pstrcat(r->pool, "alexalink-flow", "\n",
                                  r->useragent_ip, "\n", ua ? ua : "", NULL);
    unsigned char md[32];

    if (alx_crypto_sha256(alexalink_server_conf_get(r->server)->crypto, key,
                          strlen(key), md) != APR_SUCCESS)
        memset(md, 0, sizeof(md));  /* no crypto in this child: one key */
    memcpy(id, md, ALX_GRACE_ID_LEN);
}

static const alx_crypto_t *crypto_of(request_rec *r)
{
    return alexalink_server_conf_get(r->server)->crypto;
}

/* The flows recorded for this browser (id: flow_id), if any. */
static int read_flows(request_rec *r, const unsigned char *id,
                      alx_flowrec_t *rec)
{
    char *buf = apr_palloc(r->pool, ALX_FLOWREC_MAX);
    apr_size_t len = ALX_FLOWREC_MAX;

    return alexalink_store_flow_get(r, id, buf, &len) == APR_SUCCESS
           && alx_flowrec_decode(r->pool, buf, len, rec) == APR_SUCCESS;
}

/* This flow joins the browser's others, so that each customer behind one
 * address finds their own by state. A read, then a write: two first
 * requests of one browser in the same instant may keep only one flow. */
static void record_flow(request_rec *r, const alx_authz_rec *a)
{
    unsigned char id[ALX_GRACE_ID_LEN];
    alx_flowrec_t rec;
    alx_flow_t f;
    apr_size_t len;
    const char *data;

    if (alx_flowrec_flow(r->pool, crypto_of(r), apr_time_now(),
                         a->req.response_type, a->req.client_id, a->req.state,
                         &f) != APR_SUCCESS)
        return;     /* no crypto: the redirect still answers this one */
    flow_id(r, id);
    if (!read_flows(r, id, &rec))
        memset(&rec, 0, sizeof(rec));
    alx_flowrec_add(&rec, &f, ALX_FLOW_LIFETIME);
    if ((data = alx_flowrec_encode(r->pool, &rec, &len)))
        alexalink_store_flow_put(r, id, f.started + ALX_FLOW_LIFETIME, data,
                                 len);
}

static int found_flows(request_rec *r, alx_flowrec_t *rec)
{
    unsigned char id[ALX_GRACE_ID_LEN];

    flow_id(r, id);
    return read_flows(r, id, rec);
}

/* ---- HTTPS, port 443 and the certificate ------------------------------- */

/* A forwarded header counts only when mod_remoteip trusted the proxy that
 * sent it (it then replaced the client address). */
static const char *forwarded(request_rec *r, const char *header)
{
    return strcmp(r->useragent_ip, r->connection->client_ip)
           ? apr_table_get(r->headers_in, header) : NULL;
}

/* Reports differ on whether Amazon accepts Let's Encrypt today (it is on
 * Mozilla's list); self-signed never works. A warning, not a block. */
static void check_issuer(request_rec *r)
{
    const char *issuer = ap_ssl_var_lookup(r->pool, r->server, r->connection,
                                           r, "SSL_SERVER_I_DN");
    const char *subject = ap_ssl_var_lookup(r->pool, r->server, r->connection,
                                            r, "SSL_SERVER_S_DN");
    const char *why;

    if (!issuer || !*issuer)
        return;
    if (subject && !strcmp(issuer, subject))
        why = "self-signed";
    else if (ap_strcasestr(issuer, "Let's Encrypt"))
        why = "issued by Let's Encrypt";
    else
        return;
    if (once(r, "issuer", issuer, ALX_TLS_GAP))
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "ALX0312: this vhost's "
                      "certificate is %s (issuer %s): Amazon accepts only "
                      "certificates from certificate authorities it trusts, "
                      "and reports differ on Let's Encrypt; if linking fails "
                      "before the login page shows, use a certificate from a "
                      "CA on Mozilla's list that Amazon accepts. Said once a "
                      "day per vhost", why, ap_escape_logitem(r->pool, issuer));
}

static void check_transport(request_rec *r, const alx_authz_rec *a)
{
    const char *proto = forwarded(r, "X-Forwarded-Proto");
    const char *fport = forwarded(r, "X-Forwarded-Port");
    int tls = proto ? !strcasecmp(proto, "https") : ap_ssl_conn_is_ssl(r->connection);
    unsigned int port = fport ? (unsigned int)apr_atoi64(fport)
                      : proto ? (tls ? 443 : 80)
                              : r->connection->local_addr->port;
    const char *region = alx_region_name(a->req.region);

    if (!tls || port != ALX_ALEXA_PORT)
        alexalink_status_count(r, ALX_STAT_insecure);
    if (!tls && once(r, "http", "", ALX_PAGE_GAP))
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "ALX0310: an Alexa "
                      "authorization request (region %s) reached %s over "
                      "plain HTTP%s: Alexa requires HTTPS and will not link. "
                      "Fix: serve the authorization URL over https on port "
                      ALX_ALEXA_PORT_TEXT " (behind a TLS proxy, let mod_remoteip trust it so "
                      "its X-Forwarded-Proto counts). Said once an hour per "
                      "vhost", region, r->uri,
                      proto ? " (X-Forwarded-Proto)" : "");
    if (port != ALX_ALEXA_PORT && once(r, "port", "", ALX_PAGE_GAP))
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "ALX0311: an Alexa "
                      "authorization request (region %s) came in on port %u: "
                      "Alexa requires port " ALX_ALEXA_PORT_TEXT " for the "
                      "authorization and token URLs. Fix: listen on "
                      ALX_ALEXA_PORT_TEXT " (or forward " ALX_ALEXA_PORT_TEXT
                      " to "
                      "this port). Said once an hour per vhost", region, port);
    if (tls && !proto)
        check_issuer(r);
}

/* ---- the request that starts a flow ----------------------------------- */

alx_authz_rec *alexalink_authz_get(request_rec *r)
{
    alx_request_rec *s = alexalink_request_get(r);

    return s ? s->authz : NULL;
}

static void force_offline(request_rec *r, int ways)
{
    int changed = 0;
    const char *args = alx_authz_force_offline(r->pool, r->args, ways,
                                               &changed);

    if (!changed)
        return;
    r->args = (char *)args;
    r->parsed_uri.query = r->args;
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "ALX0313: %s%s%s added to "
                  "the authorization request (AlexaLinkForceOffline)",
                  changed & ALX_OFFLINE_GOOGLE
                  ? "access_type=offline and prompt=consent" : "",
                  changed == ALX_OFFLINE_BOTH ? "; " : "",
                  changed & ALX_OFFLINE_OIDC ? "offline_access in scope" : "");
}

/* Before mod_proxy's fixup builds the upstream URL from r->args. */
int alexalink_authorize_fixups(request_rec *r)
{
    const alx_dir_conf *conf;
    const char *referer;
    alx_authz_rec *a;

    if (r->main)
        return DECLINED;
    conf = alexalink_dir_conf_get(r->per_dir_config);
    if (alexalink_conf_role(conf) != ALX_ROLE_AUTHORIZE)
        return DECLINED;
    a = apr_pcalloc(r->pool, sizeof(*a));
    a->conf = conf;
    a->own_host = apr_pstrdup(r->pool, r->hostname ? r->hostname : "");
    ap_str_tolower((char *)a->own_host);
    alexalink_request_slot(r)->authz = a;
    alx_authz_request_parse(r->pool, r->args, r->args ? strlen(r->args) : 0,
                            conf->redirect_hosts, &a->req);
    if (a->req.region == ALX_REGION_NONE)
        return DECLINED;
    referer = hide_referer(r);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "ALX0300: Alexa authorization "
                  "flow: region=%s response_type=%s client=%s state=%s",
                  alx_region_name(a->req.region),
                  alx_log_safe(r->pool, a->req.response_type, 32),
                  alx_log_safe(r->pool, a->req.client_id, 64),
                  a->req.state ? "present" : "absent");
    check_transport(r, a);
    if (!a->req.state)
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "ALX0301: an Alexa "
                      "authorization request without state: Alexa always "
                      "sends one, so something between Alexa and this server "
                      "dropped it (a rewrite or redirect that lost the "
                      "query?)");
    record_flow(r, a);
    if (conf->force_offline != ALX_OFFLINE_OFF && !conf->report)
        force_offline(r, conf->force_offline);
    restore_referer(r, referer);
    return DECLINED;
}

/* ---- the redirect back to Alexa --------------------------------------- */

static void log_state(request_rec *r, const alx_redirect_t *d, int later,
                      int restore)
{
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "ALX0302: the redirect back to "
                  "Alexa (region %s, %s flow) %s the state Alexa sent; Alexa "
                  "rejects such a link (\"Unable to link\"). %s. Fix it "
                  "upstream: send state back exactly as it came, through "
                  "every step of the login",
                  alx_region_name(d->region), alx_flow_name(d->flow),
                  d->state == ALX_STATE_DROPPED ? "dropped" : "changed",
                  restore ? "Restored from the request"
                  : later ? "Not restored: this is a later step of the login "
                            "(found by the flow recorded for this browser), "
                            "and only the redirect that answers the request "
                            "carrying state is fixed"
                          : "Not restored (AlexaLinkMode report)");
}

/* Several customers behind one address with the same app (a load balancer
 * without mod_remoteip) share a browser key: a state that is none of
 * theirs, or none at all, cannot be pinned on one of them. */
static void log_ambiguous(request_rec *r, const alx_redirect_t *d, int live)
{
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "ALX0316: the redirect back "
                  "to Alexa (region %s, %s flow) answers a later login step, "
                  "and %d Alexa flows are under way from this address and "
                  "User-Agent (several customers behind one address: a load "
                  "balancer without mod_remoteip?); %s, so which flow it ends "
                  "cannot be told: its state is not judged and it is not "
                  "counted", alx_region_name(d->region), alx_flow_name(d->flow),
                  live, d->states && d->states->nelts
                        ? "its state is none of theirs"
                        : "it carries no state and one of them had none");
}

static void log_redirect(request_rec *r, const alx_redirect_t *d, int later,
                         int restore, int live)
{
    if (d->state == ALX_STATE_DROPPED || d->state == ALX_STATE_CHANGED)
        log_state(r, d, later, restore);
    else if (d->state == ALX_STATE_AMBIGUOUS)
        log_ambiguous(r, d, live);
    if (d->flow == ALX_FLOW_IMPLICIT && d->implicit_in_query)
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "ALX0306: implicit-"
                      "grant token parameters in the query of the redirect "
                      "back to Alexa (region %s); Alexa reads them from the "
                      "fragment only (RFC 6749 4.2.2). %s. Fix it upstream: "
                      "put access_token, token_type, expires_in and state "
                      "after '#'", alx_region_name(d->region),
                      d->fragment_moved ? "Moved to the fragment"
                                        : "Not moved (AlexaLinkMode report)");
    if (d->flow == ALX_FLOW_ERROR)
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "ALX0307: the login "
                      "ended with error=%s sent back to Alexa (region %s): "
                      "the upstream refused or failed it, and the customer "
                      "sees \"Unable to link\". The upstream's own log at "
                      "this time says why", d->error ? d->error : "-",
                      alx_region_name(d->region));
    else if (d->flow == ALX_FLOW_UNKNOWN)
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "ALX0314: a redirect "
                      "back to Alexa (region %s) carries neither code, "
                      "access_token nor error: Alexa cannot finish the link",
                      alx_region_name(d->region));
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "ALX0308: authorization "
                  "redirect back to Alexa: region=%s form=%s flow=%s state=%s "
                  "ttl=%s%s", alx_region_name(d->region),
                  d->spa_form ? "spa" : "link", alx_flow_name(d->flow),
                  alx_state_fate_name(d->state), d->ttl_in ? d->ttl_in : "-",
                  d->ttl_raised ? " (raised to AlexaLinkMinTTL)" : "");
}

/* Counted by region and outcome, and kept among the recent events: a flow
 * fails when Alexa cannot finish it (error=, nothing to read, a state
 * problem left as it was). A later step whose flow cannot be told (the
 * state ambiguous) and that fails for nothing else is not counted: it may
 * be either customer's, good or bad. */
static void count_redirect(request_rec *r, const char *client,
                           const alx_redirect_t *d, int restore)
{
#define REGION_COUNTERS(id, word, host, stem) \
    {ALX_STAT_flow_##stem##_ok, ALX_STAT_flow_##stem##_failed},
    static const alx_stat_e counter[][2] = { ALX_REGIONS(REGION_COUNTERS) };
    int state_problem = d->state == ALX_STATE_DROPPED
                        || d->state == ALX_STATE_CHANGED;
    int fails = d->flow == ALX_FLOW_ERROR || d->flow == ALX_FLOW_UNKNOWN
                || (state_problem && !restore)
                || (d->implicit_in_query && !d->fragment_moved);
    unsigned int region = d->region < ALX_REGION_COUNT ? d->region : 0;
    alx_event_t e;

    if (d->state == ALX_STATE_AMBIGUOUS && !fails)
        return;
    alexalink_status_count(r, counter[region][fails]);
    if (state_problem)
        alexalink_status_count(r, d->state == ALX_STATE_DROPPED
                                  ? ALX_STAT_state_dropped
                                  : ALX_STAT_state_changed);
    if (d->implicit_in_query)
        alexalink_status_count(r, ALX_STAT_implicit_query);
    memset(&e, 0, sizeof(e));
    e.kind = ALX_EVENT_FLOW;
    e.failed = (unsigned char)fails;
    e.ms = (apr_int32_t)apr_time_as_msec(apr_time_now() - r->request_time);
    alx_stats_text(e.what, sizeof(e.what), alx_flow_name(d->flow));
    alx_stats_text(e.client, sizeof(e.client), client
                   ? alx_log_safe(r->pool, client, 47) : "-");
    alx_stats_text(e.region, sizeof(e.region), alx_region_name(d->region));
    alx_stats_text(e.verdict, sizeof(e.verdict), apr_psprintf(r->pool,
                   "state=%s%s%s", alx_state_fate_name(d->state),
                   d->error ? " error=" : "", d->error ? d->error : ""));
    alx_stats_text(e.cause, sizeof(e.cause), alx_cause_word(
                   d->flow == ALX_FLOW_ERROR ? ALX_CAUSE_FLOW_ERROR
                   : d->state == ALX_STATE_DROPPED ? ALX_CAUSE_STATE_DROPPED
                   : d->state == ALX_STATE_CHANGED ? ALX_CAUSE_STATE_CHANGED
                   : d->implicit_in_query ? ALX_CAUSE_IMPLICIT_IN_QUERY
                   : d->flow == ALX_FLOW_UNKNOWN ? ALX_CAUSE_FLOW_ERROR
                   : ALX_CAUSE_NONE));
    alx_stats_text(e.shape_in, sizeof(e.shape_in), "-");
    alx_stats_text(e.shape_out, sizeof(e.shape_out), "-");
    alexalink_status_event(r, &e);
}

/* A later login step (a form's POST) carries neither state nor
 * redirect_uri: the flows recorded for the browser judge its redirect, by
 * the hash of the state it carries. Implicit tokens move to the fragment
 * whenever enforcing, state in hand or not. */
static void check_redirect(request_rec *r, const alx_authz_rec *a)
{
    apr_table_t *t = r->headers_out;
    const char *loc = apr_table_get(t, "Location");
    const char *client = a->req.client_id;
    apr_time_t now = apr_time_now();
    int later, match = -1, live = 0;
    alx_redirect_opts_t o;
    alx_flowrec_t rec;
    alx_redirect_t d;

    if (!loc) {
        t = r->err_headers_out;
        if (!(loc = apr_table_get(t, "Location")))
            return;
    }
    later = !a->req.state && !a->req.redirect_uri && found_flows(r, &rec);
    memset(&o, 0, sizeof(o));
    o.expected_state = a->req.state;
    o.enforce = !a->conf->report;
    o.restore = o.expected_state && o.enforce;
    o.implicit = alx_authz_implicit(a->req.response_type)
                 || (later && alx_flowrec_implicit(&rec, now,
                                                   ALX_FLOW_LIFETIME));
    o.min_ttl = a->conf->min_ttl;
    alx_authz_redirect_opts(r->pool, loc, a->conf->redirect_hosts, &o, &d);
    if (d.malformed && d.flow == ALX_FLOW_NONE)
        return;
    if (d.malformed) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "ALX0315: a malformed "
                      "Location back to Alexa (region %s) passes unchanged: "
                      "Alexa may not read it", alx_region_name(d.region));
        return;
    }
    if (d.flow == ALX_FLOW_NONE)
        return;
    if (later) {
        d.state = alx_flowrec_judge(crypto_of(r), &rec, now, ALX_FLOW_LIFETIME,
                                    d.states, &match, &live);
        if (match >= 0)
            client = alx_flowrec_client_id(r->pool, crypto_of(r),
                                           &rec.flows[match], d.states);
    }
    if (d.location != loc)
        apr_table_setn(t, "Location", d.location);
    log_redirect(r, &d, later, o.restore, live);
    count_redirect(r, client, &d, o.restore);
}

/* ---- the login page --------------------------------------------------- */

static int first_time(alx_page_ctx *ctx, const char *what, const char *key)
{
    const char *k = apr_pstrcat(ctx->r->pool, what, " ", key, NULL);

    if (!ctx->a->said)
        ctx->a->said = apr_hash_make(ctx->r->pool);
    if (apr_hash_get(ctx->a->said, k, APR_HASH_KEY_STRING))
        return 0;
    apr_hash_set(ctx->a->said, k, APR_HASH_KEY_STRING, "");
    return once(ctx->r, what, key, ALX_PAGE_GAP);
}

static void page_finding(void *baton, alx_html_event_e kind,
                         const char *value, const char *where)
{
    alx_page_ctx *ctx = baton;
    request_rec *r = ctx->r;

    if (kind == ALX_HTML_HOST) {
        if (!strcmp(value, ctx->a->own_host)
            || alx_html_host_listed(value, ctx->a->conf->domain_list)
            || !first_time(ctx, "host", value))
            return;
        alexalink_status_count(r, ALX_STAT_domains);
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "ALX0304: the login "
                      "page %s pulls content from %s (%s), which is not in "
                      "AlexaLinkDomainList: unless the skill's Domain List "
                      "has it, some devices show a blank page. Fix: add %s "
                      "to the skill's Domain List and to AlexaLinkDomainList. "
                      "Said once an hour per host and vhost", r->uri,
                      alx_log_safe(r->pool, value, 255), where,
                      alx_log_safe(r->pool, value, 255));
    }
    else if (first_time(ctx, "popup", value)) {
        alexalink_status_count(r, ALX_STAT_popups);
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "ALX0305: the login "
                      "page %s opens a popup (%s in %s): the Alexa app's "
                      "login view cannot show popups and the login stalls. "
                      "Fix: keep the whole login in one window. Said once an "
                      "hour per kind and vhost", r->uri, value, where);
    }
}

static int is_html(const char *type)
{
    return type && (!strncasecmp(type, "text/html", 9)
                    || !strncasecmp(type, "application/xhtml+xml", 21));
}

/* NULL unless this answer is an HTML page the scanner can read. */
static alx_html_t *page_scanner(request_rec *r, alx_page_ctx *ctx)
{
    const char *enc = apr_table_get(r->headers_out, "Content-Encoding");

    if (r->header_only || !is_html(r->content_type)
        || ap_is_HTTP_REDIRECT(r->status))
        return NULL;
    if (!enc)
        enc = r->content_encoding;
    if (enc && strcasecmp(enc, "identity")) {
        if (once(r, "encoded", enc, ALX_PAGE_GAP))
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "ALX0309: login page "
                          "%s not scanned for domains and popups: it comes "
                          "%s-encoded. To have it scanned, add \"RequestHeader "
                          "unset Accept-Encoding\" to this location (or "
                          "\"SetOutputFilter INFLATE;DEFLATE\"). Said once an "
                          "hour per vhost", r->uri,
                          alx_log_safe(r->pool, enc, 32));
        return NULL;
    }
    return alx_html_create(r->pool, page_finding, ctx);
}

apr_status_t alexalink_authorize_out_filter(ap_filter_t *f,
                                            apr_bucket_brigade *bb)
{
    alx_page_ctx *ctx = f->ctx;
    const char *referer = hide_referer(f->r);
    apr_bucket *b;

    if (!ctx) {
        ctx = f->ctx = apr_pcalloc(f->r->pool, sizeof(*ctx));
        ctx->r = f->r;
        ctx->a = alexalink_authz_get(f->r);
        if (ctx->a && ap_is_HTTP_REDIRECT(f->r->status))
            check_redirect(f->r, ctx->a);
        if (!ctx->a || !(ctx->scanner = page_scanner(f->r, ctx))) {
            restore_referer(f->r, referer);
            ap_remove_output_filter(f);
            return ap_pass_brigade(f->next, bb);
        }
    }
    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
         b = APR_BUCKET_NEXT(b)) {
        const char *data;
        apr_size_t len;

        if (APR_BUCKET_IS_EOS(b)) {
            alx_html_end(ctx->scanner);
            break;
        }
        if (APR_BUCKET_IS_METADATA(b)
            || apr_bucket_read(b, &data, &len, APR_BLOCK_READ) != APR_SUCCESS)
            continue;   /* what cannot be read is passed on unread */
        alx_html_feed(ctx->scanner, data, len);
    }
    restore_referer(f->r, referer);
    return ap_pass_brigade(f->next, bb);
}

void alexalink_authorize_insert_filter(request_rec *r)
{
    if (alexalink_authz_get(r))
        ap_add_output_filter(ALX_FILTER_AUTHZ, NULL, r, r->connection);
}

/* The status page (SetHandler alexalink-status) and what it counts: the
 * counters, events and store figures of the shared segment
 * (alexalink_shared.c, laid out by lib/alx_stats), counted here with
 * atomics and read into the views of lib/alx_status. */

#include "alexalink_status.h"
#include "alexalink_keepalive.h"
#include "alexalink_shared.h"
#include "http_main.h"
#include "apr_lib.h"
#include "mod_status.h"
#include "alx_exchange.h"
#include "alx_status.h"

#define ALX_STATUS_HANDLER  "alexalink-status"

/* ---- counting ---------------------------------------------------------- */

static alx_stats_t *stats_of(request_rec *r, unsigned int *vhost)
{
    alx_server_conf *sc = alexalink_server_conf_get(r->server);

    *vhost = sc->vhost_index;
    return sc->stats;
}

void alexalink_status_count(request_rec *r, alx_stat_e counter)
{
    unsigned int vh;
    alx_stats_t *st = stats_of(r, &vh);

    if (st)
        alx_stats_count(st, vh, counter);
}

/* Each fix the answer got, by the counter that says it (alx_fix.h). */
#define FIX_COUNTER(id, bit, name, counter) {bit, counter},
static const struct {
    unsigned fix;
    int counter;        /* alx_stat_e, or ALX_FIX_UNCOUNTED */
} fix_counters[] = { ALX_FIXES(FIX_COUNTER) };

/* Each grant type's exchanges_total counter (alx_vocab.h). */
#define GRANT_COUNTER(id, word, stem) ALX_STAT_exchange_##stem,
static const alx_stat_e grant_counter[] = { ALX_GRANTS(GRANT_COUNTER) };

/* The cause of a failed exchange (alx_cause.h), or ALX_CAUSE_NONE when it
 * did not fail. */
static alx_cause_e failure(alx_verdict_e kind)
{
    switch (kind) {
    case ALX_VERDICT_REJECTED:          return ALX_CAUSE_REQUEST_REJECTED;
    case ALX_VERDICT_UPSTREAM_ERROR:    return ALX_CAUSE_UPSTREAM_ERROR;
    case ALX_VERDICT_SERVER_ERROR:      return ALX_CAUSE_SERVER_ERROR;
    case ALX_VERDICT_UNUSABLE:          return ALX_CAUSE_UNUSABLE_ANSWER;
    case ALX_VERDICT_TRUNCATED:         return ALX_CAUSE_TRUNCATED;
    case ALX_VERDICT_IN_FLIGHT_TIMEOUT: return ALX_CAUSE_DUPLICATE_WAIT_TIMEOUT;
    default:                            return ALX_CAUSE_NONE;
    }
}

static void exchange_event(request_rec *r, const alx_exchange_rec *x,
                           int failed, alx_cause_e cause)
{
    alx_event_t e;

    memset(&e, 0, sizeof(e));
    e.kind = ALX_EVENT_EXCHANGE;
    e.failed = (unsigned char)failed;
    e.ms = (apr_int32_t)x->result.ms;
    alx_stats_text(e.what, sizeof(e.what),
                   x->req.grant_type ? x->req.grant_type : "-");
    alx_stats_text(e.client, sizeof(e.client),
                   x->req.client_id ? x->req.client_id : "-");
    alx_stats_text(e.region, sizeof(e.region), "-");
    alx_stats_text(e.verdict, sizeof(e.verdict),
                   cause == ALX_CAUSE_OVER_BUDGET
                   ? apr_pstrcat(r->pool, x->result.verdict ? x->result.verdict : "-",
                                 ", over budget", NULL)
                   : x->result.verdict ? x->result.verdict : "-");
    alx_stats_text(e.cause, sizeof(e.cause), alx_cause_word(cause));
    alx_stats_shape(e.shape_in, sizeof(e.shape_in),
                    x->answer.shape_in ? x->answer.shape_in : "-");
    alx_stats_shape(e.shape_out, sizeof(e.shape_out),
                    x->answer.shape_out ? x->answer.shape_out : "-");
    alexalink_status_event(r, &e);
}

/* One token exchange, counted from the record the log line was made of. */
void alexalink_status_exchange(request_rec *r, const alx_exchange_rec *x)
{
    unsigned int vh;
    alx_stats_t *st = stats_of(r, &vh);
    const char *grant = x->req.grant_type;
    alx_cause_e cause;
    const alx_answer_t *a = &x->answer;
    int fail, over;
    apr_size_t i;

    if (!st)
        return;
    alx_stats_count(st, vh, grant_counter[alx_grant_of(grant)]);
    if (!alexalink_conf_report(x->conf)) {
        for (i = 0; i < sizeof(fix_counters) / sizeof(fix_counters[0]); i++)
            if ((a->fixes & fix_counters[i].fix)
                && fix_counters[i].counter != ALX_FIX_UNCOUNTED)
                alx_stats_count(st, vh, (alx_stat_e)fix_counters[i].counter);
        if (x->req.changed)
            alx_stats_count(st, vh, ALX_STAT_rewrite_client_auth);
    }
    if (x->result.kind == ALX_VERDICT_REPLAYED)
        alx_stats_count(st, vh, ALX_STAT_rewrite_replayed);
    if (alexalink_exchange_chained(x))
        alx_stats_count(st, vh, ALX_STAT_rewrite_chained);
    cause = failure(x->result.kind);
    if (cause == ALX_CAUSE_NONE && x->result.kind == ALX_VERDICT_PASSTHROUGH
        && r->status >= 400)    /* an error page Alexa cannot read */
        cause = ALX_CAUSE_UPSTREAM_ERROR;
    fail = cause != ALX_CAUSE_NONE;
    if (fail)
        alx_stats_count(st, vh, (alx_stat_e)alx_cause_counter(cause));
    else if (r->status == HTTP_OK
             && alx_grant_of(grant) == ALX_GRANT_AUTHORIZATION_CODE)
        alx_stats_count(st, vh, ALX_STAT_code_ok);
    over = x->result.ms > apr_time_as_msec(alexalink_conf_time_budget(x->conf));
    if (over) {
        alx_stats_count(st, vh, ALX_STAT_over_budget);
        cause = fail ? cause : ALX_CAUSE_OVER_BUDGET;
    }
    if (!x->own.json && a->kind == ALX_KIND_TOKEN && a->ttl_in >= 0
        && a->ttl_in < ALX_ALEXA_MIN_TTL)
        alx_stats_count(st, vh, ALX_STAT_short_lifetime);
    if (x->result.kind != ALX_VERDICT_REJECTED)
        alx_stats_latency(st, vh, x->result.ms);
    exchange_event(r, x, fail || over, cause);
}

/* The ring takes events without a lock (alx_stats_event): a global mutex
 * on every exchange is what a busy server queues on. */
void alexalink_status_event(request_rec *r, alx_event_t *e)
{
    alx_server_conf *sc = alexalink_server_conf_get(r->server);
    const char *ua = apr_table_get(r->headers_in, "User-Agent");

    if (!sc->stats)
        return;
    e->at = apr_time_now();
    e->vhost = (apr_uint16_t)sc->vhost_index;
    alx_stats_text(e->platform, sizeof(e->platform), alx_stats_platform(ua));
    alx_stats_event(sc->stats, e);
}

/* ---- the views ---------------------------------------------------------- */

/* Every <Location> with an AlexaLink role, from core's per-server list,
 * and the longest refresh-grace window among the token ones. */
static apr_array_header_t *locations(request_rec *r,
                                     apr_interval_time_t *window)
{
    apr_array_header_t *out = apr_array_make(r->pool, 8,
                                             sizeof(alx_status_location_t));
    server_rec *vs;

    for (vs = ap_server_conf; vs; vs = vs->next) {
        core_server_config *core = ap_get_core_module_config(
            vs->module_config);
        ap_conf_vector_t **sec = (ap_conf_vector_t **)core->sec_url->elts;
        int i, j;

        for (i = 0; i < core->sec_url->nelts; i++) {
            core_dir_config *d = ap_get_core_module_config(sec[i]);
            const alx_dir_conf *c = alexalink_dir_conf_get(sec[i]);
            alx_status_location_t *l;
            const char *list = NULL;

            if (!c || !(c->set & (1u << ALX_CONF_role))
                || c->role == ALX_ROLE_OFF)
                continue;
            l = apr_array_push(out);
            l->vhost = alexalink_vhost_name(r->pool, vs);
            l->path = d->d;
            l->role = alx_role_name(c->role);
            if (c->role == ALX_ROLE_TOKEN && c->refresh_grace > *window)
                *window = c->refresh_grace;
            for (j = 0; c->domain_list && j < c->domain_list->nelts; j++)
                list = apr_pstrcat(r->pool, list ? list : "", list ? " " : "",
                                   APR_ARRAY_IDX(c->domain_list, j,
                                                 const char *), NULL);
            l->domain_list = list;
        }
    }
    return out;
}

/* The snapshot's vhosts in the server list's order, named; each event's
 * vhost renumbered to match. A vhost's block need not be its place in the
 * list: blocks follow the vhosts across restarts. */
static const char **in_server_order(request_rec *r, alx_stats_snapshot_t *snap)
{
    unsigned int n = snap->vhosts, i = 0, b, *place;
    alx_stats_vhost_t *ordered;
    const char **names;
    server_rec *vs;

    names = apr_pcalloc(r->pool, sizeof(*names) * (n + 1));
    ordered = apr_pcalloc(r->pool, sizeof(*ordered) * (n + 1));
    place = apr_pcalloc(r->pool, sizeof(*place) * (n + 1));
    for (b = 0; b < n; b++)
        place[b] = n;
    for (vs = ap_server_conf; vs && i < n; vs = vs->next, i++) {
        b = alexalink_server_conf_get(vs)->vhost_index;
        if (b >= n || place[b] < n)
            return NULL;    /* not this generation's blocks */
        place[b] = i;
        ordered[i] = snap->vhost[b];
        names[i] = alexalink_vhost_name(r->pool, vs);
    }
    if (i < n)
        return NULL;
    for (i = 0; i < snap->nevents; i++)
        if (snap->event[i].vhost < n)
            snap->event[i].vhost = (apr_uint16_t)place[snap->event[i].vhost];
    snap->vhost = ordered;
    return names;
}

static int view(request_rec *r, alx_stats_snapshot_t *snap,
                alx_status_view_t *v)
{
    alx_server_conf *sc = alexalink_server_conf_get(r->server);
    const char **names;

    if (!sc->stats)
        return 0;
    alx_stats_snapshot(r->pool, sc->stats, snap);
    if (!(names = in_server_order(r, snap)))
        return 0;
    memset(v, 0, sizeof(*v));
    v->snap = snap;
    v->vhost_names = names;
    v->locations = locations(r, &v->window);
    v->now = apr_time_now();
    alexalink_shared_store_figures(r->server, &v->store, &v->capacity);
    v->version = ALX_VERSION;
    v->keepalive = alexalink_keepalive_on(ap_server_conf);
    return 1;
}

int alexalink_status_handler(request_rec *r)
{
    alx_stats_snapshot_t snap;
    alx_status_view_t v;
    const char *body, *type = "text/html; charset=utf-8";

    if (!r->handler || strcmp(r->handler, ALX_STATUS_HANDLER))
        return DECLINED;
    if (r->method_number != M_GET)
        return HTTP_METHOD_NOT_ALLOWED;
    if (!view(r, &snap, &v))
        return HTTP_SERVICE_UNAVAILABLE;
    if (r->args && !strcmp(r->args, "json")) {
        body = alx_status_json(r->pool, &v);
        type = "application/json";
    }
    else if (r->args && !strcmp(r->args, "metrics")) {
        body = alx_status_metrics(r->pool, &v);
        type = "text/plain; version=0.0.4; charset=utf-8";
    }
    else if (r->args && !strcmp(r->args, "support")) {
        body = alx_status_support(r->pool, &v);
        type = "text/plain; charset=utf-8";
    }
    else
        body = alx_status_html(r->pool, &v);
    ap_set_content_type(r, type);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (!r->header_only)
        ap_rputs(body, r);
    return OK;
}

/* A short section on mod_status's page, and lines in its ?auto. */
static int status_hook(request_rec *r, int flags)
{
    alx_stats_snapshot_t snap;
    alx_status_view_t v;

    if (!view(r, &snap, &v))
        return OK;
    ap_rputs(flags & AP_STATUS_SHORT ? alx_status_auto(r->pool, &v)
                                     : alx_status_section(r->pool, &v), r);
    return OK;
}

void alexalink_status_register_hooks(void)
{
    APR_OPTIONAL_HOOK(ap, status_hook, status_hook, NULL, NULL,
                      APR_HOOK_MIDDLE);
    ap_hook_handler(alexalink_status_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

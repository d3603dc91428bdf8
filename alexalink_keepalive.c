/* The keep-alive: a mod_watchdog task that finds due links in the link
 * store and refreshes each at the upstream (lib/alx_link.h decides; this
 * file schedules, calls and logs).
 *
 * It runs in a singleton watchdog instance in a child, as mod_md runs its
 * renewals: one thread per server rather than one per child, since the
 * claims in SQL already keep servers (and children) from refreshing one
 * link twice and more threads would only race for the same rows; in a
 * child, not the parent, because mod_dbd's connections are a child's and
 * the upstream calls need not run as root. */

#include "mod_watchdog.h"
#include "http_main.h"

#include "alexalink_keepalive.h"
#include "alexalink_proxy.h"
#include "alexalink_upstream.h"
#include "alx_exchange.h"
#include "alx_once.h"

#define ALX_KEEPALIVE_WATCHDOG "_alexalink_keepalive_"
/* Links refreshed in one round at most: a backlog (after a stop) is
 * worked off over rounds, so a round ends in bounded time. */
#define ALX_KEEPALIVE_PER_ROUND 64
/* The round's interval: a quarter of the shortest AlexaLinkKeepAlive,
 * between these. */
#define ALX_KEEPALIVE_TICK_MIN apr_time_from_sec(1)
#define ALX_KEEPALIVE_TICK_MAX apr_time_from_sec(60)
/* The answer read at most: AlexaLinkMaxBody's default (the link has no
 * location to read it from). */
#define ALX_KEEPALIVE_MAX_BODY 65536
/* A claim outlives the upstream call by this much. */
#define ALX_KEEPALIVE_LEASE_SLACK apr_time_from_sec(30)
#define ALX_KEEPALIVE_HOUR apr_time_from_sec(3600)

#ifdef ALX_TEST_HOOKS
/* Test builds only: ALX_TEST_KEEPALIVE_BACKOFF (seconds) in Apache's
 * environment shortens the first backoff, so an end-to-end test sees a
 * link recover from a 5xx within its run. */
#define ALX_KEEPALIVE_TEST_BACKOFF_ENV "ALX_TEST_KEEPALIVE_BACKOFF"
#endif

/* The first backoff after a failed refresh; 0: the protocol's own. */
static apr_interval_time_t first_backoff(void)
{
#ifdef ALX_TEST_HOOKS
    const char *v = getenv(ALX_KEEPALIVE_TEST_BACKOFF_ENV);

    return v && apr_atoi64(v) > 0 ? apr_time_from_sec(apr_atoi64(v)) : 0;
#else
    return 0;
#endif
}

int alexalink_keepalive_on(const server_rec *s)
{
    for (; s; s = s->next)
        if (alexalink_server_conf_get(s)->keepalive_where)
            return 1;
    return 0;
}

/* "3d 4h", "25m 3s": a link's age or a wait, for a log line. */
static const char *span(apr_pool_t *p, apr_interval_time_t t)
{
    apr_int64_t s = t > 0 ? apr_time_sec(t) : 0;

    if (s >= 86400)
        return apr_psprintf(p, "%" APR_INT64_T_FMT "d %" APR_INT64_T_FMT "h",
                            s / 86400, s % 86400 / 3600);
    if (s >= 3600)
        return apr_psprintf(p, "%" APR_INT64_T_FMT "h %" APR_INT64_T_FMT "m",
                            s / 3600, s % 3600 / 60);
    if (s >= 60)
        return apr_psprintf(p, "%" APR_INT64_T_FMT "m %" APR_INT64_T_FMT "s",
                            s / 60, s % 60);
    return apr_psprintf(p, "%" APR_INT64_T_FMT "s", s);
}

/* Once an hour per what and client, across the server's children. */
static int hourly(server_rec *s, const char *what, const char *client)
{
    alx_stats_t *st = alexalink_server_conf_get(s)->stats;

    return !st || alx_once_due(alx_stats_once(st), alx_once_key(what, client),
                               apr_time_now(), ALX_KEEPALIVE_HOUR);
}

static void count(server_rec *s, alx_stat_ka_e c)
{
    alx_stats_keepalive_count(alexalink_server_conf_get(s)->stats, c);
}

/* What the upstream said, for a failure's line: its status, or libcurl's
 * reason; never its body (an error_description may quote a token). */
static const char *upstream_said(apr_pool_t *p,
                                 const alx_upstream_answer_t *a)
{
    return a->status ? apr_psprintf(p, "status %d", a->status)
                     : apr_psprintf(p, "no answer: %s",
                                    a->error ? a->error : "unknown");
}

/* One line per outcome, and its count. Only client ids, ages and times:
 * never a token, a secret or the upstream's body. */
static void report(apr_pool_t *p, server_rec *s, const alx_link_ka_t *ka,
                   const alx_upstream_answer_t *a)
{
    const char *client = alx_log_safe(p, ka->hold.link.client_id, 64);
    apr_time_t now = apr_time_now();

    switch (ka->kind) {
    case ALX_LINK_KA_REFRESHED:
        count(s, ALX_KA_keepalive_refreshes);
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "ALX0513: keep-alive "
                     "refreshed a link: client=%s age=%s next in %s", client,
                     span(p, now - ka->hold.link.created),
                     span(p, ka->next_due - now));
        break;
    case ALX_LINK_KA_ENDED_UPSTREAM:
        count(s, ALX_KA_links_ended_upstream);
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "ALX0514: the "
                     "upstream ended a kept link (invalid_grant): client=%s "
                     "age=%s; the customer links again when Alexa next "
                     "asks (the upstream's absolute lifetime, a revoked "
                     "grant, or an idle limit under AlexaLinkKeepAlive)",
                     client, span(p, ka->age));
        break;
    case ALX_LINK_KA_BACKOFF:
        count(s, ALX_KA_keepalive_failures);
        if (hourly(s, "keepalive-backoff", ka->hold.link.client_id))
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "ALX0515: a "
                         "keep-alive refresh failed (%s): client=%s, "
                         "retrying in %s (backing off to an hour). Said "
                         "once an hour per client", upstream_said(p, a),
                         client, span(p, ka->next_due - now));
        break;
    case ALX_LINK_KA_ENDED_IDLE:
        count(s, ALX_KA_links_ended_idle);
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "ALX0516: a kept link "
                     "ended: Alexa had not used it for AlexaLinkKeepAliveFor: "
                     "client=%s age=%s", client, span(p, ka->age));
        break;
    case ALX_LINK_KA_DROPPED:
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "ALX0517: a link the "
                     "upstream had ended deleted at its idle end: client=%s",
                     client);
        break;
    case ALX_LINK_KA_UNREADABLE:
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "ALX0518: a link "
                     "record that does not open (changed or corrupt) "
                     "deleted; its customer links again when Alexa next "
                     "asks");
        break;
    case ALX_LINK_KA_UNKNOWN_KEY:
        if (hourly(s, "keepalive-key", ""))
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "ALX0519: link "
                         "records sealed under a key AlexaLinkKeepAliveKey "
                         "no longer names: put off a day each. Name the "
                         "old key file after the new one to keep them, or "
                         "let them end. Said once an hour");
        break;
    case ALX_LINK_KA_LOST:
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "ALX0520: a "
                     "keep-alive refresh outlived its claim on the link "
                     "(the upstream took longer than the lease); its answer "
                     "is dropped: client=%s", client);
        break;
    default:
        break;
    }
}

/* One due link: claimed and decided by alx_link_keepalive; a REFRESH is
 * sent and answered here. 0 when nothing was due. */
static int one_link(const alx_link_ctx_t *ctx, server_rec *s,
                    apr_status_t *rv)
{
    alx_link_ka_t ka;
    alx_upstream_answer_t a;
    apr_interval_time_t timeout;

    memset(&a, 0, sizeof(a));
    *rv = alx_link_keepalive(ctx, &ka);
    if (*rv != APR_SUCCESS || ka.kind == ALX_LINK_KA_NONE)
        return 0;
    if (ka.kind == ALX_LINK_KA_REFRESH) {
        /* within the claim, so no answer comes after it ended */
        timeout = alexalink_proxy_url_timeout(ctx->pool, s, ka.request.url);
        if (timeout > ctx->lease - ALX_KEEPALIVE_LEASE_SLACK)
            timeout = ctx->lease - ALX_KEEPALIVE_LEASE_SLACK;
        *rv = alexalink_upstream_post(ctx->pool, &ka.request, timeout,
                                      ALX_KEEPALIVE_MAX_BODY, &a);
        if (*rv != APR_SUCCESS)
            a.status = 0;       /* no call made: the protocol backs off */
        *rv = alx_link_answered(ctx, &ka, a.status, a.content_type, a.body,
                                a.len);
        if (*rv != APR_SUCCESS)
            return 0;
    }
    report(ctx->pool, s, &ka, &a);
    return 1;
}

static void gauges(apr_pool_t *p, server_rec *s, const alx_link_store_t *st)
{
    alx_stats_t *stats = alexalink_server_conf_get(s)->stats;
    apr_uint32_t links = 0;
    apr_time_t due = APR_INT64_MAX;

    (void)p;
    if (alexalink_linkstore_figures(st, &links, &due) != APR_SUCCESS)
        return;
    alx_stats_keepalive_set(stats, ALX_KA_links_kept, links);
    alx_stats_keepalive_set(stats, ALX_KA_keepalive_next_due,
                            due == APR_INT64_MAX || due <= 0 ? 0
                            : (apr_uint32_t)apr_time_sec(due));
}

static const alx_link_store_t *store_open(apr_pool_t *p, server_rec *s)
{
    return alexalink_linkstore_open(p, s);
}

/* A round: every due link, up to ALX_KEEPALIVE_PER_ROUND, each with a
 * pool of its own. */
static void round_of_links(apr_pool_t *p, server_rec *s)
{
    const alx_link_store_t *st = store_open(p, s);
    alx_link_ctx_t ctx;
    apr_pool_t *one;
    apr_status_t rv = APR_SUCCESS;
    int i;

    if (!st) {
        if (hourly(s, "keepalive-store", ""))
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "ALX0521: the "
                         "keep-alive has no link store (mod_dbd's "
                         "connection failed, or this build has none): no "
                         "link is kept alive. Said once an hour");
        return;
    }
    memset(&ctx, 0, sizeof(ctx));
    ctx.store = st;
    ctx.keys = alexalink_keepalive_keys(s, &ctx.nkeys);
    ctx.lease = alexalink_proxy_url_timeout(p, s, NULL)
                + ALX_KEEPALIVE_LEASE_SLACK;
    ctx.backoff_first = first_backoff();
    if (!ctx.keys)
        return;
    apr_pool_create(&one, p);
    for (i = 0; i < ALX_KEEPALIVE_PER_ROUND; i++) {
        apr_pool_clear(one);
        ctx.pool = one;
        if (!one_link(&ctx, s, &rv))
            break;
    }
    if (rv != APR_SUCCESS && hourly(s, "keepalive-store-error", ""))
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, "ALX0522: the link "
                     "store failed during a keep-alive round; the round "
                     "ends, the next one retries. Said once an hour");
    gauges(one, s, st);
    apr_pool_destroy(one);
}

static apr_status_t tick(int state, void *data, apr_pool_t *pool)
{
    server_rec *s = data;
    apr_pool_t *p;

    if (state != AP_WATCHDOG_STATE_RUNNING)
        return APR_SUCCESS;
    if (apr_pool_create(&p, pool) != APR_SUCCESS)
        return APR_SUCCESS;
    round_of_links(p, s);
    apr_pool_destroy(p);
    return APR_SUCCESS;
}

static apr_interval_time_t tick_interval(server_rec *s)
{
    apr_int64_t shortest = 0;
    apr_interval_time_t t;

    for (; s; s = s->next) {
        apr_int64_t m = alexalink_server_conf_get(s)->keepalive_min;

        if (m > 0 && (!shortest || m < shortest))
            shortest = m;
    }
    t = apr_time_from_sec(shortest) / 4;
    return t < ALX_KEEPALIVE_TICK_MIN ? ALX_KEEPALIVE_TICK_MIN
           : t > ALX_KEEPALIVE_TICK_MAX ? ALX_KEEPALIVE_TICK_MAX : t;
}

int alexalink_keepalive_post_config(apr_pool_t *pconf, server_rec *s)
{
    APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *wd_get_instance;
    APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *wd_register;
    ap_watchdog_t *wd;
    apr_status_t rv;

#ifdef ALX_TEST_HOOKS
    int wanted = 1;             /* alexalink-test-upstream calls out too */
#else
    int wanted = alexalink_keepalive_on(s);
#endif

    /* the first pass only reads the configuration */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG
        || !wanted)
        return OK;
    if (alexalink_upstream_global_init() != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "ALX0523: libcurl's "
                     "global setup failed; the keep-alive cannot start");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (!alexalink_keepalive_on(s))
        return OK;
    wd_get_instance = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    wd_register = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    rv = wd_get_instance && wd_register
         ? wd_get_instance(&wd, ALX_KEEPALIVE_WATCHDOG, 0, 1, pconf)
         : APR_ENOTIMPL;
    if (rv == APR_SUCCESS)
        rv = wd_register(wd, tick_interval(s), s, tick);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "ALX0524: the "
                     "keep-alive's mod_watchdog task could not be started");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "ALX0525: keep-alive on: "
                 "due links are looked for every %s",
                 span(pconf, tick_interval(s)));
    return OK;
}

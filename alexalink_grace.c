/* Refresh grace and single flight (SPEC "Refresh grace"): the adapter from
 * a token request to lib/alx_refresh. It fills the protocol's store table
 * from the socache store and the in-flight table (alexalink_store.c), and
 * turns the protocol's outcome into the handler's answer and its events
 * into log lines. */

#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "alexalink_grace.h"
#include "alexalink_store.h"
#include "alexalink_proxy.h"
#include "alx_refresh.h"

/* A claim outlives the upstream's timeout this long: the answer still has
 * to pass the filters. */
#define ALX_CLAIM_SLACK   apr_time_from_sec(1)

/* ---- the store table ------------------------------------------------------ */

static apr_status_t store_get(void *r, const unsigned char *id,
                              unsigned char *buf, unsigned int *len)
{
    return alexalink_store_get(r, id, buf, len);
}

static apr_status_t store_put(void *r, const unsigned char *id,
                              apr_time_t expiry, const unsigned char *data,
                              unsigned int len, apr_interval_time_t window)
{
    return window ? alexalink_store_put_record(r, id, expiry, data, len,
                                               window)
                  : alexalink_store_put(r, id, expiry, data, len);
}

static apr_status_t store_update(void *r, const unsigned char *id,
                                 unsigned char *scratch, unsigned int cap,
                                 alx_store_update_fn fn, void *baton)
{
    return alexalink_store_update(r, id, scratch, cap, fn, baton);
}

static alx_flight_t *store_flight_lock(void *r)
{
    return alexalink_store_flight_lock(r);
}

static void store_flight_unlock(void *r)
{
    alexalink_store_flight_unlock(r);
}

/* A claim's holder runs while its pid does (kill with signal 0 only asks;
 * EPERM still means there is such a process). */
static int holder_alive(void *r, apr_uint32_t owner)
{
    (void)r;
    return kill((pid_t)owner, 0) == 0 || errno == EPERM;
}

static apr_time_t clock_now(void *r)
{
    (void)r;
    return apr_time_now();
}

static void clock_sleep(void *r, apr_interval_time_t t)
{
    (void)r;
    apr_sleep(t);
}

static apr_status_t random_bytes(void *r, unsigned char *buf, apr_size_t len)
{
    (void)r;
    return apr_generate_random_bytes(buf, len);
}

static const alx_store_ops_t *store_ops(request_rec *r)
{
    alx_store_ops_t *ops = apr_pcalloc(r->pool, sizeof(*ops));

    ops->baton = r;
    ops->get = store_get;
    ops->put = store_put;
    ops->update = store_update;
    ops->flight_lock = store_flight_lock;
    ops->flight_unlock = store_flight_unlock;
    ops->alive = holder_alive;
    ops->owner = (apr_uint32_t)getpid();
    ops->shared = alexalink_store_shared(r);
    ops->now = clock_now;
    ops->sleep = clock_sleep;
    ops->random = random_bytes;
    return ops;
}

/* ---- the protocol's events as log lines ----------------------------------- */

static void log_event(request_rec *r, const alx_exchange_rec *x,
                      const alx_refresh_event_t *e)
{
    switch (e->kind) {
    case ALX_REFRESH_EV_REPLAYED:
        /* info: the exchange line (notice) already says replayed */
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "ALX0210: refresh token "
                      "presented again; answered from the grace store, the "
                      "upstream not asked (%s; %d of %d replays used; %d "
                      "later rotations followed)",
                      e->a ? "a replay" : "a duplicate within "
                      "AlexaLinkTimeBudget of the answer, not counted",
                      (int)e->b, alexalink_conf_grace_replays(x->conf),
                      (int)e->c);
        break;
    case ALX_REFRESH_EV_EXHAUSTED:
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "ALX0211: refresh "
                      "token presented again after %d replays "
                      "(AlexaLinkGraceReplays); asking the upstream",
                      (int)e->a);
        break;
    case ALX_REFRESH_EV_WAIT_TIMEOUT:
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "ALX0212: a refresh "
                      "with the same token was still in flight after "
                      "AlexaLinkTimeBudget; answered 503 "
                      "temporarily_unavailable rather than let the upstream "
                      "see the token twice");
        break;
    case ALX_REFRESH_EV_WOULD_REPLAY:
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "ALX0213: a rotated "
                      "refresh token was presented again; enforce mode would "
                      "answer from the grace store, report mode lets the "
                      "upstream see it (reuse detection may revoke the "
                      "grant)");
        break;
    case ALX_REFRESH_EV_CHAINED:
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, "ALX0214: the "
                      "successor access token has expired; refreshing with "
                      "the successor refresh token on the client's behalf");
        break;
    case ALX_REFRESH_EV_TOO_LARGE:
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "ALX0215: token "
                      "answer too large for the grace store (%u bytes "
                      "sealed); not recorded", (unsigned int)e->a);
        break;
    case ALX_REFRESH_EV_HANDED:
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, "ALX0216: a duplicate "
                      "of a refresh in flight got the first request's answer "
                      "(%d); the upstream saw the token once", (int)e->a);
        break;
    case ALX_REFRESH_EV_CLAIMED:
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "ALX0217: refresh token "
                      "claimed for %" APR_INT64_T_FMT " ms (the proxy's "
                      "timeout for this request, and a second)", e->a);
        break;
    case ALX_REFRESH_EV_REFUSED:
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "ALX0218: a refresh "
                      "token was presented again within seconds of an answer "
                      "that passed through unread or could not be recorded "
                      "(compressed, or over AlexaLinkMaxBody); answered 503 "
                      "rather than let the upstream see the token twice. "
                      "Make the upstream answer uncompressed and within "
                      "AlexaLinkMaxBody");
        break;
    case ALX_REFRESH_EV_TABLE_FULL:
        alexalink_store_flight_full(r);
        break;
    }
}

static void log_events(request_rec *r, const alx_exchange_rec *x,
                       const alx_refresh_events_t *ev)
{
    int i;

    for (i = 0; i < ev->count; i++)
        log_event(r, x, &ev->event[i]);
}

/* ---- the request side ----------------------------------------------------- */

#ifdef ALX_TEST_HOOKS
/* Test builds only (configure --enable-test-hooks): a request header
 * holds this request between its look at the records and its claim, so a
 * test can force the interleaving the second look is for. */
static void test_pause(void *baton)
{
    request_rec *r = baton;
    const char *ms = apr_table_get(r->headers_in, "X-Alexalink-Test-Pause");

    if (!ms)
        return;
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, "ALX0219: test hook: "
                  "held %s ms between the look at the records and the claim",
                  alx_log_safe(r->pool, ms, 8));
    apr_sleep(apr_time_from_msec(apr_atoi64(ms)));
}
#endif

static apr_interval_time_t claim_life(void *r)
{
    return alexalink_proxy_timeout(r) + ALX_CLAIM_SLACK;
}

/* A public client has no secret to bind a record to: no grace. */
static int applies(request_rec *r, const alx_exchange_rec *x,
                   const alx_crypto_t *crypto)
{
    return alx_grant_of(x->req.grant_type) == ALX_GRANT_REFRESH_TOKEN
           && x->req.refresh_token && *x->req.refresh_token
           && x->req.client_secret && *x->req.client_secret
           && alexalink_conf_refresh_grace(x->conf) > 0
           && alexalink_store_available(r) && crypto != NULL;
}

static void start(request_rec *r, alx_exchange_rec *x,
                  const alx_crypto_t *crypto)
{
    alx_refresh_t *rf = x->grace = apr_pcalloc(r->pool, sizeof(*rf));
    const alx_dir_conf *c = x->conf;

    rf->pool = r->pool;
    rf->store = store_ops(r);
    rf->crypto = crypto;
    rf->client_id = x->req.client_id;
    rf->client_secret = x->req.client_secret;
    rf->refresh_token = x->req.refresh_token;
    rf->form = x->req.pairs;
    rf->window = alexalink_conf_refresh_grace(c);
    rf->max_replays = alexalink_conf_grace_replays(c);
    rf->budget = alexalink_conf_time_budget(c);
    rf->deadline = r->request_time + rf->budget;
    rf->report = alexalink_conf_report(c);
    rf->claim_life = claim_life;
#ifdef ALX_TEST_HOOKS
    rf->before_claim = test_pause;
#endif
    rf->baton = r;
}

/* The answer alexalink_token_handler sends instead of the upstream. */
static void answer(request_rec *r, alx_exchange_rec *x,
                   const alx_refresh_outcome_t *out)
{
    x->own.status = out->status;
    x->own.json = out->answer;
    x->own.content_type = out->content_type;
    x->own.verdict_kind = out->verdict;
    x->own.verdict = alx_verdict_word(r->pool, out->verdict, out->detail);
    if (out->retry_after)
        x->own.retry_after = out->retry_after;
    if (out->described) {
        x->answer.shape_out = out->shape;
        x->answer.ttl_out = out->ttl;
        x->own.described = 1;
    }
}

int alexalink_grace_before_proxy(request_rec *r, alx_exchange_rec *x,
                                 const char **body, apr_size_t *len)
{
    const alx_crypto_t *crypto = alexalink_server_conf_get(r->server)->crypto;
    alx_refresh_outcome_t out;

    if (!applies(r, x, crypto))
        return OK;
    start(r, x, crypto);
    alx_refresh_before(x->grace, &out);
    log_events(r, x, &out.events);
    if (out.step == ALX_REFRESH_STEP_ANSWER) {
        answer(r, x, &out);
        return DONE;
    }
    if (out.body) {
        *body = out.body;
        *len = out.len;
    }
    return OK;
}

/* ---- the answer side ------------------------------------------------------ */

void alexalink_grace_after_answer(request_rec *r, alx_exchange_rec *x,
                                  int status, const char *content_type,
                                  const char *body, apr_size_t len)
{
    const alx_answer_t *a = &x->answer;
    alx_refresh_answer_t in;
    alx_refresh_events_t ev;

    if (!x->grace || !x->grace->active)
        return;
    in.status = status;
    in.content_type = content_type;
    in.body = body;
    in.len = len;
    in.record_body = NULL;
    in.record_len = 0;
    in.ttl_in = a->ttl_in;
    in.ttl_out = a->ttl_out;
    if (a->kind == ALX_KIND_TOKEN && a->refresh == ALX_REFRESH_ROTATED
        && a->body && !x->upstream.truncated) {
        in.record_body = a->body;
        in.record_len = a->len;
    }
    ev.count = 0;
    alx_refresh_after(x->grace, &in, &ev);
    log_events(r, x, &ev);
}

void alexalink_grace_extend(request_rec *r, alx_exchange_rec *x)
{
    (void)r;
    if (x->grace)
        alx_refresh_extend(x->grace);
}

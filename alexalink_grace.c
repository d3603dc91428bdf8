/* Refresh grace and single flight (SPEC "Refresh grace"): a rotated refresh
 * token presented again within the window is answered from the store, so
 * the upstream's reuse detection never sees it; simultaneous duplicates wait
 * for the one request in flight. Decisions are alx_grace_decide's (lib/). */

#include "mod_alexalink.h"
#include "alx_form.h"

#define ALX_POLL_INTERVAL apr_time_from_msec(10)
#define ALX_CHAIN_MAX     4
/* A claim outlives the request that wrote it only this long past the
 * budget, should that request die before releasing it. */
#define ALX_CLAIM_SLACK   apr_time_from_sec(2)
/* On a shared store, how long a claim must stay ours before we go
 * upstream: another server that checked before our write lands within it. */
#define ALX_CLAIM_SETTLE  apr_time_from_msec(10)

static int applies(request_rec *r, const alx_exchange_rec *x)
{
    return x->req.grant_type && !strcmp(x->req.grant_type, "refresh_token")
           && x->req.refresh_token && *x->req.refresh_token
           && alexalink_conf_refresh_grace(x->conf) > 0 && alexalink_store_available(r);
}

/* APR_SUCCESS with *found, or the store's failure. A record that does not
 * open (corrupt, or another key's) counts as none. */
static apr_status_t load(request_rec *r, alx_exchange_rec *x,
                         const alx_grace_keys_t *k, alx_grace_record_t *rec,
                         int *found)
{
    unsigned int len = ALX_STORE_MAX_VALUE;
    apr_status_t rv;

    *found = 0;
    if (!x->grace.buf)
        x->grace.buf = apr_palloc(r->pool, ALX_STORE_MAX_VALUE);
    rv = alexalink_store_get(r, k->id, x->grace.buf, &len);
    if (rv == APR_NOTFOUND)
        return APR_SUCCESS;
    if (rv != APR_SUCCESS)
        return rv;
    *found = alx_grace_open(r->pool, k, x->grace.buf, len, rec) == APR_SUCCESS;
    return APR_SUCCESS;
}

static apr_status_t save(request_rec *r, const alx_grace_keys_t *k,
                         const alx_grace_record_t *rec, apr_time_t expiry)
{
    unsigned char *sealed;
    unsigned int len;
    apr_status_t rv;

    rv = alx_grace_seal(r->pool, k, rec, &sealed, &len);
    if (rv != APR_SUCCESS)
        return rv;
    if (len + 8 > ALX_STORE_MAX_VALUE) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "ALX0215: token answer "
                      "too large for the grace store (%u bytes sealed); not "
                      "recorded", len);
        return APR_ENOSPC;
    }
    return alexalink_store_put(r, k->id, expiry, sealed, len);
}

/* False when the store holds another claim or a record under k (a store
 * failure reads as ours: plain proxying then). */
static int still_ours(request_rec *r, alx_exchange_rec *x,
                      const alx_grace_keys_t *k, apr_uint64_t claim)
{
    alx_grace_record_t back;
    int found;

    if (load(r, x, k, &back, &found) != APR_SUCCESS || !found)
        return 1;
    return back.pending && back.claim == claim;
}

/* Writes an in-flight claim unless a record or another claim is there:
 * atomic within this server. Across servers sharing redis or memcached the
 * ap_socache interface has no atomic add, so the claim is read back: as
 * close as single flight gets there. Returns 0 when another request holds
 * the token (the caller waits), 1 to go upstream. */
static int claim(request_rec *r, alx_exchange_rec *x,
                 const alx_grace_keys_t *k)
{
    alx_grace_record_t rec = {0};
    apr_time_t now = apr_time_now();
    unsigned char *sealed;
    unsigned int len;
    apr_status_t rv;

    if (apr_generate_random_bytes((unsigned char *)&rec.claim,
                                  sizeof(rec.claim)) != APR_SUCCESS)
        return 1;   /* no randomness: no claim, but do not block the request */
    rec.pending = 1;
    rec.issued = now;
    rec.upstream_ttl = rec.sent_ttl = -1;
    if (alx_grace_seal(r->pool, k, &rec, &sealed, &len) != APR_SUCCESS)
        return 1;
    if (!x->grace.buf)
        x->grace.buf = apr_palloc(r->pool, ALX_STORE_MAX_VALUE);
    rv = alexalink_store_claim(r, k->id, now + alexalink_conf_time_budget(
                               x->conf) + ALX_CLAIM_SLACK, sealed, len,
                               x->grace.buf, ALX_STORE_MAX_VALUE);
    if (rv == APR_EEXIST)
        return 0;
    if (rv != APR_SUCCESS)
        return 1;   /* store down: plain proxying */
    if (!still_ours(r, x, k, rec.claim))
        return 0;   /* another server's claim landed on ours */
    if (alexalink_store_shared(r)) {
        apr_sleep(ALX_CLAIM_SETTLE);
        if (!still_ours(r, x, k, rec.claim))
            return 0;
    }
    x->grace.claimed = 1;
    x->grace.claim = rec.claim;
    return 1;
}

/* The request body with refresh_token replaced by the successor. */
static int rewrite_refresh_token(request_rec *r, const char *token,
                                 const char **body, apr_size_t *len)
{
    apr_array_header_t *pairs;
    const char *err;

    if (alx_form_parse(r->pool, *body, *len, &pairs, &err) != APR_SUCCESS)
        return 0;
    alx_form_set(pairs, "refresh_token", token);
    *body = alx_form_encode(r->pool, pairs, len);
    return 1;
}

static int answer_from(request_rec *r, alx_exchange_rec *x,
                       const alx_grace_record_t *rec, int counted)
{
    const char *body;
    apr_size_t len;

    if (alx_grace_replay_body(r->pool, rec, apr_time_now(), &body, &len)
        != APR_SUCCESS)
        return 0;
    x->answer_status = HTTP_OK;
    x->answer_json = body;
    x->answer_verdict = counted ? "replayed" : "replayed:duplicate";
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, "ALX0210: refresh token "
                  "presented again; answered from the grace store, the "
                  "upstream not asked (%s; %d of %d replays used)",
                  counted ? "a replay" : "a duplicate within "
                  "AlexaLinkTimeBudget of the answer, not counted",
                  rec->replays, alexalink_conf_grace_replays(x->conf));
    return 1;
}

static void wait_timeout(request_rec *r, alx_exchange_rec *x)
{
    x->answer_status = HTTP_SERVICE_UNAVAILABLE;
    x->answer_json = alx_error_json(r->pool, "temporarily_unavailable",
                                    "the same refresh token is being "
                                    "refreshed; try again");
    x->answer_verdict = "in-flight-timeout";
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "ALX0212: a refresh with "
                  "the same token was still in flight after "
                  "AlexaLinkTimeBudget; answered 503 temporarily_unavailable "
                  "rather than let the upstream see the token twice");
}

/* Report mode: say what would happen, change nothing. */
static void report_only(request_rec *r, alx_exchange_rec *x,
                        const alx_grace_keys_t *k)
{
    alx_grace_record_t rec;
    apr_interval_time_t budget = alexalink_conf_time_budget(x->conf);
    int found;

    x->grace.active = 1;
    x->grace.presented = x->grace.sent = *k;
    x->grace.sent_token = x->req.refresh_token;
    if (load(r, x, k, &rec, &found) != APR_SUCCESS || !found)
        return;
    switch (alx_grace_decide(&rec, apr_time_now(), alexalink_conf_refresh_grace(
                             x->conf), alexalink_conf_grace_replays(x->conf),
                             budget)) {
    case ALX_GRACE_REPLAY:
    case ALX_GRACE_DUPLICATE:
    case ALX_GRACE_CHAIN:
    case ALX_GRACE_WAIT:
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "ALX0213: a rotated "
                      "refresh token was presented again; enforce mode would "
                      "answer from the grace store, report mode lets the "
                      "upstream see it (reuse detection may revoke the "
                      "grant)");
        break;
    default:
        break;
    }
}

int alexalink_grace_before_proxy(request_rec *r, alx_exchange_rec *x,
                           const char **body, apr_size_t *len)
{
    apr_interval_time_t window, budget;
    apr_time_t deadline;
    const char *token = x->req.refresh_token;
    alx_grace_keys_t k;
    alx_grace_record_t rec;
    int found, chain = 0;

    if (!applies(r, x))
        return OK;
    alx_grace_derive(x->req.client_id, x->req.client_secret, token, &k);
    if (alexalink_conf_report(x->conf)) {
        report_only(r, x, &k);
        return OK;
    }
    window = alexalink_conf_refresh_grace(x->conf);
    budget = alexalink_conf_time_budget(x->conf);
    deadline = r->request_time + budget;
    x->grace.presented = k;
    for (;;) {
        if (load(r, x, &k, &rec, &found) != APR_SUCCESS)
            return OK;   /* store down: plain proxying */
        switch (alx_grace_decide(found ? &rec : NULL, apr_time_now(), window,
                                 alexalink_conf_grace_replays(x->conf), budget)) {
        case ALX_GRACE_WAIT:
            if (apr_time_now() >= deadline) {
                wait_timeout(r, x);
                return DONE;
            }
            apr_sleep(ALX_POLL_INTERVAL);
            continue;
        case ALX_GRACE_REPLAY:
            rec.replays++;
            save(r, &k, &rec, rec.issued + window);
            if (answer_from(r, x, &rec, 1))
                return DONE;
            return OK;
        case ALX_GRACE_DUPLICATE:
            return answer_from(r, x, &rec, 0) ? DONE : OK;
        case ALX_GRACE_CHAIN:
            token = alx_grace_successor(r->pool, &rec);
            if (!token || ++chain > ALX_CHAIN_MAX)
                return OK;
            x->grace.replays = rec.replays;
            alx_grace_derive(x->req.client_id, x->req.client_secret, token,
                             &k);
            continue;
        case ALX_GRACE_EXHAUSTED:
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "ALX0211: refresh "
                          "token presented again after %d replays "
                          "(AlexaLinkGraceReplays); asking the upstream",
                          rec.replays);
            /* fall through */
        case ALX_GRACE_PROXY:
            if (found)   /* expired or used up: the claim replaces it */
                alexalink_store_remove(r, k.id);
            if (!claim(r, x, &k)) {
                if (apr_time_now() >= deadline) {
                    wait_timeout(r, x);
                    return DONE;
                }
                apr_sleep(ALX_POLL_INTERVAL);
                continue;   /* another request claimed it first: wait */
            }
            break;
        }
        break;
    }
    x->grace.active = 1;
    x->grace.sent = k;
    x->grace.sent_token = token;
    if (chain) {
        if (!rewrite_refresh_token(r, token, body, len)) {
            alexalink_grace_release(r, x);
            x->grace.active = 0;
            x->grace.sent_token = NULL;
            return OK;
        }
        x->grace.chained = 1;
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, "ALX0214: the successor "
                      "access token has expired; refreshing with the "
                      "successor refresh token on the client's behalf");
    }
    return OK;
}

void alexalink_grace_after_answer(request_rec *r, alx_exchange_rec *x)
{
    const alx_answer_t *a = &x->answer;
    alx_grace_record_t rec = {0};
    apr_time_t now = apr_time_now();
    apr_time_t expiry = now + alexalink_conf_refresh_grace(x->conf);

    if (!x->grace.active)
        return;
    if (a->kind != ALX_KIND_TOKEN || !a->refresh || strcmp(a->refresh,
                                                           "rotated")
        || !a->body) {
        alexalink_grace_release(r, x);
        return;
    }
    rec.issued = now;
    rec.upstream_ttl = a->ttl_in >= 0 ? a->ttl_in : -1;
    rec.sent_ttl = a->ttl_out >= 0 ? a->ttl_out : -1;
    rec.body = a->body;
    rec.len = a->len;
    if (save(r, &x->grace.sent, &rec, expiry) != APR_SUCCESS) {
        alexalink_grace_release(r, x);
        return;
    }
    x->grace.recorded = 1;
    if (x->grace.chained) {
        rec.replays = x->grace.replays;
        save(r, &x->grace.presented, &rec, expiry);
    }
}

/* Removes our claim, and only ours: on a shared store another server may
 * have recorded the answer under the same id meanwhile. */
void alexalink_grace_release(request_rec *r, alx_exchange_rec *x)
{
    alx_grace_record_t back;
    int found;

    if (!x->grace.claimed || x->grace.recorded)
        return;
    x->grace.claimed = 0;
    if (load(r, x, &x->grace.sent, &back, &found) == APR_SUCCESS && found
        && back.pending && back.claim == x->grace.claim)
        alexalink_store_remove(r, x->grace.sent.id);
}

/* Refresh grace and single flight (SPEC "Refresh grace"): a rotated refresh
 * token presented again within the window is answered from the newest
 * record of its chain, so the upstream's reuse detection never sees it;
 * duplicates of a refresh in flight wait for its answer, whatever it is.
 * Records live in the socache store; claims and the answers handed to
 * waiters live apart from them, in the in-flight table (lib/alx_flight) and,
 * on a store a fleet shares, under their own id. Decisions on one record are
 * alx_grace_decide's (lib/). */

#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "alexalink_grace.h"
#include "alexalink_store.h"
#include "alexalink_proxy.h"
#include "alx_form.h"
#include "alx_shape.h"

#define ALX_POLL_INTERVAL apr_time_from_msec(10)
/* A claim outlives the upstream's timeout this long: the answer still has
 * to pass the filters. */
#define ALX_CLAIM_SLACK   apr_time_from_sec(1)
#define ALX_EXTEND_EVERY  apr_time_from_sec(1)
/* On a shared store, how long a claim must stay ours before we go
 * upstream: another server that checked before our write lands within it. */
#define ALX_CLAIM_SETTLE  apr_time_from_msec(10)
/* A runaway guard only: a chain is followed to its end within the budget. */
#define ALX_CHAIN_MAX     100000
/* How long an answer that could be neither recorded nor handed on (it
 * passed through compressed or oversize) keeps the token from the
 * upstream: the retries of the next seconds get 503. */
#define ALX_REFUSE_FOR    apr_time_from_sec(30)
/* A refusal's mark on a shared store: a sealed answer with this status. */
#define ALX_REFUSED_STATUS 0

typedef enum {
    ALX_FLIGHT_GO = 0,   /* ours: ask the upstream */
    ALX_FLIGHT_DONE,     /* answered (a waiter's answer, or 503) */
    ALX_FLIGHT_AGAIN,    /* the other request ended without an answer for
                            us: look at the records again */
    ALX_FLIGHT_ALONE     /* no single flight (store failure): ask upstream */
} alx_flight_step_e;

/* A claim's holder runs while its pid does (kill with signal 0 only asks;
 * EPERM still means there is such a process). */
static int holder_alive(void *baton, apr_uint32_t owner)
{
    (void)baton;
    return kill((pid_t)owner, 0) == 0 || errno == EPERM;
}


static const alx_crypto_t *crypto(request_rec *r)
{
    return alexalink_server_conf_get(r->server)->crypto;
}

static int applies(request_rec *r, const alx_exchange_rec *x)
{
    /* A public client has no secret to bind a record to: no grace. */
    return x->req.grant_type && !strcmp(x->req.grant_type, "refresh_token")
           && x->req.refresh_token && *x->req.refresh_token
           && x->req.client_secret && *x->req.client_secret
           && alexalink_conf_refresh_grace(x->conf) > 0
           && alexalink_store_available(r) && crypto(r) != NULL;
}

static unsigned char *scratch(request_rec *r, alx_exchange_rec *x)
{
    if (!x->grace.buf)
        x->grace.buf = apr_palloc(r->pool, ALX_STORE_MAX_VALUE);
    return x->grace.buf;
}

/* The sealed bytes stored under id into the request's scratch buffer;
 * *len 0 when there are none. */
static apr_status_t fetch(request_rec *r, alx_exchange_rec *x,
                          const unsigned char *id, unsigned int *len)
{
    apr_status_t rv;

    *len = ALX_STORE_MAX_VALUE;
    rv = alexalink_store_get(r, id, scratch(r, x), len);
    if (rv == APR_NOTFOUND) {
        *len = 0;
        return APR_SUCCESS;
    }
    return rv;
}

/* The fetched bytes as an answered record (not a claim), opened with k. */
static int open_fetched(request_rec *r, alx_exchange_rec *x,
                        const alx_grace_keys_t *k, unsigned int len,
                        alx_grace_record_t *rec)
{
    return len > 0
           && alx_grace_open(r->pool, k, x->grace.buf, len, rec) == APR_SUCCESS
           && !rec->pending;
}

/* APR_SUCCESS with *found, or the store's failure. A value that does not
 * open as an answered record (corrupt, another key's) counts as none. */
static apr_status_t load(request_rec *r, alx_exchange_rec *x,
                         const alx_grace_keys_t *k, alx_grace_record_t *rec,
                         int *found)
{
    unsigned int len;
    apr_status_t rv = fetch(r, x, k->id, &len);

    *found = rv == APR_SUCCESS && open_fetched(r, x, k, len, rec);
    return rv;
}

static apr_status_t seal_record(request_rec *r, const alx_grace_keys_t *k,
                                const alx_grace_record_t *rec,
                                unsigned char **sealed, unsigned int *len)
{
    apr_status_t rv = alx_grace_seal(r->pool, k, rec, sealed, len);

    if (rv == APR_SUCCESS && *len + 8 > ALX_STORE_MAX_VALUE) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "ALX0215: token answer "
                      "too large for the grace store (%u bytes sealed); not "
                      "recorded", *len);
        return APR_ENOSPC;
    }
    return rv;
}

/* window: a new record, counted for the survival figures (0: a rewrite of
 * one, not counted). */
static apr_status_t save(request_rec *r, const alx_grace_keys_t *k,
                         const alx_grace_record_t *rec, apr_time_t expiry,
                         apr_interval_time_t window)
{
    unsigned char *sealed;
    unsigned int len;
    apr_status_t rv = seal_record(r, k, rec, &sealed, &len);

    if (rv != APR_SUCCESS)
        return rv;
    return window ? alexalink_store_put_record(r, k->id, expiry, sealed, len,
                                               window)
                  : alexalink_store_put(r, k->id, expiry, sealed, len);
}

/* ---- answering from records -------------------------------------------- */

/* The answer alexalink_token_handler sends instead of the upstream. */
static int answer_json(request_rec *r, alx_exchange_rec *x, int status,
                       const char *content_type, const char *body,
                       alx_verdict_e kind, const char *detail)
{
    x->answer_status = status;
    x->answer_json = body;
    x->answer_content_type = content_type;
    x->answer_verdict_kind = kind;
    x->answer_verdict = alx_verdict_word(r->pool, kind, detail);
    return 1;
}

static int answer_from(request_rec *r, alx_exchange_rec *x,
                       alx_grace_record_t *rec, int counted,
                       int replays, int hops)
{
    apr_time_t now = apr_time_now();
    apr_int64_t ttl;
    const char *body;
    apr_size_t len;

    if (alx_grace_replay_body(r->pool, rec, now, &body, &len) != APR_SUCCESS)
        return 0;
    /* The log line's shape and TTL, from the record already parsed: the
     * replay differs only in expires_in's value. */
    ttl = alx_grace_replay_ttl(r->pool, rec, now);
    x->answer.shape_out = alx_grace_body_shape(r->pool, rec);
    x->answer.ttl_out = ttl >= 0 ? ttl : ALX_TTL_ABSENT;
    x->described = 1;
    /* info: the exchange line (notice) already says replayed */
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "ALX0210: refresh token "
                  "presented again; answered from the grace store, the "
                  "upstream not asked (%s; %d of %d replays used; %d later "
                  "rotations followed)",
                  counted ? "a replay" : "a duplicate within "
                  "AlexaLinkTimeBudget of the answer, not counted",
                  replays, alexalink_conf_grace_replays(x->conf), hops);
    return answer_json(r, x, HTTP_OK, NULL, body, ALX_VERDICT_REPLAYED,
                       counted ? NULL : "duplicate");
}

static void wait_timeout(request_rec *r, alx_exchange_rec *x)
{
    answer_json(r, x, HTTP_SERVICE_UNAVAILABLE, NULL,
                alx_error_json(r->pool, "temporarily_unavailable",
                               "the same refresh token is being refreshed; "
                               "try again"), ALX_VERDICT_IN_FLIGHT_TIMEOUT,
                NULL);
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "ALX0212: a refresh with "
                  "the same token was still in flight after "
                  "AlexaLinkTimeBudget; answered 503 temporarily_unavailable "
                  "rather than let the upstream see the token twice");
}

/* The first request's answer exists but is not to be had (see
 * ALX_REFUSE_FOR): 503, never the upstream. */
static void refused(request_rec *r, alx_exchange_rec *x, apr_time_t until)
{
    apr_int64_t left = apr_time_sec(until - apr_time_now()) + 1;

    answer_json(r, x, HTTP_SERVICE_UNAVAILABLE, NULL,
                alx_error_json(r->pool, "temporarily_unavailable",
                               "the same refresh token was just refreshed; "
                               "try again later"), ALX_VERDICT_UNRECORDABLE,
                NULL);
    x->retry_after = left < 1 ? 1 : left;
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "ALX0218: a refresh "
                  "token was presented again within seconds of an answer "
                  "that passed through unread or could not be recorded "
                  "(compressed, or over AlexaLinkMaxBody); answered 503 rather than let the upstream see "
                  "the token twice. Make the upstream answer uncompressed "
                  "and within AlexaLinkMaxBody");
}

/* Follows successors from *rec to the newest record: its answer carries the
 * tokens the client should hold now. Bounded by the deadline. */
static void walk(request_rec *r, alx_exchange_rec *x, apr_time_t deadline,
                 alx_grace_keys_t *k, alx_grace_record_t *rec, int *hops)
{
    alx_grace_record_t next;
    alx_grace_keys_t nk;
    const char *token;
    unsigned int len;

    while (*hops < ALX_CHAIN_MAX && apr_time_now() < deadline) {
        token = alx_grace_successor(r->pool, rec);
        if (!token)
            return;
        /* the id first; the key only for a successor that has a record */
        alx_grace_derive_id(crypto(r), x->req.client_id,
                            x->req.client_secret, token, &nk);
        if (fetch(r, x, nk.id, &len) != APR_SUCCESS || len == 0)
            return;
        alx_grace_derive_lookup(crypto(r), x->req.client_id,
                                x->req.client_secret, token, &nk);
        if (!open_fetched(r, x, &nk, len, &next))
            return;
        *k = nk;
        *rec = next;
        (*hops)++;
    }
}

typedef enum { ALX_COUNT_OK = 0, ALX_COUNT_EXHAUSTED, ALX_COUNT_GONE } alx_count_e;

typedef struct {
    request_rec *r;
    const alx_grace_keys_t *k;
    int max;
    apr_interval_time_t window;
    alx_count_e result;
    int replays;
} alx_count_baton_t;

/* Counts one replay on the presented record, under the store's lock, so
 * that concurrent replays never exceed AlexaLinkGraceReplays. */
static alx_store_change_e count_replay(void *baton, const unsigned char *data,
                                       unsigned int len,
                                       const unsigned char **out,
                                       unsigned int *out_len,
                                       apr_time_t *expiry)
{
    alx_count_baton_t *b = baton;
    alx_grace_record_t rec;
    unsigned char *sealed;

    b->result = ALX_COUNT_GONE;
    if (!data || alx_grace_open(b->r->pool, b->k, data, len, &rec)
        != APR_SUCCESS || rec.pending)
        return ALX_STORE_KEEP;
    b->replays = rec.replays;
    if (rec.replays >= b->max) {
        b->result = ALX_COUNT_EXHAUSTED;
        return ALX_STORE_KEEP;
    }
    rec.replays++;
    if (seal_record(b->r, b->k, &rec, &sealed, out_len) != APR_SUCCESS)
        return ALX_STORE_KEEP;   /* counted nowhere: still one replay */
    *out = sealed;
    *expiry = rec.issued + b->window;
    b->replays = rec.replays;
    b->result = ALX_COUNT_OK;
    return ALX_STORE_PUT;
}

static void log_exhausted(request_rec *r, int replays)
{
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "ALX0211: refresh token "
                  "presented again after %d replays (AlexaLinkGraceReplays); "
                  "asking the upstream", replays);
}

/* What the records say about the presented token. 1: answered from them.
 * 0: ask the upstream with *k / *token (the presented token, or the newest
 * successor when its access token has expired: x->grace.chained). */
static int from_records(request_rec *r, alx_exchange_rec *x,
                        apr_time_t deadline, alx_grace_keys_t *k,
                        const char **token)
{
    apr_interval_time_t window = alexalink_conf_refresh_grace(x->conf);
    int max = alexalink_conf_grace_replays(x->conf);
    alx_count_baton_t count = {r, NULL, max, window, ALX_COUNT_OK, 0};
    alx_grace_record_t first, newest;
    alx_grace_keys_t nk;
    alx_grace_action_e action;
    int found, hops = 0;

    *k = x->grace.presented;
    *token = x->req.refresh_token;
    x->grace.chained = 0;
    if (load(r, x, k, &first, &found) != APR_SUCCESS || !found)
        return 0;
    action = alx_grace_decide(&first, apr_time_now(), window, max,
                              alexalink_conf_time_budget(x->conf));
    if (action == ALX_GRACE_EXHAUSTED)
        log_exhausted(r, first.replays);
    if (action == ALX_GRACE_PROXY || action == ALX_GRACE_EXHAUSTED
        || action == ALX_GRACE_WAIT)
        return 0;
    nk = *k;
    newest = first;
    walk(r, x, deadline, &nk, &newest, &hops);
    if (alx_grace_expired(&newest, apr_time_now())) {
        const char *successor = alx_grace_successor(r->pool, &newest);

        if (!successor)
            return 0;
        /* an answer made by refreshing on the client's behalf is a replay,
         * counted once however often this request looks again */
        if (!x->grace.chain_counted) {
            count.k = &x->grace.presented;
            if (alexalink_store_update(r, x->grace.presented.id, scratch(r, x),
                                       ALX_STORE_MAX_VALUE, count_replay,
                                       &count) != APR_SUCCESS
                || count.result == ALX_COUNT_GONE)
                return 0;
            if (count.result == ALX_COUNT_EXHAUSTED) {
                log_exhausted(r, count.replays);
                return 0;
            }
            x->grace.chain_counted = 1;
        }
        x->grace.chained = 1;
        alx_grace_derive(crypto(r), x->req.client_id, x->req.client_secret,
                         successor, k);
        *token = successor;
        return 0;
    }
    if (action == ALX_GRACE_DUPLICATE)
        return answer_from(r, x, &newest, 0, first.replays, hops);
    count.k = &x->grace.presented;
    if (alexalink_store_update(r, x->grace.presented.id, scratch(r, x),
                               ALX_STORE_MAX_VALUE, count_replay, &count)
        != APR_SUCCESS || count.result == ALX_COUNT_GONE)
        return 0;
    if (count.result == ALX_COUNT_EXHAUSTED) {
        log_exhausted(r, count.replays);
        return 0;
    }
    return answer_from(r, x, &newest, 1, count.replays, hops);
}

/* ---- single flight ------------------------------------------------------- */

/* How long a claim lives: as long as its request can still be answered
 * (past the proxy's timeout mod_proxy answers 502/504 itself). */
static apr_interval_time_t claim_life(request_rec *r)
{
    return alexalink_proxy_timeout(r) + ALX_CLAIM_SLACK;
}

/* Hands the first request's answer to this waiter. */
static int take_answer(request_rec *r, alx_exchange_rec *x,
                       const alx_grace_keys_t *k, const unsigned char *sealed,
                       unsigned int len)
{
    const char *ct, *body;
    apr_size_t body_len;
    int status;

    if (alx_grace_open_answer(r->pool, k, sealed, len, &status, &ct, &body,
                              &body_len) != APR_SUCCESS)
        return 0;
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, "ALX0216: a duplicate of a "
                  "refresh in flight got the first request's answer (%d); "
                  "the upstream saw the token once", status);
    return answer_json(r, x, status, ct, body, ALX_VERDICT_REPLAYED,
                       "duplicate");
}

static alx_flight_step_e wait_flight(request_rec *r, alx_exchange_rec *x,
                                     const alx_grace_keys_t *k,
                                     unsigned int slot, apr_uint64_t ticket,
                                     apr_time_t deadline)
{
    unsigned char *buf = scratch(r, x);
    alx_flight_poll_e got;
    alx_flight_t *t;
    apr_size_t len;

    for (;;) {
        apr_time_t now = apr_time_now();
        int late = now >= deadline;

        if (!(t = alexalink_store_flight_lock(r)))
            return ALX_FLIGHT_ALONE;
        got = alx_flight_poll(t, slot, ticket, now, holder_alive, NULL, buf,
                              ALX_STORE_MAX_VALUE, &len);
        if (got == ALX_FLIGHT_WAITING && late)
            alx_flight_leave(t, slot, ticket);
        alexalink_store_flight_unlock(r);
        if (got == ALX_FLIGHT_ANSWERED)
            return take_answer(r, x, k, buf, (unsigned int)len)
                   ? ALX_FLIGHT_DONE : ALX_FLIGHT_AGAIN;
        if (got == ALX_FLIGHT_GONE)
            return ALX_FLIGHT_AGAIN;
        if (got == ALX_FLIGHT_REFUSED) {
            refused(r, x, now + ALX_REFUSE_FOR);
            return ALX_FLIGHT_DONE;
        }
        if (late) {
            wait_timeout(r, x);
            return ALX_FLIGHT_DONE;
        }
        apr_sleep(ALX_POLL_INTERVAL);
    }
}

/* ---- across servers sharing redis or memcached -------------------------- */

typedef enum {
    ALX_REMOTE_OURS = 0,
    ALX_REMOTE_BUSY,
    ALX_REMOTE_ANSWER,
    ALX_REMOTE_REFUSED   /* a refusal's mark (ALX_REFUSED_STATUS) */
} alx_remote_e;

typedef struct {
    request_rec *r;
    const alx_grace_keys_t *k;
    apr_uint64_t ticket;
    apr_time_t expiry;
    alx_remote_e result;
    unsigned int len;           /* of the answer found, left in scratch */
    const unsigned char *publish;   /* when finishing: our answer or NULL */
    unsigned int publish_len;
} alx_remote_baton_t;

/* What the claim id holds: ours, another server's claim, an answer or a
 * refusal. An answer is for the waiters that saw the claim; a request that
 * comes after it (claiming) passes it over: a non-rotating answer is never
 * kept for later requests, and a rotating one is in the records. */
static alx_remote_e remote_state(alx_remote_baton_t *b,
                                 const unsigned char *data, unsigned int len,
                                 int claiming)
{
    alx_grace_record_t rec;
    const char *ct, *body;
    apr_size_t body_len;
    int status;

    if (alx_grace_is_answer(data, len)) {
        if (alx_grace_open_answer(b->r->pool, b->k, data, len, &status, &ct,
                                  &body, &body_len) == APR_SUCCESS
            && status == ALX_REFUSED_STATUS)
            return ALX_REMOTE_REFUSED;
        b->len = len;
        return claiming ? ALX_REMOTE_OURS : ALX_REMOTE_ANSWER;
    }
    if (alx_grace_open(b->r->pool, b->k, data, len, &rec) == APR_SUCCESS
        && rec.pending && rec.claim != b->ticket)
        return ALX_REMOTE_BUSY;
    return ALX_REMOTE_OURS;
}

static alx_store_change_e remote_claim_fn(void *baton,
                                          const unsigned char *data,
                                          unsigned int len,
                                          const unsigned char **out,
                                          unsigned int *out_len,
                                          apr_time_t *expiry)
{
    alx_remote_baton_t *b = baton;
    alx_grace_record_t rec = {0};
    unsigned char *sealed;

    if (data) {
        b->result = remote_state(b, data, len, 1);
        if (b->result != ALX_REMOTE_OURS)
            return ALX_STORE_KEEP;
    }
    b->result = ALX_REMOTE_OURS;
    rec.pending = 1;
    rec.claim = b->ticket;
    rec.issued = apr_time_now();
    rec.upstream_ttl = rec.sent_ttl = -1;
    if (alx_grace_seal(b->r->pool, b->k, &rec, &sealed, out_len)
        != APR_SUCCESS)
        return ALX_STORE_KEEP;
    *out = sealed;
    *expiry = b->expiry;
    return ALX_STORE_PUT;
}

/* Publishes our answer (or removes our claim) only while the claim id
 * still holds our claim. */
static alx_store_change_e remote_finish_fn(void *baton,
                                           const unsigned char *data,
                                           unsigned int len,
                                           const unsigned char **out,
                                           unsigned int *out_len,
                                           apr_time_t *expiry)
{
    alx_remote_baton_t *b = baton;
    alx_grace_record_t rec;

    if (!data || alx_grace_is_answer(data, len)
        || alx_grace_open(b->r->pool, b->k, data, len, &rec) != APR_SUCCESS
        || !rec.pending || rec.claim != b->ticket)
        return ALX_STORE_KEEP;
    if (!b->publish)
        return ALX_STORE_REMOVE;
    *out = b->publish;
    *out_len = b->publish_len;
    *expiry = b->expiry;
    return ALX_STORE_PUT;
}

/* Reads the claim id back: ours, another's, or an answer. */
static alx_remote_e remote_look(request_rec *r, alx_exchange_rec *x,
                                alx_remote_baton_t *b)
{
    unsigned int len = ALX_STORE_MAX_VALUE;

    if (alexalink_store_get(r, b->k->claim_id, scratch(r, x), &len)
        != APR_SUCCESS)
        return ALX_REMOTE_OURS;   /* gone or failing: plain proxying */
    return remote_state(b, x->grace.buf, len, 0);
}

static void finish_local(request_rec *r, alx_exchange_rec *x,
                         const unsigned char *answer, apr_size_t len);

/* The ap_socache interface has no atomic add: the claim is written, read
 * back, and read again ALX_CLAIM_SETTLE later. While another server holds
 * the token we wait for its answer, polling. */
static alx_flight_step_e remote_flight(request_rec *r, alx_exchange_rec *x,
                                       const alx_grace_keys_t *k,
                                       apr_time_t deadline)
{
    alx_remote_baton_t b = {r, k, x->grace.ticket,
                            apr_time_now() + claim_life(r),
                            ALX_REMOTE_OURS, 0, NULL, 0};
    alx_remote_e state;

    if (alexalink_store_update(r, k->claim_id, scratch(r, x),
                               ALX_STORE_MAX_VALUE, remote_claim_fn, &b)
        != APR_SUCCESS)
        return ALX_FLIGHT_GO;
    state = b.result;
    if (state == ALX_REMOTE_OURS) {
        state = remote_look(r, x, &b);
        if (state == ALX_REMOTE_OURS) {
            apr_sleep(ALX_CLAIM_SETTLE);
            state = remote_look(r, x, &b);
        }
    }
    if (state == ALX_REMOTE_OURS) {
        x->grace.remote_claimed = 1;
        return ALX_FLIGHT_GO;
    }
    for (;;) {
        if (state == ALX_REMOTE_REFUSED) {
            finish_local(r, x, NULL, 0);
            refused(r, x, apr_time_now() + ALX_REFUSE_FOR);
            return ALX_FLIGHT_DONE;
        }
        if (state == ALX_REMOTE_ANSWER) {
            finish_local(r, x, x->grace.buf, b.len);
            return take_answer(r, x, k, x->grace.buf, b.len)
                   ? ALX_FLIGHT_DONE : ALX_FLIGHT_AGAIN;
        }
        if (state == ALX_REMOTE_OURS) {   /* the other server's claim ended */
            finish_local(r, x, NULL, 0);
            return ALX_FLIGHT_AGAIN;
        }
        if (apr_time_now() >= deadline) {
            finish_local(r, x, NULL, 0);
            wait_timeout(r, x);
            return ALX_FLIGHT_DONE;
        }
        apr_sleep(ALX_POLL_INTERVAL);
        state = remote_look(r, x, &b);
    }
}

typedef struct {
    request_rec *r;
    alx_exchange_rec *x;
} alx_release_baton_t;

/* However the request ends (an aborted client, a handler that never sent
 * through our filter), its claims end with its pool, so no waiter is kept
 * until the claim expires. It runs after the log_transaction hook (itself a
 * cleanup of the pool, registered later) and before any of the pool's
 * memory is freed; usually there is nothing left to release. */
static apr_status_t release_at_end(void *data)
{
    alx_release_baton_t *b = data;

    alexalink_grace_release(b->r, b->x);
    return APR_SUCCESS;
}

/* Once per request, when it first holds a claim. */
static void release_with_pool(request_rec *r, alx_exchange_rec *x)
{
    alx_release_baton_t *b;

    if (x->grace.cleanup)
        return;
    x->grace.cleanup = 1;
    b = apr_palloc(r->pool, sizeof(*b));
    b->r = r;
    b->x = x;
    apr_pool_cleanup_register(r->pool, b, release_at_end,
                              apr_pool_cleanup_null);
}

/* Claims k for this request, or waits on the request that has it. */
static alx_flight_step_e take_flight(request_rec *r, alx_exchange_rec *x,
                                     const alx_grace_keys_t *k,
                                     apr_time_t deadline)
{
    apr_time_t now = apr_time_now();
    apr_uint64_t ticket = 0;
    alx_flight_claim_e got;
    alx_flight_t *t;
    unsigned int slot;

    if (apr_generate_random_bytes((unsigned char *)&ticket, sizeof(ticket))
        != APR_SUCCESS || !(t = alexalink_store_flight_lock(r)))
        return ALX_FLIGHT_ALONE;
    got = alx_flight_claim(t, k->claim_id, &ticket, now,
                           now + claim_life(r), (apr_uint32_t)getpid(),
                           holder_alive, NULL, &slot);
    alexalink_store_flight_unlock(r);
    if (got == ALX_FLIGHT_FULL) {
        alexalink_store_flight_full(r);
        return ALX_FLIGHT_ALONE;
    }
    if (got == ALX_FLIGHT_BUSY)
        return wait_flight(r, x, k, slot, ticket, deadline);
    x->grace.claimed = 1;
    release_with_pool(r, x);
    x->grace.slot = slot;
    x->grace.ticket = ticket;
    x->grace.sent = *k;
    x->grace.extended = now;
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "ALX0217: refresh token "
                  "claimed for %" APR_TIME_T_FMT " ms (the proxy's timeout "
                  "for this request, and a second)",
                  apr_time_as_msec(claim_life(r)));
    return alexalink_store_shared(r) ? remote_flight(r, x, k, deadline)
                                     : ALX_FLIGHT_GO;
}

/* ---- the request side ---------------------------------------------------- */

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

/* Report mode: say what would happen, change nothing. */
static void report_only(request_rec *r, alx_exchange_rec *x,
                        const alx_grace_keys_t *k)
{
    alx_grace_record_t rec;
    int found;

    x->grace.active = 1;
    x->grace.presented = x->grace.sent = *k;
    x->grace.sent_token = x->req.refresh_token;
    if (load(r, x, k, &rec, &found) != APR_SUCCESS || !found)
        return;
    if (alx_grace_decide(&rec, apr_time_now(), alexalink_conf_refresh_grace(
                         x->conf), alexalink_conf_grace_replays(x->conf),
                         alexalink_conf_time_budget(x->conf))
        != ALX_GRACE_PROXY)
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "ALX0213: a rotated "
                      "refresh token was presented again; enforce mode would "
                      "answer from the grace store, report mode lets the "
                      "upstream see it (reuse detection may revoke the "
                      "grant)");
}

/* The request that held the token may have recorded its answer and let
 * its claim go between our look at the records and our claim: a record
 * is always written before its claim ends, so one more look, claim in
 * hand, cannot miss it. */
static int recorded_meanwhile(request_rec *r, alx_exchange_rec *x,
                              const alx_grace_keys_t *k)
{
    alx_grace_record_t rec;
    alx_grace_action_e action;
    int found;

    if (load(r, x, k, &rec, &found) != APR_SUCCESS || !found)
        return 0;
    action = alx_grace_decide(&rec, apr_time_now(),
                              alexalink_conf_refresh_grace(x->conf),
                              alexalink_conf_grace_replays(x->conf),
                              alexalink_conf_time_budget(x->conf));
    return action == ALX_GRACE_REPLAY || action == ALX_GRACE_DUPLICATE
           || action == ALX_GRACE_CHAIN;
}

#ifdef ALX_TEST_HOOKS
/* Test builds only (configure --enable-test-hooks): a request header
 * holds this request between its look at the records and its claim, so a
 * test can force the interleaving the second look is for. */
static void test_pause(request_rec *r)
{
    const char *ms = apr_table_get(r->headers_in, "X-Alexalink-Test-Pause");

    if (!ms)
        return;
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, "ALX0219: test hook: "
                  "held %s ms between the look at the records and the claim",
                  alx_log_safe(r->pool, ms, 8));
    apr_sleep(apr_time_from_msec(apr_atoi64(ms)));
}
#else
#define test_pause(r) ((void)0)
#endif

int alexalink_grace_before_proxy(request_rec *r, alx_exchange_rec *x,
                                 const char **body, apr_size_t *len)
{
    apr_time_t deadline;
    const char *token;
    alx_grace_keys_t k;
    alx_flight_step_e step;

    if (!applies(r, x))
        return OK;
    alx_grace_derive(crypto(r), x->req.client_id, x->req.client_secret,
                     x->req.refresh_token, &k);
    if (alexalink_conf_report(x->conf)) {
        report_only(r, x, &k);
        return OK;
    }
    x->grace.presented = x->grace.sent = k;
    x->grace.sent_token = x->req.refresh_token;
    deadline = r->request_time + alexalink_conf_time_budget(x->conf);
    do {
        if (from_records(r, x, deadline, &k, &token))
            return DONE;
        test_pause(r);
        step = take_flight(r, x, &k, deadline);
        if (step == ALX_FLIGHT_DONE)
            return DONE;
        if (step == ALX_FLIGHT_GO && !x->grace.looked_again++
            && recorded_meanwhile(r, x, &k)) {
            alexalink_grace_release(r, x);
            step = ALX_FLIGHT_AGAIN;
        }
    } while (step == ALX_FLIGHT_AGAIN && apr_time_now() < deadline);
    if (step == ALX_FLIGHT_AGAIN) {
        wait_timeout(r, x);
        return DONE;
    }
    x->grace.active = 1;
    x->grace.sent = k;
    x->grace.sent_token = token;
    if (x->grace.chained) {
        if (!rewrite_refresh_token(r, token, body, len)) {
            alexalink_grace_release(r, x);
            x->grace.active = 0;
            x->grace.sent_token = NULL;
            return OK;
        }
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, "ALX0214: the successor "
                      "access token has expired; refreshing with the "
                      "successor refresh token on the client's behalf");
    }
    return OK;
}

/* ---- the answer side ----------------------------------------------------- */

/* Ends our slot in the in-flight table, handing answer (sealed) to the
 * duplicates that wait on it. */
static void finish_local(request_rec *r, alx_exchange_rec *x,
                         const unsigned char *answer, apr_size_t len)
{
    alx_flight_t *t;

    if (!x->grace.claimed)
        return;
    x->grace.claimed = 0;
    if (!(t = alexalink_store_flight_lock(r)))
        return;
    alx_flight_finish(t, x->grace.slot, x->grace.ticket, apr_time_now()
                      + alexalink_conf_time_budget(x->conf), answer, len);
    alexalink_store_flight_unlock(r);
}

/* Publishes answer at our claim id until expiry (NULL: removes the
 * claim). */
static void finish_remote(request_rec *r, alx_exchange_rec *x,
                          const unsigned char *answer, unsigned int len,
                          apr_time_t expiry)
{
    alx_remote_baton_t b = {r, &x->grace.sent, x->grace.ticket, expiry,
                            ALX_REMOTE_OURS, 0, answer, len};

    if (!x->grace.remote_claimed)
        return;
    x->grace.remote_claimed = 0;
    if (alexalink_store_update(r, x->grace.sent.claim_id, scratch(r, x),
                               ALX_STORE_MAX_VALUE, remote_finish_fn, &b)
        == APR_SUCCESS || !answer)
        return;
    /* not published: at least the claim must not outlive us */
    b.publish = NULL;
    alexalink_store_update(r, x->grace.sent.claim_id, scratch(r, x),
                           ALX_STORE_MAX_VALUE, remote_finish_fn, &b);
}

/* Our claim on a shared store, written again with a later expiry (while
 * it is still ours: remote_claim_fn keeps another's). */
static void extend_remote(request_rec *r, alx_exchange_rec *x,
                          apr_time_t expiry)
{
    alx_remote_baton_t b = {r, &x->grace.sent, x->grace.ticket, expiry,
                            ALX_REMOTE_OURS, 0, NULL, 0};

    alexalink_store_update(r, x->grace.sent.claim_id, scratch(r, x),
                           ALX_STORE_MAX_VALUE, remote_claim_fn, &b);
}

void alexalink_grace_extend(request_rec *r, alx_exchange_rec *x)
{
    apr_time_t now = apr_time_now();
    alx_flight_t *t;

    if (!x->grace.claimed || now - x->grace.extended < ALX_EXTEND_EVERY
        || !(t = alexalink_store_flight_lock(r)))
        return;
    x->grace.extended = now;
    alx_flight_extend(t, x->grace.slot, x->grace.ticket,
                      now + claim_life(r));
    alexalink_store_flight_unlock(r);
    if (x->grace.remote_claimed)
        extend_remote(r, x, now + claim_life(r));
}

static void record(request_rec *r, alx_exchange_rec *x)
{
    const alx_answer_t *a = &x->answer;
    alx_grace_record_t rec = {0};
    apr_interval_time_t window = alexalink_conf_refresh_grace(x->conf);
    apr_time_t now = apr_time_now();

    if (a->kind != ALX_KIND_TOKEN || a->refresh != ALX_REFRESH_ROTATED
        || !a->body || x->truncated)
        return;
    rec.issued = now;
    rec.upstream_ttl = a->ttl_in >= 0 ? a->ttl_in : -1;
    rec.sent_ttl = a->ttl_out >= 0 ? a->ttl_out : -1;
    rec.body = a->body;
    rec.len = a->len;
    if (save(r, &x->grace.sent, &rec, now + window, window) != APR_SUCCESS)
        return;
    /* a chained refresh leaves the presented token's record as it is (its
     * window never moves): a later presentation follows the chain to this
     * one */
    x->grace.recorded = 1;
}

/* True when no duplicate waits on our local claim: it ends here, and no
 * answer need be sealed for anyone (the common case). */
static int alone(request_rec *r, alx_exchange_rec *x)
{
    alx_flight_t *t;
    int none;

    if (!x->grace.claimed)
        return 1;
    if (!(t = alexalink_store_flight_lock(r)))
        return 0;
    none = alx_flight_waiters(t, x->grace.slot, x->grace.ticket) == 0;
    if (none) {
        alx_flight_finish(t, x->grace.slot, x->grace.ticket, 0, NULL, 0);
        x->grace.claimed = 0;
    }
    alexalink_store_flight_unlock(r);
    return none;
}

/* The answer exists but nobody else may have it: it passed through unread
 * (compressed, oversize). A rotation the store failed to record is not
 * refused: an outage of the store must never turn into failed token
 * requests (its waiters still get the answer handed on). */
static int unrecordable(const char *body)
{
    return !body;
}

/* Ends our claims as a refusal (ALX_REFUSE_FOR): the token must not go
 * upstream again while an answer we cannot give exists. */
static void refuse(request_rec *r, alx_exchange_rec *x)
{
    apr_time_t until = apr_time_now() + ALX_REFUSE_FOR;
    unsigned char *mark;
    unsigned int mark_len;
    alx_flight_t *t;

    if (x->grace.claimed && (t = alexalink_store_flight_lock(r))) {
        alx_flight_refuse(t, x->grace.slot, x->grace.ticket, until);
        x->grace.claimed = 0;
        alexalink_store_flight_unlock(r);
    }
    if (x->grace.remote_claimed
        && alx_grace_seal_answer(r->pool, &x->grace.sent, ALX_REFUSED_STATUS,
                                 NULL, "", 0, &mark, &mark_len)
           == APR_SUCCESS)
        finish_remote(r, x, mark, mark_len, until);
    alexalink_grace_release(r, x);
}

void alexalink_grace_after_answer(request_rec *r, alx_exchange_rec *x,
                                  int status, const char *content_type,
                                  const char *body, apr_size_t len)
{
    unsigned char *sealed = NULL;
    unsigned int sealed_len = 0;

    if (!x->grace.active)
        return;
    record(r, x);
    if (unrecordable(body)) {
        refuse(r, x);
        return;
    }
    if ((x->grace.remote_claimed || !alone(r, x))
        && alx_grace_seal_answer(r->pool, &x->grace.sent, status,
                                 content_type, body, len, &sealed,
                                 &sealed_len) != APR_SUCCESS)
        sealed = NULL;
    finish_local(r, x, sealed, sealed_len);
    finish_remote(r, x, sealed, sealed_len, apr_time_now()
                  + alexalink_conf_time_budget(x->conf));
}

/* Ends our claims without an answer (the request ended otherwise). Each
 * finish clears its flag first: nothing is released twice. */
void alexalink_grace_release(request_rec *r, alx_exchange_rec *x)
{
    finish_local(r, x, NULL, 0);
    finish_remote(r, x, NULL, 0, 0);
}

/* The refresh protocol (alx_refresh.h). Records live in the store; claims
 * and the answers handed to waiters live apart from them, in the in-flight
 * table (alx_flight) and, on a store a fleet shares, under their own id. */

#include <string.h>

#include "alx_answer.h"
#include "alx_form.h"
#include "alx_refresh.h"

#define POLL_INTERVAL apr_time_from_msec(10)
#define EXTEND_EVERY  apr_time_from_sec(1)
/* On a shared store, how long a claim must stay ours before we go
 * upstream: another server that checked before our write lands within it. */
#define CLAIM_SETTLE  apr_time_from_msec(10)
/* A runaway guard only: a chain is followed to its end within the budget. */
#define CHAIN_MAX     100000
/* A refusal's mark on a shared store: a sealed answer with this status. */
#define REFUSED_STATUS 0

typedef enum {
    FLIGHT_GO = 0,   /* ours: ask the upstream */
    FLIGHT_DONE,     /* answered (a waiter's answer, or 503) */
    FLIGHT_AGAIN,    /* the other request ended without an answer for us:
                        look at the records again */
    FLIGHT_ALONE     /* no single flight (store failure): ask upstream */
} flight_step_e;

static apr_time_t now(const alx_refresh_t *rf)
{
    return rf->store->now(rf->store->baton);
}

static void pause_for(const alx_refresh_t *rf, apr_interval_time_t t)
{
    rf->store->sleep(rf->store->baton, t);
}

static apr_interval_time_t claim_life(alx_refresh_t *rf)
{
    if (!rf->life)
        rf->life = rf->claim_life(rf->baton);
    return rf->life;
}

static void event(alx_refresh_t *rf, alx_refresh_event_e kind,
                  apr_int64_t a, apr_int64_t b, apr_int64_t c)
{
    alx_refresh_events_t *ev = rf->events;

    if (!ev || ev->count >= ALX_REFRESH_EVENTS_MAX)
        return;
    ev->event[ev->count].kind = kind;
    ev->event[ev->count].a = a;
    ev->event[ev->count].b = b;
    ev->event[ev->count].c = c;
    ev->count++;
}

static unsigned char *scratch(alx_refresh_t *rf)
{
    if (!rf->buf)
        rf->buf = apr_palloc(rf->pool, ALX_STORE_MAX_VALUE);
    return rf->buf;
}

static alx_flight_t *flight_lock(const alx_refresh_t *rf)
{
    return rf->store->flight_lock(rf->store->baton);
}

static void flight_unlock(const alx_refresh_t *rf)
{
    rf->store->flight_unlock(rf->store->baton);
}

static apr_status_t update(alx_refresh_t *rf, const unsigned char *id,
                           alx_store_update_fn fn, void *baton)
{
    return rf->store->update(rf->store->baton, id, scratch(rf),
                             ALX_STORE_MAX_VALUE, fn, baton);
}

/* The sealed bytes stored under id into the scratch buffer; *len 0 when
 * there are none. */
static apr_status_t fetch(alx_refresh_t *rf, const unsigned char *id,
                          unsigned int *len)
{
    apr_status_t rv;

    *len = ALX_STORE_MAX_VALUE;
    rv = rf->store->get(rf->store->baton, id, scratch(rf), len);
    if (rv == APR_NOTFOUND) {
        *len = 0;
        return APR_SUCCESS;
    }
    return rv;
}

/* The fetched bytes as an answered record (not a claim), opened with k. */
static int open_fetched(alx_refresh_t *rf, const alx_grace_keys_t *k,
                        unsigned int len, alx_grace_record_t *rec)
{
    return len > 0
           && alx_grace_open(rf->pool, k, rf->buf, len, rec) == APR_SUCCESS
           && !rec->pending;
}

/* APR_SUCCESS with *found, or the store's failure. A value that does not
 * open as an answered record (corrupt, another key's) counts as none. */
static apr_status_t load(alx_refresh_t *rf, const alx_grace_keys_t *k,
                         alx_grace_record_t *rec, int *found)
{
    unsigned int len;
    apr_status_t rv = fetch(rf, k->id, &len);

    *found = rv == APR_SUCCESS && open_fetched(rf, k, len, rec);
    return rv;
}

static apr_status_t seal_record(alx_refresh_t *rf, const alx_grace_keys_t *k,
                                const alx_grace_record_t *rec,
                                unsigned char **sealed, unsigned int *len)
{
    apr_status_t rv = alx_grace_seal(rf->pool, k, rec, sealed, len);

    if (rv == APR_SUCCESS && *len + ALX_STORE_FRAME_LEN > ALX_STORE_MAX_VALUE) {
        event(rf, ALX_REFRESH_EV_TOO_LARGE, *len, 0, 0);
        return APR_ENOSPC;
    }
    return rv;
}

static alx_grace_action_e decide(const alx_refresh_t *rf,
                                 const alx_grace_record_t *rec)
{
    return alx_grace_decide(rec, now(rf), rf->window, rf->max_replays,
                            rf->budget);
}

/* ---- answers of our own ------------------------------------------------- */

static void answer(alx_refresh_outcome_t *out, int status,
                   const char *content_type, const char *body,
                   alx_verdict_e verdict, const char *detail)
{
    out->step = ALX_REFRESH_STEP_ANSWER;
    out->status = status;
    out->content_type = content_type;
    out->answer = body;
    out->verdict = verdict;
    out->detail = detail;
}

static int answer_from(alx_refresh_t *rf, alx_refresh_outcome_t *out,
                       alx_grace_record_t *rec, int counted, int replays,
                       int hops)
{
    apr_time_t t = now(rf);
    apr_int64_t ttl;
    const char *body;
    apr_size_t len;

    if (alx_grace_replay_body(rf->pool, rec, t, &body, &len) != APR_SUCCESS)
        return 0;
    /* the log line's shape and TTL, from the record already parsed: the
     * replay differs only in expires_in's value */
    ttl = alx_grace_replay_ttl(rf->pool, rec, t);
    out->shape = alx_grace_body_shape(rf->pool, rec);
    out->ttl = ttl >= 0 ? ttl : ALX_TTL_ABSENT;
    out->described = 1;
    event(rf, ALX_REFRESH_EV_REPLAYED, counted, replays, hops);
    answer(out, 200, NULL, body, ALX_VERDICT_REPLAYED,
           counted ? NULL : "duplicate");
    return 1;
}

/* A 503 temporarily_unavailable, described for the log as it is made. */
static void unavailable(alx_refresh_t *rf, alx_refresh_outcome_t *out,
                        const char *description, alx_verdict_e verdict)
{
    const char *shape;

    answer(out, 503, NULL, alx_error_json_shaped(rf->pool,
                                                 "temporarily_unavailable",
                                                 description, &shape),
           verdict, NULL);
    out->shape = shape;
    out->ttl = ALX_TTL_ABSENT;
    out->described = 1;
}

static void wait_timeout(alx_refresh_t *rf, alx_refresh_outcome_t *out)
{
    unavailable(rf, out, "the same refresh token is being refreshed; try "
                "again", ALX_VERDICT_IN_FLIGHT_TIMEOUT);
    event(rf, ALX_REFRESH_EV_WAIT_TIMEOUT, 0, 0, 0);
}

/* The first request's answer exists but is not to be had (see
 * ALX_REFRESH_REFUSE_FOR): 503, never the upstream. */
static void refused(alx_refresh_t *rf, alx_refresh_outcome_t *out,
                    apr_time_t until)
{
    apr_int64_t left = apr_time_sec(until - now(rf)) + 1;

    unavailable(rf, out, "the same refresh token was just refreshed; try "
                "again later", ALX_VERDICT_UNRECORDABLE);
    out->retry_after = left < 1 ? 1 : left;
    event(rf, ALX_REFRESH_EV_REFUSED, 0, 0, 0);
}

/* ---- answering from records -------------------------------------------- */

/* Follows successors from *rec to the newest record: its answer carries the
 * tokens the client should hold now. Bounded by the deadline. */
static void walk(alx_refresh_t *rf, alx_grace_keys_t *k,
                 alx_grace_record_t *rec, int *hops)
{
    alx_grace_record_t next;
    alx_grace_deriver_t d;
    alx_grace_keys_t nk;
    const char *token;
    unsigned int len;

    while (*hops < CHAIN_MAX && now(rf) < rf->deadline) {
        token = alx_grace_successor(rf->pool, rec);
        if (!token)
            return;
        /* the id first; the key only for a successor that has a record */
        alx_grace_deriver_init(&d, rf->crypto, rf->client_id,
                               rf->client_secret, token);
        alx_grace_derive_more(&d, ALX_GRACE_ID, &nk);
        if (fetch(rf, nk.id, &len) == APR_SUCCESS && len > 0)
            alx_grace_derive_more(&d, ALX_GRACE_KEY, &nk);
        else
            len = 0;
        alx_grace_deriver_end(&d);
        if (!len || !open_fetched(rf, &nk, len, &next))
            return;
        *k = nk;
        *rec = next;
        (*hops)++;
    }
}

typedef enum { COUNT_OK = 0, COUNT_EXHAUSTED, COUNT_GONE } count_e;

typedef struct {
    alx_refresh_t *rf;
    count_e result;
    int replays;
} count_baton_t;

/* Counts one replay on the presented record, under the store's lock, so
 * that concurrent replays never exceed max_replays. */
static alx_store_change_e count_replay(void *baton, const unsigned char *data,
                                       unsigned int len,
                                       const unsigned char **out,
                                       unsigned int *out_len,
                                       apr_time_t *expiry)
{
    count_baton_t *b = baton;
    alx_refresh_t *rf = b->rf;
    alx_grace_record_t rec;
    unsigned char *sealed;

    b->result = COUNT_GONE;
    if (!data || alx_grace_open(rf->pool, &rf->presented, data, len, &rec)
        != APR_SUCCESS || rec.pending)
        return ALX_STORE_KEEP;
    b->replays = rec.replays;
    if (rec.replays >= rf->max_replays) {
        b->result = COUNT_EXHAUSTED;
        return ALX_STORE_KEEP;
    }
    rec.replays++;
    if (seal_record(rf, &rf->presented, &rec, &sealed, out_len)
        != APR_SUCCESS)
        return ALX_STORE_KEEP;   /* counted nowhere: still one replay */
    *out = sealed;
    *expiry = rec.issued + rf->window;
    b->replays = rec.replays;
    b->result = COUNT_OK;
    return ALX_STORE_PUT;
}

/* One replay counted on the presented record: COUNT_OK with *replays, or
 * why not (the store failed or the record went: GONE). */
static count_e count(alx_refresh_t *rf, int *replays)
{
    count_baton_t b = {rf, COUNT_OK, 0};

    if (update(rf, rf->presented.id, count_replay, &b) != APR_SUCCESS)
        return COUNT_GONE;
    if (b.result == COUNT_EXHAUSTED)
        event(rf, ALX_REFRESH_EV_EXHAUSTED, b.replays, 0, 0);
    *replays = b.replays;
    return b.result;
}

/* The newest record's access token has expired: refresh with its successor
 * refresh token, on the client's behalf. That is a replay, counted once
 * however often this request looks again. */
static void chain(alx_refresh_t *rf, alx_grace_record_t *newest,
                  alx_grace_keys_t *k, const char **token)
{
    const char *successor = alx_grace_successor(rf->pool, newest);
    int replays;

    if (!successor)
        return;
    if (!rf->chain_counted) {
        if (count(rf, &replays) != COUNT_OK)
            return;
        rf->chain_counted = 1;
    }
    rf->chained = 1;
    alx_grace_derive(rf->crypto, rf->client_id, rf->client_secret, successor,
                     k);
    *token = successor;
}

/* What the records say about the presented token. 1: answered from them.
 * 0: ask the upstream with *k / *token (the presented token, or the newest
 * successor when its access token has expired: rf->chained). */
static int from_records(alx_refresh_t *rf, alx_refresh_outcome_t *out,
                        alx_grace_keys_t *k, const char **token)
{
    alx_grace_record_t first, newest;
    alx_grace_keys_t nk;
    alx_grace_action_e action;
    int found, hops = 0, replays;

    *k = rf->presented;
    *token = rf->refresh_token;
    rf->chained = 0;
    if (load(rf, k, &first, &found) != APR_SUCCESS || !found)
        return 0;
    action = decide(rf, &first);
    if (action == ALX_GRACE_EXHAUSTED)
        event(rf, ALX_REFRESH_EV_EXHAUSTED, first.replays, 0, 0);
    if (action == ALX_GRACE_PROXY || action == ALX_GRACE_EXHAUSTED
        || action == ALX_GRACE_WAIT)
        return 0;
    nk = *k;
    newest = first;
    walk(rf, &nk, &newest, &hops);
    if (alx_grace_expired(&newest, now(rf))) {
        chain(rf, &newest, k, token);
        return 0;
    }
    if (action == ALX_GRACE_DUPLICATE)
        return answer_from(rf, out, &newest, 0, first.replays, hops);
    if (count(rf, &replays) != COUNT_OK)
        return 0;
    return answer_from(rf, out, &newest, 1, replays, hops);
}

/* ---- single flight on this machine -------------------------------------- */

/* Hands the first request's answer to this waiter. */
static int take_answer(alx_refresh_t *rf, alx_refresh_outcome_t *out,
                       const alx_grace_keys_t *k, const unsigned char *sealed,
                       unsigned int len)
{
    const char *ct, *body;
    apr_size_t body_len;
    int status;

    if (alx_grace_open_answer(rf->pool, k, sealed, len, &status, &ct, &body,
                              &body_len) != APR_SUCCESS)
        return 0;
    event(rf, ALX_REFRESH_EV_HANDED, status, 0, 0);
    answer(out, status, ct, body, ALX_VERDICT_REPLAYED, "duplicate");
    return 1;
}

static flight_step_e wait_flight(alx_refresh_t *rf, alx_refresh_outcome_t *out,
                                 const alx_grace_keys_t *k, unsigned int slot,
                                 apr_uint64_t ticket)
{
    unsigned char *buf = scratch(rf);
    alx_flight_poll_e got;
    alx_flight_t *t;
    apr_size_t len;

    for (;;) {
        apr_time_t at = now(rf);
        int late = at >= rf->deadline;

        if (!(t = flight_lock(rf)))
            return FLIGHT_ALONE;
        got = alx_flight_poll(t, slot, ticket, at, rf->store->alive,
                              rf->store->baton, buf, ALX_STORE_MAX_VALUE,
                              &len);
        if (got == ALX_FLIGHT_WAITING && late)
            alx_flight_leave(t, slot, ticket);
        flight_unlock(rf);
        if (got == ALX_FLIGHT_ANSWERED)
            return take_answer(rf, out, k, buf, (unsigned int)len)
                   ? FLIGHT_DONE : FLIGHT_AGAIN;
        if (got == ALX_FLIGHT_GONE)
            return FLIGHT_AGAIN;
        if (got == ALX_FLIGHT_REFUSED) {
            refused(rf, out, at + ALX_REFRESH_REFUSE_FOR);
            return FLIGHT_DONE;
        }
        if (late) {
            wait_timeout(rf, out);
            return FLIGHT_DONE;
        }
        pause_for(rf, POLL_INTERVAL);
    }
}

/* Ends our slot in the in-flight table, handing answer (sealed) to the
 * duplicates that wait on it. */
static void finish_local(alx_refresh_t *rf, const unsigned char *answer,
                         apr_size_t len)
{
    alx_flight_t *t;

    if (!rf->claimed)
        return;
    rf->claimed = 0;
    if (!(t = flight_lock(rf)))
        return;
    alx_flight_finish(t, rf->slot, rf->ticket, now(rf) + rf->budget, answer,
                      len);
    flight_unlock(rf);
}

/* ---- across servers sharing a store ------------------------------------- */

typedef enum {
    REMOTE_OURS = 0,
    REMOTE_BUSY,
    REMOTE_ANSWER,
    REMOTE_REFUSED   /* a refusal's mark (REFUSED_STATUS) */
} remote_e;

typedef struct {
    alx_refresh_t *rf;
    const alx_grace_keys_t *k;
    apr_time_t expiry;
    remote_e result;
    unsigned int len;           /* of the answer found, left in scratch */
    const unsigned char *publish;   /* when finishing: our answer or NULL */
    unsigned int publish_len;
} remote_baton_t;

/* What the claim id holds: ours, another server's claim, an answer or a
 * refusal. An answer is for the waiters that saw the claim; a request that
 * comes after it (claiming) passes it over: a non-rotating answer is never
 * kept for later requests, and a rotating one is in the records. */
static remote_e remote_state(remote_baton_t *b, const unsigned char *data,
                             unsigned int len, int claiming)
{
    alx_refresh_t *rf = b->rf;
    alx_grace_record_t rec;
    const char *ct, *body;
    apr_size_t body_len;
    int status;

    if (alx_grace_is_answer(data, len)) {
        if (alx_grace_open_answer(rf->pool, b->k, data, len, &status, &ct,
                                  &body, &body_len) == APR_SUCCESS
            && status == REFUSED_STATUS)
            return REMOTE_REFUSED;
        b->len = len;
        return claiming ? REMOTE_OURS : REMOTE_ANSWER;
    }
    if (alx_grace_open(rf->pool, b->k, data, len, &rec) == APR_SUCCESS
        && rec.pending && rec.claim != rf->ticket)
        return REMOTE_BUSY;
    return REMOTE_OURS;
}

static alx_store_change_e remote_claim_fn(void *baton,
                                          const unsigned char *data,
                                          unsigned int len,
                                          const unsigned char **out,
                                          unsigned int *out_len,
                                          apr_time_t *expiry)
{
    remote_baton_t *b = baton;
    alx_grace_record_t rec = {0};
    unsigned char *sealed;

    if (data) {
        b->result = remote_state(b, data, len, 1);
        if (b->result != REMOTE_OURS)
            return ALX_STORE_KEEP;
    }
    b->result = REMOTE_OURS;
    rec.pending = 1;
    rec.claim = b->rf->ticket;
    rec.issued = now(b->rf);
    rec.upstream_ttl = rec.sent_ttl = -1;
    if (alx_grace_seal(b->rf->pool, b->k, &rec, &sealed, out_len)
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
    remote_baton_t *b = baton;
    alx_grace_record_t rec;

    if (!data || alx_grace_is_answer(data, len)
        || alx_grace_open(b->rf->pool, b->k, data, len, &rec) != APR_SUCCESS
        || !rec.pending || rec.claim != b->rf->ticket)
        return ALX_STORE_KEEP;
    if (!b->publish)
        return ALX_STORE_REMOVE;
    *out = b->publish;
    *out_len = b->publish_len;
    *expiry = b->expiry;
    return ALX_STORE_PUT;
}

/* Reads the claim id back: ours, another's, or an answer. */
static remote_e remote_look(remote_baton_t *b)
{
    alx_refresh_t *rf = b->rf;
    unsigned int len = ALX_STORE_MAX_VALUE;

    if (rf->store->get(rf->store->baton, b->k->claim_id, scratch(rf), &len)
        != APR_SUCCESS)
        return REMOTE_OURS;   /* gone or failing: plain proxying */
    return remote_state(b, rf->buf, len, 0);
}

/* While another server holds the token we wait for its answer, polling. */
static flight_step_e remote_wait(remote_baton_t *b, remote_e state,
                                 alx_refresh_outcome_t *out)
{
    alx_refresh_t *rf = b->rf;

    for (;;) {
        if (state == REMOTE_REFUSED) {
            finish_local(rf, NULL, 0);
            refused(rf, out, now(rf) + ALX_REFRESH_REFUSE_FOR);
            return FLIGHT_DONE;
        }
        if (state == REMOTE_ANSWER) {
            finish_local(rf, rf->buf, b->len);
            return take_answer(rf, out, b->k, rf->buf, b->len)
                   ? FLIGHT_DONE : FLIGHT_AGAIN;
        }
        if (state == REMOTE_OURS) {   /* the other server's claim ended */
            finish_local(rf, NULL, 0);
            return FLIGHT_AGAIN;
        }
        if (now(rf) >= rf->deadline) {
            finish_local(rf, NULL, 0);
            wait_timeout(rf, out);
            return FLIGHT_DONE;
        }
        pause_for(rf, POLL_INTERVAL);
        state = remote_look(b);
    }
}

/* The store has no atomic add: the claim is written, read back, and read
 * again CLAIM_SETTLE later. */
static flight_step_e remote_flight(alx_refresh_t *rf,
                                   alx_refresh_outcome_t *out,
                                   const alx_grace_keys_t *k)
{
    remote_baton_t b = {rf, k, now(rf) + claim_life(rf), REMOTE_OURS, 0,
                        NULL, 0};
    remote_e state;

    if (update(rf, k->claim_id, remote_claim_fn, &b) != APR_SUCCESS)
        return FLIGHT_GO;
    state = b.result;
    if (state == REMOTE_OURS) {
        state = remote_look(&b);
        if (state == REMOTE_OURS) {
            pause_for(rf, CLAIM_SETTLE);
            state = remote_look(&b);
        }
    }
    if (state == REMOTE_OURS) {
        rf->remote_claimed = 1;
        return FLIGHT_GO;
    }
    return remote_wait(&b, state, out);
}

/* Publishes answer at our claim id until expiry (NULL: removes the
 * claim). */
static void finish_remote(alx_refresh_t *rf, const unsigned char *answer,
                          unsigned int len, apr_time_t expiry)
{
    remote_baton_t b = {rf, &rf->sent, expiry, REMOTE_OURS, 0, answer, len};

    if (!rf->remote_claimed)
        return;
    rf->remote_claimed = 0;
    if (update(rf, rf->sent.claim_id, remote_finish_fn, &b) == APR_SUCCESS
        || !answer)
        return;
    /* not published: at least the claim must not outlive us */
    b.publish = NULL;
    update(rf, rf->sent.claim_id, remote_finish_fn, &b);
}

/* ---- claims ------------------------------------------------------------- */

/* However the request ends (an aborted client, a handler that never sent
 * through the glue's filter), its claims end with its pool, so no waiter is
 * kept until the claim expires. */
static apr_status_t release_at_end(void *data)
{
    alx_refresh_release(data);
    return APR_SUCCESS;
}

/* Claims k for this request, or waits on the request that has it. */
static flight_step_e take_flight(alx_refresh_t *rf, alx_refresh_outcome_t *out,
                                 const alx_grace_keys_t *k)
{
    apr_time_t at = now(rf);
    apr_uint64_t ticket = 0;
    alx_flight_claim_e got;
    alx_flight_t *t;
    unsigned int slot;

    if (rf->store->random(rf->store->baton, (unsigned char *)&ticket,
                          sizeof(ticket)) != APR_SUCCESS
        || !(t = flight_lock(rf)))
        return FLIGHT_ALONE;
    got = alx_flight_claim(t, k->claim_id, &ticket, at, at + claim_life(rf),
                           rf->store->owner, rf->store->alive,
                           rf->store->baton, &slot);
    flight_unlock(rf);
    if (got == ALX_FLIGHT_FULL) {
        event(rf, ALX_REFRESH_EV_TABLE_FULL, 0, 0, 0);
        return FLIGHT_ALONE;
    }
    if (got == ALX_FLIGHT_BUSY)
        return wait_flight(rf, out, k, slot, ticket);
    rf->claimed = 1;
    if (!rf->cleanup) {
        rf->cleanup = 1;
        apr_pool_cleanup_register(rf->pool, rf, release_at_end,
                                  apr_pool_cleanup_null);
    }
    rf->slot = slot;
    rf->ticket = ticket;
    rf->sent = *k;
    rf->extended = at;
    event(rf, ALX_REFRESH_EV_CLAIMED, apr_time_as_msec(claim_life(rf)), 0, 0);
    return rf->store->shared ? remote_flight(rf, out, k) : FLIGHT_GO;
}

/* The request that held the token may have recorded its answer and let
 * its claim go between our look at the records and our claim: a record
 * is always written before its claim ends, so one more look, claim in
 * hand, cannot miss it. */
static int recorded_meanwhile(alx_refresh_t *rf, const alx_grace_keys_t *k)
{
    alx_grace_record_t rec;
    alx_grace_action_e action;
    int found;

    if (load(rf, k, &rec, &found) != APR_SUCCESS || !found)
        return 0;
    action = decide(rf, &rec);
    return action == ALX_GRACE_REPLAY || action == ALX_GRACE_DUPLICATE
           || action == ALX_GRACE_CHAIN;
}

/* ---- the request side --------------------------------------------------- */

/* Report mode: say what would happen, change nothing. */
static void report_only(alx_refresh_t *rf)
{
    alx_grace_record_t rec;
    int found;

    rf->active = 1;
    rf->sent = rf->presented;
    rf->sent_token = rf->refresh_token;
    if (load(rf, &rf->presented, &rec, &found) != APR_SUCCESS || !found)
        return;
    if (decide(rf, &rec) != ALX_GRACE_PROXY)
        event(rf, ALX_REFRESH_EV_WOULD_REPLAY, 0, 0, 0);
}

/* The request's form with refresh_token replaced by the successor. */
static int rewrite(alx_refresh_t *rf, const char *token,
                   alx_refresh_outcome_t *out)
{
    apr_array_header_t *pairs;

    if (!rf->form)
        return 0;
    pairs = apr_array_copy(rf->pool, rf->form);
    alx_form_set(pairs, "refresh_token", token);
    out->body = alx_form_encode(rf->pool, pairs, &out->len);
    return 1;
}

static void go_upstream(alx_refresh_t *rf, const alx_grace_keys_t *k,
                        const char *token, alx_refresh_outcome_t *out)
{
    rf->active = 1;
    rf->sent = *k;
    rf->sent_token = token;
    if (!rf->chained)
        return;
    if (!rewrite(rf, token, out)) {
        alx_refresh_release(rf);
        rf->active = 0;
        rf->sent_token = NULL;
        return;
    }
    event(rf, ALX_REFRESH_EV_CHAINED, 0, 0, 0);
}

/* The presented token's claim id, derived once and only for a claim (a
 * chained successor's keys have theirs). */
static void claim_keys(alx_refresh_t *rf, alx_grace_keys_t *k)
{
    if (rf->chained)
        return;
    if (!rf->claim_derived) {
        alx_grace_derive_more(&rf->deriver, ALX_GRACE_CLAIM, &rf->presented);
        rf->claim_derived = 1;
    }
    *k = rf->presented;
}

void alx_refresh_before(alx_refresh_t *rf, alx_refresh_outcome_t *out)
{
    const char *token;
    alx_grace_keys_t k;
    flight_step_e step;

    /* what every outcome says; the rest is set by the one that makes it */
    out->step = ALX_REFRESH_STEP_UPSTREAM;
    out->body = NULL;
    out->retry_after = 0;
    out->described = 0;
    out->events.count = 0;
    rf->events = &out->events;
    /* the claim id waits for a claim (claim_keys): a replay needs none */
    alx_grace_deriver_init(&rf->deriver, rf->crypto, rf->client_id,
                           rf->client_secret, rf->refresh_token);
    alx_grace_derive_more(&rf->deriver, ALX_GRACE_ID | ALX_GRACE_KEY, &k);
    rf->presented = rf->sent = k;
    if (rf->report) {
        report_only(rf);
        goto done;
    }
    rf->sent_token = rf->refresh_token;
    do {
        if (from_records(rf, out, &k, &token))
            goto done;
        if (rf->before_claim)
            rf->before_claim(rf->baton);
        claim_keys(rf, &k);
        step = take_flight(rf, out, &k);
        if (step == FLIGHT_DONE)
            goto done;
        if (step == FLIGHT_GO && !rf->looked_again++
            && recorded_meanwhile(rf, &k)) {
            alx_refresh_release(rf);
            step = FLIGHT_AGAIN;
        }
    } while (step == FLIGHT_AGAIN && now(rf) < rf->deadline);
    if (step == FLIGHT_AGAIN)
        wait_timeout(rf, out);
    else
        go_upstream(rf, &k, token, out);
done:
    alx_grace_deriver_end(&rf->deriver);
    rf->events = NULL;
}

/* ---- the answer side ---------------------------------------------------- */

static void record(alx_refresh_t *rf, const alx_refresh_answer_t *a)
{
    alx_grace_record_t rec = {0};
    apr_time_t at = now(rf);
    unsigned char *sealed;
    unsigned int len;

    if (!a->record_body)
        return;
    rec.issued = at;
    rec.upstream_ttl = a->ttl_in >= 0 ? a->ttl_in : -1;
    rec.sent_ttl = a->ttl_out >= 0 ? a->ttl_out : -1;
    rec.body = a->record_body;
    rec.len = a->record_len;
    if (seal_record(rf, &rf->sent, &rec, &sealed, &len) != APR_SUCCESS
        || rf->store->put(rf->store->baton, rf->sent.id, at + rf->window,
                          sealed, len, rf->window) != APR_SUCCESS)
        return;
    /* a chained refresh leaves the presented token's record as it is (its
     * window never moves): a later presentation follows the chain to this
     * one */
    rf->recorded = 1;
}

/* True when no duplicate waits on our local claim: it ends here, and no
 * answer need be sealed for anyone (the common case). */
static int alone(alx_refresh_t *rf)
{
    alx_flight_t *t;
    int none;

    if (!rf->claimed)
        return 1;
    if (!(t = flight_lock(rf)))
        return 0;
    none = alx_flight_waiters(t, rf->slot, rf->ticket) == 0;
    if (none) {
        alx_flight_finish(t, rf->slot, rf->ticket, 0, NULL, 0);
        rf->claimed = 0;
    }
    flight_unlock(rf);
    return none;
}

/* Ends our claims as a refusal (ALX_REFRESH_REFUSE_FOR): the token must
 * not go upstream again while an answer we cannot give exists. */
static void refuse(alx_refresh_t *rf)
{
    apr_time_t until = now(rf) + ALX_REFRESH_REFUSE_FOR;
    unsigned char *mark;
    unsigned int mark_len;
    alx_flight_t *t;

    if (rf->claimed && (t = flight_lock(rf))) {
        alx_flight_refuse(t, rf->slot, rf->ticket, until);
        rf->claimed = 0;
        flight_unlock(rf);
    }
    if (rf->remote_claimed
        && alx_grace_seal_answer(rf->pool, &rf->sent, REFUSED_STATUS, NULL,
                                 "", 0, &mark, &mark_len) == APR_SUCCESS)
        finish_remote(rf, mark, mark_len, until);
    alx_refresh_release(rf);
}

/* The answer exists but nobody else may have it: it passed through unread
 * (compressed, oversize). A rotation the store failed to record is not
 * refused: an outage of the store must never turn into failed token
 * requests (its waiters still get the answer handed on). */
void alx_refresh_after(alx_refresh_t *rf, const alx_refresh_answer_t *a,
                       alx_refresh_events_t *events)
{
    unsigned char *sealed = NULL;
    unsigned int sealed_len = 0;

    if (!rf->active)
        return;
    rf->events = events;
    record(rf, a);
    rf->events = NULL;
    if (!a->body) {
        refuse(rf);
        return;
    }
    if ((rf->remote_claimed || !alone(rf))
        && alx_grace_seal_answer(rf->pool, &rf->sent, a->status,
                                 a->content_type, a->body, a->len, &sealed,
                                 &sealed_len) != APR_SUCCESS)
        sealed = NULL;
    finish_local(rf, sealed, sealed_len);
    finish_remote(rf, sealed, sealed_len, now(rf) + rf->budget);
}

/* Our claim on a shared store, written again with a later expiry (while
 * it is still ours: remote_claim_fn keeps another's). */
static void extend_remote(alx_refresh_t *rf, apr_time_t expiry)
{
    remote_baton_t b = {rf, &rf->sent, expiry, REMOTE_OURS, 0, NULL, 0};

    update(rf, rf->sent.claim_id, remote_claim_fn, &b);
}

void alx_refresh_extend(alx_refresh_t *rf)
{
    apr_time_t at;
    alx_flight_t *t;

    if (!rf->claimed)   /* the common case: no clock, no lock */
        return;
    at = now(rf);
    if (at - rf->extended < EXTEND_EVERY || !(t = flight_lock(rf)))
        return;
    rf->extended = at;
    alx_flight_extend(t, rf->slot, rf->ticket, at + claim_life(rf));
    flight_unlock(rf);
    if (rf->remote_claimed)
        extend_remote(rf, at + claim_life(rf));
}

/* Each finish clears its flag first: nothing is released twice. */
void alx_refresh_release(alx_refresh_t *rf)
{
    finish_local(rf, NULL, 0);
    finish_remote(rf, NULL, 0, 0);
}

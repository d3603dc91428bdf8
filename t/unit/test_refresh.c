/* lib/alx_refresh.c over the in-memory store (memstore.h) and its clock:
 * replays and their cap (also under threads), chains of any length and a
 * chain that loops, the claim on one server and across two, a claim whose
 * holder died, refusals, report mode, an outage, a full table. */
#include <signal.h>
#include <unistd.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "alx_form.h"
#include "alx_refresh.h"
#include "memstore.h"
#include "tap.h"

#define SEC APR_USEC_PER_SEC

static apr_pool_t *root;

static int life_asked;

static apr_interval_time_t life_31s(void *baton)
{
    (void)baton;
    life_asked++;
    return apr_time_from_sec(31);
}
static const alx_crypto_t *crypto;

typedef struct {
    apr_pool_t *pool;
    alx_refresh_t rf;
    alx_refresh_outcome_t out;
    alx_refresh_events_t after_events;
} req_t;

static req_t *request(mem_server_t *s, const char *token)
{
    req_t *q = calloc(1, sizeof(*q));
    apr_array_header_t *form;
    const char *err, *body;

    apr_pool_create(&q->pool, root);
    body = apr_pstrcat(q->pool, "grant_type=refresh_token&refresh_token=",
                       token, "&client_id=alexa-skill", NULL);
    alx_form_parse(q->pool, body, strlen(body), &form, &err);
    q->rf.pool = q->pool;
    q->rf.store = &s->ops;
    q->rf.crypto = crypto;
    q->rf.client_id = "alexa-skill";
    q->rf.client_secret = "s3cret";
    q->rf.refresh_token = token;
    q->rf.form = form;
    q->rf.window = apr_time_from_sec(86400);
    q->rf.max_replays = 3;
    q->rf.budget = apr_time_from_msec(4500);
    q->rf.deadline = s->fleet->clock + q->rf.budget;
    q->rf.claim_life = life_31s;
    return q;
}

static void before(req_t *q)
{
    alx_refresh_before(&q->rf, &q->out);
}

static const char *token_body(apr_pool_t *p, const char *next, int ttl)
{
    return apr_psprintf(p, "{\"access_token\":\"at-%s\",\"token_type\":"
                        "\"bearer\",\"expires_in\":%d,\"refresh_token\":"
                        "\"%s\"}", next, ttl, next);
}

/* The upstream's answer rotated the token to next (recorded). */
static void rotated(req_t *q, const char *next, int ttl)
{
    const char *body = token_body(q->pool, next, ttl);
    alx_refresh_answer_t a = {200, "application/json", body, strlen(body),
                              body, strlen(body), ttl, ttl};

    alx_refresh_after(&q->rf, &a, &q->after_events);
}

static void unread(req_t *q)
{
    alx_refresh_answer_t a = {200, NULL, NULL, 0, NULL, 0, -1, -1};

    alx_refresh_after(&q->rf, &a, &q->after_events);
}

static void end(req_t *q)
{
    apr_pool_destroy(q->pool);
    free(q);
}

static const alx_refresh_event_t *event_of(const alx_refresh_events_t *ev,
                                           alx_refresh_event_e kind)
{
    int i;

    for (i = 0; i < ev->count; i++)
        if (ev->event[i].kind == kind)
            return &ev->event[i];
    return NULL;
}

static int has(const req_t *q, const char *text)
{
    return q->out.answer && strstr(q->out.answer, text) != NULL;
}

/* c0 presented, answered with c1: a record for c0. */
static void linked(mem_server_t *s, const char *from, const char *to, int ttl)
{
    req_t *q = request(s, from);

    before(q);
    rotated(q, to, ttl);
    end(q);
}

static void test_first_and_duplicate(void)
{
    mem_fleet_t *f = mem_fleet(root, 0);
    mem_server_t *s = mem_server(root, f, 8, 0, 9, 0);
    const alx_refresh_event_t *e;
    req_t *q = request(s, "c0");

    before(q);
    is_int(q->out.step, ALX_REFRESH_STEP_UPSTREAM, "a fresh token goes upstream");
    ok(q->rf.claimed && q->rf.active, "claimed, and its answer is to be recorded");
    ok(q->rf.claim_derived, "a claim derived the claim id");
    e = event_of(&q->out.events, ALX_REFRESH_EV_CLAIMED);
    ok(e && e->a == 31000, "the claim event says the claim's life in ms");
    ok(q->out.body == NULL, "the body goes as it is");
    rotated(q, "c1", 3600);
    ok(q->rf.recorded && !q->rf.claimed, "recorded, the claim ended");
    is_int(f->puts, 1, "one record written");
    end(q);

    is_int(life_asked, 1, "the claim's life asked once");
    f->clock += SEC;
    q = request(s, "c0");
    before(q);
    is_int(q->out.step, ALX_REFRESH_STEP_ANSWER, "presented again: answered");
    is_int(life_asked, 1, "a replay does not ask for the claim's life");
    is_int(q->out.status, 200, "with 200");
    is_int(q->out.verdict, ALX_VERDICT_REPLAYED, "verdict replayed");
    is_str(q->out.detail, "duplicate", "within the budget: a duplicate");
    ok(has(q, "\"refresh_token\":\"c1\"") && has(q, "\"expires_in\":3599"),
       "the recorded answer, expires_in less the second gone");
    ok(q->out.described && q->out.ttl == 3599, "its TTL for the log line");
    e = event_of(&q->out.events, ALX_REFRESH_EV_REPLAYED);
    ok(e && e->a == 0 && e->b == 0 && e->c == 0, "not counted, no hops");
    ok(!q->rf.claimed, "no claim taken");
    ok(!q->rf.claim_derived, "nor its id derived (one HMAC fewer)");
    end(q);
    mem_fleet_free(f);
}

static void test_replay_cap(void)
{
    mem_fleet_t *f = mem_fleet(root, 0);
    mem_server_t *s = mem_server(root, f, 8, 0, 9, 0);
    const alx_refresh_event_t *e;
    req_t *q;
    int i;

    linked(s, "c0", "c1", 3600);
    f->clock += 10 * SEC;
    for (i = 1; i <= 3; i++) {
        q = request(s, "c0");
        before(q);
        e = event_of(&q->out.events, ALX_REFRESH_EV_REPLAYED);
        ok(q->out.step == ALX_REFRESH_STEP_ANSWER && !q->out.detail
           && e && e->a == 1 && e->b == i, "replay %d of 3 counted", i);
        end(q);
    }
    q = request(s, "c0");
    before(q);
    is_int(q->out.step, ALX_REFRESH_STEP_UPSTREAM, "the fourth goes upstream");
    e = event_of(&q->out.events, ALX_REFRESH_EV_EXHAUSTED);
    ok(e && e->a == 3, "exhausted after 3 replays");
    end(q);
    mem_fleet_free(f);
}

/* Between one request's look at the record (replays 0) and its count,
 * four others are answered: the count under the lock is what stops it. */
typedef struct {
    mem_server_t *s;
    int running;
    int counted;
} cutter_t;

static void cut_in(void *baton)
{
    cutter_t *c = baton;
    const alx_refresh_event_t *e;
    int i;

    if (c->running++)
        return;
    for (i = 0; i < 4; i++) {
        req_t *q = request(c->s, "c0");

        before(q);
        e = event_of(&q->out.events, ALX_REFRESH_EV_REPLAYED);
        c->counted += q->out.step == ALX_REFRESH_STEP_ANSWER && e && e->a;
        end(q);
    }
}

static void test_replay_cap_interleaved(void)
{
    mem_fleet_t *f = mem_fleet(root, 0);
    mem_server_t *s = mem_server(root, f, 8, 0, 9, 0);
    cutter_t c = {s, 0, 0};
    const alx_refresh_event_t *e;
    req_t *q;

    linked(s, "c0", "c1", 3600);
    f->clock += 10 * SEC;
    s->on_update = cut_in;
    s->update_baton = &c;
    q = request(s, "c0");
    before(q);
    s->on_update = NULL;
    is_int(c.counted, 3, "the four that cut in: three replays counted");
    e = event_of(&q->out.events, ALX_REFRESH_EV_EXHAUSTED);
    ok(q->out.step == ALX_REFRESH_STEP_UPSTREAM && e && e->a == 3,
       "the one that looked first finds the replays used up at its count");
    end(q);
    mem_fleet_free(f);
}

typedef struct {
    mem_server_t *s;
    int counted;
} racer_t;

static void *APR_THREAD_FUNC race(apr_thread_t *t, void *data)
{
    racer_t *r = data;
    const alx_refresh_event_t *e;
    req_t *q = request(r->s, "c0");

    before(q);
    e = event_of(&q->out.events, ALX_REFRESH_EV_REPLAYED);
    r->counted = q->out.step == ALX_REFRESH_STEP_ANSWER && e && e->a == 1;
    end(q);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

static void test_replay_cap_threads(void)
{
    mem_fleet_t *f = mem_fleet(root, 1);
    mem_server_t *s = mem_server(root, f, 8, 0, 9, 1);
    apr_thread_t *t[12];
    racer_t r[12];
    apr_status_t rv;
    int i, counted = 0;

    linked(s, "c0", "c1", 3600);
    f->clock += 10 * SEC;
    for (i = 0; i < 12; i++) {
        r[i].s = s;
        r[i].counted = 0;
        apr_thread_create(&t[i], NULL, race, &r[i], root);
    }
    for (i = 0; i < 12; i++) {
        apr_thread_join(&rv, t[i]);
        counted += r[i].counted;
    }
    is_int(counted, 3, "12 threads at once: exactly 3 replays counted");
    mem_fleet_free(f);
}

static void test_chains(void)
{
    int lengths[] = {1, 3, 40}, n, i;

    for (n = 0; n < 3; n++) {
        mem_fleet_t *f = mem_fleet(root, 0);
        mem_server_t *s = mem_server(root, f, 8, 0, 9, 0);
        const alx_refresh_event_t *e;
        char from[16], to[16];
        req_t *q;

        for (i = 0; i < lengths[n]; i++) {
            snprintf(from, sizeof(from), "c%d", i);
            snprintf(to, sizeof(to), "c%d", i + 1);
            linked(s, from, to, 3600);
            f->clock += 30 * SEC;
        }
        q = request(s, "c0");
        before(q);
        e = event_of(&q->out.events, ALX_REFRESH_EV_REPLAYED);
        ok(q->out.step == ALX_REFRESH_STEP_ANSWER
           && has(q, apr_psprintf(q->pool, "\"refresh_token\":\"%s\"", to))
           && e && e->c == lengths[n] - 1,
           "a chain of %d: answered with the newest token, %d hops",
           lengths[n], lengths[n] - 1);
        end(q);
        mem_fleet_free(f);
    }
}

/* An upstream that hands out an old token again makes the chain a loop:
 * the walk ends at the request's deadline. */
static void test_chain_loop(void)
{
    mem_fleet_t *f = mem_fleet(root, 0);
    mem_server_t *s = mem_server(root, f, 8, 0, 9, 0);
    req_t *q;

    linked(s, "c0", "c1", 3600);
    linked(s, "c1", "c0", 3600);
    f->clock += 10 * SEC;
    f->tick = apr_time_from_msec(1);
    f->gets = 0;
    alarm(60);   /* without the bound the walk never ends */
    q = request(s, "c0");
    before(q);
    alarm(0);
    is_int(q->out.step, ALX_REFRESH_STEP_ANSWER, "a loop still answers");
    ok(f->gets > 100 && f->gets < 6000,
       "after about budget / tick looks (%u)", f->gets);
    end(q);
    mem_fleet_free(f);
}

typedef struct {
    req_t *first;
    int done;
    void (*act)(req_t *first);
} hook_t;

static void on_sleep(void *baton)
{
    hook_t *h = baton;

    if (h->done++)
        return;
    h->act(h->first);
}

static void answer_c1(req_t *first)
{
    rotated(first, "c1", 3600);
}

static void test_claim_one_server(void)
{
    mem_fleet_t *f = mem_fleet(root, 0);
    mem_server_t *s = mem_server(root, f, 8, 0, 9, 0);
    req_t *a = request(s, "c0"), *b;
    hook_t h = {a, 0, answer_c1};
    const alx_refresh_event_t *e;

    before(a);
    is_int(a->out.step, ALX_REFRESH_STEP_UPSTREAM, "the first goes upstream");
    s->on_sleep = on_sleep;
    s->hook_baton = &h;
    b = request(s, "c0");
    before(b);
    is_int(b->out.step, ALX_REFRESH_STEP_ANSWER,
           "the duplicate waits, and does not go upstream");
    ok(has(b, "\"refresh_token\":\"c1\""), "it gets the first one's answer");
    e = event_of(&b->out.events, ALX_REFRESH_EV_HANDED);
    ok(e && e->a == 200, "handed on, with its status");
    is_str(b->out.detail, "duplicate", "verdict replayed duplicate");
    s->on_sleep = NULL;
    end(a);
    end(b);
    mem_fleet_free(f);
}

static void test_claim_two_servers(void)
{
    mem_fleet_t *f = mem_fleet(root, 0);
    mem_server_t *s1 = mem_server(root, f, 8, 1, 9, 0);
    mem_server_t *s2 = mem_server(root, f, 8, 1, 9, 0);
    req_t *a = request(s1, "c0"), *b;
    hook_t h = {a, 0, answer_c1};

    before(a);
    ok(a->out.step == ALX_REFRESH_STEP_UPSTREAM && a->rf.remote_claimed,
       "server 1 claims in the shared store too");
    s2->on_sleep = on_sleep;
    s2->hook_baton = &h;
    b = request(s2, "c0");
    before(b);
    is_int(b->out.step, ALX_REFRESH_STEP_ANSWER,
           "server 2's duplicate waits on server 1's claim");
    ok(has(b, "\"refresh_token\":\"c1\""), "and gets server 1's answer");
    end(a);
    end(b);
    mem_fleet_free(f);
}

/* Another server's write lands just after ours (the store has no atomic
 * add): the second look, after the settle, sees it. */
static void overwrite_claim(req_t *b)
{
    alx_grace_record_t rec = {0};
    unsigned char *sealed;
    unsigned int len;
    mem_server_t *s = (mem_server_t *)b->rf.store->baton;

    rec.pending = 1;
    rec.claim = 424242;
    rec.issued = s->fleet->clock;
    rec.upstream_ttl = rec.sent_ttl = -1;
    alx_grace_seal(b->pool, &b->rf.presented, &rec, &sealed, &len);
    mem_set(s->fleet, b->rf.presented.claim_id, sealed, len,
            s->fleet->clock + 60 * SEC);
}

static void test_two_servers_race(void)
{
    mem_fleet_t *f = mem_fleet(root, 0);
    mem_server_t *s = mem_server(root, f, 8, 1, 9, 0);
    req_t *b = request(s, "c0");
    hook_t h = {b, 0, overwrite_claim};

    s->on_sleep = on_sleep;
    s->hook_baton = &h;
    before(b);
    ok(b->out.step == ALX_REFRESH_STEP_ANSWER && b->out.status == 503
       && b->out.verdict == ALX_VERDICT_IN_FLIGHT_TIMEOUT,
       "the later write wins: this one waits (503 at its deadline), never "
       "upstream");
    ok(event_of(&b->out.events, ALX_REFRESH_EV_WAIT_TIMEOUT) != NULL,
       "the wait timeout event");
    ok(b->out.described && b->out.ttl == ALX_TTL_ABSENT,
       "the 503 is described for the log as it is made");
    is_str(b->out.shape, "json{error:str(23),error_description:str(52)}",
           "its shape");
    end(b);
    mem_fleet_free(f);
}

static void test_dead_holder(void)
{
    mem_fleet_t *f = mem_fleet(root, 0);
    mem_server_t *s1 = mem_server(root, f, 8, 0, 3, 0);
    mem_server_t *s2 = mem_server(root,
                                  f, 8, 0, 5, 0);
    req_t *a = request(s1, "c0"), *b, *c;

    /* one machine: the second server shares the first one's table */
    s2->flight = s1->flight;
    before(a);
    f->clock += 40 * SEC;   /* past the claim's 31 s */
    b = request(s2, "c0");
    before(b);
    is_int(b->out.status, 503, "a holder alive past its claim's time keeps it");
    f->dead[3] = 1;
    f->clock += 40 * SEC;   /* past the claim renewed while it ran */
    c = request(s2, "c0");
    before(c);
    ok(c->out.step == ALX_REFRESH_STEP_UPSTREAM && c->rf.claimed,
       "a dead holder's expired claim is taken over");
    end(b);
    end(c);
    end(a);
    mem_fleet_free(f);
}

static void test_refusal(void)
{
    mem_fleet_t *f = mem_fleet(root, 0);
    mem_server_t *s = mem_server(root, f, 8, 0, 9, 0);
    req_t *a = request(s, "c0"), *b, *c;
    hook_t h = {a, 0, unread};

    before(a);
    s->on_sleep = on_sleep;
    s->hook_baton = &h;
    b = request(s, "c0");
    before(b);
    ok(b->out.status == 503 && b->out.verdict == ALX_VERDICT_UNRECORDABLE
       && b->out.retry_after == 31,
       "a waiter on an unread answer: 503, Retry-After 31 (%d)",
       (int)b->out.retry_after);
    ok(event_of(&b->out.events, ALX_REFRESH_EV_REFUSED) != NULL,
       "the refusal event");
    s->on_sleep = NULL;
    f->clock += 5 * SEC;
    c = request(s, "c0");
    before(c);
    /* the table does not say how much of the refusal is left: a refused
     * request is told the whole of it */
    ok(c->out.status == 503 && c->out.retry_after == 31,
       "5 s later too, Retry-After 31 (%d)", (int)c->out.retry_after);
    f->clock += 30 * SEC;
    end(c);
    c = request(s, "c0");
    before(c);
    is_int(c->out.step, ALX_REFRESH_STEP_UPSTREAM, "after 30 s: upstream");
    end(a);
    end(b);
    end(c);
    mem_fleet_free(f);
}

static void test_chained(void)
{
    mem_fleet_t *f = mem_fleet(root, 0);
    mem_server_t *s = mem_server(root, f, 8, 0, 9, 0);
    req_t *q;

    linked(s, "c0", "c1", 60);
    f->clock += 120 * SEC;   /* c1's access token has expired */
    q = request(s, "c0");
    before(q);
    ok(q->out.step == ALX_REFRESH_STEP_UPSTREAM && q->rf.chained,
       "refreshing with the successor");
    is_str(q->out.body, "grant_type=refresh_token&refresh_token=c1"
           "&client_id=alexa-skill", "the form, with the successor");
    is_str(q->rf.sent_token, "c1", "the token sent upstream");
    ok(event_of(&q->out.events, ALX_REFRESH_EV_CHAINED) != NULL,
       "the chained event");
    rotated(q, "c2", 3600);
    end(q);
    q = request(s, "c0");
    before(q);
    ok(q->out.step == ALX_REFRESH_STEP_ANSWER
       && has(q, "\"refresh_token\":\"c2\""),
       "then c0 is answered with c2, the chain's newest");
    end(q);
    mem_fleet_free(f);
}

static void test_report(void)
{
    mem_fleet_t *f = mem_fleet(root, 0);
    mem_server_t *s = mem_server(root, f, 8, 0, 9, 0);
    req_t *q;

    linked(s, "c0", "c1", 3600);
    q = request(s, "c0");
    q->rf.report = 1;
    before(q);
    ok(q->out.step == ALX_REFRESH_STEP_UPSTREAM && !q->rf.claimed,
       "report mode: upstream, nothing claimed");
    ok(event_of(&q->out.events, ALX_REFRESH_EV_WOULD_REPLAY) != NULL,
       "says enforce mode would replay");
    end(q);
    mem_fleet_free(f);
}

static void test_outage_full_large(void)
{
    mem_fleet_t *f = mem_fleet(root, 0);
    mem_server_t *s = mem_server(root, f, 1, 0, 9, 0);
    req_t *a, *b;
    char *big;

    f->fail = 1;
    a = request(s, "c0");
    before(a);
    is_int(a->out.step, ALX_REFRESH_STEP_UPSTREAM, "an outage: upstream");
    rotated(a, "c1", 3600);
    ok(!a->rf.recorded, "nothing recorded");
    end(a);
    f->fail = 0;

    a = request(s, "c0");
    before(a);
    b = request(s, "d0");
    before(b);
    ok(b->out.step == ALX_REFRESH_STEP_UPSTREAM && !b->rf.claimed
       && event_of(&b->out.events, ALX_REFRESH_EV_TABLE_FULL),
       "a full table: upstream without a claim, and said");
    end(a);
    end(b);

    a = request(s, "c0");
    before(a);
    big = apr_palloc(a->pool, 70001);
    memset(big, 'x', 70000);
    big[70000] = 0;
    {
        alx_refresh_answer_t ans = {200, NULL, big, 70000, big, 70000, 1, 1};

        alx_refresh_after(&a->rf, &ans, &a->after_events);
    }
    ok(!a->rf.recorded
       && event_of(&a->after_events, ALX_REFRESH_EV_TOO_LARGE),
       "a record too large for the store: not kept, and said");
    end(a);
    mem_fleet_free(f);
}

static void test_idle_request(void)
{
    alx_refresh_t rf;

    memset(&rf, 0, sizeof(rf));
    alx_refresh_extend(&rf);
    alx_refresh_release(&rf);
    ok(1, "extend and release of a request that never started touch "
       "nothing");
}

int main(void)
{
    alx_crypto_t *c;

    apr_initialize();
    apr_pool_create(&root, NULL);
    alx_crypto_create(root, &c);
    crypto = c;
    test_first_and_duplicate();
    test_replay_cap();
    test_replay_cap_interleaved();
    test_replay_cap_threads();
    test_chains();
    test_chain_loop();
    test_claim_one_server();
    test_claim_two_servers();
    test_two_servers_race();
    test_dead_holder();
    test_refusal();
    test_chained();
    test_report();
    test_outage_full_large();
    test_idle_request();
    apr_pool_destroy(root);
    apr_terminate();
    return tap_done();
}

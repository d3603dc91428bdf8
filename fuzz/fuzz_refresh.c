/* libFuzzer target for lib/alx_refresh.c over the in-memory store: the
 * input is a script of token requests on two servers sharing a store,
 * their answers (rotated, plain, passed through unread), ends, a clock that
 * moves, holders that die and store outages. Invariants: no out-of-bounds
 * access or leak (ASan), every answer of our own has a body and a status
 * the protocol makes (200 or 503), a 503 of a refusal says Retry-After,
 * and no two open requests of one server are upstream with one token
 * while the first one's claim is young. */
#include <string.h>

#include <apr_strings.h>

#include "alx_form.h"
#include "alx_refresh.h"
#include "fuzz.h"
#include "../t/unit/memstore.h"

#define OPEN 4
#define SEC APR_USEC_PER_SEC

static const alx_crypto_t *crypto;
static apr_pool_t *crypto_pool;

/* OpenSSL's fetched objects are freed with their pool, before LeakSanitizer
 * looks at exit. */
static void crypto_done(void)
{
    apr_pool_destroy(crypto_pool);
}

static apr_interval_time_t life_31s(void *baton)
{
    (void)baton;
    return apr_time_from_sec(31);
}

typedef struct {
    apr_pool_t *pool;
    alx_refresh_t rf;
    alx_refresh_outcome_t out;
    apr_time_t claimed_at;
    int upstream;               /* went upstream holding a claim */
} open_t;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    alx_crypto_t *c;

    (void)argc;
    (void)argv;
    fuzz_start();
    apr_pool_create(&crypto_pool, fuzz_root);
    if (alx_crypto_create(crypto_pool, &c) != APR_SUCCESS)
        abort();
    crypto = c;
    atexit(crypto_done);
    return 0;
}

static const char *token_name(apr_pool_t *p, unsigned int n)
{
    return apr_psprintf(p, "tok%u", n % 6);
}

static void start(open_t *o, mem_server_t *s, const char *token,
                  unsigned int flags)
{
    const char *body = apr_pstrcat(o->pool, "grant_type=refresh_token"
                                   "&refresh_token=", token, NULL);
    apr_array_header_t *form;
    const char *err;

    alx_form_parse(o->pool, body, strlen(body), &form, &err);
    memset(&o->rf, 0, sizeof(o->rf));
    o->rf.pool = o->pool;
    o->rf.store = &s->ops;
    o->rf.crypto = crypto;
    o->rf.client_id = "alexa";
    o->rf.client_secret = "secret";
    o->rf.refresh_token = token;
    o->rf.form = form;
    o->rf.window = apr_time_from_sec(600);
    o->rf.max_replays = 2;
    o->rf.budget = apr_time_from_msec(200);
    o->rf.deadline = s->fleet->clock + o->rf.budget;
    o->rf.claim_life = life_31s;
    o->rf.report = (flags & 7) == 7;
}

static void check_outcome(const open_t *o)
{
    const alx_refresh_outcome_t *out = &o->out;

    check(out->events.count <= ALX_REFRESH_EVENTS_MAX);
    if (out->step != ALX_REFRESH_STEP_ANSWER)
        return;
    check(out->answer != NULL);
    check(out->status == 200 || out->status == 503);
    check(out->verdict != ALX_VERDICT_UNRECORDABLE || out->retry_after >= 1);
}

/* Single flight: a second request upstream with the token of an open one
 * whose claim is young (and whose holder runs) is a finding. */
static void check_single(open_t *open, int i, apr_time_t now)
{
    int j;

    for (j = 0; j < OPEN; j++)
        if (j != i && open[j].pool && open[j].upstream
            && open[j].rf.store == open[i].rf.store
            && now - open[j].claimed_at < apr_time_from_sec(20)
            && !strcmp(open[j].rf.sent_token, open[i].rf.sent_token))
            check(!"two requests upstream with one token");
}

static void answer(open_t *o, unsigned int how, unsigned int next)
{
    const char *tok = token_name(o->pool, next);
    const char *body = apr_psprintf(o->pool, "{\"access_token\":\"a\","
                                    "\"expires_in\":%u,\"refresh_token\":"
                                    "\"%s\"}", 30 + how * 40, tok);
    alx_refresh_answer_t a = {200, NULL, body, strlen(body), NULL, 0,
                              30 + how * 40, 30 + how * 40};
    alx_refresh_events_t ev = {{{0}}, 0};

    if (how % 3 == 0) {
        a.record_body = body;
        a.record_len = a.len;
    }
    else if (how % 3 == 1) {
        a.body = NULL;
        a.len = 0;
    }
    alx_refresh_after(&o->rf, &a, &ev);
    check(ev.count <= ALX_REFRESH_EVENTS_MAX);
    o->upstream = 0;
}

static void finish(open_t *o)
{
    if (!o->pool)
        return;
    apr_pool_destroy(o->pool);
    o->pool = NULL;
    o->upstream = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    mem_fleet_t *f;
    mem_server_t *s[2];
    open_t open[OPEN];
    size_t i;
    int k;

    apr_pool_create(&p, fuzz_root);
    f = mem_fleet(p, 0);
    f->tick = apr_time_from_msec(1);   /* a looping chain ends at the deadline */
    s[0] = mem_server(p, f, 4, 1, 1, 0);
    s[1] = mem_server(p, f, 4, 1, 2, 0);
    memset(open, 0, sizeof(open));
    for (i = 0; i + 2 < size; i += 3) {
        unsigned int op = data[i] % 6, a = data[i + 1], b = data[i + 2];
        open_t *o = &open[a % OPEN];

        switch (op) {
        case 0:   /* a token request */
            finish(o);
            apr_pool_create(&o->pool, p);
            start(o, s[b & 1], token_name(o->pool, a >> 2), b >> 1);
            alx_refresh_before(&o->rf, &o->out);
            check_outcome(o);
            if (o->out.step == ALX_REFRESH_STEP_UPSTREAM && o->rf.claimed) {
                o->upstream = 1;
                o->claimed_at = f->clock;
                check_single(open, (int)(a % OPEN), f->clock);
            }
            break;
        case 1:   /* its answer */
            if (o->pool && o->rf.active)
                answer(o, b, a >> 2);
            break;
        case 2:
            finish(o);
            break;
        case 3:   /* time goes on */
            f->clock += (apr_time_t)b * SEC / 4;
            break;
        case 4:   /* a holder dies, or an outage starts or ends */
            if (b & 1)
                f->dead[a & 7] = 1;
            else
                f->fail = (b >> 1) & 1;
            break;
        case 5:
            if (o->pool)
                alx_refresh_extend(&o->rf);
            break;
        }
    }
    for (k = 0; k < OPEN; k++)
        finish(&open[k]);
    mem_fleet_free(f);
    apr_pool_destroy(p);
    return 0;
}

/* Unit tests for the flows of one browser (lib/alx_flowrec.c). */
#include <stdlib.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "alx_flowrec.h"
#include "tap.h"

#define LIFE apr_time_from_sec(600)
#define T0 APR_INT64_C(1764590000123456)

static apr_pool_t *pool;
static alx_crypto_t *crypto;

static void bail_out(const char *why)
{
    printf("Bail out! %s\n", why);
    exit(1);
}

static alx_flow_t flow(apr_time_t started, const char *rt, const char *client,
                       const char *state)
{
    alx_flow_t f;

    if (alx_flowrec_flow(pool, crypto, started, rt, client, state, &f)
        != APR_SUCCESS)
        bail_out("a flow cannot be made");
    return f;
}

static apr_array_header_t *states(const char *a, const char *b)
{
    apr_array_header_t *s = apr_array_make(pool, 2, sizeof(const char *));

    if (a)
        APR_ARRAY_PUSH(s, const char *) = a;
    if (b)
        APR_ARRAY_PUSH(s, const char *) = b;
    return s;
}

static int holds(const char *s, apr_size_t len, const char *needle)
{
    apr_size_t n = strlen(needle), i;

    for (i = 0; i + n <= len; i++)
        if (!memcmp(s + i, needle, n))
            return 1;
    return 0;
}

static void test_round_trip(void)
{
    alx_flowrec_t rec = {0}, back;
    const char *state = "a+b%2F c=&#\nstate", *client = "alexa-skill-ID";
    apr_size_t len = 0;
    char *s;

    {
        alx_flow_t f = flow(T0, "token", client, state);

        ok(f.implicit && f.has_state && f.client, "a flow: implicit, "
           "state hashed, client sealed");
        alx_flowrec_add(&rec, &f, LIFE);
    }
    s = alx_flowrec_encode(pool, &rec, &len);
    ok(s != NULL, "a record encodes");
    is_int(len, strlen(s), "its length is reported");
    ok(!holds(s, len, "a+b") && !holds(s, len, "state")
       && !holds(s, len, client) && !holds(s, len, "alexa"),
       "neither the state nor the client id in it");
    is_int(alx_flowrec_decode(pool, s, len, &back), APR_SUCCESS, "decodes");
    is_int(back.n, 1, "one flow");
    ok(back.flows[0].started == T0 && back.flows[0].implicit
       && back.flows[0].has_state, "its fields survive");
    ok(!memcmp(back.flows[0].state_hash, rec.flows[0].state_hash,
               ALX_FLOWREC_HASH_LEN), "the hash survives");
    is_str(alx_flowrec_client_id(pool, crypto, &back.flows[0],
                                 states("other", state)), client,
           "the client id opens with the state");
    ok(alx_flowrec_client_id(pool, crypto, &back.flows[0], states("other",
                                                                  NULL))
       == NULL, "and with no other");
    {
        unsigned char *copy = apr_pmemdup(pool, back.flows[0].client,
                                          back.flows[0].client_len);

        copy[back.flows[0].client_len - 1] ^= 1;
        back.flows[0].client = copy;
        ok(alx_flowrec_client_id(pool, crypto, &back.flows[0],
                                 states(state, NULL)) == NULL,
           "a flipped bit opens nothing");
    }

    {
        alx_flow_t f = flow(T0, "code", "c", NULL);

        ok(!f.implicit && !f.has_state && !f.client,
           "without state: nothing hashed, nothing sealed");
        rec.n = 0;
        alx_flowrec_add(&rec, &f, LIFE);
        s = alx_flowrec_encode(pool, &rec, &len);
        is_str(s, "F2\n1764590000123456 c - -", "its encoding");
    }
    ok(flow(T0, "id_token token", NULL, "s").implicit, "token among others");
    ok(!flow(T0, "tokens", NULL, "s").implicit, "not a word: not token");
    ok(!flow(T0, "token", NULL, "s").client, "no client id, none sealed");
}

static void test_add(void)
{
    alx_flowrec_t rec = {0};
    apr_size_t len;
    char *s;

    alx_flowrec_add(&rec, (alx_flow_t[]){flow(T0, "code", "c", "A")}, LIFE);
    alx_flowrec_add(&rec, (alx_flow_t[]){flow(T0 + 1, "code", "c", "B")}, LIFE);
    is_int(rec.n, 2, "two states, two flows");
    alx_flowrec_add(&rec, (alx_flow_t[]){flow(T0 + 2, "token", "c", "A")},
                    LIFE);
    is_int(rec.n, 2, "the same state again replaces its flow");
    ok(rec.flows[1].implicit && rec.flows[1].started == T0 + 2,
       "as the newest");
    alx_flowrec_add(&rec, (alx_flow_t[]){flow(T0 + 3, "code", "c", "C")}, LIFE);
    alx_flowrec_add(&rec, (alx_flow_t[]){flow(T0 + 4, "code", "c", "D")}, LIFE);
    is_int(rec.n, ALX_FLOWREC_FLOWS, "full");
    ok(rec.flows[0].started == T0 + 2, "the oldest went");
    alx_flowrec_add(&rec, (alx_flow_t[]){flow(T0 + LIFE + 3, "code", "c",
                                              "E")}, LIFE);
    is_int(rec.n, 2, "flows past their lifetime go");
    alx_flowrec_add(&rec, (alx_flow_t[]){flow(T0 + LIFE + 5, "code", "c",
                                              NULL)}, LIFE);
    alx_flowrec_add(&rec, (alx_flow_t[]){flow(T0 + LIFE + 6, "code", "c",
                                              NULL)}, LIFE);
    is_int(rec.n, 2, "a flow without state replaces one without");
    ok(!rec.flows[1].has_state && rec.flows[1].started == T0 + LIFE + 6,
       "the newest without state kept");

    /* long client ids: the oldest flows are left out to fit dbm */
    {
        char *id = apr_palloc(pool, ALX_FLOWREC_CLIENT_MAX + 2);
        alx_flowrec_t back;

        memset(id, 'x', ALX_FLOWREC_CLIENT_MAX);
        id[ALX_FLOWREC_CLIENT_MAX] = '\0';
        rec.n = 0;
        alx_flowrec_add(&rec, (alx_flow_t[]){flow(T0, "code", id, "A")}, LIFE);
        alx_flowrec_add(&rec, (alx_flow_t[]){flow(T0 + 1, "code", id, "B")},
                        LIFE);
        alx_flowrec_add(&rec, (alx_flow_t[]){flow(T0 + 2, "code", id, "C")},
                        LIFE);
        s = alx_flowrec_encode(pool, &rec, &len);
        ok(s && len <= ALX_FLOWREC_FIT, "fits: %d bytes", (int)len);
        alx_flowrec_decode(pool, s, len, &back);
        ok(back.n == 1 && back.flows[0].started == T0 + 2,
           "the newest kept");
        id[ALX_FLOWREC_CLIENT_MAX] = 'x';
        id[ALX_FLOWREC_CLIENT_MAX + 1] = '\0';
        ok(!flow(T0, "code", id, "A").client, "a longer client id: not kept");
    }
}

static void test_judge(void)
{
    alx_flowrec_t rec = {0};
    int match, live;
    apr_time_t now = T0 + apr_time_from_sec(60);

    is_int(alx_flowrec_judge(crypto, &rec, now, LIFE, states("A", NULL),
                             &match, &live), ALX_STATE_NOT_EXPECTED,
           "no flow: not expected");
    alx_flowrec_add(&rec, (alx_flow_t[]){flow(T0, "code", "c1", "A")}, LIFE);
    is_int(alx_flowrec_judge(crypto, &rec, now, LIFE, states("A", NULL),
                             &match, &live), ALX_STATE_KEPT, "one flow: kept");
    ok(match == 0 && live == 1, "matched the one");
    is_int(alx_flowrec_judge(crypto, &rec, now, LIFE, states("X", NULL),
                             &match, &live), ALX_STATE_CHANGED,
           "one flow: changed");
    is_int(match, 0, "changed: the one flow");
    is_int(alx_flowrec_judge(crypto, &rec, now, LIFE, states(NULL, NULL),
                             &match, &live), ALX_STATE_DROPPED,
           "one flow: dropped");
    is_int(alx_flowrec_judge(crypto, &rec, now, LIFE, states("A", "X"),
                             &match, &live), ALX_STATE_CHANGED,
           "one flow, its state and another: changed");
    is_int(alx_flowrec_judge(crypto, &rec, T0 + LIFE, LIFE, states("X", NULL),
                             &match, &live), ALX_STATE_NOT_EXPECTED,
           "past its lifetime: not expected");

    /* a second customer behind the same address, same app */
    alx_flowrec_add(&rec, (alx_flow_t[]){flow(T0 + 1, "code", "c2", "B")},
                    LIFE);
    is_int(alx_flowrec_judge(crypto, &rec, now, LIFE, states("A", NULL),
                             &match, &live), ALX_STATE_KEPT,
           "two flows: the first's state kept");
    ok(match == 0 && live == 2, "the first matched");
    is_str(alx_flowrec_client_id(pool, crypto, &rec.flows[match],
                                 states("A", NULL)), "c1", "its client id");
    is_int(alx_flowrec_judge(crypto, &rec, now, LIFE, states("B", NULL),
                             &match, &live), ALX_STATE_KEPT,
           "two flows: the second's kept");
    is_int(match, 1, "the second matched");
    is_int(alx_flowrec_judge(crypto, &rec, now, LIFE, states("X", NULL),
                             &match, &live), ALX_STATE_AMBIGUOUS,
           "two flows, neither state: ambiguous");
    is_int(match, -1, "ambiguous: no flow");
    is_int(alx_flowrec_judge(crypto, &rec, now, LIFE, states(NULL, NULL),
                             &match, &live), ALX_STATE_DROPPED,
           "two flows with state, none back: dropped");
    alx_flowrec_add(&rec, (alx_flow_t[]){flow(T0 + 2, "token", "c3", NULL)},
                    LIFE);
    is_int(alx_flowrec_judge(crypto, &rec, now, LIFE, states(NULL, NULL),
                             &match, &live), ALX_STATE_AMBIGUOUS,
           "one flow without state among them: ambiguous");
    ok(alx_flowrec_implicit(&rec, now, LIFE), "an implicit flow among them");
    ok(!alx_flowrec_implicit(&rec, T0 + LIFE + 3, LIFE), "none live");

    rec.n = 0;
    alx_flowrec_add(&rec, (alx_flow_t[]){flow(T0, "code", "c", NULL)}, LIFE);
    is_int(alx_flowrec_judge(crypto, &rec, now, LIFE, states("A", NULL),
                             &match, &live), ALX_STATE_NOT_EXPECTED,
           "the one flow had no state: not expected");
}

static void test_bad_input(void)
{
    static const char *bad[] = {
        "", "F", "F1", "F2\n", "F2\n1 c - ", "F2\n1 x - -", "F2\nx c - -",
        "F2\n1 c 00 -", "F2\n1 c - 00",
        "F2\n1 c 0123456789ABCDEF0123456789abcdef -",
        "F2\n1 c 0123456789abcdef0123456789abcdef 0g",
        "F2\n1 c 0123456789abcdef0123456789abcdef 012",
        "F2\n1 c - -\n", "F2\n99999999999999999999 c - -",
        "F2\n1 c - -\n2 c - -\n3 c - -\n4 c - -", "F2 1 c - -", NULL
    };
    alx_flowrec_t g;
    int i;

    for (i = 0; bad[i]; i++)
        is_int(alx_flowrec_decode(pool, bad[i], strlen(bad[i]), &g), APR_EINVAL,
               "bad record %d refused", i);
    is_int(alx_flowrec_decode(pool, "F2", 2, &g), APR_SUCCESS,
           "no flow decodes");
    is_int(alx_flowrec_decode(pool, "F2\n1 t 0123456789abcdef0123456789abcdef"
                              " 00", 42, &g), APR_SUCCESS,
           "the smallest sealed flow decodes");
    is_int(alx_flowrec_client_id(pool, crypto, &g.flows[0],
                                 states("A", NULL)) == NULL, 1,
           "and opens with nothing");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    if (alx_crypto_create(pool, &crypto) != APR_SUCCESS)
        bail_out("no crypto");
    test_round_trip();
    test_add();
    test_judge();
    test_bad_input();
    apr_pool_destroy(pool);
    apr_terminate();
    return tap_done();
}

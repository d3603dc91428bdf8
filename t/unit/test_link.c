/* lib/alx_link.c over the in-memory link store (linkstore.h) and its
 * clock: keys and ids, the record codec and its rejections, sealing and
 * key ids, nothing secret in the store, due times, two servers claiming
 * one link, a rotation chain against an upstream with reuse detection,
 * invalid_grant, backoff, idle end. */
#include <apr_base64.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "alx_basic.h"
#include "alx_form.h"
#include "alx_link.h"
#include "linkstore.h"
#include "tap.h"

#define SEC APR_USEC_PER_SEC
#define HOUR (3600 * SEC)
#define DAY (24 * HOUR)
#define T0 ((apr_time_t)1704067200 * SEC)

#define CLIENT "alexa-skill-CLIENTID"
#define SECRET "s3cret-of-THE-skill"
#define URL "https://idp.example/token"
#define RT0 "RT-0-presented-by-alexa"

static apr_pool_t *root;
static alx_crypto_t *crypto;
static alx_link_key_t key_a, key_b;

static const unsigned char material_a[32] = "0123456789abcdef0123456789abcdef";
static const unsigned char material_b[40] = "another key file, forty bytes long......";

/* The fake upstream: rotates, and revokes on reuse. */

typedef struct upstream {
    int next;
    const char *used[32];
    int nused;
    int reused;
    int status;                  /* forced status, 0: behave */
} upstream_t;

typedef struct {
    apr_pool_t *pool;
    ls_fleet_t fleet;
    ls_server_t one, two;
    alx_link_key_t keys[2];
    alx_link_ctx_t ctx, ctx_two;
    upstream_t *up;              /* the fake upstream */
    alx_link_ka_t ka;            /* the last keep-alive round */
    alx_link_presented_t pr;     /* the last presentation */
    alx_link_seen_t in;
} world_t;

static world_t *world(void)
{
    world_t *w = calloc(1, sizeof(*w));

    apr_pool_create(&w->pool, root);
    w->up = apr_pcalloc(w->pool, sizeof(*w->up));
    w->fleet.clock = T0;
    ls_server_init(&w->one, &w->fleet, "server-one");
    ls_server_init(&w->two, &w->fleet, "server-two");
    w->keys[0] = key_a;
    w->keys[1] = key_b;
    w->ctx.pool = w->ctx_two.pool = w->pool;
    w->ctx.store = &w->one.ops;
    w->ctx_two.store = &w->two.ops;
    w->ctx.keys = w->ctx_two.keys = w->keys;
    w->ctx.nkeys = w->ctx_two.nkeys = 1;
    w->ctx.lease = w->ctx_two.lease = 30 * SEC;
    return w;
}

static void world_end(world_t *w)
{
    ls_fleet_free(&w->fleet);
    apr_pool_destroy(w->pool);
    free(w);
}

static alx_link_seen_t seen_in(const char *presented, const char *alexa,
                               apr_int64_t ttl, int refreshed)
{
    alx_link_seen_t in = {
        .client_id = CLIENT, .client_secret = SECRET,
        .auth = ALX_LINK_AUTH_BODY, .token_url = URL,
        .interval = DAY, .keep_for = 30 * DAY,
        .presented = presented, .alexa_token = alexa,
        .ttl = ttl, .refreshed = refreshed
    };

    return in;
}

/* A code exchange gave Alexa RT0 and an access token of ttl seconds. */
static apr_status_t linked(world_t *w, apr_int64_t ttl)
{
    alx_link_seen_t in = seen_in(NULL, RT0, ttl, 1);

    return alx_link_seen(&w->ctx, NULL, &in);
}

static int contains(const unsigned char *hay, apr_size_t n, const char *s)
{
    apr_size_t k = strlen(s), i;

    for (i = 0; k <= n && i + k <= n; i++)
        if (memcmp(hay + i, s, k) == 0)
            return 1;
    return 0;
}

static alx_link_t sample(void)
{
    alx_link_t l = {
        .state = ALX_LINK_LIVE, .auth = ALX_LINK_AUTH_BASIC,
        .client_id = CLIENT, .client_secret = SECRET, .token_url = URL,
        .refresh_token = "RT-newest",
        .answer = "{\"access_token\":\"AT\",\"expires_in\":3600}",
        .answer_ttl = 3600,
        .created = T0 - DAY, .alexa_used = T0, .refreshed = T0 + 5,
        .alexa_expires = T0 + HOUR, .backoff_until = -7,
        .failures = 0xfffffffeU, .interval = DAY, .keep_for = 180 * DAY
    };

    l.answer_len = strlen(l.answer);
    return l;
}

static int same_link(const alx_link_t *a, const alx_link_t *b)
{
#define SAME_STR(f) ((!a->f && !b->f) || (a->f && b->f && !strcmp(a->f, b->f)))
    return a->state == b->state && a->auth == b->auth && SAME_STR(client_id)
           && SAME_STR(client_secret) && SAME_STR(token_url)
           && SAME_STR(refresh_token) && SAME_STR(answer)
           && a->answer_len == b->answer_len && a->answer_ttl == b->answer_ttl
           && a->created == b->created && a->alexa_used == b->alexa_used
           && a->refreshed == b->refreshed
           && a->alexa_expires == b->alexa_expires
           && a->backoff_until == b->backoff_until
           && a->failures == b->failures && a->interval == b->interval
           && a->keep_for == b->keep_for;
#undef SAME_STR
}

/* ---- keys, ids, codec, seal ---- */

static void test_keys(void)
{
    alx_link_key_t k, again;
    unsigned char id1[ALX_LINK_ID_LEN], id2[ALX_LINK_ID_LEN];

    is_int(alx_link_key_init(crypto, material_a, 31, &k), APR_EINVAL,
           "a key file under 32 bytes is refused");
    is_int(alx_link_key_init(crypto, NULL, 32, &k), APR_EINVAL,
           "no key file is refused");
    alx_link_key_init(crypto, material_a, 32, &again);
    ok(again.id == key_a.id && !memcmp(again.seal, key_a.seal, 32),
       "the same key file gives the same key and key id");
    ok(memcmp(key_a.seal, key_b.seal, 32) && memcmp(key_a.mac, key_b.mac, 32),
       "another key file gives other keys");
    ok(memcmp(key_a.seal, key_a.mac, 32) && memcmp(key_a.seal, material_a, 32),
       "the sealing key is neither the MAC key nor the file's bytes");
    alx_link_lookup(&key_a, "ab", "c", id1);
    alx_link_lookup(&key_a, "a", "bc", id2);
    ok(memcmp(id1, id2, ALX_LINK_ID_LEN) != 0,
       "lookup ids are length-prefixed: (ab,c) and (a,bc) differ");
    alx_link_id(&key_a, "ab", "c", id2);
    ok(memcmp(id1, id2, ALX_LINK_ID_LEN) != 0,
       "a link id is not the lookup id of the same token");
    alx_link_lookup(&key_b, "ab", "c", id2);
    ok(memcmp(id1, id2, ALX_LINK_ID_LEN) != 0,
       "lookup ids depend on the key");
}

static void test_codec(apr_pool_t *p)
{
    alx_link_t l = sample(), back;
    unsigned char *enc, *bad;
    apr_size_t len, i, n;
    int all_refused = 1;

    ok(alx_link_encode(p, &l, &enc, &len) == APR_SUCCESS
       && alx_link_decode(p, enc, len, &back) == APR_SUCCESS
       && same_link(&l, &back), "a full record decodes to what was encoded");
    l.client_secret = NULL;
    l.answer = NULL;
    l.answer_len = 0;
    l.answer_ttl = -1;
    ok(alx_link_encode(p, &l, &enc, &len) == APR_SUCCESS
       && alx_link_decode(p, enc, len, &back) == APR_SUCCESS
       && same_link(&l, &back) && !back.client_secret && !back.answer,
       "a public client without a pending answer round-trips, NULLs kept");
    l.state = ALX_LINK_ENDED_UPSTREAM;
    l.refresh_token = NULL;
    ok(alx_link_encode(p, &l, &enc, &len) == APR_SUCCESS
       && alx_link_decode(p, enc, len, &back) == APR_SUCCESS
       && same_link(&l, &back), "an ended-upstream record round-trips");

    l = sample();
    alx_link_encode(p, &l, &enc, &len);
    for (i = 0; i < len; i++)
        if (alx_link_decode(p, enc, i, &back) != APR_EINVAL || back.client_id)
            all_refused = 0;
    ok(all_refused, "every truncation of a record is refused, and cleared");
    bad = apr_pcalloc(p, len + 1);
    memcpy(bad, enc, len);
    is_int(alx_link_decode(p, bad, len + 1, &back), APR_EINVAL,
           "a trailing byte is refused");
    is_int(alx_link_decode(p, NULL, 0, &back), APR_EINVAL, "nothing");

#define REFUSED_WITH(off, val, what) do { \
        memcpy(bad, enc, len); bad[off] = (unsigned char)(val); \
        is_int(alx_link_decode(p, bad, len, &back), APR_EINVAL, what); \
    } while (0)
    REFUSED_WITH(0, ALX_LINK_ENDED_IDLE, "state ended-idle is never stored");
    REFUSED_WITH(0, 0xff, "an unknown state is refused");
    REFUSED_WITH(1, ALX_LINK_AUTH_COUNT, "an unknown auth scheme is refused");
    REFUSED_WITH(2, 0x0f, "an unknown flag is refused");
    REFUSED_WITH(2, 0x06, "a secret's bytes without its flag are refused");
    REFUSED_WITH(2, 0x05, "a live record without a refresh token is refused");
    REFUSED_WITH(0, ALX_LINK_ENDED_UPSTREAM,
                 "an ended record with a refresh token is refused");
    /* interval is the sixth time: 3 + 5 * 8 .. */
    n = 3 + 5 * 8;
    memcpy(bad, enc, len);
    memset(bad + n, 0, 8);
    is_int(alx_link_decode(p, bad, len, &back), APR_EINVAL,
           "an interval of 0 is refused");
    memcpy(bad, enc, len);
    memset(bad + n + 8, 0xff, 8);
    is_int(alx_link_decode(p, bad, len, &back), APR_EINVAL,
           "a negative keep-for is refused");
    memcpy(bad, enc, len);
    memset(bad + n + 16, 0xff, 7);
    bad[n + 16 + 7] = 0xfe;
    is_int(alx_link_decode(p, bad, len, &back), APR_EINVAL,
           "an answer TTL under -1 is refused");
    /* client id: its length at PLAIN_FIXED (3 + 64 + 4) */
    n = 3 + 64 + 4;
    memcpy(bad, enc, len);
    bad[n + 4 + 3] = '\0';
    is_int(alx_link_decode(p, bad, len, &back), APR_EINVAL,
           "a NUL inside a string is refused");
    memcpy(bad, enc, len);
    bad[n] = 0x80;
    is_int(alx_link_decode(p, bad, len, &back), APR_EINVAL,
           "a string longer than the record is refused");
#undef REFUSED_WITH

    l = sample();
    l.client_id = "";
    is_int(alx_link_encode(p, &l, &enc, &len), APR_EINVAL,
           "encode refuses an empty client id");
    l = sample();
    l.refresh_token = "";
    is_int(alx_link_encode(p, &l, &enc, &len), APR_EINVAL,
           "encode refuses an empty refresh token on a live link");
    l = sample();
    l.state = ALX_LINK_ENDED_IDLE;
    is_int(alx_link_encode(p, &l, &enc, &len), APR_EINVAL,
           "encode refuses ended-idle (such links are deleted)");
    l = sample();
    l.answer = "a\0b";
    l.answer_len = 3;
    is_int(alx_link_encode(p, &l, &enc, &len), APR_EINVAL,
           "encode refuses an answer with a NUL");
}

static void test_seal(apr_pool_t *p)
{
    alx_link_t l = sample(), back;
    alx_link_key_t ring[2] = {key_b, key_a}, clash;
    unsigned char id[ALX_LINK_ID_LEN], other[ALX_LINK_ID_LEN];
    unsigned char *sealed, *bad, material[32];
    unsigned int len, i;
    int all_refused = 1;

    alx_link_id(&key_a, CLIENT, RT0, id);
    alx_link_id(&key_a, CLIENT, "RT-other", other);
    ok(alx_link_seal(p, &key_a, id, &l, &sealed, &len) == APR_SUCCESS
       && sealed[0] == key_a.id && sealed[1] == ALX_LINK_SCHEMA,
       "a sealed record starts with its key id and schema, in clear");
    ok(alx_link_open(p, &key_a, 1, id, sealed, len, &back) == APR_SUCCESS
       && same_link(&l, &back), "and opens to the same record");
    ok(alx_link_open(p, ring, 2, id, sealed, len, &back) == APR_SUCCESS,
       "with the old key second in the ring");
    is_int(alx_link_open(p, &key_b, 1, id, sealed, len, &back),
           ALX_LINK_UNKNOWN_KEY, "under a key id we lack: unknown key");
    ok(!back.client_id, "and nothing is read");
    is_int(alx_link_open(p, &key_a, 1, other, sealed, len, &back), APR_EINVAL,
           "another link's id does not open it (corrupt, not unknown key)");
    bad = apr_pmemdup(p, sealed, len);
    for (i = 1; i < len; i++) {
        bad[i] ^= 0x01;
        if (alx_link_open(p, &key_a, 1, id, bad, len, &back) != APR_EINVAL)
            all_refused = 0;
        bad[i] ^= 0x01;
    }
    ok(all_refused, "a bit flipped anywhere after the key id: corrupt");
    for (i = 0; i < len; i++)
        if (alx_link_open(p, &key_a, 1, id, sealed, i, &back) == APR_SUCCESS)
            all_refused = 0;
    ok(all_refused, "every truncation is refused");
    /* A key with the same one-byte id: tried, refused as corrupt. */
    memset(material, 0, sizeof(material));
    for (i = 0; i < 4096; i++) {
        material[0] = (unsigned char)i;
        material[1] = (unsigned char)(i >> 8);
        alx_link_key_init(crypto, material, 32, &clash);
        if (clash.id == key_a.id)
            break;
    }
    is_int(alx_link_open(p, &clash, 1, id, sealed, len, &back), APR_EINVAL,
           "another key under the same key id: refused as corrupt");
    ring[0] = clash;
    ring[1] = key_a;
    is_int(alx_link_open(p, ring, 2, id, sealed, len, &back), APR_SUCCESS,
           "two keys share the id: each is tried");
}

/* ---- nothing secret in the store ---- */

static int dump_has(const ls_fleet_t *f, const char *s, apr_pool_t *p)
{
    const char *forms[6];
    char *b64;
    int i, j, k, n = (int)strlen(s);

    b64 = apr_palloc(p, apr_base64_encode_len(n));
    apr_base64_encode(b64, s, n);
    forms[0] = s;
    forms[1] = b64;
    forms[2] = apr_pstrndup(p, b64, strcspn(b64, "="));
    {
        char *hex = apr_palloc(p, 2 * n + 1), *HEX = apr_palloc(p, 2 * n + 1);

        for (i = 0; i < n; i++) {
            apr_snprintf(hex + 2 * i, 3, "%02x", (unsigned char)s[i]);
            apr_snprintf(HEX + 2 * i, 3, "%02X", (unsigned char)s[i]);
        }
        forms[3] = hex;
        forms[4] = HEX;
    }
    forms[5] = apr_pstrndup(p, s, 8);   /* any 8 bytes of it, raw */
    for (i = 0; i < LS_ROWS; i++) {
        const ls_row_t *r = &f->rows[i];

        if (!r->used)
            continue;
        for (k = 0; k < 6; k++) {
            if (contains(r->sealed, r->sealed_len, forms[k])
                || contains(r->id, ALX_LINK_ID_LEN, forms[k]))
                return 1;
            for (j = 0; j < r->lookups; j++)
                if (contains(r->lookup[j], ALX_LINK_ID_LEN, forms[k]))
                    return 1;
        }
    }
    return 0;
}


static int upstream_refresh(apr_pool_t *p, upstream_t *u,
                            const alx_link_request_t *rq, const char **answer)
{
    apr_array_header_t *form;
    const char *err, *token;
    int i;

    if (u->status) {
        *answer = u->status == 400 ? "{\"error\":\"invalid_grant\"}"
                                   : "<html>busy</html>";
        return u->status;
    }
    alx_form_parse(p, rq->body, rq->len, &form, &err);
    token = alx_form_get(form, "refresh_token");
    for (i = 0; i < u->nused; i++)
        if (strcmp(u->used[i], token) == 0) {
            u->reused++;
            *answer = "{\"error\":\"invalid_grant\"}";
            return 400;
        }
    u->used[u->nused++] = apr_pstrdup(root, token);
    u->next++;
    *answer = apr_psprintf(p, "{\"access_token\":\"AT-%d\",\"token_type\":"
                           "\"Bearer\",\"expires_in\":3600,"
                           "\"refresh_token\":\"RT-%d-rotated\"}",
                           u->next, u->next);
    return 200;
}

/* One keep-alive round on ctx: what it decided, the upstream asked. */
static alx_link_ka_e keepalive(world_t *w, alx_link_ctx_t *ctx,
                               upstream_t *u, alx_link_ka_t *ka)
{
    const char *answer;
    int status;

    alx_link_keepalive(ctx, ka);
    if (ka->kind != ALX_LINK_KA_REFRESH)
        return ka->kind;
    status = upstream_refresh(w->pool, u, &ka->request, &answer);
    alx_link_answered(ctx, ka, status, "application/json", answer,
                      strlen(answer));
    return ka->kind;
}

/* The next keep-alive round is kind, the link is gone and the upstream
 * was never asked; the world ends. */
static void deleted_unasked(world_t *w, alx_link_ka_e kind, const char *what)
{
    is_int(keepalive(w, &w->ctx, w->up, &w->ka), kind, "%s", what);
    is_int(ls_count(&w->fleet), 0, "%s: deleted", what);
    is_int(w->up->nused, 0, "%s: the upstream asked nothing", what);
    world_end(w);
}

static void test_nothing_secret(void)
{
    world_t *w = world();

    linked(w, 3600);
    w->fleet.clock += DAY;
    keepalive(w, &w->ctx, w->up, &w->ka);
    is_int(w->ka.kind, ALX_LINK_KA_REFRESHED, "a link kept once");
    ok(!dump_has(&w->fleet, RT0, w->pool),
       "no trace of Alexa's refresh token in the store (raw, base64, hex)");
    ok(!dump_has(&w->fleet, "RT-1-rotated", w->pool)
       && !dump_has(&w->fleet, "AT-1", w->pool),
       "nor of the newest tokens");
    ok(!dump_has(&w->fleet, SECRET, w->pool), "nor of the client secret");
    ok(!dump_has(&w->fleet, CLIENT, w->pool), "nor of the client id");
    ok(!dump_has(&w->fleet, "idp.example", w->pool), "nor of the token URL");
    world_end(w);
    {   /* the search finds what is there: a row holding a token's hex */
        ls_fleet_t f;
        unsigned char hex[] = "52542d302d70726573656e7465642d62792d616c657861";

        memset(&f, 0, sizeof(f));
        f.rows[0].used = 1;
        f.rows[0].sealed = hex;
        f.rows[0].sealed_len = sizeof(hex) - 1;
        ok(dump_has(&f, RT0, root), "(the search finds a token in hex)");
    }
}

/* ---- due times ---- */

static void test_due(void)
{
    world_t *w = world();
    alx_link_t l = sample();

    linked(w, 2 * 86400);   /* Alexa's access token lives two days */
    is_int(w->fleet.rows[0].due, T0 + 2 * DAY,
           "due when Alexa's access token dies, not a day after refresh");
    w->fleet.clock = T0 + DAY + HOUR;
    is_int(keepalive(w, &w->ctx, w->up, &w->ka), ALX_LINK_KA_NONE,
           "nothing due while Alexa's access token lives");
    w->fleet.rows[0].due = T0;   /* a stale due column */
    is_int(keepalive(w, &w->ctx, w->up, &w->ka), ALX_LINK_KA_NONE,
           "a due column that lies is not believed: the record decides");
    is_int(w->fleet.rows[0].due, T0 + 2 * DAY, "and the column is mended");
    ok(!w->fleet.rows[0].owner, "and the claim released");
    is_int(w->up->nused, 0, "the upstream was not asked");
    w->fleet.clock = T0 + 2 * DAY;
    is_int(keepalive(w, &w->ctx, w->up, &w->ka), ALX_LINK_KA_REFRESHED,
           "refreshed once it has died");
    is_int(w->ka.next_due, T0 + 3 * DAY, "next due: a day after that refresh");
    world_end(w);

    l.refreshed = T0;
    l.interval = DAY;
    l.alexa_expires = T0 + HOUR;
    l.backoff_until = 0;
    l.alexa_used = T0;
    l.keep_for = 180 * DAY;
    is_int(alx_link_due(&l), T0 + DAY, "due: refreshed + interval");
    l.alexa_expires = T0 + 2 * DAY;
    is_int(alx_link_due(&l), T0 + 2 * DAY, "never before Alexa's expiry");
    l.backoff_until = T0 + 3 * DAY;
    is_int(alx_link_due(&l), T0 + 3 * DAY, "nor before the backoff");
    l.keep_for = DAY / 2;
    is_int(alx_link_due(&l), T0 + DAY / 2, "but at the idle end at the latest");
    l.alexa_expires = APR_INT64_MAX;
    l.keep_for = APR_INT64_MAX;
    is_int(alx_link_due(&l), APR_INT64_MAX, "saturates, never wraps");
}

/* ---- two servers ---- */

static void test_two_servers(void)
{
    world_t *w = world();
    alx_link_ka_t one, two;
    const char *answer;
    int status;

    linked(w, 3600);
    w->fleet.clock += DAY;
    alx_link_keepalive(&w->ctx, &one);
    alx_link_keepalive(&w->ctx_two, &two);
    is_int(one.kind, ALX_LINK_KA_REFRESH, "server one claims the due link");
    is_int(two.kind, ALX_LINK_KA_NONE, "server two finds nothing to do");
    alx_link_present(&w->ctx_two, CLIENT, RT0, &w->pr);
    is_int(w->pr.decision, ALX_LINK_WAIT,
           "Alexa on server two waits while server one refreshes");
    w->fleet.clock += 31 * SEC;
    alx_link_keepalive(&w->ctx_two, &two);
    is_int(two.kind, ALX_LINK_KA_REFRESH, "the claim expired: server two "
           "retakes it");
    status = upstream_refresh(w->pool, w->up, &one.request, &answer);
    is_int(alx_link_answered(&w->ctx, &one, status, NULL, answer,
                             strlen(answer)), APR_EBUSY,
           "server one's late answer does not overwrite server two's claim");
    is_int(one.kind, ALX_LINK_KA_LOST, "and is reported lost");
    world_end(w);
}

/* ---- the rotation chain ---- */

static int body_has(const alx_link_request_t *rq, const char *s)
{
    return strstr(rq->body, s) != NULL;
}

static void test_chain(void)
{
    world_t *w = world();
    const char *answer;
    int status;

    w->up->used[w->up->nused++] = "RT-code";     /* what the code exchange was */
    linked(w, 3600);
    w->fleet.clock += DAY;
    alx_link_keepalive(&w->ctx, &w->ka);
    ok(body_has(&w->ka.request, "refresh_token=" RT0 "&"),
       "the first keep-alive sends Alexa's token");
    status = upstream_refresh(w->pool, w->up, &w->ka.request, &answer);
    alx_link_answered(&w->ctx, &w->ka, status, NULL, answer, strlen(answer));
    w->fleet.clock += DAY;
    alx_link_keepalive(&w->ctx, &w->ka);
    ok(body_has(&w->ka.request, "refresh_token=RT-1-rotated&")
       && !body_has(&w->ka.request, RT0),
       "the second sends the rotated one, never Alexa's again");
    status = upstream_refresh(w->pool, w->up, &w->ka.request, &answer);
    alx_link_answered(&w->ctx, &w->ka, status, NULL, answer, strlen(answer));
    is_int(w->ka.kind, ALX_LINK_KA_REFRESHED, "refreshed twice");

    w->fleet.clock += 10 * 60 * SEC;
    alx_link_present(&w->ctx, CLIENT, RT0, &w->pr);
    is_int(w->pr.decision, ALX_LINK_ANSWER,
           "Alexa's old token is answered from the record");
    is_str(w->pr.body, "{\"access_token\":\"AT-2\",\"token_type\":\"Bearer\","
           "\"expires_in\":3000,\"refresh_token\":\"RT-2-rotated\"}",
           "with the newest tokens, expires_in reduced by their age");
    w->in = seen_in(RT0, w->pr.refresh_token, w->pr.ttl, 0);
    is_int(alx_link_seen(&w->ctx, &w->pr.hold, &w->in), APR_SUCCESS,
           "Alexa's receipt is recorded");

    w->fleet.clock += HOUR;
    alx_link_present(&w->ctx, CLIENT, RT0, &w->pr);
    is_int(w->pr.decision, ALX_LINK_REFRESH,
           "presented again once that access token died: refresh instead");
    is_str(w->pr.refresh_token, "RT-2-rotated", "with the newest token");
    alx_link_release(&w->ctx, &w->pr.hold);
    alx_link_present(&w->ctx, CLIENT, "RT-2-rotated", &w->pr);
    is_int(w->pr.decision, ALX_LINK_PASS_HELD,
           "Alexa's newest token passes through, the link held");
    alx_link_release(&w->ctx, &w->pr.hold);
    alx_link_present(&w->ctx, CLIENT, "RT-1-rotated", &w->pr);
    is_int(w->pr.decision, ALX_LINK_PASS,
           "a token only the keep-alive ever held is unknown: untouched");
    alx_link_present(&w->ctx, "another-client", "RT-2-rotated", &w->pr);
    is_int(w->pr.decision, ALX_LINK_PASS, "another client finds nothing");
    is_int(w->up->reused, 0, "the upstream never saw a token twice");
    world_end(w);
}

/* Alexa refreshes through the module while the link has a step Alexa has
 * not seen and the answer is stale: the newest token goes up, the old one
 * never again. */
static void test_refresh_instead(void)
{
    world_t *w = world();
    alx_link_request_t rq;
    const char *answer;
    int status;

    linked(w, 3600);
    w->fleet.clock += DAY;
    keepalive(w, &w->ctx, w->up, &w->ka);
    w->fleet.clock += 2 * HOUR;
    alx_link_present(&w->ctx, CLIENT, RT0, &w->pr);
    is_int(w->pr.decision, ALX_LINK_REFRESH, "stale answer: refresh instead");
    rq.body = apr_pstrcat(w->pool, "grant_type=refresh_token&refresh_token=",
                          w->pr.refresh_token, NULL);
    rq.len = strlen(rq.body);
    status = upstream_refresh(w->pool, w->up, &rq, &answer);
    is_int(status, 200, "the upstream accepts the newest token");
    w->in = seen_in(RT0, "RT-2-rotated", 3600, 1);
    is_int(alx_link_seen(&w->ctx, &w->pr.hold, &w->in), APR_SUCCESS, "recorded");
    w->fleet.clock += DAY;
    keepalive(w, &w->ctx, w->up, &w->ka);
    is_int(w->ka.kind, ALX_LINK_KA_REFRESHED,
           "the next keep-alive refreshes what Alexa got");
    is_int(w->up->reused, 0, "no token reached the upstream twice");
    is_int(ls_count(&w->fleet), 1, "one link all along");
    world_end(w);
}

/* The upstream kept the refresh token but wrote an empty one: Alexa's
 * answer from the record carries the link's newest, not "". */
static void test_empty_rotation(void)
{
    world_t *w = world();
    const char *answer = "{\"access_token\":\"AT-9\",\"expires_in\":3600,"
                         "\"refresh_token\":\"\"}";

    linked(w, 3600);
    w->fleet.clock += DAY;
    alx_link_keepalive(&w->ctx, &w->ka);
    alx_link_answered(&w->ctx, &w->ka, 200, NULL, answer, strlen(answer));
    is_str(w->ka.hold.link.refresh_token, RT0, "an empty refresh token is none");
    alx_link_present(&w->ctx, CLIENT, RT0, &w->pr);
    is_str(w->pr.body, "{\"access_token\":\"AT-9\",\"expires_in\":3600,"
           "\"refresh_token\":\"" RT0 "\"}",
           "the answer from the record carries the newest refresh token");
    alx_link_release(&w->ctx, &w->pr.hold);
    world_end(w);
}

/* ---- ends and failures ---- */

static void test_invalid_grant(void)
{
    world_t *w = world();

    linked(w, 3600);
    w->fleet.clock += DAY;
    w->up->status = 400;
    is_int(keepalive(w, &w->ctx, w->up, &w->ka), ALX_LINK_KA_ENDED_UPSTREAM,
           "invalid_grant ends the link");
    is_int(w->ka.age, DAY, "its age is reported");
    ok(!w->ka.hold.link.refresh_token && !w->ka.hold.link.client_secret,
       "the ended record keeps no token and no secret");
    is_int(w->ka.next_due, T0 + 30 * DAY, "due at its idle end only");
    alx_link_present(&w->ctx, CLIENT, RT0, &w->pr);
    is_int(w->pr.decision, ALX_LINK_ENDED,
           "Alexa's token of an ended link passes through, said ended");
    ok(!w->fleet.rows[0].owner, "and the link is not left claimed");
    w->up->status = 0;
    w->fleet.clock = T0 + 29 * DAY;
    is_int(keepalive(w, &w->ctx, w->up, &w->ka), ALX_LINK_KA_NONE,
           "never refreshed again");
    w->fleet.clock = T0 + 30 * DAY;
    deleted_unasked(w, ALX_LINK_KA_DROPPED, "deleted at its idle end");
}

static void test_backoff(void)
{
    world_t *w = world();
    apr_interval_time_t want[] = {60, 120, 240, 480, 960, 1920, 3600, 3600};
    int i, steady = 1;
    const char *answer = "{\"error\":\"invalid_client\"}";

    linked(w, 3600);
    w->fleet.clock += DAY;
    w->up->status = 503;
    for (i = 0; i < 8; i++) {
        keepalive(w, &w->ctx, w->up, &w->ka);
        if (w->ka.kind != ALX_LINK_KA_BACKOFF
            || w->ka.next_due != w->fleet.clock + want[i] * SEC
            || w->ka.hold.link.failures != (apr_uint32_t)i + 1)
            steady = 0;
        w->fleet.clock = w->ka.next_due;
    }
    ok(steady, "5xx backs off 1, 2, 4 ... minutes, capped at an hour");
    alx_link_keepalive(&w->ctx, &w->ka);
    alx_link_answered(&w->ctx, &w->ka, 0, NULL, NULL, 0);
    is_int(w->ka.kind, ALX_LINK_KA_BACKOFF, "a timeout backs off too");
    w->fleet.clock = w->ka.next_due;
    alx_link_keepalive(&w->ctx, &w->ka);
    alx_link_answered(&w->ctx, &w->ka, 400, NULL, answer, strlen(answer));
    is_int(w->ka.kind, ALX_LINK_KA_BACKOFF,
           "an error other than invalid_grant backs off, does not end");
    w->fleet.clock = w->ka.next_due;
    alx_link_keepalive(&w->ctx, &w->ka);
    alx_link_answered(&w->ctx, &w->ka, 200, "application/json", "{}", 2);
    is_int(w->ka.kind, ALX_LINK_KA_BACKOFF, "a 200 without access_token too");
    w->fleet.clock = w->ka.next_due;
    w->up->status = 0;
    is_int(keepalive(w, &w->ctx, w->up, &w->ka), ALX_LINK_KA_REFRESHED,
           "and it recovers");
    is_int(w->ka.hold.link.failures, 0, "failures reset");
    is_int(w->ka.next_due, w->fleet.clock + DAY, "next due a day on");
    w->ctx.backoff_first = 2 * SEC;   /* a test build's shorter first step */
    w->fleet.clock = w->ka.next_due;
    w->up->status = 503;
    keepalive(w, &w->ctx, w->up, &w->ka);
    is_int(w->ka.next_due, w->fleet.clock + 2 * SEC,
           "a shorter first backoff, when the context names one");
    w->fleet.clock = w->ka.next_due;
    keepalive(w, &w->ctx, w->up, &w->ka);
    is_int(w->ka.next_due, w->fleet.clock + 4 * SEC, "and doubles from it");
    world_end(w);
}

static void test_idle(void)
{
    world_t *w = world();

    w->in = seen_in(NULL, RT0, 3600, 1);
    w->in.keep_for = 3 * DAY;
    alx_link_seen(&w->ctx, NULL, &w->in);
    w->fleet.clock = T0 + DAY;
    is_int(keepalive(w, &w->ctx, w->up, &w->ka), ALX_LINK_KA_REFRESHED, "day 1");
    w->fleet.clock = T0 + 2 * DAY;
    is_int(keepalive(w, &w->ctx, w->up, &w->ka), ALX_LINK_KA_REFRESHED, "day 2");
    is_int(w->ka.next_due, T0 + 3 * DAY, "next due is the idle end");
    w->fleet.clock = T0 + 3 * DAY - 1;
    is_int(keepalive(w, &w->ctx, w->up, &w->ka), ALX_LINK_KA_NONE,
           "not a microsecond early");
    w->fleet.clock = T0 + 3 * DAY;
    is_int(keepalive(w, &w->ctx, w->up, &w->ka), ALX_LINK_KA_ENDED_IDLE,
           "unused by Alexa for keep-for: ended");
    is_int(ls_count(&w->fleet), 0, "and deleted");
    is_int(w->up->nused, 2, "instead of refreshed");
    world_end(w);
}

/* ---- requests, keys, odd rows ---- */

static void test_request(apr_pool_t *p)
{
    alx_link_t l = sample();
    alx_link_request_t rq;

    alx_link_request(p, &l, &rq);
    is_str(rq.body, "grant_type=refresh_token&refresh_token=RT-newest",
           "basic: the body carries the grant only");
    is_str(rq.authorization, alx_basic_build(p, CLIENT, SECRET),
           "and Authorization the credentials");
    is_str(rq.url, URL, "at the link's token URL");
    l.auth = ALX_LINK_AUTH_BODY;
    alx_link_request(p, &l, &rq);
    is_str(rq.body, "grant_type=refresh_token&refresh_token=RT-newest"
           "&client_id=" CLIENT "&client_secret=" SECRET,
           "body: the credentials in the form");
    ok(!rq.authorization, "and no Authorization");
    l.auth = ALX_LINK_AUTH_BASIC;
    l.client_secret = NULL;
    alx_link_request(p, &l, &rq);
    is_str(rq.body, "grant_type=refresh_token&refresh_token=RT-newest"
           "&client_id=" CLIENT, "a public client names itself in the body");
    l.refresh_token = "a b&c=d";
    alx_link_request(p, &l, &rq);
    is_str(rq.body, "grant_type=refresh_token&refresh_token=a+b%26c%3Dd"
           "&client_id=" CLIENT, "escaped as a form");
    l.client_secret = "bad\nsecret";
    is_int(alx_link_request(p, &l, &rq), APR_EINVAL,
           "credentials Basic cannot carry are refused");
}

static void test_key_change(void)
{
    world_t *w = world();

    linked(w, 3600);                 /* under key a */
    w->keys[0] = key_b;              /* the new key, the old one second */
    w->keys[1] = key_a;
    w->ctx.nkeys = 2;
    alx_link_present(&w->ctx, CLIENT, RT0, &w->pr);
    is_int(w->pr.decision, ALX_LINK_PASS_HELD,
           "a link under the old key is found and opened");
    w->in = seen_in(RT0, "RT-new", 3600, 1);
    alx_link_seen(&w->ctx, &w->pr.hold, &w->in);
    is_int(w->fleet.rows[0].sealed[0], key_b.id,
           "rewritten under the new key");
    w->ctx.nkeys = 1;
    alx_link_present(&w->ctx, CLIENT, "RT-new", &w->pr);
    is_int(w->pr.decision, ALX_LINK_PASS_HELD, "found without the old key");
    alx_link_release(&w->ctx, &w->pr.hold);

    w->keys[0] = key_a;              /* a server that lacks key b */
    w->fleet.clock += DAY;
    is_int(keepalive(w, &w->ctx, w->up, &w->ka), ALX_LINK_KA_UNKNOWN_KEY,
           "a record under a key we lack is said so");
    is_int(w->fleet.rows[0].due, w->fleet.clock + DAY, "and put off a day");
    is_int(ls_count(&w->fleet), 1, "not deleted");
    w->fleet.rows[0].sealed[w->fleet.rows[0].sealed_len - 1] ^= 1;
    w->fleet.rows[0].sealed[0] = key_a.id;
    w->fleet.clock += DAY;
    deleted_unasked(w, ALX_LINK_KA_UNREADABLE, "a corrupt record is said so");
}

static void test_seen_without_hold(void)
{
    world_t *w = world();

    w->in = seen_in(RT0, "RT-next", 3600, 1);
    linked(w, 3600);
    is_int(alx_link_seen(&w->ctx, NULL, &w->in), APR_SUCCESS,
           "a refresh recorded without a hold finds and claims its link");
    is_int(ls_count(&w->fleet), 1, "the same link");
    alx_link_present(&w->ctx_two, CLIENT, "RT-next", &w->pr);
    w->in = seen_in("RT-next", "RT-third", 3600, 1);
    is_int(alx_link_seen(&w->ctx, NULL, &w->in), APR_EBUSY,
           "while another server holds it: busy, nothing written");
    alx_link_release(&w->ctx_two, &w->pr.hold);
    w->in = seen_in(NULL, "", 3600, 1);
    is_int(alx_link_seen(&w->ctx, NULL, &w->in), APR_EINVAL,
           "an answer without a refresh token makes no link");
    w->in = seen_in(NULL, "RT-x", 3600, 1);
    w->in.auth = ALX_LINK_AUTH_BASIC;
    w->in.client_secret = "bad\rsecret";
    is_int(alx_link_seen(&w->ctx, NULL, &w->in), APR_EINVAL,
           "nor credentials the keep-alive could not send");
    world_end(w);
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&root, NULL);
    apr_pool_create(&p, root);
    if (alx_crypto_create(root, &crypto) != APR_SUCCESS)
        return 1;
    alx_link_key_init(crypto, material_a, sizeof(material_a), &key_a);
    alx_link_key_init(crypto, material_b, sizeof(material_b), &key_b);
    if (key_a.id == key_b.id)
        return 1;   /* the tests below assume distinct ids */
    test_keys();
    test_codec(p);
    test_seal(p);
    test_nothing_secret();
    test_due();
    test_two_servers();
    test_chain();
    test_refresh_instead();
    test_empty_rotation();
    test_invalid_grant();
    test_backoff();
    test_idle();
    test_request(p);
    test_key_change();
    test_seen_without_hold();
    apr_pool_destroy(root);
    apr_terminate();
    return tap_done();
}

/* The keep-alive link protocol (alx_link.h): keys and ids, the record's
 * codec and seal, and the three moments of a link (Alexa got an answer, the
 * keep-alive is due, Alexa presents a token). */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "alx_alexa.h"
#include "alx_answer.h"
#include "alx_basic.h"
#include "alx_form.h"
#include "alx_json.h"
#include "alx_link.h"

#define LINK_MAGIC "ALXL"
#define LABEL_SEAL "alexalink link seal v1"
#define LABEL_MAC "alexalink link mac v1"
#define LABEL_KEY_ID "alexalink link key id v1"
#define LABEL_ID "alexalink link id v1"
#define LABEL_LOOKUP "alexalink link lookup v1"

/* Schema 1 plaintext, integers big-endian:
 *   state(1) auth(1) flags(1)
 *   created alexa_used refreshed alexa_expires backoff_until interval
 *   keep_for answer_ttl (8 each, two's complement) failures(4)
 *   client_id secret token_url refresh_token answer (each len(4) bytes)
 * A string the flags call absent has length 0. */
#define FLAG_SECRET  0x01
#define FLAG_REFRESH 0x02
#define FLAG_ANSWER  0x04
#define FLAGS_ALL    (FLAG_SECRET | FLAG_REFRESH | FLAG_ANSWER)
#define PLAIN_TIMES  8
#define PLAIN_FIXED  (3 + 8 * PLAIN_TIMES + 4)
#define PLAIN_STRINGS 5
/* A string longer than this is no token, URL or answer of ours. */
#define STRING_MAX   (ALX_LINK_SEALED_MAX)
/* expires_in beyond ten years is taken as ten years (no overflow). */
#define TTL_MAX      (10LL * 366 * 86400)
#define UNKNOWN_KEY_DELAY apr_time_from_sec(86400)

/* ---- time arithmetic that saturates ---- */

static apr_time_t time_add(apr_time_t t, apr_interval_time_t d)
{
    if (d > 0 && t > APR_INT64_MAX - d)
        return APR_INT64_MAX;
    if (d < 0 && t < APR_INT64_MIN - d)
        return APR_INT64_MIN;
    return t + d;
}

static apr_time_t later(apr_time_t a, apr_time_t b)
{
    return a > b ? a : b;
}

static apr_interval_time_t seconds(apr_int64_t s)
{
    return apr_time_from_sec(s < 0 ? 0 : s > TTL_MAX ? TTL_MAX : s);
}

/* ---- keys and ids ---- */

static apr_status_t mac_label(const alx_crypto_t *c, const unsigned char *key,
                              apr_size_t key_len, const char *label,
                              unsigned char *out)
{
    return alx_crypto_hmac_sha256(c, key, key_len, label, strlen(label), out);
}

apr_status_t alx_link_key_init(const alx_crypto_t *c,
                               const unsigned char *material, apr_size_t len,
                               alx_link_key_t *out)
{
    unsigned char id[ALX_CRYPTO_SHA256_LEN];
    apr_status_t rv;

    memset(out, 0, sizeof(*out));
    if (!material || len < ALX_CRYPTO_KEY_LEN)
        return APR_EINVAL;
    out->crypto = c;
    rv = mac_label(c, material, len, LABEL_SEAL, out->seal);
    if (rv == APR_SUCCESS)
        rv = mac_label(c, material, len, LABEL_MAC, out->mac);
    if (rv == APR_SUCCESS)
        rv = mac_label(c, material, len, LABEL_KEY_ID, id);
    out->id = id[0];
    if (rv != APR_SUCCESS)
        OPENSSL_cleanse(out, sizeof(*out));
    return rv;
}

/* label | len | client_id | len | token, lengths as 4 bytes so that
 * ("ab","c") and ("a","bc") differ; malloc'd (it holds a token). */
static unsigned char *pair_message(const char *label, const char *client_id,
                                   const char *token, apr_size_t *total)
{
    const char *part[2] = {client_id ? client_id : "", token ? token : ""};
    apr_size_t nl = strlen(label), n[2] = {strlen(part[0]), strlen(part[1])};
    unsigned char *msg, *m;
    int i, j;

    if (n[0] > 0xffffffffUL || n[1] > 0xffffffffUL
        || n[0] > APR_SIZE_MAX / 4 || n[1] > APR_SIZE_MAX / 4)
        return NULL;
    *total = nl + 8 + n[0] + n[1];
    if (!(msg = malloc(*total)))
        return NULL;
    memcpy(msg, label, nl);
    m = msg + nl;
    for (i = 0; i < 2; i++) {
        for (j = 0; j < 4; j++)
            *m++ = (unsigned char)((apr_uint64_t)n[i] >> (24 - 8 * j));
        memcpy(m, part[i], n[i]);
        m += n[i];
    }
    return msg;
}

static apr_status_t mac_pair(const alx_link_key_t *k, const char *label,
                             const char *client_id, const char *token,
                             unsigned char *out)
{
    apr_size_t total = 0;
    unsigned char *msg = pair_message(label, client_id, token, &total);
    apr_status_t rv;

    if (!msg)
        return APR_ENOMEM;
    rv = k ? alx_crypto_hmac_sha256(k->crypto, k->mac, sizeof(k->mac), msg,
                                    total, out)
           : APR_EINVAL;
    OPENSSL_cleanse(msg, total);
    free(msg);
    return rv;
}

apr_status_t alx_link_id(const alx_link_key_t *k, const char *client_id,
                         const char *refresh_token,
                         unsigned char out[ALX_LINK_ID_LEN])
{
    return mac_pair(k, LABEL_ID, client_id, refresh_token, out);
}

apr_status_t alx_link_lookup(const alx_link_key_t *k, const char *client_id,
                             const char *refresh_token,
                             unsigned char out[ALX_LINK_ID_LEN])
{
    return mac_pair(k, LABEL_LOOKUP, client_id, refresh_token, out);
}

/* ---- the codec ---- */

/* What a record must be, on both sides of the codec. */
static int link_valid(const alx_link_t *l)
{
    int live = l->state == ALX_LINK_LIVE;

    return (l->state == ALX_LINK_LIVE || l->state == ALX_LINK_ENDED_UPSTREAM)
           && (unsigned int)l->auth < ALX_LINK_AUTH_COUNT
           && l->client_id && *l->client_id
           && l->token_url && *l->token_url
           && (live ? l->refresh_token && *l->refresh_token
                    : !l->refresh_token && !l->answer)
           && (!l->answer || (l->answer_len > 0
                              && memchr(l->answer, '\0', l->answer_len)
                                 == NULL))
           && l->answer_ttl >= -1 && l->interval > 0 && l->keep_for > 0;
}

typedef struct {
    unsigned char *at;
} writer_t;

static void put_int(writer_t *w, apr_uint64_t v, int bytes)
{
    int i;

    for (i = bytes - 1; i >= 0; i--)
        *w->at++ = (unsigned char)(v >> (8 * i));
}

/* Two's complement without an implementation-defined conversion. */
static apr_uint64_t from_signed(apr_int64_t v)
{
    return v < 0 ? ~(apr_uint64_t)(-(v + 1)) : (apr_uint64_t)v;
}

static apr_int64_t to_signed(apr_uint64_t v)
{
    return v > (apr_uint64_t)APR_INT64_MAX ? -(apr_int64_t)~v - 1
                                           : (apr_int64_t)v;
}

static void put_string(writer_t *w, const char *s, apr_size_t n)
{
    put_int(w, n, 4);
    if (n)
        memcpy(w->at, s, n);
    w->at += n;
}

static void link_strings(const alx_link_t *l, const char *s[PLAIN_STRINGS],
                         apr_size_t n[PLAIN_STRINGS])
{
    int i;

    s[0] = l->client_id;
    s[1] = l->client_secret;
    s[2] = l->token_url;
    s[3] = l->refresh_token;
    s[4] = l->answer;
    for (i = 0; i < PLAIN_STRINGS; i++)
        n[i] = !s[i] ? 0 : i == 4 ? l->answer_len : strlen(s[i]);
}

apr_status_t alx_link_encode(apr_pool_t *p, const alx_link_t *l,
                             unsigned char **out, apr_size_t *len)
{
    const apr_int64_t times[PLAIN_TIMES] = {
        l->created, l->alexa_used, l->refreshed, l->alexa_expires,
        l->backoff_until, l->interval, l->keep_for, l->answer_ttl
    };
    const char *s[PLAIN_STRINGS];
    apr_size_t n[PLAIN_STRINGS], total = PLAIN_FIXED;
    writer_t w;
    int i;

    *out = NULL;
    *len = 0;
    if (!link_valid(l))
        return APR_EINVAL;
    link_strings(l, s, n);
    for (i = 0; i < PLAIN_STRINGS; i++) {
        if (n[i] > STRING_MAX)
            return APR_EINVAL;
        total += 4 + n[i];
    }
    w.at = *out = apr_palloc(p, total);
    put_int(&w, (apr_uint64_t)l->state, 1);
    put_int(&w, (apr_uint64_t)l->auth, 1);
    put_int(&w, (l->client_secret ? FLAG_SECRET : 0)
                | (l->refresh_token ? FLAG_REFRESH : 0)
                | (l->answer ? FLAG_ANSWER : 0), 1);
    for (i = 0; i < PLAIN_TIMES; i++)
        put_int(&w, from_signed(times[i]), 8);
    put_int(&w, l->failures, 4);
    for (i = 0; i < PLAIN_STRINGS; i++)
        put_string(&w, s[i], n[i]);
    *len = total;
    return APR_SUCCESS;
}

typedef struct {
    const unsigned char *at, *end;
} reader_t;

static int get_int(reader_t *r, int bytes, apr_uint64_t *v)
{
    int i;

    if (r->end - r->at < bytes)
        return 0;
    for (*v = 0, i = 0; i < bytes; i++)
        *v = (*v << 8) | *r->at++;
    return 1;
}

/* A string of the record: NULL when absent (then of length 0), never with
 * a NUL inside. */
static int get_string(apr_pool_t *p, reader_t *r, int present,
                      const char **s, apr_size_t *n)
{
    apr_uint64_t len;

    if (!get_int(r, 4, &len) || len > (apr_uint64_t)(r->end - r->at)
        || (!present && len))
        return 0;
    *n = (apr_size_t)len;
    *s = NULL;
    if (!present)
        return 1;
    if (memchr(r->at, '\0', *n))
        return 0;
    *s = apr_pstrmemdup(p, (const char *)r->at, *n);
    r->at += *n;
    return 1;
}

static int read_strings(apr_pool_t *p, reader_t *r, unsigned int flags,
                        alx_link_t *l)
{
    const int present[PLAIN_STRINGS] = {
        1, flags & FLAG_SECRET, 1, flags & FLAG_REFRESH, flags & FLAG_ANSWER
    };
    const char **s[PLAIN_STRINGS] = {
        &l->client_id, &l->client_secret, &l->token_url, &l->refresh_token,
        &l->answer
    };
    apr_size_t n;
    int i;

    for (i = 0; i < PLAIN_STRINGS; i++) {
        if (!get_string(p, r, present[i], s[i], &n))
            return 0;
        if (i == 4)
            l->answer_len = n;
    }
    return 1;
}

apr_status_t alx_link_decode(apr_pool_t *p, const unsigned char *data,
                             apr_size_t len, alx_link_t *l)
{
    apr_int64_t *times[PLAIN_TIMES] = {
        &l->created, &l->alexa_used, &l->refreshed, &l->alexa_expires,
        &l->backoff_until, &l->interval, &l->keep_for, &l->answer_ttl
    };
    reader_t r = {data, data + len};
    apr_uint64_t state = 0, auth = 0, flags = 0, v = 0;
    int i, good;

    memset(l, 0, sizeof(*l));
    good = data && get_int(&r, 1, &state) && get_int(&r, 1, &auth)
           && get_int(&r, 1, &flags) && (flags & ~FLAGS_ALL) == 0;
    for (i = 0; good && i < PLAIN_TIMES; i++) {
        good = get_int(&r, 8, &v);
        *times[i] = to_signed(v);
    }
    good = good && get_int(&r, 4, &v);
    l->failures = (apr_uint32_t)v;
    l->state = (alx_link_state_e)(good ? state : 0);
    l->auth = (alx_link_auth_e)(good ? auth : 0);
    good = good && state < ALX_LINK_STATE_COUNT && auth < ALX_LINK_AUTH_COUNT
           && read_strings(p, &r, (unsigned int)flags, l)
           && r.at == r.end && link_valid(l);
    if (!good) {
        memset(l, 0, sizeof(*l));
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

/* ---- the seal ---- */

/* The link id, key id and schema: what the clear parts must be for the
 * record to open. */
static void seal_aad(const unsigned char *id, unsigned char key_id,
                     unsigned char *aad)
{
    memcpy(aad, id, ALX_LINK_ID_LEN);
    aad[ALX_LINK_ID_LEN] = key_id;
    aad[ALX_LINK_ID_LEN + 1] = ALX_LINK_SCHEMA;
}

apr_status_t alx_link_seal(apr_pool_t *p, const alx_link_key_t *k,
                           const unsigned char id[ALX_LINK_ID_LEN],
                           const alx_link_t *link,
                           unsigned char **out, unsigned int *len)
{
    unsigned char aad[ALX_LINK_ID_LEN + ALX_LINK_SEALED_HEAD];
    unsigned char *plain, *sealed;
    apr_size_t plain_len;
    unsigned int sealed_len;
    apr_status_t rv;

    *out = NULL;
    *len = 0;
    if (!k || !id)
        return APR_EINVAL;
    rv = alx_link_encode(p, link, &plain, &plain_len);
    if (rv != APR_SUCCESS)
        return rv;
    seal_aad(id, k->id, aad);
    rv = alx_crypto_seal(p, k->crypto, k->seal, LINK_MAGIC, aad, sizeof(aad),
                         plain, plain_len, &sealed, &sealed_len);
    OPENSSL_cleanse(plain, plain_len);
    if (rv != APR_SUCCESS)
        return rv;
    if (sealed_len > ALX_LINK_SEALED_MAX - ALX_LINK_SEALED_HEAD)
        return APR_ENOSPC;
    *out = apr_palloc(p, sealed_len + ALX_LINK_SEALED_HEAD);
    (*out)[0] = k->id;
    (*out)[1] = ALX_LINK_SCHEMA;
    memcpy(*out + ALX_LINK_SEALED_HEAD, sealed, sealed_len);
    *len = sealed_len + ALX_LINK_SEALED_HEAD;
    return APR_SUCCESS;
}

/* The record opened with k, or APR_EINVAL. */
static apr_status_t open_with(apr_pool_t *p, const alx_link_key_t *k,
                              const unsigned char *id,
                              const unsigned char *data, unsigned int len,
                              alx_link_t *out)
{
    unsigned char aad[ALX_LINK_ID_LEN + ALX_LINK_SEALED_HEAD];
    apr_size_t plain_len;
    unsigned char *plain;
    apr_status_t rv;

    seal_aad(id, k->id, aad);
    plain = alx_crypto_open(k->crypto, k->seal, LINK_MAGIC, aad, sizeof(aad),
                            data + ALX_LINK_SEALED_HEAD,
                            len - ALX_LINK_SEALED_HEAD, &plain_len);
    if (!plain)
        return APR_EINVAL;
    rv = alx_link_decode(p, plain, plain_len, out);
    alx_crypto_release(plain, plain_len);
    return rv;
}

apr_status_t alx_link_open(apr_pool_t *p, const alx_link_key_t *keys,
                           int nkeys, const unsigned char id[ALX_LINK_ID_LEN],
                           const unsigned char *data, unsigned int len,
                           alx_link_t *out)
{
    apr_status_t rv = ALX_LINK_UNKNOWN_KEY;
    int i;

    memset(out, 0, sizeof(*out));
    if (!id || !data || len < ALX_LINK_SEALED_HEAD
        || data[1] != ALX_LINK_SCHEMA)
        return APR_EINVAL;
    /* Key ids are a byte: two keys may share one, so try each. */
    for (i = 0; i < nkeys && rv != APR_SUCCESS; i++)
        if (keys[i].id == data[0])
            rv = open_with(p, &keys[i], id, data, len, out);
    return rv;
}

/* ---- due times ---- */

apr_time_t alx_link_due(const alx_link_t *l)
{
    apr_time_t idle_end = time_add(l->alexa_used, l->keep_for);
    apr_time_t due;

    if (l->state != ALX_LINK_LIVE)
        return idle_end;
    /* Never before the access token Alexa holds has died: a refresh may
     * revoke it. */
    due = later(later(time_add(l->refreshed, l->interval), l->alexa_expires),
                l->backoff_until);
    return due < idle_end ? due : idle_end;
}

static int idle_ended(const alx_link_t *l, apr_time_t now)
{
    return now >= time_add(l->alexa_used, l->keep_for);
}

/* ---- the store, through ctx ---- */

static apr_time_t now_of(const alx_link_ctx_t *ctx)
{
    return ctx->store->now(ctx->store->baton);
}

static apr_status_t seal_row(const alx_link_ctx_t *ctx,
                             const unsigned char *id, const alx_link_t *l,
                             alx_link_row_t *row)
{
    unsigned char *sealed;
    apr_status_t rv = alx_link_seal(ctx->pool, &ctx->keys[0], id, l, &sealed,
                                    &row->sealed_len);

    memcpy(row->id, id, ALX_LINK_ID_LEN);
    row->sealed = sealed;
    row->due = alx_link_due(l);
    return rv;
}

/* hold's row written back, released: the link as found, or as changed. */
static apr_status_t write_held(const alx_link_ctx_t *ctx,
                               alx_link_hold_t *hold, alx_link_row_t *row)
{
    apr_status_t rv;

    memcpy(row->id, hold->id, ALX_LINK_ID_LEN);
    rv = ctx->store->update(ctx->store->baton, row, hold->until);
    if (rv == APR_SUCCESS)
        hold->until = 0;    /* released: not ours to write any more */
    return rv;
}

apr_status_t alx_link_release(const alx_link_ctx_t *ctx,
                              alx_link_hold_t *hold)
{
    alx_link_row_t row;

    memset(&row, 0, sizeof(row));
    row.due = hold->due;
    row.sealed = hold->sealed;
    row.sealed_len = hold->sealed_len;
    return write_held(ctx, hold, &row);
}

/* The claimed row into hold (opened, unless it will not open: then rv). */
static apr_status_t hold_found(const alx_link_ctx_t *ctx,
                               const alx_link_found_t *f, apr_time_t until,
                               alx_link_hold_t *hold)
{
    memcpy(hold->id, f->row.id, ALX_LINK_ID_LEN);
    hold->until = until;
    hold->sealed = f->row.sealed;
    hold->sealed_len = f->row.sealed_len;
    hold->due = f->row.due;
    return alx_link_open(ctx->pool, ctx->keys, ctx->nkeys, f->row.id,
                         f->row.sealed, f->row.sealed_len, &hold->link);
}

/* The link of a token Alexa presents, claimed: APR_NOTFOUND, APR_EBUSY,
 * or whether it opened. Looked up under each key, since a link recorded
 * under the old key carries the old key's lookup ids. */
static apr_status_t claim_presented(const alx_link_ctx_t *ctx,
                                    const char *client_id, const char *token,
                                    alx_link_hold_t *hold)
{
    alx_link_found_t *f = apr_palloc(ctx->pool, sizeof(*f));
    unsigned char lookup[ALX_LINK_ID_LEN];
    apr_status_t rv = APR_NOTFOUND;
    apr_time_t now;
    int i;

    for (i = 0; i < ctx->nkeys && rv == APR_NOTFOUND; i++) {
        rv = alx_link_lookup(&ctx->keys[i], client_id, token, lookup);
        if (rv == APR_SUCCESS)
            rv = ctx->store->find(ctx->store->baton, lookup, f);
    }
    if (rv != APR_SUCCESS)
        return rv;
    now = now_of(ctx);
    rv = ctx->store->claim(ctx->store->baton, f->row.id, now,
                           time_add(now, ctx->lease), f);
    return rv == APR_SUCCESS
           ? hold_found(ctx, f, time_add(now, ctx->lease), hold) : rv;
}

/* ---- a) Alexa got an answer ---- */

static int seen_valid(const alx_link_seen_t *in)
{
    return in->client_id && *in->client_id && in->alexa_token
           && *in->alexa_token && in->token_url && *in->token_url
           && in->interval > 0 && in->keep_for > 0
           && (unsigned int)in->auth < ALX_LINK_AUTH_COUNT
           && (in->auth != ALX_LINK_AUTH_BASIC || !in->client_secret
               || alx_basic_can_carry(in->client_id, in->client_secret));
}

/* The link as Alexa's answer leaves it. */
static void seen_apply(alx_link_t *l, const alx_link_seen_t *in,
                       apr_time_t now, int fresh)
{
    if (fresh) {
        memset(l, 0, sizeof(*l));
        l->created = now;
    }
    l->state = ALX_LINK_LIVE;
    l->auth = in->auth;
    l->client_id = in->client_id;
    l->client_secret = in->client_secret;
    l->token_url = in->token_url;
    l->interval = in->interval;
    l->keep_for = in->keep_for;
    l->refresh_token = in->alexa_token;
    l->answer = NULL;
    l->answer_len = 0;
    l->answer_ttl = -1;
    l->alexa_used = now;
    l->alexa_expires = time_add(now, seconds(in->ttl < 0 ? ALX_LINK_TTL_UNKNOWN
                                                          : in->ttl));
    if (fresh || in->refreshed) {
        l->refreshed = now;
        l->failures = 0;
        l->backoff_until = 0;
    }
}

static apr_status_t seen_lookups(const alx_link_ctx_t *ctx,
                                 const alx_link_seen_t *in,
                                 alx_link_row_t *row)
{
    apr_status_t rv = alx_link_lookup(&ctx->keys[0], in->client_id,
                                      in->alexa_token, row->lookup[0]);

    row->lookups = 1;
    if (rv == APR_SUCCESS && in->presented && *in->presented
        && strcmp(in->presented, in->alexa_token) != 0) {
        rv = alx_link_lookup(&ctx->keys[0], in->client_id, in->presented,
                             row->lookup[1]);
        row->lookups = 2;
    }
    return rv;
}

/* hold NULL and a token presented: its link, claimed, into claimed. A
 * link that will not open is released and replaced by a new one. */
static apr_status_t seen_claim(const alx_link_ctx_t *ctx,
                               const alx_link_seen_t *in,
                               alx_link_hold_t **hold,
                               alx_link_hold_t *claimed)
{
    apr_status_t rv;

    if (*hold || !in->presented || !*in->presented)
        return APR_SUCCESS;
    rv = claim_presented(ctx, in->client_id, in->presented, claimed);
    if (rv == APR_SUCCESS)
        *hold = claimed;
    else if (claimed->until)
        return alx_link_release(ctx, claimed);
    return rv == APR_NOTFOUND ? APR_SUCCESS : rv;
}

apr_status_t alx_link_seen(const alx_link_ctx_t *ctx, alx_link_hold_t *hold,
                           const alx_link_seen_t *in)
{
    alx_link_hold_t *claimed = apr_pcalloc(ctx->pool, sizeof(*claimed));
    unsigned char id[ALX_LINK_ID_LEN];
    alx_link_t fresh, *l = &fresh;
    alx_link_row_t row;
    apr_status_t rv;

    if (!seen_valid(in))
        return APR_EINVAL;
    rv = seen_claim(ctx, in, &hold, claimed);
    if (rv != APR_SUCCESS)
        return rv;
    if (hold) {
        memcpy(id, hold->id, ALX_LINK_ID_LEN);
        l = &hold->link;
    }
    else if ((rv = alx_link_id(&ctx->keys[0], in->client_id, in->alexa_token,
                               id)) != APR_SUCCESS)
        return rv;
    seen_apply(l, in, now_of(ctx), !hold);
    memset(&row, 0, sizeof(row));
    rv = seal_row(ctx, id, l, &row);
    if (rv == APR_SUCCESS)
        rv = seen_lookups(ctx, in, &row);
    if (rv != APR_SUCCESS) {
        if (hold)
            alx_link_release(ctx, hold);
        return rv;
    }
    return hold ? write_held(ctx, hold, &row)
                : ctx->store->put(ctx->store->baton, &row);
}

/* ---- b) the keep-alive ---- */

apr_status_t alx_link_request(apr_pool_t *p, const alx_link_t *l,
                              alx_link_request_t *out)
{
    apr_array_header_t *form = apr_array_make(p, 4, sizeof(alx_pair_t));
    int basic = l->auth == ALX_LINK_AUTH_BASIC && l->client_secret;

    memset(out, 0, sizeof(*out));
    if (l->state != ALX_LINK_LIVE || !l->refresh_token || !*l->refresh_token
        || (basic && !alx_basic_can_carry(l->client_id, l->client_secret)))
        return APR_EINVAL;
    alx_form_set(form, "grant_type", "refresh_token");
    alx_form_set(form, "refresh_token", l->refresh_token);
    /* A public client names itself in the body whatever the scheme. */
    if (basic)
        out->authorization = alx_basic_build(p, l->client_id,
                                             l->client_secret);
    else
        alx_form_set(form, "client_id", l->client_id);
    if (!basic && l->client_secret)
        alx_form_set(form, "client_secret", l->client_secret);
    out->url = l->token_url;
    out->body = alx_form_encode(p, form, &out->len);
    return APR_SUCCESS;
}

static apr_status_t drop_held(const alx_link_ctx_t *ctx,
                              alx_link_hold_t *hold)
{
    apr_status_t rv = ctx->store->remove(ctx->store->baton, hold->id,
                                         hold->until);

    if (rv == APR_SUCCESS)
        hold->until = 0;
    return rv;
}

/* A claimed row that does not open: put off when its key is missing (the
 * old key may come back), deleted when corrupt (it never will open). */
static apr_status_t unopenable(const alx_link_ctx_t *ctx, alx_link_ka_t *out,
                               apr_status_t why, apr_time_t now)
{
    if (why == ALX_LINK_UNKNOWN_KEY) {
        out->kind = ALX_LINK_KA_UNKNOWN_KEY;
        out->hold.due = time_add(now, UNKNOWN_KEY_DELAY);
        return alx_link_release(ctx, &out->hold);
    }
    out->kind = ALX_LINK_KA_UNREADABLE;
    return drop_held(ctx, &out->hold);
}

apr_status_t alx_link_keepalive(const alx_link_ctx_t *ctx, alx_link_ka_t *out)
{
    alx_link_found_t *f = apr_palloc(ctx->pool, sizeof(*f));
    alx_link_t *l = &out->hold.link;
    apr_time_t now = now_of(ctx), until = time_add(now, ctx->lease);
    apr_status_t rv;

    memset(out, 0, sizeof(*out));
    rv = ctx->store->claim_due(ctx->store->baton, now, until, f);
    if (rv == APR_NOTFOUND)
        return APR_SUCCESS;
    if (rv != APR_SUCCESS)
        return rv;
    rv = hold_found(ctx, f, until, &out->hold);
    if (rv != APR_SUCCESS)
        return unopenable(ctx, out, rv, now);
    out->age = now - l->created;
    if (idle_ended(l, now)) {
        out->kind = l->state == ALX_LINK_LIVE ? ALX_LINK_KA_ENDED_IDLE
                                              : ALX_LINK_KA_DROPPED;
        return drop_held(ctx, &out->hold);
    }
    /* The row's due time is the glue's column: the record decides. */
    if (l->state != ALX_LINK_LIVE || alx_link_due(l) > now) {
        out->hold.due = alx_link_due(l);
        return alx_link_release(ctx, &out->hold);
    }
    if (alx_link_request(ctx->pool, l, &out->request) != APR_SUCCESS)
        return unopenable(ctx, out, APR_EINVAL, now);
    out->kind = ALX_LINK_KA_REFRESH;
    return APR_SUCCESS;
}

/* The answer's object (JSON or form) in p, or NULL. */
static json_t *answer_object(apr_pool_t *p, const char *content_type,
                             const char *body, apr_size_t len)
{
    json_t *obj = NULL;
    const char *reason;
    alx_body_format_e format = body ? alx_answer_parse_body(
        p, content_type, body, len, &obj, &reason) : ALX_BODY_EMPTY;

    return format == ALX_BODY_JSON || format == ALX_BODY_FORM ? obj : NULL;
}

/* The answer's object when it is a token answer with an access token. */
static json_t *token_answer(apr_pool_t *p, int status,
                            const char *content_type, const char *body,
                            apr_size_t len)
{
    json_t *obj = status == 200 ? answer_object(p, content_type, body, len)
                                : NULL;
    json_t *at = obj ? json_object_get(obj, "access_token") : NULL;

    return json_is_string(at) && json_string_length(at) > 0 ? obj : NULL;
}

static int is_invalid_grant(apr_pool_t *p, int status,
                            const char *content_type, const char *body,
                            apr_size_t len)
{
    json_t *obj = status == 400 || status == 401
                  ? answer_object(p, content_type, body, len) : NULL;
    json_t *error = obj ? json_object_get(obj, "error") : NULL;

    return json_is_string(error)
           && strcmp(alx_error_standard(json_string_value(error)),
                     "invalid_grant") == 0;
}

/* The upstream's answer as the link's newest step. */
static void refreshed(apr_pool_t *p, alx_link_t *l, json_t *obj,
                      apr_time_t now)
{
    json_t *rt = json_object_get(obj, "refresh_token");
    apr_int64_t ttl;

    if (json_is_string(rt) && json_string_length(rt) > 0
        && !memchr(json_string_value(rt), '\0', json_string_length(rt)))
        l->refresh_token = apr_pstrdup(p, json_string_value(rt));
    l->answer = alx_json_compact(p, obj, &l->answer_len);
    if (l->answer && (!l->answer_len
                      || memchr(l->answer, '\0', l->answer_len))) {
        l->answer = NULL;
        l->answer_len = 0;
    }
    l->answer_ttl = alx_ttl_coerce(json_object_get(obj, "expires_in"), &ttl)
                    >= 0 ? (ttl > TTL_MAX ? TTL_MAX : ttl) : -1;
    l->refreshed = now;
    l->failures = 0;
    l->backoff_until = 0;
}

static void ended_upstream(alx_link_t *l)
{
    l->state = ALX_LINK_ENDED_UPSTREAM;
    l->refresh_token = NULL;
    l->client_secret = NULL;
    l->answer = NULL;
    l->answer_len = 0;
    l->answer_ttl = -1;
}

static void backoff(const alx_link_ctx_t *ctx, alx_link_t *l, apr_time_t now)
{
    apr_interval_time_t delay = ctx->backoff_first > 0 ? ctx->backoff_first
                                                       : ALX_LINK_BACKOFF_FIRST;
    apr_uint32_t i;

    if (l->failures < 0xffffffffU)
        l->failures++;
    for (i = 1; i < l->failures && delay < ALX_LINK_BACKOFF_CAP; i++)
        delay *= 2;
    l->backoff_until = time_add(now, delay < ALX_LINK_BACKOFF_CAP
                                     ? delay : ALX_LINK_BACKOFF_CAP);
}

apr_status_t alx_link_answered(const alx_link_ctx_t *ctx, alx_link_ka_t *out,
                               int status, const char *content_type,
                               const char *body, apr_size_t len)
{
    alx_link_t *l = &out->hold.link;
    json_t *obj = token_answer(ctx->pool, status, content_type, body, len);
    apr_time_t now = now_of(ctx);
    alx_link_row_t row;
    apr_status_t rv;

    if (out->kind != ALX_LINK_KA_REFRESH)
        return APR_EINVAL;
    if (obj) {
        refreshed(ctx->pool, l, obj, now);
        out->kind = ALX_LINK_KA_REFRESHED;
    }
    else if (is_invalid_grant(ctx->pool, status, content_type, body, len)) {
        ended_upstream(l);
        out->kind = ALX_LINK_KA_ENDED_UPSTREAM;
    }
    else {
        backoff(ctx, l, now);
        out->kind = ALX_LINK_KA_BACKOFF;
    }
    memset(&row, 0, sizeof(row));
    rv = seal_row(ctx, out->hold.id, l, &row);
    if (rv == APR_ENOSPC && l->answer) {
        /* Too large to keep: Alexa gets a refresh with the newest token. */
        l->answer = NULL;
        l->answer_len = 0;
        rv = seal_row(ctx, out->hold.id, l, &row);
    }
    if (rv == APR_SUCCESS)
        rv = write_held(ctx, &out->hold, &row);
    if (rv == APR_EBUSY)
        out->kind = ALX_LINK_KA_LOST;
    out->next_due = row.due;
    return rv;
}

/* ---- c) Alexa presents a refresh token ---- */

static int same_token(const char *a, const char *b)
{
    apr_size_t n = strlen(a);

    return n == strlen(b) && CRYPTO_memcmp(a, b, n) == 0;
}

/* Seconds the pending answer's access token has left at now; 0 when none
 * or gone. */
static apr_int64_t answer_left(const alx_link_t *l, apr_time_t now)
{
    apr_time_t dies;

    if (!l->answer || l->answer_ttl < 0)
        return 0;
    dies = time_add(l->refreshed, seconds(l->answer_ttl));
    return dies > now ? apr_time_sec(dies - now) : 0;
}

/* The pending answer as Alexa gets it: expires_in what is left, and the
 * link's newest refresh token. */
static const char *answer_body(apr_pool_t *p, const alx_link_t *l,
                               apr_int64_t left, apr_size_t *len)
{
    json_error_t err;
    json_t *obj = alx_json_own(p, json_loadb(l->answer, l->answer_len, 0,
                                             &err));

    *len = 0;
    if (!json_is_object(obj)
        || json_object_set_new(obj, "expires_in", json_integer(left)) != 0)
        return NULL;
    /* The newest always: an answer without one (or with one we could not
     * take) must not leave Alexa holding a token the upstream rotated. */
    if (json_object_set_new(obj, "refresh_token",
                            json_string(l->refresh_token)) != 0)
        return NULL;
    return alx_json_compact(p, obj, len);
}

apr_status_t alx_link_present(const alx_link_ctx_t *ctx,
                              const char *client_id, const char *presented,
                              alx_link_presented_t *out)
{
    alx_link_t *l = &out->hold.link;
    apr_int64_t left;
    apr_status_t rv;

    memset(out, 0, sizeof(*out));
    if (!presented || !*presented)
        return APR_SUCCESS;
    rv = claim_presented(ctx, client_id, presented, &out->hold);
    if (rv == APR_NOTFOUND)
        return APR_SUCCESS;
    if (rv == APR_EBUSY) {
        out->decision = ALX_LINK_WAIT;
        return APR_SUCCESS;
    }
    if (rv != APR_SUCCESS || l->state != ALX_LINK_LIVE) {
        if (out->hold.until)
            alx_link_release(ctx, &out->hold);
        out->decision = rv == APR_SUCCESS ? ALX_LINK_ENDED : ALX_LINK_PASS;
        return rv;
    }
    out->refresh_token = l->refresh_token;
    left = answer_left(l, now_of(ctx));
    if (left >= ALX_ALEXA_MIN_TTL
        && (out->body = answer_body(ctx->pool, l, left, &out->len))) {
        out->decision = ALX_LINK_ANSWER;
        out->ttl = left;
    }
    else {
        out->decision = same_token(presented, l->refresh_token)
                        ? ALX_LINK_PASS_HELD : ALX_LINK_REFRESH;
    }
    return APR_SUCCESS;
}

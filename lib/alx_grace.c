/* Refresh grace records: derivation, their sealed formats (alx_crypto
 * seals), and what to do when a rotated refresh token comes back (SPEC
 * "Refresh grace"). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "alx_grace.h"
#include "alx_json.h"
#include "alx_shape.h"

#define GRACE_MAGIC "ALXG"
#define GRACE_MAGIC_LEN ALX_CRYPTO_MAGIC_LEN

/* Plaintext: flags(1) claim(8) issued(8) upstream_ttl(8) sent_ttl(8)
 * replays(4) body_len(4) body, integers big-endian. */
#define GRACE_PLAIN_FIXED (1 + 8 + 8 + 8 + 8 + 4 + 4)
#define GRACE_FLAG_PENDING 0x01
#define GRACE_OVERHEAD (ALX_CRYPTO_OVERHEAD + GRACE_PLAIN_FIXED)
/* EVP lengths are int and outlen is unsigned int. */
#define GRACE_BODY_MAX ((apr_size_t)INT_MAX - GRACE_OVERHEAD)

#define GRACE_ID_LABEL "alexalink grace id v1"
#define GRACE_KEY_LABEL "alexalink grace key v1"
#define GRACE_CLAIM_LABEL "alexalink grace claim v1"
/* the longest label fits the deriver's room */
typedef char grace_label_room[sizeof(GRACE_CLAIM_LABEL) - 1
                              == ALX_GRACE_LABEL_ROOM ? 1 : -1];
#define ANSWER_MAGIC "ALXA"
/* Answer plaintext: status(2) content_type_len(2) content_type body. */
#define ANSWER_PLAIN_FIXED 4


json_t *alx_grace_body_json(apr_pool_t *p, alx_grace_record_t *rec)
{
    json_error_t err;
    json_t *v;

    if (!rec || !rec->body)
        return NULL;
    if (rec->parsed_from != rec->body) {
        v = alx_json_own(p, json_loadb(rec->body, rec->len, JSON_ALLOW_NUL,
                                       &err));
        rec->parsed = json_is_object(v) ? v : NULL;
        rec->parsed_from = rec->body;
    }
    return rec->parsed;
}

/* rec's body as a flat object, read once; NULL when it is not one. */
static alx_flat_t *body_flat(apr_pool_t *p, alx_grace_record_t *rec)
{
    if (!rec || !rec->body)
        return NULL;
    if (rec->flat_from != rec->body) {
        rec->flat = apr_palloc(p, sizeof(*rec->flat));
        if (!alx_flat_parse(rec->body, rec->len, rec->flat))
            rec->flat = NULL;
        rec->flat_from = rec->body;
    }
    return rec->flat;
}

const char *alx_grace_body_shape(apr_pool_t *p, alx_grace_record_t *rec)
{
    alx_flat_t *f = body_flat(p, rec);

    return f ? alx_shape_flat(p, f)
             : alx_shape_json(p, alx_grace_body_json(p, rec));
}

/* ---- big-endian integers ---- */

static void put_u32(unsigned char *b, apr_uint32_t v)
{
    b[0] = (unsigned char)(v >> 24);
    b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8);
    b[3] = (unsigned char)v;
}

static void put_u64(unsigned char *b, apr_uint64_t v)
{
    put_u32(b, (apr_uint32_t)(v >> 32));
    put_u32(b + 4, (apr_uint32_t)v);
}

static apr_uint32_t get_u32(const unsigned char *b)
{
    return ((apr_uint32_t)b[0] << 24) | ((apr_uint32_t)b[1] << 16)
           | ((apr_uint32_t)b[2] << 8) | (apr_uint32_t)b[3];
}

static apr_uint64_t get_u64(const unsigned char *b)
{
    return ((apr_uint64_t)get_u32(b) << 32) | get_u32(b + 4);
}

/* Two's complement both ways without implementation-defined casts. */
static apr_uint64_t from_i64(apr_int64_t v)
{
    return v < 0 ? ~(apr_uint64_t)(-(v + 1)) : (apr_uint64_t)v;
}

static apr_int64_t to_i64(apr_uint64_t v)
{
    return v > (apr_uint64_t)APR_INT64_MAX ? -(apr_int64_t)(~v) - 1
                                           : (apr_int64_t)v;
}

/* ---- derivation ---- */

/* The message of one derivation is label | len | client_id | len | secret,
 * lengths as u32. The deriver writes the part after the label once, behind
 * room for the longest label, and each derivation puts its label just
 * before it. Most fit the deriver's buffer; longer ones a malloc'd one. */
static void message_init(alx_grace_deriver_t *d, const char *client_id,
                         const char *client_secret)
{
    size_t n1 = client_id ? strlen(client_id) : 0;
    size_t n2 = client_secret ? strlen(client_secret) : 0;
    unsigned char *m;

    d->msg = NULL;
    d->tail_len = 0;
    if (n1 > 0xffffffffUL || n2 > 0xffffffffUL
        || n1 > APR_SIZE_MAX / 4 || n2 > APR_SIZE_MAX / 4)
        return;
    d->tail_len = 4 + n1 + 4 + n2;
    if (ALX_GRACE_LABEL_ROOM + d->tail_len <= sizeof(d->buf))
        d->msg = d->buf;
    else if (!(d->msg = malloc(ALX_GRACE_LABEL_ROOM + d->tail_len)))
        return;
    m = d->msg + ALX_GRACE_LABEL_ROOM;
    put_u32(m, (apr_uint32_t)n1);
    if (n1)
        memcpy(m + 4, client_id, n1);
    put_u32(m + 4 + n1, (apr_uint32_t)n2);
    if (n2)
        memcpy(m + 8 + n1, client_secret, n2);
}

/* HMAC-SHA256(refresh_token, label | len | client_id | len | secret) into
 * out, from the HMAC keyed with the refresh token: the labels share one key
 * setup and one message. */
static int mac_labelled(alx_grace_deriver_t *d, const char *label,
                        unsigned char *out)
{
    apr_size_t nl = strlen(label);
    unsigned char *start;

    if (!d->msg || nl > ALX_GRACE_LABEL_ROOM)
        return 0;
    start = d->msg + ALX_GRACE_LABEL_ROOM - nl;
    memcpy(start, label, nl);
    return alx_crypto_hmac(&d->keyed, start, nl + d->tail_len, out)
           == APR_SUCCESS;
}

/* One part of the keys, or when OpenSSL fails a random one (which finds
 * and opens nothing: the glue sees an empty store and proxies), or when
 * even that fails a fixed one no record has. No way to report it. */
static void derive_part(alx_grace_deriver_t *d, const char *label,
                        unsigned char *out, apr_size_t len, int fallback)
{
    if (mac_labelled(d, label, out))
        return;
    if (apr_generate_random_bytes(out, len) != APR_SUCCESS) {
        OPENSSL_cleanse(out, len);
        memset(out, fallback, len);
    }
}

static void derive_with(alx_grace_deriver_t *d, int what,
                        alx_grace_keys_t *out)
{
    out->crypto = d->crypto;
    if (what & ALX_GRACE_ID)
        derive_part(d, GRACE_ID_LABEL, out->id, sizeof(out->id), 0xff);
    if (what & ALX_GRACE_CLAIM)
        derive_part(d, GRACE_CLAIM_LABEL, out->claim_id,
                    sizeof(out->claim_id), 0xfe);
    if (what & ALX_GRACE_KEY)
        derive_part(d, GRACE_KEY_LABEL, out->key, sizeof(out->key), 0);
}

void alx_grace_deriver_init(alx_grace_deriver_t *d, const alx_crypto_t *c,
                            const char *client_id, const char *client_secret,
                            const char *refresh_token)
{
    const char *t = refresh_token ? refresh_token : "";

    d->crypto = c;
    message_init(d, client_id, client_secret);
    alx_crypto_hmac_init(&d->keyed, c, t, strlen(t));
}

void alx_grace_derive_more(alx_grace_deriver_t *d, int what,
                           alx_grace_keys_t *out)
{
    derive_with(d, what, out);
}

void alx_grace_deriver_end(alx_grace_deriver_t *d)
{
    alx_crypto_hmac_end(&d->keyed);
    if (d->msg) {   /* the secret is in it */
        OPENSSL_cleanse(d->msg, ALX_GRACE_LABEL_ROOM + d->tail_len);
        if (d->msg != d->buf)
            free(d->msg);
        d->msg = NULL;
    }
}

void alx_grace_derive(const alx_crypto_t *c, const char *client_id,
                      const char *client_secret, const char *refresh_token,
                      alx_grace_keys_t *out)
{
    alx_grace_deriver_t d;

    alx_grace_deriver_init(&d, c, client_id, client_secret, refresh_token);
    derive_with(&d, ALX_GRACE_ID | ALX_GRACE_CLAIM | ALX_GRACE_KEY, out);
    alx_grace_deriver_end(&d);
}

/* ---- sealing ---- */

static void plain_write(unsigned char *b, const alx_grace_record_t *rec,
                        apr_size_t body_len)
{
    b[0] = rec->pending ? GRACE_FLAG_PENDING : 0;
    put_u64(b + 1, rec->claim);
    put_u64(b + 9, from_i64(rec->issued));
    put_u64(b + 17, from_i64(rec->upstream_ttl));
    put_u64(b + 25, from_i64(rec->sent_ttl));
    put_u32(b + 33, (apr_uint32_t)rec->replays);
    put_u32(b + 37, (apr_uint32_t)body_len);
    if (body_len)
        memcpy(b + GRACE_PLAIN_FIXED, rec->body, body_len);
}

/* Seals plain (malloc'd; cleansed and freed here) under k's key, with aad
 * (ALX_GRACE_ID_LEN bytes) as additional data. */
static apr_status_t seal_plain(apr_pool_t *p, const alx_grace_keys_t *k,
                               const unsigned char *aad, const char *magic,
                               unsigned char *plain, apr_size_t plain_len,
                               unsigned char **out, unsigned int *outlen)
{
    apr_status_t rv = alx_crypto_seal(p, k->crypto, k->key, magic, aad,
                                      ALX_GRACE_ID_LEN, plain, plain_len,
                                      out, outlen);

    alx_crypto_release(plain, plain_len);
    return rv;
}

/* The plaintext of what seal_plain made with this magic, malloc'd (the
 * caller hands it to alx_crypto_release), or NULL. */
static unsigned char *open_plain(const alx_grace_keys_t *k,
                                 const unsigned char *aad, const char *magic,
                                 const unsigned char *data, unsigned int len,
                                 apr_size_t *plain_len)
{
    return k ? alx_crypto_open(k->crypto, k->key, magic, aad,
                               ALX_GRACE_ID_LEN, data, len, plain_len)
             : NULL;
}

apr_status_t alx_grace_seal(apr_pool_t *p, const alx_grace_keys_t *k,
                            const alx_grace_record_t *rec,
                            unsigned char **out, unsigned int *outlen)
{
    apr_size_t body_len, plain_len;
    unsigned char *plain;

    *out = NULL;
    *outlen = 0;
    if (!k || !rec || rec->replays < 0)
        return APR_EINVAL;
    /* A claim has no answer yet: its body is never stored. */
    body_len = rec->pending ? 0 : rec->len;
    if (body_len > GRACE_BODY_MAX || (body_len && !rec->body))
        return APR_EINVAL;
    plain_len = GRACE_PLAIN_FIXED + body_len;
    plain = malloc(plain_len);
    if (!plain)
        return APR_ENOMEM;
    plain_write(plain, rec, body_len);
    return seal_plain(p, k, k->id, GRACE_MAGIC, plain, plain_len, out, outlen);
}

/* The decrypted plaintext into rec, or false when it is not one we made. */
static int plain_read(apr_pool_t *p, const unsigned char *b, apr_size_t len,
                      alx_grace_record_t *rec)
{
    apr_uint32_t replays, body_len;
    char *body;

    if (len < GRACE_PLAIN_FIXED || (b[0] & ~GRACE_FLAG_PENDING) != 0)
        return 0;
    replays = get_u32(b + 33);
    body_len = get_u32(b + 37);
    if (replays > INT_MAX || body_len != len - GRACE_PLAIN_FIXED
        || (b[0] && body_len != 0))
        return 0;
    rec->pending = b[0] ? 1 : 0;
    rec->claim = get_u64(b + 1);
    rec->issued = to_i64(get_u64(b + 9));
    rec->upstream_ttl = to_i64(get_u64(b + 17));
    rec->sent_ttl = to_i64(get_u64(b + 25));
    rec->replays = (int)replays;
    body = apr_palloc(p, (apr_size_t)body_len + 1);
    if (body_len)
        memcpy(body, b + GRACE_PLAIN_FIXED, body_len);
    body[body_len] = '\0';
    rec->body = body;
    rec->len = body_len;
    return 1;
}

apr_status_t alx_grace_open(apr_pool_t *p, const alx_grace_keys_t *k,
                            const unsigned char *data, unsigned int len,
                            alx_grace_record_t *rec)
{
    apr_size_t plain_len = 0;
    unsigned char *plain = open_plain(k, k ? k->id : NULL, GRACE_MAGIC, data,
                                      len, &plain_len);
    int good;

    memset(rec, 0, sizeof(rec[0]));
    good = plain && plain_read(p, plain, plain_len, rec);
    if (plain) {
        alx_crypto_release(plain, plain_len);
    }
    if (!good) {
        memset(rec, 0, sizeof(*rec));
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

apr_size_t alx_grace_sealed_max(apr_size_t body_len)
{
    if (body_len > APR_SIZE_MAX - GRACE_OVERHEAD)
        return APR_SIZE_MAX;
    return GRACE_OVERHEAD + body_len;
}

/* ---- what to do with a record ---- */

/* now - then, saturated instead of overflowing. */
static apr_int64_t elapsed_usec(apr_time_t now, apr_time_t then)
{
    if (then < 0 && now > APR_INT64_MAX + then)
        return APR_INT64_MAX;
    if (then > 0 && now < APR_INT64_MIN + then)
        return APR_INT64_MIN;
    return now - then;
}

/* The successor access token's lifetime as the upstream meant it; a
 * negative value (absent, or invalid as alx_answer reports it) means none. */
static apr_int64_t successor_ttl(const alx_grace_record_t *rec)
{
    if (rec->upstream_ttl >= 0)
        return rec->upstream_ttl;
    return rec->sent_ttl;
}

int alx_grace_expired(const alx_grace_record_t *rec, apr_time_t now)
{
    apr_int64_t elapsed = elapsed_usec(now, rec->issued);
    apr_int64_t ttl = successor_ttl(rec);

    /* issued + ttl s <= now, without multiplying a large ttl. */
    return ttl >= 0 && elapsed >= 0 && ttl <= elapsed / APR_USEC_PER_SEC;
}

alx_grace_action_e alx_grace_decide(const alx_grace_record_t *rec,
                                    apr_time_t now,
                                    apr_interval_time_t window,
                                    int max_replays,
                                    apr_interval_time_t burst)
{
    apr_int64_t elapsed;

    if (!rec)
        return ALX_GRACE_PROXY;
    if (rec->pending)
        return ALX_GRACE_WAIT;
    elapsed = elapsed_usec(now, rec->issued);
    if (elapsed >= window)
        return ALX_GRACE_PROXY;
    /* a refresh on the client's behalf is a replay too: only a duplicate
     * of the first answer goes uncounted */
    if (elapsed > burst && rec->replays >= max_replays)
        return ALX_GRACE_EXHAUSTED;
    if (alx_grace_expired(rec, now))
        return ALX_GRACE_CHAIN;
    if (elapsed <= burst)
        return ALX_GRACE_DUPLICATE;
    return ALX_GRACE_REPLAY;
}

/* expires_in for a replay at now, from the recorded one (sent). */
static apr_int64_t replay_left(const alx_grace_record_t *rec,
                               apr_int64_t sent, apr_time_t now)
{
    /* A clock that went back never lengthens the lifetime. */
    apr_int64_t elapsed = elapsed_usec(now, rec->issued);
    apr_int64_t seconds = elapsed > 0 ? elapsed / APR_USEC_PER_SEC : 0;

    return (sent <= 1 || seconds >= sent - 1) ? 1 : sent - seconds;
}

/* The recorded expires_in when it is an integer: from the flat reading
 * when there is one, else from jansson's. */
static int recorded_ttl(apr_pool_t *p, alx_grace_record_t *rec,
                        apr_int64_t *sent)
{
    alx_flat_t *f = body_flat(p, rec);
    const alx_flat_member_t *m;
    json_t *v, *ttl;

    if (f) {
        m = alx_flat_get(f, "expires_in");
        if (!m || m->type != ALX_FLAT_INT)
            return 0;
        *sent = m->num;
        return 1;
    }
    v = alx_grace_body_json(p, rec);
    ttl = v ? json_object_get(v, "expires_in") : NULL;
    if (!json_is_integer(ttl))
        return 0;
    *sent = json_integer_value(ttl);
    return 1;
}

apr_int64_t alx_grace_replay_ttl(apr_pool_t *p, alx_grace_record_t *rec,
                                 apr_time_t now)
{
    apr_int64_t sent;

    return recorded_ttl(p, rec, &sent) ? replay_left(rec, sent, now) : -1;
}

/* The replay of a flat record: a copy with expires_in set. */
static const char *replay_flat(apr_pool_t *p, const alx_flat_t *f,
                               apr_int64_t left, apr_size_t *len)
{
    alx_flat_t copy = *f;

    alx_flat_set_int(&copy, "expires_in", left);   /* present: in place */
    return alx_flat_compact(p, &copy, len);
}

apr_status_t alx_grace_replay_body(apr_pool_t *p, alx_grace_record_t *rec,
                                   apr_time_t now,
                                   const char **body, apr_size_t *len)
{
    json_t *v;
    json_t *ttl;
    apr_int64_t sent;
    int set;

    *body = NULL;
    *len = 0;
    if (!body_flat(p, rec) && !alx_grace_body_json(p, rec))
        return APR_EINVAL;
    if (!recorded_ttl(p, rec, &sent)) {
        *body = rec->body;
        *len = rec->len;
        return APR_SUCCESS;
    }
    if (rec->flat) {
        *body = replay_flat(p, rec->flat, replay_left(rec, sent, now), len);
        return APR_SUCCESS;
    }
    /* The cached object is changed for the dump and put back after, so
     * that its other readers still see the record. */
    v = rec->parsed;
    ttl = json_object_get(v, "expires_in");
    json_incref(ttl);
    set = json_object_set_new(v, "expires_in",
                              json_integer(replay_left(rec, sent, now)));
    *body = set == 0 ? alx_json_compact(p, v, len) : NULL;
    json_object_set_new(v, "expires_in", ttl);
    return *body ? APR_SUCCESS : APR_ENOMEM;
}

const char *alx_grace_successor(apr_pool_t *p, alx_grace_record_t *rec)
{
    alx_flat_t *f = body_flat(p, rec);
    const alx_flat_member_t *m;
    json_t *v, *token;

    if (f) {
        m = alx_flat_get(f, "refresh_token");
        return m && m->type == ALX_FLAT_STR
               ? apr_pstrmemdup(p, m->str, m->str_len) : NULL;
    }
    v = alx_grace_body_json(p, rec);
    token = v ? json_object_get(v, "refresh_token") : NULL;
    if (!json_is_string(token))
        return NULL;
    return apr_pstrmemdup(p, json_string_value(token),
                          json_string_length(token));
}

/* ---- answers handed to waiting duplicates ---- */

apr_status_t alx_grace_seal_answer(apr_pool_t *p, const alx_grace_keys_t *k,
                                   int status, const char *content_type,
                                   const char *body, apr_size_t len,
                                   unsigned char **out, unsigned int *outlen)
{
    apr_size_t ct_len = content_type ? strlen(content_type) : 0;
    apr_size_t plain_len;
    unsigned char *plain;

    *out = NULL;
    *outlen = 0;
    if (!k || status < 100 || status > 999 || ct_len > 0xffff
        || (len && !body) || len > GRACE_BODY_MAX - ct_len)
        return APR_EINVAL;
    plain_len = ANSWER_PLAIN_FIXED + ct_len + len;
    plain = malloc(plain_len);
    if (!plain)
        return APR_ENOMEM;
    plain[0] = (unsigned char)(status >> 8);
    plain[1] = (unsigned char)status;
    plain[2] = (unsigned char)(ct_len >> 8);
    plain[3] = (unsigned char)ct_len;
    if (ct_len)
        memcpy(plain + ANSWER_PLAIN_FIXED, content_type, ct_len);
    if (len)
        memcpy(plain + ANSWER_PLAIN_FIXED + ct_len, body, len);
    return seal_plain(p, k, k->claim_id, ANSWER_MAGIC, plain, plain_len, out,
                      outlen);
}

int alx_grace_is_answer(const unsigned char *data, unsigned int len)
{
    return data && len >= GRACE_MAGIC_LEN
           && memcmp(data, ANSWER_MAGIC, GRACE_MAGIC_LEN) == 0;
}

apr_status_t alx_grace_open_answer(apr_pool_t *p, const alx_grace_keys_t *k,
                                   const unsigned char *data, unsigned int len,
                                   int *status, const char **content_type,
                                   const char **body, apr_size_t *body_len)
{
    apr_size_t plain_len = 0, ct_len = 0;
    unsigned char *plain = open_plain(k, k ? k->claim_id : NULL, ANSWER_MAGIC,
                                      data, len, &plain_len);
    int good = plain && plain_len >= ANSWER_PLAIN_FIXED;

    *status = 0;
    *content_type = *body = NULL;
    *body_len = 0;
    if (good)
        ct_len = ((apr_size_t)plain[2] << 8) | plain[3];
    good = good && ANSWER_PLAIN_FIXED + ct_len <= plain_len;
    if (good) {
        *status = (plain[0] << 8) | plain[1];
        *content_type = ct_len ? apr_pstrmemdup(p, (const char *)plain
                                                + ANSWER_PLAIN_FIXED, ct_len)
                               : NULL;
        *body_len = plain_len - ANSWER_PLAIN_FIXED - ct_len;
        *body = apr_pstrmemdup(p, (const char *)plain + ANSWER_PLAIN_FIXED
                               + ct_len, *body_len);
    }
    if (plain) {
        alx_crypto_release(plain, plain_len);
    }
    return good ? APR_SUCCESS : APR_EINVAL;
}

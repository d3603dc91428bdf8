/* Unit tests for lib/alx_grace.c: derivation, sealed records, decisions
 * and replayed answers. */
#include <limits.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "alx_grace.h"
#include "tap.h"

#define CLIENT "alexa-skill"
#define SECRET "s3cret-of-the-skill"
#define PRESENTED "RT-presented-old-1"
#define ACCESS "AT-successor-QWERTY-123"
#define SUCCESSOR "RT-successor-ZXCVB-456"
#define ANSWER "{\"access_token\":\"" ACCESS "\",\"token_type\":\"Bearer\"," \
    "\"expires_in\":3600,\"refresh_token\":\"" SUCCESSOR "\",\"scope\":\"a b\"}"

#define SEC APR_USEC_PER_SEC
/* 2024-01-01T00:00:00Z */
#define T0 ((apr_time_t)1704067200 * SEC)

static int contains(const unsigned char *hay, apr_size_t hay_len,
                    const char *needle)
{
    apr_size_t n = strlen(needle), i;

    for (i = 0; n <= hay_len && i <= hay_len - n; i++)
        if (memcmp(hay + i, needle, n) == 0)
            return 1;
    return 0;
}

static const char *hex(apr_pool_t *p, const unsigned char *b, apr_size_t n)
{
    char *s = apr_palloc(p, 2 * n + 1);
    apr_size_t i;

    for (i = 0; i < n; i++)
        apr_snprintf(s + 2 * i, 3, "%02x", b[i]);
    s[2 * n] = '\0';
    return s;
}

static alx_crypto_t *crypto;   /* made once, as a child does */

static alx_grace_keys_t keys_of(const char *id, const char *secret,
                                const char *token)
{
    alx_grace_keys_t k;

    alx_grace_derive(crypto, id, secret, token, &k);
    return k;
}

static int keys_equal(const alx_grace_keys_t *a, const alx_grace_keys_t *b)
{
    return memcmp(a->id, b->id, ALX_GRACE_ID_LEN) == 0
           && memcmp(a->key, b->key, ALX_GRACE_KEY_LEN) == 0;
}

static int keys_disjoint(const alx_grace_keys_t *a, const alx_grace_keys_t *b)
{
    return memcmp(a->id, b->id, ALX_GRACE_ID_LEN) != 0
           && memcmp(a->key, b->key, ALX_GRACE_KEY_LEN) != 0;
}

static alx_grace_record_t answered(const char *body)
{
    alx_grace_record_t r;

    memset(&r, 0, sizeof(r));
    r.claim = 0x0123456789abcdefULL;
    r.issued = T0;
    r.upstream_ttl = 300;
    r.sent_ttl = 3600;
    r.replays = 2;
    r.body = body;
    r.len = body ? strlen(body) : 0;
    return r;
}

static int same_record(const alx_grace_record_t *a,
                       const alx_grace_record_t *b)
{
    return a->pending == b->pending && a->claim == b->claim
           && a->issued == b->issued && a->upstream_ttl == b->upstream_ttl
           && a->sent_ttl == b->sent_ttl && a->replays == b->replays
           && a->len == b->len && a->body && b->body
           && memcmp(a->body, b->body, a->len) == 0;
}

/* HMAC-SHA256 over the documented message, built by hand. */
static void expected_mac(const char *label, const char *id, const char *secret,
                         const char *token, unsigned char *out)
{
    unsigned char msg[1024];
    apr_size_t n = 0, l;
    unsigned int outlen = 0;
    const char *field[2];
    int i;

    field[0] = id;
    field[1] = secret;
    memcpy(msg, label, strlen(label));
    n = strlen(label);
    for (i = 0; i < 2; i++) {
        l = strlen(field[i]);
        msg[n++] = 0;
        msg[n++] = 0;
        msg[n++] = (unsigned char)(l >> 8);
        msg[n++] = (unsigned char)l;
        memcpy(msg + n, field[i], l);
        n += l;
    }
    HMAC(EVP_sha256(), token, (int)strlen(token), msg, n, out, &outlen);
}

/* A message past the derivation's stack buffer (a long secret), and a
 * refresh token past SHA-256's block (HMAC hashes such a key first). */
static void test_derive_long(apr_pool_t *p)
{
    char secret[301], token[101];
    alx_grace_keys_t a, b;
    alx_grace_deriver_t d;
    unsigned char mac[32];

    memset(secret, 's', sizeof(secret) - 1);
    secret[sizeof(secret) - 1] = '\0';
    memset(token, 't', sizeof(token) - 1);
    token[sizeof(token) - 1] = '\0';
    a = keys_of("long-client", secret, token);
    expected_mac("alexalink grace id v1", "long-client", secret, token, mac);
    is_str(hex(p, a.id, 32), hex(p, mac, 32), "a 300-byte secret: id");
    expected_mac("alexalink grace key v1", "long-client", secret, token, mac);
    is_str(hex(p, a.key, 32), hex(p, mac, 32), "a 300-byte secret: key");
    expected_mac("alexalink grace claim v1", "long-client", secret, token, mac);
    is_str(hex(p, a.claim_id, 32), hex(p, mac, 32),
           "a 300-byte secret: claim id");
    memset(&b, 0x77, sizeof(b));
    alx_grace_deriver_init(&d, crypto, "long-client", secret, token);
    alx_grace_derive_more(&d, ALX_GRACE_ID, &b);
    alx_grace_deriver_end(&d);
    ok(memcmp(a.id, b.id, 32) == 0, "the id alone is the same id");
    memset(mac, 0x77, sizeof(mac));
    ok(memcmp(b.key, mac, 32) == 0 && memcmp(b.claim_id, mac, 32) == 0,
       "the id alone: key and claim id left as they were");
}

static void test_derive(apr_pool_t *p)
{
    alx_grace_keys_t k = keys_of(CLIENT, SECRET, PRESENTED);
    alx_grace_keys_t again = keys_of(CLIENT, SECRET, PRESENTED);
    alx_grace_keys_t a, b;
    unsigned char mac[32];

    ok(keys_equal(&k, &again), "derivation is deterministic");
    a = keys_of("other-skill", SECRET, PRESENTED);
    ok(keys_disjoint(&k, &a), "another client id: other id and key");
    a = keys_of(CLIENT, "other-secret", PRESENTED);
    ok(keys_disjoint(&k, &a), "another client secret: other id and key");
    a = keys_of(CLIENT, SECRET, "RT-presented-old-2");
    ok(keys_disjoint(&k, &a), "another refresh token: other id and key");
    a = keys_of("ab", "c", PRESENTED);
    b = keys_of("a", "bc", PRESENTED);
    ok(keys_disjoint(&a, &b), "(ab,c) and (a,bc) differ");
    a = keys_of("", "abc", PRESENTED);
    b = keys_of("abc", "", PRESENTED);
    ok(keys_disjoint(&a, &b), "(\"\",abc) and (abc,\"\") differ");
    a = keys_of(NULL, NULL, PRESENTED);
    b = keys_of("", "", PRESENTED);
    ok(keys_equal(&a, &b), "NULL client id and secret are \"\"");
    ok(keys_disjoint(&a, &k), "no credentials differs from credentials");
    ok(memcmp(k.id, k.key, ALX_GRACE_ID_LEN) != 0, "id is not the key");

    is_str(hex(p, k.id, 32),
           "194b4c86052911e3da6012e596dfeeffe2fed3629d4e12c3947342ab9f1bd4f7",
           "id: known answer (Python hmac)");
    is_str(hex(p, k.key, 32),
           "cad69a4e8b61893aa22bbdaec6d1d8ca329f6618b842d54fcc2ef15b65654d99",
           "key: known answer (Python hmac)");
    expected_mac("alexalink grace id v1", "ab", "c", "tok", mac);
    a = keys_of("ab", "c", "tok");
    is_str(hex(p, a.id, 32), hex(p, mac, 32),
           "id = HMAC(token, label|len|id|len|secret)");
    expected_mac("alexalink grace key v1", "ab", "c", "tok", mac);
    is_str(hex(p, a.key, 32), hex(p, mac, 32),
           "key = HMAC(token, key label|len|id|len|secret)");
    a = keys_of(CLIENT, SECRET, "");
    b = keys_of(CLIENT, SECRET, NULL);
    ok(keys_equal(&a, &b) && keys_disjoint(&a, &k),
       "empty refresh token derives (NULL as \"\")");
    expected_mac("alexalink grace claim v1", "ab", "c", "tok", mac);
    a = keys_of("ab", "c", "tok");
    is_str(hex(p, a.claim_id, 32), hex(p, mac, 32),
           "claim id = HMAC(token, claim label|len|id|len|secret)");
    ok(memcmp(k.claim_id, k.id, 32) != 0 && memcmp(k.claim_id, k.key, 32),
       "the claim id is neither the record id nor the key");
    test_derive_long(p);
}

static void test_answers(apr_pool_t *p)
{
    alx_grace_keys_t k = keys_of(CLIENT, SECRET, PRESENTED);
    alx_grace_keys_t other = keys_of(CLIENT, "wrong", PRESENTED);
    alx_grace_record_t rec;
    unsigned char *sealed, *copy;
    unsigned int len;
    const char *ct, *body;
    apr_size_t body_len;
    int status;

    ok(alx_grace_seal_answer(p, &k, 400, "application/json;charset=UTF-8",
                             "{\"error\":\"invalid_grant\"}", 25, &sealed,
                             &len) == APR_SUCCESS, "seal an error answer");
    ok(alx_grace_is_answer(sealed, len), "it is an answer");
    ok(!contains(sealed, len, "invalid_grant"), "sealed: no plain text");
    ok(alx_grace_open_answer(p, &k, sealed, len, &status, &ct, &body,
                             &body_len) == APR_SUCCESS, "opens");
    is_int(status, 400, "status");
    is_str(ct, "application/json;charset=UTF-8", "content type");
    is_str(body, "{\"error\":\"invalid_grant\"}", "body");
    is_int(body_len, 25, "body length");
    ok(alx_grace_open_answer(p, &other, sealed, len, &status, &ct, &body,
                             &body_len) == APR_EINVAL && !body && !status,
       "another secret opens nothing");
    ok(alx_grace_open(p, &k, sealed, len, &rec) == APR_EINVAL,
       "an answer is not a record");
    copy = apr_pmemdup(p, sealed, len);
    copy[len - 1] ^= 1;
    ok(alx_grace_open_answer(p, &k, copy, len, &status, &ct, &body,
                             &body_len) == APR_EINVAL, "tampered tag");
    ok(alx_grace_open_answer(p, &k, sealed, 20, &status, &ct, &body,
                             &body_len) == APR_EINVAL, "truncated");
    ok(alx_grace_seal_answer(p, &k, 200, NULL, ANSWER, strlen(ANSWER),
                             &sealed, &len) == APR_SUCCESS
       && alx_grace_open_answer(p, &k, sealed, len, &status, &ct, &body,
                                &body_len) == APR_SUCCESS
       && ct == NULL && status == 200 && !strcmp(body, ANSWER),
       "no content type: NULL back");
    ok(!contains(sealed, len, ACCESS) && !contains(sealed, len, SUCCESSOR),
       "sealed answer: no token");
    ok(alx_grace_seal_answer(p, &k, 0, NULL, "", 0, &sealed, &len)
       == APR_EINVAL, "status 0 refused");
    ok(alx_grace_seal_answer(p, &k, 200, NULL, NULL, 3, &sealed, &len)
       == APR_EINVAL, "length without a body refused");
    rec.pending = 0;
    memset(&rec, 0, sizeof(rec));
    rec.body = ANSWER;
    rec.len = strlen(ANSWER);
    ok(alx_grace_seal(p, &k, &rec, &sealed, &len) == APR_SUCCESS
       && !alx_grace_is_answer(sealed, len)
       && alx_grace_open_answer(p, &k, sealed, len, &status, &ct, &body,
                                &body_len) == APR_EINVAL,
       "a record is not an answer");
}

static void test_round_trip(apr_pool_t *p)
{
    alx_grace_keys_t k = keys_of(CLIENT, SECRET, PRESENTED);
    alx_grace_record_t in = answered(ANSWER), out;
    unsigned char *sealed;
    unsigned int len;

    is_int(alx_grace_seal(p, &k, &in, &sealed, &len), APR_SUCCESS,
           "seal an answered record");
    is_int(len, alx_grace_sealed_max(in.len), "sealed length as promised");
    ok(len > 5 && memcmp(sealed, "ALXG\x01", 5) == 0, "magic and version");
    is_int(alx_grace_open(p, &k, sealed, len, &out), APR_SUCCESS, "open it");
    is_int(out.pending, 0, "answered: not pending");
    ok(out.claim == in.claim, "answered: claim");
    ok(out.issued == T0, "answered: issued");
    is_int(out.upstream_ttl, 300, "answered: upstream_ttl");
    is_int(out.sent_ttl, 3600, "answered: sent_ttl");
    is_int(out.replays, 2, "answered: replays");
    is_int(out.len, strlen(ANSWER), "answered: body length");
    is_str(out.body, ANSWER, "answered: body, NUL-terminated");
    ok(out.body != in.body, "answered: body is a copy");

    memset(&in, 0, sizeof(in));
    in.pending = 1;
    in.claim = 0xfedcba9876543210ULL;
    in.issued = T0 + 17;
    in.upstream_ttl = -1;
    in.sent_ttl = -1;
    is_int(alx_grace_seal(p, &k, &in, &sealed, &len), APR_SUCCESS,
           "seal a pending record");
    is_int(alx_grace_open(p, &k, sealed, len, &out), APR_SUCCESS,
           "open the pending record");
    is_int(out.pending, 1, "pending: pending");
    ok(out.claim == 0xfedcba9876543210ULL, "pending: claim (all 64 bits)");
    ok(out.issued == T0 + 17, "pending: issued");
    is_int(out.upstream_ttl, -1, "pending: upstream_ttl absent");
    is_int(out.sent_ttl, -1, "pending: sent_ttl absent");
    is_int(out.replays, 0, "pending: replays");
    is_int(out.len, 0, "pending: no body");
    is_str(out.body, "", "pending: empty body");

    in.body = ANSWER;
    in.len = strlen(ANSWER);
    is_int(alx_grace_seal(p, &k, &in, &sealed, &len), APR_SUCCESS,
           "seal a pending record that carries a body");
    is_int(len, alx_grace_sealed_max(0), "the body of a claim is not stored");
    ok(!contains(sealed, len, ACCESS), "nor is any of it in the seal");

    in = answered(NULL);
    in.claim = ~(apr_uint64_t)0;
    in.issued = APR_INT64_MIN;
    in.upstream_ttl = APR_INT64_MAX;
    in.sent_ttl = -2;
    in.replays = INT_MAX;
    is_int(alx_grace_seal(p, &k, &in, &sealed, &len), APR_SUCCESS,
           "seal extreme values");
    is_int(alx_grace_open(p, &k, sealed, len, &out), APR_SUCCESS,
           "open extreme values");
    ok(out.claim == ~(apr_uint64_t)0 && out.issued == APR_INT64_MIN
       && out.upstream_ttl == APR_INT64_MAX && out.sent_ttl == -2
       && out.replays == INT_MAX && out.len == 0,
       "extreme values round trip");

    in = answered(NULL);
    in.body = "a\0b\"\n\xff";
    in.len = 6;
    is_int(alx_grace_seal(p, &k, &in, &sealed, &len), APR_SUCCESS,
           "seal a body with NUL, quote, newline, 0xff");
    is_int(alx_grace_open(p, &k, sealed, len, &out), APR_SUCCESS,
           "open it");
    ok(same_record(&in, &out), "arbitrary bytes round trip exactly");
}

static void test_seal_rejects(apr_pool_t *p)
{
    alx_grace_keys_t k = keys_of(CLIENT, SECRET, PRESENTED);
    alx_grace_record_t in = answered(ANSWER);
    unsigned char *sealed = (unsigned char *)"x";
    unsigned int len = 9;

    in.replays = -1;
    is_int(alx_grace_seal(p, &k, &in, &sealed, &len), APR_EINVAL,
           "negative replays: refused");
    ok(sealed == NULL && len == 0, "refused: no output");
    in = answered(NULL);
    in.len = 4;
    is_int(alx_grace_seal(p, &k, &in, &sealed, &len), APR_EINVAL,
           "NULL body with a length: refused");
    in.len = 0;
    is_int(alx_grace_seal(p, &k, &in, &sealed, &len), APR_SUCCESS,
           "NULL body without a length: sealed");
}

/* A token's keys made in steps are the ones made at once, each part only
 * when asked. */
static void test_deriver(void)
{
    alx_grace_keys_t k = keys_of(CLIENT, SECRET, PRESENTED), l;
    alx_grace_deriver_t d;
    unsigned char untouched[ALX_GRACE_ID_LEN];

    alx_grace_deriver_init(&d, crypto, CLIENT, SECRET, PRESENTED);
    memset(&l, 0xaa, sizeof(l));
    memset(untouched, 0xaa, sizeof(untouched));
    alx_grace_derive_more(&d, ALX_GRACE_ID | ALX_GRACE_KEY, &l);
    ok(memcmp(l.id, k.id, 32) == 0, "steps: the same id");
    ok(memcmp(l.key, k.key, 32) == 0, "steps: the same key");
    ok(memcmp(l.claim_id, untouched, 32) == 0, "steps: no claim id yet");
    ok(l.crypto == crypto, "steps: seals and opens with the crypto");
    alx_grace_derive_more(&d, ALX_GRACE_CLAIM, &l);
    ok(keys_equal(&l, &k) && memcmp(l.claim_id, k.claim_id, 32) == 0,
       "steps: the claim id later, all three the same");
    alx_grace_derive_more(&d, ALX_GRACE_ID | ALX_GRACE_CLAIM | ALX_GRACE_KEY,
                          &l);
    ok(keys_equal(&l, &k) && memcmp(l.claim_id, k.claim_id, 32) == 0,
       "steps: the keyed HMAC is reused alike");
    alx_grace_deriver_end(&d);
    ok(d.keyed.ctx == NULL, "steps: ended, the keyed HMAC is freed");
    alx_grace_derive_more(&d, ALX_GRACE_ID, &l);
    ok(memcmp(l.id, k.id, 32) != 0, "steps: ended, a random id finds nothing");
    alx_grace_deriver_end(&d);
    ok(d.keyed.ctx == NULL, "steps: ending twice is harmless");

    alx_grace_deriver_init(&d, crypto, CLIENT, SECRET, NULL);
    alx_grace_derive_more(&d, ALX_GRACE_ID, &l);
    alx_grace_deriver_end(&d);
    k = keys_of(CLIENT, SECRET, "");
    ok(memcmp(l.id, k.id, 32) == 0, "steps: no token is the empty one");
    alx_grace_deriver_init(&d, NULL, CLIENT, SECRET, PRESENTED);
    memcpy(&k, &l, sizeof(k));
    alx_grace_derive_more(&d, ALX_GRACE_ID | ALX_GRACE_KEY, &l);
    alx_grace_deriver_end(&d);
    ok(memcmp(l.id, k.id, 32) != 0 && memcmp(l.key, k.key, 32) != 0
       && l.crypto == NULL, "steps without crypto objects: random parts");
}

/* Without the per-process objects nothing is found, sealed or opened. */
static void test_no_crypto(apr_pool_t *p)
{
    alx_grace_keys_t k = keys_of(CLIENT, SECRET, PRESENTED), none, none2;
    alx_grace_record_t in = answered(ANSWER), out;
    unsigned char *sealed;
    unsigned int len;

    alx_grace_derive(NULL, CLIENT, SECRET, PRESENTED, &none);
    alx_grace_derive(NULL, CLIENT, SECRET, PRESENTED, &none2);
    ok(memcmp(none.id, k.id, 32) != 0 && memcmp(none.key, k.key, 32) != 0
       && memcmp(none.claim_id, k.claim_id, 32) != 0,
       "no crypto objects: the keys are not the derived ones");
    ok(memcmp(none.id, none2.id, 32) != 0,
       "no crypto objects: random ids, so nothing is ever found");
    is_int(alx_grace_seal(p, &none, &in, &sealed, &len), APR_EGENERAL,
           "no crypto objects: nothing is sealed");
    alx_grace_seal(p, &k, &in, &sealed, &len);
    k.crypto = NULL;
    is_int(alx_grace_open(p, &k, sealed, len, &out), APR_EINVAL,
           "no crypto objects: nothing opens");
}

static void test_wrong_key(apr_pool_t *p)
{
    alx_grace_keys_t k = keys_of(CLIENT, SECRET, PRESENTED), other;
    alx_grace_record_t in = answered(ANSWER), out;
    unsigned char *sealed;
    unsigned int len;

    alx_grace_seal(p, &k, &in, &sealed, &len);
    other = keys_of(CLIENT, "other-secret", PRESENTED);
    is_int(alx_grace_open(p, &other, sealed, len, &out), APR_EINVAL,
           "another secret's key does not open it");
    ok(out.body == NULL && out.len == 0, "failed open leaves no body");
    other = keys_of("other-skill", SECRET, PRESENTED);
    is_int(alx_grace_open(p, &other, sealed, len, &out), APR_EINVAL,
           "another client's key does not open it");
    other = k;
    other.id[31] ^= 1;
    is_int(alx_grace_open(p, &other, sealed, len, &out), APR_EINVAL,
           "the right key under another id does not open it (id is AAD)");
    other = k;
    other.key[0] ^= 0x80;
    is_int(alx_grace_open(p, &other, sealed, len, &out), APR_EINVAL,
           "a key one bit off does not open it");
    is_int(alx_grace_open(p, &k, sealed, len, &out), APR_SUCCESS,
           "the right key still opens it");
}

static void test_tamper(apr_pool_t *p)
{
    alx_grace_keys_t k = keys_of(CLIENT, SECRET, PRESENTED);
    alx_grace_record_t in = answered(ANSWER), out;
    unsigned char *sealed, *copy;
    unsigned int len, i, opened = 0, truncated = 0;
    int bit;

    alx_grace_seal(p, &k, &in, &sealed, &len);
    copy = apr_pmemdup(p, sealed, len);
    for (i = 0; i < len; i++)
        for (bit = 0; bit < 8; bit++) {
            copy[i] ^= (unsigned char)(1 << bit);
            if (alx_grace_open(p, &k, copy, len, &out) != APR_EINVAL)
                opened++;
            copy[i] ^= (unsigned char)(1 << bit);
        }
    is_int(opened, 0, "none of %u single-bit flips opens", len * 8);
    is_int(alx_grace_open(p, &k, copy, len, &out), APR_SUCCESS,
           "the flips were undone: it opens");

    for (i = 0; i < len; i++)
        if (alx_grace_open(p, &k, sealed, i, &out) != APR_EINVAL)
            truncated++;
    is_int(truncated, 0, "none of %u truncations opens", len);
    copy = apr_palloc(p, len + 1);
    memcpy(copy, sealed, len);
    copy[len] = 0;
    is_int(alx_grace_open(p, &k, copy, len + 1, &out), APR_EINVAL,
           "a trailing byte: refused");
    is_int(alx_grace_open(p, &k, NULL, 0, &out), APR_EINVAL,
           "nothing: refused");

    /* The header is outside the AEAD: these prove it is checked. */
    copy = apr_pmemdup(p, sealed, len);
    copy[0] = 'X';
    is_int(alx_grace_open(p, &k, copy, len, &out), APR_EINVAL,
           "wrong magic: refused");
    copy = apr_pmemdup(p, sealed, len);
    copy[4] = 0x02;
    is_int(alx_grace_open(p, &k, copy, len, &out), APR_EINVAL,
           "version 2: refused");
    copy[4] = 0x00;
    is_int(alx_grace_open(p, &k, copy, len, &out), APR_EINVAL,
           "version 0: refused");
}

/* A well-authenticated seal of any plaintext: what only a bug in seal (or
 * a format change) could produce, so open must still check it. */
static unsigned char *seal_raw(apr_pool_t *p, const alx_grace_keys_t *k,
                               const unsigned char *plain, int plain_len,
                               unsigned int *len)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    unsigned char *out = apr_pcalloc(p, 74 - 41 + plain_len);
    int n = 0, fin = 0;

    memcpy(out, "ALXG\x01", 5);
    memset(out + 5, 0x5a, 12);
    EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, k->key, out + 5);
    EVP_EncryptUpdate(ctx, NULL, &n, k->id, ALX_GRACE_ID_LEN);
    EVP_EncryptUpdate(ctx, out + 17, &n, plain, plain_len);
    EVP_EncryptFinal_ex(ctx, out + 17 + n, &fin);
    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out + 17 + plain_len);
    EVP_CIPHER_CTX_free(ctx);
    *len = (unsigned int)(74 - 41 + plain_len);
    return out;
}

/* flags, claim, issued, upstream_ttl, sent_ttl, replays, body_len, body */
static int plain_of(unsigned char *b, unsigned flags, apr_uint32_t replays,
                    apr_uint32_t body_len, const char *body)
{
    apr_size_t n = strlen(body);

    memset(b, 0, 41);
    b[0] = (unsigned char)flags;
    b[15] = 7;  /* issued = 7 * 256 */
    b[33] = (unsigned char)(replays >> 24);
    b[36] = (unsigned char)replays;
    b[39] = (unsigned char)(body_len >> 8);
    b[40] = (unsigned char)body_len;
    memcpy(b + 41, body, n);
    return (int)(41 + n);
}

static void test_malformed_plaintext(apr_pool_t *p)
{
    alx_grace_keys_t k = keys_of(CLIENT, SECRET, PRESENTED);
    alx_grace_record_t out;
    unsigned char plain[128], *sealed;
    unsigned int len;
    int n;

    n = plain_of(plain, 0, 3, 4, "{\"a\"");
    sealed = seal_raw(p, &k, plain, n, &len);
    is_int(alx_grace_open(p, &k, sealed, len, &out), APR_SUCCESS,
           "hand-made plaintext in the documented layout opens");
    ok(out.issued == 7 * 256 && out.replays == 3 && out.len == 4
       && strcmp(out.body, "{\"a\"") == 0, "and reads as documented");
    n = plain_of(plain, 2, 0, 0, "");
    sealed = seal_raw(p, &k, plain, n, &len);
    is_int(alx_grace_open(p, &k, sealed, len, &out), APR_EINVAL,
           "unknown flag: refused");
    n = plain_of(plain, 1, 0, 2, "ab");
    sealed = seal_raw(p, &k, plain, n, &len);
    is_int(alx_grace_open(p, &k, sealed, len, &out), APR_EINVAL,
           "pending with a body: refused");
    n = plain_of(plain, 0, 0x80000000u, 0, "");
    sealed = seal_raw(p, &k, plain, n, &len);
    is_int(alx_grace_open(p, &k, sealed, len, &out), APR_EINVAL,
           "replays over INT_MAX: refused");
    n = plain_of(plain, 0, 0, 3, "ab");
    sealed = seal_raw(p, &k, plain, n, &len);
    is_int(alx_grace_open(p, &k, sealed, len, &out), APR_EINVAL,
           "body length past the end: refused");
    n = plain_of(plain, 0, 0, 1, "ab");
    sealed = seal_raw(p, &k, plain, n, &len);
    is_int(alx_grace_open(p, &k, sealed, len, &out), APR_EINVAL,
           "bytes after the body: refused");
    ok(out.body == NULL && out.len == 0 && out.replays == 0,
       "refused: the record is cleared");
    n = plain_of(plain, 0, 0, 0, "");
    sealed = seal_raw(p, &k, plain, n - 1, &len);
    is_int(alx_grace_open(p, &k, sealed, len, &out), APR_EINVAL,
           "plaintext one byte short: refused");
}

static void test_secrecy(apr_pool_t *p)
{
    alx_grace_keys_t k = keys_of(CLIENT, SECRET, PRESENTED);
    alx_grace_record_t in = answered(ANSWER), out;
    unsigned char *a, *b;
    unsigned int alen, blen;

    alx_grace_seal(p, &k, &in, &a, &alen);
    ok(!contains(a, alen, ACCESS), "the access token is not in the seal");
    ok(!contains(a, alen, SUCCESSOR),
       "the successor refresh token is not in the seal");
    ok(!contains(a, alen, PRESENTED),
       "the presented refresh token is not in the seal");
    ok(!contains(a, alen, SECRET), "the client secret is not in the seal");
    ok(!contains(a, alen, "Bearer"), "no body text is in the seal");
    ok(contains((const unsigned char *)ANSWER, strlen(ANSWER), ACCESS),
       "(the check does find a token where there is one)");

    alx_grace_seal(p, &k, &in, &b, &blen);
    ok(alen == blen && memcmp(a, b, alen) != 0,
       "two seals of the same record differ");
    ok(memcmp(a + 5, b + 5, 12) != 0, "their nonces differ");
    ok(alx_grace_open(p, &k, a, alen, &out) == APR_SUCCESS
       && same_record(&in, &out)
       && alx_grace_open(p, &k, b, blen, &out) == APR_SUCCESS
       && same_record(&in, &out), "both open to the same record");
}

static alx_grace_record_t at(apr_int64_t upstream_ttl, apr_int64_t sent_ttl,
                             int replays)
{
    alx_grace_record_t r = answered(ANSWER);

    r.upstream_ttl = upstream_ttl;
    r.sent_ttl = sent_ttl;
    r.replays = replays;
    return r;
}

#define WINDOW (30 * SEC)
#define BURST (2 * SEC)
#define MAXR 3
#define DECIDE(r, now) alx_grace_decide((r), (now), WINDOW, MAXR, BURST)

static void test_expired(void)
{
    alx_grace_record_t r = at(600, 3600, 0);

    ok(!alx_grace_expired(&r, T0 + 599 * SEC), "upstream ttl 600: alive at 599 s");
    ok(alx_grace_expired(&r, T0 + 600 * SEC), "expired at 600 s (before the floor)");
    r = at(-1, 900, 0);
    ok(!alx_grace_expired(&r, T0 + 899 * SEC), "no upstream ttl: the sent one");
    ok(alx_grace_expired(&r, T0 + 900 * SEC), "expired at the sent ttl");
    r = at(-1, -1, 0);
    ok(!alx_grace_expired(&r, T0 + 100000 * SEC), "no ttl at all: never");
    r = at(600, 600, 0);
    ok(!alx_grace_expired(&r, T0 - 10 * SEC), "a clock that went back: alive");
}

static void test_decide(void)
{
    alx_grace_record_t r = at(3600, 3600, 0);

    is_int(DECIDE(NULL, T0), ALX_GRACE_PROXY, "no record: proxy");
    r.pending = 1;
    is_int(DECIDE(&r, T0), ALX_GRACE_WAIT, "pending: wait");
    is_int(DECIDE(&r, T0 + 10 * WINDOW), ALX_GRACE_WAIT,
           "pending: wait, whatever the time");
    r.pending = 0;

    is_int(DECIDE(&r, T0 + WINDOW), ALX_GRACE_PROXY,
           "exactly at the window: proxy");
    is_int(DECIDE(&r, T0 + WINDOW - 1), ALX_GRACE_REPLAY,
           "1 us inside the window: replay");
    is_int(DECIDE(&r, T0 + 5 * WINDOW), ALX_GRACE_PROXY,
           "long after the window: proxy");

    r = at(10, 3600, 0);
    is_int(DECIDE(&r, T0 + 10 * SEC), ALX_GRACE_CHAIN,
           "exactly at upstream expiry: chain");
    is_int(DECIDE(&r, T0 + 10 * SEC - 1), ALX_GRACE_REPLAY,
           "1 us before upstream expiry: replay");
    is_int(DECIDE(&r, T0 + 10 * SEC + 500000), ALX_GRACE_CHAIN,
           "after upstream expiry: chain (upstream's, not the floored one)");
    r = at(20, 10, 0);
    is_int(DECIDE(&r, T0 + 10 * SEC), ALX_GRACE_REPLAY,
           "upstream_ttl rules over sent_ttl");
    r = at(-1, 10, 0);
    is_int(DECIDE(&r, T0 + 10 * SEC), ALX_GRACE_CHAIN,
           "no upstream_ttl: sent_ttl at expiry: chain");
    is_int(DECIDE(&r, T0 + 10 * SEC - 1), ALX_GRACE_REPLAY,
           "no upstream_ttl: before sent_ttl: replay");
    r = at(-2, 10, 0);
    is_int(DECIDE(&r, T0 + 10 * SEC), ALX_GRACE_CHAIN,
           "invalid upstream_ttl counts as none");
    r = at(-1, -1, 0);
    is_int(DECIDE(&r, T0 + WINDOW - 1), ALX_GRACE_REPLAY,
           "no TTL at all: never chain");
    r = at(0, 3600, 0);
    is_int(DECIDE(&r, T0), ALX_GRACE_CHAIN,
           "expires_in 0: chain even within the burst");
    r = at(5, 3600, MAXR);
    is_int(DECIDE(&r, T0 + 6 * SEC), ALX_GRACE_EXHAUSTED,
           "expired and replays used up: exhausted (a chained refresh is "
           "a replay)");
    r = at(0, 3600, MAXR);
    is_int(DECIDE(&r, T0), ALX_GRACE_CHAIN,
           "expired and replays used up, within the burst: a duplicate "
           "still chains");
    is_int(DECIDE(&r, T0 + WINDOW), ALX_GRACE_PROXY,
           "expired but out of window: proxy comes first");

    r = at(3600, 3600, 0);
    is_int(DECIDE(&r, T0), ALX_GRACE_DUPLICATE, "same instant: duplicate");
    is_int(DECIDE(&r, T0 + BURST), ALX_GRACE_DUPLICATE,
           "exactly at the burst edge: duplicate");
    is_int(DECIDE(&r, T0 + BURST + 1), ALX_GRACE_REPLAY,
           "1 us past the burst: replay");
    r.replays = MAXR + 5;
    is_int(DECIDE(&r, T0 + BURST), ALX_GRACE_DUPLICATE,
           "duplicate even with replays used up");
    is_int(DECIDE(&r, T0 - 5 * SEC), ALX_GRACE_DUPLICATE,
           "issued in the future (clock skew): duplicate");

    r = at(3600, 3600, MAXR);
    is_int(DECIDE(&r, T0 + BURST + 1), ALX_GRACE_EXHAUSTED,
           "replays == max: exhausted");
    r.replays = MAXR - 1;
    is_int(DECIDE(&r, T0 + BURST + 1), ALX_GRACE_REPLAY,
           "replays == max - 1: replay");
    r.replays = MAXR + 1;
    is_int(DECIDE(&r, T0 + BURST + 1), ALX_GRACE_EXHAUSTED,
           "replays > max: exhausted");
    r.replays = 0;
    is_int(alx_grace_decide(&r, T0 + BURST + 1, WINDOW, 0, BURST),
           ALX_GRACE_EXHAUSTED, "max 0: never a counted replay");
    is_int(alx_grace_decide(&r, T0, 0, MAXR, BURST), ALX_GRACE_PROXY,
           "window 0: proxy");

    r.issued = APR_INT64_MIN;
    is_int(DECIDE(&r, APR_INT64_MAX), ALX_GRACE_PROXY,
           "extreme times do not overflow: proxy");
    r.issued = APR_INT64_MAX;
    r.upstream_ttl = APR_INT64_MAX;
    is_int(DECIDE(&r, APR_INT64_MIN), ALX_GRACE_DUPLICATE,
           "extreme times the other way: duplicate");
}

/* The body is parsed once per record and read by all three. */
static void test_parsed_once(apr_pool_t *p)
{
    alx_grace_record_t r = answered(ANSWER);
    const char *body;
    apr_size_t len;
    void *first;

    ok(alx_grace_body_json(p, &r) != NULL, "the body parses");
    first = r.parsed;
    alx_grace_replay_body(p, &r, T0 + 90 * SEC, &body, &len);
    is_str(alx_grace_successor(p, &r), SUCCESSOR, "successor from the cache");
    ok(r.parsed == first, "parsed once for all readers");
    is_int((int)alx_grace_replay_ttl(p, &r, T0 + 90 * SEC), 3510,
           "replay TTL: expires_in less whole seconds");
    is_int((int)alx_grace_replay_ttl(p, &r, T0 + 99999 * SEC), 1,
           "replay TTL never below 1");
    r.body = "{\"refresh_token\":\"x\"}";
    r.len = strlen(r.body);
    is_str(alx_grace_successor(p, &r), "x", "a new body is parsed anew");
    is_int((int)alx_grace_replay_ttl(p, &r, T0), -1, "no expires_in: -1");
    r.body = "[1]";
    r.len = 3;
    ok(alx_grace_body_json(p, &r) == NULL, "not an object: none");
    is_int((int)alx_grace_replay_ttl(p, &r, T0), -1, "not an object: -1");
    is_str(alx_grace_body_shape(p, &r), "none", "not an object: shape none");
}

/* A flat record is read without jansson, once for its readers; any other
 * is read by jansson, to the same results. */
static void test_flat_record(apr_pool_t *p)
{
    alx_grace_record_t r = answered(ANSWER), j;
    const char *fbody, *jbody;
    apr_size_t flen, jlen;
    alx_flat_t *first;

    is_str(alx_grace_successor(p, &r), SUCCESSOR, "flat: successor");
    first = r.flat;
    ok(first != NULL, "flat: read as a flat object");
    alx_grace_replay_body(p, &r, T0 + 90 * SEC, &fbody, &flen);
    is_int((int)alx_grace_replay_ttl(p, &r, T0 + 90 * SEC), 3510,
           "flat: replay TTL");
    ok(r.flat == first && r.parsed == NULL,
       "flat: read once, jansson never asked");
    is_str(alx_grace_body_shape(p, &r), "json{access_token:str(23),"
           "token_type:str(6),expires_in:int,refresh_token:str(22),"
           "scope:str(3)}", "flat: shape");
    /* the same answer with an escape, which only jansson reads */
    j = answered("{\"access_token\":\"" ACCESS "\",\"token_type\":\"Bearer\","
                 "\"expires_in\":3600,\"refresh_token\":\"" SUCCESSOR
                 "\",\"scope\":\"a\\u0020b\"}");
    alx_grace_replay_body(p, &j, T0 + 90 * SEC, &jbody, &jlen);
    ok(j.flat == NULL && j.parsed != NULL, "escaped: read by jansson");
    ok(flen == jlen && memcmp(fbody, jbody, flen) == 0,
       "flat and jansson replays are the same bytes");
    is_str(alx_grace_body_shape(p, &j), alx_grace_body_shape(p, &r),
           "flat and jansson shapes agree");
    is_str(alx_grace_successor(p, &j), alx_grace_successor(p, &r),
           "flat and jansson successors agree");
}

static void test_replay_body(apr_pool_t *p)
{
    alx_grace_record_t r = answered(ANSWER);
    const char *body;
    apr_size_t len;

    is_int(alx_grace_replay_body(p, &r, T0 + 90 * SEC + 999999, &body, &len),
           APR_SUCCESS, "replay after 90.99 s");
    is_str(body, "{\"access_token\":\"" ACCESS "\",\"token_type\":\"Bearer\","
           "\"expires_in\":3510,\"refresh_token\":\"" SUCCESSOR
           "\",\"scope\":\"a b\"}",
           "expires_in less whole seconds, fields and order kept");
    is_int(len, strlen(body), "length matches");
    alx_grace_replay_body(p, &r, T0, &body, &len);
    ok(body && strstr(body, "\"expires_in\":3600,"), "no time elapsed: 3600");
    alx_grace_replay_body(p, &r, T0 - 60 * SEC, &body, &len);
    ok(body && strstr(body, "\"expires_in\":3600,"),
       "clock went back: not lengthened");
    alx_grace_replay_body(p, &r, T0 + 3598 * SEC, &body, &len);
    ok(body && strstr(body, "\"expires_in\":2,"), "3598 s: 2");
    alx_grace_replay_body(p, &r, T0 + 3599 * SEC, &body, &len);
    ok(body && strstr(body, "\"expires_in\":1,"), "3599 s: 1");
    alx_grace_replay_body(p, &r, T0 + 3600 * SEC, &body, &len);
    ok(body && strstr(body, "\"expires_in\":1,"), "3600 s: clamped at 1");
    alx_grace_replay_body(p, &r, T0 + 99999 * SEC, &body, &len);
    ok(body && strstr(body, "\"expires_in\":1,"), "long after: clamped at 1");
    r.issued = APR_INT64_MIN;
    alx_grace_replay_body(p, &r, APR_INT64_MAX, &body, &len);
    ok(body && strstr(body, "\"expires_in\":1,"), "extreme times: 1");

    r = answered("{\"a\":1,\"expires_in\":0}");
    alx_grace_replay_body(p, &r, T0, &body, &len);
    is_str(body, "{\"a\":1,\"expires_in\":1}", "expires_in 0: raised to 1");
    r = answered("{\"expires_in\":-9223372036854775808}");
    alx_grace_replay_body(p, &r, T0 + SEC, &body, &len);
    is_str(body, "{\"expires_in\":1}", "most negative expires_in: 1");
    r = answered("{\"expires_in\":9223372036854775807,\"b\":\"\\u00e9\"}");
    alx_grace_replay_body(p, &r, T0 + 7 * SEC, &body, &len);
    is_str(body, "{\"expires_in\":9223372036854775800,\"b\":\"\xc3\xa9\"}",
           "largest expires_in less 7, non-ASCII kept");
    /* a token answer may hold "\u0000" (alx_answer keeps it) */
    r = answered("{\"access_token\":\"AT\\u0000X\",\"expires_in\":3600}");
    alx_grace_replay_body(p, &r, T0 + 10 * SEC, &body, &len);
    is_str(body, "{\"access_token\":\"AT\\u0000X\",\"expires_in\":3590}",
           "\\u0000 in a string: replayed as \\u0000");

    r = answered("{ \"access_token\" : \"AT\",\n \"token_type\":\"Bearer\" }");
    is_int(alx_grace_replay_body(p, &r, T0 + 100 * SEC, &body, &len),
           APR_SUCCESS, "no expires_in: success");
    ok(body && len == r.len && memcmp(body, r.body, len) == 0,
       "no expires_in: the body byte for byte as recorded");
    r = answered("{\"access_token\":\"AT\",\"expires_in\":\"3600\"}");
    alx_grace_replay_body(p, &r, T0 + 100 * SEC, &body, &len);
    is_str(body, r.body, "string expires_in: as recorded");
    r = answered("{\"access_token\":\"AT\",\"expires_in\":3600.5}");
    alx_grace_replay_body(p, &r, T0 + 100 * SEC, &body, &len);
    is_str(body, r.body, "real expires_in: as recorded");

    r = answered("access_token=AT&expires_in=3600");
    is_int(alx_grace_replay_body(p, &r, T0, &body, &len), APR_EINVAL,
           "form body: EINVAL");
    ok(body == NULL && len == 0, "EINVAL: no body");
    r = answered("[{\"expires_in\":3600}]");
    is_int(alx_grace_replay_body(p, &r, T0, &body, &len), APR_EINVAL,
           "JSON array: EINVAL");
    r = answered("{\"expires_in\":3600");
    is_int(alx_grace_replay_body(p, &r, T0, &body, &len), APR_EINVAL,
           "truncated JSON: EINVAL");
    r = answered("");
    is_int(alx_grace_replay_body(p, &r, T0, &body, &len), APR_EINVAL,
           "empty body: EINVAL");
    r = answered(NULL);
    is_int(alx_grace_replay_body(p, &r, T0, &body, &len), APR_EINVAL,
           "no body: EINVAL");
    r = answered("{\"expires_in\":60}");
    r.len = 8;
    is_int(alx_grace_replay_body(p, &r, T0, &body, &len), APR_EINVAL,
           "only len bytes are read");
}

static void test_successor(apr_pool_t *p)
{
    alx_grace_record_t r = answered(ANSWER);

    is_str(alx_grace_successor(p, &r), SUCCESSOR, "successor present");
    r = answered("{\"access_token\":\"AT\",\"expires_in\":3600}");
    is_str(alx_grace_successor(p, &r), NULL, "successor absent");
    r = answered("{\"refresh_token\":12345}");
    is_str(alx_grace_successor(p, &r), NULL, "number: no successor");
    r = answered("{\"refresh_token\":null}");
    is_str(alx_grace_successor(p, &r), NULL, "null: no successor");
    r = answered("{\"refresh_token\":[\"RT\"]}");
    is_str(alx_grace_successor(p, &r), NULL, "array: no successor");
    r = answered("refresh_token=RT");
    is_str(alx_grace_successor(p, &r), NULL, "not JSON: no successor");
    r = answered("{\"x\":{\"refresh_token\":\"RT\"}}");
    is_str(alx_grace_successor(p, &r), NULL, "nested only: no successor");
    is_str(alx_grace_successor(p, NULL), NULL, "no record: no successor");
    r = answered("{\"refresh_token\":\"\"}");
    is_str(alx_grace_successor(p, &r), "", "empty string is a string");
}

static void test_sealed_max(apr_pool_t *p)
{
    alx_grace_keys_t k = keys_of(CLIENT, SECRET, PRESENTED);
    alx_grace_record_t in = answered(NULL), out;
    apr_size_t sizes[] = { 0, 1, 7, 300, 65536 };
    unsigned char *sealed;
    unsigned int len;
    char *body;
    apr_size_t i, j, n;
    int within = 0, exact = 0, opened = 0;

    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        n = sizes[i];
        body = apr_palloc(p, n + 1);
        /* Quotes, backslashes, control and non-ASCII bytes: what JSON
         * escaping would blow up. */
        for (j = 0; j < n; j++)
            body[j] = "\"\\\x01\n\x7f\xc3\xa9\xff\0"[j % 9];
        body[n] = '\0';
        in.body = body;
        in.len = n;
        if (alx_grace_seal(p, &k, &in, &sealed, &len) != APR_SUCCESS)
            continue;
        within += len <= alx_grace_sealed_max(n);
        exact += len == alx_grace_sealed_max(n);
        opened += alx_grace_open(p, &k, sealed, len, &out) == APR_SUCCESS
                  && same_record(&in, &out);
    }
    is_int(within, 5, "sealed_max bounds every awkward body");
    is_int(exact, 5, "and is exact (fixed overhead, no escaping)");
    is_int(opened, 5, "and every one opens to the same bytes");
    is_int(alx_grace_sealed_max(0), 74, "overhead: 4+1+12+41+16 bytes");
    ok(alx_grace_sealed_max((apr_size_t)-1) == (apr_size_t)-1,
       "sealed_max saturates instead of wrapping");
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    ok(alx_crypto_create(p, &crypto) == APR_SUCCESS && crypto != NULL,
       "the per-process crypto objects are made");
    test_derive(p);
    test_no_crypto(p);
    test_deriver();
    test_round_trip(p);
    test_seal_rejects(p);
    test_wrong_key(p);
    test_tamper(p);
    test_malformed_plaintext(p);
    test_secrecy(p);
    test_decide();
    test_expired();
    test_replay_body(p);
    test_parsed_once(p);
    test_flat_record(p);
    test_successor(p);
    test_sealed_max(p);
    test_answers(p);
    apr_pool_destroy(p);
    apr_terminate();
    return tap_done();
}

/* libFuzzer target for lib/alx_grace.c. The input is tried two ways: as a
 * sealed record (opening anything must fail cleanly or give a record that
 * seals and opens again unchanged), and as the body of an answer (sealed,
 * opened back byte for byte, replayed, its successor read). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>

#include "alx_grace.h"
#include "fuzz.h"

static alx_grace_keys_t fuzz_keys;
static apr_pool_t *crypto_pool;

/* Registered after OpenSSL's own exit handler, so it runs first: the
 * objects we hold go back before OpenSSL tears down what they point to. */
static void crypto_done(void)
{
    apr_pool_destroy(crypto_pool);
}

#define T0 ((apr_time_t)1704067200 * APR_USEC_PER_SEC)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    alx_crypto_t *crypto;

    fuzz_start();
    apr_pool_create(&crypto_pool, fuzz_root);
    if (alx_crypto_create(crypto_pool, &crypto) != APR_SUCCESS)
        abort();
    atexit(crypto_done);
    /* The seeds in corpus/fuzz_grace/sealed-* are sealed with these. */
    alx_grace_derive(crypto, "fuzz-client", "fuzz-secret", "fuzz-refresh-token",
                     &fuzz_keys);
    return 0;
}

static void check_same(const alx_grace_record_t *a,
                       const alx_grace_record_t *b)
{
    check(a->pending == b->pending);
    check(a->claim == b->claim);
    check(a->issued == b->issued);
    check(a->upstream_ttl == b->upstream_ttl);
    check(a->sent_ttl == b->sent_ttl);
    check(a->replays == b->replays);
    check(a->len == b->len);
    check(a->body && b->body && memcmp(a->body, b->body, a->len) == 0);
    check(a->body[a->len] == '\0' && b->body[b->len] == '\0');
}

/* A record survives a second seal unchanged. */
static void check_reseal(apr_pool_t *p, const alx_grace_record_t *rec)
{
    alx_grace_record_t again;
    unsigned char *sealed;
    unsigned int len;

    check(alx_grace_seal(p, &fuzz_keys, rec, &sealed, &len) == APR_SUCCESS);
    check(len == alx_grace_sealed_max(rec->len));
    check(alx_grace_open(p, &fuzz_keys, sealed, len, &again) == APR_SUCCESS);
    check_same(rec, &again);
}

static void check_replay(apr_pool_t *p, alx_grace_record_t *rec,
                         apr_time_t now)
{
    const char *body, *again, *successor;
    apr_size_t len, again_len;

    if (alx_grace_replay_body(p, rec, now, &body, &len) == APR_SUCCESS)
        check(body != NULL && (body == rec->body || strlen(body) == len));
    else
        check(body == NULL && len == 0);
    /* The parsed body is kept in rec: a second replay sees the record as
     * it was, not as the first one changed it. */
    alx_grace_replay_body(p, rec, now + 7 * APR_USEC_PER_SEC, &again,
                          &again_len);
    alx_grace_replay_body(p, rec, now, &again, &again_len);
    check(again_len == len && (len == 0 || memcmp(again, body, len) == 0));
    successor = alx_grace_successor(p, rec);
    (void)successor;
    (void)alx_grace_decide(rec, now, 30 * APR_USEC_PER_SEC, 3,
                           2 * APR_USEC_PER_SEC);
}

/* Waiters' answers: any bytes open or are refused; sealing any body opens
 * back to the same status, type and bytes. */
static void check_answer(apr_pool_t *p, const uint8_t *data, size_t size)
{
    const char *ct, *body;
    apr_size_t body_len;
    unsigned char *sealed;
    unsigned int len;
    int status;

    if (alx_grace_open_answer(p, &fuzz_keys, data, (unsigned int)size,
                              &status, &ct, &body, &body_len) == APR_SUCCESS)
        check(status >= 0 && status <= 0xffff && body != NULL
              && strlen(body) <= body_len);
    else
        check(body == NULL && status == 0);
    check(alx_grace_seal_answer(p, &fuzz_keys, 200 + (int)(size % 400),
                                size ? "application/json" : NULL,
                                (const char *)data, size, &sealed, &len)
          == APR_SUCCESS);
    check(alx_grace_is_answer(sealed, len));
    check(alx_grace_open_answer(p, &fuzz_keys, sealed, len, &status, &ct,
                                &body, &body_len) == APR_SUCCESS
          && status == 200 + (int)(size % 400) && body_len == size
          && (size == 0 || memcmp(body, data, size) == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    alx_grace_record_t rec, opened;
    apr_pool_t *p;
    unsigned char *sealed;
    unsigned int len;

    if (size > 1 << 20)
        return 0;
    apr_pool_create(&p, fuzz_root);

    if (alx_grace_open(p, &fuzz_keys, data, (unsigned int)size, &rec)
        == APR_SUCCESS) {
        check(rec.len + alx_grace_sealed_max(0) == size);
        check_reseal(p, &rec);
        check_replay(p, &rec, rec.issued + 90 * APR_USEC_PER_SEC);
    } else {
        check(rec.body == NULL && rec.len == 0);
    }

    check_answer(p, data, size);

    memset(&rec, 0, sizeof(rec));
    rec.claim = size * 0x9e3779b97f4a7c15ULL;
    rec.issued = T0;
    rec.upstream_ttl = size ? data[0] : -1;
    rec.sent_ttl = 3600;
    rec.replays = (int)(size % 5);
    rec.body = (const char *)data;
    rec.len = size;
    check(alx_grace_seal(p, &fuzz_keys, &rec, &sealed, &len) == APR_SUCCESS);
    check(len == alx_grace_sealed_max(size));
    check(alx_grace_open(p, &fuzz_keys, sealed, len, &opened) == APR_SUCCESS);
    check(opened.pending == 0 && opened.claim == rec.claim
          && opened.issued == rec.issued
          && opened.upstream_ttl == rec.upstream_ttl
          && opened.sent_ttl == rec.sent_ttl
          && opened.replays == rec.replays && opened.len == size
          && (size == 0 || memcmp(opened.body, data, size) == 0));
    check_replay(p, &opened, T0 + (apr_time_t)size * 997 * 1000);

    apr_pool_destroy(p);
    return 0;
}

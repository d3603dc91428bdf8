/* libFuzzer target for lib/alx_link.c. The input is tried three ways: as
 * a record's plaintext (decoding anything fails cleanly, or encodes back to
 * the same bytes), as a sealed record (opening fails cleanly, or the record
 * seals and opens again unchanged), and as the upstream's answer to a
 * keep-alive refresh (whatever it is, the link stays consistent and
 * Alexa's next presentation gets a decision it can act on). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <jansson.h>

#include "alx_link.h"
#include "fuzz.h"
#include "../t/unit/linkstore.h"

#define SEC APR_USEC_PER_SEC
#define T0 ((apr_time_t)1704067200 * SEC)

static apr_pool_t *crypto_pool;
static alx_link_key_t fuzz_keys[2];
/* The seeds in corpus/fuzz_link/sealed-* are sealed under this id with
 * fuzz_keys[0]. */
static unsigned char fuzz_id[ALX_LINK_ID_LEN];

/* Runs before OpenSSL's exit handler: our objects go back first. */
static void crypto_done(void)
{
    apr_pool_destroy(crypto_pool);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const unsigned char a[32] = "fuzz-link-key-one..............";
    static const unsigned char b[32] = "fuzz-link-key-two..............";
    alx_crypto_t *crypto;

    (void)argc;
    (void)argv;
    fuzz_start();
    apr_pool_create(&crypto_pool, fuzz_root);
    if (alx_crypto_create(crypto_pool, &crypto) != APR_SUCCESS
        || alx_link_key_init(crypto, a, sizeof(a), &fuzz_keys[0])
           != APR_SUCCESS
        || alx_link_key_init(crypto, b, sizeof(b), &fuzz_keys[1])
           != APR_SUCCESS
        || alx_link_id(&fuzz_keys[0], "fuzz-client", "fuzz-rt", fuzz_id)
           != APR_SUCCESS)
        abort();
    atexit(crypto_done);
    return 0;
}

static void check_plain(apr_pool_t *p, const uint8_t *data, size_t size)
{
    alx_link_t l, again;
    unsigned char *enc;
    apr_size_t len;

    if (alx_link_decode(p, data, size, &l) != APR_SUCCESS) {
        check(l.client_id == NULL && l.refresh_token == NULL);
        return;
    }
    /* One encoding per record: it writes back exactly what it read. */
    check(alx_link_encode(p, &l, &enc, &len) == APR_SUCCESS);
    check(len == size && memcmp(enc, data, size) == 0);
    check(alx_link_decode(p, enc, len, &again) == APR_SUCCESS);
    check(l.state == ALX_LINK_LIVE ? l.refresh_token != NULL
                                   : l.refresh_token == NULL);
    (void)alx_link_due(&l);
}

static void check_sealed(apr_pool_t *p, const uint8_t *data, size_t size)
{
    alx_link_t l, again;
    unsigned char *sealed;
    unsigned int len;
    apr_status_t rv = alx_link_open(p, fuzz_keys, 2, fuzz_id, data,
                                    (unsigned int)size, &l);

    if (rv != APR_SUCCESS) {
        check(rv == APR_EINVAL || rv == ALX_LINK_UNKNOWN_KEY);
        check(l.client_id == NULL);
        return;
    }
    check(alx_link_seal(p, &fuzz_keys[1], fuzz_id, &l, &sealed, &len)
          == APR_SUCCESS);
    check(alx_link_open(p, fuzz_keys, 2, fuzz_id, sealed, len, &again)
          == APR_SUCCESS);
    check(again.failures == l.failures && again.refreshed == l.refreshed
          && again.answer_len == l.answer_len
          && strcmp(again.client_id, l.client_id) == 0);
}

/* A link kept once with the input as the upstream's answer, its first
 * byte choosing the status. */
static void check_answer(apr_pool_t *p, const uint8_t *data, size_t size)
{
    static const int statuses[4] = {200, 400, 401, 503};
    ls_fleet_t *fleet = calloc(1, sizeof(*fleet));
    ls_server_t server;
    alx_link_ctx_t ctx = {p, &server.ops, fuzz_keys, 1, 30 * SEC};
    alx_link_seen_t in;
    alx_link_ka_t ka;
    alx_link_presented_t pr;
    int status = size ? statuses[data[0] & 3] : 0;
    apr_time_t asked;

    fleet->clock = T0;
    ls_server_init(&server, fleet, "fuzz");
    memset(&in, 0, sizeof(in));
    in.client_id = "fuzz-client";
    in.token_url = "https://idp.example/token";
    in.interval = 86400 * SEC;
    in.keep_for = 30 * 86400 * SEC;
    in.alexa_token = "fuzz-rt";
    in.ttl = 3600;
    in.refreshed = 1;
    check(alx_link_seen(&ctx, NULL, &in) == APR_SUCCESS);
    fleet->clock += 86400 * SEC;
    check(alx_link_keepalive(&ctx, &ka) == APR_SUCCESS
          && ka.kind == ALX_LINK_KA_REFRESH);
    asked = fleet->clock;
    fleet->clock += (apr_time_t)(size % 7200) * SEC;
    check(alx_link_answered(&ctx, &ka, status, size % 2 ? NULL
                            : "application/json", (const char *)data + 1,
                            size ? size - 1 : 0) == APR_SUCCESS);
    check(ka.kind == ALX_LINK_KA_REFRESHED || ka.kind == ALX_LINK_KA_BACKOFF
          || ka.kind == ALX_LINK_KA_ENDED_UPSTREAM);
    check(ka.next_due > asked);
    check(ls_count(fleet) == 1 && fleet->rows[0].owner == NULL);
    check(alx_link_present(&ctx, "fuzz-client", "fuzz-rt", &pr)
          == APR_SUCCESS);
    if (pr.decision == ALX_LINK_ANSWER) {
        json_error_t err;
        json_t *v = json_loadb(pr.body, pr.len, 0, &err);

        check(json_is_object(v) && pr.ttl >= 360
              && json_integer_value(json_object_get(v, "expires_in"))
                 == pr.ttl
              && strcmp(json_string_value(json_object_get(v, "refresh_token")),
                        pr.refresh_token) == 0);
        json_decref(v);
    }
    if (pr.decision == ALX_LINK_REFRESH)
        check(pr.refresh_token && strcmp(pr.refresh_token, "fuzz-rt") != 0);
    if (pr.hold.until)
        check(alx_link_release(&ctx, &pr.hold) == APR_SUCCESS);
    ls_fleet_free(fleet);
    free(fleet);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;

    if (size > 1 << 16)
        return 0;
    apr_pool_create(&p, fuzz_root);
    check_plain(p, data, size);
    check_sealed(p, data, size);
    check_answer(p, data, size);
    apr_pool_destroy(p);
    return 0;
}

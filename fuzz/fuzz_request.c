/* libFuzzer target for the token request preparation.
 * Input: one byte choosing mode and content type, then an optional
 * Authorization value ending at the first '\n', then the body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "alx_basic.h"
#include "alx_form.h"
#include "alx_request.h"

static apr_pool_t *root;

static const char *const content_types[] = {
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=UTF-8",
    "APPLICATION/X-WWW-FORM-URLENCODED",
    "text/plain"
};

static int is_credential(const char *name)
{
    return strcmp(name, "client_id") == 0 || strcmp(name, "client_secret") == 0;
}

/* The parameters other than the client credentials, in order. */
static apr_array_header_t *others(apr_pool_t *p, const char *body,
                                  apr_size_t len)
{
    apr_array_header_t *pairs, *kept = apr_array_make(p, 8, sizeof(alx_pair_t));
    const char *err;
    int i;

    if (alx_form_parse(p, body ? body : "", body ? len : 0, &pairs, &err)
        != APR_SUCCESS)
        abort();
    for (i = 0; i < pairs->nelts; i++) {
        const alx_pair_t *pair = &((const alx_pair_t *)pairs->elts)[i];

        if (!is_credential(pair->name))
            *(alx_pair_t *)apr_array_push(kept) = *pair;
    }
    return kept;
}

static int same(const apr_array_header_t *a, const apr_array_header_t *b)
{
    return strcmp(alx_form_encode(a->pool, a, NULL),
                  alx_form_encode(b->pool, b, NULL)) == 0;
}

static void check_changed(apr_pool_t *p, const char *body, apr_size_t len,
                          alx_client_auth_e mode, const alx_token_request_t *out)
{
    apr_array_header_t *sent;
    const char *id, *secret, *err;

    if (!same(others(p, body, len), others(p, out->body, out->body_len))
        || alx_form_parse(p, out->body, out->body_len, &sent, &err)
           != APR_SUCCESS
        || strlen(out->body) != out->body_len)
        abort();
    if (mode == ALX_AUTH_BASIC) {
        if (alx_basic_parse(p, out->authorization, &id, &secret, &err)
            != APR_SUCCESS
            || strcmp(id, out->client_id) != 0
            || strcmp(secret, out->client_secret) != 0
            || alx_form_get(sent, "client_id")
            || alx_form_get(sent, "client_secret"))
            abort();
    }
    else if (mode == ALX_AUTH_BODY) {
        secret = alx_form_get(sent, "client_secret");
        if (out->authorization
            || strcmp(alx_form_get(sent, "client_id"), out->client_id) != 0
            || (*out->client_secret
                ? !secret || strcmp(secret, out->client_secret) != 0 : !!secret)
            || alx_form_duplicate(sent))
            abort();
    }
    else {
        abort();
    }
}

static void check(apr_pool_t *p, const char *body, apr_size_t len,
                  const char *authorization, alx_client_auth_e mode,
                  const alx_token_request_t *out)
{
    if (strcmp(out->auth_in, "basic") != 0 && strcmp(out->auth_in, "body") != 0
        && strcmp(out->auth_in, "none") != 0)
        abort();
    if (out->status) {
        if ((out->status != 400 && out->status != 401) || !out->error
            || !out->error_description || out->reason == ALX_REASON_NONE
            || out->changed
            || out->body != body || out->authorization != authorization)
            abort();
        return;
    }
    if (out->error || out->reason != ALX_REASON_NONE)
        abort();
    if (!out->changed) {
        if (out->body != body || out->body_len != len
            || out->authorization != authorization)
            abort();
        return;
    }
    check_changed(p, body, len, mode, out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static apr_pool_t *p;
    const char *authorization = NULL, *body, *newline;
    alx_client_auth_e mode;
    alx_token_request_t out;
    const char *content_type;
    apr_size_t len;

    if (!root) {
        apr_initialize();
        apr_pool_create(&root, NULL);
        apr_pool_create(&p, root);
    }
    if (size < 1)
        return 0;
    apr_pool_clear(p);
    mode = (alx_client_auth_e)(data[0] % 3);
    content_type = content_types[(data[0] >> 2) % 4];
    body = (const char *)data + 1;
    len = size - 1;
    newline = memchr(body, '\n', len);
    if (newline) {
        authorization = apr_pstrmemdup(p, body, (apr_size_t)(newline - body));
        len -= (apr_size_t)(newline - body) + 1;
        body = newline + 1;
    }
    /* An exact-size copy, so that reading past len trips ASan. */
    body = len ? apr_pmemdup(p, body, len) : NULL;
    alx_token_request_prepare(p, content_type, body, len, authorization, mode,
                              &out);
    check(p, body, len, authorization, mode, &out);
    return 0;
}

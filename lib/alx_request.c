/* The token request as Alexa sends it: checks, learns, converts client auth. */
#include <string.h>
#include <strings.h>

#include <apr_strings.h>

#include "alx_basic.h"
#include "alx_form.h"
#include "alx_request.h"

#define ALX_REASON_NAME(id, name) name,
static const char *const reason_names[] = { ALX_REASONS(ALX_REASON_NAME) };

const char *alx_reason_name(alx_reason_e reason)
{
    return (unsigned)reason < ALX_REASON_COUNT ? reason_names[reason]
                                               : reason_names[ALX_REASON_NONE];
}

static void reject(alx_token_request_t *out, int status, const char *error,
                   const char *description, alx_reason_e reason)
{
    out->status = status;
    out->error = error;
    out->error_description = description;
    out->reason = reason;
}

/* The media type, case-insensitive, optionally followed by parameters. */
static int is_form_content_type(const char *content_type)
{
    static const char form[] = "application/x-www-form-urlencoded";
    const char *c = content_type;

    if (!c)
        return 0;
    while (*c == ' ' || *c == '\t')
        c++;
    if (strncasecmp(c, form, sizeof(form) - 1) != 0)
        return 0;
    c += sizeof(form) - 1;
    while (*c == ' ' || *c == '\t')
        c++;
    return *c == '\0' || *c == ';';
}

static void learn_from_body(alx_token_request_t *out,
                            const apr_array_header_t *pairs)
{
    out->grant_type = alx_form_get(pairs, "grant_type");
    out->code = alx_form_get(pairs, "code");
    out->refresh_token = alx_form_get(pairs, "refresh_token");
    out->client_id = alx_form_get(pairs, "client_id");
    out->client_secret = alx_form_get(pairs, "client_secret");
    if (out->client_id)
        out->auth_in = "body";
}

static void send_body(apr_pool_t *p, const apr_array_header_t *pairs,
                      alx_token_request_t *out)
{
    out->body = alx_form_encode(p, pairs, &out->body_len);
    out->changed = 1;
}

/* Basic -> body: client_id keeps its place when already there (it equals the
 * Basic one by now); an empty secret is omitted, as RFC 6749 2.3.1 allows. */
static void move_to_body(apr_pool_t *p, apr_array_header_t *pairs,
                         alx_token_request_t *out)
{
    alx_form_set(pairs, "client_id", out->client_id);
    if (*out->client_secret)
        alx_form_set(pairs, "client_secret", out->client_secret);
    out->authorization = NULL;
    send_body(p, pairs, out);
}

/* Body -> Basic, only for a confidential client whose credentials Basic can
 * carry, and with no Authorization header of another scheme to replace. */
static void move_to_basic(apr_pool_t *p, apr_array_header_t *pairs,
                          const char *authorization, alx_token_request_t *out)
{
    if (authorization || !out->client_secret
        || !alx_basic_can_carry(out->client_id, out->client_secret))
        return;
    alx_form_remove(pairs, "client_id");
    alx_form_remove(pairs, "client_secret");
    out->authorization = alx_basic_build(p, out->client_id, out->client_secret);
    send_body(p, pairs, out);
}

/* Basic credentials were parsed: check them against the body, then learn. */
static void take_basic(apr_pool_t *p, apr_array_header_t *pairs,
                       const char *basic_id, const char *basic_secret,
                       alx_client_auth_e mode, alx_token_request_t *out)
{
    const char *body_id = out->client_id;
    const char *body_secret = out->client_secret;

    out->auth_in = "basic";
    out->client_id = basic_id;
    out->client_secret = basic_secret;
    if (body_secret) {
        reject(out, 400, "invalid_request",
               "client credentials sent both in HTTP Basic and in the body",
               ALX_REASON_TWO_AUTH);
        return;
    }
    if (body_id && strcmp(body_id, basic_id) != 0) {
        reject(out, 400, "invalid_request",
               "client_id in the body differs from the HTTP Basic one",
               ALX_REASON_CLIENT_MISMATCH);
        return;
    }
    if (mode == ALX_AUTH_BODY)
        move_to_body(p, pairs, out);
}

void alx_token_request_prepare(apr_pool_t *p, const char *content_type,
                               const char *body, apr_size_t len,
                               const char *authorization,
                               alx_client_auth_e mode,
                               alx_token_request_t *out)
{
    apr_array_header_t *pairs;
    const char *err, *basic_id, *basic_secret;
    apr_status_t rv;

    memset(out, 0, sizeof(*out));
    out->auth_in = "none";
    out->body = body;
    out->body_len = len;
    out->authorization = authorization;

    if (!is_form_content_type(content_type)) {
        reject(out, 400, "invalid_request",
               "the token request must be application/x-www-form-urlencoded",
               ALX_REASON_CONTENT_TYPE);
        return;
    }
    if (alx_form_parse(p, body ? body : "", body ? len : 0, &pairs, &err)
        != APR_SUCCESS) {
        reject(out, 400, "invalid_request",
               apr_pstrcat(p, "malformed request body: ", err, NULL),
               ALX_REASON_FORM);
        return;
    }
    out->pairs = pairs;
    learn_from_body(out, pairs);
    if (alx_form_duplicate(pairs)) {
        reject(out, 400, "invalid_request",
               "a request parameter was sent more than once",
               ALX_REASON_DUPLICATE);
        return;
    }
    rv = alx_basic_parse(p, authorization, &basic_id, &basic_secret, &err);
    if (rv == APR_SUCCESS) {
        take_basic(p, pairs, basic_id, basic_secret, mode, out);
    }
    else if (rv != APR_ENOENT) {
        reject(out, 401, "invalid_client",
               apr_pstrcat(p, "malformed HTTP Basic credentials: ", err, NULL),
               ALX_REASON_BASIC);
    }
    else if (mode == ALX_AUTH_BASIC) {
        move_to_basic(p, pairs, authorization, out);
    }
}

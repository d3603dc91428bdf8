/* The token request as Alexa sends it: checks, learns, converts client auth. */
#ifndef ALX_REQUEST_H
#define ALX_REQUEST_H

#include <apr_pools.h>
#include <apr_tables.h>

typedef enum {
    ALX_AUTH_AS_IS = 0,
    ALX_AUTH_BASIC,
    ALX_AUTH_BODY
} alx_client_auth_e;

/* Why a token request was rejected: its word is the log's (ALX0110 and
 * the verdict rejected:<reason>). The words are the public interface. */
#define ALX_REASONS(X) \
    X(NONE, "-")                        /* not rejected */ \
    X(CONTENT_TYPE, "content-type")     /* not a form */ \
    X(FORM, "form")                     /* the form does not parse */ \
    X(DUPLICATE, "duplicate")           /* a parameter twice */ \
    X(BASIC, "basic")                   /* malformed HTTP Basic */ \
    X(TWO_AUTH, "two-auth")             /* Basic and a body secret */ \
    X(CLIENT_MISMATCH, "client-mismatch") /* Basic and body ids differ */ \
    X(OVERSIZE, "oversize")             /* over AlexaLinkMaxBody (the glue) */

#define ALX_REASON_ENUM(id, name) ALX_REASON_##id,
typedef enum { ALX_REASONS(ALX_REASON_ENUM) ALX_REASON_COUNT } alx_reason_e;

/* The word of a reason; "-" for one out of range. */
const char *alx_reason_name(alx_reason_e reason);

typedef struct {
    /* Learned. code, refresh_token and client_secret are secrets: never log. */
    const char *grant_type;
    const char *client_id;
    const char *client_secret;
    const char *code;
    const char *refresh_token;
    const char *auth_in;        /* "basic", "body" or "none" */

    /* What to send upstream. */
    int changed;                /* body or Authorization differ from input */
    const char *body;           /* == input body when unchanged */
    apr_size_t body_len;
    const char *authorization;  /* Authorization value to send; NULL = none */
    /* The form as body says it (alx_form pairs; NULL when rejected before
     * it parsed), so that nobody parses the body again. */
    const apr_array_header_t *pairs;

    /* Rejection: status 0 = go ahead, else 400 or 401. */
    int status;
    const char *error;              /* RFC 6749 5.2 code */
    const char *error_description;  /* secret-free */
    alx_reason_e reason;            /* ALX_REASON_NONE unless rejected */
} alx_token_request_t;

/* content_type and authorization are request header values (may be NULL);
 * body is the whole request body (the caller enforces the size limit
 * and rejects with ALX_REASON_OVERSIZE).
 * Rules:
 * - content type must be application/x-www-form-urlencoded (case-insensitive,
 *   parameters allowed) -> else 400 invalid_request, reason content-type;
 * - the form must parse (alx_form_parse) -> else 400 invalid_request, form;
 * - no parameter twice -> else 400 invalid_request, duplicate;
 * - an Authorization header of the Basic scheme must parse -> else
 *   401 invalid_client, basic; other schemes are left alone;
 * - Basic plus client_secret in the body -> 400 invalid_request, two-auth;
 * - Basic plus a body client_id that differs -> 400 invalid_request,
 *   client-mismatch;
 * - mode BASIC: body client_id + client_secret become a Basic header and
 *   leave the body (a public client, id without secret, stays as it is);
 * - mode BODY: Basic becomes client_id + client_secret body fields and the
 *   Authorization header goes; a body client_id equal to the Basic one is
 *   not repeated;
 * - every other parameter (code_verifier, redirect_uri, scope, ...) passes
 *   through untouched and in order. An unchanged request keeps its exact
 *   bytes (body points at the input). */
void alx_token_request_prepare(apr_pool_t *p, const char *content_type,
                               const char *body, apr_size_t len,
                               const char *authorization,
                               alx_client_auth_e mode,
                               alx_token_request_t *out);

#endif

/* Token-endpoint answers: parse whatever the upstream sent, make it what
 * Alexa requires (SPEC "Token endpoint", response side). */
#ifndef ALX_ANSWER_H
#define ALX_ANSWER_H

#include <apr_pools.h>
#include <jansson.h>

#include "alx_fix.h"

typedef enum {
    ALX_BODY_EMPTY = 0,
    ALX_BODY_JSON,
    ALX_BODY_FORM,          /* application/x-www-form-urlencoded or form-shaped text */
    ALX_BODY_UNPARSEABLE
} alx_body_format_e;

typedef enum {
    ALX_KIND_TOKEN = 0,     /* has access_token: 200 JSON */
    ALX_KIND_ERROR,         /* has error: RFC 6749 5.2 JSON, 400/401 (500/503 for server_error/temporarily_unavailable) */
    ALX_KIND_SERVER_ERROR,  /* upstream 5xx: status and body kept */
    ALX_KIND_UNUSABLE,      /* 2xx that is neither token nor error: 502 server_error JSON */
    ALX_KIND_OPAQUE         /* non-2xx that does not parse to an error (HTML page),
                               or a token or error with a number jansson cannot
                               hold (reason "big number"): kept */
} alx_answer_kind_e;

/* What became of the refresh token; the words (alx_refresh_name, in
 * alx_exchange.h) are the log's refresh= field and alexalink-refresh note. */
#define ALX_REFRESHES(X) \
    X(NONE, "-")                /* not a token answer */ \
    X(ROTATED, "rotated")       /* a new one */ \
    X(KEPT, "kept")             /* the presented one given back */ \
    X(FORWARDED, "forwarded")   /* passed on as sent */ \
    X(ABSENT, "absent")         /* none in the answer */ \
    X(REPLAYED, "replayed")     /* answered from the grace store (the glue) */

#define ALX_REFRESH_ENUM(id, name) ALX_REFRESH_##id,
typedef enum { ALX_REFRESHES(ALX_REFRESH_ENUM) ALX_REFRESH_COUNT } alx_refresh_e;

#define ALX_TTL_ABSENT  (-1)
#define ALX_TTL_INVALID (-2)

/* What breaks an Alexa requirement even after the fixes. */
#define ALX_WARN_NO_REFRESH   0x01  /* code grant answered without refresh_token */
#define ALX_WARN_TTL_SHORT    0x02  /* expires_in sent below 360 s */
#define ALX_WARN_NO_TTL       0x04  /* no expires_in sent (AlexaLinkDefaultTTL 0) */

typedef struct {
    int status;                 /* upstream status */
    const char *content_type;   /* upstream Content-Type, may be NULL */
    const char *cache_control;  /* upstream Cache-Control, may be NULL */
    const char *body;
    apr_size_t len;
    const char *grant_type;     /* from the request, may be NULL */
    const char *presented_refresh_token;  /* refresh_token grant only, may be NULL */
    apr_int64_t min_ttl;        /* 0 disables the floor */
    apr_int64_t default_ttl;    /* 0: leave expires_in absent */
    int keep_refresh_token;
    apr_int64_t now;            /* the answer's time, seconds since the
                                   epoch: a JWT's exp is measured from it
                                   (0: not known, exp minus now unused) */
} alx_answer_in_t;

typedef struct {
    alx_answer_kind_e kind;
    int status;                 /* status to send */
    const char *body;           /* JSON to send; NULL = keep the upstream body */
    apr_size_t len;
    alx_body_format_e format_in;
    const char *shape_in;       /* alx_shape_* of the upstream body */
    const char *shape_out;      /* of what is sent */
    apr_int64_t ttl_in;         /* seconds, ALX_TTL_ABSENT or ALX_TTL_INVALID */
    apr_int64_t ttl_out;
    alx_refresh_e refresh;      /* ALX_REFRESH_NONE unless TOKEN */
    /* Learned lifetimes (SPEC), TOKEN only; 0 when not known: */
    apr_int64_t ttl_real;       /* the access token's own, from its exp */
    apr_int64_t refresh_life;   /* how long the refresh token lives
                                   (refresh_expires_in, or its exp) */
    int refresh_life_from_exp;  /* refresh_life is the token's exp's */
    const char *error_in;       /* log-safe error codes, NULL unless ERROR */
    const char *error_out;
    unsigned fixes;             /* ALX_FIX_* (alx_fix.h) */
    unsigned warnings;          /* ALX_WARN_* */
    const char *reason;         /* secret-free: why UNUSABLE or OPAQUE */
} alx_answer_t;

/* Parses a body: JSON when the content type is JSON (application/json or
 * +json) or the body starts with '{'; form when application/x-www-form-urlencoded,
 * or text/plain / absent type and alx_form_is_form_shaped. *obj is a JSON
 * object (form values as strings) whose reference the pool owns.
 * ALX_BODY_UNPARSEABLE with *reason ("html", "malformed JSON", "JSON not an
 * object", "malformed form", "text") otherwise; ALX_BODY_EMPTY for len 0
 * (*reason "empty"). For "JSON not an object" *obj is the parsed value (an
 * array, string, ...), pool-owned too, so its shape can be logged; else NULL.
 * A JSON object with a number jansson cannot hold exactly (an integer
 * beyond 64 bits, a real beyond a double) is ALX_BODY_UNPARSEABLE with
 * *reason "big number" and *obj the object with those numbers read as 0
 * (0.0 for reals): for its shape and kind only, never to be sent. A body
 * that is not such an object gets the reason it would get without those
 * numbers ("malformed JSON", "JSON not an object").
 * A form whose names or values are not UTF-8 is "malformed form". */
alx_body_format_e alx_answer_parse_body(apr_pool_t *p, const char *content_type,
                                        const char *body, apr_size_t len,
                                        json_t **obj, const char **reason);

/* GitHub and other non-standard token-endpoint error codes mapped to
 * RFC 6749 5.2 ones (bad_verification_code -> invalid_grant,
 * incorrect_client_credentials -> invalid_client, ...). Standard codes and
 * unknown ones come back as they are. */
const char *alx_error_standard(const char *code);

/* {"error":...,"error_description":...} (description omitted when NULL). */
const char *alx_error_json(apr_pool_t *p, const char *error,
                           const char *description);

/* The same, and its shape for the log (alx_shape_json of the object the
 * body is written from: the answer need not be parsed again); shape may be
 * NULL. */
const char *alx_error_json_shaped(apr_pool_t *p, const char *error,
                                  const char *description, const char **shape);

/* expires_in as whole seconds: 0 for a JSON integer >= 0, 1 when converted
 * (numeric string, real: truncated), -1 when unusable (negative, not a
 * number, huge). */
int alx_ttl_coerce(const json_t *v, apr_int64_t *out);

/* The whole response-side decision. Never fails; everything allocated from p.
 * A token answer that is a flat object (alx_flat) or a form of plain pairs,
 * nearly every one, is decided without jansson, to the same result. */
void alx_answer_normalize(apr_pool_t *p, const alx_answer_in_t *in,
                          alx_answer_t *out);

/* The two halves of alx_answer_normalize. The fast path returns 0 (out
 * untouched) for an answer it does not take; when it takes one, the
 * general path (through jansson) must come to the same result, field for
 * field and byte for byte (test_answer, fuzz_answer). */
int alx_answer_normalize_flat(apr_pool_t *p, const alx_answer_in_t *in,
                              alx_answer_t *out);
void alx_answer_normalize_general(apr_pool_t *p, const alx_answer_in_t *in,
                                  alx_answer_t *out);

#endif

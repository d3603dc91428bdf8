/* One line per token exchange for the error log, and its verdict. */
#ifndef ALX_EXCHANGE_H
#define ALX_EXCHANGE_H

#include <apr_pools.h>
#include "alx_answer.h"

typedef struct {
    const char *grant_type;     /* may be NULL */
    const char *client_id;      /* may be NULL; public, but sanitised */
    int status_in;              /* upstream status, 0 when none */
    int status_out;
    const char *shape_in;       /* may be NULL */
    const char *shape_out;      /* may be NULL */
    apr_int64_t ttl_in;         /* ALX_TTL_* allowed */
    apr_int64_t ttl_out;
    const char *refresh;        /* may be NULL */
    const char *verdict;
    apr_int64_t ms;
} alx_exchange_t;

/* grant=refresh_token client=alexa status=201->200
 * shape=form{...}->json{...} ttl=60->600 refresh=kept ms=12 verdict=...
 * Absent fields print as '-'; TTLs as a number, 'absent' or 'invalid'. */
const char *alx_exchange_line(apr_pool_t *p, const alx_exchange_t *x);

/* At most max bytes of s with anything outside [A-Za-z0-9._:/@+=-] shown
 * as '?', "-" for NULL: safe to print in a log line. */
const char *alx_log_safe(apr_pool_t *p, const char *s, apr_size_t max);

/* Comma-separated fix names: status,json,content-type,no-store,ttl-type,
 * ttl-floor,ttl-default,token-type,refresh-kept,error-code,unusable;
 * NULL when none. */
const char *alx_fix_names(apr_pool_t *p, unsigned fixes);

/* The verdict word for the log and the alexalink-verdict note:
 * ok | rewritten:<fixes> | would-rewrite:<fixes> (report) |
 * upstream-error:<code> | server-error | unusable:<reason> |
 * passthrough:<reason>. The reason is alx_answer_t's with spaces as '-'
 * (passthrough:html, passthrough:no-error-code, passthrough:big-number, ...). */
const char *alx_answer_verdict(apr_pool_t *p, const alx_answer_t *a, int report);

/* One sentence naming the cause and the fix for each warning, e.g. the
 * Google cause of a missing refresh token; NULL when there is none. */
const char *alx_warning_hint(apr_pool_t *p, unsigned warnings);

#endif

/* One line per token exchange for the error log, and its verdict. */
#ifndef ALX_EXCHANGE_H
#define ALX_EXCHANGE_H

#include <apr_pools.h>
#include "alx_answer.h"

/* The first word of a verdict, before any ':<detail>'; the words are the
 * log's verdict= field and alexalink-verdict note (the public interface). */
#define ALX_VERDICTS(X) \
    X(NONE, "-")                    /* none yet */ \
    X(OK, "ok") \
    X(REWRITTEN, "rewritten")       /* :<fixes> */ \
    X(WOULD_REWRITE, "would-rewrite") /* :<fixes>, report mode */ \
    X(UPSTREAM_ERROR, "upstream-error") /* :<code>[,rewritten:<fixes>] */ \
    X(SERVER_ERROR, "server-error") \
    X(UNUSABLE, "unusable")         /* [:<reason>] */ \
    X(PASSTHROUGH, "passthrough")   /* [:<reason>] */ \
    X(REJECTED, "rejected")         /* :<reason> (alx_reason_name) */ \
    X(WOULD_REJECT, "would-reject") /* :truncated, report mode */ \
    X(REPLAYED, "replayed")         /* [:duplicate] from the grace store */ \
    X(TRUNCATED, "truncated")       /* the upstream broke off */ \
    X(IN_FLIGHT_TIMEOUT, "in-flight-timeout") /* a duplicate waited too long */ \
    X(UNRECORDABLE, "unrecordable") /* 503: the token's answer passed through
                                       unread moments ago */

#define ALX_VERDICT_ENUM(id, name) ALX_VERDICT_##id,
typedef enum { ALX_VERDICTS(ALX_VERDICT_ENUM) ALX_VERDICT_COUNT } alx_verdict_e;

/* The words of a verdict kind and of a refresh fate; "-" out of range. */
const char *alx_verdict_name(alx_verdict_e kind);
const char *alx_refresh_name(alx_refresh_e refresh);

/* kind's word, or <word>:<detail> with spaces in detail as '-' (detail
 * NULL or empty: the word alone, not copied). */
const char *alx_verdict_word(apr_pool_t *p, alx_verdict_e kind,
                             const char *detail);

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

/* Comma-separated names of the fixes (alx_fix.h), in the table's order;
 * NULL when none. */
const char *alx_fix_names(apr_pool_t *p, unsigned fixes);

/* The verdict word for the log and the alexalink-verdict note:
 * ok | rewritten:<fixes> | would-rewrite:<fixes> (report) |
 * upstream-error:<code> | server-error | unusable:<reason> |
 * passthrough:<reason>. The reason is alx_answer_t's with spaces as '-'
 * (passthrough:html, passthrough:no-error-code, passthrough:big-number, ...). */
const char *alx_answer_verdict(apr_pool_t *p, const alx_answer_t *a, int report);

/* The kind of that verdict: ok, rewritten, would-rewrite, upstream-error,
 * server-error, unusable or passthrough. */
alx_verdict_e alx_answer_verdict_kind(const alx_answer_t *a, int report);

/* One sentence naming the cause and the fix for each warning, e.g. the
 * Google cause of a missing refresh token; NULL when there is none. */
const char *alx_warning_hint(apr_pool_t *p, unsigned warnings);

/* The levels of the exchange line: syslog's numbers, as httpd's APLOG_*. */
typedef enum {
    ALX_EXCHANGE_WARNING = 4,
    ALX_EXCHANGE_NOTICE = 5,
    ALX_EXCHANGE_INFO = 6
} alx_exchange_level_e;

/* What decides the exchange line's level besides the upstream's answer. */
typedef struct {
    int own;                 /* the module answered itself: a replay, a
                                duplicate's first answer, a 503 */
    int own_status;          /* that answer's status */
    alx_verdict_e own_kind;  /* and its verdict kind */
    int over_budget;         /* slower than AlexaLinkTimeBudget */
    int report;              /* report mode */
} alx_exchange_facts_t;

/* An answer of the module's own: notice within budget for a 200, or for a
 * replayed one (a duplicate's first answer) under 500; warning otherwise
 * (an upstream error there was logged with the first request). The
 * upstream's answer a: warning for warnings, over budget, unusable,
 * server error, opaque, or fixes in report mode; notice for fixes; info
 * otherwise. */
alx_exchange_level_e alx_exchange_level(const alx_answer_t *a,
                               const alx_exchange_facts_t *f);

/* The record of an answer of the module's own (f->own): no upstream TTL,
 * refresh=replayed for a 200, and ttl_out absent unless described (its
 * shape and TTL were set where the answer was made). */
void alx_exchange_own_answer(alx_answer_t *a, int status, int described);

/* The record and verdict kind of an exchange whose answer the filter never
 * saw (no body at all): opaque, no TTLs, passthrough with the detail
 * ALX_NO_BODY. */
#define ALX_NO_BODY "no-body"
alx_verdict_e alx_exchange_no_body(alx_answer_t *a);

/* The shape and expires_in of an answer of the module's own that was not
 * described where it was made (the first answer handed to a duplicate),
 * read back from its body as JSON: 1 with *shape and *ttl (ALX_TTL_ABSENT
 * unless an integer) for a JSON object, 0 otherwise (both left alone). */
int alx_exchange_describe(apr_pool_t *p, const char *body,
                          const char **shape, apr_int64_t *ttl);

#endif

/* The log line of a token exchange, its verdict and its hints. */
#include <string.h>

#include <apr_strings.h>

#include "alx_exchange.h"

#define ALX_GRANT_MAX 32
#define ALX_CLIENT_MAX 64
#define ALX_WORD_MAX 32
/* Shapes are capped at ALX_SHAPE_MAX + 3; verdicts are shorter still. */
#define ALX_FIELD_MAX 600

static int log_safe_byte(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9') || (c && strchr("._:/@+=-", c));
}

const char *alx_log_safe(apr_pool_t *p, const char *s, apr_size_t max)
{
    apr_size_t i, n;
    char *copy;

    if (!s)
        return "-";
    for (n = 0; n < max && s[n]; n++)
        ;
    copy = apr_palloc(p, n + 1);
    for (i = 0; i < n; i++)
        copy[i] = log_safe_byte(s[i]) ? s[i] : '?';
    copy[n] = '\0';
    return copy;
}

/* A field of the line: shapes and verdicts are ours and may hold { } ( ) ,
 * but a space, control or non-ASCII byte would still break the line. */
static const char *line_field(apr_pool_t *p, const char *s, apr_size_t max)
{
    apr_size_t i, n;
    char *copy;

    if (!s || !*s)
        return "-";
    for (n = 0; n < max && s[n]; n++)
        ;
    copy = apr_palloc(p, n + 1);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        copy[i] = (c <= 0x20 || c >= 0x7f) ? '?' : (char)c;
    }
    copy[n] = '\0';
    return copy;
}

/* An empty value prints as absent, so every field stays one token. */
static const char *safe_word(apr_pool_t *p, const char *s, apr_size_t max)
{
    return s && *s ? alx_log_safe(p, s, max) : "-";
}

static const char *status_text(apr_pool_t *p, int status)
{
    return status ? apr_itoa(p, status) : "-";
}

static const char *ttl_text(apr_pool_t *p, apr_int64_t ttl)
{
    if (ttl == ALX_TTL_ABSENT)
        return "absent";
    if (ttl < 0)
        return "invalid";
    return apr_psprintf(p, "%" APR_INT64_T_FMT, ttl);
}

const char *alx_exchange_line(apr_pool_t *p, const alx_exchange_t *x)
{
    return apr_psprintf(p,
        "grant=%s client=%s status=%s->%s shape=%s->%s ttl=%s->%s "
        "refresh=%s ms=%" APR_INT64_T_FMT " verdict=%s",
        safe_word(p, x->grant_type, ALX_GRANT_MAX),
        safe_word(p, x->client_id, ALX_CLIENT_MAX),
        status_text(p, x->status_in), status_text(p, x->status_out),
        line_field(p, x->shape_in, ALX_FIELD_MAX),
        line_field(p, x->shape_out, ALX_FIELD_MAX),
        ttl_text(p, x->ttl_in), ttl_text(p, x->ttl_out),
        safe_word(p, x->refresh, ALX_WORD_MAX),
        x->ms,
        line_field(p, x->verdict, ALX_FIELD_MAX));
}

static const char *const alx_fix_name[] = {
    "status", "json", "content-type", "no-store", "ttl-type", "ttl-floor",
    "ttl-default", "token-type", "refresh-kept", "error-code", "unusable"
};

const char *alx_fix_names(apr_pool_t *p, unsigned fixes)
{
    const char *names = NULL;
    apr_size_t i;

    for (i = 0; i < sizeof(alx_fix_name) / sizeof(alx_fix_name[0]); i++) {
        if (!(fixes & (1u << i)))
            continue;
        names = names ? apr_pstrcat(p, names, ",", alx_fix_name[i], NULL)
                      : alx_fix_name[i];
    }
    return names;
}

/* Reasons are ours ("malformed JSON"); the verdict is one word. */
static const char *reason_word(apr_pool_t *p, const char *word,
                               const char *reason)
{
    char *s, *c;

    if (!reason || !*reason)
        return word;
    s = apr_pstrcat(p, word, ":", reason, NULL);
    for (c = s; *c; c++)
        if (*c == ' ')
            *c = '-';
    return s;
}

const char *alx_answer_verdict(apr_pool_t *p, const alx_answer_t *a, int report)
{
    const char *fixes = alx_fix_names(p, a->fixes);
    const char *changed = fixes
        ? apr_pstrcat(p, report ? "would-rewrite:" : "rewritten:", fixes, NULL)
        : NULL;

    switch (a->kind) {
    case ALX_KIND_TOKEN:
        return changed ? changed : "ok";
    case ALX_KIND_ERROR: {
        const char *upstream = apr_pstrcat(p, "upstream-error:",
                                           a->error_out ? a->error_out : "-",
                                           NULL);
        return changed ? apr_pstrcat(p, upstream, ",", changed, NULL) : upstream;
    }
    case ALX_KIND_SERVER_ERROR:
        return "server-error";
    case ALX_KIND_UNUSABLE:
        return reason_word(p, "unusable", a->reason);
    default:
        return reason_word(p, "passthrough", a->reason);
    }
}

/* In the words of Amazon's account-linking debugging tips. */
static const struct {
    unsigned warning;
    const char *hint;
} alx_hint[] = {
    { ALX_WARN_NO_REFRESH,
      "no refresh_token in the authorization-code answer: Google gives a "
      "refresh_token only the first time a user authorizes, so request "
      "access_type=offline and prompt=consent (AlexaLinkForceOffline On), "
      "or revoke the app's access in the account and link again" },
    { ALX_WARN_TTL_SHORT,
      "access tokens must live more than 5 minutes (Alexa's minimum is "
      "360 s) and this one does not: raise AlexaLinkMinTTL or the server's "
      "access-token TTL" },
    { ALX_WARN_NO_TTL,
      "no expires_in sent, so Alexa cannot tell when to refresh: set "
      "AlexaLinkDefaultTTL" },
};

const char *alx_warning_hint(apr_pool_t *p, unsigned warnings)
{
    const char *hint = NULL;
    apr_size_t i;

    for (i = 0; i < sizeof(alx_hint) / sizeof(alx_hint[0]); i++) {
        if (!(warnings & alx_hint[i].warning))
            continue;
        hint = hint ? apr_pstrcat(p, hint, "; ", alx_hint[i].hint, NULL)
                    : alx_hint[i].hint;
    }
    return hint;
}

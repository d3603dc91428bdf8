/* The log line of a token exchange, its verdict and its hints. */
#include <string.h>

#include <apr_strings.h>

#include "alx_exchange.h"
#include "alx_shape.h"

#define ALX_GRANT_MAX 32
#define ALX_CLIENT_MAX 64
#define ALX_WORD_MAX 32
/* Shapes are capped at ALX_SHAPE_MAX + 3; verdicts are shorter still. */
#define ALX_FIELD_MAX 600

#define ALX_Q16 '?', '?', '?', '?', '?', '?', '?', '?', \
                '?', '?', '?', '?', '?', '?', '?', '?'

/* Each byte as alx_log_safe shows it: itself when in [A-Za-z0-9._:/@+=-],
 * else '?'. One load per byte instead of a call to strchr. */
static const char log_safe_map[256] = {
    ALX_Q16, ALX_Q16,
    '?', '?', '?', '?', '?', '?', '?', '?', '?', '?', '?', '+', '?', '-', '.', '/',
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', '?', '?', '=', '?', '?',
    '@', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O',
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', '?', '?', '?', '?', '_',
    '?', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', '?', '?', '?', '?', '?',
    ALX_Q16, ALX_Q16, ALX_Q16, ALX_Q16, ALX_Q16, ALX_Q16, ALX_Q16, ALX_Q16
};

/* A field of the line: shapes and verdicts are ours and may hold { } ( ) ,
 * but a space, control or non-ASCII byte would still break the line. */
static char line_byte(unsigned char c)
{
    return c > 0x20 && c < 0x7f ? (char)c : '?';
}

#define ALX_BYTES(b) (APR_UINT64_C(0x0101010101010101) * (b))

/* True when each of the 8 bytes at u is in 0x21..0x7e, so line_byte keeps
 * them all: the "has a byte less than n" test (exact for n <= 128) and the
 * "has a byte more than n" one, (w + (127 - n)) | w (exact for n <= 127). */
static int line_word(const unsigned char *u)
{
    apr_uint64_t w;

    memcpy(&w, u, sizeof(w));
    return !(((w - ALX_BYTES(0x21)) & ~w & ALX_BYTES(0x80))
             | (((w + ALX_BYTES(0x7f - 0x7e)) | w) & ALX_BYTES(0x80)));
}

/* Bytes of s before a NUL, at most max. */
static apr_size_t bounded_len(const char *s, apr_size_t max)
{
    apr_size_t n;

    for (n = 0; n < max && s[n]; n++)
        ;
    return n;
}

/* The same for the line's own small limits, where memchr's wide steps win. */
static apr_size_t field_len(const char *s, apr_size_t max)
{
    const char *nul = memchr(s, '\0', max);

    return nul ? (apr_size_t)(nul - s) : max;
}

static char *put_log_safe(char *d, const char *s, apr_size_t n)
{
    const unsigned char *u = (const unsigned char *)s, *stop = u + n;

    while (u < stop)
        *d++ = log_safe_map[*u++];
    return d;
}

/* Shapes are clean but long: eight bytes at a time while they stay so. */
static char *put_line_field(char *d, const char *s, apr_size_t n)
{
    const unsigned char *u = (const unsigned char *)s, *stop = u + n;

    for (; stop - u >= 8 && line_word(u); u += 8, d += 8)
        memcpy(d, u, 8);
    while (u < stop)
        *d++ = line_byte(*u++);
    return d;
}

static char *put_text(char *d, const char *s, apr_size_t n)
{
    memcpy(d, s, n);
    return d + n;
}

#define PUT_LITERAL(d, lit) put_text((d), (lit), sizeof(lit) - 1)

const char *alx_log_safe(apr_pool_t *p, const char *s, apr_size_t max)
{
    apr_size_t n;
    char *copy;

    if (!s)
        return "-";
    n = bounded_len(s, max);
    copy = apr_palloc(p, n + 1);
    *put_log_safe(copy, s, n) = '\0';
    return copy;
}

/* Longest apr_int64_t in decimal, with its sign: -9223372036854775808. */
#define ALX_INT64_DIGITS 20

/* Hand-rolled: apr_psprintf costs more than the rest of the line. Writes
 * the digits ending at end and returns where they start. */
static char *int64_text(char *end, apr_int64_t v)
{
    /* The magnitude in unsigned arithmetic, so the lowest value has one. */
    apr_uint64_t n = v < 0 ? 0 - (apr_uint64_t)v : (apr_uint64_t)v;

    do {
        *--end = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    if (v < 0)
        *--end = '-';
    return end;
}

/* A piece of the line, measured before the line is allocated. */
typedef struct {
    const char *s;
    apr_size_t len;
} alx_span_t;

static alx_span_t span_of(const char *s, apr_size_t len)
{
    alx_span_t span;

    span.s = s;
    span.len = len;
    return span;
}

/* An empty value prints as absent, so every field stays one token. */
static alx_span_t word_span(const char *s, apr_size_t max)
{
    return s && *s ? span_of(s, field_len(s, max)) : span_of("-", 1);
}

static alx_span_t field_span(const char *s)
{
    return s && *s ? span_of(s, field_len(s, ALX_FIELD_MAX))
                   : span_of("-", 1);
}

/* buf has room for ALX_INT64_DIGITS bytes. */
static alx_span_t number_span(char *buf, apr_int64_t v)
{
    char *end = buf + ALX_INT64_DIGITS;
    char *start = int64_text(end, v);

    return span_of(start, (apr_size_t)(end - start));
}

static alx_span_t status_span(char *buf, int status)
{
    return status ? number_span(buf, status) : span_of("-", 1);
}

static alx_span_t ttl_span(char *buf, apr_int64_t ttl)
{
    if (ttl == ALX_TTL_ABSENT)
        return span_of("absent", 6);
    if (ttl < 0)
        return span_of("invalid", 7);
    return number_span(buf, ttl);
}

/* The words between the fields, in order; their lengths add up to this. */
#define ALX_LINE_WORDS "grant=" " client=" " status=" "->" " shape=" "->" \
    " ttl=" "->" " refresh=" " ms=" " verdict="

const char *alx_exchange_line(apr_pool_t *p, const alx_exchange_t *x)
{
    char num[5][ALX_INT64_DIGITS];
    alx_span_t grant = word_span(x->grant_type, ALX_GRANT_MAX);
    alx_span_t client = word_span(x->client_id, ALX_CLIENT_MAX);
    alx_span_t status_in = status_span(num[0], x->status_in);
    alx_span_t status_out = status_span(num[1], x->status_out);
    alx_span_t shape_in = field_span(x->shape_in);
    alx_span_t shape_out = field_span(x->shape_out);
    alx_span_t ttl_in = ttl_span(num[2], x->ttl_in);
    alx_span_t ttl_out = ttl_span(num[3], x->ttl_out);
    alx_span_t refresh = word_span(x->refresh, ALX_WORD_MAX);
    alx_span_t ms = number_span(num[4], x->ms);
    alx_span_t verdict = field_span(x->verdict);
    apr_size_t len = sizeof(ALX_LINE_WORDS) - 1 + grant.len + client.len
                     + status_in.len + status_out.len + shape_in.len
                     + shape_out.len + ttl_in.len + ttl_out.len + refresh.len
                     + ms.len + verdict.len;
    char *line = apr_palloc(p, len + 1), *d = line;

    d = PUT_LITERAL(d, "grant=");
    d = put_log_safe(d, grant.s, grant.len);
    d = PUT_LITERAL(d, " client=");
    d = put_log_safe(d, client.s, client.len);
    d = PUT_LITERAL(d, " status=");
    d = put_text(d, status_in.s, status_in.len);
    d = PUT_LITERAL(d, "->");
    d = put_text(d, status_out.s, status_out.len);
    d = PUT_LITERAL(d, " shape=");
    d = put_line_field(d, shape_in.s, shape_in.len);
    d = PUT_LITERAL(d, "->");
    d = put_line_field(d, shape_out.s, shape_out.len);
    d = PUT_LITERAL(d, " ttl=");
    d = put_text(d, ttl_in.s, ttl_in.len);
    d = PUT_LITERAL(d, "->");
    d = put_text(d, ttl_out.s, ttl_out.len);
    d = PUT_LITERAL(d, " refresh=");
    d = put_log_safe(d, refresh.s, refresh.len);
    d = PUT_LITERAL(d, " ms=");
    d = put_text(d, ms.s, ms.len);
    d = PUT_LITERAL(d, " verdict=");
    d = put_line_field(d, verdict.s, verdict.len);
    *d = '\0';
    return line;
}

#define ALX_FIX_ENTRY(id, bit, name, counter) { bit, name, sizeof(name) - 1 },

static const struct {
    unsigned bit;
    const char *name;
    apr_size_t len;
} alx_fix_name[] = { ALX_FIXES(ALX_FIX_ENTRY) };

#define ALX_FIX_COUNT (sizeof(alx_fix_name) / sizeof(alx_fix_name[0]))

/* Length of the comma-separated names of fixes (known bits only). */
static apr_size_t fixes_len(unsigned fixes)
{
    apr_size_t i, len = 0;

    for (i = 0; i < ALX_FIX_COUNT; i++)
        if (fixes & alx_fix_name[i].bit)
            len += alx_fix_name[i].len + 1;
    return len ? len - 1 : 0;
}

static char *put_fixes(char *d, unsigned fixes)
{
    apr_size_t i;
    int first = 1;

    for (i = 0; i < ALX_FIX_COUNT; i++) {
        if (!(fixes & alx_fix_name[i].bit))
            continue;
        if (!first)
            *d++ = ',';
        d = put_text(d, alx_fix_name[i].name, alx_fix_name[i].len);
        first = 0;
    }
    return d;
}

const char *alx_fix_names(apr_pool_t *p, unsigned fixes)
{
    char *names;

    if (!(fixes & ALX_FIX_KNOWN))
        return NULL;
    names = apr_palloc(p, fixes_len(fixes) + 1);
    *put_fixes(names, fixes) = '\0';
    return names;
}

#define ALX_NAME_ENTRY(id, name) { name, sizeof(name) - 1 },

typedef struct {
    const char *name;
    apr_size_t len;
} alx_name_t;

static const alx_name_t verdict_names[] = { ALX_VERDICTS(ALX_NAME_ENTRY) };
static const alx_name_t refresh_names[] = { ALX_REFRESHES(ALX_NAME_ENTRY) };

static const alx_name_t *verdict_entry(alx_verdict_e kind)
{
    if ((unsigned)kind >= ALX_VERDICT_COUNT)
        kind = ALX_VERDICT_NONE;
    return &verdict_names[kind];
}

const char *alx_verdict_name(alx_verdict_e kind)
{
    return verdict_entry(kind)->name;
}

const char *alx_refresh_name(alx_refresh_e refresh)
{
    return refresh_names[(unsigned)refresh < ALX_REFRESH_COUNT
                         ? refresh : ALX_REFRESH_NONE].name;
}

/* Reasons are ours ("malformed JSON"); the verdict is one word. */
const char *alx_verdict_word(apr_pool_t *p, alx_verdict_e kind,
                             const char *detail)
{
    const alx_name_t *word = verdict_entry(kind);
    apr_size_t len;
    char *s, *d;

    if (!detail || !*detail)
        return word->name;
    len = strlen(detail);
    s = apr_palloc(p, word->len + 1 + len + 1);
    d = put_text(s, word->name, word->len);
    *d++ = ':';
    for (; *detail; detail++)
        *d++ = *detail == ' ' ? '-' : *detail;
    *d = '\0';
    return s;
}

/* [upstream-error:<code>][,][rewritten:<fixes>] in one buffer measured
 * first: code is NULL for a token answer, the fixes part absent when no
 * known fix is set; would-rewrite in report mode. */
static const char *changed_word(apr_pool_t *p, const char *code,
                                unsigned fixes, int report)
{
    const alx_name_t *mode = verdict_entry(report ? ALX_VERDICT_WOULD_REWRITE
                                                  : ALX_VERDICT_REWRITTEN);
    const alx_name_t *error = verdict_entry(ALX_VERDICT_UPSTREAM_ERROR);
    apr_size_t code_len = code ? strlen(code) : 0;
    int fixed = (fixes & ALX_FIX_KNOWN) != 0;
    apr_size_t len = 0;
    char *s, *d;

    if (code)
        len += error->len + 1 + code_len + (fixed ? 1 : 0);
    if (fixed)
        len += mode->len + 1 + fixes_len(fixes);
    d = s = apr_palloc(p, len + 1);
    if (code) {
        d = put_text(d, error->name, error->len);
        *d++ = ':';
        d = put_text(d, code, code_len);
        if (fixed)
            *d++ = ',';
    }
    if (fixed) {
        d = put_text(d, mode->name, mode->len);
        *d++ = ':';
        d = put_fixes(d, fixes);
    }
    *d = '\0';
    return s;
}

alx_verdict_e alx_answer_verdict_kind(const alx_answer_t *a, int report)
{
    switch (a->kind) {
    case ALX_KIND_TOKEN:
        if (!(a->fixes & ALX_FIX_KNOWN))
            return ALX_VERDICT_OK;
        return report ? ALX_VERDICT_WOULD_REWRITE : ALX_VERDICT_REWRITTEN;
    case ALX_KIND_ERROR:
        return ALX_VERDICT_UPSTREAM_ERROR;
    case ALX_KIND_SERVER_ERROR:
        return ALX_VERDICT_SERVER_ERROR;
    case ALX_KIND_UNUSABLE:
        return ALX_VERDICT_UNUSABLE;
    default:
        return ALX_VERDICT_PASSTHROUGH;
    }
}

const char *alx_answer_verdict(apr_pool_t *p, const alx_answer_t *a, int report)
{
    alx_verdict_e kind = alx_answer_verdict_kind(a, report);

    switch (kind) {
    case ALX_VERDICT_REWRITTEN:
    case ALX_VERDICT_WOULD_REWRITE:
        return changed_word(p, NULL, a->fixes, report);
    case ALX_VERDICT_UPSTREAM_ERROR:
        return changed_word(p, a->error_out ? a->error_out : "-", a->fixes,
                            report);
    case ALX_VERDICT_UNUSABLE:
    case ALX_VERDICT_PASSTHROUGH:
        return alx_verdict_word(p, kind, a->reason);
    default:
        return alx_verdict_name(kind);
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

alx_exchange_level_e alx_exchange_level(const alx_answer_t *a,
                               const alx_exchange_facts_t *f)
{
    if (f->own)
        return !f->over_budget
               && (f->own_status == 200
                   || (f->own_status < 500
                       && f->own_kind == ALX_VERDICT_REPLAYED))
               ? ALX_EXCHANGE_NOTICE : ALX_EXCHANGE_WARNING;
    if (a->warnings || f->over_budget || a->kind == ALX_KIND_UNUSABLE
        || a->kind == ALX_KIND_SERVER_ERROR || a->kind == ALX_KIND_OPAQUE
        || (f->report && a->fixes))
        return ALX_EXCHANGE_WARNING;
    return a->fixes ? ALX_EXCHANGE_NOTICE : ALX_EXCHANGE_INFO;
}

void alx_exchange_own_answer(alx_answer_t *a, int status, int described)
{
    a->ttl_in = ALX_TTL_ABSENT;
    if (status == 200)
        a->refresh = ALX_REFRESH_REPLAYED;
    if (!described)
        a->ttl_out = ALX_TTL_ABSENT;
}

alx_verdict_e alx_exchange_no_body(alx_answer_t *a)
{
    a->kind = ALX_KIND_OPAQUE;
    a->ttl_in = a->ttl_out = ALX_TTL_ABSENT;
    return ALX_VERDICT_PASSTHROUGH;
}

int alx_exchange_describe(apr_pool_t *p, const char *body,
                          const char **shape, apr_int64_t *ttl)
{
    json_t *obj = NULL, *v;
    const char *reason;

    if (!body || alx_answer_parse_body(p, "application/json", body,
                                       strlen(body), &obj, &reason)
                 != ALX_BODY_JSON || !json_is_object(obj))
        return 0;
    *shape = alx_shape_json(p, obj);
    v = json_object_get(obj, "expires_in");
    *ttl = json_is_integer(v) ? json_integer_value(v) : ALX_TTL_ABSENT;
    return 1;
}

/* Flat JSON objects, read and written in one pass each. */
#include <string.h>

#include <apr_strings.h>

#include "alx_flat.h"
#include "alx_json.h"

/* 18 digits always fit 64 bits; a longer integer goes to jansson, which
 * knows where its range ends. */
#define FLAT_DIGITS_MAX 18

static const char *skip_ws(const char *s, const char *end)
{
    while (s < end && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
        s++;
    return s;
}

int alx_flat_plain(const char *s, apr_size_t len)
{
    const unsigned char *u = (const unsigned char *)s;

    return len == 0 || alx_json_plain_end(u, u + len) == u + len;
}

/* From just past an opening quote: the closing quote, or NULL when a byte
 * on the way is not plain (an escape, a control byte, non-ASCII). */
static const char *string_end(const char *s, const char *end)
{
    const char *e = (const char *)alx_json_plain_end(
            (const unsigned char *)s, (const unsigned char *)end);

    return e < end && *e == '"' ? e : NULL;
}

/* -?(0|[1-9][0-9]*) of at most FLAT_DIGITS_MAX digits, not followed by a
 * fraction or an exponent (a real: jansson's); the byte after it, or NULL. */
static const char *integer(const char *s, const char *end, apr_int64_t *out)
{
    int neg = 0, digits = 0;
    apr_int64_t n = 0;

    if (s < end && *s == '-') {
        neg = 1;
        s++;
    }
    if (s < end && *s == '0') {
        s++;
        digits = 1;
    }
    else {
        for (; s < end && *s >= '0' && *s <= '9'; s++, digits++) {
            if (digits == FLAT_DIGITS_MAX)
                return NULL;
            n = n * 10 + (*s - '0');
        }
    }
    if (digits == 0
        || (s < end && (*s == '.' || *s == 'e' || *s == 'E'
                        || (*s >= '0' && *s <= '9'))))
        return NULL;
    *out = neg ? -n : n;
    return s;
}

static const char *literal(const char *s, const char *end, const char *word,
                           apr_size_t n)
{
    return (apr_size_t)(end - s) >= n && memcmp(s, word, n) == 0 ? s + n : NULL;
}

/* One value into m; the byte after it, or NULL. */
static const char *value(const char *s, const char *end, alx_flat_member_t *m)
{
    const char *e;

    switch (*s) {
    case '"':
        if (!(e = string_end(s + 1, end)))
            return NULL;
        m->type = ALX_FLAT_STR;
        m->str = s + 1;
        m->str_len = (apr_size_t)(e - s - 1);
        return e + 1;
    case 't':
        m->type = ALX_FLAT_TRUE;
        return literal(s, end, "true", 4);
    case 'f':
        m->type = ALX_FLAT_FALSE;
        return literal(s, end, "false", 5);
    case 'n':
        m->type = ALX_FLAT_NULL;
        return literal(s, end, "null", 4);
    default:
        m->type = ALX_FLAT_INT;
        return integer(s, end, &m->num);
    }
}

static int key_taken(const alx_flat_t *f, const char *key, apr_size_t len)
{
    int i;

    for (i = 0; i < f->n; i++)
        if (f->m[i].key_len == len && memcmp(f->m[i].key, key, len) == 0)
            return 1;
    return 0;
}

int alx_flat_parse(const char *body, apr_size_t len, alx_flat_t *f)
{
    const char *end = body + len, *s, *e;
    alx_flat_member_t *m;

    f->n = 0;
    s = skip_ws(body, end);
    if (s == end || *s != '{')
        return 0;
    s = skip_ws(s + 1, end);
    if (s < end && *s == '}')
        return skip_ws(s + 1, end) == end;
    for (;;) {
        if (s == end || *s != '"' || f->n == ALX_FLAT_MAX
            || !(e = string_end(s + 1, end))
            || key_taken(f, s + 1, (apr_size_t)(e - s - 1)))
            return 0;
        m = &f->m[f->n];
        m->key = s + 1;
        m->key_len = (apr_size_t)(e - s - 1);
        s = skip_ws(e + 1, end);
        if (s == end || *s != ':')
            return 0;
        s = skip_ws(s + 1, end);
        if (s == end || !(s = value(s, end, m)))
            return 0;
        f->n++;
        s = skip_ws(s, end);
        if (s < end && *s == ',') {
            s = skip_ws(s + 1, end);
            continue;
        }
        if (s < end && *s == '}')
            return skip_ws(s + 1, end) == end;
        return 0;
    }
}

alx_flat_member_t *alx_flat_get(alx_flat_t *f, const char *key)
{
    apr_size_t len = strlen(key);
    int i;

    for (i = 0; i < f->n; i++)
        if (f->m[i].key_len == len && memcmp(f->m[i].key, key, len) == 0)
            return &f->m[i];
    return NULL;
}

/* key's member, a new one at the end when absent; NULL when full. */
static alx_flat_member_t *member_for(alx_flat_t *f, const char *key)
{
    alx_flat_member_t *m = alx_flat_get(f, key);

    if (m || f->n == ALX_FLAT_MAX)
        return m;
    m = &f->m[f->n++];
    m->key = key;
    m->key_len = strlen(key);
    return m;
}

int alx_flat_set_int(alx_flat_t *f, const char *key, apr_int64_t num)
{
    alx_flat_member_t *m = member_for(f, key);

    if (!m)
        return 0;
    m->type = ALX_FLAT_INT;
    m->num = num;
    return 1;
}

int alx_flat_set_str(alx_flat_t *f, const char *key, const char *s,
                     apr_size_t len)
{
    alx_flat_member_t *m = member_for(f, key);

    if (!m)
        return 0;
    m->type = ALX_FLAT_STR;
    m->str = s;
    m->str_len = len;
    return 1;
}

void alx_flat_del(alx_flat_t *f, const char *key)
{
    alx_flat_member_t *m = alx_flat_get(f, key);

    if (!m)
        return;
    memmove(m, m + 1, (apr_size_t)(f->m + f->n - (m + 1)) * sizeof(*m));
    f->n--;
}

static char *put_quoted(char *d, const char *s, apr_size_t len)
{
    *d++ = '"';
    memcpy(d, s, len);
    d += len;
    *d++ = '"';
    return d;
}

static apr_size_t compact_max(const alx_flat_t *f)
{
    apr_size_t n = 3;   /* braces, NUL */
    int i;

    for (i = 0; i < f->n; i++)
        n += f->m[i].key_len + 4 + (f->m[i].type == ALX_FLAT_STR
                                    ? f->m[i].str_len + 2 : ALX_JSON_INT_MAX);
    return n;
}

const char *alx_flat_compact(apr_pool_t *p, const alx_flat_t *f,
                             apr_size_t *len)
{
    char *buf = apr_palloc(p, compact_max(f)), *d = buf;
    int i;

    *d++ = '{';
    for (i = 0; i < f->n; i++) {
        const alx_flat_member_t *m = &f->m[i];

        if (i)
            *d++ = ',';
        d = put_quoted(d, m->key, m->key_len);
        *d++ = ':';
        switch (m->type) {
        case ALX_FLAT_STR:
            d = put_quoted(d, m->str, m->str_len);
            break;
        case ALX_FLAT_INT:
            d = alx_json_put_int(d, m->num);
            break;
        case ALX_FLAT_TRUE:
            memcpy(d, "true", 4);
            d += 4;
            break;
        case ALX_FLAT_FALSE:
            memcpy(d, "false", 5);
            d += 5;
            break;
        default:
            memcpy(d, "null", 4);
            d += 4;
            break;
        }
    }
    *d++ = '}';
    *d = '\0';
    *len = (apr_size_t)(d - buf);
    return buf;
}

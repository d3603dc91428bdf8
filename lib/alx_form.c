/* application/x-www-form-urlencoded codec (RFC 6749 appendix B, HTML forms). */
#include <string.h>

#include <apr_hash.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "alx_form.h"

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return c - 'A' + 10;
}

/* Checks one component without decoding it; returns NULL when it is sound,
 * else a description that quotes no input bytes. */
static const char *component_problem(const char *s, apr_size_t len)
{
    apr_size_t i;

    for (i = 0; i < len; i++) {
        if (s[i] == '\0')
            return "NUL byte in form";
        if (s[i] != '%')
            continue;
        if (len - i < 3 || !apr_isxdigit(s[i + 1]) || !apr_isxdigit(s[i + 2]))
            return "bad percent-encoding in form";
        if (s[i + 1] == '0' && s[i + 2] == '0')
            return "percent-encoded NUL in form";
        i += 2;
    }
    return NULL;
}

apr_status_t alx_form_unescape(apr_pool_t *p, const char *s, apr_size_t len,
                               char **out)
{
    char *d;
    apr_size_t i, n = 0;

    if (component_problem(s, len))
        return APR_EINVAL;
    d = apr_palloc(p, len + 1);
    for (i = 0; i < len; i++) {
        if (s[i] == '+') {
            d[n++] = ' ';
        }
        else if (s[i] == '%') {
            d[n++] = (char)(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
            i += 2;
        }
        else {
            d[n++] = s[i];
        }
    }
    d[n] = '\0';
    *out = d;
    return APR_SUCCESS;
}

/* Index of the '&' ending the segment at start, or len. */
static apr_size_t segment_end(const char *body, apr_size_t len,
                              apr_size_t start)
{
    const char *amp = memchr(body + start, '&', len - start);

    return amp ? (apr_size_t)(amp - body) : len;
}

/* One "name[=value]" segment; the value is "" when there is no '='. */
static apr_status_t parse_segment(apr_pool_t *p, const char *seg,
                                  apr_size_t len, alx_pair_t *pair,
                                  const char **err)
{
    const char *eq = memchr(seg, '=', len);
    apr_size_t name_len = eq ? (apr_size_t)(eq - seg) : len;
    const char *problem = component_problem(seg, len);
    char *name, *value = "";

    if (problem) {
        *err = problem;
        return APR_EINVAL;
    }
    alx_form_unescape(p, seg, name_len, &name);
    if (eq)
        alx_form_unescape(p, eq + 1, len - name_len - 1, &value);
    pair->name = name;
    pair->value = value;
    return APR_SUCCESS;
}

apr_status_t alx_form_parse(apr_pool_t *p, const char *body, apr_size_t len,
                            apr_array_header_t **pairs, const char **err)
{
    apr_array_header_t *list = apr_array_make(p, 8, sizeof(alx_pair_t));
    apr_size_t start = 0, stop;
    alx_pair_t pair;
    apr_status_t rv;

    *err = NULL;
    while (start < len) {
        stop = segment_end(body, len, start);
        if (stop > start) {
            rv = parse_segment(p, body + start, stop - start, &pair, err);
            if (rv != APR_SUCCESS)
                return rv;
            *(alx_pair_t *)apr_array_push(list) = pair;
        }
        start = stop + 1;
    }
    *pairs = list;
    return APR_SUCCESS;
}

const char *alx_form_get(const apr_array_header_t *pairs, const char *name)
{
    const alx_pair_t *pair = (const alx_pair_t *)pairs->elts;
    int i;

    for (i = 0; i < pairs->nelts; i++)
        if (strcmp(pair[i].name, name) == 0)
            return pair[i].value;
    return NULL;
}

int alx_form_count(const apr_array_header_t *pairs, const char *name)
{
    const alx_pair_t *pair = (const alx_pair_t *)pairs->elts;
    int i, n = 0;

    for (i = 0; i < pairs->nelts; i++)
        if (strcmp(pair[i].name, name) == 0)
            n++;
    return n;
}

/* A hash keeps this linear: a hostile body may hold many thousands of names. */
const char *alx_form_duplicate(const apr_array_header_t *pairs)
{
    const alx_pair_t *pair = (const alx_pair_t *)pairs->elts;
    const char *found = NULL;
    apr_pool_t *scratch;
    apr_hash_t *seen;
    int i;

    if (pairs->nelts < 2 || apr_pool_create(&scratch, pairs->pool) != APR_SUCCESS)
        return NULL;
    seen = apr_hash_make(scratch);
    for (i = 0; i < pairs->nelts && !found; i++) {
        if (apr_hash_get(seen, pair[i].name, APR_HASH_KEY_STRING))
            found = pair[i].name;
        else
            apr_hash_set(seen, pair[i].name, APR_HASH_KEY_STRING, "");
    }
    apr_pool_destroy(scratch);
    return found;
}

/* Drops every name entry at or after index from, keeping the order. */
static void remove_from(apr_array_header_t *pairs, const char *name, int from)
{
    alx_pair_t *pair = (alx_pair_t *)pairs->elts;
    int i, kept = from;

    for (i = from; i < pairs->nelts; i++)
        if (strcmp(pair[i].name, name) != 0)
            pair[kept++] = pair[i];
    pairs->nelts = kept;
}

void alx_form_set(apr_array_header_t *pairs, const char *name, const char *value)
{
    alx_pair_t *pair = (alx_pair_t *)pairs->elts;
    alx_pair_t *added;
    int i;

    /* Copies into the array's pool so the caller's strings may be short-lived. */
    for (i = 0; i < pairs->nelts; i++) {
        if (strcmp(pair[i].name, name) == 0) {
            pair[i].value = apr_pstrdup(pairs->pool, value);
            remove_from(pairs, name, i + 1);
            return;
        }
    }
    added = apr_array_push(pairs);
    added->name = apr_pstrdup(pairs->pool, name);
    added->value = apr_pstrdup(pairs->pool, value);
}

void alx_form_remove(apr_array_header_t *pairs, const char *name)
{
    remove_from(pairs, name, 0);
}

static int kept_as_is(char c)
{
    return apr_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '*';
}

/* Escaped length of s, so escape and encode allocate once. */
static apr_size_t escaped_len(const char *s)
{
    apr_size_t n = 0;

    for (; *s; s++)
        n += (kept_as_is(*s) || *s == ' ') ? 1 : 3;
    return n;
}

static char *escape_into(char *d, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *u = (const unsigned char *)s;

    for (; *u; u++) {
        if (kept_as_is((char)*u)) {
            *d++ = (char)*u;
        }
        else if (*u == ' ') {
            *d++ = '+';
        }
        else {
            *d++ = '%';
            *d++ = hex[*u >> 4];
            *d++ = hex[*u & 0x0f];
        }
    }
    return d;
}

char *alx_form_escape(apr_pool_t *p, const char *s)
{
    char *out = apr_palloc(p, escaped_len(s) + 1);

    *escape_into(out, s) = '\0';
    return out;
}

char *alx_form_encode(apr_pool_t *p, const apr_array_header_t *pairs,
                      apr_size_t *len)
{
    const alx_pair_t *pair = (const alx_pair_t *)pairs->elts;
    apr_size_t total = 0;
    char *out, *d;
    int i;

    for (i = 0; i < pairs->nelts; i++)
        total += escaped_len(pair[i].name) + 1 + escaped_len(pair[i].value) + 1;
    d = out = apr_palloc(p, total + 1);
    for (i = 0; i < pairs->nelts; i++) {
        if (i > 0)
            *d++ = '&';
        d = escape_into(d, pair[i].name);
        *d++ = '=';
        d = escape_into(d, pair[i].value);
    }
    *d = '\0';
    if (len)
        *len = (apr_size_t)(d - out);
    return out;
}

static int name_byte(char c)
{
    return apr_isalnum(c) || c == '_' || c == '.' || c == '-';
}

static int value_byte(char c)
{
    return !apr_isspace(c) && !apr_iscntrl(c);
}

/* A strict "name=value" segment, as an upstream answering in text/plain. */
static int segment_is_form_shaped(const char *seg, apr_size_t len)
{
    const char *eq = memchr(seg, '=', len);
    apr_size_t i, name_len;

    if (!eq || eq == seg)
        return 0;
    name_len = (apr_size_t)(eq - seg);
    for (i = 0; i < name_len; i++)
        if (!name_byte(seg[i]))
            return 0;
    for (i = name_len + 1; i < len; i++)
        if (!value_byte(seg[i]))
            return 0;
    return component_problem(seg, len) == NULL;
}

int alx_form_is_form_shaped(const char *body, apr_size_t len)
{
    apr_size_t start = 0, stop;

    if (!body || len == 0)
        return 0;
    for (;;) {
        stop = segment_end(body, len, start);
        if (!segment_is_form_shaped(body + start, stop - start))
            return 0;
        if (stop == len)
            return 1;
        start = stop + 1;
    }
}

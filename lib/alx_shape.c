/* Body shape: what an answer looked like, safe for any log line. */
#include <string.h>

#include <apr_strings.h>

#include "alx_shape.h"
#include "alx_flat.h"
#include "alx_form.h"

#define ALX_SHAPE_KEY_MAX 32
/* Widest member: ',' + a 32-byte key + ':' + "str(" 20 digits ")" is 59
 * bytes. A member is written in place and measured after, so the buffer
 * has room for one past the cap. */
#define ALX_SHAPE_MEMBER_MAX 64
#define ALX_SHAPE_PREFIX_LEN 5

/* A shape being built in a buffer that can never outgrow the cap. */
typedef struct {
    char *buf;
    apr_size_t len;
    int cut;
} alx_shape_buf_t;

/* prefix is "json{" or "form{". */
static void shape_start(apr_pool_t *p, alx_shape_buf_t *b, const char *prefix)
{
    b->buf = apr_palloc(p, ALX_SHAPE_MAX + ALX_SHAPE_MEMBER_MAX);
    memcpy(b->buf, prefix, ALX_SHAPE_PREFIX_LEN);
    b->len = ALX_SHAPE_PREFIX_LEN;
    b->cut = 0;
}

/* Keeps the member just written up to end when it still leaves room for the
 * closing brace; otherwise the shape ends in "..." for good. */
static int shape_took(alx_shape_buf_t *b, const char *end)
{
    apr_size_t len = (apr_size_t)(end - b->buf);

    if (len + 1 > ALX_SHAPE_MAX) {
        memcpy(b->buf + b->len, "...", 4);
        b->len += 3;
        b->cut = 1;
        return 0;
    }
    b->len = len;
    return 1;
}

static const char *shape_finish(alx_shape_buf_t *b)
{
    if (!b->cut) {
        b->buf[b->len++] = '}';
        b->buf[b->len] = '\0';
    }
    return b->buf;
}

/* Hand-rolled: apr_snprintf costs more than the whole rest of a member. */
static char *put_size(char *d, apr_size_t n)
{
    apr_size_t digits = 1, t;
    char *end;

    for (t = n; t >= 10; t /= 10)
        digits++;
    d = end = d + digits;
    do {
        *--d = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    return end;
}

static char *put_word(char *d, const char *word, apr_size_t len)
{
    memcpy(d, word, len);
    return d + len;
}

/* (n), after a word such as "str" */
static char *put_count(char *d, apr_size_t n)
{
    *d++ = '(';
    d = put_size(d, n);
    *d++ = ')';
    return d;
}

#define KEY_START 1       /* [a-z_] */
#define KEY_BYTE 2        /* [a-z0-9_] */

/* What each byte may be in a key that is shown (3 is both); 0x7b up is 0. */
static const unsigned char key_class[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0,     /* 0-9 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3,     /* _ */
    0, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,     /* a-o */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3                     /* p-z */
};

static int key_is(char c, int what)
{
    return key_class[(unsigned char)c] & what;
}

/* A key is shown only when it looks like a field name, [a-z_][a-z0-9_]{0,31}:
 * an upstream could put a token in a key, and a key shown verbatim would
 * leak it; any other key is ?(its length). It is copied while it is checked,
 * so a name costs one pass. */
static char *put_key(char *d, const char *key, apr_size_t len)
{
    apr_size_t n = 0;

    if (len > 0 && key_is(key[0], KEY_START)) {
        d[0] = key[0];
        for (n = 1; n < len && n < ALX_SHAPE_KEY_MAX
                    && key_is(key[n], KEY_BYTE); n++)
            d[n] = key[n];
        if (n == len)
            return d + n;
    }
    *d = '?';
    return put_count(d + 1, len);
}

static char *put_type(char *d, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        return put_count(put_word(d, "str", 3), json_string_length(v));
    case JSON_INTEGER:
        return put_word(d, "int", 3);
    case JSON_REAL:
        return put_word(d, "real", 4);
    case JSON_TRUE:
    case JSON_FALSE:
        return put_word(d, "bool", 4);
    case JSON_OBJECT:
        return put_count(put_word(d, "obj", 3), json_object_size(v));
    case JSON_ARRAY:
        return put_count(put_word(d, "arr", 3), json_array_size(v));
    default:
        return put_word(d, "null", 4);
    }
}

const char *alx_shape_json(apr_pool_t *p, const json_t *v)
{
    alx_shape_buf_t b;
    void *it;
    int first = 1;

    if (!v)
        return "none";
    if (!json_is_object(v)) {
        char *s = apr_palloc(p, sizeof("json:") + ALX_SHAPE_MEMBER_MAX);

        *put_type(put_word(s, "json:", 5), v) = '\0';
        return s;
    }
    shape_start(p, &b, "json{");
    /* The iterator wants a non-const object; it does not modify it. */
    for (it = json_object_iter((json_t *)v); it;
         it = json_object_iter_next((json_t *)v, it)) {
        char *d = b.buf + b.len;

        if (!first)
            *d++ = ',';
        d = put_key(d, json_object_iter_key(it),
                    strlen(json_object_iter_key(it)));
        *d++ = ':';
        d = put_type(d, json_object_iter_value(it));
        if (!shape_took(&b, d))
            break;
        first = 0;
    }
    return shape_finish(&b);
}

static char *put_flat_type(char *d, const alx_flat_member_t *m)
{
    switch (m->type) {
    case ALX_FLAT_STR:
        return put_count(put_word(d, "str", 3), m->str_len);
    case ALX_FLAT_INT:
        return put_word(d, "int", 3);
    case ALX_FLAT_TRUE:
    case ALX_FLAT_FALSE:
        return put_word(d, "bool", 4);
    default:
        return put_word(d, "null", 4);
    }
}

const char *alx_shape_flat(apr_pool_t *p, const alx_flat_t *f)
{
    alx_shape_buf_t b;
    int i;

    shape_start(p, &b, "json{");
    for (i = 0; i < f->n; i++) {
        char *d = b.buf + b.len;

        if (i > 0)
            *d++ = ',';
        d = put_key(d, f->m[i].key, f->m[i].key_len);
        *d++ = ':';
        d = put_flat_type(d, &f->m[i]);
        if (!shape_took(&b, d))
            break;
    }
    return shape_finish(&b);
}

const char *alx_shape_form(apr_pool_t *p, const apr_array_header_t *pairs)
{
    alx_shape_buf_t b;
    int i;

    shape_start(p, &b, "form{");
    for (i = 0; pairs && i < pairs->nelts; i++) {
        const alx_pair_t *pair = &APR_ARRAY_IDX(pairs, i, alx_pair_t);
        char *d = b.buf + b.len;

        if (i > 0)
            *d++ = ',';
        d = put_key(d, pair->name ? pair->name : "",
                    pair->name ? strlen(pair->name) : 0);
        *d++ = ':';
        d = put_count(put_word(d, "str", 3),
                      pair->value ? strlen(pair->value) : 0);
        if (!shape_took(&b, d))
            break;
    }
    return shape_finish(&b);
}

const char *alx_shape_opaque(apr_pool_t *p, const char *kind, apr_off_t len)
{
    char safe[17];
    apr_size_t i;

    if (len == 0)
        return "empty";
    /* kind is ours ("html", "gzip"), but keep the shape one log token. */
    for (i = 0; kind && kind[i] && i < sizeof(safe) - 1; i++) {
        char c = kind[i];
        int plain = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                    || c == '-';
        safe[i] = plain ? c : '?';
    }
    safe[i] = '\0';
    return apr_psprintf(p, "%s(%" APR_OFF_T_FMT ")", i ? safe : "body", len);
}

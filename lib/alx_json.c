/* jansson values whose reference a pool owns, and a fast compact dump. */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include <apr_errno.h>

#include "alx_json.h"

static apr_status_t json_release(void *data)
{
    json_decref((json_t *)data);
    return APR_SUCCESS;
}

json_t *alx_json_own(apr_pool_t *p, json_t *v)
{
    if (v)
        apr_pool_cleanup_register(p, v, json_release, apr_pool_cleanup_null);
    return v;
}

/* alx_json_compact does what json_dumps(v, JSON_COMPACT) does, in one pass
 * into a pool buffer: jansson's dump goes through a callback per piece, a
 * strbuffer, a hashtable of parents keyed by "%p" and a final strdup, which
 * is most of its cost on a small token answer. Every rule below is jansson
 * 2.14's (src/dump.c, src/strconv.c, src/utf.c), kept to the byte. */

/* A token answer fits in the first buffer. */
#define ALX_JSON_BUF_START 256

/* jansson's limit for a number's text, so the same values fail. */
#define ALX_JSON_NUMBER_MAX 100

typedef struct {
    apr_pool_t *pool;
    char *buf;
    apr_size_t len, cap;
} compact_buf_t;

/* The containers being dumped, innermost first: jansson refuses a value
 * that contains itself, and a chain on the stack finds one without a
 * hashtable (a value that is merely shared, not an ancestor, is fine). */
typedef struct compact_parent {
    const json_t *v;
    const struct compact_parent *up;
} compact_parent_t;

static apr_status_t buf_grow(compact_buf_t *b, apr_size_t n)
{
    apr_size_t want;
    char *grown;

    if (n > APR_SIZE_MAX / 2 - b->len)
        return APR_ENOMEM;
    /* doubling keeps the copies (and the pool's dead buffers) linear */
    want = b->len + n + 1;
    if (want < b->cap * 2)
        want = b->cap * 2;
    grown = apr_palloc(b->pool, want);
    if (!grown)
        return APR_ENOMEM;
    memcpy(grown, b->buf, b->len);
    b->buf = grown;
    b->cap = want;
    return APR_SUCCESS;
}

/* Room for n more bytes and the closing NUL. */
static apr_status_t buf_reserve(compact_buf_t *b, apr_size_t n)
{
    return b->cap - b->len > n ? APR_SUCCESS : buf_grow(b, n);
}

static apr_status_t buf_put(compact_buf_t *b, const void *data,
                            apr_size_t n)
{
    apr_status_t rv = buf_reserve(b, n);

    if (rv != APR_SUCCESS)
        return rv;
    memcpy(b->buf + b->len, data, n);
    b->len += n;
    return APR_SUCCESS;
}

/* What a string byte needs: copied as is, escaped, the lead of a UTF-8
 * sequence of 2..4 bytes, or refused (a continuation byte with no lead,
 * 0xC0/0xC1 which can only be overlong, 0xF5.. beyond U+10FFFF). */
enum { CH_PLAIN = 0, CH_ESCAPE = 1, CH_BAD = 5 };

static const unsigned char compact_char[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,     /* 0x00 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,     /* 0x10 */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 0x20 '"' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 0x30 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 0x40 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,     /* 0x50 '\\' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 0x60 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 0x70, DEL plain */
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,     /* 0x80 */
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,     /* 0x90 */
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,     /* 0xA0 */
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,     /* 0xB0 */
    5, 5, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,     /* 0xC0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,     /* 0xD0 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,     /* 0xE0 */
    4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5      /* 0xF0 */
};

/* n (2..4) when the n bytes at s are one valid UTF-8 character, else 0:
 * jansson refuses a cut sequence, a bad continuation, an overlong form, a
 * surrogate half and anything past U+10FFFF. */
static apr_size_t utf8_valid(const unsigned char *s, apr_size_t avail,
                             apr_size_t n)
{
    static const apr_uint32_t lead_bits[5] = { 0, 0, 0x1F, 0x0F, 0x07 };
    static const apr_uint32_t least[5] = { 0, 0, 0x80, 0x800, 0x10000 };
    apr_uint32_t cp;
    apr_size_t i;

    if (n > avail)
        return 0;
    cp = s[0] & lead_bits[n];
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < least[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* Where the bytes that need nothing end. Eight at a time while a word has
 * no control, '"', '\\' or non-ASCII byte (a subtraction borrows into a
 * byte's top bit exactly when some byte is below the mark; a borrow from a
 * lower hit can flag more, which only sends us to the byte loop early). */
const unsigned char *alx_json_plain_end(const unsigned char *s,
                                        const unsigned char *lim)
{
    const apr_uint64_t ones = 0x0101010101010101ULL;
    const apr_uint64_t tops = 0x8080808080808080ULL;
    apr_uint64_t w;

    while (lim - s >= 8) {
        memcpy(&w, s, sizeof(w));
        if ((w | (w - ones * 0x20) | ((w ^ ones * '"') - ones)
             | ((w ^ ones * '\\') - ones)) & tops)
            break;
        s += 8;
    }
    while (s < lim && compact_char[*s] == CH_PLAIN)
        s++;
    return s;
}

/* The escape for c (a control byte, '"' or '\\') into out; its length.
 * jansson spells the rest of the controls \u00XX with upper-case hex. */
static apr_size_t escape_char(unsigned char c, char *out)
{
    static const char hex[] = "0123456789ABCDEF";

    out[0] = '\\';
    switch (c) {
    case '"':  out[1] = '"';  return 2;
    case '\\': out[1] = '\\'; return 2;
    case '\b': out[1] = 'b';  return 2;
    case '\f': out[1] = 'f';  return 2;
    case '\n': out[1] = 'n';  return 2;
    case '\r': out[1] = 'r';  return 2;
    case '\t': out[1] = 't';  return 2;
    default:
        memcpy(out + 1, "u00", 3);
        out[4] = hex[c >> 4];
        out[5] = hex[c & 0xF];
        return 6;
    }
}

/* str as a JSON string: runs of bytes that need nothing are copied whole.
 * APR_EINVAL for invalid UTF-8, and then, as in jansson, what was written
 * so far stays but the run pending since the last escape does not. */
static apr_status_t put_string(compact_buf_t *b, const char *str,
                               apr_size_t len)
{
    const unsigned char *s = (const unsigned char *)str, *lim = s + len;
    const unsigned char *run = s;
    apr_status_t rv;

    /* enough for the common case, no escape at all */
    if ((rv = buf_reserve(b, len + 2)) != APR_SUCCESS)
        return rv;
    b->buf[b->len++] = '"';
    for (;;) {
        unsigned char kind;

        s = alx_json_plain_end(s, lim);
        if (s == lim)
            break;
        kind = compact_char[*s];
        if (kind != CH_ESCAPE) {
            apr_size_t n = kind == CH_BAD ? 0 : utf8_valid(s, lim - s, kind);

            if (!n)
                return APR_EINVAL;
            s += n;
            continue;
        }
        /* the run, the escape (6 at most) and the rest, still unescaped */
        if ((rv = buf_reserve(b, (apr_size_t)(lim - run) + 6)) != APR_SUCCESS)
            return rv;
        memcpy(b->buf + b->len, run, s - run);
        b->len += s - run;
        b->len += escape_char(*s, b->buf + b->len);
        run = ++s;
    }
    memcpy(b->buf + b->len, run, s - run);
    b->len += s - run;
    b->buf[b->len++] = '"';
    return APR_SUCCESS;
}

/* "%" JSON_INTEGER_FORMAT without a formatter; the magnitude is taken
 * unsigned so the most negative value has one too. */
char *alx_json_put_int(char *d, apr_int64_t i)
{
    char digits[ALX_JSON_INT_MAX], *s = digits + sizeof(digits);
    apr_uint64_t u = (apr_uint64_t)i;
    apr_size_t n;

    if (i < 0)
        u = 0 - u;
    do {
        *--s = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (i < 0)
        *--s = '-';
    n = (apr_size_t)(digits + sizeof(digits) - s);
    memcpy(d, s, n);
    return d + n;
}

static apr_status_t put_integer(compact_buf_t *b, json_int_t i)
{
    apr_status_t rv = buf_reserve(b, ALX_JSON_INT_MAX);

    if (rv != APR_SUCCESS)
        return rv;
    b->len = (apr_size_t)(alx_json_put_int(b->buf + b->len, (apr_int64_t)i)
                          - b->buf);
    return APR_SUCCESS;
}

/* jansson's dtostr: "%.17g" (a real printf is the only way to get the same
 * rounding; reals are rare in answers), the locale's decimal point back to
 * '.', ".0" when the text would read as an integer, and the exponent
 * without '+' or leading zeros. */
static apr_status_t put_real(compact_buf_t *b, double d)
{
    char text[ALX_JSON_NUMBER_MAX], *e, *from, *to;
    const char *point = localeconv()->decimal_point;
    int n = snprintf(text, sizeof(text), "%.17g", d);

    if (n < 0 || (apr_size_t)n >= sizeof(text))
        return APR_EINVAL;
    if (*point != '.' && (e = strchr(text, *point)) != NULL)
        *e = '.';
    if (!strchr(text, '.') && !strchr(text, 'e')) {
        if ((apr_size_t)n + 3 >= sizeof(text))
            return APR_EINVAL;
        memcpy(text + n, ".0", 3);
        n += 2;
    }
    /* like jansson, the character after 'e' goes unless it is a '-' */
    if ((e = strchr(text, 'e')) != NULL && e[1]) {
        to = e[1] == '-' ? e + 2 : e + 1;
        for (from = e + 2; *from == '0'; from++)
            ;
        memmove(to, from, strlen(from) + 1);
        n -= (int)(from - to);
    }
    return buf_put(b, text, (apr_size_t)n);
}

static apr_status_t put_value(compact_buf_t *b, const json_t *v,
                              const compact_parent_t *up);

static int is_ancestor(const json_t *v, const compact_parent_t *up)
{
    for (; up; up = up->up)
        if (up->v == v)
            return 1;
    return 0;
}

static apr_status_t put_object(compact_buf_t *b, const json_t *v,
                               const compact_parent_t *up)
{
    compact_parent_t self = { v, up };
    /* jansson's iteration takes a non-const object; it does not modify it */
    json_t *obj = (json_t *)v;
    void *iter = json_object_iter(obj);
    apr_status_t rv;

    if (is_ancestor(v, up))
        return APR_EINVAL;
    if ((rv = buf_put(b, "{", 1)) != APR_SUCCESS)
        return rv;
    while (iter) {
        /* jansson ignores a key that fails (only a _nocheck key can), and
         * goes on after whatever of it was written */
        rv = put_string(b, json_object_iter_key(iter),
                        json_object_iter_key_len(iter));
        if (rv == APR_EINVAL)
            rv = APR_SUCCESS;
        if (rv == APR_SUCCESS)
            rv = buf_put(b, ":", 1);
        if (rv == APR_SUCCESS)
            rv = put_value(b, json_object_iter_value(iter), &self);
        if (rv != APR_SUCCESS)
            return rv;
        iter = json_object_iter_next(obj, iter);
        if (iter && (rv = buf_put(b, ",", 1)) != APR_SUCCESS)
            return rv;
    }
    return buf_put(b, "}", 1);
}

static apr_status_t put_array(compact_buf_t *b, const json_t *v,
                              const compact_parent_t *up)
{
    compact_parent_t self = { v, up };
    apr_size_t i, n = json_array_size(v);
    apr_status_t rv;

    if (is_ancestor(v, up))
        return APR_EINVAL;
    if ((rv = buf_put(b, "[", 1)) != APR_SUCCESS)
        return rv;
    for (i = 0; i < n; i++) {
        if (i && (rv = buf_put(b, ",", 1)) != APR_SUCCESS)
            return rv;
        if ((rv = put_value(b, json_array_get(v, i), &self)) != APR_SUCCESS)
            return rv;
    }
    return buf_put(b, "]", 1);
}

static apr_status_t put_value(compact_buf_t *b, const json_t *v,
                              const compact_parent_t *up)
{
    if (!v)
        return APR_EINVAL;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return put_object(b, v, up);
    case JSON_ARRAY:
        return put_array(b, v, up);
    case JSON_STRING:
        return put_string(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return put_integer(b, json_integer_value(v));
    case JSON_REAL:
        return put_real(b, json_real_value(v));
    case JSON_TRUE:
        return buf_put(b, "true", 4);
    case JSON_FALSE:
        return buf_put(b, "false", 5);
    case JSON_NULL:
        return buf_put(b, "null", 4);
    }
    return APR_EINVAL;
}

const char *alx_json_compact(apr_pool_t *p, const json_t *v, apr_size_t *len)
{
    compact_buf_t b;

    if (len)
        *len = 0;
    /* without JSON_ENCODE_ANY, json_dumps takes only a container */
    if (!json_is_object(v) && !json_is_array(v))
        return NULL;
    b.pool = p;
    b.len = 0;
    b.cap = ALX_JSON_BUF_START;
    b.buf = apr_palloc(p, b.cap);
    if (!b.buf || put_value(&b, v, NULL) != APR_SUCCESS)
        return NULL;
    b.buf[b.len] = '\0';
    if (len)
        *len = b.len;
    return b.buf;
}

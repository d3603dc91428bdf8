/* application/x-www-form-urlencoded codec (RFC 6749 appendix B, HTML forms). */
#include <string.h>

#include <apr_hash.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "alx_form.h"

/* 1 + the value of each hex digit, 0 for any other byte (0x70 up is 0):
 * one load per digit instead of a call to isxdigit. */
static const unsigned char hex_plus1[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 0, 0, 0, 0, 0,        /* 0-9 */
    0, 11, 12, 13, 14, 15, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0,   /* A-F */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 11, 12, 13, 14, 15, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0    /* a-f */
};

/* Up to this many pairs, alx_form_duplicate compares each with each. */
#define ALX_FORM_FEW 12

#define ALX_FORM_BAD_ESCAPE "bad percent-encoding in form"
#define ALX_FORM_NUL_ESCAPE "percent-encoded NUL in form"
#define ALX_FORM_NUL_BYTE "NUL byte in form"

/* How decode treats a byte: all but these five are copied as they are. */
enum { FORM_PLAIN = 0, FORM_ESCAPE, FORM_PLUS, FORM_NUL, FORM_AMP, FORM_EQ };

/* Bytes past '=' are all plain (0). */
static const unsigned char form_class[256] = {
    FORM_NUL, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, FORM_ESCAPE, FORM_AMP, 0,                /* % & */
    0, 0, 0, FORM_PLUS, 0, 0, 0, 0,                         /* + */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, FORM_EQ          /* = */
};

/* The bytes a decode stops at, besides the end of its input. */
#define FORM_STOP_AMP (1u << FORM_AMP)
#define FORM_STOP_EQ (1u << FORM_EQ)

/* The input and output of a decode in progress. */
typedef struct {
    const unsigned char *u;     /* next byte to read */
    const unsigned char *stop;  /* end of the input */
    char *d;                    /* next byte to write */
} alx_decoder_t;

/* s may be NULL when len is 0. */
static void decoder_start(alx_decoder_t *x, const char *s, apr_size_t len,
                          char *d)
{
    x->u = (const unsigned char *)s;
    x->stop = len ? x->u + len : x->u;
    x->d = d;
}

#define ALX_BYTES(b) (APR_UINT64_C(0x0101010101010101) * (b))

/* True when none of the 8 bytes at u is below ',' nor is '=': every byte
 * that is not plain ('%' '&' '+' NUL '=') is one of those, so the word can
 * be copied whole. The "has a byte less than n" test is exact for n <= 128. */
static int plain_word(const unsigned char *u)
{
    apr_uint64_t w, eq;

    memcpy(&w, u, sizeof(w));
    eq = w ^ ALX_BYTES('=');
    return !(((w - ALX_BYTES(',')) & ~w & ALX_BYTES(0x80))
             | ((eq - ALX_BYTES(1)) & ~eq & ALX_BYTES(0x80)));
}

/* Decodes from x->u until the end of the input or a byte whose class is in
 * stops, checking in the same pass so that a form is read once; x->u is
 * left at the byte it stopped at. Returns NULL, or the first problem from
 * the left as a description that quotes no input bytes. Most bytes are
 * plain, so they go eight at a time, then one at a time. */
static const char *decode(alx_decoder_t *x, unsigned stops)
{
    const unsigned char *u = x->u, *stop = x->stop;
    char *d = x->d;
    unsigned cls, hi, lo;

    for (;;) {
        for (; stop - u >= 8 && plain_word(u); u += 8, d += 8)
            memcpy(d, u, 8);
        while (u < stop && form_class[*u] == FORM_PLAIN)
            *d++ = (char)*u++;
        if (u == stop)
            break;
        cls = form_class[*u];
        if (stops & (1u << cls))
            break;
        switch (cls) {
        case FORM_ESCAPE:
            if (stop - u < 3 || !(hi = hex_plus1[u[1]])
                || !(lo = hex_plus1[u[2]]))
                return ALX_FORM_BAD_ESCAPE;
            if (hi == 1 && lo == 1)
                return ALX_FORM_NUL_ESCAPE;
            *d++ = (char)((hi - 1) * 16 + lo - 1);
            u += 3;
            break;
        case FORM_PLUS:
            *d++ = ' ';
            u++;
            break;
        case FORM_NUL:
            return ALX_FORM_NUL_BYTE;
        default:                /* '&' or '=' where it is data */
            *d++ = (char)*u++;
            break;
        }
    }
    x->u = u;
    x->d = d;
    return NULL;
}

/* Checks one component without decoding it; returns NULL when it is sound,
 * else a description that quotes no input bytes. */
static const char *component_problem(const char *s, apr_size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    apr_size_t i;

    for (i = 0; i < len; i++) {
        if (u[i] == '\0')
            return ALX_FORM_NUL_BYTE;
        if (u[i] != '%')
            continue;
        if (len - i < 3 || !hex_plus1[u[i + 1]] || !hex_plus1[u[i + 2]])
            return ALX_FORM_BAD_ESCAPE;
        if (u[i + 1] == '0' && u[i + 2] == '0')
            return ALX_FORM_NUL_ESCAPE;
        i += 2;
    }
    return NULL;
}

apr_status_t alx_form_unescape(apr_pool_t *p, const char *s, apr_size_t len,
                               char **out)
{
    char *d = apr_palloc(p, len + 1);
    alx_decoder_t x;

    decoder_start(&x, s, len, d);
    if (decode(&x, 0))
        return APR_EINVAL;
    *x.d = '\0';
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

/* One "name[=value]" segment from x->u, which is left past its '&'; the
 * value is "" when there is no '='. Returns the first problem, as decode. */
static const char *parse_segment(alx_decoder_t *x, alx_pair_t *pair)
{
    const char *problem;

    pair->name = x->d;
    pair->value = "";
    if ((problem = decode(x, FORM_STOP_AMP | FORM_STOP_EQ)) != NULL)
        return problem;
    *x->d++ = '\0';
    if (x->u < x->stop && *x->u == '=') {
        x->u++;
        pair->value = x->d;
        if ((problem = decode(x, FORM_STOP_AMP)) != NULL)
            return problem;
        *x->d++ = '\0';
    }
    if (x->u < x->stop)
        x->u++;
    return NULL;
}

apr_status_t alx_form_parse(apr_pool_t *p, const char *body, apr_size_t len,
                            apr_array_header_t **pairs, const char **err)
{
    apr_array_header_t *list = apr_array_make(p, 8, sizeof(alx_pair_t));
    alx_decoder_t x;
    alx_pair_t pair;

    *err = NULL;
    /* One buffer for every name and value: a segment decodes to at most its
     * own bytes plus one NUL, and segments are apart by an '&' each. */
    decoder_start(&x, body, len, apr_palloc(p, len + 1));
    while (x.u < x.stop) {
        if (*x.u == '&') {      /* an empty segment */
            x.u++;
            continue;
        }
        if ((*err = parse_segment(&x, &pair)) != NULL)
            return APR_EINVAL;
        *(alx_pair_t *)apr_array_push(list) = pair;
    }
    *pairs = list;
    return APR_SUCCESS;
}

/* The first byte settles most mismatches without a call: a token request's
 * names are looked up a dozen times each. */
static APR_INLINE int same_name(const char *a, const char *b)
{
    return a[0] == b[0] && strcmp(a, b) == 0;
}

const char *alx_form_get(const apr_array_header_t *pairs, const char *name)
{
    const alx_pair_t *pair = (const alx_pair_t *)pairs->elts;
    int i;

    for (i = 0; i < pairs->nelts; i++)
        if (same_name(pair[i].name, name))
            return pair[i].value;
    return NULL;
}

int alx_form_count(const apr_array_header_t *pairs, const char *name)
{
    const alx_pair_t *pair = (const alx_pair_t *)pairs->elts;
    int i, n = 0;

    for (i = 0; i < pairs->nelts; i++)
        if (same_name(pair[i].name, name))
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

    if (pairs->nelts < 2)
        return NULL;
    /* A token request has four to six pairs: comparing them all is cheaper
     * than a pool and a hash, which stay for a body of many (no n^2). */
    if (pairs->nelts <= ALX_FORM_FEW) {
        int j;

        for (i = 1; i < pairs->nelts; i++)
            for (j = 0; j < i; j++)
                if (same_name(pair[i].name, pair[j].name))
                    return pair[i].name;
        return NULL;
    }
    if (apr_pool_create(&scratch, pairs->pool) != APR_SUCCESS)
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
        if (!same_name(pair[i].name, name))
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
        if (same_name(pair[i].name, name)) {
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

/* Body shape: what an answer looked like, safe for any log line. */
#include <apr_strings.h>

#include "alx_shape.h"
#include "alx_form.h"

#define ALX_SHAPE_KEY_MAX 32

/* A shape being built in a buffer that can never outgrow the cap. */
typedef struct {
    char *buf;
    apr_size_t len;
    int cut;
} alx_shape_buf_t;

static void shape_start(apr_pool_t *p, alx_shape_buf_t *b, const char *prefix)
{
    b->buf = apr_palloc(p, ALX_SHAPE_MAX + 4);
    b->len = apr_cpystrn(b->buf, prefix, ALX_SHAPE_MAX + 1) - b->buf;
    b->cut = 0;
}

/* Appends ",piece" (no comma for the first member) when it still leaves room
 * for the closing brace; otherwise the shape ends in "..." for good. */
static void shape_member(alx_shape_buf_t *b, int first, const char *piece)
{
    apr_size_t plen = strlen(piece), sep = first ? 0 : 1;

    if (b->cut)
        return;
    if (b->len + sep + plen + 1 > ALX_SHAPE_MAX) {
        memcpy(b->buf + b->len, "...", 4);
        b->len += 3;
        b->cut = 1;
        return;
    }
    if (sep)
        b->buf[b->len++] = ',';
    memcpy(b->buf + b->len, piece, plen + 1);
    b->len += plen;
}

static const char *shape_finish(alx_shape_buf_t *b)
{
    if (!b->cut) {
        b->buf[b->len++] = '}';
        b->buf[b->len] = '\0';
    }
    return b->buf;
}

/* A key is shown only when it looks like a field name: an upstream could
 * put a token in a key, and a key shown verbatim would leak it. */
static int key_is_name(const char *key, apr_size_t len)
{
    apr_size_t i;

    if (len == 0 || len > ALX_SHAPE_KEY_MAX)
        return 0;
    if (!((key[0] >= 'a' && key[0] <= 'z') || key[0] == '_'))
        return 0;
    for (i = 1; i < len; i++) {
        char c = key[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 1;
}

static void key_text(char *out, apr_size_t size, const char *key,
                     apr_size_t len)
{
    if (key_is_name(key, len))
        apr_snprintf(out, size, "%.*s", (int)len, key);
    else
        apr_snprintf(out, size, "?(%" APR_SIZE_T_FMT ")", len);
}

static void type_text(char *out, apr_size_t size, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        apr_snprintf(out, size, "str(%" APR_SIZE_T_FMT ")",
                     (apr_size_t)json_string_length(v));
        break;
    case JSON_INTEGER:
        apr_cpystrn(out, "int", size);
        break;
    case JSON_REAL:
        apr_cpystrn(out, "real", size);
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        apr_cpystrn(out, "bool", size);
        break;
    case JSON_OBJECT:
        apr_snprintf(out, size, "obj(%" APR_SIZE_T_FMT ")",
                     (apr_size_t)json_object_size(v));
        break;
    case JSON_ARRAY:
        apr_snprintf(out, size, "arr(%" APR_SIZE_T_FMT ")",
                     (apr_size_t)json_array_size(v));
        break;
    default:
        apr_cpystrn(out, "null", size);
        break;
    }
}

const char *alx_shape_json(apr_pool_t *p, const json_t *v)
{
    alx_shape_buf_t b;
    const char *key;
    json_t *member;
    char type[64], name[64], piece[160];
    int first = 1;

    if (!v)
        return "none";
    if (!json_is_object(v)) {
        type_text(type, sizeof(type), v);
        return apr_pstrcat(p, "json:", type, NULL);
    }
    shape_start(p, &b, "json{");
    /* json_object_foreach wants a non-const object; it does not modify it. */
    json_object_foreach((json_t *)v, key, member) {
        key_text(name, sizeof(name), key, strlen(key));
        type_text(type, sizeof(type), member);
        apr_snprintf(piece, sizeof(piece), "%s:%s", name, type);
        shape_member(&b, first, piece);
        if (b.cut)
            break;
        first = 0;
    }
    return shape_finish(&b);
}

const char *alx_shape_form(apr_pool_t *p, const apr_array_header_t *pairs)
{
    alx_shape_buf_t b;
    char name[64], piece[160];
    int i;

    shape_start(p, &b, "form{");
    for (i = 0; pairs && i < pairs->nelts && !b.cut; i++) {
        const alx_pair_t *pair = &APR_ARRAY_IDX(pairs, i, alx_pair_t);
        const char *n = pair->name ? pair->name : "";
        const char *v = pair->value ? pair->value : "";

        key_text(name, sizeof(name), n, strlen(n));
        apr_snprintf(piece, sizeof(piece), "%s:str(%" APR_SIZE_T_FMT ")",
                     name, strlen(v));
        shape_member(&b, i == 0, piece);
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

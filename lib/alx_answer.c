/* Token-endpoint answers made into what Alexa account linking accepts. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <openssl/crypto.h>

#include "alx_alexa.h"
#include "alx_answer.h"
#include "alx_vocab.h"
#include "alx_flat.h"
#include "alx_json.h"
#include "alx_jwt.h"
#include "alx_form.h"
#include "alx_shape.h"

/* A longer expires_in is no lifetime anyone means; int32 keeps clients safe. */
#define ALX_TTL_MAX 2147483647
#define ALX_ERROR_CODE_MAX 64
/* An object with a number jansson cannot hold (see parse_json). */
#define ALX_REASON_BIG_NUMBER "big number"
/* An object with "\u0000" in a key, which jansson cannot hold. */
#define ALX_REASON_NUL_KEY "NUL in key"


/* A JSON string even from bytes that are not UTF-8 (they become '?'). */
static json_t *json_text(apr_pool_t *p, const char *s)
{
    json_t *v = json_string(s);
    char *copy, *c;

    if (v)
        return v;
    copy = apr_pstrdup(p, s);
    for (c = copy; *c; c++)
        if ((unsigned char)*c >= 0x80)
            *c = '?';
    return json_string(copy);
}

/* ---- header values ---- */

static const char *skip_blank(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* Media type of a Content-Type value, case-insensitive, parameters ignored. */
static int media_is(const char *content_type, const char *type)
{
    apr_size_t n = strlen(type);
    const char *s;

    if (!content_type)
        return 0;
    s = skip_blank(content_type);
    if (strncasecmp(s, type, n) != 0)
        return 0;
    s = skip_blank(s + n);
    return *s == '\0' || *s == ';';
}

static int media_is_json(const char *content_type)
{
    const char *s, *end;

    if (!content_type)
        return 0;
    if (media_is(content_type, "application/json"))
        return 1;
    s = skip_blank(content_type);
    end = strchr(s, ';');
    if (!end)
        end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    return end - s > 5 && strncasecmp(end - 5, "+json", 5) == 0;
}

static int media_absent(const char *content_type)
{
    return !content_type || *skip_blank(content_type) == '\0';
}

/* True when a Cache-Control value holds the no-store directive. */
static int has_no_store(const char *cache_control)
{
    const char *s = cache_control;

    while (s && *s) {
        s = skip_blank(s);
        if (strncasecmp(s, "no-store", 8) == 0) {
            const char *after = skip_blank(s + 8);
            if (*after == '\0' || *after == ',')
                return 1;
        }
        s = strchr(s, ',');
        if (s)
            s++;
    }
    return 0;
}

/* ---- body parsing ---- */

static char first_byte(const char *body, apr_size_t len)
{
    apr_size_t i;

    for (i = 0; i < len; i++)
        if (!apr_isspace(body[i]))
            return body[i];
    return '\0';
}

/* A UTF-8 byte order mark opens some answers (a .NET or Windows server
 * writing a file's bytes): it is no part of the JSON or form after it. */
#define ALX_BOM "\xEF\xBB\xBF"
#define ALX_BOM_LEN 3

static int has_bom(const char *body, apr_size_t len)
{
    return body && len >= ALX_BOM_LEN && memcmp(body, ALX_BOM, ALX_BOM_LEN) == 0;
}

static void skip_bom(const char **body, apr_size_t *len)
{
    if (has_bom(*body, *len)) {
        *body += ALX_BOM_LEN;
        *len -= ALX_BOM_LEN;
    }
}

/* ---- numbers jansson cannot hold ---- */

/* jansson keeps integers in 64 bits and reals in doubles; a number beyond
 * either fails the whole parse. Such an answer is still usable by whoever
 * reads it with another parser, so it is told apart from malformed JSON. */
static int numeric_overflow(const json_error_t *err)
{
#if JANSSON_VERSION_HEX >= 0x020b00
    return json_error_code(err) == json_error_numeric_overflow;
#else
    return strncmp(err->text, "too big ", 8) == 0
           || strncmp(err->text, "real number overflow", 20) == 0;
#endif
}

static int number_byte(char c)
{
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.'
           || c == 'e' || c == 'E';
}

/* RFC 8259 number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
 * 0 when s is not one, 1 for an integer, 2 for a real. */
static int json_number_kind(const char *s, apr_size_t n)
{
    apr_size_t i = 0, from;
    int kind = 1;

    if (i < n && s[i] == '-')
        i++;
    if (i < n && s[i] == '0')
        i++;
    else if (i < n && s[i] >= '1' && s[i] <= '9')
        while (i < n && apr_isdigit(s[i]))
            i++;
    else
        return 0;
    if (i < n && s[i] == '.') {
        for (from = ++i; i < n && apr_isdigit(s[i]); i++)
            ;
        if (i == from)
            return 0;
        kind = 2;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        if (++i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        for (from = i; i < n && apr_isdigit(s[i]); i++)
            ;
        if (i == from)
            return 0;
        kind = 2;
    }
    return i == n ? kind : 0;
}

/* As jansson decides: strtoll or strtod out of range. s is NUL-terminated. */
static int number_overflows(const char *s, int kind)
{
    errno = 0;
    if (kind == 1) {
        (void)strtoll(s, NULL, 10);
        return errno == ERANGE;
    }
    {
        double d = strtod(s, NULL);
        return errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL);
    }
}

/* A copy of a JSON text with each number jansson cannot hold written as 0
 * (0.0 for a real) padded with spaces: it tells the answer's kind and
 * shape, and is never sent. Only well-formed numbers are replaced, so the
 * copy parses exactly when the text does but for those numbers. */
static char *big_numbers_as_zero(apr_pool_t *p, const char *body, apr_size_t len)
{
    char *copy = apr_palloc(p, len + 1);
    apr_size_t i = 0, end;
    int in_string = 0, kind;
    char saved;

    memcpy(copy, body, len);
    copy[len] = '\0';
    while (i < len) {
        char c = copy[i];

        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = 0;
            i++;
            continue;
        }
        if (c == '"') {
            in_string = 1;
            i++;
            continue;
        }
        if (c != '-' && !apr_isdigit(c)) {
            i++;
            continue;
        }
        for (end = i; end < len && number_byte(copy[end]); end++)
            ;
        kind = json_number_kind(copy + i, end - i);
        saved = copy[end];
        copy[end] = '\0';
        if (kind && number_overflows(copy + i, kind)) {
            memset(copy + i, ' ', end - i);
            memcpy(copy + i, kind == 1 ? "0" : "0.0", kind == 1 ? 1 : 3);
        }
        copy[end] = saved;
        i = end;
    }
    return copy;
}

/* jansson holds "\u0000" in a string value (JSON_ALLOW_NUL) but never in
 * a key, and fails the whole parse on one. */
static int nul_in_key(const json_error_t *err)
{
#if JANSSON_VERSION_HEX >= 0x020b00
    return json_error_code(err) == json_error_null_byte_in_key;
#else
    return strncmp(err->text, "NUL byte in object key", 22) == 0;
#endif
}

/* A copy of a JSON text with every "\u0000" escape written "\u0001": like
 * big_numbers_as_zero, for the answer's kind and shape only. */
static char *nul_escapes_as_one(apr_pool_t *p, const char *body,
                                apr_size_t len)
{
    char *copy = apr_pstrmemdup(p, body, len);
    apr_size_t i;
    int in_string = 0;

    for (i = 0; i < len; i++) {
        if (!in_string)
            in_string = copy[i] == '"';
        else if (copy[i] == '"')
            in_string = 0;
        else if (copy[i] == '\\' && ++i < len && copy[i] == 'u'
                 && len - i > 4 && memcmp(copy + i + 1, "0000", 4) == 0)
            copy[i + 4] = '1';
    }
    return copy;
}

#define ALX_JSON_FLAGS (JSON_DECODE_ANY | JSON_ALLOW_NUL)

static alx_body_format_e parse_json(apr_pool_t *p, const char *body,
                                    apr_size_t len, json_t **obj,
                                    const char **reason)
{
    json_error_t err;
    json_t *v = alx_json_own(p, json_loadb(body, len, ALX_JSON_FLAGS, &err));
    const char *odd = NULL;

    if (!v && numeric_overflow(&err)) {
        v = alx_json_own(p, json_loadb(big_numbers_as_zero(p, body, len), len,
                                       ALX_JSON_FLAGS, &err));
        odd = v ? ALX_REASON_BIG_NUMBER : NULL;
    }
    else if (!v && nul_in_key(&err)) {
        v = alx_json_own(p, json_loadb(nul_escapes_as_one(p, body, len), len,
                                       ALX_JSON_FLAGS, &err));
        odd = v ? ALX_REASON_NUL_KEY : NULL;
    }
    if (!v) {
        *reason = first_byte(body, len) == '<' ? "html" : "malformed JSON";
        return ALX_BODY_UNPARSEABLE;
    }
    /* A non-object is handed back too, for its shape; so is an object with
     * big numbers (read as 0), for its shape and kind. */
    *obj = v;
    if (!json_is_object(v)) {
        *reason = "JSON not an object";
        return ALX_BODY_UNPARSEABLE;
    }
    if (odd) {
        *reason = odd;
        return ALX_BODY_UNPARSEABLE;
    }
    return ALX_BODY_JSON;
}

/* Form pairs as a JSON object of strings; the first of duplicates wins, as
 * alx_form_get. Bytes that are not UTF-8 make it malformed: such a token
 * could not be sent as JSON anyway. */
static alx_body_format_e parse_form(apr_pool_t *p, const char *body,
                                    apr_size_t len, json_t **obj,
                                    apr_array_header_t **pairs,
                                    const char **reason)
{
    const char *err;
    json_t *o;
    int i;

    if (alx_form_parse(p, body, len, pairs, &err) != APR_SUCCESS) {
        *pairs = NULL;
        *reason = "malformed form";
        return ALX_BODY_UNPARSEABLE;
    }
    o = alx_json_own(p, json_object());
    for (i = 0; i < (*pairs)->nelts; i++) {
        const alx_pair_t *pair = &APR_ARRAY_IDX(*pairs, i, alx_pair_t);

        if (json_object_get(o, pair->name))
            continue;
        if (json_object_set_new(o, pair->name, json_string(pair->value))) {
            *reason = "malformed form";
            return ALX_BODY_UNPARSEABLE;
        }
    }
    *obj = o;
    return ALX_BODY_FORM;
}

static alx_body_format_e parse_body(apr_pool_t *p, const char *content_type,
                                    const char *body, apr_size_t len,
                                    json_t **obj, apr_array_header_t **pairs,
                                    const char **reason)
{
    char first;

    *obj = NULL;
    *pairs = NULL;
    *reason = NULL;
    skip_bom(&body, &len);
    if (!body || len == 0) {
        *reason = "empty";
        return ALX_BODY_EMPTY;
    }
    first = first_byte(body, len);
    if (media_is_json(content_type) || first == '{')
        return parse_json(p, body, len, obj, reason);
    if (media_is(content_type, "application/x-www-form-urlencoded")
        || ((media_absent(content_type) || media_is(content_type, "text/plain"))
            && alx_form_is_form_shaped(body, len)))
        return parse_form(p, body, len, obj, pairs, reason);
    if (media_is(content_type, "text/html") || first == '<')
        *reason = "html";
    else
        *reason = "text";
    return ALX_BODY_UNPARSEABLE;
}

alx_body_format_e alx_answer_parse_body(apr_pool_t *p, const char *content_type,
                                        const char *body, apr_size_t len,
                                        json_t **obj, const char **reason)
{
    apr_array_header_t *pairs;

    return parse_body(p, content_type, body, len, obj, &pairs, reason);
}

static const char *shape_of(apr_pool_t *p, alx_body_format_e format,
                            const json_t *obj,
                            const apr_array_header_t *pairs,
                            const char *reason, apr_size_t len)
{
    if (format == ALX_BODY_EMPTY)
        return "empty";
    if (format == ALX_BODY_FORM)
        return alx_shape_form(p, pairs);
    if (obj)
        return alx_shape_json(p, obj);
    if (strcmp(reason, "html") == 0)
        return alx_shape_opaque(p, "html", (apr_off_t)len);
    if (strcmp(reason, "malformed JSON") == 0)
        return alx_shape_opaque(p, "bad-json", (apr_off_t)len);
    return alx_shape_opaque(p, "text", (apr_off_t)len);
}

/* ---- error codes ---- */

static const struct {
    const char *from;
    const char *to;
} alx_error_map[] = {
    /* GitHub */
    { "bad_verification_code",        "invalid_grant" },
    { "incorrect_client_credentials", "invalid_client" },
    { "redirect_uri_mismatch",        "invalid_grant" },
    { "invalid_token",                "invalid_grant" },
    { "expired_token",                "invalid_grant" },
    { "incorrect_device_code",        "invalid_grant" },
    { "access_denied",                "invalid_grant" },
    { "unverified_user_email",        "invalid_grant" },
    { "invalid_client_id",            "invalid_client" },
    /* Others seen in the wild */
    { "invalid_refresh_token",        "invalid_grant" },
    { "invalid_code",                 "invalid_grant" },
    { "expired_code",                 "invalid_grant" },
    { "invalid_client_secret",        "invalid_client" },
    { "unauthorized",                 "invalid_client" },
};

const char *alx_error_standard(const char *code)
{
    apr_size_t i;

    if (!code)
        return NULL;
    for (i = 0; i < sizeof(alx_error_map) / sizeof(alx_error_map[0]); i++)
        if (strcmp(code, alx_error_map[i].from) == 0)
            return alx_error_map[i].to;
    return code;
}

static json_t *error_object(apr_pool_t *p, const char *error,
                            const char *description)
{
    json_t *o = alx_json_own(p, json_object());

    json_object_set_new(o, "error", json_text(p, error ? error : "server_error"));
    if (description)
        json_object_set_new(o, "error_description", json_text(p, description));
    return o;
}

const char *alx_error_json(apr_pool_t *p, const char *error,
                           const char *description)
{
    return alx_error_json_shaped(p, error, description, NULL);
}

const char *alx_error_json_shaped(apr_pool_t *p, const char *error,
                                  const char *description, const char **shape)
{
    apr_size_t len;
    json_t *o = error_object(p, error, description);
    const char *s = alx_json_compact(p, o, &len);

    if (!s) {
        o = error_object(p, "server_error", NULL);
        s = apr_pstrdup(p, "{\"error\":\"server_error\"}");
    }
    if (shape)
        *shape = alx_shape_json(p, o);
    return s;
}

/* Codes go to log lines: only [a-z0-9_], else a fixed word. */
static const char *code_log_safe(apr_pool_t *p, const char *code)
{
    apr_size_t i, n = strlen(code);

    if (n == 0 || n > ALX_ERROR_CODE_MAX)
        return "nonstandard";
    for (i = 0; i < n; i++) {
        char c = code[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return "nonstandard";
    }
    return apr_pstrdup(p, code);
}

static int error_status(const char *code)
{
    if (strcmp(code, "invalid_client") == 0)
        return 401;
    if (strcmp(code, "server_error") == 0)
        return 500;
    if (strcmp(code, "temporarily_unavailable") == 0)
        return 503;
    return 400;
}

/* ---- expires_in ---- */

static int ttl_from_text(const char *s, apr_size_t len, apr_int64_t *out)
{
    apr_int64_t n = 0;
    apr_size_t i;

    if (len == 0 || !apr_isdigit(s[0]))
        return -1;
    for (i = 0; i < len && apr_isdigit(s[i]); i++) {
        n = n * 10 + (s[i] - '0');
        if (n > ALX_TTL_MAX)
            return -1;
    }
    if (i < len && s[i] == '.' && i + 1 < len) {
        for (i++; i < len && apr_isdigit(s[i]); i++)
            ;
    }
    if (i != len)
        return -1;
    *out = n;
    return 1;
}

int alx_ttl_coerce(const json_t *v, apr_int64_t *out)
{
    if (json_is_integer(v)) {
        json_int_t n = json_integer_value(v);
        if (n < 0 || n > ALX_TTL_MAX)
            return -1;
        *out = (apr_int64_t)n;
        return 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!(d >= 0.0 && d < (double)ALX_TTL_MAX + 1.0))
            return -1;
        *out = (apr_int64_t)d;
        return 1;
    }
    if (json_is_string(v))
        return ttl_from_text(json_string_value(v), json_string_length(v), out);
    return -1;
}

/* ---- the decision ---- */

static unsigned header_fixes(const alx_answer_in_t *in, alx_body_format_e format)
{
    unsigned fixes = 0;

    if (format == ALX_BODY_FORM)
        fixes |= ALX_FIX_FORMAT;
    else if (!media_is_json(in->content_type))
        fixes |= ALX_FIX_CONTENT_TYPE;
    if (!has_no_store(in->cache_control))
        fixes |= ALX_FIX_NO_STORE;
    if (has_bom(in->body, in->len))
        fixes |= ALX_FIX_BOM;
    return fixes;
}

static void answer_unusable(apr_pool_t *p, const alx_answer_in_t *in,
                            alx_answer_t *out, const char *reason)
{
    const char *desc = apr_psprintf(p, "upstream answer %s: status %d, %s",
                                    reason, in->status, out->shape_in);
    json_t *o = error_object(p, "server_error", desc);
    const char *body = alx_json_compact(p, o, &out->len);

    out->kind = ALX_KIND_UNUSABLE;
    out->status = 502;
    out->reason = reason;
    out->body = body ? body : "{\"error\":\"server_error\"}";
    if (!body)
        out->len = strlen(out->body);
    out->shape_out = body ? alx_shape_json(p, o) : "json{error:str(12)}";
    out->fixes = ALX_FIX_UNUSABLE | ALX_FIX_STATUS;
    out->warnings = 0;
    out->ttl_in = out->ttl_out = ALX_TTL_ABSENT;
    out->refresh = ALX_REFRESH_NONE;
    out->error_in = out->error_out = NULL;
}

/* The answer goes out as compact JSON; jansson keeps insertion order. */
static void send_json(apr_pool_t *p, const alx_answer_in_t *in,
                      alx_answer_t *out, const json_t *v)
{
    const char *body = alx_json_compact(p, v, &out->len);

    if (!body) {
        answer_unusable(p, in, out, "not encodable");
        return;
    }
    out->body = body;
    out->shape_out = alx_shape_json(p, v);
}

/* What expires_in becomes (ALX_TTL_ABSENT: none is sent), from what the
 * answer held: present or not, how it coerced (alx_ttl_coerce), its
 * seconds. Both paths decide here and only apply the result. */
/* What the access token's own claims say (SPEC "Learned lifetimes"):
 * out->ttl_real, its lifetime (exp - iat, or exp - now without iat), and
 * the seconds it has left, which stand in for a missing expires_in; 0 for
 * either when it is no JWT or they cannot be told. */
static apr_int64_t learn_ttl(apr_pool_t *p, const alx_answer_in_t *in,
                             alx_answer_t *out, const char *token,
                             apr_size_t len)
{
    apr_int64_t exp, iat, left;

    if (!token || !alx_jwt_times(p, token, len, &exp, &iat))
        return 0;
    left = in->now > 0 && exp > in->now ? exp - in->now : 0;
    out->ttl_real = iat != ALX_JWT_NONE && iat < exp ? exp - iat : left;
    return left;
}

static apr_int64_t ttl_decide(const alx_answer_in_t *in, alx_answer_t *out,
                              int present, int how, apr_int64_t ttl,
                              apr_int64_t learned)
{
    if (!present) {
        ttl = ALX_TTL_ABSENT;
    }
    else {
        out->ttl_in = how < 0 ? ALX_TTL_INVALID : ttl;
        if (how == 1)
            out->fixes |= ALX_FIX_TTL_TYPE;
        if (how < 0)
            ttl = ALX_TTL_ABSENT;
    }
    if (ttl == ALX_TTL_ABSENT && learned > 0) {
        ttl = learned;
        out->fixes |= ALX_FIX_TTL_LEARNED;
    }
    if (ttl == ALX_TTL_ABSENT && in->default_ttl > 0) {
        ttl = in->default_ttl;
        out->fixes |= ALX_FIX_TTL_DEFAULT;
    }
    if (ttl >= 0 && in->min_ttl > 0 && ttl < in->min_ttl) {
        ttl = in->min_ttl;
        out->fixes |= ALX_FIX_TTL_FLOOR;
    }
    /* Unusable and nothing to put in its place: Alexa must not see it. */
    if (ttl < 0 && present)
        out->fixes |= ALX_FIX_TTL_TYPE;
    out->ttl_out = ttl;
    if (ttl == ALX_TTL_ABSENT)
        out->warnings |= ALX_WARN_NO_TTL;
    else if (ttl < ALX_ALEXA_MIN_TTL)
        out->warnings |= ALX_WARN_TTL_SHORT;
    return ttl;
}

static void fix_ttl(apr_pool_t *p, const alx_answer_in_t *in,
                    alx_answer_t *out, json_t *obj)
{
    json_t *v = json_object_get(obj, "expires_in");
    json_t *at = json_object_get(obj, "access_token");
    apr_int64_t ttl = ALX_TTL_ABSENT;
    int how = v ? alx_ttl_coerce(v, &ttl) : 0;
    apr_int64_t learned = learn_ttl(p, in, out, json_string_value(at),
                                    json_string_length(at));

    ttl = ttl_decide(in, out, v != NULL, how, ttl, learned);
    if (ttl >= 0)
        json_object_set_new(obj, "expires_in", json_integer(ttl));
    else if (v)
        json_object_del(obj, "expires_in");
}

static void fix_token_type(alx_answer_t *out, json_t *obj)
{
    json_t *v = json_object_get(obj, "token_type");

    if (json_is_string(v) && json_string_length(v) > 0)
        return;
    json_object_set_new(obj, "token_type", json_string("Bearer"));
    out->fixes |= ALX_FIX_TOKEN_TYPE;
}

/* Refresh tokens are secrets: compare in constant time. */
static int same_secret(const char *v, apr_size_t n, const char *presented)
{
    return strlen(presented) == n && CRYPTO_memcmp(v, presented, n) == 0;
}

/* The refresh token's fate, from the answer's own (present: a non-empty
 * string, value and len); *keep when the presented one is to be given
 * back, which the caller does and then counts as ALX_FIX_REFRESH_KEPT. */
static alx_refresh_e refresh_decide(const alx_answer_in_t *in,
                                    alx_answer_t *out, int present,
                                    const char *value, apr_size_t len,
                                    int *keep)
{
    alx_grant_e grant = alx_grant_of(in->grant_type);
    const char *presented = in->presented_refresh_token;

    *keep = 0;
    if (grant != ALX_GRANT_REFRESH_TOKEN) {
        if (!present && grant == ALX_GRANT_AUTHORIZATION_CODE)
            out->warnings |= ALX_WARN_NO_REFRESH;
        return present ? ALX_REFRESH_FORWARDED : ALX_REFRESH_ABSENT;
    }
    if (present)
        return presented && *presented && !same_secret(value, len, presented)
               ? ALX_REFRESH_ROTATED : ALX_REFRESH_FORWARDED;
    if (in->keep_refresh_token && presented && *presented) {
        *keep = 1;
        return ALX_REFRESH_KEPT;
    }
    return ALX_REFRESH_ABSENT;
}

static alx_refresh_e refresh_fate(const alx_answer_in_t *in, alx_answer_t *out,
                                  json_t *obj)
{
    json_t *v = json_object_get(obj, "refresh_token");
    int present = json_is_string(v) && json_string_length(v) > 0;
    int keep;
    alx_refresh_e fate = refresh_decide(in, out, present,
                                        present ? json_string_value(v) : NULL,
                                        present ? json_string_length(v) : 0,
                                        &keep);

    if (!keep)
        return fate;
    if (json_object_set_new(obj, "refresh_token",
                            json_string(in->presented_refresh_token)) != 0)
        return ALX_REFRESH_ABSENT;   /* not UTF-8: it cannot be sent */
    out->fixes |= ALX_FIX_REFRESH_KEPT;
    return fate;
}

/* How long the answer's refresh token lives, when it says: Keycloak's
 * refresh_expires_in (expires: present; how: alx_ttl_coerce's; 0 there is
 * an offline token, no limit), else the token's own exp (token NULL when
 * none). Read before a presented token is given back. Both paths. */
static void learn_refresh(apr_pool_t *p, const alx_answer_in_t *in,
                          alx_answer_t *out, int expires, int how,
                          apr_int64_t life, const char *token,
                          apr_size_t len)
{
    apr_int64_t left;

    if (expires) {
        if (how >= 0)
            out->refresh_life = life;
        return;
    }
    if (!token || in->now <= 0)
        return;
    left = alx_jwt_left(p, token, len, in->now);
    out->refresh_life = left > 0 ? left : 0;
    out->refresh_life_from_exp = left > 0;
}

static void json_learn_refresh(apr_pool_t *p, const alx_answer_in_t *in,
                               alx_answer_t *out, const json_t *expires,
                               const json_t *token)
{
    apr_int64_t life = 0;
    int how = expires ? alx_ttl_coerce(expires, &life) : 0;

    learn_refresh(p, in, out, expires != NULL, how, life,
                  json_string_value(token), json_string_length(token));
}

static void answer_token(apr_pool_t *p, const alx_answer_in_t *in,
                         alx_answer_t *out, json_t *obj)
{
    out->kind = ALX_KIND_TOKEN;
    out->status = 200;
    fix_ttl(p, in, out, obj);
    fix_token_type(out, obj);
    json_learn_refresh(p, in, out, json_object_get(obj, "refresh_expires_in"),
                       json_object_get(obj, "refresh_token"));
    out->refresh = refresh_fate(in, out, obj);
    if (in->status != 200)
        out->fixes |= ALX_FIX_STATUS;
    out->fixes |= header_fixes(in, out->format_in);
    send_json(p, in, out, obj);
}

/* "code: description" for a mapped code (the description, which may hold
 * "\u0000", whole), or the code alone without one. */
static json_t *mapped_description(apr_pool_t *p, const char *code,
                                  const json_t *desc)
{
    apr_size_t n = strlen(code), m;
    char *text;

    if (!json_is_string(desc) || json_string_length(desc) == 0)
        return json_string(code);
    m = json_string_length(desc);
    text = apr_palloc(p, n + 2 + m);
    memcpy(text, code, n);
    memcpy(text + n, ": ", 2);
    memcpy(text + n + 2, json_string_value(desc), m);
    return json_stringn(text, n + 2 + m);
}

/* RFC 6749 5.2: error first, then error_description, then the rest. */
static void answer_error(apr_pool_t *p, const alx_answer_in_t *in,
                         alx_answer_t *out, json_t *obj, const char *code)
{
    json_t *given = json_object_get(obj, "error");
    /* a code with "\u0000" in it is no code we know: sent as it is */
    int whole = strlen(code) == json_string_length(given);
    const char *standard = whole ? alx_error_standard(code) : code;
    json_t *desc = json_object_get(obj, "error_description");
    json_t *res = alx_json_own(p, json_object());
    const char *key;
    json_t *v;

    if (whole)
        json_object_set_new(res, "error", json_string(standard));
    else
        json_object_set(res, "error", given);
    if (strcmp(standard, code) != 0) {
        json_object_set_new(res, "error_description",
                            mapped_description(p, code, desc));
        out->fixes |= ALX_FIX_ERROR_CODE;
    }
    else if (desc) {
        json_object_set(res, "error_description", desc);
    }
    json_object_foreach(obj, key, v) {
        if (strcmp(key, "error") != 0 && strcmp(key, "error_description") != 0)
            json_object_set(res, key, v);
    }
    out->kind = ALX_KIND_ERROR;
    out->status = whole ? error_status(standard) : 400;
    out->error_in = whole ? code_log_safe(p, code) : "nonstandard";
    out->error_out = whole ? code_log_safe(p, standard) : "nonstandard";
    if (out->status != in->status)
        out->fixes |= ALX_FIX_STATUS;
    out->fixes |= header_fixes(in, out->format_in);
    send_json(p, in, out, res);
}

static const char *access_token_of(const json_t *obj)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, "access_token") : NULL;

    return json_is_string(v) && json_string_length(v) > 0
           ? json_string_value(v) : NULL;
}

static const char *error_code_of(const json_t *obj)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, "error") : NULL;

    return json_is_string(v) ? json_string_value(v) : NULL;
}

void alx_answer_normalize_general(apr_pool_t *p, const alx_answer_in_t *in,
                                  alx_answer_t *out)
{
    apr_array_header_t *pairs;
    json_t *obj;
    const char *reason, *code;
    int success = in->status >= 200 && in->status < 300;

    memset(out, 0, sizeof(*out));
    out->status = in->status;
    out->ttl_in = out->ttl_out = ALX_TTL_ABSENT;
    out->format_in = parse_body(p, in->content_type, in->body, in->len,
                                &obj, &pairs, &reason);
    out->shape_in = shape_of(p, out->format_in, obj, pairs, reason, in->len);
    out->shape_out = out->shape_in;

    /* A transient upstream failure must stay one: turned into invalid_grant
     * it would make Alexa unlink the customer. */
    if (in->status >= 500) {
        out->kind = ALX_KIND_SERVER_ERROR;
        return;
    }
    code = error_code_of(obj);
    if (reason && (strcmp(reason, ALX_REASON_BIG_NUMBER) == 0
                   || strcmp(reason, ALX_REASON_NUL_KEY) == 0)) {
        /* Read only with its big numbers as 0 (or its keys' NULs as 1): a
         * token or an error goes on as the upstream wrote it, what else it
         * is is judged as such. */
        if (code || (success && access_token_of(obj))) {
            out->kind = ALX_KIND_OPAQUE;
            out->reason = reason;
            return;
        }
        reason = NULL;
    }
    if (success && access_token_of(obj))
        answer_token(p, in, out, obj);
    else if (code)
        answer_error(p, in, out, obj, code);
    else if (success)
        answer_unusable(p, in, out, reason ? reason : "neither token nor error");
    else {
        out->kind = ALX_KIND_OPAQUE;
        out->reason = reason ? reason : "no error code";
    }
}

/* ---- the fast path: a flat token answer ---- */

/* The fixes that change a token answer's members. */
#define ALX_FIX_BODY (ALX_FIX_TTL_TYPE | ALX_FIX_TTL_FLOOR | ALX_FIX_TTL_DEFAULT \
                      | ALX_FIX_TTL_LEARNED \
                      | ALX_FIX_TOKEN_TYPE | ALX_FIX_REFRESH_KEPT)

/* alx_ttl_coerce for a flat member. */
static int flat_ttl_coerce(const alx_flat_member_t *m, apr_int64_t *out)
{
    if (m->type == ALX_FLAT_INT) {
        if (m->num < 0 || m->num > ALX_TTL_MAX)
            return -1;
        *out = m->num;
        return 0;
    }
    if (m->type == ALX_FLAT_STR)
        return ttl_from_text(m->str, m->str_len, out);
    return -1;
}

/* Form pairs as a flat object, the first of duplicates winning (as
 * parse_form); 0 when a name or value is not plain or there are too many. */
static int flat_from_pairs(const apr_array_header_t *pairs, alx_flat_t *f)
{
    int i;

    f->n = 0;
    for (i = 0; i < pairs->nelts; i++) {
        const alx_pair_t *pair = &APR_ARRAY_IDX(pairs, i, alx_pair_t);
        apr_size_t nlen = strlen(pair->name), vlen = strlen(pair->value);

        if (!alx_flat_plain(pair->name, nlen)
            || !alx_flat_plain(pair->value, vlen))
            return 0;
        if (alx_flat_get(f, pair->name))
            continue;
        if (!alx_flat_set_str(f, pair->name, pair->value, vlen))
            return 0;
    }
    return 1;
}

/* The body read into f as parse_body would read it, for a flat object or
 * a form of plain pairs; 0 for anything else. */
static int flat_body(apr_pool_t *p, const alx_answer_in_t *in, alx_flat_t *f,
                     alx_answer_t *out)
{
    apr_array_header_t *pairs;
    const char *err, *body = in->body;
    apr_size_t len = in->len;
    char first;

    skip_bom(&body, &len);
    first = first_byte(body, len);
    if (media_is_json(in->content_type) || first == '{') {
        if (!alx_flat_parse(body, len, f))
            return 0;
        out->format_in = ALX_BODY_JSON;
        out->shape_in = alx_shape_flat(p, f);
        return 1;
    }
    if (!(media_is(in->content_type, "application/x-www-form-urlencoded")
          || ((media_absent(in->content_type)
               || media_is(in->content_type, "text/plain"))
              && alx_form_is_form_shaped(body, len)))
        || alx_form_parse(p, body, len, &pairs, &err) != APR_SUCCESS
        || !flat_from_pairs(pairs, f))
        return 0;
    out->format_in = ALX_BODY_FORM;
    out->shape_in = alx_shape_form(p, pairs);
    return 1;
}

/* learn_refresh on flat members (token: a non-empty string or NULL). */
static void flat_learn_refresh(apr_pool_t *p, const alx_answer_in_t *in,
                               alx_answer_t *out,
                               const alx_flat_member_t *expires,
                               const alx_flat_member_t *token)
{
    apr_int64_t life = 0;
    int how = expires ? flat_ttl_coerce(expires, &life) : 0;

    learn_refresh(p, in, out, expires != NULL, how, life,
                  token ? token->str : NULL, token ? token->str_len : 0);
}

/* answer_token on a flat object. Everything that could send it down
 * another path is checked before out is touched: a token (a non-empty
 * access_token string), room for the three members it may add, and a
 * presented refresh token that can be written as it is. */
int alx_answer_normalize_flat(apr_pool_t *p, const alx_answer_in_t *in,
                              alx_answer_t *out)
{
    alx_flat_t f;
    alx_answer_t a;
    alx_flat_member_t *m;
    apr_int64_t ttl = ALX_TTL_ABSENT, learned;
    const char *presented = in->presented_refresh_token;
    int how = 0, keep;

    if (in->status < 200 || in->status >= 300 || !in->body || in->len == 0
        || (presented && !alx_flat_plain(presented, strlen(presented))))
        return 0;
    memset(&a, 0, sizeof(a));
    if (!flat_body(p, in, &f, &a) || f.n > ALX_FLAT_MAX - 3)
        return 0;
    m = alx_flat_get(&f, "access_token");
    if (!m || m->type != ALX_FLAT_STR || m->str_len == 0)
        return 0;

    a.kind = ALX_KIND_TOKEN;
    a.status = 200;
    a.ttl_in = ALX_TTL_ABSENT;
    learned = learn_ttl(p, in, &a, m->str, m->str_len);
    m = alx_flat_get(&f, "expires_in");
    if (m)
        how = flat_ttl_coerce(m, &ttl);
    ttl = ttl_decide(in, &a, m != NULL, how, ttl, learned);
    if (ttl >= 0)
        alx_flat_set_int(&f, "expires_in", ttl);
    else if (m)
        alx_flat_del(&f, "expires_in");

    m = alx_flat_get(&f, "token_type");
    if (!m || m->type != ALX_FLAT_STR || m->str_len == 0) {
        alx_flat_set_str(&f, "token_type", "Bearer", 6);
        a.fixes |= ALX_FIX_TOKEN_TYPE;
    }

    m = alx_flat_get(&f, "refresh_token");
    if (m && !(m->type == ALX_FLAT_STR && m->str_len > 0))
        m = NULL;
    flat_learn_refresh(p, in, &a, alx_flat_get(&f, "refresh_expires_in"), m);
    a.refresh = refresh_decide(in, &a, m != NULL, m ? m->str : NULL,
                               m ? m->str_len : 0, &keep);
    if (keep) {
        alx_flat_set_str(&f, "refresh_token", presented, strlen(presented));
        a.fixes |= ALX_FIX_REFRESH_KEPT;
    }

    if (in->status != 200)
        a.fixes |= ALX_FIX_STATUS;
    a.fixes |= header_fixes(in, a.format_in);
    a.body = alx_flat_compact(p, &f, &a.len);
    /* members unchanged (expires_in at most set to its own value): the
     * shape read in is the shape sent */
    a.shape_out = a.format_in == ALX_BODY_JSON && !(a.fixes & ALX_FIX_BODY)
                  ? a.shape_in : alx_shape_flat(p, &f);
    *out = a;
    return 1;
}

void alx_answer_normalize(apr_pool_t *p, const alx_answer_in_t *in,
                          alx_answer_t *out)
{
    if (!alx_answer_normalize_flat(p, in, out))
        alx_answer_normalize_general(p, in, out);
}

/* JWT lifetimes (alx_jwt.h): base64url and JSON, nothing verified. */
#include <string.h>

#include <apr_base64.h>
#include <apr_strings.h>
#include <jansson.h>

#include "alx_jwt.h"
#include "alx_json.h"

#define JWT_MAX_TIME ((apr_int64_t)1 << 40)

static int b64url_byte(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* The bytes of unpadded base64url s (len bytes), NUL-terminated; NULL for
 * any other byte, an impossible length, or more than ALX_JWT_MAX_PAYLOAD. */
static char *b64url_decode(apr_pool_t *p, const char *s, apr_size_t len,
                           apr_size_t *out_len)
{
    char *std, *out;
    apr_size_t i, padded = (len + 3) / 4 * 4;
    int n;

    if (len == 0 || len % 4 == 1 || len / 4 * 3 > ALX_JWT_MAX_PAYLOAD)
        return NULL;
    std = apr_palloc(p, padded + 1);
    for (i = 0; i < len; i++) {
        if (!b64url_byte((unsigned char)s[i]))
            return NULL;
        std[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
    }
    for (; i < padded; i++)
        std[i] = '=';
    std[padded] = '\0';
    out = apr_palloc(p, apr_base64_decode_len(std) + 1);
    n = apr_base64_decode_binary((unsigned char *)out, std);
    if (n < 0)
        return NULL;
    out[n] = '\0';
    *out_len = (apr_size_t)n;
    return out;
}

/* A claim as whole seconds in 1 .. 2^40, or ALX_JWT_NONE. */
static apr_int64_t claim_time(const json_t *v)
{
    double d;

    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);

        return i >= 1 && i <= JWT_MAX_TIME ? (apr_int64_t)i : ALX_JWT_NONE;
    }
    if (!json_is_real(v))
        return ALX_JWT_NONE;
    d = json_real_value(v);
    return d >= 1.0 && d <= (double)JWT_MAX_TIME ? (apr_int64_t)d
                                                  : ALX_JWT_NONE;
}

int alx_jwt_times(apr_pool_t *p, const char *token, apr_size_t len,
                  apr_int64_t *exp, apr_int64_t *iat)
{
    const char *dot1, *dot2, *end = token + len;
    const char *payload;
    apr_size_t payload_len;
    json_t *claims;

    *exp = *iat = ALX_JWT_NONE;
    if (!token || len < 5 || !(dot1 = memchr(token, '.', len))
        || !(dot2 = memchr(dot1 + 1, '.', (apr_size_t)(end - dot1 - 1)))
        || memchr(dot2 + 1, '.', (apr_size_t)(end - dot2 - 1)))
        return 0;
    payload = b64url_decode(p, dot1 + 1, (apr_size_t)(dot2 - dot1 - 1),
                            &payload_len);
    if (!payload || payload_len == 0 || payload[0] != '{')
        return 0;
    claims = alx_json_own(p, json_loadb(payload, payload_len, 0, NULL));
    if (!json_is_object(claims))
        return 0;
    *exp = claim_time(json_object_get(claims, "exp"));
    if (*exp == ALX_JWT_NONE)
        return 0;
    *iat = claim_time(json_object_get(claims, "iat"));
    return 1;
}

apr_int64_t alx_jwt_lifetime(apr_pool_t *p, const char *token,
                             apr_size_t len, apr_int64_t now)
{
    apr_int64_t exp, iat;

    if (!alx_jwt_times(p, token, len, &exp, &iat))
        return ALX_JWT_NONE;
    if (iat != ALX_JWT_NONE && iat <= exp)
        return exp - iat;
    return exp > now ? exp - now : 0;
}

apr_int64_t alx_jwt_left(apr_pool_t *p, const char *token, apr_size_t len,
                         apr_int64_t now)
{
    apr_int64_t exp, iat;

    if (!alx_jwt_times(p, token, len, &exp, &iat))
        return ALX_JWT_NONE;
    return exp > now ? exp - now : 0;
}

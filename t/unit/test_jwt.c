/* Unit tests for lib/alx_jwt.c: a JWT's exp and iat read without
 * verifying, and everything else refused. */
#include <string.h>

#include <apr_base64.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "alx_jwt.h"
#include "tap.h"

#define NOW 1700000000

static apr_pool_t *pool;

/* base64url of s, unpadded. */
static const char *b64url(const char *s, apr_size_t len)
{
    char *out = apr_palloc(pool, apr_base64_encode_len((int)len));
    apr_size_t n, i;

    apr_base64_encode_binary(out, (const unsigned char *)s, (int)len);
    n = strlen(out);
    while (n && out[n - 1] == '=')
        out[--n] = '\0';
    for (i = 0; i < n; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    return out;
}

/* header.payload.signature with payload as given. */
static const char *jwt(const char *payload)
{
    return apr_pstrcat(pool, b64url("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", 27),
                       ".", b64url(payload, strlen(payload)), ".c2lnbmF0dXJl",
                       NULL);
}

static void expect_times(const char *token, int want, apr_int64_t exp,
                         apr_int64_t iat, const char *what)
{
    apr_int64_t e = 7, i = 7;

    is_int(alx_jwt_times(pool, token, token ? strlen(token) : 0, &e, &i),
           want, "%s: read", what);
    is_int(e, exp, "%s: exp", what);
    is_int(i, iat, "%s: iat", what);
}

static void test_times(void)
{
    expect_times(jwt("{\"exp\":1700000300,\"iat\":1700000000}"), 1,
                 1700000300, 1700000000, "exp and iat");
    expect_times(jwt("{\"sub\":\"a\",\"exp\":1700000300}"), 1, 1700000300,
                 ALX_JWT_NONE, "exp alone");
    expect_times(jwt("{\"exp\":1700000300.9,\"iat\":\"1700000000\"}"), 1,
                 1700000300, ALX_JWT_NONE, "a real exp truncated, a string iat not read");
    expect_times(jwt("{\"iat\":1700000000}"), 0, ALX_JWT_NONE, ALX_JWT_NONE,
                 "no exp");
    expect_times(jwt("{\"exp\":\"1700000300\"}"), 0, ALX_JWT_NONE,
                 ALX_JWT_NONE, "a string exp");
    expect_times(jwt("{\"exp\":0}"), 0, ALX_JWT_NONE, ALX_JWT_NONE, "exp 0");
    expect_times(jwt("{\"exp\":-5}"), 0, ALX_JWT_NONE, ALX_JWT_NONE,
                 "a negative exp");
    expect_times(jwt("{\"exp\":1e300}"), 0, ALX_JWT_NONE, ALX_JWT_NONE,
                 "a huge exp");
    expect_times(jwt("{\"exp\":1099511627777}"), 0, ALX_JWT_NONE,
                 ALX_JWT_NONE, "an exp past 2^40");
    expect_times(jwt("[1700000300]"), 0, ALX_JWT_NONE, ALX_JWT_NONE,
                 "a payload that is no object");
    expect_times(jwt("{\"exp\":1700000300"), 0, ALX_JWT_NONE, ALX_JWT_NONE,
                 "a payload that is no JSON");
    expect_times("opaque-token-0123456789", 0, ALX_JWT_NONE, ALX_JWT_NONE,
                 "an opaque token");
    expect_times("a.b", 0, ALX_JWT_NONE, ALX_JWT_NONE, "two parts");
    expect_times(apr_pstrcat(pool, jwt("{\"exp\":1700000300}"), ".x", NULL),
                 0, ALX_JWT_NONE, ALX_JWT_NONE, "four parts (a JWE has five)");
    expect_times("eyJhbGciOiJub25lIn0.eyJleHAiOjE3MDAwMDAzMDB9.", 1,
                 1700000300, ALX_JWT_NONE, "an empty signature (alg none)");
    expect_times("eyJhbGciOiJub25lIn0.eyJleHAiOjE3MDAwMDAzMDB9=.", 0,
                 ALX_JWT_NONE, ALX_JWT_NONE, "padding is not base64url");
    expect_times("eyJhbGciOiJub25lIn0.eyJle+AiOjE3MDAwMDAzMDB9.", 0,
                 ALX_JWT_NONE, ALX_JWT_NONE, "'+' is not base64url");
    expect_times("x..y", 0, ALX_JWT_NONE, ALX_JWT_NONE, "an empty payload");
    expect_times("x.a.y", 0, ALX_JWT_NONE, ALX_JWT_NONE,
                 "a payload of impossible length");
    expect_times(NULL, 0, ALX_JWT_NONE, ALX_JWT_NONE, "NULL");
}

static void test_big_payload(void)
{
    char *big = apr_palloc(pool, ALX_JWT_MAX_PAYLOAD + 64);
    apr_size_t n;

    strcpy(big, "{\"exp\":1700000300,\"pad\":\"");
    n = strlen(big);
    memset(big + n, 'x', ALX_JWT_MAX_PAYLOAD);
    strcpy(big + n + ALX_JWT_MAX_PAYLOAD, "\"}");
    expect_times(jwt(big), 0, ALX_JWT_NONE, ALX_JWT_NONE,
                 "a payload past ALX_JWT_MAX_PAYLOAD is not read");
    big[n + 100] = '\0';
    strcat(big, "\"}");
    expect_times(jwt(big), 1, 1700000300, ALX_JWT_NONE, "a smaller one is");
}

static void test_lifetime(void)
{
    const char *t = jwt("{\"exp\":1700000300,\"iat\":1700000000}");

    is_int(alx_jwt_lifetime(pool, t, strlen(t), NOW + 100), 300,
           "lifetime: exp - iat, whenever asked");
    is_int(alx_jwt_left(pool, t, strlen(t), NOW + 100), 200,
           "left: exp - now");
    is_int(alx_jwt_left(pool, t, strlen(t), NOW + 400), 0, "left: past is 0");
    t = jwt("{\"exp\":1700000300}");
    is_int(alx_jwt_lifetime(pool, t, strlen(t), NOW), 300,
           "lifetime without iat: exp - now");
    is_int(alx_jwt_lifetime(pool, t, strlen(t), NOW + 500), 0,
           "lifetime without iat, past: 0");
    t = jwt("{\"exp\":1700000300,\"iat\":1700000400}");
    is_int(alx_jwt_lifetime(pool, t, strlen(t), NOW), 300,
           "an iat after exp is not believed: exp - now");
    is_int(alx_jwt_lifetime(pool, "opaque", 6, NOW), ALX_JWT_NONE,
           "lifetime: not a JWT");
    is_int(alx_jwt_left(pool, "opaque", 6, NOW), ALX_JWT_NONE,
           "left: not a JWT");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_times();
    test_big_payload();
    test_lifetime();
    apr_pool_destroy(pool);
    apr_terminate();
    return tap_done();
}

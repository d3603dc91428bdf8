/* A JWT's lifetime, read without verifying anything (SPEC "Learned
 * lifetimes"): a token's own exp tells how long it lives when the answer
 * does not say, or says more than is true. Never a value in a log. */
#ifndef ALX_JWT_H
#define ALX_JWT_H

#include <apr_pools.h>

/* Payloads larger than this are not read: a token's claims are a few
 * hundred bytes, and the read is on the token path. */
#define ALX_JWT_MAX_PAYLOAD 8192

#define ALX_JWT_NONE (-1)

/* exp and iat (seconds since the epoch) of a compact JWT: three base64url
 * parts, the second a JSON object whose exp is a number (a real is
 * truncated). 1 when token is such a JWT with an exp from 1 to 2^40; 0
 * otherwise, *exp and *iat ALX_JWT_NONE. *iat is ALX_JWT_NONE when absent
 * or not such a number. Scratch from p. */
int alx_jwt_times(apr_pool_t *p, const char *token, apr_size_t len,
                  apr_int64_t *exp, apr_int64_t *iat);

/* How long the token lives, from its claims, as seen at now (seconds since
 * the epoch): exp - iat when iat is known and not after exp, else exp - now
 * (0 when already past). ALX_JWT_NONE when token is not such a JWT. */
apr_int64_t alx_jwt_lifetime(apr_pool_t *p, const char *token,
                             apr_size_t len, apr_int64_t now);

/* Seconds until the token's exp at now (0 when past), ALX_JWT_NONE when it
 * is not such a JWT. */
apr_int64_t alx_jwt_left(apr_pool_t *p, const char *token, apr_size_t len,
                         apr_int64_t now);

#endif

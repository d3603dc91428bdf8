/* HTTP Basic client authentication codec (RFC 7617, RFC 6749 2.3.1). */
#ifndef ALX_BASIC_H
#define ALX_BASIC_H

#include <apr_pools.h>

/* Parses an Authorization header value "Basic <base64>" (scheme
 * case-insensitive, then one or more spaces). Per RFC 6749 2.3.1 the id and
 * secret were form-urlencoded before base64; both are decoded.
 * APR_ENOENT: header is NULL or another scheme (leave it alone).
 * APR_EINVAL: Basic but malformed (bad or padded-wrong base64, no ':',
 *   empty client id, bad percent-encoding, NUL, control bytes); *err is a
 *   short description that quotes no credential bytes. */
apr_status_t alx_basic_parse(apr_pool_t *p, const char *header,
                             const char **client_id, const char **client_secret,
                             const char **err);

/* True when alx_basic_build(client_id, client_secret) would parse back
 * (non-empty id, no control bytes in either; a NULL secret is ""). */
int alx_basic_can_carry(const char *client_id, const char *client_secret);

/* "Basic " + base64(escape(client_id) ":" escape(client_secret)). */
char *alx_basic_build(apr_pool_t *p, const char *client_id,
                      const char *client_secret);

#endif

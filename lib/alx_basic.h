/* HTTP Basic client authentication codec (RFC 7617, RFC 6749 2.3.1). */
#ifndef ALX_BASIC_H
#define ALX_BASIC_H

#include <apr_pools.h>

/* Parses an Authorization header value "Basic <base64>" (scheme
 * case-insensitive, then one or more spaces) into the id and the secret,
 * split at the first ':'.
 * Decoding: RFC 6749 2.3.1 asks clients to form-urlencode both before
 * base64, but most send them raw, and secrets are often base64 themselves
 * ('+', '/', '='). So each half is decoded leniently: a valid %XX is
 * decoded, '+' and any other '%' (as in "50%off", "%4", "%zz") are literal
 * characters; percent-encoding never makes a header malformed.
 * Decision: a %XX that would decode to NUL or another control byte (%00,
 * %0A, %7F, ...) stays literal, the three characters as sent, so the
 * result never holds a NUL or control byte and such credentials are still
 * not rejected for their encoding (the upstream decides).
 * APR_ENOENT: header is NULL or another scheme (leave it alone).
 * APR_EINVAL: Basic but malformed (bad or padded-wrong base64, no ':',
 *   empty client id, a raw NUL or raw control byte); *err is a short
 *   description that quotes no credential bytes. */
apr_status_t alx_basic_parse(apr_pool_t *p, const char *header,
                             const char **client_id, const char **client_secret,
                             const char **err);

/* True when alx_basic_build(client_id, client_secret) would parse back
 * (non-empty id, no control bytes in either; a NULL secret is ""). */
int alx_basic_can_carry(const char *client_id, const char *client_secret);

/* "Basic " + base64(escape(client_id) ":" escape(client_secret)), escape
 * per RFC 6749 2.3.1 but with a space as "%20", never '+': alx_basic_parse
 * reads '+' literally, an RFC reader decodes either. So alx_basic_parse
 * gives back exactly what alx_basic_can_carry accepts. */
char *alx_basic_build(apr_pool_t *p, const char *client_id,
                      const char *client_secret);

#endif

/* jansson values whose reference a pool owns, and a fast compact dump. */
#ifndef ALX_JSON_H
#define ALX_JSON_H

#include <apr_pools.h>
#include <jansson.h>

/* Hands v's reference to the pool (json_decref at its cleanup), so no error
 * path can leak it; returns v (NULL stays NULL). */
json_t *alx_json_own(apr_pool_t *p, json_t *v);

/* v as compact JSON, byte-identical to json_dumps(v, JSON_COMPACT) of
 * jansson 2.14, in p, with its length in *len (len may be NULL); NULL (and
 * *len 0) when jansson would fail: v not an object or array (no
 * JSON_ENCODE_ANY), a string that is not valid UTF-8, or a container that
 * holds itself. */
const char *alx_json_compact(apr_pool_t *p, const json_t *v, apr_size_t *len);

/* Where the bytes from s that a JSON string holds as they are end (at lim,
 * or at a control byte, '"', '\\' or a byte of 0x80 up), eight at a time. */
const unsigned char *alx_json_plain_end(const unsigned char *s,
                                        const unsigned char *lim);

/* The longest integer's text, "-9223372036854775808". */
#define ALX_JSON_INT_MAX 20

/* i as JSON writes it (jansson's "%" JSON_INTEGER_FORMAT) at d, which has
 * room for ALX_JSON_INT_MAX bytes; the byte after it. */
char *alx_json_put_int(char *d, apr_int64_t i);

#endif

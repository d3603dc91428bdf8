/* application/x-www-form-urlencoded codec (RFC 6749 appendix B, HTML forms). */
#ifndef ALX_FORM_H
#define ALX_FORM_H

#include <apr_pools.h>
#include <apr_tables.h>

typedef struct {
    const char *name;
    const char *value;
} alx_pair_t;

/* Parses a form body into an array of alx_pair_t, in order, duplicates kept.
 * '+' decodes to space; empty segments ("a=1&&b=2") are skipped; a segment
 * without '=' is a name with value "". A bad escape (not '%' + two hex digits)
 * or an escape that decodes to NUL is APR_EINVAL, with *err a short
 * description that quotes no input bytes (they may be secrets). */
apr_status_t alx_form_parse(apr_pool_t *p, const char *body, apr_size_t len,
                            apr_array_header_t **pairs, const char **err);

/* First value of name, or NULL. */
const char *alx_form_get(const apr_array_header_t *pairs, const char *name);

/* How many times name occurs. */
int alx_form_count(const apr_array_header_t *pairs, const char *name);

/* The first name present more than once (RFC 6749 3.2 forbids it), or NULL. */
const char *alx_form_duplicate(const apr_array_header_t *pairs);

/* Replaces the first occurrence of name (removing any others) or appends it. */
void alx_form_set(apr_array_header_t *pairs, const char *name, const char *value);

/* Removes every occurrence of name. */
void alx_form_remove(apr_array_header_t *pairs, const char *name);

/* Escapes one component: ALPHA, DIGIT and "-._*" kept, space as '+',
 * every other byte as %XX (upper-case hex). */
char *alx_form_escape(apr_pool_t *p, const char *s);

/* Strict decoding of one component of len bytes ('+' is space).
 * APR_EINVAL on a bad escape or a decoded NUL. */
apr_status_t alx_form_unescape(apr_pool_t *p, const char *s, apr_size_t len,
                               char **out);

/* name=value&... with both sides escaped; *len (may be NULL) gets the length. */
char *alx_form_encode(apr_pool_t *p, const apr_array_header_t *pairs,
                      apr_size_t *len);

/* True when body is shaped like a form answer: one or more '&'-separated
 * name=value segments, names of [A-Za-z0-9_.-], values without white space
 * or control bytes, and it parses. Used for text/plain upstream answers. */
int alx_form_is_form_shaped(const char *body, apr_size_t len);

#endif

/* Flat JSON objects: the token answer as nearly every upstream writes it,
 * read and written without jansson. A body outside this subset is left
 * to jansson (alx_answer.c, alx_grace.c), so the subset may refuse
 * anything and must never read an accepted body differently from jansson. */
#ifndef ALX_FLAT_H
#define ALX_FLAT_H

#include <apr_pools.h>

/* A token answer has five to eight members. */
#define ALX_FLAT_MAX 24

typedef enum {
    ALX_FLAT_STR = 0,
    ALX_FLAT_INT,
    ALX_FLAT_TRUE,
    ALX_FLAT_FALSE,
    ALX_FLAT_NULL
} alx_flat_type_e;

typedef struct {
    const char *key;        /* not NUL-terminated */
    apr_size_t key_len;
    alx_flat_type_e type;
    const char *str;        /* ALX_FLAT_STR: its bytes, not NUL-terminated */
    apr_size_t str_len;
    apr_int64_t num;        /* ALX_FLAT_INT */
} alx_flat_member_t;

typedef struct {
    int n;
    alx_flat_member_t m[ALX_FLAT_MAX];
} alx_flat_t;

/* True when the len bytes at s may stand in a flat string as they are:
 * printable ASCII (0x20-0x7F) but '"' and '\\'. Such a string is its own
 * JSON text, in jansson's dump too. */
int alx_flat_plain(const char *s, apr_size_t len);

/* Reads body into f when it is one JSON object (RFC 8259 white space
 * around its tokens) of at most ALX_FLAT_MAX members with distinct keys,
 * keys and strings alx_flat_plain, numbers integers of at most 18 digits,
 * or true, false, null; returns 1. Returns 0 for anything else (escapes,
 * non-ASCII bytes, reals, nesting, duplicate keys, bad JSON), leaving f
 * undefined. f points into body. */
int alx_flat_parse(const char *body, apr_size_t len, alx_flat_t *f);

/* The member named key (NUL-terminated), or NULL. */
alx_flat_member_t *alx_flat_get(alx_flat_t *f, const char *key);

/* Sets key (a NUL-terminated string that outlives f) to an integer or to
 * len plain bytes at s, in place when present (as jansson keeps a
 * replaced member's position), else appended. 0 when f is full. */
int alx_flat_set_int(alx_flat_t *f, const char *key, apr_int64_t num);
int alx_flat_set_str(alx_flat_t *f, const char *key, const char *s,
                     apr_size_t len);

/* Removes key when present. */
void alx_flat_del(alx_flat_t *f, const char *key);

/* f as compact JSON, byte-identical to alx_json_compact (json_dumps with
 * JSON_COMPACT) of the object jansson reads from the same text, in p;
 * NUL-terminated, its length in *len. */
const char *alx_flat_compact(apr_pool_t *p, const alx_flat_t *f,
                             apr_size_t *len);

#endif

/* Body shape: keys, JSON types and value lengths, never values. */
#ifndef ALX_SHAPE_H
#define ALX_SHAPE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <jansson.h>

#include "alx_flat.h"

/* Longest shape returned; longer ones end in "...". */
#define ALX_SHAPE_MAX 480

/* json{access_token:str(40),expires_in:int,token_type:str(6)}.
 * Member types: str(N bytes), int, real, bool, null, obj(N members),
 * arr(N items). A top-level non-object is json:str(N), json:arr(N), ...
 * Keys are shown only when they match [a-z_][a-z0-9_]{0,31}; any other key
 * (it could be a token an upstream put in a key) is shown as ?(N bytes). */
const char *alx_shape_json(apr_pool_t *p, const json_t *v);

/* The same for a flat object (alx_flat): alx_shape_json of the object
 * jansson reads from the same text. */
const char *alx_shape_flat(apr_pool_t *p, const alx_flat_t *f);

/* form{name:str(N),...} for alx_pair_t pairs, same key rule. */
const char *alx_shape_form(apr_pool_t *p, const apr_array_header_t *pairs);

/* kind(N): html(1234), gzip(77), text(12), bad-json(9); "empty" when len is 0. */
const char *alx_shape_opaque(apr_pool_t *p, const char *kind, apr_off_t len);

#endif

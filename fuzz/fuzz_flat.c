/* libFuzzer target for alx_flat: whatever alx_flat_parse accepts, jansson
 * reads to the same members in the same order, and the flat object's
 * compact dump and shape are jansson's; setting and deleting members keeps
 * that true. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>

#include "alx_flat.h"
#include "alx_json.h"
#include "alx_shape.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_start();
    return 0;
}

static void check_member(const alx_flat_member_t *m, const char *key,
                         size_t key_len, const json_t *v)
{
    check(m->key_len == key_len && memcmp(m->key, key, key_len) == 0);
    switch (m->type) {
    case ALX_FLAT_STR:
        check(json_is_string(v) && json_string_length(v) == m->str_len
              && memcmp(json_string_value(v), m->str, m->str_len) == 0);
        break;
    case ALX_FLAT_INT:
        check(json_is_integer(v) && json_integer_value(v) == m->num);
        break;
    case ALX_FLAT_TRUE:
        check(json_is_true(v));
        break;
    case ALX_FLAT_FALSE:
        check(json_is_false(v));
        break;
    default:
        check(json_is_null(v));
        break;
    }
}

static void check_same(apr_pool_t *p, const alx_flat_t *f, json_t *v)
{
    apr_size_t flen = 0, jlen = 0;
    const char *fs = alx_flat_compact(p, f, &flen);
    const char *js = alx_json_compact(p, v, &jlen);
    void *it;
    int i = 0;

    check(json_is_object(v) && json_object_size(v) == (size_t)f->n);
    for (it = json_object_iter(v); it; it = json_object_iter_next(v, it), i++)
        check_member(&f->m[i], json_object_iter_key(it),
                     json_object_iter_key_len(it), json_object_iter_value(it));
    check(js != NULL && flen == jlen && memcmp(fs, js, flen + 1) == 0);
    check(strcmp(alx_shape_flat(p, f), alx_shape_json(p, v)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t err;
    alx_flat_t f;
    json_t *v;
    apr_pool_t *p;
    int n;

    if (!alx_flat_parse((const char *)data, size, &f))
        return 0;
    apr_pool_create(&p, fuzz_root);
    v = json_loadb((const char *)data, size, JSON_DECODE_ANY, &err);
    check(v != NULL);
    check_same(p, &f, v);
    /* the answer path's edits, mirrored in jansson */
    n = f.n;
    if (alx_flat_set_int(&f, "expires_in", 3600)) {
        json_object_set_new(v, "expires_in", json_integer(3600));
        check_same(p, &f, v);
    }
    else {
        check(n == ALX_FLAT_MAX && !json_object_get(v, "expires_in"));
    }
    if (alx_flat_set_str(&f, "token_type", "Bearer", 6)) {
        json_object_set_new(v, "token_type", json_string("Bearer"));
        check_same(p, &f, v);
    }
    alx_flat_del(&f, "expires_in");
    json_object_del(v, "expires_in");
    check_same(p, &f, v);
    json_decref(v);
    apr_pool_destroy(p);
    return 0;
}

/* libFuzzer target for the form codec: parse, then encode -> parse again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>

#include "alx_form.h"

static apr_pool_t *root;

static const alx_pair_t *pair_at(const apr_array_header_t *pairs, int i)
{
    return &((const alx_pair_t *)pairs->elts)[i];
}

static int same_pairs(const apr_array_header_t *a, const apr_array_header_t *b)
{
    int i;

    if (a->nelts != b->nelts)
        return 0;
    for (i = 0; i < a->nelts; i++)
        if (strcmp(pair_at(a, i)->name, pair_at(b, i)->name) != 0
            || strcmp(pair_at(a, i)->value, pair_at(b, i)->value) != 0)
            return 0;
    return 1;
}

static void check_round_trip(apr_pool_t *p, apr_array_header_t *pairs)
{
    apr_array_header_t *again;
    const char *err, *dup;
    apr_size_t len;
    char *body = alx_form_encode(p, pairs, &len);
    int i;

    if (strlen(body) != len
        || alx_form_parse(p, body, len, &again, &err) != APR_SUCCESS
        || !same_pairs(pairs, again))
        abort();
    dup = alx_form_duplicate(pairs);
    if (dup && alx_form_count(pairs, dup) < 2)
        abort();
    for (i = 0; i < pairs->nelts; i++) {
        const char *name = pair_at(pairs, i)->name;

        if (!dup && alx_form_count(pairs, name) != 1)
            abort();
        if (!alx_form_get(pairs, name))
            abort();
    }
    if (pairs->nelts) {
        const char *name = pair_at(pairs, 0)->name;

        alx_form_set(again, name, "x");
        if (alx_form_count(again, name) != 1
            || strcmp(alx_form_get(again, name), "x") != 0)
            abort();
        alx_form_remove(again, name);
        if (alx_form_get(again, name))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static apr_pool_t *p;
    apr_array_header_t *pairs;
    const char *err;
    const char *body = (const char *)data;
    char *plain;
    int parsed;

    if (!root) {
        apr_initialize();
        apr_pool_create(&root, NULL);
        apr_pool_create(&p, root);
    }
    apr_pool_clear(p);
    parsed = alx_form_parse(p, body, size, &pairs, &err) == APR_SUCCESS;
    if (parsed)
        check_round_trip(p, pairs);
    else if (!err)
        abort();
    if (alx_form_is_form_shaped(body, size) && !parsed)
        abort();
    /* One component: unescape and escape agree with each other. */
    if (alx_form_unescape(p, body, size, &plain) == APR_SUCCESS) {
        const char *escaped = alx_form_escape(p, plain);
        char *back;

        if (alx_form_unescape(p, escaped, strlen(escaped), &back) != APR_SUCCESS
            || strcmp(back, plain) != 0)
            abort();
    }
    return 0;
}

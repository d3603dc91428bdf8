/* libFuzzer target for alx_shape_json (and alx_shape_form on the same bytes
 * read as a form): the shape is capped, one printable token, and shows no
 * key that could be a secret. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>

#include "alx_form.h"
#include "alx_shape.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_start();
    return 0;
}

static void check_shape(const char *s)
{
    const char *c;

    check(s != NULL && strlen(s) <= ALX_SHAPE_MAX + 3);
    for (c = s; *c; c++) {
        check(*c > 0x20 && *c < 0x7f && !(*c >= 'A' && *c <= 'Z'));
        /* the status page copies shapes as they are (alx_stats_shape) */
        check(!strchr("\"<>&\\", *c));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_array_header_t *pairs;
    json_error_t err;
    const char *form_err;
    json_t *v;
    apr_pool_t *p;

    apr_pool_create(&p, fuzz_root);
    v = json_loadb((const char *)data, size, JSON_DECODE_ANY, &err);
    if (v) {
        check_shape(alx_shape_json(p, v));
        json_decref(v);
    }
    if (alx_form_parse(p, (const char *)data, size, &pairs, &form_err)
        == APR_SUCCESS)
        check_shape(alx_shape_form(p, pairs));
    apr_pool_destroy(p);
    return 0;
}

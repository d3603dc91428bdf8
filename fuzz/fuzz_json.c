/* libFuzzer target for alx_json_compact: for whatever json_loadb takes, the
 * same bytes as json_dumps(v, JSON_COMPACT), or NULL exactly when it fails;
 * the value is also dumped inside an array, so a scalar is compared too. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>

#include "alx_json.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_start();
    return 0;
}

static void check_same(apr_pool_t *p, const json_t *v)
{
    char *want = json_dumps(v, JSON_COMPACT);
    apr_size_t len = 1;
    const char *got = alx_json_compact(p, v, &len);

    if (!want) {
        check(got == NULL && len == 0);
        return;
    }
    check(got != NULL && len == strlen(want));
    check(memcmp(got, want, len + 1) == 0);
    free(want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t err;
    json_t *v, *wrapped;
    apr_pool_t *p;

    apr_pool_create(&p, fuzz_root);
    /* JSON_ALLOW_NUL too (the grace store's flag), to reach "\u0000" */
    v = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL,
                   &err);
    if (v) {
        check_same(p, v);
        wrapped = json_pack("[o]", v);
        check(wrapped != NULL);
        check_same(p, wrapped);
        json_decref(wrapped);
    }
    apr_pool_destroy(p);
    return 0;
}

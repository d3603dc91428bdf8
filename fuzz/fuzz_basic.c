/* libFuzzer target for the HTTP Basic codec: build(parse(x)) parses again
 * to the same credentials, and build of arbitrary credentials round-trips. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_lib.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "alx_basic.h"

static apr_pool_t *root;

static int has_control_byte(const char *s)
{
    for (; *s; s++)
        if (apr_iscntrl(*s))
            return 1;
    return 0;
}

static void check_build(apr_pool_t *p, const char *id, const char *secret)
{
    const char *id2, *secret2, *err;
    apr_status_t rv = alx_basic_parse(p, alx_basic_build(p, id, secret), &id2,
                                      &secret2, &err);
    int valid = *id && !has_control_byte(id) && !has_control_byte(secret);

    if (valid != alx_basic_can_carry(id, secret))
        abort();

    if (valid != (rv == APR_SUCCESS))
        abort();
    if (valid && (strcmp(id, id2) != 0 || strcmp(secret, secret2) != 0))
        abort();
    if (!valid && (rv != APR_EINVAL || !err))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static apr_pool_t *p;
    const char *header, *id, *secret, *err, *half;
    apr_status_t rv;

    if (!root) {
        apr_initialize();
        apr_pool_create(&root, NULL);
        apr_pool_create(&p, root);
    }
    apr_pool_clear(p);
    header = apr_pstrmemdup(p, (const char *)data, size);
    rv = alx_basic_parse(p, header, &id, &secret, &err);
    if (rv == APR_SUCCESS)
        check_build(p, id, secret);
    else if (rv == APR_EINVAL && !err)
        abort();
    else if (rv != APR_EINVAL && rv != APR_ENOENT)
        abort();
    /* The same bytes as raw credentials: first half id, second half secret. */
    half = apr_pstrmemdup(p, (const char *)data, size / 2);
    check_build(p, half, header + size / 2);
    return 0;
}

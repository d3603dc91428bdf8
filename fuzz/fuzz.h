/* What the libFuzzer targets share: a root pool made once, and check(),
 * which aborts (a finding) when an invariant fails. */
#ifndef ALX_FUZZ_H
#define ALX_FUZZ_H

#include <stdio.h>
#include <stdlib.h>
#include <apr_general.h>
#include <apr_pools.h>

static apr_pool_t *fuzz_root;

#define check(cond) do { \
        if (!(cond)) { \
            fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, \
                    __FILE__, __LINE__); \
            abort(); \
        } \
    } while (0)

static void fuzz_start(void)
{
    apr_initialize();
    apr_pool_create(&fuzz_root, NULL);
}

#endif

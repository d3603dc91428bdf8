/* Unit tests for lib/alx_json.c. */
#include <apr_general.h>
#include "alx_json.h"
#include "tap.h"

int main(void)
{
    apr_pool_t *p, *sub;
    json_t *v, *kept;

    apr_initialize();
    apr_pool_create(&p, NULL);

    ok(alx_json_own(p, NULL) == NULL, "NULL passes through");

    apr_pool_create(&sub, p);
    v = json_object();
    kept = json_incref(v);              /* our own reference, to watch */
    ok(alx_json_own(sub, v) == v, "returns the value it was given");
    is_int(v->refcount, 2, "owning takes no extra reference");
    apr_pool_clear(sub);
    is_int(kept->refcount, 1, "clearing the pool releases the pool's reference");
    json_decref(kept);

    v = json_string("x");
    kept = json_incref(v);
    alx_json_own(sub, v);
    apr_pool_destroy(sub);
    is_int(kept->refcount, 1, "destroying the pool releases it too");
    json_decref(kept);

    apr_pool_destroy(p);
    apr_terminate();
    return tap_done();
}

/* Placeholder unit tests for lib/alx_stats.c (being written). */
#include <apr_general.h>
#include "alx_stats.h"
#include "tap.h"

int main(void)
{
    apr_initialize();
    ok(1, "placeholder");
    apr_terminate();
    return tap_done();
}

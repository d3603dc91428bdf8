/* Unit tests for lib/alx_once.c. */
#include <apr_general.h>

#include "alx_once.h"
#include "tap.h"

#define SEC APR_USEC_PER_SEC
#define T0 ((apr_time_t)1704067200 * SEC)
#define HOUR (3600 * SEC)

int main(void)
{
    static alx_once_t o;
    apr_uint64_t a = alx_once_key("vhost1", "client-a");
    int i;

    ok(a == alx_once_key("vhost1", "client-a"), "keys are stable");
    ok(a != alx_once_key("vhost1", "client-b"), "another client");
    ok(a != alx_once_key("vhost2", "client-a"), "another vhost");
    ok(alx_once_key("ab", "c") != alx_once_key("a", "bc"),
       "(ab,c) and (a,bc) differ");
    ok(alx_once_key(NULL, NULL) == alx_once_key("", ""), "NULL is \"\"");
    ok(alx_once_key("", "") != 0, "never the free mark");
    ok(alx_once_due(&o, a, T0, HOUR), "first time: due");
    ok(!alx_once_due(&o, a, T0 + HOUR - 1, HOUR), "within the hour: not");
    ok(alx_once_due(&o, alx_once_key("vhost1", "client-b"), T0, HOUR),
       "another key is due");
    ok(alx_once_due(&o, a, T0 + HOUR, HOUR), "an hour later: due again");
    ok(!alx_once_due(&o, a, T0 + HOUR + 5, HOUR), "and remembered");
    for (i = 0; i < ALX_ONCE_SLOTS; i++)
        alx_once_due(&o, (apr_uint64_t)(1000 + i), T0 + 2 * HOUR + i, HOUR);
    ok(alx_once_due(&o, a, T0 + 2 * HOUR + 100, HOUR),
       "pushed out by newer keys: due again (said once more, never lost)");
    ok(!alx_once_due(&o, 1000 + ALX_ONCE_SLOTS - 1,
                     T0 + 2 * HOUR + 200, HOUR),
       "the newest keys stay");

    /* the lock-free look: said within the interval, or ask alx_once_due */
    ok(alx_once_recent(&o, 1000 + ALX_ONCE_SLOTS - 1, T0 + 2 * HOUR + 300,
                       HOUR), "recent: a key said within the hour");
    ok(!alx_once_recent(&o, 1000 + ALX_ONCE_SLOTS - 1, T0 + 4 * HOUR, HOUR),
       "recent: not after the hour");
    ok(!alx_once_recent(&o, 424242, T0 + 2 * HOUR + 300, HOUR),
       "recent: not a key never said");
    ok(alx_once_recent(&o, a, T0 + 2 * HOUR + 101, HOUR)
       && !alx_once_due(&o, a, T0 + 2 * HOUR + 101, HOUR),
       "recent and due agree");
    return tap_done();
}

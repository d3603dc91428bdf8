/* Unit tests for lib/alx_probe.c: probes taken once per interval, losses
 * found, survival measured, the size that would hold the window. */
#include <apr_general.h>

#include "alx_probe.h"
#include "tap.h"

#define SEC APR_USEC_PER_SEC
#define T0 ((apr_time_t)1704067200 * SEC)

static unsigned char present[256];   /* present[first id byte] */

static int found(void *baton, const unsigned char *id)
{
    (void)baton;
    return present[id[0]];
}

static const unsigned char *id_of(int n)
{
    static unsigned char id[ALX_PROBE_ID_LEN];

    memset(id, 0, sizeof(id));
    id[0] = (unsigned char)n;
    return id;
}

static void test_add(void)
{
    alx_probes_t ps;
    int i;

    memset(&ps, 0, sizeof(ps));
    ok(!alx_probes_due(&ps, T0, SEC), "no probe: no check due");
    ok(alx_probes_add(&ps, id_of(1), T0, T0 + 100 * SEC, 10 * SEC),
       "the first record is a probe");
    ok(!alx_probes_add(&ps, id_of(2), T0 + 9 * SEC, T0 + 100 * SEC, 10 * SEC),
       "not again within the interval");
    ok(alx_probes_add(&ps, id_of(3), T0 + 10 * SEC, T0 + 100 * SEC, 10 * SEC),
       "after it");
    is_int(ps.used, 2, "two probes");
    for (i = 0; i < ALX_PROBES + 3; i++)
        alx_probes_add(&ps, id_of(10 + i), T0 + (20 + i) * SEC,
                       T0 + 1000 * SEC, SEC);
    is_int(ps.used, ALX_PROBES, "at most ALX_PROBES");
    is_int(ps.probe[0].id[0], 10 + 3, "the oldest made room");
    is_int(ps.probe[ALX_PROBES - 1].id[0], 10 + ALX_PROBES + 2,
           "the newest is last");
    ok(alx_probes_due(&ps, T0 + 50 * SEC, 5 * SEC), "a check is due");
}

static void test_check(void)
{
    alx_probes_t ps;

    memset(&ps, 0, sizeof(ps));
    memset(present, 0, sizeof(present));
    alx_probes_add(&ps, id_of(1), T0, T0 + 3600 * SEC, 0);
    alx_probes_add(&ps, id_of(2), T0 + 100 * SEC, T0 + 3700 * SEC, 0);
    alx_probes_add(&ps, id_of(3), T0 + 200 * SEC, T0 + 3800 * SEC, 0);
    alx_probes_add(&ps, id_of(4), T0 + 300 * SEC, T0 + 310 * SEC, 0);
    present[1] = present[2] = present[3] = present[4] = 1;
    is_int(alx_probes_check(&ps, T0 + 250 * SEC, found, NULL), 0,
           "all there: nothing lost");
    is_int(ps.used, 4, "all kept");
    ok(!alx_probes_due(&ps, T0 + 252 * SEC, 5 * SEC), "checked just now");
    present[1] = present[2] = 0;
    is_int(alx_probes_check(&ps, T0 + 400 * SEC, found, NULL), 2,
           "two pushed out before their expiry");
    is_int(ps.survival, 300 * SEC,
           "records survive at most the youngest lost one's age");
    is_int(ps.lost, 2, "counted");
    is_int(ps.last_loss, T0 + 400 * SEC, "when");
    is_int(ps.used, 1, "lost and expired probes are forgotten");
    is_int(ps.probe[0].id[0], 3, "the one still there stays");
    present[3] = 0;
    is_int(alx_probes_check(&ps, T0 + 3800 * SEC, found, NULL), 0,
           "gone at its expiry is no loss");
    is_int(ps.used, 0, "nothing left");
    is_int(ps.lost, 2, "count unchanged");
}

static void test_size_for(void)
{
    apr_uint64_t mib = 1 << 20;

    is_int(alx_probes_size_for(4 * mib, 86400 * SEC, 3600 * SEC), 96 * mib,
           "an hour of a day's window: 24 times the size");
    is_int(alx_probes_size_for(4 * mib, 86400 * SEC, 7 * 3600 * SEC),
           14 * mib, "rounded up to whole MiB");
    is_int(alx_probes_size_for(4 * mib, 3600 * SEC, 7200 * SEC), 4 * mib,
           "already enough: the size itself");
    is_int(alx_probes_size_for(4 * mib, 3600 * SEC, 0), 4 * mib,
           "no measurement: the size itself");
    ok(alx_probes_size_for((apr_uint64_t)1 << 60, 86400 * SEC, 1)
       == (apr_uint64_t)1 << 62, "capped, no overflow");
}

int main(void)
{
    test_add();
    test_check();
    test_size_for();
    return tap_done();
}

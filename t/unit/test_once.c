/* Unit tests for lib/alx_once.c. */
#include <apr_atomic.h>
#include <apr_general.h>
#include <apr_thread_proc.h>

#include "alx_once.h"
#include "tap.h"

#define SEC APR_USEC_PER_SEC
#define T0 ((apr_time_t)1704067200 * SEC)
#define HOUR (3600 * SEC)

/* Without any lock (the status segment has none): threads asking at once,
 * round after round, for the same new keys; each key is due exactly once.
 * A round starts when every thread is done with the one before (a key
 * pushed out by far newer ones is said again, by design). */
#define THREADS 4
#define ROUNDS 500
#define RACE_KEYS 4

typedef struct {
    alx_once_t *o;
    volatile apr_uint32_t *arrived;
    volatile apr_uint32_t *said;   /* [ROUNDS * RACE_KEYS] */
} race_job_t;

static void *APR_THREAD_FUNC racer(apr_thread_t *t, void *data)
{
    race_job_t *job = data;
    int r, k;

    for (r = 0; r < ROUNDS; r++) {
        apr_atomic_inc32(job->arrived);
        while (apr_atomic_read32(job->arrived) < (apr_uint32_t)(THREADS * (r + 1)))
            apr_thread_yield();
        for (k = 0; k < RACE_KEYS; k++)
            if (alx_once_due(job->o, (apr_uint64_t)(5000 + r * RACE_KEYS + k) << 32,
                             T0 + r * SEC, HOUR))
                apr_atomic_inc32(&job->said[r * RACE_KEYS + k]);
    }
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

static void test_race(void)
{
    static alx_once_t o;
    static volatile apr_uint32_t said[ROUNDS * RACE_KEYS];
    volatile apr_uint32_t arrived = 0;
    apr_thread_t *threads[THREADS];
    race_job_t job = {&o, &arrived, said};
    apr_pool_t *pool;
    apr_status_t rv = APR_SUCCESS, trv;
    int i, twice = 0, never = 0;

    apr_pool_create(&pool, NULL);
    for (i = 0; i < THREADS && rv == APR_SUCCESS; i++)
        rv = apr_thread_create(&threads[i], NULL, racer, &job, pool);
    ok(rv == APR_SUCCESS, "%d threads started", THREADS);
    for (i = 0; i < THREADS; i++)
        apr_thread_join(&trv, threads[i]);
    for (i = 0; i < ROUNDS * RACE_KEYS; i++) {
        twice += said[i] > 1;
        never += said[i] == 0;
    }
    is_int(twice, 0, "no key said twice by racing threads, with no lock");
    is_int(never, 0, "every key said once");
    apr_pool_destroy(pool);
}

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
        alx_once_due(&o, (apr_uint64_t)(1000 + i) << 32,
                     T0 + 2 * HOUR + i * SEC, HOUR);
    ok(alx_once_due(&o, a, T0 + 2 * HOUR + 100 * SEC, HOUR),
       "pushed out by newer keys: due again (said once more, never lost)");
    ok(!alx_once_due(&o, (apr_uint64_t)(1000 + ALX_ONCE_SLOTS - 1) << 32,
                     T0 + 2 * HOUR + 200 * SEC, HOUR),
       "the newest keys stay");

    ok(!alx_once_due(&o, (apr_uint64_t)(1000 + ALX_ONCE_SLOTS - 1) << 32,
                     T0 + 2 * HOUR + 300 * SEC, HOUR),
       "a key said within the hour stays said");
    ok(alx_once_due(&o, (apr_uint64_t)(1000 + ALX_ONCE_SLOTS - 1) << 32,
                    T0 + 4 * HOUR, HOUR), "and is due after the hour");
    ok(alx_once_due(&o, 7, T0 + 6 * HOUR, HOUR)
       && !alx_once_due(&o, 7, T0 + 6 * HOUR, HOUR),
       "a key with an empty high half is kept too");
    ok(alx_once_due(&o, (apr_uint64_t)77 << 32, T0 + 5 * HOUR, HOUR)
       && !alx_once_due(&o, (apr_uint64_t)77 << 32, T0 + 4 * HOUR, HOUR),
       "a clock that went back: said already");

    apr_initialize();
    test_race();
    apr_terminate();
    return tap_done();
}

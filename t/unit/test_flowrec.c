/* Unit tests for the flow record codec (lib/alx_flowrec.c). */
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "alx_flowrec.h"
#include "tap.h"

static apr_pool_t *pool;

static void test_round_trip(void)
{
    alx_flowrec_t f = {APR_INT64_C(1764590000123456), ALX_REGION_EU, "code",
                       "alexa-skill", "a+b%2F c=&#"}, g;
    apr_size_t len = 0;
    char *s = alx_flowrec_encode(pool, &f, &len);

    ok(s != NULL, "a flow encodes");
    is_int(len, strlen(s), "its length is reported");
    is_int(alx_flowrec_decode(pool, s, len, &g), APR_SUCCESS, "and decodes");
    ok(g.started == f.started, "started survives");
    is_int(g.region, ALX_REGION_EU, "region survives");
    is_str(g.response_type, "code", "response_type survives");
    is_str(g.client_id, "alexa-skill", "client_id survives");
    is_str(g.state, "a+b%2F c=&#", "state survives byte for byte");

    f.response_type = f.client_id = f.state = NULL;
    s = alx_flowrec_encode(pool, &f, &len);
    is_int(alx_flowrec_decode(pool, s, len, &g), APR_SUCCESS,
           "absent fields encode as empty");
    is_str(g.state, "", "an absent state decodes as empty");
}

static void test_refused(void)
{
    alx_flowrec_t f = {1, ALX_REGION_NA, "code", "id", "bad\nstate"};
    apr_size_t len;
    char *big = apr_palloc(pool, ALX_FLOWREC_MAX + 1);

    ok(alx_flowrec_encode(pool, &f, &len) == NULL, "a newline in a field is refused");
    memset(big, 's', ALX_FLOWREC_MAX);
    big[ALX_FLOWREC_MAX] = '\0';
    f.state = big;
    ok(alx_flowrec_encode(pool, &f, &len) == NULL, "an oversized record is refused");
    f.state = "s";
    f.region = (alx_region_e)99;
    ok(alx_flowrec_encode(pool, &f, &len) == NULL, "an unknown region is refused");
    f.region = ALX_REGION_NA;
    f.started = -1;
    ok(alx_flowrec_encode(pool, &f, &len) == NULL, "a negative time is refused");
}

static void test_bad_input(void)
{
    static const char *bad[] = {
        "", "F", "F1", "F1 ", "F2 1 1\na\nb\nc", "F1 x 1\na\nb\nc",
        "F1 1 9\na\nb\nc", "F1 1 1\na\nb", "F1 1 1\na\nb\nc\nd",
        "F1 1 1a\nb\nc\nd", "F1 99999999999999999999 1\na\nb\nc",
        "F1 1\n1\na\nb\nc", "F1 -1 1\na\nb\nc", "F1 1 \na\nb\nc", NULL
    };
    alx_flowrec_t g;
    int i;

    for (i = 0; bad[i]; i++)
        is_int(alx_flowrec_decode(pool, bad[i], strlen(bad[i]), &g), APR_EINVAL,
               "'%s' refused", bad[i]);
    is_int(alx_flowrec_decode(pool, "F1 1 1\na\nb\n\0c", 13, &g), APR_EINVAL,
           "a NUL refused");
    is_int(alx_flowrec_decode(pool, "F1 1 1\na\nb\nc", 12, &g), APR_SUCCESS,
           "the smallest good record decodes");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_round_trip();
    test_refused();
    test_bad_input();
    apr_pool_destroy(pool);
    apr_terminate();
    return tap_done();
}

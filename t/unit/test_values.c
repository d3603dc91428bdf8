/* Unit tests for the directive value parsers (lib/alx_values.c). */
#include <apr_general.h>
#include <apr_pools.h>

#include "alx_values.h"
#include "tap.h"

#define SENTINEL 4242

/* alx_value_seconds and alx_value_duration read alike: one checker. */
typedef int (*int64_parser)(const char *, apr_int64_t, apr_int64_t *);

static void parsed_ok(int64_parser parse, const char *what, const char *arg,
                      apr_int64_t max, apr_int64_t want)
{
    apr_int64_t v = SENTINEL;

    is_int(parse(arg, max, &v), 0, "%s '%s' accepted", what, arg);
    is_int(v, want, "%s '%s' value", what, arg);
}

static void parsed_bad(int64_parser parse, const char *what, const char *arg,
                       apr_int64_t max)
{
    apr_int64_t v = SENTINEL;

    is_int(parse(arg, max, &v), -1, "%s '%s' (max %lld) rejected", what,
           arg ? arg : "(null)", (long long)max);
    is_int(v, SENTINEL, "%s '%s' leaves *out", what, arg ? arg : "(null)");
}

#define seconds_ok(arg, max, want) \
    parsed_ok(alx_value_seconds, "seconds", arg, max, want)
#define seconds_bad(arg, max) parsed_bad(alx_value_seconds, "seconds", arg, max)
#define duration_ok(arg, max, want) \
    parsed_ok(alx_value_duration, "duration", arg, max, want)
#define duration_bad(arg, max) \
    parsed_bad(alx_value_duration, "duration", arg, max)

static void test_seconds(void)
{
    seconds_ok("0", 100, 0);
    seconds_ok("100", 100, 100);
    seconds_ok("007", 100, 7);
    seconds_ok("9223372036854775807", APR_INT64_MAX, APR_INT64_MAX);
    seconds_ok("5", 5, 5);
    seconds_bad("101", 100);
    seconds_bad("7", 5);
    seconds_bad("9223372036854775808", APR_INT64_MAX);
    seconds_bad("99999999999999999999999", APR_INT64_MAX);
    seconds_bad("", 100);
    seconds_bad(NULL, 100);
    seconds_bad("-1", 100);
    seconds_bad("+1", 100);
    seconds_bad(" 1", 100);
    seconds_bad("1 ", 100);
    seconds_bad("1s", 100);
    seconds_bad("1.5", 100);
    seconds_bad("0x10", 100);
    seconds_bad("1e3", 10000);
    seconds_bad("0", -1);
}

static void decimal_ok(const char *arg, apr_interval_time_t want)
{
    apr_interval_time_t v = SENTINEL;

    is_int(alx_value_decimal_seconds(arg, &v), 0, "decimal '%s' accepted", arg);
    is_int(v, want, "decimal '%s' in microseconds", arg);
}

static void decimal_bad(const char *arg)
{
    apr_interval_time_t v = SENTINEL;

    is_int(alx_value_decimal_seconds(arg, &v), -1, "decimal '%s' rejected",
           arg ? arg : "(null)");
    is_int(v, SENTINEL, "decimal '%s' leaves *out", arg ? arg : "(null)");
}

static void test_decimal_seconds(void)
{
    decimal_ok("4.5", 4500000);
    decimal_ok("10", 10000000);
    decimal_ok("0.25", 250000);
    decimal_ok("0.001", 1000);
    decimal_ok("1.250", 1250000);
    decimal_ok("3600", 3600000000LL);
    decimal_ok("3600.000", 3600000000LL);
    decimal_ok("0003.5", 3500000);
    decimal_bad("0");
    decimal_bad("0.0");
    decimal_bad("0.000");
    decimal_bad("0.0001");
    decimal_bad("1.2345");
    decimal_bad("3600.001");
    decimal_bad("3601");
    decimal_bad("99999999999999999999");
    decimal_bad("1e3");
    decimal_bad(".5");
    decimal_bad("5.");
    decimal_bad("-1");
    decimal_bad("+1");
    decimal_bad("1..5");
    decimal_bad("1.5.");
    decimal_bad("1,5");
    decimal_bad(" 1");
    decimal_bad("1 ");
    decimal_bad("");
    decimal_bad(NULL);
}

static void size_ok(const char *arg, apr_off_t want)
{
    apr_off_t v = SENTINEL;

    is_int(alx_value_size(arg, &v), 0, "size '%s' accepted", arg);
    is_int(v, want, "size '%s' in bytes", arg);
}

static void size_bad(const char *arg)
{
    apr_off_t v = SENTINEL;

    is_int(alx_value_size(arg, &v), -1, "size '%s' rejected",
           arg ? arg : "(null)");
    is_int(v, SENTINEL, "size '%s' leaves *out", arg ? arg : "(null)");
}

static void test_size(void)
{
    size_ok("1", 1);
    size_ok("65536", 65536);
    size_ok("64k", 65536);
    size_ok("64K", 65536);
    size_ok("1m", 1048576);
    size_ok("1M", 1048576);
    size_ok("64M", 67108864);
    size_ok("65536k", 67108864);
    size_ok("67108864", 67108864);
    size_bad("67108865");
    size_bad("65537k");
    size_bad("65M");
    size_bad("1g");
    size_bad("0");
    size_bad("0k");
    size_bad("-1");
    size_bad("+1");
    size_bad("99999999999999999999");
    size_bad("18014398509481984k");
    size_bad("12x");
    size_bad("12kb");
    size_bad("k");
    size_bad("1.5m");
    size_bad(" 1");
    size_bad("1 ");
    size_bad("");
    size_bad(NULL);
}

/* Each of good accepted, each of bad and NULL refused. */
static void each_judged(int (*judge)(const char *), const char *what,
                        const char *const *good, const char *const *bad)
{
    int i;

    for (i = 0; good[i]; i++)
        is_int(judge(good[i]), 0, "%s '%s' accepted", what, good[i]);
    for (i = 0; bad[i]; i++)
        is_int(judge(bad[i]), -1, "%s '%s' refused", what, bad[i]);
    is_int(judge(NULL), -1, "%s NULL refused", what);
}

static void test_host(void)
{
    static const char *good[] = {
        "pitangui.amazon.com", "localhost", "a", "CDN.Example.COM",
        "*.example.com", "example.com.", "example.com:443", "x-y.z9",
        "127.0.0.1", "a.b:65535", NULL
    };
    static const char *bad[] = {
        "", "*.", "*", ":443", "https://a.com", "a.com/x", "user@a.com",
        "a..b", ".a", "-a.com", "a-.com", "a.com-", "a b", "a.com:",
        "a.com:65536", "a.com:8x", "a.com:-1", "*.*.a", "a_b.com",
        "[::1]", NULL
    };
    char label[80], name[300];
    int i;

    each_judged(alx_value_host, "host", good, bad);
    memset(label, 'a', 63);
    label[63] = '\0';
    is_int(alx_value_host(label), 0, "a 63-byte label accepted");
    memset(label, 'a', 64);
    label[64] = '\0';
    is_int(alx_value_host(label), -1, "a 64-byte label refused");
    for (i = 0; i < 300; i += 2) {
        name[i] = 'a';
        name[i + 1] = '.';
    }
    name[253] = '\0';
    is_int(alx_value_host(name), 0, "a 253-byte name accepted");
    name[253] = 'a';
    name[254] = '\0';
    is_int(alx_value_host(name), -1, "a 254-byte name refused");
}

static void test_duration(void)
{
    const apr_int64_t year = 365 * 86400;

    duration_ok("0", year, 0);
    duration_ok("90", year, 90);
    duration_ok("90s", year, 90);
    duration_ok("25m", year, 1500);
    duration_ok("12h", year, 43200);
    duration_ok("180d", year, 180 * 86400);
    duration_ok("365d", year, year);
    duration_ok("0d", year, 0);
    duration_ok("007m", year, 420);
    duration_ok("1d", 86400, 86400);
    duration_bad("366d", year);
    duration_bad("2d", 86400 + 1);
    duration_bad("86401", 86400);
    duration_bad("1441m", 86400);
    duration_bad("106751991167301d", APR_INT64_MAX);  /* overflows */
    duration_bad("99999999999999999999s", APR_INT64_MAX);
    duration_bad("", year);
    duration_bad(NULL, year);
    duration_bad("d", year);
    duration_bad("-1d", year);
    duration_bad("+1d", year);
    duration_bad("1.5h", year);
    duration_bad("1D", year);
    duration_bad("1w", year);
    duration_bad("1ms", year);
    duration_bad("1dd", year);
    duration_bad("1 d", year);
    duration_bad(" 1d", year);
    duration_bad("1d ", year);
    duration_bad("off", year);
    duration_bad("1", -1);
}

static void test_url(void)
{
    static const char *good[] = {
        "https://idp.example.com/oauth/token", "http://127.0.0.1:9000/t",
        "HTTPS://IdP.Example.com", "https://idp.example.com:8443/",
        "https://a/realms/x/protocol/openid-connect/token?x=1",
        "http://[::1]:8080/token", "https://[2001:db8::1]/t", NULL
    };
    static const char *bad[] = {
        "", "idp.example.com/token", "/oauth/token", "ftp://a.com/t",
        "https://", "https:///t", "https://user:pw@a.com/t", "https://a.com/t#f",
        "https://a.com/t x", "https://a.com:0/t", "https://a.com:65536/t",
        "https://a.com:/t", "https://*.a.com/t", "https://a..com/t",
        "https://[::1/t", "https://[zz::1]/t", "https://[::1]x/t",
        "https://a.com/\x01", "https://a.com/\x7f", "https://a.com/\xc3\xa9",
        "http//a.com/t", NULL
    };

    each_judged(alx_value_url, "url", good, bad);
}

int main(void)
{
    apr_pool_t *pool;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_seconds();
    test_decimal_seconds();
    test_size();
    test_host();
    test_duration();
    test_url();
    apr_pool_destroy(pool);
    apr_terminate();
    return tap_done();
}

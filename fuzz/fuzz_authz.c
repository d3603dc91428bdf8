/* libFuzzer target for the authorization flow: the input is a Location
 * (up to its first NUL) checked against a few states with restore on and
 * off, and a query for the request parser and force-offline. */
#include <stdint.h>
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "alx_authz.h"
#include "alx_form.h"
#include "fuzz.h"

static const char *const states[] = {
    NULL, "S1", "", "a+b%c&d=e#f g/\xc3\xa9"
};

/* The query part of a Location: after the first '?' before any '#'. */
static const char *query_of(apr_pool_t *p, const char *location)
{
    apr_size_t stop = strcspn(location, "#");
    const char *q = memchr(location, '?', stop);

    return q ? apr_pstrmemdup(p, q + 1, stop - (apr_size_t)(q + 1 - location))
             : "";
}

static int raw_segment_named(const char *seg, apr_size_t len, const char *name)
{
    apr_size_t n = strlen(name);

    return len >= n && memcmp(seg, name, n) == 0 && (len == n || seg[n] == '=');
}

static void check_no_token_in_query(apr_pool_t *p, const char *location)
{
    const char *q = query_of(p, location);

    for (;;) {
        apr_size_t len = strcspn(q, "&");

        check(!raw_segment_named(q, len, "access_token"));
        if (!q[len])
            break;
        q += len + 1;
    }
}

static void check_redirect(apr_pool_t *p, const char *location,
                           const apr_array_header_t *hosts, const char *state,
                           long long min_ttl)
{
    alx_redirect_t off, on, again;
    apr_size_t prefix = strcspn(location, "?#");

    alx_authz_redirect(p, location, hosts, state, 0, min_ttl, &off);
    check(off.location == location);
    check(!off.fragment_moved && !off.ttl_raised);
    if (off.error)
        check(strcmp(off.error, "invalid") == 0
              || (strlen(off.error) <= 64 && *off.error));
    if (off.flow == ALX_FLOW_NONE)
        check(off.state == ALX_STATE_NOT_EXPECTED);
    if (off.region != ALX_REGION_NONE)
        check(off.host && off.flow != ALX_FLOW_NONE);
    if (!state)
        check(off.state == ALX_STATE_NOT_EXPECTED);

    alx_authz_redirect(p, location, hosts, state, 1, min_ttl, &on);
    /* Restoring changes the Location, never what was found in it. */
    check(on.flow == off.flow && on.state == off.state
          && on.region == off.region && on.malformed == off.malformed
          && on.implicit_in_query == off.implicit_in_query);
    if (on.flow == ALX_FLOW_NONE || on.malformed)
        check(on.location == location);
    if (on.location == location)
        return;
    check(strncmp(on.location, location, prefix) == 0);
    alx_authz_redirect(p, on.location, hosts, state, 1, min_ttl, &again);
    check(again.flow == on.flow && again.region == on.region);
    check(again.location == on.location);       /* a fix is final */
    if (state && on.flow != ALX_FLOW_UNKNOWN)
        check(again.state == ALX_STATE_KEPT);
    if (on.flow == ALX_FLOW_IMPLICIT) {
        check(!again.implicit_in_query);
        check_no_token_in_query(p, on.location);
    }
}

/* Enforcing without state in hand (a later login step, a request without
 * state): implicit tokens still leave the query, and the states found are
 * those restoring compares. */
static void check_enforce(apr_pool_t *p, const char *location,
                          const apr_array_header_t *hosts, int implicit)
{
    alx_redirect_opts_t o;
    alx_redirect_t r, again;

    memset(&o, 0, sizeof(o));
    o.enforce = 1;
    o.implicit = implicit;
    o.min_ttl = 300;
    alx_authz_redirect_opts(p, location, hosts, &o, &r);
    check(r.state == ALX_STATE_NOT_EXPECTED);
    if (r.region != ALX_REGION_NONE && r.flow != ALX_FLOW_NONE)
        check(r.states != NULL);
    if (r.flow != ALX_FLOW_IMPLICIT || r.malformed)
        return;
    check(r.fragment_moved == r.implicit_in_query);
    check_no_token_in_query(p, r.location);
    alx_authz_redirect_opts(p, r.location, hosts, &o, &again);
    check(again.location == r.location && !again.implicit_in_query);
}

/* Segments equal to want, and segments named name (decoded). */
static void count_segments(apr_pool_t *p, const char *q, const char *name,
                           const char *want, int *exact, int *named)
{
    *exact = *named = 0;
    for (;;) {
        apr_size_t len = strcspn(q, "&");
        const char *eq = memchr(q, '=', len);
        char *decoded;

        if (len == strlen(want) && memcmp(q, want, len) == 0)
            (*exact)++;
        if (alx_form_unescape(p, q, eq ? (apr_size_t)(eq - q) : len, &decoded)
            == APR_SUCCESS && strcmp(decoded, name) == 0)
            (*named)++;
        if (!q[len])
            break;
        q += len + 1;
    }
}

static void check_offline(apr_pool_t *p, const char *query)
{
    int changed = -1, again = -1, exact, named;
    const char *out = alx_authz_force_offline(p, query, ALX_OFFLINE_GOOGLE,
                                              &changed), *twice;

    check(changed == 0 || changed == ALX_OFFLINE_GOOGLE);
    if (!changed)
        check(out == query);
    count_segments(p, out, "access_type", "access_type=offline", &exact, &named);
    check(exact == 1 && named == 1);
    count_segments(p, out, "prompt", "prompt=consent", &exact, &named);
    check(exact == 1 && named == 1);
    twice = alx_authz_force_offline(p, out, ALX_OFFLINE_GOOGLE, &again);
    check(again == 0 && twice == out);
}

/* Both ways: only bits asked for change, the scope gains offline_access,
 * and once is enough. */
static void check_scope(apr_pool_t *p, const char *query)
{
    int changed = -1, again = -1;
    const char *out = alx_authz_force_offline(p, query, ALX_OFFLINE_BOTH,
                                              &changed), *twice;

    check((changed & ~ALX_OFFLINE_BOTH) == 0);
    if (!changed)
        check(out == query);
    if (changed & ALX_OFFLINE_OIDC)
        check(strstr(out, "offline_access") != NULL);
    twice = alx_authz_force_offline(p, out, ALX_OFFLINE_BOTH, &again);
    check(again == 0 && twice == out);
}

static void check_request(apr_pool_t *p, const char *data, apr_size_t size,
                          const apr_array_header_t *hosts)
{
    alx_authz_request_t r;
    const char *c;

    alx_authz_request_parse(p, data, size, hosts, &r);
    if (r.bad)
        check(!r.redirect_uri && !r.redirect_host && !r.state
              && r.region == ALX_REGION_NONE);
    if (r.region != ALX_REGION_NONE)
        check(r.redirect_host != NULL);
    if (r.redirect_host) {
        check(r.redirect_uri && *r.redirect_host);
        for (c = r.redirect_host; *c; c++)
            check(!apr_isupper(*c));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static apr_pool_t *p;
    apr_array_header_t *hosts;
    const char *text;
    apr_size_t i;

    if (!fuzz_root) {
        fuzz_start();
        apr_pool_create(&p, fuzz_root);
    }
    apr_pool_clear(p);
    hosts = apr_array_make(p, 2, sizeof(const char *));
    APR_ARRAY_PUSH(hosts, const char *) = "alexa.example.org";
    APR_ARRAY_PUSH(hosts, const char *) = "Layla.Amazon.com:443";
    text = apr_pstrmemdup(p, (const char *)data, size);

    for (i = 0; i < sizeof(states) / sizeof(states[0]); i++)
        check_redirect(p, text, NULL, states[i], i % 2 ? 300 : 0);
    check_redirect(p, text, hosts, "S1", 3600);
    check_enforce(p, text, NULL, 0);
    check_enforce(p, text, hosts, 1);
    check_request(p, (const char *)data, size, NULL);
    check_request(p, (const char *)data, size, hosts);
    check_offline(p, text);
    check_scope(p, text);
    (void)alx_authz_region(text, hosts);
    return 0;
}

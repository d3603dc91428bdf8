/* Unit tests for the authorization flow (lib/alx_authz.c). */
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "alx_authz.h"
#include "tap.h"

#define LINK "https://pitangui.amazon.com/api/skill/link/M2AAAAAAAAAAAA"
#define SPA "https://pitangui.amazon.com/spa/skill/account-linking-status.html" \
            "?vendorId=M2AAAAAAAAAAAA"

static apr_pool_t *pool;

static apr_array_header_t *host_list(const char *a, const char *b)
{
    apr_array_header_t *hosts = apr_array_make(pool, 2, sizeof(const char *));

    if (a)
        APR_ARRAY_PUSH(hosts, const char *) = a;
    if (b)
        APR_ARRAY_PUSH(hosts, const char *) = b;
    return hosts;
}

static alx_redirect_t redirect(const char *location, const char *expected,
                               int restore, long long min_ttl)
{
    alx_redirect_t r;

    alx_authz_redirect(pool, location, NULL, expected, restore, min_ttl, &r);
    return r;
}

/* A rewritten Location read again gives what restoring promised. */
static void expect_fixed(const char *location, const char *expected,
                         const char *want, const char *what)
{
    alx_redirect_t r = redirect(location, expected, 1, 0), again;

    is_str(r.location, want, "%s: rewritten", what);
    again = redirect(r.location, expected, 1, 0);
    is_int(again.state, ALX_STATE_KEPT, "%s: read again, state kept", what);
    ok(again.location == r.location, "%s: read again, left alone", what);
}

static void test_names(void)
{
    is_str(alx_region_name(ALX_REGION_NONE), "-", "region NONE");
    is_str(alx_region_name(ALX_REGION_NA), "NA", "region NA");
    is_str(alx_region_name(ALX_REGION_EU), "EU", "region EU");
    is_str(alx_region_name(ALX_REGION_FE), "FE", "region FE");
    is_str(alx_region_name(ALX_REGION_OTHER), "other", "region OTHER");
    is_str(alx_region_name((alx_region_e)99), "-", "region out of range");
    is_str(alx_state_fate_name(ALX_STATE_NOT_EXPECTED), "-", "fate -");
    is_str(alx_state_fate_name(ALX_STATE_KEPT), "kept", "fate kept");
    is_str(alx_state_fate_name(ALX_STATE_DROPPED), "dropped", "fate dropped");
    is_str(alx_state_fate_name(ALX_STATE_CHANGED), "changed", "fate changed");
    is_str(alx_state_fate_name((alx_state_fate_e)99), "-", "fate out of range");
}

static void test_region(void)
{
    apr_array_header_t *hosts = host_list("pitangui.amazon.com",
                                          "Alexa.Example.ORG:8443");

    is_int(alx_authz_region("pitangui.amazon.com", NULL), ALX_REGION_NA, "NA");
    is_int(alx_authz_region("layla.amazon.com", NULL), ALX_REGION_EU, "EU");
    is_int(alx_authz_region("alexa.amazon.co.jp", NULL), ALX_REGION_FE, "FE");
    is_int(alx_authz_region("PITANGUI.Amazon.COM", NULL), ALX_REGION_NA,
           "case-insensitive");
    is_int(alx_authz_region("layla.amazon.com:443", NULL), ALX_REGION_EU,
           "port ignored");
    is_int(alx_authz_region("alexa.amazon.co.jp.", NULL), ALX_REGION_FE,
           "trailing dot ignored");
    is_int(alx_authz_region("pitangui.amazon.com.:8443", NULL), ALX_REGION_NA,
           "trailing dot and port ignored");
    is_int(alx_authz_region("pitangui.amazon.com..", NULL), ALX_REGION_NONE,
           "two trailing dots are another name");
    is_int(alx_authz_region("example.com", NULL), ALX_REGION_NONE, "not Alexa");
    is_int(alx_authz_region("evilpitangui.amazon.com", NULL), ALX_REGION_NONE,
           "prefix");
    is_int(alx_authz_region("pitangui.amazon.com.evil.com", NULL),
           ALX_REGION_NONE, "suffix");
    is_int(alx_authz_region("amazon.com", NULL), ALX_REGION_NONE, "parent");
    is_int(alx_authz_region(NULL, NULL), ALX_REGION_NONE, "NULL host");
    is_int(alx_authz_region("", NULL), ALX_REGION_NONE, "empty host");
    is_int(alx_authz_region(":443", NULL), ALX_REGION_NONE, "port only");

    is_int(alx_authz_region("pitangui.amazon.com", hosts), ALX_REGION_NA,
           "listed known host keeps its region");
    is_int(alx_authz_region("layla.amazon.com", hosts), ALX_REGION_NONE,
           "known host not listed");
    is_int(alx_authz_region("alexa.example.org", hosts), ALX_REGION_OTHER,
           "listed other host (list entry with port)");
    is_int(alx_authz_region("ALEXA.example.org.:443", hosts), ALX_REGION_OTHER,
           "listed other host, case, dot and port");
    is_int(alx_authz_region("example.org", hosts), ALX_REGION_NONE,
           "unlisted other host");
    is_int(alx_authz_region("pitangui.amazon.com", host_list(NULL, NULL)),
           ALX_REGION_NONE, "empty list: nothing is Alexa");
    is_int(alx_authz_region("[::1]:443", host_list("[::1]", NULL)),
           ALX_REGION_OTHER, "bracketed IPv6 with port");
}

static void test_request(void)
{
    alx_authz_request_t r;
    apr_array_header_t *hosts = host_list("alexa.example.org", NULL);
    const char *q = "response_type=code&client_id=alexa-skill&state=A%2Bb+c"
                    "&redirect_uri=https%3A%2F%2FLayla.Amazon.com%3A443%2Fapi"
                    "%2Fskill%2Flink%2FM2X&scope=profile";

    alx_authz_request_parse(pool, q, strlen(q), NULL, &r);
    is_int(r.bad, 0, "request: parses");
    is_str(r.state, "A+b c", "request: state decoded");
    is_str(r.client_id, "alexa-skill", "request: client_id");
    is_str(r.response_type, "code", "request: response_type");
    is_str(r.redirect_uri, "https://Layla.Amazon.com:443/api/skill/link/M2X",
           "request: redirect_uri decoded");
    is_str(r.redirect_host, "layla.amazon.com", "request: host lower-case");
    is_int(r.region, ALX_REGION_EU, "request: region");

    q = "redirect_uri=https://example.com/cb&state=s&state=t";
    alx_authz_request_parse(pool, q, strlen(q), NULL, &r);
    is_str(r.redirect_host, "example.com", "request: other host");
    is_int(r.region, ALX_REGION_NONE, "request: other host is no Alexa flow");
    is_str(r.state, "s", "request: first of duplicate states");
    is_str(r.client_id, NULL, "request: absent client_id");

    q = "redirect_uri=https%3A%2F%2Falexa.example.org%2Fcb&response_type=token";
    alx_authz_request_parse(pool, q, strlen(q), hosts, &r);
    is_int(r.region, ALX_REGION_OTHER, "request: configured host");
    is_str(r.response_type, "token", "request: implicit");

    q = "redirect_uri=%2Fcb";
    alx_authz_request_parse(pool, q, strlen(q), NULL, &r);
    is_str(r.redirect_uri, "/cb", "request: relative redirect_uri");
    is_str(r.redirect_host, NULL, "request: relative has no host");
    is_int(r.region, ALX_REGION_NONE, "request: relative is no Alexa flow");

    q = "redirect_uri=//pitangui.amazon.com/x";
    alx_authz_request_parse(pool, q, strlen(q), NULL, &r);
    is_str(r.redirect_host, NULL, "request: protocol-relative is not absolute");

    q = "redirect_uri=https://pitangui.amazon.com%252F.evil.com/";
    alx_authz_request_parse(pool, q, strlen(q), NULL, &r);
    is_str(r.redirect_host, NULL, "request: encoded '/' in host");

    q = "redirect_uri=https://pita+ngui.amazon.com/";
    alx_authz_request_parse(pool, q, strlen(q), NULL, &r);
    is_str(r.redirect_host, NULL, "request: space in host");

    q = "redirect_uri=ftp://pitangui.amazon.com/";
    alx_authz_request_parse(pool, q, strlen(q), NULL, &r);
    is_str(r.redirect_host, NULL, "request: other scheme");

    q = "state=SECRET&redirect_uri=https%3A%2F%2Fpitangui.amazon.com%zz";
    alx_authz_request_parse(pool, q, strlen(q), NULL, &r);
    is_int(r.bad, 1, "request: bad escape");
    ok(!r.state && !r.redirect_uri && !r.redirect_host
       && r.region == ALX_REGION_NONE, "request: bad escape fills nothing");

    alx_authz_request_parse(pool, NULL, 0, NULL, &r);
    ok(!r.bad && !r.state && !r.redirect_uri && r.region == ALX_REGION_NONE,
       "request: NULL query");

    q = "state=abc&client_id=x";
    alx_authz_request_parse(pool, q, 9, NULL, &r);
    is_str(r.state, "abc", "request: len bounds the query");
    is_str(r.client_id, NULL, "request: nothing read past len");
}

static void expect_ways(int ways, const char *query, const char *want,
                        int changed, const char *what)
{
    int c = -1, again = -1;
    const char *got = alx_authz_force_offline(pool, query, ways, &c);

    is_str(got, want, "offline: %s", what);
    is_int(c, changed, "offline: %s: changed", what);
    if (!changed)
        ok(got == query, "offline: %s: same pointer", what);
    alx_authz_force_offline(pool, got, ways, &again);
    is_int(again, 0, "offline: %s: twice is once", what);
}

static void expect_offline(const char *query, const char *want, int changed,
                           const char *what)
{
    expect_ways(ALX_OFFLINE_GOOGLE, query, want, changed, what);
}

static void expect_scope(const char *query, const char *want, int changed,
                         const char *what)
{
    expect_ways(ALX_OFFLINE_OIDC, query, want,
                changed ? ALX_OFFLINE_OIDC : 0, what);
}

/* oidc: offline_access in scope once, PKCE and every other byte kept. */
static void test_force_scope(void)
{
    const char *pkce = "response_type=code&client_id=alexa&scope=openid%20"
                       "profile&state=S1&code_challenge=E9Melhoa2OwvFrEMTJg"
                       "uCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";
    int c = -1;

    expect_scope(NULL, "scope=offline_access", 1, "oidc: NULL");
    expect_scope("", "scope=offline_access", 1, "oidc: empty");
    expect_scope("a=1", "a=1&scope=offline_access", 1, "oidc: appended");
    expect_scope(pkce, "response_type=code&client_id=alexa&scope=openid%20"
                 "profile%20offline_access&state=S1&code_challenge=E9Melhoa2"
                 "OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
                 1, "oidc: added to scope, PKCE untouched");
    expect_scope("scope=openid+email", "scope=openid+email%20offline_access",
                 1, "oidc: '+' spaces kept as they came");
    expect_scope("scope=openid+", "scope=openid+offline_access", 1,
                 "oidc: no second space after a trailing one");
    expect_scope("scope=", "scope=offline_access", 1, "oidc: empty scope");
    expect_scope("scope&a=1", "scope=offline_access&a=1", 1,
                 "oidc: scope without '='");
    expect_scope("scope=openid%20offline_access", "scope=openid%20offline_access",
                 0, "oidc: already asked");
    expect_scope("scope=offline_access+openid", "scope=offline_access+openid",
                 0, "oidc: already asked, first");
    expect_scope("scope=offline_accessx", "scope=offline_accessx%20offline_access",
                 1, "oidc: a longer word is another scope");
    expect_scope("scope=openid&scope=email",
                 "scope=openid%20offline_access&scope=email", 1,
                 "oidc: the first scope only");
    expect_scope("sc%6Fpe=openid", "sc%6Fpe=openid%20offline_access", 1,
                 "oidc: an encoded name is a scope");
    expect_scope("x=%zz&scope=openid", "x=%zz&scope=openid%20offline_access",
                 1, "oidc: a bad escape elsewhere kept");
    is_str(alx_authz_force_offline(pool, "scope=%zz", ALX_OFFLINE_OIDC, &c),
           "scope=%zz", "oidc: a scope that does not decode is left alone");
    is_int(c, 0, "oidc: and nothing changed");
    expect_ways(ALX_OFFLINE_BOTH, "scope=openid",
                "scope=openid%20offline_access&access_type=offline"
                "&prompt=consent", ALX_OFFLINE_BOTH, "both: both added");
    expect_ways(ALX_OFFLINE_BOTH, "scope=offline_access&access_type=online",
                "scope=offline_access&access_type=offline&prompt=consent",
                ALX_OFFLINE_GOOGLE, "both: only Google's missing");
    expect_ways(ALX_OFFLINE_OFF, "a=1", "a=1", 0, "off: nothing");
}

static void test_force_offline(void)
{
    const char *both = "access_type=offline&prompt=consent";

    expect_offline(NULL, both, 1, "NULL");
    expect_offline("", both, 1, "empty");
    expect_offline("a=1", "a=1&access_type=offline&prompt=consent", 1,
                   "appended");
    expect_offline("a=1&", "a=1&access_type=offline&prompt=consent", 1,
                   "trailing '&' takes no second one");
    expect_offline("access_type=online&x=%41+b&prompt=login",
                   "access_type=offline&x=%41+b&prompt=consent", 1,
                   "replaced in place, other bytes kept");
    expect_offline("prompt=consent&a=%7e&access_type=offline",
                   "prompt=consent&a=%7e&access_type=offline", 0,
                   "already there");
    expect_offline("access_type=offline&prompt=consent&access_type=online"
                   "&prompt=consent&z=1", "access_type=offline&prompt=consent&z=1",
                   1, "duplicates removed");
    expect_offline("access%5Ftype=online&prompt=consent", both, 1,
                   "encoded name");
    expect_offline("access_type=offl%69ne&prompt=consent", both, 1,
                   "encoded value made exact");
    expect_offline("access_type=offline", both, 1, "prompt missing");
    expect_offline("access_type&prompt=", both, 1, "names without values");
    expect_offline("a=1&&b=2", "a=1&&b=2&access_type=offline&prompt=consent",
                   1, "empty segment kept");
    expect_offline("x=%zz", "x=%zz&access_type=offline&prompt=consent", 1,
                   "bad escape elsewhere kept");
    expect_offline("Prompt=login", "Prompt=login&access_type=offline"
                   "&prompt=consent", 1, "names are case-sensitive");
}

static void test_code_flow(void)
{
    const char *loc = LINK "?code=C0DE&state=S1";
    alx_redirect_t r = redirect(loc, "S1", 1, 0);

    is_int(r.flow, ALX_FLOW_CODE, "code: flow");
    is_int(r.region, ALX_REGION_NA, "code: region");
    is_str(r.host, "pitangui.amazon.com", "code: host");
    is_int(r.spa_form, 0, "code: link form");
    is_int(r.state, ALX_STATE_KEPT, "code: state kept");
    ok(r.location == loc, "code: kept, same pointer");
    ok(!r.malformed && !r.error && !r.ttl_in && !r.fragment_moved,
       "code: nothing else");

    loc = LINK "?code=C0DE";
    r = redirect(loc, "S1", 0, 0);
    is_int(r.state, ALX_STATE_DROPPED, "code: dropped, reported");
    ok(r.location == loc, "code: dropped, restore off, same pointer");
    r = redirect(loc, "S1", 1, 0);
    is_int(r.state, ALX_STATE_DROPPED, "code: dropped");
    expect_fixed(loc, "S1", LINK "?code=C0DE&state=S1", "code dropped");

    loc = LINK "?code=C0DE&state=OTHER&x=1";
    r = redirect(loc, "S1", 0, 0);
    is_int(r.state, ALX_STATE_CHANGED, "code: changed, reported");
    ok(r.location == loc, "code: changed, restore off, same pointer");
    expect_fixed(loc, "S1", LINK "?code=C0DE&state=S1&x=1",
                 "code changed, replaced in place");
    expect_fixed(LINK "?state=X&code=C&state=S1", "S1", LINK "?state=S1&code=C",
                 "code, one of two states changed");
    r = redirect(LINK "?state=S1&code=C&state=S1", "S1", 1, 0);
    is_int(r.state, ALX_STATE_KEPT, "code: duplicate equal states kept");

    loc = LINK "?code=C";
    r = redirect(loc, NULL, 1, 0);
    is_int(r.state, ALX_STATE_NOT_EXPECTED, "code: no state known, none sent");
    ok(r.location == loc, "code: no state known, same pointer");
    loc = LINK "?code=C&state=S1";
    r = redirect(loc, NULL, 1, 0);
    is_int(r.state, ALX_STATE_NOT_EXPECTED, "code: no state known, one sent");
    ok(r.location == loc, "code: no state known, same pointer (2)");

    loc = LINK "?code=C&state=a%2Bb+c";
    r = redirect(loc, "a+b c", 1, 0);
    is_int(r.state, ALX_STATE_KEPT, "code: encoded state compared decoded");
    ok(r.location == loc, "code: encoded state kept byte-exact");
    r = redirect(LINK "?code=C&state=a+b", "a+b", 1, 0);
    is_int(r.state, ALX_STATE_CHANGED, "code: '+' in a Location is a space");

    expect_fixed(LINK "?code=C", "a+b%c&d=e#f g/\xc3\xa9",
                 LINK "?code=C&state=a%2Bb%25c%26d%3De%23f+g%2F%C3%A9",
                 "code: restored state escaped");
    expect_fixed(LINK "?code=C&state=", "", LINK "?code=C&state=",
                 "code: empty expected state");
    expect_fixed(LINK "?code=C&", "S1", LINK "?code=C&state=S1",
                 "code: trailing '&' takes the state");
    expect_fixed(LINK "?code=C#frag", "S1", LINK "?code=C&state=S1#frag",
                 "code: fragment kept");
    expect_fixed(LINK "#code=C", "S1", LINK "#code=C&state=S1",
                 "code: code in the fragment, state there too");
    expect_fixed(LINK "?st%61te=X&code=C", "S1", LINK "?state=S1&code=C",
                 "code: encoded name is the state");

    loc = SPA "&code=C&state=S1";
    r = redirect(loc, "S1", 1, 0);
    is_int(r.spa_form, 1, "spa: form");
    is_int(r.flow, ALX_FLOW_CODE, "spa: code");
    ok(r.location == loc, "spa: kept, same pointer");
    expect_fixed(SPA "&code=C", "S1", SPA "&code=C&state=S1",
                 "spa: state restored after vendorId");
    r = redirect("https://pitangui.amazon.com/spa/skill/account-linking-"
                 "status.htm?code=C", "S1", 0, 0);
    is_int(r.spa_form, 0, "spa: another path");

    expect_fixed("HTTPS://Pitangui.Amazon.COM:443/api/skill/link/V?code=C",
                 "S1", "HTTPS://Pitangui.Amazon.COM:443/api/skill/link/V"
                 "?code=C&state=S1", "code: scheme, host case and port kept");
    r = redirect("HTTPS://Pitangui.Amazon.COM.:443/x?code=C", NULL, 0, 0);
    is_str(r.host, "pitangui.amazon.com", "code: host lower-case, no port");
    r = redirect("https://layla.amazon.com/api/skill/link/V?code=C", NULL, 0, 0);
    is_int(r.region, ALX_REGION_EU, "code: EU");
    r = redirect("https://alexa.amazon.co.jp/api/skill/link/V?code=C", NULL, 0,
                 0);
    is_int(r.region, ALX_REGION_FE, "code: FE");
    r = redirect("http://pitangui.amazon.com/api/skill/link/V?code=C", NULL, 0,
                 0);
    is_int(r.flow, ALX_FLOW_CODE, "code: plain http still classified");
    r = redirect("https://user:pw@pitangui.amazon.com/x?code=C", NULL, 0, 0);
    is_int(r.region, ALX_REGION_NA, "code: userinfo skipped");
    r = redirect("https://pitangui%2Eamazon.com/x?code=C", NULL, 0, 0);
    is_int(r.region, ALX_REGION_NA, "code: encoded host decoded");
    expect_fixed("//pitangui.amazon.com/api/skill/link/V?code=C", "S1",
                 "//pitangui.amazon.com/api/skill/link/V?code=C&state=S1",
                 "code: protocol-relative");

    loc = LINK "?CODE=C&State=S1";
    r = redirect(loc, "S1", 1, 0);
    is_int(r.flow, ALX_FLOW_UNKNOWN, "unknown: names are case-sensitive");
    is_int(r.state, ALX_STATE_DROPPED, "unknown: state reported");
    ok(r.location == loc, "unknown: never rewritten");
    r = redirect(LINK "#state=S1", "S1", 1, 0);
    is_int(r.state, ALX_STATE_KEPT, "unknown: state in the fragment counts");
}

static void test_configured(void)
{
    apr_array_header_t *hosts = host_list("alexa.example.org", NULL);
    const char *loc = "https://alexa.example.org/cb?code=C";
    alx_redirect_t r;

    alx_authz_redirect(pool, loc, hosts, "S1", 1, 0, &r);
    is_int(r.region, ALX_REGION_OTHER, "configured: other");
    is_str(r.location, "https://alexa.example.org/cb?code=C&state=S1",
           "configured: restored");
    loc = LINK "?code=C";
    alx_authz_redirect(pool, loc, hosts, "S1", 1, 0, &r);
    is_int(r.flow, ALX_FLOW_NONE, "configured: pitangui not listed");
    ok(r.location == loc, "configured: not listed, same pointer");
}

static void test_error_flow(void)
{
    const char *loc = LINK "?error=access_denied&state=S1";
    char long_code[80];
    alx_redirect_t r = redirect(loc, "S1", 1, 0);

    is_int(r.flow, ALX_FLOW_ERROR, "error: flow");
    is_str(r.error, "access_denied", "error: code");
    is_int(r.state, ALX_STATE_KEPT, "error: state kept");
    ok(r.location == loc, "error: same pointer");
    expect_fixed(LINK "?error=access_denied&error_description=No+way", "S1",
                 LINK "?error=access_denied&error_description=No+way&state=S1",
                 "error: state restored");
    r = redirect(LINK "?error=access_denied", NULL, 1, 0);
    is_int(r.state, ALX_STATE_NOT_EXPECTED, "error: without state, none known");
    r = redirect(LINK "?code=C&error=server_error", NULL, 0, 0);
    is_int(r.flow, ALX_FLOW_ERROR, "error: before code");
    is_str(r.error, "server_error", "error: code (2)");
    loc = LINK "#error=access_denied&state=S1";
    r = redirect(loc, "S1", 1, 0);
    is_int(r.flow, ALX_FLOW_ERROR, "error: in the fragment");
    is_int(r.state, ALX_STATE_KEPT, "error: state beside it in the fragment");
    ok(r.location == loc, "error: fragment, same pointer");

    r = redirect(LINK "?error=access%20denied", NULL, 0, 0);
    is_str(r.error, "invalid", "error: space");
    r = redirect(LINK "?error=", NULL, 0, 0);
    is_str(r.error, "invalid", "error: empty");
    r = redirect(LINK "?error=%C3%A9", NULL, 0, 0);
    is_str(r.error, "invalid", "error: not ASCII");
    memset(long_code, 'e', 64);
    long_code[64] = '\0';
    r = redirect(apr_pstrcat(pool, LINK "?error=", long_code, NULL), NULL, 0, 0);
    is_str(r.error, long_code, "error: 64 bytes kept");
    r = redirect(apr_pstrcat(pool, LINK "?error=", long_code, "e", NULL), NULL,
                 0, 0);
    is_str(r.error, "invalid", "error: 65 bytes");
}

static void test_implicit(void)
{
    const char *loc = LINK "#access_token=T0K&token_type=Bearer&expires_in=3600"
                      "&state=S1";
    alx_redirect_t r = redirect(loc, "S1", 1, 300);

    is_int(r.flow, ALX_FLOW_IMPLICIT, "implicit: flow");
    is_int(r.state, ALX_STATE_KEPT, "implicit: state kept");
    is_str(r.ttl_in, "3600", "implicit: ttl_in");
    ok(!r.implicit_in_query && !r.fragment_moved && !r.ttl_raised,
       "implicit: in the fragment already");
    ok(r.location == loc, "implicit: same pointer");

    loc = LINK "?access_token=T0K&token_type=Bearer&expires_in=3600&state=S1";
    r = redirect(loc, "S1", 0, 300);
    ok(r.implicit_in_query && !r.fragment_moved, "implicit: would move");
    is_int(r.state, ALX_STATE_KEPT, "implicit: state in the query counts");
    ok(r.location == loc, "implicit: restore off, same pointer");
    r = redirect(loc, "S1", 1, 300);
    ok(r.implicit_in_query && r.fragment_moved && !r.ttl_raised,
       "implicit: moved");
    expect_fixed(loc, "S1", LINK "#access_token=T0K&token_type=Bearer"
                 "&expires_in=3600&state=S1", "implicit: query dropped");

    loc = SPA "&access_token=T0K&state=S1&expires_in=60";
    r = redirect(loc, "S1", 1, 300);
    is_int(r.spa_form, 1, "implicit spa: form");
    is_str(r.ttl_in, "60", "implicit spa: ttl_in as sent");
    ok(r.fragment_moved && r.ttl_raised, "implicit spa: moved and raised");
    is_str(r.location, SPA "#access_token=T0K&state=S1&expires_in=300",
           "implicit spa: vendorId stays in the query");
    r = redirect(loc, "S1", 0, 300);
    ok(!r.ttl_raised && r.location == loc, "implicit spa: restore off");

    expect_fixed(LINK "?access_token=T&scope=a+b#x=1", "S1",
                 LINK "#x=1&access_token=T&scope=a+b&state=S1",
                 "implicit: appended to a fragment, scope moved");
    expect_fixed(LINK "?access_token=T#x=1&", "S1",
                 LINK "#x=1&access_token=T&state=S1",
                 "implicit: fragment's trailing '&'");
    expect_fixed(LINK "?a=1&access_token=T&refresh_token=R&b=%41", "S1",
                 LINK "?a=1&b=%41#access_token=T&refresh_token=R&state=S1",
                 "implicit: others stay in order");
    expect_fixed(LINK "?access_token=T&state=BAD", "S1",
                 LINK "#access_token=T&state=S1", "implicit: changed state");
    r = redirect(LINK "?access_token=T&state=BAD", "S1", 1, 0);
    is_int(r.state, ALX_STATE_CHANGED, "implicit: changed reported");
    expect_fixed(LINK "?access_token=T#state=S1", "S1",
                 LINK "#state=S1&access_token=T",
                 "implicit: token moved to the state");
    expect_fixed(LINK "?state=S1#access_token=T", "S1",
                 LINK "#access_token=T&state=S1",
                 "implicit: state moved to the token");
    expect_fixed(LINK "?x=1#access_token=T", "S1",
                 LINK "?x=1#access_token=T&state=S1",
                 "implicit: dropped state restored in the fragment");

    r = redirect(LINK "#access_token=T&expires_in=10", NULL, 1, 300);
    is_str(r.location, LINK "#access_token=T&expires_in=300",
           "implicit: raised in the fragment");
    ok(r.ttl_raised && !r.fragment_moved, "implicit: raised, not moved");
    r = redirect(LINK "#access_token=T&expires_in=%31%30", NULL, 1, 300);
    is_str(r.location, LINK "#access_token=T&expires_in=300",
           "implicit: encoded digits raised");
    is_str(r.ttl_in, "10", "implicit: encoded digits decoded");
    loc = LINK "#access_token=T&expires_in=300";
    r = redirect(loc, NULL, 1, 300);
    ok(!r.ttl_raised && r.location == loc, "implicit: at the floor");
    loc = LINK "#access_token=T&expires_in=000000000000000000000000009999";
    r = redirect(loc, NULL, 1, 300);
    ok(!r.ttl_raised && r.location == loc, "implicit: leading zeros");
    loc = LINK "#access_token=T&expires_in=99999999999999999999999";
    r = redirect(loc, NULL, 1, 300);
    ok(!r.ttl_raised && r.location == loc, "implicit: huge TTL");
    loc = LINK "#access_token=T&expires_in=soon";
    r = redirect(loc, NULL, 1, 300);
    ok(!r.ttl_in && !r.ttl_raised && r.location == loc,
       "implicit: non-numeric TTL");
    loc = LINK "#access_token=T&expires_in=";
    r = redirect(loc, NULL, 1, 300);
    ok(!r.ttl_in && r.location == loc, "implicit: empty TTL");
    loc = LINK "#access_token=T&expires_in=10";
    r = redirect(loc, NULL, 1, 0);
    ok(!r.ttl_raised && r.location == loc, "implicit: no floor");
    r = redirect(LINK "?expires_in=30&access_token=T#expires_in=10", NULL, 0, 0);
    is_str(r.ttl_in, "30", "implicit: ttl_in from the query first");
    r = redirect(LINK "?access_token=T", NULL, 1, 0);
    is_str(r.location, LINK "#access_token=T",
           "implicit: moved with no state known");
    is_int(r.state, ALX_STATE_NOT_EXPECTED, "implicit: no state known");
    r = redirect(LINK "?code=C&access_token=T", NULL, 1, 0);
    ok(r.flow == ALX_FLOW_CODE && !r.implicit_in_query,
       "implicit: code first");
}

static void test_not_alexa(void)
{
    static const char *const others[] = {
        "https://example.com/cb?code=C",
        "https://pitangui.amazon.com.evil.com/?code=C",
        "https://pitangui.amazon.com@evil.com/?code=C",
        "/api/skill/link/V?code=C",
        "api/skill/link/V?code=C",
        "pitangui.amazon.com/api?code=C",
        "pitangui.amazon.com:443/api?code=C",
        "ftp://pitangui.amazon.com/?code=C",
        "https:pitangui.amazon.com/?code=C",
        "javascript:alert(1)//pitangui.amazon.com",
        "?code=C",
        "#access_token=T",
        "",
        "https://[::1]:443/?code=C"
    };
    apr_size_t i;
    alx_redirect_t r;

    for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        r = redirect(others[i], "S1", 1, 300);
        ok(r.flow == ALX_FLOW_NONE && r.region == ALX_REGION_NONE
           && r.state == ALX_STATE_NOT_EXPECTED && !r.malformed
           && r.location == others[i], "not Alexa, left alone: '%s'",
           others[i]);
    }
    r = redirect(others[0], NULL, 0, 0);
    is_str(r.host, "example.com", "not Alexa: host reported");
    r = redirect(others[2], NULL, 0, 0);
    is_str(r.host, "evil.com", "not Alexa: host after the last '@'");
    r = redirect(others[3], NULL, 0, 0);
    is_str(r.host, NULL, "relative: no host");
    r = redirect(others[13], NULL, 0, 0);
    is_str(r.host, "[::1]", "IPv6 literal host");
    r = redirect(NULL, "S1", 1, 0);
    ok(r.flow == ALX_FLOW_NONE && !r.location, "NULL Location");
}

static void test_malformed(void)
{
    static const char *const broken[] = {
        "https://pita ngui.amazon.com/?code=C",
        "https://pitangui%zz.amazon.com/?code=C",
        "https://pitangui%2.amazon.com",
        "https://pitangui.amazon.com%2F.evil.com/?code=C",
        "https://pitangui.amazon.com%00/?code=C",
        "https:///api/skill/link/V?code=C",
        "https://:443/?code=C",
        "https://@/?code=C",
        "https://[::1/?code=C",
        "https://::1]/?code=C",
        "https://[]/?code=C",
        "https://[::1]x/?code=C",
        "https://[pitangui.amazon.com]/?code=C",
        "https://pitangui.amazon.com:abc/?code=C",
        "https://pitangui.amazon.com:99999/?code=C",
        "https://pitangui.amazon.com:000443/?code=C",
        "https://evil.com\\@pitangui.amazon.com/?code=C",
        "https://pitangui.amazon.com\\.evil.com/?code=C",
        "/\\pitangui.amazon.com/?code=C",
        "\\\\pitangui.amazon.com/?code=C",
        "https://pitangui.amazon.com\t/?code=C",
        "https://pitangui.amazon.com\r\nX-Evil: 1"
    };
    apr_size_t i;
    alx_redirect_t r;
    char *huge;
    const char *loc;

    for (i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
        r = redirect(broken[i], "S1", 1, 300);
        ok(r.malformed && r.flow == ALX_FLOW_NONE && !r.host
           && r.region == ALX_REGION_NONE && r.location == broken[i],
           "malformed, left alone: #%d", (int)i);
    }
    r = redirect("/cb?x=\x01", NULL, 0, 0);
    ok(r.malformed && r.flow == ALX_FLOW_NONE, "relative with a control byte");
    r = redirect("https://example.com/cb?x=\x01", NULL, 0, 0);
    ok(r.malformed && r.flow == ALX_FLOW_NONE && r.region == ALX_REGION_NONE,
       "other host with a control byte");
    r = redirect("https://example.com/cb?x=%zz", NULL, 0, 0);
    ok(!r.malformed, "other host: its query is not looked at");

    loc = LINK "?code=C&state=\x01";
    r = redirect(loc, "S1", 1, 0);
    ok(r.malformed && r.flow == ALX_FLOW_CODE && r.region == ALX_REGION_NA,
       "control byte, Alexa host: classified");
    is_int(r.state, ALX_STATE_CHANGED, "control byte: state changed");
    ok(r.location == loc, "control byte: not rewritten");

    loc = LINK "?code=C&x=%zz";
    r = redirect(loc, "S1", 1, 0);
    ok(r.malformed && r.flow == ALX_FLOW_CODE
       && r.state == ALX_STATE_DROPPED && r.location == loc,
       "bad escape in the query: classified, not rewritten");
    loc = LINK "?access_token=T&expires_in=1#100%";
    r = redirect(loc, "S1", 1, 300);
    ok(r.malformed && r.flow == ALX_FLOW_IMPLICIT && r.implicit_in_query
       && !r.fragment_moved && !r.ttl_raised && r.location == loc,
       "bad escape in the fragment: classified, not rewritten");
    loc = LINK "?code=C&st%zzate=S1&state=S1";
    r = redirect(loc, "S1", 1, 0);
    ok(r.malformed && r.state == ALX_STATE_KEPT && r.location == loc,
       "undecodable name is not a state");

    huge = apr_palloc(pool, ALX_AUTHZ_LOCATION_MAX + 64);
    strcpy(huge, LINK "?code=C&x=");
    memset(huge + strlen(huge), 'a', ALX_AUTHZ_LOCATION_MAX - strlen(huge));
    huge[ALX_AUTHZ_LOCATION_MAX] = '\0';
    r = redirect(huge, "S1", 1, 0);
    ok(!r.malformed && r.location != huge, "at the limit: rewritten");
    huge[ALX_AUTHZ_LOCATION_MAX] = 'a';
    huge[ALX_AUTHZ_LOCATION_MAX + 1] = '\0';
    r = redirect(huge, "S1", 1, 0);
    ok(r.malformed && r.flow == ALX_FLOW_CODE
       && r.state == ALX_STATE_DROPPED && r.location == huge,
       "over the limit: classified, not rewritten");
    memcpy(huge, "https://example.com/", 20);
    r = redirect(huge, "S1", 1, 0);
    ok(r.malformed && r.flow == ALX_FLOW_NONE && r.location == huge,
       "over the limit, other host");
}

/* Implicit tokens move in enforce mode whatever is known of state: a later
 * login step (no state in hand) and a request without state too. */
static alx_redirect_t enforce(const char *location, const char *expected,
                              int implicit, int on)
{
    alx_redirect_opts_t o = {0};
    alx_redirect_t r;

    o.expected_state = expected;
    o.restore = expected && on;
    o.enforce = on;
    o.implicit = implicit;
    o.min_ttl = 600;
    alx_authz_redirect_opts(pool, location, NULL, &o, &r);
    return r;
}

static void test_implicit_without_state(void)
{
    const char *loc = LINK "?access_token=T&token_type=Bearer&expires_in=60"
                      "&state=S1";
    alx_redirect_t r = enforce(loc, NULL, 0, 1);

    is_int(r.flow, ALX_FLOW_IMPLICIT, "no state in hand: implicit");
    is_int(r.state, ALX_STATE_NOT_EXPECTED, "no state in hand: not judged");
    ok(r.implicit_in_query && r.fragment_moved && r.ttl_raised,
       "no state in hand: moved and raised");
    is_str(r.location, LINK "#access_token=T&token_type=Bearer"
           "&expires_in=600&state=S1", "no state in hand: all in the fragment");
    r = enforce(LINK "?access_token=T&expires_in=60", NULL, 0, 1);
    is_str(r.location, LINK "#access_token=T&expires_in=600",
           "a flow without state: moved");
    r = enforce(loc, NULL, 0, 0);
    ok(r.implicit_in_query && !r.fragment_moved && !r.ttl_raised
       && r.location == loc, "report mode: not moved");
    r = enforce(LINK "?access_token=T&state=S2", "S1", 0, 1);
    is_str(r.location, LINK "#access_token=T&state=S1",
           "state in hand: moved and restored");
    /* response_type=token known: a code beside the token does not make it
     * a code flow */
    r = enforce(LINK "?code=C&access_token=T", NULL, 1, 1);
    is_int(r.flow, ALX_FLOW_IMPLICIT, "known implicit: code beside token");
    is_str(r.location, LINK "?code=C#access_token=T",
           "known implicit: the token moved");
    r = enforce(LINK "?code=C&access_token=T", NULL, 0, 1);
    is_int(r.flow, ALX_FLOW_CODE, "not known implicit: a code flow");
    r = enforce(LINK "?error=access_denied&access_token=T", NULL, 1, 1);
    is_int(r.flow, ALX_FLOW_ERROR, "known implicit: error wins");
}

/* The states a redirect carries, for the glue to compare by hash when the
 * state is not in hand. */
static void test_states_found(void)
{
    alx_redirect_t r = enforce(LINK "?code=C&state=a%2Bb&state=c#state=d",
                               NULL, 0, 1);

    is_int(r.states->nelts, 2, "states: of the part with code");
    is_str(APR_ARRAY_IDX(r.states, 0, const char *), "a+b", "states: decoded");
    is_str(APR_ARRAY_IDX(r.states, 1, const char *), "c", "states: second");
    r = enforce(LINK "?access_token=T&state=q#state=f", NULL, 0, 1);
    is_int(r.states->nelts, 2, "states: implicit, query and fragment");
    r = enforce(LINK "?code=C", NULL, 0, 1);
    is_int(r.states->nelts, 0, "states: none");
    r = enforce("https://example.com/?state=x", NULL, 0, 1);
    ok(r.states == NULL, "states: not Alexa's, not read");
    is_str(alx_state_fate_name(ALX_STATE_AMBIGUOUS), "ambiguous",
           "fate ambiguous");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_names();
    test_region();
    test_request();
    test_force_offline();
    test_force_scope();
    test_code_flow();
    test_configured();
    test_error_flow();
    test_implicit();
    test_not_alexa();
    test_malformed();
    test_implicit_without_state();
    test_states_found();
    apr_pool_destroy(pool);
    apr_terminate();
    return tap_done();
}

/* Unit tests for lib/alx_answer.c: every upstream answer the product meets. */
#include <apr_general.h>
#include <apr_strings.h>

#include "alx_answer.h"
#include "alx_exchange.h"
#include "alx_shape.h"
#include "tap.h"

#define CT_JSON "application/json; charset=utf-8"
#define CT_FORM "application/x-www-form-urlencoded"
#define GITHUB_TOKEN "gho_16C7e42F292c6912E7710c838347Ae178B4a"
#define GITHUB_URI "https://docs.github.com/apps/managing-oauth-apps/" \
    "troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code"

/* What the glue passes by default: code grant, floor 600, default 3600. */
static alx_answer_in_t in_of(int status, const char *content_type,
                             const char *body)
{
    alx_answer_in_t in;

    memset(&in, 0, sizeof(in));
    in.status = status;
    in.content_type = content_type;
    in.cache_control = "no-store";
    in.body = body;
    in.len = body ? strlen(body) : 0;
    in.grant_type = "authorization_code";
    in.min_ttl = 600;
    in.default_ttl = 3600;
    in.keep_refresh_token = 1;
    return in;
}

/* Every answer run() decides, the fast path's and the general path's
 * results are compared (test_fast_agrees reports them). */
static int runs_flat, runs_disagree;

static int same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The fast path's result is the general path's, to the byte. */
static int same_answer(const alx_answer_t *f, const alx_answer_t *g)
{
    return f->kind == g->kind && f->status == g->status
           && f->len == g->len && same_text(f->body, g->body)
           && f->format_in == g->format_in
           && same_text(f->shape_in, g->shape_in)
           && same_text(f->shape_out, g->shape_out)
           && f->ttl_in == g->ttl_in && f->ttl_out == g->ttl_out
           && f->ttl_real == g->ttl_real && f->refresh_life == g->refresh_life
           && f->refresh_life_from_exp == g->refresh_life_from_exp
           && f->refresh == g->refresh
           && same_text(f->error_in, g->error_in)
           && same_text(f->error_out, g->error_out)
           && f->fixes == g->fixes && f->warnings == g->warnings
           && same_text(f->reason, g->reason);
}

static alx_answer_t run(apr_pool_t *p, const alx_answer_in_t *in)
{
    alx_answer_t a, general;

    alx_answer_normalize(p, in, &a);
    if (alx_answer_normalize_flat(p, in, &a)) {
        runs_flat++;
        alx_answer_normalize_general(p, in, &general);
        if (!same_answer(&a, &general)) {
            runs_disagree++;
            printf("#   fast and general disagree: '%s' / '%s'\n",
                   a.body ? a.body : "(null)",
                   general.body ? general.body : "(null)");
        }
    }
    return a;
}

/* Which answers the fast path takes, and that it agrees with the general
 * path on every one above. */
static void test_fast_path(apr_pool_t *p)
{
    static const struct {
        const char *content_type, *body;
        int status, taken;
        const char *name;
    } cases[] = {
        { CT_JSON, "{\"access_token\":\"a\",\"expires_in\":3600}", 200, 1,
          "a flat JSON token" },
        { NULL, "{\"access_token\":\"a\"}", 200, 1,
          "JSON by its first byte" },
        { CT_FORM, "access_token=a&expires_in=300&token_type=bearer", 200, 1,
          "a form token" },
        { "text/plain", "access_token=a&token_type=bearer", 200, 1,
          "a form-shaped text/plain token" },
        { CT_JSON, "{\"access_token\":\"a\",\"expires_in\":3600}", 201, 1,
          "a 201 token" },
        { CT_JSON, "{\"access_token\":\"a\\/b\"}", 200, 0,
          "an escape: jansson's" },
        { CT_JSON, "{\"access_token\":\"a\",\"expires_in\":1.5}", 200, 0,
          "a real: jansson's" },
        { CT_JSON, "{\"access_token\":\"a\",\"x\":{}}", 200, 0,
          "nesting: jansson's" },
        { CT_FORM, "access_token=%C3%A9", 200, 0,
          "a non-ASCII form value: jansson's" },
        { CT_FORM, "access_token=a%22b", 200, 0,
          "a form value that needs an escape: jansson's" },
        { CT_JSON, "{\"error\":\"invalid_grant\"}", 400, 0,
          "an error: jansson's" },
        { CT_JSON, "{\"error\":\"invalid_grant\"}", 200, 0,
          "no access_token: jansson's" },
        { CT_JSON, "{\"access_token\":\"\"}", 200, 0,
          "an empty access_token: jansson's" },
        { CT_JSON, "{\"access_token\":7}", 200, 0,
          "a number access_token: jansson's" },
        { CT_JSON, "{\"access_token\":\"a\"}", 500, 0,
          "a 5xx: jansson's" },
        { "text/html", "<html>", 200, 0, "HTML: jansson's" },
    };
    size_t i;
    alx_answer_t a;
    alx_answer_in_t in;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        in = in_of(cases[i].status, cases[i].content_type, cases[i].body);
        is_int(alx_answer_normalize_flat(p, &in, &a), cases[i].taken,
               "fast path %s: %s", cases[i].taken ? "takes" : "leaves",
               cases[i].name);
        (void)run(p, &in);
    }
    in = in_of(200, CT_JSON, "{\"access_token\":\"a\"}");
    in.grant_type = "refresh_token";
    in.presented_refresh_token = "caf\xc3\xa9";
    ok(!alx_answer_normalize_flat(p, &in, &a),
       "fast path leaves an answer whose presented refresh token needs "
       "escaping");
    in.presented_refresh_token = "RT-plain";
    a = run(p, &in);
    ok(a.refresh == ALX_REFRESH_KEPT
       && strstr(a.body, "\"refresh_token\":\"RT-plain\"") != NULL,
       "fast path gives back the presented refresh token");
    ok(runs_flat >= 40, "the fast path took %d of the answers above",
       runs_flat);
    is_int(runs_disagree, 0, "fast and general paths agree on all %d",
           runs_flat);
}

/* No secret in anything that reaches a log line. */
static int leaks(const alx_answer_t *a, const char *secret)
{
    const char *logged[] = { a->shape_in, a->shape_out, a->reason,
                             a->error_in, a->error_out,
                             alx_refresh_name(a->refresh) };
    size_t i;

    for (i = 0; i < sizeof(logged) / sizeof(logged[0]); i++)
        if (logged[i] && strstr(logged[i], secret))
            return 1;
    return 0;
}

static int body_len_ok(const alx_answer_t *a)
{
    return a->body ? a->len == strlen(a->body) : 1;
}

static void test_clean_token(apr_pool_t *p)
{
    const char *body = "{\"access_token\":\"AT-SECRET\",\"token_type\":\"Bearer\","
                       "\"expires_in\":3600,\"refresh_token\":\"RT-SECRET\"}";
    alx_answer_in_t in = in_of(200, CT_JSON, body);
    alx_answer_t a = run(p, &in);

    is_int(a.kind, ALX_KIND_TOKEN, "clean: TOKEN");
    is_int(a.status, 200, "clean: 200");
    is_str(a.body, body, "clean: same JSON");
    ok(body_len_ok(&a), "clean: len matches");
    is_int(a.fixes, 0, "clean: no fixes");
    is_int(a.warnings, 0, "clean: no warnings");
    is_int(a.format_in, ALX_BODY_JSON, "clean: format JSON");
    is_str(a.shape_in, "json{access_token:str(9),token_type:str(6),"
                       "expires_in:int,refresh_token:str(9)}", "clean: shape in");
    is_str(a.shape_out, a.shape_in, "clean: shape out");
    is_int(a.ttl_in, 3600, "clean: ttl in");
    is_int(a.ttl_out, 3600, "clean: ttl out");
    is_str(alx_refresh_name(a.refresh), "forwarded", "clean: refresh forwarded");
    ok(a.error_in == NULL && a.error_out == NULL && a.reason == NULL,
       "clean: no error, no reason");
    ok(!leaks(&a, "SECRET"), "clean: nothing secret in logged fields");
}

static void test_github_form(apr_pool_t *p)
{
    alx_answer_in_t in = in_of(200, CT_FORM "; charset=utf-8",
        "access_token=" GITHUB_TOKEN "&scope=repo%2Cgist&token_type=bearer");
    alx_answer_t a;

    in.cache_control = NULL;
    a = run(p, &in);
    is_int(a.kind, ALX_KIND_TOKEN, "github form: TOKEN");
    is_int(a.format_in, ALX_BODY_FORM, "github form: format FORM");
    is_str(a.body, "{\"access_token\":\"" GITHUB_TOKEN "\",\"scope\":\"repo,gist\","
                   "\"token_type\":\"bearer\",\"expires_in\":3600}",
           "github form: JSON with default TTL");
    is_int(a.fixes, ALX_FIX_FORMAT | ALX_FIX_NO_STORE | ALX_FIX_TTL_DEFAULT,
           "github form: fixes");
    is_int(a.warnings, ALX_WARN_NO_REFRESH, "github form: no refresh warning");
    is_str(a.shape_in, "form{access_token:str(40),scope:str(9),token_type:str(6)}",
           "github form: shape in");
    is_str(a.shape_out, "json{access_token:str(40),scope:str(9),token_type:str(6),"
                        "expires_in:int}", "github form: shape out");
    is_int(a.ttl_in, ALX_TTL_ABSENT, "github form: ttl in absent");
    is_int(a.ttl_out, 3600, "github form: ttl out");
    is_str(alx_refresh_name(a.refresh), "absent", "github form: refresh absent");
    ok(!leaks(&a, "gho_"), "github form: token not logged");
}

static void test_status_201(apr_pool_t *p)
{
    alx_answer_in_t in = in_of(201, "application/json",
        "{\"access_token\":\"AT\",\"token_type\":\"Bearer\",\"expires_in\":3600,"
        "\"refresh_token\":\"RT\"}");
    alx_answer_t a = run(p, &in);

    is_int(a.kind, ALX_KIND_TOKEN, "201: TOKEN");
    is_int(a.status, 200, "201: becomes 200");
    is_int(a.fixes, ALX_FIX_STATUS, "201: status fix only");
    is_str(a.body, in.body, "201: body unchanged");
}

static void ttl_case(apr_pool_t *p, const char *ttl_json, apr_int64_t min_ttl,
                     apr_int64_t default_ttl, const char *want_body,
                     apr_int64_t want_in, apr_int64_t want_out,
                     unsigned want_fixes, unsigned want_warnings)
{
    const char *body = apr_pstrcat(p, "{\"access_token\":\"AT\",\"token_type\":"
        "\"Bearer\",\"expires_in\":", ttl_json, ",\"refresh_token\":\"RT\"}", NULL);
    alx_answer_in_t in = in_of(200, "application/json", body);
    alx_answer_t a;

    in.min_ttl = min_ttl;
    in.default_ttl = default_ttl;
    a = run(p, &in);
    is_str(a.body, want_body, "expires_in %s: body", ttl_json);
    is_int(a.ttl_in, want_in, "expires_in %s: ttl in", ttl_json);
    is_int(a.ttl_out, want_out, "expires_in %s: ttl out", ttl_json);
    is_int(a.fixes, want_fixes, "expires_in %s: fixes", ttl_json);
    is_int(a.warnings, want_warnings, "expires_in %s: warnings", ttl_json);
}

static void test_ttl(apr_pool_t *p)
{
#define WANT(ttl) "{\"access_token\":\"AT\",\"token_type\":\"Bearer\"," \
                  "\"expires_in\":" ttl ",\"refresh_token\":\"RT\"}"
    ttl_case(p, "\"3600\"", 600, 3600, WANT("3600"), 3600, 3600,
             ALX_FIX_TTL_TYPE, 0);
    ttl_case(p, "3599.7", 600, 3600, WANT("3599"), 3599, 3599,
             ALX_FIX_TTL_TYPE, 0);
    ttl_case(p, "\"3599.7\"", 600, 3600, WANT("3599"), 3599, 3599,
             ALX_FIX_TTL_TYPE, 0);
    ttl_case(p, "60", 600, 3600, WANT("600"), 60, 600, ALX_FIX_TTL_FLOOR, 0);
    ttl_case(p, "60", 0, 3600, WANT("60"), 60, 60, 0, ALX_WARN_TTL_SHORT);
    ttl_case(p, "359", 0, 3600, WANT("359"), 359, 359, 0, ALX_WARN_TTL_SHORT);
    ttl_case(p, "360", 0, 3600, WANT("360"), 360, 360, 0, 0);
    ttl_case(p, "0", 0, 3600, WANT("0"), 0, 0, 0, ALX_WARN_TTL_SHORT);
    ttl_case(p, "\"60\"", 600, 3600, WANT("600"), 60, 600,
             ALX_FIX_TTL_TYPE | ALX_FIX_TTL_FLOOR, 0);
    ttl_case(p, "-5", 600, 3600, WANT("3600"), ALX_TTL_INVALID, 3600,
             ALX_FIX_TTL_DEFAULT, 0);
    ttl_case(p, "\"abc\"", 600, 3600, WANT("3600"), ALX_TTL_INVALID, 3600,
             ALX_FIX_TTL_DEFAULT, 0);
    ttl_case(p, "99999999999", 600, 3600, WANT("3600"), ALX_TTL_INVALID, 3600,
             ALX_FIX_TTL_DEFAULT, 0);
    ttl_case(p, "null", 600, 300, WANT("600"), ALX_TTL_INVALID, 600,
             ALX_FIX_TTL_DEFAULT | ALX_FIX_TTL_FLOOR, 0);
    ttl_case(p, "-5", 600, 0,
             "{\"access_token\":\"AT\",\"token_type\":\"Bearer\","
             "\"refresh_token\":\"RT\"}", ALX_TTL_INVALID, ALX_TTL_ABSENT,
             ALX_FIX_TTL_TYPE, ALX_WARN_NO_TTL);
#undef WANT
}

static void test_ttl_absent(apr_pool_t *p)
{
    const char *body = "{\"access_token\":\"AT\",\"token_type\":\"Bearer\","
                       "\"refresh_token\":\"RT\"}";
    alx_answer_in_t in = in_of(200, "application/json", body);
    alx_answer_t a;

    in.default_ttl = 300;
    a = run(p, &in);
    is_str(a.body, "{\"access_token\":\"AT\",\"token_type\":\"Bearer\","
                   "\"refresh_token\":\"RT\",\"expires_in\":600}",
           "absent TTL: default 300 inserted, raised to 600");
    is_int(a.fixes, ALX_FIX_TTL_DEFAULT | ALX_FIX_TTL_FLOOR, "absent TTL: fixes");

    in.default_ttl = 0;
    a = run(p, &in);
    is_str(a.body, body, "absent TTL, default 0: left absent");
    is_int(a.fixes, 0, "absent TTL, default 0: no fix");
    is_int(a.warnings, ALX_WARN_NO_TTL, "absent TTL, default 0: warning");
    is_int(a.ttl_out, ALX_TTL_ABSENT, "absent TTL, default 0: ttl out absent");
}

static void test_token_type(apr_pool_t *p)
{
    alx_answer_in_t in = in_of(200, "application/json",
        "{\"access_token\":\"AT\",\"expires_in\":3600,\"refresh_token\":\"RT\"}");
    alx_answer_t a = run(p, &in);

    is_str(a.body, "{\"access_token\":\"AT\",\"expires_in\":3600,"
                   "\"refresh_token\":\"RT\",\"token_type\":\"Bearer\"}",
           "missing token_type: Bearer added");
    is_int(a.fixes, ALX_FIX_TOKEN_TYPE, "missing token_type: fix");

    in.body = "{\"access_token\":\"AT\",\"token_type\":\"\",\"expires_in\":3600,"
              "\"refresh_token\":\"RT\"}";
    in.len = strlen(in.body);
    a = run(p, &in);
    is_str(a.body, "{\"access_token\":\"AT\",\"token_type\":\"Bearer\","
                   "\"expires_in\":3600,\"refresh_token\":\"RT\"}",
           "empty token_type replaced in place");

    in.body = "{\"access_token\":\"AT\",\"token_type\":7,\"expires_in\":3600,"
              "\"refresh_token\":\"RT\"}";
    in.len = strlen(in.body);
    a = run(p, &in);
    is_int(a.fixes, ALX_FIX_TOKEN_TYPE, "numeric token_type replaced");

    in.body = "{\"access_token\":\"AT\",\"token_type\":\"mac\",\"expires_in\":3600,"
              "\"refresh_token\":\"RT\"}";
    in.len = strlen(in.body);
    a = run(p, &in);
    is_int(a.fixes, 0, "another token_type is left alone");
}

static alx_answer_t refresh_case(apr_pool_t *p, const char *grant,
                                 const char *presented, int keep,
                                 const char *body)
{
    alx_answer_in_t in = in_of(200, "application/json", body);

    in.grant_type = grant;
    in.presented_refresh_token = presented;
    in.keep_refresh_token = keep;
    return run(p, &in);
}

static void test_refresh(apr_pool_t *p)
{
    const char *none = "{\"access_token\":\"AT2\",\"token_type\":\"Bearer\","
                       "\"expires_in\":3600}";
    alx_answer_t a;

    a = refresh_case(p, "refresh_token", "RT-OLD-SECRET", 1, none);
    is_str(alx_refresh_name(a.refresh), "kept", "refresh grant, none back: kept");
    is_str(a.body, "{\"access_token\":\"AT2\",\"token_type\":\"Bearer\","
                   "\"expires_in\":3600,\"refresh_token\":\"RT-OLD-SECRET\"}",
           "kept: presented token given back");
    is_int(a.fixes, ALX_FIX_REFRESH_KEPT, "kept: fix");
    is_int(a.warnings, 0, "kept: no warning");
    ok(!leaks(&a, "SECRET"), "kept: token not in logged fields");

    a = refresh_case(p, "refresh_token", "RT-OLD", 0, none);
    is_str(alx_refresh_name(a.refresh), "absent", "keep off: absent");
    is_str(a.body, none, "keep off: body unchanged");
    is_int(a.fixes | a.warnings, 0, "keep off: no fix, no warning");

    a = refresh_case(p, "refresh_token", NULL, 1, none);
    is_str(alx_refresh_name(a.refresh), "absent", "nothing presented: absent");

    a = refresh_case(p, "refresh_token", "RT1", 1,
        "{\"access_token\":\"AT2\",\"token_type\":\"Bearer\",\"expires_in\":3600,"
        "\"refresh_token\":\"RT2\"}");
    is_str(alx_refresh_name(a.refresh), "rotated", "new refresh token: rotated");
    is_int(a.fixes, 0, "rotated: no fix");

    a = refresh_case(p, "refresh_token", "RT1", 1,
        "{\"access_token\":\"AT2\",\"token_type\":\"Bearer\",\"expires_in\":3600,"
        "\"refresh_token\":\"RT1\"}");
    is_str(alx_refresh_name(a.refresh), "forwarded", "same refresh token: forwarded");

    a = refresh_case(p, "refresh_token", "RT1", 1,
        "{\"access_token\":\"AT2\",\"token_type\":\"Bearer\",\"expires_in\":3600,"
        "\"refresh_token\":\"RT1x\"}");
    is_str(alx_refresh_name(a.refresh), "rotated", "longer refresh token: rotated");

    a = refresh_case(p, "refresh_token", "RT1", 1,
        "{\"access_token\":\"AT2\",\"token_type\":\"Bearer\",\"expires_in\":3600,"
        "\"refresh_token\":\"\"}");
    is_str(alx_refresh_name(a.refresh), "kept", "empty refresh token counts as absent");
    ok(strstr(a.body, "\"refresh_token\":\"RT1\"") != NULL, "empty one replaced");

    a = refresh_case(p, "authorization_code", NULL, 1,
        "{\"access_token\":\"ya29.SECRET\",\"expires_in\":3599,\"scope\":\"email\","
        "\"token_type\":\"Bearer\",\"id_token\":\"eyJ.SECRET\"}");
    is_str(alx_refresh_name(a.refresh), "absent", "Google code answer without refresh: absent");
    is_int(a.warnings, ALX_WARN_NO_REFRESH, "Google code answer: warning");
    is_int(a.fixes, 0, "Google code answer: nothing to fix");

    a = refresh_case(p, "authorization_code", NULL, 1,
        "{\"access_token\":\"AT\",\"token_type\":\"Bearer\",\"expires_in\":3600,"
        "\"refresh_token\":\"RT\"}");
    is_str(alx_refresh_name(a.refresh), "forwarded", "code answer with refresh: forwarded");

    a = refresh_case(p, "client_credentials", NULL, 1, none);
    ok(a.refresh == ALX_REFRESH_ABSENT && a.warnings == 0,
       "client_credentials without refresh: absent, no warning");
    a = refresh_case(p, NULL, NULL, 1, none);
    ok(a.refresh == ALX_REFRESH_ABSENT && a.warnings == 0,
       "unknown grant without refresh: absent, no warning");
}

static void test_github_errors(apr_pool_t *p)
{
    const char *want = "{\"error\":\"invalid_grant\",\"error_description\":"
        "\"bad_verification_code: The code passed is incorrect or expired.\","
        "\"error_uri\":\"" GITHUB_URI "\"}";
    alx_answer_in_t in = in_of(200, CT_JSON,
        "{\"error\":\"bad_verification_code\",\"error_description\":"
        "\"The code passed is incorrect or expired.\",\"error_uri\":\""
        GITHUB_URI "\"}");
    alx_answer_t a;

    in.cache_control = "max-age=0, private, must-revalidate";
    a = run(p, &in);
    is_int(a.kind, ALX_KIND_ERROR, "github 200+error JSON: ERROR");
    is_int(a.status, 400, "github 200+error JSON: 400");
    is_str(a.body, want, "github 200+error JSON: RFC 6749 body");
    is_int(a.fixes, ALX_FIX_ERROR_CODE | ALX_FIX_STATUS | ALX_FIX_NO_STORE,
           "github 200+error JSON: fixes");
    is_str(a.error_in, "bad_verification_code", "error in");
    is_str(a.error_out, "invalid_grant", "error out");
    ok(a.refresh == ALX_REFRESH_NONE && a.ttl_out == ALX_TTL_ABSENT, "no refresh, no TTL");
    is_str(a.shape_out, "json{error:str(13),error_description:str(63),"
                        "error_uri:str(125)}", "github error: shape out");

    in = in_of(200, CT_FORM,
        "error=bad_verification_code&error_description=The+code+passed+is+"
        "incorrect+or+expired.&error_uri=https%3A%2F%2Fdocs.github.com%2Fapps%2F"
        "managing-oauth-apps%2Ftroubleshooting-oauth-app-access-token-request-"
        "errors%2F%23bad-verification-code");
    in.cache_control = NULL;
    a = run(p, &in);
    is_int(a.kind, ALX_KIND_ERROR, "github 200+error form: ERROR");
    is_str(a.body, want, "github 200+error form: same JSON");
    is_int(a.fixes, ALX_FIX_ERROR_CODE | ALX_FIX_STATUS | ALX_FIX_FORMAT
                    | ALX_FIX_NO_STORE, "github 200+error form: fixes");
    is_str(a.shape_in, "form{error:str(21),error_description:str(40),"
                       "error_uri:str(125)}", "github error form: shape in");

    in = in_of(200, CT_JSON, "{\"error\":\"incorrect_client_credentials\","
        "\"error_description\":\"The client_id and/or client_secret passed are "
        "incorrect.\"}");
    a = run(p, &in);
    is_int(a.status, 401, "incorrect_client_credentials: 401");
    is_str(a.body, "{\"error\":\"invalid_client\",\"error_description\":"
        "\"incorrect_client_credentials: The client_id and/or client_secret "
        "passed are incorrect.\"}", "incorrect_client_credentials: invalid_client");

    in = in_of(200, CT_JSON, "{\"error\":\"access_denied\",\"error_description\":null}");
    a = run(p, &in);
    is_str(a.body, "{\"error\":\"invalid_grant\",\"error_description\":"
                   "\"access_denied\"}", "mapped without description: code only");
}

static void test_standard_errors(apr_pool_t *p)
{
    const char *body = "{\"error\":\"invalid_grant\",\"error_description\":"
                       "\"Refresh token revoked\"}";
    alx_answer_in_t in = in_of(400, "application/json", body);
    alx_answer_t a = run(p, &in);

    is_int(a.kind, ALX_KIND_ERROR, "400 invalid_grant: ERROR");
    is_str(a.body, body, "400 invalid_grant: unchanged JSON");
    is_int(a.fixes, 0, "400 invalid_grant: no fix");
    is_int(a.status, 400, "400 invalid_grant: 400");

    in = in_of(401, "application/json", "{\"error\":\"invalid_client\"}");
    a = run(p, &in);
    ok(a.status == 401 && a.fixes == 0, "401 invalid_client: untouched");

    in = in_of(400, "application/json", "{\"error\":\"invalid_client\"}");
    a = run(p, &in);
    ok(a.status == 401 && a.fixes == ALX_FIX_STATUS, "400 invalid_client: 401");

    in = in_of(200, "application/json", "{\"error\":\"server_error\"}");
    a = run(p, &in);
    ok(a.status == 500 && a.fixes == ALX_FIX_STATUS, "200 server_error: 500");

    in = in_of(400, "application/json", "{\"error\":\"temporarily_unavailable\"}");
    a = run(p, &in);
    ok(a.status == 503 && a.fixes == ALX_FIX_STATUS,
       "temporarily_unavailable: 503, never invalid_grant");
    is_str(a.error_out, "temporarily_unavailable", "temporarily_unavailable kept");

    in = in_of(400, "application/json",
        "{\"error_uri\":\"u\",\"error\":\"invalid_grant\",\"x\":1,"
        "\"error_description\":\"d\"}");
    a = run(p, &in);
    is_str(a.body, "{\"error\":\"invalid_grant\",\"error_description\":\"d\","
                   "\"error_uri\":\"u\",\"x\":1}", "error first, description next");

    in = in_of(400, "application/json", "{\"error\":\"Bad Code!\"}");
    a = run(p, &in);
    is_str(a.body, "{\"error\":\"Bad Code!\"}", "unknown code sent as is");
    is_str(a.error_in, "nonstandard", "unsafe code: error_in nonstandard");
    is_str(a.error_out, "nonstandard", "unsafe code: error_out nonstandard");

    in = in_of(400, "application/json", "{\"error\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}");
    a = run(p, &in);
    is_str(a.error_in, "nonstandard", "65-byte code: nonstandard");

    in = in_of(400, "application/json", "{\"error\":\"\"}");
    a = run(p, &in);
    ok(a.kind == ALX_KIND_ERROR && strcmp(a.error_in, "nonstandard") == 0,
       "empty code: ERROR, nonstandard");

    in = in_of(200, "application/json",
        "{\"access_token\":\"AT\",\"error\":\"invalid_grant\",\"token_type\":\"Bearer\","
        "\"expires_in\":3600,\"refresh_token\":\"RT\"}");
    a = run(p, &in);
    is_int(a.kind, ALX_KIND_TOKEN, "2xx with access_token and error: TOKEN");

    in = in_of(400, "application/json", "{\"access_token\":\"AT\"}");
    a = run(p, &in);
    ok(a.kind == ALX_KIND_OPAQUE && a.status == 400 && a.body == NULL,
       "400 with access_token, no error: OPAQUE");
}

static void test_server_errors(apr_pool_t *p)
{
    const char *html = "<html><body><h1>503 Service Unavailable</h1></body></html>";
    alx_answer_in_t in = in_of(503, "text/html", html);
    alx_answer_t a = run(p, &in);

    is_int(a.kind, ALX_KIND_SERVER_ERROR, "503 HTML: SERVER_ERROR");
    ok(a.status == 503 && a.body == NULL, "503 HTML: status and body kept");
    is_str(a.shape_in, apr_psprintf(p, "html(%d)", (int)strlen(html)),
           "503 HTML: shape");
    is_str(a.shape_out, a.shape_in, "503 HTML: shape out = in");
    is_int(a.fixes, 0, "503 HTML: no fixes");

    in = in_of(502, "application/json", "{\"error\":\"bad_gateway\"}");
    a = run(p, &in);
    ok(a.kind == ALX_KIND_SERVER_ERROR && a.status == 502 && a.body == NULL,
       "502 JSON: SERVER_ERROR kept");
    is_str(a.shape_in, "json{error:str(11)}", "502 JSON: shape");

    in = in_of(500, "application/json", "{\"error\":\"invalid_grant\"}");
    a = run(p, &in);
    ok(a.kind == ALX_KIND_SERVER_ERROR && a.status == 500 && a.error_out == NULL,
       "500 invalid_grant: stays a server error");

    in = in_of(504, NULL, NULL);
    a = run(p, &in);
    ok(a.kind == ALX_KIND_SERVER_ERROR && strcmp(a.shape_in, "empty") == 0,
       "504 empty: SERVER_ERROR, empty");
}

static void test_opaque(apr_pool_t *p)
{
    alx_answer_in_t in = in_of(400, "text/html; charset=iso-8859-1",
        "<!DOCTYPE html><html><body>Bad Request</body></html>");
    alx_answer_t a = run(p, &in);

    is_int(a.kind, ALX_KIND_OPAQUE, "400 HTML: OPAQUE");
    ok(a.status == 400 && a.body == NULL, "400 HTML: kept");
    is_str(a.reason, "html", "400 HTML: reason");
    is_int(a.fixes, 0, "400 HTML: no fixes");

    in = in_of(404, "application/json", "{\"message\":\"Not Found\"}");
    a = run(p, &in);
    ok(a.kind == ALX_KIND_OPAQUE && strcmp(a.reason, "no error code") == 0,
       "404 JSON without error: OPAQUE, no error code");

    in = in_of(302, "text/html", "<a href=\"/login\">moved</a>");
    a = run(p, &in);
    ok(a.kind == ALX_KIND_OPAQUE && a.status == 302, "302: OPAQUE");

    in = in_of(0, NULL, NULL);
    a = run(p, &in);
    ok(a.kind == ALX_KIND_OPAQUE && strcmp(a.reason, "empty") == 0,
       "no status, no body: OPAQUE empty");
}

static void unusable_case(apr_pool_t *p, const char *name, int status,
                          const char *content_type, const char *body,
                          apr_size_t len, const char *reason,
                          const char *shape_in)
{
    alx_answer_in_t in = in_of(status, content_type, body);
    alx_answer_t a;
    const char *desc = apr_psprintf(p, "upstream answer %s: status %d, %s",
                                    reason, status, shape_in);

    in.len = len;
    a = run(p, &in);
    is_int(a.kind, ALX_KIND_UNUSABLE, "%s: UNUSABLE", name);
    is_int(a.status, 502, "%s: 502", name);
    is_str(a.reason, reason, "%s: reason", name);
    is_str(a.shape_in, shape_in, "%s: shape in", name);
    is_str(a.body, apr_psprintf(p, "{\"error\":\"server_error\","
                                "\"error_description\":\"%s\"}", desc),
           "%s: server_error body", name);
    is_str(a.shape_out, apr_psprintf(p, "json{error:str(12),error_description:"
                                     "str(%d)}", (int)strlen(desc)),
           "%s: shape out", name);
    is_int(a.fixes, ALX_FIX_UNUSABLE | ALX_FIX_STATUS, "%s: fixes", name);
    ok(a.refresh == ALX_REFRESH_NONE && a.ttl_out == ALX_TTL_ABSENT && a.warnings == 0,
       "%s: no values", name);
    ok(!leaks(&a, "SECRET") && !strstr(a.body, "SECRET"),
       "%s: no secret in reason, shape or description", name);
    ok(body_len_ok(&a), "%s: len", name);
}

static void test_unusable(apr_pool_t *p)
{
    static const char nul[] = "{\"access_token\":\"AT-SECRET\0X\"}";
    static const char *bad_utf8 = "{\"access_token\":\"AT-SECRET\xff\"}";
    static const char form_nul[] = "access_token=AT-SECRET\0X&token_type=bearer";

    unusable_case(p, "malformed JSON 200", 200, "application/json",
                  "{\"access_token\":\"AT-SECRET\",", 28, "malformed JSON",
                  "bad-json(28)");
    unusable_case(p, "JSON array 200", 200, "application/json",
                  "[{\"access_token\":\"AT-SECRET\"}]", 30, "JSON not an object",
                  "json:arr(1)");
    unusable_case(p, "JSON string 200", 200, "application/json",
                  "\"AT-SECRET\"", 11, "JSON not an object", "json:str(9)");
    unusable_case(p, "empty 200", 200, "application/json", "", 0, "empty", "empty");
    unusable_case(p, "no body 204", 204, NULL, NULL, 0, "empty", "empty");
    unusable_case(p, "HTML 200", 200, "text/html", "<html>AT-SECRET</html>", 22,
                  "html", "html(22)");
    unusable_case(p, "HTML under JSON type", 200, "application/json",
                  "<html>AT-SECRET</html>", 22, "html", "html(22)");
    unusable_case(p, "plain text 200", 200, "text/plain", "AT-SECRET is here",
                  17, "text", "text(17)");
    unusable_case(p, "neither 200", 200, "application/json",
                  "{\"message\":\"AT-SECRET\"}", 23, "neither token nor error",
                  "json{message:str(9)}");
    unusable_case(p, "empty access_token", 200, "application/json",
                  "{\"access_token\":\"\"}", 19, "neither token nor error",
                  "json{access_token:str(0)}");
    unusable_case(p, "numeric access_token", 200, "application/json",
                  "{\"access_token\":12345}", 22, "neither token nor error",
                  "json{access_token:int}");
    unusable_case(p, "raw NUL in JSON", 200, "application/json", nul,
                  sizeof(nul) - 1, "malformed JSON", "bad-json(30)");
    unusable_case(p, "non-UTF-8 JSON", 200, "application/json", bad_utf8,
                  strlen(bad_utf8), "malformed JSON", "bad-json(29)");
    unusable_case(p, "NUL escape in form", 200, CT_FORM,
                  "access_token=AT-SECRET%00&token_type=bearer", 43,
                  "malformed form", "text(43)");
    unusable_case(p, "non-UTF-8 form", 200, CT_FORM,
                  "access_token=AT-SECRET%FF&token_type=bearer", 43,
                  "malformed form", "text(43)");
    unusable_case(p, "raw NUL in form", 200, CT_FORM, form_nul,
                  sizeof(form_nul) - 1, "malformed form", "text(42)");
    unusable_case(p, "bad escape in form", 200, CT_FORM,
                  "access_token=AT-SECRET%G1", 25, "malformed form", "text(25)");
}

/* A leading UTF-8 byte order mark (EF BB BF) is no part of the JSON or
 * form: read past it, and what is sent has none (issue 16, finding 8). */
#define BOM "\xEF\xBB\xBF"

static void test_bom(apr_pool_t *p)
{
    const char *body = "{\"access_token\":\"AT-SECRET\",\"token_type\":\"Bearer\","
                       "\"expires_in\":3600,\"refresh_token\":\"RT-SECRET\"}";
    alx_answer_in_t in = in_of(200, CT_JSON, apr_pstrcat(p, BOM, body, NULL));
    alx_answer_t a = run(p, &in);
    json_t *obj;
    const char *reason;

    is_int(a.kind, ALX_KIND_TOKEN, "BOM JSON: TOKEN");
    is_int(a.status, 200, "BOM JSON: 200");
    is_str(a.body, body, "BOM JSON: the JSON without the BOM");
    ok(body_len_ok(&a), "BOM JSON: len");
    is_int(a.format_in, ALX_BODY_JSON, "BOM JSON: format JSON");
    is_str(a.shape_in, "json{access_token:str(9),token_type:str(6),"
                       "expires_in:int,refresh_token:str(9)}", "BOM JSON: shape in");
    is_int(a.fixes, ALX_FIX_BOM, "BOM JSON: the BOM is the one fix");
    is_str(alx_answer_verdict(p, &a, 0), "rewritten:bom", "BOM JSON: verdict");
    ok(alx_answer_normalize_flat(p, &in, &a), "BOM JSON: the fast path takes it");

    in = in_of(200, NULL, apr_pstrcat(p, BOM, "{\"access_token\":\"AT-SECRET\","
                                      "\"expires_in\":60}", NULL));
    a = run(p, &in);
    is_int(a.kind, ALX_KIND_TOKEN, "BOM, no type: JSON by the byte after it");
    is_str(a.body, "{\"access_token\":\"AT-SECRET\",\"expires_in\":600,"
                   "\"token_type\":\"Bearer\"}", "BOM, no type: floor applied");
    ok(a.fixes & ALX_FIX_TTL_FLOOR, "BOM, no type: TTL floor fix");

    in = in_of(200, CT_JSON, apr_pstrcat(p, BOM, " \n{\"access_token\":\"AT\\/x\","
                                         "\"expires_in\":\"90\"}", NULL));
    a = run(p, &in);
    is_str(a.body, "{\"access_token\":\"AT/x\",\"expires_in\":600,"
                   "\"token_type\":\"Bearer\"}",
           "BOM, white space, escapes: the general path reads past it too");

    in = in_of(200, CT_FORM, BOM "access_token=AT-SECRET&token_type=bearer");
    a = run(p, &in);
    is_int(a.kind, ALX_KIND_TOKEN, "BOM form: TOKEN");
    is_str(a.body, "{\"access_token\":\"AT-SECRET\",\"token_type\":\"bearer\","
                   "\"expires_in\":3600}", "BOM form: the first name is access_token");

    in = in_of(400, CT_JSON, BOM "{\"error\":\"invalid_grant\"}");
    a = run(p, &in);
    is_int(a.kind, ALX_KIND_ERROR, "BOM error: ERROR");
    is_str(a.body, "{\"error\":\"invalid_grant\"}", "BOM error: sent without it");
    ok(a.fixes & ALX_FIX_BOM, "BOM error: bom fix");

    in = in_of(200, CT_JSON, BOM BOM "{\"access_token\":\"AT-SECRET\"}");
    a = run(p, &in);
    is_int(a.kind, ALX_KIND_UNUSABLE, "two BOMs: the second is no white space");

    in = in_of(200, CT_JSON, " " BOM "{\"access_token\":\"AT-SECRET\"}");
    a = run(p, &in);
    is_int(a.kind, ALX_KIND_UNUSABLE, "a BOM after white space: not a BOM");

    in = in_of(200, CT_JSON, BOM);
    a = run(p, &in);
    is_int(a.kind, ALX_KIND_UNUSABLE, "a BOM alone: UNUSABLE");
    is_str(a.reason, "empty", "a BOM alone: empty");

    is_int(alx_answer_parse_body(p, NULL, BOM "{\"a\":1}", 10, &obj, &reason),
           ALX_BODY_JSON, "parse: BOM then JSON");
}

/* "\u0000" in a string is valid JSON; jansson reads it with JSON_ALLOW_NUL
 * and the answer is rewritten with it intact (issue 16, finding 8). */
static void test_nul_escape(apr_pool_t *p)
{
    alx_answer_in_t in = in_of(200, CT_JSON,
        "{\"access_token\":\"AT-SECRET\\u0000X\",\"expires_in\":60,"
        "\"refresh_token\":\"RT\\u0000\"}");
    alx_answer_t a = run(p, &in);

    is_int(a.kind, ALX_KIND_TOKEN, "NUL escape: TOKEN");
    is_str(a.body, "{\"access_token\":\"AT-SECRET\\u0000X\",\"expires_in\":600,"
                   "\"refresh_token\":\"RT\\u0000\",\"token_type\":\"Bearer\"}",
           "NUL escape: written back as \\u0000, floor applied");
    ok(body_len_ok(&a), "NUL escape: len");
    ok(a.fixes & ALX_FIX_TTL_FLOOR, "NUL escape: floor fix");
    is_str(a.shape_in, "json{access_token:str(11),expires_in:int,"
                       "refresh_token:str(3)}", "NUL escape: shape counts the NUL");
    ok(!leaks(&a, "SECRET"), "NUL escape: nothing secret logged");

    in = in_of(200, CT_JSON, "{\"access_token\":\"AT\",\"refresh_token\":\"RT\\u0000\"}");
    in.grant_type = "refresh_token";
    in.presented_refresh_token = "RT";
    a = run(p, &in);
    is_str(alx_refresh_name(a.refresh), "rotated",
           "NUL escape: RT\\u0000 is not the presented RT");
    ok(strstr(a.body, "\"refresh_token\":\"RT\\u0000\"") != NULL,
       "NUL escape: the new one is sent");

    in = in_of(200, CT_JSON, "{\"access_token\":\"AT\",\"expires_in\":\"3600\\u0000\"}");
    a = run(p, &in);
    is_int(a.ttl_in, ALX_TTL_INVALID, "NUL escape in expires_in: unusable");
    is_str(a.body, "{\"access_token\":\"AT\",\"expires_in\":3600,"
                   "\"token_type\":\"Bearer\"}", "NUL escape in expires_in: default");

    in = in_of(200, CT_JSON, "{\"access_token\":\"AT\",\"token_type\":\"\\u0000\"}");
    a = run(p, &in);
    ok(strstr(a.body, "\"token_type\":\"\\u0000\"") && !(a.fixes & ALX_FIX_TOKEN_TYPE),
       "NUL escape: a one-NUL token_type is kept as sent");

    in = in_of(200, CT_JSON, "{\"error\":\"bad_verification_code\","
               "\"error_description\":\"a\\u0000b\"}");
    a = run(p, &in);
    is_int(a.kind, ALX_KIND_ERROR, "NUL escape in a description: ERROR");
    is_str(a.body, "{\"error\":\"invalid_grant\",\"error_description\":"
                   "\"bad_verification_code: a\\u0000b\"}",
           "NUL escape in a mapped error's description: all of it");

    in = in_of(400, CT_JSON, "{\"error\":\"invalid_grant\",\"error_description\":"
               "\"a\\u0000b\"}");
    a = run(p, &in);
    is_str(a.body, in.body, "NUL escape in a standard error's description: kept");

    in = in_of(400, CT_JSON, "{\"error\":\"invalid_client\\u0000x\"}");
    a = run(p, &in);
    is_int(a.kind, ALX_KIND_ERROR, "NUL escape in the code: ERROR");
    is_str(a.body, in.body, "NUL escape in the code: kept as sent, not cut");
    is_int(a.status, 400, "NUL escape in the code: a nonstandard code, 400");
    is_str(a.error_in, "nonstandard", "NUL escape in the code: logged nonstandard");
    is_str(a.error_out, "nonstandard", "NUL escape in the code: out nonstandard");

    in = in_of(200, CT_JSON, "{\"access_token\":\"\\u0000\"}");
    a = run(p, &in);
    is_int(a.kind, ALX_KIND_TOKEN, "NUL escape: a one-NUL access_token is a token");
}

/* jansson cannot hold "\u0000" in a key: such an answer is passed through
 * unchanged when it is a token or an error, and says so. */
static void test_nul_key(apr_pool_t *p)
{
    alx_answer_in_t in = in_of(200, CT_JSON,
        "{\"access_token\":\"AT-SECRET\",\"x\\u0000y\":1,\"expires_in\":60}");
    alx_answer_t a = run(p, &in);

    is_int(a.kind, ALX_KIND_OPAQUE, "NUL key token: OPAQUE");
    is_int(a.status, 200, "NUL key token: status kept");
    ok(a.body == NULL, "NUL key token: upstream bytes kept");
    is_str(a.reason, "NUL in key", "NUL key token: reason");
    is_str(alx_answer_verdict(p, &a, 0), "passthrough:NUL-in-key",
           "NUL key token: verdict");
    is_str(a.shape_in, "json{access_token:str(9),?(3):int,expires_in:int}",
           "NUL key token: shape");
    ok(!leaks(&a, "SECRET"), "NUL key token: nothing secret logged");

    in = in_of(400, CT_JSON, "{\"error\":\"invalid_grant\",\"\\u0000\":1}");
    a = run(p, &in);
    ok(a.kind == ALX_KIND_OPAQUE && a.status == 400
       && strcmp(a.reason, "NUL in key") == 0, "NUL key error: passed through");

    in = in_of(200, CT_JSON, "{\"message\":\"AT-SECRET\",\"\\u0000\":1}");
    a = run(p, &in);
    is_int(a.kind, ALX_KIND_UNUSABLE, "NUL key, neither token nor error: 502");
    is_str(a.reason, "neither token nor error", "NUL key, neither: reason");
}

static void test_text_plain_form(apr_pool_t *p)
{
    alx_answer_in_t in = in_of(200, "text/plain; charset=utf-8",
        "access_token=AT-SECRET&token_type=bearer&expires_in=3600");
    alx_answer_t a = run(p, &in);

    is_int(a.format_in, ALX_BODY_FORM, "text/plain form-shaped: FORM");
    is_str(a.body, "{\"access_token\":\"AT-SECRET\",\"token_type\":\"bearer\","
                   "\"expires_in\":3600}", "text/plain form-shaped: JSON");
    is_int(a.fixes, ALX_FIX_FORMAT | ALX_FIX_TTL_TYPE,
           "text/plain form-shaped: fixes");

    in.content_type = NULL;
    a = run(p, &in);
    is_int(a.format_in, ALX_BODY_FORM, "no type, form-shaped: FORM");

    in.content_type = "application/octet-stream";
    a = run(p, &in);
    ok(a.kind == ALX_KIND_UNUSABLE && strcmp(a.reason, "text") == 0,
       "octet-stream is not read as a form");

    in = in_of(200, CT_FORM, "access_token=A1&access_token=A2&token_type=bearer");
    a = run(p, &in);
    ok(a.kind == ALX_KIND_TOKEN && strstr(a.body, "\"access_token\":\"A1\"")
       && !strstr(a.body, "A2"), "duplicate form names: the first wins");
    is_str(a.shape_in, "form{access_token:str(2),access_token:str(2),"
                       "token_type:str(6)}", "duplicate form names: both shown");
}

static void test_headers(apr_pool_t *p)
{
    const char *body = "{\"access_token\":\"AT\",\"token_type\":\"Bearer\","
                       "\"expires_in\":3600,\"refresh_token\":\"RT\"}";
    struct {
        const char *content_type, *cache_control;
        unsigned fixes;
    } cases[] = {
        { "application/json", "no-store", 0 },
        { "Application/JSON ; charset=UTF-8", "no-store", 0 },
        { "application/vnd.example+json", "no-store", 0 },
        { "text/plain", "no-store", ALX_FIX_CONTENT_TYPE },
        { NULL, "no-store", ALX_FIX_CONTENT_TYPE },
        { "text/html", "no-store", ALX_FIX_CONTENT_TYPE },
        { "application/jsonx", "no-store", ALX_FIX_CONTENT_TYPE },
        { "+json", "no-store", ALX_FIX_CONTENT_TYPE },
        { "application/json", "private, no-store", 0 },
        { "application/json", "NO-STORE ,max-age=0", 0 },
        { "application/json", "no-cache", ALX_FIX_NO_STORE },
        { "application/json", "no-store-please", ALX_FIX_NO_STORE },
        { "application/json", "", ALX_FIX_NO_STORE },
        { "application/json", NULL, ALX_FIX_NO_STORE },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        alx_answer_in_t in = in_of(200, cases[i].content_type, body);
        alx_answer_t a;

        in.cache_control = cases[i].cache_control;
        a = run(p, &in);
        is_int(a.fixes, cases[i].fixes, "headers '%s' / '%s'",
               cases[i].content_type ? cases[i].content_type : "(none)",
               cases[i].cache_control ? cases[i].cache_control : "(none)");
    }
}

static void test_token_like_keys(apr_pool_t *p)
{
    alx_answer_in_t in = in_of(200, "application/json",
        "{\"access_token\":\"AT-SECRET\",\"token_type\":\"Bearer\",\"expires_in\":3600,"
        "\"refresh_token\":\"RT\",\"eyJhbGciOiJSUzI1NiJ9SECRET\":\"x\"}");
    alx_answer_t a = run(p, &in);

    is_str(a.shape_in, "json{access_token:str(9),token_type:str(6),expires_in:int,"
                       "refresh_token:str(2),?(26):str(1)}", "token-like key hidden");
    ok(strstr(a.body, "\"eyJhbGciOiJSUzI1NiJ9SECRET\":\"x\"") != NULL,
       "unknown field kept in the answer");
    ok(!leaks(&a, "SECRET"), "token-like key: no secret logged");

    in = in_of(200, "application/json",
        "{\"access_token\":\"AT\",\"token_type\":\"bearer\",\"expires_in\":3600,"
        "\"refresh_token\":\"RT\",\"id_token\":\"eyJhbGciOiJub25lIn0.e30.\","
        "\"x-vendor\":{\"nested\":[1,2]},\"user_id\":42}");
    a = run(p, &in);
    is_str(a.body, in.body, "extra fields and lower-case bearer kept exactly");
    is_int(a.fixes, 0, "extra fields: nothing to fix");
    is_str(a.shape_in, "json{access_token:str(2),token_type:str(6),expires_in:int,"
                       "refresh_token:str(2),id_token:str(24),?(8):obj(1),"
                       "user_id:int}", "extra fields: shape");
}

static void test_many_keys(apr_pool_t *p)
{
    apr_size_t size = 32 + 10000 * 16;
    char *body = apr_palloc(p, size), *c = body;
    alx_answer_in_t in;
    alx_answer_t a;
    json_error_t err;
    json_t *sent;
    int i;

    c += sprintf(c, "{\"access_token\":\"AT\"");
    for (i = 0; i < 10000; i++)
        c += sprintf(c, ",\"k%d\":%d", i, i);
    strcpy(c, "}");
    in = in_of(200, "application/json", body);
    a = run(p, &in);
    is_int(a.kind, ALX_KIND_TOKEN, "10000 keys: TOKEN");
    ok(strlen(a.shape_in) <= ALX_SHAPE_MAX + 3, "10000 keys: shape in capped");
    ok(strlen(a.shape_out) <= ALX_SHAPE_MAX + 3, "10000 keys: shape out capped");
    sent = json_loads(a.body, 0, &err);
    is_int(json_object_size(sent), 10003, "10000 keys: all kept, 3 added");
    json_decref(sent);
}

static char *nested(apr_pool_t *p, int depth)
{
    char *body = apr_palloc(p, 2 * depth + 64), *c = body;
    int i;

    c += sprintf(c, "{\"access_token\":\"AT\",\"x\":");
    for (i = 0; i < depth; i++)
        *c++ = '[';
    for (i = 0; i < depth; i++)
        *c++ = ']';
    strcpy(c, "}");
    return body;
}

static void test_nesting(apr_pool_t *p)
{
    alx_answer_in_t in = in_of(200, "application/json", nested(p, 1000));
    alx_answer_t a = run(p, &in);

    is_int(a.kind, ALX_KIND_TOKEN, "1000-deep member: TOKEN");
    ok(strstr(a.body, "[[[[") != NULL, "1000-deep member: kept");
    is_str(a.shape_in, "json{access_token:str(2),x:arr(1)}", "1000-deep: shape");

    in = in_of(200, "application/json", nested(p, 5000));
    a = run(p, &in);
    ok(a.kind == ALX_KIND_UNUSABLE && strcmp(a.reason, "malformed JSON") == 0,
       "5000-deep (over jansson's limit): UNUSABLE");
}

/* A number jansson cannot hold (an integer beyond 64 bits, a real beyond a
 * double) fails its whole parse. A token or error answer with one passes
 * through as the upstream sent it; anything else is judged as without. */
#define BIG_INT "123456789012345678901234567890"

static void big_case(apr_pool_t *p, const char *name, int status,
                     const char *content_type, const char *body,
                     const char *shape_in)
{
    alx_answer_in_t in = in_of(status, content_type, body);
    alx_answer_t a = run(p, &in);

    is_int(a.kind, ALX_KIND_OPAQUE, "%s: OPAQUE", name);
    is_int(a.status, status, "%s: status kept", name);
    ok(a.body == NULL, "%s: upstream bytes kept", name);
    is_str(a.reason, "big number", "%s: reason", name);
    is_str(alx_answer_verdict(p, &a, 0), "passthrough:big-number",
           "%s: verdict", name);
    is_str(alx_answer_verdict(p, &a, 1), "passthrough:big-number",
           "%s: verdict, report mode", name);
    is_str(a.shape_in, shape_in, "%s: shape in", name);
    is_str(a.shape_out, shape_in, "%s: shape out", name);
    ok(a.fixes == 0 && a.warnings == 0, "%s: no fixes, no warnings", name);
    ok(a.ttl_in == ALX_TTL_ABSENT && a.ttl_out == ALX_TTL_ABSENT
       && a.refresh == ALX_REFRESH_NONE && a.error_in == NULL && a.error_out == NULL,
       "%s: no values", name);
    ok(!leaks(&a, "SECRET"), "%s: no secret in reason or shape", name);
}

static void test_big_numbers(apr_pool_t *p)
{
    static const char *many = "{\"access_token\":\"AT-SECRET\",\"a\":" BIG_INT
        ",\"b\":" BIG_INT ",\"c\":" BIG_INT ",\"d\":" BIG_INT ",\"e\":" BIG_INT
        ",\"f\":" BIG_INT ",\"g\":" BIG_INT ",\"h\":" BIG_INT ",\"i\":" BIG_INT
        ",\"j\":" BIG_INT ",\"k\":" BIG_INT ",\"l\":" BIG_INT ",\"m\":" BIG_INT
        ",\"n\":" BIG_INT ",\"o\":" BIG_INT ",\"p\":" BIG_INT ",\"q\":" BIG_INT
        ",\"r\":" BIG_INT ",\"s\":" BIG_INT ",\"t\":" BIG_INT "}";
    alx_answer_in_t in;
    alx_answer_t a;

    big_case(p, "30-digit id", 200, CT_JSON,
             "{\"access_token\":\"AT-SECRET\",\"token_type\":\"Bearer\","
             "\"expires_in\":3600,\"id\":" BIG_INT "}",
             "json{access_token:str(9),token_type:str(6),expires_in:int,id:int}");
    big_case(p, "negative 30-digit", 200, CT_JSON,
             "{\"access_token\":\"AT-SECRET\",\"id\":-" BIG_INT "}",
             "json{access_token:str(9),id:int}");
    big_case(p, "2^63", 200, CT_JSON,
             "{\"access_token\":\"AT-SECRET\",\"id\":9223372036854775808}",
             "json{access_token:str(9),id:int}");
    big_case(p, "real 1e400", 200, CT_JSON,
             "{\"access_token\":\"AT-SECRET\",\"score\":1e400}",
             "json{access_token:str(9),score:real}");
    big_case(p, "real -1.5E+400", 200, CT_JSON,
             "{\"access_token\":\"AT-SECRET\",\"score\":-1.5E+400}",
             "json{access_token:str(9),score:real}");
    big_case(p, "huge expires_in", 200, CT_JSON,
             "{\"access_token\":\"AT-SECRET\",\"expires_in\":" BIG_INT "}",
             "json{access_token:str(9),expires_in:int}");
    big_case(p, "nested", 200, CT_JSON,
             "{\"access_token\":\"AT-SECRET\",\"user\":{\"ids\":[1," BIG_INT
             ",\"" BIG_INT "\"]}}",
             "json{access_token:str(9),user:obj(1)}");
    big_case(p, "digits in strings too", 200, CT_JSON,
             "{\"access_token\":\"AT-SECRET\\\"" BIG_INT "\",\"id\":" BIG_INT "}",
             "json{access_token:str(40),id:int}");
    big_case(p, "no content type", 200, NULL,
             "{\"access_token\":\"AT-SECRET\",\"id\":" BIG_INT "}",
             "json{access_token:str(9),id:int}");
    big_case(p, "201 token", 201, CT_JSON,
             "{\"access_token\":\"AT-SECRET\",\"id\":" BIG_INT "}",
             "json{access_token:str(9),id:int}");
    big_case(p, "20 big numbers", 200, CT_JSON, many,
             "json{access_token:str(9),a:int,b:int,c:int,d:int,e:int,f:int,"
             "g:int,h:int,i:int,j:int,k:int,l:int,m:int,n:int,o:int,p:int,"
             "q:int,r:int,s:int,t:int}");
    /* An error answer: the same rule, no mapping. */
    big_case(p, "400 error", 400, CT_JSON,
             "{\"error\":\"bad_verification_code\",\"id\":" BIG_INT "}",
             "json{error:str(21),id:int}");
    big_case(p, "GitHub 200 error", 200, CT_JSON,
             "{\"error\":\"invalid_grant\",\"n\":1e400}",
             "json{error:str(13),n:real}");

    /* Just inside 64 bits: an ordinary token, the number sent exactly. */
    in = in_of(200, CT_JSON, "{\"access_token\":\"AT-SECRET\",\"token_type\":"
               "\"Bearer\",\"expires_in\":3600,\"id\":9223372036854775807,"
               "\"low\":-9223372036854775808,\"tiny\":1e-400}");
    a = run(p, &in);
    is_int(a.kind, ALX_KIND_TOKEN, "int64 max and min: TOKEN");
    ok(a.body && strstr(a.body, "\"id\":9223372036854775807")
       && strstr(a.body, "\"low\":-9223372036854775808"),
       "int64 max and min: sent exactly");

    /* Form values are strings: a long digit run is no number there. */
    in = in_of(200, CT_FORM, "access_token=AT-SECRET&token_type=bearer&id="
               BIG_INT);
    a = run(p, &in);
    is_int(a.kind, ALX_KIND_TOKEN, "big number in a form: TOKEN");
    ok(a.body && strstr(a.body, "\"id\":\"" BIG_INT "\""),
       "big number in a form: a string, sent as it was");

    /* Neither token nor error, not an object, or malformed besides: as
     * without the big number. */
    unusable_case(p, "big number, neither", 200, CT_JSON,
                  "{\"message\":\"AT-SECRET\",\"id\":" BIG_INT "}", 59,
                  "neither token nor error", "json{message:str(9),id:int}");
    unusable_case(p, "big number in an array", 200, CT_JSON,
                  "[1e400,\"AT-SECRET\"]", 19, "JSON not an object",
                  "json:arr(2)");
    unusable_case(p, "big number, malformed after", 200, CT_JSON,
                  "{\"access_token\":\"AT-SECRET\",\"id\":" BIG_INT ",", 64,
                  "malformed JSON", "bad-json(64)");
    unusable_case(p, "big number, bad number after", 200, CT_JSON,
                  "{\"access_token\":\"AT-SECRET\",\"id\":" BIG_INT
                  ",\"x\":1.}", 71, "malformed JSON", "bad-json(71)");
    unusable_case(p, "big number, leading zero after", 200, CT_JSON,
                  "{\"access_token\":\"AT-SECRET\",\"id\":" BIG_INT
                  ",\"x\":0123}", 73, "malformed JSON", "bad-json(73)");
    unusable_case(p, "big number, empty access_token", 200, CT_JSON,
                  "{\"access_token\":\"\",\"id\":" BIG_INT "}", 55,
                  "neither token nor error", "json{access_token:str(0),id:int}");

    in = in_of(404, CT_JSON, "{\"message\":\"Not Found\",\"id\":" BIG_INT "}");
    a = run(p, &in);
    ok(a.kind == ALX_KIND_OPAQUE && a.body == NULL
       && strcmp(a.reason, "no error code") == 0,
       "404 big number without error: OPAQUE, no error code");

    in = in_of(500, CT_JSON, "{\"error\":\"server_error\",\"id\":" BIG_INT "}");
    a = run(p, &in);
    ok(a.kind == ALX_KIND_SERVER_ERROR && a.status == 500 && a.body == NULL,
       "500 big number: SERVER_ERROR, kept");
}

static void test_parse_body(apr_pool_t *p)
{
    json_t *obj;
    const char *reason;

    is_int(alx_answer_parse_body(p, "application/json", "{\"a\":1}", 7, &obj,
                                 &reason), ALX_BODY_JSON, "parse: JSON");
    ok(json_is_object(obj) && reason == NULL, "parse: JSON object, no reason");
    is_int(alx_answer_parse_body(p, "text/plain", " \n{\"a\":1}", 9, &obj,
                                 &reason), ALX_BODY_JSON,
           "parse: leading white space then {");
    is_int(alx_answer_parse_body(p, CT_FORM, "a=1&b=x+y", 9, &obj, &reason),
           ALX_BODY_FORM, "parse: form");
    is_str(json_string_value(json_object_get(obj, "b")), "x y",
           "parse: form values are strings, decoded");
    is_int(alx_answer_parse_body(p, NULL, "a=1", 3, &obj, &reason),
           ALX_BODY_FORM, "parse: no type, form-shaped");
    is_int(alx_answer_parse_body(p, "text/html", "a=1", 3, &obj, &reason),
           ALX_BODY_UNPARSEABLE, "parse: text/html is not read as a form");
    is_str(reason, "html", "parse: text/html reason");
    is_int(alx_answer_parse_body(p, NULL, "<p>", 3, &obj, &reason),
           ALX_BODY_UNPARSEABLE, "parse: < without type");
    is_str(reason, "html", "parse: < means html");
    is_int(alx_answer_parse_body(p, "application/json", "[1]", 3, &obj, &reason),
           ALX_BODY_UNPARSEABLE, "parse: array");
    ok(json_is_array(obj) && strcmp(reason, "JSON not an object") == 0,
       "parse: array handed back for its shape");
    is_int(alx_answer_parse_body(p, "application/json", "{", 1, &obj, &reason),
           ALX_BODY_UNPARSEABLE, "parse: malformed");
    ok(obj == NULL && strcmp(reason, "malformed JSON") == 0, "parse: malformed reason");
    is_int(alx_answer_parse_body(p, "text/plain", "hello world", 11, &obj, &reason),
           ALX_BODY_UNPARSEABLE, "parse: text");
    is_str(reason, "text", "parse: text reason");
    is_int(alx_answer_parse_body(p, "application/json", NULL, 0, &obj, &reason),
           ALX_BODY_EMPTY, "parse: empty");
    ok(obj == NULL && strcmp(reason, "empty") == 0, "parse: empty reason");
    is_int(alx_answer_parse_body(p, "application/json",
                                 "{\"a\":" BIG_INT ",\"b\":1.5}", 44, &obj,
                                 &reason), ALX_BODY_UNPARSEABLE,
           "parse: big number is unparseable");
    ok(json_is_object(obj) && strcmp(reason, "big number") == 0,
       "parse: big number reason, object handed back for its shape");
    ok(json_is_integer(json_object_get(obj, "a"))
       && json_integer_value(json_object_get(obj, "a")) == 0
       && json_real_value(json_object_get(obj, "b")) == 1.5,
       "parse: the big number reads as 0, the others as they are");
    alx_answer_parse_body(p, NULL, "{\"s\":\"x\\\"" BIG_INT "\",\"a\":"
                          BIG_INT "}", 76, &obj, &reason);
    is_str(json_string_value(json_object_get(obj, "s")), "x\"" BIG_INT,
           "parse: big number, digits in a string stay");
    is_int(alx_answer_parse_body(p, "application/json", "{\"a\":1}  trailing", 17,
                                 &obj, &reason), ALX_BODY_UNPARSEABLE,
           "parse: trailing garbage is malformed");
}

static void test_error_standard(void)
{
    static const char *const map[][2] = {
        { "bad_verification_code", "invalid_grant" },
        { "incorrect_client_credentials", "invalid_client" },
        { "redirect_uri_mismatch", "invalid_grant" },
        { "unsupported_grant_type", "unsupported_grant_type" },
        { "invalid_token", "invalid_grant" },
        { "expired_token", "invalid_grant" },
        { "incorrect_device_code", "invalid_grant" },
        { "access_denied", "invalid_grant" },
        { "unverified_user_email", "invalid_grant" },
        { "invalid_client_id", "invalid_client" },
        { "invalid_request", "invalid_request" },
        { "invalid_client", "invalid_client" },
        { "invalid_grant", "invalid_grant" },
        { "unauthorized_client", "unauthorized_client" },
        { "invalid_scope", "invalid_scope" },
        { "server_error", "server_error" },
        { "temporarily_unavailable", "temporarily_unavailable" },
        { "something_else", "something_else" },
        { "", "" },
    };
    size_t i;

    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        is_str(alx_error_standard(map[i][0]), map[i][1], "error code '%s'",
               map[i][0]);
    ok(alx_error_standard(NULL) == NULL, "error code NULL");
}

static void test_error_json(apr_pool_t *p)
{
    is_str(alx_error_json(p, "invalid_request", "bad form"),
           "{\"error\":\"invalid_request\",\"error_description\":\"bad form\"}",
           "error JSON with description");
    is_str(alx_error_json(p, "invalid_client", NULL),
           "{\"error\":\"invalid_client\"}", "error JSON without description");
    is_str(alx_error_json(p, NULL, NULL), "{\"error\":\"server_error\"}",
           "error JSON without code");
    is_str(alx_error_json(p, "invalid_request", "a \"q\"\n\\"),
           "{\"error\":\"invalid_request\",\"error_description\":\"a \\\"q\\\"\\n\\\\\"}",
           "error JSON escapes");
    is_str(alx_error_json(p, "invalid_request", "caf\xe9"),
           "{\"error\":\"invalid_request\",\"error_description\":\"caf?\"}",
           "error JSON: bytes that are not UTF-8 become ?");
}

/* The shape handed out with an error JSON is the one its parse gives: the
 * log line is the same whether it is carried or read back. */
static void shaped_case(apr_pool_t *p, const char *error, const char *desc,
                        const char *want_shape)
{
    json_error_t err;
    const char *shape = NULL;
    const char *body = alx_error_json_shaped(p, error, desc, &shape);
    json_t *parsed = json_loads(body, 0, &err);

    is_str(body, alx_error_json(p, error, desc), "shaped '%s': same body",
           want_shape);
    is_str(shape, want_shape, "shaped '%s': its shape", want_shape);
    is_str(shape, alx_shape_json(p, parsed), "shaped '%s': the parse's shape",
           want_shape);
    json_decref(parsed);
}

static void test_error_json_shaped(apr_pool_t *p)
{
    shaped_case(p, "temporarily_unavailable", "the same refresh token is "
                "being refreshed; try again",
                "json{error:str(23),error_description:str(52)}");
    shaped_case(p, "invalid_client", NULL, "json{error:str(14)}");
    shaped_case(p, NULL, NULL, "json{error:str(12)}");
    shaped_case(p, "invalid_request", "caf\xe9",
                "json{error:str(15),error_description:str(4)}");
    ok(alx_error_json_shaped(p, "invalid_grant", NULL, NULL) != NULL,
       "shaped without a shape wanted");
}

static void coerce_case(const char *text, int want, apr_int64_t want_ttl)
{
    json_error_t err;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &err);
    apr_int64_t ttl = -99;
    int got = alx_ttl_coerce(v, &ttl);

    is_int(got, want, "coerce %s: result", text);
    is_int(ttl, want < 0 ? -99 : want_ttl, "coerce %s: value", text);
    json_decref(v);
}

static void test_ttl_coerce(void)
{
    apr_int64_t ttl = -99;

    coerce_case("3600", 0, 3600);
    coerce_case("0", 0, 0);
    coerce_case("2147483647", 0, 2147483647);
    coerce_case("2147483648", -1, 0);
    coerce_case("-1", -1, 0);
    coerce_case("3599.7", 1, 3599);
    coerce_case("0.5", 1, 0);
    coerce_case("-0.5", -1, 0);
    coerce_case("1e300", -1, 0);
    coerce_case("\"3600\"", 1, 3600);
    coerce_case("\"3600.25\"", 1, 3600);
    coerce_case("\"\"", -1, 0);
    coerce_case("\"abc\"", -1, 0);
    coerce_case("\"36a\"", -1, 0);
    coerce_case("\"-5\"", -1, 0);
    coerce_case("\"+5\"", -1, 0);
    coerce_case("\" 3600\"", -1, 0);
    coerce_case("\"3600.\"", -1, 0);
    coerce_case("\"99999999999\"", -1, 0);
    coerce_case("\"99999999999999999999999999\"", -1, 0);
    coerce_case("true", -1, 0);
    coerce_case("null", -1, 0);
    coerce_case("{}", -1, 0);
    coerce_case("[3600]", -1, 0);
    is_int(alx_ttl_coerce(NULL, &ttl), -1, "coerce NULL");
}


/* Learned lifetimes: JWTs' own exp (SPEC "Learned lifetimes"). */
#define JWT_HEAD "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9."
#define JWT_3600 JWT_HEAD "eyJleHAiOjE3MDAwMDM2MDAsImlhdCI6MTcwMDAwMDAwMCwic3ViIjoidTEifQ.c2ln"
#define JWT_300 JWT_HEAD "eyJleHAiOjE3MDAwMDAzMDAsImlhdCI6MTcwMDAwMDAwMH0.c2ln"
#define JWT_RT_1800 JWT_HEAD "eyJleHAiOjE3MDAwMDE4MDAsInR5cCI6IlJlZnJlc2gifQ.c2ln"
#define JWT_NO_IAT JWT_HEAD "eyJleHAiOjE3MDAwMDAzMDB9.c2ln"
#define JWT_NOW 1700000000

static alx_answer_t learned(apr_pool_t *p, const char *body, const char *ct,
                            apr_int64_t now, apr_int64_t default_ttl)
{
    alx_answer_in_t in = in_of(200, ct, body);

    in.now = now;
    in.default_ttl = default_ttl;
    return run(p, &in);
}

static void test_learned(apr_pool_t *p)
{
    alx_answer_t a;

    a = learned(p, "{\"access_token\":\"" JWT_3600 "\",\"token_type\":"
                "\"Bearer\"}", CT_JSON, JWT_NOW + 100, 7200);
    is_int(a.ttl_out, 3500, "learned: no expires_in, exp - now sent");
    is_int(a.ttl_real, 3600, "learned: its lifetime is exp - iat");
    ok(a.fixes & ALX_FIX_TTL_LEARNED, "learned: the fix is ttl-learned");
    ok(!(a.fixes & ALX_FIX_TTL_DEFAULT), "learned: before AlexaLinkDefaultTTL");
    ok(strstr(a.body, "\"expires_in\":3500") != NULL, "learned: in the body");
    a = learned(p, "access_token=" JWT_3600 "&token_type=bearer", CT_FORM,
                JWT_NOW, 7200);
    is_int(a.ttl_out, 3600, "learned from a form answer too");
    a = learned(p, "{\"access_token\":\"" JWT_3600 "\",\"expires_in\":\"x\"}",
                CT_JSON, JWT_NOW, 7200);
    is_int(a.ttl_out, 3600, "learned: an unusable expires_in is replaced");
    ok(a.fixes & ALX_FIX_TTL_LEARNED, "learned: as a default would be");
    a = learned(p, "{\"access_token\":\"" JWT_300 "\"}", CT_JSON, JWT_NOW,
                3600);
    is_int(a.ttl_out, 600, "learned 300 s, raised to the floor");
    ok((a.fixes & (ALX_FIX_TTL_LEARNED | ALX_FIX_TTL_FLOOR))
       == (ALX_FIX_TTL_LEARNED | ALX_FIX_TTL_FLOOR), "learned, then floored");
    is_int(a.ttl_real, 300, "learned: the real 300 s kept for the warning");
    a = learned(p, "{\"access_token\":\"" JWT_300 "\",\"expires_in\":3600}",
                CT_JSON, JWT_NOW, 3600);
    is_int(a.ttl_out, 3600, "expires_in given: sent as given");
    is_int(a.ttl_real, 300, "expires_in given: the token still says 300 s");
    ok(!(a.fixes & ALX_FIX_TTL_LEARNED), "expires_in given: nothing learned");
    a = learned(p, "{\"access_token\":\"" JWT_NO_IAT "\"}", CT_JSON,
                JWT_NOW + 100, 3600);
    is_int(a.ttl_out, 600, "no iat: exp - now (200), floored");
    is_int(a.ttl_real, 200, "no iat: the lifetime is what is left");
    a = learned(p, "{\"access_token\":\"" JWT_3600 "\"}", CT_JSON,
                JWT_NOW + 9999, 1800);
    is_int(a.ttl_out, 1800, "an expired JWT teaches nothing: the default");
    a = learned(p, "{\"access_token\":\"" JWT_3600 "\"}", CT_JSON, 0, 1800);
    is_int(a.ttl_out, 1800, "no clock: the default");
    is_int(a.ttl_real, 3600, "no clock: exp - iat is still known");
    a = learned(p, "{\"access_token\":\"" JWT_3600 "\"}", CT_JSON, JWT_NOW, 0);
    is_int(a.ttl_out, 3600, "AlexaLinkDefaultTTL console: the JWT still tells");
    a = learned(p, "{\"access_token\":\"opaque-123\"}", CT_JSON, JWT_NOW, 0);
    is_int(a.ttl_out, ALX_TTL_ABSENT, "console, opaque: absent");
    ok(a.warnings & ALX_WARN_NO_TTL, "console, opaque: said so");
    is_int(a.ttl_real, 0, "opaque: no lifetime known");

    a = learned(p, "{\"access_token\":\"a\",\"expires_in\":300,"
                "\"refresh_expires_in\":1800,\"refresh_token\":\"r\"}",
                CT_JSON, JWT_NOW, 3600);
    is_int(a.refresh_life, 1800, "Keycloak's refresh_expires_in");
    ok(!a.refresh_life_from_exp, "refresh_expires_in: not the exp");
    a = learned(p, "{\"access_token\":\"a\",\"refresh_expires_in\":0,"
                "\"refresh_token\":\"" JWT_RT_1800 "\"}", CT_JSON, JWT_NOW,
                3600);
    is_int(a.refresh_life, 0, "refresh_expires_in 0: an offline token, "
           "its exp not read");
    a = learned(p, "{\"access_token\":\"a\",\"refresh_token\":\""
                JWT_RT_1800 "\"}", CT_JSON, JWT_NOW + 800, 3600);
    is_int(a.refresh_life, 1000, "a JWT refresh token: exp - now");
    ok(a.refresh_life_from_exp, "a JWT refresh token: said to be its exp");
    a = learned(p, "access_token=a&refresh_token=" JWT_RT_1800, CT_FORM,
                JWT_NOW, 3600);
    is_int(a.refresh_life, 1800, "a JWT refresh token in a form answer");
    a = learned(p, "{\"access_token\":\"a\",\"refresh_expires_in\":\"1800\","
                "\"refresh_token\":\"r\"}", CT_JSON, JWT_NOW, 3600);
    is_int(a.refresh_life, 1800, "refresh_expires_in as a string");
    a = learned(p, "{\"access_token\":\"a\",\"refresh_token\":\"r\"}",
                CT_JSON, JWT_NOW, 3600);
    is_int(a.refresh_life, 0, "an opaque refresh token: not known");
    ok(runs_disagree == 0, "learned: the fast path agrees throughout");
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_clean_token(p);
    test_github_form(p);
    test_status_201(p);
    test_ttl(p);
    test_ttl_absent(p);
    test_token_type(p);
    test_refresh(p);
    test_github_errors(p);
    test_standard_errors(p);
    test_server_errors(p);
    test_opaque(p);
    test_unusable(p);
    test_text_plain_form(p);
    test_bom(p);
    test_nul_escape(p);
    test_nul_key(p);
    test_headers(p);
    test_token_like_keys(p);
    test_many_keys(p);
    test_nesting(p);
    test_big_numbers(p);
    test_parse_body(p);
    test_error_standard();
    test_error_json(p);
    test_error_json_shaped(p);
    test_ttl_coerce();
    test_fast_path(p);
    test_learned(p);
    apr_pool_destroy(p);
    apr_terminate();
    return tap_done();
}

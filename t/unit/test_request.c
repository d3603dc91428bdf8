/* Unit tests for the token request preparation (lib/alx_request.c). */
#include <apr_base64.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "alx_basic.h"
#include "alx_form.h"
#include "alx_request.h"
#include "tap.h"

#define FORM "application/x-www-form-urlencoded"

static apr_pool_t *pool;

static void prepare(const char *content_type, const char *body,
                    const char *authorization, alx_client_auth_e mode,
                    alx_token_request_t *out)
{
    alx_token_request_t *dirty = out;

    /* Garbage first: prepare must set every field itself. */
    memset(dirty, 0x5a, sizeof(*dirty));
    alx_token_request_prepare(pool, content_type, body,
                              body ? strlen(body) : 0, authorization, mode,
                              out);
}

/* The body sent upstream, as a C string of body_len bytes. */
static const char *sent_body(const alx_token_request_t *out)
{
    return out->body ? apr_pstrmemdup(pool, out->body, out->body_len) : NULL;
}

/* "id|secret" of the Authorization sent upstream, through the real parser. */
static const char *sent_basic(const alx_token_request_t *out)
{
    const char *id, *secret, *err;

    if (!out->authorization)
        return "(none)";
    if (alx_basic_parse(pool, out->authorization, &id, &secret, &err)
        != APR_SUCCESS)
        return "(not basic)";
    return apr_pstrcat(pool, id, "|", secret, NULL);
}

/* "Basic " + base64 of raw "id:secret", not form-encoded, as most clients. */
static const char *raw_basic(const char *raw)
{
    int len = (int)strlen(raw);
    char *b64 = apr_palloc(pool, apr_base64_encode_len(len));

    apr_base64_encode_binary(b64, (const unsigned char *)raw, len);
    return apr_pstrcat(pool, "Basic ", b64, NULL);
}

static void expect_unchanged(const alx_token_request_t *out, const char *body,
                             const char *authorization, const char *what)
{
    is_int(out->status, 0, "%s: accepted", what);
    is_int(out->changed, 0, "%s: not changed", what);
    ok(out->body == body && out->body_len == (body ? strlen(body) : 0),
       "%s: body is the input pointer", what);
    ok(out->authorization == authorization,
       "%s: Authorization is the input pointer", what);
}

static void expect_rejected(const alx_token_request_t *out, int status,
                            const char *error, const char *reason,
                            const char *body, const char *what)
{
    is_int(out->status, status, "%s: status", what);
    is_str(out->error, error, "%s: error", what);
    is_str(alx_reason_name(out->reason), reason, "%s: reason", what);
    ok(out->error_description && *out->error_description
       && !strstr(out->error_description, "SECRET"),
       "%s: description present, quotes no input", what);
    ok(out->changed == 0 && out->body == body, "%s: nothing rewritten", what);
}

static void test_content_type(void)
{
    const char *body = "grant_type=authorization_code&code=c";
    const char *good[] = {
        FORM, "Application/X-WWW-Form-Urlencoded", FORM "; charset=UTF-8",
        FORM ";charset=utf-8", " " FORM " ; charset=utf-8", FORM "\t"
    };
    const char *bad[] = {
        NULL, "", "text/plain", "application/json", "multipart/form-data",
        FORM "x", FORM ",text/plain", "application/x-www-form", "x" FORM
    };
    alx_token_request_t out;
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        prepare(good[i], body, NULL, ALX_AUTH_AS_IS, &out);
        is_int(out.status, 0, "content type '%s' accepted", good[i]);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        prepare(bad[i], body, NULL, ALX_AUTH_AS_IS, &out);
        expect_rejected(&out, 400, "invalid_request", "content-type", body,
                        bad[i] ? bad[i] : "(null)");
    }
}

static void test_form_and_duplicate(void)
{
    const char *bad_forms[] = {
        "code=SECRET%", "code=SECRET%4", "code=SECRET%zz", "code=SECRET%00"
    };
    const char *dup = "grant_type=authorization_code&code=SECRET&code=SECRET2";
    const char *nul = "code=SECRET\0&x=1";
    alx_token_request_t out;
    size_t i;

    for (i = 0; i < sizeof(bad_forms) / sizeof(bad_forms[0]); i++) {
        prepare(FORM, bad_forms[i], NULL, ALX_AUTH_BODY, &out);
        expect_rejected(&out, 400, "invalid_request", "form", bad_forms[i],
                        bad_forms[i]);
    }
    alx_token_request_prepare(pool, FORM, nul, 16, NULL, ALX_AUTH_AS_IS, &out);
    expect_rejected(&out, 400, "invalid_request", "form", nul, "raw NUL");

    prepare(FORM, dup, NULL, ALX_AUTH_AS_IS, &out);
    expect_rejected(&out, 400, "invalid_request", "duplicate", dup,
                    "duplicate code");
    is_str(out.grant_type, "authorization_code", "duplicate: still learned");
    prepare(FORM, "client_id=a&client_id=a", NULL, ALX_AUTH_BASIC, &out);
    is_str(alx_reason_name(out.reason), "duplicate", "duplicate client_id, same value");
    prepare(FORM, "scope=a&scope=b", NULL, ALX_AUTH_AS_IS, &out);
    is_str(alx_reason_name(out.reason), "duplicate", "duplicate unknown parameter");
}

static void test_basic_rules(void)
{
    const char *good = alx_basic_build(pool, "alexa", "SECRET");
    const char *body = "grant_type=refresh_token&refresh_token=r1";
    const char *bad[] = {
        "Basic", "Basic !!!!", "Basic YWxleGE", "basic U0VDUkVU",
        "Basic OlNFQ1JFVA=="
    };
    alx_client_auth_e modes[] = { ALX_AUTH_AS_IS, ALX_AUTH_BASIC, ALX_AUTH_BODY };
    alx_token_request_t out;
    const char *with_secret, *mismatch, *same;
    size_t i, m;

    for (m = 0; m < 3; m++) {
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            prepare(FORM, body, bad[i], modes[m], &out);
            expect_rejected(&out, 401, "invalid_client", "basic", body,
                            /* by index: the output never shows a credential */
                            apr_psprintf(pool, "mode %d, malformed Basic #%d",
                                         (int)m, (int)i));
            is_str(out.auth_in, "none", "malformed Basic: auth_in none");
            ok(out.authorization == bad[i], "malformed Basic: header kept");
        }
    }

    with_secret = "grant_type=authorization_code&code=c&client_secret=SECRET";
    prepare(FORM, with_secret, good, ALX_AUTH_AS_IS, &out);
    expect_rejected(&out, 400, "invalid_request", "two-auth", with_secret,
                    "Basic and body secret");
    is_str(out.auth_in, "basic", "two-auth: auth_in basic");
    prepare(FORM, "client_id=alexa&client_secret=", good, ALX_AUTH_BODY, &out);
    is_str(alx_reason_name(out.reason), "two-auth", "Basic and an empty body secret");

    mismatch = "grant_type=authorization_code&code=c&client_id=other";
    for (m = 0; m < 3; m++) {
        prepare(FORM, mismatch, good, modes[m], &out);
        expect_rejected(&out, 400, "invalid_request", "client-mismatch",
                        mismatch, "Basic id differs from body id");
        is_str(out.client_id, "alexa", "mismatch: client_id from Basic");
    }
    prepare(FORM, "client_id=Alexa", good, ALX_AUTH_AS_IS, &out);
    is_str(alx_reason_name(out.reason), "client-mismatch", "ids compare case-sensitively");

    same = "grant_type=authorization_code&client_id=alexa&code=c";
    prepare(FORM, same, good, ALX_AUTH_AS_IS, &out);
    expect_unchanged(&out, same, good, "Basic id equals body id, as-is");
    prepare(FORM, same, good, ALX_AUTH_BASIC, &out);
    expect_unchanged(&out, same, good, "Basic id equals body id, basic");
}

static void test_learning(void)
{
    const char *code = "grant_type=authorization_code&code=c%2B1"
                       "&redirect_uri=https%3A%2F%2Fl.example%2Fcb"
                       "&client_id=cid&client_secret=cs";
    const char *refresh = "grant_type=refresh_token&refresh_token=r+1";
    const char *basic = alx_basic_build(pool, "b:id", "b+secret");
    const char *bearer = "Bearer xyz";
    alx_token_request_t out;

    prepare(FORM, code, NULL, ALX_AUTH_AS_IS, &out);
    expect_unchanged(&out, code, NULL, "code grant, body credentials");
    is_str(out.grant_type, "authorization_code", "learned grant_type");
    is_str(out.code, "c+1", "learned code, decoded");
    is_str(out.refresh_token, NULL, "no refresh_token");
    is_str(out.client_id, "cid", "learned body client_id");
    is_str(out.client_secret, "cs", "learned body client_secret");
    is_str(out.auth_in, "body", "auth_in body");
    ok(out.error == NULL && out.reason == ALX_REASON_NONE
       && out.error_description == NULL, "no error fields on success");

    prepare(FORM, refresh, basic, ALX_AUTH_AS_IS, &out);
    expect_unchanged(&out, refresh, basic, "refresh grant, Basic");
    is_str(out.grant_type, "refresh_token", "learned refresh grant_type");
    is_str(out.refresh_token, "r 1", "learned refresh_token, decoded");
    is_str(out.code, NULL, "no code");
    is_str(out.client_id, "b:id", "client_id from Basic, decoded");
    is_str(out.client_secret, "b+secret", "client_secret from Basic, decoded");
    is_str(out.auth_in, "basic", "auth_in basic");

    prepare(FORM, refresh, bearer, ALX_AUTH_AS_IS, &out);
    expect_unchanged(&out, refresh, bearer, "other scheme passes through");
    is_str(out.auth_in, "none", "auth_in none");
    is_str(out.client_id, NULL, "no client_id");

    prepare(FORM, "client_id=public", NULL, ALX_AUTH_AS_IS, &out);
    is_str(out.auth_in, "body", "auth_in body without secret");
    is_str(out.client_secret, NULL, "public client: no secret");

    prepare(FORM, NULL, NULL, ALX_AUTH_BODY, &out);
    expect_unchanged(&out, NULL, NULL, "NULL body");
    prepare(FORM, "", NULL, ALX_AUTH_BASIC, &out);
    expect_unchanged(&out, "", NULL, "empty body");
    is_str(out.grant_type, NULL, "empty body: nothing learned");
}

static void test_mode_basic(void)
{
    const char *body = "grant_type=authorization_code&code=c&client_id=a%3Ab"
                       "&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
                       "&client_secret=p%2Bw+d&zz_unknown=1&redirect_uri=u";
    const char *public = "grant_type=authorization_code&code=c&client_id=pub";
    const char *empty_id = "code=c&client_id=&client_secret=s";
    const char *secret_only = "code=c&client_secret=s";
    const char *control = "code=c&client_id=a&client_secret=%7Fs";
    const char *bearer = "Bearer t";
    alx_token_request_t out;

    prepare(FORM, body, NULL, ALX_AUTH_BASIC, &out);
    is_int(out.status, 0, "basic mode: accepted");
    is_int(out.changed, 1, "basic mode: changed");
    is_str(sent_body(&out), "grant_type=authorization_code&code=c"
           "&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
           "&zz_unknown=1&redirect_uri=u",
           "basic mode: credentials leave, others keep order");
    ok(out.body_len == strlen(sent_body(&out)), "basic mode: body_len");
    is_str(sent_basic(&out), "a:b|p+w d", "basic mode: Basic carries both");
    is_str(out.authorization, alx_basic_build(pool, "a:b", "p+w d"),
           "basic mode: built by alx_basic_build");
    is_str(out.client_id, "a:b", "basic mode: learned id");
    is_str(out.client_secret, "p+w d", "basic mode: learned secret");
    is_str(out.auth_in, "body", "basic mode: auth_in is what came in");

    prepare(FORM, "client_id=x&client_secret=", NULL, ALX_AUTH_BASIC, &out);
    is_str(sent_basic(&out), "x|", "basic mode: empty secret converts");
    is_str(sent_body(&out), "", "basic mode: body left empty");

    prepare(FORM, public, NULL, ALX_AUTH_BASIC, &out);
    expect_unchanged(&out, public, NULL, "basic mode: public client");
    prepare(FORM, empty_id, NULL, ALX_AUTH_BASIC, &out);
    expect_unchanged(&out, empty_id, NULL, "basic mode: empty client_id");
    prepare(FORM, secret_only, NULL, ALX_AUTH_BASIC, &out);
    expect_unchanged(&out, secret_only, NULL, "basic mode: secret without id");
    prepare(FORM, control, NULL, ALX_AUTH_BASIC, &out);
    expect_unchanged(&out, control, NULL, "basic mode: DEL in secret (fuzz)");
    prepare(FORM, body, bearer, ALX_AUTH_BASIC, &out);
    expect_unchanged(&out, body, bearer, "basic mode: other scheme present");

    prepare(FORM, body, NULL, ALX_AUTH_AS_IS, &out);
    expect_unchanged(&out, body, NULL, "as-is mode: body credentials stay");
    prepare(FORM, body, NULL, ALX_AUTH_BODY, &out);
    expect_unchanged(&out, body, NULL, "body mode: body credentials stay");
}

static void test_mode_body(void)
{
    const char *basic = alx_basic_build(pool, "my:app", "s+c r%t");
    const char *body = "grant_type=authorization_code&code=c"
                       "&code_verifier=v_1-2.3~4&redirect_uri=https%3A%2F%2Fu"
                       "&zz_unknown=%C3%A9";
    const char *with_id = "grant_type=refresh_token&client_id=my%3Aapp"
                          "&refresh_token=r";
    const char *public = alx_basic_build(pool, "pub", "");
    alx_token_request_t out;
    apr_array_header_t *pairs;
    const char *err;

    prepare(FORM, body, basic, ALX_AUTH_BODY, &out);
    is_int(out.status, 0, "body mode: accepted");
    is_int(out.changed, 1, "body mode: changed");
    ok(out.authorization == NULL, "body mode: Authorization goes");
    is_str(sent_body(&out), "grant_type=authorization_code&code=c"
           "&code_verifier=v_1-2.3%7E4&redirect_uri=https%3A%2F%2Fu"
           "&zz_unknown=%C3%A9&client_id=my%3Aapp&client_secret=s%2Bc+r%25t",
           "body mode: id then secret appended, others in order");
    ok(out.body_len == strlen(sent_body(&out)), "body mode: body_len");
    ok(alx_form_parse(pool, out.body, out.body_len, &pairs, &err) == APR_SUCCESS
       && pairs->nelts == 7, "body mode: new body parses");
    is_str(alx_form_get(pairs, "client_secret"), "s+c r%t",
           "body mode: secret round-trips");
    is_str(alx_form_get(pairs, "code_verifier"), "v_1-2.3~4",
           "body mode: PKCE verifier value intact");
    is_str(out.auth_in, "basic", "body mode: auth_in basic");
    is_str(out.client_id, "my:app", "body mode: learned id");

    prepare(FORM, with_id, basic, ALX_AUTH_BODY, &out);
    is_str(sent_body(&out), "grant_type=refresh_token&client_id=my%3Aapp"
           "&refresh_token=r&client_secret=s%2Bc+r%25t",
           "body mode: body client_id kept in place, not repeated");

    prepare(FORM, "grant_type=authorization_code&code=c", public,
            ALX_AUTH_BODY, &out);
    is_str(sent_body(&out), "grant_type=authorization_code&code=c"
           "&client_id=pub", "body mode: empty secret omitted");
    is_str(out.client_secret, "", "body mode: learned empty secret");

    prepare(FORM, NULL, basic, ALX_AUTH_BODY, &out);
    is_str(sent_body(&out), "client_id=my%3Aapp&client_secret=s%2Bc+r%25t",
           "body mode: credentials into an empty body");

    prepare(FORM, body, basic, ALX_AUTH_AS_IS, &out);
    expect_unchanged(&out, body, basic, "as-is mode: Basic stays");
    prepare(FORM, body, basic, ALX_AUTH_BASIC, &out);
    expect_unchanged(&out, body, basic, "basic mode: Basic stays");
    prepare(FORM, body, "Bearer t", ALX_AUTH_BODY, &out);
    is_int(out.changed, 0, "body mode: other scheme left alone");
}

/* Secrets sent raw in Basic: '+' and stray '%' are literal, a valid %XX is
 * decoded, and as-is mode never rejects them for their escapes. */
static void test_raw_basic_secrets(void)
{
    static const char *const raw[][2] = {
        { "SECRET+/=", "SECRET+/=" },
        { "50%off", "50%off" },
        { "%", "%" },
        { "SECRET%4", "SECRET%4" },
        { "SECRET%zz", "SECRET%zz" },
        { "SECRET~", "SECRET~" },
        { "SECRET%41", "SECRETA" },
        { "SECRET%2B", "SECRET+" },
        { "SECRET%00", "SECRET%00" },
        { "SECRET%0A", "SECRET%0A" },
    };
    const char *body = "grant_type=refresh_token&refresh_token=r1";
    apr_array_header_t *pairs;
    alx_token_request_t out;
    const char *header, *err, *what;
    size_t i;

    for (i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
        header = raw_basic(apr_pstrcat(pool, "alexa:", raw[i][0], NULL));
        what = apr_psprintf(pool, "raw Basic secret %d", (int)i);

        prepare(FORM, body, header, ALX_AUTH_AS_IS, &out);
        expect_unchanged(&out, body, header, apr_pstrcat(pool, what, ", as-is",
                                                         NULL));
        is_str(out.client_secret, raw[i][1], "%s: as-is learns it", what);

        prepare(FORM, body, header, ALX_AUTH_BODY, &out);
        is_int(out.status, 0, "%s: body mode accepted", what);
        ok(out.authorization == NULL, "%s: body mode drops Basic", what);
        ok(alx_form_parse(pool, out.body, out.body_len, &pairs, &err)
           == APR_SUCCESS, "%s: body mode body parses", what);
        is_str(alx_form_get(pairs, "client_secret"), raw[i][1],
               "%s: body mode client_secret is the secret", what);
        is_str(alx_form_get(pairs, "client_id"), "alexa",
               "%s: body mode client_id", what);

        prepare(FORM, body, header, ALX_AUTH_BASIC, &out);
        expect_unchanged(&out, body, header, apr_pstrcat(pool, what, ", basic",
                                                         NULL));
    }
    prepare(FORM, body, raw_basic("alexa:p+w"), ALX_AUTH_BODY, &out);
    is_str(sent_body(&out), "grant_type=refresh_token&refresh_token=r1"
           "&client_id=alexa&client_secret=p%2Bw",
           "body mode: a raw '+' is sent as %%2B, not as a space");
    prepare(FORM, body, raw_basic("alexa:50%off"), ALX_AUTH_BODY, &out);
    is_str(sent_body(&out), "grant_type=refresh_token&refresh_token=r1"
           "&client_id=alexa&client_secret=50%25off",
           "body mode: a stray '%%' is sent as %%25");
    prepare(FORM, body, raw_basic("alexa:\x01SECRET"), ALX_AUTH_AS_IS, &out);
    expect_rejected(&out, 401, "invalid_client", "basic", body,
                    "raw control byte in Basic, as-is");
}

/* Body -> Basic for secrets with every awkward character: the header parses
 * back (through the lenient reader) to exactly the body's secret. */
static void test_basic_from_body_secrets(void)
{
    static const char *const secrets[] = {
        "SECRET+/=", "50%off", "%", "%4", "%zz", "SECRET~", "%41", "%2B",
        "%00", "a b"
    };
    alx_token_request_t out;
    const char *body;
    size_t i;

    for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
        body = apr_pstrcat(pool, "grant_type=refresh_token&client_id=alexa"
                           "&client_secret=", alx_form_escape(pool, secrets[i]),
                           NULL);
        prepare(FORM, body, NULL, ALX_AUTH_BASIC, &out);
        is_int(out.status, 0, "body secret %d: accepted", (int)i);
        is_str(sent_basic(&out), apr_pstrcat(pool, "alexa|", secrets[i], NULL),
               "body secret %d: Basic carries it exactly", (int)i);
        is_str(sent_body(&out), "grant_type=refresh_token",
               "body secret %d: credentials left the body", (int)i);
    }
}

static void test_reason_names(void)
{
    static const char *const words[] = {
        "-", "content-type", "form", "duplicate", "basic", "two-auth",
        "client-mismatch", "oversize"
    };
    int i, j, unique = 1;

    is_int(ALX_REASON_COUNT, (int)(sizeof(words) / sizeof(words[0])),
           "reasons: all listed here");
    for (i = 0; i < ALX_REASON_COUNT; i++) {
        is_str(alx_reason_name(i), words[i], "reason %d", i);
        for (j = 0; j < i; j++)
            if (!strcmp(alx_reason_name(i), alx_reason_name(j)))
                unique = 0;
    }
    ok(unique, "reason names unique");
    ok(ALX_REASON_NONE == 0, "a zeroed request is not rejected");
    is_str(alx_reason_name(ALX_REASON_COUNT), "-", "out of range: '-'");
    is_str(alx_reason_name((alx_reason_e)-1), "-", "negative: '-'");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_content_type();
    test_form_and_duplicate();
    test_basic_rules();
    test_learning();
    test_mode_basic();
    test_mode_body();
    test_raw_basic_secrets();
    test_basic_from_body_secrets();
    test_reason_names();
    apr_pool_destroy(pool);
    apr_terminate();
    return tap_done();
}

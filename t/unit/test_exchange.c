/* Unit tests for lib/alx_exchange.c: the exchange log line and its words. */
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "alx_exchange.h"
#include "tap.h"

#define HINT_NO_REFRESH "no refresh_token in the authorization-code answer: " \
    "Google gives a refresh_token only the first time a user authorizes, so " \
    "request access_type=offline and prompt=consent (AlexaLinkForceOffline On), " \
    "or revoke the app's access in the account and link again"
#define HINT_TTL_SHORT "access tokens must live more than 5 minutes (Alexa's " \
    "minimum is 360 s) and this one does not: raise AlexaLinkMinTTL or the " \
    "server's access-token TTL"
#define HINT_NO_TTL "no expires_in sent, so Alexa cannot tell when to refresh: " \
    "set AlexaLinkDefaultTTL"

static void test_log_safe(apr_pool_t *p)
{
    is_str(alx_log_safe(p, NULL, 10), "-", "NULL is -");
    is_str(alx_log_safe(p, "", 10), "", "empty stays empty");
    is_str(alx_log_safe(p, "alexa-skill_1", 64), "alexa-skill_1",
           "client id kept");
    is_str(alx_log_safe(p, "a,b;c{d}e%f", 64), "a?b?c?d?e?f",
           "punctuation outside the set");
    is_str(alx_log_safe(p, "a.b:c/d@e+f=g-h", 64), "a.b:c/d@e+f=g-h",
           "safe punctuation kept");
    is_str(alx_log_safe(p, "a b\n\"c\"", 64), "a?b??c?", "space, newline, quote");
    is_str(alx_log_safe(p, "caf\xc3\xa9", 64), "caf??", "each non-ASCII byte");
    is_str(alx_log_safe(p, "abcdefgh", 5), "abcde", "cut at max");
    is_str(alx_log_safe(p, "abc", 0), "", "max 0");
}

static alx_exchange_t full_exchange(void)
{
    alx_exchange_t x;

    memset(&x, 0, sizeof(x));
    x.grant_type = "refresh_token";
    x.client_id = "alexa";
    x.status_in = 201;
    x.status_out = 200;
    x.shape_in = "form{access_token:str(40),expires_in:str(2)}";
    x.shape_out = "json{access_token:str(40),expires_in:int,token_type:str(6)}";
    x.ttl_in = 60;
    x.ttl_out = 600;
    x.refresh = "kept";
    x.verdict = "rewritten:status,json,ttl-floor";
    x.ms = 12;
    return x;
}

static void test_line(apr_pool_t *p)
{
    alx_exchange_t x = full_exchange();

    is_str(alx_exchange_line(p, &x),
           "grant=refresh_token client=alexa status=201->200 "
           "shape=form{access_token:str(40),expires_in:str(2)}->"
           "json{access_token:str(40),expires_in:int,token_type:str(6)} "
           "ttl=60->600 refresh=kept ms=12 verdict=rewritten:status,json,ttl-floor",
           "full line");

    memset(&x, 0, sizeof(x));
    x.ttl_in = ALX_TTL_ABSENT;
    x.ttl_out = ALX_TTL_INVALID;
    is_str(alx_exchange_line(p, &x),
           "grant=- client=- status=-->- shape=-->- ttl=absent->invalid "
           "refresh=- ms=0 verdict=-", "everything absent");

    x = full_exchange();
    x.ttl_in = ALX_TTL_INVALID;
    x.ttl_out = -7;
    x.status_in = 0;
    x.grant_type = "";
    x.client_id = "";
    x.ms = 123456789012LL;
    is_str(alx_exchange_line(p, &x),
           "grant=- client=- status=-->200 "
           "shape=form{access_token:str(40),expires_in:str(2)}->"
           "json{access_token:str(40),expires_in:int,token_type:str(6)} "
           "ttl=invalid->invalid refresh=kept ms=123456789012 "
           "verdict=rewritten:status,json,ttl-floor",
           "empty strings, no upstream status, odd TTL, large ms");
}

static void test_line_hostile(apr_pool_t *p)
{
    alx_exchange_t x = full_exchange();
    const char *line;
    char client[101], grant[41];

    memset(client, 'c', 100);
    client[100] = '\0';
    memset(grant, 'g', 40);
    grant[40] = '\0';
    x.client_id = client;
    x.grant_type = grant;
    line = alx_exchange_line(p, &x);
    ok(strstr(line, apr_psprintf(p, "client=%.64s ", client)) != NULL,
       "client id cut at 64 bytes");
    ok(strstr(line, apr_psprintf(p, "grant=%.32s ", grant)) != NULL,
       "grant type cut at 32 bytes");

    x = full_exchange();
    x.client_id = "evil client\nALX9999: forged";
    x.grant_type = "code verdict=ok";
    x.refresh = "kept now";
    x.shape_in = "json{a b}";
    x.verdict = "ok\r\nforged";
    line = alx_exchange_line(p, &x);
    is_str(line, "grant=code?verdict=ok client=evil?client?ALX9999:?forged "
                 "status=201->200 shape=json{a?b}->"
                 "json{access_token:str(40),expires_in:int,token_type:str(6)} "
                 "ttl=60->600 refresh=kept?now ms=12 verdict=ok??forged",
           "no field can add a field or a line");
    ok(strchr(line, '\n') == NULL && strchr(line, '\r') == NULL, "one line");
}

/* Every byte value, against the documented set. */
static void test_log_safe_every_byte(apr_pool_t *p)
{
    static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                              "0123456789._:/@+=-";
    char s[2] = { 0, 0 };
    int c, bad = 0;

    for (c = 1; c < 256; c++) {
        const char *got;

        s[0] = (char)c;
        got = alx_log_safe(p, s, 8);
        if (got[0] != (strchr(set, c) ? (char)c : '?') || got[1] != '\0') {
            if (!bad)
                printf("# byte 0x%02x: got '%s'\n", c, got);
            bad++;
        }
    }
    ok(bad == 0, "log_safe: each of the 255 bytes kept or '?' by the set");
    is_str(alx_log_safe(p, "abc", (apr_size_t)-1), "abc", "no limit: up to the NUL");
}

/* A line field keeps 0x21..0x7e and shows every other byte as '?', wherever
 * it falls in a long field (those are copied eight bytes at a time). */
static void test_line_field_every_byte(apr_pool_t *p)
{
    alx_exchange_t x;
    char field[32], want[40];
    int c, off, bad = 0;

    memset(&x, 0, sizeof(x));
    for (c = 1; c < 256; c++) {
        for (off = 0; off < 20; off++) {
            const char *line, *got;

            memset(field, 'f', 20);
            field[20] = '\0';
            field[off] = (char)c;
            x.shape_in = field;
            line = alx_exchange_line(p, &x);
            got = strstr(line, "shape=") + 6;
            memcpy(want, field, 20);
            want[off] = c > 0x20 && c < 0x7f ? (char)c : '?';
            strcpy(want + 20, "->- ");
            if (strncmp(got, want, 24) != 0) {
                if (!bad)
                    printf("# byte 0x%02x at %d: got '%s'\n", c, off, line);
                bad++;
            }
        }
    }
    ok(bad == 0, "line field: each byte at each offset kept or '?'");
    x.shape_in = "!~ \x7f{a}\x80";
    x.shape_out = "!!!!!!!!~~~~~~~~\x7f";
    is_str(alx_exchange_line(p, &x),
           "grant=- client=- status=-->- shape=!~??{a}?->!!!!!!!!~~~~~~~~? "
           "ttl=0->0 refresh=- ms=0 verdict=-", "the bounds: '!' and '~' kept");
}

static void test_line_limits(apr_pool_t *p)
{
    alx_exchange_t x = full_exchange();
    char *shape = apr_palloc(p, 701), *refresh = apr_palloc(p, 41);
    const char *line;

    memset(shape, 's', 700);
    shape[700] = '\0';
    memset(refresh, 'r', 40);
    refresh[40] = '\0';
    x.shape_in = shape;
    x.verdict = shape;
    x.refresh = refresh;
    line = alx_exchange_line(p, &x);
    ok(strstr(line, apr_psprintf(p, "shape=%.600s->json{", shape)) != NULL,
       "shape cut at 600 bytes");
    ok(strstr(line, apr_psprintf(p, " verdict=%.600s", shape)) != NULL
       && strlen(strstr(line, " verdict=")) == 9 + 600, "verdict cut at 600 bytes");
    ok(strstr(line, apr_psprintf(p, " refresh=%.32s ms=", refresh)) != NULL,
       "refresh cut at 32 bytes");

    memset(&x, 0, sizeof(x));
    x.status_in = -2147483647 - 1;
    x.status_out = 2147483647;
    x.ttl_in = 0;
    x.ttl_out = APR_INT64_C(9223372036854775807);
    x.ms = -APR_INT64_C(9223372036854775807) - 1;
    is_str(alx_exchange_line(p, &x),
           "grant=- client=- status=-2147483648->2147483647 shape=-->- "
           "ttl=0->9223372036854775807 refresh=- ms=-9223372036854775808 "
           "verdict=-", "extreme numbers");
    x.status_in = -7;
    x.status_out = 9;
    x.ttl_in = -3;
    x.ttl_out = 10;
    x.ms = -1;
    is_str(alx_exchange_line(p, &x),
           "grant=- client=- status=-7->9 shape=-->- ttl=invalid->10 "
           "refresh=- ms=-1 verdict=-", "negative numbers");
}

static void test_fix_names(apr_pool_t *p)
{
    ok(alx_fix_names(p, 0) == NULL, "no fixes: NULL");
    is_str(alx_fix_names(p, ALX_FIX_STATUS), "status", "status");
    is_str(alx_fix_names(p, ALX_FIX_FORMAT), "json", "format is json");
    is_str(alx_fix_names(p, ALX_FIX_CONTENT_TYPE), "content-type", "content-type");
    is_str(alx_fix_names(p, ALX_FIX_NO_STORE), "no-store", "no-store");
    is_str(alx_fix_names(p, ALX_FIX_TTL_TYPE), "ttl-type", "ttl-type");
    is_str(alx_fix_names(p, ALX_FIX_TTL_FLOOR), "ttl-floor", "ttl-floor");
    is_str(alx_fix_names(p, ALX_FIX_TTL_DEFAULT), "ttl-default", "ttl-default");
    is_str(alx_fix_names(p, ALX_FIX_TOKEN_TYPE), "token-type", "token-type");
    is_str(alx_fix_names(p, ALX_FIX_REFRESH_KEPT), "refresh-kept", "refresh-kept");
    is_str(alx_fix_names(p, ALX_FIX_ERROR_CODE), "error-code", "error-code");
    is_str(alx_fix_names(p, ALX_FIX_UNUSABLE), "unusable", "unusable");
    is_str(alx_fix_names(p, ALX_FIX_BOM), "bom", "bom");
    is_str(alx_fix_names(p, 0x0fff),
           "status,json,content-type,no-store,ttl-type,ttl-floor,ttl-default,"
           "token-type,refresh-kept,error-code,unusable,bom", "all, in order");
    ok(alx_fix_names(p, 0x8000) == NULL, "unknown bit ignored");
    is_str(alx_fix_names(p, 0x8000 | ALX_FIX_STATUS), "status",
           "unknown bit ignored among known ones");
}

static alx_answer_t answer_of(alx_answer_kind_e kind, unsigned fixes,
                              const char *error_out, const char *reason)
{
    alx_answer_t a;

    memset(&a, 0, sizeof(a));
    a.kind = kind;
    a.fixes = fixes;
    a.error_out = error_out;
    a.reason = reason;
    return a;
}

static void test_verdict(apr_pool_t *p)
{
    alx_answer_t a;

    a = answer_of(ALX_KIND_TOKEN, 0, NULL, NULL);
    is_str(alx_answer_verdict(p, &a, 0), "ok", "token, no fixes: ok");
    is_str(alx_answer_verdict(p, &a, 1), "ok", "token, no fixes, report: ok");
    a = answer_of(ALX_KIND_TOKEN, ALX_FIX_STATUS | ALX_FIX_FORMAT, NULL, NULL);
    is_str(alx_answer_verdict(p, &a, 0), "rewritten:status,json", "token rewritten");
    is_str(alx_answer_verdict(p, &a, 1), "would-rewrite:status,json",
           "token, report mode");
    a = answer_of(ALX_KIND_ERROR, 0, "invalid_grant", NULL);
    is_str(alx_answer_verdict(p, &a, 0), "upstream-error:invalid_grant",
           "error, no fixes");
    a = answer_of(ALX_KIND_ERROR, ALX_FIX_ERROR_CODE | ALX_FIX_STATUS,
                  "invalid_grant", NULL);
    is_str(alx_answer_verdict(p, &a, 0),
           "upstream-error:invalid_grant,rewritten:status,error-code",
           "error with fixes");
    is_str(alx_answer_verdict(p, &a, 1),
           "upstream-error:invalid_grant,would-rewrite:status,error-code",
           "error with fixes, report mode");
    a = answer_of(ALX_KIND_ERROR, 0, NULL, NULL);
    is_str(alx_answer_verdict(p, &a, 0), "upstream-error:-", "error without code");
    a = answer_of(ALX_KIND_SERVER_ERROR, 0, NULL, NULL);
    is_str(alx_answer_verdict(p, &a, 0), "server-error", "server error");
    a = answer_of(ALX_KIND_UNUSABLE, ALX_FIX_UNUSABLE | ALX_FIX_STATUS, NULL,
                  "malformed JSON");
    is_str(alx_answer_verdict(p, &a, 0), "unusable:malformed-JSON",
           "unusable: spaces become -");
    is_str(alx_answer_verdict(p, &a, 1), "unusable:malformed-JSON",
           "unusable, report mode: same word");
    a = answer_of(ALX_KIND_UNUSABLE, 0, NULL, "neither token nor error");
    is_str(alx_answer_verdict(p, &a, 0), "unusable:neither-token-nor-error",
           "unusable: neither");
    a = answer_of(ALX_KIND_UNUSABLE, 0, NULL, NULL);
    is_str(alx_answer_verdict(p, &a, 0), "unusable", "unusable without reason");
    a = answer_of(ALX_KIND_OPAQUE, 0, NULL, "html");
    is_str(alx_answer_verdict(p, &a, 0), "passthrough:html", "passthrough html");
    a = answer_of(ALX_KIND_OPAQUE, 0, NULL, "no error code");
    is_str(alx_answer_verdict(p, &a, 0), "passthrough:no-error-code",
           "passthrough without error code");
    a = answer_of(ALX_KIND_OPAQUE, ALX_FIX_STATUS, NULL, "");
    is_str(alx_answer_verdict(p, &a, 0), "passthrough",
           "empty reason: the word alone");
    a = answer_of(ALX_KIND_UNUSABLE, 0, NULL, " two  spaces ");
    is_str(alx_answer_verdict(p, &a, 0), "unusable:-two--spaces-",
           "each space becomes '-'");
    a = answer_of(ALX_KIND_TOKEN, 0x8000, NULL, NULL);
    is_str(alx_answer_verdict(p, &a, 0), "ok", "token, only unknown fix bits: ok");
    a = answer_of(ALX_KIND_TOKEN, 0x07ff, NULL, NULL);
    is_str(alx_answer_verdict(p, &a, 2),
           "would-rewrite:status,json,content-type,no-store,ttl-type,ttl-floor,"
           "ttl-default,token-type,refresh-kept,error-code,unusable",
           "every fix; any non-zero report is report mode");
    a = answer_of(ALX_KIND_ERROR, 0x8000, "invalid_grant", NULL);
    is_str(alx_answer_verdict(p, &a, 0), "upstream-error:invalid_grant",
           "error, only unknown fix bits: no comma");
    a = answer_of(ALX_KIND_ERROR, ALX_FIX_STATUS, "", NULL);
    is_str(alx_answer_verdict(p, &a, 0), "upstream-error:,rewritten:status",
           "error with an empty code: empty, not '-'");
    a = answer_of(ALX_KIND_SERVER_ERROR, ALX_FIX_STATUS, "x", "y");
    is_str(alx_answer_verdict(p, &a, 1), "server-error",
           "server error: fixes, code and reason not shown");
}

/* The kind is the verdict's first word, whatever follows it. */
static void test_verdict_kind(apr_pool_t *p)
{
    static const struct {
        alx_answer_kind_e kind;
        unsigned fixes;
        const char *reason;
        int report;
        alx_verdict_e want;
    } cases[] = {
        { ALX_KIND_TOKEN, 0, NULL, 0, ALX_VERDICT_OK },
        { ALX_KIND_TOKEN, 0, NULL, 1, ALX_VERDICT_OK },
        { ALX_KIND_TOKEN, 0x8000, NULL, 0, ALX_VERDICT_OK },
        { ALX_KIND_TOKEN, ALX_FIX_STATUS, NULL, 0, ALX_VERDICT_REWRITTEN },
        { ALX_KIND_TOKEN, ALX_FIX_STATUS, NULL, 1, ALX_VERDICT_WOULD_REWRITE },
        { ALX_KIND_ERROR, 0, NULL, 0, ALX_VERDICT_UPSTREAM_ERROR },
        { ALX_KIND_ERROR, ALX_FIX_STATUS, NULL, 1, ALX_VERDICT_UPSTREAM_ERROR },
        { ALX_KIND_SERVER_ERROR, 0, NULL, 0, ALX_VERDICT_SERVER_ERROR },
        { ALX_KIND_UNUSABLE, ALX_FIX_UNUSABLE, "malformed JSON", 0,
          ALX_VERDICT_UNUSABLE },
        { ALX_KIND_OPAQUE, 0, "html", 0, ALX_VERDICT_PASSTHROUGH },
        { ALX_KIND_OPAQUE, 0, NULL, 1, ALX_VERDICT_PASSTHROUGH },
    };
    alx_answer_t a;
    const char *word, *name;
    apr_size_t i, n;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&a, 0, sizeof(a));
        a.kind = cases[i].kind;
        a.fixes = cases[i].fixes;
        a.reason = cases[i].reason;
        a.error_out = "invalid_grant";
        is_int(alx_answer_verdict_kind(&a, cases[i].report), cases[i].want,
               "verdict kind, case %d", (int)i);
        word = alx_answer_verdict(p, &a, cases[i].report);
        name = alx_verdict_name(cases[i].want);
        n = strlen(name);
        ok(!strncmp(word, name, n) && (word[n] == '\0' || word[n] == ':'),
           "case %d: %s starts with its kind %s", (int)i, word, name);
    }
}

static void test_hint(apr_pool_t *p)
{
    const char *all;

    ok(alx_warning_hint(p, 0) == NULL, "no warnings: NULL");
    ok(alx_warning_hint(p, 0x80) == NULL, "unknown warning: NULL");
    is_str(alx_warning_hint(p, ALX_WARN_NO_REFRESH), HINT_NO_REFRESH,
           "no refresh: Google cause and fix");
    is_str(alx_warning_hint(p, ALX_WARN_TTL_SHORT), HINT_TTL_SHORT,
           "short TTL: 5 minutes, AlexaLinkMinTTL");
    is_str(alx_warning_hint(p, ALX_WARN_NO_TTL), HINT_NO_TTL,
           "no TTL: AlexaLinkDefaultTTL");
    all = alx_warning_hint(p, ALX_WARN_NO_REFRESH | ALX_WARN_TTL_SHORT
                              | ALX_WARN_NO_TTL);
    is_str(all, HINT_NO_REFRESH "; " HINT_TTL_SHORT "; " HINT_NO_TTL,
           "all three joined with '; '");
    ok(strstr(all, "access_type=offline") && strstr(all, "prompt=consent")
       && strstr(all, "revoke"), "the article's Google words");
}

/* The whole path as the glue runs it: normalize, verdict, line. */
static void test_together(apr_pool_t *p)
{
    alx_answer_in_t in;
    alx_answer_t a;
    alx_exchange_t x;
    const char *line;

    memset(&in, 0, sizeof(in));
    in.status = 201;
    in.content_type = "application/x-www-form-urlencoded";
    in.body = "access_token=AT-SECRET-1&refresh_token=RT-SECRET-2&expires_in=60";
    in.len = strlen(in.body);
    in.grant_type = "refresh_token";
    in.presented_refresh_token = "RT-SECRET-1";
    in.min_ttl = 600;
    in.default_ttl = 3600;
    alx_answer_normalize(p, &in, &a);

    memset(&x, 0, sizeof(x));
    x.grant_type = in.grant_type;
    x.client_id = "alexa-skill";
    x.status_in = in.status;
    x.status_out = a.status;
    x.shape_in = a.shape_in;
    x.shape_out = a.shape_out;
    x.ttl_in = a.ttl_in;
    x.ttl_out = a.ttl_out;
    x.refresh = alx_refresh_name(a.refresh);
    x.verdict = alx_answer_verdict(p, &a, 0);
    x.ms = 7;
    line = alx_exchange_line(p, &x);
    is_str(line, "grant=refresh_token client=alexa-skill status=201->200 "
                 "shape=form{access_token:str(11),refresh_token:str(11),"
                 "expires_in:str(2)}->json{access_token:str(11),"
                 "refresh_token:str(11),expires_in:int,token_type:str(6)} "
                 "ttl=60->600 refresh=rotated ms=7 verdict=rewritten:status,json,"
                 "no-store,ttl-type,ttl-floor,token-type", "rotation, end to end");
    ok(strstr(line, "SECRET") == NULL, "no token in the line");
    ok(alx_warning_hint(p, a.warnings) == NULL, "no hint when nothing is wrong");
}

/* Every value of a name table has a word of its own: none missing, none
 * shared (a counter or a log reader could not tell two apart). */
static void check_names(const char *what, const char *(*name)(int), int count)
{
    int i, j, named = 1, unique = 1;

    for (i = 0; i < count; i++) {
        if (!name(i) || !*name(i))
            named = 0;
        for (j = 0; named && j < i; j++)
            if (!strcmp(name(i), name(j)))
                unique = 0;
    }
    ok(named, "%s: every value has a name", what);
    ok(unique, "%s: names unique", what);
    is_str(name(count), "-", "%s: out of range is '-'", what);
    is_str(name(-1), "-", "%s: negative is '-'", what);
}

static const char *verdict_name(int i) { return alx_verdict_name(i); }
static const char *refresh_name(int i) { return alx_refresh_name(i); }

static void test_names(apr_pool_t *p)
{
    static const char *const verdicts[] = {
        "-", "ok", "rewritten", "would-rewrite", "upstream-error",
        "server-error", "unusable", "passthrough", "rejected", "would-reject",
        "replayed", "truncated", "in-flight-timeout", "unrecordable"
    };
    static const char *const refreshes[] = {
        "-", "rotated", "kept", "forwarded", "absent", "replayed"
    };
    int i;

    check_names("verdict", verdict_name, ALX_VERDICT_COUNT);
    check_names("refresh", refresh_name, ALX_REFRESH_COUNT);
    is_int(ALX_VERDICT_COUNT, (int)(sizeof(verdicts) / sizeof(verdicts[0])),
           "verdict kinds: all listed here");
    for (i = 0; i < ALX_VERDICT_COUNT; i++)
        is_str(alx_verdict_name(i), verdicts[i], "verdict %d", i);
    is_int(ALX_REFRESH_COUNT, (int)(sizeof(refreshes) / sizeof(refreshes[0])),
           "refresh fates: all listed here");
    for (i = 0; i < ALX_REFRESH_COUNT; i++)
        is_str(alx_refresh_name(i), refreshes[i], "refresh %d", i);
    ok(alx_refresh_name(ALX_REFRESH_NONE) == alx_refresh_name(0)
       && ALX_REFRESH_NONE == 0 && ALX_VERDICT_NONE == 0,
       "zeroed records start at none");

    ok(alx_verdict_word(p, ALX_VERDICT_REPLAYED, NULL)
       == alx_verdict_name(ALX_VERDICT_REPLAYED), "word alone, not copied");
    is_str(alx_verdict_word(p, ALX_VERDICT_REPLAYED, ""), "replayed",
           "empty detail: the word alone");
    is_str(alx_verdict_word(p, ALX_VERDICT_REPLAYED, "duplicate"),
           "replayed:duplicate", "replayed:duplicate");
    is_str(alx_verdict_word(p, ALX_VERDICT_REJECTED, "two-auth"),
           "rejected:two-auth", "rejected:<reason>");
    is_str(alx_verdict_word(p, ALX_VERDICT_WOULD_REJECT, "truncated"),
           "would-reject:truncated", "would-reject:truncated");
    is_str(alx_verdict_word(p, ALX_VERDICT_PASSTHROUGH, "big number"),
           "passthrough:big-number", "spaces become '-'");
    is_str(alx_verdict_word(p, ALX_VERDICT_COUNT, "x"), "-:x",
           "out of range: '-'");
}

/* The exchange line's level: every condition alone, and the bounds. */
static void test_level(void)
{
    alx_answer_t a;
    alx_exchange_facts_t f;

    memset(&a, 0, sizeof(a));
    memset(&f, 0, sizeof(f));
    a.kind = ALX_KIND_TOKEN;
    is_int(alx_exchange_level(&a, &f), ALX_EXCHANGE_INFO,
           "a token answered as it came: info");
    a.fixes = ALX_FIX_TTL_FLOOR;
    is_int(alx_exchange_level(&a, &f), ALX_EXCHANGE_NOTICE,
           "a rewritten answer: notice");
    f.report = 1;
    is_int(alx_exchange_level(&a, &f), ALX_EXCHANGE_WARNING,
           "a rewrite report mode would make: warning");
    a.fixes = 0;
    is_int(alx_exchange_level(&a, &f), ALX_EXCHANGE_INFO,
           "report mode with nothing to fix: info");
    f.report = 0;
    a.warnings = ALX_WARN_NO_TTL;
    is_int(alx_exchange_level(&a, &f), ALX_EXCHANGE_WARNING,
           "a warning: warning");
    a.warnings = 0;
    f.over_budget = 1;
    is_int(alx_exchange_level(&a, &f), ALX_EXCHANGE_WARNING,
           "over budget: warning");
    f.over_budget = 0;
    a.kind = ALX_KIND_ERROR;
    is_int(alx_exchange_level(&a, &f), ALX_EXCHANGE_INFO,
           "an upstream error answered as it came: info");
    a.kind = ALX_KIND_UNUSABLE;
    is_int(alx_exchange_level(&a, &f), ALX_EXCHANGE_WARNING,
           "unusable: warning");
    a.kind = ALX_KIND_SERVER_ERROR;
    is_int(alx_exchange_level(&a, &f), ALX_EXCHANGE_WARNING,
           "an upstream 5xx: warning");
    a.kind = ALX_KIND_OPAQUE;
    is_int(alx_exchange_level(&a, &f), ALX_EXCHANGE_WARNING,
           "opaque: warning");

    /* the module's own answers: the upstream's record does not count */
    f.own = 1;
    f.own_status = 200;
    f.own_kind = ALX_VERDICT_REPLAYED;
    is_int(alx_exchange_level(&a, &f), ALX_EXCHANGE_NOTICE,
           "a replay: notice, whatever the record says");
    f.own_kind = ALX_VERDICT_NONE;
    is_int(alx_exchange_level(&a, &f), ALX_EXCHANGE_NOTICE,
           "any 200 of our own: notice");
    f.over_budget = 1;
    is_int(alx_exchange_level(&a, &f), ALX_EXCHANGE_WARNING,
           "a 200 of our own over budget: warning");
    f.over_budget = 0;
    f.own_kind = ALX_VERDICT_REPLAYED;
    f.own_status = 499;
    is_int(alx_exchange_level(&a, &f), ALX_EXCHANGE_NOTICE,
           "a duplicate handed the first answer's 499: notice");
    f.own_status = 400;
    f.over_budget = 1;
    is_int(alx_exchange_level(&a, &f), ALX_EXCHANGE_WARNING,
           "and over budget: warning");
    f.over_budget = 0;
    f.own_status = 500;
    is_int(alx_exchange_level(&a, &f), ALX_EXCHANGE_WARNING,
           "a duplicate handed the first answer's 500: warning");
    f.own_status = 503;
    f.own_kind = ALX_VERDICT_IN_FLIGHT_TIMEOUT;
    is_int(alx_exchange_level(&a, &f), ALX_EXCHANGE_WARNING,
           "our own 503: warning");
    f.own_status = 400;
    f.own_kind = ALX_VERDICT_REJECTED;
    is_int(alx_exchange_level(&a, &f), ALX_EXCHANGE_WARNING,
           "an own 4xx that is not a replay: warning");
    is_int(ALX_EXCHANGE_WARNING * 100 + ALX_EXCHANGE_NOTICE * 10
           + ALX_EXCHANGE_INFO, 456, "syslog's numbers, as httpd's APLOG_*");
}

static void test_own_answer(apr_pool_t *p)
{
    alx_answer_t a;

    memset(&a, 0, sizeof(a));
    a.ttl_in = 60;
    a.ttl_out = 3000;
    a.shape_out = "json{}";
    a.refresh = ALX_REFRESH_NONE;
    alx_exchange_own_answer(&a, 200, 1);
    is_int(a.ttl_in, ALX_TTL_ABSENT, "own answer: no upstream TTL");
    is_int(a.ttl_out, 3000, "described: its TTL kept");
    is_str(a.shape_out, "json{}", "and its shape");
    is_str(alx_refresh_name(a.refresh), "replayed", "a 200: refresh=replayed");

    memset(&a, 0, sizeof(a));
    a.ttl_in = 60;
    a.ttl_out = 3000;
    a.refresh = ALX_REFRESH_NONE;
    alx_exchange_own_answer(&a, 503, 0);
    is_int(a.ttl_in, ALX_TTL_ABSENT, "a 503: no upstream TTL");
    is_int(a.ttl_out, ALX_TTL_ABSENT, "not described: no TTL out");
    is_str(alx_refresh_name(a.refresh), "-", "not a 200: refresh as it was");

    memset(&a, 0, sizeof(a));
    a.kind = ALX_KIND_TOKEN;
    a.ttl_in = 60;
    a.ttl_out = 600;
    is_str(alx_verdict_word(p, alx_exchange_no_body(&a), ALX_NO_BODY),
           "passthrough:no-body", "no body: passthrough:no-body");
    is_int(a.kind, ALX_KIND_OPAQUE, "no body: opaque");
    ok(a.ttl_in == ALX_TTL_ABSENT && a.ttl_out == ALX_TTL_ABSENT,
       "no body: no TTLs");
}

/* An answer of our own read back for the log: JSON objects only. */
static void test_describe(apr_pool_t *p)
{
    const char *shape = "unset";
    apr_int64_t ttl = 7;

    is_int(alx_exchange_describe(p, "{\"access_token\":\"abc\","
                                 "\"expires_in\":3599}", &shape, &ttl), 1,
           "a token answer is described");
    is_str(shape, "json{access_token:str(3),expires_in:int}", "its shape");
    is_int(ttl, 3599, "its expires_in");
    is_int(alx_exchange_describe(p, "{\"error\":\"invalid_grant\"}", &shape,
                                 &ttl), 1, "an error answer is described");
    is_str(shape, "json{error:str(13)}", "its shape");
    is_int(ttl, ALX_TTL_ABSENT, "no expires_in: absent");
    is_int(alx_exchange_describe(p, "{\"expires_in\":\"60\"}", &shape, &ttl),
           1, "a string expires_in");
    is_int(ttl, ALX_TTL_ABSENT, "is no TTL");
    shape = "unset";
    ttl = 7;
    is_int(alx_exchange_describe(p, "[1,2]", &shape, &ttl), 0,
           "an array is not described");
    is_int(alx_exchange_describe(p, "<html>", &shape, &ttl), 0,
           "nor HTML");
    is_int(alx_exchange_describe(p, "", &shape, &ttl), 0, "nor nothing");
    is_int(alx_exchange_describe(p, NULL, &shape, &ttl), 0, "nor NULL");
    ok(!strcmp(shape, "unset") && ttl == 7, "and both are left alone");
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_log_safe(p);
    test_line(p);
    test_line_hostile(p);
    test_log_safe_every_byte(p);
    test_line_field_every_byte(p);
    test_line_limits(p);
    test_fix_names(p);
    test_verdict(p);
    test_verdict_kind(p);
    test_names(p);
    test_hint(p);
    test_together(p);
    test_level();
    test_own_answer(p);
    test_describe(p);
    apr_pool_destroy(p);
    apr_terminate();
    return tap_done();
}

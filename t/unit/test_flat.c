/* Unit tests for lib/alx_flat.c: the flat objects it accepts read as
 * jansson reads them (members, order, compact dump, shape), and anything
 * outside the subset is refused, for jansson to read. */
#include <stdlib.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "alx_flat.h"
#include "alx_json.h"
#include "alx_shape.h"
#include "tap.h"

/* 1 when f holds what jansson reads from the same text. */
static int same_as_jansson(apr_pool_t *p, const alx_flat_t *f, json_t *v)
{
    apr_size_t flen = 0, jlen = 0;
    const char *fs, *js;
    void *it;
    int i = 0;

    if (!json_is_object(v) || json_object_size(v) != (size_t)f->n)
        return 0;
    for (it = json_object_iter(v); it; it = json_object_iter_next(v, it), i++) {
        const alx_flat_member_t *m = &f->m[i];
        const json_t *jv = json_object_iter_value(it);

        if (m->key_len != json_object_iter_key_len(it)
            || memcmp(m->key, json_object_iter_key(it), m->key_len) != 0)
            return 0;
        if ((m->type == ALX_FLAT_STR
             && !(json_is_string(jv) && json_string_length(jv) == m->str_len
                  && memcmp(json_string_value(jv), m->str, m->str_len) == 0))
            || (m->type == ALX_FLAT_INT
                && !(json_is_integer(jv) && json_integer_value(jv) == m->num))
            || (m->type == ALX_FLAT_TRUE && !json_is_true(jv))
            || (m->type == ALX_FLAT_FALSE && !json_is_false(jv))
            || (m->type == ALX_FLAT_NULL && !json_is_null(jv)))
            return 0;
    }
    fs = alx_flat_compact(p, f, &flen);
    js = alx_json_compact(p, v, &jlen);
    if (!js || flen != jlen || memcmp(fs, js, flen + 1) != 0) {
        printf("#   flat: '%s'\n#   jansson: '%s'\n", fs, js ? js : "(null)");
        return 0;
    }
    return strcmp(alx_shape_flat(p, f), alx_shape_json(p, v)) == 0;
}

static void accepted(apr_pool_t *p, const char *body, int members,
                     const char *name)
{
    alx_flat_t f;
    json_error_t err;
    json_t *v;
    int got = alx_flat_parse(body, strlen(body), &f);

    ok(got && f.n == members, "accepted: %s", name);
    v = json_loadb(body, strlen(body), JSON_DECODE_ANY, &err);
    ok(got && v && same_as_jansson(p, &f, v), "as jansson reads it: %s",
       name);
    json_decref(v);
}

static void refused(const char *body, apr_size_t len, const char *name)
{
    alx_flat_t f;

    ok(!alx_flat_parse(body, len, &f), "refused: %s", name);
}

#define REFUSED(body, name) refused(body, sizeof(body) - 1, name)

static void test_accepted(apr_pool_t *p)
{
    accepted(p, "{\"access_token\":\"2YotnFZFEjr1zCsicMWpAA\",\"token_type\":"
             "\"Bearer\",\"expires_in\":3600,\"refresh_token\":"
             "\"tGzv3JOkF0XG5Qx2TlKWIA\",\"scope\":\"profile email\"}", 5,
             "a token answer");
    accepted(p, " \r\n\t{ \"access_token\" :\t\"a\" ,\n\"expires_in\"\r: 10 }"
             " \n", 2, "white space everywhere JSON allows it");
    accepted(p, "{}", 0, "empty object");
    accepted(p, "{ }", 0, "empty object with a space");
    accepted(p, "{\"a\":-0}", 1, "-0 (jansson's integer 0)");
    accepted(p, "{\"a\":0,\"b\":-12,\"c\":999999999999999999}", 3,
             "integers up to 18 digits");
    accepted(p, "{\"t\":true,\"f\":false,\"n\":null}", 3, "literals");
    accepted(p, "{\"a b\":\"x\x7fy\",\"\":\"\"}", 2,
             "DEL, a space in a key, an empty key and value");
}

static void test_refused(void)
{
    char many[2048], *d = many;
    int i;

    REFUSED("", "empty body");
    REFUSED("  ", "white space only");
    REFUSED("[]", "an array");
    REFUSED("\"s\"", "a string");
    REFUSED("\f{}", "a form feed (not JSON white space)");
    REFUSED("{\"a\":\"\\u0041\"}", "an escape in a value");
    REFUSED("{\"a\":\"\\u0000\"}", "a NUL escape (jansson's, with JSON_ALLOW_NUL)");
    /* alx_answer drops a byte order mark before it asks */
    REFUSED("\xEF\xBB\xBF{\"a\":1}", "a UTF-8 byte order mark");
    REFUSED("{\"\\n\":1}", "an escape in a key");
    REFUSED("{\"a\":\"\xc3\xa9\"}", "non-ASCII in a value");
    REFUSED("{\"a\":\"\x01\"}", "a control byte in a value");
    REFUSED("{\"a\":\"x\0y\"}", "a NUL byte in a value");
    REFUSED("{\"a\":1.5}", "a real");
    REFUSED("{\"a\":1e3}", "an exponent");
    REFUSED("{\"a\":1E3}", "an upper-case exponent");
    REFUSED("{\"a\":1234567890123456789}", "19 digits");
    REFUSED("{\"a\":01}", "a leading zero");
    REFUSED("{\"a\":-}", "a lone minus");
    REFUSED("{\"a\":+1}", "a plus sign");
    REFUSED("{\"a\":{}}", "a nested object");
    REFUSED("{\"a\":[]}", "an array member");
    REFUSED("{\"a\":1,\"a\":2}", "duplicate keys");
    REFUSED("{\"a\":1}x", "trailing bytes");
    REFUSED("{\"a\":1}{}", "two objects");
    REFUSED("{\"a\":1,}", "a trailing comma");
    REFUSED("{\"a\" 1}", "no colon");
    REFUSED("{\"a\":1 \"b\":2}", "no comma");
    REFUSED("{\"a\":1", "unterminated object");
    REFUSED("{\"a\":\"x", "unterminated string");
    REFUSED("{\"a\":tru}", "a cut literal");
    REFUSED("{\"a\":truex}", "a literal run on");
    REFUSED("{a:1}", "an unquoted key");
    REFUSED("{\"a\":'x'}", "single quotes");
    *d++ = '{';
    for (i = 0; i <= ALX_FLAT_MAX; i++)
        d += sprintf(d, "%s\"k%d\":%d", i ? "," : "", i, i);
    strcpy(d, "}");
    refused(many, strlen(many), "more members than ALX_FLAT_MAX");
}

static void test_edits(apr_pool_t *p)
{
    const char *body = "{\"access_token\":\"a\",\"expires_in\":\"300\","
                       "\"scope\":\"s\"}";
    alx_flat_t f;
    apr_size_t len = 0;
    int i;

    ok(alx_flat_parse(body, strlen(body), &f), "parsed for edits");
    ok(alx_flat_get(&f, "scope") == &f.m[2], "get finds a member");
    ok(alx_flat_get(&f, "scop") == NULL && alx_flat_get(&f, "scopes") == NULL,
       "get compares whole keys");
    ok(alx_flat_set_int(&f, "expires_in", 600), "set an integer");
    ok(alx_flat_set_str(&f, "token_type", "Bearer", 6), "set a new string");
    is_str(alx_flat_compact(p, &f, &len),
           "{\"access_token\":\"a\",\"expires_in\":600,\"scope\":\"s\","
           "\"token_type\":\"Bearer\"}",
           "a replaced member keeps its place, a new one goes last");
    is_int(len, strlen("{\"access_token\":\"a\",\"expires_in\":600,"
                       "\"scope\":\"s\",\"token_type\":\"Bearer\"}"),
           "compact length");
    alx_flat_del(&f, "expires_in");
    alx_flat_del(&f, "nothing");
    is_str(alx_flat_compact(p, &f, &len),
           "{\"access_token\":\"a\",\"scope\":\"s\",\"token_type\":\"Bearer\"}",
           "delete closes the gap; an absent key is no change");
    ok(alx_flat_set_int(&f, "n", APR_INT64_MIN) && alx_flat_set_int(&f, "m",
       APR_INT64_MAX), "set extreme integers");
    is_str(alx_flat_compact(p, &f, &len),
           "{\"access_token\":\"a\",\"scope\":\"s\",\"token_type\":\"Bearer\","
           "\"n\":-9223372036854775808,\"m\":9223372036854775807}",
           "extreme integers written as jansson does");
    for (i = f.n; i < ALX_FLAT_MAX; i++)
        alx_flat_set_int(&f, apr_psprintf(p, "k%d", i), i);
    ok(!alx_flat_set_int(&f, "one_more", 1)
       && !alx_flat_set_str(&f, "one_more", "x", 1),
       "a full object takes no new member");
    ok(alx_flat_set_int(&f, "scope", 1), "a full object still replaces");
    ok(alx_flat_plain("abc ~\x7f", 6) && alx_flat_plain("", 0),
       "plain: printable ASCII");
    ok(!alx_flat_plain("a\"b", 3) && !alx_flat_plain("a\\b", 3)
       && !alx_flat_plain("\xc3\xa9", 2) && !alx_flat_plain("a\tb", 3),
       "not plain: quote, backslash, non-ASCII, control");
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_accepted(p);
    test_refused();
    test_edits(p);
    apr_pool_destroy(p);
    apr_terminate();
    return tap_done();
}

/* Unit tests for lib/alx_shape.c: shapes show keys, types and lengths only. */
#include <apr_general.h>
#include <apr_strings.h>

#include "alx_form.h"
#include "alx_shape.h"
#include "tap.h"

static json_t *parse(const char *text)
{
    json_error_t err;

    return json_loads(text, JSON_DECODE_ANY, &err);
}

/* Shape of a JSON text; the value is released at once. */
static const char *shape_of(apr_pool_t *p, const char *text)
{
    json_t *v = parse(text);
    const char *s = alx_shape_json(p, v);

    json_decref(v);
    return s;
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);

    return n >= m && strcmp(s + n - m, tail) == 0;
}

static apr_array_header_t *pairs_of(apr_pool_t *p, const char *const *kv)
{
    apr_array_header_t *pairs = apr_array_make(p, 4, sizeof(alx_pair_t));

    for (; kv[0]; kv += 2) {
        alx_pair_t *pair = apr_array_push(pairs);
        pair->name = kv[0];
        pair->value = kv[1];
    }
    return pairs;
}

static void test_json_members(apr_pool_t *p)
{
    is_str(shape_of(p, "{\"access_token\":\"0123456789012345678901234567890123456789\","
                       "\"expires_in\":3600,\"token_type\":\"Bearer\"}"),
           "json{access_token:str(40),expires_in:int,token_type:str(6)}",
           "token answer: keys, types, lengths");
    is_str(shape_of(p, "{\"a\":1.5,\"b\":true,\"c\":false,\"d\":null,"
                       "\"e\":{\"x\":1,\"y\":2},\"f\":[1,2,3],\"g\":\"\"}"),
           "json{a:real,b:bool,c:bool,d:null,e:obj(2),f:arr(3),g:str(0)}",
           "every member type");
    is_str(shape_of(p, "{}"), "json{}", "empty object");
    is_str(shape_of(p, "{\"s\":\"caf\\u00e9\"}"), "json{s:str(5)}",
           "string length counts UTF-8 bytes");
    is_str(shape_of(p, "{\"a\":\"x\",\"a\":\"yy\"}"), "json{a:str(2)}",
           "duplicate key: the value jansson keeps");
}

static void test_json_top_level(apr_pool_t *p)
{
    is_str(shape_of(p, "[1,2]"), "json:arr(2)", "top-level array");
    is_str(shape_of(p, "\"secret\""), "json:str(6)", "top-level string, no value");
    is_str(shape_of(p, "42"), "json:int", "top-level integer");
    is_str(shape_of(p, "4.2"), "json:real", "top-level real");
    is_str(shape_of(p, "true"), "json:bool", "top-level bool");
    is_str(shape_of(p, "null"), "json:null", "top-level null");
    is_str(alx_shape_json(p, NULL), "none", "no value at all");
}

static void test_json_keys(apr_pool_t *p)
{
    const char *s;

    is_str(shape_of(p, "{\"Authorization\":\"x\"}"), "json{?(13):str(1)}",
           "upper-case key hidden");
    s = shape_of(p, "{\"eyJhbGciOiJIUzI1NiJ9\":\"v\",\"access_token\":\"t\"}");
    is_str(s, "json{?(20):str(1),access_token:str(1)}", "token-like key hidden");
    ok(strstr(s, "eyJ") == NULL, "no key bytes of a hidden key");
    is_str(shape_of(p, "{\"abcdefghijklmnopqrstuvwxyz012345\":1}"),
           "json{abcdefghijklmnopqrstuvwxyz012345:int}", "32-byte key shown");
    is_str(shape_of(p, "{\"abcdefghijklmnopqrstuvwxyz0123456\":1}"),
           "json{?(33):int}", "33-byte key hidden");
    is_str(shape_of(p, "{\"_x\":1,\"9a\":1,\"\":1,\"a-b\":1,\"cl\\u00e9\":1}"),
           "json{_x:int,?(2):int,?(0):int,?(3):int,?(4):int}",
           "key rule [a-z_][a-z0-9_]*");
    is_str(shape_of(p, "{\"a b\":1,\"a\\nb\":1,\"a{b}\":1}"),
           "json{?(3):int,?(3):int,?(4):int}", "keys that would break a log line");
}

static void test_json_cap(apr_pool_t *p)
{
    json_t *o = json_object();
    const char *s;
    char key[16];
    int i;

    /* "json{" + n * "kNN:int" + (n - 1) commas + "}" = 8n + 5 bytes. */
    for (i = 0; i < 59; i++) {
        apr_snprintf(key, sizeof(key), "k%02d", i);
        json_object_set_new(o, key, json_integer(i));
    }
    s = alx_shape_json(p, o);
    is_int(strlen(s), 477, "59 members fit (477 bytes)");
    ok(ends_with(s, "k58:int}"), "whole shape ends in }");
    json_object_set_new(o, "k59", json_integer(59));
    s = alx_shape_json(p, o);
    is_int(strlen(s), 479, "60th member does not fit");
    ok(ends_with(s, "k58:int..."), "cut shape ends in ... after a whole member");

    for (i = 60; i < 10000; i++) {
        apr_snprintf(key, sizeof(key), "k%d", i);
        json_object_set_new(o, key, json_integer(i));
    }
    s = alx_shape_json(p, o);
    ok(strlen(s) <= ALX_SHAPE_MAX + 3, "10000 keys: capped (%d bytes)",
       (int)strlen(s));
    ok(ends_with(s, "..."), "10000 keys: ends in ...");
    json_decref(o);

    o = json_object();
    for (i = 0; i < 40; i++) {
        apr_snprintf(key, sizeof(key), "Key%d", i);
        json_object_set_new(o, key, json_string("value"));
    }
    s = alx_shape_json(p, o);
    ok(strlen(s) <= ALX_SHAPE_MAX + 3 && strncmp(s, "json{?(4):str(5),", 17) == 0,
       "hidden keys are capped too");
    json_decref(o);
}

/* A shape that fills the cap exactly is whole; one byte more and it is cut
 * after the last whole member. */
static void test_json_cap_exact(apr_pool_t *p)
{
    json_t *o = json_object();
    const char *s;
    char key[16];
    int i;

    /* "json{" + 58 * "kNN:int" + 57 commas = 468 bytes before the last. */
    for (i = 0; i < 58; i++) {
        apr_snprintf(key, sizeof(key), "k%02d", i);
        json_object_set_new(o, key, json_integer(i));
    }
    json_object_set_new(o, "abcdef", json_integer(0));
    s = alx_shape_json(p, o);
    is_int(strlen(s), ALX_SHAPE_MAX, "a shape of exactly the cap fits");
    ok(ends_with(s, ",abcdef:int}"), "and ends in its last member and }");
    json_object_del(o, "abcdef");
    json_object_set_new(o, "abcdefg", json_integer(0));
    s = alx_shape_json(p, o);
    is_int(strlen(s), 471, "one byte over the cap: cut");
    ok(ends_with(s, "k57:int..."), "cut after the last member that fits");
    json_decref(o);
}

static void test_json_hostile(apr_pool_t *p)
{
    json_t *o = json_object();
    json_t *arr = json_array();
    char *big = apr_palloc(p, 100001);
    int i;

    /* A key is read as the C string jansson gives: up to its first NUL. */
    json_object_setn_new_nocheck(o, "ab\0SECRET", 9, json_integer(1));
    json_object_setn_new_nocheck(o, "\0SECRET", 7, json_integer(1));
    json_object_setn_new_nocheck(o, "A\0b", 3, json_integer(1));
    is_str(alx_shape_json(p, o), "json{ab:int,?(0):int,?(1):int}",
           "keys with a NUL: the bytes before it");
    json_decref(o);

    o = json_object();
    json_object_set_new(o, "_", json_stringn("a\0b", 3));
    json_object_set_new(o, "abcdefghijklmnopqrstuvwxyz012345678901234",
                        json_string(""));
    json_object_set_new_nocheck(o, "\xff\xfe", json_null());
    is_str(alx_shape_json(p, o), "json{_:str(3),?(41):str(0),?(2):null}",
           "one-byte key, NUL in a value counts, long and non-UTF-8 keys");
    json_decref(o);

    memset(big, 'x', 100000);
    big[100000] = '\0';
    for (i = 0; i < 1000; i++)
        json_array_append_new(arr, json_integer(i));
    o = json_object();
    json_object_set_new(o, "s9", json_stringn(big, 9));
    json_object_set_new(o, "s10", json_stringn(big, 10));
    json_object_set_new(o, "s99", json_stringn(big, 99));
    json_object_set_new(o, "s100", json_stringn(big, 100));
    json_object_set_new(o, "big", json_string(big));
    json_object_set_new(o, "a", arr);
    json_object_set_new(o, "e", json_array());
    is_str(alx_shape_json(p, o), "json{s9:str(9),s10:str(10),s99:str(99),"
           "s100:str(100),big:str(100000),a:arr(1000),e:arr(0)}",
           "counts at each number of digits");
    is_str(alx_shape_json(p, arr), "json:arr(1000)", "top-level count");
    json_decref(o);
    is_str(shape_of(p, "{\"o\":{\"a\":{\"b\":1},\"c\":[]}}"), "json{o:obj(2)}",
           "nested object: its member count only");
}

static void test_json_nested(apr_pool_t *p)
{
    char *text = apr_palloc(p, 2 * 1500 + 16);
    char *c = text;
    int i;

    c += sprintf(c, "{\"a\":");
    for (i = 0; i < 1500; i++)
        *c++ = '[';
    for (i = 0; i < 1500; i++)
        *c++ = ']';
    strcpy(c, "}");
    is_str(shape_of(p, text), "json{a:arr(1)}", "deep nesting shown one level");
}

static void test_form(apr_pool_t *p)
{
    static const char *const github[] = {
        "access_token", "gho_16C7e42F292c6912E7710c838347Ae178B4a",
        "scope", "repo,gist", "token_type", "bearer", NULL
    };
    static const char *const hostile[] = {
        "gho_16C7e42F292c6912E7710c838347Ae178B4a", "", "", "x",
        "code", "abc", "code", "de", NULL
    };
    apr_array_header_t *many = apr_array_make(p, 16, sizeof(alx_pair_t));
    const char *s;
    int i;

    is_str(alx_shape_form(p, pairs_of(p, github)),
           "form{access_token:str(40),scope:str(9),token_type:str(6)}",
           "GitHub form answer");
    s = alx_shape_form(p, pairs_of(p, hostile));
    is_str(s, "form{?(40):str(0),?(0):str(1),code:str(3),code:str(2)}",
           "token as name hidden, duplicates shown");
    ok(strstr(s, "gho_") == NULL, "no token bytes in the form shape");
    is_str(alx_shape_form(p, NULL), "form{}", "no pairs");
    for (i = 0; i < 10000; i++) {
        alx_pair_t *pair = apr_array_push(many);
        pair->name = apr_psprintf(p, "n%d", i);
        pair->value = "v";
    }
    s = alx_shape_form(p, many);
    ok(strlen(s) <= ALX_SHAPE_MAX + 3 && ends_with(s, "..."),
       "10000 pairs: capped");
    ok(strlen(s) == 481 && ends_with(s, ",n43:str(1)..."),
       "10000 pairs: cut after the last whole pair that fits");
}

static void test_form_hostile(apr_pool_t *p)
{
    apr_array_header_t *pairs = apr_array_make(p, 4, sizeof(alx_pair_t));
    alx_pair_t *pair;
    char *big = apr_palloc(p, 100001);

    memset(big, 'v', 100000);
    big[100000] = '\0';
    pair = apr_array_push(pairs);
    pair->name = NULL;
    pair->value = NULL;
    pair = apr_array_push(pairs);
    pair->name = "abcdefghijklmnopqrstuvwxyz012345";
    pair->value = big;
    pair = apr_array_push(pairs);
    pair->name = "abcdefghijklmnopqrstuvwxyz0123456";
    pair->value = "a b";
    pair = apr_array_push(pairs);
    pair->name = "caf\xc3\xa9";
    pair->value = "";
    is_str(alx_shape_form(p, pairs),
           "form{?(0):str(0),abcdefghijklmnopqrstuvwxyz012345:str(100000),"
           "?(33):str(3),?(5):str(0)}",
           "NULL name and value, 32- and 33-byte names, long value, UTF-8 name");
}

static void test_opaque(apr_pool_t *p)
{
    is_str(alx_shape_opaque(p, "html", 1234), "html(1234)", "html");
    is_str(alx_shape_opaque(p, "gzip", 77), "gzip(77)", "gzip");
    is_str(alx_shape_opaque(p, "bad-json", 9), "bad-json(9)", "bad-json");
    is_str(alx_shape_opaque(p, "html", 0), "empty", "length 0 is empty");
    is_str(alx_shape_opaque(p, NULL, 5), "body(5)", "no kind");
    is_str(alx_shape_opaque(p, "a b\n{", 3), "a?b?" "?(3)", "kind kept one token");
    is_str(alx_shape_opaque(p, "text", (apr_off_t)1 << 40), "text(1099511627776)",
           "large length");
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_json_members(p);
    test_json_top_level(p);
    test_json_keys(p);
    test_json_cap(p);
    test_json_cap_exact(p);
    test_json_hostile(p);
    test_json_nested(p);
    test_form(p);
    test_form_hostile(p);
    test_opaque(p);
    apr_pool_destroy(p);
    apr_terminate();
    return tap_done();
}

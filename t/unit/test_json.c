/* Unit tests for lib/alx_json.c: ownership by a pool, and alx_json_compact,
 * which must give json_dumps(v, JSON_COMPACT)'s bytes for every value. */
#include <float.h>
#include <limits.h>
#include <stdlib.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "alx_json.h"
#include "tap.h"

/* Offset of the first difference, for the diagnostic. */
static size_t first_diff(const char *a, size_t alen, const char *b,
                         size_t blen)
{
    size_t i;

    for (i = 0; i < alen && i < blen && a[i] == b[i]; i++)
        ;
    return i;
}

/* 1 when alx_json_compact and json_dumps agree on v: the same bytes (with a
 * NUL after them and the length in *len), or both refuse it. *dumped tells
 * which. */
static int agrees(apr_pool_t *p, const json_t *v, int *dumped)
{
    char *want = json_dumps(v, JSON_COMPACT);
    apr_size_t len = 12345;
    const char *got = alx_json_compact(p, v, &len);
    int same;

    *dumped = want != NULL;
    if (!want)
        return got == NULL && len == 0;
    same = got != NULL && len == strlen(want)
           && memcmp(got, want, len + 1) == 0;
    if (!same) {
        size_t wlen = strlen(want);
        size_t at = got ? first_diff(got, len, want, wlen) : 0;

        printf("#   lengths: got %lu, json_dumps %lu; first difference at "
               "%lu\n", (unsigned long)len, (unsigned long)wlen,
               (unsigned long)at);
        if (wlen < 400)
            printf("#   got: '%s'\n#   expected: '%s'\n",
                   got ? got : "(null)", want);
    }
    free(want);
    return same;
}

/* v (released here) dumps, and exactly as jansson dumps it. */
static void is_dump(apr_pool_t *p, json_t *v, const char *what)
{
    int dumped = 0;

    ok(v != NULL && agrees(p, v, &dumped) && dumped, "same as json_dumps: %s",
       what);
    json_decref(v);
}

/* v (released here) is refused, by jansson and by us. */
static void is_refused(apr_pool_t *p, json_t *v, const char *what)
{
    int dumped = 1;

    ok(v != NULL && agrees(p, v, &dumped) && !dumped, "refused like "
       "json_dumps: %s", what);
    json_decref(v);
}

/* v (released here) dumps as want, by jansson and by us: pins down what
 * jansson does, so a comparison with it is not a comparison of two
 * mistakes. */
static void is_text(apr_pool_t *p, json_t *v, const char *want,
                    const char *what)
{
    char *theirs = v ? json_dumps(v, JSON_COMPACT) : NULL;

    is_str(theirs, want, "json_dumps gives %s", what);
    is_str(v ? alx_json_compact(p, v, NULL) : NULL, want, "and so do we: %s",
           what);
    free(theirs);
    json_decref(v);
}

static json_t *one_string(const char *s, size_t len)
{
    json_t *o = json_object();

    json_object_set_new(o, "s", json_stringn_nocheck(s, len));
    return o;
}

static json_t *one_key(const char *k, size_t len)
{
    json_t *o = json_object();

    json_object_setn_new_nocheck(o, k, len, json_integer(1));
    return o;
}

static void test_own(apr_pool_t *p)
{
    apr_pool_t *sub;
    json_t *v, *kept;

    ok(alx_json_own(p, NULL) == NULL, "NULL passes through");

    apr_pool_create(&sub, p);
    v = json_object();
    kept = json_incref(v);              /* our own reference, to watch */
    ok(alx_json_own(sub, v) == v, "returns the value it was given");
    is_int(v->refcount, 2, "owning takes no extra reference");
    apr_pool_clear(sub);
    is_int(kept->refcount, 1, "clearing the pool releases the pool's reference");
    json_decref(kept);

    v = json_string("x");
    kept = json_incref(v);
    alx_json_own(sub, v);
    apr_pool_destroy(sub);
    is_int(kept->refcount, 1, "destroying the pool releases it too");
    json_decref(kept);
}

static void test_shapes(apr_pool_t *p)
{
    json_t *v;
    apr_size_t len = 7;
    const char *s;

    is_text(p, json_object(), "{}", "an empty object");
    is_text(p, json_array(), "[]", "an empty array");
    is_text(p, json_pack("{s:{},s:[],s:[{}]}", "a", "b", "c"),
            "{\"a\":{},\"b\":[],\"c\":[{}]}", "empty containers inside");
    is_text(p, json_pack("[b,b,n]", 1, 0), "[true,false,null]",
            "true, false, null");
    is_text(p, json_pack("{s:s,s:s,s:i,s:s,s:s}",
                         "access_token", "Atza|IwEBIDx3vYqFQm0cN9aLZr6",
                         "token_type", "bearer", "expires_in", 600,
                         "refresh_token", "Atzr|IwEBIJq2", "scope", "profile"),
            "{\"access_token\":\"Atza|IwEBIDx3vYqFQm0cN9aLZr6\","
            "\"token_type\":\"bearer\",\"expires_in\":600,"
            "\"refresh_token\":\"Atzr|IwEBIJq2\",\"scope\":\"profile\"}",
            "a token answer");

    /* json_dumps without JSON_ENCODE_ANY refuses a bare scalar */
    is_refused(p, json_string("x"), "a bare string");
    is_refused(p, json_integer(1), "a bare integer");
    is_refused(p, json_real(1.5), "a bare real");
    is_refused(p, json_true(), "a bare true");
    is_refused(p, json_null(), "a bare null");
    s = alx_json_compact(p, NULL, &len);
    ok(s == NULL && len == 0, "NULL gives NULL and length 0");

    v = json_pack("{s:i}", "n", 1);
    s = alx_json_compact(p, v, NULL);
    is_str(s, "{\"n\":1}", "the length pointer may be NULL");
    json_decref(v);
}

/* Insertion order, through replacements and deletions, as jansson walks
 * it. */
static void test_order(apr_pool_t *p)
{
    json_t *o = json_object();

    json_object_set_new(o, "b", json_integer(1));
    json_object_set_new(o, "a", json_integer(2));
    json_object_set_new(o, "c", json_integer(3));
    json_object_del(o, "a");
    json_object_set_new(o, "a", json_integer(4));
    json_object_set_new(o, "b", json_integer(5));
    is_text(p, json_incref(o), "{\"b\":5,\"c\":3,\"a\":4}",
            "members in insertion order, a replaced one in its place");
    is_dump(p, o, "insertion order");
}

static void test_escapes(apr_pool_t *p)
{
    char s[8], label[64];
    int c;

    is_text(p, json_pack("{s:s}", "q", "a\"b\\c/d"),
            "{\"q\":\"a\\\"b\\\\c/d\"}", "quote and backslash, '/' as is");
    is_text(p, json_pack("{s:s}", "c", "\b\f\n\r\t"),
            "{\"c\":\"\\b\\f\\n\\r\\t\"}", "the short escapes");
    is_text(p, json_pack("{s:s}", "c", "\x01\x1f\x7f"),
            "{\"c\":\"\\u0001\\u001F\x7f\"}",
            "other controls as upper-case \\u00XX, DEL as is");
    is_text(p, json_pack("{s:s%}", "z", "a\0b", (size_t)3),
            "{\"z\":\"a\\u0000b\"}", "an embedded NUL as \\u0000");
    is_text(p, one_key("k\0ey", 4), "{\"k\\u0000ey\":1}",
            "a NUL in a key too");
    is_dump(p, json_pack("{s:s%}", "z", "\0\0\0", (size_t)3),
            "only NULs");
    is_dump(p, json_pack("{s:s}", "\"\\\"", "\\"), "escapes in a key");

    for (c = 0; c < 0x20; c++) {
        s[0] = 'a';
        s[1] = (char)c;
        s[2] = 'b';
        apr_snprintf(label, sizeof(label), "control byte 0x%02x in a string",
                     c);
        is_dump(p, one_string(s, 3), label);
        apr_snprintf(label, sizeof(label), "control byte 0x%02x in a key", c);
        is_dump(p, one_key(s, 3), label);
        apr_snprintf(label, sizeof(label), "control byte 0x%02x alone", c);
        is_dump(p, one_string(s + 1, 1), label);
    }
    is_dump(p, one_string("a\x7f" "b", 3), "DEL in a string");
    is_dump(p, one_key("a\x7f" "b", 3), "DEL in a key");
    for (c = 0x20; c < 0x80; c++) {
        s[0] = (char)c;
        apr_snprintf(label, sizeof(label), "printable byte 0x%02x", c);
        is_dump(p, one_string(s, 1), label);
    }
}

/* UTF-8: passed through when valid, refused (in a string) as jansson
 * refuses it, and in a key the part jansson writes before giving up. */
static void test_utf8(apr_pool_t *p)
{
    static const char *const valid[] = {
        "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xe2\x82\xac",
        "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf0\x9f\x98\x80",
        "\xf4\x8f\xbf\xbf", "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93", NULL
    };
    static const char *const invalid[] = {
        "\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xc2", "\xc2\x41",
        "\xe0\x9f\xbf", "\xe2\x82", "\xe2\x28\xa1", "\xed\xa0\x80",
        "\xed\xbf\xbf", "\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80",
        "\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80", "\xfe", "\xff",
        "ok\xff", "a\nb\xff", "\t\xc0", NULL
    };
    char label[96], s[4];
    int i;

    for (i = 0; valid[i]; i++) {
        apr_snprintf(label, sizeof(label), "valid UTF-8 #%d in a string", i);
        is_dump(p, json_pack("{s:s}", "u", valid[i]), label);
        apr_snprintf(label, sizeof(label), "valid UTF-8 #%d in a key", i);
        is_dump(p, json_pack("{s:i}", valid[i], 1), label);
    }
    for (i = 0; invalid[i]; i++) {
        apr_snprintf(label, sizeof(label), "invalid UTF-8 #%d in a string", i);
        is_refused(p, one_string(invalid[i], strlen(invalid[i])), label);
        apr_snprintf(label, sizeof(label), "invalid UTF-8 #%d in a key", i);
        is_dump(p, one_key(invalid[i], strlen(invalid[i])), label);
    }
    /* jansson drops the run since the last escape, and the closing quote */
    is_text(p, one_key("a\nb\xff", 4), "{\"a\\n:1}",
            "a key that fails keeps what jansson wrote of it");
    for (i = 0x80; i < 0x100; i++) {
        s[0] = (char)i;
        apr_snprintf(label, sizeof(label), "lone byte 0x%02x refused", i);
        is_refused(p, one_string(s, 1), label);
    }
}

static void test_integers(apr_pool_t *p)
{
    static const json_int_t ints[] = {
        0, 1, -1, 9, -9, 10, -10, 99, 100, 600, 2147483647LL, -2147483648LL,
        4294967296LL, 999999999999999999LL, 1000000000000000000LL,
        LLONG_MAX, LLONG_MIN, LLONG_MIN + 1, LLONG_MAX - 1
    };
    char label[64];
    size_t i;

    is_text(p, json_pack("[I,I]", (json_int_t)LLONG_MIN, (json_int_t)-7),
            "[-9223372036854775808,-7]", "the most negative integer");
    for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        apr_snprintf(label, sizeof(label), "integer %lld", (long long)ints[i]);
        is_dump(p, json_pack("{s:I}", "n", ints[i]), label);
    }
}

static void test_reals(apr_pool_t *p)
{
    static const double reals[] = {
        0.0, -0.0, 1.0, -1.0, 0.1, 0.5, 1.5, 100.0, 1e15, 1e16, 1e17, 1e21,
        1e22, 1e100, -1e100, 1e-5, 1e-7, 1.25e-300, 5e-324, DBL_MIN, DBL_MAX,
        -DBL_MAX, 123456789012345678.0, 3.141592653589793, 2.0 / 3.0
    };
    char label[64];
    size_t i;

    is_text(p, json_pack("[f,f,f,f]", 1.0, 0.5, 1e100, 1e-5),
            "[1.0,0.5,1e100,1.0000000000000001e-5]",
            "reals with '.0', no '+', no leading exponent zero");
    for (i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
        snprintf(label, sizeof(label), "real %.17g", reals[i]);
        is_dump(p, json_pack("{s:f}", "r", reals[i]), label);
    }
}

/* Nesting, shared values, and containers that hold themselves. */
static void test_nesting(apr_pool_t *p)
{
    json_t *a, *b, *deep, *shared;
    int i;

    is_dump(p, json_pack("{s:{s:[i,{s:s},[]],s:{s:n}},s:[[[i]]]}", "a", "b",
                         1, "c", "d", "e", "f", "g", 2), "mixed nesting");
    shared = json_pack("{s:i}", "k", 1);
    is_text(p, json_pack("[O,{s:O}]", shared, "x", shared),
            "[{\"k\":1},{\"x\":{\"k\":1}}]", "a value shared, not a loop");
    json_decref(shared);

    deep = json_array();
    for (i = 0; i < 3000; i++)
        deep = json_pack("{s:o}", "d", deep);
    is_dump(p, deep, "3000 levels deep");

    a = json_array();
    b = json_array();
    json_array_append(a, b);
    json_array_append(b, a);
    is_refused(p, json_incref(a), "an array that holds itself");
    json_array_clear(b);
    json_decref(a);
    json_decref(b);

    a = json_object();
    b = json_object();
    json_object_set(a, "b", b);
    json_object_set_new(b, "c", json_pack("[O]", a));
    is_refused(p, json_incref(a), "an object that holds itself");
    json_object_clear(b);
    json_decref(a);
    json_decref(b);
}

static void test_long(apr_pool_t *p)
{
    enum { BIG = 100 * 1024 };
    char *s = malloc(BIG);
    int i;

    memset(s, 'a', BIG);
    is_dump(p, json_pack("{s:s%}", "big", s, (size_t)BIG), "100 KB of 'a'");
    is_dump(p, one_key(s, BIG), "a 100 KB key");
    for (i = 0; i < BIG; i++)
        s[i] = (char)(i % 0x20);
    is_dump(p, json_pack("{s:s%}", "ctl", s, (size_t)BIG),
            "100 KB of control bytes");
    for (i = 0; i + 4 <= BIG; i += 4)
        memcpy(s + i, (i / 4) % 3 ? "\xe2\x82\xac\"" : "\xf0\x9f\x98\x80", 4);
    is_dump(p, json_pack("{s:s%}", "utf", s, (size_t)BIG),
            "100 KB of UTF-8 and quotes");
    s[BIG - 1] = '\xff';
    is_refused(p, one_string(s, BIG), "100 KB that fail at the last byte");
    free(s);
}

/* xorshift64*: the same values on every run. */
static apr_uint64_t rng = 0x9e3779b97f4a7c15ULL;

static apr_uint64_t next_random(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ULL;
}

static unsigned pick(unsigned n)
{
    return (unsigned)(next_random() % n);
}

/* Random text from pieces that matter to the dump; rarely invalid UTF-8,
 * which only json_stringn_nocheck / the _nocheck setters let in. */
static size_t random_text(char *buf, size_t max, int *bad)
{
    static const char *const pieces[] = {
        "a", "Z", "0", "_", "|", "-", " ", "/", "\"", "\\", "\n", "\t", "\b",
        "\x01", "\x1f", "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
        "token", "Atza|IwEB", "\0"
    };
    size_t n = 0, count = pick(24), i;

    *bad = 0;
    for (i = 0; i < count; i++) {
        const char *piece = pieces[pick(sizeof(pieces) / sizeof(pieces[0]))];
        size_t len = *piece ? strlen(piece) : 1;

        if (n + len > max)
            break;
        memcpy(buf + n, piece, len);
        n += len;
    }
    if (n < max && pick(50) == 0) {
        buf[n++] = (char)(0x80 + pick(0x80));
        *bad = 1;
    }
    return n;
}

static double random_real(void)
{
    apr_uint64_t bits;
    double d;

    if (pick(2))
        return (double)(apr_int64_t)next_random() / (double)(1 + pick(1000));
    do {
        bits = next_random();
        memcpy(&d, &bits, sizeof(d));
    } while (d != d || d - d != 0.0);   /* NaN or infinite */
    return d;
}

static json_t *random_value(int depth);

static json_t *random_object(int depth)
{
    json_t *o = json_object();
    unsigned members = pick(8), i;
    char key[128];
    int bad;

    for (i = 0; i < members; i++) {
        size_t len = random_text(key, sizeof(key), &bad);

        json_object_setn_new_nocheck(o, key, len, random_value(depth + 1));
    }
    return o;
}

static json_t *random_value(int depth)
{
    char text[128];
    size_t len;
    int bad;
    json_t *a;
    unsigned i, n;

    switch (pick(depth < 3 ? 9 : 7)) {
    case 0:
        len = random_text(text, sizeof(text), &bad);
        return json_stringn_nocheck(text, len);
    case 1:
        return json_integer((json_int_t)next_random() >> pick(64));
    case 2:
        return json_real(random_real());
    case 3:
        return json_true();
    case 4:
        return json_false();
    case 5:
        return json_null();
    case 6:
        return json_integer((json_int_t)pick(100000));
    case 7:
        return random_object(depth);
    default:
        a = json_array();
        for (i = 0, n = pick(6); i < n; i++)
            json_array_append_new(a, random_value(depth + 1));
        return a;
    }
}

static void test_random(apr_pool_t *p)
{
    apr_pool_t *sub;
    int i, dumped, refused = 0;

    apr_pool_create(&sub, p);
    for (i = 0; i < 3000; i++) {
        json_t *v = random_object(0);

        ok(agrees(sub, v, &dumped), "random object %d", i);
        refused += !dumped;
        json_decref(v);
        apr_pool_clear(sub);
    }
    apr_pool_destroy(sub);
    /* the mix holds both kinds, so both were compared */
    ok(refused > 10 && refused < 1500, "random objects: %d refused of 3000",
       refused);
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);

    test_own(p);
    test_shapes(p);
    test_order(p);
    test_escapes(p);
    test_utf8(p);
    test_integers(p);
    test_reals(p);
    test_nesting(p);
    test_long(p);
    test_random(p);

    apr_pool_destroy(p);
    apr_terminate();
    return tap_done();
}

/* Unit tests for the form codec (lib/alx_form.c). */
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "alx_form.h"
#include "tap.h"

static apr_pool_t *pool;

/* Parses a literal (NUL bytes allowed, hence the explicit length). */
static apr_array_header_t *parse_len(const char *body, apr_size_t len,
                                     apr_status_t *rv, const char **err)
{
    apr_array_header_t *pairs = NULL;

    *rv = alx_form_parse(pool, body, len, &pairs, err);
    return pairs;
}

static apr_array_header_t *parse(const char *body)
{
    apr_status_t rv;
    const char *err;
    apr_array_header_t *pairs = parse_len(body, strlen(body), &rv, &err);

    return rv == APR_SUCCESS ? pairs : NULL;
}

static const alx_pair_t *pair_at(const apr_array_header_t *pairs, int i)
{
    return &((const alx_pair_t *)pairs->elts)[i];
}

/* "name=value|name=value" rendering, to compare a whole array at once. */
static const char *dump(const apr_array_header_t *pairs)
{
    const char *s = "";
    int i;

    if (!pairs)
        return "(error)";
    for (i = 0; i < pairs->nelts; i++)
        s = apr_pstrcat(pool, s, i ? "|" : "", pair_at(pairs, i)->name, "=",
                        pair_at(pairs, i)->value, NULL);
    return s;
}

static void expect_bad(const char *body, apr_size_t len, const char *what)
{
    apr_status_t rv;
    const char *err = NULL;
    apr_array_header_t *pairs = parse_len(body, len, &rv, &err);

    is_int(rv, APR_EINVAL, "%s is rejected", what);
    ok(err != NULL && pairs == NULL, "%s gives an error, no pairs", what);
    /* The description quotes no input: the marker never shows up in it. */
    ok(err != NULL && strstr(err, "SECRET") == NULL,
       "%s: error does not quote input", what);
}

static void test_parse(void)
{
    apr_status_t rv;
    const char *err = "unset";
    apr_array_header_t *pairs;

    pairs = parse_len("", 0, &rv, &err);
    ok(rv == APR_SUCCESS && pairs && pairs->nelts == 0, "empty body: no pairs");
    is_str(err, NULL, "success clears err");
    is_str(dump(parse("grant_type=authorization_code&code=abc")),
           "grant_type=authorization_code|code=abc", "two pairs in order");
    is_str(dump(parse("a=1&&b=2")), "a=1|b=2", "empty segment skipped");
    is_str(dump(parse("&&a=1&")), "a=1", "leading/trailing '&' skipped");
    is_str(dump(parse("&")), "", "lone '&' gives no pairs");
    is_str(dump(parse("flag&b=2")), "flag=|b=2", "name without '=' -> \"\"");
    is_str(dump(parse("a=")), "a=", "empty value");
    is_str(dump(parse("=v")), "=v", "empty name kept");
    is_str(dump(parse("a=b=c")), "a=b=c", "first '=' splits");
    is_str(dump(parse("a=1&a=2")), "a=1|a=2", "duplicates kept");
    is_str(dump(parse("a+b=c+d")), "a b=c d", "'+' is space in both sides");
    is_str(dump(parse("a=%2B%20%2b")), "a=+ +", "%%2B/%%2b/%%20 decoded");
    is_str(dump(parse("r=https%3A%2F%2Fx%2Fcb%3Fa%3D1%26b")),
           "r=https://x/cb?a=1&b", "escaped '&' and '=' stay in the value");
    is_str(dump(parse("u=%C3%A9")), "u=\xc3\xa9", "UTF-8 escapes");
    is_str(dump(parse("k=%7e~")), "k=~~", "raw and escaped '~'");

    expect_bad("a=%", 3, "lone '%'");
    expect_bad("a=%4", 4, "'%4'");
    expect_bad("a=%4&b=1", 8, "'%4' before '&'");
    expect_bad("a=%zz", 5, "'%zz'");
    expect_bad("a=%g1", 5, "'%g1'");
    expect_bad("SECRET=%00", 10, "'%00'");
    expect_bad("%=1", 3, "'%' in the name");
    expect_bad("a=SECRET\0b", 10, "raw NUL in the value");
    expect_bad("a\0=1", 4, "raw NUL in the name");

    /* len counts: what follows len is not read. */
    is_str(dump((pairs = parse_len("a=1&b=2", 3, &rv, &err))), "a=1",
           "only len bytes parsed");
    pairs = parse_len("a=1&b=2\0junk", 7, &rv, &err);
    is_str(dump(pairs), "a=1|b=2", "bytes after len ignored");
    pairs = parse_len("a=%4", 3, &rv, &err);
    is_int(rv, APR_EINVAL, "escape cut by len is bad");
}

/* The reason of a rejected body, or "(ok)". */
static const char *reason_of(const char *body, apr_size_t len)
{
    apr_status_t rv;
    const char *err = NULL;

    parse_len(body, len, &rv, &err);
    return rv == APR_SUCCESS ? "(ok)" : err;
}

#define BAD_ESCAPE "bad percent-encoding in form"
#define NUL_ESCAPE "percent-encoded NUL in form"
#define NUL_BYTE "NUL byte in form"

/* The reason is part of behaviour: it is the first problem from the left,
 * name before value, one segment after another. */
static void test_reasons(void)
{
    is_str(reason_of("a=%", 3), BAD_ESCAPE, "lone '%%': bad escape");
    is_str(reason_of("a=%00", 5), NUL_ESCAPE, "'%%00': encoded NUL");
    is_str(reason_of("a=b\0c", 5), NUL_BYTE, "raw NUL");
    is_str(reason_of("a%zz=%00", 8), BAD_ESCAPE, "name's problem comes first");
    is_str(reason_of("a%00=%zz", 8), NUL_ESCAPE, "name's problem comes first (2)");
    is_str(reason_of("a=%zz\0", 6), BAD_ESCAPE, "leftmost problem in the value");
    is_str(reason_of("a=1&b\0=%zz", 10), NUL_BYTE, "leftmost in a later segment");
    is_str(reason_of("a=%0\0", 5), BAD_ESCAPE,
           "escape whose digit is a NUL: bad escape, not NUL byte");
    is_str(reason_of("%4=1", 4), BAD_ESCAPE, "escape cut by '='");
    is_str(reason_of("a=%2&6", 6), BAD_ESCAPE, "escape cut by '&'");
    is_str(reason_of("a=%4", 4), BAD_ESCAPE, "escape cut by the end");
    is_str(reason_of("a=%41", 4), BAD_ESCAPE, "escape cut by len");
    is_str(reason_of("aaaaaaaaaaaaaaaa%", 17), BAD_ESCAPE,
           "'%%' after a long plain run");
    is_str(reason_of("aaaaaaaaaaaaaaa\0", 16), NUL_BYTE,
           "NUL after a long plain run");
    is_str(reason_of("%0G", 3), BAD_ESCAPE, "'G' is no hex digit");
    is_str(reason_of("%G0", 3), BAD_ESCAPE, "nor as the first digit");
    is_str(reason_of("a=%FF%fF%Ff%e9", 14), "(ok)", "hex digits of either case");
}

static void test_decode_bytes(void)
{
    apr_array_header_t *pairs;
    char *out = NULL;

    is_str(dump(parse("a%3Db=c%26d%3d")), "a=b=c&d=",
           "escaped '=' and '&' are data, in name and value");
    is_str(dump(parse("&=&")), "=", "a lone '=': empty name, empty value");
    is_str(dump(parse("a=\x01 !\"#$'()*,x&\x7f\x80\xff=1")),
           "a=\x01 !\"#$'()*,x|\x7f\x80\xff=1",
           "control, punctuation and high bytes are copied");
    pairs = parse("%Ff%e9=%C3%A9");
    ok(pairs && pairs->nelts == 1
       && strcmp(pair_at(pairs, 0)->name, "\xff\xe9") == 0
       && strcmp(pair_at(pairs, 0)->value, "\xc3\xa9") == 0, "escaped high bytes");
    ok(alx_form_unescape(pool, "a=b&c=d+e", 9, &out) == APR_SUCCESS
       && strcmp(out, "a=b&c=d e") == 0, "unescape keeps '&' and '='");
    ok(alx_form_unescape(pool, "%26%3D%2B+", 10, &out) == APR_SUCCESS
       && strcmp(out, "&=+ ") == 0, "unescape of escaped '&' '=' '+'");
}

/* Plain runs are read eight bytes at a time: each special byte must be seen
 * wherever it falls in a run. */
static void test_special_at_every_offset(void)
{
    static const char *const special[] = { "+", "%41", "=", "&", "\x01", " " };
    static const char *const decoded[] = { " ", "A", "=", NULL, "\x01", " " };
    char body[64], want[64];
    apr_size_t k, off;

    for (k = 0; k < sizeof(special) / sizeof(special[0]); k++) {
        int bad = 0;

        for (off = 0; off < 24; off++) {
            const char *got;

            memcpy(body, "v=", 2);
            memset(body + 2, 'x', off);
            strcpy(body + 2 + off, special[k]);
            strcat(body, "yyyyyyyyyyyyyyyy");
            if (decoded[k]) {
                memcpy(want, "v=", 2);
                memset(want + 2, 'x', off);
                strcpy(want + 2 + off, decoded[k]);
                strcat(want, "yyyyyyyyyyyyyyyy");
            }
            else {
                want[0] = '\0';
                strcat(want, "v=");
                memset(want + 2, 'x', off);
                strcpy(want + 2 + off, "|yyyyyyyyyyyyyyyy=");
            }
            got = dump(parse(body));
            if (strcmp(got, want) != 0) {
                if (!bad)
                    printf("# offset %lu: got '%s'\n", (unsigned long)off, got);
                bad++;
            }
        }
        ok(bad == 0, "'%s' at every offset of a plain run",
           special[k][0] == '\x01' ? "\\x01" : special[k]);
    }
}

static void test_long_input(void)
{
    apr_size_t n = 200000, i;
    char *big = apr_palloc(pool, n + 3);
    char *body;
    apr_array_header_t *pairs;
    apr_status_t rv;
    const char *err;

    big[0] = 'x';
    big[1] = '=';
    for (i = 2; i < n + 2; i++)
        big[i] = 'v';
    big[n + 2] = '\0';
    pairs = parse_len(big, n + 2, &rv, &err);
    ok(rv == APR_SUCCESS && pairs->nelts == 1
       && strlen(pair_at(pairs, 0)->value) == n, "200000-byte value");
    memcpy(big + n - 1, "%41", 3);
    pairs = parse_len(big, n + 2, &rv, &err);
    ok(rv == APR_SUCCESS && strlen(pair_at(pairs, 0)->value) == n - 2
       && strcmp(pair_at(pairs, 0)->value + n - 5, "vvA") == 0,
       "escape at the end of a 200000-byte value");

    /* 20000 distinct names: duplicate check must stay fast and say none. */
    body = "";
    pairs = apr_array_make(pool, 20000, sizeof(alx_pair_t));
    for (i = 0; i < 20000; i++)
        alx_form_set(pairs, apr_psprintf(pool, "n%lu", (unsigned long)i), "v");
    body = alx_form_encode(pool, pairs, NULL);
    pairs = parse(body);
    ok(pairs && pairs->nelts == 20000, "20000 pairs parsed");
    is_str(alx_form_duplicate(pairs), NULL, "20000 distinct names");
    alx_form_set(pairs, "n19999", "w");
    *(alx_pair_t *)apr_array_push(pairs) = *pair_at(pairs, 0);
    is_str(alx_form_duplicate(pairs), "n0", "duplicate found at the end");
}

static void test_get_count_duplicate(void)
{
    apr_array_header_t *pairs = parse("a=1&b=2&a=3&c=&B=9");

    is_str(alx_form_get(pairs, "a"), "1", "get: first value");
    is_str(alx_form_get(pairs, "c"), "", "get: empty value");
    is_str(alx_form_get(pairs, "b"), "2", "get: names are case-sensitive");
    is_str(alx_form_get(pairs, "d"), NULL, "get: absent");
    is_int(alx_form_count(pairs, "a"), 2, "count: twice");
    is_int(alx_form_count(pairs, "b"), 1, "count: once");
    is_int(alx_form_count(pairs, "z"), 0, "count: never");
    is_str(alx_form_duplicate(pairs), "a", "duplicate: a");
    is_str(alx_form_duplicate(parse("x=1&y=2&y=3&x=4")), "y",
           "duplicate: first name seen again");
    is_str(alx_form_duplicate(parse("a=1&A=1&b")), NULL,
           "duplicate: none (case differs)");
    is_str(alx_form_duplicate(parse("")), NULL, "duplicate: empty");
    is_str(alx_form_duplicate(parse("flag&flag")), "flag",
           "duplicate: names without '='");
    /* both sides of the switch from comparing to hashing (12 pairs) */
    is_str(alx_form_duplicate(parse("a&b&c&d&e&f&g&h&i&j&k&a")), "a",
           "duplicate: 12 pairs, last repeats the first");
    is_str(alx_form_duplicate(parse("a&b&c&d&e&f&g&h&i&j&k&l")), NULL,
           "duplicate: 12 distinct pairs");
    is_str(alx_form_duplicate(parse("a&b&c&d&e&f&g&h&i&j&k&l&a")), "a",
           "duplicate: 13 pairs, last repeats the first");
    is_str(alx_form_duplicate(parse("a&b&c&d&e&f&g&h&i&j&k&l&m")), NULL,
           "duplicate: 13 distinct pairs");
    is_str(alx_form_duplicate(parse("a&b&c&d&e&f&g&h&i&j&k&l&m&l&b")), "l",
           "duplicate: 15 pairs, the first name seen again");
}

static void test_set_remove(void)
{
    apr_array_header_t *pairs = parse("a=1&b=2&a=3&c=4&a=5");
    char name[] = "d", value[] = "new";

    alx_form_set(pairs, "a", "x");
    is_str(dump(pairs), "a=x|b=2|c=4", "set replaces first, drops others");
    alx_form_set(pairs, name, value);
    name[0] = 'Z';
    value[0] = 'Z';
    is_str(dump(pairs), "a=x|b=2|c=4|d=new", "set appends a copy");
    alx_form_set(pairs, "c", "");
    is_str(dump(pairs), "a=x|b=2|c=|d=new", "set to empty keeps place");
    alx_form_remove(pairs, "b");
    is_str(dump(pairs), "a=x|c=|d=new", "remove one");
    alx_form_remove(pairs, "zz");
    is_str(dump(pairs), "a=x|c=|d=new", "remove absent: no change");
    pairs = parse("k=1&k=2&m=3&k=4");
    alx_form_remove(pairs, "k");
    is_str(dump(pairs), "m=3", "remove every occurrence");
    alx_form_remove(pairs, "m");
    is_int(pairs->nelts, 0, "remove last leaves empty");
    alx_form_set(pairs, "e", "1");
    is_str(dump(pairs), "e=1", "set on empty appends");
}

static void test_escape_unescape(void)
{
    char *out = NULL;

    is_str(alx_form_escape(pool, "AZaz09-._*"), "AZaz09-._*", "kept bytes");
    is_str(alx_form_escape(pool, "a b+c"), "a+b%2Bc", "space and '+'");
    is_str(alx_form_escape(pool, "~:/?#&=%"), "%7E%3A%2F%3F%23%26%3D%25",
           "reserved bytes escaped, upper-case hex");
    is_str(alx_form_escape(pool, "\xc3\xa9\x01\x7f\xff"), "%C3%A9%01%7F%FF",
           "high and control bytes");
    is_str(alx_form_escape(pool, ""), "", "empty");

    ok(alx_form_unescape(pool, "a+%41%2b", 8, &out) == APR_SUCCESS,
       "unescape ok");
    is_str(out, "a A+", "unescape result");
    ok(alx_form_unescape(pool, "abcdef", 3, &out) == APR_SUCCESS
       && strcmp(out, "abc") == 0, "unescape honours len");
    ok(alx_form_unescape(pool, "", 0, &out) == APR_SUCCESS && *out == '\0',
       "unescape empty");
    out = "untouched";
    is_int(alx_form_unescape(pool, "%", 1, &out), APR_EINVAL, "unescape '%%'");
    is_int(alx_form_unescape(pool, "%4", 2, &out), APR_EINVAL, "unescape '%%4'");
    is_int(alx_form_unescape(pool, "%zz", 3, &out), APR_EINVAL,
           "unescape '%%zz'");
    is_int(alx_form_unescape(pool, "%00", 3, &out), APR_EINVAL,
           "unescape '%%00'");
    is_int(alx_form_unescape(pool, "a\0b", 3, &out), APR_EINVAL,
           "unescape raw NUL");
    is_str(out, "untouched", "failed unescape leaves *out alone");
}

static void test_encode(void)
{
    apr_array_header_t *pairs = apr_array_make(pool, 4, sizeof(alx_pair_t));
    apr_size_t len = 99;
    const char *body;

    is_str(alx_form_encode(pool, pairs, &len), "", "encode empty");
    is_int(len, 0, "encode empty length");
    alx_form_set(pairs, "redirect_uri", "https://x/cb?a=1&b=2");
    alx_form_set(pairs, "a b", "c+d");
    alx_form_set(pairs, "empty", "");
    body = alx_form_encode(pool, pairs, &len);
    is_str(body, "redirect_uri=https%3A%2F%2Fx%2Fcb%3Fa%3D1%26b%3D2"
                 "&a+b=c%2Bd&empty=", "encode escapes both sides");
    is_int(len, strlen(body), "encode length");
    ok(alx_form_encode(pool, pairs, NULL) != NULL, "encode with NULL len");
    is_str(dump(parse(body)), dump(pairs), "round trip encode -> parse");
    body = "a=%7e&b=x+y&c";
    is_str(alx_form_encode(pool, parse(body), NULL), "a=%7E&b=x+y&c=",
           "parse -> encode normalises");
}

static void test_round_trip_all_bytes(void)
{
    apr_array_header_t *pairs = apr_array_make(pool, 1, sizeof(alx_pair_t));
    char all[256];
    const char *body;
    int i;

    for (i = 1; i < 256; i++)
        all[i - 1] = (char)i;
    all[255] = '\0';
    alx_form_set(pairs, all, all);
    body = alx_form_encode(pool, pairs, NULL);
    pairs = parse(body);
    ok(pairs && pairs->nelts == 1 && strcmp(pair_at(pairs, 0)->name, all) == 0
       && strcmp(pair_at(pairs, 0)->value, all) == 0,
       "bytes 1..255 survive encode -> parse");
}

static void test_form_shaped(void)
{
    const char *github = "access_token=gho_16C7e42F292c6912E7710c838347Ae178B4a"
                         "&scope=repo%2Cgist&token_type=bearer";

    ok(alx_form_is_form_shaped(github, strlen(github)), "GitHub answer");
    ok(alx_form_is_form_shaped("a=", 2), "empty value");
    ok(alx_form_is_form_shaped("x.y-z_1=%C3%A9", 14), "name bytes, escape");
    ok(!alx_form_is_form_shaped("", 0), "empty body");
    ok(!alx_form_is_form_shaped(NULL, 0), "NULL body");
    ok(!alx_form_is_form_shaped("hello world", 11), "plain text");
    ok(!alx_form_is_form_shaped("flag", 4), "no '='");
    ok(!alx_form_is_form_shaped("=v", 2), "empty name");
    ok(!alx_form_is_form_shaped("a=1&&b=2", 8), "empty segment");
    ok(!alx_form_is_form_shaped("a=1&", 4), "trailing '&'");
    ok(!alx_form_is_form_shaped("a b=1", 5), "space in name");
    ok(!alx_form_is_form_shaped("a:b=1", 5), "':' in name");
    ok(!alx_form_is_form_shaped("a=1 2", 5), "space in value");
    ok(!alx_form_is_form_shaped("a=1\n", 4), "newline at the end");
    ok(!alx_form_is_form_shaped("a=1\tb", 5), "tab in value");
    ok(!alx_form_is_form_shaped("a=%zz", 5), "bad escape");
    ok(!alx_form_is_form_shaped("a=%00", 5), "escaped NUL");
    ok(!alx_form_is_form_shaped("a=1\0", 4), "raw NUL");
    ok(alx_form_is_form_shaped("a=1&b=2junk", 7), "honours len");
    ok(!alx_form_is_form_shaped("<html>x=1</html>", 16), "HTML");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_parse();
    test_reasons();
    test_decode_bytes();
    test_special_at_every_offset();
    test_long_input();
    test_get_count_duplicate();
    test_set_remove();
    test_escape_unescape();
    test_encode();
    test_round_trip_all_bytes();
    test_form_shaped();
    apr_pool_destroy(pool);
    apr_terminate();
    return tap_done();
}

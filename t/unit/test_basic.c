/* Unit tests for the HTTP Basic codec (lib/alx_basic.c). */
#include <apr_base64.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "alx_basic.h"
#include "tap.h"

static apr_pool_t *pool;

/* "Basic " + base64 of len raw bytes (NUL bytes allowed). */
static const char *basic_of(const char *raw, int len)
{
    char *b64 = apr_palloc(pool, apr_base64_encode_len(len));

    apr_base64_encode_binary(b64, (const unsigned char *)raw, len);
    return apr_pstrcat(pool, "Basic ", b64, NULL);
}

static const char *basic_str(const char *raw)
{
    return basic_of(raw, (int)strlen(raw));
}

/* Parses and renders "id|secret", or "ENOENT"/"EINVAL". */
static const char *parsed(const char *header)
{
    const char *id = "unset", *secret = "unset", *err = "unset";
    apr_status_t rv = alx_basic_parse(pool, header, &id, &secret, &err);

    if (rv == APR_ENOENT)
        return err == NULL ? "ENOENT" : "ENOENT with err";
    if (rv != APR_SUCCESS)
        return err && !strstr(err, "SECRET") ? "EINVAL" : "EINVAL bad err";
    return apr_pstrcat(pool, id, "|", secret, NULL);
}

static void test_parse_good(void)
{
    is_str(parsed("Basic YWxleGE6czNjcmV0"), "alexa|s3cret", "plain pair");
    is_str(parsed(basic_str("alexa:s3cret")), "alexa|s3cret", "helper agrees");
    is_str(parsed("basic YWxleGE6czNjcmV0"), "alexa|s3cret", "scheme lower");
    is_str(parsed("BASIC YWxleGE6czNjcmV0"), "alexa|s3cret", "scheme upper");
    is_str(parsed("Basic    YWxleGE6czNjcmV0"), "alexa|s3cret", "many spaces");
    is_str(parsed("Basic YWxleGE6czNjcmV0  "), "alexa|s3cret",
           "trailing spaces");
    is_str(parsed(basic_str("id:")), "id|", "empty secret");
    is_str(parsed(basic_str("id:a:b")), "id|a:b", "first ':' splits");
    is_str(parsed(basic_str("a%3Ab%2Bc:s%3A%2B%25x")), "a:b+c|s:+%x",
           "RFC 6749 2.3.1: escaped ':' '+' '%%' in id and secret");
    is_str(parsed(basic_str("my+app:p+w")), "my+app|p+w",
           "'+' is a literal '+', not a space");
    is_str(parsed(basic_str("caf%C3%A9:\xc3\xa9t\xc3\xa9")),
           "caf\xc3\xa9|\xc3\xa9t\xc3\xa9", "UTF-8 raw and escaped");
    is_str(parsed(basic_str("ab:c")), "ab|c", "one '=' of padding");
    is_str(parsed(basic_str("a:b")), "a|b", "no padding needed");
    is_str(parsed(basic_str("a:bc")), "a|bc", "two '=' of padding");
}

static void test_parse_other(void)
{
    is_str(parsed(NULL), "ENOENT", "no header");
    is_str(parsed("Bearer abc"), "ENOENT", "Bearer");
    is_str(parsed("Digest username=\"x\""), "ENOENT", "Digest");
    is_str(parsed("BasicYWxleGE6czNjcmV0"), "ENOENT", "no space: other scheme");
    is_str(parsed("Basics YWxleGE6czNjcmV0"), "ENOENT", "'Basics' scheme");
    is_str(parsed(""), "ENOENT", "empty header");
    is_str(parsed("Bas"), "ENOENT", "short header");
}

static void test_parse_bad(void)
{
    is_str(parsed("Basic"), "EINVAL", "Basic without credentials");
    is_str(parsed("Basic "), "EINVAL", "Basic and a space");
    is_str(parsed("Basic    "), "EINVAL", "Basic and spaces");
    is_str(parsed("Basic\tYWxleGE6czNjcmV0"), "EINVAL", "tab separator");
    is_str(parsed("Basic YWxleGE6czNjcmV0!"), "EINVAL", "bad alphabet byte");
    is_str(parsed("Basic YWxl ZGE6czNj"), "EINVAL", "space inside base64");
    is_str(parsed("Basic YWxleGE6czNjcmV"), "EINVAL", "length not 4k");
    is_str(parsed("Basic YWI6Yw"), "EINVAL", "padding missing");
    is_str(parsed("Basic YWI6Yw="), "EINVAL", "padding short");
    is_str(parsed("Basic YWI6Yw==="), "EINVAL", "too much padding");
    is_str(parsed("Basic ===="), "EINVAL", "only padding");
    is_str(parsed("Basic YW=6YWJj"), "EINVAL", "'=' in the middle");
    is_str(parsed("Basic YWI6Yx=="), "EINVAL", "non-zero bits before '=='");
    is_str(parsed("Basic YWI6YWJ="), "EINVAL", "non-zero bits before '='");
    is_str(parsed("Basic YWI6Y-_="), "EINVAL", "base64url alphabet");
    is_str(parsed(basic_str("SECRET")), "EINVAL", "no ':'");
    is_str(parsed(basic_str(":SECRET")), "EINVAL", "empty client id");
    is_str(parsed(basic_str("%3A:x")), ":|x",
           "id that is only an escaped ':'");
    is_str(parsed(basic_str("%00:SECRET")), "%00|SECRET",
           "id that is only an escaped NUL stays literal, so not empty");
    is_str(parsed(basic_of("id:SE\0CRET", 10)), "EINVAL", "raw NUL");
    is_str(parsed(basic_of("i\0d:SECRET", 10)), "EINVAL", "raw NUL in id");
    is_str(parsed(basic_str("id:SECRET\n")), "EINVAL", "raw newline");
    is_str(parsed(basic_str("id:SE\tCRET")), "EINVAL", "raw tab");
    is_str(parsed(basic_str("id:SECRET\x7f")), "EINVAL", "raw DEL");
    is_str(parsed(basic_str("\x01id:SECRET")), "EINVAL", "control in id");
    is_str(parsed(basic_str("id:%41\x1f")), "EINVAL",
           "raw control next to a valid escape");
}

/* Raw credentials, as most clients send them: a valid %XX is decoded, '+'
 * and every other '%' are literal, nothing is rejected for its escapes. */
static void test_parse_lenient(void)
{
    is_str(parsed(basic_str("id:a+b")), "id|a+b", "raw '+' stays '+'");
    is_str(parsed(basic_str("id:a/b")), "id|a/b", "raw '/'");
    is_str(parsed(basic_str("id:ab==")), "id|ab==", "raw '=' (base64 secret)");
    is_str(parsed(basic_str("id:Zm9v+/Ym=Fy==")), "id|Zm9v+/Ym=Fy==",
           "a base64 secret with '+' '/' '='");
    is_str(parsed(basic_str("id:a~b")), "id|a~b", "raw '~'");
    is_str(parsed(basic_str("id:50%off")), "id|50%off", "stray '%%' kept");
    is_str(parsed(basic_str("id:%")), "id|%", "secret that is only '%%'");
    is_str(parsed(basic_str("id:%4")), "id|%4", "'%%4' at the end kept");
    is_str(parsed(basic_str("id:a%4")), "id|a%4", "'%%4' after a byte kept");
    is_str(parsed(basic_str("id:%zz")), "id|%zz", "'%%zz' kept");
    is_str(parsed(basic_str("id:%4z%z4")), "id|%4z%z4", "half-hex escapes kept");
    is_str(parsed(basic_str("id:100%")), "id|100%", "trailing '%%' kept");
    is_str(parsed(basic_str("id:%41%62")), "id|Ab", "valid %%XX decoded");
    is_str(parsed(basic_str("id:%c3%a9")), "id|\xc3\xa9",
           "lower-case hex decoded");
    is_str(parsed(basic_str("id:%2B")), "id|+", "'%%2B' decodes to '+'");
    is_str(parsed(basic_str("id:%2b+")), "id|++", "'%%2b' and a raw '+'");
    is_str(parsed(basic_str("id:%25")), "id|%", "'%%25' decodes to '%%'");
    is_str(parsed(basic_str("id:%2541")), "id|%41", "decoded once only");
    is_str(parsed(basic_str("id:%%41")), "id|%A", "stray '%%' then an escape");
    is_str(parsed(basic_str("id:%20")), "id| ", "'%%20' decodes to a space");
    is_str(parsed(basic_str("50%off+x:y")), "50%off+x|y", "same rule for the id");
    is_str(parsed(basic_str("i%64:%3A")), "id|:", "escapes in id and secret");
}

/* %XX that would decode to NUL or another control byte stays literal: the
 * result never holds one, and such credentials are not rejected. */
static void test_parse_control_escapes(void)
{
    is_str(parsed(basic_str("id:%00")), "id|%00", "'%%00' stays literal");
    is_str(parsed(basic_str("id:a%00b")), "id|a%00b", "inner '%%00' literal");
    is_str(parsed(basic_str("id:%0A%0d")), "id|%0A%0d", "CR, LF literal");
    is_str(parsed(basic_str("id:%09")), "id|%09", "tab literal");
    is_str(parsed(basic_str("id:%1F%1f")), "id|%1F%1f", "0x1f literal");
    is_str(parsed(basic_str("id:%7F")), "id|%7F", "DEL literal");
    is_str(parsed(basic_str("i%7Fd:s")), "i%7Fd|s", "DEL in id literal");
    is_str(parsed(basic_str("id:%00%41")), "id|%00A",
           "a literal '%%00' does not stop the next escape");
}

/* alx_basic_build then alx_basic_parse gives back exactly id and secret. */
static void round_trip(const char *id, const char *secret, const char *what)
{
    is_str(parsed(alx_basic_build(pool, id, secret)),
           apr_pstrcat(pool, id, "|", secret, NULL), "round trip: %s", what);
}

static void test_round_trips(void)
{
    static const char *const secrets[] = {
        "+", "/", "=", "%", "~", "50%off", "%4", "%zz", "%41", "%2B", "%00",
        "%0A", "%7F", "100%", "a b", " ", "Zm9v+/Ym=Fy==", "p:q", "caf\xc3\xa9",
        "+/=%~ 50%off%4%zz%41%2B%00:x"
    };
    size_t i;

    for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
        round_trip("id", secrets[i], apr_psprintf(pool, "secret %d", (int)i));
        round_trip(secrets[i], "s", apr_psprintf(pool, "id %d", (int)i));
    }
}

static void test_build(void)
{
    const char *header;
    char all[256];
    int i, n;

    is_str(alx_basic_build(pool, "alexa", "s3cret"), "Basic YWxleGE6czNjcmV0",
           "plain pair");
    is_str(alx_basic_build(pool, "a:b", "c d+e"), basic_str("a%3Ab:c%20d%2Be"),
           "RFC 6749 2.3.1 escaping before base64, a space as %%20");
    is_str(alx_basic_build(pool, "a b", "~"), basic_str("a%20b:%7E"),
           "a space in the id as %%20, '~' escaped");
    is_str(alx_basic_build(pool, "id", ""), basic_str("id:"), "empty secret");
    is_str(alx_basic_build(pool, "id", NULL), basic_str("id:"),
           "NULL secret is empty");

    header = alx_basic_build(pool, "x:y+z%", "p:q+r% s");
    is_str(parsed(header), "x:y+z%|p:q+r% s", "round trip with ':' '+' '%%'");
    /* Bytes 32..126 and 128..255: everything but controls and DEL. */
    for (i = 0, n = 0; i < 256; i++)
        if (i >= 32 && i != 127)
            all[n++] = (char)i;
    all[n] = '\0';
    header = alx_basic_build(pool, all, all);
    is_str(parsed(header), apr_pstrcat(pool, all, "|", all, NULL),
           "round trip of every printable and high byte");
    header = alx_basic_build(pool, "a\x01b", "s");
    is_str(parsed(header), "EINVAL", "control bytes build but do not parse");
}

static void test_can_carry(void)
{
    ok(alx_basic_can_carry("id", "s"), "can carry: plain");
    ok(alx_basic_can_carry("a:b+c%", "p:q w\xc3\xa9"), "can carry: escapable");
    ok(alx_basic_can_carry("id", ""), "can carry: empty secret");
    ok(alx_basic_can_carry("id", NULL), "can carry: NULL secret");
    ok(!alx_basic_can_carry("", "s"), "cannot carry: empty id");
    ok(!alx_basic_can_carry(NULL, "s"), "cannot carry: NULL id");
    ok(!alx_basic_can_carry("i\nd", "s"), "cannot carry: newline in id");
    ok(!alx_basic_can_carry("id", "\x7fs"), "cannot carry: DEL in secret");
    ok(!alx_basic_can_carry("id", "s\t"), "cannot carry: tab in secret");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_parse_good();
    test_parse_other();
    test_parse_bad();
    test_parse_lenient();
    test_parse_control_escapes();
    test_round_trips();
    test_build();
    test_can_carry();
    apr_pool_destroy(pool);
    apr_terminate();
    return tap_done();
}

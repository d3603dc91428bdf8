/* Unit tests for the login-page scanner (lib/alx_html.c). */
#include <stdlib.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_tables.h>

#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
#include <malloc.h>
#define HAVE_MALLINFO2 1
#endif

#include "alx_html.h"
#include "tap.h"

static apr_pool_t *pool;

/* Findings rendered "host@where|popup!where|...", to compare at once. */
typedef struct {
    char text[8192];
    apr_size_t len;
    int count;
} findings_t;

static void collect(void *baton, alx_html_event_e kind, const char *value,
                    const char *where)
{
    findings_t *f = baton;
    int n = snprintf(f->text + f->len, sizeof(f->text) - f->len, "%s%s%s%s",
                     f->count ? "|" : "", value,
                     kind == ALX_HTML_HOST ? "@" : "!", where);

    if (n > 0 && f->len + (apr_size_t)n < sizeof(f->text))
        f->len += (apr_size_t)n;
    f->count++;
}

/* Feeds page in chunks of chunk bytes (0: whole), then ends it. */
static const char *scan_chunks(const char *page, apr_size_t len,
                               apr_size_t chunk)
{
    findings_t *f = apr_pcalloc(pool, sizeof(*f));
    alx_html_t *h = alx_html_create(pool, collect, f);
    apr_size_t at = 0;

    if (chunk == 0)
        chunk = len ? len : 1;
    while (at < len) {
        apr_size_t n = len - at < chunk ? len - at : chunk;

        alx_html_feed(h, page + at, n);
        at += n;
    }
    alx_html_end(h);
    return apr_pstrdup(pool, f->text);
}

/* Feeds page in two pieces split at at. */
static const char *scan_split(const char *page, apr_size_t len, apr_size_t at)
{
    findings_t *f = apr_pcalloc(pool, sizeof(*f));
    alx_html_t *h = alx_html_create(pool, collect, f);

    alx_html_feed(h, page, at);
    alx_html_feed(h, page + at, len - at);
    alx_html_end(h);
    return apr_pstrdup(pool, f->text);
}

static const char *scan(const char *page)
{
    return scan_chunks(page, strlen(page), 0);
}

static void test_attributes(void)
{
    is_str(scan("<script src=\"https://cdn.example.net/a.js\"></script>"),
           "cdn.example.net@script src", "script src");
    is_str(scan("<link rel=stylesheet href='https://fonts.example.com/c.css'>"),
           "fonts.example.com@link href", "link href, single quotes");
    is_str(scan("<form method=post action=https://login.example.org/x>"),
           "login.example.org@form action", "form action, unquoted");
    is_str(scan("<button formaction=\"//alt.example.org/p\">go</button>"),
           "alt.example.org@button formaction", "formaction, protocol-relative");
    is_str(scan("<video poster=\"http://img.example.com/p.jpg\"></video>"),
           "img.example.com@video poster", "video poster");
    is_str(scan("<object data=\"https://obj.example.com/o.swf\"></object>"),
           "obj.example.com@object data", "object data");
    is_str(scan("<img src=\"/local.png\"><img src=\"img/a.png\"><a href=\"#top\">"
                "<a href=\"mailto:x@example.com\"><a href=\"javascript:void(0)\">"
                "<img src=\"data:image/png;base64,AAAA\">"),
           "", "relative, fragment, mailto, javascript, data: nothing");
    is_str(scan("<a href=\"ftp://files.example.com/\">"), "",
           "other schemes are not fetched hosts");
    is_str(scan("<img data-src=\"https://lazy.example.com/a\" "
                "alt=\"https://alt.example.com/\">"),
           "", "attributes that fetch nothing are ignored");
}

static void test_hosts(void)
{
    is_str(scan("<img src=\"HTTPS://User:Pw@CDN.Example.COM.:8443/a\">"),
           "cdn.example.com@img src", "case, user info, port, trailing dot");
    is_str(scan("<img src=\"https://[2001:DB8::1]:443/a\">"),
           "[2001:db8::1]@img src", "IPv6 literal keeps brackets");
    is_str(scan("<img src=\" \t\n https://ws.example.com/a \n\">"),
           "ws.example.com@img src", "surrounding whitespace stripped");
    is_str(scan("<img src=\"ht\ntp\ts://tab.example.com/a\">"),
           "tab.example.com@img src", "tab and newline removed inside");
    is_str(scan("<img src=\"\\\\back.example.com/a\"><img src=\"/\\mixed.example.com/\">"),
           "back.example.com@img src|mixed.example.com@img src",
           "backslashes count as slashes");
    is_str(scan("<img src=\"https:///many.example.com/a\">"),
           "many.example.com@img src", "extra slashes skipped");
    is_str(scan("<img src=\"https://ex%41mple.com/\">"),
           "example.com@img src", "percent-escapes in host decoded");
    is_str(scan("<img src=\"https://exa mple.com/\"><img src=\"https://:80/\">"),
           "", "invalid hosts dropped");
    is_str(scan("<img src=\"https://q.example.com?x\"><img src=\"https://f.example.com#y\">"),
           "q.example.com@img src|f.example.com@img src",
           "query and fragment end the host");
}

static void test_srcset(void)
{
    is_str(scan("<img srcset=\"https://a.example.com/1.png 1x, "
                "//b.example.com/2.png 2x,https://c.example.com/3.png\">"),
           "a.example.com@img srcset|b.example.com@img srcset"
           "|c.example.com@img srcset", "srcset candidates");
    is_str(scan("<picture><source srcset=\"https://a.example.com/x.webp,, "
                "https://b.example.com/y.webp 2x\"></picture>"),
           "a.example.com@source srcset|b.example.com@source srcset",
           "trailing comma ends a candidate without descriptors");
    is_str(scan("<img srcset=\"https://a.example.com/1.png (max-width: 1px, x) 1x, "
                "https://d.example.com/4.png 100w\">"),
           "a.example.com@img srcset|d.example.com@img srcset",
           "commas inside descriptor parentheses");
    is_str(scan("<link rel=preload as=image imagesrcset=\"https://p.example.com/a 1x\">"),
           "p.example.com@link imagesrcset", "imagesrcset");
}

static void test_css(void)
{
    is_str(scan("<style>body { background: url(https://bg.example.com/a.png) }"
                ".a{background:URL( \"//q.example.com/b.png\" )}"
                ".b{background:url('https://s.example.com/c.png')}</style>"),
           "bg.example.com@css url|q.example.com@css url|s.example.com@css url",
           "css url unquoted, double and single quoted");
    is_str(scan("<style>@import \"https://imp.example.com/a.css\";"
                "@import url(//imp2.example.com/b.css) screen;"
                "@IMPORT 'https://imp3.example.com/c.css';</style>"),
           "imp.example.com@css @import|imp2.example.com@css @import"
           "|imp3.example.com@css @import", "css @import forms");
    is_str(scan("<style>/* url(https://hidden.example.com/) */"
                "a::after{content:\"url(https://str.example.com/)\"}</style>"),
           "", "css comments and strings hide url()");
    is_str(scan("<div style=\"background-image: url(&quot;https://attr.example.com/a&quot;)\">"),
           "attr.example.com@css url", "style attribute, entity quotes");
    is_str(scan("<div style='background:url(//x.example.com/a'>"),
           "x.example.com@css url", "unterminated url() ends with the attribute");
    is_str(scan("<p>url(https://text.example.com/)</p>"), "",
           "url() in text is not CSS");
    is_str(scan("<style>a{b:xurl(//no.example.com/);c:url (//no2.example.com/)}"
                "d{e:-url(//no3.example.com/)}@importx 'https://no4.example.com/';"
                "f{g:url(//yes.example.com/)}</style>"),
           "yes.example.com@css url", "url( and @import only as whole words");
    is_str(scan("<style>a{}</Style><img src=//after.example.com/>"),
           "after.example.com@img src", "</Style> ends the style sheet");
}

static void test_base(void)
{
    is_str(scan("<base href=\"https://base.example.com/app/\">"
                "<img src=\"logo.png\"><script src=\"/a.js\"></script>"
                "<a href=\"#x\">"),
           "base.example.com@base href|base.example.com@img src"
           "|base.example.com@script src",
           "relative URLs under an external base");
    is_str(scan("<base href=\"/local/\"><img src=\"a.png\">"),
           "", "relative base is the page's own");
    is_str(scan("<base href=\"https://first.example.com/\">"
                "<base href=\"https://second.example.com/\"><img src=\"a\">"),
           "first.example.com@base href|first.example.com@img src",
           "only the first base counts");
    is_str(scan("<base href=\"//b.example.com/\"><style>a{background:url(x.png)}</style>"),
           "b.example.com@base href|b.example.com@css url",
           "css url resolves against the base");
}

static void test_entities(void)
{
    is_str(scan("<img src=\"https&colon;&sol;&sol;ent&period;example&period;com/\">"),
           "ent.example.com@img src", "named references");
    is_str(scan("<img src=\"https:&#47;&#x2F;num.example.com&#X2f;\">"),
           "num.example.com@img src", "numeric references");
    is_str(scan("<img src=\"https:&#47&#x2fnosemi.example.com/\">"),
           "nosemi.example.com@img src", "numeric references without ';'");
    is_str(scan("<a href=\"https://amp.example.com/?a=1&amp;b=2&copy=3\">"),
           "amp.example.com@a href", "&amp; and unknown references in query");
    is_str(scan("<img src=\"&#104;ttps://h.example.com/\">"),
           "h.example.com@img src", "encoded scheme");
    is_str(scan("<img src=\"https://&#0;x.example.com/\">"),
           "", "&#0; becomes U+FFFD, not a host byte to drop");
}

static void test_hiding(void)
{
    is_str(scan("<!-- <img src=\"https://c1.example.com/\"> -->"
                "<!--x--!><img src=//after1.example.com/>"
                "<!--><img src=//after2.example.com/>"
                "<!----><img src=//after3.example.com/>"),
           "after1.example.com@img src|after2.example.com@img src"
           "|after3.example.com@img src", "comments hide tags, end correctly");
    is_str(scan("<!-- a -- b --- <img src=//in.example.com> --->"
                "<img src=//out.example.com>"),
           "out.example.com@img src", "dashes inside a comment");
    is_str(scan("<script>var s = '<img src=\"https://s.example.com/\">';"
                "</SCRIPT ><img src=https://t.example.com/>"),
           "t.example.com@img src", "script text is not markup; </SCRIPT ends it");
    is_str(scan("<script>if (a</scripty && b) x();</script>"
                "<img src=//u.example.com/>"),
           "u.example.com@img src", "</scripty does not end a script");
    is_str(scan("<textarea><img src=//ta.example.com/></textarea>"
                "<title><img src=//ti.example.com/></title>"),
           "", "textarea and title are text");
    is_str(scan("<!DOCTYPE html><?xml version=\"1.0\"?>"
                "<![CDATA[ <img src=//cd.example.com/> ]]>"
                "<img src=//ok.example.com/>"),
           "ok.example.com@img src", "doctype, processing instruction, CDATA");
    is_str(scan("<p a=\"<img src=//q.example.com/>\">"), "",
           "a tag inside an attribute value is text");
    is_str(scan("</p src=\"//end.example.com/\"><img src=//x.example.com/>"),
           "x.example.com@img src", "attributes of end tags are ignored");
    is_str(scan("< img src=//sp.example.com/><img src=//y.example.com/>"),
           "y.example.com@img src", "'< img' is text");
}

static void test_case_and_quotes(void)
{
    is_str(scan("<IMG SRC=\"https://up.example.com/\"><Img sRc='//mix.example.com/'>"),
           "up.example.com@img src|mix.example.com@img src", "mixed case");
    is_str(scan("<img src=https://unq.example.com/a.png alt=x>"
                "<img src=//unq2.example.com/b.png>"),
           "unq.example.com@img src|unq2.example.com@img src", "unquoted values");
    is_str(scan("<img/src=//slash.example.com/><img\nsrc\n=\n\"//nl.example.com/\"\n>"),
           "slash.example.com@img src|nl.example.com@img src",
           "slash and newlines between attributes");
    is_str(scan("<img alt=\"x\"src=\"//nospace.example.com/\">"),
           "nospace.example.com@img src", "no space after a quoted value");
}

static void test_meta(void)
{
    is_str(scan("<meta http-equiv=\"Refresh\" content=\"0; URL='https://m.example.com/x'\">"),
           "m.example.com@meta refresh", "meta refresh");
    is_str(scan("<meta content=\"5;url=//m2.example.com/\" http-equiv=refresh>"),
           "m2.example.com@meta refresh", "meta refresh, content first");
    is_str(scan("<meta name=x content=\"0;url=//m3.example.com/\">"), "",
           "meta without http-equiv refresh");
}

static void test_popups(void)
{
    is_str(scan("<script>function f(){ window.open('https://x/', '_blank'); }</script>"),
           "window.open!script", "window.open in a script");
    is_str(scan("<script>window . open (u)</script>"),
           "window.open!script", "window . open with spaces");
    is_str(scan("<script>if (window.opener) mywindow.open(u); o.window.openX</script>"),
           "", "opener, mywindow.open and openX are not window.open");
    is_str(scan("<button onClick=\"window.open('/help')\">"),
           "window.open!button onclick", "window.open in an event handler");
    is_str(scan("<a href=\"/x\" target=\"_blank\"><a target=_BLANK>"
                "<form target='_Blank'><area target=_blank><base target=_blank>"),
           "target=_blank!a|target=_blank!form|target=_blank!area|target=_blank!base",
           "target=_blank on a, form, area, base (deduplicated)");
    is_str(scan("<div target=_blank><a target=_self><a target=\"_blanket\">"), "",
           "other targets and elements");
    is_str(scan("<script>awindow.open(); _window.open(); $window.open();"
                "x=window.open</script>"),
           "window.open!script", "window.open after identifier bytes is not");
    is_str(scan("<p>window.open(x)</p><!-- <script>window.open()</script> -->"), "",
           "window.open outside a script");
}

static void test_dedup(void)
{
    is_str(scan("<img src=//d.example.com/1><img src=//d.example.com/2>"
                "<script src=//d.example.com/3></script>"),
           "d.example.com@img src|d.example.com@script src",
           "same host and place reported once");
}

static void test_hostile(void)
{
    static const char nul_page[] = "<img src=//n1.example.com/\0x>"
        "\0\0<img src=\"//n2.ex\0ample.com/\"><img src=//n3.example.com/>";

    is_str(scan_chunks(nul_page, sizeof(nul_page) - 1, 0),
           "n1.example.com@img src|n3.example.com@img src", "NUL bytes");
    is_str(scan("<img src=\"https://open.example.com/"),
           "open.example.com@img src", "unterminated value reported at end");
    is_str(scan("<meta http-equiv=refresh content=\"0;url=//mo.example.com/\""),
           "mo.example.com@meta refresh", "unterminated meta reported at end");
    is_str(scan("<img src=//x.example.com/"), "x.example.com@img src",
           "unterminated unquoted value");
    is_str(scan("<style>a{background:url(//e.example.com/a.png"),
           "e.example.com@css url", "style cut off at the end");
    is_str(scan("<<<<>>>><<!-x><a href=//g.example.com/>"),
           "g.example.com@a href", "garbage before a tag");
    is_str(scan("<div \"=x '=y <=z =w href=//eq.example.com/>"),
           "eq.example.com@div href", "odd attribute names");
    is_str(scan("<plaintext><img src=//pt.example.com/>"), "",
           "plaintext swallows the rest");
}

/* A huge value: the host before it and after it are found, and feeding it
 * takes no memory from the scanner's pool nor from malloc. */
static void test_huge(void)
{
    apr_size_t big = 4u << 20, i;
    char *page = malloc(big + 256);
    apr_pool_t *sub;
    findings_t *f = calloc(1, sizeof(*f));
    alx_html_t *h;
    char *mark1, *mark2;
#ifdef HAVE_MALLINFO2
    struct mallinfo2 before, after;
#endif
    const char *head = "<img title=\"";
    const char *tail = "\" src=\"//after.example.com/\">"
                       "<div style=\"color:red\">";

    memcpy(page, head, strlen(head));
    i = strlen(head);
    memset(page + i, 'a', big);
    i += big;
    memcpy(page + i, tail, strlen(tail));
    i += strlen(tail);

    apr_pool_create(&sub, pool);
    h = alx_html_create(sub, collect, f);
    mark1 = apr_palloc(sub, 1);
#ifdef HAVE_MALLINFO2
    before = mallinfo2();
#endif
    alx_html_feed(h, page, i);
    /* A 4 MB URL, a 4 MB style attribute, a 4 MB srcset, a 4 MB comment,
     * 1 MB of nested tags: all streamed. */
    alx_html_feed(h, "<img src=\"https://", 18);
    {
        apr_size_t k;

        for (k = 0; k < 4; k++)
            alx_html_feed(h, page + strlen(head), big / 4);
    }
    alx_html_feed(h, "\"><div style=\"", 14);
    alx_html_feed(h, page + strlen(head), big);
    alx_html_feed(h, ";background:url(//css.example.com/)\">"
                  "<img srcset=\"", 50);
    alx_html_feed(h, page + strlen(head), big);
    alx_html_feed(h, " 1x, //ss.example.com/a 2x\"><!--", 32);
    alx_html_feed(h, page + strlen(head), big);
    alx_html_feed(h, "--><img src=//last.example.com/>", 32);
    for (i = 0; i < (1u << 20) / 8; i++)
        alx_html_feed(h, "<a><b><c", 8);
    alx_html_end(h);
#ifdef HAVE_MALLINFO2
    after = mallinfo2();
    is_int(after.uordblks, before.uordblks, "no malloc while feeding 17 MB");
#else
    ok(1, "# SKIP mallinfo2 unavailable");
#endif
    mark2 = apr_palloc(sub, 1);
    ok(mark2 == mark1 + 8, "no pool allocation while feeding 17 MB");
    is_str(f->text, "after.example.com@img src|css.example.com@css url"
           "|ss.example.com@img srcset|last.example.com@img src",
           "hosts around huge values found");
    apr_pool_destroy(sub);
    free(f);
    free(page);
}

/* The pages split at every byte, and fed one byte at a time, give what
 * they give whole. */
static const char *const fixtures[] = {
    "<!DOCTYPE html><html><head><meta charset=utf-8>"
    "<base href=\"https://base.example.com/\">"
    "<link rel=stylesheet href=\"//fonts.example.net/css?family=A&amp;b\">"
    "<style>@import url('https://imp.example.com/a.css');"
    "body{background:url(bg.png)}/* url(//no.example.com) */</style>"
    "<script src=\"HTTPS://CDN.Example.com:443/a.js\"></script>"
    "<script>var x='<a href=\"//no2.example.com\">'; window.open(x);</script>"
    "</head><body><!-- <img src=//no3.example.com> -->"
    "<form action=\"https&colon;//login.example.org/p\" target=_blank>"
    "<img srcset=\"//s1.example.com/a 1x, https://s2.example.com/b 2x\">"
    "<div style=\"background:url(&quot;//st.example.com/x&quot;)\" "
    "onclick=\"window.open('/y')\">x</div>"
    "<meta http-equiv=refresh content=\"3;url=//mr.example.com/\">"
    "</form></body></html>",
    "<IMG SRC=//a.example.com/x.png ALT=y><a href='https://b.example.com/'>"
    "<textarea><img src=//no.example.com></textarea><img src=\"//c&#46;example.com\">"
    "<title>x</title><video poster=\"https://[::1]:8080/p\"></video>",
    "<img src=\"https://open.example.com/",
    "<style>a{b:xurl(//no.example.com/)} /* */ c{d:url( //y1.example.com/ )}"
    "@import\t'//y2.example.com/';e{f:\"url(//no.example.com/)\"}</style>"
    "<script>awindow.open(); w = window\n.\nopen\n(u); '</scrip'</script>"
    "<title>window.open()</title><textarea>url(//no.example.com/)</textarea>",
};

static void test_splits(void)
{
    unsigned int i;

    for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
        const char *page = fixtures[i];
        apr_size_t len = strlen(page), at;
        const char *whole = scan(page);
        apr_size_t bad = len + 1;

        ok(strlen(whole) > 0, "fixture %u finds something", i);
        for (at = 0; at <= len && bad > len; at++)
            if (strcmp(scan_split(page, len, at), whole) != 0)
                bad = at;
        is_int(bad, len + 1, "fixture %u: same findings split at each of %u bytes",
               i, (unsigned)len + 1);
        is_str(scan_chunks(page, len, 1), whole,
               "fixture %u: same findings one byte at a time", i);
        is_str(scan_chunks(page, len, 7), whole,
               "fixture %u: same findings in 7-byte chunks", i);
    }
    is_str(scan(fixtures[0]),
           "base.example.com@base href|fonts.example.net@link href"
           "|imp.example.com@css @import|base.example.com@css url"
           "|cdn.example.com@script src|window.open!script"
           "|login.example.org@form action|target=_blank!form"
           "|s1.example.com@img srcset|s2.example.com@img srcset"
           "|st.example.com@css url|window.open!div onclick"
           "|mr.example.com@meta refresh", "fixture 0 findings");
    is_str(scan(fixtures[1]),
           "a.example.com@img src|b.example.com@a href|c.example.com@img src"
           "|[::1]@video poster", "fixture 1 findings");
    is_str(scan(fixtures[3]),
           "y1.example.com@css url|y2.example.com@css @import|window.open!script",
           "fixture 3 findings");
}

static apr_array_header_t *list_of(const char *a, const char *b, const char *c)
{
    apr_array_header_t *list = apr_array_make(pool, 3, sizeof(const char *));

    APR_ARRAY_PUSH(list, const char *) = a;
    APR_ARRAY_PUSH(list, const char *) = b;
    APR_ARRAY_PUSH(list, const char *) = c;
    return list;
}

static void test_listed(void)
{
    apr_array_header_t *list = list_of("Login.Example.com:443",
                                       "*.cdn.example.net", "static.example.org.");

    ok(alx_html_host_listed("login.example.com", list), "exact, port ignored");
    ok(alx_html_host_listed("static.example.org", list), "trailing dot ignored");
    ok(alx_html_host_listed("a.cdn.example.net", list), "wildcard subdomain");
    ok(alx_html_host_listed("a.b.cdn.example.net", list), "wildcard deeper");
    ok(!alx_html_host_listed("cdn.example.net", list), "wildcard not the domain");
    ok(!alx_html_host_listed("xcdn.example.net", list), "wildcard needs a dot");
    ok(!alx_html_host_listed("example.com", list), "parent not listed");
    ok(!alx_html_host_listed("login.example.com.evil", list), "no prefix match");
    ok(!alx_html_host_listed("login.example.co", list), "no shorter match");
    ok(!alx_html_host_listed("login.example.com", NULL), "NULL list");
    ok(alx_html_host_listed("[::1]", list_of("[::1]:8443", NULL, "")),
       "IPv6 with port; NULL and empty entries skipped");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_attributes();
    test_hosts();
    test_srcset();
    test_css();
    test_base();
    test_entities();
    test_hiding();
    test_case_and_quotes();
    test_meta();
    test_popups();
    test_dedup();
    test_hostile();
    test_huge();
    test_splits();
    test_listed();
    apr_pool_destroy(pool);
    apr_terminate();
    return tap_done();
}

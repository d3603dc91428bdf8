/* Compares lib/alx_html.c with libxml2's HTML push parser and (when built
 * with -DHAVE_LEXBOR) lexbor's HTML tokenizer as the scanner under the
 * login-page filter: speed on a ~200 KB login page fed in 1-byte, 16-byte
 * and 8 KiB chunks, what each finds in the cases a login page throws at it,
 * and the memory each holds. Not part of the build: bench/html/run.sh
 * compiles it. The libraries get the glue a filter would write around them:
 * URL attributes (src, href, action, formaction, poster, data, srcset) of
 * each start tag, reduced to a host by the same code as alx_html. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/HTMLparser.h>
#include <libxml/xmlmemory.h>

#ifdef HAVE_LEXBOR
#include <lexbor/core/base.h>
#include <lexbor/core/lexbor.h>
#include <lexbor/html/tokenizer.h>
#include <lexbor/html/token_attr.h>
#include <lexbor/html/tokenizer/state_rawtext.h>
#include <lexbor/html/tokenizer/state_rcdata.h>
#include <lexbor/html/tokenizer/state_script.h>
#include <lexbor/tag/tag.h>
#endif

/* The scanner itself, for its URL code and the size of its state. */
#include "../../lib/alx_html.c"

/* ---- counting allocator (libxml2 and lexbor take one) --------------------- */

static size_t mem_now, mem_peak;

static void *count_malloc(size_t n)
{
    size_t *p = malloc(n + sizeof(size_t) * 2);

    if (!p)
        return NULL;
    p[0] = n;
    mem_now += n;
    if (mem_now > mem_peak)
        mem_peak = mem_now;
    return p + 2;
}

static void count_free(void *q)
{
    size_t *p = q;

    if (!p)
        return;
    p -= 2;
    mem_now -= p[0];
    free(p);
}

static void *count_realloc(void *q, size_t n)
{
    size_t *p, old;

    if (!q)
        return count_malloc(n);
    p = (size_t *)q - 2;
    old = p[0];
    p = realloc(p, n + sizeof(size_t) * 2);
    if (!p)
        return NULL;
    p[0] = n;
    mem_now = mem_now - old + n;
    if (mem_now > mem_peak)
        mem_peak = mem_now;
    return p + 2;
}

static void *count_calloc(size_t a, size_t b)
{
    void *p = count_malloc(a * b);

    if (p)
        memset(p, 0, a * b);
    return p;
}

static char *count_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = count_malloc(n);

    if (p)
        memcpy(p, s, n);
    return p;
}

/* ---- findings ------------------------------------------------------------- */

#define HOSTS_MAX 512

typedef struct {
    char hosts[HOSTS_MAX][64];
    int count;      /* distinct hosts */
    long events;    /* all reports */
} found_t;

static void found_add(found_t *f, const char *host)
{
    int i;

    f->events++;
    for (i = 0; i < f->count; i++)
        if (strcmp(f->hosts[i], host) == 0)
            return;
    if (f->count < HOSTS_MAX) {
        snprintf(f->hosts[f->count], sizeof(f->hosts[0]), "%s", host);
        f->count++;
    }
}

static int found_has(const found_t *f, const char *host)
{
    int i;

    for (i = 0; i < f->count; i++)
        if (strcmp(f->hosts[i], host) == 0)
            return 1;
    return 0;
}

/* The glue for the libraries: one URL attribute value to a host. */
static void glue_url(found_t *f, const char *value, size_t len)
{
    char host[ALX_HTML_HOST_MAX];

    if (len > ALX_HTML_KEEP)
        len = ALX_HTML_KEEP;
    if (url_host(value, len, 0, host) == URL_HOST)
        found_add(f, host);
}

static int glue_is_url_attr(const char *name, size_t len)
{
    static const char *const names[] = {
        "src", "href", "action", "formaction", "poster", "data", NULL
    };
    int i;

    for (i = 0; names[i]; i++)
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
            return 1;
    return 0;
}

static void glue_srcset(found_t *f, const char *v, size_t len)
{
    size_t i = 0;

    while (i < len) {
        size_t start;

        while (i < len && (v[i] == ' ' || v[i] == ',' || v[i] == '\n'))
            i++;
        start = i;
        while (i < len && v[i] != ' ' && v[i] != '\n')
            i++;
        if (i > start)
            glue_url(f, v + start, i - start);
        while (i < len && v[i] != ',')
            i++;
    }
}

static void glue_attr(found_t *f, const char *name, size_t name_len,
                      const char *value, size_t value_len)
{
    if (glue_is_url_attr(name, name_len))
        glue_url(f, value, value_len);
    else if (name_len == 6 && memcmp(name, "srcset", 6) == 0)
        glue_srcset(f, value, value_len);
}

/* ---- the three engines ------------------------------------------------------ */

static void alx_found(void *baton, alx_html_event_e kind, const char *value,
                      const char *where)
{
    (void)where;
    if (kind == ALX_HTML_HOST)
        found_add(baton, value);
}

static size_t run_alx(const char *page, size_t len, size_t chunk, found_t *f)
{
    static apr_pool_t *p;
    alx_html_t *h;
    size_t at;

    if (!p) {
        apr_initialize();
        apr_pool_create(&p, NULL);
    }
    apr_pool_clear(p);
    h = alx_html_create(p, alx_found, f);
    for (at = 0; at < len; at += chunk)
        alx_html_feed(h, page + at, len - at < chunk ? len - at : chunk);
    alx_html_end(h);
    return sizeof(struct alx_html);
}

static void xml_start(void *ctx, const xmlChar *name, const xmlChar **atts)
{
    int i;

    (void)name;
    for (i = 0; atts && atts[i]; i += 2)
        if (atts[i + 1])
            glue_attr(ctx, (const char *)atts[i], strlen((const char *)atts[i]),
                      (const char *)atts[i + 1],
                      strlen((const char *)atts[i + 1]));
}

static size_t run_libxml2(const char *page, size_t len, size_t chunk, found_t *f)
{
    htmlSAXHandler sax;
    htmlParserCtxtPtr ctxt;
    size_t at;

    memset(&sax, 0, sizeof(sax));
    sax.startElement = xml_start;
    mem_now = mem_peak = 0;
    ctxt = htmlCreatePushParserCtxt(&sax, f, NULL, 0, NULL,
                                    XML_CHAR_ENCODING_UTF8);
    htmlCtxtUseOptions(ctxt, HTML_PARSE_RECOVER | HTML_PARSE_NOERROR
                       | HTML_PARSE_NOWARNING | HTML_PARSE_NONET
                       | HTML_PARSE_COMPACT);
    for (at = 0; at < len; at += chunk)
        htmlParseChunk(ctxt, page + at,
                       (int)(len - at < chunk ? len - at : chunk), 0);
    htmlParseChunk(ctxt, NULL, 0, 1);
    htmlFreeParserCtxt(ctxt);
    return mem_peak;
}

#ifdef HAVE_LEXBOR
static lxb_html_token_t *lexbor_token(lxb_html_tokenizer_t *tkz,
                                      lxb_html_token_t *token, void *ctx)
{
    lxb_html_token_attr_t *attr;

    if (token->type & LXB_HTML_TOKEN_TYPE_CLOSE)
        return token;
    /* The tree builder's part: raw text elements switch the tokenizer. */
    switch (token->tag_id) {
    case LXB_TAG_SCRIPT:
        lxb_html_tokenizer_tmp_tag_id_set(tkz, token->tag_id);
        lxb_html_tokenizer_state_set(tkz,
                                     lxb_html_tokenizer_state_script_data_before);
        break;
    case LXB_TAG_STYLE: case LXB_TAG_XMP: case LXB_TAG_IFRAME:
    case LXB_TAG_NOEMBED: case LXB_TAG_NOFRAMES:
        lxb_html_tokenizer_tmp_tag_id_set(tkz, token->tag_id);
        lxb_html_tokenizer_state_set(tkz, lxb_html_tokenizer_state_rawtext_before);
        break;
    case LXB_TAG_TEXTAREA: case LXB_TAG_TITLE:
        lxb_html_tokenizer_tmp_tag_id_set(tkz, token->tag_id);
        lxb_html_tokenizer_state_set(tkz, lxb_html_tokenizer_state_rcdata_before);
        break;
    default:
        break;
    }
    for (attr = token->attr_first; attr; attr = attr->next) {
        size_t name_len;
        const lxb_char_t *name = lxb_html_token_attr_name(attr, &name_len);

        if (name && attr->value)
            glue_attr(ctx, (const char *)name, name_len,
                      (const char *)attr->value, attr->value_size);
    }
    return token;
}

static size_t run_lexbor(const char *page, size_t len, size_t chunk, found_t *f)
{
    lxb_html_tokenizer_t *tkz;
    size_t at;

    mem_now = mem_peak = 0;
    tkz = lxb_html_tokenizer_create();
    lxb_html_tokenizer_init(tkz);
    lxb_html_tokenizer_callback_token_done_set(tkz, lexbor_token, f);
    lxb_html_tokenizer_begin(tkz);
    for (at = 0; at < len; at += chunk)
        lxb_html_tokenizer_chunk(tkz, (const lxb_char_t *)page + at,
                                 len - at < chunk ? len - at : chunk);
    lxb_html_tokenizer_end(tkz);
    lxb_html_tokenizer_destroy(tkz);
    return mem_peak;
}
#endif

typedef size_t (*engine_fn)(const char *, size_t, size_t, found_t *);

static const struct {
    const char *name;
    engine_fn run;
} engines[] = {
    { "alx_html", run_alx },
    { "libxml2 " LIBXML_DOTTED_VERSION, run_libxml2 },
#ifdef HAVE_LEXBOR
    { "lexbor tokenizer", run_lexbor },
#endif
};
#define ENGINES (int)(sizeof(engines) / sizeof(engines[0]))

/* ---- the page -------------------------------------------------------------- */

typedef struct {
    char *s;
    size_t len, cap;
} buf_t;

static void put(buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if ((size_t)n < b->cap - b->len)
            break;
        b->cap = b->cap * 2 + (size_t)n;
        b->s = realloc(b->s, b->cap);
    }
    b->len += (size_t)n;
}

/* A login page of a hosted identity provider, about 200 KB: fonts, CSS with
 * url() and @import, big inline scripts whose strings hold markup, a form,
 * responsive images, inline styles, SVG icons, comments: 10 hosts that a
 * browser fetches from or links to. */
static char *make_page(size_t *len)
{
    buf_t b = { malloc(1024), 0, 1024 };
    int i, j;

    put(&b, "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content=\"width=device-width, initial-scale=1\">"
        "<title>Sign in &ndash; Example Account</title>\n"
        "<link rel=preconnect href=\"https://fonts.gstatic.example\">\n"
        "<link rel=stylesheet href=\"https://fonts.googleapis.example/css2?family=Inter:wght@400;600&amp;display=swap\">\n"
        "<link rel=icon href=\"/favicon.ico\"><link rel=stylesheet href=\"/static/app.css\">\n");
    put(&b, "<style>\n@import url(\"https://cdn.styles.example/reset.css\");\n");
    for (i = 0; i < 400; i++)
        put(&b, ".c%d{margin:%dpx;padding:0 %dpx;color:#%03x;"
            "background:url(/img/bg%d.png) no-repeat}\n", i, i % 9, i % 5, i * 7 % 4096, i);
    put(&b, ".hero{background-image:url('https://images.cdn.example/hero.jpg')}\n"
        "/* .old{background:url(https://old.example/x.png)} */\n</style>\n");
    put(&b, "<script src=\"https://www.analytics.example/gtag/js?id=G-1\" async></script>\n"
        "<script>\n");
    for (i = 0; i < 600; i++)
        put(&b, "function handler%d(e){ if (e && e.target) { var t = '<div class=\"tip\">"
            "' + e.target.value + '</div>'; document.getElementById('t%d').innerHTML = t; "
            "return i < %d && x > 0; } }\n", i, i, i);
    put(&b, "function help(){ window.open('https://help.example/login', '_blank'); }\n"
        "</script>\n</head>\n<body class=\"login\">\n"
        "<!-- <img src=\"https://commented.example/pixel.gif\"> -->\n");
    for (j = 0; j < 60; j++) {
        put(&b, "<div class=\"row c%d\" style=\"margin-top:%dpx\" data-index=\"%d\">"
            "<a class=\"link\" href=\"/page/%d\" title=\"Go to page %d\">Page %d</a>"
            "<img src=\"/img/icon%d.svg\" alt=\"\" width=16 height=16>"
            "<svg viewBox=\"0 0 24 24\"><path d=\"M12 2C6.48 2 2 6.48 2 12s4.48 10 10 10 "
            "10-4.48 10-10S17.52 2 12 2zm0 18c-4.41 0-8-3.59-8-8s3.59-8 8-8 8 3.59 8 8-3.59 "
            "8-8 8z\"/></svg><p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, "
            "sed do eiusmod tempor incididunt ut labore et dolore magna aliqua &amp; more."
            "</p></div>\n", j, j, j, j, j, j, j);
    }
    put(&b, "<form method=post action=\"https://login.example/authorize?client_id=alexa&amp;state=x\">"
        "<input type=hidden name=state value=\"abc\"><label>Email <input name=email type=email></label>"
        "<label>Password <input name=password type=password></label>"
        "<button type=submit formaction=\"https://login.example/alt\">Sign in</button></form>\n"
        "<img srcset=\"https://img.cdn.example/logo-1x.png 1x, https://img2.cdn.example/logo-2x.png 2x\" "
        "src=\"/logo.png\" alt=logo>\n"
        "<div style=\"background:url(https://inline.cdn.example/bg.png)\"></div>\n"
        "<a href=\"https://www.privacy.example/policy\" target=\"_blank\">Privacy</a>\n");
    for (i = 0; i < 200; i++)
        put(&b, "<p class=\"legal c%d\">Terms apply. See section %d of the agreement for "
            "details on how we process your data.</p>\n", i % 400, i);
    put(&b, "</body></html>\n");
    *len = b.len;
    return b.s;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- robustness cases --------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *page;
    size_t len;
    const char *host;  /* the host a browser fetches from */
    int fetched;       /* 0: the host must NOT be found */
} case_t;

static const char nul_page[] = "\0\0<img\0 alt=x>\0<img src=\"https://afternul.example/a\">";

static const case_t cases[] = {
    { "tag split in 1-byte chunks", "<img src=\"https://split.example/a.png\">", 0,
      "split.example", 1 },
    { "srcset", "<img srcset=\"/a.png 1x, https://srcset.example/b.png 2x\">", 0,
      "srcset.example", 1 },
    { "CSS url() in <style>", "<style>body{background:url(//cssurl.example/a.png)}</style>",
      0, "cssurl.example", 1 },
    { "CSS @import", "<style>@import \"https://import.example/a.css\";</style>", 0,
      "import.example", 1 },
    { "style= attribute", "<div style=\"background:url('//styleattr.example/b.png')\">",
      0, "styleattr.example", 1 },
    { "entities in URL", "<img src=\"https&colon;&sol;&sol;entity.example/\">", 0,
      "entity.example", 1 },
    { "after NUL bytes", nul_page, sizeof(nul_page) - 1, "afternul.example", 1 },
    { "markup in a script string (not a tag)",
      "<script>var s='<img src=\"https://inscript.example/\">';</script>", 0,
      "inscript.example", 0 },
    { "comment hides a tag", "<!-- <img src=\"https://comment.example/\"> -->", 0,
      "comment.example", 0 },
    { "tag inside <title> (text)", "<title><img src=//intitle.example/></title>", 0,
      "intitle.example", 0 },
};
#define CASES (int)(sizeof(cases) / sizeof(cases[0]))

int main(int argc, char **argv)
{
    static const size_t chunks[] = { 1, 16, 8192 };
    size_t len, huge_len, mem[ENGINES];
    char *page = make_page(&len), *huge;
    double budget = argc > 1 ? atof(argv[1]) : 1.0;
    int copies = argc > 2 ? atoi(argv[2]) : 1;
    found_t *f = malloc(sizeof(*f));
    int e, c, k;

    xmlMemSetup(count_free, count_malloc, count_realloc, count_strdup);
    xmlInitParser();
#ifdef HAVE_LEXBOR
    lexbor_memory_setup(count_malloc, count_realloc, count_calloc, count_free);
#else
    (void)count_calloc;
#endif
    if (copies > 1) {
        /* The page repeated: whether memory grows with the page. */
        char *many = malloc(len * (size_t)copies);

        for (k = 0; k < copies; k++)
            memcpy(many + len * (size_t)k, page, len);
        free(page);
        page = many;
        len *= (size_t)copies;
    }
    printf("page: %zu bytes\n\n", len);
    printf("%-22s %10s %10s %10s %7s %12s\n", "engine", "1 B MB/s", "16 B MB/s",
           "8 KiB MB/s", "hosts", "memory");
    for (e = 0; e < ENGINES; e++) {
        double rate[3];

        for (k = 0; k < 3; k++) {
            double start = now(), t;
            long runs = 0;

            do {
                memset(f, 0, sizeof(*f));
                mem[e] = engines[e].run(page, len, chunks[k], f);
                runs++;
                t = now() - start;
            } while (t < budget);
            rate[k] = (double)len * (double)runs / t / 1e6;
        }
        printf("%-22s %10.1f %10.1f %10.1f %7d %10zu B\n", engines[e].name,
               rate[0], rate[1], rate[2], f->count, mem[e]);
    }

    /* Huge page: a 4 MB attribute value, then a host. */
    huge_len = (4u << 20) + 64;
    huge = malloc(huge_len + 64);
    memcpy(huge, "<img title=\"", 12);
    memset(huge + 12, 'a', 4u << 20);
    huge_len = 12 + (4u << 20);
    huge_len += (size_t)sprintf(huge + huge_len,
                                "\" src=\"https://afterhuge.example/\">");
    printf("\n4 MB attribute then a host, 8 KiB chunks:\n");
    for (e = 0; e < ENGINES; e++) {
        double start = now();
        size_t m;

        memset(f, 0, sizeof(*f));
        m = engines[e].run(huge, huge_len, 8192, f);
        printf("  %-22s found %-3s  %8.1f ms  peak memory %zu B\n", engines[e].name,
               found_has(f, "afterhuge.example") ? "yes" : "NO",
               (now() - start) * 1e3, m);
    }

    printf("\nrobustness (whole page / 1-byte chunks); 'yes' = right answer\n");
    printf("%-40s", "case");
    for (e = 0; e < ENGINES; e++)
        printf(" %-18s", engines[e].name);
    printf("\n");
    for (c = 0; c < CASES; c++) {
        size_t clen = cases[c].len ? cases[c].len : strlen(cases[c].page);

        printf("%-40s", cases[c].name);
        for (e = 0; e < ENGINES; e++) {
            int whole, split;

            memset(f, 0, sizeof(*f));
            engines[e].run(cases[c].page, clen, clen, f);
            whole = found_has(f, cases[c].host) == cases[c].fetched;
            memset(f, 0, sizeof(*f));
            engines[e].run(cases[c].page, clen, 1, f);
            split = found_has(f, cases[c].host) == cases[c].fetched;
            printf(" %-18s", whole && split ? "yes" : whole ? "whole only"
                   : split ? "split only" : "NO");
        }
        printf("\n");
    }
    free(huge);
    free(page);
    free(f);
    return 0;
}

/* Streaming scanner for login pages (lib/alx_html.h).
 *
 * A byte-at-a-time tokenizer after the WHATWG HTML tokenizer, reduced to
 * what finds hosts: data, tags, attributes (", ' or unquoted, character
 * references decoded), comments, bogus comments (<!DOCTYPE, <?...>,
 * <![CDATA[ ends at the first '>' as in HTML content), and the raw text of
 * script, style, textarea, title, xmp, iframe, noembed, noframes and
 * plaintext. Script text and on* attributes go through a small matcher for
 * "window . open"; style text and style attributes through a CSS matcher
 * for url(...) and @import. Nothing of the page is kept but the first
 * ALX_HTML_KEEP bytes of one URL (enough for a scheme and a host; a URL
 * whose authority runs past them is dropped), so memory is the struct
 * alone, allocated once in create; feed never allocates.
 *
 * Not modelled: script data escape states (<!--<script> inside a script),
 * foreign content (CDATA in svg), CSS escapes, windows-1252 remapping of
 * &#128;-&#159;. Each errs towards reporting more, not less.
 *
 * Duplicates: a finding equal (kind, value, where) to one of the last
 * ALX_HTML_RECENT findings is not reported again; anything older is. */
#include <string.h>

#include <apr_strings.h>

#include "alx_html.h"

#define ALX_HTML_KEEP 1024     /* bytes kept of one URL */
#define ALX_HTML_HOST_MAX 256  /* longest host reported, with its NUL */
#define ALX_HTML_RECENT 16     /* findings remembered for deduplication */
#define TAG_MAX 15
#define ATTR_MAX 23
#define ENTITY_MAX 32

enum html_state {
    S_DATA = 0, S_TAG_OPEN, S_END_TAG_OPEN, S_TAG_NAME, S_MARKUP, S_MARKUP_DASH,
    S_COMMENT, S_BOGUS, S_BEFORE_ATTR_NAME, S_ATTR_NAME, S_AFTER_ATTR_NAME,
    S_BEFORE_VALUE, S_VALUE_DQ, S_VALUE_SQ, S_VALUE_UNQ, S_AFTER_VALUE,
    S_RAW, S_PLAINTEXT
};

/* What an attribute value feeds. */
enum value_kind {
    V_IGNORE = 0, V_URL, V_BASE_HREF, V_SRCSET, V_STYLE, V_EVENT,
    V_CONTENT, V_TARGET, V_EQUIV
};

enum raw_kind { RAW_PLAIN = 0, RAW_SCRIPT, RAW_STYLE };

enum css_state {
    C_NORMAL = 0, C_SLASH, C_COMMENT, C_COMMENT_STAR, C_STRING, C_URL_WS,
    C_URL_QUOTED, C_URL_UNQUOTED
};

enum js_state {
    J_IDLE = 0, J_WINDOW, J_AFTER_WINDOW, J_AFTER_DOT, J_OPEN, J_AFTER_OPEN
};

enum srcset_state { SS_SKIP = 0, SS_URL, SS_DESCRIPTOR };

enum url_result { URL_NONE = 0, URL_HOST, URL_RELATIVE };

struct alx_html {
    alx_html_fn fn;
    void *baton;
    unsigned char state;
    unsigned char is_end_tag, tag_over, attr_over;
    unsigned char tag_len, attr_len, ent_len, value_kind;
    unsigned char raw_kind, raw_len, raw_match, base_seen;
    unsigned char css_state, css_quote, css_escape, css_import, css_word_len;
    unsigned char js_state, js_index, js_prev_ident;
    unsigned char srcset_state, srcset_paren;
    unsigned char comment_dashes, comment_bang, refresh_equiv, url_truncated;
    unsigned int recent_next;
    apr_size_t url_len;
    const char *raw_name;
    const char *js_where;
    char tag[TAG_MAX + 1];
    char attr[ATTR_MAX + 1];
    char css_word[8];
    char ent[ENTITY_MAX];
    char where[TAG_MAX + ATTR_MAX + 2];
    char url[ALX_HTML_KEEP];
    char host[ALX_HTML_HOST_MAX];
    char base_host[ALX_HTML_HOST_MAX];
    char refresh_host[ALX_HTML_HOST_MAX];
    apr_uint64_t recent[ALX_HTML_RECENT];
};

/* Byte classes, one load per test. */
#define CL_SPACE 1    /* HTML whitespace: tab, LF, FF, CR, space */
#define CL_ALPHA 2
#define CL_DIGIT 4
#define CL_HEX 8
#define CL_IDENT 16   /* JS/CSS identifier byte: alnum, _, $, -, >= 0x80 */
#define CL_BADHOST 32 /* may not appear in a host */

static const unsigned char byte_class[256] = {
    /* 0x00-0x1f: controls; tab, LF, FF, CR are also whitespace */
    32, 32, 32, 32, 32, 32, 32, 32, 32, 33, 33, 32, 33, 33, 32, 32,
    32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
    /*  sp  !  "  #   $  %   &  '  (  )  *  +  ,   -  .  /  */
    33, 0, 0, 32, 16, 32, 0, 0, 0, 0, 0, 0, 0, 16, 0, 32,
    /* 0-9 */
    28, 28, 28, 28, 28, 28, 28, 28, 28, 28,
    /*  :  ;  <   =  >   ?  */
    32, 0, 32, 0, 32, 32,
    /* @, A-F, G-O */
    32, 26, 26, 26, 26, 26, 26, 18, 18, 18, 18, 18, 18, 18, 18, 18,
    /* P-Z, [ \ ] ^ _ */
    18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 32, 32, 32, 32, 16,
    /* `, a-f, g-o */
    0, 26, 26, 26, 26, 26, 26, 18, 18, 18, 18, 18, 18, 18, 18, 18,
    /* p-z, { | } ~ DEL */
    18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 18, 0, 32, 0, 0, 32,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16,
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16
};

#define IS(c, cl) (byte_class[(unsigned char)(c)] & (cl))
#define LOWER(c) ((c) >= 'A' && (c) <= 'Z' ? (char)((c) + 32) : (char)(c))

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    return (LOWER(c) - 'a') + 10;
}

/* s[0..len) and t[0..len) equal, ASCII case ignored. */
static int same_ci(const char *s, const char *t, apr_size_t len)
{
    apr_size_t i;

    for (i = 0; i < len; i++)
        if (LOWER(s[i]) != LOWER(t[i]))
            return 0;
    return 1;
}

/* s[0..len) equals the lower-case word, ASCII case ignored. */
static int equals_ci(const char *s, apr_size_t len, const char *word)
{
    apr_size_t i;

    for (i = 0; i < len; i++)
        if (!word[i] || LOWER(s[i]) != word[i])
            return 0;
    return word[len] == '\0';
}

/* ---- reporting ---------------------------------------------------------- */

static void report(alx_html_t *h, alx_html_event_e kind, const char *value,
                   const char *where)
{
    apr_uint64_t hash = 14695981039346656037ULL ^ (apr_uint64_t)kind;
    const unsigned char *s;
    unsigned int i;

    hash *= 1099511628211ULL;
    for (s = (const unsigned char *)value; *s; s++)
        hash = (hash ^ *s) * 1099511628211ULL;
    hash = (hash ^ 0xff) * 1099511628211ULL;
    for (s = (const unsigned char *)where; *s; s++)
        hash = (hash ^ *s) * 1099511628211ULL;
    hash |= 1;  /* 0 marks an empty slot */
    for (i = 0; i < ALX_HTML_RECENT; i++)
        if (h->recent[i] == hash)
            return;
    h->recent[h->recent_next] = hash;
    h->recent_next = (h->recent_next + 1) % ALX_HTML_RECENT;
    h->fn(h->baton, kind, value, where);
}

/* ---- URLs --------------------------------------------------------------- */

/* Host of an http(s) or protocol-relative URL into out (lower-case, no
 * port, user info or trailing dot; percent-escapes decoded); URL_RELATIVE
 * for a URL without scheme or authority, URL_NONE for any other scheme,
 * a fragment, an empty or unparsable URL. */
static enum url_result url_host(const char *in, apr_size_t in_len,
                                int truncated, char *out)
{
    char s[ALX_HTML_KEEP];
    apr_size_t n = 0, i = 0, j, start = 0, auth_end, host_end, o = 0;

    /* Browsers strip leading and trailing C0 controls and spaces and drop
     * tab, LF and CR anywhere. */
    while (i < in_len && (unsigned char)in[i] <= 0x20)
        i++;
    if (!truncated)
        while (in_len > i && (unsigned char)in[in_len - 1] <= 0x20)
            in_len--;
    for (; i < in_len; i++)
        if (in[i] != '\t' && in[i] != '\n' && in[i] != '\r')
            s[n++] = in[i];
    if (n == 0 || s[0] == '#')
        return URL_NONE;
    j = 0;
    if (IS(s[0], CL_ALPHA)) {
        while (j < n && (IS(s[j], CL_ALPHA | CL_DIGIT) || s[j] == '+'
                         || s[j] == '-' || s[j] == '.'))
            j++;
        if (j < n && s[j] == ':') {
            if (!equals_ci(s, j, "http") && !equals_ci(s, j, "https"))
                return URL_NONE;
            start = j + 1;
        }
        else
            j = 0;
    }
    if (j == 0) {
        if (n < 2 || (s[0] != '/' && s[0] != '\\')
            || (s[1] != '/' && s[1] != '\\'))
            return URL_RELATIVE;
        start = 2;
    }
    while (start < n && (s[start] == '/' || s[start] == '\\'))
        start++;
    for (auth_end = start; auth_end < n; auth_end++)
        if (s[auth_end] == '/' || s[auth_end] == '\\' || s[auth_end] == '?'
            || s[auth_end] == '#')
            break;
    if (auth_end == n && truncated)
        return URL_NONE;
    for (i = auth_end; i > start; i--)
        if (s[i - 1] == '@') {
            start = i;
            break;
        }
    if (start < auth_end && s[start] == '[') {
        for (host_end = start + 1; host_end < auth_end; host_end++)
            if (s[host_end] == ']')
                break;
        if (host_end == auth_end
            || (host_end + 1 < auth_end && s[host_end + 1] != ':'))
            return URL_NONE;
        out[o++] = '[';
        for (i = start + 1; i < host_end; i++) {
            if (!IS(s[i], CL_HEX) && s[i] != ':' && s[i] != '.')
                return URL_NONE;
            out[o++] = LOWER(s[i]);
            if (o >= ALX_HTML_HOST_MAX - 2)
                return URL_NONE;
        }
        out[o++] = ']';
        out[o] = '\0';
        return o > 2 ? URL_HOST : URL_NONE;
    }
    for (host_end = start; host_end < auth_end; host_end++)
        if (s[host_end] == ':')
            break;
    for (i = start; i < host_end; i++) {
        char c = s[i];

        if (c == '%' && i + 2 < host_end && IS(s[i + 1], CL_HEX)
            && IS(s[i + 2], CL_HEX)) {
            c = (char)(hex_value((unsigned char)s[i + 1]) * 16
                       + hex_value((unsigned char)s[i + 2]));
            i += 2;
        }
        /* U+FFFD (a NUL or a bad reference) is no host either. */
        if (IS(c, CL_BADHOST) || o >= ALX_HTML_HOST_MAX - 1
            || (c == '\xef' && i + 2 < host_end && s[i + 1] == '\xbf'
                && s[i + 2] == '\xbd'))
            return URL_NONE;
        out[o++] = LOWER(c);
    }
    while (o > 0 && out[o - 1] == '.')
        o--;
    out[o] = '\0';
    return o ? URL_HOST : URL_NONE;
}

/* A URL ended: reports its host, or the base's for a relative one. */
static void url_found(alx_html_t *h, const char *where)
{
    switch (url_host(h->url, h->url_len, h->url_truncated, h->host)) {
    case URL_HOST:
        report(h, ALX_HTML_HOST, h->host, where);
        break;
    case URL_RELATIVE:
        if (h->base_host[0])
            report(h, ALX_HTML_HOST, h->base_host, where);
        break;
    default:
        break;
    }
    h->url_len = 0;
    h->url_truncated = 0;
}

static void url_add(alx_html_t *h, char c)
{
    if (h->url_len < ALX_HTML_KEEP)
        h->url[h->url_len++] = c;
    else
        h->url_truncated = 1;
}

/* <meta http-equiv=refresh content="5; url='...'">: the host, kept until
 * the tag ends (the attributes come in any order). */
static void refresh_content(alx_html_t *h)
{
    const char *s = h->url, *end = h->url + h->url_len;
    const char *url;
    char quote = 0;

    while (s < end && (IS(*s, CL_SPACE | CL_DIGIT) || *s == '.'))
        s++;
    if (s < end && (*s == ';' || *s == ','))
        s++;
    while (s < end && IS(*s, CL_SPACE))
        s++;
    url = s;
    if (end - s >= 3 && equals_ci(s, 3, "url")) {
        s += 3;
        while (s < end && IS(*s, CL_SPACE))
            s++;
        if (s < end && *s == '=') {
            s++;
            while (s < end && IS(*s, CL_SPACE))
                s++;
            url = s;
        }
    }
    if (url < end && (*url == '"' || *url == '\'')) {
        const char *close;

        quote = *url++;
        close = memchr(url, quote, (apr_size_t)(end - url));
        if (close)
            end = close;
    }
    switch (url_host(url, (apr_size_t)(end - url), h->url_truncated && !quote,
                     h->refresh_host)) {
    case URL_HOST:
        break;
    case URL_RELATIVE:
        memcpy(h->refresh_host, h->base_host, sizeof(h->base_host));
        break;
    default:
        h->refresh_host[0] = '\0';
    }
    h->url_len = 0;
    h->url_truncated = 0;
}

/* ---- CSS: url(...), @import "..." --------------------------------------- */

static void css_reset(alx_html_t *h)
{
    h->css_state = C_NORMAL;
    h->css_escape = 0;
    h->css_import = 0;
    h->css_word_len = 0;
}

static void css_url_end(alx_html_t *h)
{
    url_found(h, h->css_import ? "css @import" : "css url");
    h->css_import = 0;
    h->css_state = C_NORMAL;
}

static void css_byte(alx_html_t *h, char c)
{
    switch (h->css_state) {
    case C_NORMAL:
    normal:
        if (IS(c, CL_IDENT) || c == '@') {
            if (h->css_word_len < sizeof(h->css_word))
                h->css_word[h->css_word_len] = LOWER(c);
            if (h->css_word_len <= sizeof(h->css_word))
                h->css_word_len++;
            return;
        }
        if (c == '(' && h->css_word_len == 3
            && memcmp(h->css_word, "url", 3) == 0) {
            h->css_word_len = 0;
            h->css_state = C_URL_WS;
            h->url_len = 0;
            h->url_truncated = 0;
            return;
        }
        if (h->css_word_len == 7 && memcmp(h->css_word, "@import", 7) == 0)
            h->css_import = 1;
        h->css_word_len = 0;
        if (c == '/')
            h->css_state = C_SLASH;
        else if (c == '"' || c == '\'') {
            h->css_quote = (unsigned char)c;
            h->url_len = 0;
            h->url_truncated = 0;
            h->css_state = h->css_import ? C_URL_QUOTED : C_STRING;
        }
        else if (c == ';' || c == '{' || c == '}')
            h->css_import = 0;
        return;
    case C_SLASH:
        if (c == '*') {
            h->css_state = C_COMMENT;
            return;
        }
        h->css_state = C_NORMAL;
        goto normal;
    case C_COMMENT:
        if (c == '*')
            h->css_state = C_COMMENT_STAR;
        return;
    case C_COMMENT_STAR:
        if (c == '/')
            h->css_state = C_NORMAL;
        else if (c != '*')
            h->css_state = C_COMMENT;
        return;
    case C_STRING:
        if (h->css_escape)
            h->css_escape = 0;
        else if (c == '\\')
            h->css_escape = 1;
        else if (c == (char)h->css_quote || c == '\n')
            h->css_state = C_NORMAL;
        return;
    case C_URL_WS:
        if (IS(c, CL_SPACE))
            return;
        if (c == '"' || c == '\'') {
            h->css_quote = (unsigned char)c;
            h->css_state = C_URL_QUOTED;
            return;
        }
        if (c == ')') {
            h->css_state = C_NORMAL;
            h->css_import = 0;
            return;
        }
        h->css_state = C_URL_UNQUOTED;
        /* fall through */
    case C_URL_UNQUOTED:
        if (h->css_escape) {
            h->css_escape = 0;
            url_add(h, c);
        }
        else if (c == '\\')
            h->css_escape = 1;
        else if (c == ')' || IS(c, CL_SPACE))
            css_url_end(h);
        else
            url_add(h, c);
        return;
    case C_URL_QUOTED:
        if (h->css_escape) {
            h->css_escape = 0;
            url_add(h, c);
        }
        else if (c == '\\')
            h->css_escape = 1;
        else if (c == (char)h->css_quote)
            css_url_end(h);
        else if (c == '\n') {
            h->css_state = C_NORMAL;   /* a bad string: no URL */
            h->css_import = 0;
        }
        else
            url_add(h, c);
        return;
    }
}

/* The style sheet ended (attribute value or end of page): a url( left open
 * is still a URL, as CSS closes it at the end of input. */
static void css_finish(alx_html_t *h)
{
    if (h->css_state == C_URL_QUOTED || h->css_state == C_URL_UNQUOTED)
        css_url_end(h);
    css_reset(h);
}

/* ---- JavaScript: window . open ------------------------------------------ */

static void js_reset(alx_html_t *h, const char *where)
{
    h->js_state = J_IDLE;
    h->js_prev_ident = 0;
    h->js_where = where;
}

static void js_byte(alx_html_t *h, char c)
{
    int ident = IS(c, CL_IDENT) != 0;

    switch (h->js_state) {
    case J_WINDOW:
        if (c == "window"[h->js_index]) {
            if (++h->js_index == 6)
                h->js_state = J_AFTER_WINDOW;
            break;
        }
        goto idle;
    case J_AFTER_WINDOW:
        if (c == '.') {
            h->js_state = J_AFTER_DOT;
            break;
        }
        if (IS(c, CL_SPACE))
            break;
        goto idle;
    case J_AFTER_DOT:
        if (IS(c, CL_SPACE))
            break;
        if (c == 'o') {
            h->js_state = J_OPEN;
            h->js_index = 1;
            break;
        }
        goto idle;
    case J_OPEN:
        if (c == "open"[h->js_index]) {
            if (++h->js_index == 4)
                h->js_state = J_AFTER_OPEN;
            break;
        }
        goto idle;
    case J_AFTER_OPEN:
        if (!ident)
            report(h, ALX_HTML_POPUP, "window.open", h->js_where);
        goto idle;
    default:
    idle:
        h->js_state = J_IDLE;
        if (c == 'w' && !h->js_prev_ident) {
            h->js_state = J_WINDOW;
            h->js_index = 1;
        }
        break;
    }
    h->js_prev_ident = (unsigned char)ident;
}

/* ---- srcset: candidates "url descriptors, url descriptors" -------------- */

static void srcset_url_end(alx_html_t *h)
{
    int commas = 0;

    while (h->url_len > 0 && h->url[h->url_len - 1] == ',') {
        h->url_len--;
        commas = 1;
    }
    url_found(h, h->where);
    h->srcset_state = commas ? SS_SKIP : SS_DESCRIPTOR;
    h->srcset_paren = 0;
}

static void srcset_byte(alx_html_t *h, char c)
{
    switch (h->srcset_state) {
    case SS_SKIP:
        if (IS(c, CL_SPACE) || c == ',')
            return;
        h->srcset_state = SS_URL;
        h->url_len = 0;
        h->url_truncated = 0;
        /* fall through */
    case SS_URL:
        if (IS(c, CL_SPACE))
            srcset_url_end(h);
        else
            url_add(h, c);
        return;
    case SS_DESCRIPTOR:
        if (c == '(')
            h->srcset_paren = 1;
        else if (c == ')')
            h->srcset_paren = 0;
        else if (c == ',' && !h->srcset_paren)
            h->srcset_state = SS_SKIP;
        return;
    }
}

/* ---- attribute values and character references -------------------------- */

static void value_byte(alx_html_t *h, char c)
{
    switch (h->value_kind) {
    case V_SRCSET:
        srcset_byte(h, c);
        return;
    case V_STYLE:
        css_byte(h, c);
        return;
    case V_EVENT:
        js_byte(h, c);
        return;
    case V_IGNORE:
        return;
    default:
        url_add(h, c);
        return;
    }
}

static void value_code_point(alx_html_t *h, unsigned long cp)
{
    if (cp < 0x80) {
        value_byte(h, (char)cp);
        return;
    }
    if (cp < 0x800) {
        value_byte(h, (char)(0xc0 | (cp >> 6)));
    }
    else {
        if (cp < 0x10000) {
            value_byte(h, (char)(0xe0 | (cp >> 12)));
        }
        else {
            value_byte(h, (char)(0xf0 | (cp >> 18)));
            value_byte(h, (char)(0x80 | ((cp >> 12) & 0x3f)));
        }
        value_byte(h, (char)(0x80 | ((cp >> 6) & 0x3f)));
    }
    value_byte(h, (char)(0x80 | (cp & 0x3f)));
}

/* The named references a URL's characters may hide behind; the first
 * four also count without ';' (legacy, as browsers keep them). */
static const struct {
    const char *name;
    unsigned long cp;
} entities[] = {
    { "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' },
    { "AMP", '&' }, { "LT", '<' }, { "GT", '>' }, { "QUOT", '"' },
    { "apos", '\'' }, { "sol", '/' }, { "bsol", '\\' }, { "colon", ':' },
    { "period", '.' }, { "comma", ',' }, { "num", '#' }, { "percnt", '%' },
    { "quest", '?' }, { "commat", '@' }, { "equals", '=' }, { "lpar", '(' },
    { "rpar", ')' }, { "lsqb", '[' }, { "rsqb", ']' }, { "lbrack", '[' },
    { "rbrack", ']' }, { "excl", '!' }, { "plus", '+' }, { "lowbar", '_' },
    { "semi", ';' }, { "ast", '*' }, { "dollar", '$' }, { "verbar", '|' },
    { "vert", '|' }, { "grave", '`' }, { "Hat", '^' }, { "lcub", '{' },
    { "rcub", '}' }, { "lbrace", '{' }, { "rbrace", '}' }, { "Tab", '\t' },
    { "NewLine", '\n' }, { "nbsp", 0xa0 }, { "hyphen", 0x2010 }
};
#define ENTITY_LEGACY 8

static void entity_raw(alx_html_t *h)
{
    unsigned int i, n = h->ent_len;

    h->ent_len = 0;
    for (i = 0; i < n; i++)
        value_byte(h, h->ent[i]);
}

/* A reference ended at c (0: the value ended); returns 1 if c, a ';',
 * belonged to it. */
static int entity_finish(alx_html_t *h, char c)
{
    unsigned int i, n = h->ent_len;

    if (n >= 2 && h->ent[1] == '#') {
        unsigned long cp = 0;
        int hex = n >= 3 && (h->ent[2] == 'x' || h->ent[2] == 'X');

        i = hex ? 3 : 2;
        if (i >= n) {
            entity_raw(h);
            return 0;
        }
        for (; i < n; i++) {
            unsigned char d = (unsigned char)h->ent[i];

            cp = hex ? cp * 16 + (unsigned long)hex_value(d)
                     : cp * 10 + (unsigned long)(d - '0');
            if (cp > 0x10ffff)
                cp = 0x110000;
        }
        if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            cp = 0xfffd;
        h->ent_len = 0;
        value_code_point(h, cp);
        return c == ';';
    }
    for (i = 0; i < sizeof(entities) / sizeof(entities[0]); i++) {
        if (c != ';' && (i >= ENTITY_LEGACY || c == '='))
            break;
        if (strlen(entities[i].name) == n - 1
            && memcmp(entities[i].name, h->ent + 1, n - 1) == 0) {
            h->ent_len = 0;
            value_code_point(h, entities[i].cp);
            return c == ';';
        }
    }
    entity_raw(h);
    return 0;
}

/* c inside a reference: 1 if consumed. */
static int entity_byte(alx_html_t *h, char c)
{
    int accept;

    if (h->ent_len == 1)
        accept = c == '#' || IS(c, CL_ALPHA | CL_DIGIT);
    else if (h->ent[1] == '#') {
        if (h->ent_len == 2)
            accept = IS(c, CL_DIGIT) || c == 'x' || c == 'X';
        else if (h->ent[2] == 'x' || h->ent[2] == 'X')
            accept = IS(c, CL_HEX) != 0;
        else
            accept = IS(c, CL_DIGIT) != 0;
    }
    else
        accept = IS(c, CL_ALPHA | CL_DIGIT) != 0;
    if (accept && h->ent_len < ENTITY_MAX) {
        h->ent[h->ent_len++] = c;
        return 1;
    }
    return entity_finish(h, c);
}

static int tag_is(const alx_html_t *h, const char *name)
{
    return !h->tag_over && h->tag[0] == name[0] && strcmp(h->tag, name) == 0;
}


/* Whether the tag is one of tags (space-separated; NULL: any). */
static int tag_in(const alx_html_t *h, const char *tags)
{
    const char *t = tags;

    if (!tags)
        return 1;
    if (h->tag_over || h->tag_len == 0)
        return 0;
    while ((t = strstr(t, h->tag))) {
        if ((t == tags || t[-1] == ' ')
            && (t[h->tag_len] == ' ' || t[h->tag_len] == '\0'))
            return 1;
        t += h->tag_len;
    }
    return 0;
}

/* The attributes whose values the scanner reads; on* handlers are read as
 * script besides. */
typedef struct {
    const char *name;
    apr_size_t len;
    const char *tags;       /* only on these, or NULL */
    unsigned char kind;
} alx_attr_kind_t;

#define ATTR(name, tags, kind) {name, sizeof(name) - 1, tags, kind}

static const alx_attr_kind_t attr_kinds[] = {
    ATTR("src", NULL, V_URL),
    ATTR("srcset", NULL, V_SRCSET),
    ATTR("style", NULL, V_STYLE),
    ATTR("href", "base", V_BASE_HREF),
    ATTR("href", NULL, V_URL),
    ATTR("http-equiv", "meta", V_EQUIV),
    ATTR("action", NULL, V_URL),
    ATTR("formaction", NULL, V_URL),
    ATTR("poster", NULL, V_URL),
    ATTR("data", NULL, V_URL),
    ATTR("background", NULL, V_URL),
    ATTR("xlink:href", NULL, V_URL),
    ATTR("imagesrcset", NULL, V_SRCSET),
    ATTR("content", "meta", V_CONTENT),
    ATTR("target", "a form base area", V_TARGET),
    {NULL, 0, NULL, V_IGNORE}
};

/* '=' after an attribute name: what its value feeds. */
static void attr_begin(alx_html_t *h)
{
    unsigned char kind = V_IGNORE;
    const alx_attr_kind_t *a;

    h->ent_len = 0;
    h->url_len = 0;
    h->url_truncated = 0;
    if (h->is_end_tag || h->attr_len == 0) {
        h->value_kind = V_IGNORE;
        return;
    }
    for (a = attr_kinds; a->name; a++)
        if (a->len == h->attr_len && a->name[0] == h->attr[0]
            && !h->attr_over && !memcmp(h->attr, a->name, a->len)
            && tag_in(h, a->tags)) {
            kind = a->kind;
            break;
        }
    if (kind == V_IGNORE && h->attr_len > 2 && h->attr[0] == 'o'
        && h->attr[1] == 'n')
        kind = V_EVENT;
    h->value_kind = kind;
    if (kind == V_IGNORE)
        return;
    memcpy(h->where, h->tag, h->tag_len);
    h->where[h->tag_len] = ' ';
    memcpy(h->where + h->tag_len + 1, h->attr, h->attr_len + 1u);
    if (kind == V_SRCSET) {
        h->srcset_state = SS_SKIP;
        h->srcset_paren = 0;
    }
    else if (kind == V_STYLE)
        css_reset(h);
    else if (kind == V_EVENT)
        js_reset(h, h->where);
}

/* The value ended (closing quote, space or '>' when unquoted). */
static void attr_end(alx_html_t *h)
{
    if (h->ent_len)
        entity_finish(h, 0);
    switch (h->value_kind) {
    case V_URL:
        url_found(h, h->where);
        break;
    case V_BASE_HREF:
        /* Only the first <base href> counts, as in browsers. */
        if (!h->base_seen) {
            h->base_seen = 1;
            if (url_host(h->url, h->url_len, h->url_truncated, h->base_host)
                == URL_HOST)
                report(h, ALX_HTML_HOST, h->base_host, "base href");
            else
                h->base_host[0] = '\0';
        }
        break;
    case V_SRCSET:
        if (h->srcset_state == SS_URL)
            srcset_url_end(h);
        break;
    case V_STYLE:
        css_finish(h);
        break;
    case V_EVENT:
        if (h->js_state == J_AFTER_OPEN)
            report(h, ALX_HTML_POPUP, "window.open", h->js_where);
        break;
    case V_CONTENT:
        refresh_content(h);
        break;
    case V_TARGET:
        if (equals_ci(h->url, h->url_len, "_blank"))
            report(h, ALX_HTML_POPUP, "target=_blank", h->tag);
        break;
    case V_EQUIV:
        h->refresh_equiv = equals_ci(h->url, h->url_len, "refresh");
        break;
    }
    h->value_kind = V_IGNORE;
    h->url_len = 0;
}

/* ---- tags --------------------------------------------------------------- */

static void tag_begin(alx_html_t *h, int is_end, char first)
{
    h->is_end_tag = (unsigned char)is_end;
    h->tag[0] = LOWER(first);
    h->tag[1] = '\0';
    h->tag_len = 1;
    h->tag_over = 0;
    h->refresh_equiv = 0;
    h->refresh_host[0] = '\0';
    h->value_kind = V_IGNORE;
}

static void tag_name_add(alx_html_t *h, char c)
{
    if (h->tag_len < TAG_MAX) {
        h->tag[h->tag_len++] = c ? LOWER(c) : '?';
        h->tag[h->tag_len] = '\0';
    }
    else
        h->tag_over = 1;
}

static void attr_name_begin(alx_html_t *h, char c)
{
    h->attr[0] = c ? LOWER(c) : '?';
    h->attr[1] = '\0';
    h->attr_len = 1;
    h->attr_over = 0;
}

static void attr_name_add(alx_html_t *h, char c)
{
    if (h->attr_len < ATTR_MAX) {
        h->attr[h->attr_len++] = c ? LOWER(c) : '?';
        h->attr[h->attr_len] = '\0';
    }
    else
        h->attr_over = 1;
}

/* Elements whose content is text up to their end tag. */
static const struct {
    const char *name;
    unsigned char kind;
} raw_elements[] = {
    { "script", RAW_SCRIPT }, { "style", RAW_STYLE }, { "textarea", RAW_PLAIN },
    { "title", RAW_PLAIN }, { "xmp", RAW_PLAIN }, { "iframe", RAW_PLAIN },
    { "noembed", RAW_PLAIN }, { "noframes", RAW_PLAIN }
};

/* A start tag's attributes are complete (its '>' or the end of the page). */
static void tag_attributes_done(alx_html_t *h)
{
    if (!h->is_end_tag && h->refresh_equiv && h->refresh_host[0]
        && tag_is(h, "meta"))
        report(h, ALX_HTML_HOST, h->refresh_host, "meta refresh");
    h->refresh_equiv = 0;
    h->refresh_host[0] = '\0';
}

static void tag_end(alx_html_t *h)
{
    unsigned int i;

    tag_attributes_done(h);
    h->state = S_DATA;
    if (h->is_end_tag || h->tag_over)
        return;
    if (tag_is(h, "plaintext")) {
        h->state = S_PLAINTEXT;
        return;
    }
    for (i = 0; i < sizeof(raw_elements) / sizeof(raw_elements[0]); i++)
        if (h->tag[0] == raw_elements[i].name[0]
            && strcmp(h->tag, raw_elements[i].name) == 0) {
            h->state = S_RAW;
            h->raw_name = raw_elements[i].name;
            h->raw_len = (unsigned char)strlen(h->raw_name);
            h->raw_kind = raw_elements[i].kind;
            h->raw_match = 0;
            css_reset(h);
            js_reset(h, "script");
            return;
        }
}

/* ---- the tokenizer ------------------------------------------------------ */

/* Bytes that may start something in raw text: 1 in script ('<' and the w of
 * window), 2 in style ('<', the u of url, @, comment, string and rule
 * delimiters), 3 in both. */
static const unsigned char raw_stop[256] = {
    ['<'] = 3, ['w'] = 1, ['u'] = 2, ['U'] = 2, ['@'] = 2, ['/'] = 2,
    ['"'] = 2, ['\''] = 2, [';'] = 2, ['{'] = 2, ['}'] = 2
};

static APR_INLINE void step(alx_html_t *h, char c)
{
again:
    switch (h->state) {
    case S_DATA:
        if (c == '<')
            h->state = S_TAG_OPEN;
        return;
    case S_TAG_OPEN:
        if (IS(c, CL_ALPHA)) {
            tag_begin(h, 0, c);
            h->state = S_TAG_NAME;
        }
        else if (c == '/')
            h->state = S_END_TAG_OPEN;
        else if (c == '!')
            h->state = S_MARKUP;
        else if (c == '?')
            h->state = S_BOGUS;
        else {
            h->state = S_DATA;
            goto again;
        }
        return;
    case S_END_TAG_OPEN:
        if (IS(c, CL_ALPHA)) {
            tag_begin(h, 1, c);
            h->state = S_TAG_NAME;
        }
        else if (c == '>')
            h->state = S_DATA;
        else {
            h->state = S_BOGUS;
            goto again;
        }
        return;
    case S_MARKUP:
        if (c == '-') {
            h->state = S_MARKUP_DASH;
            return;
        }
        h->state = S_BOGUS;
        goto again;
    case S_MARKUP_DASH:
        if (c == '-') {
            /* "<!-->" and "<!--->" are whole comments. */
            h->state = S_COMMENT;
            h->comment_dashes = 2;
            h->comment_bang = 0;
            return;
        }
        h->state = S_BOGUS;
        goto again;
    case S_COMMENT:
        if (c == '-') {
            if (h->comment_bang)
                h->comment_dashes = 1;
            else if (h->comment_dashes < 2)
                h->comment_dashes++;
            h->comment_bang = 0;
        }
        else if (c == '>' && h->comment_dashes >= 2)
            h->state = S_DATA;
        else if (c == '!' && h->comment_dashes >= 2 && !h->comment_bang)
            h->comment_bang = 1;
        else {
            h->comment_dashes = 0;
            h->comment_bang = 0;
        }
        return;
    case S_BOGUS:
        if (c == '>')
            h->state = S_DATA;
        return;
    case S_TAG_NAME:
        if (IS(c, CL_SPACE) || c == '/')
            h->state = S_BEFORE_ATTR_NAME;
        else if (c == '>')
            tag_end(h);
        else
            tag_name_add(h, c);
        return;
    case S_BEFORE_ATTR_NAME:
        if (IS(c, CL_SPACE) || c == '/')
            return;
        if (c == '>') {
            tag_end(h);
            return;
        }
        attr_name_begin(h, c);
        h->state = S_ATTR_NAME;
        return;
    case S_ATTR_NAME:
        if (IS(c, CL_SPACE))
            h->state = S_AFTER_ATTR_NAME;
        else if (c == '/')
            h->state = S_BEFORE_ATTR_NAME;
        else if (c == '=') {
            attr_begin(h);
            h->state = S_BEFORE_VALUE;
        }
        else if (c == '>')
            tag_end(h);
        else
            attr_name_add(h, c);
        return;
    case S_AFTER_ATTR_NAME:
        if (IS(c, CL_SPACE))
            return;
        if (c == '/')
            h->state = S_BEFORE_ATTR_NAME;
        else if (c == '=') {
            attr_begin(h);
            h->state = S_BEFORE_VALUE;
        }
        else if (c == '>')
            tag_end(h);
        else {
            attr_name_begin(h, c);
            h->state = S_ATTR_NAME;
        }
        return;
    case S_BEFORE_VALUE:
        if (IS(c, CL_SPACE))
            return;
        if (c == '"')
            h->state = S_VALUE_DQ;
        else if (c == '\'')
            h->state = S_VALUE_SQ;
        else if (c == '>') {
            attr_end(h);
            tag_end(h);
        }
        else {
            h->state = S_VALUE_UNQ;
            goto again;
        }
        return;
    case S_VALUE_DQ:
    case S_VALUE_SQ:
    case S_VALUE_UNQ:
        if (h->ent_len && entity_byte(h, c))
            return;
        if (h->state == S_VALUE_UNQ) {
            if (IS(c, CL_SPACE)) {
                attr_end(h);
                h->state = S_BEFORE_ATTR_NAME;
                return;
            }
            if (c == '>') {
                attr_end(h);
                tag_end(h);
                return;
            }
        }
        else if (c == (h->state == S_VALUE_DQ ? '"' : '\'')) {
            attr_end(h);
            h->state = S_AFTER_VALUE;
            return;
        }
        if (h->value_kind == V_IGNORE)
            return;
        if (c == '&') {
            h->ent[0] = '&';
            h->ent_len = 1;
        }
        else if (c == '\0')
            value_code_point(h, 0xfffd);
        else
            value_byte(h, c);
        return;
    case S_AFTER_VALUE:
        if (IS(c, CL_SPACE) || c == '/')
            h->state = S_BEFORE_ATTR_NAME;
        else if (c == '>')
            tag_end(h);
        else {
            h->state = S_BEFORE_ATTR_NAME;
            goto again;
        }
        return;
    case S_RAW:
        if (h->raw_kind == RAW_SCRIPT)
            js_byte(h, c);
        else if (h->raw_kind == RAW_STYLE)
            css_byte(h, c);
        if (h->raw_match == 0) {
            if (c == '<')
                h->raw_match = 1;
        }
        else if (h->raw_match == 1) {
            h->raw_match = c == '/' ? 2 : c == '<';
        }
        else if (h->raw_match < h->raw_len + 2) {
            if (LOWER(c) == h->raw_name[h->raw_match - 2])
                h->raw_match++;
            else
                h->raw_match = c == '<';
        }
        else if (IS(c, CL_SPACE) || c == '/' || c == '>') {
            tag_begin(h, 1, 'x');
            h->tag_over = 1;   /* the end tag's name matters no more */
            if (c == '>')
                tag_end(h);
            else
                h->state = S_BEFORE_ATTR_NAME;
        }
        else
            h->raw_match = c == '<';
        return;
    case S_PLAINTEXT:
        return;
    }
}

alx_html_t *alx_html_create(apr_pool_t *p, alx_html_fn fn, void *baton)
{
    alx_html_t *h = apr_pcalloc(p, sizeof(*h));

    h->fn = fn;
    h->baton = baton;
    return h;
}

void alx_html_feed(alx_html_t *h, const char *data, apr_size_t len)
{
    const char *s = data, *end = data + len;

    while (s < end) {
        if (h->state == S_DATA) {
            /* Text between tags: nothing to see up to the next '<'. */
            const char *lt = memchr(s, '<', (apr_size_t)(end - s));

            if (!lt)
                return;
            s = lt + 1;
            h->state = S_TAG_OPEN;
            continue;
        }
        if ((h->state == S_VALUE_DQ || h->state == S_VALUE_SQ)
            && h->value_kind == V_IGNORE) {
            /* A value nobody reads: skip to its closing quote. */
            const char *q = memchr(s, h->state == S_VALUE_DQ ? '"' : '\'',
                                   (apr_size_t)(end - s));

            if (!q)
                return;
            s = q + 1;
            h->state = S_AFTER_VALUE;
            continue;
        }
        if (h->state == S_RAW && h->raw_match == 0) {
            /* Raw text: only a few bytes can start anything. */
            const char *q = s;

            if (h->raw_kind == RAW_PLAIN) {
                q = memchr(s, '<', (apr_size_t)(end - s));
                if (!q)
                    return;
            }
            else if (h->raw_kind == RAW_SCRIPT) {
                if (h->js_state == J_IDLE) {
                    while (q < end && !(raw_stop[(unsigned char)*q] & 1))
                        q++;
                    if (q > s)
                        h->js_prev_ident = IS(q[-1], CL_IDENT) != 0;
                }
            }
            else if (h->css_state == C_NORMAL
                     && (h->css_word_len == 0
                         || h->css_word_len > sizeof(h->css_word))) {
                while (q < end && raw_stop[(unsigned char)*q] < 2)
                    q++;
                /* What the skipped bytes leave: inside a word that is
                 * neither url nor @import, or between words. */
                if (q > s)
                    h->css_word_len = IS(q[-1], CL_IDENT)
                                      ? sizeof(h->css_word) + 1 : 0;
            }
            if (q == end)
                return;
            s = q;
        }
        step(h, *s++);
    }
}

void alx_html_end(alx_html_t *h)
{
    switch (h->state) {
    case S_VALUE_DQ:
    case S_VALUE_SQ:
    case S_VALUE_UNQ:
        attr_end(h);
        tag_attributes_done(h);
        break;
    case S_TAG_NAME:
    case S_BEFORE_ATTR_NAME:
    case S_ATTR_NAME:
    case S_AFTER_ATTR_NAME:
    case S_BEFORE_VALUE:
    case S_AFTER_VALUE:
        tag_attributes_done(h);
        break;
    case S_RAW:
        if (h->raw_kind == RAW_STYLE)
            css_finish(h);
        else if (h->raw_kind == RAW_SCRIPT && h->js_state == J_AFTER_OPEN)
            report(h, ALX_HTML_POPUP, "window.open", h->js_where);
        break;
    default:
        break;
    }
    h->state = S_DATA;
    h->value_kind = V_IGNORE;
    h->ent_len = 0;
}

/* The length of an entry's host: without a port or trailing dots. */
static apr_size_t entry_host_len(const char *entry)
{
    apr_size_t n;

    if (entry[0] == '[') {
        const char *close = strchr(entry, ']');

        n = close ? (apr_size_t)(close - entry) + 1 : strlen(entry);
    }
    else
        n = strcspn(entry, ":");
    while (n > 0 && entry[n - 1] == '.')
        n--;
    return n;
}

int alx_html_host_listed(const char *host, const apr_array_header_t *list)
{
    apr_size_t host_len;
    int i;

    if (!host || !list)
        return 0;
    host_len = strlen(host);
    while (host_len > 0 && host[host_len - 1] == '.')
        host_len--;
    if (host_len == 0)
        return 0;
    for (i = 0; i < list->nelts; i++) {
        const char *entry = APR_ARRAY_IDX(list, i, const char *);
        apr_size_t n;

        if (!entry || !*entry)
            continue;
        if (entry[0] == '*' && entry[1] == '.') {
            /* "*.example.com": the suffix ".example.com", with more before */
            n = entry_host_len(entry + 1);
            if (n > 1 && host_len > n
                && same_ci(host + host_len - n, entry + 1, n))
                return 1;
            continue;
        }
        n = entry_host_len(entry);
        if (n == host_len && same_ci(host, entry, n))
            return 1;
    }
    return 0;
}

/* The authorization flow as Alexa runs it: the request that starts it, and
 * the redirect (3xx Location) that ends it back at Alexa. */
#include <string.h>
#include <strings.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "alx_authz.h"
#include "alx_form.h"

#define ALX_ERROR_CODE_MAX 64
#define ALX_SPA_PATH "/spa/skill/account-linking-status.html"

#define REGION_ROW(id, word, host, counter) { word, host },
static const struct {
    const char *word;
    const char *host;           /* NULL: none of Alexa's */
} regions[] = { ALX_REGIONS(REGION_ROW) };

#define FATE_WORD(id, word) word,
static const char *const fate_names[] = { ALX_STATE_FATES(FATE_WORD) };

const char *alx_region_name(alx_region_e region)
{
    if ((unsigned)region >= ALX_REGION_COUNT)
        return "-";
    return regions[region].word;
}

const char *alx_state_fate_name(alx_state_fate_e fate)
{
    if ((unsigned)fate >= sizeof(fate_names) / sizeof(fate_names[0]))
        return "-";
    return fate_names[fate];
}

/* Length of host without its ":port" and one trailing dot. */
static apr_size_t host_key_len(const char *host)
{
    const char *end;
    apr_size_t len;

    if (host[0] == '[')
        end = strchr(host, ']') ? strchr(host, ']') + 1 : host + strlen(host);
    else
        end = host + strcspn(host, ":");
    len = (apr_size_t)(end - host);
    if (len > 1 && host[len - 1] == '.')
        len--;
    return len;
}

static int same_host(const char *a, const char *b)
{
    apr_size_t len = host_key_len(a);

    return len == host_key_len(b) && strncasecmp(a, b, len) == 0;
}

static alx_region_e known_region(const char *host)
{
    int i;

    for (i = 0; i < ALX_REGION_COUNT; i++)
        if (regions[i].host && same_host(host, regions[i].host))
            return (alx_region_e)i;
    return ALX_REGION_NONE;
}

alx_region_e alx_authz_region(const char *host, const apr_array_header_t *hosts)
{
    alx_region_e region;
    int i;

    if (!host || host_key_len(host) == 0)
        return ALX_REGION_NONE;
    if (!hosts)
        return known_region(host);
    for (i = 0; i < hosts->nelts; i++) {
        const char *listed = APR_ARRAY_IDX(hosts, i, const char *);

        if (listed && same_host(host, listed)) {
            region = known_region(host);
            return region != ALX_REGION_NONE ? region : ALX_REGION_OTHER;
        }
    }
    return ALX_REGION_NONE;
}

/* A URL cut into parts by offsets, so that a rewrite can keep every byte
 * it does not change. */
typedef enum {
    URL_RELATIVE = 0,
    URL_OTHER_SCHEME,           /* mailto:, javascript:, https:no-slashes */
    URL_ABSOLUTE,               /* http:// or https:// */
    URL_NETWORK                 /* //host */
} url_kind_e;

typedef struct {
    url_kind_e kind;
    const char *host;           /* decoded, lower-case; NULL when bad */
    int bad;                    /* see alx_authz_redirect in the header */
    apr_size_t path, query, fragment, end;  /* offsets; query and fragment
                                               just past '?' and '#' */
    int has_query, has_fragment;
} url_t;

static int hex_digit(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* A decoded host byte a browser accepts (WHATWG forbidden host code
 * points excluded); bytes from 0x80 are IDN and pass. */
static int host_byte(unsigned char c)
{
    return c >= 0x80 || apr_isalnum(c)
           || (c && strchr("-._~!$&'()*+,;=", c) != NULL);
}

/* The host of hostport (len bytes, no userinfo), decoded and lower-case,
 * or NULL when it does not parse. */
static const char *parse_host(apr_pool_t *p, const char *s, apr_size_t len)
{
    const char *port, *end = s + len;
    char *host, *d;
    apr_size_t i, host_len;
    int hi, lo;

    if (len && s[0] == '[') {
        const char *close = memchr(s, ']', len);

        if (!close || close == s + 1)
            return NULL;
        for (i = 1; s + i < close; i++)
            if (!apr_isxdigit(s[i]) && s[i] != ':' && s[i] != '.')
                return NULL;
        port = close + 1;
        if (port < end && *port != ':')
            return NULL;
        host_len = (apr_size_t)(port - s);
    }
    else {
        if (memchr(s, '[', len) || memchr(s, ']', len))
            return NULL;
        for (i = len; i > 0; i--)
            if (s[i - 1] == ':')
                break;
        port = i ? s + i - 1 : end;
        host_len = (apr_size_t)(port - s);
    }
    if (port < end) {           /* ":" then at most 5 digits, <= 65535 */
        apr_size_t digits = (apr_size_t)(end - port - 1);

        if (digits > 5)
            return NULL;
        for (i = 1; port + i < end; i++)
            if (!apr_isdigit(port[i]))
                return NULL;
        if (digits && apr_atoi64(apr_pstrmemdup(p, port + 1, digits)) > 65535)
            return NULL;
    }
    d = host = apr_palloc(p, host_len + 1);
    for (i = 0; i < host_len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '%') {
            if (i + 2 >= host_len)
                return NULL;
            if ((hi = hex_digit(s[i + 1])) < 0 || (lo = hex_digit(s[i + 2])) < 0)
                return NULL;
            c = (unsigned char)(hi * 16 + lo);
            i += 2;
            if (!host_byte(c))
                return NULL;
        }
        else if (!host_byte(c) && !(s[0] == '[' && (c == '[' || c == ']'
                                                    || c == ':'))) {
            return NULL;
        }
        *d++ = (char)apr_tolower(c);
    }
    *d = '\0';
    if (d > host + 1 && d[-1] == '.')
        *--d = '\0';
    return *host ? host : NULL;
}

/* Cuts s (len bytes) into parts and checks what the header calls sound. */
static void parse_url(apr_pool_t *p, const char *s, apr_size_t len, url_t *u)
{
    apr_size_t i = 0, auth, stop, at;

    memset(u, 0, sizeof(*u));
    for (i = 0; i < len; i++)
        if (apr_iscntrl(s[i]))
            u->bad = 1;
    if (len > ALX_AUTHZ_LOCATION_MAX)
        u->bad = 1;
    i = 0;
    if (apr_isalpha(s[0])) {
        while (i < len && (apr_isalnum(s[i]) || strchr("+-.", s[i])))
            i++;
        if (i < len && s[i] == ':') {
            int web = (i == 4 && strncasecmp(s, "http", 4) == 0)
                      || (i == 5 && strncasecmp(s, "https", 5) == 0);

            u->kind = web && len - i >= 3 && s[i + 1] == '/' && s[i + 2] == '/'
                      ? URL_ABSOLUTE : URL_OTHER_SCHEME;
            if (u->kind == URL_OTHER_SCHEME) {
                u->path = len;  /* no part of it is looked at */
                u->query = u->fragment = u->end = len;
                return;
            }
            i += 3;
        }
        else {
            i = 0;
        }
    }
    else if (len >= 2 && s[0] == '/' && s[1] == '/') {
        u->kind = URL_NETWORK;
        i = 2;
    }
    else if (len >= 2 && (s[0] == '/' || s[0] == '\\')
             && (s[1] == '/' || s[1] == '\\')) {
        u->bad = 1;             /* "/\host": a browser's protocol-relative */
    }
    if (u->kind == URL_ABSOLUTE || u->kind == URL_NETWORK) {
        auth = i;
        stop = auth + strcspn(s + auth, "/?#");
        if (stop > len)
            stop = len;
        at = auth;
        for (i = auth; i < stop; i++) {
            if (s[i] == '\\' || s[i] == ' ' || apr_iscntrl(s[i]))
                break;
            if (s[i] == '@')
                at = i + 1;
        }
        if (i == stop)
            u->host = parse_host(p, s + at, stop - at);
        if (!u->host)
            u->bad = 1;
        i = stop;
    }
    u->path = i;
    while (i < len && s[i] != '?' && s[i] != '#')
        i++;
    if (i < len && s[i] == '?') {
        u->has_query = 1;
        u->query = ++i;
        while (i < len && s[i] != '#')
            i++;
    }
    else {
        u->query = i;
    }
    u->fragment = i;
    if (i < len) {
        u->has_fragment = 1;
        u->fragment = i + 1;
    }
    u->end = len;
}

/* One '&'-separated segment of a query or fragment. */
typedef struct {
    const char *raw;            /* as sent (or as rewritten) */
    apr_size_t len;
    apr_size_t name_len;        /* raw bytes before '=' */
    const char *name;           /* decoded; NULL for an added segment */
    const char *value;          /* decoded; "" without '=' */
} param_t;

/* The segments of s (len bytes), empty ones included; 0 when one does
 * not decode. */
static int parse_params(apr_pool_t *p, const char *s, apr_size_t len,
                        apr_array_header_t **out)
{
    apr_array_header_t *list = apr_array_make(p, 8, sizeof(param_t));
    apr_size_t start = 0, stop;
    int sound = 1;

    *out = list;
    if (len == 0)
        return 1;
    for (;;) {
        const char *amp = memchr(s + start, '&', len - start);
        param_t *param = apr_array_push(list);
        const char *eq;
        char *name, *value = NULL;

        stop = amp ? (apr_size_t)(amp - s) : len;
        param->raw = s + start;
        param->len = stop - start;
        eq = memchr(param->raw, '=', param->len);
        param->name_len = eq ? (apr_size_t)(eq - param->raw) : param->len;
        if (alx_form_unescape(p, param->raw, param->name_len, &name)
            != APR_SUCCESS
            || (eq && alx_form_unescape(p, eq + 1,
                                        param->len - param->name_len - 1,
                                        &value) != APR_SUCCESS)) {
            sound = 0;
            name = NULL;
        }
        param->name = name;
        param->value = value ? value : "";
        if (!amp)
            break;
        start = stop + 1;
    }
    return sound;
}

static const param_t *param_at(const apr_array_header_t *list, int i)
{
    return &APR_ARRAY_IDX(list, i, param_t);
}

static int is_named(const param_t *param, const char *name)
{
    return param->name && strcmp(param->name, name) == 0;
}

static const param_t *find_param(const apr_array_header_t *list,
                                 const char *name)
{
    int i;

    for (i = 0; i < list->nelts; i++)
        if (is_named(param_at(list, i), name))
            return param_at(list, i);
    return NULL;
}

/* The implicit grant's answer (RFC 6749 4.2.2), which belongs in the
 * fragment; refresh_token (not allowed there) moves too: it is a secret. */
static int moves_to_fragment(const param_t *param)
{
    static const char *const names[] = {
        "access_token", "token_type", "expires_in", "scope", "refresh_token",
        "state"
    };
    apr_size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (is_named(param, names[i]))
            return 1;
    return 0;
}

/* Constant time in the bytes compared: states are secret-ish. */
static int same_secret(const char *a, const char *b)
{
    apr_size_t len = strlen(a), i;
    unsigned char diff = 0;

    if (len != strlen(b))
        return 0;
    for (i = 0; i < len; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

/* Adds the values of the state= of list to states. */
static void collect_states(const apr_array_header_t *list,
                           apr_array_header_t *states)
{
    int i;

    for (i = 0; i < list->nelts; i++)
        if (is_named(param_at(list, i), "state"))
            APR_ARRAY_PUSH(states, const char *) = param_at(list, i)->value;
}

static int all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!apr_isdigit(*s))
            return 0;
    return 1;
}

/* Whether the digits of s are a number below floor (> 0). */
static int below(const char *s, long long floor)
{
    while (*s == '0' && s[1])
        s++;
    return strlen(s) <= 18 && apr_atoi64(s) < floor;
}

static int error_code_byte(char c)
{
    return c > ' ' && c < 0x7f;
}

static const char *error_code(const char *value)
{
    apr_size_t len = strlen(value), i;

    if (len == 0 || len > ALX_ERROR_CODE_MAX)
        return "invalid";
    for (i = 0; i < len; i++)
        if (!error_code_byte(value[i]))
            return "invalid";
    return value;
}

/* The segments of a part after a rewrite, joined again. */
static char *join_params(apr_pool_t *p, const apr_array_header_t *list)
{
    apr_size_t total = 0;
    char *out, *d;
    int i;

    for (i = 0; i < list->nelts; i++)
        total += param_at(list, i)->len + 1;
    d = out = apr_palloc(p, total + 1);
    for (i = 0; i < list->nelts; i++) {
        if (i > 0)
            *d++ = '&';
        memcpy(d, param_at(list, i)->raw, param_at(list, i)->len);
        d += param_at(list, i)->len;
    }
    *d = '\0';
    return out;
}

/* Appends a segment; an empty last segment (a trailing '&') takes it. */
static void add_param(apr_array_header_t *list, const char *raw)
{
    param_t *param;

    if (list->nelts && param_at(list, list->nelts - 1)->len == 0)
        param = &APR_ARRAY_IDX(list, list->nelts - 1, param_t);
    else
        param = apr_array_push(list);
    memset(param, 0, sizeof(*param));
    param->raw = raw;
    param->len = strlen(raw);
}

/* Makes the first state= of list the expected one, removes the others. */
static void put_state(apr_pool_t *p, apr_array_header_t *list,
                      const char *expected)
{
    const char *raw = apr_pstrcat(p, "state=", alx_form_escape(p, expected),
                                  NULL);
    param_t *param = (param_t *)list->elts;
    int i, kept = 0, done = 0;

    for (i = 0; i < list->nelts; i++) {
        if (is_named(&param[i], "state")) {
            if (done)
                continue;
            param[i].raw = raw;
            param[i].len = strlen(raw);
            done = 1;
        }
        param[kept++] = param[i];
    }
    list->nelts = kept;
    if (!done)
        add_param(list, raw);
}

/* Raises every numeric expires_in of list below min_ttl; true if any. */
static int raise_ttl(apr_pool_t *p, apr_array_header_t *list,
                     long long min_ttl)
{
    param_t *param = (param_t *)list->elts;
    int i, raised = 0;

    for (i = 0; i < list->nelts; i++) {
        if (!is_named(&param[i], "expires_in") || !all_digits(param[i].value)
            || !below(param[i].value, min_ttl))
            continue;
        param[i].raw = apr_psprintf(p, "%.*s=%" APR_INT64_T_FMT,
                                    (int)param[i].name_len, param[i].raw,
                                    (apr_int64_t)min_ttl);
        param[i].len = strlen(param[i].raw);
        raised = 1;
    }
    return raised;
}

/* Moves the implicit parameters of query to the end of fragment. */
static void move_implicit(apr_array_header_t *query,
                          apr_array_header_t *fragment)
{
    param_t *param = (param_t *)query->elts;
    int i, kept = 0;

    for (i = 0; i < query->nelts; i++) {
        if (moves_to_fragment(&param[i])) {
            param_t *moved;

            if (fragment->nelts && param_at(fragment, fragment->nelts - 1)->len == 0)
                moved = &APR_ARRAY_IDX(fragment, fragment->nelts - 1, param_t);
            else
                moved = apr_array_push(fragment);
            *moved = param[i];
        }
        else {
            param[kept++] = param[i];
        }
    }
    query->nelts = kept;
}

/* What alx_authz_redirect learns before deciding on a rewrite. */
typedef struct {
    apr_array_header_t *query, *fragment;
    apr_array_header_t *state_part;     /* NULL: query and fragment */
} found_t;

static void classify(apr_pool_t *p, const alx_redirect_opts_t *o, found_t *f,
                     alx_redirect_t *out)
{
    const apr_array_header_t *q = f->query, *fr = f->fragment;
    const param_t *param;
    int changed = 0, i;
    int token = find_param(q, "access_token") || find_param(fr, "access_token");

    if (find_param(q, "error") || find_param(fr, "error")) {
        out->flow = ALX_FLOW_ERROR;
        f->state_part = find_param(q, "error") ? f->query : f->fragment;
        out->error = error_code(find_param(f->state_part, "error")->value);
    }
    else if (token && o->implicit) {
        out->flow = ALX_FLOW_IMPLICIT;
    }
    else if (find_param(q, "code") || find_param(fr, "code")) {
        out->flow = ALX_FLOW_CODE;
        f->state_part = find_param(q, "code") ? f->query : f->fragment;
    }
    else if (token) {
        out->flow = ALX_FLOW_IMPLICIT;
    }
    else {
        out->flow = ALX_FLOW_UNKNOWN;
    }
    if (out->flow == ALX_FLOW_IMPLICIT) {
        for (i = 0; i < q->nelts; i++)
            if (moves_to_fragment(param_at(q, i)))
                out->implicit_in_query = 1;
        param = find_param(q, "expires_in");
        if (!param)
            param = find_param(fr, "expires_in");
        if (param && all_digits(param->value))
            out->ttl_in = param->value;
    }
    out->states = apr_array_make(p, 2, sizeof(const char *));
    if (f->state_part) {
        collect_states(f->state_part, out->states);
    }
    else {
        collect_states(q, out->states);
        collect_states(fr, out->states);
    }
    if (!o->expected_state)
        return;
    for (i = 0; i < out->states->nelts; i++)
        if (!same_secret(APR_ARRAY_IDX(out->states, i, const char *),
                         o->expected_state))
            changed = 1;
    out->state = !out->states->nelts ? ALX_STATE_DROPPED
                 : changed ? ALX_STATE_CHANGED : ALX_STATE_KEPT;
}

void alx_authz_redirect(apr_pool_t *p, const char *location,
                        const apr_array_header_t *hosts,
                        const char *expected_state, int restore,
                        long long min_ttl, alx_redirect_t *out)
{
    alx_redirect_opts_t o;

    memset(&o, 0, sizeof(o));
    o.expected_state = expected_state;
    o.restore = o.enforce = restore;
    o.min_ttl = min_ttl;
    alx_authz_redirect_opts(p, location, hosts, &o, out);
}

void alx_authz_redirect_opts(apr_pool_t *p, const char *location,
                             const apr_array_header_t *hosts,
                             const alx_redirect_opts_t *o,
                             alx_redirect_t *out)
{
    apr_size_t len = location ? strlen(location) : 0;
    int rewrite = 0, query_was = 0;
    found_t f;
    url_t u;

    memset(out, 0, sizeof(*out));
    out->location = location;
    if (!location)
        return;
    parse_url(p, location, len, &u);
    out->malformed = u.bad;
    if ((u.kind != URL_ABSOLUTE && u.kind != URL_NETWORK) || !u.host)
        return;
    out->host = u.host;
    out->region = alx_authz_region(u.host, hosts);
    if (out->region == ALX_REGION_NONE)
        return;
    out->spa_form = u.query - u.path - u.has_query == strlen(ALX_SPA_PATH)
                    && memcmp(location + u.path, ALX_SPA_PATH,
                              strlen(ALX_SPA_PATH)) == 0;
    memset(&f, 0, sizeof(f));
    if (!parse_params(p, location + u.query,
                      u.fragment - u.query - u.has_fragment, &f.query))
        out->malformed = 1;
    if (!parse_params(p, location + u.fragment, len - u.fragment, &f.fragment))
        out->malformed = 1;
    classify(p, o, &f, out);
    if (out->malformed)
        return;

    query_was = f.query->nelts;
    if (out->flow == ALX_FLOW_IMPLICIT && o->enforce) {
        if (out->implicit_in_query) {
            move_implicit(f.query, f.fragment);
            out->fragment_moved = rewrite = 1;
        }
        if (o->min_ttl > 0 && raise_ttl(p, f.fragment, o->min_ttl))
            out->ttl_raised = rewrite = 1;
    }
    if (out->flow == ALX_FLOW_IMPLICIT)
        f.state_part = f.fragment;
    if (o->restore && o->expected_state && out->flow != ALX_FLOW_UNKNOWN
        && (out->state == ALX_STATE_DROPPED
            || out->state == ALX_STATE_CHANGED)) {
        put_state(p, f.state_part, o->expected_state);
        rewrite = 1;
    }
    if (!rewrite)
        return;
    {
        const char *query = join_params(p, f.query);
        const char *fragment = join_params(p, f.fragment);
        int with_query = (u.has_query && !(query_was && !f.query->nelts))
                         || *query;
        int with_fragment = u.has_fragment || *fragment;

        out->location = apr_pstrcat(p,
                                    apr_pstrmemdup(p, location, u.query
                                                   - u.has_query),
                                    with_query ? "?" : "", query,
                                    with_fragment ? "#" : "", fragment, NULL);
    }
}

int alx_authz_implicit(const char *response_type)
{
    const char *w = response_type;

    while (w && *w) {
        apr_size_t n = strcspn(w, " ");

        if (n == 5 && !strncmp(w, "token", 5))
            return 1;
        w += n + (w[n] == ' ');
    }
    return 0;
}

void alx_authz_request_parse(apr_pool_t *p, const char *query, apr_size_t len,
                             const apr_array_header_t *hosts,
                             alx_authz_request_t *out)
{
    apr_array_header_t *pairs;
    const char *err;
    url_t u;

    memset(out, 0, sizeof(*out));
    if (alx_form_parse(p, query ? query : "", query ? len : 0, &pairs, &err)
        != APR_SUCCESS) {
        out->bad = 1;
        return;
    }
    out->redirect_uri = alx_form_get(pairs, "redirect_uri");
    out->state = alx_form_get(pairs, "state");
    out->client_id = alx_form_get(pairs, "client_id");
    out->response_type = alx_form_get(pairs, "response_type");
    if (!out->redirect_uri)
        return;
    parse_url(p, out->redirect_uri, strlen(out->redirect_uri), &u);
    if (u.kind == URL_ABSOLUTE && u.host) {
        out->redirect_host = u.host;
        out->region = alx_authz_region(u.host, hosts);
    }
}

/* One segment of a query for alx_authz_force_offline. */
static int segment_is(const char *seg, apr_size_t len, const char *name,
                      apr_pool_t *p)
{
    const char *eq = memchr(seg, '=', len);
    char *decoded;

    if (alx_form_unescape(p, seg, eq ? (apr_size_t)(eq - seg) : len, &decoded)
        != APR_SUCCESS)
        return 0;
    return strcmp(decoded, name) == 0;
}

/* Google's way (alx_authz_force_offline's header comment). */
static const char *force_google(apr_pool_t *p, const char *query,
                                int *changed)
{
    /* each name once: the segment is made from it */
#define FORCED(name, value) { name, name "=" value }
    static const struct {
        const char *name, *segment;
    } forced[] = { FORCED("access_type", "offline"),
                   FORCED("prompt", "consent") };
#define FORCED_N ((int)(sizeof(forced) / sizeof(forced[0])))
    apr_array_header_t *list;
    apr_size_t len = query ? strlen(query) : 0, start = 0, stop;
    int seen[FORCED_N] = { 0 }, exact[FORCED_N] = { 0 }, k;

    *changed = 0;
    list = apr_array_make(p, 8, sizeof(param_t));
    while (len) {
        const char *amp = memchr(query + start, '&', len - start);
        param_t param;
        int drop = 0;

        stop = amp ? (apr_size_t)(amp - query) : len;
        memset(&param, 0, sizeof(param));
        param.raw = query + start;
        param.len = stop - start;
        for (k = 0; k < FORCED_N; k++) {
            if (!segment_is(param.raw, param.len, forced[k].name, p))
                continue;
            if (seen[k]++) {
                drop = 1;
            }
            else if (param.len == strlen(forced[k].segment)
                     && memcmp(param.raw, forced[k].segment, param.len) == 0) {
                exact[k] = 1;
            }
            else {
                param.raw = forced[k].segment;
                param.len = strlen(forced[k].segment);
            }
        }
        if (!drop)
            *(param_t *)apr_array_push(list) = param;
        if (!amp)
            break;
        start = stop + 1;
    }
    for (k = 0; k < FORCED_N && seen[k] == 1 && exact[k]; k++)
        ;
    if (k == FORCED_N)
        return query;
    *changed = 1;
    for (k = 0; k < FORCED_N; k++)
        if (!seen[k])
            add_param(list, forced[k].segment);
    return join_params(p, list);
}

/* Whether a decoded scope (space-separated, RFC 6749 3.3) holds word. */
static int scope_has(const char *scope, const char *word)
{
    apr_size_t n = strlen(word);
    const char *at = scope;

    while ((at = strstr(at, word)) != NULL) {
        if ((at == scope || at[-1] == ' ') && (at[n] == ' ' || at[n] == '\0'))
            return 1;
        at += n;
    }
    return 0;
}

/* The OIDC scope that asks for a refresh token outliving the login
 * session (OpenID Connect Core 11). */
#define OFFLINE_SCOPE "offline_access"

/* The OIDC way: offline_access in the first scope, added after its value's
 * bytes as they came ("%20" before it unless the value is empty or ends in
 * a space), or a scope of its own appended when there is none. A query
 * with a scope that does not decode is left alone: what it asks cannot be
 * told; another segment that does not decode is kept as it came. */
static const char *force_scope(apr_pool_t *p, const char *query, int *changed)
{
    apr_array_header_t *list;
    param_t *param;
    apr_size_t n;
    int i;

    *changed = 0;
    parse_params(p, query ? query : "", query ? strlen(query) : 0, &list);
    for (i = 0; i < list->nelts; i++) {
        param = &APR_ARRAY_IDX(list, i, param_t);
        if (!param->name && param->name_len == 5
            && !memcmp(param->raw, "scope", 5))
            return query;
        if (!param->name || strcmp(param->name, "scope") != 0)
            continue;
        if (scope_has(param->value, OFFLINE_SCOPE))
            return query;
        n = strlen(param->value);
        param->raw = apr_pstrcat(p, apr_pstrmemdup(p, param->raw, param->len),
                                 param->len == param->name_len ? "=" : "",
                                 n && param->value[n - 1] != ' ' ? "%20" : "",
                                 OFFLINE_SCOPE, NULL);
        param->len = strlen(param->raw);
        *changed = 1;
        return join_params(p, list);
    }
    add_param(list, "scope=" OFFLINE_SCOPE);
    *changed = 1;
    return join_params(p, list);
}

const char *alx_authz_force_offline(apr_pool_t *p, const char *query,
                                    int ways, int *changed)
{
    int google = 0, oidc = 0;

    if (ways & ALX_OFFLINE_GOOGLE)
        query = force_google(p, query, &google);
    if (ways & ALX_OFFLINE_OIDC)
        query = force_scope(p, query, &oidc);
    *changed = (google ? ALX_OFFLINE_GOOGLE : 0) | (oidc ? ALX_OFFLINE_OIDC : 0);
    return query;
}

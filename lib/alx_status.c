/* The status views (lib/alx_status.h): every view reads one snapshot and
 * the configuration, and prints nothing the snapshot does not hold (it
 * holds no token, code, secret or state value by construction). */
#include <stdarg.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_time.h>
#include <jansson.h>

#include "alx_json.h"
#include "alx_status.h"
#include "alx_vocab.h"

/* The counter table, once more as data: name, family, label, help. */
typedef struct {
    const char *name;
    const char *family;
    const char *label;
    const char *help;
} counter_row_t;

#define ALX_STATUS_ROW(name, family, label, help) \
    { #name, family, label, help },
static const counter_row_t rows[ALX_STATS_N] = {
    ALX_STATS_COUNTERS(ALX_STATUS_ROW)
};

/* A text assembled from pieces, joined once at the end. */
typedef struct {
    apr_pool_t *p;
    apr_array_header_t *parts;
} text_t;

static void text_init(text_t *t, apr_pool_t *p)
{
    t->p = p;
    t->parts = apr_array_make(p, 64, sizeof(const char *));
}

static void add(text_t *t, const char *s)
{
    APR_ARRAY_PUSH(t->parts, const char *) = s;
}

static void addf(text_t *t, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    add(t, apr_pvsprintf(t->p, fmt, ap));
    va_end(ap);
}

static char *text_done(text_t *t)
{
    return apr_array_pstrcat(t->p, t->parts, 0);
}

/* An event's fixed-size field as a string: never past its end, and any
 * byte the writer should not have left there as '?'. */
static const char *field(apr_pool_t *p, const char *s, apr_size_t size)
{
    const char *end = memchr(s, '\0', size);
    apr_size_t len = end ? (apr_size_t)(end - s) : size, i;
    char *out = apr_pstrmemdup(p, s, len);

    for (i = 0; i < len; i++)
        if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] >= 0x7f)
            out[i] = '?';
    return out;
}
#define FIELD(p, e, member) field(p, (e)->member, sizeof((e)->member))

/* Configured text for a plain-text line: no control byte may start a
 * line of its own. */
static const char *plain(apr_pool_t *p, const char *s)
{
    char *out;
    apr_size_t i;

    if (!s)
        return "-";
    out = apr_pstrdup(p, s);
    for (i = 0; out[i]; i++)
        if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
            out[i] = '?';
    return out;
}

static const char *html(apr_pool_t *p, const char *s)
{
    text_t t;
    const char *run;

    if (!s)
        return "";
    if (!strpbrk(s, "&<>\"'"))
        return s;
    text_init(&t, p);
    for (run = s; *s; s++) {
        const char *entity;

        switch (*s) {
        case '&': entity = "&amp;"; break;
        case '<': entity = "&lt;"; break;
        case '>': entity = "&gt;"; break;
        case '"': entity = "&quot;"; break;
        case '\'': entity = "&#39;"; break;
        default: continue;
        }
        add(&t, apr_pstrmemdup(p, run, (apr_size_t)(s - run)));
        add(&t, entity);
        run = s + 1;
    }
    add(&t, run);
    return text_done(&t);
}

/* Prometheus text: backslash and newline escaped, and in a label value
 * (quote) the double quote too; HELP text keeps its quotes. */
static const char *prometheus_escape(apr_pool_t *p, const char *s, int quote)
{
    text_t t;

    text_init(&t, p);
    for (; *s; s++) {
        if (*s == '\\')
            add(&t, "\\\\");
        else if (*s == '"' && quote)
            add(&t, "\\\"");
        else if (*s == '\n')
            add(&t, "\\n");
        else
            add(&t, apr_pstrmemdup(p, s, 1));
    }
    return text_done(&t);
}

static const char *label_value(apr_pool_t *p, const char *s)
{
    return prometheus_escape(p, s, 1);
}

/* at in UTC, its date and time parted by sep and followed by zone. */
static const char *gmt(apr_pool_t *p, apr_time_t at, char sep,
                       const char *zone)
{
    apr_time_exp_t x;

    apr_time_exp_gmt(&x, at);
    return apr_psprintf(p, "%04d-%02d-%02d%c%02d:%02d:%02d%s",
                        x.tm_year + 1900, x.tm_mon + 1, x.tm_mday, sep,
                        x.tm_hour, x.tm_min, x.tm_sec, zone);
}

static const char *utc(apr_pool_t *p, apr_time_t at)
{
    return gmt(p, at, ' ', " UTC");
}

static const char *iso8601(apr_pool_t *p, apr_time_t at)
{
    return gmt(p, at, 'T', "Z");
}

/* The keep-alive's figures in one sentence, for the page and the
 * report. */
static const char *keepalive_line(apr_pool_t *p,
                                  const alx_stats_snapshot_t *s)
{
    const volatile apr_uint32_t *k = s->head.keepalive;

    return apr_psprintf(p, "%u links kept, %u refreshes made, %u failed, %u "
                        "links ended by the upstream, %u ended idle; next "
                        "refresh due %s", k[ALX_KA_links_kept],
                        k[ALX_KA_keepalive_refreshes],
                        k[ALX_KA_keepalive_failures],
                        k[ALX_KA_links_ended_upstream],
                        k[ALX_KA_links_ended_idle],
                        k[ALX_KA_keepalive_next_due]
                        ? utc(p, apr_time_from_sec(
                              k[ALX_KA_keepalive_next_due]))
                        : "(none known)");
}

/* The vhost's "name:port", or "#n" when the configuration names none. */
static const char *vhost_name(apr_pool_t *p, const alx_status_view_t *v,
                              unsigned int i)
{
    if (v->vhost_names && i < v->snap->vhosts && v->vhost_names[i])
        return v->vhost_names[i];
    return apr_psprintf(p, "#%u", i);
}

/* Names for the label: unique, a repeated name gets "#n" appended so no
 * series is written twice. */
static const char **unique_names(apr_pool_t *p, const alx_status_view_t *v)
{
    unsigned int i, n = v->snap->vhosts;
    const char **names = apr_pcalloc(p, sizeof(*names) * (n ? n : 1));
    apr_hash_t *seen = apr_hash_make(p);

    for (i = 0; i < n; i++) {
        const char *name = vhost_name(p, v, i);

        if (apr_hash_get(seen, name, APR_HASH_KEY_STRING))
            name = apr_psprintf(p, "%s#%u", name, i);
        apr_hash_set(seen, name, APR_HASH_KEY_STRING, name);
        names[i] = name;
    }
    return names;
}

/* "name:port" without the port: the host part of a URL. */
static const char *host_of(apr_pool_t *p, const char *vhost)
{
    const char *colon = strrchr(vhost, ':'), *bracket = strrchr(vhost, ']');

    if (!colon || (bracket && bracket > colon) || !colon[1]
        || strspn(colon + 1, "0123456789") != strlen(colon + 1))
        return vhost;
    return apr_pstrmemdup(p, vhost, (apr_size_t)(colon - vhost));
}

static const char *event_kind(const alx_event_t *e)
{
    return e->kind == ALX_EVENT_EXCHANGE ? "exchange"
           : e->kind == ALX_EVENT_FLOW ? "flow" : "other";
}

static const char *event_vhost(apr_pool_t *p, const alx_status_view_t *v,
                               const alx_event_t *e)
{
    return vhost_name(p, v, e->vhost);
}

/* Totals over all vhosts, for mod_status and the report. */
typedef struct {
    apr_uint64_t exchanges, failures, over_budget, flows, flow_failures,
                 replays, code_exchanges;
    alx_stats_vhost_t latency;  /* the buckets of all vhosts added up */
} totals_t;

static int is_failure(unsigned int c)
{
    return !strcmp(rows[c].family, "failures_total");
}

static int is_flow(unsigned int c)
{
    return !strcmp(rows[c].family, "flows_total");
}

static void totals(const alx_status_view_t *v, totals_t *t)
{
    unsigned int i, c;

    memset(t, 0, sizeof(*t));
    for (i = 0; i < v->snap->vhosts; i++) {
        const alx_stats_vhost_t *h = &v->snap->vhost[i];

        t->exchanges += h->counter[ALX_STAT_exchange_code]
                        + h->counter[ALX_STAT_exchange_refresh]
                        + h->counter[ALX_STAT_exchange_other];
        t->code_exchanges += h->counter[ALX_STAT_code_ok];
        t->over_budget += h->counter[ALX_STAT_over_budget];
        t->replays += h->counter[ALX_STAT_rewrite_replayed];
        for (c = 0; c < ALX_STATS_N; c++) {
            if (is_failure(c))
                t->failures += h->counter[c];
            if (is_flow(c)) {
                t->flows += h->counter[c];
                if (strstr(rows[c].label, "outcome=\"failed\""))
                    t->flow_failures += h->counter[c];
            }
        }
        for (c = 0; c <= ALX_STATS_BUCKETS; c++)
            t->latency.bucket[c] += h->bucket[c];
        t->latency.latency_count += h->latency_count;
        t->latency.latency_sum_ms += h->latency_sum_ms;
    }
}

/* The values of a row's label, for a table cell: "NA ok". */
static const char *label_words(apr_pool_t *p, const char *label)
{
    text_t t;
    const char *s = label;

    if (!*label)
        return "";
    text_init(&t, p);
    while ((s = strchr(s, '"')) != NULL) {
        const char *end = strchr(s + 1, '"');

        if (!end)
            break;
        if (t.parts->nelts)
            add(&t, " ");
        add(&t, apr_pstrmemdup(p, s + 1, (apr_size_t)(end - s - 1)));
        s = end + 1;
    }
    return text_done(&t);
}

/* The first row of each family, in table order; the help is there. */
static int family_start(unsigned int c)
{
    unsigned int k;

    for (k = 0; k < c; k++)
        if (!strcmp(rows[k].family, rows[c].family))
            return 0;
    return 1;
}

static const char *store_survival(apr_pool_t *p, const alx_status_view_t *v,
                                  int *short_lived)
{
    apr_int64_t window = apr_time_sec(v->window);
    apr_uint32_t survival = v->snap->head.survival_s;

    *short_lived = survival > 0 && window > 0 && survival < window;
    if (!survival)
        return apr_psprintf(p, "records live for a time not measured yet; "
                            "the window is %" APR_INT64_T_FMT " s", window);
    return apr_psprintf(p, "records live about %u s; the window is %"
                        APR_INT64_T_FMT " s%s", survival, window,
                        *short_lived ? " (shorter than the window: records "
                        "are lost before Alexa refreshes; give the store more "
                        "room)" : "");
}

static const char *capacity(apr_pool_t *p, apr_uint64_t bytes)
{
    return bytes ? apr_psprintf(p, "%" APR_UINT64_T_FMT " bytes", bytes)
                 : "unknown";
}

/* ---- HTML ---- */

static const char style[] =
    "body{font-family:system-ui,sans-serif;margin:1em;max-width:70em;"
    "color:#222;background:#fff}"
    "h1{font-size:1.4em}h2{font-size:1.2em;margin-top:1.5em;"
    "border-bottom:1px solid #ccc}h3{font-size:1em;margin-bottom:.2em}"
    "table{border-collapse:collapse;margin:.3em 0}"
    "th,td{border:1px solid #ddd;padding:.2em .5em;text-align:left;"
    "vertical-align:top}td.n{text-align:right}"
    ".scroll{overflow-x:auto}.bad{color:#a00;font-weight:bold}"
    ".none{color:#777}code{font-size:.95em}";

static void html_counters(text_t *t, const alx_stats_vhost_t *h)
{
    apr_pool_t *p = t->p;
    const char *zero = "";
    unsigned int c, k;

    for (c = 0; c < ALX_STATS_N; c++) {
        apr_uint64_t sum = 0;

        if (!family_start(c))
            continue;
        for (k = c; k < ALX_STATS_N; k++)
            if (!strcmp(rows[k].family, rows[c].family))
                sum += h->counter[k];
        if (!sum) {
            zero = apr_pstrcat(p, zero, *zero ? "; " : "", html(p, rows[c].help),
                               NULL);
            continue;
        }
        addf(t, "<h3>%s</h3>\n<div class=scroll><table>\n",
             html(p, rows[c].help));
        for (k = c; k < ALX_STATS_N; k++) {
            if (strcmp(rows[k].family, rows[c].family) || !h->counter[k])
                continue;
            addf(t, "<tr><td>%s</td><td class=n>%u</td></tr>\n",
                 *rows[k].label ? html(p, label_words(p, rows[k].label))
                                : "all", h->counter[k]);
        }
        add(t, "</table></div>\n");
    }
    if (*zero)
        addf(t, "<p class=none>None: %s.</p>\n", zero);
}

/* A percentile as the bucket says it: "&le; 250 ms", or past the last
 * bound "&gt; 30000 ms". */
static const char *upper_bound(apr_pool_t *p, const alx_stats_vhost_t *h,
                               double q)
{
    apr_int64_t ms = alx_stats_percentile(h, q);
    apr_uint32_t last = alx_stats_bucket_ms[ALX_STATS_BUCKETS - 1];

    if (ms > last)
        return apr_psprintf(p, "&gt; %u ms", last);
    return apr_psprintf(p, "&le; %" APR_INT64_T_FMT " ms", ms);
}

static void html_latency(text_t *t, const alx_stats_vhost_t *h)
{
    apr_uint64_t count = 0;
    unsigned int b;

    for (b = 0; b <= ALX_STATS_BUCKETS; b++)
        count += h->bucket[b];
    add(t, "<h3>Token answer latency</h3>\n");
    if (!count) {
        add(t, "<p class=none>No samples yet.</p>\n");
        return;
    }
    addf(t, "<div class=scroll><table>\n<tr><th>count</th><th>p50</th>"
         "<th>p95</th><th>p99</th></tr>\n<tr><td class=n>%" APR_UINT64_T_FMT
         "</td><td class=n>%s</td><td class=n>%s</td><td class=n>%s</td>"
         "</tr>\n</table></div>\n", count, upper_bound(t->p, h, 0.50),
         upper_bound(t->p, h, 0.95), upper_bound(t->p, h, 0.99));
}

char *alx_status_html(apr_pool_t *p, const alx_status_view_t *v)
{
    const alx_stats_snapshot_t *s = v->snap;
    text_t t;
    unsigned int i, shown = 0;
    int short_lived;
    const char *survival = store_survival(p, v, &short_lived);

    text_init(&t, p);
    add(&t, "<!DOCTYPE html>\n<html lang=en>\n<head>\n<meta charset=utf-8>\n"
        "<meta name=viewport content=\"width=device-width, initial-scale=1\">\n"
        "<title>mod_alexalink status</title>\n<style>");
    add(&t, style);
    add(&t, "</style>\n</head>\n<body>\n<h1>mod_alexalink status</h1>\n");
    addf(&t, "<p>Version %s. Counting since %s; now %s.</p>\n",
         html(p, v->version ? v->version : "unknown"), utc(p, s->head.since),
         utc(p, v->now));
    addf(&t, "<p>Store %s, capacity %s: %u records, %u evictions, %u "
         "outages; <span%s>%s</span>.</p>\n",
         html(p, v->store ? v->store : "none"), capacity(p, v->capacity),
         s->head.records, s->head.evictions, s->head.outages,
         short_lived ? " class=bad" : "", html(p, survival));
    if (v->keepalive)
        addf(&t, "<p>Keep-alive: %s.</p>\n", html(p, keepalive_line(p, s)));
    for (i = 0; i < s->nevents; i++)
        shown += s->event[i].failed ? 1 : 0;
    if (shown)
        addf(&t, "<p class=bad><a href=\"#failures\">%u recent failure%s"
             "</a>, each with its cause and fix.</p>\n", shown,
             shown == 1 ? "" : "s");
    shown = 0;

    for (i = 0; i < s->vhosts; i++) {
        addf(&t, "<h2>%s</h2>\n", html(p, vhost_name(p, v, i)));
        html_counters(&t, &s->vhost[i]);
        html_latency(&t, &s->vhost[i]);
    }

    add(&t, "<h2 id=failures>Recent failures</h2>\n");
    for (i = 0; i < s->nevents && shown < 20; i++) {
        const alx_event_t *e = &s->event[i];

        if (!e->failed)
            continue;
        if (!shown++)
            add(&t, "<div class=scroll><table>\n<tr><th>time</th><th>vhost"
                "</th><th>what</th><th>client</th><th>region</th><th>verdict"
                "</th><th>cause and fix</th></tr>\n");
        addf(&t, "<tr><td>%s</td><td>%s</td><td>%s %s</td><td>%s</td><td>%s"
             "</td><td class=bad>%s</td><td>%s</td></tr>\n",
             utc(p, e->at), html(p, event_vhost(p, v, e)), event_kind(e),
             html(p, FIELD(p, e, what)), html(p, FIELD(p, e, client)),
             html(p, FIELD(p, e, region)), html(p, FIELD(p, e, verdict)),
             html(p, alx_stats_cause(FIELD(p, e, cause))));
    }
    add(&t, shown ? "</table></div>\n" : "<p class=none>None.</p>\n");

    add(&t, "<h2>Recent events</h2>\n");
    if (!s->nevents)
        add(&t, "<p class=none>None.</p>\n");
    else
        add(&t, "<div class=scroll><table>\n<tr><th>time</th><th>kind</th>"
            "<th>what</th><th>client</th><th>verdict</th><th>shape in "
            "&rarr; out</th><th>ms</th></tr>\n");
    for (i = 0; i < s->nevents; i++) {
        const alx_event_t *e = &s->event[i];

        addf(&t, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td%s>%s"
             "</td><td><code>%s</code> &rarr; <code>%s</code></td>"
             "<td class=n>%d</td></tr>\n", utc(p, e->at), event_kind(e),
             html(p, FIELD(p, e, what)), html(p, FIELD(p, e, client)),
             e->failed ? " class=bad" : "", html(p, FIELD(p, e, verdict)),
             html(p, FIELD(p, e, shape_in)), html(p, FIELD(p, e, shape_out)),
             (int)e->ms);
    }
    if (s->nevents)
        add(&t, "</table></div>\n");
    add(&t, "</body>\n</html>\n");
    return text_done(&t);
}

/* ---- JSON ---- */

/* A JSON string; text jansson refuses (not UTF-8) goes in with '?'. */
static json_t *jstr(apr_pool_t *p, const char *s)
{
    json_t *j;
    char *copy;
    apr_size_t i;

    if (!s)
        return json_null();
    if ((j = json_string(s)) != NULL)
        return j;
    copy = apr_pstrdup(p, s);
    for (i = 0; copy[i]; i++)
        if ((unsigned char)copy[i] >= 0x80)
            copy[i] = '?';
    return json_string(copy);
}

static json_t *jint(apr_uint64_t n)
{
    return json_integer((json_int_t)n);
}

static json_t *json_vhost(apr_pool_t *p, const char *name,
                          const alx_stats_vhost_t *h)
{
    json_t *o = json_object(), *counters = json_object(), *lat = json_object(),
           *buckets = json_array();
    apr_uint64_t count = 0;
    unsigned int c;

    for (c = 0; c < ALX_STATS_N; c++)
        json_object_set_new(counters, rows[c].name, jint(h->counter[c]));
    for (c = 0; c <= ALX_STATS_BUCKETS; c++) {
        json_t *b = json_object();

        count += h->bucket[c];
        json_object_set_new(b, "le_ms", c < ALX_STATS_BUCKETS
                            ? jint(alx_stats_bucket_ms[c]) : json_null());
        json_object_set_new(b, "count", jint(count));
        json_array_append_new(buckets, b);
    }
    json_object_set_new(lat, "count", jint(count));
    json_object_set_new(lat, "sum", jint(h->latency_sum_ms));
    json_object_set_new(lat, "p50", count ? json_integer(
                        alx_stats_percentile(h, 0.50)) : json_null());
    json_object_set_new(lat, "p95", count ? json_integer(
                        alx_stats_percentile(h, 0.95)) : json_null());
    json_object_set_new(lat, "p99", count ? json_integer(
                        alx_stats_percentile(h, 0.99)) : json_null());
    json_object_set_new(lat, "buckets", buckets);
    json_object_set_new(o, "name", jstr(p, name));
    json_object_set_new(o, "counters", counters);
    json_object_set_new(o, "latency_ms", lat);
    return o;
}

static json_t *json_event(apr_pool_t *p, const alx_status_view_t *v,
                          const alx_event_t *e)
{
    json_t *o = json_object();
    const char *cause = FIELD(p, e, cause);

    json_object_set_new(o, "time", jstr(p, iso8601(p, e->at)));
    json_object_set_new(o, "vhost", jstr(p, event_vhost(p, v, e)));
    json_object_set_new(o, "kind", jstr(p, event_kind(e)));
    json_object_set_new(o, "what", jstr(p, FIELD(p, e, what)));
    json_object_set_new(o, "client", jstr(p, FIELD(p, e, client)));
    json_object_set_new(o, "region", jstr(p, FIELD(p, e, region)));
    json_object_set_new(o, "platform", jstr(p, FIELD(p, e, platform)));
    json_object_set_new(o, "verdict", jstr(p, FIELD(p, e, verdict)));
    json_object_set_new(o, "cause", *cause ? jstr(p, cause) : json_null());
    json_object_set_new(o, "advice", e->failed
                        ? jstr(p, alx_stats_cause(cause)) : json_null());
    json_object_set_new(o, "shape_in", jstr(p, FIELD(p, e, shape_in)));
    json_object_set_new(o, "shape_out", jstr(p, FIELD(p, e, shape_out)));
    json_object_set_new(o, "ms", json_integer(e->ms));
    json_object_set_new(o, "failed", json_boolean(e->failed));
    return o;
}

/* The keep-alive's figures; keepalive_next_due as a time, null when
 * none is known. */
static json_t *json_keepalive(apr_pool_t *p, const alx_stats_snapshot_t *s)
{
    json_t *o = json_object();
    const volatile apr_uint32_t *k = s->head.keepalive;

#define KA_JSON(name, ...) \
    if (ALX_KA_##name != ALX_KA_keepalive_next_due) \
        json_object_set_new(o, #name, jint(k[ALX_KA_##name]));
    ALX_STATS_KEEPALIVE(KA_JSON)
#undef KA_JSON
    json_object_set_new(o, "keepalive_next_due", k[ALX_KA_keepalive_next_due]
                        ? jstr(p, iso8601(p, apr_time_from_sec(
                              k[ALX_KA_keepalive_next_due])))
                        : json_null());
    return o;
}

char *alx_status_json(apr_pool_t *p, const alx_status_view_t *v)
{
    const alx_stats_snapshot_t *s = v->snap;
    json_t *root = alx_json_own(p, json_object());
    json_t *store = json_object(), *vhosts = json_array(),
           *events = json_array(), *locations = json_array();
    const char *out;
    unsigned int i;
    int k;

    json_object_set_new(root, "version", jstr(p, v->version));
    json_object_set_new(root, "since", jstr(p, iso8601(p, s->head.since)));
    json_object_set_new(root, "now", jstr(p, iso8601(p, v->now)));
    json_object_set_new(store, "provider", jstr(p, v->store ? v->store : "none"));
    json_object_set_new(store, "capacity_bytes",
                        v->capacity ? jint(v->capacity) : json_null());
    json_object_set_new(store, "records", jint(s->head.records));
    json_object_set_new(store, "evictions", jint(s->head.evictions));
    json_object_set_new(store, "outages", jint(s->head.outages));
    json_object_set_new(store, "survival_seconds", s->head.survival_s
                        ? jint(s->head.survival_s) : json_null());
    json_object_set_new(store, "window_seconds",
                        json_integer(apr_time_sec(v->window)));
    json_object_set_new(root, "store", store);
    json_object_set_new(root, "keepalive", json_keepalive(p, s));
    for (i = 0; i < s->vhosts; i++)
        json_array_append_new(vhosts, json_vhost(p, vhost_name(p, v, i),
                                                 &s->vhost[i]));
    json_object_set_new(root, "vhosts", vhosts);
    for (i = 0; i < s->nevents; i++)
        json_array_append_new(events, json_event(p, v, &s->event[i]));
    json_object_set_new(root, "events", events);
    for (k = 0; v->locations && k < v->locations->nelts; k++) {
        const alx_status_location_t *l =
            &APR_ARRAY_IDX(v->locations, k, alx_status_location_t);
        json_t *o = json_object();

        json_object_set_new(o, "vhost", jstr(p, l->vhost));
        json_object_set_new(o, "path", jstr(p, l->path));
        json_object_set_new(o, "role", jstr(p, l->role));
        json_object_set_new(o, "domain_list", jstr(p, l->domain_list));
        json_array_append_new(locations, o);
    }
    json_object_set_new(root, "locations", locations);
    out = alx_json_compact(p, root, NULL);
    return out ? apr_pstrcat(p, out, "\n", NULL) : NULL;
}

/* ---- Prometheus text format 0.0.4 ---- */

static const char *help_text(apr_pool_t *p, const char *s)
{
    return prometheus_escape(p, s, 0);
}

static void family(text_t *t, const char *name, const char *type,
                   const char *help)
{
    addf(t, "# HELP alexalink_%s %s\n# TYPE alexalink_%s %s\n", name,
         help_text(t->p, help), name, type);
}

/* Milliseconds as seconds, no trailing zeros: 50 -> 0.05, 4500 -> 4.5. */
static const char *seconds(apr_pool_t *p, apr_uint64_t ms)
{
    char *s = apr_psprintf(p, "%" APR_UINT64_T_FMT ".%03u", ms / 1000,
                           (unsigned int)(ms % 1000));
    apr_size_t n = strlen(s);

    while (s[n - 1] == '0')
        s[--n] = '\0';
    if (s[n - 1] == '.')
        s[--n] = '\0';
    return s;
}

char *alx_status_metrics(apr_pool_t *p, const alx_status_view_t *v)
{
    const alx_stats_snapshot_t *s = v->snap;
    const char **names = unique_names(p, v), **labels;
    text_t t;
    unsigned int c, k, i, b;

    labels = apr_pcalloc(p, sizeof(*labels) * (s->vhosts ? s->vhosts : 1));
    for (i = 0; i < s->vhosts; i++)
        labels[i] = label_value(p, names[i]);
    text_init(&t, p);
    for (c = 0; c < ALX_STATS_N; c++) {
        if (!family_start(c))
            continue;
        family(&t, rows[c].family, "counter", rows[c].help);
        for (i = 0; i < s->vhosts; i++)
            for (k = c; k < ALX_STATS_N; k++)
                if (!strcmp(rows[k].family, rows[c].family))
                    addf(&t, "alexalink_%s{vhost=\"%s\"%s%s} %u\n",
                         rows[k].family, labels[i], *rows[k].label ? "," : "",
                         rows[k].label, s->vhost[i].counter[k]);
    }

    family(&t, "exchange_duration_seconds", "histogram",
           "token exchange durations, upstream answer included");
    for (i = 0; i < s->vhosts; i++) {
        apr_uint64_t cumulative = 0;

        for (b = 0; b <= ALX_STATS_BUCKETS; b++) {
            cumulative += s->vhost[i].bucket[b];
            addf(&t, "alexalink_exchange_duration_seconds_bucket{vhost=\"%s\","
                 "le=\"%s\"} %" APR_UINT64_T_FMT "\n", labels[i],
                 b < ALX_STATS_BUCKETS ? seconds(p, alx_stats_bucket_ms[b])
                                       : "+Inf", cumulative);
        }
        addf(&t, "alexalink_exchange_duration_seconds_sum{vhost=\"%s\"} %s\n",
             labels[i], seconds(p, s->vhost[i].latency_sum_ms));
        addf(&t, "alexalink_exchange_duration_seconds_count{vhost=\"%s\"} %"
             APR_UINT64_T_FMT "\n", labels[i], cumulative);
    }

    family(&t, "store_records", "gauge", "refresh grace records in the store");
    addf(&t, "alexalink_store_records %u\n", s->head.records);
    family(&t, "store_evictions_total", "counter",
           "refresh grace records lost before their window");
    addf(&t, "alexalink_store_evictions_total %u\n", s->head.evictions);
    family(&t, "store_outages_total", "counter", "store failures");
    addf(&t, "alexalink_store_outages_total %u\n", s->head.outages);
    family(&t, "store_survival_seconds", "gauge",
           "how long refresh grace records live now (0: not measured)");
    addf(&t, "alexalink_store_survival_seconds %u\n", s->head.survival_s);
    family(&t, "store_window_seconds", "gauge",
           "AlexaLinkRefreshGrace, the window records should live");
    addf(&t, "alexalink_store_window_seconds %" APR_INT64_T_FMT "\n",
         apr_time_sec(v->window));
    if (v->capacity) {
        family(&t, "store_capacity_bytes", "gauge", "the store's size");
        addf(&t, "alexalink_store_capacity_bytes %" APR_UINT64_T_FMT "\n",
             v->capacity);
    }
#define KA_METRIC(name, prom, type, help) \
    family(&t, prom, type, help); \
    addf(&t, "alexalink_" prom " %u\n", s->head.keepalive[ALX_KA_##name]);
    ALX_STATS_KEEPALIVE(KA_METRIC)
#undef KA_METRIC
    family(&t, "since_seconds", "gauge",
           "when the counters started, in Unix time");
    addf(&t, "alexalink_since_seconds %" APR_INT64_T_FMT "\n",
         apr_time_sec(s->head.since));
    return text_done(&t);
}

/* ---- the support report ---- */

static void heading(text_t *t, const char *title, char underline)
{
    apr_size_t n = strlen(title);
    char *line = apr_palloc(t->p, n + 2);

    memset(line, underline, n);
    line[n] = '\n';
    line[n + 1] = '\0';
    addf(t, "\n%s\n", title);
    add(t, line);
}

/* The Developer Console's "Account Linking Type", as the flows and
 * exchanges seen here say it: code exchanges or code flows mean
 * Authorization Code Grant, implicit flows Implicit Grant. */
static void linking_type(text_t *t, const alx_stats_snapshot_t *s)
{
    unsigned int i, codes = 0, code_flows = 0, implicit = 0;

    for (i = 0; i < s->vhosts; i++)
        codes += s->vhost[i].counter[ALX_STAT_exchange_code];
    for (i = 0; i < s->nevents; i++)
        if (s->event[i].kind == ALX_EVENT_FLOW) {
            const char *what = s->event[i].what;

            code_flows += !strncmp(what, alx_flow_name(ALX_FLOW_CODE),
                                   sizeof(s->event[i].what));
            implicit += !strncmp(what, alx_flow_name(ALX_FLOW_IMPLICIT),
                                 sizeof(s->event[i].what));
        }
    addf(t, "Account Linking Type seen: %s%s%s\n",
         codes || code_flows ? "Authorization Code Grant" : "",
         (codes || code_flows) && implicit ? " and " : "",
         implicit ? "Implicit Grant" : !(codes || code_flows) ? "none yet" : "");
}

char *alx_status_support(apr_pool_t *p, const alx_status_view_t *v)
{
    const alx_stats_snapshot_t *s = v->snap;
    text_t t;
    totals_t sum;
    int k, short_lived, any = 0;
    unsigned int i, failed = 0;
    const char *survival = store_survival(p, v, &short_lived);

    totals(v, &sum);
    text_init(&t, p);
    add(&t, "mod_alexalink support report (redacted: no token, code, secret "
        "or state value)\n");
    add(&t, "==========================================================="
        "=================\n");
    addf(&t, "Generated %s\n", utc(p, v->now));
    addf(&t, "Module version: %s\n", plain(p, v->version));
    addf(&t, "Counting since: %s\n", utc(p, s->head.since));
    addf(&t, "Store: %s, capacity %s, %u records, %u evictions, %u outages; "
         "%s\n", plain(p, v->store ? v->store : "none"),
         capacity(p, v->capacity), s->head.records, s->head.evictions,
         s->head.outages, survival);

    if (v->keepalive)
        addf(&t, "Keep-alive: %s\n", keepalive_line(p, s));

    heading(&t, "Configured locations", '-');
    for (k = 0; v->locations && k < v->locations->nelts; k++) {
        const alx_status_location_t *l =
            &APR_ARRAY_IDX(v->locations, k, alx_status_location_t);
        const char *role = l->role ? l->role : "-";

        addf(&t, "%s  %s  role %s\n", plain(p, l->vhost), plain(p, l->path),
             plain(p, role));
        addf(&t, "  %s: https://%s%s\n", !strcmp(role, "token")
             ? "Access Token URL" : !strcmp(role, "authorize")
             ? "Authorization URL" : "URL",
             plain(p, host_of(p, l->vhost ? l->vhost : "-")),
             plain(p, l->path));
    }
    if (!v->locations || !v->locations->nelts)
        add(&t, "(none)\n");

    heading(&t, "Domain list", '-');
    for (k = 0; v->locations && k < v->locations->nelts; k++) {
        const alx_status_location_t *l =
            &APR_ARRAY_IDX(v->locations, k, alx_status_location_t);

        if (!l->role || strcmp(l->role, "authorize"))
            continue;
        any = 1;
        addf(&t, "https://%s%s: %s\n",
             plain(p, host_of(p, l->vhost ? l->vhost : "-")),
             plain(p, l->path), l->domain_list && *l->domain_list
             ? plain(p, l->domain_list) : "(none configured)");
    }
    if (!any)
        add(&t, "(no authorization location)\n");

    heading(&t, "Grant types seen", '-');
    for (i = 0; i < s->vhosts; i++) {
#define GRANT_SEEN(id, word, stem) \
        addf(&t, "%s%s %u", ALX_GRANT_##id ? ", " : "", word, \
             s->vhost[i].counter[ALX_STAT_exchange_##stem]);
        addf(&t, "%s: ", plain(p, vhost_name(p, v, i)));
        ALX_GRANTS(GRANT_SEEN)
        add(&t, "\n");
    }
    if (!s->vhosts)
        add(&t, "(no vhost)\n");
    linking_type(&t, s);

    heading(&t, "Recent failed flows and exchanges", '-');
    for (i = 0; i < s->nevents; i++) {
        const alx_event_t *e = &s->event[i];
        const char *region = FIELD(p, e, region),
                   *platform = FIELD(p, e, platform);

        if (!e->failed)
            continue;
        failed++;
        addf(&t, "%s  region %s  platform %s  %s %s on %s failed: %s\n",
             utc(p, e->at), *region ? region : "-",
             *platform ? platform : "-", event_kind(e), FIELD(p, e, what),
             plain(p, event_vhost(p, v, e)), FIELD(p, e, verdict));
        addf(&t, "  %s\n", alx_stats_cause(FIELD(p, e, cause)));
    }
    if (!failed)
        add(&t, "(none among the recent events)\n");

    if (sum.code_exchanges) {
        heading(&t, "Next suspects the module cannot see", '-');
        addf(&t, "Alexa exchanged authorization codes here (%" APR_UINT64_T_FMT
             "). If the Alexa app still says \"Unable to link\", look at:\n"
             "- a smart home skill with \"Send Alexa Events\" permissions: it "
             "must answer the Alexa.Authorization AcceptGrant directive "
             "successfully;\n"
             "- the skill's account linking configuration in the Developer "
             "Console: Authorization URL, Access Token URL, client id and "
             "secret, scopes, Domain List and Account Linking Type.\n",
             sum.code_exchanges);
    }

    heading(&t, "Add yourself", '-');
    add(&t, "Skill ID; the customer ID of the account that failed; the device "
        "platform and version of the Alexa app (Settings -> About); a "
        "description or screenshot of the issue. Send test credentials for "
        "the login page separately, never your Amazon developer or retail "
        "account.\n");
    return text_done(&t);
}

/* ---- mod_status ---- */

static apr_int64_t p95(const totals_t *sum)
{
    apr_int64_t ms = alx_stats_percentile(&sum->latency, 0.95);

    return ms < 0 ? 0 : ms;
}

char *alx_status_auto(apr_pool_t *p, const alx_status_view_t *v)
{
    totals_t sum;

    totals(v, &sum);
    return apr_psprintf(p,
        "AlexaLinkExchanges: %" APR_UINT64_T_FMT "\n"
        "AlexaLinkFailures: %" APR_UINT64_T_FMT "\n"
        "AlexaLinkOverBudget: %" APR_UINT64_T_FMT "\n"
        "AlexaLinkFlows: %" APR_UINT64_T_FMT "\n"
        "AlexaLinkFlowFailures: %" APR_UINT64_T_FMT "\n"
        "AlexaLinkReplays: %" APR_UINT64_T_FMT "\n"
        "AlexaLinkP95ms: %" APR_INT64_T_FMT "\n",
        sum.exchanges, sum.failures, sum.over_budget, sum.flows,
        sum.flow_failures, sum.replays, p95(&sum));
}

char *alx_status_section(apr_pool_t *p, const alx_status_view_t *v)
{
    totals_t sum;

    totals(v, &sum);
    return apr_psprintf(p,
        "<hr><h2>mod_alexalink</h2>\n<table>\n"
        "<tr><th align=left>Token exchanges</th><td>%" APR_UINT64_T_FMT
        "</td></tr>\n"
        "<tr><th align=left>Failed exchanges</th><td>%" APR_UINT64_T_FMT
        "</td></tr>\n"
        "<tr><th align=left>Over the time budget</th><td>%" APR_UINT64_T_FMT
        "</td></tr>\n"
        "<tr><th align=left>Authorization flows</th><td>%" APR_UINT64_T_FMT
        "</td></tr>\n"
        "<tr><th align=left>Failed flows</th><td>%" APR_UINT64_T_FMT
        "</td></tr>\n"
        "<tr><th align=left>Replayed answers</th><td>%" APR_UINT64_T_FMT
        "</td></tr>\n"
        "<tr><th align=left>Latency p95</th><td>%s</td></tr>\n"
        "</table>\n", sum.exchanges, sum.failures, sum.over_budget, sum.flows,
        sum.flow_failures, sum.replays, alx_stats_percentile(&sum.latency,
        0.95) < 0 ? "no samples" : apr_psprintf(p, "%" APR_INT64_T_FMT " ms",
        p95(&sum)));
}

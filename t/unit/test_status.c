/* Unit tests for the status views (lib/alx_status.c), over a snapshot
 * built by hand. */
#include <ctype.h>
#include <stdlib.h>

#include <apr_general.h>
#include <apr_hash.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <jansson.h>

#include "alx_status.h"
#include "tap.h"

static apr_pool_t *pool;

static apr_time_t at_utc(int y, int mo, int d, int h, int mi, int s)
{
    apr_time_exp_t x;
    apr_time_t t;

    memset(&x, 0, sizeof(x));
    x.tm_year = y - 1900;
    x.tm_mon = mo - 1;
    x.tm_mday = d;
    x.tm_hour = h;
    x.tm_min = mi;
    x.tm_sec = s;
    apr_time_exp_gmt_get(&t, &x);
    return t;
}

static alx_stats_vhost_t vhosts[2];
static alx_event_t events[3];
static alx_stats_snapshot_t snap;
static const char *const names[2] = { "a.example:443", "b.example:8443" };

/* vhost 0: 3 code + 2 refresh exchanges, one upstream error, latencies
 * 40, 40, 300, 4600 ms, a dropped state; vhost 1: nothing but a popup.
 * Three events, newest first: a failed flow with hostile text, a failed
 * exchange, a good exchange. */
static void build(alx_status_view_t *v, apr_array_header_t *locs)
{
    alx_status_location_t *l;

    memset(vhosts, 0, sizeof(vhosts));
    memset(events, 0, sizeof(events));
    memset(&snap, 0, sizeof(snap));
    vhosts[0].counter[ALX_STAT_exchange_code] = 3;
    vhosts[0].counter[ALX_STAT_code_ok] = 2;
    vhosts[0].counter[ALX_STAT_exchange_refresh] = 2;
    vhosts[0].counter[ALX_STAT_fail_upstream_error] = 1;
    vhosts[0].counter[ALX_STAT_rewrite_replayed] = 1;
    vhosts[0].counter[ALX_STAT_over_budget] = 1;
    vhosts[0].counter[ALX_STAT_flow_eu_failed] = 1;
    vhosts[0].counter[ALX_STAT_flow_na_ok] = 4;
    vhosts[0].counter[ALX_STAT_state_dropped] = 1;
    vhosts[0].bucket[0] = 2;
    vhosts[0].bucket[3] = 1;
    vhosts[0].bucket[8] = 1;
    vhosts[0].latency_count = 4;
    vhosts[0].latency_sum_ms = 40 + 40 + 300 + 4600;
    vhosts[1].counter[ALX_STAT_popups] = 1;

    events[0].at = at_utc(2026, 12, 1, 13, 45, 7);
    events[0].seq = 3;
    events[0].kind = ALX_EVENT_FLOW;
    events[0].failed = 1;
    strcpy(events[0].what, "code");
    strcpy(events[0].client, "<script>\"&");   /* written raw, not via text() */
    strcpy(events[0].region, "EU");
    strcpy(events[0].platform, "Android");
    strcpy(events[0].verdict, "state-dropped");
    strcpy(events[0].cause, "state_dropped");
    strcpy(events[0].shape_in, "-");
    strcpy(events[0].shape_out, "-");

    events[1].at = at_utc(2026, 12, 1, 13, 44, 0);
    events[1].seq = 2;
    events[1].kind = ALX_EVENT_EXCHANGE;
    events[1].failed = 1;
    events[1].ms = 4600;
    strcpy(events[1].what, "authorization_code");
    strcpy(events[1].client, "alexa-skill");
    strcpy(events[1].region, "-");
    strcpy(events[1].platform, "-");
    strcpy(events[1].verdict, "upstream-error:invalid_grant");
    strcpy(events[1].cause, "upstream_error");
    strcpy(events[1].shape_in, "form{grant_type:str(18),code:str(20)}");
    strcpy(events[1].shape_out, "json{error:str(13)}");

    events[2].at = at_utc(2026, 12, 1, 13, 40, 0);
    events[2].seq = 1;
    events[2].vhost = 1;
    events[2].kind = ALX_EVENT_EXCHANGE;
    events[2].ms = 40;
    strcpy(events[2].what, "refresh_token");
    strcpy(events[2].client, "alexa-skill");
    strcpy(events[2].verdict, "ok");
    strcpy(events[2].shape_in, "form{grant_type:str(13)}");
    strcpy(events[2].shape_out, "json{access_token:str(40)}");

    snap.head.vhosts = 2;
    snap.head.events = 8;
    snap.head.next = 3;
    snap.head.since = at_utc(2026, 12, 1, 10, 0, 0);
    snap.head.records = 12;
    snap.head.evictions = 2;
    snap.head.outages = 1;
    snap.head.survival_s = 30;
    snap.vhosts = 2;
    snap.vhost = vhosts;
    snap.nevents = 3;
    snap.event = events;

    l = apr_array_push(locs);
    l->vhost = "a.example:443";
    l->path = "/oauth/token";
    l->role = "token";
    l = apr_array_push(locs);
    l->vhost = "a.example:443";
    l->path = "/oauth/authorize";
    l->role = "authorize";
    l->domain_list = "fonts.example.net cdn.example.org";

    memset(v, 0, sizeof(*v));
    v->snap = &snap;
    v->vhost_names = names;
    v->locations = locs;
    v->now = at_utc(2026, 12, 1, 14, 0, 0);
    v->window = apr_time_from_sec(60);
    v->store = "shmcb";
    v->capacity = 512000;
    v->version = "1.2.3";
}

static int has(const char *text, const char *part)
{
    return text && strstr(text, part) != NULL;
}

static int count_of(const char *text, const char *part)
{
    int n = 0;

    while (text && (text = strstr(text, part)) != NULL) {
        n++;
        text += strlen(part);
    }
    return n;
}

static void test_html(const alx_status_view_t *v)
{
    const char *h = alx_status_html(pool, v);
    const char *failures = has(h, "<h2 id=failures>Recent failures</h2>")
                           ? strstr(h, "<h2 id=failures>Recent failures</h2>") : "";
    const char *recent = has(h, "<h2>Recent events</h2>")
                         ? strstr(h, "<h2>Recent events</h2>") : "";

    ok(h && !strncmp(h, "<!DOCTYPE html>\n", 16), "html: doctype first");
    ok(has(h, "<meta charset=utf-8>"), "html: charset");
    ok(has(h, "<meta name=viewport content=\"width=device-width"),
       "html: viewport for phones");
    ok(has(h, "<style>") && !has(h, "<script") && !has(h, "<link")
       && !has(h, "src="), "html: inline style, no script or external asset");
    ok(has(h, "&lt;script&gt;&quot;&amp;"), "html: hostile client escaped");
    ok(!has(h, "<script>") && !has(h, "\"&<"), "html: no raw hostile text");
    ok(has(h, "Version 1.2.3. Counting since 2026-12-01 10:00:00 UTC; now "
           "2026-12-01 14:00:00 UTC."), "html: version, since, now");
    ok(has(h, "Store shmcb, capacity 512000 bytes: 12 records, 2 evictions, "
           "1 outages"), "html: store figures");
    ok(has(h, "<span class=bad>records live about 30 s; the window is 60 s"),
       "html: survival flagged shorter than the window");
    ok(has(h, "<h2>a.example:443</h2>") && has(h, "<h2>b.example:8443</h2>"),
       "html: a section per vhost");
    ok(has(h, "<tr><td>authorization_code</td><td class=n>3</td></tr>"),
       "html: exchanges by grant");
    ok(has(h, "<tr><td>EU failed</td><td class=n>1</td></tr>"),
       "html: flows by region and outcome");
    ok(has(h, "<tr><td>upstream_error</td><td class=n>1</td></tr>"),
       "html: failures by cause");
    ok(has(h, "<td class=n>4</td><td class=n>&le; 50 ms</td><td class=n>"
           "&le; 10000 ms</td><td class=n>&le; 10000 ms</td>"),
       "html: latency count and percentiles");
    ok(has(h, "<p class=none>None: answers rewritten, by kind of rewrite;")
       || has(h, "<p class=none>None: token exchanges by grant type;"),
       "html: all-zero groups compact");
    ok(has(h, "No samples yet."), "html: vhost without latency samples");
    is_int(count_of(failures, "<td class=bad>") - count_of(recent,
           "<td class=bad>"), 2, "html: two recent failures");
    ok(has(failures, "<tr><td>2026-12-01 13:45:07 UTC</td><td>a.example:443"
           "</td><td>flow code</td>"), "html: newest failure first, UTC");
    ok(has(failures, alx_stats_cause("state_dropped")), "html: the failure's cause sentence");
    ok(has(recent, "<code>form{grant_type:str(13)}</code> &rarr; "
           "<code>json{access_token:str(40)}</code>"),
       "html: shapes in -> out");
    ok(has(h, "<p class=bad><a href=\"#failures\">2 recent failures</a>"),
       "html: the failures named at the top");
    ok(has(h, "</body>\n</html>\n"), "html: complete document");
}

static void test_json(const alx_status_view_t *v)
{
    const char *text = alx_status_json(pool, v);
    json_error_t err;
    json_t *j = text ? json_loads(text, 0, &err) : NULL, *vh, *lat, *b, *e;

    ok(j != NULL, "json: parses");
    is_str(json_string_value(json_object_get(j, "version")), "1.2.3",
           "json: version");
    is_str(json_string_value(json_object_get(j, "since")),
           "2026-12-01T10:00:00Z", "json: since, ISO 8601 UTC");
    is_str(json_string_value(json_object_get(j, "now")),
           "2026-12-01T14:00:00Z", "json: now");
    is_str(json_string_value(json_object_get(json_object_get(j, "store"),
           "provider")), "shmcb", "json: store provider");
    is_int(json_integer_value(json_object_get(json_object_get(j, "store"),
           "survival_seconds")), 30, "json: survival");
    is_int(json_integer_value(json_object_get(json_object_get(j, "store"),
           "window_seconds")), 60, "json: window");
    is_int(json_array_size(json_object_get(j, "vhosts")), 2, "json: 2 vhosts");
    vh = json_array_get(json_object_get(j, "vhosts"), 0);
    is_str(json_string_value(json_object_get(vh, "name")), "a.example:443",
           "json: vhost name");
    is_int(json_object_size(json_object_get(vh, "counters")), ALX_STATS_N,
           "json: every counter");
    is_int(json_integer_value(json_object_get(json_object_get(vh, "counters"),
           "exchange_code")), 3, "json: exchange_code");
    is_int(json_integer_value(json_object_get(json_object_get(vh, "counters"),
           "flow_eu_failed")), 1, "json: flow_eu_failed");
    lat = json_object_get(vh, "latency_ms");
    is_int(json_integer_value(json_object_get(lat, "count")), 4,
           "json: latency count");
    is_int(json_integer_value(json_object_get(lat, "sum")), 4980,
           "json: latency sum");
    is_int(json_integer_value(json_object_get(lat, "p50")), 50, "json: p50");
    is_int(json_integer_value(json_object_get(lat, "p99")), 10000, "json: p99");
    b = json_object_get(lat, "buckets");
    is_int(json_array_size(b), ALX_STATS_BUCKETS + 1, "json: every bucket");
    is_int(json_integer_value(json_object_get(json_array_get(b, 7), "le_ms")),
           4500, "json: the 4.5 s bucket");
    is_int(json_integer_value(json_object_get(json_array_get(b, 7), "count")),
           3, "json: buckets cumulative");
    ok(json_is_null(json_object_get(json_array_get(b, ALX_STATS_BUCKETS),
       "le_ms")), "json: +Inf bucket le_ms null");
    is_int(json_integer_value(json_object_get(json_array_get(b,
           ALX_STATS_BUCKETS), "count")), 4, "json: +Inf holds all");
    ok(json_is_null(json_object_get(json_object_get(json_array_get(
       json_object_get(j, "vhosts"), 1), "latency_ms"), "p95")),
       "json: no samples, p95 null");
    is_int(json_array_size(json_object_get(j, "events")), 3, "json: 3 events");
    e = json_array_get(json_object_get(j, "events"), 0);
    is_str(json_string_value(json_object_get(e, "client")), "<script>\"&",
           "json: hostile text as data, escaped by JSON");
    is_str(json_string_value(json_object_get(e, "time")),
           "2026-12-01T13:45:07Z", "json: event time");
    is_str(json_string_value(json_object_get(e, "kind")), "flow", "json: kind");
    is_str(json_string_value(json_object_get(e, "cause")), "state_dropped",
           "json: cause key");
    ok(json_is_true(json_object_get(e, "failed")), "json: failed true");
    e = json_array_get(json_object_get(j, "events"), 2);
    ok(json_is_false(json_object_get(e, "failed")), "json: ok event not failed");
    ok(json_is_null(json_object_get(e, "cause")), "json: no cause, null");
    is_str(json_string_value(json_object_get(e, "vhost")), "b.example:8443",
           "json: event vhost by name");
    is_int(json_integer_value(json_object_get(e, "ms")), 40, "json: ms");
    is_int(json_array_size(json_object_get(j, "locations")), 2,
           "json: locations");
    is_str(json_string_value(json_object_get(json_array_get(json_object_get(j,
           "locations"), 1), "domain_list")), "fonts.example.net cdn.example.org",
           "json: domain list");
    json_decref(j);
}

/* ---- a strict reader of the text exposition format ---- */

static const char *metric_name(const char *s)
{
    if (!(isalpha((unsigned char)*s) || *s == '_' || *s == ':'))
        return NULL;
    while (isalnum((unsigned char)*s) || *s == '_' || *s == ':')
        s++;
    return s;
}

static const char *label_set(const char *s)
{
    if (*s != '{')
        return s;
    s++;
    for (;;) {
        const char *end = metric_name(s);

        if (!end || *end != '=' || end[1] != '"')
            return NULL;
        for (s = end + 2; *s != '"'; s++) {
            if (!*s || *s == '\n')
                return NULL;
            if (*s == '\\') {
                if (s[1] != '\\' && s[1] != '"' && s[1] != 'n')
                    return NULL;
                s++;
            }
        }
        s++;
        if (*s == '}')
            return s + 1;
        if (*s != ',')
            return NULL;
        s++;
    }
}

static int number(const char *s)
{
    char *end;

    if (!*s)
        return 0;
    strtod(s, &end);
    return *end == '\0';
}

static int ends_with(const char *s, const char *tail)
{
    apr_size_t n = strlen(s), m = strlen(tail);

    return n >= m && !strcmp(s + n - m, tail);
}

static void test_metrics(const alx_status_view_t *v)
{
    char *text = apr_pstrdup(pool, alx_status_metrics(pool, v)), *line, *last;
    apr_hash_t *types = apr_hash_make(pool), *series = apr_hash_make(pool),
               *helps = apr_hash_make(pool);
    const char *family = NULL, *type = NULL;
    int bad = 0, dup = 0, alien = 0, typeless = 0, twice = 0, untotal = 0,
        lines = 0, cumulative = 1, inf_count = 1, helped = 1;
    double last_bucket = -1, inf = -1;

    for (line = apr_strtok(text, "\n", &last); line;
         line = apr_strtok(NULL, "\n", &last)) {
        lines++;
        if (!strncmp(line, "# HELP ", 7) || !strncmp(line, "# TYPE ", 7)) {
            char *name = apr_pstrdup(pool, line + 7), *sp = strchr(name, ' ');
            const char *end = metric_name(name);

            if (!sp || end != sp) {
                bad++;
                continue;
            }
            *sp = '\0';
            if (line[2] == 'H') {
                apr_hash_set(helps, name, APR_HASH_KEY_STRING, name);
                continue;
            }
            type = sp + 1;
            if (strcmp(type, "counter") && strcmp(type, "gauge")
                && strcmp(type, "histogram"))
                bad++;
            if (apr_hash_get(types, name, APR_HASH_KEY_STRING))
                twice++;
            if (!apr_hash_get(helps, name, APR_HASH_KEY_STRING))
                helped = 0;
            apr_hash_set(types, name, APR_HASH_KEY_STRING, type);
            if ((strcmp(type, "counter") == 0) != ends_with(name, "_total"))
                untotal++;
            family = name;
            last_bucket = -1;
            continue;
        }
        {
            const char *end = metric_name(line), *labels_end;
            char *name, *key;

            if (!end) {
                bad++;
                continue;
            }
            labels_end = label_set(end);
            if (!labels_end || *labels_end != ' ' || !number(labels_end + 1)) {
                bad++;
                printf("# bad series: %s\n", line);
                continue;
            }
            name = apr_pstrmemdup(pool, line, (apr_size_t)(end - line));
            key = apr_pstrmemdup(pool, line, (apr_size_t)(labels_end - line));
            if (apr_hash_get(series, key, APR_HASH_KEY_STRING))
                dup++;
            apr_hash_set(series, key, APR_HASH_KEY_STRING, key);
            if (!family)
                typeless++;
            else if (strcmp(name, family)
                     && !(!strcmp(type, "histogram")
                          && (!strcmp(name, apr_pstrcat(pool, family, "_bucket", NULL))
                              || !strcmp(name, apr_pstrcat(pool, family, "_sum", NULL))
                              || !strcmp(name, apr_pstrcat(pool, family, "_count", NULL)))))
                alien++;
            if (ends_with(name, "_bucket")) {
                double n = strtod(labels_end + 1, NULL);

                if (n < last_bucket)
                    cumulative = 0;
                last_bucket = n;
                if (strstr(key, "le=\"+Inf\""))
                    inf = n;
            }
            else if (ends_with(name, "_count")) {
                if (strtod(labels_end + 1, NULL) != inf)
                    inf_count = 0;
                last_bucket = -1;
            }
        }
    }
    ok(lines > 50, "metrics: %d lines", lines);
    is_int(bad, 0, "metrics: every line is # HELP, # TYPE or a strict series");
    is_int(twice, 0, "metrics: one # TYPE per family");
    ok(helped, "metrics: # HELP before each # TYPE");
    is_int(typeless, 0, "metrics: no series before its # TYPE");
    is_int(alien, 0, "metrics: families not interleaved");
    is_int(dup, 0, "metrics: no duplicate series");
    is_int(untotal, 0, "metrics: counters and only counters end in _total");
    ok(cumulative, "metrics: buckets cumulative");
    ok(inf_count, "metrics: +Inf bucket equals _count");
    ok(has(alx_status_metrics(pool, v), "\nalexalink_exchanges_total{vhost="
           "\"a.example:443\",grant=\"authorization_code\"} 3\n"),
       "metrics: a counter with vhost and grant labels");
    ok(has(alx_status_metrics(pool, v), "\nalexalink_flows_total{vhost="
           "\"a.example:443\",region=\"EU\",outcome=\"failed\"} 1\n"),
       "metrics: flows by region and outcome");
    ok(has(alx_status_metrics(pool, v), "\nalexalink_popups_total{vhost="
           "\"b.example:8443\"} 1\n"), "metrics: a family without label");
    ok(has(alx_status_metrics(pool, v), "\nalexalink_exchange_duration_seconds"
           "_bucket{vhost=\"a.example:443\",le=\"4.5\"} 3\n"),
       "metrics: the 4.5 s bucket");
    ok(has(alx_status_metrics(pool, v), "le=\"0.05\"} 2\n"),
       "metrics: the 50 ms bucket as 0.05");
    ok(has(alx_status_metrics(pool, v), "\nalexalink_exchange_duration_seconds"
           "_sum{vhost=\"a.example:443\"} 4.98\n"), "metrics: sum in seconds");
    ok(has(alx_status_metrics(pool, v), "\nalexalink_exchange_duration_seconds"
           "_count{vhost=\"a.example:443\"} 4\n"), "metrics: count");
    ok(has(alx_status_metrics(pool, v), "\n# TYPE alexalink_store_records gauge\n"
           "alexalink_store_records 12\n"), "metrics: store records gauge");
    ok(has(alx_status_metrics(pool, v), "\nalexalink_store_evictions_total 2\n")
       && has(alx_status_metrics(pool, v), "\nalexalink_store_outages_total 1\n")
       && has(alx_status_metrics(pool, v), "\nalexalink_store_survival_seconds 30\n")
       && has(alx_status_metrics(pool, v), "\nalexalink_store_window_seconds 60\n"),
       "metrics: store figures");
    ok(has(alx_status_metrics(pool, v), apr_psprintf(pool,
           "\nalexalink_since_seconds %" APR_INT64_T_FMT "\n",
           apr_time_sec(snap.head.since))), "metrics: since in Unix time");
}

static void test_metrics_labels(void)
{
    alx_status_view_t v;
    apr_array_header_t *locs = apr_array_make(pool, 2, sizeof(alx_status_location_t));
    static const char *const odd[2] = { "we\"ird\\host\n:443", "we\"ird\\host\n:443" };
    const char *m;

    build(&v, locs);
    v.vhost_names = odd;
    m = alx_status_metrics(pool, &v);
    ok(has(m, "alexalink_popups_total{vhost=\"we\\\"ird\\\\host\\n:443\"} 0\n"),
       "metrics: label value escaped");
    ok(has(m, "alexalink_popups_total{vhost=\"we\\\"ird\\\\host\\n:443#1\"} 1\n"),
       "metrics: a repeated vhost name made unique");
}

static void test_support(const alx_status_view_t *v)
{
    const char *s = alx_status_support(pool, v);
    alx_status_view_t quiet = *v;
    alx_stats_snapshot_t none = *v->snap;
    alx_stats_vhost_t vh[2];

    ok(has(s, "mod_alexalink support report"), "support: heading");
    ok(has(s, "\nGenerated 2026-12-01 14:00:00 UTC\n"), "support: generated");
    ok(has(s, "\nModule version: 1.2.3\n"), "support: version");
    ok(has(s, "\nStore: shmcb, capacity 512000 bytes, 12 records"),
       "support: store");
    ok(has(s, "\nConfigured locations\n--------------------\n"
           "a.example:443  /oauth/token  role token\n"
           "  Access Token URL: https://a.example/oauth/token\n"
           "a.example:443  /oauth/authorize  role authorize\n"
           "  Authorization URL: https://a.example/oauth/authorize\n"),
       "support: locations with URLs, no port");
    ok(has(s, "\nDomain list\n-----------\nhttps://a.example/oauth/authorize: "
           "fonts.example.net cdn.example.org\n"), "support: domain list");
    ok(has(s, "\nGrant types seen\n----------------\na.example:443: "
           "authorization_code 3, refresh_token 2, other 0\n"),
       "support: grant types");
    ok(has(s, "\n2026-12-01 13:45:07 UTC  region EU  platform Android  flow "
           "code on a.example:443 failed: state-dropped\n  "), "support: failed "
       "flow with exact time, region, platform, verdict");
    ok(has(s, alx_stats_cause("state_dropped")), "support: its cause");
    ok(has(s, "\n2026-12-01 13:44:00 UTC  region -  platform -  exchange "
           "authorization_code on a.example:443 failed: "
           "upstream-error:invalid_grant\n"), "support: failed exchange");
    ok(!has(s, "refresh_token on"), "support: the good exchange not listed");
    ok(has(s, "\nNext suspects the module cannot see\n") && has(s, "AcceptGrant")
       && has(s, "Domain List"), "support: next suspects after code exchanges");
    ok(!has(s, "<script"), "support: hostile client not printed");
    ok(has(s, "\nAccount Linking Type seen: Authorization Code Grant"),
       "support: the account linking type from the code exchanges");

    memcpy(vh, v->snap->vhost, sizeof(vh));
    vh[0].counter[ALX_STAT_code_ok] = 0;
    none.vhost = vh;
    quiet.snap = &none;
    ok(!has(alx_status_support(pool, &quiet), "Next suspects"),
       "support: no next suspects without a code exchange");
}

static void test_auto(const alx_status_view_t *v)
{
    char *text = apr_pstrdup(pool, alx_status_auto(pool, v)), *line, *last;
    int good = 1, n = 0;

    for (line = apr_strtok(text, "\n", &last); line;
         line = apr_strtok(NULL, "\n", &last)) {
        const char *colon = strstr(line, ": ");
        const char *k;

        n++;
        if (!colon || colon == line || !number(colon + 2))
            good = 0;
        for (k = line; colon && k < colon; k++)
            if (!isalnum((unsigned char)*k))
                good = 0;
    }
    ok(good && n == 7, "auto: 7 lines of Key: number");
    is_str(alx_status_auto(pool, v),
           "AlexaLinkExchanges: 5\nAlexaLinkFailures: 1\nAlexaLinkOverBudget: 1\n"
           "AlexaLinkFlows: 5\nAlexaLinkFlowFailures: 1\nAlexaLinkReplays: 1\n"
           "AlexaLinkP95ms: 10000\n", "auto: the totals");
    ok(!strncmp(alx_status_section(pool, v), "<hr><h2>mod_alexalink</h2>\n"
                "<table>\n", 34), "section: heading and table");
    ok(has(alx_status_section(pool, v), "<tr><th align=left>Token exchanges"
           "</th><td>5</td></tr>"), "section: the totals");
}

static void test_empty(void)
{
    alx_stats_snapshot_t empty;
    alx_status_view_t v;
    json_t *j;

    memset(&empty, 0, sizeof(empty));
    memset(&v, 0, sizeof(v));
    v.snap = &empty;
    ok(has(alx_status_html(pool, &v), "<h2>Recent events</h2>\n<p class=none>"
           "None.</p>"), "empty: html");
    j = json_loads(alx_status_json(pool, &v), 0, NULL);
    ok(j && json_array_size(json_object_get(j, "vhosts")) == 0, "empty: json");
    json_decref(j);
    ok(has(alx_status_metrics(pool, &v), "alexalink_store_records 0\n"),
       "empty: metrics");
    ok(has(alx_status_support(pool, &v), "(none among the recent events)"),
       "empty: support");
    ok(has(alx_status_auto(pool, &v), "AlexaLinkP95ms: 0\n"), "empty: auto");
}

/* SPEC "Links that last": the keep-alive's figures by their names in
 * ?json and ?metrics, and a line on the page and in the report only where
 * keep-alive is on. */
static void test_keepalive(alx_status_view_t *v)
{
    json_t *j, *k;
    const char *m;
    int i;

    snap.head.keepalive[ALX_KA_links_kept] = 7;
    snap.head.keepalive[ALX_KA_keepalive_refreshes] = 5;
    snap.head.keepalive[ALX_KA_keepalive_failures] = 2;
    snap.head.keepalive[ALX_KA_links_ended_upstream] = 1;
    snap.head.keepalive[ALX_KA_links_ended_idle] = 3;
    snap.head.keepalive[ALX_KA_keepalive_next_due] = 1767225600;
    j = json_loads(alx_status_json(pool, v), 0, NULL);
    k = json_object_get(j, "keepalive");
    ok(k && json_integer_value(json_object_get(k, "links_kept")) == 7
       && json_integer_value(json_object_get(k, "keepalive_refreshes")) == 5
       && json_integer_value(json_object_get(k, "keepalive_failures")) == 2
       && json_integer_value(json_object_get(k, "links_ended_upstream")) == 1
       && json_integer_value(json_object_get(k, "links_ended_idle")) == 3,
       "?json: keepalive's counts by their names");
    is_str(json_string_value(json_object_get(k, "keepalive_next_due")),
           "2026-01-01T00:00:00Z", "?json: keepalive_next_due as a time");
    json_decref(j);
    m = alx_status_metrics(pool, v);
    ok(has(m, "\n# TYPE alexalink_links_kept gauge\nalexalink_links_kept 7\n")
       && has(m, "\n# TYPE alexalink_keepalive_refreshes_total counter\n"
                 "alexalink_keepalive_refreshes_total 5\n")
       && has(m, "\nalexalink_keepalive_failures_total 2\n")
       && has(m, "\nalexalink_links_ended_upstream_total 1\n")
       && has(m, "\nalexalink_links_ended_idle_total 3\n")
       && has(m, "\n# TYPE alexalink_keepalive_next_due gauge\n"
                 "alexalink_keepalive_next_due 1767225600\n"),
       "?metrics: the keep-alive's families, _total where they count");
    v->keepalive = 0;
    ok(!has(alx_status_html(pool, v), "Keep-alive:"),
       "no keep-alive line where it is off");
    v->keepalive = 1;
    ok(has(alx_status_html(pool, v), "Keep-alive: 7 links kept, 5 refreshes "
           "made, 2 failed, 1 links ended by the upstream, 3 ended idle; "
           "next refresh due 2026-01-01 00:00:00 UTC"),
       "the page's keep-alive line");
    ok(has(alx_status_support(pool, v), "Keep-alive: 7 links kept"),
       "the report's keep-alive line");
    v->keepalive = 0;
    for (i = 0; i < ALX_STATS_KA_N; i++)
        snap.head.keepalive[i] = 0;
}

int main(void)
{
    alx_status_view_t v;
    apr_array_header_t *locs;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    locs = apr_array_make(pool, 2, sizeof(alx_status_location_t));
    build(&v, locs);
    test_html(&v);
    test_json(&v);
    test_metrics(&v);
    test_metrics_labels();
    test_support(&v);
    test_auto(&v);
    test_empty();
    test_keepalive(&v);
    apr_pool_destroy(pool);
    apr_terminate();
    return tap_done();
}

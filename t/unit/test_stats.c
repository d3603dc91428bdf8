/* Unit tests for the shared status counters (lib/alx_stats.c). */
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "alx_stats.h"
#include "tap.h"

static apr_pool_t *pool;

static void *block(apr_size_t size)
{
    return apr_palloc(pool, size);
}

static const apr_uint64_t KEYS[] = {0x1111, 0x2222, 0x3333, 0x4444};

static void test_layout(void)
{
    apr_size_t size = alx_stats_size(2, 8);
    void *base = block(size);
    alx_stats_t *st;
    char *garbage, why[160];

    ok(size >= sizeof(alx_stats_head_t) + sizeof(alx_once_t)
       + 2 * sizeof(alx_stats_vhost_t) + 8 * sizeof(alx_event_t),
       "size holds head, once table, vhosts and ring");
    ok(alx_stats_size(3, 8) > size && alx_stats_size(2, 9) > size,
       "size grows with vhosts and events");
    ok(alx_stats_init(pool, base, size - 1, ALX_STATS_LAYOUT, KEYS, 2, 8, 1)
       == NULL, "init refuses a block too small");
    memset(base, 0xa5, size);
    st = alx_stats_init(pool, base, size, ALX_STATS_LAYOUT, KEYS, 2, 8,
                        apr_time_from_sec(1000));
    ok(st != NULL, "init lays out the block");
    is_int(alx_stats_head(st)->segment.magic, ALX_SEGMENT_STATS,
           "head: the status segment's mark");
    is_int(alx_stats_head(st)->segment.layout, ALX_STATS_LAYOUT,
           "head: the layout version");
    is_int(alx_stats_head(st)->segment.size, size, "head: the size");
    is_int(alx_stats_head(st)->vhosts, 2, "head: vhosts");
    is_int(alx_stats_head(st)->events, 8, "head: events");
    is_int(alx_stats_head(st)->next, 0, "head: nothing written");
    is_int(alx_stats_head(st)->records, 0, "head zeroed");
    is_int(alx_stats_head(st)->since, apr_time_from_sec(1000), "head: since");
    ok(alx_stats_vhost(st, 0) && alx_stats_vhost(st, 1)
       && alx_stats_vhost(st, 2) == NULL, "two vhost blocks, not three");
    ok(alx_stats_vhost(st, 0)->key == KEYS[0]
       && alx_stats_vhost(st, 1)->key == KEYS[1], "each block its vhost's key");
    is_int(((char *)alx_stats_vhost(st, 1) - (char *)alx_stats_vhost(st, 0))
           % 64, 0, "vhost blocks 64 bytes apart");
    is_int(alx_stats_vhost(st, 1)->counter[ALX_STAT_popups], 0,
           "vhost block zeroed");
    is_int(alx_stats_once(st)->slot[0], 0, "once table zeroed");
    ok((char *)alx_stats_once(st) >= (char *)base + sizeof(alx_stats_head_t)
       && (char *)(alx_stats_once(st) + 1) <= (char *)alx_stats_vhost(st, 0),
       "the once table between the head and the vhosts");

    alx_stats_count(st, 1, ALX_STAT_popups);
    ok(alx_stats_open(pool, base, size, ALX_STATS_LAYOUT, why, sizeof(why))
       != NULL, "open accepts this build's block");
    is_int(alx_stats_vhost(alx_stats_open(pool, base, size, ALX_STATS_LAYOUT,
                                          why, sizeof(why)), 1)
           ->counter[ALX_STAT_popups], 1, "open sees the counts");
    ok(alx_stats_open(pool, base, size + 4096, ALX_STATS_LAYOUT, why,
                      sizeof(why)) != NULL, "open: more mapped is fine");
    ok(alx_stats_open(pool, base, size, ALX_STATS_LAYOUT + 1, why,
                      sizeof(why)) == NULL, "open refuses another layout");
    is_str(why, apr_psprintf(pool, "layout %d, this build's %d",
                             ALX_STATS_LAYOUT, ALX_STATS_LAYOUT + 1),
           "and says which");
    ok(alx_stats_open(pool, base, size - 1, ALX_STATS_LAYOUT, why,
                      sizeof(why)) == NULL, "open refuses a smaller block");
    garbage = block(size);
    memset(garbage, 0x5a, size);
    ok(alx_stats_open(pool, garbage, size, ALX_STATS_LAYOUT, why,
                      sizeof(why)) == NULL, "open refuses garbage");
    is_str(why, apr_psprintf(pool, "no layout mark: a build from before "
                             "segments carried one, this build's layout %d",
                             ALX_STATS_LAYOUT), "garbage: no layout mark");
    memcpy(garbage, base, sizeof(alx_stats_head_t));
    ((alx_stats_head_t *)(void *)garbage)->vhosts = 3;
    ok(alx_stats_open(pool, garbage, size, ALX_STATS_LAYOUT, why,
                      sizeof(why)) == NULL,
       "open refuses a head whose vhosts and events do not fill its size");
    is_str(why, apr_psprintf(pool, "3 vhosts and 8 events in %" APR_SIZE_T_FMT
                             " bytes", size), "and says so");
    ok(alx_stats_open(pool, NULL, size, ALX_STATS_LAYOUT, why, sizeof(why))
       == NULL, "open refuses NULL");
}

static alx_stats_t *fresh_keys(const apr_uint64_t *keys, unsigned int vhosts,
                               unsigned int events)
{
    apr_size_t size = alx_stats_size(vhosts, events);

    return alx_stats_init(pool, block(size), size, ALX_STATS_LAYOUT, keys,
                          vhosts, events, 0);
}

static alx_stats_t *fresh(unsigned int vhosts, unsigned int events)
{
    return fresh_keys(KEYS, vhosts, events);
}

/* Blocks follow the vhosts' identities: the same set in another order is
 * the same blocks; another set is not. */
static void test_match(void)
{
    alx_stats_t *st = fresh(3, 8);
    const apr_uint64_t swapped[] = {0x3333, 0x1111, 0x2222};
    const apr_uint64_t renamed[] = {0x1111, 0x2222, 0x5555};
    unsigned int b[3] = {9, 9, 9};

    ok(alx_stats_match(st, KEYS, 3, 8, b) && b[0] == 0 && b[1] == 1
       && b[2] == 2, "the same vhosts in the same order: blocks 0 1 2");
    ok(alx_stats_match(st, swapped, 3, 8, b) && b[0] == 2 && b[1] == 0
       && b[2] == 1, "reordered: each finds its own block (2 0 1)");
    ok(!alx_stats_match(st, renamed, 3, 8, b), "a renamed vhost: no match");
    ok(!alx_stats_match(st, KEYS, 2, 8, b), "one vhost fewer: no match");
    ok(!alx_stats_match(st, KEYS, 4, 8, b), "one vhost more: no match");
    ok(!alx_stats_match(st, KEYS, 3, 9, b), "another ring size: no match");
}

static alx_event_t event_of(unsigned int vhost, const char *client,
                            apr_time_t at)
{
    alx_event_t e;

    memset(&e, 0, sizeof(e));
    e.kind = ALX_EVENT_EXCHANGE;
    e.vhost = (apr_uint16_t)vhost;
    e.at = at;
    snprintf(e.client, sizeof(e.client), "%s", client);
    return e;
}

/* A restart that renames, reorders and adds vhosts, and shrinks the ring:
 * each vhost's counts, latencies and events go with it; the gone one's are
 * dropped; the new ones start at zero; the rest comes along. */
static void test_carry(void)
{
    const apr_uint64_t before[] = {0xa, 0xb, 0xc};
    const apr_uint64_t after[] = {0xc, 0xd, 0xa, 0xe};   /* b gone */
    alx_stats_t *from = alx_stats_init(pool, block(alx_stats_size(3, 8)),
                                       alx_stats_size(3, 8), ALX_STATS_LAYOUT,
                                       before, 3, 8, apr_time_from_sec(77));
    alx_stats_t *to = fresh_keys(after, 4, 3);
    alx_stats_snapshot_t snap;
    alx_event_t e;
    unsigned int i;

    for (i = 0; i < 5; i++)
        alx_stats_count(from, 0, ALX_STAT_exchange_code);   /* a */
    alx_stats_count(from, 1, ALX_STAT_exchange_code);       /* b */
    alx_stats_count(from, 2, ALX_STAT_popups);              /* c */
    alx_stats_latency(from, 0, 120);
    alx_stats_latency(from, 2, 4000);
    e = event_of(0, "a1", 1); alx_stats_event(from, &e);
    e = event_of(1, "b1", 2); alx_stats_event(from, &e);
    e = event_of(2, "c1", 3); alx_stats_event(from, &e);
    e = event_of(0, "a2", 4); alx_stats_event(from, &e);
    e = event_of(1, "b2", 5); alx_stats_event(from, &e);
    e = event_of(2, "c2", 6); alx_stats_event(from, &e);
    alx_stats_head(from)->records = 7;
    alx_stats_head(from)->evictions = 2;
    alx_stats_head(from)->outages = 1;
    alx_stats_head(from)->survival_s = 30;
    alx_once_due(alx_stats_once(from), 0x99ull << 32,
                 apr_time_from_sec(1000), apr_time_from_sec(3600));

    alx_stats_carry(pool, to, from);
    is_int(alx_stats_vhost(to, 2)->counter[ALX_STAT_exchange_code], 5,
           "a's 5 exchanges in a's new block");
    is_int(alx_stats_vhost(to, 2)->latency_count, 1, "a's latency sample");
    is_int(alx_stats_vhost(to, 2)->latency_sum_ms, 120, "a's latency sum");
    is_int(alx_stats_vhost(to, 2)->bucket[2], 1, "a's bucket (<= 250 ms)");
    is_int(alx_stats_vhost(to, 0)->counter[ALX_STAT_popups], 1,
           "c's count in c's new block");
    is_int(alx_stats_vhost(to, 0)->counter[ALX_STAT_exchange_code], 0,
           "and nothing of a's or b's");
    is_int(alx_stats_vhost(to, 0)->bucket[7], 1, "c's bucket (<= 4500 ms)");
    for (i = 0; i < ALX_STATS_N; i++)
        if (alx_stats_vhost(to, 1)->counter[i]
            || alx_stats_vhost(to, 3)->counter[i])
            break;
    is_int(i, ALX_STATS_N, "the new vhosts d and e start at zero");
    is_int(alx_stats_vhost(to, 1)->latency_count
           + alx_stats_vhost(to, 3)->latency_count, 0, "with no latency");
    is_int(alx_stats_head(to)->since, apr_time_from_sec(77), "since carried");
    ok(alx_stats_head(to)->records == 7 && alx_stats_head(to)->evictions == 2
       && alx_stats_head(to)->outages == 1
       && alx_stats_head(to)->survival_s == 30, "store figures carried");
    ok(!alx_once_due(alx_stats_once(to), 0x99ull << 32,
                     apr_time_from_sec(1001), apr_time_from_sec(3600)),
       "the once table carried: a line said stays said");

    alx_stats_snapshot(pool, to, &snap);
    is_int(snap.nevents, 3, "the ring of 3 is full");
    is_str(apr_psprintf(pool, "%s@%u %s@%u %s@%u", snap.event[0].client,
                        snap.event[0].vhost, snap.event[1].client,
                        snap.event[1].vhost, snap.event[2].client,
                        snap.event[2].vhost),
           "c2@0 a2@2 c1@0", "the newest events of a and c, newest first, "
           "in their new blocks; b's dropped");
    ok(snap.event[0].at == 6 && snap.event[2].at == 3, "their times kept");
    is_int(snap.vhost[2].key, 0xa, "the snapshot names each block's key");

    /* and the new block counts on where a now lives */
    alx_stats_count(to, 2, ALX_STAT_exchange_code);
    is_int(alx_stats_vhost(to, 2)->counter[ALX_STAT_exchange_code], 6,
           "counting goes on from the carried count");
}

static void test_count(void)
{
    alx_stats_t *st = fresh(2, 4);
    alx_stats_snapshot_t snap;

    alx_stats_count(st, 0, ALX_STAT_exchange_code);
    alx_stats_count(st, 0, ALX_STAT_exchange_code);
    alx_stats_count(st, 1, ALX_STAT_fail_upstream_error);
    alx_stats_count(st, 2, ALX_STAT_exchange_code);     /* ignored */
    alx_stats_count(st, 99, ALX_STAT_exchange_code);    /* ignored */
    alx_stats_count(st, 0, ALX_STATS_N);                /* ignored */
    alx_stats_latency(st, 5, 10);                       /* ignored */
    alx_stats_snapshot(pool, st, &snap);
    is_int(snap.vhosts, 2, "snapshot: two vhosts");
    is_int(snap.vhost[0].counter[ALX_STAT_exchange_code], 2, "vhost 0 counted");
    is_int(snap.vhost[1].counter[ALX_STAT_exchange_code], 0,
           "vhost 1 not counted for vhost 0");
    is_int(snap.vhost[1].counter[ALX_STAT_fail_upstream_error], 1,
           "vhost 1 counted");
    is_int(snap.vhost[0].latency_count + snap.vhost[1].latency_count, 0,
           "out-of-range latency ignored");
    is_int(snap.nevents, 0, "no events yet");
}

static void test_buckets(void)
{
    alx_stats_t *st = fresh(1, 1);
    alx_stats_vhost_t *v = alx_stats_vhost(st, 0);

    alx_stats_latency(st, 0, 0);
    alx_stats_latency(st, 0, 50);
    is_int(v->bucket[0], 2, "0 and exactly 50 ms: first bucket");
    alx_stats_latency(st, 0, 51);
    is_int(v->bucket[1], 1, "51 ms: second bucket");
    alx_stats_latency(st, 0, 4500);
    is_int(v->bucket[7], 1, "exactly 4500 ms: the 4.5 s bucket");
    alx_stats_latency(st, 0, 4501);
    is_int(v->bucket[8], 1, "4501 ms: the next bucket");
    alx_stats_latency(st, 0, 30000);
    is_int(v->bucket[9], 1, "30000 ms: the last bound");
    alx_stats_latency(st, 0, 30001);
    alx_stats_latency(st, 0, APR_INT64_C(1) << 40);
    is_int(v->bucket[ALX_STATS_BUCKETS], 2, "above the last bound and huge: +Inf");
    alx_stats_latency(st, 0, -5);
    is_int(v->bucket[0], 3, "negative counts as 0 ms");
    is_int(v->latency_count, 9, "count");
    is_int(v->latency_sum_ms, 50 + 51 + 4500 + 4501 + 30000 + 30001
           + (APR_INT64_C(1) << 40), "sum, 64 bits");
    is_int(alx_stats_bucket_ms[7], 4500, "Alexa's 4.5 s is a bound");
}

static void test_percentile(void)
{
    alx_stats_vhost_t v;
    int i;

    memset(&v, 0, sizeof(v));
    is_int(alx_stats_percentile(&v, 0.5), -1, "no samples: -1");
    v.bucket[2] = 7;
    is_int(alx_stats_percentile(&v, 0.5), 250, "single bucket: p50 its bound");
    is_int(alx_stats_percentile(&v, 0.99), 250, "single bucket: p99 its bound");
    memset(&v, 0, sizeof(v));
    for (i = 0; i <= ALX_STATS_BUCKETS; i++)
        v.bucket[i] = 0;
    v.bucket[0] = 50;   /* 50 samples <= 50 ms */
    v.bucket[3] = 45;   /* 45 <= 500 ms */
    v.bucket[7] = 4;    /* 4 <= 4500 ms */
    v.bucket[ALX_STATS_BUCKETS] = 1;
    is_int(alx_stats_percentile(&v, 0.5), 50, "spread: p50 (rank 50)");
    is_int(alx_stats_percentile(&v, 0.51), 500, "spread: p51 (rank 51)");
    is_int(alx_stats_percentile(&v, 0.95), 500, "spread: p95 (rank 95)");
    is_int(alx_stats_percentile(&v, 0.99), 4500, "spread: p99 (rank 99)");
    is_int(alx_stats_percentile(&v, 0.999), 60000, "spread: +Inf doubles 30 s");
}

static void test_ring(void)
{
    alx_stats_t *st = fresh(1, 4);
    alx_stats_snapshot_t snap;
    alx_event_t e;
    int i, order = 1;

    alx_stats_snapshot(pool, st, &snap);
    is_int(snap.nevents, 0, "empty ring: no events");
    memset(&e, 0, sizeof(e));
    e.kind = ALX_EVENT_EXCHANGE;
    alx_stats_text(e.what, sizeof(e.what), "authorization_code");
    e.ms = 1;
    alx_stats_event(st, &e);
    e.ms = 2;
    alx_stats_event(st, &e);
    alx_stats_snapshot(pool, st, &snap);
    is_int(snap.nevents, 2, "two written, two in the snapshot");
    ok(snap.nevents == 2 && snap.event[0].ms == 2 && snap.event[1].ms == 1,
       "newest first before the wrap");
    for (i = 3; i <= 4 + 5; i++) {
        e.ms = i;
        alx_stats_event(st, &e);
    }
    alx_stats_snapshot(pool, st, &snap);
    is_int(snap.head.next, 9, "nine written");
    is_int(snap.nevents, 4, "the ring holds 4");
    for (i = 0; i < 4; i++) {
        if (snap.event[i].ms != 9 - i || snap.event[i].seq != (apr_uint32_t)(9 - i))
            order = 0;
    }
    ok(order, "the newest 4, newest first, seq 9..6");
    is_str(snap.event[0].what, "authorization_code", "text copied");
}

static void test_text(void)
{
    char small[6], field[32];

    alx_stats_text(small, sizeof(small), "abcdefgh");
    is_str(small, "abcde", "cut to size - 1");
    alx_stats_text(small, sizeof(small), "abc");
    is_str(small, "abc", "short text whole");
    alx_stats_text(small, sizeof(small), NULL);
    is_str(small, "", "NULL: empty");
    alx_stats_text(field, sizeof(field), "<script>\"&\\x\r\n\x7f\xc3\xa9");
    is_str(field, "?script?\?\?\?x?\?\?\?\?", "markup, controls, non-ASCII as '?'");
    alx_stats_text(field, sizeof(field), "json{a:str(3)}->form");
    is_str(field, "json{a:str(3)}-?form", "'>' too");
    alx_stats_shape(small, sizeof(small), "json{a:int}");
    is_str(small, "json{", "shape: cut to size - 1");
    alx_stats_shape(field, sizeof(field), "json{a:str(3),?(4):int}");
    is_str(field, "json{a:str(3),?(4):int}", "shape: copied as it is");
    alx_stats_shape(small, sizeof(small), NULL);
    is_str(small, "", "shape: NULL is empty");
}

/* The failures_total counters and the causes are one list: each such
 * counter is one cause's, labelled with its word. */
static void test_cause_counters(void)
{
#define FAMILY(name, family, label, help) family,
#define LABEL(name, family, label, help) label,
    static const char *const family[] = { ALX_STATS_COUNTERS(FAMILY) };
    static const char *const label[] = { ALX_STATS_COUNTERS(LABEL) };
    int c, counted[ALX_STATS_N] = { 0 }, labelled = 1, covered = 1;

    for (c = 0; c < ALX_CAUSE_COUNT; c++) {
        int n = alx_cause_counter((alx_cause_e)c);

        if (n == ALX_CAUSE_UNCOUNTED)
            continue;
        counted[n]++;
        if (!strcmp(family[n], "failures_total")
            && strcmp(label[n], apr_psprintf(pool, "cause=\"%s\"",
                                             alx_cause_word((alx_cause_e)c))))
            labelled = 0;
    }
    for (c = 0; c < ALX_STATS_N; c++)
        if (!strcmp(family[c], "failures_total") && counted[c] != 1)
            covered = 0;
    ok(labelled, "each cause's failures_total counter is labelled with its word");
    ok(covered, "each failures_total counter is exactly one cause's");
    is_str(alx_cause_word(ALX_CAUSE_NONE), "", "no cause: the empty word");
    ok(alx_cause_of("over_budget") == ALX_CAUSE_OVER_BUDGET
       && alx_cause_of("nope") == ALX_CAUSE_NONE && alx_cause_of(NULL)
       == ALX_CAUSE_NONE, "a cause by its word");
}

static void test_cause(void)
{
    static const char *const keys[] = {
        "request_rejected", "upstream_error", "server_error", "unusable_answer",
        "truncated", "duplicate_wait_timeout", "over_budget", "short_lifetime",
        "state_dropped", "state_changed", "flow_error", "implicit_in_query",
        "insecure", "domains", "popups"
    };
    const char *generic = alx_stats_cause("no-such-key");
    apr_size_t i;
    int distinct = 1, sized = 1;

    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *s = alx_stats_cause(keys[i]);

        if (s == generic)
            distinct = 0;
        if (strlen(s) > 200 || strlen(s) < 40)
            sized = 0;
    }
    ok(distinct, "every known key has its own sentence");
    ok(sized, "every sentence between 40 and 200 characters");
    ok(strstr(alx_stats_cause("over_budget"), "4.5 seconds") != NULL,
       "over_budget names 4.5 seconds");
    ok(strstr(alx_stats_cause("state_dropped"), "state parameter") != NULL,
       "state_dropped names the state parameter");
    ok(strstr(alx_stats_cause("domains"), "Domain List") != NULL,
       "domains names the Domain List");
    ok(strstr(alx_stats_cause("upstream_error"), "invalid_grant") != NULL,
       "upstream_error names invalid_grant");
    ok(generic != NULL && strstr(generic, "logs") != NULL,
       "unknown key: the generic sentence");
    ok(alx_stats_cause(NULL) == generic, "NULL key: the generic sentence");
    ok(alx_stats_cause("") == generic, "empty key: the generic sentence");
}

static void test_platform(void)
{
    is_str(alx_stats_platform(NULL), "other", "NULL");
    is_str(alx_stats_platform(""), "other", "empty");
    is_str(alx_stats_platform("curl/8.0"), "other", "curl");
    is_str(alx_stats_platform("Mozilla/5.0 (Linux; Android 14; Pixel 8) "
                              "AppleWebKit/537.36 Chrome/120 Mobile"),
           "Android", "Android Chrome");
    is_str(alx_stats_platform("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like "
                              "Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"),
           "iOS", "iPhone (not macOS)");
    is_str(alx_stats_platform("Mozilla/5.0 (iPad; CPU OS 16_0 like Mac OS X)"),
           "iOS", "iPad");
    is_str(alx_stats_platform("Mozilla/5.0 (Linux; Android 9; KFTRWI) "
                              "AppleWebKit/537.36 Silk/120.4.1 Safari"),
           "Fire OS", "Fire tablet (Silk, not Android)");
    is_str(alx_stats_platform("Mozilla/5.0 (Linux; Android 11; KFRASWI) "
                              "AppleWebKit/537.36 Chrome/118"),
           "Fire OS", "Fire model code without Silk");
    is_str(alx_stats_platform("Mozilla/5.0 (Windows NT 10.0; Win64; x64)"),
           "Windows", "Windows");
    is_str(alx_stats_platform("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)"),
           "macOS", "macOS");
    is_str(alx_stats_platform("Mozilla/5.0 (X11; Linux x86_64) Firefox/120"),
           "Linux", "Linux desktop");
    is_str(alx_stats_platform("AlexaApp/2.2.5 (Linux)"), "Alexa app",
           "app marker on a system we do not know");
}

#define THREADS 4
#define INCREMENTS 100000

static void *APR_THREAD_FUNC hammer(apr_thread_t *t, void *data)
{
    alx_stats_t *st = data;
    int i;

    for (i = 0; i < INCREMENTS; i++) {
        alx_stats_count(st, 0, ALX_STAT_exchange_refresh);
        if (i % 100 == 0)
            alx_stats_latency(st, 0, 60);
    }
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

static void test_threads(void)
{
    alx_stats_t *st = fresh(1, 1);
    apr_thread_t *threads[THREADS];
    apr_status_t rv = APR_SUCCESS, trv;
    alx_stats_snapshot_t snap;
    int i;

    for (i = 0; i < THREADS && rv == APR_SUCCESS; i++)
        rv = apr_thread_create(&threads[i], NULL, hammer, st, pool);
    ok(rv == APR_SUCCESS, "4 threads started");
    for (i = 0; i < THREADS; i++)
        apr_thread_join(&trv, threads[i]);
    alx_stats_snapshot(pool, st, &snap);
    is_int(snap.vhost[0].counter[ALX_STAT_exchange_refresh],
           THREADS * INCREMENTS, "4 x 100000 increments, none lost");
    is_int(snap.vhost[0].latency_count, THREADS * INCREMENTS / 100,
           "latency count exact");
    is_int(snap.vhost[0].latency_sum_ms, 60 * THREADS * INCREMENTS / 100,
           "latency sum exact");
    is_int(snap.vhost[0].bucket[1], THREADS * INCREMENTS / 100,
           "bucket exact");
}

/* Writers without a lock against a reader: every event a snapshot shows
 * is whole (its fields all carry the same number), and a slot being
 * written is never shown. */
#define RING_EVENTS 20000

/* The event lives in the job, not on the writer's stack: apr_thread_exit
 * leaves the frame's ASan redzones behind, and the thread's exit path
 * would be reported writing into them. */
typedef struct {
    alx_stats_t *st;
    int base;
    alx_event_t e;
} ring_job_t;

static void *APR_THREAD_FUNC ring_writer(apr_thread_t *t, void *data)
{
    ring_job_t *job = data;
    alx_event_t *e = &job->e;
    int i;

    memset(e, 0, sizeof(*e));
    for (i = 0; i < RING_EVENTS; i++) {
        int n = job->base + i;

        e->ms = n;
        snprintf(e->what, sizeof(e->what), "w%d", n);
        snprintf(e->client, sizeof(e->client), "c%d", n);
        snprintf(e->shape_out, sizeof(e->shape_out), "s%d", n);
        alx_stats_event(job->st, e);
    }
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

static int event_whole(const alx_event_t *e)
{
    char want[48];   /* (the reader is the main thread: no early exit) */

    snprintf(want, sizeof(want), "w%d", (int)e->ms);
    if (strcmp(e->what, want) != 0)
        return 0;
    snprintf(want, sizeof(want), "c%d", (int)e->ms);
    if (strcmp(e->client, want) != 0)
        return 0;
    snprintf(want, sizeof(want), "s%d", (int)e->ms);
    return strcmp(e->shape_out, want) == 0;
}

static void test_ring_threads(void)
{
    alx_stats_t *st = fresh(1, 8);
    apr_thread_t *threads[THREADS];
    ring_job_t jobs[THREADS];
    apr_status_t rv = APR_SUCCESS, trv;
    alx_stats_snapshot_t snap;
    apr_pool_t *scratch;
    unsigned int i, seen = 0, torn = 0, snaps = 0;

    for (i = 0; i < THREADS && rv == APR_SUCCESS; i++) {
        jobs[i].st = st;
        jobs[i].base = (int)i * RING_EVENTS;
        rv = apr_thread_create(&threads[i], NULL, ring_writer, &jobs[i], pool);
    }
    ok(rv == APR_SUCCESS, "4 writers started");
    apr_pool_create(&scratch, pool);
    do {
        alx_stats_snapshot(scratch, st, &snap);
        for (i = 0; i < snap.nevents; i++) {
            seen++;
            if (!event_whole(&snap.event[i]))
                torn++;
        }
        apr_pool_clear(scratch);
        snaps++;
        apr_thread_yield();   /* the writers may not have started yet */
    } while (snap.head.next < THREADS * RING_EVENTS);
    for (i = 0; i < THREADS; i++)
        apr_thread_join(&trv, threads[i]);
    ok(seen > 0, "the reader saw %u events in %u snapshots", seen, snaps);
    is_int(torn, 0, "no event shown half written");
    alx_stats_snapshot(pool, st, &snap);
    is_int(snap.head.next, THREADS * RING_EVENTS, "every event took a number");
    is_int(snap.nevents, 8, "the ring is full after");
    for (i = 0; i < snap.nevents && event_whole(&snap.event[i]); i++)
        ;
    is_int(i, 8, "and every event in it whole");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_layout();
    test_match();
    test_carry();
    test_count();
    test_buckets();
    test_percentile();
    test_ring();
    test_text();
    test_cause();
    test_cause_counters();
    test_platform();
    test_threads();
    test_ring_threads();
    apr_pool_destroy(pool);
    apr_terminate();
    return tap_done();
}

/* Shared status counters and the recent-events ring (lib/alx_stats.h). */
#include <stddef.h>
#include <string.h>

#include <apr_atomic.h>
#include <apr_strings.h>

#include "alx_cause.h"
#include "alx_stats.h"

const apr_uint32_t alx_stats_bucket_ms[ALX_STATS_BUCKETS] = {
    50, 100, 250, 500, 1000, 2000, 3000, ALX_ALEXA_TIME_LIMIT_MS, 10000, 30000
};

/* Each vhost block on its own cache lines: children counting for two
 * vhosts do not fight over one line. */
#define ALX_STATS_ALIGN 64
#define ALIGN_UP(n) (((n) + ALX_STATS_ALIGN - 1) & ~(apr_size_t)(ALX_STATS_ALIGN - 1))

struct alx_stats {
    alx_stats_head_t *head;
    char *vhost_base;
    apr_size_t stride;
    alx_event_t *ring;
};

/* The block: the head, the once table, the vhosts, the ring. */
static apr_size_t once_offset(void)
{
    return ALIGN_UP(sizeof(alx_stats_head_t));
}

static apr_size_t vhosts_offset(void)
{
    return once_offset() + ALIGN_UP(sizeof(alx_once_t));
}

static apr_size_t vhost_stride(void)
{
    return ALIGN_UP(sizeof(alx_stats_vhost_t));
}

static apr_size_t ring_offset(unsigned int vhosts)
{
    return vhosts_offset() + (apr_size_t)vhosts * vhost_stride();
}

apr_size_t alx_stats_size(unsigned int vhosts, unsigned int events)
{
    return ring_offset(vhosts) + (apr_size_t)events * sizeof(alx_event_t);
}

/* What this build expects of a block: every size its layout rests on. */
static void want(alx_segment_want_t *w, apr_uint32_t layout, apr_size_t size)
{
    const apr_size_t sizes[] = {
        sizeof(alx_stats_head_t), sizeof(alx_once_t),
        sizeof(alx_stats_vhost_t), sizeof(alx_event_t), ALX_STATS_N,
        ALX_STATS_BUCKETS, ALX_STATS_ALIGN
    };

    w->magic = ALX_SEGMENT_STATS;
    w->layout = layout;
    w->shape = alx_segment_shape(sizes, sizeof(sizes) / sizeof(sizes[0]));
    w->size = size;
}

static alx_stats_t *handle(apr_pool_t *p, void *base, unsigned int vhosts)
{
    alx_stats_t *st = apr_pcalloc(p, sizeof(*st));

    st->head = base;
    st->vhost_base = (char *)base + vhosts_offset();
    st->stride = vhost_stride();
    st->ring = (alx_event_t *)(void *)((char *)base + ring_offset(vhosts));
    return st;
}

alx_stats_t *alx_stats_init(apr_pool_t *p, void *base, apr_size_t size,
                            apr_uint32_t layout, const apr_uint64_t *keys,
                            unsigned int vhosts, unsigned int events,
                            apr_time_t now)
{
    alx_stats_head_t *h = base;
    alx_segment_want_t w;
    alx_stats_t *st;
    unsigned int i;

    if (!base || size < alx_stats_size(vhosts, events))
        return NULL;
    memset(base, 0, alx_stats_size(vhosts, events));
    want(&w, layout, alx_stats_size(vhosts, events));
    alx_segment_stamp(&h->segment, &w);
    h->vhosts = vhosts;
    h->events = events;
    h->since = now;
    st = handle(p, base, vhosts);
    for (i = 0; keys && i < vhosts; i++)
        alx_stats_vhost(st, i)->key = keys[i];
    return st;
}

alx_stats_t *alx_stats_open(apr_pool_t *p, void *base, apr_size_t mapped,
                            apr_uint32_t layout, char *why,
                            apr_size_t why_size)
{
    const alx_stats_head_t *h = base;
    alx_segment_want_t w;

    want(&w, layout, 0);
    if (!alx_segment_matches(base, mapped, &w, why, why_size))
        return NULL;
    if (h->segment.size != alx_stats_size(h->vhosts, h->events)) {
        apr_snprintf(why, why_size, "%u vhosts and %u events in %"
                     APR_UINT64_T_FMT " bytes", h->vhosts, h->events,
                     h->segment.size);
        return NULL;
    }
    return handle(p, base, h->vhosts);
}

int alx_stats_match(alx_stats_t *st, const apr_uint64_t *keys,
                    unsigned int n, unsigned int events, unsigned int *block)
{
    unsigned int i, b;

    if (st->head->vhosts != n || st->head->events != events)
        return 0;
    for (i = 0; i < n; i++) {
        for (b = 0; b < n && alx_stats_vhost(st, b)->key != keys[i]; b++)
            ;
        if (b == n)
            return 0;
        block[i] = b;
    }
    return 1;   /* n keys found among n blocks: the keys are each vhost's */
}

/* The block in st of the vhost with key, or -1. */
static int block_of(alx_stats_t *st, apr_uint64_t key)
{
    unsigned int b;

    for (b = 0; key && b < st->head->vhosts; b++)
        if (alx_stats_vhost(st, b)->key == key)
            return (int)b;
    return -1;
}

static void carry_vhost(alx_stats_vhost_t *to, const alx_stats_vhost_t *from)
{
    memcpy((void *)to->counter, (const void *)from->counter,
           sizeof(to->counter));
    memcpy((void *)to->bucket, (const void *)from->bucket,
           sizeof(to->bucket));
    to->latency_count = from->latency_count;
    to->latency_sum_ms = from->latency_sum_ms;
}

void alx_stats_carry(apr_pool_t *scratch, alx_stats_t *to, alx_stats_t *from)
{
    alx_stats_snapshot_t snap;
    alx_stats_head_t *h = to->head;
    alx_once_t *once = alx_stats_once(to), *was = alx_stats_once(from);
    unsigned int i;
    int b;

    alx_stats_snapshot(scratch, from, &snap);
    for (i = 0; i < snap.vhosts; i++)
        if ((b = block_of(to, snap.vhost[i].key)) >= 0)
            carry_vhost(alx_stats_vhost(to, (unsigned int)b), &snap.vhost[i]);
    /* oldest first, so the ring keeps the newest */
    for (i = snap.nevents; i-- > 0;) {
        alx_event_t *e = &snap.event[i];

        if (e->vhost >= snap.vhosts
            || (b = block_of(to, snap.vhost[e->vhost].key)) < 0)
            continue;
        e->vhost = (apr_uint16_t)b;
        alx_stats_event(to, e);
    }
    h->since = snap.head.since;
    h->records = snap.head.records;
    h->evictions = snap.head.evictions;
    h->outages = snap.head.outages;
    h->survival_s = snap.head.survival_s;
    for (i = 0; i < ALX_STATS_KA_N; i++)
        h->keepalive[i] = snap.head.keepalive[i];
    for (i = 0; i < ALX_ONCE_SLOTS; i++)
        once->slot[i] = apr_atomic_read64(&was->slot[i]);
}

alx_once_t *alx_stats_once(alx_stats_t *st)
{
    return (alx_once_t *)(void *)((char *)st->head + once_offset());
}

alx_stats_head_t *alx_stats_head(alx_stats_t *st)
{
    return st->head;
}

alx_stats_vhost_t *alx_stats_vhost(alx_stats_t *st, unsigned int vhost)
{
    if (vhost >= st->head->vhosts)
        return NULL;
    return (alx_stats_vhost_t *)(void *)(st->vhost_base + vhost * st->stride);
}

void alx_stats_count(alx_stats_t *st, unsigned int vhost, alx_stat_e c)
{
    alx_stats_vhost_t *v = alx_stats_vhost(st, vhost);

    if (v && (unsigned int)c < ALX_STATS_N)
        apr_atomic_inc32(&v->counter[c]);
}

void alx_stats_latency(alx_stats_t *st, unsigned int vhost, apr_int64_t ms)
{
    alx_stats_vhost_t *v = alx_stats_vhost(st, vhost);
    unsigned int b = 0;

    if (!v)
        return;
    if (ms < 0)
        ms = 0;
    while (b < ALX_STATS_BUCKETS && (apr_uint64_t)ms > alx_stats_bucket_ms[b])
        b++;
    apr_atomic_inc32(&v->bucket[b]);
    apr_atomic_inc32(&v->latency_count);
    apr_atomic_add64(&v->latency_sum_ms, (apr_uint64_t)ms);
}

void alx_stats_keepalive_count(alx_stats_t *st, alx_stat_ka_e c)
{
    if (st && (unsigned int)c < ALX_STATS_KA_N)
        apr_atomic_inc32(&alx_stats_head(st)->keepalive[c]);
}

void alx_stats_keepalive_set(alx_stats_t *st, alx_stat_ka_e c,
                             apr_uint32_t value)
{
    if (st && (unsigned int)c < ALX_STATS_KA_N)
        apr_atomic_set32(&alx_stats_head(st)->keepalive[c], value);
}

/* Everything in an event after its time and number. */
#define ALX_EVENT_BODY offsetof(alx_event_t, vhost)

void alx_stats_event(alx_stats_t *st, const alx_event_t *e)
{
    alx_stats_head_t *h = st->head;
    apr_uint32_t n, was, seq;
    alx_event_t *slot;

    if (!h->events)
        return;
    n = apr_atomic_inc32(&h->next);
    slot = &st->ring[n % h->events];
    was = apr_atomic_read32(&slot->seq);
    if (was == ALX_EVENT_WRITING
        || apr_atomic_cas32(&slot->seq, ALX_EVENT_WRITING, was) != was)
        return;
    /* the numbers skip the two marks when they wrap */
    seq = n + 1;
    if (seq == 0 || seq == ALX_EVENT_WRITING)
        seq = 1;
    memcpy((char *)slot + ALX_EVENT_BODY, (const char *)e + ALX_EVENT_BODY,
           sizeof(*e) - ALX_EVENT_BODY);
    slot->at = e->at;
    apr_atomic_set32(&slot->seq, seq);
}

/* slot into out when it holds a whole event not older than the ring's
 * last `events` before next (a newer one, written since next was read,
 * is kept): its number is read before and after the copy. */
static int event_copy(alx_event_t *slot, apr_uint32_t next,
                      apr_uint32_t events, alx_event_t *out)
{
    apr_uint32_t before = apr_atomic_read32(&slot->seq);

    if (before == 0 || before == ALX_EVENT_WRITING
        || (apr_int32_t)(next - before) >= (apr_int32_t)events)
        return 0;
    memcpy(out, (const void *)slot, sizeof(*out));
    return apr_atomic_read32(&slot->seq) == before;
}

void alx_stats_snapshot(apr_pool_t *p, alx_stats_t *st,
                        alx_stats_snapshot_t *out)
{
    alx_stats_head_t *h = st->head;
    apr_uint32_t next, n, i, events = h->events;
    unsigned int v, c;

    memset(out, 0, sizeof(*out));
    out->head.segment = h->segment;
    out->head.vhosts = h->vhosts;
    out->head.events = events;
    out->head.next = next = apr_atomic_read32(&h->next);
    out->head.since = h->since;
    out->head.records = apr_atomic_read32(&h->records);
    out->head.evictions = apr_atomic_read32(&h->evictions);
    out->head.outages = apr_atomic_read32(&h->outages);
    out->head.survival_s = apr_atomic_read32(&h->survival_s);
    for (v = 0; v < ALX_STATS_KA_N; v++)
        out->head.keepalive[v] = apr_atomic_read32(&h->keepalive[v]);

    out->vhosts = h->vhosts;
    out->vhost = apr_pcalloc(p, sizeof(*out->vhost) * (h->vhosts ? h->vhosts : 1));
    for (v = 0; v < h->vhosts; v++) {
        alx_stats_vhost_t *src = alx_stats_vhost(st, v), *dst = &out->vhost[v];

        dst->key = src->key;
        for (c = 0; c < ALX_STATS_N; c++)
            dst->counter[c] = apr_atomic_read32(&src->counter[c]);
        for (c = 0; c <= ALX_STATS_BUCKETS; c++)
            dst->bucket[c] = apr_atomic_read32(&src->bucket[c]);
        dst->latency_count = apr_atomic_read32(&src->latency_count);
        dst->latency_sum_ms = apr_atomic_read64(&src->latency_sum_ms);
    }

    n = next < events ? next : events;
    out->event = apr_pcalloc(p, sizeof(*out->event) * (n ? n : 1));
    for (i = 0; i < n; i++)
        if (event_copy(&st->ring[(next - 1 - i) % events], next, events,
                       &out->event[out->nevents]))
            out->nevents++;
}

apr_int64_t alx_stats_percentile(const alx_stats_vhost_t *v, double q)
{
    apr_uint64_t total = 0, cumulative = 0, rank;
    unsigned int b;

    for (b = 0; b <= ALX_STATS_BUCKETS; b++)
        total += v->bucket[b];
    if (!total)
        return -1;
    if (q < 0)
        q = 0;
    if (q > 1)
        q = 1;
    /* the rank of the sample at q, 1-based: ceil(q * total), at least 1 */
    rank = (apr_uint64_t)(q * (double)total);
    if ((double)rank < q * (double)total)
        rank++;
    if (rank < 1)
        rank = 1;
    for (b = 0; b < ALX_STATS_BUCKETS; b++) {
        cumulative += v->bucket[b];
        if (cumulative >= rank)
            return alx_stats_bucket_ms[b];
    }
    return 2 * (apr_int64_t)alx_stats_bucket_ms[ALX_STATS_BUCKETS - 1];
}

/* Bytes a view may show as they are: printable ASCII but the five that
 * need escaping somewhere ('"', '<', '>', '&', '\\'). */
#define SAFE_ROW(a) a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a
static const unsigned char text_safe[256] = {
    SAFE_ROW(0), SAFE_ROW(0),
    /* ' ' .. '/' */ 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    /* '0' .. '?' */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1,
    SAFE_ROW(1),
    /* 'P' .. '_' */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    SAFE_ROW(1),
    /* 'p' .. DEL */ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0
};

void alx_stats_text(char *dst, apr_size_t size, const char *src)
{
    apr_size_t i, n;

    if (!dst || !size)
        return;
    n = src ? strnlen(src, size - 1) : 0;
    for (i = 0; i < n; i++)
        dst[i] = text_safe[(unsigned char)src[i]] ? src[i] : '?';
    dst[n] = '\0';
}

void alx_stats_shape(char *dst, apr_size_t size, const char *shape)
{
    apr_size_t n;

    if (!dst || !size)
        return;
    n = shape ? strnlen(shape, size - 1) : 0;
    if (n)
        memcpy(dst, shape, n);
    dst[n] = '\0';
}

#define CAUSE_ROW(id, word, counter, sentence) { word, counter, sentence },
static const struct {
    const char *word;
    int counter;
    const char *sentence;
} causes[] = { ALX_CAUSES(CAUSE_ROW) };

const char *alx_cause_word(alx_cause_e cause)
{
    return (unsigned)cause < ALX_CAUSE_COUNT ? causes[cause].word : "";
}

int alx_cause_counter(alx_cause_e cause)
{
    return (unsigned)cause < ALX_CAUSE_COUNT ? causes[cause].counter
                                             : ALX_CAUSE_UNCOUNTED;
}

alx_cause_e alx_cause_of(const char *word)
{
    int i;

    for (i = 0; word && i < ALX_CAUSE_COUNT; i++)
        if (!strcmp(word, causes[i].word))
            return (alx_cause_e)i;
    return ALX_CAUSE_NONE;
}

const char *alx_stats_cause(const char *key)
{
    alx_cause_e cause = alx_cause_of(key);

    if (cause != ALX_CAUSE_NONE)
        return causes[cause].sentence;
    return "Check your authorization server for logs: more often than not, "
           "account linking fails due to an error it sends back to Alexa.";
}

/* KF followed by two capitals: the Fire tablets' model codes (KFTT ...). */
static int fire_model(const char *ua)
{
    const char *s;

    for (s = strstr(ua, "KF"); s; s = strstr(s + 1, "KF"))
        if (s[2] >= 'A' && s[2] <= 'Z' && s[3] >= 'A' && s[3] <= 'Z')
            return 1;
    return 0;
}

/* The operating system first: the Alexa app's web views carry their
 * system's User-Agent, and the article asks for the platform
 * (Android/iOS/browser). "Alexa app" only names an app marker on a
 * system we do not know. iPadOS 13+ sends a Mac User-Agent: "macOS". */
const char *alx_stats_platform(const char *user_agent)
{
    const char *ua = user_agent;

    if (!ua || !*ua)
        return "other";
    if (strstr(ua, "Silk") || fire_model(ua))
        return "Fire OS";
    if (strstr(ua, "Android"))
        return "Android";
    if (strstr(ua, "iPhone") || strstr(ua, "iPad") || strstr(ua, "iPod"))
        return "iOS";
    if (strstr(ua, "Windows"))
        return "Windows";
    if (strstr(ua, "Macintosh") || strstr(ua, "Mac OS X"))
        return "macOS";
    if (strstr(ua, "AlexaApp") || strstr(ua, "AmazonAlexa"))
        return "Alexa app";
    if (strstr(ua, "Linux") || strstr(ua, "X11"))
        return "Linux";
    return "other";
}

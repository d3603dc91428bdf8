/* What the status page shows, kept in memory every child shares: counters
 * per vhost (atomics, no lock), a latency histogram, a ring of the most
 * recent events (lock-free, see alx_stats_event) and the once-an-hour
 * table (alx_once, lock-free). The memory is laid out by alx_stats_init in
 * a block the caller provides (shared memory), so this file never
 * allocates it. Each vhost's block carries the vhost's identity, so that a
 * restart that reorders, renames, adds or removes vhosts finds each one's
 * counts (alx_stats_match, alx_stats_carry). */
#ifndef ALX_STATS_H
#define ALX_STATS_H

#include <apr.h>
#include <apr_pools.h>
#include <apr_time.h>

#include "alx_alexa.h"
#include "alx_cause.h"
#include "alx_once.h"
#include "alx_segment.h"

/* The segment's layout version (alx_segment.h): bump it when a field
 * changes meaning; a change of any struct's size is caught without it. */
#define ALX_STATS_LAYOUT 2

/* Every counter of a vhost, declared once: its C name, the Prometheus
 * family (alexalink_ prefix added), the label that sets it apart within
 * the family (or ""), and the family's help. The JSON key is the C name. */
#define ALX_STATS_COUNTERS(X) \
    X(exchange_code, "exchanges_total", "grant=\"authorization_code\"", \
      "token exchanges by grant type") \
    X(exchange_refresh, "exchanges_total", "grant=\"refresh_token\"", "") \
    X(exchange_other, "exchanges_total", "grant=\"other\"", "") \
    X(code_ok, "codes_exchanged_total", "", \
      "authorization codes exchanged for tokens (a 200 answer)") \
    X(rewrite_json, "rewrites_total", "kind=\"form_to_json\"", \
      "answers rewritten, by kind of rewrite") \
    X(rewrite_status, "rewrites_total", "kind=\"status_fixed\"", "") \
    X(rewrite_ttl_raised, "rewrites_total", "kind=\"ttl_raised\"", "") \
    X(rewrite_ttl_inserted, "rewrites_total", "kind=\"ttl_inserted\"", "") \
    X(rewrite_token_type, "rewrites_total", "kind=\"token_type_inserted\"", "") \
    X(rewrite_refresh_kept, "rewrites_total", "kind=\"refresh_kept\"", "") \
    X(rewrite_replayed, "rewrites_total", "kind=\"replayed\"", "") \
    X(rewrite_chained, "rewrites_total", "kind=\"chained\"", "") \
    X(rewrite_error_mapped, "rewrites_total", "kind=\"error_mapped\"", "") \
    X(rewrite_client_auth, "rewrites_total", "kind=\"client_auth_converted\"", "") \
    X(fail_rejected, "failures_total", "cause=\"request_rejected\"", \
      "token exchanges that failed, by cause") \
    X(fail_upstream_error, "failures_total", "cause=\"upstream_error\"", "") \
    X(fail_server_error, "failures_total", "cause=\"server_error\"", "") \
    X(fail_unusable, "failures_total", "cause=\"unusable_answer\"", "") \
    X(fail_truncated, "failures_total", "cause=\"truncated\"", "") \
    X(fail_wait_timeout, "failures_total", "cause=\"duplicate_wait_timeout\"", "") \
    X(over_budget, "over_budget_total", "", \
      "token answers slower than AlexaLinkTimeBudget") \
    X(short_lifetime, "short_lifetimes_total", "", \
      "upstream access-token lifetimes below Alexa's " \
      ALX_ALEXA_MIN_TTL_TEXT " s") \
    X(flow_na_ok, "flows_total", "region=\"NA\",outcome=\"ok\"", \
      "authorization flows back to Alexa, by region and outcome") \
    X(flow_na_failed, "flows_total", "region=\"NA\",outcome=\"failed\"", "") \
    X(flow_eu_ok, "flows_total", "region=\"EU\",outcome=\"ok\"", "") \
    X(flow_eu_failed, "flows_total", "region=\"EU\",outcome=\"failed\"", "") \
    X(flow_fe_ok, "flows_total", "region=\"FE\",outcome=\"ok\"", "") \
    X(flow_fe_failed, "flows_total", "region=\"FE\",outcome=\"failed\"", "") \
    X(flow_other_ok, "flows_total", "region=\"other\",outcome=\"ok\"", "") \
    X(flow_other_failed, "flows_total", "region=\"other\",outcome=\"failed\"", "") \
    X(state_dropped, "state_problems_total", "kind=\"dropped\"", \
      "redirects back to Alexa that dropped or changed state") \
    X(state_changed, "state_problems_total", "kind=\"changed\"", "") \
    X(implicit_query, "implicit_in_query_total", "", \
      "implicit-grant tokens found in a redirect's query") \
    X(insecure, "insecure_flows_total", "", \
      "Alexa flows over plain HTTP or on a port other than " \
      ALX_ALEXA_PORT_TEXT) \
    X(domains, "domains_reported_total", "", \
      "external hosts not in AlexaLinkDomainList reported") \
    X(popups, "popups_total", "", "popups reported on login pages")

/* The keep-alive's figures (SPEC "Links that last"), global: the links of
 * every vhost live in one table. Its JSON key (the C name), its Prometheus
 * name (alexalink_ prefix added), type and help. */
#define ALX_STATS_KEEPALIVE(X) \
    X(links_kept, "links_kept", "gauge", \
      "links in the link store when the keep-alive last counted") \
    X(keepalive_refreshes, "keepalive_refreshes_total", "counter", \
      "keep-alive refreshes the upstream answered with tokens") \
    X(keepalive_failures, "keepalive_failures_total", "counter", \
      "keep-alive refreshes that failed and were put off (5xx, timeout)") \
    X(links_ended_upstream, "links_ended_upstream_total", "counter", \
      "links the upstream ended (invalid_grant)") \
    X(links_ended_idle, "links_ended_idle_total", "counter", \
      "links ended because Alexa had not used them for " \
      "AlexaLinkKeepAliveFor") \
    X(keepalive_next_due, "keepalive_next_due", "gauge", \
      "when the next keep-alive refresh is due, in Unix time (0: none)")

#define ALX_STATS_KA_INDEX(name, ...) ALX_KA_##name,
typedef enum { ALX_STATS_KEEPALIVE(ALX_STATS_KA_INDEX) ALX_STATS_KA_N } alx_stat_ka_e;

#define ALX_STATS_INDEX(name, ...) ALX_STAT_##name,
typedef enum { ALX_STATS_COUNTERS(ALX_STATS_INDEX) ALX_STATS_N } alx_stat_e;

/* Latency buckets in milliseconds (upper bounds, inclusive); one bucket
 * ends at Alexa's limit. One more bucket counts the rest (+Inf). */
#define ALX_STATS_BUCKETS 10
extern const apr_uint32_t alx_stats_bucket_ms[ALX_STATS_BUCKETS];

typedef struct {
    apr_uint64_t key;           /* the vhost's identity; 0: none */
    volatile apr_uint32_t counter[ALX_STATS_N];
    volatile apr_uint32_t bucket[ALX_STATS_BUCKETS + 1];
    volatile apr_uint32_t latency_count;
    volatile apr_uint64_t latency_sum_ms;   /* updated with apr_atomic_*64 */
} alx_stats_vhost_t;

/* One recent event; strings are cut to fit, never hold a secret (the
 * caller gives shapes, verdicts, client ids, cause words only). */
typedef enum {
    ALX_EVENT_EXCHANGE = 1,
    ALX_EVENT_FLOW
} alx_event_kind_e;

#define ALX_EVENT_TEXT 128
#define ALX_EVENT_WRITING 0xffffffffu
typedef struct {
    apr_time_t at;
    volatile apr_uint32_t seq;  /* the event's number, 1 up; 0: never
                                   written; ALX_EVENT_WRITING: being written */
    apr_uint16_t vhost;
    unsigned char kind;         /* alx_event_kind_e */
    unsigned char failed;
    apr_int32_t ms;
    char what[32];              /* grant type, or the flow ("code", ...) */
    char client[48];
    char region[8];             /* "NA", "EU", "FE", "other", "-" */
    char platform[24];          /* from the User-Agent: "Android", ... */
    char verdict[128];          /* the exchange verdict, or the flow's */
    char cause[32];             /* alx_cause_word(), or "" */
    char shape_in[ALX_EVENT_TEXT];
    char shape_out[ALX_EVENT_TEXT];
} alx_event_t;

typedef struct {
    alx_segment_t segment;      /* which build laid it out */
    apr_uint32_t vhosts;
    apr_uint32_t events;        /* ring size */
    volatile apr_uint32_t next; /* events written so far */
    apr_uint32_t unused;
    apr_time_t since;           /* when the counters started */
    /* store figures, global */
    volatile apr_uint32_t records;      /* grace records written */
    volatile apr_uint32_t evictions;    /* records lost before their window */
    volatile apr_uint32_t outages;      /* store failures */
    volatile apr_uint32_t survival_s;   /* how long records live now */
    volatile apr_uint32_t keepalive[ALX_STATS_KA_N];  /* ALX_STATS_KEEPALIVE */
} alx_stats_head_t;

typedef struct alx_stats alx_stats_t;

/* Bytes needed for vhosts and a ring of events. */
apr_size_t alx_stats_size(unsigned int vhosts, unsigned int events);

/* Lays out (and zeroes) the block at base of size bytes for vhosts, block
 * i for the vhost whose identity is keys[i], stamped with layout
 * (ALX_STATS_LAYOUT); NULL if too small. Allocates the small handle from
 * p, as the others do. */
alx_stats_t *alx_stats_init(apr_pool_t *p, void *base, apr_size_t size,
                            apr_uint32_t layout, const apr_uint64_t *keys,
                            unsigned int vhosts, unsigned int events,
                            apr_time_t now);

/* A block laid out before (a graceful restart keeps it), whatever its
 * vhosts and events: NULL, and why (for the line that says so, at most
 * why_size bytes), unless this build's layout wrote it. */
alx_stats_t *alx_stats_open(apr_pool_t *p, void *base, apr_size_t mapped,
                            apr_uint32_t layout, char *why,
                            apr_size_t why_size);

/* 1 when st has a ring of events and exactly the vhosts keys[0..n-1], in
 * any order; then block[i] is the block of keys[i]. */
int alx_stats_match(alx_stats_t *st, const apr_uint64_t *keys,
                    unsigned int n, unsigned int events, unsigned int *block);

/* Into a fresh block (alx_stats_init): what from counted, by identity. A
 * vhost of to's keeps from's counters and latencies, one that is new
 * keeps its zeros, one that is gone is dropped, with its events; the
 * newest events that fit the ring, "since", the store figures and the
 * once-an-hour table come along. Reads from with atomics: children may
 * still be counting in it. */
void alx_stats_carry(apr_pool_t *scratch, alx_stats_t *to, alx_stats_t *from);

/* The once-an-hour table, shared as the counters are. */
alx_once_t *alx_stats_once(alx_stats_t *st);

alx_stats_head_t *alx_stats_head(alx_stats_t *st);
alx_stats_vhost_t *alx_stats_vhost(alx_stats_t *st, unsigned int vhost);

/* Atomic, lock-free; an out-of-range vhost is ignored. */
void alx_stats_count(alx_stats_t *st, unsigned int vhost, alx_stat_e c);
void alx_stats_latency(alx_stats_t *st, unsigned int vhost, apr_int64_t ms);

/* The keep-alive's figures: a counter counted, a gauge set. Atomic. */
void alx_stats_keepalive_count(alx_stats_t *st, alx_stat_ka_e c);
void alx_stats_keepalive_set(alx_stats_t *st, alx_stat_ka_e c,
                             apr_uint32_t value);

/* Fills an event's fixed-size text field: at most size - 1 bytes of src
 * (NULL: ""), always terminated, with control bytes, non-ASCII bytes and
 * '"' '<' '>' '&' '\\' as '?', so every view can print it as it is. */
void alx_stats_text(char *dst, apr_size_t size, const char *src);

/* The same for a shape (alx_shape_*), copied as it is: a shape holds only
 * bytes alx_stats_text keeps ([a-z0-9_{}():,?.-]), by construction. */
void alx_stats_shape(char *dst, apr_size_t size, const char *shape);

/* Adds e to the ring without a lock, from any thread of any child: a slot
 * is taken with an atomic increment and marked while it is written; a
 * writer that finds its slot still being written (the ring came round
 * during a write) drops its event. */
void alx_stats_event(alx_stats_t *st, const alx_event_t *e);

/* A copy of everything, for one view: counters read once each, the ring
 * newest first; an event being written while it is copied is left out. */
typedef struct {
    alx_stats_head_t head;
    unsigned int vhosts;
    alx_stats_vhost_t *vhost;   /* [vhosts] */
    unsigned int nevents;
    alx_event_t *event;         /* [nevents], newest first */
} alx_stats_snapshot_t;

void alx_stats_snapshot(apr_pool_t *p, alx_stats_t *st,
                        alx_stats_snapshot_t *out);

/* Latency percentile (0 < q < 1) from the histogram: the upper bound of
 * the bucket that holds it, in ms; -1 with no samples, and the last
 * bound's double for +Inf. */
apr_int64_t alx_stats_percentile(const alx_stats_vhost_t *v, double q);

/* The seed article's cause and fix in one sentence, by cause word
 * (ALX_CAUSES, alx_cause.h); a generic sentence for an unknown word. */
const char *alx_stats_cause(const char *key);

/* "Android", "iOS", "Fire OS", "Windows", "macOS", "Linux", "Alexa app" or
 * "other", from a User-Agent (may be NULL). */
const char *alx_stats_platform(const char *user_agent);

#endif

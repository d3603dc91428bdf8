/* The status views (SetHandler alexalink-status): an HTML page, ?json,
 * ?metrics (Prometheus text format 0.0.4), ?support (the redacted report),
 * and the lines mod_status shows. All are made from a snapshot
 * (lib/alx_stats.h) and what the configuration says. */
#ifndef ALX_STATUS_H
#define ALX_STATUS_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "alx_stats.h"

/* A location with an AlexaLink role, as configured. */
typedef struct {
    const char *vhost;          /* "name:port" */
    const char *path;           /* the <Location> */
    const char *role;           /* "token", "authorize" */
    const char *domain_list;    /* space-separated, or NULL */
} alx_status_location_t;

typedef struct {
    const alx_stats_snapshot_t *snap;
    const char *const *vhost_names;     /* [snap->vhosts], "name:port" */
    const apr_array_header_t *locations; /* of alx_status_location_t */
    apr_time_t now;
    apr_interval_time_t window;         /* AlexaLinkRefreshGrace (largest) */
    const char *store;                  /* "shmcb", "redis", ... or "none" */
    apr_uint64_t capacity;              /* bytes, 0 when unknown */
    const char *version;                /* the module's */
    int keepalive;                      /* AlexaLinkKeepAlive on somewhere */
} alx_status_view_t;

/* A page an admin reads in seconds: plain HTML, no external asset, a
 * section per vhost, recent failures first with cause and fix. */
char *alx_status_html(apr_pool_t *p, const alx_status_view_t *v);

/* The same data as JSON (schema in README.md). */
char *alx_status_json(apr_pool_t *p, const alx_status_view_t *v);

/* Prometheus text exposition format 0.0.4: every family with # HELP and
 * # TYPE, a vhost label on each series, the latency histogram
 * alexalink_exchange_duration_seconds with a 4.5 bucket. */
char *alx_status_metrics(apr_pool_t *p, const alx_status_view_t *v);

/* The plain-text support report (SPEC "?support"). */
char *alx_status_support(apr_pool_t *p, const alx_status_view_t *v);

/* For mod_status: "AlexaLink..." key: value lines for ?auto, and a short
 * HTML section for its page. */
char *alx_status_auto(apr_pool_t *p, const alx_status_view_t *v);
char *alx_status_section(apr_pool_t *p, const alx_status_view_t *v);

#endif

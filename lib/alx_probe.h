/* Whether grace records live their window (SPEC "Refresh grace": records
 * live their window or the admin is told). A store such as shmcb drops its
 * oldest entries when full, silently; so one record written per interval
 * is remembered as a probe, and probes are looked up now and then: a probe
 * gone before its expiry was pushed out, and its age says how long records
 * currently survive. Plain memory; the caller serialises access. */
#ifndef ALX_PROBE_H
#define ALX_PROBE_H

#include <apr.h>
#include <apr_time.h>

#define ALX_PROBE_ID_LEN 32
#define ALX_PROBES       16

typedef struct {
    unsigned char id[ALX_PROBE_ID_LEN];
    apr_time_t written;
    apr_time_t expiry;
} alx_probe_t;

typedef struct {
    alx_probe_t probe[ALX_PROBES];
    apr_uint32_t used;          /* probes in probe[0..used) */
    apr_uint32_t unused;
    apr_time_t last_added;
    apr_time_t last_checked;
    apr_time_t last_loss;       /* when a loss was last seen (0: never) */
    apr_interval_time_t survival; /* how long records lived then */
    apr_uint64_t lost;          /* probes lost before their expiry */
} alx_probes_t;

/* Remembers a record written at now (until expiry) as a probe when the last
 * one is at least interval old; the oldest probe makes room when all are in
 * use. True when it was taken. */
int alx_probes_add(alx_probes_t *ps, const unsigned char *id, apr_time_t now,
                   apr_time_t expiry, apr_interval_time_t interval);

/* True when the last check is at least every old. */
int alx_probes_due(const alx_probes_t *ps, apr_time_t now,
                   apr_interval_time_t every);

/* Looks every probe up with found(baton, id) (non-zero: still there);
 * forgets probes that expired or are gone. Returns how many were gone
 * before their expiry; then survival is the age of the youngest of them. */
unsigned int alx_probes_check(alx_probes_t *ps, apr_time_t now,
                              int (*found)(void *baton,
                                           const unsigned char *id),
                              void *baton);

/* The store size that would keep records for window, given that size keeps
 * them for survival: size * window / survival, rounded up to whole MiB;
 * size when survival already covers window. */
apr_uint64_t alx_probes_size_for(apr_uint64_t size,
                                 apr_interval_time_t window,
                                 apr_interval_time_t survival);

#endif

/* Eviction probes: is the store keeping records for their window? See
 * alx_probe.h. */
#include <string.h>

#include "alx_probe.h"

#define MIB ((apr_uint64_t)1 << 20)

static void forget(alx_probes_t *ps, apr_uint32_t i)
{
    memmove(&ps->probe[i], &ps->probe[i + 1],
            (ps->used - i - 1) * sizeof(alx_probe_t));
    ps->used--;
}

int alx_probes_add(alx_probes_t *ps, const unsigned char *id, apr_time_t now,
                   apr_time_t expiry, apr_interval_time_t interval)
{
    alx_probe_t *p;

    if (ps->last_added && now - ps->last_added < interval)
        return 0;
    if (ps->used == ALX_PROBES)
        forget(ps, 0);
    p = &ps->probe[ps->used++];
    memcpy(p->id, id, ALX_PROBE_ID_LEN);
    p->written = now;
    p->expiry = expiry;
    ps->last_added = now;
    return 1;
}

int alx_probes_due(const alx_probes_t *ps, apr_time_t now,
                   apr_interval_time_t every)
{
    return ps->used > 0 && now - ps->last_checked >= every;
}

unsigned int alx_probes_check(alx_probes_t *ps, apr_time_t now,
                              int (*found)(void *baton,
                                           const unsigned char *id),
                              void *baton)
{
    apr_interval_time_t youngest = -1;
    unsigned int lost = 0;
    apr_uint32_t i = 0;

    ps->last_checked = now;
    while (i < ps->used) {
        alx_probe_t *p = &ps->probe[i];

        if (p->expiry <= now) {
            forget(ps, i);
            continue;
        }
        if (found(baton, p->id)) {
            i++;
            continue;
        }
        lost++;
        if (youngest < 0 || now - p->written < youngest)
            youngest = now - p->written;
        forget(ps, i);
    }
    if (lost) {
        ps->lost += lost;
        ps->last_loss = now;
        ps->survival = youngest;
    }
    return lost;
}

apr_uint64_t alx_probes_size_for(apr_uint64_t size,
                                 apr_interval_time_t window,
                                 apr_interval_time_t survival)
{
    double need;

    if (survival <= 0 || survival >= window)
        return size;
    need = (double)size * (double)window / (double)survival;
    if (need > (double)((apr_uint64_t)1 << 62))
        return (apr_uint64_t)1 << 62;
    return ((apr_uint64_t)need + MIB - 1) / MIB * MIB;
}

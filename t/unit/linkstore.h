/* An in-memory link store behind lib/alx_link.h's table, for the link
 * protocol's unit tests: rows shared by the "servers" of a fleet (each with
 * its owner name), one injected clock the test moves, and the claims as the
 * SQL glue makes them (a conditional update exactly one server wins). */
#ifndef ALX_LINKSTORE_H
#define ALX_LINKSTORE_H

#include <stdlib.h>
#include <string.h>

#include "alx_link.h"

#define LS_ROWS 16

typedef struct {
    int used;
    unsigned char id[ALX_LINK_ID_LEN];
    unsigned char lookup[ALX_LINK_LOOKUPS][ALX_LINK_ID_LEN];
    int lookups;
    apr_time_t due;
    unsigned char *sealed;
    unsigned int sealed_len;
    const char *owner;           /* the claim: NULL when none */
    apr_time_t until;
} ls_row_t;

typedef struct {
    ls_row_t rows[LS_ROWS];
    apr_time_t clock;
    unsigned int puts, updates, removes, lost;
} ls_fleet_t;

typedef struct {
    alx_link_store_t ops;
    ls_fleet_t *fleet;
} ls_server_t;

static ls_row_t *ls_by_id(ls_fleet_t *f, const unsigned char *id)
{
    int i;

    for (i = 0; i < LS_ROWS; i++)
        if (f->rows[i].used && memcmp(f->rows[i].id, id, ALX_LINK_ID_LEN) == 0)
            return &f->rows[i];
    return NULL;
}

static void ls_read(const ls_row_t *r, alx_link_found_t *out)
{
    memset(&out->row, 0, sizeof(out->row));
    memcpy(out->row.id, r->id, ALX_LINK_ID_LEN);
    memcpy(out->row.lookup, r->lookup, sizeof(r->lookup));
    out->row.lookups = r->lookups;
    out->row.due = r->due;
    memcpy(out->buf, r->sealed, r->sealed_len);
    out->row.sealed = out->buf;
    out->row.sealed_len = r->sealed_len;
}

static void ls_write(ls_row_t *r, const alx_link_row_t *row)
{
    free(r->sealed);
    r->sealed = malloc(row->sealed_len ? row->sealed_len : 1);
    memcpy(r->sealed, row->sealed, row->sealed_len);
    r->sealed_len = row->sealed_len;
    r->due = row->due;
    if (row->lookups) {
        memcpy(r->lookup, row->lookup, sizeof(r->lookup));
        r->lookups = row->lookups;
    }
    r->owner = NULL;
    r->until = 0;
}

static apr_status_t ls_find(void *baton, const unsigned char *lookup,
                            alx_link_found_t *out)
{
    ls_server_t *s = baton;
    int i, j;

    for (i = 0; i < LS_ROWS; i++)
        for (j = 0; s->fleet->rows[i].used && j < s->fleet->rows[i].lookups;
             j++)
            if (memcmp(s->fleet->rows[i].lookup[j], lookup,
                       ALX_LINK_ID_LEN) == 0) {
                ls_read(&s->fleet->rows[i], out);
                return APR_SUCCESS;
            }
    return APR_NOTFOUND;
}

static apr_status_t ls_put(void *baton, const alx_link_row_t *row)
{
    ls_server_t *s = baton;
    ls_row_t *r = ls_by_id(s->fleet, row->id);
    int i;

    for (i = 0; !r && i < LS_ROWS; i++)
        if (!s->fleet->rows[i].used)
            r = &s->fleet->rows[i];
    if (!r)
        return APR_ENOSPC;
    r->used = 1;
    memcpy(r->id, row->id, ALX_LINK_ID_LEN);
    r->lookups = 0;
    ls_write(r, row);
    s->fleet->puts++;
    return APR_SUCCESS;
}

static int ls_claimable(const ls_row_t *r, apr_time_t now)
{
    return !r->owner || r->until <= now;
}

static void ls_take(ls_server_t *s, ls_row_t *r, apr_time_t until,
                    alx_link_found_t *out)
{
    r->owner = s->ops.owner;
    r->until = until;
    ls_read(r, out);
}

static apr_status_t ls_claim(void *baton, const unsigned char *id,
                             apr_time_t now, apr_time_t until,
                             alx_link_found_t *out)
{
    ls_server_t *s = baton;
    ls_row_t *r = ls_by_id(s->fleet, id);

    if (!r)
        return APR_NOTFOUND;
    if (!ls_claimable(r, now))
        return APR_EBUSY;
    ls_take(s, r, until, out);
    return APR_SUCCESS;
}

static apr_status_t ls_claim_due(void *baton, apr_time_t now,
                                 apr_time_t until, alx_link_found_t *out)
{
    ls_server_t *s = baton;
    ls_row_t *best = NULL;
    int i;

    for (i = 0; i < LS_ROWS; i++) {
        ls_row_t *r = &s->fleet->rows[i];

        if (r->used && r->due <= now && ls_claimable(r, now)
            && (!best || r->due < best->due))
            best = r;
    }
    if (!best)
        return APR_NOTFOUND;
    ls_take(s, best, until, out);
    return APR_SUCCESS;
}

static ls_row_t *ls_ours(ls_server_t *s, const unsigned char *id,
                         apr_time_t until)
{
    ls_row_t *r = ls_by_id(s->fleet, id);

    if (r && r->owner && strcmp(r->owner, s->ops.owner) == 0
        && r->until == until)
        return r;
    s->fleet->lost++;
    return NULL;
}

static apr_status_t ls_update(void *baton, const alx_link_row_t *row,
                              apr_time_t until)
{
    ls_server_t *s = baton;
    ls_row_t *r = ls_ours(s, row->id, until);

    if (!r)
        return APR_EBUSY;
    ls_write(r, row);
    s->fleet->updates++;
    return APR_SUCCESS;
}

static apr_status_t ls_remove(void *baton, const unsigned char *id,
                              apr_time_t until)
{
    ls_server_t *s = baton;
    ls_row_t *r = ls_ours(s, id, until);

    if (!r)
        return APR_EBUSY;
    free(r->sealed);
    memset(r, 0, sizeof(*r));
    s->fleet->removes++;
    return APR_SUCCESS;
}

static apr_time_t ls_now(void *baton)
{
    return ((ls_server_t *)baton)->fleet->clock;
}

static void ls_server_init(ls_server_t *s, ls_fleet_t *f, const char *owner)
{
    memset(s, 0, sizeof(*s));
    s->fleet = f;
    s->ops.baton = s;
    s->ops.owner = owner;
    s->ops.find = ls_find;
    s->ops.put = ls_put;
    s->ops.claim = ls_claim;
    s->ops.claim_due = ls_claim_due;
    s->ops.update = ls_update;
    s->ops.remove = ls_remove;
    s->ops.now = ls_now;
}

static int ls_count(const ls_fleet_t *f)
{
    int i, n = 0;

    for (i = 0; i < LS_ROWS; i++)
        n += f->rows[i].used;
    return n;
}

static void ls_fleet_free(ls_fleet_t *f)
{
    int i;

    for (i = 0; i < LS_ROWS; i++)
        free(f->rows[i].sealed);
    memset(f->rows, 0, sizeof(f->rows));
}

#endif

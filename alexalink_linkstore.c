/* The link store (lib/alx_link.h's alx_link_store_t) in SQL over httpd's
 * mod_dbd. One table, alexalink_links: in clear only what SQL matches on
 * (the link id, the lookup ids, the due time, the claim) and what says how
 * to open the rest (the key id and record schema, the sealed record's own
 * clear head); the sealed record as hex text, which every driver stores
 * alike. The same statements run on sqlite3 (3.24 or later) and PostgreSQL
 * (9.5 or later): apr_dbd placeholders, and INSERT ... ON CONFLICT, which
 * both spell the same. mod_dbd's functions are optional ones, looked up
 * when used, so the module loads and runs without mod_dbd. */

#include <errno.h>
#include <unistd.h>

#include <apr_atomic.h>

#include "alexalink_linkstore.h"
#include "apr_dbd.h"
#include "apr_escape.h"
#include "apr_network_io.h"
#include "apr_strings.h"
#include "http_log.h"
#include "mod_dbd.h"
#include "alx_exchange.h"
#include "alx_once.h"
#include "alx_stats.h"

/* sqlite: how long a writer waits for another process's write (the
 * children of one server share the file) instead of failing at once */
#define ALX_LINKSTORE_BUSY_MS    10000
/* claim_due: due rows tried per look, and looks before it leaves the due
 * rows to the servers that won every race */
#define ALX_LINKSTORE_CANDIDATES 16
#define ALX_LINKSTORE_CANDIDATES_SQL "16"
#define ALX_LINKSTORE_LOOKS      4
#define ALX_LINKSTORE_LOG_GAP    apr_time_from_sec(60)
#define ALX_LINKSTORE_HEX_ID     (2 * ALX_LINK_ID_LEN)

typedef struct {
    alx_link_store_t ops;
    apr_pool_t *pool;            /* the connection's lifetime */
    server_rec *s;
    ap_dbd_t *dbd;
} linkstore_t;

/* ---- the SQL --------------------------------------------------------------- */

static const char *const SQL_MAKE[] = {
    "CREATE TABLE IF NOT EXISTS " ALX_LINKSTORE_TABLE " ("
    "id VARCHAR(64) NOT NULL PRIMARY KEY, "
    "lookup0 VARCHAR(64) NOT NULL, "
    "lookup1 VARCHAR(64), "
    "due_at BIGINT NOT NULL, "
    "claim_owner VARCHAR(255), "
    "claim_until BIGINT, "
    "key_id INTEGER NOT NULL, "
    "schema_version INTEGER NOT NULL, "
    "sealed TEXT NOT NULL, "
    "updated_at BIGINT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS " ALX_LINKSTORE_TABLE "_lookup0 ON "
    ALX_LINKSTORE_TABLE " (lookup0)",
    "CREATE INDEX IF NOT EXISTS " ALX_LINKSTORE_TABLE "_lookup1 ON "
    ALX_LINKSTORE_TABLE " (lookup1)",
    "CREATE INDEX IF NOT EXISTS " ALX_LINKSTORE_TABLE "_due ON "
    ALX_LINKSTORE_TABLE " (due_at)",
    NULL
};

#define ROW_COLUMNS "id, lookup0, lookup1, due_at, sealed"
#define UNCLAIMED   "(claim_owner IS NULL OR claim_until <= %lld)"
#define OURS        "id = %s AND claim_owner = %s AND claim_until = %lld"

static const char SQL_FIND[] =
    "SELECT " ROW_COLUMNS " FROM " ALX_LINKSTORE_TABLE
    " WHERE lookup0 = %s OR lookup1 = %s ORDER BY updated_at DESC";
static const char SQL_PUT[] =
    "INSERT INTO " ALX_LINKSTORE_TABLE " (id, lookup0, lookup1, due_at, "
    "claim_owner, claim_until, key_id, schema_version, sealed, updated_at) "
    "VALUES (%s, %s, %s, %lld, NULL, NULL, %d, %d, %s, %lld) "
    "ON CONFLICT (id) DO UPDATE SET lookup0 = excluded.lookup0, "
    "lookup1 = excluded.lookup1, due_at = excluded.due_at, "
    "claim_owner = NULL, claim_until = NULL, key_id = excluded.key_id, "
    "schema_version = excluded.schema_version, sealed = excluded.sealed, "
    "updated_at = excluded.updated_at";
static const char SQL_CLAIM[] =
    "UPDATE " ALX_LINKSTORE_TABLE " SET claim_owner = %s, claim_until = %lld"
    " WHERE id = %s AND " UNCLAIMED;
static const char SQL_CLAIM_DUE[] =
    "UPDATE " ALX_LINKSTORE_TABLE " SET claim_owner = %s, claim_until = %lld"
    " WHERE id = %s AND due_at <= %lld AND " UNCLAIMED;
static const char SQL_CLAIMED[] =
    "SELECT " ROW_COLUMNS " FROM " ALX_LINKSTORE_TABLE " WHERE " OURS;
static const char SQL_EXISTS[] =
    "SELECT id FROM " ALX_LINKSTORE_TABLE " WHERE id = %s";
static const char SQL_DUE[] =
    "SELECT id FROM " ALX_LINKSTORE_TABLE " WHERE due_at <= %lld AND "
    UNCLAIMED " ORDER BY due_at LIMIT " ALX_LINKSTORE_CANDIDATES_SQL;
static const char SQL_UPDATE[] =
    "UPDATE " ALX_LINKSTORE_TABLE " SET due_at = %lld, key_id = %d, "
    "schema_version = %d, sealed = %s, updated_at = %lld, "
    "claim_owner = NULL, claim_until = NULL WHERE " OURS;
static const char SQL_UPDATE_LOOKUPS[] =
    "UPDATE " ALX_LINKSTORE_TABLE " SET lookup0 = %s, lookup1 = %s, "
    "due_at = %lld, key_id = %d, schema_version = %d, sealed = %s, "
    "updated_at = %lld, claim_owner = NULL, claim_until = NULL WHERE " OURS;
static const char SQL_REMOVE[] =
    "DELETE FROM " ALX_LINKSTORE_TABLE " WHERE " OURS;
/* The status page's gauges: every row is a link the module still holds
 * (one ended upstream too, until its idle end deletes it). */
static const char SQL_COUNT[] =
    "SELECT COUNT(*) FROM " ALX_LINKSTORE_TABLE;
static const char SQL_NEXT_DUE[] =
    "SELECT MIN(due_at) FROM " ALX_LINKSTORE_TABLE;

/* The drivers these statements are written for. */
static int spoken(const ap_dbd_t *dbd)
{
    const char *name = apr_dbd_name(dbd->driver);

    return strcmp(name, "sqlite3") == 0 || strcmp(name, "pgsql") == 0;
}

static int is_sqlite(const ap_dbd_t *dbd)
{
    return strcmp(apr_dbd_name(dbd->driver), "sqlite3") == 0;
}

/* ---- logging --------------------------------------------------------------- */

/* Once a minute per tag, across the children: a database that is down
 * would otherwise say so on every request. */
static int say(server_rec *s, const char *tag)
{
    alx_stats_t *st = alexalink_server_conf_get(s)->stats;

    return !st || alx_once_due(alx_stats_once(st), alx_once_key(tag, NULL),
                               apr_time_now(), ALX_LINKSTORE_LOG_GAP);
}

static const char *driver_error(linkstore_t *ls, apr_pool_t *p, int rv)
{
    const char *msg = apr_dbd_error(ls->dbd->driver, ls->dbd->handle, rv);

    return alx_log_safe(p, msg ? msg : "", 300);
}

/* ---- running statements ------------------------------------------------------ */

static int prepare(linkstore_t *ls, apr_pool_t *p, const char *sql,
                   apr_dbd_prepared_t **st)
{
    *st = NULL;
    return apr_dbd_prepare(ls->dbd->driver, p, ls->dbd->handle, sql, NULL, st);
}

/* One statement that changes rows: how many in *nrows. */
static int change(linkstore_t *ls, apr_pool_t *p, const char *sql,
                  const char **args, int nargs, int *nrows)
{
    apr_dbd_prepared_t *st;
    int rv = prepare(ls, p, sql, &st);

    *nrows = 0;
    return rv ? rv : apr_dbd_pquery(ls->dbd->driver, p, ls->dbd->handle,
                                    nrows, st, nargs, args);
}

/* One statement that reads rows, all of them fetched (random access), so
 * nothing is left pending on the connection. */
static int select_rows(linkstore_t *ls, apr_pool_t *p, const char *sql,
                       const char **args, int nargs, apr_dbd_results_t **res)
{
    apr_dbd_prepared_t *st;
    int rv = prepare(ls, p, sql, &st);

    *res = NULL;
    return rv ? rv : apr_dbd_pselect(ls->dbd->driver, p, ls->dbd->handle,
                                     res, st, 1, nargs, args);
}

/* The next row into *row, which starts NULL and is handed back each time
 * (pgsql counts the rows in it); 0 after the last. */
static int next_row(linkstore_t *ls, apr_pool_t *p, apr_dbd_results_t *res,
                    apr_dbd_row_t **row)
{
    return apr_dbd_get_row(ls->dbd->driver, p, res, row, -1) == 0 && *row;
}

/* ---- the table --------------------------------------------------------------- */

/* Whether this process made the table of ls's server: a flag in the
 * server's configuration (per vhost, since each may name its own
 * database), read and set atomically by the child's threads. */
static volatile apr_uint32_t *table_made(const linkstore_t *ls)
{
    return &alexalink_server_conf_get(ls->s)->links_table_made;
}

/* CREATE ... IF NOT EXISTS, twice when it fails: PostgreSQL can refuse one
 * of two servers making the table at the same moment. */
static int make_table(linkstore_t *ls, apr_pool_t *p)
{
    int i, nrows, rv = 0, attempt;

    for (attempt = 0; attempt < 2; attempt++) {
        for (i = 0, rv = 0; SQL_MAKE[i] && rv == 0; i++)
            rv = apr_dbd_query(ls->dbd->driver, ls->dbd->handle, &nrows,
                               SQL_MAKE[i]);
        if (rv == 0) {
            apr_atomic_set32(table_made(ls), 1);
            return 0;
        }
    }
    if (say(ls->s, "ALX0501"))
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, ls->s, "ALX0501: link store: "
                     "the table " ALX_LINKSTORE_TABLE " could not be made "
                     "(%s): %s", apr_dbd_name(ls->dbd->driver),
                     driver_error(ls, p, rv));
    return rv;
}

/* sqlite: wait for another writer rather than fail (a setting of the
 * connection, which mod_dbd may hand out anew on any request). */
static void busy_timeout(linkstore_t *ls, apr_pool_t *p)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;

    if (is_sqlite(ls->dbd)
        && apr_dbd_select(ls->dbd->driver, p, ls->dbd->handle, &res,
                          apr_psprintf(p, "PRAGMA busy_timeout = %d",
                                       ALX_LINKSTORE_BUSY_MS), 1) == 0)
        while (next_row(ls, p, res, &row))
            ;
}

/* A statement that fails gets one more try after the table is made again
 * (someone dropped it), then is logged. */
static int run(linkstore_t *ls, apr_pool_t *p, const char *what,
               int (*fn)(linkstore_t *, apr_pool_t *, const char *,
                         const char **, int, void *),
               const char *sql, const char **args, int nargs, void *out)
{
    int rv = fn(ls, p, sql, args, nargs, out);

    if (rv != 0 && make_table(ls, p) == 0)
        rv = fn(ls, p, sql, args, nargs, out);
    if (rv != 0 && say(ls->s, "ALX0502"))
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, ls->s, "ALX0502: link store: "
                     "%s failed (%s): %s", what,
                     apr_dbd_name(ls->dbd->driver), driver_error(ls, p, rv));
    return rv;
}

static int change_fn(linkstore_t *ls, apr_pool_t *p, const char *sql,
                     const char **args, int nargs, void *out)
{
    return change(ls, p, sql, args, nargs, out);
}

static int select_fn(linkstore_t *ls, apr_pool_t *p, const char *sql,
                     const char **args, int nargs, void *out)
{
    return select_rows(ls, p, sql, args, nargs, out);
}

/* ---- values ------------------------------------------------------------------ */

static const char *hex(apr_pool_t *p, const unsigned char *b, apr_size_t n)
{
    const char *h = n ? apr_pescape_hex(p, b, n, 0) : NULL;

    return h ? h : "";
}

static const char *num(apr_pool_t *p, apr_int64_t v)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, v);
}

/* Exactly n bytes of lower- or upper-case hex into out. */
static int unhex(const char *s, unsigned char *out, apr_size_t n)
{
    apr_size_t len = 0;

    return s && strlen(s) == 2 * n
           && apr_unescape_hex(out, s, 2 * n, 0, &len) == APR_SUCCESS
           && len == n;
}

static int number(const char *s, apr_int64_t *out)
{
    char *end = NULL;

    if (!s || !*s)
        return 0;
    errno = 0;
    *out = apr_strtoi64(s, &end, 10);
    return errno == 0 && end && !*end;
}

/* The sealed record's clear head, also in its own columns. */
static int head(const alx_link_row_t *row, int i)
{
    return row->sealed_len >= ALX_LINK_SEALED_HEAD ? row->sealed[i] : 0;
}

/* A row as read: id, lookup0, lookup1, due_at, sealed. A row whose values
 * cannot be read comes back with no sealed bytes, which the protocol finds
 * unreadable and deletes. */
static void read_row(linkstore_t *ls, apr_dbd_row_t *row,
                     alx_link_found_t *out)
{
    const apr_dbd_driver_t *d = ls->dbd->driver;
    const char *lookup1 = apr_dbd_get_entry(d, row, 2);
    const char *sealed = apr_dbd_get_entry(d, row, 4);
    apr_size_t slen = sealed ? strlen(sealed) : 0;
    int ok;

    memset(&out->row, 0, sizeof(out->row));
    out->row.sealed = out->buf;
    ok = unhex(apr_dbd_get_entry(d, row, 0), out->row.id, ALX_LINK_ID_LEN)
         && unhex(apr_dbd_get_entry(d, row, 1), out->row.lookup[0],
                  ALX_LINK_ID_LEN)
         && number(apr_dbd_get_entry(d, row, 3), &out->row.due);
    out->row.lookups = 1;
    if (ok && lookup1 && *lookup1) {
        ok = unhex(lookup1, out->row.lookup[1], ALX_LINK_ID_LEN);
        out->row.lookups = 2;
    }
    if (ok && slen % 2 == 0 && slen / 2 <= ALX_LINK_SEALED_MAX
        && unhex(sealed, out->buf, slen / 2)) {
        out->row.sealed_len = (unsigned int)(slen / 2);
        return;
    }
    if (say(ls->s, "ALX0504"))
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ls->s, "ALX0504: link "
                     "store: a row of " ALX_LINKSTORE_TABLE " cannot be "
                     "read (not written by this module); it is deleted "
                     "when next claimed");
}

/* The first row of a statement's result: APR_NOTFOUND when none,
 * APR_EGENERAL when the statement failed. */
static apr_status_t first_row(linkstore_t *ls, apr_pool_t *p,
                              const char *what, const char *sql,
                              const char **args, int nargs,
                              alx_link_found_t *out)
{
    apr_dbd_results_t *res;
    apr_dbd_row_t *row = NULL;

    if (run(ls, p, what, select_fn, sql, args, nargs, &res) != 0)
        return APR_EGENERAL;
    if (!next_row(ls, p, res, &row))
        return APR_NOTFOUND;
    read_row(ls, row, out);
    while (next_row(ls, p, res, &row))
        ;
    return APR_SUCCESS;
}

/* ---- the operations ---------------------------------------------------------- */

/* Every operation works in a pool of its own, cleared at its end: the
 * watchdog's store lives as long as its pool. */
static apr_pool_t *scratch(linkstore_t *ls)
{
    apr_pool_t *p;

    apr_pool_create(&p, ls->pool);
    return p;
}

static apr_status_t done(apr_pool_t *p, apr_status_t rv)
{
    apr_pool_destroy(p);
    return rv;
}

static apr_status_t ls_find(void *baton, const unsigned char *lookup,
                            alx_link_found_t *out)
{
    linkstore_t *ls = baton;
    apr_pool_t *p = scratch(ls);
    const char *h = hex(p, lookup, ALX_LINK_ID_LEN);
    const char *args[] = { h, h };

    return done(p, first_row(ls, p, "find", SQL_FIND, args, 2, out));
}

static apr_status_t ls_put(void *baton, const alx_link_row_t *row)
{
    linkstore_t *ls = baton;
    apr_pool_t *p = scratch(ls);
    const char *args[] = {
        hex(p, row->id, ALX_LINK_ID_LEN),
        hex(p, row->lookup[0], ALX_LINK_ID_LEN),
        row->lookups > 1 ? hex(p, row->lookup[1], ALX_LINK_ID_LEN) : NULL,
        num(p, row->due), num(p, head(row, 0)), num(p, head(row, 1)),
        hex(p, row->sealed, row->sealed_len), num(p, apr_time_now())
    };
    int nrows;

    if (row->lookups < 1)
        return done(p, APR_EINVAL);
    return done(p, run(ls, p, "put", change_fn, SQL_PUT, args, 8, &nrows)
                   ? APR_EGENERAL : APR_SUCCESS);
}

/* The row id as claimed by us until `until`; APR_EBUSY when the claim is
 * not ours (it ended, and another took it, before we read). */
static apr_status_t read_claimed(linkstore_t *ls, apr_pool_t *p,
                                 const char *id, const char *until,
                                 alx_link_found_t *out)
{
    const char *args[] = { id, ls->ops.owner, until };
    apr_status_t rv = first_row(ls, p, "reading a claimed row", SQL_CLAIMED,
                                args, 3, out);

    return rv == APR_NOTFOUND ? APR_EBUSY : rv;
}

static apr_status_t ls_claim(void *baton, const unsigned char *id,
                             apr_time_t now, apr_time_t until,
                             alx_link_found_t *out)
{
    linkstore_t *ls = baton;
    apr_pool_t *p = scratch(ls);
    const char *h = hex(p, id, ALX_LINK_ID_LEN), *u = num(p, until);
    const char *args[] = { ls->ops.owner, u, h, num(p, now) };
    apr_dbd_results_t *res;
    apr_dbd_row_t *row = NULL;
    int nrows;

    if (run(ls, p, "claim", change_fn, SQL_CLAIM, args, 4, &nrows) != 0)
        return done(p, APR_EGENERAL);
    if (nrows == 1)
        return done(p, read_claimed(ls, p, h, u, out));
    /* taken by another, or gone */
    if (run(ls, p, "claim", select_fn, SQL_EXISTS, &h, 1, &res) != 0)
        return done(p, APR_EGENERAL);
    if (!next_row(ls, p, res, &row))
        return done(p, APR_NOTFOUND);
    while (next_row(ls, p, res, &row))
        ;
    return done(p, APR_EBUSY);
}

/* Up to ALX_LINKSTORE_CANDIDATES ids of due, unclaimed rows, earliest
 * first. */
static apr_array_header_t *due_rows(linkstore_t *ls, apr_pool_t *p,
                                   const char *now)
{
    const char *args[] = { now, now };
    apr_array_header_t *ids = apr_array_make(p, ALX_LINKSTORE_CANDIDATES,
                                             sizeof(const char *));
    apr_dbd_results_t *res;
    apr_dbd_row_t *row = NULL;

    if (run(ls, p, "claim_due", select_fn, SQL_DUE, args, 2, &res) != 0)
        return NULL;
    while (next_row(ls, p, res, &row))
        if (ids->nelts < ALX_LINKSTORE_CANDIDATES)
            APR_ARRAY_PUSH(ids, const char *) =
                apr_pstrdup(p, apr_dbd_get_entry(ls->dbd->driver, row, 0));
    return ids;
}

/* Every server sees the same due rows: each tries them in turn with the
 * conditional update, which exactly one wins; a loser moves on. */
static apr_status_t ls_claim_due(void *baton, apr_time_t now,
                                 apr_time_t until, alx_link_found_t *out)
{
    linkstore_t *ls = baton;
    apr_pool_t *p = scratch(ls);
    const char *n = num(p, now), *u = num(p, until);
    int look, i, nrows;

    for (look = 0; look < ALX_LINKSTORE_LOOKS; look++) {
        apr_array_header_t *ids = due_rows(ls, p, n);

        if (!ids)
            return done(p, APR_EGENERAL);
        if (ids->nelts == 0)
            return done(p, APR_NOTFOUND);
        for (i = 0; i < ids->nelts; i++) {
            const char *id = APR_ARRAY_IDX(ids, i, const char *);
            const char *args[] = { ls->ops.owner, u, id, n, n };
            apr_status_t rv;

            if (run(ls, p, "claim_due", change_fn, SQL_CLAIM_DUE, args, 5,
                    &nrows) != 0)
                return done(p, APR_EGENERAL);
            if (nrows != 1)
                continue;      /* another server won it */
            rv = read_claimed(ls, p, id, u, out);
            if (rv != APR_EBUSY)
                return done(p, rv);
        }
    }
    return done(p, APR_NOTFOUND);
}

static apr_status_t ls_update(void *baton, const alx_link_row_t *row,
                              apr_time_t until)
{
    linkstore_t *ls = baton;
    apr_pool_t *p = scratch(ls);
    const char *tail[] = {
        num(p, row->due), num(p, head(row, 0)), num(p, head(row, 1)),
        hex(p, row->sealed, row->sealed_len), num(p, apr_time_now()),
        hex(p, row->id, ALX_LINK_ID_LEN), ls->ops.owner, num(p, until)
    };
    const char *args[10];
    int nrows, n = 0, i;

    if (row->lookups) {
        args[n++] = hex(p, row->lookup[0], ALX_LINK_ID_LEN);
        args[n++] = row->lookups > 1
                    ? hex(p, row->lookup[1], ALX_LINK_ID_LEN) : NULL;
    }
    for (i = 0; i < 8; i++)
        args[n++] = tail[i];
    if (run(ls, p, "update", change_fn,
            row->lookups ? SQL_UPDATE_LOOKUPS : SQL_UPDATE, args, n,
            &nrows) != 0)
        return done(p, APR_EGENERAL);
    return done(p, nrows == 1 ? APR_SUCCESS : APR_EBUSY);
}

static apr_status_t ls_remove(void *baton, const unsigned char *id,
                              apr_time_t until)
{
    linkstore_t *ls = baton;
    apr_pool_t *p = scratch(ls);
    const char *args[] = { hex(p, id, ALX_LINK_ID_LEN), ls->ops.owner,
                           num(p, until) };
    int nrows;

    if (run(ls, p, "remove", change_fn, SQL_REMOVE, args, 3, &nrows) != 0)
        return done(p, APR_EGENERAL);
    return done(p, nrows == 1 ? APR_SUCCESS : APR_EBUSY);
}

/* The one number a statement answers; 0 (none) for NULL, APR_EGENERAL
 * when it failed. */
static apr_status_t one_number(linkstore_t *ls, apr_pool_t *p,
                               const char *what, const char *sql,
                               apr_int64_t *out)
{
    apr_dbd_results_t *res;
    apr_dbd_row_t *row = NULL;
    const char *v;

    *out = 0;
    if (run(ls, p, what, select_fn, sql, NULL, 0, &res) != 0)
        return APR_EGENERAL;
    if (!next_row(ls, p, res, &row))
        return APR_SUCCESS;
    v = apr_dbd_get_entry(ls->dbd->driver, row, 0);
    if (v && *v && !number(v, out))
        *out = 0;
    while (next_row(ls, p, res, &row))
        ;
    return APR_SUCCESS;
}

apr_status_t alexalink_linkstore_figures(const alx_link_store_t *st,
                                         apr_uint32_t *links,
                                         apr_time_t *next_due)
{
    linkstore_t *ls = st->baton;
    apr_pool_t *p = scratch(ls);
    apr_int64_t n, due;
    apr_status_t rv = one_number(ls, p, "counting links", SQL_COUNT, &n);

    if (rv == APR_SUCCESS)
        rv = one_number(ls, p, "the next due link", SQL_NEXT_DUE, &due);
    if (rv == APR_SUCCESS) {
        *links = n < 0 ? 0 : n > APR_UINT32_MAX ? APR_UINT32_MAX
                                                 : (apr_uint32_t)n;
        *next_due = n > 0 && due > 0 ? due : APR_INT64_MAX;
    }
    return done(p, rv);
}

static apr_time_t ls_now(void *baton)
{
    (void)baton;
    return apr_time_now();
}

/* ---- making a store ---------------------------------------------------------- */

/* This host and process, as a claim names its owner. */
static const char *owner(apr_pool_t *p)
{
    char host[APRMAXHOSTLEN + 1];

    if (apr_gethostname(host, sizeof(host), p) != APR_SUCCESS)
        apr_cpystrn(host, "localhost", sizeof(host));
    return apr_psprintf(p, "%s:%" APR_PID_T_FMT, host, getpid());
}

static void no_connection(server_rec *s, const char *why)
{
    if (say(s, "ALX0500"))
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "ALX0500: link store: no "
                     "database connection: %s", why);
}

static const alx_link_store_t *make(apr_pool_t *p, server_rec *s,
                                    ap_dbd_t *dbd)
{
    linkstore_t *ls;

    if (!dbd) {
        no_connection(s, "mod_dbd has none (no DBDriver for this server, "
                      "or the database refused; see mod_dbd's lines)");
        return NULL;
    }
    if (!spoken(dbd)) {
        if (say(s, "ALX0503"))
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "ALX0503: link store: "
                         "DBDriver %s is not supported (sqlite3, pgsql)",
                         apr_dbd_name(dbd->driver));
        return NULL;
    }
    ls = apr_pcalloc(p, sizeof(*ls));
    ls->pool = p;
    ls->s = s;
    ls->dbd = dbd;
    ls->ops.baton = ls;
    ls->ops.owner = owner(p);
    ls->ops.find = ls_find;
    ls->ops.put = ls_put;
    ls->ops.claim = ls_claim;
    ls->ops.claim_due = ls_claim_due;
    ls->ops.update = ls_update;
    ls->ops.remove = ls_remove;
    ls->ops.now = ls_now;
    busy_timeout(ls, p);
    if (!apr_atomic_read32(table_made(ls)) && make_table(ls, p) != 0)
        return NULL;
    return &ls->ops;
}

const alx_link_store_t *alexalink_linkstore_request(request_rec *r)
{
    APR_OPTIONAL_FN_TYPE(ap_dbd_acquire) *acquire =
        APR_RETRIEVE_OPTIONAL_FN(ap_dbd_acquire);

    if (!acquire) {
        no_connection(r->server, "mod_dbd is not loaded");
        return NULL;
    }
    return make(r->pool, r->server, acquire(r));
}

typedef struct {
    server_rec *s;
    ap_dbd_t *dbd;
    APR_OPTIONAL_FN_TYPE(ap_dbd_close) *close;
} given_t;

static apr_status_t give_back(void *data)
{
    given_t *g = data;

    g->close(g->s, g->dbd);
    return APR_SUCCESS;
}

const alx_link_store_t *alexalink_linkstore_open(apr_pool_t *p, server_rec *s)
{
    APR_OPTIONAL_FN_TYPE(ap_dbd_open) *open =
        APR_RETRIEVE_OPTIONAL_FN(ap_dbd_open);
    APR_OPTIONAL_FN_TYPE(ap_dbd_close) *close =
        APR_RETRIEVE_OPTIONAL_FN(ap_dbd_close);
    given_t *g;

    if (!open || !close) {
        no_connection(s, "mod_dbd is not loaded");
        return NULL;
    }
    g = apr_pcalloc(p, sizeof(*g));
    g->s = s;
    g->close = close;
    g->dbd = open(p, s);
    /* a pre-cleanup: without DBDPersist the connection lives in a pool
     * under p, which a plain cleanup would find destroyed */
    if (g->dbd)
        apr_pool_pre_cleanup_register(p, g, give_back);
    return make(p, s, g->dbd);
}

/* ---- the test handler ---------------------------------------------------------- */

#ifdef ALX_TEST_HOOKS
#include <jansson.h>
#include "http_protocol.h"

/* Test builds only (configure --enable-test-hooks): SetHandler
 * alexalink-linkstore-test runs the steps of ?{"via":"request"|"open",
 * "steps":[...]} (URL-encoded JSON) against the store and answers what each
 * returned. A step: {"op": put|find|claim|claim_due|update|remove, "id",
 * "lookups": [hex...], "due", "plain" (sealed as a link's refresh token
 * under a fixed test key), "now", "until" (microseconds), "owner"}. */

static const char TEST_KEY[] =
    "alexalink linkstore test key: a fixed value, never a secret";

static const char *test_word(apr_status_t rv)
{
    switch (rv) {
    case APR_SUCCESS: return "SUCCESS";
    case APR_NOTFOUND: return "NOTFOUND";
    case APR_EBUSY: return "EBUSY";
    case APR_EINVAL: return "EINVAL";
    default: return "EGENERAL";
    }
}

static int test_hex(json_t *step, const char *name, unsigned char *out)
{
    return unhex(json_string_value(json_object_get(step, name)), out,
                 ALX_LINK_ID_LEN);
}

static apr_int64_t test_int(json_t *step, const char *name, apr_int64_t dflt)
{
    json_t *v = json_object_get(step, name);

    return json_is_integer(v) ? (apr_int64_t)json_integer_value(v) : dflt;
}

/* The row a put or update step writes: "plain" sealed as a live link's
 * refresh token. */
static int test_fill(apr_pool_t *p, const alx_link_key_t *k, json_t *step,
                     alx_link_row_t *row)
{
    json_t *lookups = json_object_get(step, "lookups");
    const char *plain = json_string_value(json_object_get(step, "plain"));
    alx_link_t l;
    unsigned char *sealed;
    size_t i;

    memset(row, 0, sizeof(*row));
    memset(&l, 0, sizeof(l));
    if (!test_hex(step, "id", row->id) || !plain)
        return 0;
    for (i = 0; i < json_array_size(lookups) && i < ALX_LINK_LOOKUPS; i++)
        if (!unhex(json_string_value(json_array_get(lookups, i)),
                   row->lookup[i], ALX_LINK_ID_LEN))
            return 0;
    row->lookups = (int)i;
    row->due = test_int(step, "due", APR_INT64_MAX);
    l.client_id = "test-client";
    l.token_url = "https://upstream.test/token";
    l.refresh_token = plain;
    l.answer_ttl = -1;
    l.interval = l.keep_for = apr_time_from_sec(60);
    if (alx_link_seal(p, k, row->id, &l, &sealed, &row->sealed_len))
        return 0;
    row->sealed = sealed;
    return 1;
}

static json_t *test_row(apr_pool_t *p, const alx_link_key_t *k,
                        const alx_link_found_t *f)
{
    json_t *lookups = json_array();
    alx_link_t l;
    int i;

    for (i = 0; i < f->row.lookups; i++)
        json_array_append_new(lookups, json_string(
            hex(p, f->row.lookup[i], ALX_LINK_ID_LEN)));
    return json_pack("{s:s, s:o, s:I, s:i, s:s?}",
                     "id", hex(p, f->row.id, ALX_LINK_ID_LEN),
                     "lookups", lookups, "due", (json_int_t)f->row.due,
                     "sealed_len", (int)f->row.sealed_len,
                     "plain", alx_link_open(p, k, 1, f->row.id, f->row.sealed,
                                            f->row.sealed_len, &l)
                              ? NULL : l.refresh_token);
}

static json_t *test_step(request_rec *r, const alx_link_store_t *st,
                         const alx_link_key_t *k, json_t *step)
{
    const char *op = json_string_value(json_object_get(step, "op"));
    json_t *out = json_pack("{s:s?}", "op", op);
    apr_time_t now = test_int(step, "now", apr_time_now());
    apr_time_t until = test_int(step, "until", now + apr_time_from_sec(60));
    alx_link_found_t *f = apr_palloc(r->pool, sizeof(*f));
    alx_link_row_t row;
    apr_status_t rv = APR_EINVAL;
    int found = 0;

    if (!op)
        ;
    else if (!strcmp(op, "put") && test_fill(r->pool, k, step, &row))
        rv = st->put(st->baton, &row);
    else if (!strcmp(op, "update") && test_fill(r->pool, k, step, &row))
        rv = st->update(st->baton, &row, until);
    else if (!strcmp(op, "find") && test_hex(step, "lookup", row.id))
        found = (rv = st->find(st->baton, row.id, f)) == APR_SUCCESS;
    else if (!strcmp(op, "claim") && test_hex(step, "id", row.id))
        found = (rv = st->claim(st->baton, row.id, now, until, f))
                == APR_SUCCESS;
    else if (!strcmp(op, "claim_due"))
        found = (rv = st->claim_due(st->baton, now, until, f)) == APR_SUCCESS;
    else if (!strcmp(op, "remove") && test_hex(step, "id", row.id))
        rv = st->remove(st->baton, row.id, until);
    json_object_set_new(out, "rv", json_string(test_word(rv)));
    json_object_set_new(out, "until", json_integer((json_int_t)until));
    if (found)
        json_object_set_new(out, "row", test_row(r->pool, k, f));
    return out;
}

static int test_answer(request_rec *r, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);

    json_decref(body);
    r->status = status;
    ap_set_content_type(r, "application/json");
    if (text) {
        ap_rputs(text, r);
        free(text);
    }
    return OK;
}

int alexalink_linkstore_test_handler(request_rec *r)
{
    const alx_crypto_t *crypto = alexalink_server_conf_get(r->server)->crypto;
    char *query = apr_pstrdup(r->pool, r->args ? r->args : "");
    const alx_link_store_t *st;
    alx_link_key_t key;
    json_t *in, *results;
    const char *via;
    size_t i;

    if (!r->handler || strcmp(r->handler, ALX_LINKSTORE_TEST_HANDLER))
        return DECLINED;
    ap_unescape_urlencoded(query);
    in = json_loads(query, 0, NULL);
    via = json_string_value(json_object_get(in, "via"));
    if (!json_is_array(json_object_get(in, "steps")) || !crypto
        || alx_link_key_init(crypto, (const unsigned char *)TEST_KEY,
                             sizeof(TEST_KEY) - 1, &key)) {
        json_decref(in);
        return HTTP_BAD_REQUEST;
    }
    st = via && !strcmp(via, "open")
         ? alexalink_linkstore_open(r->pool, r->server)
         : alexalink_linkstore_request(r);
    if (!st) {
        json_decref(in);
        return test_answer(r, HTTP_SERVICE_UNAVAILABLE,
                           json_pack("{s:s}", "error", "no link store"));
    }
    results = json_array();
    for (i = 0; i < json_array_size(json_object_get(in, "steps")); i++) {
        json_t *step = json_array_get(json_object_get(in, "steps"), i);
        const char *own = json_string_value(json_object_get(step, "owner"));

        linkstore_t *as = apr_pmemdup(r->pool, st->baton, sizeof(*as));

        /* another owner: another server's claims, from this one */
        as->ops.baton = as;
        if (own)
            as->ops.owner = apr_pstrdup(r->pool, own);
        json_array_append_new(results, test_step(r, &as->ops, &key, step));
    }
    json_decref(in);
    return test_answer(r, HTTP_OK, json_pack("{s:s, s:o}", "owner", st->owner,
                                             "results", results));
}
#endif

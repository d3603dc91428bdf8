/* What a protocol needs of a store, as a table of operations (mod_md's
 * md_store_t, mod_auth_openidc's cache table): the glue fills it from
 * socache and the module's shared segment, a unit test from memory. Values
 * are opaque bytes under fixed-length ids; the clock and the sleep are the
 * table's too, so a test drives time. */
#ifndef ALX_STORE_H
#define ALX_STORE_H

#include <apr.h>
#include <apr_errno.h>
#include <apr_time.h>

#include "alx_flight.h"

/* A stored value is at most this many bytes (larger ones are not kept),
 * the store's own framing of it (its expiry) included. */
#define ALX_STORE_MAX_VALUE 65536
#define ALX_STORE_FRAME_LEN 8

/* A read-modify-write of one value under the store's lock: fn gets what is
 * stored (data NULL when nothing) and says what to do. */
typedef enum {
    ALX_STORE_KEEP = 0,
    ALX_STORE_PUT,      /* *out, *out_len until *expiry */
    ALX_STORE_REMOVE
} alx_store_change_e;
typedef alx_store_change_e (*alx_store_update_fn)(
    void *baton, const unsigned char *data, unsigned int len,
    const unsigned char **out, unsigned int *out_len, apr_time_t *expiry);

typedef struct {
    void *baton;    /* every operation's first argument */
    /* *len: buf's size in, the value's out. APR_NOTFOUND when none. */
    apr_status_t (*get)(void *baton, const unsigned char *id,
                        unsigned char *buf, unsigned int *len);
    /* window > 0: a new record that lives that long, for the store's
     * survival figures; 0: a rewrite of one. */
    apr_status_t (*put)(void *baton, const unsigned char *id,
                        apr_time_t expiry, const unsigned char *data,
                        unsigned int len, apr_interval_time_t window);
    /* scratch of cap bytes holds the value while fn looks at it. */
    apr_status_t (*update)(void *baton, const unsigned char *id,
                           unsigned char *scratch, unsigned int cap,
                           alx_store_update_fn fn, void *fn_baton);
    /* The in-flight table with its lock held; NULL when there is none or
     * the lock failed. Always paired with flight_unlock. */
    alx_flight_t *(*flight_lock)(void *baton);
    void (*flight_unlock)(void *baton);
    /* Whether a claim's holder still runs, and who we are to the table. */
    alx_flight_alive_fn alive;
    apr_uint32_t owner;
    /* A fleet shares the store: claims are written to it too, since the
     * in-flight table is this machine's only. */
    int shared;
    apr_time_t (*now)(void *baton);
    void (*sleep)(void *baton, apr_interval_time_t t);
    /* A claim's ticket: random and non-zero. */
    apr_status_t (*random)(void *baton, unsigned char *buf, apr_size_t len);
} alx_store_ops_t;

#endif

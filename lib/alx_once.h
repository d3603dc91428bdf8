/* "Once an hour per client and vhost": a small table of when each key was
 * last said, in memory every child shares, read and written without a lock
 * (each slot is one 64-bit word changed by compare-and-swap). */
#ifndef ALX_ONCE_H
#define ALX_ONCE_H

#include <apr.h>
#include <apr_time.h>

#define ALX_ONCE_SLOTS 64

/* A slot: the key's high 32 bits (never 0) over the second (Unix time) it
 * was last said; 0 is a free slot. One word, so a key and its time always
 * change together. */
typedef struct {
    volatile apr_uint64_t slot[ALX_ONCE_SLOTS];
} alx_once_t;

/* A 64-bit key (FNV-1a) of two strings; NULL is "". */
apr_uint64_t alx_once_key(const char *a, const char *b);

/* True, and remembered as said now, when key was not said within
 * interval (whole seconds count); with every slot in use the one said
 * longest ago makes room. Safe from any thread of any process at once:
 * of callers racing for one key, one is told "due". A key said within
 * interval costs one read of the table, no write. */
int alx_once_due(alx_once_t *o, apr_uint64_t key, apr_time_t now,
                 apr_interval_time_t interval);

#endif

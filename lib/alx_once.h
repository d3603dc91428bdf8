/* "Once an hour per client and vhost": a small table of when each key was
 * last said, in memory the caller shares and serialises. */
#ifndef ALX_ONCE_H
#define ALX_ONCE_H

#include <apr.h>
#include <apr_time.h>

#define ALX_ONCE_SLOTS 64

typedef struct {
    apr_uint64_t key;
    apr_time_t at;
} alx_once_slot_t;

typedef struct {
    alx_once_slot_t slot[ALX_ONCE_SLOTS];
} alx_once_t;

/* A 64-bit key (FNV-1a) of two strings; NULL is "". */
apr_uint64_t alx_once_key(const char *a, const char *b);

/* True, and remembered as said now, when key was not said within
 * interval; with every slot in use the one said longest ago makes room. */
int alx_once_due(alx_once_t *o, apr_uint64_t key, apr_time_t now,
                 apr_interval_time_t interval);

#endif

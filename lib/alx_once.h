/* "Once an hour per client and vhost": a small table of when each key was
 * last said, in memory the caller shares and serialises. */
#ifndef ALX_ONCE_H
#define ALX_ONCE_H

#include <apr.h>
#include <apr_time.h>

#define ALX_ONCE_SLOTS 64

typedef struct {
    volatile apr_uint64_t key;
    volatile apr_uint64_t at;   /* an apr_time_t */
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

/* True when key was said within interval, read without the caller's lock:
 * the common answer ("said already") costs no lock. alx_once_due stores a
 * slot's time before its key and this reads the key before the time, so
 * a key is never seen with another key's time. False means only "ask
 * alx_once_due". */
int alx_once_recent(const alx_once_t *o, apr_uint64_t key, apr_time_t now,
                    apr_interval_time_t interval);

#endif

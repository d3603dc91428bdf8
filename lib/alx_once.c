/* When each key was last said. See alx_once.h. */
#include <apr_atomic.h>

#include "alx_once.h"

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME  0x100000001b3ULL

/* A racer that keeps losing its compare-and-swap lets the winners speak. */
#define ALX_ONCE_TRIES (4 * ALX_ONCE_SLOTS)

static apr_uint64_t fnv(apr_uint64_t h, const char *s)
{
    for (; s && *s; s++) {
        h ^= (unsigned char)*s;
        h *= FNV_PRIME;
    }
    return h;
}

apr_uint64_t alx_once_key(const char *a, const char *b)
{
    apr_uint64_t h = fnv(FNV_OFFSET, a);

    h ^= 0xff;   /* a separator no string byte equals after hashing "" */
    h *= FNV_PRIME;
    h = fnv(h, b);
    return h ? h : 1;   /* 0 marks a free slot */
}

/* The key as a slot holds it: its high half, never 0. */
static apr_uint32_t short_key(apr_uint64_t key)
{
    apr_uint32_t k = (apr_uint32_t)(key >> 32);

    return k ? k : 1;
}

static apr_uint64_t word(apr_uint32_t key, apr_uint32_t sec)
{
    return (apr_uint64_t)key << 32 | sec;
}

#define WORD_KEY(w) ((apr_uint32_t)((w) >> 32))
#define WORD_SEC(w) ((apr_uint32_t)(w))

static apr_uint32_t seconds(apr_time_t t)
{
    return t > 0 ? (apr_uint32_t)apr_time_sec(t) : 0;
}

/* Said within interval of now: a clock that went back counts as said. */
static int within(apr_uint64_t w, apr_uint32_t now, apr_interval_time_t interval)
{
    return (apr_int64_t)now - (apr_int64_t)WORD_SEC(w) < apr_time_sec(interval);
}

/* The slot to take for a key not in the table: the first free one, else
 * the one said longest ago (the first of equals). Racers that see the same
 * table pick the same slot, and only one of them can change it. */
static int victim(const apr_uint64_t *seen)
{
    int i, v = 0;

    for (i = 0; i < ALX_ONCE_SLOTS; i++) {
        if (!seen[i])
            return i;
        if (WORD_SEC(seen[i]) < WORD_SEC(seen[v]))
            v = i;
    }
    return v;
}

int alx_once_due(alx_once_t *o, apr_uint64_t key, apr_time_t now,
                 apr_interval_time_t interval)
{
    apr_uint32_t k = short_key(key), sec = seconds(now);
    apr_uint64_t seen[ALX_ONCE_SLOTS];
    int tries, i;

    for (tries = 0; tries < ALX_ONCE_TRIES; tries++) {
        for (i = 0; i < ALX_ONCE_SLOTS; i++) {
            seen[i] = apr_atomic_read64(&o->slot[i]);
            if (seen[i] && WORD_KEY(seen[i]) == k)
                break;
        }
        if (i < ALX_ONCE_SLOTS && within(seen[i], sec, interval))
            return 0;
        if (i == ALX_ONCE_SLOTS)
            i = victim(seen);
        /* whoever changes the slot from what it was says it */
        if (apr_atomic_cas64(&o->slot[i], word(k, sec), seen[i]) == seen[i])
            return 1;
    }
    return 0;
}

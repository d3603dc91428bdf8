/* When each key was last said. See alx_once.h. */
#include <apr_atomic.h>

#include "alx_once.h"

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME  0x100000001b3ULL

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

static apr_time_t slot_time(const alx_once_slot_t *s)
{
    return (apr_time_t)apr_atomic_read64((volatile apr_uint64_t *)&s->at);
}

int alx_once_due(alx_once_t *o, apr_uint64_t key, apr_time_t now,
                 apr_interval_time_t interval)
{
    alx_once_slot_t *s, *victim = NULL;
    int i;

    if (!key)
        key = 1;
    for (i = 0; i < ALX_ONCE_SLOTS; i++) {
        s = &o->slot[i];
        if (s->key == key) {
            if (now - slot_time(s) < interval)
                return 0;
            apr_atomic_set64(&s->at, (apr_uint64_t)now);
            return 1;
        }
        /* a free slot first, else the one said longest ago */
        if (!victim || (victim->key && (!s->key
                                        || slot_time(s) < slot_time(victim))))
            victim = s;
    }
    /* the time first: alx_once_recent reads the key first */
    apr_atomic_set64(&victim->at, (apr_uint64_t)now);
    apr_atomic_set64(&victim->key, key);
    return 1;
}

int alx_once_recent(const alx_once_t *o, apr_uint64_t key, apr_time_t now,
                    apr_interval_time_t interval)
{
    int i;

    if (!key)
        key = 1;
    for (i = 0; i < ALX_ONCE_SLOTS; i++) {
        const alx_once_slot_t *s = &o->slot[i];

        if (apr_atomic_read64((volatile apr_uint64_t *)&s->key) == key)
            return now - slot_time(s) < interval;
    }
    return 0;
}

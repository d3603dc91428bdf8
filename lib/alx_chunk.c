/* A value split over several keys, read back whole or not at all. */
#include <string.h>

#include "alx_chunk.h"

/* Not the first byte of an older single-key value's seal ("ALX..."): such
 * a value reads as no record, never as a piece. */
#define ALX_CHUNK_MAGIC 0xC5

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME  0x100000001b3ULL

unsigned alx_chunk_count(apr_size_t len, apr_size_t room)
{
    apr_size_t n;

    if (room == 0)
        return 0;
    n = len == 0 ? 1 : (len - 1) / room + 1;
    return n > ALX_CHUNK_MAX ? 0 : (unsigned)n;
}

static apr_uint64_t fnv(apr_uint64_t h, const unsigned char *s, apr_size_t n)
{
    apr_size_t i;

    for (i = 0; i < n; i++) {
        h ^= s[i];
        h *= FNV_PRIME;
    }
    return h;
}

static unsigned char *put_be(unsigned char *d, apr_uint64_t v, int n)
{
    int i;

    for (i = n - 1; i >= 0; i--, v >>= 8)
        d[i] = (unsigned char)(v & 0xff);
    return d + n;
}

static apr_uint64_t get_be(const unsigned char *s, int n)
{
    apr_uint64_t v = 0;
    int i;

    for (i = 0; i < n; i++)
        v = (v << 8) | s[i];
    return v;
}

apr_uint64_t alx_chunk_tag(apr_uint64_t expiry, const unsigned char *data,
                           apr_size_t len)
{
    unsigned char e[8];

    put_be(e, expiry, 8);
    return fnv(fnv(FNV_OFFSET, e, sizeof(e)), data, len);
}

apr_size_t alx_chunk_key(unsigned char *key, const unsigned char *id,
                         apr_size_t idlen, unsigned index)
{
    memcpy(key, id, idlen);
    if (index == 0)
        return idlen;
    put_be(key + idlen, index, ALX_CHUNK_KEY_EXTRA);
    return idlen + ALX_CHUNK_KEY_EXTRA;
}

unsigned char *alx_chunk_put_head(unsigned char *d, const alx_chunk_head_t *h)
{
    *d++ = ALX_CHUNK_MAGIC;
    d = put_be(d, h->index, 2);
    d = put_be(d, h->count, 2);
    d = put_be(d, h->total, 4);
    return put_be(d, h->tag, 8);
}

int alx_chunk_get_head(const unsigned char *s, apr_size_t len,
                       alx_chunk_head_t *h)
{
    if (len < ALX_CHUNK_HEAD_LEN || s[0] != ALX_CHUNK_MAGIC)
        return 0;
    h->index = (unsigned)get_be(s + 1, 2);
    h->count = (unsigned)get_be(s + 3, 2);
    h->total = (apr_uint32_t)get_be(s + 5, 4);
    h->tag = get_be(s + 9, 8);
    return h->count > 0 && h->index < h->count;
}

void alx_chunk_join_start(alx_chunk_join_t *j, unsigned char *buf,
                          apr_size_t cap)
{
    memset(j, 0, sizeof(*j));
    j->buf = buf;
    j->cap = cap;
}

/* Piece 0 sets what the others must repeat. */
static apr_status_t join_check(alx_chunk_join_t *j, apr_uint64_t expiry,
                               const alx_chunk_head_t *h)
{
    if (h->index != j->next)
        return APR_NOTFOUND;
    if (j->next == 0) {
        if (h->total > j->cap)
            return APR_ENOSPC;
        j->first = *h;
        j->expiry = expiry;
        return APR_SUCCESS;
    }
    return h->count == j->first.count && h->total == j->first.total
           && h->tag == j->first.tag && expiry == j->expiry
           ? APR_SUCCESS : APR_NOTFOUND;
}

apr_status_t alx_chunk_join_add(alx_chunk_join_t *j, apr_uint64_t expiry,
                                const unsigned char *piece, apr_size_t len)
{
    alx_chunk_head_t h;
    apr_size_t n;
    apr_status_t rv;

    if (!alx_chunk_get_head(piece, len, &h))
        return APR_NOTFOUND;
    if ((rv = join_check(j, expiry, &h)) != APR_SUCCESS)
        return rv;
    n = len - ALX_CHUNK_HEAD_LEN;
    if (n > j->first.total - j->got)
        return APR_NOTFOUND;
    memcpy(j->buf + j->got, piece + ALX_CHUNK_HEAD_LEN, n);
    j->got += n;
    if (++j->next < j->first.count)
        return APR_INCOMPLETE;
    return j->got == j->first.total
           && alx_chunk_tag(expiry, j->buf, j->got) == j->first.tag
           ? APR_SUCCESS : APR_NOTFOUND;
}

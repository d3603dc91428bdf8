/* A value split over several keys of a store that keeps only small values
 * (mod_socache_dbm), and read back whole or not at all. Piece i lives at
 * the record's id (i = 0) or at the id with i appended; each piece carries
 * a head: the piece's index, how many there are, the record's length and a
 * tag of the whole record, so a piece from another write (an overwrite cut
 * short, a piece left from a longer record) is never taken for this one. */
#ifndef ALX_CHUNK_H
#define ALX_CHUNK_H

#include <apr.h>
#include <apr_errno.h>

/* magic(1) index(2) count(2) total(4) tag(8), big-endian */
#define ALX_CHUNK_HEAD_LEN 17
/* the index is two bytes */
#define ALX_CHUNK_MAX 65535
/* a piece's key: the id and its index */
#define ALX_CHUNK_KEY_EXTRA 2

typedef struct {
    unsigned index;
    unsigned count;
    apr_uint32_t total;     /* the whole record's length */
    apr_uint64_t tag;       /* alx_chunk_tag of the record */
} alx_chunk_head_t;

/* Pieces of at most room bytes that len bytes take (1 for len 0), or 0
 * when that is more than ALX_CHUNK_MAX (or room is 0). */
unsigned alx_chunk_count(apr_size_t len, apr_size_t room);

/* FNV-1a (64 bits) of the expiry (8 bytes, big-endian) and the record:
 * tells pieces of one write from another's, not a seal. */
apr_uint64_t alx_chunk_tag(apr_uint64_t expiry, const unsigned char *data,
                           apr_size_t len);

/* Piece index's key into key (room for idlen + ALX_CHUNK_KEY_EXTRA): the
 * id itself for 0, else the id and the index; its length. */
apr_size_t alx_chunk_key(unsigned char *key, const unsigned char *id,
                         apr_size_t idlen, unsigned index);

/* h written at d (ALX_CHUNK_HEAD_LEN bytes); the byte after it. */
unsigned char *alx_chunk_put_head(unsigned char *d, const alx_chunk_head_t *h);

/* The head at the start of len bytes: 1, or 0 when they hold none (too
 * short, another magic, no pieces, an index past the count). */
int alx_chunk_get_head(const unsigned char *s, apr_size_t len,
                       alx_chunk_head_t *h);

/* Pieces read back in order into a buffer of cap bytes. */
typedef struct {
    unsigned char *buf;
    apr_size_t cap;
    apr_size_t got;
    unsigned next;          /* the index wanted next */
    apr_uint64_t expiry;
    alx_chunk_head_t first;
} alx_chunk_join_t;

void alx_chunk_join_start(alx_chunk_join_t *j, unsigned char *buf,
                          apr_size_t cap);

/* Takes piece j->next (its head and bytes, len in all; expiry from its
 * frame): APR_INCOMPLETE while more pieces are wanted, APR_SUCCESS when the
 * record is whole (j->got bytes at j->buf, its tag checked), APR_NOTFOUND
 * when the piece does not belong (head, index, count, length, tag or
 * expiry differ from piece 0's, or the bytes overrun the length) and
 * APR_ENOSPC when the record is longer than cap. */
apr_status_t alx_chunk_join_add(alx_chunk_join_t *j, apr_uint64_t expiry,
                                const unsigned char *piece, apr_size_t len);

#endif

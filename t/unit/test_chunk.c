/* Unit tests for lib/alx_chunk.c: a record split over keys, read back whole
 * or not at all. */
#include <string.h>

#include <apr_general.h>

#include "alx_chunk.h"
#include "tap.h"

#define ROOM 100
#define EXPIRY 1704067200000000ULL

/* A store of pieces: value i of n, each head + bytes, as the glue writes. */
typedef struct {
    unsigned char v[64][ALX_CHUNK_HEAD_LEN + ROOM];
    apr_size_t len[64];
    unsigned n;
} pieces_t;

static void split(pieces_t *ps, apr_uint64_t expiry, const unsigned char *data,
                  apr_size_t len)
{
    alx_chunk_head_t h;
    unsigned i;

    h.count = alx_chunk_count(len, ROOM);
    h.total = (apr_uint32_t)len;
    h.tag = alx_chunk_tag(expiry, data, len);
    ps->n = h.count;
    for (i = 0; i < h.count; i++) {
        apr_size_t at = (apr_size_t)i * ROOM;
        apr_size_t n = len - at < ROOM ? len - at : ROOM;
        unsigned char *d;

        h.index = i;
        d = alx_chunk_put_head(ps->v[i], &h);
        memcpy(d, data + at, n);
        ps->len[i] = ALX_CHUNK_HEAD_LEN + n;
    }
}

/* Joins ps's pieces in order; the last status. */
static apr_status_t join(const pieces_t *ps, apr_uint64_t expiry,
                         unsigned char *buf, apr_size_t cap, apr_size_t *got)
{
    alx_chunk_join_t j;
    apr_status_t rv = APR_INCOMPLETE;
    unsigned i;

    alx_chunk_join_start(&j, buf, cap);
    for (i = 0; i < ps->n && rv == APR_INCOMPLETE; i++)
        rv = alx_chunk_join_add(&j, expiry, ps->v[i], ps->len[i]);
    *got = j.got;
    return rv;
}

static void test_count_and_key(void)
{
    unsigned char id[32], key[34];
    int i;

    is_int(alx_chunk_count(0, ROOM), 1, "count: an empty record is one piece");
    is_int(alx_chunk_count(1, ROOM), 1, "count: 1 byte");
    is_int(alx_chunk_count(ROOM, ROOM), 1, "count: exactly one piece");
    is_int(alx_chunk_count(ROOM + 1, ROOM), 2, "count: one byte over");
    is_int(alx_chunk_count((apr_size_t)ALX_CHUNK_MAX * ROOM, ROOM),
           ALX_CHUNK_MAX, "count: the most pieces");
    is_int(alx_chunk_count((apr_size_t)ALX_CHUNK_MAX * ROOM + 1, ROOM), 0,
           "count: more than the index holds");
    is_int(alx_chunk_count(10, 0), 0, "count: no room");

    for (i = 0; i < 32; i++)
        id[i] = (unsigned char)(i * 7);
    is_int(alx_chunk_key(key, id, 32, 0), 32, "key 0: the id itself");
    ok(memcmp(key, id, 32) == 0, "key 0: same bytes");
    is_int(alx_chunk_key(key, id, 32, 258), 34, "key 258: id and index");
    ok(memcmp(key, id, 32) == 0 && key[32] == 1 && key[33] == 2,
       "key 258: the index big-endian after the id");
}

static void test_head(void)
{
    alx_chunk_head_t h = { 3, 7, 123456, 0x0102030405060708ULL }, g;
    unsigned char b[ALX_CHUNK_HEAD_LEN];

    ok(alx_chunk_put_head(b, &h) == b + ALX_CHUNK_HEAD_LEN, "head: its length");
    ok(alx_chunk_get_head(b, sizeof(b), &g), "head: read back");
    ok(g.index == 3 && g.count == 7 && g.total == 123456
       && g.tag == 0x0102030405060708ULL, "head: same fields");
    ok(!alx_chunk_get_head(b, sizeof(b) - 1, &g), "head: too short");
    b[0] ^= 0xff;
    ok(!alx_chunk_get_head(b, sizeof(b), &g), "head: another magic");
    h.index = 7;
    alx_chunk_put_head(b, &h);
    ok(!alx_chunk_get_head(b, sizeof(b), &g), "head: index past the count");
    h.index = 0;
    h.count = 0;
    alx_chunk_put_head(b, &h);
    ok(!alx_chunk_get_head(b, sizeof(b), &g), "head: no pieces");
}

static void test_tag(void)
{
    static const unsigned char a[] = "sealed record";
    apr_uint64_t t = alx_chunk_tag(EXPIRY, a, sizeof(a) - 1);

    ok(t == alx_chunk_tag(EXPIRY, a, sizeof(a) - 1), "tag: stable");
    ok(t != alx_chunk_tag(EXPIRY + 1, a, sizeof(a) - 1), "tag: the expiry counts");
    ok(t != alx_chunk_tag(EXPIRY, a, sizeof(a) - 2), "tag: the length counts");
    ok(alx_chunk_tag(EXPIRY, NULL, 0) != alx_chunk_tag(EXPIRY + 1, NULL, 0),
       "tag: an empty record has one too");
}

static void test_join(void)
{
    static pieces_t ps, other;
    unsigned char data[1290], buf[2000];
    apr_size_t got, i;

    for (i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(i * 31 + 7);
    split(&ps, EXPIRY, data, sizeof(data));
    is_int(ps.n, 13, "join: 1290 bytes in 13 pieces");
    is_int(join(&ps, EXPIRY, buf, sizeof(buf), &got), APR_SUCCESS, "join: whole");
    ok(got == sizeof(data) && memcmp(buf, data, got) == 0, "join: same bytes");

    split(&ps, EXPIRY, data, 0);
    is_int(join(&ps, EXPIRY, buf, sizeof(buf), &got), APR_SUCCESS,
           "join: an empty record");
    is_int(got, 0, "join: no bytes");

    split(&ps, EXPIRY, data, ROOM);
    is_int(join(&ps, EXPIRY, buf, sizeof(buf), &got), APR_SUCCESS,
           "join: one full piece");

    split(&ps, EXPIRY, data, sizeof(data));
    ps.n = 12;
    is_int(join(&ps, EXPIRY, buf, sizeof(buf), &got), APR_INCOMPLETE,
           "join: a piece missing: still wanting (the glue calls that not found)");

    split(&ps, EXPIRY, data, sizeof(data));
    is_int(join(&ps, EXPIRY, buf, 1289, &got), APR_ENOSPC,
           "join: longer than the buffer");

    split(&ps, EXPIRY, data, sizeof(data));
    ps.v[5][ALX_CHUNK_HEAD_LEN + 3] ^= 1;
    is_int(join(&ps, EXPIRY, buf, sizeof(buf), &got), APR_NOTFOUND,
           "join: a changed byte fails the tag");

    /* an overwrite cut short: the head of one write, a piece of another */
    split(&ps, EXPIRY, data, sizeof(data));
    data[250] ^= 0x55;
    split(&other, EXPIRY, data, sizeof(data));
    memcpy(ps.v[2], other.v[2], sizeof(ps.v[2]));
    is_int(join(&ps, EXPIRY, buf, sizeof(buf), &got), APR_NOTFOUND,
           "join: a piece of another write of the same length");

    split(&ps, EXPIRY, data, sizeof(data));
    split(&other, EXPIRY, data, 1250);
    memcpy(ps.v[0], other.v[0], sizeof(ps.v[0]));
    ps.len[0] = other.len[0];
    is_int(join(&ps, EXPIRY, buf, sizeof(buf), &got), APR_NOTFOUND,
           "join: the head of a shorter write before a longer one's pieces");

    split(&ps, EXPIRY, data, sizeof(data));
    split(&other, EXPIRY + 1, data, sizeof(data));
    memcpy(ps.v[4], other.v[4], sizeof(ps.v[4]));
    is_int(join(&ps, EXPIRY, buf, sizeof(buf), &got), APR_NOTFOUND,
           "join: a piece of a write with another expiry");

    split(&ps, EXPIRY, data, sizeof(data));
    memcpy(ps.v[3], ps.v[4], sizeof(ps.v[3]));
    ps.len[3] = ps.len[4];
    is_int(join(&ps, EXPIRY, buf, sizeof(buf), &got), APR_NOTFOUND,
           "join: pieces out of order");

    split(&ps, EXPIRY, data, sizeof(data));
    ps.len[2] = ALX_CHUNK_HEAD_LEN + ROOM - 1;
    is_int(join(&ps, EXPIRY, buf, sizeof(buf), &got), APR_NOTFOUND,
           "join: a piece short of its bytes fails the tag");

    split(&ps, EXPIRY, data, sizeof(data));
    ps.len[12] = ALX_CHUNK_HEAD_LEN + ROOM;
    is_int(join(&ps, EXPIRY, buf, sizeof(buf), &got), APR_NOTFOUND,
           "join: bytes past the length");

    split(&ps, EXPIRY, data, sizeof(data));
    is_int(join(&ps, EXPIRY + 1, buf, sizeof(buf), &got), APR_NOTFOUND,
           "join: frames with another expiry than the tag's");

    split(&ps, EXPIRY, data, sizeof(data));
    ps.len[0] = 3;
    is_int(join(&ps, EXPIRY, buf, sizeof(buf), &got), APR_NOTFOUND,
           "join: a value with no head (an older format)");
}

int main(void)
{
    apr_initialize();
    test_count_and_key();
    test_head();
    test_tag();
    test_join();
    apr_terminate();
    return tap_done();
}

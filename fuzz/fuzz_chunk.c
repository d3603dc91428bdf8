/* libFuzzer target for alx_chunk: pieces read back from a store are taken
 * whole or not at all, never past the buffer. The input is a list of
 * values (2-byte big-endian length, bytes) joined in order; and the input
 * itself, split and joined, comes back byte for byte. */
#include <stdint.h>
#include <string.h>

#include "alx_chunk.h"
#include "fuzz.h"

#define CAP 512
#define ROOM 37

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_start();
    return 0;
}

/* Arbitrary values as pieces: the result is whole or refused. */
static void join_arbitrary(const uint8_t *data, size_t size)
{
    static unsigned char buf[CAP];
    alx_chunk_join_t j;
    apr_status_t rv = APR_INCOMPLETE;
    size_t at = 0, n;

    alx_chunk_join_start(&j, buf, CAP);
    while (rv == APR_INCOMPLETE && size - at >= 2) {
        n = ((size_t)data[at] << 8) | data[at + 1];
        at += 2;
        if (n > size - at)
            n = size - at;
        rv = alx_chunk_join_add(&j, 1, data + at, n);
        at += n;
        check(j.got <= CAP);
    }
    if (rv == APR_SUCCESS)
        check(j.got == j.first.total
              && alx_chunk_tag(1, buf, j.got) == j.first.tag);
}

/* The input split into ROOM-byte pieces and joined comes back. */
static void round_trip(const uint8_t *data, size_t size)
{
    static unsigned char piece[ALX_CHUNK_HEAD_LEN + ROOM], buf[4096];
    alx_chunk_head_t h;
    alx_chunk_join_t j;
    apr_status_t rv = APR_INCOMPLETE;
    size_t n;

    if (size > sizeof(buf))
        return;
    h.count = alx_chunk_count(size, ROOM);
    h.total = (apr_uint32_t)size;
    h.tag = alx_chunk_tag(7, data, size);
    alx_chunk_join_start(&j, buf, sizeof(buf));
    for (h.index = 0; h.index < h.count; h.index++) {
        n = size - h.index * ROOM < ROOM ? size - h.index * ROOM : ROOM;
        if (n)
            memcpy(alx_chunk_put_head(piece, &h), data + h.index * ROOM, n);
        else
            alx_chunk_put_head(piece, &h);
        check(rv == APR_INCOMPLETE);
        rv = alx_chunk_join_add(&j, 7, piece, ALX_CHUNK_HEAD_LEN + n);
    }
    check(rv == APR_SUCCESS && j.got == size
          && (size == 0 || memcmp(buf, data, size) == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    join_arbitrary(data, size);
    round_trip(data, size);
    return 0;
}

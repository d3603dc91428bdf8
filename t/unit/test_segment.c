/* Unit tests for the shared segments' head (lib/alx_segment.c). */
#include <apr_general.h>

#include "alx_segment.h"
#include "tap.h"

int main(void)
{
    static apr_uint64_t mem[64];   /* 512 bytes, aligned */
    apr_size_t sizes[] = {24, 64, 7}, other[] = {24, 72, 7};
    alx_segment_want_t want = {ALX_SEGMENT_STATS, 2,
                               alx_segment_shape(sizes, 3), 256};
    alx_segment_want_t w;
    char why[160];

    ok(alx_segment_shape(sizes, 3) == alx_segment_shape(sizes, 3),
       "shape: stable");
    ok(alx_segment_shape(sizes, 3) != alx_segment_shape(other, 3),
       "shape: one struct's size changes it");
    ok(alx_segment_shape(sizes, 2) != alx_segment_shape(sizes, 3),
       "shape: the number of sizes counts");

    /* a segment of today's build (no head): its first bytes are counters */
    memset(mem, 0, sizeof(mem));
    ok(!alx_segment_matches(mem, sizeof(mem), &want, why, sizeof(why)),
       "no head: refused");
    is_str(why, "no layout mark: a build from before segments carried one, "
           "this build's layout 2", "no head: why");

    alx_segment_stamp(mem, &want);
    why[0] = '\0';
    ok(alx_segment_matches(mem, 256, &want, why, sizeof(why)),
       "stamped by this build: accepted");
    is_str(why, "", "nothing said when it matches");
    ok(alx_segment_matches(mem, sizeof(mem), &want, why, sizeof(why)),
       "mapped bytes beyond the size are fine");

    w = want;
    w.magic = ALX_SEGMENT_STORE;
    ok(!alx_segment_matches(mem, 256, &w, why, sizeof(why)),
       "the other kind of segment: refused");

    w = want;
    w.layout = 3;
    ok(!alx_segment_matches(mem, 256, &w, why, sizeof(why)),
       "another layout version: refused");
    is_str(why, "layout 2, this build's 3", "layout: why");

    w = want;
    w.shape = alx_segment_shape(other, 3);
    ok(!alx_segment_matches(mem, 256, &w, why, sizeof(why)),
       "the same version with other struct sizes: refused");
    is_str(why, "layout 2 with other struct sizes, this build's 2",
           "shape: why");

    w = want;
    w.size = 320;
    ok(!alx_segment_matches(mem, sizeof(mem), &w, why, sizeof(why)),
       "another size: refused");
    is_str(why, "256 bytes, this build's 320", "size: why");

    w = want;
    w.size = 0;
    ok(alx_segment_matches(mem, 256, &w, why, sizeof(why)),
       "size 0: any size the mapping holds");
    ok(!alx_segment_matches(mem, 255, &want, why, sizeof(why)),
       "a head claiming more than is mapped: refused");
    is_str(why, "256 bytes laid out in 255 mapped", "mapped: why");
    ok(!alx_segment_matches(mem, 8, &want, why, sizeof(why)),
       "fewer bytes than a head: refused");
    ok(!alx_segment_matches(NULL, 256, &want, why, sizeof(why)),
       "NULL: refused");
    w = want;
    w.layout = 3;
    ok(!alx_segment_matches(mem, 256, &w, why, 8) && strlen(why) == 7,
       "why is cut to its buffer");
    return tap_done();
}

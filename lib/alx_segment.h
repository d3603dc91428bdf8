/* The head each of our shared-memory segments starts with. A graceful
 * restart keeps the segments in the parent, and may load another build of
 * the module into it (an upgrade): that build reads the head first and,
 * when the segment was laid out differently, starts afresh instead of
 * misreading it. */
#ifndef ALX_SEGMENT_H
#define ALX_SEGMENT_H

#include <apr.h>

/* Which segment: the status counters, or the grace store's own. */
#define ALX_SEGMENT_STATS 0x414c5853u   /* "ALXS" */
#define ALX_SEGMENT_STORE 0x414c5846u   /* "ALXF" */

typedef struct {
    apr_uint32_t magic;     /* ALX_SEGMENT_* */
    apr_uint32_t layout;    /* the writer's layout version */
    apr_uint64_t shape;     /* alx_segment_shape of the writer's sizes */
    apr_uint64_t size;      /* bytes the writer laid out */
} alx_segment_t;

/* What a build expects of a segment. The layout version is bumped by hand
 * when a field changes meaning; the shape catches a struct that changed
 * size when nobody did. */
typedef struct {
    apr_uint32_t magic;
    apr_uint32_t layout;
    apr_uint64_t shape;
    apr_size_t size;        /* 0: any that the mapped bytes hold */
} alx_segment_want_t;

/* A fingerprint (FNV-1a) of n sizes: struct sizes, element counts. */
apr_uint64_t alx_segment_shape(const apr_size_t *sizes, apr_size_t n);

/* Writes want into the head at base. */
void alx_segment_stamp(void *base, const alx_segment_want_t *want);

/* 1 when base (mapped bytes) holds a segment stamped with want; else 0,
 * and why (at most size bytes, terminated) names what differs, for the
 * line that says so: "layout 1, this build's 2". */
int alx_segment_matches(const void *base, apr_size_t mapped,
                        const alx_segment_want_t *want, char *why,
                        apr_size_t size);

#endif

/* The head of our shared segments. See alx_segment.h. */
#include <apr_strings.h>

#include "alx_segment.h"

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME  0x100000001b3ULL

apr_uint64_t alx_segment_shape(const apr_size_t *sizes, apr_size_t n)
{
    apr_uint64_t h = FNV_OFFSET, v;
    apr_size_t i;
    int b;

    for (i = 0; i < n; i++)
        for (v = sizes[i], b = 0; b < 8; b++, v >>= 8) {
            h ^= v & 0xff;
            h *= FNV_PRIME;
        }
    return h;
}

void alx_segment_stamp(void *base, const alx_segment_want_t *want)
{
    alx_segment_t *h = base;

    h->magic = want->magic;
    h->layout = want->layout;
    h->shape = want->shape;
    h->size = want->size;
}

int alx_segment_matches(const void *base, apr_size_t mapped,
                        const alx_segment_want_t *want, char *why,
                        apr_size_t size)
{
    const alx_segment_t *h = base;

    if (!base || mapped < sizeof(*h) || h->magic != want->magic)
        apr_snprintf(why, size, "no layout mark: a build from before "
                     "segments carried one, this build's layout %u",
                     want->layout);
    else if (h->layout != want->layout)
        apr_snprintf(why, size, "layout %u, this build's %u", h->layout,
                     want->layout);
    else if (h->shape != want->shape)
        apr_snprintf(why, size, "layout %u with other struct sizes, this "
                     "build's %u", h->layout, want->layout);
    else if (h->size > mapped || h->size < sizeof(*h))
        apr_snprintf(why, size, "%" APR_UINT64_T_FMT " bytes laid out in %"
                     APR_SIZE_T_FMT " mapped", h->size, mapped);
    else if (want->size && h->size != want->size)
        apr_snprintf(why, size, "%" APR_UINT64_T_FMT " bytes, this build's "
                     "%" APR_SIZE_T_FMT, h->size, want->size);
    else
        return 1;
    return 0;
}

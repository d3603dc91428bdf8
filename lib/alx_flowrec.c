/* The flow record's codec (lib/alx_flowrec.h). */
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "alx_flowrec.h"

static int clean(const char *s)
{
    return s[strcspn(s, "\n")] == '\0';
}

char *alx_flowrec_encode(apr_pool_t *p, const alx_flowrec_t *f,
                         apr_size_t *len)
{
    const char *rt = f->response_type ? f->response_type : "";
    const char *id = f->client_id ? f->client_id : "";
    const char *st = f->state ? f->state : "";
    char *out;

    if (!clean(rt) || !clean(id) || !clean(st) || f->started < 0
        || f->region < ALX_REGION_NONE || f->region > ALX_REGION_OTHER)
        return NULL;
    out = apr_psprintf(p, "F1 %" APR_TIME_T_FMT " %d\n%s\n%s\n%s",
                       f->started, (int)f->region, rt, id, st);
    *len = strlen(out);
    return *len > ALX_FLOWREC_MAX ? NULL : out;
}

/* Digits up to the separator sep, at most max. */
static const char *number(const char *c, const char *end, char sep,
                          apr_int64_t max, apr_int64_t *out)
{
    apr_int64_t v = 0;
    const char *start = c;

    for (; c < end && apr_isdigit(*c); c++) {
        if (*c - '0' > max || v > (max - (*c - '0')) / 10)
            return NULL;
        v = v * 10 + (*c - '0');
    }
    if (c == start || c == end || *c != sep)
        return NULL;
    *out = v;
    return c + 1;
}

static const char *line(apr_pool_t *p, const char *c, const char *end,
                        int last, const char **out)
{
    const char *nl = memchr(c, '\n', end - c);

    if (last ? nl != NULL : nl == NULL)
        return NULL;
    if (!nl)
        nl = end;
    *out = apr_pstrmemdup(p, c, nl - c);
    return nl + (last ? 0 : 1);
}

apr_status_t alx_flowrec_decode(apr_pool_t *p, const char *data,
                                apr_size_t len, alx_flowrec_t *out)
{
    const char *c = data, *end = data + len;
    apr_int64_t started, region;

    if (len > ALX_FLOWREC_MAX || len < 3 || memcmp(data, "F1 ", 3) != 0
        || memchr(data, '\0', len))
        return APR_EINVAL;
    c += 3;
    if (!(c = number(c, end, ' ', APR_INT64_MAX, &started))
        || !(c = number(c, end, '\n', ALX_REGION_OTHER, &region))
        || !(c = line(p, c, end, 0, &out->response_type))
        || !(c = line(p, c, end, 0, &out->client_id))
        || !(c = line(p, c, end, 1, &out->state)))
        return APR_EINVAL;
    out->started = (apr_time_t)started;
    out->region = (alx_region_e)region;
    return APR_SUCCESS;
}

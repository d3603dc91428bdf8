/* A streaming scanner for login pages: finds the hosts a page pulls content
 * from and the popups it opens, fed the bytes as they pass (any split, no
 * buffering of the page, nothing changed). */
#ifndef ALX_HTML_H
#define ALX_HTML_H

#include <apr_pools.h>
#include <apr_tables.h>

typedef enum {
    ALX_HTML_HOST = 0,   /* an absolute or protocol-relative URL's host */
    ALX_HTML_POPUP       /* window.open or target="_blank" */
} alx_html_event_e;

/* One finding. For ALX_HTML_HOST, value is the host, lower-case, without
 * port, user info or trailing dot (IPv6 literals keep their brackets), and
 * where names the place: "script src", "link href", "img srcset",
 * "form action", "css url", "css @import", "base href", ...; a relative URL
 * under an external <base href> reports the base's host. For ALX_HTML_POPUP,
 * value is "window.open" or "target=_blank" and where the element or
 * "script". Both strings live until the next feed or end call. */
typedef void (*alx_html_fn)(void *baton, alx_html_event_e kind,
                            const char *value, const char *where);

typedef struct alx_html alx_html_t;

/* Memory is bounded: a few KiB per scanner whatever the page holds. */
alx_html_t *alx_html_create(apr_pool_t *p, alx_html_fn fn, void *baton);

/* Feeds the next len bytes of the page; findings are reported as soon as
 * they are complete. */
void alx_html_feed(alx_html_t *h, const char *data, apr_size_t len);

/* The page ended: reports what an unterminated construct still holds. */
void alx_html_end(alx_html_t *h);

/* Host matching for the checks: host (as reported) equals one of the
 * entries, case-insensitive, ignoring a port and a trailing dot on an entry;
 * an entry "*.example.com" matches every subdomain of example.com (not
 * example.com itself). list is an array of const char *, may be NULL. */
int alx_html_host_listed(const char *host, const apr_array_header_t *list);

#endif

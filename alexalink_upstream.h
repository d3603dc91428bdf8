/* The keep-alive's upstream call (alexalink_upstream.c): one POST of a
 * refresh alx_link_request built, through libcurl, as mod_md makes its
 * calls. */
#ifndef ALEXALINK_UPSTREAM_H
#define ALEXALINK_UPSTREAM_H

#include "httpd.h"
#include "alx_link.h"

/* The answer: status 0 when there was none (connect, TLS, timeout, an
 * answer over the bound), which the link protocol backs off from; then
 * error says why, in libcurl's words (never a token: it names the host at
 * most). */
typedef struct {
    int status;
    const char *content_type;    /* NULL: none */
    const char *body;            /* NUL-terminated; "" when none */
    apr_size_t len;
    const char *error;           /* status 0: why */
} alx_upstream_answer_t;

/* libcurl's global setup, once in the parent (post_config) before any
 * thread exists, as libcurl requires; later calls do nothing. */
apr_status_t alexalink_upstream_global_init(void);

/* POSTs req (its form body, and its Authorization header when it has one)
 * with TLS verification on and no redirects followed, giving up after
 * timeout; at most max_body bytes of answer are read. APR_SUCCESS with the
 * answer filled (status 0 included); APR_ENOMEM when libcurl could not
 * start. */
apr_status_t alexalink_upstream_post(apr_pool_t *p,
                                     const alx_link_request_t *req,
                                     apr_interval_time_t timeout,
                                     apr_size_t max_body,
                                     alx_upstream_answer_t *out);

#ifdef ALX_TEST_HOOKS
/* SetHandler alexalink-test-upstream: test builds only. */
int alexalink_upstream_test_handler(request_rec *r);
#endif

#endif

/* The keep-alive's upstream call: a POST with libcurl (httpd has no client
 * of its own outside mod_proxy's request path; mod_md uses libcurl the
 * same way). TLS is verified against the system's CAs, redirects are not
 * followed (a token endpoint that redirects is misconfigured, and a
 * redirect would carry the form elsewhere), only http and https are
 * spoken, and the answer is bounded. */

#include <curl/curl.h>

#include "alexalink_upstream.h"
#include "apr_strings.h"

#ifndef ALX_VERSION
#define ALX_VERSION "dev"
#endif

apr_status_t alexalink_upstream_global_init(void)
{
    static int done;

    if (done)
        return APR_SUCCESS;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return APR_EGENERAL;
    done = 1;
    return APR_SUCCESS;
}

typedef struct {
    char *buf;
    apr_size_t len, max;
    int over;
} sink_t;

static size_t sink_write(char *data, size_t size, size_t n, void *baton)
{
    sink_t *s = baton;
    apr_size_t add = size * n;

    if (add > s->max - s->len) {
        s->over = 1;
        return 0;               /* libcurl stops with CURLE_WRITE_ERROR */
    }
    memcpy(s->buf + s->len, data, add);
    s->len += add;
    return add;
}

static CURLcode set_options(CURL *c, const alx_link_request_t *req,
                            struct curl_slist *headers, long timeout_ms,
                            sink_t *sink)
{
    CURLcode rv = CURLE_OK;

#define SET(opt, val) if (rv == CURLE_OK) rv = curl_easy_setopt(c, opt, val)
    SET(CURLOPT_URL, req->url);
    SET(CURLOPT_POST, 1L);
    SET(CURLOPT_POSTFIELDS, req->body);
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->len);
    SET(CURLOPT_HTTPHEADER, headers);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    SET(CURLOPT_TIMEOUT_MS, timeout_ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    /* a child's threads: no signals for DNS timeouts */
    SET(CURLOPT_NOSIGNAL, 1L);
    /* no environment proxy: the upstream is the one mod_proxy reaches */
    SET(CURLOPT_NOPROXY, "*");
    SET(CURLOPT_USERAGENT, "mod_alexalink/" ALX_VERSION " keep-alive");
    SET(CURLOPT_WRITEFUNCTION, sink_write);
    SET(CURLOPT_WRITEDATA, sink);
#undef SET
    return rv;
}

static struct curl_slist *request_headers(apr_pool_t *p,
                                          const alx_link_request_t *req)
{
    struct curl_slist *h = NULL, *next;
    const char *lines[4];
    int i, n = 0;

    lines[n++] = "Content-Type: application/x-www-form-urlencoded";
    lines[n++] = "Accept: application/json";
    lines[n++] = "Expect:";     /* no 100-continue round trip */
    if (req->authorization)
        lines[n++] = apr_pstrcat(p, "Authorization: ", req->authorization,
                                 NULL);
    for (i = 0; i < n; i++) {
        next = curl_slist_append(h, lines[i]);
        if (!next) {
            curl_slist_free_all(h);
            return NULL;
        }
        h = next;
    }
    return h;
}

static void answer_from(apr_pool_t *p, CURL *c, CURLcode rv,
                        const sink_t *sink, alx_upstream_answer_t *out)
{
    long status = 0;
    char *type = NULL;

    out->body = sink->buf;
    out->len = sink->len;
    sink->buf[sink->len] = '\0';
    if (rv != CURLE_OK) {
        out->status = 0;
        out->error = sink->over ? apr_psprintf(p, "an answer over %"
                                               APR_SIZE_T_FMT " bytes",
                                               sink->max)
                                : curl_easy_strerror(rv);
        return;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
    out->status = (int)status;
    out->content_type = type ? apr_pstrdup(p, type) : NULL;
}

apr_status_t alexalink_upstream_post(apr_pool_t *p,
                                     const alx_link_request_t *req,
                                     apr_interval_time_t timeout,
                                     apr_size_t max_body,
                                     alx_upstream_answer_t *out)
{
    CURL *c;
    struct curl_slist *headers;
    sink_t sink;
    long ms = (long)(timeout / 1000);
    CURLcode rv;

    memset(out, 0, sizeof(*out));
    sink.max = max_body;
    sink.len = 0;
    sink.over = 0;
    sink.buf = apr_palloc(p, max_body + 1);
    c = curl_easy_init();
    headers = c ? request_headers(p, req) : NULL;
    if (!headers) {
        if (c)
            curl_easy_cleanup(c);
        return APR_ENOMEM;
    }
    rv = set_options(c, req, headers, ms > 0 ? ms : 1, &sink);
    if (rv == CURLE_OK)
        rv = curl_easy_perform(c);
    answer_from(p, c, rv, &sink, out);
    curl_easy_cleanup(c);
    curl_slist_free_all(headers);
    return APR_SUCCESS;
}

#ifdef ALX_TEST_HOOKS
/* Test builds only (configure --enable-test-hooks): SetHandler
 * alexalink-test-upstream makes the keep-alive's call to ?url=URL (a
 * fixed refresh, Basic credentials "test:test") with mod_proxy's timeout
 * for that URL, and answers what came back as JSON, so the call's
 * timeout, TLS verification, redirects and bound are tested alone. */
#include "http_protocol.h"
#include "http_request.h"
#include "alexalink_proxy.h"
#include "apr_escape.h"

static const char *json_text(apr_pool_t *p, const char *s)
{
    return s ? apr_pstrcat(p, "\"", apr_pescape_echo(p, s, 1), "\"", NULL)
             : "null";
}

int alexalink_upstream_test_handler(request_rec *r)
{
    alx_link_request_t req;
    alx_upstream_answer_t a;
    const char *url = r->args && !strncmp(r->args, "url=", 4)
                      ? apr_pstrdup(r->pool, r->args + 4) : NULL;
    apr_interval_time_t timeout;
    apr_time_t start = apr_time_now();

    if (!r->handler || strcmp(r->handler, "alexalink-test-upstream"))
        return DECLINED;
    if (!url || ap_unescape_urlencoded((char *)url) != OK)
        return HTTP_BAD_REQUEST;
    req.url = url;
    req.body = "grant_type=refresh_token&refresh_token=test-refresh";
    req.len = strlen(req.body);
    req.authorization = "Basic dGVzdDp0ZXN0";
    timeout = alexalink_proxy_url_timeout(r->pool, r->server, url);
    if (alexalink_upstream_post(r->pool, &req, timeout, 65536, &a)
        != APR_SUCCESS)
        return HTTP_INTERNAL_SERVER_ERROR;
    ap_set_content_type(r, "application/json");
    ap_rprintf(r, "{\"status\":%d,\"content_type\":%s,\"len\":%"
               APR_SIZE_T_FMT ",\"body\":%s,\"error\":%s,\"ms\":%"
               APR_TIME_T_FMT "}", a.status, json_text(r->pool,
               a.content_type), a.len, json_text(r->pool, a.len < 4096
               ? a.body : NULL), json_text(r->pool, a.error),
               apr_time_as_msec(apr_time_now() - start));
    return OK;
}
#endif

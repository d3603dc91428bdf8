/* What mod_proxy will do with a token request: how long it may wait for the
 * upstream, so that an in-flight claim lives exactly as long as its request
 * can still be answered (SPEC "Refresh grace"). mod_proxy is not linked in:
 * its configuration is read through its module record, and its worker
 * lookup is found at run time, once, when mod_proxy is loaded. */

#include <dlfcn.h>

#include "alexalink_proxy.h"
#include "mod_proxy.h"

typedef proxy_worker *(*get_worker_fn)(apr_pool_t *p, proxy_balancer *b,
                                       proxy_server_conf *conf,
                                       const char *url);
typedef proxy_balancer *(*get_balancer_fn)(apr_pool_t *p,
                                           proxy_server_conf *conf,
                                           const char *url, int careactive);

/* Kept in every server's configuration, read-only once the children run. */
void alexalink_proxy_post_config(server_rec *s)
{
    module *m = ap_find_linked_module("mod_proxy.c");
    void *self = m ? dlopen(NULL, RTLD_LAZY) : NULL;
    void *fn = self ? dlsym(self, "ap_proxy_get_worker") : NULL;
    void *bfn = self ? dlsym(self, "ap_proxy_get_balancer") : NULL;
    server_rec *vs;

    for (vs = s; vs; vs = vs->next) {
        alexalink_server_conf_get(vs)->proxy_module = m;
        alexalink_server_conf_get(vs)->proxy_get_worker = fn;
        alexalink_server_conf_get(vs)->proxy_get_balancer = bfn;
    }
    if (self)
        dlclose(self);
}

/* A worker's own timeout=, else ProxyTimeout, else Timeout (mod_proxy's
 * order). */
static apr_interval_time_t server_timeout(const server_rec *s,
                                          const proxy_server_conf *conf,
                                          const proxy_worker *worker)
{
    if (worker && worker->s->timeout_set)
        return worker->s->timeout;
    if (conf && conf->timeout_set)
        return conf->timeout;
    return s->timeout;
}

static apr_interval_time_t worker_timeout(request_rec *r,
                                          const proxy_server_conf *conf,
                                          const proxy_worker *worker)
{
    return server_timeout(r->server, conf, worker);
}

/* Behind balancer://, any member may get the request: the longest of
 * their timeouts. */
static apr_interval_time_t balancer_timeout(request_rec *r,
                                            const proxy_server_conf *conf,
                                            const proxy_balancer *b)
{
    apr_interval_time_t longest = worker_timeout(r, conf, NULL), t;
    int i;

    for (i = 0; i < b->workers->nelts; i++) {
        t = worker_timeout(r, conf, APR_ARRAY_IDX(b->workers, i,
                                                  proxy_worker *));
        if (t > longest)
            longest = t;
    }
    return longest;
}

/* The socket timeout mod_proxy applies to this request's upstream. */
apr_interval_time_t alexalink_proxy_timeout(request_rec *r)
{
    const alx_server_conf *sc = alexalink_server_conf_get(r->server);
    get_worker_fn get_worker = (get_worker_fn)sc->proxy_get_worker;
    get_balancer_fn get_balancer = (get_balancer_fn)sc->proxy_get_balancer;
    proxy_server_conf *conf;
    proxy_balancer *b;
    const char *url;

    if (!sc->proxy_module)
        return r->server->timeout;
    conf = ap_get_module_config(r->server->module_config, sc->proxy_module);
    if (!conf || !r->filename || strncmp(r->filename, "proxy:", 6))
        return worker_timeout(r, conf, NULL);
    url = r->filename + 6;
    if (!strncasecmp(url, "balancer://", 11))
        return get_balancer && (b = get_balancer(r->pool, conf, url, 0))
               ? balancer_timeout(r, conf, b) : worker_timeout(r, conf, NULL);
    return worker_timeout(r, conf, get_worker
                          ? get_worker(r->pool, NULL, conf, url) : NULL);
}

/* Outside a request (the keep-alive): the timeout of the first server's
 * worker for url, else the main server's ProxyTimeout, else its Timeout.
 * A link does not remember its vhost, and a worker's URL does. */
apr_interval_time_t alexalink_proxy_url_timeout(apr_pool_t *p, server_rec *s,
                                                const char *url)
{
    const alx_server_conf *sc = alexalink_server_conf_get(s);
    get_worker_fn get_worker = (get_worker_fn)sc->proxy_get_worker;
    proxy_worker *w;
    server_rec *vs;

    if (!sc->proxy_module)
        return s->timeout;
    for (vs = s; vs && get_worker && url; vs = vs->next) {
        proxy_server_conf *conf = ap_get_module_config(vs->module_config,
                                                       sc->proxy_module);

        if (conf && (w = get_worker(p, NULL, conf, url)) != NULL)
            return server_timeout(vs, conf, w);
    }
    return server_timeout(s, ap_get_module_config(s->module_config,
                                                  sc->proxy_module), NULL);
}

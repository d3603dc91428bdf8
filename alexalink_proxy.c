/* What mod_proxy will do with a token request: how long it may wait for the
 * upstream, so that an in-flight claim lives exactly as long as its request
 * can still be answered (SPEC "Refresh grace"). mod_proxy is not linked in:
 * its configuration is read through its module record, and its worker
 * lookup is found at run time, once, when mod_proxy is loaded. */

#include <dlfcn.h>

#include "mod_alexalink.h"
#include "mod_proxy.h"

typedef proxy_worker *(*get_worker_fn)(apr_pool_t *p, proxy_balancer *b,
                                       proxy_server_conf *conf,
                                       const char *url);

/* Kept in every server's configuration, read-only once the children run. */
void alexalink_proxy_post_config(server_rec *s)
{
    module *m = ap_find_linked_module("mod_proxy.c");
    void *self = m ? dlopen(NULL, RTLD_LAZY) : NULL;
    void *fn = self ? dlsym(self, "ap_proxy_get_worker") : NULL;
    server_rec *vs;

    for (vs = s; vs; vs = vs->next) {
        alexalink_server_conf_get(vs)->proxy_module = m;
        alexalink_server_conf_get(vs)->proxy_get_worker = fn;
    }
    if (self)
        dlclose(self);
}

/* The socket timeout mod_proxy applies to this request's upstream: the
 * worker's timeout=, else ProxyTimeout, else Timeout (mod_proxy's own
 * order). */
apr_interval_time_t alexalink_proxy_timeout(request_rec *r)
{
    const alx_server_conf *sc = alexalink_server_conf_get(r->server);
    get_worker_fn get_worker = (get_worker_fn)sc->proxy_get_worker;
    proxy_server_conf *conf;
    proxy_worker *worker = NULL;

    if (!sc->proxy_module)
        return r->server->timeout;
    conf = ap_get_module_config(r->server->module_config, sc->proxy_module);
    if (get_worker && r->filename && !strncmp(r->filename, "proxy:", 6))
        worker = get_worker(r->pool, NULL, conf, r->filename + 6);
    if (worker && worker->s->timeout_set)
        return worker->s->timeout;
    if (conf && conf->timeout_set)
        return conf->timeout;
    return r->server->timeout;
}

/* mod_alexalink: makes an existing OAuth 2.0 server's token endpoint answer
 * the way Amazon Alexa account linking requires. This file is the roof:
 * the hook registration, each hook's order, and the module record; the
 * directives are alexalink_config.c's, the glue rooms adapt httpd to lib/
 * (plain C, unit-tested and fuzzed alone), where the decisions are made. */

#include "mod_alexalink.h"
#include "alexalink_upstream.h"

/* The rooms in the order they depend on each other: the shared memory
 * first (each vhost gets its own server record there, which the others
 * then fill), then what mod_proxy will do, then the store. */
static int post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                       server_rec *s)
{
    int rv = alexalink_shared_post_config(pconf, plog, ptemp, s);

    alexalink_proxy_post_config(s);
    if (rv == OK)
        rv = alexalink_store_post_config(pconf, plog, ptemp, s);
    return rv != OK ? rv : alexalink_keepalive_post_config(pconf, s);
}

static void child_init(apr_pool_t *p, server_rec *s)
{
    alexalink_config_child_init(p, s);
    alexalink_store_child_init(p, s);
}

static void register_hooks(apr_pool_t *p)
{
    (void)p;
    /* first, before any directive is read: the rooms' configuration */
    alexalink_config_register(&alexalink_module);
    /* a mutex type is registered before the Mutex directives are read */
    ap_hook_pre_config(alexalink_shared_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* mod_status's section and our own handler, which looks only at its
     * own SetHandler name: no order among the others matters */
    alexalink_status_register_hooks();
#ifdef ALX_TEST_HOOKS
    /* test builds only: the link store's own handler, which looks only at
     * its own SetHandler name */
    ap_hook_handler(alexalink_linkstore_test_handler, NULL, NULL,
                    APR_HOOK_MIDDLE);
#endif
    /* the shared memory and the store are made once the configuration is
     * read, and attached to in every child; nothing orders them against
     * other modules */
    /* configtest's checks across directives (the keep-alive's key and
     * modules): after every module's directives are read */
    ap_hook_check_config(alexalink_config_check, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_MIDDLE);
    /* last: the token request's body is read, and refresh grace decided,
     * only for a request every other module's fixups let through */
    ap_hook_fixups(alexalink_token_fixups, NULL, NULL, APR_HOOK_LAST);
    /* before mod_proxy's fixup reads r->args */
    ap_hook_fixups(alexalink_authorize_fixups, NULL, NULL,
                   APR_HOOK_REALLY_FIRST);
    /* before mod_proxy's handler: a rejection, a replay or a waiter's
     * answer is ours to send, and the upstream never sees the request */
    ap_hook_handler(alexalink_token_handler, NULL, NULL, APR_HOOK_REALLY_FIRST);
#ifdef ALX_TEST_HOOKS
    /* test builds: the keep-alive's upstream call, alone */
    ap_hook_handler(alexalink_upstream_test_handler, NULL, NULL,
                    APR_HOOK_MIDDLE);
#endif
    /* the answer filters go on the upstream's answer and on an error page
     * Apache makes itself (mod_proxy's 502, a redirect of mod_alias or
     * mod_rewrite's R=) */
    ap_hook_insert_filter(alexalink_token_insert_filter, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_insert_error_filter(alexalink_token_insert_filter, NULL, NULL,
                                APR_HOOK_MIDDLE);
    ap_hook_insert_filter(alexalink_authorize_insert_filter, NULL, NULL,
                          APR_HOOK_MIDDLE);
    ap_hook_insert_error_filter(alexalink_authorize_insert_filter, NULL, NULL,
                                APR_HOOK_MIDDLE);
    /* before mod_log_config writes the access log: our notes are in it */
    ap_hook_log_transaction(alexalink_log_exchange, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_register_input_filter(ALX_FILTER_BODY, alexalink_token_body_filter, NULL,
                             AP_FTYPE_RESOURCE);
    ap_register_output_filter(ALX_FILTER_TOKEN, alexalink_token_out_filter, NULL,
                              AP_FTYPE_RESOURCE);
    /* after mod_deflate's INFLATE (RESOURCE - 1): pages are scanned plain */
    ap_register_output_filter(ALX_FILTER_AUTHZ, alexalink_authorize_out_filter,
                              NULL, AP_FTYPE_RESOURCE);
}

module AP_MODULE_DECLARE_DATA alexalink_module = {
    STANDARD20_MODULE_STUFF,
    alexalink_config_create_dir,
    alexalink_config_merge_dir,
    alexalink_config_create_server,
    NULL,
    alexalink_config_cmds,
    register_hooks,
    AP_MODULE_FLAG_NONE
};

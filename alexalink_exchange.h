/* What one token exchange learned, shared by the rooms that handle it: the
 * token endpoint makes it, refresh grace, the log line and the counters
 * read it. */
#ifndef ALEXALINK_EXCHANGE_H
#define ALEXALINK_EXCHANGE_H

#include "alexalink_config.h"
#include "alx_answer.h"
#include "alx_exchange.h"
#include "alx_refresh.h"
#include "alx_request.h"

/* What one token exchange learned; lives in r->request_config. */
struct alx_exchange_rec {
    const alx_dir_conf *conf;
    alx_token_request_t req;
    int answer_status;          /* answered by alexalink_token_handler: */
    const char *answer_json;    /*   a rejection, replay or wait timeout */
    const char *answer_verdict; /*   rejected:<reason>, replayed, ... */
    alx_verdict_e answer_verdict_kind;
    apr_int64_t retry_after;   /* seconds, for a 503 of our own (0: 1) */
    const char *answer_content_type; /* NULL: JSON */
    int described;              /* its shape and TTL are set (a replay, a 503) */
    int truncated;              /* the upstream did not finish its answer */
    int answered;               /* the output filter saw the whole answer */
    int status_in;
    alx_answer_t answer;
    const char *verdict;        /* as the log prints it */
    alx_verdict_e verdict_kind; /* its first word, for counting */
    apr_int64_t ms;
    alx_refresh_t *grace;       /* the refresh protocol's, when it applies
                                   (alexalink_grace.c) */
};

/* The refresh token sent upstream: the successor when chained. */
static APR_INLINE const char *alexalink_exchange_sent_token(
    const alx_exchange_rec *x)
{
    return x->grace && x->grace->sent_token ? x->grace->sent_token
                                            : x->req.refresh_token;
}

static APR_INLINE int alexalink_exchange_chained(const alx_exchange_rec *x)
{
    return x->grace && x->grace->chained;
}

#endif

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

/* The Content-Type of every answer Alexa gets (SPEC "Token endpoint"). */
#define ALX_JSON_TYPE "application/json;charset=UTF-8"

/* The answer the module gives instead of the upstream's (a rejection, a
 * replay, a 503 of refresh grace); alexalink_token_handler sends it. */
typedef struct {
    int status;                 /* 0: none, the upstream answers */
    const char *json;
    const char *content_type;   /* NULL: JSON */
    const char *verdict;        /* rejected:<reason>, replayed, ... */
    alx_verdict_e verdict_kind;
    apr_int64_t retry_after;    /* seconds, for a 503 (0: 1) */
    int described;              /* its shape and TTL are set where it was
                                   made (a replay, a 503) */
} alx_own_answer_t;

/* What came back from the upstream. */
typedef struct {
    int status;
    int answered;               /* the output filter saw the whole answer */
    int truncated;              /* the upstream did not finish its answer */
} alx_upstream_t;

/* What the exchange line says of it all. */
typedef struct {
    const char *verdict;        /* as the log prints it */
    alx_verdict_e kind;         /* its first word, for counting */
    apr_int64_t ms;
} alx_result_t;

/* A kept link's part in the exchange (alexalink_links.c). */
typedef struct alx_links_rec alx_links_rec;

/* What one token exchange learned; lives in r->request_config. */
struct alx_exchange_rec {
    const alx_dir_conf *conf;
    alx_token_request_t req;    /* the request, as checked and rewritten */
    alx_own_answer_t own;
    alx_upstream_t upstream;
    alx_answer_t answer;        /* the answer as normalised (or our own's
                                   shape and TTL) */
    alx_result_t result;
    alx_refresh_t *grace;       /* the refresh protocol's, when it applies
                                   (alexalink_grace.c) */
    alx_links_rec *links;       /* when keep-alive applies */
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

/* The exchange record's log: the ALX0100 line (with ALX0101 over budget
 * and ALX0103 for short upstream lifetimes), the request notes, and the
 * hook where the status page counts the exchange. */

#include "alexalink_log.h"
#include "alexalink_token.h"
#include "alexalink_status.h"
#include "alexalink_shared.h"
#include "alx_alexa.h"

#define ALX_HONEST_TTL_GAP apr_time_from_sec(3600)
/* A token whose exp falls this little short of what Alexa was told is not
 * named: clocks differ. */
#define ALX_HONEST_TTL_SLACK 60
/* A refresh token that lives less than a day is bound to the login session
 * (Keycloak's 1800 s without offline_access), not kept for a link. */
#define ALX_SESSION_BOUND 86400

/* Shapes and TTL of an answer the module gave itself: carried from where
 * it was made (x->own.described), else read back from its body. */
static void describe_own_answer(request_rec *r, alx_exchange_rec *x)
{
    x->upstream.status = 0;
    alx_exchange_own_answer(&x->answer, x->own.status, x->own.described);
    if (!x->own.described)
        alx_exchange_describe(r->pool, x->own.json, &x->answer.shape_out,
                              &x->answer.ttl_out);
}

/* alx_exchange_level's decision as httpd's level. */
static int exchange_level(const alx_exchange_rec *x, int over_budget)
{
    alx_exchange_facts_t f;

    f.own = x->own.json != NULL;
    f.own_status = x->own.status;
    f.own_kind = x->own.verdict_kind;
    f.over_budget = over_budget;
    f.report = alexalink_conf_report(x->conf);
    switch (alx_exchange_level(&x->answer, &f)) {
    case ALX_EXCHANGE_WARNING:
        return APLOG_WARNING;
    case ALX_EXCHANGE_NOTICE:
        return APLOG_NOTICE;
    default:
        return APLOG_INFO;
    }
}

/* Added, not set: the log hook runs once per request and nothing else
 * writes these, and setn would first look through every note. */
static void set_notes(request_rec *r, const alx_exchange_rec *x)
{
    apr_table_t *n = r->notes;

    apr_table_addn(n, "alexalink-grant",
                   alx_log_safe(r->pool, x->req.grant_type, 32));
    apr_table_addn(n, "alexalink-shape-in",
                   x->answer.shape_in ? x->answer.shape_in : "-");
    apr_table_addn(n, "alexalink-shape-out",
                   x->answer.shape_out ? x->answer.shape_out : "-");
    apr_table_addn(n, "alexalink-verdict", x->result.verdict ? x->result.verdict : "-");
    apr_table_addn(n, "alexalink-ms", apr_off_t_toa(r->pool, (apr_off_t)x->result.ms));
    apr_table_addn(n, "alexalink-refresh", alx_refresh_name(x->answer.refresh));
}

/* What the access token really lives: the upstream's expires_in, or the
 * token's own exp when that says less (SPEC "Learned lifetimes"); *learned
 * when it is the exp. ALX_TTL_ABSENT when neither is known. */
static apr_int64_t real_lifetime(const alx_answer_t *a, int *learned)
{
    *learned = a->ttl_real > 0 && (a->ttl_in < 0 || a->ttl_real < a->ttl_in);
    return *learned ? a->ttl_real : a->ttl_in >= 0 ? a->ttl_in : ALX_TTL_ABSENT;
}

/* ALX0103's rest, for a lifetime under Alexa's floor. */
static const char *below_floor(request_rec *r, const alx_answer_t *a,
                               apr_int64_t life, const char *said)
{
    return apr_psprintf(r->pool, ", below Alexa's " ALX_ALEXA_MIN_TTL_TEXT
                        " s%s; Alexa was told %" APR_INT64_T_FMT " s, but the "
                        "token still dies after %" APR_INT64_T_FMT " s: a "
                        "resource server that checks the real expiry rejects "
                        "it before Alexa refreshes, and a skill that then "
                        "answers EXPIRED_AUTHORIZATION_CREDENTIAL unlinks the "
                        "customer. Fix it upstream: an access-token lifetime "
                        "above " ALX_ALEXA_MIN_TTL_TEXT " s (Keycloak and "
                        "Spring Authorization Server default to 300 s). Said "
                        "once an hour per client and vhost", said, a->ttl_out,
                        life);
}

/* ALX0103's rest, for a token whose exp comes before what Alexa was told. */
static const char *sooner_than_told(request_rec *r, const alx_answer_t *a,
                                    const char *said)
{
    return apr_psprintf(r->pool, "%s, less than the %" APR_INT64_T_FMT " s "
                        "Alexa was told: a resource server that checks the "
                        "real expiry rejects them before Alexa refreshes, and "
                        "a skill that then answers "
                        "EXPIRED_AUTHORIZATION_CREDENTIAL unlinks the "
                        "customer. Fix it upstream: an expires_in that "
                        "matches the token's lifetime. Said once an hour per "
                        "client and vhost", said, a->ttl_out);
}

/* Raising expires_in makes linking succeed, but the token still dies when
 * the upstream says, or when its own exp says, if sooner than Alexa was
 * told (a minute's slack for clocks): told once an hour per client and
 * vhost. */
static void honest_lifetime(request_rec *r, const alx_exchange_rec *x)
{
    const alx_answer_t *a = &x->answer;
    const char *vhost, *said;
    int learned;
    apr_int64_t life = real_lifetime(a, &learned);

    if (x->own.json || a->kind != ALX_KIND_TOKEN || life < 0
        || (life >= ALX_ALEXA_MIN_TTL
            && !(learned && a->ttl_out > life + ALX_HONEST_TTL_SLACK)))
        return;
    vhost = alexalink_vhost_name(r->pool, r->server);
    if (!alexalink_shared_once(r, alx_once_key(vhost, x->req.client_id),
                               ALX_HONEST_TTL_GAP))
        return;
    said = !learned ? ""
           : a->ttl_in >= 0 ? apr_psprintf(r->pool, " (by the token's own "
                                           "exp; its expires_in said %"
                                           APR_INT64_T_FMT ")", a->ttl_in)
                            : " (by the token's own exp; no expires_in)";
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "ALX0103: the upstream's "
                  "access tokens for client %s live %" APR_INT64_T_FMT " s%s",
                  alx_log_safe(r->pool, x->req.client_id, 64), life,
                  life >= ALX_ALEXA_MIN_TTL ? sooner_than_told(r, a, said)
                                            : below_floor(r, a, life, said));
}

/* A refresh token that dies with the login session, not the link (SPEC
 * "Learned lifetimes"): a customer quiet that long is unlinked. Once an
 * hour per client and vhost, apart from ALX0103's. */
static void session_bound(request_rec *r, const alx_exchange_rec *x)
{
    const alx_answer_t *a = &x->answer;
    const char *vhost;

    if (x->own.json || a->kind != ALX_KIND_TOKEN || a->refresh_life <= 0
        || a->refresh_life >= ALX_SESSION_BOUND)
        return;
    vhost = alexalink_vhost_name(r->pool, r->server);
    if (!alexalink_shared_once(r, alx_once_key(vhost, apr_pstrcat(
                                   r->pool, "refresh-life ",
                                   x->req.client_id, NULL)),
                               ALX_HONEST_TTL_GAP))
        return;
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "ALX0104: the upstream's "
                  "refresh tokens for client %s live %" APR_INT64_T_FMT " s "
                  "(%s): they are bound to the login session, not to the "
                  "link, so a customer who does not use the skill for that "
                  "long is unlinked. Fix: AlexaLinkForceOffline oidc (with "
                  "offline_access Keycloak, Logto, Auth0 and Duende issue "
                  "refresh tokens that outlive the session), a longer idle "
                  "limit upstream, or AlexaLinkKeepAlive below it. Said once "
                  "an hour per client and vhost",
                  alx_log_safe(r->pool, x->req.client_id, 64),
                  a->refresh_life, a->refresh_life_from_exp
                  ? "by the refresh token's own exp" : "refresh_expires_in");
}

/* The exchange line (SPEC "Logging and status"), ALX0100. */
static void log_exchange(request_rec *r, const alx_exchange_rec *x, int level)
{
    alx_exchange_t line = {0};
    const char *hint;

    line.grant_type = x->req.grant_type;
    line.client_id = x->req.client_id;
    line.status_in = x->upstream.status;
    line.status_out = r->status;
    line.shape_in = x->answer.shape_in;
    line.shape_out = x->answer.shape_out;
    line.ttl_in = x->answer.ttl_in;
    line.ttl_out = x->answer.ttl_out;
    line.refresh = alx_refresh_name(x->answer.refresh);
    line.verdict = x->result.verdict;
    line.ms = x->result.ms;
    hint = alx_warning_hint(r->pool, x->answer.warnings);
    ap_log_rerror(APLOG_MARK, level, 0, r,
                  "ALX0100: token exchange %s%s%s%s",
                  alx_exchange_line(r->pool, &line),
                  hint ? " hint=\"" : "", hint ? hint : "", hint ? "\"" : "");
}

/* ALX0100, ALX0101, ALX0103 and ALX0104 for an exchange that was not
 * rejected. */
static void log_lines(request_rec *r, const alx_exchange_rec *x)
{
    apr_int64_t budget_ms = apr_time_as_msec(alexalink_conf_time_budget(
                                                 x->conf));
    int over = x->result.ms > budget_ms;
    int level = exchange_level(x, over);

    if (APLOG_R_IS_LEVEL(r, level)) /* no line built for a level that is off */
        log_exchange(r, x, level);
    if (over)
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "ALX0101: token answer took %" APR_INT64_T_FMT " ms, "
                      "over AlexaLinkTimeBudget (%" APR_INT64_T_FMT " ms): "
                      "Alexa gives up after " ALX_ALEXA_TIME_LIMIT_TEXT
                      " s; speed up the upstream",
                      x->result.ms, budget_ms);
    honest_lifetime(r, x);
    session_bound(r, x);
}

/* The log_transaction hook. Grace claims are not ours to end here: a
 * request-pool cleanup does (alexalink_grace.c). */
int alexalink_log_exchange(request_rec *r)
{
    alx_exchange_rec *x = alexalink_exchange_get(r);

    if (!x)
        return DECLINED;
    if (x->own.json) {
        x->result.verdict = x->own.verdict;
        x->result.kind = x->own.verdict_kind;
        x->result.ms = alexalink_elapsed_ms(r);
        if (x->result.kind != ALX_VERDICT_REJECTED)
            describe_own_answer(r, x);
    }
    else if (!x->upstream.answered) {   /* the filter never ran: no body at all */
        x->upstream.status = r->status;
        x->result.kind = alx_exchange_no_body(&x->answer);
        x->result.verdict = alx_verdict_word(r->pool, x->result.kind, ALX_NO_BODY);
        x->result.ms = alexalink_elapsed_ms(r);
    }
    set_notes(r, x);
    if (x->result.kind != ALX_VERDICT_REJECTED)   /* ALX0110 said it all */
        log_lines(r, x);
    alexalink_status_exchange(r, x);
    return DECLINED;
}

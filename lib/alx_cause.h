/* Why a token exchange or an authorization flow failed, or what it broke:
 * one row per cause, its word (the status views' cause key, the label of
 * its failures_total counter), the counter that counts it
 * (ALX_CAUSE_UNCOUNTED: counted by region or not at all) and the sentence
 * an admin reads, the seed article's cause and fix. */
#ifndef ALX_CAUSE_H
#define ALX_CAUSE_H

#include "alx_alexa.h"

#define ALX_CAUSES(X) \
    X(REQUEST_REJECTED, "request_rejected", ALX_STAT_fail_rejected, \
      "Alexa's token request was refused before it reached your " \
      "authorization server: Amazon supports HTTP Basic and credentials in " \
      "the request body; any other client authentication fails.") \
    X(UPSTREAM_ERROR, "upstream_error", ALX_STAT_fail_upstream_error, \
      "Your authorization server refused the request (invalid_grant, " \
      "invalid_client ...): check the client id and secret Alexa was given " \
      "and that codes are used once, within their lifetime.") \
    X(SERVER_ERROR, "server_error", ALX_STAT_fail_server_error, \
      "Your authorization server failed: check its logs for what it sends " \
      "back to Alexa when presented with the authorization code.") \
    X(UNUSABLE_ANSWER, "unusable_answer", ALX_STAT_fail_unusable, \
      "The access token must be sent in JSON with a 200 OK status code; an " \
      "answer the module cannot make so makes account linking fail.") \
    X(TRUNCATED, "truncated", ALX_STAT_fail_truncated, \
      "Your authorization server ended its answer unfinished: check its " \
      "logs, and any proxy or gateway between it and Alexa.") \
    X(DUPLICATE_WAIT_TIMEOUT, "duplicate_wait_timeout", \
      ALX_STAT_fail_wait_timeout, \
      "A repeated request waited too long for the first one's answer: " \
      "check that your server is responding within " \
      ALX_ALEXA_TIME_LIMIT_TEXT " seconds.") \
    X(OVER_BUDGET, "over_budget", ALX_STAT_over_budget, \
      "The token answer came later than the time budget: check that your " \
      "server is responding within " ALX_ALEXA_TIME_LIMIT_TEXT " seconds.") \
    X(SHORT_LIFETIME, "short_lifetime", ALX_STAT_short_lifetime, \
      "Ensure that the access token time to live (TTL) is more than 5 " \
      "minutes, or Alexa has to link accounts again.") \
    X(STATE_DROPPED, "state_dropped", ALX_STAT_state_dropped, \
      "The redirect back to Alexa lost the state parameter: make sure the " \
      "state parameter stays the same throughout the account linking " \
      "process.") \
    X(STATE_CHANGED, "state_changed", ALX_STAT_state_changed, \
      "The redirect back to Alexa carried another state: make sure the " \
      "state parameter stays the same throughout the account linking " \
      "process.") \
    X(FLOW_ERROR, "flow_error", ALX_CAUSE_UNCOUNTED, \
      "Your authorization server sent an error back to Alexa: check its " \
      "logs for why the login or consent failed.") \
    X(IMPLICIT_IN_QUERY, "implicit_in_query", ALX_STAT_implicit_query, \
      "For implicit grants the token and state must be in a URL fragment " \
      "starting with #; they cannot be in a query string.") \
    X(INSECURE, "insecure", ALX_STAT_insecure, \
      "The account linking URL must be a HTTPS URL, with a certificate " \
      "from an Amazon approved CA authority.") \
    X(DOMAINS, "domains", ALX_STAT_domains, \
      "The login page pulls content from other domains: add them under " \
      "Developer Console > Tools > Account Linking > Domain List.") \
    X(POPUPS, "popups", ALX_STAT_popups, \
      "Popups aren't supported: if you try to link with a popup, it won't " \
      "work.")

/* The counter column is expanded only where alx_stats.h is included. */
#define ALX_CAUSE_UNCOUNTED (-1)

#define ALX_CAUSE_ENUM(id, word, counter, sentence) ALX_CAUSE_##id,
typedef enum {
    ALX_CAUSE_NONE = -1,
    ALX_CAUSES(ALX_CAUSE_ENUM)
    ALX_CAUSE_COUNT
} alx_cause_e;

/* The cause's word; "" for ALX_CAUSE_NONE or out of range. */
const char *alx_cause_word(alx_cause_e cause);

/* The cause's counter (alx_stat_e), or ALX_CAUSE_UNCOUNTED. */
int alx_cause_counter(alx_cause_e cause);

/* The cause whose word is word; ALX_CAUSE_NONE for NULL or no such word. */
alx_cause_e alx_cause_of(const char *word);

#endif

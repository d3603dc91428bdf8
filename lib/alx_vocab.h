/* The module's small vocabularies, one table each: the value, the word the
 * logs, notes and status views print, and what else belongs to it. The
 * enums and name functions are made from the tables, so no list is kept
 * in step with another by position. */
#ifndef ALX_VOCAB_H
#define ALX_VOCAB_H

#include <apr.h>
#include <string.h>

#include "alx_alexa.h"

/* What AlexaLink says a location is, in the order its error message lists
 * the words; the values are fixed (OFF is a zeroed configuration's). */
#define ALX_ROLES(X) \
    X(TOKEN, 1, "token") \
    X(AUTHORIZE, 2, "authorize") \
    X(OFF, 0, "off")

#define ALX_ROLE_ENUM(id, value, word) ALX_ROLE_##id = value,
typedef enum { ALX_ROLES(ALX_ROLE_ENUM) } alx_role_e;

#define ALX_ROLE_CASE(id, value, word) case ALX_ROLE_##id: return word;
static APR_INLINE const char *alx_role_name(alx_role_e role)
{
    switch (role) { ALX_ROLES(ALX_ROLE_CASE) }
    return "-";
}

/* AlexaLinkForceOffline: the ways of asking the upstream for a refresh
 * token, as bits (BOTH is both), in the order its error message lists the
 * words; On is GOOGLE, kept for compatibility. */
#define ALX_OFFLINE_WAYS(X) \
    X(OFF, 0, "off") \
    X(GOOGLE, 1, "google") \
    X(OIDC, 2, "oidc") \
    X(BOTH, 3, "both")

#define ALX_OFFLINE_ENUM(id, value, word) ALX_OFFLINE_##id = value,
typedef enum { ALX_OFFLINE_WAYS(ALX_OFFLINE_ENUM) } alx_offline_e;

/* Token-request grant types the status page counts apart, with the stem of
 * their exchanges_total counter (ALX_STAT_exchange_<stem>); OTHER is every
 * other grant type and none. */
#define ALX_GRANTS(X) \
    X(AUTHORIZATION_CODE, "authorization_code", code) \
    X(REFRESH_TOKEN, "refresh_token", refresh) \
    X(OTHER, "other", other)

#define ALX_GRANT_ENUM(id, word, counter) ALX_GRANT_##id,
typedef enum { ALX_GRANTS(ALX_GRANT_ENUM) ALX_GRANT_COUNT } alx_grant_e;

#define ALX_GRANT_CASE(id, word, counter) case ALX_GRANT_##id: return word;
static APR_INLINE const char *alx_grant_name(alx_grant_e grant)
{
    switch (grant) { ALX_GRANTS(ALX_GRANT_CASE) default: break; }
    return "other";
}

/* The grant type named grant_type (may be NULL): OTHER unless one of the
 * table's. */
#define ALX_GRANT_MATCH(id, word, counter) \
    if (ALX_GRANT_##id != ALX_GRANT_OTHER && !strcmp(grant_type, word)) \
        return ALX_GRANT_##id;
static APR_INLINE alx_grant_e alx_grant_of(const char *grant_type)
{
    if (!grant_type)
        return ALX_GRANT_OTHER;
    ALX_GRANTS(ALX_GRANT_MATCH)
    return ALX_GRANT_OTHER;
}

/* Alexa's regions, by the host of the redirect back to Alexa (NULL: no
 * host of Alexa's own), with the stem of their flows_total counters
 * (ALX_STAT_flow_<stem>_ok, _failed). NONE is not an Alexa host; OTHER a
 * host AlexaLinkRedirectHosts lists besides Alexa's three. */
#define ALX_REGIONS(X) \
    X(NONE, "-", NULL, other) \
    X(NA, "NA", ALX_ALEXA_HOST_NA, na) \
    X(EU, "EU", ALX_ALEXA_HOST_EU, eu) \
    X(FE, "FE", ALX_ALEXA_HOST_FE, fe) \
    X(OTHER, "other", NULL, other)

#define ALX_REGION_ENUM(id, word, host, counter) ALX_REGION_##id,
typedef enum { ALX_REGIONS(ALX_REGION_ENUM) ALX_REGION_COUNT } alx_region_e;

/* What a redirect's Location says: the flow's word in the logs (flow=)
 * and the status page's events. */
#define ALX_FLOWS(X) \
    X(NONE, "-")            /* not to an Alexa host: left alone */ \
    X(CODE, "code")         /* carries code= */ \
    X(IMPLICIT, "implicit") /* carries access_token= (query or fragment) */ \
    X(ERROR, "error")       /* carries error= */ \
    X(UNKNOWN, "unknown")   /* to Alexa, but none of those */

#define ALX_FLOW_ENUM(id, word) ALX_FLOW_##id,
typedef enum { ALX_FLOWS(ALX_FLOW_ENUM) ALX_FLOW_COUNT } alx_flow_e;

#define ALX_FLOW_CASE(id, word) case ALX_FLOW_##id: return word;
static APR_INLINE const char *alx_flow_name(alx_flow_e flow)
{
    switch (flow) { ALX_FLOWS(ALX_FLOW_CASE) default: break; }
    return "-";
}

/* What became of the state Alexa sent (state= in the logs). */
#define ALX_STATE_FATES(X) \
    X(NOT_EXPECTED, "-")    /* no state was known for this flow */ \
    X(KEPT, "kept") \
    X(DROPPED, "dropped") \
    X(CHANGED, "changed") \
    X(AMBIGUOUS, "ambiguous") /* a later step, and several flows under way \
                                 for the browser: not judged (set by the \
                                 glue from the flow record) */

#define ALX_STATE_ENUM(id, word) ALX_STATE_##id,
typedef enum {
    ALX_STATE_FATES(ALX_STATE_ENUM) ALX_STATE_COUNT
} alx_state_fate_e;

#endif

/* What Alexa requires of account linking, written once: every check, log
 * line, help text and default that states one of these facts takes it
 * from here (the Alexa account-linking requirements and the seed article). */
#ifndef ALX_ALEXA_H
#define ALX_ALEXA_H

#include <apr_general.h>   /* APR_STRINGIFY: a fact as the logs print it */

/* Access tokens must live more than 5 minutes: one that dies sooner is
 * dead before Alexa refreshes it. In seconds, and as the logs print it. */
#define ALX_ALEXA_MIN_TTL 360
#define ALX_ALEXA_MIN_TTL_TEXT APR_STRINGIFY(ALX_ALEXA_MIN_TTL)

/* Alexa gives up on a token answer after 4.5 s: AlexaLinkTimeBudget's
 * default and a bound of the latency histogram. In seconds (as help texts
 * and sentences print it) and in milliseconds. */
#define ALX_ALEXA_TIME_LIMIT 4.5
#define ALX_ALEXA_TIME_LIMIT_TEXT APR_STRINGIFY(ALX_ALEXA_TIME_LIMIT)
#define ALX_ALEXA_TIME_LIMIT_MS ((int)(ALX_ALEXA_TIME_LIMIT * 1000))

/* The hosts Alexa's redirect_uri names, one per region (the regions'
 * table is ALX_REGIONS in alx_vocab.h), and all three as
 * AlexaLinkRedirectHosts' default says them. */
#define ALX_ALEXA_HOST_NA "pitangui.amazon.com"
#define ALX_ALEXA_HOST_EU "layla.amazon.com"
#define ALX_ALEXA_HOST_FE "alexa.amazon.co.jp"
#define ALX_ALEXA_HOSTS \
    ALX_ALEXA_HOST_NA " " ALX_ALEXA_HOST_EU " " ALX_ALEXA_HOST_FE

/* The authorization and token URLs must be HTTPS on this port. */
#define ALX_ALEXA_PORT 443
#define ALX_ALEXA_PORT_TEXT APR_STRINGIFY(ALX_ALEXA_PORT)

#endif

/* The authorization flow as Alexa runs it: the request that starts it, and
 * the redirect (3xx Location) that ends it back at Alexa. */
#ifndef ALX_AUTHZ_H
#define ALX_AUTHZ_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "alx_vocab.h"

/* Regions, flows and state fates are tables in alx_vocab.h. */

/* The region's word (ALX_REGIONS); "-" out of range. */
const char *alx_region_name(alx_region_e region);

/* The region of host (case-insensitive, a port and trailing dot ignored)
 * when it is one of hosts (const char *; NULL means Alexa's three),
 * else ALX_REGION_NONE. A listed host other than the three known names is
 * ALX_REGION_OTHER; list entries are compared the same way (no wildcards). */
alx_region_e alx_authz_region(const char *host, const apr_array_header_t *hosts);

/* An authorization request (the query of GET /authorize, or a POSTed form).
 * state and the rest are as sent (decoded, the first of duplicates); NULL
 * when absent. A query that does not parse (bad escape, encoded NUL) sets
 * bad and nothing else: every field stays NULL and region NONE, since the
 * upstream may read such a query differently. */
typedef struct {
    const char *redirect_uri;
    const char *redirect_host;  /* lower-case, no port nor trailing dot;
                                   NULL unless an absolute http(s) URL with
                                   a sound host */
    alx_region_e region;        /* of redirect_host; NONE: not an Alexa flow */
    const char *state;          /* a secret-ish value: never log it */
    const char *client_id;
    const char *response_type;  /* "code", "token", ... */
    int bad;                    /* the query does not parse (bad escape) */
} alx_authz_request_t;

/* Whether response_type (space-separated words) names token: an implicit
 * grant. NULL is not. */
int alx_authz_implicit(const char *response_type);

/* Reads query (len bytes, no leading '?'; may be NULL). */
void alx_authz_request_parse(apr_pool_t *p, const char *query, apr_size_t len,
                             const apr_array_header_t *hosts,
                             alx_authz_request_t *out);

/* query asking the upstream for a refresh token in the ways named
 * (ALX_OFFLINE_* bits). Google's: access_type=offline and prompt=consent,
 * the first occurrence of either name (compared decoded) made exactly that
 * segment, later ones removed with their '&', a missing one appended after
 * '&' (none after an empty query or a trailing '&'). OIDC's:
 * offline_access added once to the first scope, or scope=offline_access
 * appended. Every other byte of the query is kept as it was; a NULL query
 * gives just what is added. *changed holds the bits of the ways that
 * changed something; 0, and query itself returned, when the query already
 * asked in every way named. */
const char *alx_authz_force_offline(apr_pool_t *p, const char *query,
                                    int ways, int *changed);

/* The fate's word (ALX_STATE_FATES); "-" out of range. */
const char *alx_state_fate_name(alx_state_fate_e fate);

typedef struct {
    alx_region_e region;
    const char *host;           /* lower-case */
    int spa_form;               /* /spa/...account-linking-status.html?vendorId=
                                   (the older form, with a query of its own) */
    alx_flow_e flow;
    alx_state_fate_e state;
    const char *error;          /* the error= code (bounded, printable) */
    int implicit_in_query;      /* implicit parameters were in the query
                                   (moved to the fragment when restoring) */
    int fragment_moved;         /* ... and were moved */
    int ttl_raised;             /* implicit expires_in raised to the floor */
    const char *ttl_in;         /* implicit expires_in as sent (digits or
                                   NULL); not a secret */
    apr_array_header_t *states; /* const char *: every state= compared (see
                                   alx_authz_redirect), decoded; NULL when
                                   the Location is not Alexa's */
    int malformed;              /* the Location did not parse: left alone */
    const char *location;       /* the Location to send; == the input when
                                   nothing changed (compare pointers) */
} alx_redirect_t;

/* Longer Locations are malformed (reported, never rewritten). */
#define ALX_AUTHZ_LOCATION_MAX 8192

/* Checks and fixes one Location value (absolute, relative or protocol-
 * relative; percent-encoding kept as it is). expected_state is the state
 * of the request this redirect answers (NULL: none known), restore says
 * whether a dropped or changed state is put back (and implicit parameters
 * moved) or only reported, min_ttl the floor for an implicit expires_in
 * (0: none). Relative Locations are never Alexa's. Bytes of the Location
 * that need no change are kept exactly: a fixed Location differs from the
 * input only in the state parameter, the moved parameters and the raised
 * expires_in.
 *
 * Only http, https and protocol-relative Locations have a host; their host
 * (userinfo and port dropped, %XX decoded, lower-case, one trailing dot
 * dropped) decides the region. The flow is error (error= in the query or
 * fragment), else code, else implicit (access_token=), else unknown.
 * The state compared is every state= (decoded) of the part that carries
 * error= or else code= (the query when query and fragment both do); for
 * implicit and unknown, of query and fragment together: kept when all
 * equal expected_state,
 * dropped when none, else changed. Restoring makes the first of them
 * state=<escaped expected_state> and removes the others (appended when
 * none); unknown flows are only reported. Implicit: access_token,
 * token_type, expires_in, scope, refresh_token and state found in the
 * query move, as sent and in order, to the end of the fragment; the '?' is
 * dropped when nothing stays in the query. ttl_in is the first expires_in
 * (query, then fragment).
 *
 * Malformed: longer than ALX_AUTHZ_LOCATION_MAX, a control byte anywhere,
 * a '\' where a browser would read it as '/' (authority, or a leading
 * "/\"), a bad authority (space, empty host, bad or decoded-forbidden
 * %XX in the host, unbalanced brackets, a port not of at most 5 digits
 * up to 65535), or for an Alexa host a bad escape in the query or
 * fragment. Without a sound host
 * the flow is NONE; with an Alexa host everything is classified as above
 * but nothing is rewritten. */
void alx_authz_redirect(apr_pool_t *p, const char *location,
                        const apr_array_header_t *hosts,
                        const char *expected_state, int restore,
                        long long min_ttl, alx_redirect_t *out);

/* What alx_authz_redirect_opts is told about the flow. */
typedef struct {
    const char *expected_state; /* the state in hand (NULL: none) */
    int restore;                /* put a dropped or changed state back */
    int enforce;                /* move implicit parameters to the fragment
                                   and raise expires_in (AlexaLinkMode
                                   enforce), whatever is known of state */
    int implicit;               /* response_type=token is known for this
                                   flow: access_token with code is implicit
                                   too (error still wins) */
    long long min_ttl;          /* 0: none */
} alx_redirect_opts_t;

/* alx_authz_redirect with the flow's facts apart: alx_authz_redirect is
 * this with enforce = restore and implicit = 0. A flow without state in
 * hand (a later login step, a request that carried none) still gets its
 * implicit parameters moved when enforcing. */
void alx_authz_redirect_opts(apr_pool_t *p, const char *location,
                             const apr_array_header_t *hosts,
                             const alx_redirect_opts_t *o,
                             alx_redirect_t *out);

#endif

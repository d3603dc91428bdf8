/* Parsers for directive values. Each returns 0 and sets *out, or -1. */
#ifndef ALX_VALUES_H
#define ALX_VALUES_H

#include <apr.h>
#include <apr_time.h>

/* Whole non-negative seconds, decimal digits only, at most max. */
int alx_value_seconds(const char *arg, apr_int64_t max, apr_int64_t *out);

/* Positive seconds with up to 3 decimals ("4.5", "10", "0.25"),
 * at most 3600 s; *out in microseconds. */
int alx_value_decimal_seconds(const char *arg, apr_interval_time_t *out);

/* Positive byte count with an optional k/K (1024) or m/M (1048576) suffix,
 * at most 64 MiB. */
int alx_value_size(const char *arg, apr_off_t *out);

/* A host name as AlexaLinkRedirectHosts and AlexaLinkDomainList take it:
 * dot-separated DNS labels, an optional "*." in front and ":port" behind,
 * a trailing dot allowed; no scheme, path or user info. */
int alx_value_host(const char *arg);

/* A duration in whole seconds as the keep-alive directives take it:
 * digits with an optional s, m, h or d suffix (plain digits are seconds),
 * from 0 to max seconds. */
int alx_value_duration(const char *arg, apr_int64_t max, apr_int64_t *out);

/* An absolute http or https URL to send a request to: scheme, a host as
 * alx_value_host takes it (no "*.") or a bracketed IPv6 address, an
 * optional port, then nothing or a path (and query) of visible ASCII; no
 * user info, no fragment. */
int alx_value_url(const char *arg);

#endif

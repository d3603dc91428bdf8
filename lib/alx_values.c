/* Parsers for directive values. Each returns 0 and sets *out, or -1. */
#include <apr_lib.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alx_values.h"

#define ALX_MAX_DECIMAL_SECONDS 3600
#define ALX_MAX_SIZE            (APR_INT64_C(64) * 1024 * 1024)

/* Reads decimal digits while the value stays <= max; strtol would accept
 * signs, white space and other bases, which a directive should not. */
static int read_digits(const char **s, apr_int64_t max, apr_int64_t *out)
{
    const char *c = *s;
    apr_int64_t v = 0;

    if (!apr_isdigit(*c))
        return -1;
    for (; apr_isdigit(*c); c++) {
        if (*c - '0' > max || v > (max - (*c - '0')) / 10)
            return -1;
        v = v * 10 + (*c - '0');
    }
    *s = c;
    *out = v;
    return 0;
}

int alx_value_seconds(const char *arg, apr_int64_t max, apr_int64_t *out)
{
    apr_int64_t v;

    if (!arg || max < 0 || read_digits(&arg, max, &v) != 0 || *arg)
        return -1;
    *out = v;
    return 0;
}

/* Digits on both sides of the point: ".5" and "5." are typos more often
 * than not, and a directive value should read one way only. */
int alx_value_decimal_seconds(const char *arg, apr_interval_time_t *out)
{
    apr_int64_t whole, millis = 0;
    int decimals = 0;

    if (!arg || read_digits(&arg, ALX_MAX_DECIMAL_SECONDS, &whole) != 0)
        return -1;
    if (*arg == '.') {
        arg++;
        if (!apr_isdigit(*arg))
            return -1;
        for (; apr_isdigit(*arg) && decimals < 3; arg++, decimals++)
            millis = millis * 10 + (*arg - '0');
        for (; decimals < 3; decimals++)
            millis *= 10;
    }
    if (*arg)
        return -1;
    millis += whole * 1000;
    if (millis <= 0 || millis > ALX_MAX_DECIMAL_SECONDS * 1000)
        return -1;
    *out = (apr_interval_time_t)millis * 1000;
    return 0;
}

int alx_value_size(const char *arg, apr_off_t *out)
{
    apr_int64_t v, unit = 1;

    if (!arg || read_digits(&arg, ALX_MAX_SIZE, &v) != 0)
        return -1;
    if (*arg == 'k' || *arg == 'K')
        unit = 1024;
    else if (*arg == 'm' || *arg == 'M')
        unit = 1024 * 1024;
    if (unit > 1)
        arg++;
    if (*arg || v == 0 || v > ALX_MAX_SIZE / unit)
        return -1;
    *out = (apr_off_t)(v * unit);
    return 0;
}

/* DNS labels of letters, digits and '-' (not at either end), dot-separated,
 * an optional leading "*." and trailing ":port"; what a Location or a page
 * can name. URLs, paths and user info are the usual mistakes. */
int alx_value_host(const char *arg)
{
    const char *c = arg;
    apr_size_t label = 0, total = 0;
    apr_int64_t port;

    if (!c)
        return -1;
    if (c[0] == '*' && c[1] == '.')
        c += 2;
    for (; *c && *c != ':'; c++, total++) {
        if (*c == '.') {
            if (label == 0 || c[-1] == '-')
                return -1;
            label = 0;
        }
        else if (apr_isalnum(*c) || (*c == '-' && label > 0)) {
            if (++label > 63)
                return -1;
        }
        else
            return -1;
    }
    if (total == 0 || total > 253 || (label > 0 && c[-1] == '-'))
        return -1;
    if (*c == ':') {
        c++;
        if (read_digits(&c, 65535, &port) != 0 || *c)
            return -1;
    }
    return 0;
}

/* One suffix, lower case only as the other directives' are not: "1D" is
 * as likely a typo for "1d" as for "1 day", and reads one way. */
int alx_value_duration(const char *arg, apr_int64_t max, apr_int64_t *out)
{
    apr_int64_t v, unit = 1;

    if (!arg || max < 0 || read_digits(&arg, max, &v) != 0)
        return -1;
    switch (*arg) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case '\0': break;
    default: return -1;
    }
    if (*arg && *++arg)
        return -1;
    if (v > max / unit)
        return -1;
    *out = v * unit;
    return 0;
}

/* [v6]: hex digits, ':' and '.', at least one ':'. */
static const char *url_ipv6(const char *c)
{
    int colons = 0;

    for (c++; *c && *c != ']'; c++) {
        if (*c == ':')
            colons++;
        else if (!apr_isxdigit(*c) && *c != '.')
            return NULL;
    }
    return *c == ']' && colons >= 2 ? c + 1 : NULL;
}

static int url_port(const char *c, const char *end)
{
    apr_int64_t port;
    const char *d = c;

    if (d == end)
        return 0;
    if (*d++ != ':' || read_digits(&d, 65535, &port) != 0 || d != end
        || port == 0)
        return -1;
    return 0;
}

int alx_value_url(const char *arg)
{
    const char *host, *end, *c;
    char *name;
    int rv;

    if (!arg)
        return -1;
    if (!strncasecmp(arg, "https://", 8))
        host = arg + 8;
    else if (!strncasecmp(arg, "http://", 7))
        host = arg + 7;
    else
        return -1;
    end = host + strcspn(host, "/?#");
    for (c = arg; *c; c++)
        if (*c <= ' ' || *c >= 0x7f || *c == '#')
            return -1;
    if (end == host || memchr(host, '@', (apr_size_t)(end - host)))
        return -1;
    if (*host == '[') {
        c = url_ipv6(host);
        return c && c <= end && url_port(c, end) == 0 ? 0 : -1;
    }
    if (*host == '*')
        return -1;
    /* alx_value_host takes the host and its port */
    name = malloc((apr_size_t)(end - host) + 1);
    if (!name)
        return -1;
    memcpy(name, host, (apr_size_t)(end - host));
    name[end - host] = '\0';
    c = strchr(name, ':');
    rv = alx_value_host(name) == 0 && (!c || url_port(c, c + strlen(c)) == 0)
         ? 0 : -1;
    free(name);
    return rv;
}

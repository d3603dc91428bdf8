/* HTTP Basic client authentication codec (RFC 7617, RFC 6749 2.3.1). */
#include <string.h>
#include <strings.h>

#include <apr_base64.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "alx_basic.h"

static int base64_byte(char c)
{
    return apr_isalnum(c) || c == '+' || c == '/';
}

/* Value of a base64 alphabet byte (base64_byte() already holds). */
static int base64_value(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : 63;
}

/* APR's decoder stops silently at the first foreign byte, so the alphabet,
 * the padding and the unused low bits are checked here: only the canonical
 * padded encoding of some byte string passes. */
static int base64_is_strict(const char *s, apr_size_t len)
{
    apr_size_t i, pad = 0, data;
    int last;

    if (len == 0 || len % 4 != 0)
        return 0;
    while (pad < 2 && s[len - 1 - pad] == '=')
        pad++;
    data = len - pad;
    for (i = 0; i < data; i++)
        if (!base64_byte(s[i]))
            return 0;
    last = base64_value(s[data - 1]);
    if (pad == 1)
        return (last & 0x03) == 0;
    if (pad == 2)
        return (last & 0x0f) == 0;
    return 1;
}

static int has_control_byte(const char *s)
{
    for (; *s; s++)
        if (apr_iscntrl(*s))
            return 1;
    return 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return c - 'A' + 10;
}

/* The byte of the "%XX" at s (len bytes left), or -1 when the '%' is to stay
 * literal: not followed by two hex digits, or it would decode to NUL or
 * another control byte (decoding must never create one; see alx_basic.h). */
static int escape_value(const char *s, apr_size_t len)
{
    int v;

    if (len < 3 || !apr_isxdigit(s[1]) || !apr_isxdigit(s[2]))
        return -1;
    v = hex_value(s[1]) * 16 + hex_value(s[2]);
    return apr_iscntrl(v) ? -1 : v;
}

/* Lenient decoding of one half of "id:secret": most clients send raw bytes,
 * and secrets are often base64, so only a valid %XX is decoded; '+' and any
 * other '%' are literal. It cannot fail, and never adds a control byte. */
static char *lenient_unescape(apr_pool_t *p, const char *s, apr_size_t len)
{
    char *out = apr_palloc(p, len + 1), *d = out;
    apr_size_t i;
    int v;

    for (i = 0; i < len; i++) {
        v = s[i] == '%' ? escape_value(s + i, len - i) : -1;
        if (v < 0) {
            *d++ = s[i];
        }
        else {
            *d++ = (char)v;
            i += 2;
        }
    }
    *d = '\0';
    return out;
}

/* Splits "id:secret" at the first ':' and decodes both halves leniently. */
static apr_status_t split_credentials(apr_pool_t *p, const char *raw,
                                      apr_size_t len, const char **client_id,
                                      const char **client_secret,
                                      const char **err)
{
    const char *colon = memchr(raw, ':', len);
    apr_size_t id_len;
    char *id, *secret;

    if (!colon) {
        *err = "Basic credentials without ':'";
        return APR_EINVAL;
    }
    id_len = (apr_size_t)(colon - raw);
    id = lenient_unescape(p, raw, id_len);
    secret = lenient_unescape(p, colon + 1, len - id_len - 1);
    if (!*id) {
        *err = "empty client id in Basic credentials";
        return APR_EINVAL;
    }
    /* Decoding adds none, so any control byte here was sent raw. */
    if (has_control_byte(id) || has_control_byte(secret)) {
        *err = "control byte in Basic credentials";
        return APR_EINVAL;
    }
    *client_id = id;
    *client_secret = secret;
    return APR_SUCCESS;
}

apr_status_t alx_basic_parse(apr_pool_t *p, const char *header,
                             const char **client_id, const char **client_secret,
                             const char **err)
{
    const char *token;
    apr_size_t len;
    char *raw;
    int raw_len;

    *err = NULL;
    /* "Basic" then a tab or nothing is still our scheme, only malformed. */
    if (!header || strncasecmp(header, "Basic", 5) != 0
        || (header[5] != ' ' && header[5] != '\t' && header[5] != '\0'))
        return APR_ENOENT;
    token = header + 5;
    while (*token == ' ')
        token++;
    len = strlen(token);
    /* httpd keeps trailing white space of a header value; it is not ours. */
    while (len && (token[len - 1] == ' ' || token[len - 1] == '\t'))
        len--;
    if (!base64_is_strict(token, len)) {
        *err = "bad base64 in Basic credentials";
        return APR_EINVAL;
    }
    token = apr_pstrmemdup(p, token, len);
    raw = apr_palloc(p, apr_base64_decode_len(token));
    raw_len = apr_base64_decode_binary((unsigned char *)raw, token);
    if (raw_len < 0 || memchr(raw, '\0', (apr_size_t)raw_len)) {
        *err = "NUL byte in Basic credentials";
        return APR_EINVAL;
    }
    return split_credentials(p, raw, (apr_size_t)raw_len, client_id,
                             client_secret, err);
}

int alx_basic_can_carry(const char *client_id, const char *client_secret)
{
    return client_id && *client_id && !has_control_byte(client_id)
           && !(client_secret && has_control_byte(client_secret));
}

/* Bytes that build writes as they are: what alx_form_escape keeps, and
 * control bytes. An escaped control byte would parse back as the literal
 * text "%01", not the byte; raw, it makes the header fail to parse, as
 * alx_basic_can_carry promises. Inside base64 it cannot break the header. */
static int kept_raw(unsigned char c)
{
    return apr_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '*'
           || apr_iscntrl(c);
}

/* Every other byte as %XX, a space too ("%20", not '+'): the lenient reader
 * takes '+' literally, and every RFC 6749 reader decodes %20 as well. */
static const char *basic_escape(apr_pool_t *p, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *u = (const unsigned char *)s;
    char *out = apr_palloc(p, 3 * strlen(s) + 1), *d = out;

    for (; *u; u++) {
        if (kept_raw(*u)) {
            *d++ = (char)*u;
        }
        else {
            *d++ = '%';
            *d++ = hex[*u >> 4];
            *d++ = hex[*u & 0x0f];
        }
    }
    *d = '\0';
    return out;
}

char *alx_basic_build(apr_pool_t *p, const char *client_id,
                      const char *client_secret)
{
    const char *plain = apr_pstrcat(p, basic_escape(p, client_id), ":",
                                    basic_escape(p, client_secret
                                                    ? client_secret : ""),
                                    NULL);
    int plain_len = (int)strlen(plain);
    char *out = apr_palloc(p, 6 + apr_base64_encode_len(plain_len));

    memcpy(out, "Basic ", 6);
    apr_base64_encode_binary(out + 6, (const unsigned char *)plain, plain_len);
    return out;
}

/* HTTP Basic client authentication codec (RFC 7617, RFC 6749 2.3.1). */
#include <string.h>
#include <strings.h>

#include <apr_base64.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "alx_basic.h"
#include "alx_form.h"

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

/* Splits "id:secret" (both form-urlencoded) and decodes both halves. */
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
    if (alx_form_unescape(p, raw, id_len, &id) != APR_SUCCESS
        || alx_form_unescape(p, colon + 1, len - id_len - 1, &secret)
           != APR_SUCCESS) {
        *err = "bad percent-encoding or NUL in Basic credentials";
        return APR_EINVAL;
    }
    if (!*id) {
        *err = "empty client id in Basic credentials";
        return APR_EINVAL;
    }
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

char *alx_basic_build(apr_pool_t *p, const char *client_id,
                      const char *client_secret)
{
    const char *plain = apr_pstrcat(p, alx_form_escape(p, client_id), ":",
                                    alx_form_escape(p, client_secret
                                                       ? client_secret : ""),
                                    NULL);
    int plain_len = (int)strlen(plain);
    char *out = apr_palloc(p, 6 + apr_base64_encode_len(plain_len));

    memcpy(out, "Basic ", 6);
    apr_base64_encode_binary(out + 6, (const unsigned char *)plain, plain_len);
    return out;
}

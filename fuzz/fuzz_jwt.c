/* libFuzzer target for lib/alx_jwt: any bytes as a token, and any bytes as
 * a payload inside a well-formed one. A read exp is always in range, the
 * lifetime never negative, and nothing reads past len. */
#include <stdint.h>
#include <string.h>

#include <apr_base64.h>
#include <apr_strings.h>

#include "alx_jwt.h"
#include "fuzz.h"

static void check_token(apr_pool_t *p, const char *t, apr_size_t len)
{
    apr_int64_t exp, iat, life;
    int read = alx_jwt_times(p, t, len, &exp, &iat);

    check(read == 0 || read == 1);
    if (!read)
        check(exp == ALX_JWT_NONE && iat == ALX_JWT_NONE);
    else
        check(exp >= 1 && exp <= ((apr_int64_t)1 << 40)
              && (iat == ALX_JWT_NONE || iat >= 1));
    life = alx_jwt_lifetime(p, t, len, 1700000000);
    check(read ? life >= 0 : life == ALX_JWT_NONE);
    check(alx_jwt_left(p, t, len, 1700000000) == (read ? (exp > 1700000000
          ? exp - 1700000000 : 0) : ALX_JWT_NONE));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static apr_pool_t *p;
    char *copy, *enc, *t;
    apr_size_t n, i;

    if (!fuzz_root) {
        fuzz_start();
        apr_pool_create(&p, fuzz_root);
    }
    apr_pool_clear(p);
    /* the bytes themselves, unterminated: len bounds every read */
    copy = apr_palloc(p, size ? size : 1);
    memcpy(copy, data, size);
    check_token(p, copy, size);
    /* the bytes as the payload of a token */
    if (size > ALX_JWT_MAX_PAYLOAD)
        return 0;
    enc = apr_palloc(p, apr_base64_encode_len((int)size));
    apr_base64_encode_binary(enc, data, (int)size);
    n = strlen(enc);
    while (n && enc[n - 1] == '=')
        enc[--n] = '\0';
    for (i = 0; i < n; i++)
        enc[i] = enc[i] == '+' ? '-' : enc[i] == '/' ? '_' : enc[i];
    t = apr_pstrcat(p, "eyJhbGciOiJub25lIn0.", enc, ".sig", NULL);
    check_token(p, t, strlen(t));
    return 0;
}

/* SHA-256, HMAC-SHA256 and AES-256-GCM sealing (lib/alx_crypto.h). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "alx_crypto.h"

/* EVP lengths are int and the sealed length is unsigned int. */
#define PLAIN_MAX ((apr_size_t)INT_MAX - ALX_CRYPTO_OVERHEAD)

struct alx_crypto {
    EVP_MAC *hmac;
    EVP_MAC_CTX *hmac_sha256;   /* digest chosen, no key: duplicated */
    EVP_CIPHER *gcm;
    EVP_MD *sha256;
};

static apr_status_t crypto_free(void *data)
{
    alx_crypto_t *c = data;

    EVP_MAC_CTX_free(c->hmac_sha256);
    EVP_MAC_free(c->hmac);
    EVP_CIPHER_free(c->gcm);
    EVP_MD_free(c->sha256);
    return APR_SUCCESS;
}

apr_status_t alx_crypto_create(apr_pool_t *p, alx_crypto_t **out)
{
    alx_crypto_t *c = apr_pcalloc(p, sizeof(*c));
    OSSL_PARAM params[2];

    *out = NULL;
    apr_pool_cleanup_register(p, c, crypto_free, apr_pool_cleanup_null);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    c->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    c->hmac_sha256 = c->hmac ? EVP_MAC_CTX_new(c->hmac) : NULL;
    c->gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    c->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!c->hmac_sha256 || !EVP_MAC_CTX_set_params(c->hmac_sha256, params)
        || !c->gcm || !c->sha256)
        return APR_EGENERAL;
    *out = c;
    return APR_SUCCESS;
}

apr_status_t alx_crypto_sha256(const alx_crypto_t *c, const void *data,
                               apr_size_t len, unsigned char *out)
{
    unsigned int n = 0;

    return c && EVP_Digest(data, len, out, &n, c->sha256, NULL)
           && n == ALX_CRYPTO_SHA256_LEN ? APR_SUCCESS : APR_EGENERAL;
}

/* ---- HMAC ---- */

apr_status_t alx_crypto_hmac_init(alx_crypto_hmac_t *h, const alx_crypto_t *c,
                                  const void *key, apr_size_t key_len)
{
    EVP_MAC_CTX *keyed = c ? EVP_MAC_CTX_dup(c->hmac_sha256) : NULL;
    /* A zero-length HMAC key is legal; OpenSSL wants a non-NULL pointer. */
    static const unsigned char none[1];

    if (keyed && !EVP_MAC_init(keyed, key_len ? key : none, key_len, NULL)) {
        EVP_MAC_CTX_free(keyed);
        keyed = NULL;
    }
    h->ctx = keyed;
    h->fresh = keyed != NULL;
    return keyed ? APR_SUCCESS : APR_EGENERAL;
}

/* EVP_MAC_init without a key starts the next MAC from the pads the keying
 * computed; right after the keying there is nothing to reset. */
apr_status_t alx_crypto_hmac(alx_crypto_hmac_t *h, const void *data,
                             apr_size_t len, unsigned char *out)
{
    EVP_MAC_CTX *keyed = h ? h->ctx : NULL;
    size_t outlen = 0;
    int fresh = keyed && h->fresh;

    if (keyed)
        h->fresh = 0;
    return keyed && (fresh || EVP_MAC_init(keyed, NULL, 0, NULL))
           && EVP_MAC_update(keyed, data, len)
           && EVP_MAC_final(keyed, out, &outlen, ALX_CRYPTO_SHA256_LEN)
           && outlen == ALX_CRYPTO_SHA256_LEN ? APR_SUCCESS : APR_EGENERAL;
}

void alx_crypto_hmac_end(alx_crypto_hmac_t *h)
{
    EVP_MAC_CTX_free(h->ctx);
    h->ctx = NULL;
    h->fresh = 0;
}

apr_status_t alx_crypto_hmac_sha256(const alx_crypto_t *c, const void *key,
                                    apr_size_t key_len, const void *data,
                                    apr_size_t len, unsigned char *out)
{
    alx_crypto_hmac_t h;
    apr_status_t rv = alx_crypto_hmac_init(&h, c, key, key_len);

    if (rv == APR_SUCCESS)
        rv = alx_crypto_hmac(&h, data, len, out);
    alx_crypto_hmac_end(&h);
    return rv;
}

/* ---- AES-256-GCM ---- */

static int gcm_encrypt(const alx_crypto_t *c, const unsigned char *key,
                       const unsigned char *aad, int aad_len,
                       const unsigned char *nonce,
                       const unsigned char *plain, int plain_len,
                       unsigned char *cipher, unsigned char *tag)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0, good;

    good = ctx != NULL
           && EVP_EncryptInit_ex2(ctx, c->gcm, key, nonce, NULL)
           && EVP_EncryptUpdate(ctx, NULL, &n, aad, aad_len)
           && EVP_EncryptUpdate(ctx, cipher, &n, plain, plain_len)
           && EVP_EncryptFinal_ex(ctx, cipher + n, &fin)
           && n + fin == plain_len
           && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG,
                                  ALX_CRYPTO_TAG_LEN, tag);
    EVP_CIPHER_CTX_free(ctx);
    return good;
}

/* Authenticated decryption: false for any change to nonce, ciphertext,
 * tag or aad, and for another key. */
static int gcm_decrypt(const alx_crypto_t *c, const unsigned char *key,
                       const unsigned char *aad, int aad_len,
                       const unsigned char *nonce,
                       const unsigned char *cipher, int cipher_len,
                       const unsigned char *tag, unsigned char *plain)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    unsigned char tag_copy[ALX_CRYPTO_TAG_LEN];
    int n = 0, fin = 0, good;

    memcpy(tag_copy, tag, sizeof(tag_copy));
    good = ctx != NULL
           && EVP_DecryptInit_ex2(ctx, c->gcm, key, nonce, NULL)
           && EVP_DecryptUpdate(ctx, NULL, &n, aad, aad_len)
           && EVP_DecryptUpdate(ctx, plain, &n, cipher, cipher_len)
           && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG,
                                  ALX_CRYPTO_TAG_LEN, tag_copy)
           && EVP_DecryptFinal_ex(ctx, plain + n, &fin) > 0
           && n + fin == cipher_len;
    EVP_CIPHER_CTX_free(ctx);
    return good;
}

apr_status_t alx_crypto_seal(apr_pool_t *p, const alx_crypto_t *c,
                             const unsigned char *key, const char *magic,
                             const unsigned char *aad, apr_size_t aad_len,
                             const void *plain, apr_size_t plain_len,
                             unsigned char **out, unsigned int *outlen)
{
    unsigned char *sealed, *nonce;

    *out = NULL;
    *outlen = 0;
    if (!magic || strlen(magic) != ALX_CRYPTO_MAGIC_LEN
        || plain_len > PLAIN_MAX || aad_len > INT_MAX
        || (plain_len && !plain))
        return APR_EINVAL;
    if (!c || !key)
        return APR_EGENERAL;
    sealed = apr_palloc(p, ALX_CRYPTO_OVERHEAD + plain_len);
    nonce = sealed + ALX_CRYPTO_MAGIC_LEN + 1;
    memcpy(sealed, magic, ALX_CRYPTO_MAGIC_LEN);
    sealed[ALX_CRYPTO_MAGIC_LEN] = ALX_CRYPTO_VERSION;
    /* the kernel's generator (getrandom): one system call, where
     * RAND_bytes costs ~6,700 instructions of DRBG and locking */
    if (apr_generate_random_bytes(nonce, ALX_CRYPTO_NONCE_LEN) != APR_SUCCESS
        || !gcm_encrypt(c, key, aad, (int)aad_len, nonce, plain,
                        (int)plain_len, sealed + ALX_CRYPTO_HEAD_LEN,
                        sealed + ALX_CRYPTO_HEAD_LEN + plain_len))
        return APR_EGENERAL;
    *out = sealed;
    *outlen = (unsigned int)(ALX_CRYPTO_OVERHEAD + plain_len);
    return APR_SUCCESS;
}

unsigned char *alx_crypto_open(const alx_crypto_t *c, const unsigned char *key,
                               const char *magic, const unsigned char *aad,
                               apr_size_t aad_len, const unsigned char *data,
                               unsigned int len, apr_size_t *plain_len)
{
    unsigned char *plain;

    *plain_len = 0;
    if (!c || !key || !magic || strlen(magic) != ALX_CRYPTO_MAGIC_LEN
        || !data || len < ALX_CRYPTO_OVERHEAD || len > INT_MAX
        || aad_len > INT_MAX
        || memcmp(data, magic, ALX_CRYPTO_MAGIC_LEN) != 0
        || data[ALX_CRYPTO_MAGIC_LEN] != ALX_CRYPTO_VERSION)
        return NULL;
    *plain_len = len - ALX_CRYPTO_OVERHEAD;
    plain = malloc(*plain_len ? *plain_len : 1);
    if (plain && !gcm_decrypt(c, key, aad, (int)aad_len,
                              data + ALX_CRYPTO_MAGIC_LEN + 1,
                              data + ALX_CRYPTO_HEAD_LEN, (int)*plain_len,
                              data + ALX_CRYPTO_HEAD_LEN + *plain_len,
                              plain)) {
        alx_crypto_release(plain, *plain_len);
        plain = NULL;
    }
    if (!plain)
        *plain_len = 0;
    return plain;
}

void alx_crypto_release(unsigned char *plain, apr_size_t len)
{
    if (!plain)
        return;
    OPENSSL_cleanse(plain, len);
    free(plain);
}

/* The module's cryptography: SHA-256, HMAC-SHA256 and AES-256-GCM sealing,
 * over OpenSSL objects fetched once per process. Grace records and the
 * authorization flows' records both seal with it. */
#ifndef ALX_CRYPTO_H
#define ALX_CRYPTO_H

#include <apr_pools.h>

#define ALX_CRYPTO_SHA256_LEN 32
#define ALX_CRYPTO_KEY_LEN    32   /* AES-256 */
#define ALX_CRYPTO_MAGIC_LEN  4
#define ALX_CRYPTO_VERSION    0x01
#define ALX_CRYPTO_NONCE_LEN  12   /* GCM's default IV length */
#define ALX_CRYPTO_TAG_LEN    16
/* magic | version | nonce before the ciphertext */
#define ALX_CRYPTO_HEAD_LEN (ALX_CRYPTO_MAGIC_LEN + 1 + ALX_CRYPTO_NONCE_LEN)
/* what sealing adds to the plaintext: the head and the tag */
#define ALX_CRYPTO_OVERHEAD (ALX_CRYPTO_HEAD_LEN + ALX_CRYPTO_TAG_LEN)

/* The OpenSSL objects hashing and sealing use, fetched once per process
 * (a child's child_init): fetching per request costs more than the
 * cryptography itself. Read-only once made, so a child's threads share it;
 * freed with p. */
typedef struct alx_crypto alx_crypto_t;
apr_status_t alx_crypto_create(apr_pool_t *p, alx_crypto_t **out);

/* SHA-256 of len bytes into out[32]. APR_EGENERAL without c. */
apr_status_t alx_crypto_sha256(const alx_crypto_t *c, const void *data,
                               apr_size_t len, unsigned char *out);

/* HMAC-SHA256(key, data) into out[32]. APR_EGENERAL without c. */
apr_status_t alx_crypto_hmac_sha256(const alx_crypto_t *c, const void *key,
                                    apr_size_t key_len, const void *data,
                                    apr_size_t len, unsigned char *out);

/* An HMAC-SHA256 keyed once for several messages: the key's pads are
 * computed once, each alx_crypto_hmac starts from them (the first from the
 * keying itself). The caller holds it, alx_crypto_hmac_end frees it; ctx
 * is NULL when c is NULL or OpenSSL failed, and every MAC then fails. */
typedef struct {
    void *ctx;      /* the keyed EVP_MAC_CTX */
    int fresh;      /* keyed, no MAC made yet: no reset needed */
} alx_crypto_hmac_t;
apr_status_t alx_crypto_hmac_init(alx_crypto_hmac_t *h, const alx_crypto_t *c,
                                  const void *key, apr_size_t key_len);
apr_status_t alx_crypto_hmac(alx_crypto_hmac_t *h, const void *data,
                             apr_size_t len, unsigned char *out);
void alx_crypto_hmac_end(alx_crypto_hmac_t *h);

/* Seals plain: magic (ALX_CRYPTO_MAGIC_LEN bytes) | ALX_CRYPTO_VERSION |
 * random nonce | AES-256-GCM(key, plain) | tag, with aad as additional
 * data. *out from the pool. APR_EINVAL for a magic of another length or a
 * plaintext too long for OpenSSL's int lengths, APR_EGENERAL when OpenSSL
 * or the random source fails. */
apr_status_t alx_crypto_seal(apr_pool_t *p, const alx_crypto_t *c,
                             const unsigned char *key, const char *magic,
                             const unsigned char *aad, apr_size_t aad_len,
                             const void *plain, apr_size_t plain_len,
                             unsigned char **out, unsigned int *outlen);

/* The plaintext of what alx_crypto_seal made with this key, magic and
 * aad; NULL for anything else (another magic or version, short, any
 * change to nonce, ciphertext, tag or aad, another key). malloc'd, for the
 * caller to hand to alx_crypto_release; *plain_len its length. */
unsigned char *alx_crypto_open(const alx_crypto_t *c, const unsigned char *key,
                               const char *magic, const unsigned char *aad,
                               apr_size_t aad_len, const unsigned char *data,
                               unsigned int len, apr_size_t *plain_len);

/* Cleanses and frees what alx_crypto_open returned (NULL allowed). */
void alx_crypto_release(unsigned char *plain, apr_size_t len);

#endif

/* Unit tests for lib/alx_crypto.c: SHA-256 and HMAC-SHA256 against their
 * published vectors, AES-256-GCM sealing against the GCM spec's vectors
 * and against OpenSSL used directly, and every change a sealed value can
 * suffer refused. */
#include <limits.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <openssl/evp.h>

#include "alx_crypto.h"
#include "tap.h"

static alx_crypto_t *crypto;   /* made once, as a child does */

static const char *hex(apr_pool_t *p, const unsigned char *b, apr_size_t n)
{
    char *s = apr_palloc(p, 2 * n + 1);
    apr_size_t i;

    for (i = 0; i < n; i++)
        apr_snprintf(s + 2 * i, 3, "%02x", b[i]);
    s[2 * n] = '\0';
    return s;
}

static unsigned char *unhex(apr_pool_t *p, const char *s, apr_size_t *n)
{
    apr_size_t i, len = strlen(s) / 2;
    unsigned char *b = apr_palloc(p, len ? len : 1);

    for (i = 0; i < len; i++) {
        unsigned int v;

        sscanf(s + 2 * i, "%2x", &v);
        b[i] = (unsigned char)v;
    }
    *n = len;
    return b;
}

static const char *sha256_hex(apr_pool_t *p, const char *s)
{
    unsigned char out[ALX_CRYPTO_SHA256_LEN];

    if (alx_crypto_sha256(crypto, s, strlen(s), out) != APR_SUCCESS)
        return "failed";
    return hex(p, out, sizeof(out));
}

/* FIPS 180-2's examples. */
static void test_sha256(apr_pool_t *p)
{
    unsigned char out[ALX_CRYPTO_SHA256_LEN];

    is_str(sha256_hex(p, "abc"),
           "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
           "sha256 of abc");
    is_str(sha256_hex(p, ""),
           "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
           "sha256 of the empty string");
    is_str(sha256_hex(p, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomn"
                         "opnopq"),
           "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
           "sha256 of the two-block message");
    is_int(alx_crypto_sha256(NULL, "abc", 3, out), APR_EGENERAL,
           "sha256 without the crypto objects fails");
}

static const char *hmac_hex(apr_pool_t *p, const char *key_hex,
                            const char *data)
{
    unsigned char out[ALX_CRYPTO_SHA256_LEN];
    apr_size_t key_len;
    unsigned char *key = unhex(p, key_hex, &key_len);

    if (alx_crypto_hmac_sha256(crypto, key, key_len, data, strlen(data), out)
        != APR_SUCCESS)
        return "failed";
    return hex(p, out, sizeof(out));
}

/* RFC 4231 test cases 1, 2 and 6 (a key longer than SHA-256's block), and
 * the empty key and message. */
static void test_hmac(apr_pool_t *p)
{
    char key131[2 * 131 + 1];

    memset(key131, 'a', 2 * 131);   /* 131 bytes of 0xaa */
    key131[2 * 131] = '\0';
    is_str(hmac_hex(p, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "Hi There"),
           "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
           "RFC 4231 case 1");
    is_str(hmac_hex(p, "4a656665", "what do ya want for nothing?"),
           "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
           "RFC 4231 case 2");
    is_str(hmac_hex(p, key131,
                    "Test Using Larger Than Block-Size Key - Hash Key First"),
           "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
           "RFC 4231 case 6: a 131-byte key");
    is_str(hmac_hex(p, "", ""),
           "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad",
           "an empty key and message");
}

/* One keyed handle gives every message what a one-shot HMAC gives it, in
 * any order: nothing of one message carries into the next. */
static void test_hmac_keyed(apr_pool_t *p)
{
    unsigned char a[32], b[32], a2[32], want_b[32];
    alx_crypto_hmac_t h;

    is_int(alx_crypto_hmac_init(&h, crypto, "Jefe", 4), APR_SUCCESS,
           "a keyed handle is made");
    ok(alx_crypto_hmac(&h, "what do ya want for nothing?", 28, a)
       == APR_SUCCESS && alx_crypto_hmac(&h, "second", 6, b) == APR_SUCCESS
       && alx_crypto_hmac(&h, "what do ya want for nothing?", 28, a2)
          == APR_SUCCESS, "three messages with one handle");
    alx_crypto_hmac_sha256(crypto, "Jefe", 4, "second", 6, want_b);
    is_str(hex(p, a, 32),
           "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
           "the first, straight from the keying, is RFC 4231 case 2");
    is_str(hex(p, b, 32), hex(p, want_b, 32),
           "the second, from the reset pads, is the one-shot's");
    is_str(hex(p, a2, 32),
           "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
           "and the first again after it");
    alx_crypto_hmac_end(&h);
    ok(h.ctx == NULL, "ended: no context left");
    is_int(alx_crypto_hmac(&h, "m", 1, a), APR_EGENERAL,
           "no MAC from an ended handle");
    alx_crypto_hmac_end(&h);
    ok(1, "ending twice is harmless");

    alx_crypto_hmac_init(&h, crypto, "", 0);
    ok(h.ctx != NULL && alx_crypto_hmac(&h, "", 0, a) == APR_SUCCESS,
       "an empty key is a key");
    is_str(hex(p, a, 32),
           "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad",
           "and gives the empty HMAC");
    alx_crypto_hmac_end(&h);

    is_int(alx_crypto_hmac_init(&h, NULL, "k", 1), APR_EGENERAL,
           "no handle without the crypto objects");
    is_int(alx_crypto_hmac(&h, "m", 1, a), APR_EGENERAL,
           "no MAC without a handle");
    is_int(alx_crypto_hmac(NULL, "m", 1, a), APR_EGENERAL,
           "nor with none at all");
    is_int(alx_crypto_hmac_sha256(NULL, "k", 1, "m", 1, a), APR_EGENERAL,
           "no one-shot MAC without the crypto objects");
    alx_crypto_hmac_end(&h);
}

/* A sealed value made by hand from a GCM spec vector: magic | 0x01 | iv |
 * ciphertext | tag. */
static unsigned char *vector_sealed(apr_pool_t *p, const char *iv_hex,
                                    const char *ct_hex, const char *tag_hex,
                                    unsigned int *len)
{
    apr_size_t n;
    const char *all = apr_pstrcat(p, "54455354", "01", iv_hex, ct_hex,
                                  tag_hex, NULL);   /* "TEST" */
    unsigned char *b = unhex(p, all, &n);

    *len = (unsigned int)n;
    return b;
}

/* The GCM specification's (McGrew and Viega) AES-256 test cases 13, 14
 * and 16 open to their plaintexts: the format is plain AES-256-GCM. */
static void test_open_vectors(apr_pool_t *p)
{
    unsigned char zero_key[32] = {0};
    apr_size_t key_len, aad_len, plain_len;
    unsigned char *key16 = unhex(p, "feffe9928665731c6d6a8f9467308308"
                                    "feffe9928665731c6d6a8f9467308308",
                                 &key_len);
    unsigned char *aad16 = unhex(p, "feedfacedeadbeeffeedfacedeadbeef"
                                    "abaddad2", &aad_len);
    unsigned char *sealed, *plain;
    unsigned int len;

    sealed = vector_sealed(p, "000000000000000000000000", "",
                           "530f8afbc74536b9a963b4f1c4cb738b", &len);
    plain = alx_crypto_open(crypto, zero_key, "TEST", NULL, 0, sealed, len,
                            &plain_len);
    ok(plain != NULL && plain_len == 0, "case 13: the empty plaintext");
    alx_crypto_release(plain, plain_len);

    sealed = vector_sealed(p, "000000000000000000000000",
                           "cea7403d4d606b6e074ec5d3baf39d18",
                           "d0d1c8a799996bf0265b98b5d48ab919", &len);
    plain = alx_crypto_open(crypto, zero_key, "TEST", NULL, 0, sealed, len,
                            &plain_len);
    is_str(plain ? hex(p, plain, plain_len) : NULL,
           "00000000000000000000000000000000", "case 14: 16 zero bytes");
    alx_crypto_release(plain, plain_len);

    sealed = vector_sealed(p, "cafebabefacedbaddecaf888",
                           "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c9"
                           "7598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838"
                           "c5f61e6393ba7a0abcc9f662",
                           "76fc6ece0f4e1768cddf8853bb2d551b", &len);
    plain = alx_crypto_open(crypto, key16, "TEST", aad16, aad_len, sealed,
                            len, &plain_len);
    is_str(plain ? hex(p, plain, plain_len) : NULL,
           "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
           "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
           "case 16: with additional data");
    alx_crypto_release(plain, plain_len);
    plain = alx_crypto_open(crypto, key16, "TEST", aad16, aad_len - 1,
                            sealed, len, &plain_len);
    ok(plain == NULL && plain_len == 0,
       "case 16 without the last byte of its additional data: refused");
}

/* What OpenSSL alone makes of a sealed value: independent of the code
 * under test. */
static int evp_open(const unsigned char *key, const unsigned char *aad,
                    int aad_len, const unsigned char *sealed,
                    unsigned int len, unsigned char *plain)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0, ct_len = (int)len - ALX_CRYPTO_OVERHEAD, good;

    good = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, sealed + 5)
           && EVP_DecryptUpdate(ctx, NULL, &n, aad, aad_len)
           && EVP_DecryptUpdate(ctx, plain, &n, sealed + 17, ct_len)
           && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16,
                                  (void *)(sealed + 17 + ct_len))
           && EVP_DecryptFinal_ex(ctx, plain + n, &fin) > 0;
    EVP_CIPHER_CTX_free(ctx);
    return good;
}

static const unsigned char KEY[32] = "0123456789abcdef0123456789abcdef";
static const unsigned char AAD[32] = "additional-data-of-32-bytes-long";
#define PLAIN "the client id of a flow"

static void test_round_trip(apr_pool_t *p)
{
    unsigned char *sealed, *again, *plain, check[64];
    unsigned int len, len2;
    apr_size_t plain_len;

    is_int(alx_crypto_seal(p, crypto, KEY, "ALXT", AAD, 32, PLAIN,
                           strlen(PLAIN), &sealed, &len), APR_SUCCESS,
           "sealed");
    is_int(len, 4 + 1 + 12 + strlen(PLAIN) + 16,
           "magic, version, nonce, ciphertext, tag");
    ok(!memcmp(sealed, "ALXT", 4) && sealed[4] == 0x01,
       "starts with the magic and version 1");
    ok(memcmp(sealed + 17, PLAIN, strlen(PLAIN)) != 0,
       "the plaintext is not in it");
    ok(evp_open(KEY, AAD, 32, sealed, len, check)
       && !memcmp(check, PLAIN, strlen(PLAIN)),
       "OpenSSL alone opens it: AES-256-GCM, the aad as additional data");
    plain = alx_crypto_open(crypto, KEY, "ALXT", AAD, 32, sealed, len,
                            &plain_len);
    ok(plain != NULL && plain_len == strlen(PLAIN)
       && !memcmp(plain, PLAIN, plain_len), "opens to the plaintext");
    alx_crypto_release(plain, plain_len);

    alx_crypto_seal(p, crypto, KEY, "ALXT", AAD, 32, PLAIN, strlen(PLAIN),
                    &again, &len2);
    ok(len2 == len && memcmp(again + 5, sealed + 5, 12) != 0
       && memcmp(again + 17, sealed + 17, len - 17) != 0,
       "sealed twice: another nonce, another ciphertext");

    is_int(alx_crypto_seal(p, crypto, KEY, "ALXT", NULL, 0, "", 0, &sealed,
                           &len), APR_SUCCESS, "nothing sealed, no aad");
    is_int(len, ALX_CRYPTO_OVERHEAD, "is the head and the tag");
    plain = alx_crypto_open(crypto, KEY, "ALXT", NULL, 0, sealed, len,
                            &plain_len);
    ok(plain != NULL && plain_len == 0, "and opens to nothing");
    alx_crypto_release(plain, plain_len);
    alx_crypto_release(NULL, 0);
    ok(1, "releasing nothing is harmless");
}

static int refused(const unsigned char *key, const char *magic,
                   const unsigned char *aad, apr_size_t aad_len,
                   const unsigned char *sealed, unsigned int len)
{
    apr_size_t plain_len = 99;
    unsigned char *plain = alx_crypto_open(crypto, key, magic, aad, aad_len,
                                           sealed, len, &plain_len);

    alx_crypto_release(plain, plain_len);
    return plain == NULL && plain_len == 0;
}

/* Every byte of a sealed value matters: magic, version, nonce,
 * ciphertext, tag. */
static void test_tamper(apr_pool_t *p)
{
    unsigned char *sealed, *copy, other_key[32];
    unsigned int len, i, all = 1;

    alx_crypto_seal(p, crypto, KEY, "ALXT", AAD, 32, PLAIN, strlen(PLAIN),
                    &sealed, &len);
    copy = apr_pmemdup(p, sealed, len);
    for (i = 0; i < len; i++) {
        copy[i] ^= 0x01;
        if (!refused(KEY, "ALXT", AAD, 32, copy, len))
            all = 0;
        copy[i] = sealed[i];
    }
    ok(all, "a bit changed anywhere in %u bytes: refused", len);
    copy[5] ^= 0x80;
    ok(refused(KEY, "ALXT", AAD, 32, copy, len), "a changed nonce: refused");
    copy[5] = sealed[5];
    copy[17] ^= 0x80;
    ok(refused(KEY, "ALXT", AAD, 32, copy, len),
       "a changed ciphertext: refused");
    copy[17] = sealed[17];
    copy[len - 1] ^= 0x80;
    ok(refused(KEY, "ALXT", AAD, 32, copy, len), "a changed tag: refused");
    copy[len - 1] = sealed[len - 1];
    ok(!refused(KEY, "ALXT", AAD, 32, copy, len), "the copy put back opens");

    memcpy(other_key, KEY, 32);
    other_key[31] ^= 0x01;
    ok(refused(other_key, "ALXT", AAD, 32, sealed, len),
       "another key: refused");
    ok(refused(KEY, "ALXT", AAD, 31, sealed, len),
       "shorter additional data: refused");
    ok(refused(KEY, "ALXT", KEY, 32, sealed, len),
       "other additional data: refused");
    ok(refused(KEY, "ALXU", AAD, 32, sealed, len), "another magic: refused");
    ok(refused(KEY, "ALXT", AAD, 32, sealed, len - 1),
       "cut short by a byte: refused");
    ok(refused(KEY, "ALXT", AAD, 32, sealed, ALX_CRYPTO_OVERHEAD - 1),
       "shorter than head and tag: refused");
    ok(refused(KEY, "ALXT", AAD, 32, NULL, len), "no data: refused");
    ok(refused(NULL, "ALXT", AAD, 32, sealed, len), "no key: refused");
    ok(refused(KEY, "ALX", AAD, 32, sealed, len),
       "a magic of three bytes: refused");
    ok(refused(KEY, NULL, AAD, 32, sealed, len), "no magic: refused");
    {
        apr_size_t n = 99;
        ok(alx_crypto_open(NULL, KEY, "ALXT", AAD, 32, sealed, len, &n)
           == NULL && n == 0, "no crypto objects: refused");
    }
}

static void test_seal_rejects(apr_pool_t *p)
{
    unsigned char *out = (unsigned char *)"x";
    unsigned int len = 7;

    is_int(alx_crypto_seal(p, crypto, KEY, "ALX", AAD, 32, "a", 1, &out,
                           &len), APR_EINVAL, "a three-byte magic: EINVAL");
    ok(out == NULL && len == 0, "and nothing out");
    is_int(alx_crypto_seal(p, crypto, KEY, NULL, AAD, 32, "a", 1, &out,
                           &len), APR_EINVAL, "no magic: EINVAL");
    is_int(alx_crypto_seal(p, crypto, KEY, "ALXT", AAD, 32, NULL, 1, &out,
                           &len), APR_EINVAL, "bytes promised, none given");
    is_int(alx_crypto_seal(p, crypto, KEY, "ALXT", AAD, 32, "a",
                           (apr_size_t)INT_MAX, &out, &len), APR_EINVAL,
           "longer than OpenSSL's int lengths allow: EINVAL");
    is_int(alx_crypto_seal(p, NULL, KEY, "ALXT", AAD, 32, "a", 1, &out,
                           &len), APR_EGENERAL,
           "no crypto objects: EGENERAL");
    is_int(alx_crypto_seal(p, crypto, NULL, "ALXT", AAD, 32, "a", 1, &out,
                           &len), APR_EGENERAL, "no key: EGENERAL");
    ok(out == NULL && len == 0, "and nothing out");
}

int main(void)
{
    apr_pool_t *p;

    apr_initialize();
    apr_pool_create(&p, NULL);
    ok(alx_crypto_create(p, &crypto) == APR_SUCCESS && crypto != NULL,
       "the per-process crypto objects are made");
    test_sha256(p);
    test_hmac(p);
    test_hmac_keyed(p);
    test_open_vectors(p);
    test_round_trip(p);
    test_tamper(p);
    test_seal_rejects(p);
    apr_pool_destroy(p);
    apr_terminate();
    return tap_done();
}

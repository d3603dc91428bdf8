/* Refresh grace records: what the store keeps about a rotated refresh token,
 * sealed so that neither the store nor a dump of it reveals a usable token
 * (SPEC "Refresh grace"). */
#ifndef ALX_GRACE_H
#define ALX_GRACE_H

#include <apr_pools.h>
#include <apr_time.h>

#include "alx_crypto.h"
#include "alx_flat.h"

#define ALX_GRACE_ID_LEN  32
#define ALX_GRACE_KEY_LEN ALX_CRYPTO_KEY_LEN

/* Both derived from the presented refresh token and the client's
 * credentials, with distinct labels, so that the store id reveals nothing
 * about the sealing key and another client (or the same client id with
 * another secret) finds nothing. */
typedef struct {
    unsigned char id[ALX_GRACE_ID_LEN];    /* the socache id of the record */
    unsigned char key[ALX_GRACE_KEY_LEN];  /* the AES-256-GCM key */
    unsigned char claim_id[ALX_GRACE_ID_LEN]; /* in-flight claim and the
                                              answer waiters get: apart
                                              from the record */
    const alx_crypto_t *crypto;            /* what seals and opens with them */
} alx_grace_keys_t;

/* client_id and client_secret may be NULL (treated as ""). Length-prefixed
 * so that ("ab","c") and ("a","bc") differ. */
void alx_grace_derive(const alx_crypto_t *c, const char *client_id,
                      const char *client_secret, const char *refresh_token,
                      alx_grace_keys_t *out);

/* The parts of the keys, for alx_grace_derive_more. */
#define ALX_GRACE_ID    1
#define ALX_GRACE_KEY   2
#define ALX_GRACE_CLAIM 4

/* One token's derivations made in steps from one keyed HMAC (the key's
 * pads computed once) and one message: a replay needs no claim id, and a
 * successor without a record no key. Not to be copied (msg may point into
 * buf). */
#define ALX_GRACE_LABEL_ROOM 24   /* the longest label's length */
typedef struct {
    alx_crypto_hmac_t keyed;    /* its ctx NULL when OpenSSL failed:
                                   random parts */
    const alx_crypto_t *crypto;
    unsigned char *msg;         /* label room, then the message's tail;
                                   NULL: random parts */
    apr_size_t tail_len;
    unsigned char buf[256];
} alx_grace_deriver_t;

void alx_grace_deriver_init(alx_grace_deriver_t *d, const alx_crypto_t *c,
                            const char *client_id, const char *client_secret,
                            const char *refresh_token);

/* Derives into out the parts `what` names (ALX_GRACE_*), leaving the others
 * as they were: the same bytes alx_grace_derive makes. */
void alx_grace_derive_more(alx_grace_deriver_t *d, int what,
                           alx_grace_keys_t *out);

/* Frees the keyed HMAC and cleanses the message; d derives random parts
 * after, and may be ended again. */
void alx_grace_deriver_end(alx_grace_deriver_t *d);

typedef struct {
    int pending;              /* an in-flight claim, not an answer yet */
    apr_uint64_t claim;       /* random number of the claim (pending only) */
    apr_time_t issued;        /* when the answer was sent */
    apr_int64_t upstream_ttl; /* the upstream's own expires_in, before any
                                 floor; -1 when it sent none */
    apr_int64_t sent_ttl;     /* expires_in as sent; -1 when none */
    int replays;              /* replays served from this record */
    const char *body;         /* the exact answer JSON sent (not for pending) */
    apr_size_t len;
    /* body parsed by its first reader and kept for the others (a replay
     * reads it three times); parsed_from is the body it was parsed from */
    struct json_t *parsed;
    const char *parsed_from;
    /* the same read as a flat object (alx_flat), as nearly every recorded
     * answer is; NULL when it is not one (then jansson reads it) */
    alx_flat_t *flat;
    const char *flat_from;
} alx_grace_record_t;

/* rec's body as a JSON object (parsed once, the pool owns it), or NULL. */
struct json_t *alx_grace_body_json(apr_pool_t *p, alx_grace_record_t *rec);

/* The shape (alx_shape_json) of rec's body, "none" when it is not a JSON
 * object. */
const char *alx_grace_body_shape(apr_pool_t *p, alx_grace_record_t *rec);

/* Seals rec: "ALXG" | 0x01 | 12-byte random nonce | AES-256-GCM ciphertext |
 * 16-byte tag, with the id as additional data. *out from the pool. */
apr_status_t alx_grace_seal(apr_pool_t *p, const alx_grace_keys_t *k,
                            const alx_grace_record_t *rec,
                            unsigned char **out, unsigned int *outlen);

/* Opens what alx_grace_seal made. APR_EINVAL for anything else: wrong
 * magic or version, short, tampered, another key. */
apr_status_t alx_grace_open(apr_pool_t *p, const alx_grace_keys_t *k,
                            const unsigned char *data, unsigned int len,
                            alx_grace_record_t *rec);

typedef enum {
    ALX_GRACE_PROXY = 0,   /* no usable record: ask the upstream */
    ALX_GRACE_WAIT,        /* another request is in flight with this token */
    ALX_GRACE_REPLAY,      /* answer from the record, counted */
    ALX_GRACE_DUPLICATE,   /* answer from the record, within burst: not counted */
    ALX_GRACE_CHAIN,       /* the successor access token has expired:
                              refresh with the successor refresh token */
    ALX_GRACE_EXHAUSTED    /* replays used up: ask the upstream */
} alx_grace_action_e;

/* True when the successor access token of rec has expired at now: issued +
 * upstream_ttl (sent_ttl when the upstream sent none) at or before now. */
int alx_grace_expired(const alx_grace_record_t *rec, apr_time_t now);

/* rec NULL: PROXY. pending: WAIT. now - issued >= window: PROXY (a
 * record's window starts once, when it is first written). Past burst,
 * replays >= max_replays: EXHAUSTED (a refresh on the client's behalf
 * counts as a replay). The successor access token expired (issued +
 * upstream_ttl, or sent_ttl when the upstream sent none, at or before
 * now): CHAIN. now - issued <= burst: DUPLICATE (simultaneous duplicates
 * do not count as replays). Otherwise REPLAY. */
alx_grace_action_e alx_grace_decide(const alx_grace_record_t *rec,
                                    apr_time_t now,
                                    apr_interval_time_t window,
                                    int max_replays,
                                    apr_interval_time_t burst);

/* The recorded answer with expires_in reduced by the time elapsed since it
 * was issued (never below 1); the body as recorded when it has none.
 * APR_EINVAL when the recorded body is not a JSON object. */
apr_status_t alx_grace_replay_body(apr_pool_t *p, alx_grace_record_t *rec,
                                   apr_time_t now,
                                   const char **body, apr_size_t *len);

/* The expires_in a replay at now carries; -1 when the recorded answer has
 * no integer expires_in (or is not a JSON object). */
apr_int64_t alx_grace_replay_ttl(apr_pool_t *p, alx_grace_record_t *rec,
                                 apr_time_t now);

/* The refresh_token in the recorded answer (the successor), or NULL. */
const char *alx_grace_successor(apr_pool_t *p, alx_grace_record_t *rec);

/* The answer a request got, sealed for the duplicates that waited on it:
 * "ALXA" | 0x01 | nonce | AES-256-GCM(status(2) | content_type_len(2) |
 * content_type | body) | tag, the claim id as additional data (so neither
 * kind of value opens as the other). content_type may be NULL. */
apr_status_t alx_grace_seal_answer(apr_pool_t *p, const alx_grace_keys_t *k,
                                   int status, const char *content_type,
                                   const char *body, apr_size_t len,
                                   unsigned char **out, unsigned int *outlen);

/* True when data looks like a sealed answer (its magic), not a record. */
int alx_grace_is_answer(const unsigned char *data, unsigned int len);

/* Opens what alx_grace_seal_answer made; APR_EINVAL for anything else.
 * *content_type NULL when none was sealed; *body NUL-terminated. */
apr_status_t alx_grace_open_answer(apr_pool_t *p, const alx_grace_keys_t *k,
                                   const unsigned char *data, unsigned int len,
                                   int *status, const char **content_type,
                                   const char **body, apr_size_t *body_len);

/* Upper bound on a sealed record of a body of body_len bytes. */
apr_size_t alx_grace_sealed_max(apr_size_t body_len);

#endif

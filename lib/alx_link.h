/* Links that last (SPEC "Links that last"): the keep-alive protocol.
 *
 * A link is one customer's chain of refresh tokens for one client. Its row
 * holds, in clear, only what SQL must match on: the link id, the lookup ids
 * of the refresh tokens Alexa may present (HMAC-SHA256 of client id and
 * token under the keep-alive key; Alexa's current token and the one before),
 * the next due time and the claim (owner, lease end). Everything else (the
 * tokens, the client's credentials, the newest answer, the times) is one
 * record sealed with AES-256-GCM, behind a key id and a schema version in
 * clear, the link id as additional data. The glue (mod_dbd, mod_watchdog,
 * libcurl) fills alx_link_store_t; these functions decide and never log.
 *
 * Who may send the link's newest refresh token upstream holds the link's
 * claim: the keep-alive (alx_link_claim_due) or Alexa's request
 * (alx_link_present), never both, so the upstream never sees one token
 * twice. Every write of an existing link is conditional on that claim and
 * releases it. */
#ifndef ALX_LINK_H
#define ALX_LINK_H

#include <apr_errno.h>
#include <apr_pools.h>
#include <apr_time.h>

#include "alx_crypto.h"

#define ALX_LINK_ID_LEN   32
#define ALX_LINK_SCHEMA   1     /* the sealed record's plaintext layout */
#define ALX_LINK_LOOKUPS  2     /* Alexa's token and the one before */
/* A sealed record: key id (1) | schema (1) | alx_crypto_seal's bytes. */
#define ALX_LINK_SEALED_HEAD 2
/* The longest sealed record a link store must hold. */
#define ALX_LINK_SEALED_MAX 65536
/* A record sealed under a key id none of the keys has: not corrupt, the
 * old key is gone (put it back, or let the link end). */
#define ALX_LINK_UNKNOWN_KEY (APR_OS_START_USERERR + 1801)

/* Backoff after a failed keep-alive refresh: doubling from the first, at
 * most the cap. */
#define ALX_LINK_BACKOFF_FIRST apr_time_from_sec(60)
#define ALX_LINK_BACKOFF_CAP   apr_time_from_sec(3600)
/* How long an access token whose lifetime nobody told lives, for "never
 * refresh while Alexa's may be valid": a day, longer than any default. */
#define ALX_LINK_TTL_UNKNOWN   86400

typedef enum {
    ALX_LINK_LIVE = 0,
    ALX_LINK_ENDED_UPSTREAM,    /* invalid_grant: kept, tokenless, until
                                   its idle end, so Alexa's next
                                   presentation can be explained */
    ALX_LINK_ENDED_IDLE,        /* deleted; only ever in a result */
    ALX_LINK_STATE_COUNT
} alx_link_state_e;

/* How the upstream wants the client authenticated (AlexaLinkClientAuth as
 * the location sends it). */
typedef enum {
    ALX_LINK_AUTH_BODY = 0,
    ALX_LINK_AUTH_BASIC,
    ALX_LINK_AUTH_COUNT
} alx_link_auth_e;

/* The sealed record, decoded. Strings are NUL-terminated and hold no NUL. */
typedef struct {
    alx_link_state_e state;
    alx_link_auth_e auth;
    const char *client_id;
    const char *client_secret;   /* NULL: a public client */
    const char *token_url;       /* where the keep-alive refreshes */
    const char *refresh_token;   /* newest: the only one the upstream may
                                    see; NULL once ended upstream */
    const char *answer;          /* newest answer Alexa has not received
                                    (JSON), or NULL */
    apr_size_t answer_len;
    apr_int64_t answer_ttl;      /* its expires_in, -1 when none */
    apr_time_t created;
    apr_time_t alexa_used;       /* Alexa's last use */
    apr_time_t refreshed;        /* the last refresh, Alexa's or ours */
    apr_time_t alexa_expires;    /* when the access token Alexa holds dies
                                    by the upstream's own expires_in */
    apr_time_t backoff_until;    /* 0: none */
    apr_uint32_t failures;       /* keep-alive failures in a row */
    apr_interval_time_t interval;  /* AlexaLinkKeepAlive */
    apr_interval_time_t keep_for;  /* AlexaLinkKeepAliveFor */
} alx_link_t;

/* A keep-alive key: the key file's bytes, split by HMAC into a sealing key
 * and a MAC key, and the key id they are known by (derived too). */
typedef struct {
    const alx_crypto_t *crypto;
    unsigned char seal[ALX_CRYPTO_KEY_LEN];
    unsigned char mac[ALX_CRYPTO_SHA256_LEN];
    unsigned char id;
} alx_link_key_t;

/* APR_EINVAL for less than ALX_CRYPTO_KEY_LEN bytes, APR_EGENERAL when
 * OpenSSL fails. */
apr_status_t alx_link_key_init(const alx_crypto_t *c,
                               const unsigned char *material, apr_size_t len,
                               alx_link_key_t *out);

/* ---- ids (clear columns) ---- */

/* A link's id: HMAC(mac key, label | client id | the first refresh token
 * Alexa got), so recording one answer twice finds one link. */
apr_status_t alx_link_id(const alx_link_key_t *k, const char *client_id,
                         const char *refresh_token,
                         unsigned char out[ALX_LINK_ID_LEN]);

/* The lookup id of a refresh token Alexa may present. */
apr_status_t alx_link_lookup(const alx_link_key_t *k, const char *client_id,
                             const char *refresh_token,
                             unsigned char out[ALX_LINK_ID_LEN]);

/* ---- the codec ---- */

/* The plaintext: schema-1 layout, see alx_link.c. *out from p. APR_EINVAL
 * for a link it could not decode back (see alx_link_decode). */
apr_status_t alx_link_encode(apr_pool_t *p, const alx_link_t *link,
                             unsigned char **out, apr_size_t *len);

/* APR_EINVAL for anything alx_link_encode would not have written. */
apr_status_t alx_link_decode(apr_pool_t *p, const unsigned char *data,
                             apr_size_t len, alx_link_t *out);

/* key id | ALX_LINK_SCHEMA | alx_crypto_seal(plaintext), with link id, key
 * id and schema as additional data. */
apr_status_t alx_link_seal(apr_pool_t *p, const alx_link_key_t *k,
                           const unsigned char id[ALX_LINK_ID_LEN],
                           const alx_link_t *link,
                           unsigned char **out, unsigned int *len);

/* Opens with whichever of keys[0..nkeys) has the record's key id.
 * ALX_LINK_UNKNOWN_KEY when none has it, APR_EINVAL for anything else we
 * did not seal (another schema, tampered, another link's id). */
apr_status_t alx_link_open(apr_pool_t *p, const alx_link_key_t *keys,
                           int nkeys, const unsigned char id[ALX_LINK_ID_LEN],
                           const unsigned char *data, unsigned int len,
                           alx_link_t *out);

/* ---- the link store ---- */

typedef struct {
    unsigned char id[ALX_LINK_ID_LEN];
    unsigned char lookup[ALX_LINK_LOOKUPS][ALX_LINK_ID_LEN];
    int lookups;                 /* 0 on an update: leave them as they are */
    apr_time_t due;              /* next due; APR_INT64_MAX: never */
    const unsigned char *sealed;
    unsigned int sealed_len;
} alx_link_row_t;

/* Rows found or claimed: sealed points into buf. */
typedef struct {
    alx_link_row_t row;
    unsigned char buf[ALX_LINK_SEALED_MAX];
} alx_link_found_t;

/* What the glue implements in SQL. A claim is (owner, until): taking one is
 * a conditional update that exactly one server wins; a write conditional on
 * it matches owner and until and releases it. */
typedef struct {
    void *baton;                 /* every operation's first argument */
    const char *owner;           /* this server, in claims */
    /* The row whose lookup ids hold lookup. APR_NOTFOUND when none. */
    apr_status_t (*find)(void *baton, const unsigned char *lookup,
                         alx_link_found_t *out);
    /* Inserts the row, or replaces the one with its id (claim cleared). */
    apr_status_t (*put)(void *baton, const alx_link_row_t *row);
    /* Claims the row id until `until` when it is unclaimed or its claim
     * ended by now, and reads it as claimed. APR_EBUSY when claimed,
     * APR_NOTFOUND when gone. */
    apr_status_t (*claim)(void *baton, const unsigned char *id,
                          apr_time_t now, apr_time_t until,
                          alx_link_found_t *out);
    /* Claims one row with due <= now (unclaimed or its claim ended) until
     * `until`. APR_NOTFOUND when none. */
    apr_status_t (*claim_due)(void *baton, apr_time_t now, apr_time_t until,
                              alx_link_found_t *out);
    /* Rewrites row (sealed, due, and the lookups when row->lookups) while
     * our claim until `until` holds, and releases it. APR_EBUSY when the
     * claim is not ours any more. */
    apr_status_t (*update)(void *baton, const alx_link_row_t *row,
                           apr_time_t until);
    /* Deletes row id while our claim until `until` holds; APR_EBUSY when
     * not. */
    apr_status_t (*remove)(void *baton, const unsigned char *id,
                           apr_time_t until);
    apr_time_t (*now)(void *baton);
} alx_link_store_t;

/* What every protocol call works with. */
typedef struct {
    apr_pool_t *pool;
    const alx_link_store_t *store;
    const alx_link_key_t *keys;  /* keys[0] seals and names new ids */
    int nkeys;
    apr_interval_time_t lease;   /* how long a claim lasts: longer than an
                                    upstream call can take */
    apr_interval_time_t backoff_first;  /* 0: ALX_LINK_BACKOFF_FIRST (a
                                    test build's keep-alive may shorten it) */
} alx_link_ctx_t;

/* A link claimed by us: what a step needs to write it back. */
typedef struct {
    unsigned char id[ALX_LINK_ID_LEN];
    alx_link_t link;
    apr_time_t until;            /* our claim's end; 0 once written back,
                                    released or deleted */
    const unsigned char *sealed; /* as found: a release writes it back */
    unsigned int sealed_len;
    apr_time_t due;
} alx_link_hold_t;

/* When the link is next due: the latest of the last refresh + interval,
 * the end of Alexa's access token and the backoff, but no later than its
 * idle end (last use + keep_for), when it ends instead of refreshing. An
 * ended-upstream link is due at its idle end only. */
apr_time_t alx_link_due(const alx_link_t *link);

/* ---- a) Alexa got an answer ---- */

typedef struct {
    const char *client_id;
    const char *client_secret;   /* NULL: none */
    alx_link_auth_e auth;
    const char *token_url;
    apr_interval_time_t interval;  /* the location's AlexaLinkKeepAlive */
    apr_interval_time_t keep_for;  /* its AlexaLinkKeepAliveFor */
    const char *presented;       /* the refresh token Alexa presented;
                                    NULL for a code exchange */
    const char *alexa_token;     /* the refresh token Alexa holds now: the
                                    answer's, or the one it kept */
    apr_int64_t ttl;             /* the access token's lifetime by the
                                    upstream's own expires_in (else the one
                                    sent); < 0: unknown */
    int refreshed;               /* the answer came from the upstream now,
                                    not from the record */
} alx_link_seen_t;

/* Records the link Alexa now holds: hold is alx_link_present's claim, or
 * NULL (a new link; or the presented token's link, claimed here). Alexa's
 * last use is now, its access token dies at now + ttl, the pending answer
 * is gone. APR_EBUSY when another server holds the link. */
apr_status_t alx_link_seen(const alx_link_ctx_t *ctx, alx_link_hold_t *hold,
                           const alx_link_seen_t *in);

/* Ends our claim, the link as it was (an upstream call that failed). */
apr_status_t alx_link_release(const alx_link_ctx_t *ctx,
                              alx_link_hold_t *hold);

/* ---- b) the keep-alive ---- */

/* The upstream refresh request: a form body, and an Authorization value
 * (NULL when the credentials are in the body). */
typedef struct {
    const char *url;
    const char *body;
    apr_size_t len;
    const char *authorization;
} alx_link_request_t;

/* Builds the refresh with the link's newest token. APR_EINVAL for a link
 * without one, or Basic credentials alx_basic cannot carry. */
apr_status_t alx_link_request(apr_pool_t *p, const alx_link_t *link,
                              alx_link_request_t *out);

typedef enum {
    ALX_LINK_KA_NONE = 0,        /* nothing due */
    ALX_LINK_KA_REFRESH,         /* send request, then alx_link_answered */
    ALX_LINK_KA_ENDED_IDLE,      /* unused for keep_for: deleted */
    ALX_LINK_KA_DROPPED,         /* deleted: ended upstream, idle end */
    ALX_LINK_KA_UNREADABLE,      /* corrupt: deleted */
    ALX_LINK_KA_UNKNOWN_KEY,     /* under a key we lack: put off a day */
    ALX_LINK_KA_REFRESHED,       /* the answer is the newest step */
    ALX_LINK_KA_ENDED_UPSTREAM,  /* invalid_grant */
    ALX_LINK_KA_BACKOFF,         /* 5xx, timeout, unreadable: later */
    ALX_LINK_KA_LOST             /* our claim ended before the answer */
} alx_link_ka_e;

typedef struct {
    alx_link_ka_e kind;
    alx_link_hold_t hold;        /* REFRESH: the claim to answer with */
    alx_link_request_t request;  /* REFRESH */
    apr_time_t next_due;         /* REFRESHED, BACKOFF */
    apr_interval_time_t age;     /* ENDED_*: since the link was made */
} alx_link_ka_t;

/* Claims one due link and says what to do with it (REFRESH), or did it
 * (NONE, ENDED_IDLE, DROPPED, UNREADABLE, UNKNOWN_KEY). */
apr_status_t alx_link_keepalive(const alx_link_ctx_t *ctx, alx_link_ka_t *out);

/* Applies the upstream's answer to out->hold: status 0 is a timeout or no
 * answer. 200 with an access_token: REFRESHED (the rotated refresh token,
 * or the one sent). 400/401 invalid_grant: ENDED_UPSTREAM. Anything else:
 * BACKOFF. */
apr_status_t alx_link_answered(const alx_link_ctx_t *ctx, alx_link_ka_t *out,
                               int status, const char *content_type,
                               const char *body, apr_size_t len);

/* ---- c) Alexa presents a refresh token ---- */

typedef enum {
    ALX_LINK_PASS = 0,           /* no link: pass it through untouched */
    ALX_LINK_PASS_HELD,          /* Alexa's token is the newest: pass it
                                    through; claim held */
    ALX_LINK_ANSWER,             /* answer with body; claim held */
    ALX_LINK_REFRESH,            /* send refresh_token upstream instead of
                                    the presented one; claim held */
    ALX_LINK_WAIT,               /* the keep-alive holds it: ask again */
    ALX_LINK_ENDED               /* ended upstream: pass it through */
} alx_link_decision_e;

typedef struct {
    alx_link_decision_e decision;
    alx_link_hold_t hold;        /* PASS_HELD, ANSWER, REFRESH */
    const char *body;            /* ANSWER: the newest answer */
    apr_size_t len;
    apr_int64_t ttl;             /* ANSWER: its expires_in now */
    const char *refresh_token;   /* ANSWER, REFRESH: the newest */
} alx_link_presented_t;

/* An unopenable record (corrupt, unknown key) is PASS, its status
 * returned. */
apr_status_t alx_link_present(const alx_link_ctx_t *ctx,
                              const char *client_id, const char *presented,
                              alx_link_presented_t *out);

#endif

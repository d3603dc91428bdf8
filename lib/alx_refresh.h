/* The refresh protocol (SPEC "Refresh grace"): a rotated refresh token
 * presented again within the window is answered from the newest record of
 * its chain, so the upstream's reuse detection never sees it; duplicates
 * of a refresh in flight wait for its answer, whatever it is. It works over
 * a table of store operations (alx_store.h) and returns an outcome and the
 * events the glue logs; it logs nothing itself. Decisions on one record are
 * alx_grace_decide's. One alx_refresh_t per token request. */
#ifndef ALX_REFRESH_H
#define ALX_REFRESH_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "alx_exchange.h"
#include "alx_grace.h"
#include "alx_store.h"

/* How long an answer that could be neither recorded nor handed on (it
 * passed through compressed or oversize) keeps the token from the
 * upstream: the retries of the next seconds get 503. */
#define ALX_REFRESH_REFUSE_FOR apr_time_from_sec(30)

/* What happened, for the glue's log: one kind per log line it prints. */
typedef enum {
    ALX_REFRESH_EV_REPLAYED = 0, /* a: counted (0: a duplicate within the
                                    budget), b: replays used, c: later
                                    rotations followed */
    ALX_REFRESH_EV_EXHAUSTED,    /* a: replays used; asking the upstream */
    ALX_REFRESH_EV_WAIT_TIMEOUT, /* answered 503: still in flight */
    ALX_REFRESH_EV_WOULD_REPLAY, /* report mode: enforce would answer */
    ALX_REFRESH_EV_CHAINED,      /* refreshing with the successor */
    ALX_REFRESH_EV_TOO_LARGE,    /* a: sealed bytes; not recorded */
    ALX_REFRESH_EV_HANDED,       /* a: status of the first answer */
    ALX_REFRESH_EV_CLAIMED,      /* a: the claim's life in ms */
    ALX_REFRESH_EV_REFUSED,      /* answered 503: an unrecordable answer */
    ALX_REFRESH_EV_TABLE_FULL    /* no slot: proceeding without one */
} alx_refresh_event_e;

typedef struct {
    alx_refresh_event_e kind;
    apr_int64_t a, b, c;
} alx_refresh_event_t;

/* More than one call ever makes (a request's events are a handful). */
#define ALX_REFRESH_EVENTS_MAX 8
typedef struct {
    alx_refresh_event_t event[ALX_REFRESH_EVENTS_MAX];
    int count;
} alx_refresh_events_t;

typedef enum {
    ALX_REFRESH_STEP_UPSTREAM = 0, /* send the request on (maybe rewritten) */
    ALX_REFRESH_STEP_ANSWER        /* answer it with the outcome's body */
} alx_refresh_step_e;

typedef struct {
    alx_refresh_step_e step;
    /* UPSTREAM: the body to send instead, when chained (NULL: as it is) */
    const char *body;
    apr_size_t len;
    /* ANSWER: what the client gets; content_type NULL is JSON */
    int status;
    const char *content_type;
    const char *answer;
    alx_verdict_e verdict;
    const char *detail;         /* the verdict's detail, or NULL */
    apr_int64_t retry_after;    /* seconds, 0: none */
    int described;              /* the answer's shape and TTL, for the log: */
    const char *shape;
    apr_int64_t ttl;            /* ALX_TTL_ABSENT when none */
    alx_refresh_events_t events;
} alx_refresh_outcome_t;

typedef struct {
    /* Set by the caller before alx_refresh_before. client_secret must be
     * non-empty: a public client has nothing to bind a record to. */
    apr_pool_t *pool;            /* the request's: claims end with it */
    const alx_store_ops_t *store;
    const alx_crypto_t *crypto;
    const char *client_id;
    const char *client_secret;
    const char *refresh_token;
    const apr_array_header_t *form; /* the request's form as sent (alx_form) */
    apr_interval_time_t window;  /* AlexaLinkRefreshGrace */
    int max_replays;             /* AlexaLinkGraceReplays */
    apr_interval_time_t budget;  /* AlexaLinkTimeBudget */
    apr_time_t deadline;         /* the request's arrival + budget */
    int report;                  /* AlexaLinkMode report: change nothing */
    /* How long a claim lives: as long as the request can still be answered.
     * Asked once, and only when claiming (the glue looks up the proxy's
     * timeout for it, which a replay need not pay for). */
    apr_interval_time_t (*claim_life)(void *baton);
    /* Test builds: called between the look at the records and the claim. */
    void (*before_claim)(void *baton);
    void *baton;                 /* the two callbacks' */

    /* The protocol's state; chained and sent_token are the caller's to read. */
    int active;                  /* the answer is to be recorded */
    int chained;                 /* refreshing with the successor */
    const char *sent_token;      /* refresh token sent upstream */
    int claimed;                 /* we hold a slot in the in-flight table */
    int remote_claimed;          /* and a claim in the shared store */
    int cleanup;                 /* the pool cleanup that releases is set */
    unsigned int slot;
    apr_uint64_t ticket;         /* of our claims */
    apr_time_t extended;         /* when our claim's expiry last moved */
    apr_interval_time_t life;    /* claim_life's answer, once asked */
    int recorded;
    int chain_counted;           /* the chained refresh counted a replay */
    int looked_again;            /* at the records, claim in hand */
    alx_grace_deriver_t deriver; /* the presented token's, while before runs */
    int claim_derived;           /* presented.claim_id is made */
    alx_grace_keys_t presented;  /* keys of the token the client presented */
    alx_grace_keys_t sent;       /* keys of the token sent upstream */
    unsigned char *buf;          /* ALX_STORE_MAX_VALUE, reused while polling */
    alx_refresh_events_t *events;   /* of the call under way */
} alx_refresh_t;

/* Before the request goes upstream: answer it from the records, wait for
 * the request that holds its token, or claim the token and send it on. */
void alx_refresh_before(alx_refresh_t *rf, alx_refresh_outcome_t *out);

/* The answer the client got. body NULL: it passed through unread
 * (compressed, oversize), so nobody else may have it. record_body: the
 * body when it is a token answer that rotated the refresh token and
 * arrived whole (to be recorded), else NULL. */
typedef struct {
    int status;
    const char *content_type;
    const char *body;
    apr_size_t len;
    const char *record_body;
    apr_size_t record_len;
    apr_int64_t ttl_in;          /* the upstream's expires_in, or < 0 */
    apr_int64_t ttl_out;         /* as sent, or < 0 */
} alx_refresh_answer_t;

/* Records the answer, hands it to the duplicates that wait, ends our
 * claims. */
void alx_refresh_after(alx_refresh_t *rf, const alx_refresh_answer_t *a,
                       alx_refresh_events_t *events);

/* Keeps our claims alive while a slow upstream is still sending (at most
 * once a second does anything). */
void alx_refresh_extend(alx_refresh_t *rf);

/* Ends our claims without an answer; again is harmless. Also run by a
 * cleanup of rf->pool once a claim is taken. */
void alx_refresh_release(alx_refresh_t *rf);

#endif

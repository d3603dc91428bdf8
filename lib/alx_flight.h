/* The in-flight table (SPEC "Refresh grace", concurrent refreshes): one slot
 * per refresh token that is with the upstream right now, in shared memory
 * the glue provides and apart from the grace records, so that requests
 * anyone can send never push a record out. A slot also carries the first
 * answer (sealed by the caller) for the duplicates that wait on it, whatever
 * that answer is. Plain memory, no locking here: every call must hold the
 * store's global mutex. */
#ifndef ALX_FLIGHT_H
#define ALX_FLIGHT_H

#include <apr.h>
#include <apr_time.h>

#define ALX_FLIGHT_ID_LEN     32
#define ALX_FLIGHT_ANSWER_MAX 8192   /* a larger answer is not handed on */
/* A claim is placed in, and looked for in, this many slots from where its
 * id points (all of a smaller table). */
#define ALX_FLIGHT_WINDOW     32

typedef struct alx_flight alx_flight_t;

/* Whether the process that holds a claim still runs. A claim whose time is
 * up lives on, renewed, while its holder does (an upstream that trickles
 * its headers, or waits longer than any timeout the module can see, keeps
 * its request alive): only a holder that died leaves a claim to expire. */
typedef int (*alx_flight_alive_fn)(void *baton, apr_uint32_t owner);

/* However alive its holder, a claim ends this long after it was made (a
 * dead holder's pid taken by a new process must not keep it for ever). */
#define ALX_FLIGHT_HOLD_MAX   apr_time_from_sec(600)

/* Bytes a table of this many slots needs (slots >= 1). */
apr_size_t alx_flight_size(unsigned int slots);

/* Formats mem (alx_flight_size(slots) bytes, suitably aligned) as an empty
 * table; NULL when size is too small. */
alx_flight_t *alx_flight_init(void *mem, apr_size_t size, unsigned int slots);

unsigned int alx_flight_slots(const alx_flight_t *t);

typedef enum {
    ALX_FLIGHT_CLAIMED = 0,  /* the slot is ours: go to the upstream */
    ALX_FLIGHT_BUSY,         /* another request holds the token: we are
                                counted as its waiter (*ticket is its) */
    ALX_FLIGHT_FULL          /* no slot free: proceed without single flight */
} alx_flight_claim_e;

/* Claims id with ticket (a random, non-zero number) for owner (a pid) until
 * expiry (renewed by as much while its owner runs), unless a live claim or a refusal for id is there (BUSY:
 * *slot and *ticket name it, and the caller must end with alx_flight_poll
 * returning anything but WAITING, or alx_flight_leave). A published answer
 * is for the duplicates that waited on it, not for a request that comes
 * after it: it is passed over. A claim past its expiry counts as none
 * unless alive (may be NULL) says its owner still runs. When no slot of
 * id's window is free, the window's oldest published answer makes room:
 * only live claims and refusals are never displaced; FULL when the window
 * holds only those. */
alx_flight_claim_e alx_flight_claim(alx_flight_t *t, const unsigned char *id,
                                    apr_uint64_t *ticket, apr_time_t now,
                                    apr_time_t expiry, apr_uint32_t owner,
                                    alx_flight_alive_fn alive, void *baton,
                                    unsigned int *slot);

/* Ends our claim as answered but not to be handed on (the answer passed
 * through unread, or a rotation could not be recorded): until `until`, its
 * waiters and any request for id get REFUSED, so the token does not go
 * upstream again while its answer exists. False when the slot was no
 * longer ours. */
int alx_flight_refuse(alx_flight_t *t, unsigned int slot, apr_uint64_t ticket,
                      apr_time_t until);

/* Moves our claim's expiry (a slow upstream is still sending). False when
 * the slot is no longer ours. */
int alx_flight_extend(alx_flight_t *t, unsigned int slot, apr_uint64_t ticket,
                      apr_time_t expiry);

/* How many duplicates wait on our claim (0 when it is no longer ours):
 * with none, finishing needs no answer, so the caller need not seal one. */
unsigned int alx_flight_waiters(alx_flight_t *t, unsigned int slot,
                                apr_uint64_t ticket);

/* Ends our claim. With waiters, and an answer of at most
 * ALX_FLIGHT_ANSWER_MAX bytes, the answer is published until linger_until
 * for them (and for duplicates that come meanwhile); otherwise the slot is
 * freed. answer NULL: released without an answer. False when the slot was
 * no longer ours (expired and taken): nothing changed. */
int alx_flight_finish(alx_flight_t *t, unsigned int slot, apr_uint64_t ticket,
                      apr_time_t linger_until, const unsigned char *answer,
                      apr_size_t len);

typedef enum {
    ALX_FLIGHT_WAITING = 0,  /* still with the upstream */
    ALX_FLIGHT_ANSWERED,     /* the answer was copied out; no longer waiting */
    ALX_FLIGHT_GONE,         /* released or expired without an answer for us
                                (or too large for buf); no longer waiting */
    ALX_FLIGHT_REFUSED       /* answered, not to be handed on (see
                                alx_flight_refuse); no longer waiting */
} alx_flight_poll_e;

/* A waiter's look at the slot it waits on (alive as for the claim). */
alx_flight_poll_e alx_flight_poll(alx_flight_t *t, unsigned int slot,
                                  apr_uint64_t ticket, apr_time_t now,
                                  alx_flight_alive_fn alive, void *baton,
                                  unsigned char *buf, apr_size_t cap,
                                  apr_size_t *len);

/* A waiter gives up (its own time is up). */
void alx_flight_leave(alx_flight_t *t, unsigned int slot, apr_uint64_t ticket);

/* Live claims and published answers (refusals among them) at now. */
void alx_flight_count(const alx_flight_t *t, apr_time_t now,
                      unsigned int *claims, unsigned int *answers);

#endif

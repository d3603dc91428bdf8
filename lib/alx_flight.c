/* The in-flight table: claims of refresh tokens with the upstream, and the
 * first answer for the duplicates that wait on it. See alx_flight.h. */
#include <string.h>

#include "alx_flight.h"

#define FLIGHT_MAGIC 0x414c5846u   /* "ALXF" */

/* REFUSED: answered, but the answer is not to be had (see
 * alx_flight_refuse). */
typedef enum { SLOT_FREE = 0, SLOT_CLAIM, SLOT_ANSWER, SLOT_REFUSED } slot_state_e;

typedef struct {
    unsigned char id[ALX_FLIGHT_ID_LEN];
    apr_uint64_t ticket;      /* of the claim that holds the slot */
    apr_time_t expiry;        /* claim: until; answer: published until */
    apr_time_t made;          /* claim: when (ALX_FLIGHT_HOLD_MAX) */
    apr_interval_time_t life; /* claim: renewed by this much */
    apr_uint32_t waiters;
    apr_uint32_t state;
    apr_uint32_t answer_len;
    apr_uint32_t owner;       /* claim: the holder's pid */
} slot_t;

/* The slot headers come first, the answers after them, so that formatting
 * a table touches only the headers. */
struct alx_flight {
    apr_uint32_t magic;
    apr_uint32_t slots;
    apr_uint64_t align;
    slot_t slot[1];
};

#define HEADER_SIZE (sizeof(alx_flight_t) - sizeof(slot_t))

static unsigned char *answer_of(alx_flight_t *t, unsigned int i)
{
    return (unsigned char *)t + HEADER_SIZE + (apr_size_t)t->slots
           * sizeof(slot_t) + (apr_size_t)i * ALX_FLIGHT_ANSWER_MAX;
}

apr_size_t alx_flight_size(unsigned int slots)
{
    return HEADER_SIZE + (apr_size_t)slots
           * (sizeof(slot_t) + ALX_FLIGHT_ANSWER_MAX);
}

alx_flight_t *alx_flight_init(void *mem, apr_size_t size, unsigned int slots)
{
    alx_flight_t *t = mem;

    if (!mem || slots == 0 || size < alx_flight_size(slots))
        return NULL;
    memset(t, 0, HEADER_SIZE + (apr_size_t)slots * sizeof(slot_t));
    t->magic = FLIGHT_MAGIC;
    t->slots = slots;
    return t;
}

unsigned int alx_flight_slots(const alx_flight_t *t)
{
    return t->slots;
}

static int live(const slot_t *s, apr_time_t now)
{
    return s->state != SLOT_FREE && s->expiry > now;
}

/* live(), and a claim past its time whose holder still runs is renewed. */
static int holds(slot_t *s, apr_time_t now, alx_flight_alive_fn alive,
                 void *baton)
{
    if (live(s, now))
        return 1;
    if (s->state != SLOT_CLAIM || !alive || !s->owner
        || now - s->made >= ALX_FLIGHT_HOLD_MAX || !alive(baton, s->owner))
        return 0;
    s->expiry = now + s->life;
    return 1;
}

static void free_slot(slot_t *s)
{
    s->state = SLOT_FREE;
    s->ticket = 0;
    s->waiters = 0;
    s->answer_len = 0;
}

/* The slot that holds ticket, or NULL (freed, expired and taken). */
static slot_t *held(alx_flight_t *t, unsigned int i, apr_uint64_t ticket)
{
    slot_t *s;

    if (i >= t->slots)
        return NULL;
    s = &t->slot[i];
    return s->state != SLOT_FREE && s->ticket == ticket ? s : NULL;
}

/* Where id's window starts: ids are HMAC outputs, so their first bytes
 * are as good as any hash. */
static unsigned int window_start(const alx_flight_t *t, const unsigned char *id)
{
    apr_uint32_t h = ((apr_uint32_t)id[0] << 24) | ((apr_uint32_t)id[1] << 16)
                     | ((apr_uint32_t)id[2] << 8) | id[3];

    return h % t->slots;
}

alx_flight_claim_e alx_flight_claim(alx_flight_t *t, const unsigned char *id,
                                    apr_uint64_t *ticket, apr_time_t now,
                                    apr_time_t expiry, apr_uint32_t owner,
                                    alx_flight_alive_fn alive, void *baton,
                                    unsigned int *slot)
{
    unsigned int n, i, window = t->slots < ALX_FLIGHT_WINDOW
                                ? t->slots : ALX_FLIGHT_WINDOW;
    int free_i = -1, oldest = -1;
    slot_t *s;

    /* An id only ever lives in its window, so a claim looks at those
     * slots alone, however large the table (a server of 400 workers has
     * 800). */
    for (n = 0, i = window_start(t, id); n < window;
         n++, i = i + 1 == t->slots ? 0 : i + 1) {
        s = &t->slot[i];
        if (!holds(s, now, alive, baton)) {
            if (free_i < 0)
                free_i = (int)i;
            continue;
        }
        if (s->state != SLOT_ANSWER
            && memcmp(s->id, id, ALX_FLIGHT_ID_LEN) == 0) {
            s->waiters++;
            *ticket = s->ticket;
            *slot = i;
            return ALX_FLIGHT_BUSY;
        }
        if (s->state == SLOT_ANSWER
            && (oldest < 0 || s->expiry < t->slot[oldest].expiry))
            oldest = (int)i;
    }
    if (free_i < 0)
        free_i = oldest;
    if (free_i < 0)
        return ALX_FLIGHT_FULL;
    s = &t->slot[free_i];
    free_slot(s);
    memcpy(s->id, id, ALX_FLIGHT_ID_LEN);
    if (*ticket == 0)
        *ticket = 1;
    s->ticket = *ticket;
    s->expiry = expiry;
    s->made = now;
    s->life = expiry > now ? expiry - now : 0;
    s->owner = owner;
    s->state = SLOT_CLAIM;
    *slot = (unsigned int)free_i;
    return ALX_FLIGHT_CLAIMED;
}

int alx_flight_extend(alx_flight_t *t, unsigned int slot, apr_uint64_t ticket,
                      apr_time_t expiry)
{
    slot_t *s = held(t, slot, ticket);

    if (!s || s->state != SLOT_CLAIM)
        return 0;
    if (expiry > s->expiry)
        s->expiry = expiry;
    return 1;
}

unsigned int alx_flight_waiters(alx_flight_t *t, unsigned int slot,
                                apr_uint64_t ticket)
{
    const slot_t *s = held(t, slot, ticket);

    return s && s->state == SLOT_CLAIM ? s->waiters : 0;
}

int alx_flight_finish(alx_flight_t *t, unsigned int slot, apr_uint64_t ticket,
                      apr_time_t linger_until, const unsigned char *answer,
                      apr_size_t len)
{
    slot_t *s = held(t, slot, ticket);

    if (!s || s->state != SLOT_CLAIM)
        return 0;
    if (!answer || len > ALX_FLIGHT_ANSWER_MAX || s->waiters == 0) {
        free_slot(s);
        return 1;
    }
    memcpy(answer_of(t, slot), answer, len);
    s->answer_len = (apr_uint32_t)len;
    s->expiry = linger_until;
    s->state = SLOT_ANSWER;
    return 1;
}

int alx_flight_refuse(alx_flight_t *t, unsigned int slot, apr_uint64_t ticket,
                      apr_time_t until)
{
    slot_t *s = held(t, slot, ticket);

    if (!s || s->state != SLOT_CLAIM)
        return 0;
    s->answer_len = 0;
    s->expiry = until;
    s->state = SLOT_REFUSED;
    return 1;
}

static void stop_waiting(slot_t *s)
{
    if (s->waiters > 0)
        s->waiters--;
}

alx_flight_poll_e alx_flight_poll(alx_flight_t *t, unsigned int slot,
                                  apr_uint64_t ticket, apr_time_t now,
                                  alx_flight_alive_fn alive, void *baton,
                                  unsigned char *buf, apr_size_t cap,
                                  apr_size_t *len)
{
    slot_t *s = held(t, slot, ticket);

    *len = 0;
    if (!s)
        return ALX_FLIGHT_GONE;
    if (!holds(s, now, alive, baton)
        || (s->state == SLOT_ANSWER && s->answer_len > cap)) {
        stop_waiting(s);
        return ALX_FLIGHT_GONE;
    }
    if (s->state == SLOT_CLAIM)
        return ALX_FLIGHT_WAITING;
    if (s->state == SLOT_REFUSED) {
        stop_waiting(s);
        return ALX_FLIGHT_REFUSED;
    }
    memcpy(buf, answer_of(t, slot), s->answer_len);
    *len = s->answer_len;
    stop_waiting(s);
    return ALX_FLIGHT_ANSWERED;
}

void alx_flight_leave(alx_flight_t *t, unsigned int slot, apr_uint64_t ticket)
{
    slot_t *s = held(t, slot, ticket);

    if (s)
        stop_waiting(s);
}

void alx_flight_count(const alx_flight_t *t, apr_time_t now,
                      unsigned int *claims, unsigned int *answers)
{
    unsigned int i;

    *claims = *answers = 0;
    for (i = 0; i < t->slots; i++) {
        if (!live(&t->slot[i], now))
            continue;
        if (t->slot[i].state == SLOT_CLAIM)
            (*claims)++;
        else
            (*answers)++;
    }
}

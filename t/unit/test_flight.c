/* Unit tests for lib/alx_flight.c: claims, waiters, published answers,
 * expiry of a dead request's claim, a full table. */
#include <stdlib.h>

#include <apr_general.h>

#include "alx_flight.h"
#include "tap.h"

#define SEC APR_USEC_PER_SEC
#define T0 ((apr_time_t)1704067200 * SEC)

static void id_of(unsigned char *id, int n)
{
    memset(id, 0, ALX_FLIGHT_ID_LEN);
    id[0] = (unsigned char)n;
    id[ALX_FLIGHT_ID_LEN - 1] = 0xa5;
}

static alx_flight_t *table(unsigned int slots)
{
    apr_size_t size = alx_flight_size(slots);
    void *mem = malloc(size);

    memset(mem, 0x5a, size);   /* init must not rely on zeroed memory */
    return alx_flight_init(mem, size, slots);
}

static void test_init(void)
{
    static apr_uint64_t mem[64];
    alx_flight_t *t;

    ok(alx_flight_size(2) > alx_flight_size(1), "size grows with slots");
    ok(alx_flight_size(1) >= ALX_FLIGHT_ANSWER_MAX, "a slot has room for an answer");
    ok(alx_flight_init(mem, sizeof(mem), 1) == NULL, "too small: NULL");
    ok(alx_flight_init(NULL, 1 << 20, 1) == NULL, "no memory: NULL");
    t = table(3);
    ok(t != NULL, "init");
    is_int(alx_flight_slots(t), 3, "three slots");
    free(t);
    t = table(1);
    ok(alx_flight_init(t, alx_flight_size(1), 0) == NULL, "zero slots: NULL");
    free(t);
}

static void test_claim_and_wait(void)
{
    alx_flight_t *t = table(4);
    unsigned char id[ALX_FLIGHT_ID_LEN], buf[64];
    apr_uint64_t mine = 77, theirs = 0, other = 99;
    unsigned int slot, wslot, claims, answers;
    apr_size_t len;

    id_of(id, 1);
    is_int(alx_flight_claim(t, id, &mine, T0, T0 + 60 * SEC, 0, NULL, NULL, &slot),
           ALX_FLIGHT_CLAIMED, "first request claims");
    is_int(mine, 77, "its ticket kept");
    is_int((int)alx_flight_waiters(t, slot, mine), 0, "nobody waits yet");
    is_int(alx_flight_claim(t, id, &theirs, T0 + SEC, T0 + 61 * SEC, 0, NULL, NULL, &wslot),
           ALX_FLIGHT_BUSY, "a duplicate finds the claim");
    is_int((int)alx_flight_waiters(t, slot, mine), 1, "one duplicate waits");
    is_int((int)alx_flight_waiters(t, slot, other), 0,
           "another ticket sees no waiters of ours");
    is_int((int)alx_flight_waiters(t, 9, mine), 0, "no such slot: none");
    is_int(wslot, slot, "the same slot");
    is_int(theirs, 77, "the holder's ticket");
    is_int(alx_flight_poll(t, wslot, theirs, T0 + SEC, NULL, NULL, buf, sizeof(buf), &len),
           ALX_FLIGHT_WAITING, "still with the upstream");
    alx_flight_count(t, T0 + SEC, &claims, &answers);
    is_int(claims, 1, "one live claim");
    is_int(answers, 0, "no answer yet");
    ok(!alx_flight_finish(t, slot, other, T0 + 5 * SEC,
                          (const unsigned char *)"x", 1),
       "another ticket cannot finish it");
    ok(alx_flight_finish(t, slot, mine, T0 + 5 * SEC,
                         (const unsigned char *)"{\"a\":1}", 7),
       "the holder publishes its answer");
    ok(!alx_flight_finish(t, slot, mine, T0 + 5 * SEC, NULL, 0),
       "twice: no longer a claim");
    is_int(alx_flight_poll(t, wslot, theirs, T0 + 2 * SEC, NULL, NULL, buf, sizeof(buf),
                           &len), ALX_FLIGHT_ANSWERED, "the waiter gets it");
    ok(len == 7 && memcmp(buf, "{\"a\":1}", 7) == 0, "the exact bytes");
    theirs = 0;
    is_int(alx_flight_claim(t, id, &theirs, T0 + 3 * SEC, T0 + 63 * SEC, 0, NULL, NULL,
                            &wslot), ALX_FLIGHT_CLAIMED,
           "a request after the answer passes it over: it was for the "
           "waiters in flight (a non-rotating answer is never kept for later)");
    ok(wslot != slot, "in a slot of its own, the answer left for its waiters");
    free(t);
}

static int alive_yes(void *baton, apr_uint32_t owner)
{
    (*(int *)baton)++;
    return owner == 4242;
}

static void test_refuse_and_alive(void)
{
    alx_flight_t *t = table(4);
    unsigned char id[ALX_FLIGHT_ID_LEN], buf[64];
    apr_uint64_t a = 5, b = 0, c = 0;
    unsigned int slot, ws, s2;
    apr_size_t len;
    int asked = 0;

    id_of(id, 3);
    alx_flight_claim(t, id, &a, T0, T0 + 3 * SEC, 4242, alive_yes, &asked, &slot);
    is_int(alx_flight_claim(t, id, &b, T0 + 5 * SEC, T0 + 8 * SEC, 7, alive_yes,
                            &asked, &ws), ALX_FLIGHT_BUSY,
           "past its time, a claim whose holder runs is still held");
    ok(asked > 0, "the holder was asked after");
    is_int(alx_flight_poll(t, ws, b, T0 + 7 * SEC, alive_yes, &asked, buf,
                           sizeof(buf), &len), ALX_FLIGHT_WAITING,
           "renewed by its life: the waiter still waits");
    ok(alx_flight_refuse(t, slot, a, T0 + 30 * SEC), "the holder refuses");
    ok(!alx_flight_refuse(t, slot, a, T0 + 30 * SEC), "twice: no longer a claim");
    is_int(alx_flight_poll(t, ws, b, T0 + 8 * SEC, NULL, NULL, buf, sizeof(buf),
                           &len), ALX_FLIGHT_REFUSED, "the waiter is refused");
    is_int(alx_flight_claim(t, id, &c, T0 + 9 * SEC, T0 + 12 * SEC, 7, NULL, NULL,
                            &s2), ALX_FLIGHT_BUSY, "a later request finds the refusal");
    is_int(alx_flight_poll(t, s2, c, T0 + 9 * SEC, NULL, NULL, buf, sizeof(buf),
                           &len), ALX_FLIGHT_REFUSED, "and is refused at once");
    c = 0;
    is_int(alx_flight_claim(t, id, &c, T0 + 30 * SEC, T0 + 33 * SEC, 7, NULL, NULL,
                            &s2), ALX_FLIGHT_CLAIMED, "after it, the token is free");
    b = 0;
    id_of(id, 4);
    a = 6;
    alx_flight_claim(t, id, &a, T0, T0 + 3 * SEC, 99, alive_yes, &asked, &slot);
    is_int(alx_flight_claim(t, id, &b, T0 + 4 * SEC, T0 + 7 * SEC, 7, alive_yes,
                            &asked, &ws), ALX_FLIGHT_CLAIMED,
           "a dead holder's claim ends with its time");
    b = 0;
    id_of(id, 5);
    a = 8;
    alx_flight_claim(t, id, &a, T0, T0 + 3 * SEC, 4242, alive_yes, &asked, &slot);
    is_int(alx_flight_claim(t, id, &b, T0 + ALX_FLIGHT_HOLD_MAX, T0 + 3 * SEC
                            + ALX_FLIGHT_HOLD_MAX, 7, alive_yes, &asked, &ws),
           ALX_FLIGHT_CLAIMED, "however alive, no claim outlives ALX_FLIGHT_HOLD_MAX");
    free(t);
}

static void test_no_waiters_and_release(void)
{
    alx_flight_t *t = table(2);
    unsigned char id[ALX_FLIGHT_ID_LEN], buf[16];
    apr_uint64_t a = 5, b = 0;
    unsigned int slot, ws, claims, answers;
    apr_size_t len;

    id_of(id, 2);
    alx_flight_claim(t, id, &a, T0, T0 + 60 * SEC, 0, NULL, NULL, &slot);
    ok(alx_flight_finish(t, slot, a, T0 + 5 * SEC,
                         (const unsigned char *)"x", 1), "finish");
    alx_flight_count(t, T0, &claims, &answers);
    ok(claims == 0 && answers == 0,
       "no waiter: nothing published (a flood leaves nothing behind)");

    a = 6;
    alx_flight_claim(t, id, &a, T0, T0 + 60 * SEC, 0, NULL, NULL, &slot);
    alx_flight_claim(t, id, &b, T0, T0 + 60 * SEC, 0, NULL, NULL, &ws);
    ok(alx_flight_finish(t, slot, a, T0 + 5 * SEC, NULL, 0), "released");
    is_int(alx_flight_poll(t, ws, b, T0, NULL, NULL, buf, sizeof(buf), &len),
           ALX_FLIGHT_GONE, "the waiter sees it gone");

    a = 7;
    b = 0;
    alx_flight_claim(t, id, &a, T0, T0 + 60 * SEC, 0, NULL, NULL, &slot);
    alx_flight_claim(t, id, &b, T0, T0 + 60 * SEC, 0, NULL, NULL, &ws);
    alx_flight_leave(t, ws, b);
    ok(alx_flight_finish(t, slot, a, T0 + 5 * SEC,
                         (const unsigned char *)"x", 1), "finish");
    alx_flight_count(t, T0, &claims, &answers);
    is_int(answers, 0, "a waiter that left is not waited for");

    a = 8;
    b = 0;
    alx_flight_claim(t, id, &a, T0, T0 + 60 * SEC, 0, NULL, NULL, &slot);
    alx_flight_claim(t, id, &b, T0, T0 + 60 * SEC, 0, NULL, NULL, &ws);
    {
        static unsigned char big[ALX_FLIGHT_ANSWER_MAX + 1];
        ok(alx_flight_finish(t, slot, a, T0 + 5 * SEC, big, sizeof(big)),
           "finish with an answer too large");
    }
    is_int(alx_flight_poll(t, ws, b, T0, NULL, NULL, buf, sizeof(buf), &len),
           ALX_FLIGHT_GONE, "too large to hand on: gone");
    free(t);
}

static void test_expiry_and_extend(void)
{
    alx_flight_t *t = table(2);
    unsigned char id[ALX_FLIGHT_ID_LEN], buf[16];
    apr_uint64_t dead = 11, next = 12, w = 0;
    unsigned int slot, s2, ws;
    apr_size_t len;

    id_of(id, 3);
    alx_flight_claim(t, id, &dead, T0, T0 + 30 * SEC, 0, NULL, NULL, &slot);
    ok(alx_flight_extend(t, slot, dead, T0 + 40 * SEC), "extend our claim");
    ok(!alx_flight_extend(t, slot, 999, T0 + 50 * SEC), "not another's");
    alx_flight_claim(t, id, &w, T0 + 35 * SEC, T0 + 90 * SEC, 0, NULL, NULL, &ws);
    is_int(alx_flight_poll(t, ws, w, T0 + 39 * SEC, NULL, NULL, buf, sizeof(buf), &len),
           ALX_FLIGHT_WAITING, "extended: still held at 39 s");
    is_int(alx_flight_poll(t, ws, w, T0 + 40 * SEC, NULL, NULL, buf, sizeof(buf), &len),
           ALX_FLIGHT_GONE, "a dead request's claim ends at its expiry");
    is_int(alx_flight_claim(t, id, &next, T0 + 40 * SEC, T0 + 100 * SEC, 0, NULL, NULL, &s2),
           ALX_FLIGHT_CLAIMED, "and the token can be claimed again");
    ok(!alx_flight_finish(t, slot == s2 ? slot : s2, dead, T0 + 41 * SEC,
                          NULL, 0), "the dead claim's ticket changes nothing");
    ok(alx_flight_extend(t, s2, next, T0 + 100 * SEC), "the new claim holds");
    free(t);
}

/* A large table: an id is placed and found within its window, which
 * wraps at the end of the table. */
static void test_window(void)
{
    alx_flight_t *t = table(256);
    unsigned char id[ALX_FLIGHT_ID_LEN], other[ALX_FLIGHT_ID_LEN];
    apr_uint64_t tk, w;
    unsigned int slot, first = 0, wslot, i;
    int full = 0, placed = 1;

    for (i = 0; i < ALX_FLIGHT_WINDOW + 1; i++) {
        /* same first four bytes: the same window, the table's last slot
         * (255 = 0xff % 256) and on from slot 0 */
        memset(id, 0, sizeof(id));
        id[3] = 0xff;
        id[10] = (unsigned char)i;
        tk = 100 + i;
        switch (alx_flight_claim(t, id, &tk, T0, T0 + 60 * SEC, 0, NULL, NULL, &slot)) {
        case ALX_FLIGHT_CLAIMED:
            if (i == 0)
                first = slot;
            if (i == 1 && slot != 0)
                placed = 0;
            break;
        case ALX_FLIGHT_FULL:
            full = i == ALX_FLIGHT_WINDOW;
            break;
        default:
            placed = 0;
        }
    }
    is_int(first, 255, "an id starts at the slot its bytes name");
    ok(placed, "the window wraps to slot 0");
    ok(full, "the window's %d live claims fill it", ALX_FLIGHT_WINDOW);
    memset(id, 0, sizeof(id));
    id[3] = 0xff;
    id[10] = 31;
    w = 0;
    is_int(alx_flight_claim(t, id, &w, T0, T0 + 60 * SEC, 0, NULL, NULL, &wslot),
           ALX_FLIGHT_BUSY, "a claim past the wrap is found");
    is_int(w, 131, "with its ticket");
    memset(other, 0, sizeof(other));
    other[3] = 0x80;
    tk = 7;
    is_int(alx_flight_claim(t, other, &tk, T0, T0 + 60 * SEC, 0, NULL, NULL, &slot),
           ALX_FLIGHT_CLAIMED, "another window still has room");
    is_int(slot, 128, "in its own window");
    free(t);
}

static void test_full(void)
{
    alx_flight_t *t = table(2);
    unsigned char a[ALX_FLIGHT_ID_LEN], b[ALX_FLIGHT_ID_LEN],
                  c[ALX_FLIGHT_ID_LEN];
    apr_uint64_t ta = 1, tb = 2, tc = 3, w = 0;
    unsigned int sa, sb, sc, ws;

    id_of(a, 10);
    id_of(b, 11);
    id_of(c, 12);
    alx_flight_claim(t, a, &ta, T0, T0 + 60 * SEC, 0, NULL, NULL, &sa);
    alx_flight_claim(t, b, &tb, T0, T0 + 60 * SEC, 0, NULL, NULL, &sb);
    is_int(alx_flight_claim(t, c, &tc, T0, T0 + 60 * SEC, 0, NULL, NULL, &sc),
           ALX_FLIGHT_FULL, "two live claims fill two slots");
    alx_flight_claim(t, a, &w, T0, T0 + 60 * SEC, 0, NULL, NULL, &ws);
    alx_flight_finish(t, sa, ta, T0 + 5 * SEC, (const unsigned char *)"x", 1);
    is_int(alx_flight_claim(t, c, &tc, T0, T0 + 60 * SEC, 0, NULL, NULL, &sc),
           ALX_FLIGHT_CLAIMED, "a published answer makes room");
    is_int(sc, sa, "in the answer's slot");
    {
        unsigned char buf[4];
        apr_size_t len;
        is_int(alx_flight_poll(t, ws, w, T0, NULL, NULL, buf, sizeof(buf), &len),
               ALX_FLIGHT_GONE, "its waiter sees it gone");
    }
    ok(alx_flight_extend(t, sb, tb, T0 + 70 * SEC),
       "the live claim was not displaced");
    free(t);
    t = table(1);
    tc = 0;
    is_int(alx_flight_claim(t, a, &tc, T0, T0 + 60 * SEC, 0, NULL, NULL, &sc),
           ALX_FLIGHT_CLAIMED, "claim with a zero ticket");
    is_int(tc, 1, "a zero ticket becomes 1 (0 marks a free slot)");
    free(t);
}

int main(void)
{
    test_init();
    test_claim_and_wait();
    test_no_waiters_and_release();
    test_refuse_and_alive();
    test_expiry_and_extend();
    test_full();
    test_window();
    return tap_done();
}

/* libFuzzer target for lib/alx_flight.c: the input is a script of claims,
 * polls, finishes, refusals, extends and leaves on a small table, with
 * times that go forward and back and holders alive or not. Invariants: no out-of-bounds access (ASan), a slot is
 * never handed to two live claims of one id, a poll copies no more than
 * the buffer, and the counts never exceed the slots. */
#include <string.h>

#include "alx_flight.h"
#include "fuzz.h"

#define SLOTS 4
#define SEC APR_USEC_PER_SEC

/* An odd pid runs, an even one died. */
static int alive(void *baton, apr_uint32_t owner)
{
    (void)baton;
    return owner & 1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_start();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned char mem[64 + SLOTS * (128 + ALX_FLIGHT_ANSWER_MAX)];
    static unsigned char answer[ALX_FLIGHT_ANSWER_MAX + 16];
    unsigned char id[ALX_FLIGHT_ID_LEN], buf[128];
    alx_flight_t *t;
    apr_time_t now = 1000 * SEC;
    size_t i;

    check(alx_flight_size(SLOTS) <= sizeof(mem));
    t = alx_flight_init(mem, sizeof(mem), SLOTS);
    check(t != NULL);
    for (i = 0; i + 3 < size; i += 4) {
        unsigned int op = data[i] % 7, slot = data[i + 1] % (SLOTS + 2);
        apr_uint64_t ticket = data[i + 2];
        unsigned int claims, answers, got_slot;
        apr_size_t len;

        now += ((apr_time_t)data[i + 3] - 64) * SEC / 8;
        memset(id, data[i + 1] & 3, sizeof(id));
        switch (op) {
        case 0: {
            alx_flight_claim_e c = alx_flight_claim(t, id, &ticket, now,
                                                    now + data[i + 2] * SEC,
                                                    data[i + 3], alive, NULL,
                                                    &got_slot);
            check(c == ALX_FLIGHT_FULL || got_slot < SLOTS);
            check(c == ALX_FLIGHT_FULL || ticket != 0);
            break;
        }
        case 1:
            if (alx_flight_poll(t, slot, ticket, now, alive, NULL, buf,
                                sizeof(buf), &len) == ALX_FLIGHT_ANSWERED)
                check(len <= sizeof(buf));
            else
                check(len == 0);
            break;
        case 2:
            alx_flight_finish(t, slot, ticket, now + 5 * SEC, answer,
                              (apr_size_t)data[i + 3] * 40);
            break;
        case 3:
            alx_flight_finish(t, slot, ticket, now, NULL, 0);
            break;
        case 4:
            alx_flight_extend(t, slot, ticket, now + 10 * SEC);
            break;
        case 5:
            alx_flight_refuse(t, slot, ticket, now + 30 * SEC);
            break;
        default:
            alx_flight_leave(t, slot, ticket);
            break;
        }
        alx_flight_count(t, now, &claims, &answers);
        check(claims + answers <= SLOTS);
    }
    return 0;
}

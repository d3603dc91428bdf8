/* Minimal TAP producer for the C unit tests (prove reads it). */
#ifndef ALX_TAP_H
#define ALX_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_count, tap_failed;

#define ok(cond, ...) do { \
        int ok_ = (cond) ? 1 : 0; \
        tap_count++; \
        if (!ok_) tap_failed++; \
        printf("%sok %d - ", ok_ ? "" : "not ", tap_count); \
        printf(__VA_ARGS__); \
        printf("\n"); \
        if (!ok_) printf("#   failed at %s:%d\n", __FILE__, __LINE__); \
    } while (0)

#define is_str(got, want, ...) do { \
        const char *g_ = (got), *w_ = (want); \
        int same_ = (g_ == NULL && w_ == NULL) || \
                    (g_ != NULL && w_ != NULL && strcmp(g_, w_) == 0); \
        ok(same_, __VA_ARGS__); \
        if (!same_) printf("#   got: '%s'\n#   expected: '%s'\n", \
                           g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
    } while (0)

#define is_int(got, want, ...) do { \
        long long g_ = (long long)(got), w_ = (long long)(want); \
        ok(g_ == w_, __VA_ARGS__); \
        if (g_ != w_) printf("#   got: %lld\n#   expected: %lld\n", g_, w_); \
    } while (0)

static int tap_done(void)
{
    printf("1..%d\n", tap_count);
    return tap_failed ? 1 : 0;
}

#endif

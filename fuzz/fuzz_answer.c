/* libFuzzer target for alx_answer_normalize: whatever the upstream sends,
 * Alexa never gets a 2xx it cannot use, and nothing crashes or leaks.
 * Byte 0 picks content type, grant, status and settings; the rest is body. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>

#include "alx_answer.h"
#include "alx_shape.h"
#include "fuzz.h"

#define PRESENTED "RT-presented-SECRET"

static const char *const fuzz_type[] = {
    "application/json", "application/x-www-form-urlencoded", "text/plain",
    "text/html", NULL
};
static const char *const fuzz_grant[] = {
    "authorization_code", "refresh_token", "client_credentials", NULL
};
static const int fuzz_status[] = { 200, 201, 204, 400, 401, 302, 500, 503 };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_start();
    return 0;
}

/* Logged strings stay one printable token and carry no presented secret. */
static void check_logged(const char *s)
{
    const char *c;

    if (!s)
        return;
    for (c = s; *c; c++)
        check(*c > 0x20 && *c < 0x7f);
    check(strstr(s, PRESENTED) == NULL);
}

static json_t *sent_object(const alx_answer_t *a)
{
    json_error_t err;
    json_t *v;

    check(a->body != NULL && a->len == strlen(a->body));
    /* a string may hold "\u0000", as the upstream's did */
    v = json_loadb(a->body, a->len, JSON_ALLOW_NUL, &err);
    check(json_is_object(v));
    return v;
}

static void check_token(const alx_answer_in_t *in, const alx_answer_t *a)
{
    json_t *v = sent_object(a), *ttl, *type;

    check(a->status == 200);
    check(json_is_string(json_object_get(v, "access_token")));
    ttl = json_object_get(v, "expires_in");
    type = json_object_get(v, "token_type");
    check(json_is_string(type) && json_string_length(type) > 0);
    if (in->min_ttl > 0)
        check(json_is_integer(ttl) && json_integer_value(ttl) >= in->min_ttl);
    if (ttl)
        check(json_is_integer(ttl) && json_integer_value(ttl) == a->ttl_out);
    else
        check(a->ttl_out == ALX_TTL_ABSENT && (a->warnings & ALX_WARN_NO_TTL));
    check(a->refresh != ALX_REFRESH_NONE);
    json_decref(v);
}

static void check_answer(const alx_answer_in_t *in, const alx_answer_t *a)
{
    json_t *v;

    /* A 2xx goes out as a token, or as the upstream's own token or error
     * when it holds a number or a key jansson cannot (passed through
     * unchanged). */
    check(!(a->status >= 200 && a->status < 300) || a->kind == ALX_KIND_TOKEN
          || (a->kind == ALX_KIND_OPAQUE && a->status == in->status
              && (strcmp(a->reason, "big number") == 0
                  || strcmp(a->reason, "NUL in key") == 0)));
    check(strlen(a->shape_in) <= ALX_SHAPE_MAX + 3);
    check(strlen(a->shape_out) <= ALX_SHAPE_MAX + 3);
    check_logged(a->shape_in);
    check_logged(a->shape_out);
    check_logged(a->error_in);
    check_logged(a->error_out);
    switch (a->kind) {
    case ALX_KIND_TOKEN:
        check_token(in, a);
        break;
    case ALX_KIND_ERROR:
        v = sent_object(a);
        check(json_is_string(json_object_get(v, "error")));
        check(strcmp(json_object_iter_key(json_object_iter(v)), "error") == 0);
        check(a->status == 400 || a->status == 401 || a->status == 500
              || a->status == 503);
        json_decref(v);
        break;
    case ALX_KIND_UNUSABLE:
        v = sent_object(a);
        check(a->status == 502 && in->status >= 200 && in->status < 300);
        check(strcmp(json_string_value(json_object_get(v, "error")),
                     "server_error") == 0);
        check(!strstr(a->body, PRESENTED));
        json_decref(v);
        break;
    case ALX_KIND_SERVER_ERROR:
        check(in->status >= 500 && a->status == in->status && !a->body);
        break;
    default:
        check(a->kind == ALX_KIND_OPAQUE && a->status == in->status && !a->body);
        check(a->reason != NULL);
        break;
    }
}

static int same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The fast path (a flat token answer) decides as the general path does. */
static void check_same(const alx_answer_t *f, const alx_answer_t *g)
{
    check(f->kind == g->kind && f->status == g->status);
    check(f->len == g->len && same_text(f->body, g->body));
    check(f->format_in == g->format_in);
    check(same_text(f->shape_in, g->shape_in));
    check(same_text(f->shape_out, g->shape_out));
    check(f->ttl_in == g->ttl_in && f->ttl_out == g->ttl_out);
    check(f->ttl_real == g->ttl_real && f->refresh_life == g->refresh_life
          && f->refresh_life_from_exp == g->refresh_life_from_exp);
    check(f->ttl_real >= 0 && f->refresh_life >= 0);
    check(f->refresh == g->refresh);
    check(same_text(f->error_in, g->error_in));
    check(same_text(f->error_out, g->error_out));
    check(f->fixes == g->fixes && f->warnings == g->warnings);
    check(same_text(f->reason, g->reason));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    alx_answer_in_t in;
    alx_answer_t a, general;
    apr_pool_t *p;
    unsigned pick;

    if (size < 1)
        return 0;
    pick = data[0];
    memset(&in, 0, sizeof(in));
    in.content_type = fuzz_type[pick % 5];
    in.grant_type = fuzz_grant[(pick / 5) % 4];
    in.status = fuzz_status[(pick / 20) % 8];
    in.cache_control = (pick & 1) ? "no-store" : NULL;
    in.presented_refresh_token = PRESENTED;
    in.keep_refresh_token = 1;
    in.min_ttl = (pick / 160) % 2 ? 0 : 600;
    in.default_ttl = (pick / 160) % 2 ? 0 : 3600;
    in.now = 1700000000;
    /* The body is exactly size - 1 bytes, not NUL-terminated. */
    in.body = (const char *)data + 1;
    in.len = size - 1;

    apr_pool_create(&p, fuzz_root);
    alx_answer_normalize(p, &in, &a);
    check_answer(&in, &a);
    if (alx_answer_normalize_flat(p, &in, &a)) {
        alx_answer_normalize_general(p, &in, &general);
        check_same(&a, &general);
    }
    apr_pool_destroy(p);
    return 0;
}

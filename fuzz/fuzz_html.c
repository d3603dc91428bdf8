/* libFuzzer target for the login-page scanner: the findings of the input fed
 * whole equal those of the input fed in pieces cut where the input says, and
 * every reported host is a plain lower-case host. */
#include <stdint.h>
#include <string.h>

#include "alx_html.h"
#include "fuzz.h"

#define FINDINGS_MAX 8192

typedef struct {
    char text[FINDINGS_MAX];
    size_t len;
    int overflow;
} findings_t;

static void check_host(const char *host)
{
    const char *s;
    int bracket = host[0] == '[';

    check(host[0] != '\0');
    for (s = host; *s; s++) {
        unsigned char c = (unsigned char)*s;

        check(!(c >= 'A' && c <= 'Z'));
        check(c > ' ' && c != 0x7f && c != '/' && c != '\\' && c != '@');
        check(c != ':' || bracket);
    }
    check(s[-1] != '.');
    if (bracket)
        check(s - host > 2 && s[-1] == ']');
}

static void collect(void *baton, alx_html_event_e kind, const char *value,
                    const char *where)
{
    findings_t *f = baton;
    size_t vlen = strlen(value), wlen = strlen(where);

    check(kind == ALX_HTML_HOST || kind == ALX_HTML_POPUP);
    check(where[0] != '\0');
    if (kind == ALX_HTML_HOST)
        check_host(value);
    else
        check(strcmp(value, "window.open") == 0
              || strcmp(value, "target=_blank") == 0);
    if (f->len + vlen + wlen + 3 > FINDINGS_MAX) {
        f->overflow = 1;
        return;
    }
    f->text[f->len++] = (char)('0' + kind);
    memcpy(f->text + f->len, value, vlen);
    f->len += vlen;
    f->text[f->len++] = '\n';
    memcpy(f->text + f->len, where, wlen);
    f->len += wlen;
    f->text[f->len++] = '\n';
}

static findings_t whole, pieces;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static apr_pool_t *p;
    const char *page = (const char *)data;
    alx_html_t *h;
    size_t at, step;
    unsigned int seed = 0;
    size_t i;

    if (!fuzz_root) {
        fuzz_start();
        apr_pool_create(&p, fuzz_root);
    }
    apr_pool_clear(p);
    memset(&whole, 0, sizeof(whole));
    memset(&pieces, 0, sizeof(pieces));

    h = alx_html_create(p, collect, &whole);
    alx_html_feed(h, page, size);
    alx_html_end(h);

    /* Cut lengths from a hash of the input: 1..16 bytes, sometimes longer. */
    for (i = 0; i < size && i < 64; i++)
        seed = seed * 31 + data[i];
    h = alx_html_create(p, collect, &pieces);
    for (at = 0; at < size; at += step) {
        seed = seed * 1103515245u + 12345u;
        step = (seed >> 16) % 17 ? (seed >> 16) % 17 : 97;
        if (step > size - at)
            step = size - at;
        alx_html_feed(h, page + at, step);
        alx_html_feed(h, page + at, 0);
    }
    alx_html_end(h);

    check(whole.overflow == pieces.overflow);
    check(whole.len == pieces.len);
    check(memcmp(whole.text, pieces.text, whole.len) == 0);
    return 0;
}

/* A fast static token endpoint for the benchmark: HTTP/1.1 keep-alive, one
 * thread per connection, a fixed form-encoded answer (the slowest path
 * through the module: converted, TTL raised). A refresh grant gets a
 * rotated refresh token so that the module records it. With "json", the
 * answers are JSON that Alexa takes as they are (nothing to fix). A GET
 * gets a login page (about 6 KB of HTML: styles, scripts, a form).
 * Usage: upstream PORTFILE [json]  (listens on 127.0.0.1, an ephemeral
 * port written to PORTFILE). Not part of the module. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *code_body, *refresh_body, *content_type;

static const char FORM_CODE[] =
    "access_token=bench-access-token-0123456789abcdef&token_type=bearer"
    "&expires_in=300&refresh_token=bench-refresh-token-0123456789abcdef"
    "&scope=profile";
static const char FORM_REFRESH[] =
    "access_token=bench-access-token-fedcba9876543210&token_type=bearer"
    "&expires_in=300&refresh_token=bench-rotated-token-fedcba9876543210"
    "&scope=profile";
static const char JSON_CODE[] =
    "{\"access_token\":\"bench-access-token-0123456789abcdef\","
    "\"token_type\":\"Bearer\",\"expires_in\":3600,"
    "\"refresh_token\":\"bench-refresh-token-0123456789abcdef\","
    "\"scope\":\"profile\"}";
static const char JSON_REFRESH[] =
    "{\"access_token\":\"bench-access-token-fedcba9876543210\","
    "\"token_type\":\"Bearer\",\"expires_in\":3600,"
    "\"refresh_token\":\"bench-rotated-token-fedcba9876543210\","
    "\"scope\":\"profile\"}";

/* A login page as such pages come: a head full of links, inline CSS and
 * script, a form; a few external hosts for the scanner to find. */
#define ROW "<div class=row><label for=f%d>Field</label><input id=f%d " \
    "name=f%d autocomplete=off><img src=\"/static/icon.png\" " \
    "srcset=\"/static/icon.png 1x, /static/icon@2x.png 2x\" alt=\"\"></div>\n"
static char page[8192];

static void make_page(void)
{
    size_t n = (size_t)snprintf(page, sizeof(page), "%s",
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content=\"width=device-width, initial-scale=1\">"
        "<title>Sign in</title>\n"
        "<link rel=stylesheet href=\"https://cdn.example.com/site.css\">\n"
        "<link rel=icon href=\"/favicon.ico\">\n"
        "<style>body{font-family:sans-serif;background:url(/static/bg.png)}"
        ".row{margin:.5em 0}label{display:block}input{width:100%}"
        "@media (max-width:600px){body{margin:0}}</style>\n"
        "<script src=\"https://cdn.example.com/app.js\" defer></script>\n"
        "<script>window.addEventListener('load', function () {"
        " var f = document.forms[0]; if (f && f.user) f.user.focus(); "
        "if (location.hash.length > 1 && location.hash.indexOf('<') < 0) "
        "document.title = 'Sign in'; });</script>\n"
        "</head><body><main><h1>Sign in to Example</h1>\n"
        "<form method=post action=\"/oauth/authorize/login\">\n");
    int i;

    for (i = 0; i < 40 && n < sizeof(page) - 512; i++)
        n += (size_t)snprintf(page + n, sizeof(page) - n, ROW, i, i, i);
    snprintf(page + n, sizeof(page) - n, "%s",
             "<button type=submit>Sign in</button></form>\n"
             "<p><a href=\"/help\">Help</a> <a href=\"/privacy\">Privacy"
             "</a></p></main></body></html>\n");
}

static int send_all(int fd, const char *b, size_t n)
{
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

static long content_length(const char *head, size_t n)
{
    const char *p = head, *end = head + n;

    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            break;
        if ((size_t)(eol - p) > 15 && !strncasecmp(p, "content-length:", 15))
            return strtol(p + 15, NULL, 10);
        p = eol + 1;
    }
    return 0;
}

static void *serve(void *arg)
{
    int fd = (int)(long)arg;
    char buf[65536], out[1024];
    size_t have = 0;

    for (;;) {
        char *end = NULL;
        size_t head, need;
        long body;
        const char *answer;
        int n;

        while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
            ssize_t r = have < sizeof(buf) ? read(fd, buf + have,
                                                  sizeof(buf) - have) : -1;
            if (r <= 0)
                goto done;
            have += (size_t)r;
        }
        head = (size_t)(end - buf) + 4;
        body = content_length(buf, head);
        if (body < 0 || (size_t)body > sizeof(buf) - head)
            goto done;
        need = head + (size_t)body;
        while (have < need) {
            ssize_t r = read(fd, buf + have, sizeof(buf) - have);
            if (r <= 0)
                goto done;
            have += (size_t)r;
        }
        if (!strncmp(buf, "GET ", 4)) {
            n = snprintf(out, sizeof(out), "HTTP/1.1 200 OK\r\nContent-Type:"
                         " text/html; charset=utf-8\r\nContent-Length: %zu"
                         "\r\n\r\n", strlen(page));
            if (send_all(fd, out, (size_t)n) != 0
                || send_all(fd, page, strlen(page)) != 0)
                goto done;
        } else {
            answer = memmem(buf + head, (size_t)body,
                            "grant_type=refresh_token", 24) ? refresh_body
                                                            : code_body;
            n = snprintf(out, sizeof(out), "HTTP/1.1 200 OK\r\nContent-Type: "
                         "%s\r\nCache-Control: no-store\r\nContent-Length: "
                         "%zu\r\n\r\n%s", content_type, strlen(answer),
                         answer);
            if (send_all(fd, out, (size_t)n) != 0)
                goto done;
        }
        memmove(buf, buf + need, have - need);
        have -= need;
    }
done:
    close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    struct sockaddr_in a = {0};
    socklen_t alen = sizeof(a);
    int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);
    char tmp[4096];
    FILE *f;

    if (argc < 2)
        return 2;
    make_page();
    if (argc > 2 && !strcmp(argv[2], "json")) {
        code_body = JSON_CODE;
        refresh_body = JSON_REFRESH;
        content_type = "application/json";
    } else {
        code_body = FORM_CODE;
        refresh_body = FORM_REFRESH;
        content_type = "application/x-www-form-urlencoded";
    }
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s, 512) != 0
        || getsockname(s, (struct sockaddr *)&a, &alen) != 0)
        return 1;
    /* Written then renamed: a reader never sees half a number. */
    snprintf(tmp, sizeof(tmp), "%s.tmp", argv[1]);
    f = fopen(tmp, "w");
    if (!f || fprintf(f, "%d\n", ntohs(a.sin_port)) < 0 || fclose(f) != 0
        || rename(tmp, argv[1]) != 0)
        return 1;
    for (;;) {
        pthread_t t;
        int c = accept(s, NULL, NULL);

        if (c < 0)
            continue;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (pthread_create(&t, NULL, serve, (void *)(long)c) != 0)
            close(c);
        else
            pthread_detach(t);
    }
}

/* A fast static token endpoint for the benchmark: HTTP/1.1 keep-alive, one
 * thread per connection, a fixed form-encoded answer (the slowest path
 * through the module: converted, TTL raised). A refresh grant gets a
 * rotated refresh token so that the module records it. With "json", the
 * answers are JSON that Alexa takes as they are (nothing to fix).
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
        answer = memmem(buf + head, (size_t)body, "grant_type=refresh_token",
                        24) ? refresh_body : code_body;
        n = snprintf(out, sizeof(out), "HTTP/1.1 200 OK\r\nContent-Type: %s"
                     "\r\nCache-Control: no-store\r\nContent-Length: %zu\r\n"
                     "\r\n%s", content_type, strlen(answer), answer);
        if (send_all(fd, out, (size_t)n) != 0)
            goto done;
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

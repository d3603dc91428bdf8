/* The flows of one browser (lib/alx_flowrec.h). */
#include <stdlib.h>
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "alx_flowrec.h"

#define FLOW_STATE_LABEL "alexalink flow state v1"
#define FLOW_KEY_LABEL "alexalink flow key v1"
#define FLOW_MAGIC "ALXF"

/* SHA-256 of label, a NUL, then state: the state's hash (its first
 * ALX_FLOWREC_HASH_LEN bytes are stored, all of it is the sealing's
 * additional data) and, with another label, the sealing key. */
static int derive(const alx_crypto_t *c, const char *label, const char *state,
                  unsigned char *out)
{
    apr_size_t nl = strlen(label) + 1, ns = strlen(state);
    char buf[512], *m = nl + ns <= sizeof(buf) ? buf : malloc(nl + ns);
    int good;

    if (!m)
        return 0;
    memcpy(m, label, nl);
    memcpy(m + nl, state, ns);
    good = alx_crypto_sha256(c, m, nl + ns, out) == APR_SUCCESS;
    memset(m, 0, nl + ns);
    if (m != buf)
        free(m);
    return good;
}

/* What a state gives: its hash (the additional data of the sealing) and
 * the key that seals the client id. */
typedef struct {
    unsigned char id[ALX_CRYPTO_SHA256_LEN];
    unsigned char key[ALX_CRYPTO_KEY_LEN];
} flow_keys_t;

static int keys_of(const alx_crypto_t *c, const char *state, flow_keys_t *k)
{
    return derive(c, FLOW_STATE_LABEL, state, k->id)
           && derive(c, FLOW_KEY_LABEL, state, k->key);
}

apr_status_t alx_flowrec_flow(apr_pool_t *p, const alx_crypto_t *c,
                              apr_time_t started, const char *response_type,
                              const char *client_id, const char *state,
                              alx_flow_t *out)
{
    flow_keys_t k;
    unsigned char *sealed;
    unsigned int len;
    apr_status_t rv = APR_SUCCESS;

    memset(out, 0, sizeof(*out));
    out->started = started;
    out->implicit = alx_authz_implicit(response_type);
    if (!state)
        return APR_SUCCESS;
    if (!keys_of(c, state, &k))
        return APR_EGENERAL;
    out->has_state = 1;
    memcpy(out->state_hash, k.id, ALX_FLOWREC_HASH_LEN);
    if (client_id && *client_id && strlen(client_id) <= ALX_FLOWREC_CLIENT_MAX
        && (rv = alx_crypto_seal(p, c, k.key, FLOW_MAGIC, k.id,
                                 sizeof(k.id), client_id, strlen(client_id),
                                 &sealed, &len)) == APR_SUCCESS) {
        out->client = sealed;
        out->client_len = len;
    }
    memset(k.key, 0, sizeof(k.key));
    return rv;
}

static int live(const alx_flow_t *f, apr_time_t now,
                apr_interval_time_t lifetime)
{
    return now >= f->started && now - f->started < lifetime;
}

static int same_flow(const alx_flow_t *a, const alx_flow_t *b)
{
    return a->has_state == b->has_state
           && (!a->has_state || !memcmp(a->state_hash, b->state_hash,
                                        ALX_FLOWREC_HASH_LEN));
}

void alx_flowrec_add(alx_flowrec_t *rec, const alx_flow_t *f,
                     apr_interval_time_t lifetime)
{
    int i, kept = 0;

    for (i = 0; i < rec->n; i++)
        if (live(&rec->flows[i], f->started, lifetime)
            && !same_flow(&rec->flows[i], f))
            rec->flows[kept++] = rec->flows[i];
    if (kept == ALX_FLOWREC_FLOWS) {
        memmove(rec->flows, rec->flows + 1,
                (ALX_FLOWREC_FLOWS - 1) * sizeof(rec->flows[0]));
        kept--;
    }
    rec->flows[kept++] = *f;
    rec->n = kept;
}

static char *hex(apr_pool_t *p, const unsigned char *b, apr_size_t len)
{
    static const char digits[] = "0123456789abcdef";
    char *s = apr_palloc(p, len * 2 + 1), *d = s;
    apr_size_t i;

    for (i = 0; i < len; i++) {
        *d++ = digits[b[i] >> 4];
        *d++ = digits[b[i] & 15];
    }
    *d = '\0';
    return s;
}

static char *encode_from(apr_pool_t *p, const alx_flowrec_t *rec, int first)
{
    char *out = "F2";
    int i;

    for (i = first; i < rec->n; i++) {
        const alx_flow_t *f = &rec->flows[i];

        out = apr_psprintf(p, "%s\n%" APR_TIME_T_FMT " %c %s %s", out,
                           f->started, f->implicit ? 't' : 'c',
                           f->has_state ? hex(p, f->state_hash,
                                              ALX_FLOWREC_HASH_LEN) : "-",
                           f->client ? hex(p, f->client, f->client_len)
                                     : "-");
    }
    return out;
}

char *alx_flowrec_encode(apr_pool_t *p, const alx_flowrec_t *rec,
                         apr_size_t *len)
{
    char *out;
    int first = 0, i;

    if (rec->n < 0 || rec->n > ALX_FLOWREC_FLOWS)
        return NULL;
    for (i = 0; i < rec->n; i++)
        if (rec->flows[i].started < 0
            || (rec->flows[i].client
                && rec->flows[i].client_len > ALX_FLOWREC_MAX))
            return NULL;
    for (;;) {
        out = encode_from(p, rec, first);
        *len = strlen(out);
        if (*len <= ALX_FLOWREC_FIT || first >= rec->n - 1)
            break;
        first++;
    }
    return *len > ALX_FLOWREC_MAX ? NULL : out;
}

/* Digits up to the separator sep. */
static const char *number(const char *c, const char *end, char sep,
                          apr_int64_t *out)
{
    apr_int64_t v = 0;
    const char *start = c;

    for (; c < end && apr_isdigit(*c); c++) {
        if (v > (APR_INT64_MAX - (*c - '0')) / 10)
            return NULL;
        v = v * 10 + (*c - '0');
    }
    if (c == start || c == end || *c != sep)
        return NULL;
    *out = v;
    return c + 1;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Lower-case hex up to sep (or end), or "-" for none (*out NULL). */
static const char *unhex(apr_pool_t *p, const char *c, const char *end,
                         char sep, unsigned char **out, apr_size_t *len)
{
    const char *stop = memchr(c, sep, end - c);
    apr_size_t n, i;

    if (!stop)
        stop = end;
    n = (apr_size_t)(stop - c);
    *out = NULL;
    *len = 0;
    if (n == 1 && *c == '-')
        return stop;
    if (n == 0 || n % 2)
        return NULL;
    *out = apr_palloc(p, n / 2);
    for (i = 0; i < n / 2; i++) {
        int hi = hex_value(c[2 * i]), lo = hex_value(c[2 * i + 1]);

        if (hi < 0 || lo < 0)
            return NULL;
        (*out)[i] = (unsigned char)(hi * 16 + lo);
    }
    *len = n / 2;
    return stop;
}

/* One flow's line (after its '\n'), up to the next '\n' or end. */
static const char *flow_line(apr_pool_t *p, const char *c, const char *end,
                             alx_flow_t *f)
{
    apr_int64_t started;
    unsigned char *hash, *client;
    apr_size_t hash_len, client_len;

    memset(f, 0, sizeof(*f));
    if (!(c = number(c, end, ' ', &started)) || end - c < 2
        || (c[0] != 't' && c[0] != 'c') || c[1] != ' ')
        return NULL;
    f->started = (apr_time_t)started;
    f->implicit = c[0] == 't';
    c += 2;
    if (!(c = unhex(p, c, end, ' ', &hash, &hash_len)) || c == end
        || (hash && hash_len != ALX_FLOWREC_HASH_LEN))
        return NULL;
    if (!(c = unhex(p, c + 1, end, '\n', &client, &client_len))
        || (client && !hash))
        return NULL;
    f->has_state = hash != NULL;
    if (hash)
        memcpy(f->state_hash, hash, ALX_FLOWREC_HASH_LEN);
    f->client = client;
    f->client_len = client_len;
    return c;
}

apr_status_t alx_flowrec_decode(apr_pool_t *p, const char *data,
                                apr_size_t len, alx_flowrec_t *out)
{
    const char *c = data + 2, *end = data + len;

    memset(out, 0, sizeof(*out));
    if (len > ALX_FLOWREC_MAX || len < 2 || memcmp(data, "F2", 2) != 0)
        return APR_EINVAL;
    while (c < end) {
        if (*c != '\n' || out->n == ALX_FLOWREC_FLOWS
            || !(c = flow_line(p, c + 1, end, &out->flows[out->n]))) {
            memset(out, 0, sizeof(*out));
            return APR_EINVAL;
        }
        out->n++;
    }
    return APR_SUCCESS;
}

int alx_flowrec_implicit(const alx_flowrec_t *rec, apr_time_t now,
                         apr_interval_time_t lifetime)
{
    int i;

    for (i = 0; i < rec->n; i++)
        if (live(&rec->flows[i], now, lifetime) && rec->flows[i].implicit)
            return 1;
    return 0;
}

/* Constant time: a state's hash stands for a secret-ish value. */
static int same_hash(const unsigned char *a, const unsigned char *b)
{
    unsigned char diff = 0;
    int i;

    for (i = 0; i < ALX_FLOWREC_HASH_LEN; i++)
        diff |= a[i] ^ b[i];
    return diff == 0;
}

/* The live flow whose state hash is hash, or -1. */
static int flow_of(const alx_flowrec_t *rec, apr_time_t now,
                   apr_interval_time_t lifetime, const unsigned char *hash)
{
    int i;

    for (i = 0; i < rec->n; i++)
        if (live(&rec->flows[i], now, lifetime) && rec->flows[i].has_state
            && same_hash(rec->flows[i].state_hash, hash))
            return i;
    return -1;
}

alx_state_fate_e alx_flowrec_judge(const alx_crypto_t *c,
                                   const alx_flowrec_t *rec, apr_time_t now,
                                   apr_interval_time_t lifetime,
                                   const apr_array_header_t *states,
                                   int *match, int *live_out)
{
    int i, n = 0, stated = 0, last = -1, found = -1, all = 1;
    int count = states ? states->nelts : 0;
    flow_keys_t k;

    *match = -1;
    for (i = 0; i < rec->n; i++)
        if (live(&rec->flows[i], now, lifetime)) {
            n++;
            stated += rec->flows[i].has_state;
            last = i;
        }
    *live_out = n;
    if (!n)
        return ALX_STATE_NOT_EXPECTED;
    for (i = 0; i < count; i++) {
        int at = keys_of(c, APR_ARRAY_IDX(states, i, const char *), &k)
                 ? flow_of(rec, now, lifetime, k.id) : -1;

        memset(k.key, 0, sizeof(k.key));
        if (found < 0)
            found = at;
        if (at < 0 || at != found)
            all = 0;
    }
    if (found >= 0) {
        *match = found;
        return all ? ALX_STATE_KEPT : ALX_STATE_CHANGED;
    }
    if (n == 1) {
        if (!stated)
            return ALX_STATE_NOT_EXPECTED;
        *match = last;
        return count ? ALX_STATE_CHANGED : ALX_STATE_DROPPED;
    }
    return !count && stated == n ? ALX_STATE_DROPPED : ALX_STATE_AMBIGUOUS;
}

const char *alx_flowrec_client_id(apr_pool_t *p, const alx_crypto_t *c,
                                  const alx_flow_t *f,
                                  const apr_array_header_t *states)
{
    flow_keys_t k;
    char *id = NULL;
    unsigned char *plain;
    apr_size_t len;
    int i;

    for (i = 0; f->client && states && i < states->nelts && !id; i++) {
        if (keys_of(c, APR_ARRAY_IDX(states, i, const char *), &k)
            && (plain = alx_crypto_open(c, k.key, FLOW_MAGIC, k.id,
                                        sizeof(k.id), f->client,
                                        (unsigned int)f->client_len, &len))) {
            id = apr_pstrmemdup(p, (const char *)plain, len);
            alx_crypto_release(plain, len);
        }
        memset(k.key, 0, sizeof(k.key));
    }
    return id;
}

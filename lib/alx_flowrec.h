/* The Alexa authorization flows under way in one browser (its address and
 * User-Agent), kept in the store while the customers log in, so that a
 * later step (a login form's POST, which carries no state) can be judged.
 * The store sees no readable state or client id: a state is kept as a hash,
 * the client id sealed with a key derived from the state, so only a
 * redirect that carries that state opens it. Several customers behind one
 * address with the same app share a browser key: the record keeps their
 * flows apart by state. */
#ifndef ALX_FLOWREC_H
#define ALX_FLOWREC_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "alx_authz.h"
#include "alx_crypto.h"

#define ALX_FLOWREC_MAX 2048        /* the longest record decoded */
#define ALX_FLOWREC_FIT 900         /* oldest flows dropped above this:
                                       mod_socache_dbm keeps ~950 bytes */
#define ALX_FLOWREC_FLOWS 3         /* flows kept per browser */
#define ALX_FLOWREC_HASH_LEN 16
#define ALX_FLOWREC_CLIENT_MAX 256  /* longer client ids are not kept */

typedef struct {
    apr_time_t started;
    int implicit;                   /* response_type names token */
    int has_state;
    unsigned char state_hash[ALX_FLOWREC_HASH_LEN];
    const unsigned char *client;    /* client id, sealed; NULL: not kept */
    apr_size_t client_len;
} alx_flow_t;

typedef struct {
    int n;
    alx_flow_t flows[ALX_FLOWREC_FLOWS];   /* oldest first */
} alx_flowrec_t;

/* The flow a request starts: state hashed, client id sealed under the
 * state (kept only when there is a state). APR_EGENERAL when c cannot
 * hash or seal (nothing to record). */
apr_status_t alx_flowrec_flow(apr_pool_t *p, const alx_crypto_t *c,
                              apr_time_t started, const char *response_type,
                              const char *client_id, const char *state,
                              alx_flow_t *out);

/* Adds f as the newest flow of rec: flows that have lived lifetime by
 * f->started go, as does one with the same state (or, without state,
 * another without), and the oldest when rec is full. */
void alx_flowrec_add(alx_flowrec_t *rec, const alx_flow_t *f,
                     apr_interval_time_t lifetime);

/* "F2" then per flow, oldest first, "\n<started> <t|c> <hash|-> <sealed
 * client|->" (hex, lower-case). The oldest flows are left out while it is
 * longer than ALX_FLOWREC_FIT (one is always kept); NULL when that one is
 * over ALX_FLOWREC_MAX. */
char *alx_flowrec_encode(apr_pool_t *p, const alx_flowrec_t *rec,
                         apr_size_t *len);

/* APR_EINVAL for anything alx_flowrec_encode would not have written. */
apr_status_t alx_flowrec_decode(apr_pool_t *p, const char *data,
                                apr_size_t len, alx_flowrec_t *out);

/* Whether any flow of rec live at now is implicit. */
int alx_flowrec_implicit(const alx_flowrec_t *rec, apr_time_t now,
                         apr_interval_time_t lifetime);

/* What a later step's redirect did with state, from the states it carries
 * (alx_redirect_t states) and the flows of its browser live at now
 * (*live: how many). None live: NOT_EXPECTED. A flow whose state hash one
 * of states has: KEPT when all of them have it, else CHANGED (*match: that
 * flow). Otherwise, with one flow live: DROPPED (no state) or CHANGED when
 * it had a state, NOT_EXPECTED when not; with several: DROPPED when none
 * carried and every flow had one, else AMBIGUOUS (which flow this is
 * cannot be told). *match is -1 unless a flow is known. */
alx_state_fate_e alx_flowrec_judge(const alx_crypto_t *c,
                                   const alx_flowrec_t *rec, apr_time_t now,
                                   apr_interval_time_t lifetime,
                                   const apr_array_header_t *states,
                                   int *match, int *live);

/* The client id of f, opened with the first of states (const char *) that
 * opens it; NULL when none does or none was kept. */
const char *alx_flowrec_client_id(apr_pool_t *p, const alx_crypto_t *c,
                                  const alx_flow_t *f,
                                  const apr_array_header_t *states);

#endif

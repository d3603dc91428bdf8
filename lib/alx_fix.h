/* What the module changed in a token answer (or, in report mode, would
 * have): one row per fix, its bit in alx_answer_t.fixes, its name in the
 * log's verdict (rewritten:<names>, in the table's order) and the status
 * counter it adds to (ALX_FIX_UNCOUNTED: none of its own). */
#ifndef ALX_FIX_H
#define ALX_FIX_H

#define ALX_FIXES(X) \
    X(STATUS, 0x0001, "status", ALX_STAT_rewrite_status) \
      /* status became 200 / 400 / 401 / 502 ... */ \
    X(FORMAT, 0x0002, "json", ALX_STAT_rewrite_json) \
      /* form or text body became JSON */ \
    X(CONTENT_TYPE, 0x0004, "content-type", ALX_FIX_UNCOUNTED) \
      /* JSON body under another content type */ \
    X(NO_STORE, 0x0008, "no-store", ALX_FIX_UNCOUNTED) \
      /* Cache-Control: no-store was missing */ \
    X(TTL_TYPE, 0x0010, "ttl-type", ALX_FIX_UNCOUNTED) \
      /* expires_in string or real became integer (unusable with no \
         default: removed) */ \
    X(TTL_FLOOR, 0x0020, "ttl-floor", ALX_STAT_rewrite_ttl_raised) \
      /* expires_in raised to the floor */ \
    X(TTL_DEFAULT, 0x0040, "ttl-default", ALX_STAT_rewrite_ttl_inserted) \
      /* expires_in inserted */ \
    X(TOKEN_TYPE, 0x0080, "token-type", ALX_STAT_rewrite_token_type) \
      /* token_type Bearer inserted */ \
    X(REFRESH_KEPT, 0x0100, "refresh-kept", ALX_STAT_rewrite_refresh_kept) \
      /* presented refresh token given back */ \
    X(ERROR_CODE, 0x0200, "error-code", ALX_STAT_rewrite_error_mapped) \
      /* non-standard error code mapped */ \
    X(UNUSABLE, 0x0400, "unusable", ALX_FIX_UNCOUNTED) \
      /* 2xx unusable answer became 502 */ \
    X(BOM, 0x0800, "bom", ALX_FIX_UNCOUNTED) \
      /* a leading UTF-8 byte order mark dropped */ \
    X(TTL_LEARNED, 0x1000, "ttl-learned", ALX_STAT_rewrite_ttl_inserted) \
      /* expires_in inserted from the JWT access token's own exp */

/* The counter column is expanded only where alx_stats.h is included. */
#define ALX_FIX_UNCOUNTED (-1)

#define ALX_FIX_BIT(id, bit, name, counter) ALX_FIX_##id = bit,
enum { ALX_FIXES(ALX_FIX_BIT) };

/* Every bit that has a row: other bits are ignored. */
#define ALX_FIX_OR(id, bit, name, counter) | bit
#define ALX_FIX_KNOWN (0u ALX_FIXES(ALX_FIX_OR))

#endif

/* Every log tag the module uses, once: X(tag, level, summary). The level
 * is the one the call site logs at (several, ' / ' apart, when it picks
 * one at run time). The C code logs with the tag in its format string;
 * this list is what t/static/source.test.mjs holds the call sites and
 * README's table of tags against, levels included. */
#ifndef ALX_TAGS_H
#define ALX_TAGS_H

#define ALX_TAGS(X) \
    /* the token endpoint */ \
    X(ALX0100, "info / notice / warn", "the exchange line") \
    X(ALX0101, "warn", "a token answer over AlexaLinkTimeBudget") \
    X(ALX0102, "warn", "the upstream ended its token answer unfinished") \
    X(ALX0103, "warn", "the upstream's access tokens live under Alexa's " \
      "floor, or less than Alexa was told") \
    X(ALX0104, "warn", "refresh tokens bound to the login session") \
    X(ALX0110, "notice / warn", "a token request rejected (warn: would be, " \
      "in report mode)") \
    X(ALX0112, "info", "reading the token request body failed") \
    /* the grace store */ \
    X(ALX0200, "warn", "no store: refresh grace off") \
    X(ALX0201, "crit", "AlexaLinkCache's provider refused its arguments") \
    X(ALX0202, "crit", "the store's mutex or in-flight table not created") \
    X(ALX0203, "crit", "the store not initialised") \
    X(ALX0204, "notice", "store entries carried over a restart") \
    X(ALX0205, "warn", "the store failed or the in-flight table was full") \
    X(ALX0206, "crit", "a child could not attach to the store's mutex") \
    X(ALX0207, "crit", "a child could not fetch its ciphers from OpenSSL") \
    X(ALX0208, "crit", "the flows' store refused its derived arguments") \
    X(ALX0209, "crit", "the flows' store not initialised") \
    X(ALX0210, "info", "a rotated refresh token answered from the store") \
    X(ALX0211, "warn", "replays used up; asking the upstream") \
    X(ALX0212, "warn", "a duplicate waited too long for the refresh in " \
      "flight") \
    X(ALX0213, "warn", "report mode: a replay enforce would make") \
    X(ALX0214, "notice", "refreshing with the successor refresh token") \
    X(ALX0215, "warn", "an answer too large to record") \
    X(ALX0216, "notice", "a duplicate got the first request's answer") \
    X(ALX0217, "debug", "a refresh token claimed, and for how long") \
    X(ALX0218, "warn", "a token presented again after an unread answer") \
    X(ALX0219, "notice", "test hook: a request held before its claim") \
    X(ALX0220, "warn", "shmcb full: records pushed out early") \
    X(ALX0221, "warn", "another provider full: records pushed out early") \
    /* the authorization flow */ \
    X(ALX0300, "info", "an Alexa authorization request") \
    X(ALX0301, "warn", "an Alexa authorization request without state") \
    X(ALX0302, "error", "the redirect back to Alexa dropped or changed " \
      "state") \
    X(ALX0304, "warn", "a login page pulls content from an unlisted host") \
    X(ALX0305, "warn", "a login page opens a popup") \
    X(ALX0306, "warn", "implicit-grant parameters in the redirect's query") \
    X(ALX0307, "warn", "the login ended with error= back to Alexa") \
    X(ALX0308, "info", "a redirect back to Alexa") \
    X(ALX0309, "info", "a compressed login page not scanned") \
    X(ALX0310, "error", "an Alexa flow over plain HTTP") \
    X(ALX0311, "error", "an Alexa flow on a port other than Alexa's") \
    X(ALX0312, "warn", "a self-signed or Let's Encrypt certificate") \
    X(ALX0313, "info", "AlexaLinkForceOffline asked for a refresh token") \
    X(ALX0314, "warn", "a redirect back to Alexa with no code, token or " \
      "error") \
    X(ALX0315, "warn", "a malformed Location back to Alexa") \
    X(ALX0316, "info", "a later step's redirect whose flow cannot be told") \
    /* the status page */ \
    X(ALX0401, "crit", "the status page's shared memory not created") \
    X(ALX0404, "notice", "status counters start afresh after an upgrade") \
    X(ALX0405, "notice", "the grace store's shared memory starts afresh") \
    /* the link store */ \
    X(ALX0500, "error", "the link store has no database connection") \
    X(ALX0501, "error", "the link table could not be made") \
    X(ALX0502, "error", "a link store statement failed") \
    X(ALX0503, "error", "a DBDriver the link store does not support") \
    X(ALX0504, "warn", "a row of the link table cannot be read") \
    /* the keep-alive */ \
    X(ALX0510, "crit", "AlexaLinkKeepAlive without AlexaLinkKeepAliveKey") \
    X(ALX0511, "crit", "AlexaLinkKeepAlive without mod_dbd") \
    X(ALX0512, "crit", "AlexaLinkKeepAlive without mod_watchdog") \
    X(ALX0513, "info", "a keep-alive refresh made") \
    X(ALX0514, "warn", "the upstream ended a kept link") \
    X(ALX0515, "warn", "a keep-alive refresh failed; backing off") \
    X(ALX0516, "info", "a kept link ended idle") \
    X(ALX0517, "info", "a link the upstream ended deleted") \
    X(ALX0518, "warn", "a link record that does not open deleted") \
    X(ALX0519, "warn", "link records under a key no longer named") \
    X(ALX0520, "warn", "a keep-alive refresh outlived its claim") \
    X(ALX0521, "warn", "the keep-alive has no link store") \
    X(ALX0522, "warn", "the link store failed during a round") \
    X(ALX0523, "crit", "libcurl's global setup failed") \
    X(ALX0524, "crit", "the keep-alive's watchdog task not started") \
    X(ALX0525, "info", "keep-alive on, and how often it looks") \
    /* kept links on the token path */ \
    X(ALX0530, "info", "an older refresh token of a kept link swapped for " \
      "its newest") \
    X(ALX0531, "info", "answered from a kept link's unseen step") \
    X(ALX0532, "warn", "a kept link busy past the budget: 503") \
    X(ALX0533, "warn", "a link could not be recorded")

#endif

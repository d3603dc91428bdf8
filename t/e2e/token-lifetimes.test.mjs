// SPEC "Learned lifetimes": a JWT access token's own exp stands in for a
// missing expires_in and tells when expires_in says more than is true; a
// refresh token bound to the login session (Keycloak's refresh_expires_in,
// a JWT refresh token's exp) is named with its fixes. Never a value logged.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { moduleMissingReason, expectLog, tagCount } from '../lib/apache.mjs';
import { tokenRequest, form } from '../lib/http.mjs';
import { secret } from '../lib/secrets.mjs';
import { startLegacySuite, finish, tokenLocation, exchangeAfter, REDIRECT_URI } from '../lib/suite.mjs';

const CLIENT_SECRET = secret('token-lifetimes client_secret');
const codeBody = form([['grant_type', 'authorization_code'], ['code', secret('token-lifetimes code')], ['redirect_uri', REDIRECT_URI]]);

describe('token endpoint: learned lifetimes', { skip: moduleMissingReason() }, () => {
  let s;
  before(async () => {
    s = await startLegacySuite((up) => [
      tokenLocation('/oauth/', up.url),
      tokenLocation('/console/', up.url, ['AlexaLinkDefaultTTL console']),
    ].join(''));
  });
  after(async () => { await finish(s); });

  // One code exchange as `client` (each test its own: the lines are said
  // once an hour per client and vhost).
  async function exchange(path, client) {
    const mark = s.apache.mark();
    const res = await tokenRequest(s.apache.port, path, codeBody, { basic: [client, CLIENT_SECRET] });
    const line = await exchangeAfter(s.apache, mark, res);
    return { res, line, mark };
  }

  it('a JWT without expires_in: expires_in is what its exp leaves (ttl-learned), before AlexaLinkDefaultTTL', async () => {
    const { res, line } = await exchange('/oauth/jwt-no-expires', 'lt-a');
    assert.equal(res.status, 200);
    const sent = JSON.parse(res.text).expires_in;
    assert.ok(sent >= 2990 && sent <= 3000, `expires_in ${sent} is exp - now`);
    assert.equal(line.ttl, `absent->${sent}`);
    assert.equal(line.verdict, 'rewritten:ttl-learned');
  });

  it('AlexaLinkDefaultTTL console leaves expires_in absent for an opaque token, while a JWT still tells', async () => {
    let { res, line, mark } = await exchange('/console/no-expires', 'lt-b');
    await expectLog(s.apache, mark, ['ALX0100']); // no expires_in sent on: a warn
    assert.equal(JSON.parse(res.text).expires_in, undefined);
    assert.equal(line.ttl, 'absent->absent');
    ({ res, line } = await exchange('/console/jwt-no-expires', 'lt-b'));
    assert.ok(JSON.parse(res.text).expires_in > 2900, 'the JWT tells');
    assert.equal(line.verdict, 'rewritten:ttl-learned');
  });

  it('a JWT that lives 300 s without expires_in: floored for Alexa, and named as dying at 300 s (ALX0103)', async () => {
    const { res, line, mark } = await exchange('/oauth/jwt-short', 'lt-c');
    const log = await expectLog(s.apache, mark, [/ALX0103: the upstream's access tokens for client lt-c live 300 s, below Alexa's 360 s \(by the token's own exp; no expires_in\); Alexa was told 600 s/]);
    assert.equal(JSON.parse(res.text).expires_in, 600);
    assert.deepEqual(line.verdict.replace('rewritten:', '').split(',').sort(), ['ttl-floor', 'ttl-learned']);
    assert.equal(tagCount(log, 'ALX0103'), 1);
  });

  it('expires_in 3600 for a JWT whose exp is 1200 s away: sent as given, and named (ALX0103)', async () => {
    const { res, line, mark } = await exchange('/oauth/jwt-lying', 'lt-d');
    await expectLog(s.apache, mark, [/ALX0103: the upstream's access tokens for client lt-d live 1200 s \(by the token's own exp; its expires_in said 3600\), less than the 3600 s Alexa was told: .*an expires_in that matches the token's lifetime/]);
    assert.equal(JSON.parse(res.text).expires_in, 3600);
    assert.equal(line.verdict, 'ok');
    // once an hour per client and vhost: lt-d again says nothing; another
    // client's line, logged after it, shows the log has caught up
    const again = await exchange('/oauth/jwt-lying', 'lt-d');
    const other = await exchange('/oauth/jwt-lying', 'lt-d2');
    await expectLog(s.apache, other.mark, [/ALX0103: .*client lt-d2 live 1200 s/]);
    assert.doesNotMatch(s.apache.errorLogSince(again.mark), /ALX0103: .*client lt-d live/);
  });

  it('Keycloak\'s refresh_expires_in 1800: the session-bound refresh token is named with its fixes (ALX0104)', async () => {
    const { res, mark } = await exchange('/oauth/keycloak-session', 'lt-e');
    const log = await expectLog(s.apache, mark, [/ALX0104: the upstream's refresh tokens for client lt-e live 1800 s \(refresh_expires_in\): they are bound to the login session.*AlexaLinkForceOffline oidc.*AlexaLinkKeepAlive/]);
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.text).refresh_expires_in, 1800, 'the answer passes as it came');
    assert.equal(tagCount(log, 'ALX0104'), 1);
  });

  it('a JWT refresh token whose exp is 30 minutes away is named too (ALX0104)', async () => {
    const { mark } = await exchange('/oauth/jwt-rt-session', 'lt-f');
    await expectLog(s.apache, mark, [/ALX0104: the upstream's refresh tokens for client lt-f live (1[78]\d\d) s \(by the refresh token's own exp\)/]);
  });

  it('refresh_expires_in 0 (an offline token) and a refresh token good for 30 days are not named', async () => {
    const a = await exchange('/oauth/keycloak-offline', 'lt-g');
    const b = await exchange('/oauth/jwt-rt-long', 'lt-g');
    assert.equal(a.line.verdict, 'ok');
    assert.equal(b.line.verdict, 'ok');
    const other = await exchange('/oauth/keycloak-session', 'lt-g2');
    await expectLog(s.apache, other.mark, [/ALX0104: .*client lt-g2 live 1800 s/]);
    assert.doesNotMatch(s.apache.errorLogSince(a.mark), /ALX0104: .*client lt-g live/);
  });
});

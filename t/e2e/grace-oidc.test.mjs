// Refresh grace against a REAL rotating server with reuse detection
// (oidc-provider; its Basic client rotates refresh tokens, and a consumed
// refresh token presented again revokes the grant). Through the module, the
// retry of RT1 gets the same answer and the provider never sees it; through
// a plain ProxyPass the same sequence gets invalid_grant and the grant dies.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApache, moduleMissingReason } from '../lib/apache.mjs';
import { tokenRequest, form } from '../lib/http.mjs';
import { registerSecret, redact } from '../lib/secrets.mjs';
import { startOidc, authorizationCode, BASIC_CLIENT, REDIRECT_URI } from '../lib/oidc.mjs';
import { finish } from '../lib/suite.mjs';
import { exchangeAfter, waitTag } from '../lib/grace.mjs';

describe('refresh grace in front of oidc-provider (rotation + reuse detection)', { skip: moduleMissingReason() }, () => {
  let op;
  let apache;
  let creds;
  before(async () => {
    op = await startOidc({ accessTokenTtl: 3600 });
    creds = { basic: [BASIC_CLIENT, op.secrets[BASIC_CLIENT]] };
    apache = await startApache({
      locations: `ProxyPass /op/ ${op.issuer}/\n<Location /op/>\n  AlexaLink token\n</Location>\nProxyPass /plain/ ${op.issuer}/\n`,
    });
  });
  after(async () => {
    await finish({ apache, also: [op] });
    assert.doesNotMatch(op.stderr(), /server_error/, 'oidc-provider had no internal error');
  });

  const hits = async () => (await op.tokenHits()).count;
  const register = (j) => {
    for (const k of ['access_token', 'refresh_token', 'id_token']) if (typeof j[k] === 'string') registerSecret(j[k], `oidc ${k}`);
    return j;
  };
  const codeGrant = async (prefix) => {
    const { code } = await authorizationCode(op, { clientId: BASIC_CLIENT });
    const res = await tokenRequest(apache.port, `${prefix}token`, form([['grant_type', 'authorization_code'], ['code', code], ['redirect_uri', REDIRECT_URI]]), creds);
    assert.equal(res.status, 200, redact(res.text));
    return register(res.json());
  };
  const refreshVia = (prefix, rt) => tokenRequest(apache.port, `${prefix}token`, form([['grant_type', 'refresh_token'], ['refresh_token', rt]]), creds);

  it('the provider really has reuse detection (plain ProxyPass): RT1 twice -> invalid_grant, then RT2 is dead too', async () => {
    const t = await codeGrant('/plain/');
    const rt1 = t.refresh_token;
    const r1 = await refreshVia('/plain/', rt1);
    assert.equal(r1.status, 200, redact(r1.text));
    const rt2 = register(r1.json()).refresh_token;
    assert.notEqual(rt2, rt1, 'rotated');
    const h = await hits();
    const again = await refreshVia('/plain/', rt1);
    assert.equal(again.status, 400, redact(again.text));
    assert.equal(again.json().error, 'invalid_grant');
    assert.equal(await hits(), h + 1, 'the provider saw the retry');
    const dead = await refreshVia('/plain/', rt2);
    assert.equal(dead.status, 400, `RT2 after reuse: ${redact(dead.text)}`);
    assert.equal(dead.json().error, 'invalid_grant', 'the grant was revoked');
  });

  it('through AlexaLink: RT1 again -> the identical answer, the provider saw no second request; the grant lives on', async () => {
    const t = await codeGrant('/op/');
    const rt1 = t.refresh_token;
    const r1 = await refreshVia('/op/', rt1);
    assert.equal(r1.status, 200, redact(r1.text));
    const first = register(r1.json());
    assert.notEqual(first.refresh_token, rt1, 'rotated');
    const h = await hits();
    const mark = apache.mark();
    const r2 = await refreshVia('/op/', rt1);
    assert.equal(r2.status, 200, redact(r2.text));
    const second = r2.json();
    const { expires_in: e1, ...a } = first;
    const { expires_in: e2, ...b } = second;
    assert.deepEqual(redact(b), redact(a), 'the same tokens (access, refresh, id_token, scope, type)');
    assert.ok(e2 <= e1 && e2 >= e1 - 2, `expires_in ${e2} vs ${e1}`);
    assert.equal(await hits(), h, 'the provider saw no second request');
    const line = await exchangeAfter(apache, mark, r2);
    assert.equal(line.refresh, 'replayed');
    assert.match(line.verdict, /^replayed/);
    await waitTag(apache, mark, 'ALX0210', r2);
    // the grant is intact: RT2 refreshes at the provider
    const r3 = await refreshVia('/op/', first.refresh_token);
    assert.equal(r3.status, 200, `RT2 still works: ${redact(r3.text)}`);
    register(r3.json());
    assert.equal(await hits(), h + 1);
  });
});

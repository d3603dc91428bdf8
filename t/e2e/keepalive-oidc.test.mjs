// Keep-alive in front of a REAL upstream (SPEC "Links that last"):
// oidc-provider whose rotating client's refresh tokens live IDLE seconds
// (each rotation starts a new one, so it is an idle limit, as Keycloak's or
// Auth0's), with reuse detection. A code exchange through the location
// records the link; without keep-alive a quiet link dies, with it the link
// outlives several idle periods and Alexa's refresh token still works.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startApache, moduleMissingReason, dbdConf, expectLog, shortLived } from '../lib/apache.mjs';
import { tokenRequest, form } from '../lib/http.mjs';
import { registerSecret, redact } from '../lib/secrets.mjs';
import { startOidc, authorizationCode, BASIC_CLIENT, REDIRECT_URI } from '../lib/oidc.mjs';
import { sqliteFile, keepAliveKey } from '../lib/sql.mjs';
import { finish } from '../lib/suite.mjs';
import { sleep } from '../lib/wait.mjs';

const IDLE = 3;
const QUIET_MS = 3 * IDLE * 1000 + 1500;

describe('keep-alive in front of oidc-provider (refresh tokens idle out)', { skip: moduleMissingReason() }, () => {
  let op;
  let apache;
  let store;
  let keyDir;
  let creds;
  before(async () => {
    op = await startOidc({ accessTokenTtl: 1, refreshTokenTtl: IDLE });
    creds = { basic: [BASIC_CLIENT, op.secrets[BASIC_CLIENT]] };
    store = sqliteFile();
    const { file: key, dir } = keepAliveKey();
    keyDir = dir;
    apache = await startApache({
      serverConf: `${dbdConf(store)}AlexaLinkKeepAliveKey ${key}\n`,
      locations: `ProxyPass /kept/ ${op.issuer}/\n<Location /kept/>\n  AlexaLink token\n  AlexaLinkKeepAlive 1s\n</Location>\n`
        + `ProxyPass /plain/ ${op.issuer}/\n<Location /plain/>\n  AlexaLink token\n</Location>\n`,
    });
  });
  after(async () => {
    try {
      await finish({ apache, also: [op] });
    } finally {
      await store.stop();
      rmSync(keyDir, { recursive: true, force: true });
    }
    assert.doesNotMatch(op.stderr(), /server_error/, 'oidc-provider had no internal error');
  });

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

  it('without keep-alive the provider ends a quiet link', async () => {
    const mark = apache.mark();
    const t = await codeGrant('/plain/');
    await expectLog(apache, mark, [], { maybe: [shortLived(1)] });
    await sleep((IDLE + 1) * 1000);
    const res = await refreshVia('/plain/', t.refresh_token);
    assert.equal(res.status, 400, redact(res.text));
    assert.equal(res.json().error, 'invalid_grant');
  });

  it('with keep-alive the link from a code exchange outlives several idle periods; Alexa\'s token still works', async () => {
    const mark = apache.mark();
    const t = await codeGrant('/kept/');
    const hits = (await op.tokenHits()).count;
    await sleep(QUIET_MS);
    const kept = (await op.tokenHits()).grants.slice(hits).filter((g) => g.grant_type === 'refresh_token' && g.status === 200).length;
    assert.ok(kept >= 3, `the keep-alive refreshed while Alexa was quiet (${kept} times)`);
    const res = await refreshVia('/kept/', t.refresh_token);
    assert.equal(res.status, 200, redact(res.text));
    const now = register(res.json());
    assert.ok(now.access_token && now.refresh_token);
    // and the token Alexa now holds is the link's newest: it works next time too
    await sleep(1200);
    const next = await refreshVia('/kept/', now.refresh_token);
    assert.equal(next.status, 200, redact(next.text));
    register(next.json());
    await expectLog(apache, mark, [], { maybe: [shortLived(1)] });
  });
});

// A real OAuth server (oidc-provider) behind Apache: a real authorization-
// code flow (login and consent pages, cookie jar), then the token exchange
// and refreshes THROUGH Apache with the module, as Alexa does them.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApache, moduleMissingReason, shortLived, exchangeLines, waitFor, expectLog } from '../lib/apache.mjs';
import { tokenRequest, form } from '../lib/http.mjs';
import { registerSecret, redact } from '../lib/secrets.mjs';
import { startOidc, authorizationCode, BASIC_CLIENT, POST_CLIENT, REDIRECT_URI } from '../lib/oidc.mjs';
import { finish, exchangeAfter, accessAfter, ALEXA_JSON } from '../lib/suite.mjs';

const FLOOR = 600;
const OP_TTL = 300; // the server's access-token lifetime, below the floor

describe('oidc-provider behind Apache', { skip: moduleMissingReason() }, () => {
  let op;
  let apache;
  before(async () => {
    op = await startOidc({ accessTokenTtl: OP_TTL });
    const pass = (prefix, extra = []) => `ProxyPass ${prefix} ${op.issuer}/\n<Location ${prefix}>\n  AlexaLink token\n${extra.map((l) => `  ${l}\n`).join('')}</Location>\n`;
    apache = await startApache({
      locations: [
        pass('/op/'),
        // Alexa sends Basic; the post client wants body credentials
        pass('/op-body/', ['AlexaLinkClientAuth body']),
        // Alexa sends body credentials; the basic client wants Basic
        pass('/op-basic/', ['AlexaLinkClientAuth basic']),
      ].join(''),
    });
  });
  after(async () => {
    await finish({ apache, also: [op] });
    assert.doesNotMatch(op.stderr(), /server_error/, 'oidc-provider had no internal error');
  });

  function assertToken(res, { refresh = true } = {}) {
    assert.equal(res.status, 200, `status (body ${redact(res.text)})`);
    assert.equal(res.headers['content-type'], ALEXA_JSON);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.headers.pragma, 'no-cache');
    assert.equal(Number(res.headers['content-length']), res.body.length);
    const body = res.json();
    assert.equal(typeof body.access_token, 'string');
    registerSecret(body.access_token, 'oidc access_token');
    if (body.id_token) registerSecret(body.id_token, 'oidc id_token');
    assert.ok(Number.isInteger(body.expires_in), 'expires_in is an integer');
    assert.equal(body.expires_in, FLOOR, 'the server\'s 300 s raised to the 600 s floor');
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.scope, 'openid offline_access');
    if (refresh) {
      assert.equal(typeof body.refresh_token, 'string', 'refresh_token present');
      registerSecret(body.refresh_token, 'oidc refresh_token');
    }
    return body;
  }

  let basicTokens;

  it('client_secret_basic: code exchange through Apache gives Alexa-ready JSON', async () => {
    const { code, state } = await authorizationCode(op, { clientId: BASIC_CLIENT, state: 'st-basic-1' });
    assert.equal(state, 'st-basic-1');
    const mark = apache.mark();
    const res = await tokenRequest(apache.port, '/op/token', form([['grant_type', 'authorization_code'], ['code', code], ['redirect_uri', REDIRECT_URI]]), { basic: [BASIC_CLIENT, op.secrets[BASIC_CLIENT]] });
    basicTokens = assertToken(res);
    assert.equal(typeof basicTokens.id_token, 'string', 'id_token (unknown to Alexa) kept');
    const line = await exchangeAfter(apache, mark, res);
    await expectLog(apache, mark, [shortLived(300)]); // the client's first 300 s token: said once an hour
    assert.equal(line.grant, 'authorization_code');
    assert.equal(line.client, BASIC_CLIENT);
    assert.equal(line.status, '200->200');
    assert.equal(line.ttl, `${OP_TTL}->${FLOOR}`);
    assert.equal(line.refresh, 'forwarded');
    assert.match(line.verdict, /^rewritten:.*ttl-floor/);
    const notes = await accessAfter(apache, mark, '/op/token', res);
    assert.equal(notes.grant, 'authorization_code');
    assert.equal(notes.status, '200');
  });

  it('the same code a second time: 400 invalid_grant from the real server', async () => {
    // a fresh code, exchanged twice
    const { code } = await authorizationCode(op, { clientId: BASIC_CLIENT });
    const body = form([['grant_type', 'authorization_code'], ['code', code], ['redirect_uri', REDIRECT_URI]]);
    assertToken(await tokenRequest(apache.port, '/op/token', body, { basic: [BASIC_CLIENT, op.secrets[BASIC_CLIENT]] }));
    const res = await tokenRequest(apache.port, '/op/token', body, { basic: [BASIC_CLIENT, op.secrets[BASIC_CLIENT]] });
    assert.equal(res.status, 400);
    assert.equal(res.headers['content-type'], ALEXA_JSON);
    assert.equal(res.json().error, 'invalid_grant');
  });

  it('client_secret_basic: refresh through Apache rotates (refresh=rotated)', async () => {
    const mark = apache.mark();
    const res = await tokenRequest(apache.port, '/op/token', form([['grant_type', 'refresh_token'], ['refresh_token', basicTokens.refresh_token]]), { basic: [BASIC_CLIENT, op.secrets[BASIC_CLIENT]] });
    const body = assertToken(res);
    assert.notEqual(body.refresh_token, basicTokens.refresh_token, 'a new refresh token');
    assert.notEqual(body.access_token, basicTokens.access_token, 'a new access token');
    const line = await exchangeAfter(apache, mark, res);
    assert.equal(line.grant, 'refresh_token');
    assert.equal(line.refresh, 'rotated');
  });

  it('a wrong client secret: 401 invalid_client from the real server', async () => {
    const res = await tokenRequest(apache.port, '/op/token', form([['grant_type', 'refresh_token'], ['refresh_token', basicTokens.refresh_token]]), { basic: [BASIC_CLIENT, 'wrong-secret'] });
    assert.equal(res.status, 401);
    assert.equal(res.json().error, 'invalid_client');
  });

  it('client_secret_post behind AlexaLinkClientAuth body: code exchange and refresh with Alexa\'s Basic credentials; refresh does not rotate', async () => {
    const { code } = await authorizationCode(op, { clientId: POST_CLIENT });
    const creds = { basic: [POST_CLIENT, op.secrets[POST_CLIENT]] };
    const m0 = apache.mark();
    const first = assertToken(await tokenRequest(apache.port, '/op-body/token', form([['grant_type', 'authorization_code'], ['code', code], ['redirect_uri', REDIRECT_URI]]), creds));
    await expectLog(apache, m0, [shortLived(300)]); // this client's first 300 s token
    const mark = apache.mark();
    const res = await tokenRequest(apache.port, '/op-body/token', form([['grant_type', 'refresh_token'], ['refresh_token', first.refresh_token]]), creds);
    const second = assertToken(res);
    assert.equal(redact(second.refresh_token), redact(first.refresh_token), 'the same refresh token, not rotated');
    const line = await exchangeAfter(apache, mark, res);
    assert.equal(line.client, POST_CLIENT);
    assert.match(line.refresh, /^(forwarded|kept)$/);
    // (oidc-provider 9 accepts either secret method from any confidential
    // client, so what the upstream receives is asserted in request-side)
  });

  it('client_secret_basic behind AlexaLinkClientAuth basic: body credentials are converted', async () => {
    const { code } = await authorizationCode(op, { clientId: BASIC_CLIENT });
    const res = await tokenRequest(apache.port, '/op-basic/token', form([
      ['grant_type', 'authorization_code'], ['code', code], ['redirect_uri', REDIRECT_URI],
      ['client_id', BASIC_CLIENT], ['client_secret', op.secrets[BASIC_CLIENT]],
    ]));
    assertToken(res);
  });

  it('every exchange was logged (8 token requests went through AlexaLink)', async () => {
    // the line of the last request may land just after its answer
    await waitFor(() => exchangeLines(apache.errorLog()).length >= 8, { what: '8 ALX0100 lines' });
    assert.equal(exchangeLines(apache.errorLog()).length, 8);
  });
});

// SPEC "Token endpoint", response side, errors and what passes through:
// RFC 6749 5.2 errors with GitHub's codes mapped, 5xx kept, unusable 2xx
// made 502, HTML error pages, gzip and oversize answers untouched.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { moduleMissingReason, freePort, expectLog } from '../lib/apache.mjs';
import { tokenRequest, form } from '../lib/http.mjs';
import { secret, redact, secretsIn } from '../lib/secrets.mjs';
import {
  startLegacySuite, finish, tokenLocation, exchangeAfter, accessAfter, assertAlexaError,
  onlyRequestSince, assertSameText, REDIRECT_URI,
} from '../lib/suite.mjs';

const CLIENT_ID = 'alexa-skill';
const CLIENT_SECRET = secret('token-errors client_secret');
const CODE = secret('token-errors code');
const codeBody = form([['grant_type', 'authorization_code'], ['code', CODE], ['redirect_uri', REDIRECT_URI]]);
const auth = { basic: [CLIENT_ID, CLIENT_SECRET] };

describe('token endpoint: errors and pass-through', { skip: moduleMissingReason() }, () => {
  let s;
  let deadPort;
  before(async () => {
    deadPort = await freePort(); // nothing listens there
    s = await startLegacySuite((up) => [
      tokenLocation('/oauth/', up.url),
      tokenLocation('/dead/', `http://127.0.0.1:${deadPort}`),
    ].join(''));
  });
  after(async () => {
    await finish(s);
  });

  async function exchange(path, body = codeBody) {
    const mark = s.apache.mark();
    const n = s.up.count();
    const res = await tokenRequest(s.apache.port, path, body, auth);
    const upstream = path.startsWith('/dead/') ? null : onlyRequestSince(s.up, n);
    const line = await exchangeAfter(s.apache, mark, res);
    const notes = await accessAfter(s.apache, mark, path, res);
    return { res, upstream, line, notes, mark };
  }

  // The client gets the upstream's status, headers and body bytes unchanged.
  function assertUnchanged(res, route) {
    assert.equal(res.status, route.status, 'status unchanged');
    const body = Buffer.isBuffer(route.body) ? route.body : Buffer.from(route.body);
    assert.ok(res.body.equals(body), `body bytes unchanged (${res.body.length} vs ${body.length} bytes)`);
    for (const [k, v] of Object.entries(route.headers)) {
      assert.equal(res.headers[k.toLowerCase()], v, `header ${k} unchanged`);
    }
    assert.equal(Number(res.headers['content-length']), body.length, 'Content-Length unchanged');
  }

  it('GitHub 200 + bad_verification_code JSON becomes 400 invalid_grant, original code in error_description', async () => {
    const { res, upstream, line, notes } = await exchange('/oauth/gh-error-json');
    assertAlexaError(res, 400, 'invalid_grant', { descriptionStartsWith: 'bad_verification_code' });
    assert.equal(res.headers['www-authenticate'], undefined, 'no WWW-Authenticate: the module did not answer itself');
    assertSameText(upstream.body, codeBody, 'body forwarded intact');
    assert.equal(line.status, '200->400');
    assert.match(line.verdict, /^upstream-error:/);
    assert.match(line.verdict, /bad_verification_code|invalid_grant/);
    assert.equal(notes.verdict, line.verdict);
    assert.equal(notes.status, '400');
  });

  it('GitHub 200 + form-encoded error becomes 400 invalid_grant JSON', async () => {
    const { res, line } = await exchange('/oauth/gh-error-form');
    assertAlexaError(res, 400, 'invalid_grant', { descriptionStartsWith: 'bad_verification_code' });
    assert.equal(line.status, '200->400');
    assert.match(line.shape, /^form\{error:str\(21\),/);
    assert.match(line.verdict, /^upstream-error:/);
  });

  it('GitHub incorrect_client_credentials becomes 401 invalid_client with WWW-Authenticate: Basic (RFC 6749 5.2: the client used Basic)', async () => {
    const { res, line } = await exchange('/oauth/gh-bad-client');
    assertAlexaError(res, 401, 'invalid_client', { descriptionStartsWith: 'incorrect_client_credentials' });
    assert.equal(res.headers['www-authenticate'], 'Basic realm="token"');
    assert.equal(line.status, '200->401');
  });

  it('a standard 400 invalid_grant JSON keeps its status and error', async () => {
    const { res, line } = await exchange('/oauth/invalid-grant');
    const body = assertAlexaError(res, 400, 'invalid_grant');
    assert.deepEqual(body, s.up.table['/invalid-grant'].json);
    assert.equal(line.status, '400->400');
    assert.match(line.verdict, /^upstream-error:invalid_grant/);
  });

  it('503 HTML from the upstream: status, headers and body unchanged (a 5xx stays a 5xx)', async () => {
    const { res, line, mark } = await exchange('/oauth/html-503');
    await expectLog(s.apache, mark, ['ALX0100']); // an upstream 5xx is a warn
    assertUnchanged(res, s.up.table['/html-503']);
    assert.equal(line.status, '503->503');
    assert.equal(line.verdict, 'server-error');
  });

  it('502 JSON server_error from the upstream: status and body unchanged', async () => {
    const { res, line, mark } = await exchange('/oauth/json-502');
    await expectLog(s.apache, mark, ['ALX0100']); // an upstream 5xx is a warn
    assertUnchanged(res, s.up.table['/json-502']);
    assert.equal(line.status, '502->502');
    assert.match(line.verdict, /^server-error|^upstream-error:server_error/);
  });

  it('400 HTML page keeps its status and body', async () => {
    const { res, line, mark } = await exchange('/oauth/html-400');
    await expectLog(s.apache, mark, ['ALX0100']); // an error page Alexa cannot read is a warn
    assertUnchanged(res, s.up.table['/html-400']);
    assert.equal(line.status, '400->400');
    assert.match(line.shape, /^html\(\d+\)->/);
  });

  for (const [route, reason] of [['/malformed', /malformed|json/i], ['/empty', /empty/i], ['/html-200', /html/i]]) {
    it(`${route}: a 2xx that cannot be used becomes 502 server_error JSON`, async () => {
      const { res, line, notes, mark } = await exchange(`/oauth${route}`);
      await expectLog(s.apache, mark, ['ALX0100']); // an unusable 2xx is a warn
      const body = assertAlexaError(res, 502, 'server_error');
      assert.equal(typeof body.error_description, 'string');
      assert.deepEqual(secretsIn(res.text), [], 'the description reveals nothing of the body');
      assert.equal(line.status, '200->502');
      assert.match(line.verdict, /^unusable:/);
      assert.match(line.verdict, reason);
      assert.equal(notes.status, '502');
    });
  }

  it('gzip-compressed answer passes through unchanged (status, headers, body bytes), verdict passthrough:compressed', async () => {
    const { res, upstream, line, mark } = await exchange('/oauth/gzip');
    await expectLog(s.apache, mark, ['ALX0100']); // a passthrough is a warn
    assertUnchanged(res, s.up.table['/gzip']);
    assert.equal(upstream.headers['accept-encoding'], 'identity', 'the module did ask for identity');
    assert.equal(line.status, '200->200');
    assert.match(line.verdict, /^passthrough:compressed/);
  });

  it('a 100 KiB answer (over AlexaLinkMaxBody) passes through unchanged, verdict passthrough:oversize', async () => {
    const { res, line, mark } = await exchange('/oauth/oversize');
    await expectLog(s.apache, mark, ['ALX0100']); // a passthrough is a warn
    assertUnchanged(res, s.up.table['/oversize']);
    assert.equal(line.status, '200->200');
    assert.match(line.verdict, /^passthrough:oversize/);
  });

  it('an unreachable upstream stays a 5xx (never invalid_grant)', async () => {
    const mark = s.apache.mark();
    const res = await tokenRequest(s.apache.port, '/dead/token', codeBody, auth);
    assert.ok(res.status >= 500 && res.status <= 504, `status ${res.status}`);
    assert.doesNotMatch(res.text, /invalid_grant/);
    // mod_proxy's own errors for the refused connection, and the exchange's warn
    const text = await expectLog(s.apache, mark, ['AH00957', 'AH01114', 'ALX0100']);
    for (const l of text.split('\n').filter((x) => /ALX0100/.test(x))) assert.doesNotMatch(l, /invalid_grant/, redact(l));
  });
});

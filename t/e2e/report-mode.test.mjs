// SPEC "Directives" AlexaLinkMode report: detect and log everything, change
// nothing. The client gets the upstream's bytes, the upstream the client's.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { moduleMissingReason, shortLived, expectLog } from '../lib/apache.mjs';
import { tokenRequest, form, basicHeader } from '../lib/http.mjs';
import { secret, registerSecret, redact } from '../lib/secrets.mjs';
import { startLegacySuite, finish, tokenLocation, exchangeAfter, accessAfter, onlyRequestSince, assertSameText, REDIRECT_URI } from '../lib/suite.mjs';

const CLIENT_ID = 'alexa-skill';
const CLIENT_SECRET = secret('report client_secret');
const CODE = secret('report code');
const PRESENTED_RT = secret('report presented refresh_token');
const BASIC = registerSecret(basicHeader(CLIENT_ID, CLIENT_SECRET), 'report Basic header');
const codeBody = form([['grant_type', 'authorization_code'], ['code', CODE], ['redirect_uri', REDIRECT_URI], ['code_verifier', 'v'.repeat(43)]]);
const clientHeaders = { Authorization: BASIC, Accept: '*/*', 'Accept-Encoding': 'gzip, deflate' };

describe('AlexaLinkMode report', { skip: moduleMissingReason() }, () => {
  let s;
  before(async () => {
    s = await startLegacySuite((up) => [
      tokenLocation('/report/', up.url, ['AlexaLinkMode report']),
      tokenLocation('/report-body/', up.url, ['AlexaLinkMode report', 'AlexaLinkClientAuth body', 'AlexaLinkMaxBody 1k']),
    ].join(''));
  });
  after(async () => {
    await finish(s);
  });

  // Sends, then checks both directions are untouched.
  async function untouched(path, { body = codeBody, headers = clientHeaders, contentType = 'application/x-www-form-urlencoded' } = {}) {
    const route = s.up.table[`/${path.split('/')[2]}`];
    const mark = s.apache.mark();
    const n = s.up.count();
    const res = await tokenRequest(s.apache.port, path, body, { headers, contentType });
    const got = onlyRequestSince(s.up, n);
    // upstream side: exactly what the client sent
    assertSameText(got.body, typeof body === 'string' ? body : body.toString('latin1'), 'body unchanged');
    assert.equal(got.headers.accept, headers.Accept, 'Accept unchanged');
    assert.equal(got.headers['accept-encoding'], headers['Accept-Encoding'], 'Accept-Encoding unchanged');
    assert.equal(redact(got.headers.authorization), redact(headers.Authorization), 'Authorization unchanged');
    assert.equal(got.headers['content-type'], contentType);
    // client side: exactly what the upstream sent
    assert.equal(res.status, route.status, 'status unchanged');
    const want = Buffer.isBuffer(route.body) ? route.body : Buffer.from(route.body);
    assert.ok(res.body.equals(want), 'body bytes unchanged');
    for (const [k, v] of Object.entries(route.headers)) assert.equal(res.headers[k.toLowerCase()], v, `header ${k} unchanged`);
    assert.equal(res.headers.pragma, route.headers.Pragma, 'no Pragma added');
    assert.equal(res.headers['cache-control'], route.headers['Cache-Control'], 'no Cache-Control added');
    return { res, got, mark };
  }

  // a would-rewrite exchange is a warn; the first short-lived answer is
  // told once an hour (ALX0103)
  for (const [route, fixes, also = []] of [
    ['form', ['json', 'no-store', 'ttl-default']],
    ['created', ['status']],
    ['ttl-short', ['ttl-floor'], [shortLived(60)]],
    ['ttl-string', ['ttl-type']],
    ['no-token-type', ['token-type']],
  ]) {
    it(`/${route}: unchanged both ways, logged would-rewrite:${fixes.join(',')}`, async () => {
      const { mark, res } = await untouched(`/report/${route}`);
      await expectLog(s.apache, mark, ['ALX0100', ...also]);
      const line = await exchangeAfter(s.apache, mark, res);
      assert.match(line.verdict, /^would-rewrite:/, redact(line.raw));
      const named = line.verdict.slice('would-rewrite:'.length).split(',');
      for (const f of fixes) assert.ok(named.includes(f), `names ${f}: ${line.verdict}`);
      const notes = await accessAfter(s.apache, mark, `/report/${route}`, res);
      assert.equal(notes.verdict, line.verdict);
    });
  }

  it('a refresh answer without refresh_token is not completed: would-rewrite:refresh-kept', async () => {
    const body = form([['grant_type', 'refresh_token'], ['refresh_token', PRESENTED_RT]]);
    const { mark, res } = await untouched('/report/refresh-no-rt', { body });
    await expectLog(s.apache, mark, ['ALX0100']);
    const line = await exchangeAfter(s.apache, mark, res);
    assert.match(line.verdict, /^would-rewrite:.*refresh-kept/);
  });

  it('GitHub 200 + error body stays 200, logged', async () => {
    const { mark, res } = await untouched('/report/gh-error-json');
    await expectLog(s.apache, mark, ['ALX0100']);
    const line = await exchangeAfter(s.apache, mark, res);
    assert.equal(line.status, '200->200');
    assert.match(line.verdict, /^would-rewrite:|^upstream-error:/);
  });

  it('a proper answer: verdict ok', async () => {
    const { mark, res } = await untouched('/report/json-ok');
    const line = await exchangeAfter(s.apache, mark, res);
    assert.equal(line.verdict, 'ok');
  });

  it('an unusable 2xx (malformed JSON) stays 200', async () => {
    const { mark, res } = await untouched('/report/malformed');
    await expectLog(s.apache, mark, ['ALX0100']);
    const line = await exchangeAfter(s.apache, mark, res);
    assert.equal(line.status, '200->200');
  });

  it('AlexaLinkClientAuth body is not applied: the Basic header reaches the upstream', async () => {
    await untouched('/report-body/json-ok');
  });

  it('bad input is passed through: duplicate parameter reaches the upstream', async () => {
    const body = `grant_type=authorization_code&code=${CODE}&code=${CODE}`;
    const { mark } = await untouched('/report/json-ok', { body });
    await expectLog(s.apache, mark, [/ALX0110: token request would be rejected \(duplicate\)/]);
  });

  it('bad input is passed through: wrong content type reaches the upstream', async () => {
    const { mark } = await untouched('/report/json-ok', { body: JSON.stringify({ grant_type: 'authorization_code' }), contentType: 'application/json' });
    await expectLog(s.apache, mark, [/ALX0110: token request would be rejected \(content-type\)/]);
  });

  it('bad input is passed through: malformed Basic header reaches the upstream', async () => {
    const { mark } = await untouched('/report-body/json-ok', { headers: { ...clientHeaders, Authorization: 'Basic %%%%' } });
    await expectLog(s.apache, mark, [/ALX0110: token request would be rejected \(basic\)/]);
  });

  it('bad input is passed through: body over AlexaLinkMaxBody reaches the upstream', async () => {
    const { mark } = await untouched('/report-body/json-ok', { body: form([['grant_type', 'authorization_code'], ['pad', 'p'.repeat(4096)]]) });
    await expectLog(s.apache, mark, [/ALX0110: token request would be rejected \(oversize\)/]);
  });
});

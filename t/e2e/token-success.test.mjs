// SPEC "Token endpoint", response side, successes: every legacy answer that
// carries an access_token leaves Apache as the 200 JSON Alexa requires.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { moduleMissingReason, shortLived, expectLog } from '../lib/apache.mjs';
import { tokenRequest, form } from '../lib/http.mjs';
import { secret, redact } from '../lib/secrets.mjs';
import {
  startLegacySuite, finish, tokenLocation, exchangeAfter, accessAfter, assertAlexaSuccess,
  assertShape, onlyRequestSince, formObject, assertSameText, REDIRECT_URI,
} from '../lib/suite.mjs';

const CLIENT_ID = 'alexa-skill';
const CLIENT_SECRET = secret('token-success client_secret');
const CODE = secret('token-success code');
const PRESENTED_RT = secret('token-success presented refresh_token');
const codeBody = form([['grant_type', 'authorization_code'], ['code', CODE], ['redirect_uri', REDIRECT_URI]]);
const refreshBody = form([['grant_type', 'refresh_token'], ['refresh_token', PRESENTED_RT]]);
const auth = { basic: [CLIENT_ID, CLIENT_SECRET] };

describe('token endpoint: successes', { skip: moduleMissingReason() }, () => {
  let s;
  let T; // the upstream's tokens and routes
  before(async () => {
    s = await startLegacySuite((up) => [
      tokenLocation('/oauth/', up.url),
      tokenLocation('/floor0/', up.url, ['AlexaLinkMinTTL 0']),
      tokenLocation('/floor900/', up.url, ['AlexaLinkMinTTL 900']),
      tokenLocation('/default0/', up.url, ['AlexaLinkDefaultTTL 0']),
      tokenLocation('/default120/', up.url, ['AlexaLinkDefaultTTL 120']),
      tokenLocation('/default7200/', up.url, ['AlexaLinkDefaultTTL 7200']),
      tokenLocation('/nokeep/', up.url, ['AlexaLinkKeepRefreshToken Off']),
      tokenLocation('/budget/', up.url, ['AlexaLinkTimeBudget 0.2']),
    ].join(''));
    T = s.up.tokens;
  });
  after(async () => {
    // deliberate warnings: code answers without refresh_token (the Google
    // cause), TTLs below Alexa's minimum when the floor is off, no TTL at
    // all, and the time-budget line
    await finish(s);
  });

  // One exchange: the request, what the upstream got, the log line, the notes.
  async function exchange(path, body = codeBody, opts = auth) {
    const mark = s.apache.mark();
    const n = s.up.count();
    const res = await tokenRequest(s.apache.port, path, body, opts);
    const upstream = onlyRequestSince(s.up, n);
    const line = await exchangeAfter(s.apache, mark, res);
    const notes = await accessAfter(s.apache, mark, path.split('?')[0], res);
    return { res, upstream, line, notes, mark };
  }

  function assertForwardedIntact(upstream, body) {
    assert.equal(upstream.method, 'POST');
    assertSameText(upstream.body, body, 'the form body reached the upstream byte for byte');
    assert.equal(upstream.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(upstream.headers.accept, 'application/json');
    assert.equal(upstream.headers['accept-encoding'], 'identity');
  }

  function assertLine(line, fields) {
    for (const [k, v] of Object.entries(fields)) {
      if (v instanceof RegExp) assert.match(line[k], v, `log field ${k}: ${redact(line.raw)}`);
      else assert.equal(line[k], v, `log field ${k}: ${redact(line.raw)}`);
    }
  }

  function fixesOf(verdict) {
    const m = /^(?:rewritten|would-rewrite):(.*)$/.exec(verdict);
    return m ? m[1].split(',').sort() : [];
  }

  it('a proper JSON answer leaves unchanged, verdict ok, level info', async () => {
    const { res, upstream, line, notes } = await exchange('/oauth/json-ok');
    const want = s.up.table['/json-ok'].json;
    assertAlexaSuccess(res, want);
    assertSameText(res.text, s.up.table['/json-ok'].body, 'body bytes unchanged');
    assertForwardedIntact(upstream, codeBody);
    assertLine(line, { level: 'info', grant: 'authorization_code', client: CLIENT_ID, status: '200->200', ttl: '3600->3600', refresh: 'forwarded', verdict: 'ok' });
    const [inShape, outShape] = line.shape.split('->');
    assertShape(inShape, 'json', want, 'shape in');
    assertShape(outShape, 'json', want, 'shape out');
    assert.equal(notes.grant, 'authorization_code');
    assert.equal(notes.verdict, 'ok');
    assert.equal(notes.refresh, 'forwarded');
    assert.equal(notes.status, '200');
    assertShape(notes.shapeIn, 'json', want, 'note alexalink-shape-in');
    assertShape(notes.shapeOut, 'json', want, 'note alexalink-shape-out');
    assert.match(notes.ms, /^\d+$/);
  });

  it('GitHub form-encoded 200 becomes JSON with Bearer kept as sent, default TTL, no-store; missing refresh token warned (access_type=offline)', async () => {
    const { res, upstream, line, notes, mark } = await exchange('/oauth/form');
    await expectLog(s.apache, mark, ['ALX0100']); // no refresh_token from a code exchange is a warn
    const want = { access_token: T.access, token_type: 'bearer', scope: '', expires_in: 3600 };
    assertAlexaSuccess(res, want);
    assertForwardedIntact(upstream, codeBody);
    assertLine(line, { level: 'warn', grant: 'authorization_code', status: '200->200', ttl: 'absent->3600', refresh: 'absent', verdict: /^rewritten:/ });
    for (const fix of ['json', 'no-store', 'ttl-default']) assert.ok(fixesOf(line.verdict).includes(fix), `verdict names ${fix}: ${line.verdict}`);
    assert.match(line.raw, /access_type=offline/, 'the warning names the Google cause');
    const [inShape, outShape] = line.shape.split('->');
    assertShape(inShape, 'form', formObject(s.up.table['/form'].body), 'shape in');
    assertShape(outShape, 'json', want, 'shape out');
    assert.equal(notes.verdict, line.verdict);
    assert.equal(notes.refresh, 'absent');
  });

  it('201 Created becomes 200 with the same JSON', async () => {
    const { res, line } = await exchange('/oauth/created');
    assertAlexaSuccess(res, s.up.table['/created'].json);
    assertLine(line, { level: 'notice', status: '201->200', refresh: 'forwarded' });
    assert.deepEqual(fixesOf(line.verdict), ['status']);
  });

  it('string expires_in "3600" becomes the integer 3600', async () => {
    const { res, line } = await exchange('/oauth/ttl-string');
    assertAlexaSuccess(res, { ...s.up.table['/ttl-string'].json, expires_in: 3600 });
    assertLine(line, { level: 'notice', ttl: '3600->3600' });
    assert.deepEqual(fixesOf(line.verdict), ['ttl-type']);
  });

  it('real expires_in 3599.7 becomes the integer 3599 (truncated)', async () => {
    const { res, line } = await exchange('/oauth/ttl-real');
    assertAlexaSuccess(res, { ...s.up.table['/ttl-real'].json, expires_in: 3599 });
    assertLine(line, { level: 'notice', ttl: '3599->3599' });
    assert.deepEqual(fixesOf(line.verdict), ['ttl-type']);
  });

  it('short expires_in 60 is raised to the default floor 600', async () => {
    const { res, line, mark } = await exchange('/oauth/ttl-short');
    await expectLog(s.apache, mark, ['ALX0100', shortLived(60)]); // the first short-lived answer is told once an hour
    assertAlexaSuccess(res, { ...s.up.table['/ttl-short'].json, expires_in: 600 });
    assertLine(line, { level: 'notice', ttl: '60->600' });
    assert.deepEqual(fixesOf(line.verdict), ['ttl-floor']);
  });

  it('AlexaLinkMinTTL 900 raises 60 to 900', async () => {
    const { res, line } = await exchange('/floor900/ttl-short');
    assertAlexaSuccess(res, { ...s.up.table['/ttl-short'].json, expires_in: 900 });
    assertLine(line, { ttl: '60->900' });
  });

  it('AlexaLinkMinTTL 0 leaves 60 as sent (and warns: below Alexa\'s 360 s)', async () => {
    const { res, line, mark } = await exchange('/floor0/ttl-short');
    await expectLog(s.apache, mark, ['ALX0100']); // 60 s kept as sent: below Alexa's 360 s
    assertAlexaSuccess(res, s.up.table['/ttl-short'].json);
    assertLine(line, { level: 'warn', ttl: '60->60', verdict: 'ok' });
  });

  it('missing token_type gets "Bearer"', async () => {
    const { res, line } = await exchange('/oauth/no-token-type');
    assertAlexaSuccess(res, { ...s.up.table['/no-token-type'].json, token_type: 'Bearer' });
    assert.deepEqual(fixesOf(line.verdict), ['token-type']);
  });

  it('lower-case "bearer" is kept as sent', async () => {
    const { res, line } = await exchange('/oauth/lower-bearer');
    assertAlexaSuccess(res, s.up.table['/lower-bearer'].json);
    assertLine(line, { verdict: 'ok' });
  });

  it('missing expires_in gets AlexaLinkDefaultTTL (3600)', async () => {
    const { res, line } = await exchange('/oauth/no-expires');
    assertAlexaSuccess(res, { ...s.up.table['/no-expires'].json, expires_in: 3600 });
    assertLine(line, { ttl: 'absent->3600' });
    assert.deepEqual(fixesOf(line.verdict), ['ttl-default']);
  });

  it('AlexaLinkDefaultTTL 7200 is inserted as 7200', async () => {
    const { res } = await exchange('/default7200/no-expires');
    assertAlexaSuccess(res, { ...s.up.table['/no-expires'].json, expires_in: 7200 });
  });

  it('AlexaLinkDefaultTTL 120 is inserted, then raised to the floor 600', async () => {
    const { res, line } = await exchange('/default120/no-expires');
    assertAlexaSuccess(res, { ...s.up.table['/no-expires'].json, expires_in: 600 });
    assertLine(line, { ttl: 'absent->600' });
  });

  it('AlexaLinkDefaultTTL 0 leaves expires_in absent (and warns)', async () => {
    const { res, line, mark } = await exchange('/default0/no-expires');
    await expectLog(s.apache, mark, ['ALX0100']); // no expires_in sent on: a warn
    assertAlexaSuccess(res, s.up.table['/no-expires'].json);
    assertLine(line, { level: 'warn', ttl: 'absent->absent' });
  });

  it('unknown fields (id_token, nested objects, numbers) are kept', async () => {
    const { res, line } = await exchange('/oauth/extra-fields');
    assertAlexaSuccess(res, s.up.table['/extra-fields'].json);
    assertLine(line, { verdict: 'ok' });
  });

  it('form-shaped text/plain is parsed like a form', async () => {
    const { res, line, mark } = await exchange('/oauth/text-form');
    await expectLog(s.apache, mark, ['ALX0100']); // no refresh_token from a code exchange is a warn
    assertAlexaSuccess(res, { access_token: T.access, token_type: 'bearer', expires_in: 3600 });
    assertLine(line, { status: '200->200', ttl: '3600->3600', verdict: /^rewritten:/ });
    assert.ok(fixesOf(line.verdict).includes('json'), line.verdict);
    assert.match(line.shape, /^form\{/);
  });

  it('a refresh answer without refresh_token gets the presented one back', async () => {
    const { res, upstream, line, notes } = await exchange('/oauth/refresh-no-rt', refreshBody);
    assertAlexaSuccess(res, { ...s.up.table['/refresh-no-rt'].json, refresh_token: PRESENTED_RT });
    assertForwardedIntact(upstream, refreshBody);
    assertLine(line, { level: 'notice', grant: 'refresh_token', client: CLIENT_ID, refresh: 'kept' });
    assert.deepEqual(fixesOf(line.verdict), ['refresh-kept']);
    assert.equal(notes.grant, 'refresh_token');
    assert.equal(notes.refresh, 'kept');
  });

  it('AlexaLinkKeepRefreshToken Off leaves it absent', async () => {
    const { res, line } = await exchange('/nokeep/refresh-no-rt', refreshBody);
    assertAlexaSuccess(res, s.up.table['/refresh-no-rt'].json);
    assertLine(line, { refresh: 'absent', verdict: 'ok' });
  });

  it('a rotating refresh answer is forwarded with the new refresh token (refresh=rotated)', async () => {
    const { res, line, notes } = await exchange('/oauth/refresh-rotate', refreshBody);
    assertAlexaSuccess(res, s.up.table['/refresh-rotate'].json);
    assertLine(line, { grant: 'refresh_token', refresh: 'rotated', verdict: 'ok', level: 'info' });
    assert.equal(notes.refresh, 'rotated');
  });

  it('a refresh answer repeating the presented token: refresh=forwarded', async () => {
    const body = form([['grant_type', 'refresh_token'], ['refresh_token', T.refresh]]);
    const { res, line } = await exchange('/oauth/json-ok', body);
    assertAlexaSuccess(res, s.up.table['/json-ok'].json);
    assertLine(line, { grant: 'refresh_token', refresh: 'forwarded', verdict: 'ok' });
  });

  it('Google-style code answer without refresh_token: unchanged, warn naming access_type=offline', async () => {
    const { res, line, notes, mark } = await exchange('/oauth/code-no-rt');
    await expectLog(s.apache, mark, ['ALX0100']);
    assertAlexaSuccess(res, s.up.table['/code-no-rt'].json);
    assertLine(line, { level: 'warn', grant: 'authorization_code', refresh: 'absent', ttl: '3599->3599' });
    assert.match(line.raw, /access_type=offline/);
    assert.equal(notes.refresh, 'absent');
  });

  it('a slow answer (300 ms) is logged with ms >= 300 in the line and the note', async () => {
    const { res, line, notes } = await exchange('/oauth/slow?delay=300');
    assertAlexaSuccess(res, s.up.table['/slow'].json);
    assert.ok(Number(line.ms) >= 300, `ms=${line.ms}`);
    assert.ok(Number(notes.ms) >= 300, `note ms=${notes.ms}`);
    assert.doesNotMatch(s.apache.errorLog(), /ALX0101/, 'within the 4.5 s default budget');
  });

  it('an answer over AlexaLinkTimeBudget 0.2 is warned with ALX0101 naming the directive', async () => {
    const mark = s.apache.mark();
    const res = await tokenRequest(s.apache.port, '/budget/slow?delay=400', codeBody, auth);
    assertAlexaSuccess(res, s.up.table['/slow'].json);
    const mine = new RegExp(`:${res.localPort}\\] ALX0101: `);
    const text = await expectLog(s.apache, mark, [mine, 'ALX0100']); // over the budget: both warn
    const l = text.split('\n').find((x) => mine.test(x));
    assert.match(l, /\[alexalink:warn\]/);
    assert.match(l, /AlexaLinkTimeBudget/);
    const line = await exchangeAfter(s.apache, mark, res);
    assert.ok(Number(line.ms) >= 400, `ms=${line.ms}`);
  });
});

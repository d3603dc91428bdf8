// SPEC "Token endpoint", request side: what the upstream receives (Accept,
// identity encoding, the body byte for byte, client-auth conversion) and the
// JSON errors for bad input, after which Apache keeps serving.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { moduleMissingReason } from '../lib/apache.mjs';
import { tokenRequest, form, basicHeader, formEncode } from '../lib/http.mjs';
import { secret, registerSecret, redact } from '../lib/secrets.mjs';
import {
  startLegacySuite, finish, tokenLocation, exchangeAfter, assertAlexaSuccess, assertAlexaError,
  onlyRequestSince, assertSameText, REDIRECT_URI,
} from '../lib/suite.mjs';

const CLIENT_ID = 'alexa-skill';
// characters that RFC 6749 2.3.1 form-encodes inside the Basic header
const CLIENT_SECRET = secret('request-side client_secret', '+/=:%&');
const CODE = secret('request-side code');
const VERIFIER = secret('request-side code_verifier', '-._~');
const BASIC = registerSecret(basicHeader(CLIENT_ID, CLIENT_SECRET), 'request-side Basic header');

describe('token endpoint: request side', { skip: moduleMissingReason() }, () => {
  let s;
  before(async () => {
    s = await startLegacySuite((up) => [
      tokenLocation('/oauth/', up.url),
      tokenLocation('/body/', up.url, ['AlexaLinkClientAuth body']),
      tokenLocation('/basic/', up.url, ['AlexaLinkClientAuth basic']),
      tokenLocation('/small/', up.url, ['AlexaLinkMaxBody 1k']),
    ].join(''));
  });
  after(async () => {
    await finish(s);
  });

  const codeFields = [
    ['grant_type', 'authorization_code'], ['code', CODE], ['redirect_uri', REDIRECT_URI],
    ['code_verifier', VERIFIER], ['x_vendor_param', 'a b+c/d'],
  ];

  it('enforce: Accept and Accept-Encoding are replaced, body and other headers reach the upstream byte for byte', async () => {
    const body = form(codeFields);
    const n = s.up.count();
    const res = await tokenRequest(s.apache.port, '/oauth/json-ok', body, {
      headers: { Accept: 'text/html,*/*;q=0.8', 'Accept-Encoding': 'gzip, deflate, br', Authorization: BASIC, 'User-Agent': 'Apache-HttpClient/UNAVAILABLE (Java/1.8.0_112)' },
    });
    assertAlexaSuccess(res, s.up.table['/json-ok'].json);
    const got = onlyRequestSince(s.up, n);
    assert.equal(got.method, 'POST');
    assert.equal(got.url, '/json-ok');
    assertSameText(got.body, body, 'body byte for byte, code_verifier and unknown params included');
    assert.equal(got.headers['content-length'], String(Buffer.byteLength(body)));
    assert.equal(got.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(got.headers.accept, 'application/json');
    assert.equal(got.headers['accept-encoding'], 'identity');
    assert.equal(redact(got.headers.authorization), redact(BASIC), 'as-is: Authorization untouched');
    assert.equal(got.headers['user-agent'], 'Apache-HttpClient/UNAVAILABLE (Java/1.8.0_112)');
  });

  it('enforce: a chunked request body reaches the upstream intact', async () => {
    const body = form(codeFields);
    const n = s.up.count();
    const res = await tokenRequest(s.apache.port, '/oauth/json-ok', body, { basic: [CLIENT_ID, CLIENT_SECRET], chunked: true });
    assertAlexaSuccess(res, s.up.table['/json-ok'].json);
    assertSameText(onlyRequestSince(s.up, n).body, body, 'body intact');
  });

  it('AlexaLinkClientAuth body: Basic credentials become client_id/client_secret appended to the body, no Authorization', async () => {
    const body = form(codeFields);
    const n = s.up.count();
    const mark = s.apache.mark();
    const res = await tokenRequest(s.apache.port, '/body/json-ok', body, { headers: { Authorization: BASIC } });
    assertAlexaSuccess(res, s.up.table['/json-ok'].json);
    const got = onlyRequestSince(s.up, n);
    assert.equal(got.headers.authorization, undefined, 'no Authorization header upstream');
    // the module may re-encode the body (WHATWG form rules); compare decoded, in order
    assert.deepEqual(redact([...new URLSearchParams(got.body)]), redact([...codeFields, ['client_id', CLIENT_ID], ['client_secret', CLIENT_SECRET]]),
      'the original fields in order, then client_id and client_secret');
    assert.equal(got.headers['content-length'], String(Buffer.byteLength(got.body)), 'Content-Length of the new body');
    const line = await exchangeAfter(s.apache, mark, res);
    assert.equal(line.client, CLIENT_ID);
  });

  it('AlexaLinkClientAuth body: credentials already in the body pass unchanged', async () => {
    const body = form([...codeFields, ['client_id', CLIENT_ID], ['client_secret', CLIENT_SECRET]]);
    const n = s.up.count();
    const res = await tokenRequest(s.apache.port, '/body/json-ok', body);
    assertAlexaSuccess(res, s.up.table['/json-ok'].json);
    const got = onlyRequestSince(s.up, n);
    assertSameText(got.body, body, 'body unchanged');
    assert.equal(got.headers.authorization, undefined);
  });

  it('AlexaLinkClientAuth basic: body credentials become an RFC 6749 2.3.1 Basic header, the two fields removed', async () => {
    const fields = [codeFields[0], ['client_id', CLIENT_ID], codeFields[1], ['client_secret', CLIENT_SECRET], ...codeFields.slice(2)];
    const n = s.up.count();
    const mark = s.apache.mark();
    const res = await tokenRequest(s.apache.port, '/basic/json-ok', form(fields));
    assertAlexaSuccess(res, s.up.table['/json-ok'].json);
    const got = onlyRequestSince(s.up, n);
    assert.equal(redact(got.headers.authorization), redact(`Basic ${Buffer.from(`${formEncode(CLIENT_ID)}:${formEncode(CLIENT_SECRET)}`).toString('base64')}`));
    assert.deepEqual(redact([...new URLSearchParams(got.body)]), redact(codeFields), 'the other fields in order (compared decoded)');
    assert.equal(got.headers['content-length'], String(Buffer.byteLength(got.body)));
    const line = await exchangeAfter(s.apache, mark, res);
    assert.equal(line.client, CLIENT_ID);
  });

  it('AlexaLinkClientAuth basic: a Basic header already present passes unchanged', async () => {
    const body = form(codeFields);
    const n = s.up.count();
    const res = await tokenRequest(s.apache.port, '/basic/json-ok', body, { headers: { Authorization: BASIC } });
    assertAlexaSuccess(res, s.up.table['/json-ok'].json);
    const got = onlyRequestSince(s.up, n);
    assert.equal(redact(got.headers.authorization), redact(BASIC));
    assertSameText(got.body, body, 'body unchanged');
  });

  // Bad input: the module answers itself, the upstream receives nothing.
  const bad = [
    ['wrong Content-Type (application/json)', '/oauth/json-ok', JSON.stringify({ grant_type: 'authorization_code', code: CODE }), { contentType: 'application/json' }, 400, 'invalid_request'],
    ['body over AlexaLinkMaxBody 1k (Content-Length)', '/small/json-ok', form([...codeFields, ['pad', 'p'.repeat(2048)]]), {}, 400, 'invalid_request'],
    ['body over AlexaLinkMaxBody 1k (chunked)', '/small/json-ok', form([...codeFields, ['pad', 'p'.repeat(2048)]]), { chunked: true }, 400, 'invalid_request'],
    ['body over the default 64 KiB', '/oauth/json-ok', form([...codeFields, ['pad', 'p'.repeat(70000)]]), {}, 400, 'invalid_request'],
    ['bad percent-encoding (%ZZ)', '/oauth/json-ok', `grant_type=authorization_code&code=${CODE}%ZZ&redirect_uri=x`, {}, 400, 'invalid_request'],
    ['truncated percent-encoding (%4)', '/oauth/json-ok', `grant_type=authorization_code&redirect_uri=x&code=${CODE}%4`, {}, 400, 'invalid_request'],
    ['duplicate parameter (code twice)', '/oauth/json-ok', `grant_type=authorization_code&code=${CODE}&code=${CODE}&redirect_uri=x`, {}, 400, 'invalid_request'],
    ['duplicate parameter (grant_type twice)', '/oauth/json-ok', `grant_type=authorization_code&grant_type=refresh_token&code=${CODE}`, {}, 400, 'invalid_request'],
    ['malformed Basic header (bad base64)', '/oauth/json-ok', form(codeFields), { headers: { Authorization: `Basic !!${CLIENT_SECRET}!!` } }, 401, 'invalid_client'],
    ['Basic header without a colon', '/oauth/json-ok', form(codeFields), { headers: { Authorization: `Basic ${Buffer.from(CLIENT_SECRET.slice(0, 32)).toString('base64')}` } }, 401, 'invalid_client'],
    ['malformed Basic header under AlexaLinkClientAuth body', '/body/json-ok', form(codeFields), { headers: { Authorization: 'Basic %%%%' } }, 401, 'invalid_client'],
  ];
  for (const [name, path, body, opts, status, error] of bad) {
    it(`bad input: ${name} -> ${status} ${error}, nothing sent upstream, logged ALX0110`, async () => {
      const n = s.up.count();
      const mark = s.apache.mark();
      const res = await tokenRequest(s.apache.port, path, body, opts);
      assertAlexaError(res, status, error);
      if (status === 401) assert.match(res.headers['www-authenticate'] || '', /^Basic/, 'the module answered 401 itself: WWW-Authenticate');
      else assert.equal(res.headers['www-authenticate'], undefined);
      assert.equal(s.up.count(), n, 'the upstream received nothing');
      await s.apache.waitErrorLog(new RegExp(`:${res.localPort}\\] ALX0110: `), mark);
      // and Apache keeps serving
      const ok = await tokenRequest(s.apache.port, '/oauth/json-ok', form(codeFields), { basic: [CLIENT_ID, CLIENT_SECRET] });
      assert.equal(ok.status, 200);
      assert.doesNotMatch(s.apache.errorLogSince(mark), /exit signal/);
    });
  }
});

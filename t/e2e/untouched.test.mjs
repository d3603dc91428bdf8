// SPEC "Who uses it": a location without AlexaLink is untouched, byte for
// byte. Apache A has the module loaded and an AlexaLink location next door;
// Apache B has no module. The same raw requests through /plain/ must give
// the same bytes back (Date aside) and the upstream the same request.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApache, checkErrorLog, accessLines, NO_MODULE } from '../lib/apache.mjs';
import { rawRequest, parseRaw, basicHeader } from '../lib/http.mjs';
import { startLegacyUpstream } from '../fixtures/legacy-upstream.mjs';
import { startLoginUpstream } from '../fixtures/login-upstream.mjs';
import { secret, registerSecret, redact, secretsIn } from '../lib/secrets.mjs';
import { tokenLocation } from '../lib/suite.mjs';

const CODE = secret('untouched code');
const BASIC = registerSecret(basicHeader('alexa-skill', secret('untouched client_secret')), 'untouched Basic header');

function raw(method, path, { body = '', headers = [] } = {}) {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: alexa.example', 'User-Agent: Apache-HttpClient/UNAVAILABLE (Java/1.8.0_112)', ...headers.map(([k, v]) => `${k}: ${v}`)];
  if (body || method === 'POST') lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  lines.push('Connection: close');
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), Buffer.from(body)]);
}

const FORM = ['Content-Type', 'application/x-www-form-urlencoded'];
const codeBody = `grant_type=authorization_code&code=${CODE}&redirect_uri=https%3A%2F%2Fpitangui.amazon.com%2Fapi%2Fskill%2Flink%2FM2AAAAAAAAAAAA`;
const cases = [
  ['POST form answer', 'POST', '/form', { body: codeBody, headers: [FORM, ['Authorization', BASIC], ['Accept', '*/*'], ['Accept-Encoding', 'gzip, deflate']] }],
  ['POST JSON ok', 'POST', '/json-ok', { body: codeBody, headers: [FORM, ['Authorization', BASIC]] }],
  ['POST 201', 'POST', '/created', { body: codeBody, headers: [FORM] }],
  ['POST short TTL', 'POST', '/ttl-short', { body: codeBody, headers: [FORM] }],
  ['POST GitHub 200 + error', 'POST', '/gh-error-json', { body: codeBody, headers: [FORM] }],
  ['POST 503 HTML', 'POST', '/html-503', { body: codeBody, headers: [FORM] }],
  ['POST gzip', 'POST', '/gzip', { body: codeBody, headers: [FORM, ['Accept-Encoding', 'gzip']] }],
  ['POST oversize', 'POST', '/oversize', { body: codeBody, headers: [FORM] }],
  ['POST malformed JSON', 'POST', '/malformed', { body: codeBody, headers: [FORM] }],
  ['POST empty', 'POST', '/empty', { body: codeBody, headers: [FORM] }],
  ['POST duplicate params', 'POST', '/json-ok', { body: `${codeBody}&code=x`, headers: [FORM] }],
  ['POST bad percent-encoding', 'POST', '/json-ok', { body: 'grant_type=%ZZ', headers: [FORM] }],
  ['POST malformed Basic', 'POST', '/json-ok', { body: codeBody, headers: [FORM, ['Authorization', 'Basic %%%%']] }],
  ['POST JSON body', 'POST', '/json-ok', { body: '{"grant_type":"authorization_code"}', headers: [['Content-Type', 'application/json']] }],
  ['GET', 'GET', '/json-ok?x=1', { headers: [['Accept', 'application/json']] }],
];

describe('a location without AlexaLink is untouched', () => {
  let up;
  let withMod;
  let without;
  before(async () => {
    up = await startLegacyUpstream();
    const plain = `ProxyPass /plain/ ${up.url}/\n`;
    // AlexaLink authorize on a token server's routes (no redirect_uri, no
    // HTML, no redirect): nothing to check, so the bytes stay as they are.
    const authorize = `ProxyPass /authz/ ${up.url}/\n<Location /authz/>\n  AlexaLink authorize\n</Location>\n`;
    withMod = await startApache({ locations: NO_MODULE ? plain : `${tokenLocation('/alx/', up.url)}${plain}${authorize}` });
    without = await startApache({ locations: plain, withModule: false });
  });
  after(async () => {
    const a = withMod ? await withMod.stop() : { errorLog: '', accessLog: '' };
    const b = without ? await without.stop() : { errorLog: '', accessLog: '' };
    await up.close();
    checkErrorLog(a.errorLog);
    checkErrorLog(b.errorLog);
    assert.doesNotMatch(a.errorLog, /ALX\d{4}/, 'the module logged nothing for /plain/');
    for (const l of accessLines(a.accessLog)) {
      assert.deepEqual([l.grant, l.shapeIn, l.shapeOut, l.verdict, l.ms, l.refresh], ['-', '-', '-', '-', '-', '-'], `no notes on ${l.uri}`);
    }
    assert.deepEqual([...secretsIn(a.errorLog + a.accessLog), ...secretsIn(b.errorLog + b.accessLog)], []);
  });

  async function through(apache, data) {
    const n = up.count();
    const bytes = await rawRequest({ port: apache.port, data });
    const got = up.since(n);
    return { bytes, got };
  }

  // Date changes; Keep-Alive and Server are the same binary's.
  const comparable = (bytes) => {
    const r = parseRaw(bytes);
    return { statusLine: r.statusLine, headers: r.headers.filter(([k]) => k.toLowerCase() !== 'date'), body: r.body.toString('base64') };
  };
  const upstreamView = (got) => got.map((g) => ({ method: g.method, url: g.url, rawHeaders: g.rawHeaders, body: g.body }));

  for (const [name, method, route, opts] of cases.slice(0, 2)) {
    it(`${name} through AlexaLink authorize: same bytes as without the module`, { skip: NO_MODULE }, async () => {
      const a = await through(withMod, raw(method, `/authz${route}`, opts));
      const b = await through(without, raw(method, `/plain${route}`, opts));
      assert.deepEqual(redact(comparable(a.bytes)), redact(comparable(b.bytes)), 'client sees the same status line, headers and body');
      assert.equal(a.got.length, 1, 'upstream reached once');
      assert.deepEqual(redact(upstreamView(a.got)), redact(upstreamView(b.got)), 'upstream sees the same request');
    });
  }

  for (const [name, method, route, opts] of cases) {
    it(`${name}: same bytes with and without the module`, async () => {
      const data = raw(method, `/plain${route}`, opts);
      const a = await through(withMod, data);
      const b = await through(without, data);
      assert.ok(a.bytes.length > 0 && b.bytes.length > 0, 'both answered');
      assert.deepEqual(redact(comparable(a.bytes)), redact(comparable(b.bytes)), 'client sees the same status line, headers and body');
      assert.equal(a.got.length, 1, 'upstream reached once');
      assert.deepEqual(redact(upstreamView(a.got)), redact(upstreamView(b.got)), 'upstream sees the same request');
    });
  }
});

// Login pages and redirects back to Alexa through a location without
// AlexaLink, the module loaded next door: byte for byte what Apache without
// the module sends, HTML included.
describe('a location without AlexaLink leaves login pages and redirects alone', () => {
  let login;
  let withMod;
  let without;
  before(async () => {
    login = await startLoginUpstream();
    const plain = `ProxyPass /plain/ ${login.url}/oauth/authorize/\n`;
    const authorize = `ProxyPass /oauth/ ${login.url}/oauth/\n<Location /oauth/authorize>\n  AlexaLink authorize\n</Location>\n`;
    withMod = await startApache({ locations: NO_MODULE ? plain : `${plain}${authorize}` });
    without = await startApache({ locations: plain, withModule: false });
  });
  after(async () => {
    const a = withMod ? await withMod.stop() : { errorLog: '' };
    const b = without ? await without.stop() : { errorLog: '' };
    await login.close();
    checkErrorLog(a.errorLog);
    checkErrorLog(b.errorLog);
    assert.doesNotMatch(a.errorLog, /ALX\d{4}/, 'the module logged nothing for /plain/');
  });

  const q = new URLSearchParams({ response_type: 'code', client_id: 'alexa-skill', state: 'untouched-state', redirect_uri: 'https://pitangui.amazon.com/api/skill/link/M2AAAAAAAAAAAA' }).toString();
  // the fixture's session cookie counts its requests
  const comparable = (bytes) => {
    const r = parseRaw(bytes);
    return { statusLine: r.statusLine, headers: r.headers.filter(([k]) => k.toLowerCase() !== 'date').map(([k, v]) => [k, k.toLowerCase() === 'set-cookie' ? v.replace(/sid=s\d+/, 'sid=N') : v]), body: r.body.toString('base64') };
  };
  for (const route of ['page/external', 'page/popup', 'stream/external', 'gzip/external', 'drop', 'implicit-query?response_type=token']) {
    it(`${route}: same bytes with and without the module`, async () => {
      const [path, extra] = route.split('?');
      const data = raw('GET', `/plain/${path}?${q}${extra ? `&${extra}` : ''}`, { headers: [['Accept-Encoding', 'gzip']] });
      const a = await rawRequest({ port: withMod.port, data });
      const b = await rawRequest({ port: without.port, data });
      assert.ok(a.length > 0 && b.length > 0, 'both answered');
      assert.deepEqual(comparable(a), comparable(b));
    });
  }
});

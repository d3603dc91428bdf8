// Shared pieces of the end-to-end files: start Apache in front of the legacy
// upstream, read the exchange line and the access-log notes of one request,
// assert the Alexa-ready success answer, and finish with the log checks.
import assert from 'node:assert/strict';
import { startApache, settleErrorLog, exchangeLines, accessLines, waitFor } from './apache.mjs';
import { startLegacyUpstream } from '../fixtures/legacy-upstream.mjs';
import { redact, secretsIn } from './secrets.mjs';

export const ALEXA_JSON = 'application/json;charset=UTF-8';
export const REDIRECT_URI = 'https://pitangui.amazon.com/api/skill/link/M2AAAAAAAAAAAA';

// A ProxyPass of `prefix` to the upstream and a <Location> with AlexaLink
// token plus `directives` (array of lines); directives === null: no module.
export function tokenLocation(prefix, upstreamUrl, directives = []) {
  const pass = `ProxyPass ${prefix} ${upstreamUrl}/\n`;
  if (directives === null) return pass;
  return `${pass}<Location ${prefix}>\n  AlexaLink token\n${directives.map((d) => `  ${d}\n`).join('')}</Location>\n`;
}

export async function startLegacySuite(locations, { serverConf = '' } = {}) {
  const up = await startLegacyUpstream();
  let apache;
  try {
    apache = await startApache({ locations: locations(up), serverConf });
  } catch (e) {
    await up.close();
    throw e;
  }
  return { up, apache };
}

// Stops everything, then: no warning or crash in the error log that no test
// acknowledged (expectLog), no secret in the error or access log.
// `also`: other servers of the test (oidc-provider, redis, ...), stopped
// before any check can fail, so none keeps the test process alive.
export async function finish({ apache, up, also = [], ...rest }) {
  if ('allow' in rest) throw new Error('finish(): no allow list; acknowledge each step\'s lines with expectLog()');
  let logs = { errorLog: '', accessLog: '' };
  try {
    if (apache) logs = await apache.stop();
  } finally {
    if (up) await up.close();
    for (const server of also) if (server) await server.stop();
  }
  if (apache) settleErrorLog(apache, logs.errorLog, { stopped: true });
  const leaked = [...secretsIn(logs.errorLog).map((l) => `error log: ${l}`), ...secretsIn(logs.accessLog).map((l) => `access log: ${l}`)];
  assert.deepEqual(leaked, [], 'no secret in any log');
  return logs;
}

// The ALX0100 line of one request: the single one logged after mark from
// the client port of `res` (lines of earlier requests may land late).
export async function exchangeAfter(apache, mark, res) {
  const port = res && res.localPort;
  const re = port ? new RegExp(`\\[client [^\\]]*:${port}\\].*ALX0100: token exchange`) : /ALX0100: token exchange/;
  const text = await apache.waitErrorLog(re, mark, 'the ALX0100 exchange line');
  const lines = exchangeLines(text).filter((l) => !port || l.port === port);
  assert.equal(lines.length, 1, `one exchange line, got:\n${redact(text)}`);
  return lines[0];
}

// The access-log entry (notes) of the request to uri logged after mark.
export async function accessAfter(apache, mark, uri, res) {
  const port = res && res.localPort ? String(res.localPort) : null;
  return waitFor(() => accessLines(apache.accessLogSince(mark)).find((l) => l.uri === uri && (!port || l.port === port)), { timeoutMs: 10000, what: `access log entry for ${uri}` });
}

// shape of an object as the module prints it: { key: 'str(5)' | 'int' | ... }
export function shapeOf(obj) {
  const out = {};
  for (const [k, v] of Object.entries(obj)) {
    const key = /^[a-z_][a-z0-9_]{0,31}$/.test(k) ? k : `?(${Buffer.byteLength(k)})`;
    if (typeof v === 'string') out[key] = `str(${Buffer.byteLength(v)})`;
    else if (typeof v === 'number') out[key] = Number.isInteger(v) ? 'int' : 'real';
    else if (typeof v === 'boolean') out[key] = 'bool';
    else if (v === null) out[key] = 'null';
    else if (Array.isArray(v)) out[key] = `arr(${v.length})`;
    else out[key] = `obj(${Object.keys(v).length})`;
  }
  return out;
}

// 'json{a:str(3),b:int}' -> { kind: 'json', members: { a: 'str(3)', b: 'int' } }
export function parseShape(s) {
  const m = /^(\w+)\{(.*)\}$/.exec(s || '');
  if (!m) return { kind: s, members: null };
  const members = {};
  if (m[2]) {
    for (const part of m[2].split(',')) {
      const i = part.lastIndexOf(':');
      members[part.slice(0, i)] = part.slice(i + 1);
    }
  }
  return { kind: m[1], members };
}

export function assertShape(actual, kind, obj, what) {
  assert.deepEqual(parseShape(actual), { kind, members: shapeOf(obj) }, `${what}: ${actual}`);
}

// A form body as an object of strings (what the module's form shape sees).
export function formObject(body) {
  return Object.fromEntries(new URLSearchParams(body));
}

// The answer Alexa needs: 200, JSON, no-store, Pragma, correct length,
// and exactly `expected` as the JSON object (compared with secrets redacted).
export function assertAlexaSuccess(res, expected) {
  assert.equal(res.status, 200, 'status');
  assert.equal(res.headers['content-type'], ALEXA_JSON, 'Content-Type');
  assert.equal(res.headers['cache-control'], 'no-store', 'Cache-Control');
  assert.equal(res.headers.pragma, 'no-cache', 'Pragma');
  assert.equal(res.headers['content-encoding'], undefined, 'no Content-Encoding');
  assert.equal(res.headers['transfer-encoding'], undefined, 'no chunking: a Content-Length');
  assert.equal(Number(res.headers['content-length']), res.body.length, 'Content-Length matches the body');
  const body = res.json();
  assert.equal(typeof body, 'object');
  assert.ok(Number.isInteger(body.expires_in) || body.expires_in === undefined, 'expires_in is an integer');
  assert.deepEqual(redact(body), redact(expected), 'JSON body');
  return body;
}

// An RFC 6749 5.2 error answer: exact status, JSON content type, exact error.
export function assertAlexaError(res, status, error, { descriptionStartsWith = null } = {}) {
  assert.equal(res.status, status, `status (body ${redact(res.text)})`);
  assert.equal(res.headers['content-type'], ALEXA_JSON, 'Content-Type');
  assert.equal(Number(res.headers['content-length']), res.body.length, 'Content-Length matches the body');
  const body = res.json();
  assert.equal(body.error, error, 'error code');
  if (descriptionStartsWith !== null) {
    assert.equal(typeof body.error_description, 'string', 'error_description present');
    assert.ok(body.error_description.startsWith(descriptionStartsWith), `error_description starts with ${descriptionStartsWith}: ${redact(body.error_description)}`);
  }
  return body;
}

// What the upstream received since seq n: exactly one request, returned.
export function onlyRequestSince(up, n) {
  const got = up.since(n);
  assert.equal(got.length, 1, `upstream received exactly one request (got ${got.length})`);
  return got[0];
}

// Exact equality of two strings that may hold secrets: the failure message
// shows both redacted, never the values.
export function assertSameText(actual, expected, message = 'same text') {
  if (actual === expected) return;
  throw new assert.AssertionError({ message: `${message}\n  actual:   ${redact(String(actual))}\n  expected: ${redact(String(expected))}`, operator: 'strictEqual' });
}

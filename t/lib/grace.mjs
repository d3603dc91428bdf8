// Shared pieces of the refresh-grace tests (t/e2e/grace-*.test.mjs): the
// rotating upstream's clients, Apache locations in front of it, a refresh
// request, and the assertions on a replayed answer.
import assert from 'node:assert/strict';
import { exchangeLines, waitFor } from './apache.mjs';
import { tokenRequest, form } from './http.mjs';
import { secret, redact } from './secrets.mjs';
import { startRotatingUpstream } from '../fixtures/rotating-upstream.mjs';
import { ALEXA_JSON, exchangeAfter } from './suite.mjs';

export const CLIENT_A = 'alexa-skill-a';
export const CLIENT_B = 'alexa-skill-b';

export function graceClients() {
  return { [CLIENT_A]: secret('rotating client A secret'), [CLIENT_B]: secret('rotating client B secret') };
}

export async function startRotating(opts = {}) {
  return startRotatingUpstream({ clients: graceClients(), ...opts });
}

// A ProxyPass of prefix to target and an AlexaLink token <Location> with
// the extra directives.
export function graceLocation(prefix, target, directives = []) {
  return `ProxyPass ${prefix} ${target}\n<Location ${prefix}>\n  AlexaLink token\n${directives.map((d) => `  ${d}\n`).join('')}</Location>\n`;
}

// Enough processes or threads for 50+ simultaneous requests under either MPM.
export const WIDE_MPM = {
  prefork: 'StartServers 60\nMinSpareServers 60\nMaxSpareServers 80\nServerLimit 80\nMaxRequestWorkers 80',
  event: 'StartServers 3\nServerLimit 4\nThreadsPerChild 32\nThreadLimit 32\nMinSpareThreads 32\nMaxSpareThreads 128\nMaxRequestWorkers 128',
  worker: 'StartServers 3\nServerLimit 4\nThreadsPerChild 32\nThreadLimit 32\nMinSpareThreads 32\nMaxSpareThreads 128\nMaxRequestWorkers 128',
};

// A refresh_token grant; creds = [id, secret] sent as Basic unless
// { body: true } (then as body fields; secret null = no secret at all).
export function refresh(port, path, refreshToken, creds, { body = false } = {}) {
  const pairs = [['grant_type', 'refresh_token'], ['refresh_token', refreshToken]];
  if (body) {
    pairs.push(['client_id', creds[0]]);
    if (creds[1] != null) pairs.push(['client_secret', creds[1]]);
    return tokenRequest(port, path, form(pairs));
  }
  return tokenRequest(port, path, form(pairs), { basic: creds });
}

// A 200 Alexa-ready token answer; returns the JSON.
export function assertTokenAnswer(res, what = 'token answer') {
  assert.equal(res.status, 200, `${what}: status (body ${redact(res.text)})`);
  assert.equal(res.headers['content-type'], ALEXA_JSON, `${what}: Content-Type`);
  assert.equal(res.headers['cache-control'], 'no-store', `${what}: Cache-Control`);
  assert.equal(Number(res.headers['content-length']), res.body.length, `${what}: Content-Length`);
  const j = res.json();
  assert.equal(typeof j.access_token, 'string', `${what}: access_token`);
  return j;
}

// The replayed answer is the first one, expires_in aside; expires_in is
// within [lo, hi].
export function assertSameTokens(got, first, { lo = null, hi = null } = {}, what = 'replayed answer') {
  const { expires_in: e1, ...rest1 } = first;
  const { expires_in: e2, ...rest2 } = got;
  assert.deepEqual(redact(rest2), redact(rest1), `${what}: the same tokens and fields`);
  assert.ok(Number.isInteger(e2), `${what}: expires_in integer`);
  if (lo !== null) assert.ok(e2 >= lo && e2 <= hi, `${what}: expires_in ${e2} within [${lo}, ${hi}] (first ${e1})`);
}

// Lines of the error log after mark with the tag, on res's client port
// (or all of them when res is null).
export function tagLines(text, tag, res = null) {
  return text.split('\n').filter((l) => l.includes(`${tag}: `) && (!res || l.includes(`:${res.localPort}]`)));
}

export async function waitTag(apache, mark, tag, res = null) {
  return waitFor(() => {
    const lines = tagLines(apache.errorLogSince(mark), tag, res);
    return lines.length ? lines : false;
  }, { what: `${tag} in the error log` });
}

export { waitFor, exchangeLines, exchangeAfter };

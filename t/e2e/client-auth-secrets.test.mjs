// SPEC "Token endpoint", reading Basic credentials: most clients send the id
// and secret raw in Basic (not form-encoded as RFC 6749 2.3.1 asks), and
// secrets are often base64 themselves. A valid %XX is decoded, '+' and any
// other '%' are literal; `as-is` never rejects credentials for their
// percent-encoding. Checked against what the upstream actually receives.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { moduleMissingReason } from '../lib/apache.mjs';
import { tokenRequest, form, formEncode } from '../lib/http.mjs';
import { secret, registerSecret, redact } from '../lib/secrets.mjs';
import {
  startLegacySuite, finish, tokenLocation, exchangeAfter, assertAlexaSuccess,
  onlyRequestSince, REDIRECT_URI,
} from '../lib/suite.mjs';

const CLIENT_ID = 'alexa-skill';
// A fresh code per request: a repeated refresh token with the same client
// credentials would be answered from the grace store, the upstream not asked.
let codes = 0;
function grant() {
  const code = secret(`client-auth code ${++codes}`);
  return [['grant_type', 'authorization_code'], ['code', code], ['redirect_uri', REDIRECT_URI]];
}

// name -> secret; each has the 32-character core of secret() plus the
// characters under test, placed so no valid %XX appears by accident.
const SECRETS = {
  plus: secret('client-auth secret with +', 'a+b+'),
  slash: secret('client-auth secret with /', '/x/'),
  equals: secret('client-auth secret with =', '=='),
  'base64-like': secret('client-auth base64-like secret', '+/Ym=Fy=='),
  'stray %': secret('client-auth secret with stray %', '50%off'),
  'lone %': secret('client-auth secret ending in %', '%'),
  '%4': secret('client-auth secret ending in %4', '%4'),
  '%zz': secret('client-auth secret with %zz', '%zzx'),
  tilde: secret('client-auth secret with ~', '~x~'),
  everything: secret('client-auth secret with all', '+/=%~%4'),
  // a %XX that would decode to a control byte stays literal (alx_basic.h)
  '%00 literal': secret('client-auth secret with %00', 'x%00y'),
};

// Sent raw, a valid %XX is decoded: what the client wrote -> what it means.
const ESCAPED = [
  ['%2B', secret('client-auth raw %2B', 'p%2Bq'), null],
  ['%41 and %2f', secret('client-auth raw %41', 'p%41%2fq'), null],
];
for (const e of ESCAPED) e[2] = registerSecret(e[1].replace(/%2B/g, '+').replace(/%41/g, 'A').replace(/%2f/g, '/'), `${e[0]} decoded`);

// a space: the module reads it from the body and must build %20, not '+'
const SPACE_SECRET = secret('client-auth secret with a space', 'a b');

// "Basic " + base64 of the bytes, registered so the leak check finds it.
function basicOf(plain, label) {
  const b64 = registerSecret(Buffer.from(plain, 'latin1').toString('base64'), `${label} (base64)`);
  return registerSecret(`Basic ${b64}`, label);
}
const rawBasic = (s, label) => basicOf(`${CLIENT_ID}:${s}`, `raw Basic, ${label}`);
const rfcBasic = (s, label) => basicOf(`${formEncode(CLIENT_ID)}:${formEncode(s)}`, `RFC Basic, ${label}`);

// Redacted, and any long alphanumeric run (a secret's core, even in a form
// redact() no longer recognises) masked: safe for an assertion message.
function masked(v) {
  return redact(String(v)).replace(/[A-Za-z0-9+/]{16,}/g, (m) => `«${m.length} chars»`);
}
// Like assertSameText (t/lib/suite.mjs), but masked, and through
// assert.fail: node 20 drops the message of an AssertionError built with
// operator 'strictEqual' and no actual/expected.
function assertSecret(actual, expected, what) {
  if (actual === expected) return;
  assert.fail(`${what}\n  actual:   ${masked(actual)}\n  expected: ${masked(expected)}`);
}

// RFC 6749 appendix B / WHATWG form decoding, as an upstream does it.
function formDecode(s) {
  return decodeURIComponent(s.replace(/\+/g, ' '));
}

// The id and secret an RFC 6749 2.3.1 server reads from a Basic header.
function rfcReadBasic(header) {
  const m = /^Basic (.+)$/.exec(header || '');
  assert.ok(m, 'a Basic header upstream');
  const plain = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = plain.indexOf(':');
  assert.ok(colon > 0, 'the Basic credentials hold a colon');
  return [formDecode(plain.slice(0, colon)), formDecode(plain.slice(colon + 1))];
}

describe('client auth: Basic secrets with + / = % ~', { skip: moduleMissingReason() }, () => {
  let s;
  before(async () => {
    s = await startLegacySuite((up) => [
      tokenLocation('/oauth/', up.url),
      tokenLocation('/body/', up.url, ['AlexaLinkClientAuth body']),
      tokenLocation('/basic/', up.url, ['AlexaLinkClientAuth basic']),
    ].join(''));
  });
  after(async () => {
    await finish(s || {});
  });

  // One request; the upstream's answer reached the client, so the module
  // did not answer (401 or otherwise) itself.
  async function send(path, body, headers) {
    const n = s.up.count();
    const mark = s.apache.mark();
    const res = await tokenRequest(s.apache.port, path, body, { headers });
    assert.notEqual(res.status, 401, `the module answered 401 itself: ${masked(res.text)}`);
    assertAlexaSuccess(res, s.up.table['/json-ok'].json);
    const got = onlyRequestSince(s.up, n);
    const line = await exchangeAfter(s.apache, mark, res);
    assert.equal(line.client, CLIENT_ID, 'the exchange line names the client');
    return got;
  }

  const sent = [];
  for (const [name, value] of Object.entries(SECRETS)) {
    sent.push([`${name}, raw`, rawBasic(value, name), value]);
    sent.push([`${name}, RFC-encoded`, rfcBasic(value, name), value]);
  }
  for (const [name, written, meant] of ESCAPED) {
    sent.push([`${name}, raw (decoded)`, rawBasic(written, name), meant]);
    sent.push([`${name}, RFC-encoded`, rfcBasic(written, name), written]);
  }

  for (const [name, header] of sent) {
    it(`as-is: Basic secret with ${name} passes byte for byte, no 401`, async () => {
      const body = form(grant());
      const got = await send('/oauth/json-ok', body, { Authorization: header });
      assertSecret(got.headers.authorization, header, 'Authorization byte for byte');
      const raw = got.rawHeaders.filter((h, i) => i % 2 === 0 && h.toLowerCase() === 'authorization');
      assert.equal(raw.length, 1, 'one Authorization header upstream');
      assertSecret(got.body, body, 'body byte for byte');
    });
  }

  for (const [name, header, expected] of sent) {
    it(`AlexaLinkClientAuth body: Basic secret with ${name} becomes client_secret, exactly`, async () => {
      const fields0 = grant();
      const got = await send('/body/json-ok', form(fields0), { Authorization: header });
      assert.equal(got.headers.authorization, undefined, 'no Authorization upstream');
      const fields = [...new URLSearchParams(got.body)];
      assert.deepEqual(fields.map(([k]) => k), ['grant_type', 'code', 'redirect_uri', 'client_id', 'client_secret'], 'fields in order');
      assertSecret(fields[1][1], fields0[1][1], 'code intact');
      assert.equal(fields[2][1], REDIRECT_URI, 'redirect_uri intact');
      assert.equal(fields[3][1], CLIENT_ID, 'client_id');
      assertSecret(fields[4][1], expected, 'client_secret decodes to the secret');
    });
  }

  const fromBody = [...Object.entries(SECRETS), ...ESCAPED.map(([n, w]) => [`${n} (literal text)`, w]), ['a space', SPACE_SECRET]];
  for (const [name, value] of fromBody) {
    it(`AlexaLinkClientAuth basic: body secret with ${name} builds a Basic header an RFC reader decodes exactly`, async () => {
      const got = await send('/basic/json-ok', form([...grant(), ['client_id', CLIENT_ID], ['client_secret', value]]));
      if (got.headers.authorization) registerSecret(got.headers.authorization, `built Basic, ${name}`);
      const [id, sec] = rfcReadBasic(got.headers.authorization);
      assert.equal(id, CLIENT_ID, 'client_id');
      assertSecret(sec, value, 'client_secret read back');
      assert.ok(!/\+/.test(Buffer.from(got.headers.authorization.slice(6), 'base64').toString('latin1')),
        "no '+' inside: a space is %20, a '+' is %2B, so a literal-'+' reader agrees");
      assert.deepEqual([...new URLSearchParams(got.body)].map(([k]) => k), ['grant_type', 'code', 'redirect_uri'], 'credentials left the body');
    });
  }
});

// SPEC "Token endpoint", response side, edges: a JSON token answer with a
// number the parser cannot hold (an integer beyond 64 bits), or a key with
// \u0000, passes through unchanged, never 502; one after a UTF-8 byte order
// mark, or with \u0000 in a string, is rewritten like any other; a
// rewritten answer keeps no header that described the upstream's bytes
// (ETag, Last-Modified, Content-MD5, Digest, Content-Digest, Repr-Digest,
// and Location on a 201).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { moduleMissingReason, expectLog } from '../lib/apache.mjs';
import { tokenRequest, form } from '../lib/http.mjs';
import { secret, redact } from '../lib/secrets.mjs';
import {
  startLegacySuite, finish, tokenLocation, exchangeAfter, accessAfter, assertAlexaSuccess,
  assertShape, onlyRequestSince, formObject, assertSameText, REDIRECT_URI,
} from '../lib/suite.mjs';

const CLIENT_ID = 'alexa-skill';
const CLIENT_SECRET = secret('token-answer-edges client_secret');
const CODE = secret('token-answer-edges code');
const codeBody = form([['grant_type', 'authorization_code'], ['code', CODE], ['redirect_uri', REDIRECT_URI]]);
const auth = { basic: [CLIENT_ID, CLIENT_SECRET] };

// Headers that describe the upstream's bytes (Location too, on a 201).
const REPR = ['ETag', 'Last-Modified', 'Content-MD5', 'Digest', 'Content-Digest', 'Repr-Digest'];

// The warn lines these tests cause, each by its verdict (acknowledged by the test that causes it).
const BIG_NUMBER_LINE = /ALX0100: token exchange .* verdict=passthrough:big-number$/;
const REPORT_TTL_LINE = /ALX0100: token exchange .* verdict=would-rewrite:ttl-type$/;
const REPORT_CREATED_LINE = /ALX0100: token exchange .* verdict=would-rewrite:status,json,no-store,ttl-type$/;
const NUL_KEY_LINE = /ALX0100: token exchange .* verdict=passthrough:NUL-in-key$/;

describe('token endpoint: answer edges', { skip: moduleMissingReason() }, () => {
  let s;
  let T;
  before(async () => {
    s = await startLegacySuite((up) => [
      tokenLocation('/oauth/', up.url),
      tokenLocation('/report/', up.url, ['AlexaLinkMode report']),
    ].join(''));
    T = s.up.tokens;
  });
  after(async () => {
    await finish(s);
  });

  async function exchange(path) {
    const mark = s.apache.mark();
    const n = s.up.count();
    const res = await tokenRequest(s.apache.port, path, codeBody, auth);
    onlyRequestSince(s.up, n);
    const line = await exchangeAfter(s.apache, mark, res);
    const notes = await accessAfter(s.apache, mark, path, res);
    return { res, line, notes, mark };
  }

  function assertNoRepresentationHeaders(res, { location }) {
    for (const h of REPR) assert.equal(res.headers[h.toLowerCase()], undefined, `${h} removed`);
    if (location) assert.equal(res.headers.location, undefined, 'Location removed (upstream 201)');
  }

  function assertUpstreamBytes(res, route) {
    assert.equal(res.status, route.status, 'status unchanged');
    assert.ok(res.body.equals(Buffer.from(route.body)), 'body bytes unchanged');
    assertSameText(res.text, route.body, 'body unchanged');
    for (const [k, v] of Object.entries(route.headers)) assert.equal(res.headers[k.toLowerCase()], v, `header ${k} unchanged`);
  }

  it('a token JSON with a 30-digit integer passes through byte for byte, 200, verdict passthrough:big-number', async () => {
    const route = s.up.table['/big-integer'];
    const { res, line, notes, mark } = await exchange('/oauth/big-integer');
    await expectLog(s.apache, mark, [BIG_NUMBER_LINE]);
    assertUpstreamBytes(res, route);
    assert.match(res.text, /"id":123456789012345678901234567890\}$/, 'the 30 digits are all there');
    assert.equal(Number(res.headers['content-length']), res.body.length, 'Content-Length matches');
    assert.equal(line.level, 'warn', `logged as a warning: ${redact(line.raw)}`);
    assert.equal(line.status, '200->200');
    assert.equal(line.verdict, 'passthrough:big-number', `verdict names the reason: ${redact(line.raw)}`);
    const shape = { access_token: T.access, token_type: 'Bearer', expires_in: 3600, refresh_token: T.refresh, id: 1e29 };
    const [inShape, outShape] = line.shape.split('->');
    assertShape(inShape, 'json', shape, 'shape in (the big number an int)');
    assertShape(outShape, 'json', shape, 'shape out');
    assert.equal(notes.verdict, 'passthrough:big-number');
  });

  it('a token JSON after a UTF-8 byte order mark: 200, the same JSON without the BOM, verdict rewritten:bom', async () => {
    const route = s.up.table['/bom-json'];
    assert.deepEqual([...route.body.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'the upstream sends a BOM');
    const { res, line, notes } = await exchange('/oauth/bom-json');
    assertAlexaSuccess(res, route.json);
    assert.notEqual(res.body[0], 0xef, 'no BOM sent');
    assert.equal(res.text, JSON.stringify(route.json), 'the upstream\'s JSON, byte for byte, after its BOM');
    assert.equal(line.status, '200->200');
    assert.equal(line.verdict, 'rewritten:bom');
    assertShape(line.shape.split('->')[0], 'json', route.json, 'shape in');
    assert.equal(notes.verdict, 'rewritten:bom');
  });

  it('a token JSON with \\u0000 in a string: rewritten faithfully (the NUL kept as \\u0000), expires_in raised to the floor', async () => {
    const route = s.up.table['/nul-string'];
    assert.ok(route.body.includes('"note":"a\\u0000b"'), 'the upstream escapes a NUL');
    const { res, line } = await exchange('/oauth/nul-string');
    const sent = JSON.parse(route.body);
    assertAlexaSuccess(res, { ...sent, expires_in: 600 });
    assert.ok(res.text.includes('"note":"a\\u0000b"'), `the NUL written back as \\u0000: ${redact(res.text)}`);
    assert.equal(line.status, '200->200');
    assert.equal(line.verdict, 'rewritten:ttl-floor');
    assert.equal(line.ttl, '400->600');
  });

  it('a token JSON with \\u0000 in a key (the parser cannot hold it): passed through byte for byte, verdict passthrough:NUL-in-key', async () => {
    const route = s.up.table['/nul-key'];
    const { res, line, notes, mark } = await exchange('/oauth/nul-key');
    await expectLog(s.apache, mark, [NUL_KEY_LINE]);
    assertUpstreamBytes(res, route);
    assert.equal(res.headers.etag, route.headers.ETag, 'ETag kept');
    assert.equal(line.level, 'warn', `logged as a warning: ${redact(line.raw)}`);
    assert.equal(line.verdict, 'passthrough:NUL-in-key');
    assert.equal(notes.verdict, 'passthrough:NUL-in-key');
  });

  it('a 201 form token becomes the 200 JSON without ETag, Last-Modified, Content-MD5, Digest, Content-Digest, Repr-Digest, Location', async () => {
    const route = s.up.table['/created-form-repr'];
    for (const h of [...REPR, 'Location']) assert.ok(route.headers[h], `the upstream sends ${h}`);
    const { res, line } = await exchange('/oauth/created-form-repr');
    assertAlexaSuccess(res, { access_token: T.access, token_type: 'bearer', expires_in: 3600, refresh_token: T.refresh });
    assertNoRepresentationHeaders(res, { location: true });
    assert.equal(line.status, '201->200');
    assert.match(line.verdict, /^rewritten:/);
    assertShape(line.shape.split('->')[0], 'form', formObject(route.body), 'shape in');
  });

  it('a 200 JSON rewritten (string expires_in) leaves without ETag and digests', async () => {
    const route = s.up.table['/ttl-string-repr'];
    const { res, line } = await exchange('/oauth/ttl-string-repr');
    assertAlexaSuccess(res, { ...route.json, expires_in: 3600 });
    assertNoRepresentationHeaders(res, { location: false });
    assert.equal(line.status, '200->200');
    assert.equal(line.verdict, 'rewritten:ttl-type');
  });

  it('control: AlexaLinkMode report rewrites nothing, so ETag and digests stay', async () => {
    const route = s.up.table['/ttl-string-repr'];
    const { res, line, mark } = await exchange('/report/ttl-string-repr');
    await expectLog(s.apache, mark, [REPORT_TTL_LINE]);
    assertUpstreamBytes(res, route);
    assert.equal(res.headers.etag, route.headers.ETag, 'ETag kept');
    assert.equal(line.verdict, 'would-rewrite:ttl-type');
  });

  it('control: in report mode a 201 keeps its Location and ETag', async () => {
    const route = s.up.table['/created-form-repr'];
    const { res, line, mark } = await exchange('/report/created-form-repr');
    await expectLog(s.apache, mark, [REPORT_CREATED_LINE]);
    assertUpstreamBytes(res, route);
    assert.equal(res.headers.location, route.headers.Location, 'Location kept');
    assert.equal(res.headers.etag, route.headers.ETag, 'ETag kept');
    assert.equal(line.verdict, 'would-rewrite:status,json,no-store,ttl-type');
  });

  it('control: the passed-through big-number answer keeps its ETag', async () => {
    const route = s.up.table['/big-integer'];
    const { res, mark } = await exchange('/oauth/big-integer');
    await expectLog(s.apache, mark, [BIG_NUMBER_LINE]);
    assert.equal(res.headers.etag, route.headers.ETag, 'ETag kept');
  });
});

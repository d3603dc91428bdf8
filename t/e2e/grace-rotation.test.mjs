// SPEC "Refresh grace" against t/fixtures/rotating-upstream.mjs (rotation
// with reuse detection, like Okta/Auth0), default shmcb store: replay,
// chain forward, replay limit, other clients, window expiry, report mode,
// a non-rotating upstream, expires_in reduced by the time elapsed.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApache, moduleMissingReason, shortLived, expectLog } from '../lib/apache.mjs';
import { redact } from '../lib/secrets.mjs';
import { finish } from '../lib/suite.mjs';
import { startRotating, graceLocation, refresh, assertTokenAnswer, assertSameTokens, exchangeAfter, tagLines, waitTag, graceClients, CLIENT_A, CLIENT_B } from '../lib/grace.mjs';
import { sleep } from '../lib/wait.mjs';

// A short AlexaLinkTimeBudget: replays later than this are counted ones
// (earlier ones are simultaneous duplicates and are not counted).
const BUDGET = '0.5';
const PAST_BURST_MS = 700;

describe('refresh grace with a rotating upstream (reuse detection)', { skip: moduleMissingReason() }, () => {
  let up;
  let apache;
  let A;
  let B;
  before(async () => {
    up = await startRotating();
    A = [CLIENT_A, graceClients()[CLIENT_A]];
    B = [CLIENT_B, graceClients()[CLIENT_B]];
    const u = up.url;
    apache = await startApache({
      locations: [
        graceLocation('/rot/', `${u}/`, [`AlexaLinkTimeBudget ${BUDGET}`]),
        graceLocation('/short/', `${u}/opt/ttl=1/`, [`AlexaLinkTimeBudget ${BUDGET}`]),
        graceLocation('/limit/', `${u}/`, [`AlexaLinkTimeBudget ${BUDGET}`, 'AlexaLinkGraceReplays 2']),
        graceLocation('/window/', `${u}/`, [`AlexaLinkTimeBudget ${BUDGET}`, 'AlexaLinkRefreshGrace 1']),
        graceLocation('/off/', `${u}/`, ['AlexaLinkRefreshGrace 0']),
        graceLocation('/report/', `${u}/`, ['AlexaLinkMode report']),
        graceLocation('/norot/', `${u}/opt/rotate=0/`, [`AlexaLinkTimeBudget ${BUDGET}`]),
        graceLocation('/norot-omit/', `${u}/opt/rotate=0,omit=1/`, [`AlexaLinkTimeBudget ${BUDGET}`]),
        // Keycloak-sized: JWT access and refresh tokens, a record of ~1.7 KB
        graceLocation('/jwt/', `${u}/opt/atlen=1000,rtlen=500/`, [`AlexaLinkTimeBudget ${BUDGET}`]),
      ].join(''),
    });
  });
  after(async () => {
    await finish({ apache, up });
  });

  // A fresh grant, refreshed once through path: { rt1, first (answer JSON), n (upstream count after) }
  async function rotated(path = '/rot/token', creds = A) {
    const g = up.issue(creds[0]);
    const res = await refresh(apache.port, path, g.refresh_token, creds);
    const first = assertTokenAnswer(res, 'first refresh');
    assert.notEqual(first.refresh_token, g.refresh_token, 'the upstream rotated');
    assert.ok(up.isConsumed(g.refresh_token), 'RT1 consumed upstream');
    return { rt1: g.refresh_token, first, n: up.count(), res };
  }

  it('rotated token presented again: the recorded answer, no upstream request, ALX0210 + refresh=replayed', async () => {
    const { rt1, first, n } = await rotated();
    await sleep(PAST_BURST_MS);
    const mark = apache.mark();
    const res = await refresh(apache.port, '/rot/token', rt1, A);
    const again = assertTokenAnswer(res, 'replay');
    assertSameTokens(again, first, { lo: first.expires_in - 1, hi: first.expires_in });
    assert.equal(up.count(), n, 'the upstream saw no second request');
    const line = await exchangeAfter(apache, mark, res);
    assert.equal(line.status, '-->200');
    assert.equal(line.refresh, 'replayed');
    assert.equal(line.verdict, 'replayed');
    assert.equal(line.client, CLIENT_A);
    const tag = await waitTag(apache, mark, 'ALX0210', res);
    // the detail at info; the exchange line, at notice, says replayed
    assert.match(tag[0], /\[alexalink:info\]/);
    assert.match(tag[0], /\b1 of 8\b/);
    assert.match(tagLines(apache.errorLogSince(mark), 'ALX0100', res)[0], /\[alexalink:notice\].*refresh=replayed/);
    // the grant is intact: the successor works upstream
    const next = assertTokenAnswer(await refresh(apache.port, '/rot/token', first.refresh_token, A), 'successor');
    assert.notEqual(next.refresh_token, first.refresh_token);
    assert.equal(up.count(), n + 1);
    assert.equal(up.grantOf(rt1).revoked, false, 'grant not revoked');
  });

  // mod_socache_dbm refuses a value of 950 bytes or more (with its key):
  // on dbm (ALX_CACHE=dbm) a record is split over several keys.
  it('JWT-sized tokens (a record of ~1.7 KB): the rotated token presented again is answered from the store', async () => {
    const { rt1, first, n } = await rotated('/jwt/token');
    assert.equal(first.access_token.length, 1000);
    assert.equal(first.refresh_token.length, 500);
    await sleep(PAST_BURST_MS);
    const mark = apache.mark();
    const res = await refresh(apache.port, '/jwt/token', rt1, A);
    const again = assertTokenAnswer(res, 'replay');
    assertSameTokens(again, first, { lo: first.expires_in - 2, hi: first.expires_in });
    assert.equal(up.count(), n, 'the upstream saw the rotated token once');
    assert.equal((await exchangeAfter(apache, mark, res)).refresh, 'replayed');
    assert.equal(up.grantOf(rt1).revoked, false, 'grant not revoked');
    // counted: a second replay reads the rewritten record back whole too
    const third = assertTokenAnswer(await refresh(apache.port, '/jwt/token', rt1, A), 'second replay');
    assert.equal(third.refresh_token, first.refresh_token);
    assert.equal(up.count(), n);
  });

  it('expires_in of a replay is reduced by the whole seconds elapsed', async () => {
    const t0 = Date.now();
    const { rt1, first } = await rotated();
    const t0b = Date.now();
    assert.equal(first.expires_in, 3600);
    await sleep(2200);
    const t1a = Date.now();
    const res = await refresh(apache.port, '/rot/token', rt1, A);
    const t1 = Date.now();
    const again = assertTokenAnswer(res, 'replay');
    // issued in [t0, t0b], replayed in [t1a, t1]
    const hi = 3600 - Math.floor((t1a - t0b) / 1000);
    const lo = 3600 - Math.floor((t1 - t0) / 1000);
    assertSameTokens(again, first, { lo, hi });
    assert.ok(again.expires_in < 3600, `reduced: ${again.expires_in}`);
  });

  it('successor access token expired (upstream expires_in 1 s, under the floor): the module refreshes with the successor (ALX0214)', async () => {
    const m0 = apache.mark();
    const { rt1, first, n } = await rotated('/short/token');
    assert.equal(first.expires_in, 600, 'upstream 1 s raised to the 600 s floor');
    await expectLog(apache, m0, [shortLived(1)]); // a 1 s token: said once an hour
    const rt2 = first.refresh_token;
    await sleep(1100); // the upstream's own 1 s lifetime must pass
    const mark = apache.mark();
    const res = await refresh(apache.port, '/rot/token', rt1, A);
    const chained = assertTokenAnswer(res, 'chained refresh');
    const seen = up.since(n);
    assert.equal(seen.length, 1, 'one upstream request');
    assert.equal(seen[0].refreshToken === rt2, true, 'the upstream saw the successor refresh token, not RT1');
    assert.equal(seen[0].clientId, CLIENT_A);
    assert.equal(seen[0].auth, 'basic', 'with the client\'s own credentials');
    assert.equal(seen[0].outcome.status, 200);
    assert.equal(chained.refresh_token, seen[0].outcome.refresh_token, 'the answer is the upstream\'s new one (RT3)');
    assert.equal(chained.access_token, seen[0].outcome.access_token);
    assert.notEqual(chained.access_token, first.access_token);
    assert.equal(chained.expires_in, 3600);
    assert.equal(up.grantOf(rt1).revoked, false, 'grant not revoked');
    const tag = await waitTag(apache, mark, 'ALX0214', res);
    assert.match(tag[0], /\[alexalink:notice\]/);
    const line = await exchangeAfter(apache, mark, res);
    assert.equal(line.status, '200->200');
    assert.equal(line.refresh, 'rotated');
    // recorded under both tokens: RT1 and RT2 again get RT3's answer, upstream untouched
    const n2 = up.count();
    for (const [label, rt] of [['RT2', rt2], ['RT1', rt1]]) {
      const r = assertTokenAnswer(await refresh(apache.port, '/rot/token', rt, A), `${label} after the chain`);
      assertSameTokens(r, chained, {}, `${label} after the chain`);
    }
    assert.equal(up.count(), n2, 'no upstream request for either');
  });

  it('replay limit (AlexaLinkGraceReplays 2): the third counted replay goes upstream (ALX0211) and reuse detection refuses it', async () => {
    const { rt1, first, n } = await rotated('/limit/token');
    await sleep(PAST_BURST_MS);
    const mark = apache.mark();
    for (let i = 1; i <= 2; i++) {
      const r = await refresh(apache.port, '/limit/token', rt1, A);
      assertSameTokens(assertTokenAnswer(r, `replay ${i}`), first, {}, `replay ${i}`);
      const tag = await waitTag(apache, mark, 'ALX0210', r);
      assert.match(tag[0], new RegExp(`\\b${i} of 2\\b`));
    }
    assert.equal(up.count(), n, 'two replays, no upstream request');
    const res = await refresh(apache.port, '/limit/token', rt1, A);
    assert.equal(res.status, 400, `third: the upstream's answer (${redact(res.text)})`);
    assert.equal(res.json().error, 'invalid_grant');
    const seen = up.since(n);
    assert.equal(seen.length, 1, 'the third went upstream');
    assert.equal(seen[0].refreshToken === rt1, true, 'with RT1');
    assert.equal(seen[0].reuseDetected, true, 'reuse detected upstream');
    const warn = await waitTag(apache, mark, 'ALX0211', res);
    await expectLog(apache, mark, ['ALX0211']);
    assert.equal(warn.length, 1);
    assert.match(warn[0], /\[alexalink:warn\]/);
    assert.match(warn[0], /after 2 replays/);
  });

  it('another client id presenting the rotated token: no replay; the upstream decides (invalid_grant)', async () => {
    const { rt1, first, n } = await rotated();
    await sleep(PAST_BURST_MS);
    const mark = apache.mark();
    const res = await refresh(apache.port, '/rot/token', rt1, B);
    assert.equal(res.status, 400, redact(res.text));
    assert.equal(res.json().error, 'invalid_grant');
    const seen = up.since(n);
    assert.equal(seen.length, 1, 'the request went upstream');
    assert.equal(seen[0].clientId, CLIENT_B);
    assert.equal(seen[0].refreshToken === rt1, true);
    assert.equal(tagLines(apache.errorLogSince(mark), 'ALX0210', res).length, 0, 'no ALX0210');
    assert.doesNotMatch(res.text, new RegExp(first.access_token), 'no token of A in the answer');
    // A still gets its replay
    assertSameTokens(assertTokenAnswer(await refresh(apache.port, '/rot/token', rt1, A), 'A replay'), first);
    assert.equal(up.count(), n + 1);
  });

  it('the same client id with a wrong secret, or none: no replay; the upstream decides (401 invalid_client)', async () => {
    const { rt1, first, n } = await rotated();
    await sleep(PAST_BURST_MS);
    const cases = [
      ['wrong secret (Basic)', (rt) => refresh(apache.port, '/rot/token', rt, [CLIENT_A, 'not-the-secret'])],
      ['wrong secret (body)', (rt) => refresh(apache.port, '/rot/token', rt, [CLIENT_A, 'not-the-secret'], { body: true })],
      ['no secret (body client_id only)', (rt) => refresh(apache.port, '/rot/token', rt, [CLIENT_A, null], { body: true })],
    ];
    let k = n;
    for (const [what, send] of cases) {
      const mark = apache.mark();
      const res = await send(rt1);
      assert.equal(res.status, 401, `${what}: ${redact(res.text)}`);
      assert.equal(res.json().error, 'invalid_client', what);
      const seen = up.since(k);
      assert.equal(seen.length, 1, `${what}: went upstream`);
      assert.equal(seen[0].clientId, CLIENT_A);
      assert.equal(seen[0].refreshToken === rt1, true);
      k = up.count();
      assert.equal(tagLines(apache.errorLogSince(mark), 'ALX0210', res).length, 0, `${what}: no ALX0210`);
    }
    // the right secret sent in the body (not Basic as recorded) still gets the replay
    const r = await refresh(apache.port, '/rot/token', rt1, A, { body: true });
    assertSameTokens(assertTokenAnswer(r, 'body credentials'), first);
    assert.equal(up.count(), k, 'replayed without the upstream');
    assert.equal(up.grantOf(rt1).revoked, false);
  });

  it('window expiry (AlexaLinkRefreshGrace 1): after the window the upstream sees the token (and revokes)', async () => {
    const { rt1, n } = await rotated('/window/token');
    await sleep(1200); // the window must elapse
    const res = await refresh(apache.port, '/window/token', rt1, A);
    assert.equal(res.status, 400, redact(res.text));
    assert.equal(res.json().error, 'invalid_grant');
    const seen = up.since(n);
    assert.equal(seen.length, 1, 'went upstream');
    assert.equal(seen[0].refreshToken === rt1, true);
    assert.equal(seen[0].reuseDetected, true);
  });

  it('AlexaLinkRefreshGrace 0: no grace at all, the upstream sees the second presentation', async () => {
    const { rt1, n } = await rotated('/off/token');
    const res = await refresh(apache.port, '/off/token', rt1, A);
    assert.equal(res.status, 400);
    assert.equal(up.since(n).length, 1);
  });

  it('report mode: ALX0213 when a rotated token comes back; nothing replayed, the upstream sees it', async () => {
    const { rt1, n } = await rotated('/report/token');
    const mark = apache.mark();
    const res = await refresh(apache.port, '/report/token', rt1, A);
    assert.equal(res.status, 400, redact(res.text));
    assert.equal(res.json().error, 'invalid_grant');
    const seen = up.since(n);
    assert.equal(seen.length, 1, 'went upstream');
    assert.equal(seen[0].refreshToken === rt1, true);
    const warn = await waitTag(apache, mark, 'ALX0213', res);
    await expectLog(apache, mark, ['ALX0213']);
    assert.equal(warn.length, 1);
    assert.match(warn[0], /\[alexalink:warn\]/);
    assert.equal(tagLines(apache.errorLogSince(mark), 'ALX0210').length, 0, 'no replay');
  });

  for (const [path, what] of [['/norot/token', 'the same refresh token back'], ['/norot-omit/token', 'no refresh_token (the module keeps the presented one)']]) {
    it(`non-rotating upstream (${what}): nothing recorded, the second presentation goes upstream`, async () => {
      const g = up.issue(CLIENT_A);
      const n = up.count();
      const mark = apache.mark();
      const r1 = await refresh(apache.port, path, g.refresh_token, A);
      const j1 = assertTokenAnswer(r1);
      assert.equal(j1.refresh_token === g.refresh_token, true, 'the same refresh token');
      const l1 = await exchangeAfter(apache, mark, r1);
      assert.notEqual(l1.refresh, 'rotated');
      await new Promise((r) => setTimeout(r, PAST_BURST_MS));
      const r2 = await refresh(apache.port, path, g.refresh_token, A);
      const j2 = assertTokenAnswer(r2);
      assert.equal(up.since(n).length, 2, 'both went upstream');
      assert.notEqual(j2.access_token, j1.access_token, 'a fresh answer, not a replay');
      assert.equal(tagLines(apache.errorLogSince(mark), 'ALX0210').length, 0);
    });
  }
});

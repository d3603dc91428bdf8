// SPEC "Refresh grace", concurrent refreshes: simultaneous requests with
// one refresh token across the children of one server make one upstream
// call and all get the same answer; waiting is bounded by
// AlexaLinkTimeBudget (ALX0212, 503 temporarily_unavailable, Retry-After).
// Runs under the MPM of ALX_MPM, with enough processes/threads for 50.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApache, moduleMissingReason, MPM, expectLog } from '../lib/apache.mjs';
import { redact } from '../lib/secrets.mjs';
import { finish } from '../lib/suite.mjs';
import { startRotating, graceLocation, refresh, assertTokenAnswer, exchangeLines, tagLines, waitFor, graceClients, WIDE_MPM, CLIENT_A } from '../lib/grace.mjs';

const N = 50;

describe(`refresh grace: single flight on one server (${MPM})`, { skip: moduleMissingReason() }, () => {
  let up;
  let apache;
  let A;
  before(async () => {
    up = await startRotating();
    A = [CLIENT_A, graceClients()[CLIENT_A]];
    apache = await startApache({
      mpmTuning: WIDE_MPM,
      locations: [
        // the upstream takes 600 ms: every duplicate arrives while the first is in flight
        graceLocation('/flight/', `${up.url}/opt/delay=600/`),
        // the upstream takes 1.5 s, the budget is 0.4 s: waiters give up
        graceLocation('/slow/', `${up.url}/opt/delay=1500/`, ['AlexaLinkTimeBudget 0.4']),
      ].join(''),
    });
  });
  after(async () => {
    await finish({ apache, up });
  });

  it(`${N} simultaneous refreshes with one token: one upstream call, ${N} identical 200 answers`, async () => {
    const g = up.issue(CLIENT_A);
    const n = up.count();
    const mark = apache.mark();
    const all = await Promise.all(Array.from({ length: N }, () => refresh(apache.port, '/flight/token', g.refresh_token, A)));
    const statuses = all.map((r) => r.status);
    assert.deepEqual(statuses, Array(N).fill(200), `every answer 200 (bodies: ${redact(all.filter((r) => r.status !== 200).map((r) => r.text).slice(0, 3))})`);
    const seen = up.since(n);
    assert.equal(seen.length, 1, `one upstream call (got ${seen.length})`);
    const bodies = all.map((r) => assertTokenAnswer(r));
    const first = bodies[0];
    assert.equal(first.refresh_token, seen[0].outcome.refresh_token, 'the upstream\'s rotated answer');
    for (const b of bodies) assert.deepEqual(redact(b), redact(first), 'identical JSON answers');
    const distinctBytes = new Set(all.map((r) => r.text));
    assert.equal(distinctBytes.size, 1, 'byte-identical answers');
    await waitFor(() => exchangeLines(apache.errorLogSince(mark)).length >= N, { what: `${N} exchange lines` });
    const lines = exchangeLines(apache.errorLogSince(mark));
    const verdicts = {};
    for (const l of lines) verdicts[l.verdict] = (verdicts[l.verdict] || 0) + 1;
    assert.equal(lines.filter((l) => l.status === '200->200').length, 1, `one proxied exchange: ${JSON.stringify(verdicts)}`);
    assert.equal(lines.filter((l) => l.verdict === 'replayed:duplicate').length, N - 1, `${N - 1} duplicates, not counted: ${JSON.stringify(verdicts)}`);
    // waiters get the first answer from the in-flight table (ALX0216); any
    // that came after it was recorded get it from the record, not counted
    const handedOn = tagLines(apache.errorLogSince(mark), 'ALX0216').length;
    const fromRecord = tagLines(apache.errorLogSince(mark), 'ALX0210').filter((l) => /not counted/.test(l)).length;
    assert.equal(handedOn + fromRecord, N - 1, `${handedOn} handed on + ${fromRecord} from the record`);
    assert.ok(handedOn > 0, 'duplicates in flight waited on the first answer');
    assert.equal(up.grantOf(g.refresh_token).revoked, false);
    // the duplicates did not use up the replays: a later counted replay still works
    const later = assertTokenAnswer(await refresh(apache.port, '/flight/token', g.refresh_token, A));
    assert.equal(later.access_token, first.access_token);
    assert.equal(up.count(), n + 1);
  });

  it('a slow upstream and a short AlexaLinkTimeBudget: waiters get 503 temporarily_unavailable with Retry-After: 1 (ALX0212); a retry afterwards gets the answer', async () => {
    const g = up.issue(CLIENT_A);
    const n = up.count();
    const mark = apache.mark();
    const firstP = refresh(apache.port, '/slow/token', g.refresh_token, A);
    // the first is in flight upstream before the waiters start
    await waitFor(() => up.since(n).length === 1, { what: 'the first request upstream' });
    const waiters = await Promise.all(Array.from({ length: 5 }, () => refresh(apache.port, '/slow/token', g.refresh_token, A)));
    for (const w of waiters) {
      assert.equal(w.status, 503, `waiter: ${redact(w.text)}`);
      assert.equal(w.headers['retry-after'], '1');
      assert.equal(w.headers['content-type'], 'application/json;charset=UTF-8');
      assert.equal(w.json().error, 'temporarily_unavailable');
    }
    const first = assertTokenAnswer(await firstP, 'the first');
    assert.equal(up.since(n).length, 1, 'still one upstream call');
    // each waiter: ALX0212 and its 503's exchange line; all over the budget (ALX0101)
    await expectLog(apache, mark, ['ALX0212', 'ALX0101', /ALX0100: .*status=-->503 .*verdict=in-flight-timeout$/, /ALX0100: .*status=200->200 .* ms=\d{4,} verdict=/]);
    const t = tagLines(apache.errorLogSince(mark), 'ALX0212');
    assert.equal(t.length, 5, 'one ALX0212 per waiter');
    assert.match(t[0], /\[alexalink:warn\]/);
    const retry = assertTokenAnswer(await refresh(apache.port, '/slow/token', g.refresh_token, A), 'retry');
    assert.equal(retry.access_token, first.access_token);
    assert.equal(retry.refresh_token, first.refresh_token);
    assert.equal(up.since(n).length, 1, 'the retry was answered from the store');
  });
});

// SPEC "Refresh grace": records live their window or the admin is told.
// A store too small for AlexaLinkRefreshGrace pushes its oldest records
// out; the module notices (eviction probes), says once a minute how long
// records now survive and what size would hold the window (ALX0220).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApache, moduleMissingReason, MPM, expectLog } from '../lib/apache.mjs';
import { finish } from '../lib/suite.mjs';
import { startRotating, graceLocation, refresh, assertTokenAnswer, tagLines, waitFor, graceClients, CLIENT_A } from '../lib/grace.mjs';

const WINDOW = 32;           // a probe every 2 s, looked at every 2 s
const SEGMENT = 65536;       // shmcb's smallest useful size: ~150 records

describe(`a grace store too small for its window is named (${MPM})`, { skip: moduleMissingReason() }, () => {
  let up;
  let apache;
  before(async () => {
    up = await startRotating();
    apache = await startApache({
      serverConf: ({ dir }) => `AlexaLinkCache shmcb:${dir}/tiny(${SEGMENT})\n`,
      locations: graceLocation('/rot/', `${up.url}/`, [`AlexaLinkRefreshGrace ${WINDOW}`]),
    });
  });
  after(async () => {
    await finish({ apache, up });
  });

  it('rotations that overflow the segment: ALX0220 with how long records survive and the size for the window', async () => {
    const A = [CLIENT_A, graceClients()[CLIENT_A]];
    const mark = apache.mark();
    const first = up.issue(CLIENT_A);
    assertTokenAnswer(await refresh(apache.port, '/rot/token', first.refresh_token, A), 'the first rotation (a probe)');
    let rotations = 1;
    // rotations in batches until the module says the store is too small
    await waitFor(async () => {
      const batch = Array.from({ length: 25 }, () => up.issue(CLIENT_A));
      const res = await Promise.all(batch.map((g) => refresh(apache.port, '/rot/token', g.refresh_token, A)));
      for (const r of res) assertTokenAnswer(r);
      rotations += batch.length;
      return tagLines(apache.errorLogSince(mark), 'ALX0220').length > 0;
    }, { timeoutMs: 30000, intervalMs: 100, what: `ALX0220 (after ${rotations} rotations)` });
    await expectLog(apache, mark, ['ALX0220']);
    const line = tagLines(apache.errorLogSince(mark), 'ALX0220')[0];
    const m = /\[alexalink:warn\].*ALX0220: grace store full: records are pushed out after about (\d+) s, before AlexaLinkRefreshGrace \(32 s\) ends \((\d+) lost so far\); a rotated refresh token presented after that goes to the upstream\. A segment of (\d+) bytes would hold the window: AlexaLinkCache shmcb:PATH\((\d+)\)/.exec(line);
    assert.ok(m, `the line: ${line}`);
    const [survive, lost, size, again] = m.slice(1).map(Number);
    assert.ok(survive < WINDOW, `records survive ${survive} s, less than the window`);
    assert.ok(lost >= 1, 'at least one record lost');
    assert.equal(size, again);
    assert.ok(size > SEGMENT && size % (1 << 20) === 0, `a larger size in whole MiB: ${size}`);
    // and it is true: the first rotation's old token is no longer answered from the store
    const n = up.count();
    await refresh(apache.port, '/rot/token', first.refresh_token, A);
    assert.equal(up.count(), n + 1, 'the pushed-out record: the upstream was asked');
  });
});

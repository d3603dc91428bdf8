// Refresh grace across a graceful restart (SIGUSR1 to the parent, as
// `apachectl graceful` does), default shmcb store: the parent carries the
// entries over (ALX0204) and a replay after the restart still works. Under
// ALX_CACHE=redis|memcache the records stay in that server (the providers
// cannot list them, and ALX0204 says the records stay in the server) and the
// replays work the same.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApache, moduleMissingReason, MPM, CACHE, SHARED_CACHE } from '../lib/apache.mjs';
import { finish } from '../lib/suite.mjs';
import { startRotating, graceLocation, refresh, assertTokenAnswer, assertSameTokens, exchangeAfter, tagLines, graceClients, CLIENT_A } from '../lib/grace.mjs';

describe(`refresh grace survives a graceful restart (${CACHE}, ${MPM})`, { skip: moduleMissingReason() }, () => {
  let up;
  let apache;
  let A;
  before(async () => {
    up = await startRotating();
    A = [CLIENT_A, graceClients()[CLIENT_A]];
    apache = await startApache({ locations: graceLocation('/rot/', `${up.url}/`) });
  });
  after(async () => {
    await finish({ apache, up });
  });

  it('refresh, graceful restart, replay: the same answer without the upstream; ALX0204 logged', async () => {
    const grants = [up.issue(CLIENT_A), up.issue(CLIENT_A), up.issue(CLIENT_A)];
    const firsts = [];
    for (const g of grants) firsts.push(assertTokenAnswer(await refresh(apache.port, '/rot/token', g.refresh_token, A)));
    const n = up.count();
    const mark = await apache.graceful();
    const log = apache.errorLogSince(mark);
    const carried = tagLines(log, 'ALX0204');
    assert.equal(carried.length, 1, `one ALX0204 line:\n${log}`);
    if (SHARED_CACHE) {
      assert.match(carried[0], /ALX0204: grace store: records stay in the (redis|memcache) server across the restart/);
    } else {
      const m = /ALX0204: grace store: (\d+) of (\d+) entries carried over the restart/.exec(carried[0]);
      assert.ok(m, carried[0]);
      assert.equal(Number(m[2]), 3, 'three entries in the store before the restart');
      assert.equal(Number(m[1]), 3, 'all three carried over');
    }
    assert.match(carried[0], /\[alexalink:notice\]/);
    for (const [i, g] of grants.entries()) {
      const m2 = apache.mark();
      const res = await refresh(apache.port, '/rot/token', g.refresh_token, A);
      assertSameTokens(assertTokenAnswer(res, `replay ${i + 1} after graceful`), firsts[i], { lo: firsts[i].expires_in - 5, hi: firsts[i].expires_in });
      const line = await exchangeAfter(apache, m2, res);
      assert.equal(line.refresh, 'replayed');
    }
    assert.equal(up.count(), n, 'the upstream saw none of the replays');
  });

  it('a second graceful restart carries them again', async () => {
    const g = up.issue(CLIENT_A);
    const first = assertTokenAnswer(await refresh(apache.port, '/rot/token', g.refresh_token, A));
    const n = up.count();
    const mark = await apache.graceful();
    const carried = tagLines(apache.errorLogSince(mark), 'ALX0204');
    assert.equal(carried.length, 1);
    if (SHARED_CACHE) {
      assert.match(carried[0], /records stay in the (redis|memcache) server/);
    } else {
      const m = /(\d+) of (\d+) entries/.exec(carried[0]);
      assert.equal(m[1], m[2], 'every entry carried over');
      assert.ok(Number(m[2]) >= 4, `the earlier entries and the new one (${m[2]})`);
    }
    assertSameTokens(assertTokenAnswer(await refresh(apache.port, '/rot/token', g.refresh_token, A)), first);
    assert.equal(up.count(), n);
  });
});

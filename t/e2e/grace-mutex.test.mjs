// The store's mutex: System V semaphores when no Mutex line names it (APR's
// default, a robust priority-inheriting pthread mutex, queues refreshes
// under load: README "Benchmark"), whatever a Mutex line says otherwise.
// Counted in /proc/sysvipc/sem: one more while the server runs, none left
// after it stops; refresh grace works on it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startApache, moduleMissingReason, MPM } from '../lib/apache.mjs';
import { finish } from '../lib/suite.mjs';
import { startRotating, graceLocation, refresh, assertTokenAnswer, assertSameTokens, exchangeAfter, graceClients, CLIENT_A } from '../lib/grace.mjs';

const semaphores = () => readFileSync('/proc/sysvipc/sem', 'latin1').trim().split('\n').length - 1;

async function semaphoresWhileRunning(mutex) {
  const up = await startRotating();
  const A = [CLIENT_A, graceClients()[CLIENT_A]];
  const before = semaphores();
  const apache = await startApache({ locations: graceLocation('/rot/', `${up.url}/`), mutex });
  let running;
  let replay;
  try {
    running = semaphores();
    const g = up.issue(CLIENT_A);
    const first = assertTokenAnswer(await refresh(apache.port, '/rot/token', g.refresh_token, A));
    const n = up.count();
    const mark = apache.mark();
    const res = await refresh(apache.port, '/rot/token', g.refresh_token, A);
    assertSameTokens(assertTokenAnswer(res, 'the replay'), first, { lo: first.expires_in - 5, hi: first.expires_in });
    replay = (await exchangeAfter(apache, mark, res)).refresh;
    assert.equal(up.count(), n, 'the replay did not reach the upstream');
  } finally {
    await finish({ apache, up });
  }
  return { added: running - before, left: semaphores() - before, replay };
}

describe(`the store mutex's mechanism (${MPM})`, { skip: moduleMissingReason() || (readFileSync('/proc/sysvipc/sem', { flag: 'r' }) ? false : 'no /proc/sysvipc') }, () => {
  it('no Mutex line: a System V semaphore, removed at stop; a replay works on it', async () => {
    const plain = await semaphoresWhileRunning('Mutex pthread alexalink-cache');
    const none = await semaphoresWhileRunning('');
    assert.equal(none.replay, 'replayed');
    assert.equal(plain.replay, 'replayed');
    assert.equal(none.added - plain.added, 1, `one semaphore more without a Mutex line (${none.added} against ${plain.added} with Mutex pthread)`);
    assert.equal(none.left, 0, 'none left after the stop');
  });
  it('a Mutex line for the default (as Debian has) is obeyed: a file lock, no semaphore', async () => {
    const debian = await semaphoresWhileRunning(`Mutex file:${'/tmp'} default`);
    const plain = await semaphoresWhileRunning('Mutex pthread alexalink-cache');
    assert.equal(debian.replay, 'replayed');
    assert.equal(debian.added, plain.added, 'no semaphore of ours');
  });
});

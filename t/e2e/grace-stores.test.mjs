// What the grace store does at its limits, never tested end to end before:
// - a redis with maxmemory and an evicting policy, and a memcached with a
//   tiny -m, push records out before their window ends: the module's probes
//   notice within the window (ALX0221, the status page's evictions and
//   survival figures) once the store itself has started evicting;
// - the in-flight table full of claims: refreshes are still answered,
//   proxied without single flight, and ALX0205 says why;
// - two servers on one redis, an upstream that does not rotate: a duplicate
//   that waits on the other server gets the same answer, and the upstream
//   sees the token once.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApache, moduleMissingReason, expectLog, settleErrorLog, MPM, CACHE, storeConf } from '../lib/apache.mjs';
import { finish } from '../lib/suite.mjs';
import { redact, secretsIn } from '../lib/secrets.mjs';
import { startRedis, startMemcached } from '../lib/stores.mjs';
import { statusServerConf, statusLocations, statusJson } from '../lib/status.mjs';
import { startRotating, graceLocation, refresh, assertTokenAnswer, exchangeAfter, tagLines, waitFor, graceClients, CLIENT_A } from '../lib/grace.mjs';
import { sleep } from '../lib/wait.mjs';

const WINDOW = 32;         // a probe every 2 s, looked at every 2 s
const ATLEN = 2000;        // JWT-sized answers: ~2.1 KB records fill a store fast
// the tests with a store of their own run once, on the default ALX_CACHE
const OWN_STORE = CACHE !== 'shmcb' && `its store is its own: ALX_CACHE=${CACHE} changes nothing`;

// The stores, each made small enough to evict within the window at a pace
// of `batch` rotations every 200 ms, with what says it has started evicting.
const EVICTING = [
  {
    name: 'redis',
    async start() {
      const s = await startRedis();
      const info = (await s.command('INFO', 'memory')).toString();
      const used = Number(/used_memory:(\d+)/.exec(info)[1]);
      // about 400 records above what redis uses empty
      await s.command('CONFIG', 'SET', 'maxmemory', String(used + (1 << 20)));
      await s.command('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru');
      s.evicted = async () => Number(/evicted_keys:(\d+)/.exec((await s.command('INFO', 'stats')).toString())[1]);
      return s;
    },
    batch: 10,
  },
  {
    name: 'memcache',
    async start() {
      const s = await startMemcached({ memoryMb: 2 });   // about 900 records
      s.evicted = async () => Number((await s.stats()).evictions);
      return s;
    },
    batch: 20,
  },
];

for (const S of EVICTING) {
  describe(`a ${S.name} store that evicts records before their window ends is named (${MPM})`, { skip: moduleMissingReason() || OWN_STORE }, () => {
    let store;
    let up;
    let apache;
    before(async () => {
      store = await S.start();
      up = await startRotating();
      apache = await startApache({
        serverConf: `${statusServerConf()}${storeConf(store)}`,
        locations: `${graceLocation('/big/', `${up.url}/opt/atlen=${ATLEN}/`, [`AlexaLinkRefreshGrace ${WINDOW}`])}${statusLocations()}`,
      });
    });
    after(async () => {
      await finish({ apache, up, also: [store] });
    });

    it(`rotations at a steady pace: ALX0221 and the status figures within ${WINDOW} s of the store's first eviction`, async (t) => {
      const A = [CLIENT_A, graceClients()[CLIENT_A]];
      const mark = apache.mark();
      const first = up.issue(CLIENT_A);
      const firstAt = Date.now();
      assertTokenAnswer(await refresh(apache.port, '/big/token', first.refresh_token, A), 'the first rotation');
      let rotations = 1;
      let evictingSince = null;
      let line = null;
      const deadline = Date.now() + 90000;
      while (!line) {
        const batch = Array.from({ length: S.batch }, () => up.issue(CLIENT_A));
        const res = await Promise.all(batch.map((g) => refresh(apache.port, '/big/token', g.refresh_token, A)));
        for (const r of res) assertTokenAnswer(r);
        rotations += batch.length;
        if (evictingSince === null && await store.evicted() > 0) evictingSince = Date.now();
        [line = null] = tagLines(apache.errorLogSince(mark), 'ALX0221');
        if (!line && evictingSince !== null) {
          assert.ok(Date.now() - evictingSince < WINDOW * 1000, `${S.name} has evicted ${await store.evicted()} records for ${WINDOW} s (${rotations} rotations in ${Math.round((Date.now() - firstAt) / 1000)} s), and the module has not said so`);
        }
        assert.ok(Date.now() < deadline, `${S.name} did not start evicting after ${rotations} rotations`);
        await sleep(200);
      }
      await expectLog(apache, mark, ['ALX0221']);
      t.diagnostic(`${S.name}: ALX0221 after ${rotations} rotations, ${evictingSince ? Math.round((Date.now() - evictingSince) / 1000) : '?'} s after the store's first eviction: ${line.replace(/^.*ALX0221: /, '')}`);
      const m = new RegExp(`\\[alexalink:warn\\].*ALX0221: grace store \\(${S.name}\\) full: records are pushed out after about (\\d+) s, before AlexaLinkRefreshGrace \\(${WINDOW} s\\) ends \\((\\d+) lost so far\\); give it about (\\d+) times the memory it has`).exec(line);
      assert.ok(m, `the line: ${line}`);
      const [survival, lost, factor] = m.slice(1).map(Number);
      assert.ok(survival < WINDOW, `records survive ${survival} s, less than the window`);
      assert.ok(lost >= 1, 'at least one record lost');
      assert.equal(factor, Math.ceil(WINDOW / Math.max(survival, 1)), 'the factor is the window over the survival');
      const store_ = (await statusJson(apache)).store;
      assert.equal(store_.provider, S.name);
      assert.ok(store_.evictions >= lost, `status evictions ${store_.evictions} >= ${lost}`);
      assert.ok(store_.survival_seconds !== null && store_.survival_seconds <= survival + 2, `status survival ${store_.survival_seconds} s, the line's ${survival} s`);
      assert.equal(store_.window_seconds, WINDOW);
      // Which records went is the store's choice: redis's LRU is sampled,
      // and a probe's look is a use, so the first rotation's record need not
      // be among them (it was not, in one prefork run): the store's own
      // count says records went.
      assert.ok(await store.evicted() >= lost, `${S.name} evicted at least the ${lost} the module counted`);
    });
  });
}

// Two slots per worker, at least 64: live requests alone cannot fill the
// table, but the claims of a killed child stay until they expire (the
// proxy's timeout and a second). Three rounds of slow refreshes, each killed
// with its children, leave 64 live claims or more; a fourth finds no slot.
const FLIGHT_MPM = {
  prefork: 'StartServers 32\nMinSpareServers 32\nMaxSpareServers 40\nServerLimit 32\nMaxRequestWorkers 32',
  event: 'StartServers 4\nServerLimit 4\nThreadsPerChild 8\nThreadLimit 8\nMinSpareThreads 32\nMaxSpareThreads 32\nMaxRequestWorkers 32',
  worker: 'StartServers 4\nServerLimit 4\nThreadsPerChild 8\nThreadLimit 8\nMinSpareThreads 32\nMaxSpareThreads 32\nMaxRequestWorkers 32',
};
const WORKERS = 32;

describe(`a full in-flight table (${CACHE}, ${MPM})`, { skip: moduleMissingReason() }, () => {
  let up;
  let apache;
  // every worker busy, then killed, is what this test does: the MPM may say
  // so; a held request whose child outlived its kill (see heldRound) is
  // answered after 10 s, over budget
  const BUSY_AND_KILLED = [/\[mpm_\w+:(warn|error)\].*(AH00484|AH00161|AH10392|AH10159|AH00286):/,
    'ALX0101', /ALX0100: .*ms=\d{5} verdict=ok$/];
  before(async () => {
    up = await startRotating();
    apache = await startApache({
      serverConf: statusServerConf(),
      locations: [
        // held until their children are killed (the claims stay by
        // themselves; a longer delay only keeps the test process alive)
        graceLocation('/held/', `${up.url}/opt/delay=10000/`),
        graceLocation('/slow/', `${up.url}/opt/delay=2000/`),
        statusLocations(),
      ].join(''),
      mpmTuning: FLIGHT_MPM,
    });
  });
  after(async () => {
    await finish({ apache, up });
  });

  // WORKERS held refreshes, each with its own token, then every child killed
  // (their claims stay); resolves when new children answer again.
  async function heldRound(A) {
    const n = up.count();
    const held = Array.from({ length: WORKERS }, () => refresh(apache.port, '/held/token', up.issue(CLIENT_A).refresh_token, A).then(() => 'answered', () => 'reset'));
    // most, not all: a worker still busy with the last round's status look
    // leaves one request queued until a held one is answered at 10 s, and
    // waiting for it let every child answer before its kill (an ASan run:
    // 1 of 32 reset)
    await waitFor(() => up.count() >= n + WORKERS - 4, { timeoutMs: 20000, what: `${WORKERS - 4} held refreshes at the upstream (${up.count() - n})` });
    // every child, again at each look until every held request has ended: a
    // child missed by one look at /proc (it failed once on a loaded machine,
    // and its requests were answered) is caught by the next, long before the
    // upstream's 10 s
    let ended = false;
    const outcomes = Promise.all(held).then((o) => { ended = true; return o; });
    const killed = new Set();
    const failures = [];
    await waitFor(() => {
      for (const pid of apache.childPids()) {
        killed.add(pid);
        try { process.kill(pid, 'SIGKILL'); } catch (e) { failures.push(`${pid}:${e.code}`); }
      }
      return ended;
    }, { intervalMs: 100, what: 'the held requests ended with their children' });
    // A request that reaches a child after the kills began is killed with
    // it by a later look; any answered one's claim ends with its answer, so
    // a third round makes up for them.
    const got = await outcomes;
    const reset = got.filter((o) => o === 'reset').length;
    assert.ok(reset >= WORKERS / 2, `most killed requests get no answer (${reset} of ${WORKERS}; killed ${[...killed].join(' ')}; failed kills: ${failures.join(' ') || 'none'})`);
    await waitFor(async () => (await statusJson(apache).catch(() => null)) !== null, { what: 'new children' });
  }

  it('claims of killed children fill it: later refreshes are answered (upstream once each), ALX0205 says the table is full, outages counted', async () => {
    const A = [CLIENT_A, graceClients()[CLIENT_A]];
    const mark = apache.mark();
    const outages = (await statusJson(apache)).store.outages;
    for (let round = 0; round < 3; round++) await heldRound(A);
    const grants = Array.from({ length: WORKERS - 2 }, () => up.issue(CLIENT_A));
    const n = up.count();
    const res = await Promise.all(grants.map((g) => refresh(apache.port, '/slow/token', g.refresh_token, A)));
    for (const r of res) assertTokenAnswer(r, 'a refresh while the table is full');
    const calls = up.since(n);
    for (const g of grants) assert.equal(calls.filter((c) => c.form && c.form.refresh_token === g.refresh_token).length, 1, 'each token reached the upstream once');
    const lines = tagLines(apache.errorLogSince(mark), 'ALX0205');
    assert.ok(lines.length >= 1, 'ALX0205 logged');
    await expectLog(apache, mark, ['ALX0205'], { maybe: BUSY_AND_KILLED });
    assert.match(lines[0], /\[alexalink:warn\].*ALX0205: grace store \(\w+\) failed to claim a refresh token \(the in-flight table is full of claims\); \d+ failures since the last report; token requests are proxied without refresh grace meanwhile/);
    const after_ = (await statusJson(apache)).store.outages;
    assert.ok(after_ > outages, `the status page counts the full table as outages (${outages} -> ${after_})`);
  });
});

describe(`a non-rotating answer handed to a duplicate waiting on another server, one redis (${MPM})`, { skip: moduleMissingReason() || OWN_STORE }, () => {
  let store;
  let up;
  let a;
  let b;
  before(async () => {
    store = await startRedis();
    up = await startRotating();
    const serverConf = storeConf(store);
    const locations = graceLocation('/same/', `${up.url}/opt/rotate=0,delay=1500/`);
    a = await startApache({ locations, serverConf });
    b = await startApache({ locations, serverConf });
  });
  after(async () => {
    const logs = [];
    for (const s of [a, b]) if (s) logs.push([s, await s.stop()]);
    if (up) await up.close();
    if (store) await store.stop();
    for (const [s, l] of logs) {
      settleErrorLog(s, l.errorLog, { stopped: true });
      assert.deepEqual([...secretsIn(l.errorLog), ...secretsIn(l.accessLog)], [], 'no secret in the logs');
    }
  });

  it('the duplicate through B gets A\'s answer; the upstream sees the token once', async () => {
    const A = [CLIENT_A, graceClients()[CLIENT_A]];
    const g = up.issue(CLIENT_A);
    const n = up.count();
    const first = refresh(a.port, '/same/token', g.refresh_token, A);
    // the duplicate leaves once A's request is at the upstream (its claim written)
    await waitFor(() => up.count() > n, { what: 'the first request at the upstream' });
    await sleep(100);
    const mark = b.mark();
    const dup = await refresh(b.port, '/same/token', g.refresh_token, A);
    const one = assertTokenAnswer(await first, 'the first, through A');
    const two = assertTokenAnswer(dup, 'the duplicate, through B');
    assert.equal(one.refresh_token, g.refresh_token, 'the upstream did not rotate');
    assert.deepEqual(redact(two), redact(one), 'the same answer');
    assert.equal(two.access_token, one.access_token, 'the same access token');
    assert.equal(up.since(n).length, 1, `the upstream saw the token once (${up.since(n).length})`);
    const line = await exchangeAfter(b, mark, dup);
    assert.match(line.status, /^-->200$/, 'B answered without the upstream');
  });
});

// SPEC "Links that last": the keep-alive's safety rules, one test each, on
// sqlite, against t/fixtures/rotating-upstream.mjs (rotation with reuse
// detection; per-location options in the ProxyPass target, which the link
// records as its token URL, so the keep-alive's refreshes carry them too).
// The keep-alive's own requests are told apart by their User-Agent
// (libcurl's "mod_alexalink/... keep-alive"). ALX_MPM=prefork runs the
// whole file under prefork. With a module built with --enable-test-hooks
// (ALX_TEST_HOOKS=1) the first backoff is 2 s instead of 60 s
// (ALX_TEST_KEEPALIVE_BACKOFF), so the recovery after a 5xx is seen too.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, chmodSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startApache, moduleMissingReason, expectLog, dbdConf, shortLived, tagCount } from '../lib/apache.mjs';
import { startRotating, graceLocation, refresh, assertTokenAnswer, CLIENT_A, CLIENT_B, graceClients } from '../lib/grace.mjs';
import { statusJson, getView } from '../lib/status.mjs';
import { sqliteFile, keepAliveKey } from '../lib/sql.mjs';
import { sleep, waitFor } from '../lib/wait.mjs';

const HOOKS = !!process.env.ALX_TEST_HOOKS;
const BACKOFF = HOOKS ? 2 : 60;       // the first backoff, seconds
const LONG_TTL = 6;                   // rule 1: the upstream's own expires_in
const KEEP_FOR = 3;                   // rule 4: AlexaLinkKeepAliveFor
const IDLE = 5;                       // rule 6: the upstream's idle limit

const byKeepAlive = (r) => /keep-alive/.test(r.headers['user-agent'] || '');

describe('keep-alive safety rules (sqlite)', { skip: moduleMissingReason() }, () => {
  let up;
  let slow;
  let apache;
  let db;
  let key;
  let shmDir;
  const A = [CLIENT_A, graceClients()[CLIENT_A]];
  const B = [CLIENT_B, graceClients()[CLIENT_B]];
  const conf = (shm) => ({
    serverConf: `${dbdConf(db)}AlexaLinkKeepAliveKey ${key.file}\nAlexaLinkCache shmcb:${shm}(1048576)\n`,
    locations: [
      graceLocation('/kept/', `${up.url}/`, ['AlexaLinkKeepAlive 1s', 'AlexaLinkKeepAliveFor 1h']),
      graceLocation('/long/', `${up.url}/opt/ttl=${LONG_TTL}/`, ['AlexaLinkKeepAlive 1s', 'AlexaLinkKeepAliveFor 1h']),
      graceLocation('/brief/', `${up.url}/`, ['AlexaLinkKeepAlive 1s', `AlexaLinkKeepAliveFor ${KEEP_FOR}s`]),
      // the keep-alive's refresh gets the worker's timeout, 1 s (an
      // upstream of its own: workers of one host and port are shared)
      graceLocation('/slow/', `${slow.url}/ timeout=1`, ['AlexaLinkKeepAlive 1s', 'AlexaLinkKeepAliveFor 1h']),
      graceLocation('/idle/', `${up.url}/opt/idle=${IDLE}/`, ['AlexaLinkKeepAlive 1s', 'AlexaLinkKeepAliveFor 1h']),
      '<Location /alx-status>\n  SetHandler alexalink-status\n</Location>\n',
    ].join(''),
  });

  // The upstream requests of one grant (any of its refresh tokens).
  const ofGrant = (...a) => {
    const [u, grant, n0 = 0] = a[0] && a[0].grantOf ? a : [up, ...a];
    return u.since(n0).filter((r) => r.refreshToken && u.grantOf(r.refreshToken) === grant);
  };
  // sqlite3's CLI beside Apache's children: wait for their writes.
  const rows = async (where = '') => Number((await db.query(`PRAGMA busy_timeout = 5000; SELECT COUNT(*) FROM alexalink_links ${where};`)).split('\n').pop());
  const minDue = async () => Number((await db.query('PRAGMA busy_timeout = 5000; SELECT MIN(due_at) FROM alexalink_links;')).split('\n').pop());
  const keepalive = async () => (await statusJson(apache)).keepalive;
  // Alexa's refresh; the honest-lifetime warning for the fixture's short
  // tokens is said once an hour per client and vhost, by whichever comes first
  const alexa = async (where, rt, what = 'Alexa', creds = A) => {
    const mark = apache.mark();
    const j = assertTokenAnswer(await refresh(apache.port, where, rt, creds), what);
    await expectLog(apache, mark, [], { maybe: [shortLived(1), shortLived(LONG_TTL), /ALX0530/, /ALX0531/] });
    return j;
  };

  before(async () => {
    up = await startRotating({ accessTtl: 1 });
    slow = await startRotating({ accessTtl: 1 });
    db = sqliteFile();
    key = keepAliveKey();
    shmDir = mkdtempSync(path.join(tmpdir(), 'alx-shm-'));
    chmodSync(shmDir, 0o777);
    if (HOOKS) process.env.ALX_TEST_KEEPALIVE_BACKOFF = String(BACKOFF);
    apache = await startApache(conf(path.join(shmDir, 'grace-1')));
  });
  after(async () => {
    try {
      if (apache) await apache.stop();
    } finally {
      delete process.env.ALX_TEST_KEEPALIVE_BACKOFF;
      await up.close();
      await slow.close();
      await db.stop();
      rmSync(key.dir, { recursive: true, force: true });
      rmSync(shmDir, { recursive: true, force: true });
    }
  });

  it('rule 1: never refreshes while Alexa\'s last access token may be valid', async () => {
    const g = up.issue(A[0]);
    const grant = up.grantOf(g.refresh_token);
    await alexa('/long/token', g.refresh_token);
    const answered = Date.now();
    const n0 = up.count();
    await sleep((LONG_TTL - 2) * 1000);   // four keep-alive periods, all quiet
    assert.deepEqual(ofGrant(grant, n0).map((r) => r.seq), [], 'nothing reached the upstream while Alexa\'s token lived');
    // and once it has died, the keep-alive does refresh: the rule, not a dead task
    const first = await waitFor(() => ofGrant(grant, n0).find(byKeepAlive), { timeoutMs: 8000, what: 'the keep-alive\'s first refresh' });
    assert.ok(first.at - answered >= LONG_TTL * 1000 - 250, `the first keep-alive refresh came ${first.at - answered} ms after Alexa's answer (token lives ${LONG_TTL} s)`);
    assert.equal(first.outcome.status, 200);
  });

  it('rule 5: the status page and ?metrics count refreshes made, links kept, and the next due', async () => {
    const g = up.issue(A[0]);
    const grant = up.grantOf(g.refresh_token);
    const was = await keepalive();
    const n0 = up.count();
    await alexa('/kept/token', g.refresh_token);
    await waitFor(() => ofGrant(grant, n0).filter(byKeepAlive).length >= 2, { timeoutMs: 8000, what: 'two keep-alive refreshes' });
    const k = await waitFor(async () => {
      const j = await keepalive();
      return j.keepalive_refreshes >= was.keepalive_refreshes + 2 && j.links_kept === await rows() && j;
    }, { timeoutMs: 8000, what: () => 'keepalive_refreshes counted and links_kept equal to the table\'s rows' });
    assert.ok(k.links_kept >= 2, `links_kept ${k.links_kept}: rule 1's link and this one`);
    assert.ok(k.keepalive_next_due, 'keepalive_next_due is a time');
    const due = Date.parse(k.keepalive_next_due);
    assert.ok(due > Date.now() - 5000 && due < Date.now() + 3600 * 1000, `keepalive_next_due ${k.keepalive_next_due} is soon`);
    assert.ok(Math.abs(due / 1000 - await minDue() / 1e6) < 5, 'keepalive_next_due is the table\'s earliest due_at (within a round)');
    const m = (await getView(apache, 'metrics')).text;
    const metric = (name) => Number((new RegExp(`^alexalink_${name} (\\d+)$`, 'm').exec(m) || [])[1]);
    assert.ok(metric('keepalive_refreshes_total') >= k.keepalive_refreshes, '?metrics: alexalink_keepalive_refreshes_total');
    assert.ok(metric('links_kept') >= 2, '?metrics: alexalink_links_kept');
    assert.ok(Math.abs(metric('keepalive_next_due') - due / 1000) < 60, '?metrics: alexalink_keepalive_next_due in Unix time');
  });

  it('rule 2: an upstream invalid_grant ends the link, logged and counted, and it is not refreshed again', async () => {
    const g = up.issue(A[0]);
    const grant = up.grantOf(g.refresh_token);
    const was = await keepalive();
    const n0 = up.count();
    await alexa('/kept/token', g.refresh_token);
    await waitFor(() => ofGrant(grant, n0).some(byKeepAlive), { timeoutMs: 8000, what: 'a keep-alive refresh' });
    const mark = apache.mark();
    grant.revoked = true;                 // the customer revoked the grant
    const n1 = up.count();
    const text = await expectLog(apache, mark, ['ALX0514']);
    const line = text.split('\n').find((l) => /ALX0514: /.test(l));
    assert.match(line, /\[(alexalink:)?warn\]/, 'at warn');
    assert.match(line, new RegExp(`client=${CLIENT_A} age=\\d+s`), 'with the client id and the link\'s age');
    const ended = ofGrant(grant, n1).filter(byKeepAlive);
    assert.equal(ended.length, 1, 'one refresh got the invalid_grant');
    assert.equal(ended[0].outcome.error, 'invalid_grant');
    await sleep(3000);                    // three keep-alive periods
    assert.equal(ofGrant(grant, n1).length, 1, 'the ended link is not refreshed again');
    const k = await keepalive();
    assert.equal(k.links_ended_upstream, was.links_ended_upstream + 1, 'links_ended_upstream counted once');
  });

  it('rule 3: a 5xx backs off (logged once, counted, no hammering), and the link is kept again when the upstream recovers', async () => {
    const g = up.issue(A[0]);
    const grant = up.grantOf(g.refresh_token);
    const was = await keepalive();
    const n0 = up.count();
    await alexa('/kept/token', g.refresh_token);
    await waitFor(() => ofGrant(grant, n0).some(byKeepAlive), { timeoutMs: 8000, what: 'a keep-alive refresh' });
    const mark = apache.mark();
    up.failGrant(g.refresh_token, 503);
    const n1 = up.count();
    const text = await expectLog(apache, mark, ['ALX0515']);
    assert.match(text, new RegExp(`ALX0515: .*status 503.*client=${CLIENT_A}`), 'names the status and the client');
    const firstFail = Date.now();
    await sleep(3500);                    // a few keep-alive periods
    const attempts = ofGrant(grant, n1).filter(byKeepAlive);
    assert.ok(attempts.length >= 1 && attempts.length <= 2, `${attempts.length} attempts in ${Date.now() - firstFail + 1000} ms (first backoff ${BACKOFF} s)`);
    assert.ok(attempts.every((r) => r.outcome.status === 503));
    assert.equal(tagCount(apache.errorLogSince(mark), 'ALX0515'), 1, 'said once an hour per client');
    await waitFor(async () => (await keepalive()).keepalive_failures === was.keepalive_failures + attempts.length, { what: 'keepalive_failures: each failure counted' });
    up.failGrant(g.refresh_token, 0);
    if (!HOOKS) return;   // the recovery is a backoff later: 60 s without the test hook
    const ok = await waitFor(() => ofGrant(grant, n1).filter(byKeepAlive).find((r) => r.outcome && r.outcome.status === 200), { timeoutMs: 4 * BACKOFF * 1000 + 3000, what: 'a keep-alive refresh after the recovery' });
    assert.ok(ok);
    // kept again: the next one comes one period later, not after a backoff
    await waitFor(() => ofGrant(grant, ok.seq).filter(byKeepAlive).some((r) => r.outcome && r.outcome.status === 200), { timeoutMs: 4000, what: 'the next refresh, a period later' });
    assert.equal(grant.revoked, false);
  });

  it('rule 3: a timeout backs off as a 5xx does, within the proxy\'s timeout for that URL', async () => {
    const g = slow.issue(B[0]);   // another client: ALX0515 is said once an hour per client
    const grant = slow.grantOf(g.refresh_token);
    const was = await keepalive();
    const n0 = slow.count();
    await alexa('/slow/token', g.refresh_token, 'Alexa', B);
    await waitFor(() => ofGrant(slow, grant, n0).some(byKeepAlive), { timeoutMs: 8000, what: 'a keep-alive refresh' });
    const mark = apache.mark();
    slow.failGrant(g.refresh_token, 503, 4000);   // answered after the 1 s timeout
    const n1 = slow.count();
    const text = await expectLog(apache, mark, ['ALX0515']);
    const line = text.split('\n').find((l) => /ALX0515: /.test(l));
    assert.match(line, new RegExp(`no answer: .*client=${CLIENT_B}`), 'a timeout: no answer, and the client');
    const sent = ofGrant(slow, grant, n1).filter(byKeepAlive);
    assert.equal(sent.length, 1, 'one attempt');
    // logged (expectLog looks every 20 ms) before the upstream's late answer
    assert.ok(Date.now() - sent[0].at < 3000, `it gave up at the proxy's 1 s timeout (${Date.now() - sent[0].at} ms), not at the upstream's answer (4 s)`);
    await sleep(2500);
    assert.ok(ofGrant(slow, grant, n1).filter(byKeepAlive).length <= 2, 'no hammering');
    await waitFor(async () => (await keepalive()).keepalive_failures > was.keepalive_failures, { what: 'keepalive_failures counted' });
    slow.failGrant(g.refresh_token, 0);
    assert.equal(grant.revoked, false);
  });

  it('rule 4: a link Alexa stops using ends after AlexaLinkKeepAliveFor, counted, its row deleted', async () => {
    const g = up.issue(A[0]);
    const was = await keepalive();
    const mark = apache.mark();
    const rows0 = await rows();
    await alexa('/brief/token', g.refresh_token);
    await waitFor(async () => await rows() === rows0 + 1, { timeoutMs: 5000, what: 'the link\'s row' });
    const started = Date.now();
    await apache.waitErrorLog(/ALX0516: /, mark, 'ALX0516');
    assert.ok(Date.now() - started >= KEEP_FOR * 1000 - 1000, `ended after ${Date.now() - started} ms (AlexaLinkKeepAliveFor ${KEEP_FOR}s)`);
    assert.match(apache.errorLogSince(mark), new RegExp(`\\[(alexalink:)?info\\].*ALX0516: .*client=${CLIENT_A} age=\\d+s`));
    assert.equal(await rows(), rows0, 'its row is deleted');
    const k = await waitFor(async () => { const j = await keepalive(); return j.links_ended_idle === was.links_ended_idle + 1 && j; }, { what: 'links_ended_idle' });
    assert.equal(k.links_ended_idle, was.links_ended_idle + 1);
    // ?metrics says the same as ?json for the counts no round changes now
    const m = (await getView(apache, 'metrics')).text;
    for (const [name, prom] of [['keepalive_failures', 'keepalive_failures_total'], ['links_ended_upstream', 'links_ended_upstream_total'], ['links_ended_idle', 'links_ended_idle_total']]) {
      assert.match(m, new RegExp(`^alexalink_${prom} ${k[name]}$`, 'm'), `?metrics: alexalink_${prom}`);
      assert.ok(k[name] >= 1, `${name} counted in this file`);
    }
  });

  // mod_watchdog's singleton: the first child to take the dead one's lock
  // waits 10 s (its own settle time, for a server shutting down) first
  it('a child that dies with the keep-alive in it: another child keeps the links, after mod_watchdog\'s 10 s', async () => {
    const g = up.issue(A[0]);
    const grant = up.grantOf(g.refresh_token);
    const n0 = up.count();
    const mark = apache.mark();
    await alexa('/kept/token', g.refresh_token);
    await waitFor(() => ofGrant(grant, n0).some(byKeepAlive), { timeoutMs: 8000, what: 'a keep-alive refresh' });
    const line = await waitFor(() => apache.errorLogSince(mark).split('\n').find((l) => /ALX0513: /.test(l)), { what: 'ALX0513' });
    const pid = Number(/\[pid (\d+)/.exec(line)[1]);
    assert.ok(apache.childPids().includes(pid), `the keep-alive runs in child ${pid}`);
    process.kill(pid, 'SIGKILL');
    const killed = Date.now();
    await waitFor(() => !apache.childPids().includes(pid), { what: `child ${pid} gone` });
    const n1 = up.count();
    const next = await waitFor(() => ofGrant(grant, n1).find(byKeepAlive), { timeoutMs: 20000, what: 'a keep-alive refresh from another child' });
    assert.equal(next.outcome.status, 200, 'the link was not left claimed by the dead child');
    assert.ok(next.at - killed < 15000, `resumed ${next.at - killed} ms after the kill`);
    assert.equal(grant.revoked, false);
  });

  it('rule 6: links live in SQL: after the shared memory is gone, the link is still kept and Alexa\'s old token still works', async () => {
    const g = up.issue(A[0]);
    const grant = up.grantOf(g.refresh_token);
    const first = await alexa('/idle/token', g.refresh_token, 'Alexa before');
    // a full stop, and a start with the grace store's shm elsewhere (and
    // the status segment, anonymous, new): the old file removed
    await apache.stop();
    rmSync(path.join(shmDir, 'grace-1'), { force: true });
    apache = await startApache(conf(path.join(shmDir, 'grace-2')));
    const n0 = up.count();
    await waitFor(async () => (await keepalive()).links_kept > 0, { timeoutMs: 5000, what: 'links_kept read from SQL' });
    await sleep((IDLE + 1) * 1000);       // past the upstream's idle limit
    const kept = ofGrant(grant, n0).filter(byKeepAlive);
    assert.ok(kept.length >= 2 && kept.every((r) => r.outcome.status === 200), `the keep-alive kept it after the start (${kept.length} refreshes)`);
    const now = await alexa('/idle/token', first.refresh_token, 'Alexa\'s old token');
    assert.notEqual(now.refresh_token, first.refresh_token);
    assert.equal(grant.revoked, false, 'the grant lives');
    assert.equal(up.requests().filter((r) => r.reuseDetected).length, 0, 'no token reached the upstream twice');
  });
});

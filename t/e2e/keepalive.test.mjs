// SPEC "Links that last": against t/fixtures/rotating-upstream.mjs with an
// idle limit (a refresh token unused for IDLE seconds dies with its grant),
// rotation with reuse detection and 1 s access tokens. Without keep-alive
// a quiet link dies; with it the link outlives several idle periods with no
// Alexa traffic, Alexa's old refresh token is answered with tokens that
// still work upstream, and the upstream never sees a token twice. On
// sqlite (one box) and PostgreSQL, across a full stop and start, and with
// nothing readable in the database.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startApache, moduleMissingReason, expectLog, dbdConf, shortLived } from '../lib/apache.mjs';
import { secretsIn, allSecrets } from '../lib/secrets.mjs';
import { startRotating, graceLocation, refresh, assertTokenAnswer, CLIENT_A, graceClients } from '../lib/grace.mjs';
import { sqliteFile, startPostgres, keepAliveKey } from '../lib/sql.mjs';
import { sleep, waitFor } from '../lib/wait.mjs';

const IDLE = 3;              // the upstream's idle limit, seconds
const KEEP = '1s';           // AlexaLinkKeepAlive: below it
const QUIET_MS = 3 * IDLE * 1000 + 1500;   // several idle periods

// Refresh tokens the upstream was sent more than once to be used up (a
// look through /check/, which does not use one up, aside), and whether it
// ever saw a used-up one again (reuse detection).
function presentedTwice(up) {
  const seen = new Map();
  for (const r of up.requests()) {
    if (!r.refreshToken || !r.outcome || /rotate=0/.test(r.path)) continue;
    seen.set(r.refreshToken, (seen.get(r.refreshToken) || 0) + 1);
  }
  const twice = [...seen.values()].filter((n) => n > 1).length;
  return twice + up.requests().filter((r) => r.reuseDetected).length;
}

for (const kind of ['sqlite3', 'pgsql']) {
  describe(`keep-alive on ${kind}`, { skip: moduleMissingReason() }, () => {
    let up;
    let apache;
    let store;
    let key;
    let conf;
    const A = [CLIENT_A, graceClients()[CLIENT_A]];
    before(async () => {
      up = await startRotating({ idle: IDLE, accessTtl: 1 });
      store = kind === 'pgsql' ? await startPostgres() : sqliteFile();
      key = keepAliveKey();
      conf = () => ({
        serverConf: `${dbdConf(store)}AlexaLinkKeepAliveKey ${key.file}\n`,
        locations: [
          graceLocation('/kept/', `${up.url}/`, [`AlexaLinkKeepAlive ${KEEP}`, 'AlexaLinkKeepAliveFor 1h']),
          graceLocation('/plain/', `${up.url}/`),
          // a look at a token without using it up: the upstream keeps it
          graceLocation('/check/', `${up.url}/opt/rotate=0/`),
        ].join(''),
      });
      apache = await startApache(conf());
    });
    after(async () => {
      try {
        if (apache) await apache.stop();
      } finally {
        await up.close();
        if (store.stop) await store.stop();
        rmSync(key.dir, { recursive: true, force: true });
      }
    });

    it('without keep-alive a quiet link dies at the upstream\'s idle limit', async () => {
      const g = up.issue(A[0]);
      const mark = apache.mark();
      const first = assertTokenAnswer(await refresh(apache.port, '/plain/token', g.refresh_token, A), 'first');
      await expectLog(apache, mark, [shortLived(1)]); // the fixture's 1 s tokens, said once
      await sleep((IDLE + 1) * 1000);
      const res = await refresh(apache.port, '/plain/token', first.refresh_token, A);
      assert.equal(res.status, 400, 'the idle grant is gone');
      assert.equal(JSON.parse(res.text).error, 'invalid_grant');
    });

    it('with keep-alive the link outlives several idle periods, and Alexa\'s old token gets working tokens', async () => {
      const g = up.issue(A[0]);
      const n0 = up.count();
      const first = assertTokenAnswer(await refresh(apache.port, '/kept/token', g.refresh_token, A), 'first');
      await sleep(QUIET_MS);
      const kept = up.since(n0).filter((r) => r.outcome && r.outcome.status === 200).length;
      assert.ok(kept >= 3, `the keep-alive refreshed while Alexa was quiet (${kept} refreshes)`);
      const mark = apache.mark();
      const res = await refresh(apache.port, '/kept/token', first.refresh_token, A);
      const now = assertTokenAnswer(res, 'Alexa after the quiet');
      assert.notEqual(now.refresh_token, first.refresh_token);
      await expectLog(apache, mark, [], { maybe: [/ALX0530/, /ALX0531/] });
      assert.equal(up.grantOf(g.refresh_token).revoked, false, 'the grant lives');
      assert.equal(presentedTwice(up), 0, 'no refresh token reached the upstream twice');
      // the refresh token Alexa holds works upstream (looked at without
      // using it up, so the link keeps it)
      const direct = assertTokenAnswer(await refresh(apache.port, '/check/token', now.refresh_token, A), 'Alexa\'s new token, upstream');
      assert.equal(direct.refresh_token, now.refresh_token);
    });

    it('the database holds no token, secret or credential in any encoding', async () => {
      const text = String(await store.dump());
      assert.match(text, /alexalink_links/i, 'the table is in the dump');
      const raw = store.bytes ? Buffer.concat(store.bytes()).toString('latin1') : '';
      assert.deepEqual(secretsIn(text), [], 'no secret in the dump');
      assert.deepEqual(secretsIn(raw), [], 'nor in the file\'s bytes');
      // hex (the sealed column's own encoding, either case) and base64
      const haystack = `${text}\n${raw}`.toLowerCase();
      const found = allSecrets().filter(({ value }) => {
        const b = Buffer.from(value);
        return [b.toString('hex'), b.toString('base64').toLowerCase(), b.toString('base64url').toLowerCase()]
          .some((form) => form.length >= 16 && haystack.includes(form));
      }).map(({ label }) => label);
      assert.deepEqual(found, [], 'nor any secret in hex or base64');
    });

    it('links survive a full stop and start on the same database', async () => {
      const g = up.issue(A[0]);
      const first = assertTokenAnswer(await refresh(apache.port, '/kept/token', g.refresh_token, A), 'first');
      await apache.stop();
      apache = await startApache(conf());
      await sleep(QUIET_MS);
      const mark = apache.mark();
      const res = await refresh(apache.port, '/kept/token', first.refresh_token, A);
      assertTokenAnswer(res, 'after the restart and the quiet');
      // a new server says the 1 s tokens once more
      await expectLog(apache, mark, [], { maybe: [shortLived(1)] });
      assert.equal(up.grantOf(g.refresh_token).revoked, false);
      assert.equal(presentedTwice(up), 0);
    });
  });
}

describe('keep-alive across a fleet: two Apaches on one PostgreSQL', { skip: moduleMissingReason() }, () => {
  let up;
  let pg;
  let key;
  const servers = [];
  const A = [CLIENT_A, graceClients()[CLIENT_A]];
  before(async () => {
    up = await startRotating({ idle: IDLE, accessTtl: 1 });
    pg = await startPostgres();
    key = keepAliveKey();
    for (let i = 0; i < 2; i++) {
      servers.push(await startApache({
        serverConf: `${dbdConf(pg)}AlexaLinkKeepAliveKey ${key.file}\n`,
        locations: graceLocation('/kept/', `${up.url}/`, [`AlexaLinkKeepAlive ${KEEP}`, 'AlexaLinkKeepAliveFor 1h']),
      }));
    }
  });
  after(async () => {
    try {
      for (const s of servers) await s.stop();
    } finally {
      await up.close();
      await pg.stop();
      rmSync(key.dir, { recursive: true, force: true });
    }
  });

  it('each due link is refreshed by one server at a time, and the other answers Alexa', async () => {
    const marks = servers.map((s) => s.mark());
    const grants = [];
    for (let i = 0; i < 4; i++) {
      const g = up.issue(A[0]);
      const first = assertTokenAnswer(await refresh(servers[i % 2].port, '/kept/token', g.refresh_token, A), `link ${i}`);
      grants.push({ g, first });
    }
    await sleep(QUIET_MS);
    assert.equal(presentedTwice(up), 0, 'no refresh token reached the upstream twice');
    for (const [i, { g, first }] of grants.entries()) {
      assert.equal(up.grantOf(g.refresh_token).revoked, false, `link ${i} lives`);
      // Alexa comes back through the other server
      assertTokenAnswer(await refresh(servers[(i + 1) % 2].port, '/kept/token', first.refresh_token, A), `link ${i} on the other server`);
    }
    assert.equal(presentedTwice(up), 0, 'not even with both servers answering Alexa');
    for (const [i, s] of servers.entries()) await expectLog(s, marks[i], [], { maybe: [shortLived(1)] });
  });
});

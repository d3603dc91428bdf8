// The real SQL parts keep-alive's link records will live in (issue 18),
// proved before any module code uses them: Debian's apache2 with mod_dbd
// (and mod_watchdog) on a sqlite file and on a private PostgreSQL cluster
// (t/lib/sql.mjs, t/lib/apache.mjs dbdConf). For each driver: every child
// connects at its start (DBDPersist On, DBDMin 1) and the error log stays
// clean; a child writes a row over its pooled connection (mod_lua's
// r:dbacquire, t/fixtures/dbd-probe.lua) that the command-line tool reads
// back and dumps; a wrong parameter makes mod_dbd log its failure at start
// (AH00629), so a test on a broken store fails; stopped, nothing is left.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readlinkSync, readFileSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import { startApache, dbdConf, expectLog, settleErrorLog, checkErrorLog, REPO, MODDIR, MPM, CHILD_USER, portOpen, waitFor } from '../lib/apache.mjs';
import { startPostgres, sqliteFile } from '../lib/sql.mjs';
import { secret, secretsIn } from '../lib/secrets.mjs';
import { request } from '../lib/http.mjs';

const PROBE = path.join(REPO, 't', 'fixtures', 'dbd-probe.lua');
const PROBE_CONF = `LoadModule lua_module ${path.join(MODDIR, 'mod_lua.so')}\nLuaMapHandler ^/dbd-probe$ "${PROBE}"\n`;
// mod_dbd's lines when a child cannot connect at its start
const CONNECT_FAILED = ['AH00629', 'AH00633', 'AH00636'];

// Processes whose working directory is under dir: a postmaster and its
// backends run in their data directory (Linux /proc).
function processesIn(dir) {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try { if (readlinkSync(`/proc/${d}/cwd`).startsWith(dir)) out.push(Number(d)); } catch { /* gone or not ours */ }
  }
  return out;
}

const uidOf = (user) => Number(readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${user}:`)).split(':')[2]);

const DRIVERS = [
  {
    name: 'sqlite3',
    start: async () => sqliteFile(),
    // a child's connection made the file, and it is the children's
    connected: async (s) => s.exists() && (!CHILD_USER || statSync(s.file).uid === uidOf(CHILD_USER)),
    broken: (s) => ({ kind: 'sqlite3', dbdParams: path.join(s.dir, 'no-such-dir', 'links.db') }),
    gone: async (s) => !existsSync(s.dir),
    goneWhat: 'its directory is gone',
  },
  {
    name: 'pgsql',
    start: startPostgres,
    // a TCP connection per child (the tools use the unix socket)
    connected: async (s, apache) => Number(await s.query("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND client_addr IS NOT NULL")) >= Math.max(1, apache.childPids().length),
    broken: (s) => ({ ...s, dbdParams: s.dbdParams.replace(`password=${s.password}`, `password=${secret('a wrong postgres password')}`) }),
    gone: async (s) => !(await portOpen(s.port)) && processesIn(s.dir).length === 0,
    goneWhat: 'the cluster\'s port is closed, no process runs in its directory',
  },
];

for (const D of DRIVERS) {
  describe(`mod_dbd with DBDriver ${D.name} (${MPM})`, () => {
    let store;
    let apache;
    before(async () => {
      store = await D.start();
      apache = await startApache({ serverConf: `${dbdConf(store)}${PROBE_CONF}` });
    });
    after(async () => {
      if (apache) await apache.stop();
      if (store) await store.stop();
    });

    it('every child connects at its start, and the error log stays clean', async () => {
      await waitFor(() => {
        // a failed connection is logged at once: no need to wait it out
        if (/AH00629: /.test(apache.errorLog())) checkErrorLog(apache.errorLog());
        return D.connected(store, apache);
      }, { timeoutMs: 15000, what: `the children's ${D.name} connections` });
      checkErrorLog(apache.errorLog());
    });

    it('a child writes through its pooled connection; query() and dump() read the row', async () => {
      await store.query('CREATE TABLE probe (v TEXT)');
      const value = `probe-${D.name}-${process.pid}`;
      const res = await request({ port: apache.port, path: `/dbd-probe?${value}` });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.text, 'inserted 1');
      assert.equal(await store.query('SELECT v FROM probe'), value);
      assert.ok((await store.dump()).includes(value), 'the dump holds the row');
      if (store.bytes) assert.ok(store.bytes().some((b) => b.includes(value)), 'the file holds the row');
    });

    it('a wrong parameter makes mod_dbd log its failure at start, without the password', async () => {
      const bad = await startApache({ serverConf: dbdConf(D.broken(store)) });
      let logs;
      try {
        await expectLog(bad, null, CONNECT_FAILED);
        assert.match(bad.errorLog(), new RegExp(`AH00629: Can't connect to ${D.name}: `));
      } finally {
        logs = await bad.stop();
      }
      settleErrorLog(bad, logs.errorLog, { stopped: true });
      assert.deepEqual(secretsIn(logs.errorLog), [], 'no password in the error log');
    });

    it(`stopped: ${D.goneWhat}`, async () => {
      const logs = await apache.stop();
      settleErrorLog(apache, logs.errorLog, { stopped: true });
      apache = null;
      await store.stop();
      assert.ok(await D.gone(store), `${D.name}: not so (${D.goneWhat})`);
      store = null;
    });
  });
}

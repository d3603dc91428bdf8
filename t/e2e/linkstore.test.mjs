// The link store (alexalink_linkstore.c): keep-alive's link records in SQL
// over mod_dbd, on a real sqlite file and a real PostgreSQL cluster
// (t/lib/sql.mjs). Nothing in the module calls the store yet, so a test
// build's handler (SetHandler alexalink-linkstore-test, configure
// --enable-test-hooks) runs scripted steps (put, find, claim, claim_due,
// update, remove) and answers each one's result as JSON. The rows are fixed
// test rows: "plain" is sealed by the handler as a link's refresh token
// under a fixed test key, and is a marker, never a secret.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { startApache, dbdConf, expectLog, MPM, CHILD_USER } from '../lib/apache.mjs';
import { startPostgres, sqliteFile, SQLITE3 } from '../lib/sql.mjs';
import { request } from '../lib/http.mjs';

const HOOKS = process.env.ALX_TEST_HOOKS ? false : 'needs a module built with --enable-test-hooks (ALX_TEST_HOOKS=1)';
// the steps ride in the query: room for a few dozen
const LOCATION = 'LimitRequestLine 65536\n<Location /ls>\n  SetHandler alexalink-linkstore-test\n</Location>\n';
const TABLE = 'alexalink_links';
const SEC = 1000000;
const NEVER = 9223372036854775807n;

const run = `${process.pid}-${randomBytes(4).toString('hex')}`;
const hexId = (label) => createHash('sha256').update(`${run}:${label}`).digest('hex');
const marker = (label) => `linkstore-marker-${label}-${run}`;
const nowUs = () => Date.now() * 1000;

// Runs steps in one request; the parsed answer ({ owner, results }).
async function steps(apache, list, { via = 'request', status = 200 } = {}) {
  const q = encodeURIComponent(JSON.stringify({ via, steps: list }));
  const res = await request({ port: apache.port, path: `/ls?${q}` });
  assert.equal(res.status, status, res.text);
  return JSON.parse(res.text);
}
async function step(apache, s, opts) {
  const { results, owner } = await steps(apache, [s], opts);
  return { ...results[0], owner };
}

// due: null leaves it out (never due)
const X = 'server-x:1';
const Y = 'server-y:2';
const Z = 'server-z:3';
const claim = (label, owner, now, until) => ({ op: 'claim', id: hexId(label), owner, now, until });
const claimDue = (owner, now, until) => ({ op: 'claim_due', owner, now, until });

// An empty table (made first: a test may run alone).
async function empty(apache, db) {
  await step(apache, { op: 'find', lookup: hexId('make-the-table') });
  await db.query(`DELETE FROM ${TABLE}`);
}

const put = (label, { lookups = [`${label}/0`, `${label}/1`], due = 0, plain = marker(label) } = {}) => ({
  op: 'put', id: hexId(label), lookups: lookups.map(hexId), ...(due === null ? {} : { due }), plain,
});

// The encodings a marker could hide in.
function encodings(s) {
  const b = Buffer.from(s);
  return [s, b.toString('hex'), b.toString('hex').toUpperCase(), b.toString('base64').replace(/=+$/, ''), b.toString('base64url')];
}

// sqlite: another process (the CLI, as the children's user) holds the
// write lock for `seconds` while the promise runs.
function holdSqliteWriteLock(db, seconds) {
  const [uid, gid] = CHILD_USER ? spawnSync('getent', ['passwd', CHILD_USER], { encoding: 'utf8' }).stdout.split(':').slice(2, 4).map(Number) : [];
  return promisify(execFile)(SQLITE3, ['-bail', db.file, 'BEGIN IMMEDIATE;', `UPDATE ${TABLE} SET updated_at = updated_at;`, `.shell sleep ${seconds}`, 'COMMIT;'],
    { ...(CHILD_USER ? { uid, gid } : {}), cwd: db.dir, timeout: 60000 });
}

const DRIVERS = [
  {
    name: 'sqlite3',
    start: async () => sqliteFile(),
    tableExists: async (db) => (await db.query(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '${TABLE}'`)) === '1',
    columns: async (db) => (await db.query(`SELECT name FROM pragma_table_info('${TABLE}') ORDER BY cid`)).split('\n'),
    everything: async (db) => [await db.dump(), ...db.bytes()],
    holdWriteLock: holdSqliteWriteLock,
  },
  {
    name: 'pgsql',
    start: startPostgres,
    tableExists: async (db) => (await db.query(`SELECT to_regclass('${TABLE}') IS NOT NULL`)) === 't',
    columns: async (db) => (await db.query(`SELECT column_name FROM information_schema.columns WHERE table_name = '${TABLE}' ORDER BY ordinal_position`)).split('\n'),
    everything: async (db) => [await db.dump()],
  },
];

for (const D of DRIVERS) {
  describe(`the link store on DBDriver ${D.name} (${MPM})`, { skip: HOOKS }, () => {
    let db;
    let apache;
    before(async () => {
      db = await D.start();
      apache = await startApache({ serverConf: dbdConf(db), locations: LOCATION });
    });
    after(async () => {
      if (apache) await apache.stop();
      if (db) await db.stop();
    });

    it('makes its table on first use, with the columns it documents', async () => {
      assert.equal(await D.tableExists(db), false, 'no table before the first use');
      const r = await step(apache, { op: 'find', lookup: hexId('nothing') });
      assert.equal(r.rv, 'NOTFOUND');
      assert.equal(await D.tableExists(db), true);
      assert.deepEqual(await D.columns(db), ['id', 'lookup0', 'lookup1', 'due_at', 'claim_owner', 'claim_until', 'key_id', 'schema_version', 'sealed', 'updated_at']);
      assert.match(r.owner, /^[^:]+:\d+$/, 'the owner is host:pid');
    });

    it('put and find round trips, by either lookup id, through both ways to a connection', async () => {
      for (const via of ['request', 'open']) {
        const label = `round-${via}`;
        const due = nowUs() + 3600 * SEC;
        const { results } = await steps(apache, [
          put(label, { due }),
          { op: 'find', lookup: hexId(`${label}/0`) },
          { op: 'find', lookup: hexId(`${label}/1`) },
          { op: 'find', lookup: hexId(`${label}/2`) },
        ], { via });
        assert.deepEqual(results.map((x) => x.rv), ['SUCCESS', 'SUCCESS', 'SUCCESS', 'NOTFOUND']);
        const want = { id: hexId(label), lookups: [hexId(`${label}/0`), hexId(`${label}/1`)], due, plain: marker(label) };
        for (const found of results.slice(1, 3)) {
          const { sealed_len: len, ...row } = found.row;
          assert.deepEqual(row, want);
          assert.ok(len > 2 + 16 + marker(label).length, `sealed bytes (${len}) hold a whole sealed record`);
        }
      }
    });

    it('a put replaces the row with its id: new lookups, one lookup, no due', async () => {
      const label = 'replace';
      const { results } = await steps(apache, [
        put(label),
        put(label, { lookups: [`${label}/new`], due: null, plain: marker(`${label}-2`) }),
        { op: 'find', lookup: hexId(`${label}/0`) },
        { op: 'find', lookup: hexId(`${label}/new`) },
      ]);
      assert.deepEqual(results.map((x) => x.rv), ['SUCCESS', 'SUCCESS', 'NOTFOUND', 'SUCCESS']);
      assert.deepEqual(results[3].row.lookups, [hexId(`${label}/new`)]);
      assert.equal(results[3].row.plain, marker(`${label}-2`));
      assert.equal(BigInt(await db.query(`SELECT due_at FROM ${TABLE} WHERE id = '${hexId(label)}'`)), NEVER, 'no due: the largest bigint');
      assert.equal(await db.query(`SELECT count(*) FROM ${TABLE} WHERE id = '${hexId(label)}'`), '1');
    });

    it('a claim is exclusive until it ends or a put replaces the row; a lost claim makes update and remove EBUSY', async () => {
      const label = 'claim';
      const now = nowUs();
      const { results } = await steps(apache, [
        put(label),
        claim(label, X, now, now + 60 * SEC),
        claim(label, Y, now, now + 60 * SEC),
        claim('no-such-link', Y, now, now + 60 * SEC),
        // x's claim has ended by y's now: y takes it
        claim(label, Y, now + 61 * SEC, now + 120 * SEC),
        { ...put(label, { plain: marker('lost-write') }), op: 'update', owner: X, until: now + 60 * SEC },
        { ...put(label, { lookups: [], plain: marker('lost-write') }), op: 'update', owner: X, until: now + 60 * SEC },
        { op: 'remove', id: hexId(label), owner: X, until: now + 60 * SEC },
        // the same owner with another until is another claim too
        { op: 'remove', id: hexId(label), owner: Y, until: now + 119 * SEC },
        { ...put(label, { lookups: [`${label}/9`], plain: marker('kept-write') }), op: 'update', owner: Y, until: now + 120 * SEC, due: 7 },
        // the update released the claim
        claim(label, X, now, now + 60 * SEC),
        { op: 'remove', id: hexId(label), owner: X, until: now + 60 * SEC },
        { op: 'find', lookup: hexId(`${label}/9`) },
        // a put clears the claim
        put(label),
        claim(label, X, now, now + 60 * SEC),
        put(label),
        claim(label, Y, now, now + 60 * SEC),
      ]);
      assert.deepEqual(results.map((x) => x.rv), ['SUCCESS', 'SUCCESS', 'EBUSY', 'NOTFOUND', 'SUCCESS', 'EBUSY', 'EBUSY', 'EBUSY', 'EBUSY', 'SUCCESS', 'SUCCESS', 'SUCCESS', 'NOTFOUND',
        'SUCCESS', 'SUCCESS', 'SUCCESS', 'SUCCESS']);
      assert.equal(results[1].row.plain, marker(label), 'a claim reads the row');
      assert.equal(results[4].row.plain, marker(label), 'the lost write changed nothing');
      assert.deepEqual({ plain: results[10].row.plain, lookups: results[10].row.lookups, due: results[10].row.due },
        { plain: marker('kept-write'), lookups: [hexId(`${label}/9`)], due: 7 });
    });

    it('claim_due claims due rows earliest first, each once, never a future or claimed one', async () => {
      await empty(apache, db);
      const now = nowUs();
      const { results } = await steps(apache, [
        put('due-late', { due: now - 10 * SEC }),
        put('due-early', { due: now - 20 * SEC }),
        put('due-future', { due: now + 3600 * SEC }),
        put('due-never', { due: null }),
        put('due-claimed', { due: now - 30 * SEC }),
        claim('due-claimed', X, now, now + 60 * SEC),
        claimDue(Y, now, now + 60 * SEC),
        claimDue(Y, now, now + 60 * SEC),
        claimDue(Y, now, now + 60 * SEC),
        // x's claim ends: its row is due again, and so are y's
        claimDue(Z, now + 61 * SEC, now + 120 * SEC),
        // y still holds due-early (nobody took it): its update moves the
        // row's due into the future and releases it
        // (an update without lookups keeps them)
        { ...put('due-early', { lookups: [], due: now + 3600 * SEC }), op: 'update', owner: Y, until: now + 60 * SEC },
        claimDue(Z, now + 61 * SEC, now + 120 * SEC),
        claimDue(Z, now + 61 * SEC, now + 120 * SEC),
        { op: 'find', lookup: hexId('due-early/1') },
      ]);
      assert.deepEqual(results.map((x) => x.rv), ['SUCCESS', 'SUCCESS', 'SUCCESS', 'SUCCESS', 'SUCCESS', 'SUCCESS', 'SUCCESS', 'SUCCESS', 'NOTFOUND', 'SUCCESS', 'SUCCESS', 'SUCCESS', 'NOTFOUND', 'SUCCESS']);
      assert.deepEqual({ lookups: results[13].row.lookups, due: results[13].row.due }, { lookups: [hexId('due-early/0'), hexId('due-early/1')], due: now + 3600 * SEC });
      assert.deepEqual([results[6].row.id, results[7].row.id], [hexId('due-early'), hexId('due-late')]);
      assert.equal(results[9].row.id, hexId('due-claimed'));
      assert.equal(results[11].row.id, hexId('due-late'), 'y\'s ended claim is taken; the moved row is not due');
    });

    it('concurrent claim_due calls claim every due row exactly once', async () => {
      await empty(apache, db);
      const n = 24;
      const now = nowUs();
      const rows = Array.from({ length: n }, (_, i) => put(`race-${i}`, { due: now - (i + 1) * SEC }));
      assert.deepEqual((await steps(apache, rows)).results.map((x) => x.rv), rows.map(() => 'SUCCESS'));
      const claimer = () => steps(apache, Array.from({ length: 8 }, () => ({ op: 'claim_due', until: nowUs() + 600 * SEC })));
      const answers = await Promise.all(Array.from({ length: 6 }, claimer));
      const won = answers.flatMap((a) => a.results.filter((x) => x.rv === 'SUCCESS').map((x) => x.row.id));
      assert.deepEqual(answers.flatMap((a) => a.results.map((x) => x.rv)).filter((rv) => rv !== 'SUCCESS' && rv !== 'NOTFOUND'), []);
      assert.deepEqual([...won].sort(), rows.map((r) => r.id).sort(), 'every row claimed, none twice');
    });

    it('a write waits for another process\'s write (longer than apr_dbd_sqlite3\'s own retries)', { skip: !D.holdWriteLock && 'sqlite only' }, async () => {
      await step(apache, { op: 'find', lookup: hexId('make-the-table') });
      const held = D.holdWriteLock(db, 6);
      await new Promise((r) => { setTimeout(r, 500); });
      const started = Date.now();
      const r = await step(apache, put('waited'));
      assert.equal(r.rv, 'SUCCESS');
      assert.ok(Date.now() - started > 1500, 'it did wait for the lock');
      await held;
    });

    it('a dropped table is made again by the next operation', async () => {
      // every child that answers has made the table once already, so what
      // follows is the remaking after a failed statement, not a first use
      const warm = new Set();
      for (let i = 0; i < 5; i++) {
        const answers = await Promise.all(Array.from({ length: 8 }, () => step(apache, { op: 'find', lookup: hexId('make-the-table') })));
        for (const a of answers) warm.add(a.owner);
      }
      await db.query(`DROP TABLE ${TABLE}`);
      assert.equal(await D.tableExists(db), false);
      let warmAnswered = false;
      for (let i = 0; i < 20 && !warmAnswered; i++) {
        const { owner, results } = await steps(apache, [
          { op: 'find', lookup: hexId(`after-drop-${i}/0`) },
          put(`after-drop-${i}`),
          { op: 'find', lookup: hexId(`after-drop-${i}/0`) },
        ]);
        assert.deepEqual(results.map((x) => x.rv), ['NOTFOUND', 'SUCCESS', 'SUCCESS']);
        warmAnswered = warm.has(owner);
        if (!warmAnswered) await db.query(`DROP TABLE ${TABLE}`);
      }
      assert.ok(warmAnswered, 'a child that had made the table answered after the drop');
      assert.equal(await D.tableExists(db), true);
    });

    it('the database holds in clear only ids, due times, claims, key id and schema', async () => {
      const labels = ['dump-a', 'dump-b', 'dump-c'];
      const { results } = await steps(apache, labels.map((l) => put(l)));
      assert.deepEqual(results.map((x) => x.rv), ['SUCCESS', 'SUCCESS', 'SUCCESS']);
      const all = await D.everything(db);
      for (const l of labels) {
        assert.ok(all.some((b) => b.includes(hexId(l))), `${l}: the id is there in clear`);
        for (const form of encodings(marker(l)).concat(encodings('test-client'), encodings('https://upstream.test/token'))) {
          assert.ok(!all.some((b) => b.includes(form)), `${l}: a sealed value is in the database as ${form.slice(0, 12)}...`);
        }
      }
      const clear = await db.query(`SELECT key_id, schema_version FROM ${TABLE} WHERE id = '${hexId('dump-a')}'`);
      assert.match(clear, /^\d+\|1$/, 'key id and record schema in clear');
    });
  });
}

describe(`two Apaches on one PostgreSQL (${MPM})`, { skip: HOOKS }, () => {
  let db;
  const apaches = [];
  before(async () => {
    db = await startPostgres();
    for (let i = 0; i < 2; i++) apaches.push(await startApache({ serverConf: dbdConf(db), locations: LOCATION }));
  });
  after(async () => {
    for (const a of apaches) await a.stop();
    if (db) await db.stop();
  });

  it('each calling claim_due on a set of due rows at once: every row claimed exactly once', async () => {
    const n = 40;
    const now = nowUs();
    const rows = Array.from({ length: n }, (_, i) => put(`fleet-${i}`, { due: now - (i % 5) * SEC }));
    assert.deepEqual((await steps(apaches[0], rows)).results.map((x) => x.rv), rows.map(() => 'SUCCESS'));
    const claimer = (a) => steps(a, Array.from({ length: 10 }, () => ({ op: 'claim_due', until: nowUs() + 600 * SEC })));
    const answers = await Promise.all(apaches.flatMap((a) => [claimer(a), claimer(a), claimer(a)]));
    const won = answers.flatMap((a) => a.results.filter((x) => x.rv === 'SUCCESS').map((x) => ({ id: x.row.id, owner: a.owner })));
    assert.deepEqual(won.map((w) => w.id).sort(), rows.map((r) => r.id).sort(), 'every row claimed, none twice');
    assert.ok(new Set(won.map((w) => w.owner)).size >= 2, 'more than one process won rows');
    assert.equal(await db.query(`SELECT count(*) FROM ${TABLE} WHERE claim_owner IS NOT NULL`), String(n));
  });
});

describe(`the link store without a database (${MPM})`, { skip: HOOKS }, () => {
  it('without mod_dbd: no store, ALX0500 names why', async () => {
    const apache = await startApache({ locations: LOCATION });
    try {
      const m = apache.mark();
      await steps(apache, [{ op: 'find', lookup: hexId('x') }], { status: 503 });
      const text = await expectLog(apache, m, ['ALX0500']);
      assert.match(text, /ALX0500: link store: no database connection: mod_dbd is not loaded/);
    } finally {
      await apache.stop();
    }
  });

  it('mod_dbd without DBDriver: no store, ALX0500 names why', async () => {
    const conf = dbdConf({ kind: 'sqlite3', dbdParams: '/nonexistent' }).replace(/^DBD.*$/gm, '');
    const apache = await startApache({ serverConf: conf, locations: LOCATION });
    try {
      const m = apache.mark();
      await steps(apache, [{ op: 'find', lookup: hexId('x') }], { via: 'open', status: 503 });
      const text = await expectLog(apache, m, ['ALX0500']);
      assert.match(text, /ALX0500: link store: no database connection: mod_dbd has none/);
    } finally {
      await apache.stop();
    }
  });
});

// Real SQL stores for keep-alive's link records (mod_dbd): a private
// PostgreSQL cluster per test file (initdb into a temp dir, a free loopback
// port, stopped by its own pid) and a sqlite file the Apache children can
// write; each with query() and dump() through the real command-line tools,
// so a test can read the table and search a dump for tokens.
import { spawn, spawnSync, execFile } from 'node:child_process';
import { mkdtempSync, chownSync, chmodSync, writeFileSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, waitFor, portOpen } from './wait.mjs';
import { registerSecret } from './secrets.mjs';
import { CHILD_USER, CHILD_GROUP } from './apache.mjs';

const run = promisify(execFile);
const AS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;

// PostgreSQL's server binaries (Debian: /usr/lib/postgresql/<major>/bin,
// the newest installed), or ALX_PG_BIN.
export function pgBin() {
  if (process.env.ALX_PG_BIN) return process.env.ALX_PG_BIN;
  const base = '/usr/lib/postgresql';
  const majors = existsSync(base) ? readdirSync(base).filter((d) => /^\d+$/.test(d) && existsSync(path.join(base, d, 'bin', 'postgres'))) : [];
  if (!majors.length) throw new Error('no PostgreSQL server under /usr/lib/postgresql (scripts/setup.sh installs postgresql)');
  return path.join(base, String(Math.max(...majors.map(Number))), 'bin');
}

// uid and gid of a system user / group (getent), for chown and spawn.
function ids(user, group) {
  const u = spawnSync('getent', ['passwd', user], { encoding: 'utf8' }).stdout.split(':');
  const g = spawnSync('getent', ['group', group], { encoding: 'utf8' }).stdout.split(':');
  if (u.length < 4 || g.length < 3) throw new Error(`no system user ${user} / group ${group}`);
  return { uid: Number(u[2]), gid: Number(g[2]) };
}

// initdb and postgres refuse to run as root: as root they run as the
// `postgres` user the package creates, in a directory it owns.
const pgIds = () => (AS_ROOT ? ids('postgres', 'postgres') : {});

// Clusters still running when the test process exits (a failed before(),
// an interrupted run) get an immediate shutdown (SIGQUIT, pg_ctl's `-m
// immediate`), which also ends their backends, and lose their directory;
// node's own SIGINT from a terminal reaches them too (same process group):
// a fast shutdown.
const running = new Map(); // child -> its directory
process.on('exit', () => {
  for (const [c, dir] of running) {
    try { c.kill('SIGQUIT'); } catch { /* gone */ }
    if (!process.env.ALX_KEEP) rmSync(dir, { recursive: true, force: true });
  }
});

const PG_USER = 'alx';
const PG_DB = 'alexalink';

// Starts a cluster of its own: initdb (trust on the unix socket in its
// directory, for the tools; a password over TCP, for Apache), then postgres
// on 127.0.0.1 at a free port, ready when it logs that it accepts
// connections and the port answers. A lost race for the port is retried.
export async function startPostgres() {
  const bin = pgBin();
  const owner = pgIds();
  const dir = mkdtempSync(path.join(tmpdir(), 'alx-pg-'));
  const data = path.join(dir, 'data');
  const password = registerSecret(randomBytes(18).toString('base64url'), 'postgres password');
  const pwfile = path.join(dir, 'pw');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (AS_ROOT) { chownSync(dir, owner.uid, owner.gid); chownSync(pwfile, owner.uid, owner.gid); }
  chmodSync(dir, 0o700);
  const init = spawnSync(path.join(bin, 'initdb'), ['-D', data, '-U', PG_USER, `--pwfile=${pwfile}`, '--auth-local=trust',
    '--auth-host=scram-sha-256', '--no-locale', '-E', 'UTF8', '--no-sync', '--no-instructions'],
  { ...owner, cwd: dir, encoding: 'utf8', timeout: 120000 });
  rmSync(pwfile, { force: true });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status}): ${init.stdout}${init.stderr}`);
  }
  let server;
  for (let attempt = 0; attempt < 3 && !server; attempt++) server = await startPostmaster(bin, owner, dir, data, await freePort());
  if (!server) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error('could not start postgres on a free port (3 attempts)');
  }
  const { port, child, output, exited, exitP } = server;
  const tool = (name, args) => run(path.join(bin, name), ['-h', dir, '-p', String(port), '-U', PG_USER, ...args],
    { encoding: 'buffer', maxBuffer: 256 << 20, timeout: 60000 });
  try {
    await tool('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', 'postgres', '-c', `CREATE DATABASE ${PG_DB}`]);
  } catch (e) {
    await stopPostmaster(child, exited, exitP);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  let stopped = null;
  return {
    kind: 'pgsql',
    host: '127.0.0.1',
    port,
    user: PG_USER,
    db: PG_DB,
    password,
    pid: child.pid,
    dir,
    // mod_dbd's DBDParams for `DBDriver pgsql` (libpq's conninfo)
    dbdParams: `host=127.0.0.1 port=${port} user=${PG_USER} password=${password} dbname=${PG_DB} connect_timeout=5`,
    output,
    exited,
    // psql -c sql: its unaligned, tuples-only output (rows on lines,
    // fields split by |); rejects on an SQL error
    async query(sql) {
      const { stdout } = await tool('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', PG_DB, '-c', sql]);
      return stdout.toString('utf8').replace(/\n$/, '');
    },
    // the whole database as pg_dump's plain SQL text (bytea as \x hex)
    async dump() {
      const { stdout } = await tool('pg_dump', ['--no-owner', '-d', PG_DB]);
      return stdout;
    },
    // fast shutdown (SIGINT, pg_ctl's `-m fast`), immediate after 10 s,
    // SIGKILL after 5 s more; then its directory goes
    async stop({ keep = !!process.env.ALX_KEEP } = {}) {
      if (!stopped) stopped = stopPostmaster(child, exited, exitP).then((e) => {
        if (!keep) rmSync(dir, { recursive: true, force: true });
        return e;
      });
      return stopped;
    },
  };
}

async function startPostmaster(bin, owner, dir, data, port) {
  const child = spawn(path.join(bin, 'postgres'), ['-D', data, '-p', String(port), '-k', dir,
    '-c', 'listen_addresses=127.0.0.1', '-c', 'logging_collector=off', '-c', 'fsync=off',
    '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200'],
  { ...owner, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  running.set(child, dir);
  let out = '';
  let exitInfo = null;
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const exitP = new Promise((r) => child.on('exit', (code, signal) => { exitInfo = { code, signal }; running.delete(child); r(exitInfo); }));
  const exited = () => exitInfo;
  try {
    await waitFor(async () => {
      if (exitInfo) throw Object.assign(new Error(`postgres exited: ${out}`), { race: /could not bind|Address already in use|could not create any TCP\/IP sockets/.test(out) });
      return /database system is ready to accept connections/.test(out) && await portOpen(port);
    }, { timeoutMs: 60000, what: `postgres on ${port}` });
  } catch (e) {
    await stopPostmaster(child, exited, exitP);
    if (e.race) return null;
    throw e;
  }
  return { port, child, output: () => out, exited, exitP };
}

async function stopPostmaster(child, exited, exitP) {
  if (exited()) return exited();
  for (const [signal, ms] of [['SIGINT', 10000], ['SIGQUIT', 5000], ['SIGKILL', 5000]]) {
    try { child.kill(signal); } catch { /* gone */ }
    let timer;
    const done = await Promise.race([exitP, new Promise((r) => { timer = setTimeout(() => r(null), ms); })]);
    clearTimeout(timer);
    if (done) return done;
  }
  throw new Error(`postgres ${child.pid} did not exit`);
}

// A sqlite database file for `DBDriver sqlite3` in a directory of its own,
// owned by the user Apache's children run as (sqlite writes its journal
// beside the file). query() and dump() run the sqlite3 CLI as that user too,
// so a file it creates is theirs to write. The file does not exist until
// someone opens it.
export const SQLITE3 = process.env.ALX_SQLITE3 || 'sqlite3';
export function sqliteFile({ name = 'links.db' } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'alx-sqlite-'));
  const owner = AS_ROOT ? ids(CHILD_USER, CHILD_GROUP) : {};
  if (AS_ROOT) chownSync(dir, owner.uid, owner.gid);
  chmodSync(dir, 0o700);
  const file = path.join(dir, name);
  const cli = (args) => run(SQLITE3, ['-bail', file, ...args], { ...owner, cwd: dir, encoding: 'buffer', maxBuffer: 256 << 20, timeout: 60000 });
  return {
    kind: 'sqlite3',
    file,
    dir,
    // mod_dbd's DBDParams for `DBDriver sqlite3`: the file's path
    dbdParams: file,
    exists: () => existsSync(file),
    // sqlite3 -list (fields split by |, rows on lines); rejects on an error
    async query(sql) {
      const { stdout } = await cli([sql]);
      return stdout.toString('utf8').replace(/\n$/, '');
    },
    // the database as `.dump` SQL text (blobs as X'hex')
    async dump() {
      const { stdout } = await cli(['.dump']);
      return stdout;
    },
    // the raw bytes of the file and its journal / WAL: deleted rows can
    // linger in free pages, which .dump does not show
    bytes() {
      return readdirSync(dir).filter((f) => f.startsWith(name)).map((f) => readFileSync(path.join(dir, f)));
    },
    async stop({ keep = !!process.env.ALX_KEEP } = {}) {
      if (!keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}

// A keep-alive key file (AlexaLinkKeepAliveKey): 32 random bytes, readable
// by its owner only, in a directory of its own (rm -r dir when done).
export function keepAliveKey() {
  const dir = mkdtempSync(path.join(tmpdir(), 'alx-key-'));
  const file = path.join(dir, 'keepalive.key');
  writeFileSync(file, randomBytes(32));
  chmodSync(file, 0o400);
  return { file, dir };
}

// Starts a real Debian apache2 (event or prefork MPM) with mod_alexalink in a
// throw-away ServerRoot, and reads its logs. Every wait here is on an event
// (port open, log line, process exit), polled; never a fixed sleep.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, chmodSync, rmSync, readdirSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor, portOpen } from './wait.mjs';
import { watchErrorLog, forgetErrorLog } from './errorlog.mjs';

export { freePort, waitFor, portOpen };
export { expectLog, settleErrorLog, checkErrorLog, alx, shortLived, tagCount } from './errorlog.mjs';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const APACHE = process.env.ALX_APACHE || '/usr/sbin/apache2';
export const MODDIR = process.env.ALX_MODDIR || '/usr/lib/apache2/modules';
export const MODULE = process.env.ALX_MODULE || path.join(REPO, 'build', '.libs', 'mod_alexalink.so');
// ALX_NO_MODULE=1: run without the module (harness development, the
// "module not loaded" reference server). Tests that need it skip.
export const NO_MODULE = !!process.env.ALX_NO_MODULE;
export const MPM = process.env.ALX_MPM || 'event';
// ALX_CACHE picks the store of every server whose config does not set
// AlexaLinkCache itself: shmcb (unset: the module's default), dbm
// (mod_socache_dbm, `dbm:<dir>/alexalink-grace.db`), redis or memcache (a
// real redis-server / memcached on a loopback port, see leaseStore).
export const CACHE = process.env.ALX_CACHE || 'shmcb';
const CACHES = {
  shmcb: null,
  dbm: { module: 'socache_dbm_module', file: 'mod_socache_dbm.so' },
  redis: { module: 'socache_redis_module', file: 'mod_socache_redis.so' },
  memcache: { module: 'socache_memcache_module', file: 'mod_socache_memcache.so' },
};
if (!(CACHE in CACHES)) throw new Error(`ALX_CACHE=${CACHE}: use one of ${Object.keys(CACHES).join(', ')}`);
// The default store lives outside Apache (redis, memcache): tests that read
// a shmcb segment or a dbm file skip or read the server instead.
export const SHARED_CACHE = CACHE === 'redis' || CACHE === 'memcache';

// Whom the children run as: a test started as root gets `User nobody`, so
// a file they must write (a sqlite database, t/lib/sql.mjs) is made theirs.
const AS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;
export const CHILD_USER = AS_ROOT ? 'nobody' : null;
export const CHILD_GROUP = AS_ROOT ? 'nogroup' : null;

// Modules compiled into the apache2 binary (`apache2 -l`): Debian's has
// mod_watchdog built in, so it must not be loaded again.
let builtIn = null;
export function builtInModules() {
  if (!builtIn) {
    const r = spawnSync(APACHE, ['-l'], { encoding: 'latin1', timeout: 10000 });
    builtIn = new Set([...`${r.stdout || ''}`.matchAll(/^\s*(mod_\w+)\.c$/gm)].map((m) => m[1]));
  }
  return builtIn;
}

// The server-config lines for mod_dbd on a store from t/lib/sql.mjs
// ({ kind: 'sqlite3' | 'pgsql', dbdParams }), with mod_watchdog, which
// keep-alive runs on: DBDPersist On and DBDMin 1 (mod_dbd's defaults made
// explicit) open a connection in every child's child_init, so a wrong
// driver or parameter is logged at start (AH00629 "Can't connect"), not at
// the first query. Options: persist, min, keep, max, exptime, prepare:
// [[sql, label]] (DBDPrepareSQL).
export function dbdConf(store, { persist = true, min = 1, keep = 2, max = 10, exptime = 300, prepare = [] } = {}) {
  const load = (name, mod) => (builtInModules().has(mod) ? `# ${mod} is compiled into ${APACHE}` : `LoadModule ${name} ${path.join(MODDIR, `${mod}.so`)}`);
  return `${load('watchdog_module', 'mod_watchdog')}
${load('dbd_module', 'mod_dbd')}
DBDriver ${store.kind}
DBDParams "${store.dbdParams}"
DBDPersist ${persist ? 'On' : 'Off'}
DBDMin ${min}
DBDKeep ${keep}
DBDMax ${max}
DBDExptime ${exptime}
${prepare.map(([sql, label]) => `DBDPrepareSQL "${sql}" ${label}`).join('\n')}
`;
}

// The lines that make a leased or test-started redis/memcached ({ kind,
// cacheArg } from stores.mjs) the module's store.
export function storeConf(store) {
  const { module, file } = CACHES[store.kind];
  return `LoadModule ${module} ${path.join(MODDIR, file)}\nAlexaLinkCache ${store.cacheArg}\n`;
}

// Whether a server built from this config text gets the ALX_CACHE store.
function wantsDefaultStore(text, withModule) {
  return CACHE !== 'shmcb' && withModule && !/^\s*AlexaLinkCache\b/im.test(text);
}

// store: the leased redis/memcached ({ cacheArg }); configTest has none and
// names an address that `apache2 -t` never connects to.
function cacheConf(dir, text, withModule, store) {
  if (!wantsDefaultStore(text, withModule)) return '';
  const { module, file } = CACHES[CACHE];
  const load = new RegExp(`^\\s*LoadModule\\s+${module}\\b`, 'im').test(text) ? '' : `LoadModule ${module} ${path.join(MODDIR, file)}\n`;
  const arg = CACHE === 'dbm' ? `dbm:${dir}/alexalink-grace.db` : store ? store.cacheArg : `${CACHE}:127.0.0.1:1`;
  return `${load}AlexaLinkCache ${arg}`;
}

// redis-server / memcached processes for ALX_CACHE=redis|memcache: started
// on first use, one per server running at a time (the module's namespace,
// "alexalink", is fixed, so two servers on one instance would share records
// as a fleet does), flushed when leased (a new server starts with an empty
// store, as with shmcb), killed when the test process exits (stores.mjs).
const idleStores = [];
async function leaseStore() {
  let store = idleStores.pop();
  if (!store) {
    const { startRedis, startMemcached } = await import('./stores.mjs');
    store = await (CACHE === 'redis' ? startRedis() : startMemcached());
    store.unref();
  }
  try {
    await store.flush();
  } catch (e) {
    await store.stop();
    throw e;
  }
  return store;
}
function releaseStore(store) {
  if (store && !store.exited() && !idleStores.includes(store)) idleStores.push(store);
}

export function moduleMissingReason() {
  if (NO_MODULE) return 'ALX_NO_MODULE is set';
  return false; // a missing .so is a failure, not a skip: apache -t says so
}

function readOr(file) {
  try { return readFileSync(file, 'latin1'); } catch { return ''; }
}

// The access log: one tab-separated line per request.
export const ACCESS_FIELDS = ['grant', 'shapeIn', 'shapeOut', 'verdict', 'ms', 'refresh', 'status', 'uri', 'port'];
const LOG_FORMAT = ACCESS_FIELDS.map((f) => ({
  grant: '%{alexalink-grant}n', shapeIn: '%{alexalink-shape-in}n', shapeOut: '%{alexalink-shape-out}n',
  verdict: '%{alexalink-verdict}n', ms: '%{alexalink-ms}n', refresh: '%{alexalink-refresh}n',
  status: '%s', uri: '%U', port: '%{remote}p',
}[f])).join('\\t');

// mpmTuning: { prefork: 'StartServers 60\n...', event: '...' } replaces the
// default process/thread lines of that MPM (the LoadModule line stays).
export function buildConfig({ dir, port, mpm = MPM, locations = '', serverConf = '', withModule = !NO_MODULE, mpmTuning = null, module = MODULE, mutex = `Mutex default:${dir}`, store = null }) {
  const lm = (name, file) => `LoadModule ${name} ${path.join(MODDIR, file)}`;
  const tuned = mpmTuning && mpmTuning[mpm];
  const mpmConf = tuned ? `${lm(`mpm_${mpm}_module`, `mod_mpm_${mpm}.so`)}\n${tuned}` : mpm === 'prefork'
    ? `${lm('mpm_prefork_module', 'mod_mpm_prefork.so')}
StartServers 2
MinSpareServers 2
MaxSpareServers 4
MaxRequestWorkers 16`
    : mpm === 'worker'
      ? `${lm('mpm_worker_module', 'mod_mpm_worker.so')}
StartServers 2
ThreadsPerChild 8
MaxRequestWorkers 32`
      : `${lm('mpm_event_module', 'mod_mpm_event.so')}
StartServers 2
ServerLimit 4
ThreadsPerChild 8
MinSpareThreads 4
MaxSpareThreads 24
MaxRequestWorkers 32`;
  return `# written by t/lib/apache.mjs
ServerRoot "${dir}"
DefaultRuntimeDir "${dir}"
PidFile "${dir}/httpd.pid"
${mutex}
GracefulShutdownTimeout 10
${process.env.ALX_CORE_DIR ? `CoreDumpDirectory "${process.env.ALX_CORE_DIR}"` : ''}
Listen 127.0.0.1:${port}
ServerName 127.0.0.1:${port}
${mpmConf}
${lm('authz_core_module', 'mod_authz_core.so')}
${lm('proxy_module', 'mod_proxy.so')}
${lm('proxy_http_module', 'mod_proxy_http.so')}
${lm('headers_module', 'mod_headers.so')}
${lm('env_module', 'mod_env.so')}
${lm('socache_shmcb_module', 'mod_socache_shmcb.so')}
${withModule ? `LoadModule alexalink_module ${module}` : '# alexalink_module not loaded'}
${CHILD_USER ? `User ${CHILD_USER}\nGroup ${CHILD_GROUP}` : ''}
ErrorLog "${dir}/error.log"
LogLevel warn${withModule ? ' alexalink:info' : ''}
LogFormat "${LOG_FORMAT}" alexalink
CustomLog "${dir}/access.log" alexalink
KeepAliveTimeout 5
Timeout 30
# A fresh upstream connection per request, so a node fixture's keep-alive
# handling cannot stall a test (see README, Development).
SetEnv proxy-nokeepalive 1
${cacheConf(dir, `${serverConf}\n${locations}`, withModule, store)}
${serverConf}
${locations}
`;
}

function makeDir() {
  const dir = mkdtempSync(path.join(tmpdir(), 'alx-httpd-'));
  chmodSync(dir, 0o755); // children run as nobody
  return dir;
}

function apacheEnv(dir) {
  const env = { ...process.env, APACHE_RUN_DIR: dir, APACHE_LOCK_DIR: dir, APACHE_LOG_DIR: dir, APACHE_PID_FILE: `${dir}/httpd.pid` };
  if (process.env.ALX_PRELOAD) {
    env.LD_PRELOAD = process.env.ALX_PRELOAD;
    env.ASAN_OPTIONS = 'detect_leaks=0:abort_on_error=1';
  }
  return env;
}

// apache2 -t on a config built from the same template; { code, output }.
export function configTest(locations, { serverConf = '', mpm = MPM, withModule = !NO_MODULE } = {}) {
  const dir = makeDir();
  try {
    const conf = path.join(dir, 'httpd.conf');
    writeFileSync(conf, buildConfig({ dir, port: 1, mpm, locations, serverConf, withModule }));
    const r = spawnSync(APACHE, ['-t', '-f', conf], { env: apacheEnv(dir), encoding: 'latin1', timeout: 30000 });
    return { code: r.status, output: `${r.stdout || ''}${r.stderr || ''}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Servers still running when the test process exits (a failed before(),
// an interrupted run) are killed, so none outlives its test file.
const running = new Set();
process.on('exit', () => {
  for (const c of running) { try { process.kill(-c.pid, 'SIGKILL'); } catch { /* gone */ } }
});

export async function startApache(opts = {}) {
  let lastErr;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(opts);
    } catch (e) {
      lastErr = e;
      if (!e.portRace) throw e; // only a lost race for the port is retried
    }
  }
  throw lastErr;
}

async function startOnce({ mpm = MPM, locations = '', serverConf = '', withModule = !NO_MODULE, mpmTuning = null, module = MODULE, mutex } = {}) {
  const dir = makeDir();
  const port = await freePort();
  const conf = path.join(dir, 'httpd.conf');
  const resolved = typeof locations === 'function' ? locations({ port }) : locations;
  const resolvedServer = typeof serverConf === 'function' ? serverConf({ port, dir }) : serverConf;
  const store = SHARED_CACHE && wantsDefaultStore(`${resolvedServer}\n${resolved}`, withModule) ? await leaseStore() : null;
  writeFileSync(conf, buildConfig({ dir, port, mpm, locations: resolved, serverConf: resolvedServer, withModule, mpmTuning, module, store, ...(mutex === undefined ? {} : { mutex }) }));
  const errorFile = path.join(dir, 'error.log');
  const accessFile = path.join(dir, 'access.log');
  let output = '';
  // detached: its own process group, because prefork signals its whole
  // group at shutdown and would take the test runner with it
  const child = spawn(APACHE, ['-f', conf, '-DFOREGROUND'], { env: apacheEnv(dir), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  running.add(child);
  child.stdout.on('data', (d) => { output += d.toString('latin1'); });
  child.stderr.on('data', (d) => { output += d.toString('latin1'); });
  let exited = null;
  const exitPromise = new Promise((resolve) => child.on('exit', (code, signal) => { exited = { code, signal }; running.delete(child); resolve(exited); }));
  try {
    await waitFor(async () => {
      if (exited) {
        const e = new Error(`apache2 exited during start (${JSON.stringify(exited)}):\n${output}\n${readOr(errorFile)}`);
        e.portRace = /Address already in use/.test(output + readOr(errorFile));
        throw e;
      }
      return /resuming normal operations/.test(readOr(errorFile)) && await portOpen(port);
    }, { timeoutMs: 20000, what: `apache2 on port ${port} (${dir})` });
  } catch (e) {
    if (!exited) { child.kill('SIGKILL'); await exitPromise; }
    releaseStore(store);
    throw e;
  }
  const apache = {
    port,
    // the redis-server / memcached this server got from ALX_CACHE (null
    // when its store is its own: shmcb, dbm, or its config's AlexaLinkCache)
    store,
    url: `http://127.0.0.1:${port}`,
    dir,
    conf,
    output: () => output,
    errorLog: () => readOr(errorFile),
    accessLog: () => readOr(accessFile),
    exited: () => exited,
    // the parent's pid (the process spawned in the foreground)
    pid: child.pid,
    // pids of the children serving requests (from the error log's [pid N])
    // are not tracked; childPids() reads them from /proc
    childPids: () => childPidsOf(child.pid),
    // graceful restart (SIGUSR1 to the parent); resolves when the new
    // generation logged "resuming normal operations" again
    // and, unless keepOld, when every child of the old generation is gone
    // (an old child still accepting would write to the old generation's store)
    async graceful({ keepOld = false } = {}) {
      const m = apache.mark();
      const old = childPidsOf(child.pid);
      process.kill(child.pid, 'SIGUSR1');
      await waitFor(() => {
        if (exited) throw new Error(`apache2 exited during a graceful restart: ${JSON.stringify(exited)}`);
        return /resuming normal operations/.test(apache.errorLogSince(m));
      }, { timeoutMs: 20000, what: 'apache2 graceful restart' });
      if (!keepOld) {
        const alive = new Set(childPidsOf(child.pid));
        await waitFor(() => { const now = new Set(childPidsOf(child.pid)); return old.every((p) => !now.has(p)); }, { timeoutMs: 20000, what: `the old generation's children (${old.filter((p) => alive.has(p)).length} left) to exit` });
      }
      return m;
    },
    // A mark is a byte offset: errorLogSince(mark) is what was logged after it.
    mark: () => ({ error: readOr(errorFile).length, access: readOr(accessFile).length }),
    errorLogSince: (m) => readOr(errorFile).slice(m ? m.error : 0),
    accessLogSince: (m) => readOr(accessFile).slice(m ? m.access : 0),
    async waitErrorLog(re, m, what) {
      return waitFor(() => {
        const t = apache.errorLogSince(m);
        if (re.test(t)) return t;
        const crash = /^.*exit signal.*$/m.exec(t);
        if (crash) throw new Error(`a child crashed while waiting for ${what || re}: ${crash[0]}`);
        return false;
      }, { timeoutMs: 10000, what: what || `error log line ${re}` });
    },
    async waitAccessLog(re, m, what) {
      return waitFor(() => {
        const t = apache.accessLogSince(m);
        return re.test(t) && t;
      }, { timeoutMs: 10000, what: what || `access log line ${re}` });
    },
    async stop({ keep = !!process.env.ALX_KEEP } = {}) {
      if (!exited) {
        child.kill('SIGWINCH');   // graceful-stop: an immediate stop of the event MPM can crash a child in httpd's own shutdown (see README)
        const timer = setTimeout(() => { if (!exited) child.kill('SIGKILL'); }, 15000);
        await exitPromise;
        clearTimeout(timer);
      }
      releaseStore(store);
      forgetErrorLog(apache);
      const logs = { errorLog: readOr(errorFile), accessLog: readOr(accessFile), output };
      if (!keep) rmSync(dir, { recursive: true, force: true });
      return logs;
    },
  };
  watchErrorLog(apache);
  return apache;
}

// ALX0100 lines parsed into their fields.
export function exchangeLines(text) {
  const out = [];
  for (const line of text.split('\n')) {
    const m = /\[(?:alexalink:)?(\w+)\].*?ALX0100: token exchange (.*)$/.exec(line);
    if (!m) continue;
    const port = /\[client [^\]]*:(\d+)\]/.exec(line);
    const fields = { level: m[1], raw: line, port: port ? Number(port[1]) : null };
    for (const kv of m[2].matchAll(/(\w+)=(\S*)/g)) fields[kv[1]] = kv[2];
    out.push(fields);
  }
  return out;
}

// Access-log lines split into the LogFormat's fields.
export function accessLines(text) {
  return text.split('\n').filter(Boolean).map((l) => {
    const parts = l.split('\t');
    const o = {};
    ACCESS_FIELDS.forEach((f, i) => { o[f] = parts[i]; });
    return o;
  });
}

// Processes whose parent is ppid (Linux /proc).
export function childPidsOf(ppid) {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid) out.push(Number(d));
    } catch { /* gone */ }
  }
  return out;
}

export function moduleFileExists() {
  return existsSync(MODULE);
}

// The process among pids that holds the TCP connection whose local port on
// 127.0.0.1 is `port` (Linux /proc: the socket's inode, then the fd that
// links to it). null when none does.
export function pidHoldingPort(port, pids) {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try { text = readFileSync(table, 'latin1'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && f[1].endsWith(`:${hexPort}`)) inodes.add(f[9]);
    }
  }
  for (const pid of pids) {
    let fds = [];
    try { fds = readdirSync(`/proc/${pid}/fd`); } catch { continue; }
    for (const fd of fds) {
      let link = '';
      try { link = readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { continue; }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m && inodes.has(m[1])) return pid;
    }
  }
  return null;
}

// The speed benchmark (README "Benchmark"): pairs of the same request through
// the same machine, alternated A B A B, so that a noisy neighbour hits both.
//   node bench/bench.mjs wrk [seconds per round] [rounds]
//   node bench/bench.mjs instructions [requests per round] [rounds]
//   node bench/bench.mjs soak [requests] [seconds per chunk]
// wrk mode: requests/s and p50/p99 latency with wrk against a normal
// Apache (event MPM). instructions mode: instructions per request counted
// by callgrind on a single-process Apache (apache2 -X), stable where wall
// clock figures on a shared machine are not.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync, chmodSync, readdirSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const APACHE = process.env.ALX_APACHE || '/usr/sbin/apache2';
const MODDIR = process.env.ALX_MODDIR || '/usr/lib/apache2/modules';
const MODULE = process.env.ALX_MODULE || path.join(ROOT, 'build', '.libs', 'mod_alexalink.so');
const CLIENT = 'bench-client';
const SECRET = 'bench-secret';

const mode = process.argv[2] || 'wrk';
const asRoot = process.getuid && process.getuid() === 0;
const work = mkdtempSync(path.join(tmpdir(), 'alexalink-bench-'));
chmodSync(work, 0o755);
const children = [];

function cleanup() {
  for (const c of children) { try { process.kill(-c.pid, 'SIGKILL'); } catch { /* gone */ } }
  rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitFor(what, cond, ms = 60000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`bench: timed out waiting for ${what}`);
    await sleep(25);
  }
}
const read = (f) => (existsSync(f) ? readFileSync(f, 'latin1') : '');

function start(cmd, args, opts = {}) {
  const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...opts });
  let out = '';
  c.stdout.on('data', (d) => { out += d; });
  c.stderr.on('data', (d) => { out += d; });
  c.output = () => out;
  children.push(c);
  return c;
}

async function freePort() {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
    s.on('error', reject);
  });
}

// Two upstreams: form-encoded answers (rewritten to JSON, TTL raised: the
// slowest path) and compliant JSON ones (nothing to fix).
async function startUpstream() {
  const bin = path.join(work, 'upstream');
  execFileSync('cc', ['-O2', '-pthread', '-o', bin, path.join(ROOT, 'bench', 'upstream.c')]);
  const ports = [];
  for (const kind of ['form', 'json']) {
    const portFile = path.join(work, `upstream-${kind}.port`);
    start(bin, [portFile, kind]);
    ports.push(Number(await waitFor('the upstream', () => read(portFile).trim())));
  }
  return { form: ports[0], json: ports[1] };
}

// One Apache: /plain/ is a plain ProxyPass; /alexa/ and /replay/ add
// AlexaLink token (in the one with the module loaded).
function apacheConf(name, port, upstream, { module, single }) {
  const dir = path.join(work, name);
  spawnSync('mkdir', ['-p', dir]);
  chmodSync(dir, 0o777); // children (and callgrind's dumps) run as nobody
  const lm = (m) => `LoadModule ${m}_module ${MODDIR}/mod_${m}.so`;
  const mpm = single
    ? `${lm('mpm_prefork')}\n`
    : `${lm('mpm_event')}\nStartServers 2\nServerLimit 2\nThreadsPerChild 32\nMinSpareThreads 8\nMaxSpareThreads 64\nMaxRequestWorkers 64\n`;
  const target = `http://127.0.0.1:${upstream.form}/token`;
  const json = `http://127.0.0.1:${upstream.json}/token`;
  const conf = `ServerRoot "${dir}"
DefaultRuntimeDir "${dir}"
PidFile "${dir}/httpd.pid"
# as Debian's apache2.conf: every mutex a file lock unless named
Mutex file:${dir} default
Listen 127.0.0.1:${port}
ServerName 127.0.0.1:${port}
${mpm}
${['authz_core', 'proxy', 'proxy_http', 'socache_shmcb'].map(lm).join('\n')}
${module ? `LoadModule alexalink_module ${MODULE}` : '# alexalink_module not loaded'}
${asRoot ? 'User nobody\nGroup nogroup' : ''}
ErrorLog "${dir}/error.log"
LogLevel warn
CustomLog "${dir}/access.log" common
KeepAlive On
MaxKeepAliveRequests 0
${module && process.env.BENCH_CACHE ? `AlexaLinkCache ${process.env.BENCH_CACHE}` : ''}
${module && process.env.BENCH_CONF ? process.env.BENCH_CONF : ''}
ProxyPass /plain/ ${target}
ProxyPass /alexa/ ${target}
ProxyPass /replay/ ${target}
ProxyPass /plain-json/ ${json}
ProxyPass /login/ ${target}
ProxyPass /login-plain/ ${target}
ProxyPass /alexa-json/ ${json}
# The same sections either way, so that only the module differs.
<Location /alexa/>
  Require all granted
  ${module ? 'AlexaLink token' : ''}
</Location>
<Location /alexa-json/>
  Require all granted
  ${module ? 'AlexaLink token' : ''}
</Location>
<Location /login/>
  Require all granted
  ${module ? 'AlexaLink authorize\n  AlexaLinkDomainList cdn.example.com' : ''}
</Location>
<Location /login-plain/>
  Require all granted
</Location>
<Location /replay/>
  Require all granted
  # Every repeat within the budget is a duplicate: answered from the
  # store without limit (the replay path, not the AlexaLinkGraceReplays count)
  ${module ? 'AlexaLink token\n  AlexaLinkTimeBudget 3600' : ''}
</Location>
`;
  const file = path.join(dir, 'httpd.conf');
  writeFileSync(file, conf);
  return { dir, file, port, url: `http://127.0.0.1:${port}` };
}

async function portOpen(port) {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

async function startApache(a, prefix = []) {
  const env = { ...process.env, APACHE_RUN_DIR: a.dir, APACHE_LOCK_DIR: a.dir, APACHE_LOG_DIR: a.dir };
  // BENCH_PRELOAD=libasan.so with ALX_MODULE=build-asan/...: a sanitizer
  // run, leaks reported when each child exits
  if (process.env.BENCH_PRELOAD) {
    env.LD_PRELOAD = process.env.BENCH_PRELOAD;
    env.ASAN_OPTIONS = `detect_leaks=1:abort_on_error=0:log_path=${a.dir}/asan`;
  }
  const args = [...prefix, APACHE, '-f', a.file, '-DFOREGROUND', ...(prefix.length ? ['-X'] : [])];
  a.proc = start(args[0], args.slice(1), { env, cwd: a.dir });
  await waitFor(`apache2 on ${a.port}`, async () => {
    if (a.proc.exitCode !== null) throw new Error(`apache2 exited: ${a.proc.output()}${read(path.join(a.dir, 'error.log'))}`);
    return portOpen(a.port);
  }, 120000);
  return a;
}

async function stopApache(a) {
  if (a.proc.exitCode !== null) return;
  const done = new Promise((r) => a.proc.on('exit', r));
  process.kill(a.proc.pid, 'SIGTERM');
  await done;
}

// The form bodies Alexa sends. Refresh tokens are unique per request and
// per side (tag names both: a token one pair rotated, presented again by
// the next pair, would be a replay); the replay pair repeats one on purpose.
const run = `${process.pid}-${Date.now()}`;
function body(grant, n, tag) {
  const auth = `&client_id=${CLIENT}&client_secret=${SECRET}`;
  if (grant === 'code') return `grant_type=authorization_code&code=bench-code-${tag}-${n}&redirect_uri=https%3A%2F%2Fpitangui.amazon.com%2Fapi%2Fskill%2Flink%2FMBENCH${auth}`;
  if (grant === 'refresh') return `grant_type=refresh_token&refresh_token=bench-refresh-${run}-${tag}-${n}${auth}`;
  return `grant_type=refresh_token&refresh_token=bench-replayed-${run}${auth}`;
}

// What Alexa's authorization URL carries (the state is made up).
const LOGIN_QUERY = 'response_type=code&client_id=alexa-skill&scope=profile&state=bench-state-0123456789&redirect_uri=https%3A%2F%2Fpitangui.amazon.com%2Fapi%2Fskill%2Flink%2FMBENCH';

// pair: [name, A, B]; each side { apache, path, grant } (grant 'page': a GET).
function pairs(loaded, bare) {
  const side = (apache, p, grant, label) => ({ apache, path: p, grant, label });
  return [
    ['code exchange', side(loaded, '/alexa/', 'code', 'AlexaLink token'), side(loaded, '/plain/', 'code', 'plain ProxyPass')],
    ['refresh exchange', side(loaded, '/alexa/', 'refresh', 'AlexaLink token'), side(loaded, '/plain/', 'refresh', 'plain ProxyPass')],
    ['code exchange, compliant JSON upstream', side(loaded, '/alexa-json/', 'code', 'AlexaLink token'), side(loaded, '/plain-json/', 'code', 'plain ProxyPass')],
    ['refresh exchange, compliant JSON upstream', side(loaded, '/alexa-json/', 'refresh', 'AlexaLink token'), side(loaded, '/plain-json/', 'refresh', 'plain ProxyPass')],
    ['grace replay', side(loaded, '/replay/', 'replay', 'answered from the store'), side(loaded, '/plain/', 'refresh', 'plain proxied refresh')],
    ['login page (GET, 7.8 KB of HTML, an Alexa flow)', side(loaded, `/login/authorize?${LOGIN_QUERY}`, 'page', 'AlexaLink authorize'), side(loaded, `/login-plain/authorize?${LOGIN_QUERY}`, 'page', 'plain ProxyPass')],
    ['untouched location', side(loaded, '/plain/', 'code', 'module loaded'), side(bare, '/plain/', 'code', 'module not loaded')],
  ];
}

// ---- wrk ----

function luaScript(grant, tag) {
  const file = path.join(work, `${grant}-${tag}.lua`);
  if (grant === 'page') {
    writeFileSync(file, 'wrk.method = "GET"\n');
    return file;
  }
  const auth = `&client_id=${CLIENT}&client_secret=${SECRET}`;
  const make = grant === 'code'
    ? `"grant_type=authorization_code&code=bench-code-${tag}-" .. n .. "&redirect_uri=https%3A%2F%2Fpitangui.amazon.com%2Fapi%2Fskill%2Flink%2FMBENCH${auth}"`
    : grant === 'refresh'
      ? `"grant_type=refresh_token&refresh_token=bench-refresh-${run}-${tag}-" .. n .. "${auth}"`
      : `"grant_type=refresh_token&refresh_token=bench-replayed-${run}${auth}"`;
  writeFileSync(file, `wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, ${make})
end
`);
  return file;
}

const UNITS = { us: 1e-3, ms: 1, s: 1000 };
function parseWrk(out) {
  const rps = Number((/Requests\/sec:\s+([\d.]+)/.exec(out) || [])[1]);
  const lat = (q) => { const m = new RegExp(`^\\s+${q}%\\s+([\\d.]+)(us|ms|s)\\b`, 'm').exec(out); return m ? Number(m[1]) * UNITS[m[2]] : NaN; };
  const bad = (/Non-2xx or 3xx responses:\s+(\d+)/.exec(out) || [])[1];
  const errors = /Socket errors:.*/.exec(out);
  return { rps, p50: lat(50), p99: lat(99), bad: Number(bad || 0), errors: errors ? errors[0] : null };
}

function wrk(side, seconds, round, conns) {
  const tag = `${side.label.replace(/\W+/g, '')}${side.path.replace(/\W+/g, '')}${round}`;
  const script = luaScript(side.grant, tag);
  const r = spawnSync('wrk', ['-t1', `-c${conns}`, `-d${seconds}s`, '--latency', '-s', script, `${side.apache.url}${side.path}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr}`);
  const got = parseWrk(r.stdout);
  if (got.bad || got.errors) throw new Error(`bench: ${side.label} ${side.path}: ${got.bad} non-2xx answers ${got.errors || ''}`);
  return got;
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };

function machine() {
  const cpu = cpus();
  const v = spawnSync(APACHE, ['-v'], { encoding: 'utf8' }).stdout.split('\n')[0].replace(/^Server version:\s*/, '');
  const ssl = spawnSync('openssl', ['version'], { encoding: 'utf8' }).stdout.trim();
  return `${cpu.length} x ${cpu[0] ? cpu[0].model : 'cpu'}; ${v}; ${ssl}; node ${process.version}`;
}

// On its own connection, closed after: apache2 -X serves one at a time.
const warm = (a, side, n) => connection(side, n, 'warm');

async function runWrk() {
  const seconds = Number(process.argv[3] || 5);
  const rounds = Number(process.argv[4] || 3);
  const conns = Number(process.env.BENCH_CONNECTIONS || 8);
  const upstream = await startUpstream();
  const loaded = await startApache(apacheConf('loaded', await freePort(), upstream, { module: true }));
  const bare = await startApache(apacheConf('bare', await freePort(), upstream, { module: false }));
  console.log(`bench: machine: ${machine()}`);
  console.log(`bench: wrk -t1 -c${conns}, ${rounds} rounds of ${seconds} s per side, alternated A B A B; event MPM (2 children x 32 threads); upstream bench/upstream.c (form-encoded answers unless named JSON)`);
  for (const [name, a, b] of pairs(loaded, bare).filter((x) => !process.env.BENCH_ONLY || x[0].startsWith(process.env.BENCH_ONLY))) {
    await warm(a.apache, a, 20); await warm(b.apache, b, 20);
    const ra = [], rb = [];
    for (let i = 0; i < rounds; i++) {
      ra.push(wrk(a, seconds, i, conns));
      rb.push(wrk(b, seconds, i, conns));
    }
    const m = (rs, k) => median(rs.map((x) => x[k]));
    const fmt = (label, rs) => `${label.padEnd(24)} ${m(rs, 'rps').toFixed(0).padStart(7)} req/s  p50 ${m(rs, 'p50').toFixed(2)} ms  p99 ${m(rs, 'p99').toFixed(2)} ms`;
    console.log(`bench: ${name}`);
    console.log(`bench:   A ${fmt(a.label, ra)}`);
    console.log(`bench:   B ${fmt(b.label, rb)}`);
    console.log(`bench:   ratio A/B throughput ${(m(ra, 'rps') / m(rb, 'rps')).toFixed(3)}  (rounds A: ${ra.map((x) => x.rps.toFixed(0)).join(' ')}; B: ${rb.map((x) => x.rps.toFixed(0)).join(' ')})`);
  }
  await stopApache(loaded); await stopApache(bare);
  report(loaded); report(bare);
}

// ---- instructions (callgrind) ----

function post(a, p, data, agent) {
  return new Promise((resolve, reject) => {
    const page = data === null;
    const req = http.request({ host: '127.0.0.1', port: a.port, path: p, method: page ? 'GET' : 'POST', agent, headers: page ? { 'user-agent': 'bench' } : { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(data) } }, (res) => {
      let b = '';
      res.on('data', (d) => { b += d; });
      res.on('end', () => (res.statusCode === 200 ? resolve(b) : reject(new Error(`bench: ${p} answered ${res.statusCode}: ${b.slice(0, 200)}`))));
    });
    req.setTimeout(120000, () => req.destroy(new Error(`bench: ${p} timed out`)));
    req.on('error', reject);
    req.end(page ? undefined : data);
  });
}

// Callgrind counts only inside ap_process_connection and dumps when it
// returns: each dump is exactly one client connection (no vgdb needed).
const dumps = (a) => readdirSync(a.dir).filter((f) => /^callgrind\.out\.\d+$/.test(f));

// n requests of side on one new connection; its instructions per request
// (only under callgrind) once the connection's dump is written.
async function connection(side, n, tag) {
  const a = side.apache;
  const before = new Set(dumps(a));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < n; i++) await post(a, side.path, side.grant === 'page' ? null : body(side.grant, i, `${tag}${side.path.replace(/\W+/g, '')}`), agent);
  agent.destroy();
  if (!a.callgrind) return null;
  const file = await waitFor('the connection\'s callgrind dump', () => {
    const f = dumps(a).find((x) => !before.has(x));
    return f && /^totals:/m.test(read(path.join(a.dir, f))) && path.join(a.dir, f);
  });
  const total = Number(/^totals:\s+(\d+)/m.exec(readFileSync(file, 'utf8'))[1]);
  if (process.env.BENCH_KEEP_DUMPS) writeFileSync(path.join(process.env.BENCH_KEEP_DUMPS, `${side.label.replace(/\W+/g, '_')}${side.path.replace(/\W+/g, '_')}${side.grant}-${tag}.callgrind`), readFileSync(file));
  rmSync(file);
  return total / n;
}

async function runInstructions() {
  const n = Number(process.argv[3] || 300);
  const rounds = Number(process.argv[4] || 3);
  const upstream = await startUpstream();
  const vg = ['valgrind', '--tool=callgrind', '--vgdb=no', '--collect-atstart=no', '--toggle-collect=ap_process_connection', '--dump-after=ap_process_connection', '--dump-instr=no', '--callgrind-out-file=callgrind.out'];
  const loaded = await startApache(apacheConf('loaded', await freePort(), upstream, { module: true, single: true }), vg);
  const bare = await startApache(apacheConf('bare', await freePort(), upstream, { module: false, single: true }), vg);
  loaded.callgrind = bare.callgrind = true;
  console.log(`bench: machine: ${machine()}`);
  console.log(`bench: instructions per request, valgrind --tool=callgrind on apache2 -X (prefork, one process), keep-alive client, ${rounds} rounds of ${n} requests per side alternated A B A B (median); upstream bench/upstream.c (form-encoded answers unless named JSON)`);
  for (const [name, a, b] of pairs(loaded, bare).filter((x) => !process.env.BENCH_ONLY || x[0].startsWith(process.env.BENCH_ONLY))) {
    await warm(a.apache, a, 30); await warm(b.apache, b, 30);
    const ia = [], ib = [];
    for (let i = 0; i < rounds; i++) {
      ia.push(await connection(a, n, `cg${i}`));
      ib.push(await connection(b, n, `cg${i}`));
    }
    const ma = median(ia), mb = median(ib);
    console.log(`bench: ${name}`);
    console.log(`bench:   A ${a.label.padEnd(24)} ${ma.toFixed(0).padStart(8)} instructions/request`);
    console.log(`bench:   B ${b.label.padEnd(24)} ${mb.toFixed(0).padStart(8)} instructions/request`);
    console.log(`bench:   ratio A/B ${(ma / mb).toFixed(3)}  (rounds A: ${ia.map((x) => x.toFixed(0)).join(' ')}; B: ${ib.map((x) => x.toFixed(0)).join(' ')})`);
  }
  await stopApache(loaded); await stopApache(bare);
  report(loaded); report(bare);
}

// Anything above notice in an error log is worth a look.
function report(a) {
  // the login page pair's plain HTTP, port and page findings are expected
  const lines = read(path.join(a.dir, 'error.log')).split('\n').filter((l) => /\[[\w:]*(warn|error|crit|alert|emerg)\]/.test(l) && !/ALX03(04|05|10|11):/.test(l));
  for (const l of lines.slice(0, 5)) console.log(`bench: ${path.basename(a.dir)} error log: ${l.slice(0, 300)}`);
}

// ---- soak ----

// A mix of every kind of request Alexa and a broken client send: code and
// refresh exchanges, replays, and bad input of several kinds.
function soakScript(tag) {
  const file = path.join(work, `soak-${tag}.lua`);
  const auth = `&client_id=${CLIENT}&client_secret=${SECRET}`;
  writeFileSync(file, `wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local n = 0
local bad = {
  "",
  "code=x${auth}",
  "grant_type=password&username=a&password=b${auth}",
  "grant_type=authorization_code&code=%zz%&client_id=${CLIENT}",
  "grant_type=refresh_token${auth}",
  "grant_type=authorization_code&code=a&code=b${auth}",
  "grant_type=refresh_token&refresh_token=" .. string.rep("r", 3000) .. "${auth}",
  string.char(0, 1, 2) .. "grant_type=" .. string.char(255, 254),
}
request = function()
  n = n + 1
  local k = n % 20
  local body
  if k < 7 then
    body = "grant_type=authorization_code&code=soak-${tag}-" .. n .. "&redirect_uri=https%3A%2F%2Flayla.amazon.com%2Fapi%2Fskill%2Flink%2FMSOAK${auth}"
  elseif k < 13 then
    body = "grant_type=refresh_token&refresh_token=soak-${run}-${tag}-" .. n .. "${auth}"
  elseif k < 16 then
    body = "grant_type=refresh_token&refresh_token=soak-replayed-${run}-" .. (n % 50) .. "${auth}"
  else
    body = bad[(n % #bad) + 1]
  end
  return wrk.format(nil, n % 40 == 0 and "/replay/token" or "/alexa/token", nil, body)
end
`);
  return file;
}

function childPids(ppid) {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const st = read(`/proc/${d}/stat`);
    const m = /\) \S (\d+)/.exec(st);
    if (m && Number(m[1]) === ppid) out.push(Number(d));
  }
  return out.sort((a, b) => a - b);
}
// RssAnon: a child's own heap and stacks. VmRSS also counts the shared
// memory (the grace store's segment) as its pages are first touched.
const statusKiB = (pid, field) => Number((new RegExp(`${field}:\\s+(\\d+)`).exec(read(`/proc/${pid}/status`)) || [0, 0])[1]);
const rssKiB = (pid) => statusKiB(pid, 'RssAnon');

async function runSoak() {
  const total = Number(process.argv[3] || 300000);
  const seconds = Number(process.argv[4] || 10);
  const upstream = await startUpstream();
  const a = await startApache(apacheConf('soak', await freePort(), upstream, { module: true }));
  console.log(`bench: machine: ${machine()}`);
  console.log(`bench: soak: ${total} mixed requests (35% code, 30% refresh, 15% replays, 20% bad input), wrk -t1 -c16 in ${seconds} s chunks; event MPM, 2 children x 32 threads, never recycled`);
  let done = 0, chunk = 0, first = null;
  const pids = childPids(a.proc.pid);
  while (done < total) {
    const r = spawnSync('wrk', ['-t1', '-c16', `-d${seconds}s`, '-s', soakScript(`c${chunk}`), `${a.url}/alexa/token`], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr}`);
    const n = Number((/(\d+) requests in/.exec(r.stdout) || [0, 0])[1]);
    const errors = /Socket errors:.*/.exec(r.stdout);
    if (errors && !/connect 0, read 0, write 0, timeout 0/.test(errors[0])) throw new Error(`bench: soak: ${errors[0]}`);
    done += n;
    chunk++;
    const now = childPids(a.proc.pid);
    if (now.join() !== pids.join()) throw new Error(`bench: soak: the children changed (${pids} -> ${now}): one died or was replaced`);
    const rss = pids.map(rssKiB);
    if (!first) first = rss;
    console.log(`bench: soak: ${String(done).padStart(8)} requests  RssAnon KiB per child: ${rss.map((x) => String(x).padStart(7)).join(' ')}  (VmRSS ${pids.map((p) => statusKiB(p, 'VmRSS')).join(' ')})`);
  }
  const last = pids.map(rssKiB);
  console.log(`bench: soak: RssAnon growth after the first chunk (warm-up): ${pids.map((p, i) => `${last[i] - first[i]} KiB`).join(', ')}`);
  await stopApache(a);
  const crashes = read(path.join(a.dir, 'error.log')).split('\n').filter((l) => /exit signal|AddressSanitizer|LeakSanitizer|runtime error/.test(l));
  if (crashes.length) throw new Error(`bench: soak: ${crashes[0]}`);
  if (process.env.BENCH_PRELOAD) {
    const reports = readdirSync(a.dir).filter((f) => /^asan\./.test(f)).map((f) => read(path.join(a.dir, f)));
    const ours = reports.filter((t) => /alx_|alexalink/.test(t));
    console.log(`bench: soak: sanitizer reports: ${reports.length} (naming the module: ${ours.length})`);
    for (const t of reports.slice(0, 2)) console.log(t.split('\n').slice(0, 30).join('\n'));
  }
  report(a);
}

const modes = { wrk: runWrk, instructions: runInstructions, soak: runSoak };
if (!modes[mode]) { console.error('usage: node bench/bench.mjs wrk|instructions [n] [rounds]'); process.exit(2); }
modes[mode]().then(() => process.exit(0), (e) => { console.error(e.stack || String(e)); process.exit(1); });

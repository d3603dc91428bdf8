// Real redis-server and memcached for the grace-store tests: each started on
// a free loopback port, waited on until it answers (PING / version), stopped
// by its own pid; and dumps of everything they hold (binary-safe), so a test
// can search the raw bytes for tokens.
import { spawn } from 'node:child_process';
import { openSync, readSync, closeSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { freePort, waitFor } from './wait.mjs';

export const REDIS = process.env.ALX_REDIS || 'redis-server';
export const MEMCACHED = process.env.ALX_MEMCACHED || 'memcached';

const running = new Set();
process.on('exit', () => {
  for (const c of running) { try { c.kill('SIGKILL'); } catch { /* gone */ } }
});

// One request/response exchange on a fresh connection: writes `data`,
// collects bytes until done(buf) is true (or the peer closes).
function exchange(port, data, done, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    const s = net.connect({ port, host: '127.0.0.1' });
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`no complete answer from port ${port}`)); }, timeoutMs);
    const finish = (buf) => { clearTimeout(timer); s.destroy(); resolve(buf); };
    s.on('connect', () => s.write(data));
    s.on('data', (c) => {
      chunks.push(c);
      const buf = Buffer.concat(chunks);
      if (done(buf)) finish(buf);
    });
    s.on('error', (e) => { clearTimeout(timer); reject(e); });
    s.on('close', () => finish(Buffer.concat(chunks)));
  });
}

// ---- RESP (redis) ----

function respCommand(args) {
  const parts = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

// Parses one RESP value at offset; returns { value, end } or null when incomplete.
function respParse(buf, off = 0) {
  if (off >= buf.length) return null;
  const nl = buf.indexOf('\r\n', off);
  if (nl < 0) return null;
  const type = String.fromCharCode(buf[off]);
  const line = buf.subarray(off + 1, nl).toString('latin1');
  if (type === '+') return { value: line, end: nl + 2 };
  if (type === '-') return { value: new Error(line), end: nl + 2 };
  if (type === ':') return { value: Number(line), end: nl + 2 };
  if (type === '$') {
    const n = Number(line);
    if (n < 0) return { value: null, end: nl + 2 };
    if (buf.length < nl + 2 + n + 2) return null;
    return { value: buf.subarray(nl + 2, nl + 2 + n), end: nl + 2 + n + 2 };
  }
  if (type === '*') {
    const n = Number(line);
    const arr = [];
    let p = nl + 2;
    for (let i = 0; i < n; i++) {
      const v = respParse(buf, p);
      if (!v) return null;
      arr.push(v.value);
      p = v.end;
    }
    return { value: arr, end: p };
  }
  throw new Error(`unexpected RESP type ${type}`);
}

export async function redisCommand(port, ...args) {
  const buf = await exchange(port, respCommand(args), (b) => !!respParse(b));
  const v = respParse(buf);
  if (!v) throw new Error('incomplete redis answer');
  if (v.value instanceof Error) throw v.value;
  return v.value;
}

// ---- processes ----

function track(child, what) {
  let out = '';
  let exited = null;
  running.add(child);
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const exitP = new Promise((r) => child.on('exit', (code, signal) => { exited = { code, signal }; running.delete(child); r(exited); }));
  return {
    output: () => out,
    exited: () => exited,
    // no longer keeps the test process alive (it is still killed at exit)
    unref() { child.unref(); child.stdout.unref(); child.stderr.unref(); },
    async stop() {
      if (exited) return exited;
      child.kill('SIGTERM');
      const t = setTimeout(() => { if (!exited) child.kill('SIGKILL'); }, 5000);
      const e = await exitP;
      clearTimeout(t);
      return e;
    },
    what,
  };
}

// Starts `command` with args(port) on a free port until ready(port) says it
// answers; a lost race for the port (raceRe in its output) is retried.
async function startOnFreePort(command, args, ready, raceRe) {
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn(command, args(port), { stdio: ['ignore', 'pipe', 'pipe'] });
    const t = track(child, command);
    try {
      await waitFor(async () => {
        if (t.exited()) throw Object.assign(new Error(`${command} exited: ${t.output()}`), { race: raceRe.test(t.output()) });
        try { return await ready(port); } catch { return false; }
      }, { what: `${command} on ${port}` });
    } catch (e) {
      await t.stop();
      if (e.race) continue;
      throw e;
    }
    return { port, child, t };
  }
  throw new Error(`could not start ${command}`);
}

export async function startRedis() {
  const { port, child, t } = await startOnFreePort(REDIS,
    (p) => ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--daemonize', 'no', '--loglevel', 'warning'],
    async (p) => (await redisCommand(p, 'PING')) === 'PONG', /Address already in use/);
  return {
    kind: 'redis',
    port,
    pid: child.pid,
    cacheArg: `redis:127.0.0.1:${port}`,
    command: (...a) => redisCommand(port, ...a),
    stop: t.stop,
    exited: t.exited,
    unref: t.unref,
    // every key and its value, binary-safe: [{ key: Buffer, value: Buffer }]
    async dump() {
      const out = [];
      let cursor = '0';
      do {
        const [next, keys] = await redisCommand(port, 'SCAN', cursor, 'COUNT', 1000);
        cursor = next.toString();
        for (const key of keys) out.push({ key, value: await redisCommand(port, 'GET', key) });
      } while (cursor !== '0');
      return out;
    },
    async flush() { await redisCommand(port, 'FLUSHALL'); },
  };
}

function mcDone(b) {
  const s = b.toString('latin1');
  return /(^|\n)(END|ERROR|OK|DELETED|NOT_FOUND|STORED)\r\n$/.test(s) || /^VERSION .*\r\n$/.test(s) || /^(CLIENT_|SERVER_)ERROR.*\r\n$/.test(s);
}

export async function memcachedCommand(port, line) {
  return exchange(port, Buffer.from(`${line}\r\n`), mcDone);
}

// `get key`: complete when the announced byte count and END have arrived
// (the value is binary and may hold anything).
function mcGetDone(b) {
  if (b.toString('latin1').startsWith('END\r\n')) return true;
  const head = b.indexOf('\r\n');
  if (head < 0) return false;
  const m = /^VALUE \S+ \d+ (\d+)/.exec(b.subarray(0, head).toString('latin1'));
  if (!m) return /ERROR/.test(b.subarray(0, head).toString('latin1'));
  return b.length >= head + 2 + Number(m[1]) + 2 + 5;
}

// memoryMb: memcached's -m (2 is its least with the default item size).
export async function startMemcached({ memoryMb = 64 } = {}) {
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const { port, child, t } = await startOnFreePort(MEMCACHED,
    (p) => ['-l', '127.0.0.1', '-p', String(p), '-U', '0', '-m', String(memoryMb), ...(asRoot ? ['-u', 'nobody'] : [])],
    async (p) => /^VERSION /.test((await memcachedCommand(p, 'version')).toString('latin1')), /Address already in use|bind/);
  return {
    kind: 'memcache',
    port,
    pid: child.pid,
    cacheArg: `memcache:127.0.0.1:${port}`,
    stats: async () => Object.fromEntries([...(await memcachedCommand(port, 'stats')).toString('latin1').matchAll(/^STAT (\S+) (\S+)/gm)].map((m) => [m[1], m[2]])),
    stop: t.stop,
    exited: t.exited,
    unref: t.unref,
    // every key (lru_crawler metadump) and its value: [{ key: string, value: Buffer }]
    async dump() {
      const meta = (await memcachedCommand(port, 'lru_crawler metadump all')).toString('latin1');
      const keys = [...meta.matchAll(/^key=(\S+)/gm)].map((m) => decodeURIComponent(m[1]));
      const out = [];
      for (const key of keys) {
        const buf = await exchange(port, Buffer.from(`get ${key}\r\n`), mcGetDone);
        const head = buf.indexOf('\r\n');
        const m = /^VALUE \S+ \d+ (\d+)/.exec(buf.subarray(0, head).toString('latin1'));
        if (!m) continue; // expired or evicted since the crawl
        out.push({ key, value: buf.subarray(head + 2, head + 2 + Number(m[1])) });
      }
      return out;
    },
    async flush() { await memcachedCommand(port, 'flush_all'); },
  };
}

// The stores that are servers of their own, for the tests that run once on each.
export const SERVER_STORES = [
  { name: 'redis', start: startRedis },
  { name: 'memcached', start: startMemcached },
];

// ---- shared memory of a running process (root: /proc/<pid>/mem) ----

// The shared mappings (perms with 's') of pid, each read whole:
// [{ start, size, name, data: Buffer }]. minSize skips small ones.
export function sharedMappings(pid, { minSize = 0, name = null } = {}) {
  const maps = readFileSync(`/proc/${pid}/maps`, 'latin1').split('\n').filter(Boolean);
  const out = [];
  const fd = openSync(`/proc/${pid}/mem`, 'r');
  try {
    for (const line of maps) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
      if (!m || !m[3].includes('s')) continue;
      if (name && !name.test(m[4])) continue;
      const start = BigInt(`0x${m[1]}`);
      const size = Number(BigInt(`0x${m[2]}`) - start);
      if (size < minSize || !m[3].includes('r')) continue;
      const data = Buffer.alloc(size);
      let got = 0;
      while (got < size) {
        const n = readSync(fd, data, got, size - got, start + BigInt(got));
        if (n <= 0) break;
        got += n;
      }
      out.push({ start, size, name: m[4], data: data.subarray(0, got) });
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

// How a token could show up in a dump: raw, percent-encoded, base64 and
// base64url of it, and its first 20 characters.
export function tokenForms(value) {
  const forms = new Set([value, encodeURIComponent(value), new URLSearchParams([['', value]]).toString().slice(1)]);
  const b = Buffer.from(value);
  forms.add(b.toString('base64'));
  forms.add(b.toString('base64url'));
  forms.add(b.toString('hex'));
  if (value.length >= 32) forms.add(value.slice(0, 20));
  return [...forms].map((f) => Buffer.from(f));
}

// Labels of the tokens ({ value, label }) found in any buffer of bufs.
export function tokensIn(bufs, tokens) {
  const found = new Set();
  for (const { value, label } of tokens) {
    const forms = tokenForms(value);
    for (const buf of bufs) if (forms.some((f) => buf.includes(f))) found.add(label);
  }
  return [...found];
}

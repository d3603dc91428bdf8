// Shared pieces of the status-page tests (t/e2e/status*.test.mjs): the
// status and mod_status locations, fetching every view, the python checkers
// of t/tools (html.parser, prometheus_client), and a strict check of ?json
// against the schema documented in README.md / lib/alx_status.c.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { request } from './http.mjs';
import { REPO, MODDIR } from './apache.mjs';

export const STATUS_PATH = '/alx-status';
// Debian's python3 (python3-prometheus-client lives in its dist-packages)
export const PYTHON = process.env.ALX_PYTHON || '/usr/bin/python3';

// mod_status loaded, server-status and alexalink-status handlers.
export function statusServerConf(extra = '') {
  return `LoadModule status_module ${path.join(MODDIR, 'mod_status.so')}\n${extra}`;
}
export function statusLocations() {
  return `<Location ${STATUS_PATH}>\n  SetHandler alexalink-status\n</Location>\n<Location /server-status>\n  SetHandler server-status\n</Location>\n`;
}

// Several children with few threads each: concurrent requests cannot all be
// served by one process (an event child accepts only with an idle worker).
export const SPREAD_MPM = {
  prefork: 'StartServers 8\nMinSpareServers 8\nMaxSpareServers 16\nServerLimit 32\nMaxRequestWorkers 32',
  event: 'StartServers 4\nServerLimit 4\nThreadsPerChild 8\nThreadLimit 8\nMinSpareThreads 8\nMaxSpareThreads 32\nMaxRequestWorkers 32',
  worker: 'StartServers 4\nServerLimit 4\nThreadsPerChild 8\nThreadLimit 8\nMinSpareThreads 8\nMaxSpareThreads 32\nMaxRequestWorkers 32',
};

export const COUNTERS = [
  'exchange_code', 'exchange_refresh', 'exchange_other', 'code_ok',
  'rewrite_json', 'rewrite_status', 'rewrite_ttl_raised', 'rewrite_ttl_inserted', 'rewrite_token_type',
  'rewrite_refresh_kept', 'rewrite_replayed', 'rewrite_chained', 'rewrite_error_mapped', 'rewrite_client_auth',
  'fail_rejected', 'fail_upstream_error', 'fail_server_error', 'fail_unusable', 'fail_truncated', 'fail_wait_timeout',
  'over_budget', 'short_lifetime',
  'flow_na_ok', 'flow_na_failed', 'flow_eu_ok', 'flow_eu_failed', 'flow_fe_ok', 'flow_fe_failed', 'flow_other_ok', 'flow_other_failed',
  'state_dropped', 'state_changed', 'implicit_query', 'insecure', 'domains', 'popups',
];
export const zeroCounters = () => Object.fromEntries(COUNTERS.map((c) => [c, 0]));

export async function getView(apache, query = '', p = STATUS_PATH) {
  const res = await request({ port: apache.port, path: query ? `${p}?${query}` : p });
  assert.equal(res.status, 200, `GET ${p}?${query}: ${res.status}`);
  return res;
}

export async function statusJson(apache) {
  const res = await getView(apache, 'json');
  assert.match(res.headers['content-type'], /^application\/json/);
  return res.json();
}

// Every view as text: html, json, metrics, support, server-status page and ?auto.
export async function allViews(apache) {
  const [html, json, metrics, support, serverStatus, auto] = await Promise.all([
    getView(apache), getView(apache, 'json'), getView(apache, 'metrics'), getView(apache, 'support'),
    getView(apache, '', '/server-status'), getView(apache, 'auto', '/server-status'),
  ]);
  return {
    html: html.text, json: json.text, metrics: metrics.text, support: support.text,
    serverStatus: serverStatus.text, auto: auto.text,
    types: { html: html.headers['content-type'], json: json.headers['content-type'], metrics: metrics.headers['content-type'], support: support.headers['content-type'] },
  };
}

// Runs t/tools/<tool> with input on stdin; its stdout is one JSON object.
export function pyTool(tool, input, args = []) {
  const r = spawnSync(PYTHON, [path.join(REPO, 't', 'tools', tool), ...args], { input, encoding: 'utf8', timeout: 30000 });
  if (r.error) throw new Error(`python3 ${tool}: ${r.error.message}`);
  let out;
  try { out = JSON.parse(r.stdout); } catch { throw new Error(`python3 ${tool} exited ${r.status}: ${r.stdout}\n${r.stderr}`); }
  return { code: r.status, ...out };
}

// ---- ?json schema ----

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const isInt = (v) => Number.isInteger(v) && v >= 0;
const intOrNull = (v) => v === null || isInt(v);

function keys(o, want, where) {
  assert.ok(o && typeof o === 'object' && !Array.isArray(o), `${where} is an object`);
  assert.deepEqual(Object.keys(o).sort(), [...want].sort(), `${where}: exactly the keys ${want.join(', ')}`);
}
function check(cond, where, v) {
  assert.ok(cond, `${where}: unexpected ${JSON.stringify(v)}`);
}

// SPEC "Links that last": the keep-alive's figures in ?json.
export const KEEPALIVE_COUNTS = ['links_kept', 'keepalive_refreshes', 'keepalive_failures', 'links_ended_upstream', 'links_ended_idle'];

// Throws on the first key or type that is not as documented.
export function checkJsonSchema(j) {
  keys(j, ['version', 'since', 'now', 'store', 'keepalive', 'vhosts', 'events', 'locations'], 'root');
  check(typeof j.version === 'string' && j.version.length > 0, 'version', j.version);
  check(ISO.test(j.since), 'since', j.since);
  check(ISO.test(j.now), 'now', j.now);
  check(j.since <= j.now, 'since <= now', [j.since, j.now]);
  keys(j.store, ['provider', 'capacity_bytes', 'records', 'evictions', 'outages', 'survival_seconds', 'window_seconds'], 'store');
  check(typeof j.store.provider === 'string', 'store.provider', j.store.provider);
  for (const k of ['capacity_bytes', 'survival_seconds']) check(intOrNull(j.store[k]), `store.${k}`, j.store[k]);
  for (const k of ['records', 'evictions', 'outages', 'window_seconds']) check(isInt(j.store[k]), `store.${k}`, j.store[k]);
  keys(j.keepalive, [...KEEPALIVE_COUNTS, 'keepalive_next_due'], 'keepalive');
  for (const k of KEEPALIVE_COUNTS) check(isInt(j.keepalive[k]), `keepalive.${k}`, j.keepalive[k]);
  check(j.keepalive.keepalive_next_due === null || ISO.test(j.keepalive.keepalive_next_due), 'keepalive.keepalive_next_due', j.keepalive.keepalive_next_due);
  check(Array.isArray(j.vhosts) && j.vhosts.length >= 1, 'vhosts', j.vhosts);
  for (const [i, v] of j.vhosts.entries()) {
    const w = `vhosts[${i}]`;
    keys(v, ['name', 'counters', 'latency_ms'], w);
    check(typeof v.name === 'string' && /^.+:\d+$/.test(v.name), `${w}.name`, v.name);
    keys(v.counters, COUNTERS, `${w}.counters`);
    for (const c of COUNTERS) check(isInt(v.counters[c]), `${w}.counters.${c}`, v.counters[c]);
    const l = v.latency_ms;
    keys(l, ['count', 'sum', 'p50', 'p95', 'p99', 'buckets'], `${w}.latency_ms`);
    check(isInt(l.count) && isInt(l.sum), `${w}.latency_ms count/sum`, l);
    for (const p of ['p50', 'p95', 'p99']) check(l.count ? isInt(l[p]) : l[p] === null, `${w}.latency_ms.${p}`, l[p]);
    if (l.count) check(l.p50 <= l.p95 && l.p95 <= l.p99, `${w} p50 <= p95 <= p99`, l);
    check(Array.isArray(l.buckets) && l.buckets.length >= 2, `${w}.latency_ms.buckets`, l.buckets);
    let prevLe = -1;
    let prevCount = 0;
    for (const [k, b] of l.buckets.entries()) {
      keys(b, ['le_ms', 'count'], `${w}.buckets[${k}]`);
      const last = k === l.buckets.length - 1;
      check(last ? b.le_ms === null : isInt(b.le_ms) && b.le_ms > prevLe, `${w}.buckets[${k}].le_ms`, b.le_ms);
      check(isInt(b.count) && b.count >= prevCount, `${w}.buckets[${k}].count cumulative`, b.count);
      prevLe = b.le_ms;
      prevCount = b.count;
    }
    check(l.buckets[0].le_ms === 50, `${w} the first bucket is 50 ms`, l.buckets[0]);
    check(l.buckets.some((b) => b.le_ms === 4500), `${w} a 4500 ms bucket`, l.buckets);
    check(prevCount === l.count, `${w} the last bucket counts all`, [prevCount, l.count]);
  }
  check(Array.isArray(j.events), 'events', j.events);
  for (const [i, e] of j.events.entries()) {
    const w = `events[${i}]`;
    keys(e, ['time', 'vhost', 'kind', 'what', 'client', 'region', 'platform', 'verdict', 'cause', 'advice', 'shape_in', 'shape_out', 'ms', 'failed'], w);
    check(ISO.test(e.time), `${w}.time`, e.time);
    for (const k of ['vhost', 'what', 'client', 'region', 'platform', 'verdict', 'shape_in', 'shape_out']) check(typeof e[k] === 'string', `${w}.${k}`, e[k]);
    check(['exchange', 'flow'].includes(e.kind), `${w}.kind`, e.kind);
    check(e.cause === null || (typeof e.cause === 'string' && /^[a-z_]+$/.test(e.cause)), `${w}.cause`, e.cause);
    check(typeof e.failed === 'boolean', `${w}.failed`, e.failed);
    check(e.failed ? typeof e.advice === 'string' && e.advice.length > 20 : e.advice === null, `${w}.advice`, e.advice);
    check(Number.isInteger(e.ms) && e.ms >= 0, `${w}.ms`, e.ms);
    if (i > 0) check(j.events[i - 1].time >= e.time, `${w} newest first`, [j.events[i - 1].time, e.time]);
  }
  check(Array.isArray(j.locations), 'locations', j.locations);
  for (const [i, l] of j.locations.entries()) {
    keys(l, ['vhost', 'path', 'role', 'domain_list'], `locations[${i}]`);
    check(typeof l.vhost === 'string' && typeof l.path === 'string', `locations[${i}]`, l);
    check(['token', 'authorize'].includes(l.role), `locations[${i}].role`, l.role);
    check(l.domain_list === null || typeof l.domain_list === 'string', `locations[${i}].domain_list`, l.domain_list);
  }
  return j;
}

// mod_status ?auto: its first line is the server's name (mod_status's own
// format), every other line "Key: value" (value may be empty).
export function parseAuto(text) {
  const out = {};
  const lines = text.split('\n');
  assert.match(lines[0], /^[A-Za-z0-9.:[\]-]+$/, 'the first ?auto line is the server name');
  out[''] = lines[0];
  for (const line of lines.slice(1)) {
    if (!line) continue;
    const m = /^([A-Za-z][A-Za-z0-9 _-]*): ?(.*)$/.exec(line);
    assert.ok(m, `?auto line is "Key: value": ${JSON.stringify(line)}`);
    out[m[1]] = m[2];
  }
  return out;
}

// Sums for mod_status's lines from the JSON (all vhosts).
export function totalsOf(j) {
  const t = { exchanges: 0, failures: 0, overBudget: 0, flows: 0, flowFailures: 0, replays: 0 };
  for (const v of j.vhosts) {
    const c = v.counters;
    t.exchanges += c.exchange_code + c.exchange_refresh + c.exchange_other;
    t.failures += c.fail_rejected + c.fail_upstream_error + c.fail_server_error + c.fail_unusable + c.fail_truncated + c.fail_wait_timeout;
    t.overBudget += c.over_budget;
    t.replays += c.rewrite_replayed;
    for (const k of COUNTERS.filter((x) => x.startsWith('flow_'))) {
      t.flows += c[k];
      if (k.endsWith('_failed')) t.flowFailures += c[k];
    }
  }
  return t;
}

// The pids of the processes that logged an ALX0100 line (error log [pid N]).
export function exchangePids(text) {
  const pids = new Set();
  for (const line of text.split('\n')) {
    if (!/ALX0100: /.test(line)) continue;
    const m = /\[pid (\d+)/.exec(line);
    if (m) pids.add(Number(m[1]));
  }
  return pids;
}

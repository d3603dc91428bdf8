// SPEC "Logging and status" (issue 8): a mixed run of good and broken token
// exchanges (legacy upstream), a refresh-grace replay (rotating upstream)
// and authorization flows (login upstream) through one Apache with several
// children, sent concurrently; then every counter of ?json is exactly what
// was sent, and the HTML page (python html.parser), ?metrics (python
// prometheus_client's parser), ?support, mod_status's page and ?auto say the
// same, with no secret anywhere. Counters survive a graceful restart, also
// one with another AlexaLinkStatusEvents, and the ring then keeps exactly
// the newest 5.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { startApache, moduleMissingReason, MPM, shortLived, waitFor, expectLog, tagCount } from '../lib/apache.mjs';
import { tokenRequest, form, request, basicHeader } from '../lib/http.mjs';
import { secret, registerSecret, secretsIn, redact } from '../lib/secrets.mjs';
import { finish } from '../lib/suite.mjs';
import { startLegacyUpstream } from '../fixtures/legacy-upstream.mjs';
import { startLoginUpstream, LOGIN_CODE, LOGIN_TOKEN } from '../fixtures/login-upstream.mjs';
import { startRotating, graceLocation, refresh, graceClients, CLIENT_A } from '../lib/grace.mjs';
import {
  STATUS_PATH, SPREAD_MPM, COUNTERS, zeroCounters, statusServerConf, statusLocations, statusJson, allViews,
  pyTool, checkJsonSchema, parseAuto, totalsOf, exchangePids,
} from '../lib/status.mjs';

const CLIENT_ID = 'alexa-skill';
const CLIENT_SECRET = secret('status client_secret');
const CODE = secret('status authorization code');
const BASIC = registerSecret(basicHeader(CLIENT_ID, CLIENT_SECRET), 'status Basic header');
const VENDOR = 'M2AAAAAAAAAAAA';
const LINK = {
  NA: `https://pitangui.amazon.com/api/skill/link/${VENDOR}`,
  EU: `https://layla.amazon.com/api/skill/link/${VENDOR}`,
  FE: `https://alexa.amazon.co.jp/api/skill/link/${VENDOR}`,
};
// Alexa's state values, with bytes that need escaping: never on any view
const STATE = registerSecret(`${secret('status alexa state').slice(0, 24)}+/=`, 'status alexa state');
const ANDROID = 'Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36';
const SLOW = 24; // concurrent slow exchanges: more than one child's workers
const EVENTS_MARK = '# alexalink-status-events';

const codeBody = form([['grant_type', 'authorization_code'], ['code', CODE], ['redirect_uri', LINK.NA]]);
// a refresh token of its own per request: the same one sent twice at once
// would be a duplicate (answered from the in-flight one, counted replayed)
const refreshBody = (n) => form([['grant_type', 'refresh_token'], ['refresh_token', secret(`status presented refresh_token ${n}`)]]);
const auth = { headers: { Authorization: BASIC } };

// One token request and the counters it must move (besides nothing else).
// The rules (alexalink_status.c): exchange_<grant> always; code_ok for a 200
// code answer; one rewrite_* per fix counted (form->json, status, TTL raised
// or inserted, token_type, refresh kept, error mapped; a string TTL made an
// integer has no counter); a 2xx the module turns into 502 is a status fix;
// a failure by its verdict kind (an error page passed through counts as an
// upstream error); short_lifetime for an upstream TTL < 360.
const TOKEN_JOBS = [
  ['/tok/json-ok', codeBody, auth, ['exchange_code', 'code_ok']],
  ['/tok/form', codeBody, auth, ['exchange_code', 'code_ok', 'rewrite_json', 'rewrite_ttl_inserted']],
  ['/tok/created', codeBody, auth, ['exchange_code', 'code_ok', 'rewrite_status']],
  ['/tok/ttl-short', codeBody, auth, ['exchange_code', 'code_ok', 'rewrite_ttl_raised', 'short_lifetime']],
  ['/tok/ttl-string', codeBody, auth, ['exchange_code', 'code_ok']],
  ['/tok/no-token-type', codeBody, auth, ['exchange_code', 'code_ok', 'rewrite_token_type']],
  ['/tok/no-expires', codeBody, auth, ['exchange_code', 'code_ok', 'rewrite_ttl_inserted']],
  ['/tok/gh-error-json', codeBody, auth, ['exchange_code', 'rewrite_status', 'rewrite_error_mapped', 'fail_upstream_error']],
  ['/tok/invalid-grant', refreshBody(1), auth, ['exchange_refresh', 'fail_upstream_error']],
  ['/tok/html-503', codeBody, auth, ['exchange_code', 'fail_server_error']],
  // an upstream's HTML error page passes unchanged, and Alexa cannot read it
  ['/tok/html-400', codeBody, auth, ['exchange_code', 'fail_upstream_error']],
  ['/tok/json-502', codeBody, auth, ['exchange_code', 'fail_server_error']],
  ['/tok/html-200', codeBody, auth, ['exchange_code', 'rewrite_status', 'fail_unusable']],
  ['/tok/malformed', codeBody, auth, ['exchange_code', 'rewrite_status', 'fail_unusable']],
  ['/tok/gzip', codeBody, { headers: { ...auth.headers, 'Accept-Encoding': 'gzip' } }, ['exchange_code', 'code_ok']],
  ['/tok/refresh-no-rt', refreshBody(2), auth, ['exchange_refresh', 'rewrite_refresh_kept']],
  ['/tok/refresh-rotate', refreshBody(3), auth, ['exchange_refresh']],
  ['/tok/json-ok', form([['grant_type', 'client_credentials']]), auth, ['exchange_other']],
  // body credentials turned into Basic: the request was changed
  ['/basic/json-ok', form([['grant_type', 'authorization_code'], ['code', CODE], ['client_id', CLIENT_ID], ['client_secret', CLIENT_SECRET]]), {}, ['exchange_code', 'code_ok', 'rewrite_client_auth']],
  // refused by the module itself: no upstream, no latency sample
  ['/tok/json-ok', JSON.stringify({ grant_type: 'authorization_code' }), { contentType: 'application/json', ...auth }, ['exchange_other', 'fail_rejected']],
  ['/tok/json-ok', `grant_type=authorization_code&code=${CODE}&code=${CODE}`, auth, ['exchange_code', 'fail_rejected']],
  // slower than AlexaLinkTimeBudget 0.2
  ['/budget/slow?delay=400', codeBody, auth, ['exchange_code', 'code_ok', 'over_budget']],
  // spread over the children: 300 ms each, all at once
  ...Array.from({ length: SLOW }, () => ['/tok/slow?delay=300', codeBody, auth, ['exchange_code', 'code_ok']]),
];

function authorizeQuery(redirectUri, responseType = 'code') {
  return new URLSearchParams({ response_type: responseType, client_id: CLIENT_ID, scope: 'profile', redirect_uri: redirectUri, state: STATE }).toString();
}
// Each authorization request through AlexaLink authorize: plain HTTP on a
// port other than 443 counts insecure once; a redirect back to Alexa
// counts flow_<region>_ok|failed (failed: error=, or a state problem left
// as it was in report mode), state_dropped/changed, implicit_query; a login
// page counts each host it pulls from (7 on the external page, the listed
// cdn.example.com aside) and each popup (target=_blank and window.open).
const FLOW_JOBS = [
  [`/oauth/authorize/keep?${authorizeQuery(LINK.NA)}`, ['flow_na_ok', 'insecure']],
  [`/oauth/authorize/keep?${authorizeQuery(LINK.EU)}`, ['flow_eu_ok', 'insecure']],
  [`/oauth/authorize/keep?${authorizeQuery(LINK.FE)}`, ['flow_fe_ok', 'insecure']],
  [`/oauth/authorize/drop?${authorizeQuery(LINK.NA)}`, ['flow_na_ok', 'state_dropped', 'insecure']],
  [`/oauth/authorize/change?${authorizeQuery(LINK.EU)}`, ['flow_eu_ok', 'state_changed', 'insecure']],
  [`/oauth/authorize/implicit-query?${authorizeQuery(LINK.NA, 'token')}`, ['flow_na_ok', 'implicit_query', 'insecure']],
  [`/oauth/authorize/error?${authorizeQuery(LINK.FE)}`, ['flow_fe_failed', 'insecure']],
  [`/oauth/authorize/error?${authorizeQuery(LINK.NA)}`, ['flow_na_failed', 'insecure']],
  [`/report/drop?${authorizeQuery(LINK.EU)}`, ['flow_eu_failed', 'state_dropped', 'insecure']],
  [`/oauth/authorize/page/external?${authorizeQuery(LINK.NA)}`, ['insecure', ...Array(7).fill('domains')]],
  [`/oauth/authorize/page/popup?${authorizeQuery(LINK.NA)}`, ['insecure', 'popups', 'popups']],
];
const FLOWS = FLOW_JOBS.filter(([, c]) => c.some((k) => k.startsWith('flow_'))).length;

// counter name -> [sample name, labels] in ?metrics
const METRIC = {};
for (const [c, g] of [['exchange_code', 'authorization_code'], ['exchange_refresh', 'refresh_token'], ['exchange_other', 'other']]) METRIC[c] = ['alexalink_exchanges_total', { grant: g }];
METRIC.code_ok = ['alexalink_codes_exchanged_total', {}];
for (const [c, k] of Object.entries({ json: 'form_to_json', status: 'status_fixed', ttl_raised: 'ttl_raised', ttl_inserted: 'ttl_inserted', token_type: 'token_type_inserted', refresh_kept: 'refresh_kept', replayed: 'replayed', chained: 'chained', error_mapped: 'error_mapped', client_auth: 'client_auth_converted' })) METRIC[`rewrite_${c}`] = ['alexalink_rewrites_total', { kind: k }];
for (const [c, k] of Object.entries({ rejected: 'request_rejected', upstream_error: 'upstream_error', server_error: 'server_error', unusable: 'unusable_answer', truncated: 'truncated', wait_timeout: 'duplicate_wait_timeout' })) METRIC[`fail_${c}`] = ['alexalink_failures_total', { cause: k }];
METRIC.over_budget = ['alexalink_over_budget_total', {}];
METRIC.short_lifetime = ['alexalink_short_lifetimes_total', {}];
for (const r of ['na', 'eu', 'fe', 'other']) for (const o of ['ok', 'failed']) METRIC[`flow_${r}_${o}`] = ['alexalink_flows_total', { region: r === 'other' ? 'other' : r.toUpperCase(), outcome: o }];
METRIC.state_dropped = ['alexalink_state_problems_total', { kind: 'dropped' }];
METRIC.state_changed = ['alexalink_state_problems_total', { kind: 'changed' }];
METRIC.implicit_query = ['alexalink_implicit_in_query_total', {}];
METRIC.insecure = ['alexalink_insecure_flows_total', {}];
METRIC.domains = ['alexalink_domains_reported_total', {}];
METRIC.popups = ['alexalink_popups_total', {}];

describe(`status page, counters and views (${MPM})`, { skip: moduleMissingReason() }, () => {
  let up;
  let login;
  let rot;
  let apache;
  let expected;
  let final; // ?json after the mixed run
  let views;
  before(async () => {
    up = await startLegacyUpstream();
    login = await startLoginUpstream();
    rot = await startRotating();
    apache = await startApache({
      mpmTuning: SPREAD_MPM,
      serverConf: statusServerConf(`${EVENTS_MARK}\n`),
      locations: `${statusLocations()}
ProxyPass /tok/ ${up.url}/
<Location /tok/>
  AlexaLink token
</Location>
ProxyPass /budget/ ${up.url}/
<Location /budget/>
  AlexaLink token
  AlexaLinkTimeBudget 0.2
</Location>
ProxyPass /basic/ ${up.url}/
<Location /basic/>
  AlexaLink token
  AlexaLinkClientAuth basic
</Location>
ProxyPass /oauth/ ${login.url}/oauth/
ProxyPass /report/ ${login.url}/oauth/authorize/
<Location /oauth/authorize>
  AlexaLink authorize
  AlexaLinkDomainList cdn.example.com
</Location>
<Location /report/>
  AlexaLink authorize
  AlexaLinkMode report
</Location>
${graceLocation('/rot/', `${rot.url}/`)}`,
    });
  });
  after(async () => {
    const logs = await finish({
      apache, up, also: [{ stop: () => login.close() }, { stop: () => rot.close() }],
    });
    if (expected) assert.equal(tagCount(logs.errorLog, 'ALX0304'), 7, 'seven hosts reported in the log, as counted');
  });

  it('a mixed concurrent run: every counter exactly what was sent, served by several children', async (t) => {
    const start = await statusJson(apache);
    assert.equal(start.vhosts.length, 1);
    assert.deepEqual(start.vhosts[0].counters, zeroCounters(), 'all counters start at 0');
    assert.deepEqual(start.events, [], 'no event yet');
    expected = zeroCounters();
    const add = (list) => { for (const c of list) expected[c]++; };
    const mark = apache.mark();
    const results = await Promise.all([
      ...TOKEN_JOBS.map(async ([p, body, opts, counts]) => {
        const res = await tokenRequest(apache.port, p, body, opts);
        add(counts);
        return [p, res.status];
      }),
      ...FLOW_JOBS.map(async ([p, counts]) => {
        const res = await request({ port: apache.port, path: p, headers: { Host: 'login.example', 'User-Agent': ANDROID } });
        add(counts);
        return [p.split('?')[0], res.status];
      }),
    ]);
    for (const [p, status] of results) {
      if (p.startsWith('/oauth/authorize/page/')) assert.equal(status, 200, p);
      else if (p.startsWith('/oauth/') || p.startsWith('/report/')) assert.equal(status, 302, p);
    }
    // a refresh, then the same refresh again inside the grace window: replayed
    const A = [CLIENT_A, graceClients()[CLIENT_A]];
    const g = rot.issue(CLIENT_A);
    const first = await refresh(apache.port, '/rot/token', g.refresh_token, A);
    assert.equal(first.status, 200);
    const again = await refresh(apache.port, '/rot/token', g.refresh_token, A);
    assert.equal(again.status, 200);
    add(['exchange_refresh', 'exchange_refresh', 'rewrite_replayed']);
    assert.equal(rot.count(), 1, 'the upstream saw the refresh once');

    // counted in the log phase, after the answer left: wait until all are
    // (or the wait times out), then compare
    const same = (c) => COUNTERS.every((k) => c[k] === expected[k]);
    await waitFor(async () => same((await statusJson(apache)).vhosts[0].counters), { timeoutMs: 10000, what: 'the counters to reach what was sent' }).catch(() => {});
    // what the run provokes: exchanges at warn, the one over budget, the 60 s
    // upstream (once an hour); plain HTTP and the port (once per vhost), the
    // flows' state problems, implicit tokens, error=, the page's hosts and popups
    await expectLog(apache, mark, ['ALX0100', 'ALX0101', shortLived(60), 'ALX0310', 'ALX0311', 'ALX0302', 'ALX0306', 'ALX0307', 'ALX0304', 'ALX0305']);
    final = await statusJson(apache);
    assert.deepEqual(final.vhosts[0].counters, expected, 'every counter exactly as sent');
    const pids = exchangePids(apache.errorLogSince(mark));
    t.diagnostic(`token exchanges served by ${pids.size} children`);
    assert.ok(pids.size >= 2, `token exchanges served by more than one child (pids ${[...pids].join(', ')})`);
  });

  it('?json matches its schema; latency and events agree with the counters', () => {
    checkJsonSchema(final);
    const v = final.vhosts[0];
    assert.equal(v.name, `127.0.0.1:${apache.port}`);
    const c = v.counters;
    const exchanges = c.exchange_code + c.exchange_refresh + c.exchange_other;
    assert.equal(v.latency_ms.count, exchanges - c.fail_rejected, 'a latency sample per exchange that reached the upstream');
    const le = (ms) => v.latency_ms.buckets.find((b) => b.le_ms === ms).count;
    assert.ok(le(250) <= v.latency_ms.count - SLOW - 1, `the ${SLOW + 1} slow ones are above 250 ms (${le(250)})`);
    assert.equal(le(4500), v.latency_ms.count, 'none above 4.5 s');
    assert.ok(v.latency_ms.sum >= SLOW * 300 + 400, `sum ${v.latency_ms.sum} holds the slow ones`);
    assert.equal(final.events.length, exchanges + FLOWS, 'one event per exchange and per flow back to Alexa (200 fit)');
    const failures = c.fail_rejected + c.fail_upstream_error + c.fail_server_error + c.fail_unusable + c.fail_truncated + c.fail_wait_timeout;
    const failedFlows = c.flow_na_failed + c.flow_eu_failed + c.flow_fe_failed + c.flow_other_failed;
    const failed = final.events.filter((e) => e.failed);
    assert.equal(failed.length, failures + c.over_budget + failedFlows, 'failed events: failed exchanges, the one over budget, failed flows');
    const causes = {};
    for (const e of failed) causes[e.cause] = (causes[e.cause] || 0) + 1;
    assert.deepEqual(causes, {
      upstream_error: c.fail_upstream_error, server_error: c.fail_server_error, unusable_answer: c.fail_unusable,
      request_rejected: c.fail_rejected, over_budget: c.over_budget, flow_error: 2, state_dropped: 1,
    }, 'each failed event names its cause');
    for (const e of final.events.filter((x) => x.kind === 'flow')) {
      assert.equal(e.platform, 'Android', 'the platform from the User-Agent');
      assert.match(e.region, /^(NA|EU|FE)$/);
    }
    assert.deepEqual(final.locations.map((l) => [l.path, l.role, l.domain_list]), [
      ['/tok/', 'token', null], ['/budget/', 'token', null], ['/basic/', 'token', null],
      ['/oauth/authorize', 'authorize', 'cdn.example.com'], ['/report/', 'authorize', null], ['/rot/', 'token', null],
    ]);
    assert.equal(final.store.records >= 1, true, 'the grace record is in the store');
  });

  it('every view: HTML (html.parser), ?metrics (prometheus_client), mod_status, ?support', async () => {
    views = await allViews(apache);
    const j = JSON.parse(views.json);
    assert.deepEqual(j.vhosts[0].counters, final.vhosts[0].counters, 'nothing moved since');
    assert.match(views.types.html, /^text\/html/);
    assert.match(views.types.metrics, /^text\/plain; version=0\.0\.4/);
    assert.match(views.types.support, /^text\/plain/);

    // HTML
    const h = pyTool('check_html.py', views.html);
    assert.deepEqual(h.errors, [], 'the page is plain, balanced, self-contained');
    assert.deepEqual(h.h1, ['mod_alexalink status']);
    const names = j.vhosts.map((v) => v.name);
    for (const n of names) assert.ok(h.h2.some((x) => x.text === n), `a section for ${n}`);
    assert.ok(h.h2.some((x) => x.id === 'failures'), 'a Recent failures section');
    assert.ok(h.anchors.includes('#failures'), 'the top links to the failures');
    const failed = j.events.filter((e) => e.failed).slice(0, 20);
    const table = h.tables.find((t) => t[0] && t[0].includes('cause and fix'));
    assert.ok(table, 'a failures table');
    assert.deepEqual(table.slice(1).map((row) => row[row.length - 1]), failed.map((e) => e.advice), 'each recent failure with its cause sentence, newest first');
    assert.ok(table.slice(1).every((row) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/.test(row[0])), 'UTC times');

    // ?metrics
    const m = pyTool('check_metrics.py', views.metrics);
    assert.deepEqual(m.errors, [], 'the exposition parses and is consistent');
    const samples = Object.values(m.families).flatMap((f) => f.samples);
    const vhost = names[0];
    const find = (name, labels) => samples.filter(([n, l]) => n === name && JSON.stringify(Object.entries(l).sort()) === JSON.stringify(Object.entries({ vhost, ...labels }).sort()));
    for (const c of COUNTERS) {
      const [name, labels] = METRIC[c];
      const got = find(name, labels);
      assert.equal(got.length, 1, `one series for ${c} (${name} ${JSON.stringify(labels)})`);
      assert.equal(got[0][2], j.vhosts[0].counters[c], `${c} in ?metrics`);
    }
    for (const [fam, f] of Object.entries(m.families)) if (fam !== 'alexalink_exchange_duration_seconds' && f.type === 'counter') assert.ok(f.samples.every(([n]) => n.endsWith('_total') || n.endsWith('_created')), `${fam}: _total counters`);
    assert.equal(m.families.alexalink_exchange_duration_seconds.type, 'histogram');
    const lat = j.vhosts[0].latency_ms;
    for (const b of lat.buckets) {
      const le = b.le_ms === null ? 'inf' : String(b.le_ms / 1000);
      const got = samples.find(([n, l]) => n === 'alexalink_exchange_duration_seconds_bucket' && l.vhost === vhost && (le === 'inf' ? l.le === '+Inf' : Number(l.le) === Number(le)));
      assert.ok(got, `bucket le ${le}`);
      assert.equal(got[2], b.count, `bucket le ${le} as in ?json`);
    }
    assert.ok(samples.some(([n, l]) => n === 'alexalink_exchange_duration_seconds_bucket' && l.le === '4.5'), 'a le="4.5" bucket');
    assert.equal(find('alexalink_exchange_duration_seconds_count', {})[0][2], lat.count);
    assert.ok(Math.abs(find('alexalink_exchange_duration_seconds_sum', {})[0][2] - lat.sum / 1000) < 1e-9, '_sum in seconds');
    assert.ok(samples.every(([n]) => n.startsWith('alexalink_')), 'the alexalink_ prefix');

    // the page's counter tables under the vhost's section: one <h3> per
    // family (its HELP text), a row per non-zero counter ("NA ok", "all");
    // families with nothing counted are named in one "None: ..." line
    const c0 = j.vhosts[0].counters;
    const familyOf = (name) => name.replace(/_total$/, '');
    for (const c of COUNTERS) {
      const [name, labels] = METRIC[c];
      const help = m.families[familyOf(name)].help;
      const familySum = COUNTERS.filter((k) => METRIC[k][0] === name).reduce((a, k) => a + c0[k], 0);
      const i = h.contexts.findIndex((x) => x.h2 === vhost && x.h3 === help);
      if (!familySum) {
        assert.equal(i, -1, `no table for ${help}: nothing counted`);
        assert.match(h.text, new RegExp(`None: [^.]*${help.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), `"${help}" among the families with nothing counted`);
        continue;
      }
      assert.ok(i >= 0, `a table "${help}" in the ${vhost} section`);
      const words = Object.values(labels).join(' ') || 'all';
      const row = h.tables[i].find((r) => r[0] === words);
      if (c0[c]) assert.deepEqual(row, [words, String(c0[c])], `${c} on the page`);
      else assert.equal(row, undefined, `${c}: no row for 0`);
    }
    const latTable = h.tables[h.contexts.findIndex((x) => x.h2 === vhost && x.h3 === 'Token answer latency')];
    assert.equal(latTable[1][0], String(lat.count), 'the latency sample count on the page');

    // mod_status
    assert.match(views.serverStatus, /<h2>mod_alexalink<\/h2>/, 'a section on mod_status\'s page');
    const t = totalsOf(j);
    assert.match(views.serverStatus, new RegExp(`Token exchanges</th><td>${t.exchanges}</td>`));
    const auto = parseAuto(views.auto);
    assert.ok('ServerVersion' in auto && 'Total Accesses' in auto && 'Scoreboard' in auto, 'mod_status\'s own lines are there');
    assert.deepEqual({
      AlexaLinkExchanges: auto.AlexaLinkExchanges, AlexaLinkFailures: auto.AlexaLinkFailures, AlexaLinkOverBudget: auto.AlexaLinkOverBudget,
      AlexaLinkFlows: auto.AlexaLinkFlows, AlexaLinkFlowFailures: auto.AlexaLinkFlowFailures, AlexaLinkReplays: auto.AlexaLinkReplays, AlexaLinkP95ms: auto.AlexaLinkP95ms,
    }, {
      AlexaLinkExchanges: String(t.exchanges), AlexaLinkFailures: String(t.failures), AlexaLinkOverBudget: String(t.overBudget),
      AlexaLinkFlows: String(t.flows), AlexaLinkFlowFailures: String(t.flowFailures), AlexaLinkReplays: String(t.replays), AlexaLinkP95ms: String(lat.p95 ?? 0),
    }, '?auto lines match the JSON totals');
    assert.equal(t.flows, FLOWS);
    assert.equal(t.replays, 1);

    // ?support
    const s = views.support;
    const c = j.vhosts[0].counters;
    for (const [p, role, label] of [['/tok/', 'token', 'Access Token URL'], ['/oauth/authorize', 'authorize', 'Authorization URL'], ['/rot/', 'token', 'Access Token URL'], ['/report/', 'authorize', 'Authorization URL']]) {
      assert.match(s, new RegExp(`^${vhost.replace(/\./g, '\\.')}  ${p}  role ${role}\\n  ${label}: https://127\\.0\\.0\\.1${p}$`, 'm'), `location ${p} with its role`);
    }
    assert.match(s, /^Domain list\n-+\n(?:.*\n)*?https:\/\/127\.0\.0\.1\/oauth\/authorize: cdn\.example\.com$/m, 'the domain list');
    assert.match(s, new RegExp(`^Grant types seen\\n-+\\n${vhost.replace(/\./g, '\\.')}: authorization_code ${c.exchange_code}, refresh_token ${c.exchange_refresh}, other ${c.exchange_other}$`, 'm'), 'grant types seen');
    const failedFlows = j.events.filter((e) => e.kind === 'flow' && e.failed);
    assert.equal(failedFlows.length, 3);
    for (const e of failedFlows) {
      const at = e.time.replace('T', ' ').replace('Z', ' UTC');
      const line = new RegExp(`^${at}  region ${e.region}  platform Android  flow ${e.what} on ${vhost.replace(/\./g, '\\.')} failed: ${e.verdict.replace(/[=]/g, '\\=')}\\n  ${e.advice.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm');
      assert.match(s, line, `the failed ${e.region} flow (${e.verdict}) with UTC time, region, platform and cause`);
    }
    assert.ok(failedFlows.some((e) => e.region === 'FE') && failedFlows.some((e) => e.region === 'NA') && failedFlows.some((e) => e.region === 'EU'), 'NA, EU and FE failures');
    assert.match(s, new RegExp(`^Next suspects the module cannot see\\n-+\\nAlexa exchanged authorization codes here \\(${c.code_ok}\\)`, 'm'), 'next suspects after a successful code exchange');
    assert.match(s, /AcceptGrant/);
    assert.match(s, /skill's account linking configuration/);
  });

  it('no secret, token, code, credential or state on any view', async () => {
    const all = { ...views };
    delete all.types;
    // the values this run used, as the upstreams answered them
    const used = [CLIENT_SECRET, CODE, ...[1, 2, 3].map((n) => secret(`status presented refresh_token ${n}`)), BASIC, STATE, LOGIN_CODE, LOGIN_TOKEN, up.tokens.access, up.tokens.refresh, up.tokens.rotated];
    for (const [name, text] of Object.entries(all)) {
      assert.deepEqual(secretsIn(text), [], `no secret in ${name}`);
      for (const v of used) assert.ok(!text.includes(v) && !text.includes(encodeURIComponent(v)), `${name}: a used value is absent`);
      assert.ok(!text.includes(STATE.slice(0, 12)), `${name}: not even a part of the state`);
    }
    assert.ok(views.json.includes(CLIENT_ID), 'client ids are shown');
  });

  it('a graceful restart keeps every counter, the events and "since"', async () => {
    const before = await statusJson(apache);
    await apache.graceful();
    const afterRestart = await statusJson(apache);
    assert.equal(afterRestart.since, before.since, 'since unchanged');
    assert.deepEqual(afterRestart.vhosts, before.vhosts, 'counters and latency unchanged');
    assert.deepEqual(afterRestart.events, before.events, 'the ring unchanged');
    assert.deepEqual(afterRestart.vhosts[0].counters, expected);
  });

  it('a graceful restart with AlexaLinkStatusEvents 5 keeps every counter and "since"; the ring keeps the newest 5, newest first', async () => {
    const before = await statusJson(apache);
    writeFileSync(apache.conf, readFileSync(apache.conf, 'utf8').replace(EVENTS_MARK, 'AlexaLinkStatusEvents 5'));
    const mark = await apache.graceful();
    assert.doesNotMatch(apache.errorLogSince(mark), /ALX040\d/, 'nothing starts again');
    const kept = checkJsonSchema(await statusJson(apache));
    assert.equal(kept.since, before.since, 'since unchanged');
    assert.deepEqual(kept.vhosts, before.vhosts, 'counters and latency carried');
    assert.deepEqual(kept.events, before.events.slice(0, 5), 'the newest 5 events carried');
    const base = kept.vhosts[0].counters.exchange_code;
    for (let i = 1; i <= 8; i++) {
      const res = await tokenRequest(apache.port, '/tok/json-ok', codeBody, { basic: [`ring-${i}`, CLIENT_SECRET] });
      assert.equal(res.status, 200);
      // the next one only once this one is counted: the order is known
      await waitFor(async () => (await statusJson(apache)).vhosts[0].counters.exchange_code === base + i, { timeoutMs: 10000, what: `exchange ${i} counted` });
    }
    const j = checkJsonSchema(await statusJson(apache));
    assert.equal(j.vhosts[0].counters.exchange_code, base + 8, 'counters count all 8 on top');
    assert.deepEqual(j.events.map((e) => e.client), ['ring-8', 'ring-7', 'ring-6', 'ring-5', 'ring-4'], 'exactly the newest 5, newest first');
    assert.ok(j.events.every((e) => e.kind === 'exchange' && e.verdict === 'ok' && !e.failed));
    const h = pyTool('check_html.py', (await request({ port: apache.port, path: STATUS_PATH })).text);
    assert.deepEqual(h.errors, []);
    const events = h.tables.find((t) => t[0] && t[0].includes('shape in → out'));
    assert.deepEqual(events.slice(1).map((r) => r[3]), ['ring-8', 'ring-7', 'ring-6', 'ring-5', 'ring-4'], 'the page shows the same 5');
    const again = await allViews(apache);
    delete again.types;
    for (const [name, text] of Object.entries(again)) assert.deepEqual(secretsIn(text), [], `no secret in ${name} after the restarts`);
  });
});

// Two name-based vhosts on one address: each counts its own exchanges and
// flows, every view has a section / series per vhost, the totals add up;
// a graceful restart that adds a vhost keeps each one's counters.
describe(`status page with several vhosts (${MPM})`, { skip: moduleMissingReason() }, () => {
  let up;
  let login;
  let apache;
  const vhostConf = ({ port }, extra = '') => `${statusLocations()}
<VirtualHost 127.0.0.1:${port}>
  ServerName a.example
  ProxyPass /tok/ ${up.url}/
  <Location /tok/>
    AlexaLink token
  </Location>
</VirtualHost>
<VirtualHost 127.0.0.1:${port}>
  ServerName b.example
  ProxyPass /tok/ ${up.url}/
  ProxyPass /oauth/ ${login.url}/oauth/
  <Location /tok/>
    AlexaLink token
  </Location>
  <Location /oauth/authorize>
    AlexaLink authorize
  </Location>
</VirtualHost>
${extra}`;
  before(async () => {
    up = await startLegacyUpstream();
    login = await startLoginUpstream();
    apache = await startApache({ mpmTuning: SPREAD_MPM, serverConf: statusServerConf(), locations: (o) => vhostConf(o, '# more vhosts') });
  });
  after(async () => {
    await finish({ apache, up, also: [{ stop: () => login.close() }] });
  });

  const send = (host, p, body) => tokenRequest(apache.port, p, body, { headers: { Host: host, Authorization: BASIC } });

  // the vhosts by their host; the port part is checked on its own (below)
  const A = () => vhostName('a.example');
  const B = () => vhostName('b.example');
  let names = [];
  const vhostName = (host) => names.find((n) => n.startsWith(`${host}:`));

  it('each vhost counts its own; sections, series and totals per vhost', async () => {
    names = (await statusJson(apache)).vhosts.map((v) => v.name);
    const mark = apache.mark();
    const results = await Promise.all([
      ...Array.from({ length: 3 }, () => send('a.example', '/tok/json-ok', codeBody)),
      send('a.example', '/tok/html-503', codeBody),
      ...Array.from({ length: 2 }, () => send('b.example', '/tok/created', codeBody)),
      request({ port: apache.port, path: `/oauth/authorize/error?${authorizeQuery(LINK.EU)}`, headers: { Host: 'b.example', 'User-Agent': ANDROID } }),
    ]);
    assert.deepEqual(results.map((r) => r.status), [200, 200, 200, 503, 200, 200, 302]);
    const want = {
      [A()]: { ...zeroCounters(), exchange_code: 4, code_ok: 3, fail_server_error: 1 },
      [B()]: { ...zeroCounters(), exchange_code: 2, code_ok: 2, rewrite_status: 2, flow_eu_failed: 1, insecure: 1 },
    };
    const byName = (j) => Object.fromEntries(j.vhosts.map((v) => [v.name, v.counters]));
    const matches = (j) => Object.entries(want).every(([n, c]) => JSON.stringify(byName(j)[n]) === JSON.stringify(c));
    await waitFor(async () => matches(await statusJson(apache)), { timeoutMs: 10000, what: 'the counters per vhost' }).catch(() => {});
    // b.example's first Alexa request (plain HTTP, the port) ends in error=; a.example's 503
    await expectLog(apache, mark, ['ALX0310', 'ALX0311', 'ALX0307', /ALX0100: .*status=503->503 /]);
    const j = checkJsonSchema(await statusJson(apache));
    assert.equal(j.vhosts.length, 3, 'the main server and the two vhosts');
    const main = j.vhosts.find((v) => !Object.keys(want).includes(v.name));
    assert.deepEqual(main.counters, zeroCounters(), 'the main server served nothing');
    for (const [n, c] of Object.entries(want)) assert.deepEqual(byName(j)[n], c, `counters of ${n}`);
    assert.deepEqual(j.events.map((e) => e.vhost).sort(), [...Array(4).fill(A()), ...Array(3).fill(B())].sort(), 'each event names its vhost');
    assert.deepEqual(j.locations.map((l) => [l.vhost, l.path, l.role]).sort(), [
      [A(), '/tok/', 'token'], [B(), '/oauth/authorize', 'authorize'], [B(), '/tok/', 'token'],
    ].sort());

    const views = await allViews(apache);
    const h = pyTool('check_html.py', views.html);
    assert.deepEqual(h.errors, []);
    for (const v of j.vhosts) assert.ok(h.h2.some((x) => x.text === v.name), `a section for ${v.name}`);
    const m = pyTool('check_metrics.py', views.metrics);
    assert.deepEqual(m.errors, [], 'no duplicate series with several vhosts');
    const ex = m.families.alexalink_exchanges.samples.filter(([, l]) => l.grant === 'authorization_code');
    assert.deepEqual(Object.fromEntries(ex.map(([, l, v]) => [l.vhost, v])), Object.fromEntries(j.vhosts.map((v) => [v.name, v.counters.exchange_code])), 'a series per vhost');
    const counts = m.families.alexalink_exchange_duration_seconds.samples.filter(([n]) => n.endsWith('_count'));
    assert.equal(counts.length, 3, 'a histogram per vhost');
    const t = totalsOf(j);
    assert.deepEqual([t.exchanges, t.failures, t.flows, t.flowFailures], [6, 1, 1, 1]);
    const auto = parseAuto(views.auto);
    assert.deepEqual([auto.AlexaLinkExchanges, auto.AlexaLinkFailures, auto.AlexaLinkFlows, auto.AlexaLinkFlowFailures], ['6', '1', '1', '1'], '?auto sums the vhosts');
    assert.ok(views.support.includes(`\n${A()}: authorization_code 4, refresh_token 0, other 0\n`), 'grant types of a.example');
    assert.ok(views.support.includes(`\n${B()}: authorization_code 2, refresh_token 0, other 0\n`), 'grant types of b.example');
    assert.match(views.support, /region EU {2}platform Android {2}flow error on b\.example:\d+ failed: state=kept error=access_denied/);
    assert.match(views.support, /^ {2}Authorization URL: https:\/\/b\.example\/oauth\/authorize$/m, 'the URL Alexa is given, with the vhost\'s name');
    for (const [name, text] of Object.entries(views)) if (name !== 'types') assert.deepEqual(secretsIn(text), [], `no secret in ${name}`);
  });

  it('a hostile client id is shown inert: escaped on the page, one line in the report', async () => {
    const hostile = 'x"><script>alert(1)</script><img src=//evil.example/i.png>\nAlexaLinkExchanges: 999';
    const before = (await statusJson(apache)).vhosts.find((v) => v.name === A()).counters.exchange_code;
    const res = await tokenRequest(apache.port, '/tok/json-ok', codeBody, { headers: { Host: 'a.example', Authorization: basicHeader(hostile, CLIENT_SECRET) } });
    assert.equal(res.status, 200);
    await waitFor(async () => (await statusJson(apache)).vhosts.find((v) => v.name === A()).counters.exchange_code === before + 1, { what: 'the exchange counted' });
    const views = await allViews(apache);
    const h = pyTool('check_html.py', views.html);
    assert.deepEqual(h.errors, [], 'no script, no external src, still balanced');
    const j = JSON.parse(views.json);
    assert.equal(j.events[0].kind, 'exchange');
    assert.ok(!j.events[0].client.includes('\n'), `no newline in the client field: ${JSON.stringify(j.events[0].client)}`);
    assert.ok(h.tables.some((t) => t.some((r) => r.includes(j.events[0].client))), 'the page shows the same (escaped) client text');
    assert.doesNotMatch(views.support, /^AlexaLinkExchanges: 999/m);
    assert.doesNotMatch(views.auto, /999/);
    parseAuto(views.auto);
  });

  // ServerName without a port (the usual way): the vhost serves on its
  // <VirtualHost> address's port, and "host:port" should say that one
  it('a name-based vhost is named host:port with the port it serves on', () => {
    assert.deepEqual([A(), B()], [`a.example:${apache.port}`, `b.example:${apache.port}`]);
  });

  it('a graceful restart with one more vhost keeps each vhost\'s counters; the new one starts at 0', async () => {
    const before = await statusJson(apache);
    writeFileSync(apache.conf, readFileSync(apache.conf, 'utf8').replace('# more vhosts', `<VirtualHost 127.0.0.1:${apache.port}>\n  ServerName c.example\n</VirtualHost>`));
    const mark = await apache.graceful();
    assert.doesNotMatch(apache.errorLogSince(mark), /ALX040\d/, 'nothing starts again');
    const j = checkJsonSchema(await statusJson(apache));
    assert.equal(j.vhosts.length, 4);
    assert.equal(j.since, before.since, 'since unchanged');
    const byName = (x) => Object.fromEntries(x.vhosts.map((v) => [v.name, v]));
    for (const v of before.vhosts) assert.deepEqual(byName(j)[v.name], v, `${v.name} keeps its counters and latency`);
    assert.deepEqual(byName(j)[`c.example:${apache.port}`].counters, zeroCounters(), 'c.example starts at 0');
    assert.deepEqual(j.events, before.events, 'the events carried, each under its vhost');
  });
});

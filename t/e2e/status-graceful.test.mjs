// SPEC "Logging and status" across graceful restarts (issue 16, findings 7
// and 10, and the segments' layout check): each vhost's counters follow its
// name and port, not its place in the configuration; the once-an-hour lines
// are said once without a store (AlexaLinkCache none); a segment laid out by
// another build is dropped, visibly, and never read.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { startApache, moduleMissingReason, MPM, shortLived, waitFor, expectLog } from '../lib/apache.mjs';
import { tokenRequest, form, basicHeader } from '../lib/http.mjs';
import { secret, registerSecret } from '../lib/secrets.mjs';
import { finish } from '../lib/suite.mjs';
import { startLegacyUpstream } from '../fixtures/legacy-upstream.mjs';
import { SPREAD_MPM, zeroCounters, statusServerConf, statusLocations, statusJson, checkJsonSchema } from '../lib/status.mjs';

const CLIENT_ID = 'alexa-skill';
const CLIENT_SECRET = secret('status-graceful client_secret');
const CODE = secret('status-graceful authorization code');
const BASIC = registerSecret(basicHeader(CLIENT_ID, CLIENT_SECRET), 'status-graceful Basic header');
const codeBody = form([['grant_type', 'authorization_code'], ['code', CODE], ['redirect_uri', 'https://pitangui.amazon.com/api/skill/link/M2AAAAAAAAAAAA']]);
const VHOSTS_MARK = '# the vhosts';

const vhost = (name, port, upUrl) => `<VirtualHost 127.0.0.1:${port}>
  ServerName ${name}
  ProxyPass /tok/ ${upUrl}/
  <Location /tok/>
    AlexaLink token
  </Location>
</VirtualHost>
`;

// The configuration's vhosts replaced by these, in this order.
function setVhosts(apache, names, upUrl) {
  const conf = readFileSync(apache.conf, 'utf8');
  const at = conf.indexOf(VHOSTS_MARK);
  assert.ok(at >= 0, 'the vhosts mark is in the configuration');
  writeFileSync(apache.conf, `${conf.slice(0, at)}${VHOSTS_MARK}\n${names.map((n) => vhost(n, apache.port, upUrl)).join('')}`);
}

const byHost = (j) => Object.fromEntries(j.vhosts.map((v) => [v.name.replace(/:\d+$/, ''), v.counters]));

describe(`status counters follow each vhost across a graceful restart (${MPM})`, { skip: moduleMissingReason() }, () => {
  let up;
  let apache;
  const send = (host) => tokenRequest(apache.port, '/tok/json-ok', codeBody, { headers: { Host: host, Authorization: BASIC } });
  const counted = (host, n) => async () => (byHost(await statusJson(apache))[host] || {}).exchange_code === n;

  before(async () => {
    up = await startLegacyUpstream();
    apache = await startApache({
      mpmTuning: SPREAD_MPM,
      serverConf: statusServerConf(),
      locations: ({ port }) => `${statusLocations()}${VHOSTS_MARK}\n${vhost('a.example', port, up.url)}${vhost('b.example', port, up.url)}`,
    });
  });
  after(async () => {
    await finish({ apache, up });
  });

  it('reordered vhosts keep their own counts and events', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await send('a.example')).status, 200);
    assert.equal((await send('b.example')).status, 200);
    await waitFor(counted('a.example', 3), { what: 'a.example counted 3' });
    await waitFor(counted('b.example', 1), { what: 'b.example counted 1' });
    const before = await statusJson(apache);
    const order = (x) => x.vhosts.map((v) => v.name.replace(/:\d+$/, ''));

    setVhosts(apache, ['b.example', 'a.example'], up.url);
    await apache.graceful();
    const j = checkJsonSchema(await statusJson(apache));
    // httpd lists the vhosts in reverse: the page follows its list
    assert.deepEqual(order(j), [order(before)[0], ...order(before).slice(1).reverse()], 'the vhosts in their new order');
    assert.deepEqual(byHost(j), {
      '127.0.0.1': zeroCounters(),
      'a.example': { ...zeroCounters(), exchange_code: 3, code_ok: 3 },
      'b.example': { ...zeroCounters(), exchange_code: 1, code_ok: 1 },
    });
    assert.equal(j.since, before.since, 'nothing started again');
    assert.deepEqual(j.events.map((e) => e.vhost.replace(/:\d+$/, '')), ['b.example', 'a.example', 'a.example', 'a.example'], 'each event under its own vhost');
    const latency = (x, host) => x.vhosts.find((v) => v.name.startsWith(`${host}:`)).latency_ms;
    assert.deepEqual(latency(j, 'a.example'), latency(before, 'a.example'), 'the latency histogram moved with a.example');

    // and they go on counting in their own blocks
    assert.equal((await send('b.example')).status, 200);
    await waitFor(counted('b.example', 2), { what: 'b.example counted 2' });
    assert.equal(byHost(await statusJson(apache))['a.example'].exchange_code, 3);
  });

  it('a renamed vhost starts at zero, a gone one is dropped, an added one starts at zero', async () => {
    const before = await statusJson(apache);
    setVhosts(apache, ['c.example', 'a.example', 'd.example'], up.url);
    await apache.graceful();
    const j = checkJsonSchema(await statusJson(apache));
    assert.deepEqual(j.vhosts.map((v) => v.name.replace(/:\d+$/, '')).sort(), ['127.0.0.1', 'a.example', 'c.example', 'd.example']);
    assert.deepEqual(byHost(j), {
      '127.0.0.1': zeroCounters(),
      'a.example': { ...zeroCounters(), exchange_code: 3, code_ok: 3 },
      'c.example': zeroCounters(),
      'd.example': zeroCounters(),
    });
    assert.equal(j.since, before.since, 'nothing started again');
    assert.deepEqual(j.events.map((e) => e.vhost.replace(/:\d+$/, '')), ['a.example', 'a.example', 'a.example'], 'b.example\'s events are gone with it');
    assert.equal((await send('c.example')).status, 200);
    await waitFor(counted('c.example', 1), { what: 'c.example counted 1' });
    const k = await statusJson(apache);
    assert.equal(byHost(k)['a.example'].exchange_code, 3);
    assert.equal(byHost(k)['d.example'].exchange_code, 0);
  });
});

describe(`once-an-hour lines without a store (AlexaLinkCache none, ${MPM})`, { skip: moduleMissingReason() }, () => {
  let up;
  let apache;
  before(async () => {
    up = await startLegacyUpstream();
    apache = await startApache({
      mpmTuning: SPREAD_MPM,
      serverConf: 'AlexaLinkCache none',
      locations: `ProxyPass /tok/ ${up.url}/\n<Location /tok/>\n  AlexaLink token\n</Location>\n`,
    });
  });
  after(async () => {
    await finish({ apache, up });
  });

  it('two exchanges with a short-lived upstream: ALX0103 once', async () => {
    const mark = apache.mark();
    for (let i = 0; i < 2; i++) {
      const res = await tokenRequest(apache.port, '/tok/ttl-short', codeBody, { headers: { Authorization: BASIC } });
      assert.equal(res.status, 200);
    }
    // both exchange lines are in, so any second ALX0103 would be too
    await waitFor(() => (apache.errorLogSince(mark).match(/ALX0100: /g) || []).length === 2, { what: 'both exchange lines' });
    await expectLog(apache, mark, [shortLived(60)]);
    const lines = apache.errorLogSince(mark).split('\n').filter((l) => shortLived(60).test(l));
    assert.equal(lines.length, 1, `one ALX0103 line:\n${lines.join('\n')}`);
  });
});

// A graceful restart into a build whose shared-memory layout differs (an
// upgrade that changed a struct): simulated with `Define
// ALX_TEST_LAYOUT_SKEW`, which makes a build with test hooks claim another
// layout version. Each segment is dropped and made afresh with a notice
// naming what was dropped; nothing of the old one is read. (The check
// itself: t/unit/test_segment.c, test_stats.c.)
const HOOKS = process.env.ALX_TEST_HOOKS ? false : 'needs a module built with --enable-test-hooks (ALX_TEST_HOOKS=1)';
describe(`a segment of another layout is dropped, visibly (${MPM})`, { skip: moduleMissingReason() || HOOKS }, () => {
  let up;
  let apache;
  before(async () => {
    up = await startLegacyUpstream();
    apache = await startApache({
      serverConf: statusServerConf('# layout mark\n'),
      locations: `${statusLocations()}ProxyPass /tok/ ${up.url}/\n<Location /tok/>\n  AlexaLink token\n</Location>\n`,
    });
  });
  after(async () => {
    await finish({ apache, up });
  });

  const skew = (on) => writeFileSync(apache.conf, readFileSync(apache.conf, 'utf8')
    .replace(on ? '# layout mark' : 'Define ALX_TEST_LAYOUT_SKEW', on ? 'Define ALX_TEST_LAYOUT_SKEW' : '# layout mark'));

  it('status counters and the grace store\'s segment start afresh, each with a notice', async () => {
    assert.equal((await tokenRequest(apache.port, '/tok/json-ok', codeBody, { headers: { Authorization: BASIC } })).status, 200);
    await waitFor(async () => (await statusJson(apache)).vhosts[0].counters.exchange_code === 1, { what: 'the exchange counted' });
    const before = await statusJson(apache);
    await waitFor(async () => (await statusJson(apache)).now > before.since, { timeoutMs: 5000, what: 'a second to pass' });

    skew(true);
    const mark = await apache.graceful();
    const log = apache.errorLogSince(mark);
    assert.match(log, /\[alexalink:notice\] .*ALX0404: status counters start afresh: their shared memory was laid out by another build \(layout \d+, this build's \d+\); dropped: every vhost's counters and latencies, the recent events, the store figures and the once-an-hour memory/);
    assert.match(log, /\[alexalink:notice\] .*ALX0405: grace store: its shared memory was laid out by another build \(layout \d+, this build's \d+\); dropped: the in-flight refreshes' table \(a refresh still running in an old child is not seen by the new ones\), the eviction probes and the store's failure counts/);
    const j = checkJsonSchema(await statusJson(apache));
    assert.deepEqual(j.vhosts[0].counters, zeroCounters(), 'counters start at 0');
    assert.deepEqual(j.events, []);
    assert.ok(j.since > before.since, 'since moved');

    // the same build again: the layout matches, nothing is dropped
    assert.equal((await tokenRequest(apache.port, '/tok/json-ok', codeBody, { headers: { Authorization: BASIC } })).status, 200);
    await waitFor(async () => (await statusJson(apache)).vhosts[0].counters.exchange_code === 1, { what: 'the exchange counted' });
    const again = await apache.graceful();
    assert.doesNotMatch(apache.errorLogSince(again), /ALX040[45]/);
    assert.equal((await statusJson(apache)).vhosts[0].counters.exchange_code, 1, 'kept');

    // and back to the other layout: dropped again
    skew(false);
    const back = await apache.graceful();
    assert.match(apache.errorLogSince(back), /ALX0404: /);
    assert.match(apache.errorLogSince(back), /ALX0405: /);
    assert.equal((await statusJson(apache)).vhosts[0].counters.exchange_code, 0);
  });
});

// SPEC "Refresh grace": a claim lives the proxy's timeout for its request
// (the worker's timeout=, else ProxyTimeout, else Timeout), plus a second;
// and a store that refuses a record (mod_socache_dbm keeps values below
// about 950 bytes) says why, and the request is still answered.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startApache, moduleMissingReason, MODDIR, MPM } from '../lib/apache.mjs';
import { finish } from '../lib/suite.mjs';
import { startRotating, graceLocation, refresh, assertTokenAnswer, tagLines, waitTag, graceClients, CLIENT_A } from '../lib/grace.mjs';

const A = () => [CLIENT_A, graceClients()[CLIENT_A]];

describe(`a claim lives the proxy's timeout for its request (${MPM})`, { skip: moduleMissingReason() }, () => {
  let up;
  let apache;
  before(async () => {
    up = await startRotating();
    apache = await startApache({
      serverConf: 'LogLevel alexalink:debug\nTimeout 30\n',
      locations: [
        graceLocation('/worker/', `${up.url}/opt/ttl=3600/ timeout=3`),
        graceLocation('/server/', `${up.url}/`),
      ].join(''),
    });
  });
  after(async () => { await finish({ apache, up }); });

  for (const [route, ms, what] of [['/worker/', 4000, 'the worker\'s timeout=3'], ['/server/', 31000, 'Timeout 30 (no ProxyTimeout, no timeout=)']]) {
    it(`${what}: claimed for ${ms} ms (ALX0217)`, async () => {
      const mark = apache.mark();
      const res = await refresh(apache.port, `${route}token`, up.issue(CLIENT_A).refresh_token, A());
      assertTokenAnswer(res);
      const lines = await waitTag(apache, mark, 'ALX0217', res);
      assert.match(lines[0], new RegExp(`ALX0217: refresh token claimed for ${ms} ms \\(the proxy's timeout for this request, and a second\\)`));
    });
  }
});

describe(`ProxyTimeout when the worker sets none (${MPM})`, { skip: moduleMissingReason() }, () => {
  let up;
  let apache;
  before(async () => {
    up = await startRotating();
    apache = await startApache({ serverConf: 'LogLevel alexalink:debug\nProxyTimeout 7\n', locations: graceLocation('/p/', `${up.url}/`) });
  });
  after(async () => { await finish({ apache, up }); });

  it('ProxyTimeout 7: claimed for 8000 ms', async () => {
    const mark = apache.mark();
    const res = await refresh(apache.port, '/p/token', up.issue(CLIENT_A).refresh_token, A());
    assertTokenAnswer(res);
    assert.match((await waitTag(apache, mark, 'ALX0217', res))[0], /claimed for 8000 ms/);
  });
});

describe(`a dbm store and a JWT-sized answer (${MPM})`, { skip: moduleMissingReason() }, () => {
  let up;
  let apache;
  before(async () => {
    up = await startRotating();
    apache = await startApache({
      serverConf: ({ dir }) => `LoadModule socache_dbm_module ${path.join(MODDIR, 'mod_socache_dbm.so')}\nAlexaLinkCache dbm:${dir}/edges.db\n`,
      locations: graceLocation('/jwt/', `${up.url}/opt/atlen=1200/`) + graceLocation('/small/', `${up.url}/`),
    });
  });
  after(async () => { await finish({ apache, up, allow: [/ALX0205: grace store \(dbm\) failed to write \(mod_socache_dbm keeps values below about 900 bytes only: use shmcb, or redis for a fleet\)/] }); });

  it('an answer dbm cannot hold: still answered 200, ALX0205 names the limit, nothing is replayed', async () => {
    const g = up.issue(CLIENT_A);
    const mark = apache.mark();
    const first = assertTokenAnswer(await refresh(apache.port, '/jwt/token', g.refresh_token, A()), 'the rotation');
    assert.equal(first.access_token.length, 1200);
    const lines = await waitTag(apache, mark, 'ALX0205');
    assert.match(lines[0], /\[alexalink:warn\].*failed to write \(mod_socache_dbm keeps values below about 900 bytes only/);
    const n = up.count();
    await refresh(apache.port, '/jwt/token', g.refresh_token, A());
    assert.equal(up.count(), n + 1, 'not recorded: the retry is the upstream\'s to decide');
  });

  it('a small answer on the same dbm store is recorded and replayed', async () => {
    const g = up.issue(CLIENT_A);
    const first = assertTokenAnswer(await refresh(apache.port, '/small/token', g.refresh_token, A()));
    const n = up.count();
    const again = assertTokenAnswer(await refresh(apache.port, '/small/token', g.refresh_token, A()));
    assert.equal(again.refresh_token, first.refresh_token);
    assert.equal(up.count(), n, 'answered from the dbm store');
    assert.equal(tagLines(apache.errorLog(), 'ALX0205').length, 1, 'only the JWT-sized write failed');
  });
});

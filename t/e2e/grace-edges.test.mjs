// SPEC "Refresh grace": a claim lives the proxy's timeout for its request
// (the worker's timeout=, else ProxyTimeout, else Timeout), plus a second;
// and on mod_socache_dbm, which refuses a value of 950 bytes or more with
// its key, a record is split over several keys and read back whole.
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
      locations: graceLocation('/jwt/', `${up.url}/opt/atlen=1200,rtlen=600/`)
        + graceLocation('/huge/', `${up.url}/opt/atlen=40000/`)
        + graceLocation('/small/', `${up.url}/`),
    });
  });
  after(async () => { await finish({ apache, up }); });

  for (const [route, atlen, what] of [['/jwt/', 1200, 'a JWT-sized answer (~2 KB, beyond one dbm value)'], ['/huge/', 40000, 'a 40 KB answer (dozens of dbm values)'], ['/small/', 40, 'a small answer']]) {
    it(`${what}: recorded and replayed whole, the upstream sees the token once`, async () => {
      const g = up.issue(CLIENT_A);
      const first = assertTokenAnswer(await refresh(apache.port, `${route}token`, g.refresh_token, A()), 'the rotation');
      assert.equal(first.access_token.length, atlen);
      const n = up.count();
      const again = assertTokenAnswer(await refresh(apache.port, `${route}token`, g.refresh_token, A()), 'the replay');
      assert.deepEqual(again.access_token, first.access_token);
      assert.equal(again.refresh_token, first.refresh_token);
      assert.equal(up.count(), n, 'answered from the dbm store');
      assert.equal(up.grantOf(g.refresh_token).revoked, false, 'grant not revoked');
      assert.equal(tagLines(apache.errorLog(), 'ALX0205').length, 0, 'no store failure');
    });
  }
});

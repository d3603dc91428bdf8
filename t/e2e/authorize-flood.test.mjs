// SPEC "Authorization endpoint": flows live in the store "apart from grace
// records, so flows never evict them". A flood of authorization requests
// (anyone can send them, with made-up state) against a store that holds
// only ~150 records must not push out a rotated refresh token's record.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApache, moduleMissingReason, MPM, expectLog } from '../lib/apache.mjs';
import { request } from '../lib/http.mjs';
import { finish } from '../lib/suite.mjs';
import { startRotating, graceLocation, refresh, assertTokenAnswer, assertSameTokens, graceClients, CLIENT_A } from '../lib/grace.mjs';
import { startLoginUpstream } from '../fixtures/login-upstream.mjs';

const SEGMENT = 65536;
const FLOWS = 2000;
const LINK = 'https://pitangui.amazon.com/api/skill/link/M2AAAAAAAAAAAA';

describe(`a flood of authorization flows never evicts a grace record (${MPM})`, { skip: moduleMissingReason() }, () => {
  let rot;
  let login;
  let apache;
  before(async () => {
    rot = await startRotating();
    login = await startLoginUpstream();
    apache = await startApache({
      serverConf: ({ dir }) => `AlexaLinkCache shmcb:${dir}/tiny(${SEGMENT})\n`,
      locations: `${graceLocation('/rot/', `${rot.url}/`)}ProxyPass /oauth/ ${login.url}/oauth/\n<Location /oauth/authorize>\n  AlexaLink authorize\n</Location>\n`,
    });
  });
  after(async () => {
    await finish({ apache, up: rot, also: [{ stop: () => login.close() }] });
  });

  it(`${FLOWS} flows from as many browsers, then the rotated token is still answered from the store`, async () => {
    const A = [CLIENT_A, graceClients()[CLIENT_A]];
    const grant = rot.issue(CLIENT_A);
    const first = assertTokenAnswer(await refresh(apache.port, '/rot/token', grant.refresh_token, A), 'the rotation');
    const m = apache.mark();
    for (let i = 0; i < FLOWS; i += 50) {
      const batch = Array.from({ length: 50 }, (_, k) => request({
        port: apache.port,
        path: `/oauth/authorize/keep?${new URLSearchParams({ response_type: 'code', client_id: 'alexa-skill', state: `made-up-${i + k}-${'s'.repeat(200)}`, redirect_uri: LINK })}`,
        headers: { 'User-Agent': `flood/${i + k}` },
      }));
      for (const res of await Promise.all(batch)) assert.equal(res.status, 302);
    }
    await expectLog(apache, m, ['ALX0310', 'ALX0311']); // the first flow: plain HTTP and the port, said once an hour
    const n = rot.count();
    const again = assertTokenAnswer(await refresh(apache.port, '/rot/token', grant.refresh_token, A), 'the retry after the flood');
    assert.equal(rot.count(), n, 'answered from the store: the upstream was not asked');
    assertSameTokens(again, first);
  });
});

// Authorization flows across a fleet: two Apache instances share one real
// redis-server, and (separately) one real memcached. The login page comes
// from server A, the form's POST lands on server B: B finds the flow A
// recorded and names the state its upstream dropped.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApache, moduleMissingReason, alx, MPM, expectLog, storeConf } from '../lib/apache.mjs';
import { request } from '../lib/http.mjs';
import { finish } from '../lib/suite.mjs';
import { SERVER_STORES } from '../lib/stores.mjs';
import { startLoginUpstream } from '../fixtures/login-upstream.mjs';
import { secret } from '../lib/secrets.mjs';

const LINK = 'https://pitangui.amazon.com/api/skill/link/M2AAAAAAAAAAAA';

for (const S of SERVER_STORES) {
  describe(`an authorization flow across two servers through ${S.name} (${MPM})`, { skip: moduleMissingReason() }, () => {
    let store;
    let up;
    let a;
    let b;
    before(async () => {
      store = await S.start();
      up = await startLoginUpstream();
      const serverConf = storeConf(store);
      const locations = `ProxyPass /oauth/ ${up.url}/oauth/\n<Location /oauth/authorize>\n  AlexaLink authorize\n  AlexaLinkDomainList cdn.example.com\n</Location>\n`;
      a = await startApache({ locations, serverConf });
      b = await startApache({ locations, serverConf });
    });
    after(async () => {
      try {
        await finish({ apache: a });
      } finally {
        await finish({ apache: b, up, also: [store] });
      }
    });

    it('the login page from A, the POST to B: B names the dropped state of the flow A recorded', async () => {
      const state = secret(`fleet state ${S.name}`);
      const ua = `fleet-browser/${S.name}`;
      const q = new URLSearchParams({ response_type: 'code', client_id: 'alexa-skill', state, redirect_uri: LINK });
      const mA = a.mark();
      const page = await request({ port: a.port, path: `/oauth/authorize/page/clean?${q}&next=drop`, headers: { 'User-Agent': ua } });
      assert.equal(page.status, 200);
      await expectLog(a, mA, ['ALX0310', 'ALX0311']); // A's first Alexa request: plain HTTP and the port
      const cookie = page.headers['set-cookie'][0].split(';')[0];
      const m = b.mark();
      const res = await request({ port: b.port, method: 'POST', path: '/oauth/authorize/login/drop', headers: { 'User-Agent': ua, Cookie: cookie, 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'user=u&password=p' });
      assert.equal(res.status, 302);
      const log = await b.waitErrorLog(alx('ALX0308'), m);
      await expectLog(b, m, ['ALX0302']);
      assert.match(log, /ALX0302: the redirect back to Alexa \(region NA, code flow\) dropped the state .*later step of the login/);
      assert.match(log, /ALX0308: .*state=dropped/);
    });

    it('another browser\'s POST finds no flow: nothing expected, nothing said about state', async () => {
      const q = new URLSearchParams({ response_type: 'code', client_id: 'alexa-skill', state: secret('fleet other state'), redirect_uri: LINK });
      const page = await request({ port: a.port, path: `/oauth/authorize/page/clean?${q}&next=drop`, headers: { 'User-Agent': 'browser-one' } });
      const cookie = page.headers['set-cookie'][0].split(';')[0];
      const m = b.mark();
      await request({ port: b.port, method: 'POST', path: '/oauth/authorize/login/drop', headers: { 'User-Agent': 'browser-two', Cookie: cookie, 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'u=1' });
      const log = await b.waitErrorLog(alx('ALX0308'), m);
      assert.match(log, /ALX0308: .*state=- /);
      assert.doesNotMatch(log, alx('ALX0302'));
    });
  });
}

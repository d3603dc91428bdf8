// SPEC "Authorization endpoint and login pages", the flows the module
// records between the steps of a login, on every store: implicit tokens
// move to the fragment on every redirect of an implicit flow (a later login
// step, a request without state), two flows from one browser key (address
// and User-Agent) are told apart by their state, and the flows store holds
// no readable state or client id (SPEC "Refresh grace", last paragraph):
// the default shmcb segment (or the dbm file under ALX_CACHE=dbm), a real
// redis and a real memcached are dumped and searched.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { startApache, alx, moduleMissingReason, CACHE, MPM, expectLog, storeConf } from '../lib/apache.mjs';
import { request, params } from '../lib/http.mjs';
import { finish } from '../lib/suite.mjs';
import { SERVER_STORES, sharedMappings, tokenForms } from '../lib/stores.mjs';
import { statusJson, statusLocations } from '../lib/status.mjs';
import { startLoginUpstream, LOGIN_TOKEN, LOGIN_CODE } from '../fixtures/login-upstream.mjs';
import { secret, registerSecret } from '../lib/secrets.mjs';

const LINK = 'https://pitangui.amazon.com/api/skill/link/M2AAAAAAAAAAAA';
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };
// compares without printing the values (tokens, states) when they differ
const same = (actual, expected, what) => assert.ok(actual === expected, what);

const STORES = [
  // under ALX_CACHE=dbm the default store is a dbm file (t/lib/apache.mjs)
  { name: CACHE === 'dbm' ? 'dbm (ALX_CACHE)' : 'shmcb (default)', serverConf: () => '' },
  ...SERVER_STORES.map((S) => ({ ...S, serverConf: storeConf })),
];

// Bytes that a query escapes ('+', '/', '=', ' '): their raw form is in no
// request line, so finding it in shared memory means the store holds it.
const stateOf = (label) => registerSecret(`${secret(label).slice(0, 24)}+/=`, label);
const clientOf = (label) => `flows client/${secret(label).slice(0, 12)}`;

function query({ state, client = 'alexa-skill', responseType = 'code' }) {
  const p = { response_type: responseType, client_id: client, redirect_uri: LINK };
  if (state !== undefined) p.state = state;
  return new URLSearchParams(p).toString();
}

// The hash the flows store keeps of a state (lib/alx_flowrec.c): a record
// of it in the dump shows the flow is there, in no readable form.
const stateHash = (state) => createHash('sha256').update('alexalink flow state v1\0').update(state).digest('hex').slice(0, 32);

const failedFlows = (j) => j.vhosts.reduce((n, v) => n + v.counters.flow_na_failed + v.counters.flow_eu_failed + v.counters.flow_fe_failed + v.counters.flow_other_failed, 0);
const allFlows = (j) => j.vhosts.reduce((n, v) => n + Object.entries(v.counters).filter(([k]) => /^flow_/.test(k)).reduce((a, [, c]) => a + c, 0), 0);
const stateProblems = (j) => j.vhosts.reduce((n, v) => n + v.counters.state_changed + v.counters.state_dropped, 0);

for (const S of STORES) {
  describe(`authorization flows on ${S.name} (${MPM})`, { skip: moduleMissingReason() }, () => {
    let store;
    let up;
    let apache;
    const stored = []; // [{ state, client }] recorded by the tests
    before(async () => {
      if (S.start) store = await S.start();
      up = await startLoginUpstream();
      apache = await startApache({
        serverConf: S.serverConf(store),
        locations: `ProxyPass /oauth/ ${up.url}/oauth/
ProxyPass /report/ ${up.url}/oauth/authorize/
<Location /oauth/authorize>
  AlexaLink authorize
  AlexaLinkDomainList cdn.example.com
  AlexaLinkMinTTL 600
</Location>
<Location /report/>
  AlexaLink authorize
  AlexaLinkDomainList cdn.example.com
  AlexaLinkMode report
</Location>
${statusLocations()}`,
      });
    });
    after(async () => {
      await finish({ apache, up, also: [store] });
    });

    // The login page (records the flow), then its form's POST, which carries
    // no state: the redirect answers a later step of the login.
    async function login({ prefix = '/oauth/authorize', state, client = 'alexa-skill', responseType = 'code', ua, next }) {
      stored.push({ state, client });
      const page = await request({ port: apache.port, path: `${prefix}/page/clean?${query({ state, client, responseType })}&next=${next}`, headers: { 'User-Agent': ua } });
      assert.equal(page.status, 200);
      return page.headers['set-cookie'][0].split(';')[0];
    }
    function post(prefix, next, ua, cookie) {
      return request({ port: apache.port, method: 'POST', path: `${prefix}/login/${next}`, headers: { 'User-Agent': ua, Cookie: cookie, ...FORM }, body: 'user=u&password=p' });
    }

    it('a later login step of an implicit flow: the tokens in its redirect\'s query move to the fragment', async () => {
      const state = stateOf(`implicit later ${S.name}`);
      const ua = `implicit-later/${S.name}`;
      const m0 = apache.mark();
      const cookie = await login({ state, responseType: 'token', ua, next: 'implicit' });
      // the vhost's first Alexa request: plain HTTP and the port, said once an hour
      await expectLog(apache, m0, ['ALX0310', 'ALX0311']);
      const m = apache.mark();
      const res = await post('/oauth/authorize', 'implicit', ua, cookie);
      assert.equal(res.status, 302);
      const { url, query: q, fragment } = params(res.headers.location);
      same(q.access_token, undefined, 'no token left in the query');
      same(url.search, '', 'nothing left in the query');
      same(fragment.access_token, LOGIN_TOKEN, 'the token in the fragment');
      assert.equal(fragment.token_type, 'Bearer');
      same(fragment.state, state, 'state moved with them, as sent');
      assert.equal(fragment.expires_in, '600', 'raised to AlexaLinkMinTTL');
      const log = await apache.waitErrorLog(alx('ALX0308'), m);
      await expectLog(apache, m, ['ALX0306']);
      assert.match(log, /ALX0306: implicit-grant token parameters in the query .*Moved to the fragment/);
      assert.match(log, /ALX0308: .*flow=implicit state=kept ttl=60 \(raised to AlexaLinkMinTTL\)/);
    });

    it('an implicit flow whose request carries no state: the tokens move to the fragment', async () => {
      const m = apache.mark();
      const res = await request({ port: apache.port, path: `/oauth/authorize/implicit-query?${query({ responseType: 'token' })}`, headers: { 'User-Agent': `implicit-stateless/${S.name}` } });
      assert.equal(res.status, 302);
      const { url, fragment } = params(res.headers.location);
      same(url.search, '', 'nothing left in the query');
      same(fragment.access_token, LOGIN_TOKEN, 'the token in the fragment');
      same(fragment.state, undefined, 'no state');
      const log = await apache.waitErrorLog(alx('ALX0308'), m);
      await expectLog(apache, m, ['ALX0301', 'ALX0306']);
      assert.match(log, /ALX0306: .*Moved to the fragment/);
    });

    it('report mode: the implicit tokens of a later step are named, not moved', async () => {
      const state = stateOf(`implicit report ${S.name}`);
      const ua = `implicit-report/${S.name}`;
      const cookie = await login({ prefix: '/report', state, responseType: 'token', ua, next: 'implicit' });
      const m = apache.mark();
      const res = await post('/report', 'implicit', ua, cookie);
      same(params(res.headers.location).query.access_token, LOGIN_TOKEN, 'left in the query');
      const log = await apache.waitErrorLog(alx('ALX0308'), m);
      await expectLog(apache, m, ['ALX0306']);
      assert.match(log, /ALX0306: .*Not moved/);
    });

    it('two flows from one address and User-Agent: each later step is judged by its own state, nothing failed', async () => {
      const ua = `shared-browser/${S.name}`;
      const first = stateOf(`shared first ${S.name}`);
      const second = stateOf(`shared second ${S.name}`);
      const cookieA = await login({ state: first, client: clientOf(`shared first ${S.name}`), ua, next: 'keep' });
      const cookieB = await login({ state: second, client: clientOf(`shared second ${S.name}`), ua, next: 'keep' });
      const before = await statusJson(apache);
      const m = apache.mark();
      const a = await post('/oauth/authorize', 'keep', ua, cookieA);
      same(params(a.headers.location).query.state, first, 'the first state kept');
      same(params(a.headers.location).query.code, LOGIN_CODE, 'the code');
      const log = await apache.waitErrorLog(alx('ALX0308'), m);
      assert.doesNotMatch(log, alx('ALX0302'), 'no "state changed" for the first customer');
      assert.match(log, /ALX0308: .*flow=code state=kept/);
      const m2 = apache.mark();
      const b = await post('/oauth/authorize', 'keep', ua, cookieB);
      same(params(b.headers.location).query.state, second, 'the second state kept');
      assert.match(await apache.waitErrorLog(alx('ALX0308'), m2), /state=kept/);
      const after = await statusJson(apache);
      assert.equal(failedFlows(after), failedFlows(before), 'no failed flow counted');
      assert.equal(stateProblems(after), stateProblems(before), 'no state problem counted');
      assert.equal(allFlows(after), allFlows(before) + 2, 'both counted as flows that went well');
    });

    it('two flows from one browser key and a state that is neither: said at info, counted nowhere', async () => {
      const ua = `ambiguous-browser/${S.name}`;
      const cookie = await login({ state: stateOf(`ambiguous first ${S.name}`), ua, next: 'change' });
      await login({ state: stateOf(`ambiguous second ${S.name}`), ua, next: 'keep' });
      const before = await statusJson(apache);
      const m = apache.mark();
      const res = await post('/oauth/authorize', 'change', ua, cookie);
      assert.equal(res.status, 302);
      const log = await apache.waitErrorLog(alx('ALX0308'), m);
      assert.doesNotMatch(log, alx('ALX0302'));
      assert.match(log, /\[alexalink:info\] .*ALX0316: .*2 Alexa flows/);
      assert.match(log, /ALX0308: .*flow=code state=ambiguous/);
      const after = await statusJson(apache);
      assert.equal(allFlows(after), allFlows(before), 'neither a failed nor a good flow');
      assert.equal(stateProblems(after), stateProblems(before));
    });

    it('one flow for the browser key and a changed state is still an error', async () => {
      const ua = `changed-browser/${S.name}`;
      const cookie = await login({ state: stateOf(`changed ${S.name}`), ua, next: 'change' });
      const before = await statusJson(apache);
      const m = apache.mark();
      await post('/oauth/authorize', 'change', ua, cookie);
      const log = await apache.waitErrorLog(alx('ALX0308'), m);
      await expectLog(apache, m, ['ALX0302']);
      assert.match(log, /ALX0302: .*changed the state.*later step/);
      const after = await statusJson(apache);
      assert.equal(failedFlows(after), failedFlows(before) + 1);
    });

    it('a dump of the flows store holds no state and no client id', async () => {
      const state = stateOf(`dumped ${S.name}`);
      const client = clientOf(`dumped ${S.name}`);
      await login({ state, client, ua: `dumped/${S.name}`, next: 'keep' });
      assert.ok(stored.length >= 6);
      const needles = stored.flatMap(({ state: st, client: c }) => [st, c]).filter((v) => v && v !== 'alexa-skill');
      let bufs;
      let formsOf = (v) => tokenForms(v);
      if (!store && CACHE === 'dbm') {
        const files = readdirSync(apache.dir).filter((f) => f.startsWith('alexalink-grace.db-flows'));
        assert.ok(files.length >= 1, 'the flows\' dbm file');
        bufs = files.map((f) => readFileSync(path.join(apache.dir, f)));
      } else if (!store) {
        // the whole shared memory of the parent, scoreboard included: only
        // the raw forms, which no request line carries
        bufs = sharedMappings(apache.pid).map((mp) => mp.data);
        formsOf = (v) => [Buffer.from(v)];
      } else {
        const dump = await store.dump();
        bufs = dump.flatMap((e) => [Buffer.from(e.key), e.value]);
      }
      const found = needles.filter((v) => formsOf(v).some((f) => bufs.some((b) => b.includes(f))));
      assert.deepEqual(found.map((v) => (v.startsWith('flows client/') ? 'a client id' : 'a state')), [], 'no state or client id in the flows store');
      assert.ok(bufs.some((b) => b.includes(Buffer.from(stateHash(state)))), 'the flow is there, by the hash of its state');
    });
  });
}

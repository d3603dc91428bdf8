// SPEC "Authorization endpoint and login pages": AlexaLink authorize in
// front of a login server (t/fixtures/login-upstream.mjs) that keeps, drops
// or changes state, puts implicit tokens in the query, ends in error=, and
// serves login pages with external content and popups, whole, a few bytes
// at a time, or gzip-encoded.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApache, alx, moduleMissingReason, freePort, expectLog, tagCount } from '../lib/apache.mjs';
import { request, params } from '../lib/http.mjs';
import { finish } from '../lib/suite.mjs';
import { startLoginUpstream, LOGIN_CODE, LOGIN_TOKEN } from '../fixtures/login-upstream.mjs';
import { secret, registerSecret } from '../lib/secrets.mjs';

const VENDOR = 'M2AAAAAAAAAAAA';
const LINK = {
  NA: `https://pitangui.amazon.com/api/skill/link/${VENDOR}`,
  EU: `https://layla.amazon.com/api/skill/link/${VENDOR}`,
  FE: `https://alexa.amazon.co.jp/api/skill/link/${VENDOR}`,
};
const SPA = `https://pitangui.amazon.com/spa/skill/account-linking-status.html?vendorId=${VENDOR}`;
// a state with bytes that need escaping, as Alexa's opaque values may
const STATE = registerSecret(`${secret('alexa state').slice(0, 24)}+/=`, 'alexa state');
const UA = 'Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36 AlexaApp';

function authorizeQuery({ redirectUri = LINK.NA, state = STATE, responseType = 'code', extra = {} } = {}) {
  const p = { response_type: responseType, client_id: 'alexa-skill', scope: 'profile', redirect_uri: redirectUri, ...extra };
  if (state !== null) p.state = state;
  return new URLSearchParams(p).toString();
}

function get(apache, path, headers = {}) {
  return request({ port: apache.port, path, headers: { Host: 'login.example', 'User-Agent': UA, ...headers } });
}

describe('AlexaLink authorize', { skip: moduleMissingReason() }, () => {
  let up;
  let apache;
  before(async () => {
    up = await startLoginUpstream();
    apache = await startApache({
      serverConf: 'LoadModule alias_module /usr/lib/apache2/modules/mod_alias.so\nLoadModule deflate_module /usr/lib/apache2/modules/mod_deflate.so\nLoadModule filter_module /usr/lib/apache2/modules/mod_filter.so\n',
      locations: `ProxyPass /oauth/ ${up.url}/oauth/
ProxyPass /offline/ ${up.url}/oauth/authorize/
ProxyPass /report/ ${up.url}/oauth/authorize/
ProxyPass /plain/ ${up.url}/oauth/authorize/
<Location /oauth/authorize>
  AlexaLink authorize
  AlexaLinkDomainList cdn.example.com
  AlexaLinkMinTTL 600
</Location>
<Location /oauth/authorize/alias>
  # mod_alias answers itself; a target with a query gets no state appended
  RedirectMatch 302 . ${LINK.NA}?code=from-alias
</Location>
<Location /offline/>
  AlexaLink authorize
  AlexaLinkForceOffline On
</Location>
ProxyPass /offline-oidc/ ${up.url}/oauth/authorize/
<Location /offline-oidc/>
  AlexaLink authorize
  AlexaLinkForceOffline oidc
</Location>
ProxyPass /offline-both/ ${up.url}/oauth/authorize/
<Location /offline-both/>
  AlexaLink authorize
  AlexaLinkForceOffline both
</Location>
ProxyPass /custom/ ${up.url}/oauth/authorize/
<Location /custom/>
  AlexaLink authorize
  # the list replaces the default three
  AlexaLinkRedirectHosts alexa.example.test pitangui.amazon.com
  AlexaLinkDomainList *.example.org fonts.example.net
</Location>
ProxyPass /inflated/ ${up.url}/oauth/authorize/
<Location /inflated/>
  AlexaLink authorize
  SetOutputFilter INFLATE
</Location>
<Location /report/>
  AlexaLink authorize
  AlexaLinkMode report
</Location>
`,
    });
  });
  after(async () => {
    // this Apache listens on plain HTTP and a port other than 443: it says
    // so once (once an hour per vhost); state problems and findings are
    // what the tests provoke
    const logs = await finish({ apache, up });
    assert.equal(tagCount(logs.errorLog, 'ALX0310'), 1, 'plain HTTP is said once per vhost');
    assert.equal(tagCount(logs.errorLog, 'ALX0311'), 1, 'the port is said once per vhost');
  });

  for (const [region, uri] of Object.entries(LINK)) {
    it(`a code flow that keeps state passes unchanged (${region})`, async () => {
      const m = apache.mark();
      const res = await get(apache, `/oauth/authorize/keep?${authorizeQuery({ redirectUri: uri })}`);
      assert.equal(res.status, 302);
      // the vhost's first Alexa request: plain HTTP and the port, said once an hour
      if (region === Object.keys(LINK)[0]) await expectLog(apache, m, ['ALX0310', 'ALX0311']);
      const { url, query } = params(res.headers.location);
      assert.equal(`${url.origin}${url.pathname}`, uri);
      assert.equal(query.state, STATE);
      assert.equal(query.code, LOGIN_CODE);
      const log = await apache.waitErrorLog(alx('ALX0308'), m);
      assert.match(log, new RegExp(`ALX0300: Alexa authorization flow: region=${region} response_type=code client=alexa-skill state=present`));
      assert.match(log, new RegExp(`ALX0308: authorization redirect back to Alexa: region=${region} form=link flow=code state=kept`));
      assert.doesNotMatch(log, alx('ALX0302'));
    });
  }

  it('a dropped state is restored on the redirect that answers the request carrying it', async () => {
    const m = apache.mark();
    const res = await get(apache, `/oauth/authorize/drop?${authorizeQuery()}`);
    const { query } = params(res.headers.location);
    assert.equal(query.state, STATE, 'state put back');
    assert.equal(query.code, LOGIN_CODE);
    const log = await apache.waitErrorLog(alx('ALX0308'), m);
    await expectLog(apache, m, ['ALX0302']);
    assert.match(log, /ALX0302: the redirect back to Alexa \(region NA, code flow\) dropped the state Alexa sent; .*Restored from the request/);
    assert.match(log, /state=dropped/);
  });

  it('a changed state is restored', async () => {
    const m = apache.mark();
    const res = await get(apache, `/oauth/authorize/change?${authorizeQuery({ redirectUri: LINK.EU })}`);
    assert.equal(params(res.headers.location).query.state, STATE);
    const log = await apache.waitErrorLog(alx('ALX0308'), m);
    await expectLog(apache, m, ['ALX0302']);
    assert.match(log, /ALX0302: the redirect back to Alexa \(region EU, code flow\) changed the state/);
  });

  it('the older redirect form (spa, with vendorId) keeps its query and gets state back', async () => {
    const m = apache.mark();
    const res = await get(apache, `/oauth/authorize/drop?${authorizeQuery({ redirectUri: SPA })}`);
    const { url, query } = params(res.headers.location);
    assert.equal(url.pathname, '/spa/skill/account-linking-status.html');
    assert.equal(query.vendorId, VENDOR);
    assert.equal(query.code, LOGIN_CODE);
    assert.equal(query.state, STATE);
    const log = await apache.waitErrorLog(alx('ALX0308'), m);
    await expectLog(apache, m, ['ALX0302']);
    assert.match(log, /form=spa flow=code state=dropped/);
  });

  it('a redirect Apache answers itself (mod_alias) is checked and fixed too', async () => {
    const m = apache.mark();
    const res = await get(apache, `/oauth/authorize/alias?${authorizeQuery()}`);
    assert.equal(res.status, 302);
    const { query } = params(res.headers.location);
    assert.equal(query.code, 'from-alias');
    assert.equal(query.state, STATE);
    const log = await apache.waitErrorLog(alx('ALX0308'), m);
    await expectLog(apache, m, ['ALX0302']);
    assert.match(log, /flow=code state=dropped/);
  });

  it('report mode logs a dropped state and leaves the Location alone', async () => {
    const m = apache.mark();
    const res = await get(apache, `/report/drop?${authorizeQuery()}`);
    assert.equal(params(res.headers.location).query.state, undefined);
    const log = await apache.waitErrorLog(alx('ALX0308'), m);
    await expectLog(apache, m, ['ALX0302']);
    assert.match(log, /ALX0302: .*dropped.*Not restored \(AlexaLinkMode report\)/);
  });

  it('implicit-grant tokens in the query move to the fragment, expires_in raised to the floor', async () => {
    const m = apache.mark();
    const res = await get(apache, `/oauth/authorize/implicit-query?${authorizeQuery({ responseType: 'token' })}`);
    const { url, query, fragment } = params(res.headers.location);
    assert.equal(url.search, '', 'nothing left in the query');
    assert.deepEqual(query, {});
    assert.equal(fragment.access_token, LOGIN_TOKEN);
    assert.equal(fragment.token_type, 'Bearer');
    assert.equal(fragment.state, STATE);
    assert.equal(fragment.expires_in, '600');
    const log = await apache.waitErrorLog(alx('ALX0308'), m);
    await expectLog(apache, m, ['ALX0306']);
    assert.match(log, /ALX0306: implicit-grant token parameters in the query .*Moved to the fragment/);
    assert.match(log, /flow=implicit state=kept ttl=60 \(raised to AlexaLinkMinTTL\)/);
  });

  it('implicit-grant tokens already in the fragment pass unchanged', async () => {
    const m = apache.mark();
    const res = await get(apache, `/oauth/authorize/implicit-fragment?${authorizeQuery({ responseType: 'token' })}`);
    const { fragment } = params(res.headers.location);
    assert.equal(fragment.access_token, LOGIN_TOKEN);
    assert.equal(fragment.expires_in, '3600');
    const log = await apache.waitErrorLog(alx('ALX0308'), m);
    assert.doesNotMatch(log, alx('ALX0306'));
  });

  it('an error= redirect is logged with its code', async () => {
    const m = apache.mark();
    const res = await get(apache, `/oauth/authorize/error?${authorizeQuery({ redirectUri: LINK.FE })}`);
    assert.equal(params(res.headers.location).query.error, 'access_denied');
    const log = await apache.waitErrorLog(alx('ALX0308'), m);
    await expectLog(apache, m, ['ALX0307']);
    assert.match(log, /ALX0307: the login ended with error=access_denied sent back to Alexa \(region FE\)/);
    assert.match(log, /flow=error state=kept/);
  });

  it('a second login step that drops state is found by the recorded flow and logged', async () => {
    const page = await get(apache, `/oauth/authorize/page/clean?${authorizeQuery()}&next=drop`);
    assert.equal(page.status, 200);
    const cookie = page.headers['set-cookie'][0].split(';')[0];
    const m = apache.mark();
    const res = await request({ port: apache.port, method: 'POST', path: '/oauth/authorize/login/drop', headers: { Host: 'login.example', 'User-Agent': UA, Cookie: cookie, 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'user=u&password=p' });
    assert.equal(res.status, 302);
    assert.equal(params(res.headers.location).query.state, undefined, 'a later step is not rewritten');
    const log = await apache.waitErrorLog(alx('ALX0308'), m);
    await expectLog(apache, m, ['ALX0302']);
    assert.match(log, /ALX0302: .*dropped the state.*Not restored: this is a later step of the login/);
  });

  it('a second login step that keeps state is found and says kept', async () => {
    const page = await get(apache, `/oauth/authorize/page/clean?${authorizeQuery({ redirectUri: LINK.EU })}&next=keep`);
    const cookie = page.headers['set-cookie'][0].split(';')[0];
    const m = apache.mark();
    const res = await request({ port: apache.port, method: 'POST', path: '/oauth/authorize/login/keep', headers: { Host: 'login.example', 'User-Agent': UA, Cookie: cookie, 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'user=u&password=p' });
    assert.equal(params(res.headers.location).query.state, STATE);
    const log = await apache.waitErrorLog(alx('ALX0308'), m);
    assert.match(log, /region=EU form=link flow=code state=kept/);
    assert.doesNotMatch(log, alx('ALX0302'));
  });

  it('AlexaLinkForceOffline adds access_type=offline and prompt=consent upstream', async () => {
    const n = up.count();
    const res = await get(apache, `/offline/keep?${authorizeQuery({ extra: { prompt: 'login' } })}`);
    assert.equal(res.status, 302);
    const seen = up.since(n).at(-1);
    const q = new URL(seen.url, 'http://x').searchParams;
    assert.equal(q.get('access_type'), 'offline');
    assert.deepEqual(q.getAll('prompt'), ['consent']);
    assert.equal(q.get('state'), STATE, 'the rest of the query as sent');
  });

  const PKCE = { code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' };

  it('AlexaLinkForceOffline oidc adds offline_access to scope once, PKCE untouched', async () => {
    const n = up.count();
    const m = apache.mark();
    const res = await get(apache, `/offline-oidc/keep?${authorizeQuery({ extra: { scope: 'openid profile', ...PKCE } })}`);
    assert.equal(res.status, 302);
    const seen = up.since(n).at(-1);
    const q = new URL(seen.url, 'http://x').searchParams;
    assert.deepEqual(q.getAll('scope'), ['openid profile offline_access']);
    assert.equal(q.get('code_challenge'), PKCE.code_challenge);
    assert.equal(q.get('code_challenge_method'), 'S256');
    assert.equal(q.get('access_type'), null, 'oidc alone adds nothing of Google\'s');
    assert.equal(q.get('state'), STATE, 'the rest of the query as sent');
    const log = await apache.waitErrorLog(alx('ALX0313'), m);
    assert.match(log, /ALX0313: offline_access in scope added to the authorization request/);
    const n2 = up.count();
    await get(apache, `/offline-oidc/keep?${authorizeQuery({ extra: { scope: 'openid offline_access' } })}`);
    assert.deepEqual(new URL(up.since(n2).at(-1).url, 'http://x').searchParams.getAll('scope'), ['openid offline_access'],
      'already asked: left as it came');
  });

  it('AlexaLinkForceOffline oidc creates a scope when the request has none', async () => {
    const n = up.count();
    const bare = new URLSearchParams(authorizeQuery());
    bare.delete('scope');
    await get(apache, `/offline-oidc/keep?${bare}`);
    assert.deepEqual(new URL(up.since(n).at(-1).url, 'http://x').searchParams.getAll('scope'), ['offline_access']);
  });

  it('AlexaLinkForceOffline both asks both ways', async () => {
    const n = up.count();
    const m = apache.mark();
    await get(apache, `/offline-both/keep?${authorizeQuery({ extra: { scope: 'openid' } })}`);
    const q = new URL(up.since(n).at(-1).url, 'http://x').searchParams;
    assert.deepEqual(q.getAll('scope'), ['openid offline_access']);
    assert.equal(q.get('access_type'), 'offline');
    assert.deepEqual(q.getAll('prompt'), ['consent']);
    const log = await apache.waitErrorLog(alx('ALX0313'), m);
    assert.match(log, /ALX0313: access_type=offline and prompt=consent; offline_access in scope added/);
  });

  it('a request that is not an Alexa flow is not touched', async () => {
    const n = up.count();
    const other = 'https://client.example.com/cb';
    const res = await get(apache, `/offline/drop?${authorizeQuery({ redirectUri: other })}`);
    assert.equal(params(res.headers.location).query.state, undefined);
    const seen = up.since(n).at(-1);
    assert.equal(new URL(seen.url, 'http://x').searchParams.get('access_type'), null);
  });

  const findings = [
    ['scripts.evil.example', 'script src'],
    ['fonts.example.net', 'link href'],
    ['styles.example.org', 'css @import'],
    ['img.example.org', 'css url'],
    ['inline.example.org', 'css url'],
    ['srcset.example.org', 'img srcset'],
    ['post.example.org', 'form action'],
  ];
  for (const kind of ['page', 'stream']) {
    it(`a login page's external hosts are reported once per host (${kind === 'stream' ? '3 bytes at a time' : 'whole'})`, async () => {
      const m = apache.mark();
      // the streamed page names other hosts: the whole one's are said already
      const tag = kind === 'stream' ? 'streamed' : null;
      const host = (h) => (tag ? h.replace(/example\.(org|net)|evil\.example/, (x) => `${tag}.${x}`) : h);
      const path = `/oauth/authorize/${kind}/external?${authorizeQuery()}${tag ? `&tag=${tag}` : ''}`;
      const res = await get(apache, path);
      assert.equal(res.status, 200);
      assert.match(res.text, /Scripts\.(streamed\.)?Evil\.Example/, 'the page itself passes');
      const log = await expectLog(apache, m, ['ALX0304', new RegExp(`ALX0304: .*${host('post.example.org').replace(/\./g, '\\.')}`)]);
      for (const [h, where] of findings) {
        const name = host(h);
        assert.equal(tagCount(log.split('\n').filter((l) => l.includes(` ${name} (`)).join('\n'), 'ALX0304'), 1, `${name} said once`);
        assert.match(log, new RegExp(`ALX0304: the login page /oauth/authorize/${kind}/external pulls content from ${name.replace(/\./g, '\\.')} \\(${where}\\)`));
      }
      assert.doesNotMatch(log, /cdn\.example\.com/, 'a listed domain is not reported');
      assert.doesNotMatch(log, /commented\.example\.com/, 'a comment is not content');
      assert.doesNotMatch(log, /login\.example /, 'the page\'s own host is not reported');
    });
  }

  it('the same page again says nothing new', async () => {
    const m = apache.mark();
    await get(apache, `/oauth/authorize/page/external?${authorizeQuery()}`);
    await get(apache, `/oauth/authorize/keep?${authorizeQuery()}`);
    await apache.waitErrorLog(alx('ALX0308'), m);
    assert.doesNotMatch(apache.errorLogSince(m), alx('ALX0304'));
  });

  it('a relative URL under an external <base href> is reported with the base host', async () => {
    const m = apache.mark();
    await get(apache, `/oauth/authorize/page/based?${authorizeQuery()}`);
    await expectLog(apache, m, [/ALX0304: .*base\.example\.org/]);
  });

  it('popups are reported: target=_blank and window.open', async () => {
    const m = apache.mark();
    await get(apache, `/oauth/authorize/page/popup?${authorizeQuery()}`);
    const log = await expectLog(apache, m, [/ALX0305: .*\(target=_blank/, /ALX0305: .*\(window\.open/]);
    assert.match(log, /ALX0305: the login page \/oauth\/authorize\/page\/popup opens a popup \(target=_blank/);
    assert.match(log, /ALX0305: the login page \/oauth\/authorize\/page\/popup opens a popup \(window\.open/);
  });

  it('a gzip-encoded page passes byte for byte and is skipped with a reason', async () => {
    const m = apache.mark();
    const res = await get(apache, `/oauth/authorize/gzip/popup?${authorizeQuery()}`, { 'Accept-Encoding': 'gzip' });
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.equal(res.body[0], 0x1f, 'still gzip');
    const log = await apache.waitErrorLog(alx('ALX0309'), m);
    assert.match(log, /ALX0309: login page \/oauth\/authorize\/gzip\/popup not scanned for domains and popups: it comes gzip-encoded/);
  });

  it('AlexaLinkRedirectHosts: a host of your own is an Alexa flow (region other), and the list replaces the default hosts', async () => {
    const m = apache.mark();
    const own = await get(apache, `/custom/drop?${authorizeQuery({ redirectUri: 'https://alexa.example.test/cb' })}`);
    assert.equal(params(own.headers.location).query.state, STATE, 'restored for the listed host');
    const log = await apache.waitErrorLog(alx('ALX0308'), m);
    await expectLog(apache, m, ['ALX0302']); // restored for the listed host
    assert.match(log, /ALX0300: Alexa authorization flow: region=other/);
    assert.match(log, /ALX0308: authorization redirect back to Alexa: region=other form=link flow=code state=dropped/);
    const m2 = apache.mark();
    const eu = await get(apache, `/custom/drop?${authorizeQuery({ redirectUri: LINK.EU })}`);
    assert.equal(params(eu.headers.location).query.state, undefined, 'layla is not in this location\'s list');
    await get(apache, `/oauth/authorize/keep?${authorizeQuery()}`);
    await apache.waitErrorLog(alx('ALX0308'), m2);
    assert.doesNotMatch(apache.errorLogSince(m2), /region=EU/);
  });

  it('AlexaLinkDomainList: *.example.org covers its subdomains, an exact entry only itself', async () => {
    const m = apache.mark();
    await get(apache, `/custom/page/external?${authorizeQuery()}&tag=wild`);
    const log = await expectLog(apache, m, [/ALX0304: .*scripts\.wild\.evil\.example/, /ALX0304: .*fonts\.wild\.example\.net/, /ALX0304: .*cdn\.example\.com \(a href\)/]);
    assert.doesNotMatch(apache.errorLogSince(m), /ALX0304: .*wild\.example\.org/, 'subdomains of example.org are listed');
    assert.ok(log);
  });

  it('a page gzip-encoded upstream is scanned after mod_deflate\'s INFLATE', async () => {
    const m = apache.mark();
    const res = await get(apache, `/inflated/gzip/external?${authorizeQuery()}&tag=inflated`, { 'Accept-Encoding': 'gzip' });
    assert.equal(res.headers['content-encoding'], undefined, 'INFLATE sent it plain');
    assert.match(res.text, /Scripts\.inflated\.Evil\.Example/);
    await expectLog(apache, m, ['ALX0304', /ALX0304: .*scripts\.inflated\.evil\.example \(script src\)/, /ALX0304: .*post\.inflated\.example\.org/]);
    assert.doesNotMatch(apache.errorLogSince(m), /ALX0309: login page \/inflated/);
  });

  it('an upstream that dies halfway through a login page: what arrived is scanned, no child dies', async () => {
    const m = apache.mark();
    await get(apache, `/oauth/authorize/cut/external?${authorizeQuery()}&tag=cut`).catch(() => null);
    // what arrived names four hosts; mod_proxy says the body was cut
    await expectLog(apache, m, ['ALX0304', /ALX0304: .*scripts\.cut\.evil\.example/, /ALX0304: .*img\.cut\.example\.org/, 'AH01110']);
    const after = await get(apache, `/oauth/authorize/keep?${authorizeQuery()}`);
    assert.equal(after.status, 302, 'the server still answers');
  });

  it('an Alexa request without state, a redirect with neither code nor error, a malformed Location: each named', async () => {
    const m = apache.mark();
    await get(apache, `/oauth/authorize/drop?${authorizeQuery({ state: null })}`);
    await expectLog(apache, m, ['ALX0301']);
    const unknown = await get(apache, `/oauth/authorize/unknown?${authorizeQuery()}`);
    assert.equal(params(unknown.headers.location).query.code, undefined);
    await expectLog(apache, m, [/ALX0314: a redirect back to Alexa \(region NA\) carries neither code/]);
    const bad = await get(apache, `/oauth/authorize/malformed?${authorizeQuery()}`);
    assert.match(bad.headers.location, /&code=%ZZ$/, 'passed unchanged');
    await expectLog(apache, m, [/ALX0315: a malformed Location back to Alexa \(region NA\) passes unchanged/]);
  });

  it('the login page through the module is byte-identical to the page without it', async () => {
    const q = authorizeQuery();
    for (const kind of ['page/external', 'stream/popup', 'gzip/external']) {
      const a = await get(apache, `/oauth/authorize/${kind}?${q}`, { 'Accept-Encoding': 'gzip' });
      const b = await get(apache, `/plain/${kind}?${q}`, { 'Accept-Encoding': 'gzip' });
      assert.ok(a.body.equals(b.body), `${kind}: same bytes`);
      assert.equal(a.headers['content-type'], b.headers['content-type']);
    }
  });
});

// Two vhosts on two ports with the same ServerName (no port in it): each is
// its own vhost for the once-an-hour lines and on the status page.
describe('vhosts sharing a ServerName are told apart', { skip: moduleMissingReason() }, () => {
  let up;
  let apache;
  let second;
  before(async () => {
    up = await startLoginUpstream();
    second = await freePort();
    const site = (port) => `<VirtualHost 127.0.0.1:${port}>
  ServerName login.example
  ProxyPass /oauth/ ${up.url}/oauth/
  <Location /oauth/authorize>
    AlexaLink authorize
  </Location>
  <Location /st>
    SetHandler alexalink-status
  </Location>
</VirtualHost>
`;
    apache = await startApache({ serverConf: ({ port }) => `Listen 127.0.0.1:${second}\n${site(port)}${site(second)}` });
  });
  after(async () => {
    await finish({ apache, up });
  });

  it('port is said once for each of them, and the status page names each with its port', async () => {
    const m = apache.mark();
    for (const port of [apache.port, second, apache.port, second]) {
      const res = await request({ port, path: `/oauth/authorize/keep?${authorizeQuery()}`, headers: { Host: 'login.example', 'User-Agent': UA } });
      assert.equal(res.status, 302);
    }
    await apache.waitErrorLog(/ALX0311[\s\S]*ALX0311/, m, 'two ALX0311 lines');
    await expectLog(apache, m, ['ALX0310', 'ALX0311']); // each vhost's first Alexa request
    const log = apache.errorLogSince(m);
    assert.equal(tagCount(log, 'ALX0311'), 2, 'once per vhost, not once for both');
    const st = JSON.parse((await request({ port: second, path: '/st?json', headers: { Host: 'login.example' } })).text);
    const names = st.vhosts.map((v) => v.name);
    assert.ok(names.includes(`login.example:${apache.port}`) && names.includes(`login.example:${second}`), names.join(' '));
  });
});

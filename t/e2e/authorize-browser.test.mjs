// SPEC "Authorization endpoint and login pages", in a real browser: Debian's
// chromium, driven by playwright-core, goes through a login page served
// through Apache with AlexaLink authorize (t/fixtures/login-upstream.mjs),
// signs in, and ends on Alexa's redirect URL. Alexa's host is not reachable
// from here, and Playwright's routes never see a request that follows a
// redirect, so chromium resolves pitangui.amazon.com to a local https server
// of this test (--host-resolver-rules, a certificate made with the openssl
// CLI, certificate errors ignored) that records each request and answers a
// tiny page. The final URL must carry the code (or the implicit tokens, in
// the fragment) and the state Alexa sent.
// chromium missing is a failure, not a skip: CI installs it (scripts/setup.sh).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startApache, alx, moduleMissingReason, expectLog, tagCount } from '../lib/apache.mjs';
import { finish, assertSameText } from '../lib/suite.mjs';
import { startLoginUpstream, LOGIN_CODE, LOGIN_TOKEN } from '../fixtures/login-upstream.mjs';
import { secret, registerSecret, redact, secretsIn } from '../lib/secrets.mjs';

const CHROMIUM = process.env.ALX_CHROMIUM || '/usr/bin/chromium';
const VENDOR = 'M2AAAAAAAAAAAA';
const LINK = `https://pitangui.amazon.com/api/skill/link/${VENDOR}`;
const SPA = `https://pitangui.amazon.com/spa/skill/account-linking-status.html?vendorId=${VENDOR}`;
// with bytes that need escaping, as Alexa's opaque values may
const STATE = registerSecret(`${secret('alexa state (browser)').slice(0, 24)}+/=`, 'alexa state (browser)');
const ALEXA_HOST = 'pitangui.amazon.com';

function authorizeQuery({ redirectUri = LINK, responseType = 'code', extra = {} } = {}) {
  return new URLSearchParams({ response_type: responseType, client_id: 'alexa-skill', scope: 'profile', state: STATE, redirect_uri: redirectUri, ...extra }).toString();
}

// Playwright's messages quote URLs, which hold the state: never print them.
async function quiet(what, fn) {
  try {
    return await fn();
  } catch (e) {
    throw new Error(`${what}: ${redact(String(e && e.message))}`);
  }
}

// Alexa's side: an https server (a self-signed certificate for its host,
// made with the openssl CLI) that records what the browser asked for.
async function startAlexa() {
  const dir = mkdtempSync(path.join(tmpdir(), 'alx-alexa-'));
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '2', '-subj', `/CN=${ALEXA_HOST}`, '-addext', `subjectAltName=DNS:${ALEXA_HOST}`], { cwd: dir, encoding: 'utf8', timeout: 30000 });
  if (r.error || r.status !== 0) throw new Error(`openssl is needed for this test (Debian package openssl): ${r.error ? r.error.message : r.stderr}`);
  const key = readFileSync(path.join(dir, 'key.pem'));
  const cert = readFileSync(path.join(dir, 'cert.pem'));
  rmSync(dir, { recursive: true, force: true });
  const seen = [];
  const server = https.createServer({ key, cert }, (req, res) => {
    seen.push({ host: req.headers.host, url: `https://${req.headers.host}${req.url}`, headers: req.headers });
    if (req.url === '/favicon.ico') { res.writeHead(204); return res.end(); }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    return res.end('<!DOCTYPE html><html><head><title>Linked</title><link rel="icon" href="data:,"></head><body><p>linked</p></body></html>');
  });
  await new Promise((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', resolve); });
  return { port: server.address().port, seen, close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) };
}

describe('AlexaLink authorize in a real browser', { skip: moduleMissingReason() }, () => {
  let up;
  let apache;
  let alexa;
  let browser;
  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is needed for this test (Debian package chromium; scripts/setup.sh installs it)`);
    up = await startLoginUpstream();
    alexa = await startAlexa();
    apache = await startApache({
      locations: `ProxyPass /oauth/ ${up.url}/oauth/
<Location /oauth/authorize>
  AlexaLink authorize
  AlexaLinkDomainList cdn.example.com
  AlexaLinkMinTTL 600
</Location>
`,
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // Alexa's host is this test's server; every other name fails to resolve
      args: ['--no-sandbox', `--host-resolver-rules=MAP ${ALEXA_HOST} 127.0.0.1:${alexa.port}, EXCLUDE 127.0.0.1`],
    });
  });
  after(async () => {
    try {
      if (browser) await browser.close();
    } finally {
      const logs = await finish({ apache, up, also: [alexa && { stop: alexa.close }] });
      assert.equal(tagCount(logs.errorLog, 'ALX0308'), 4, 'one redirect back to Alexa per flow');
      assert.equal(tagCount(logs.errorLog, 'ALX0304'), 0, 'the clean page pulls only from its own host and the listed domain');
    }
  });

  // A fresh browser context (no cookies). Requests anywhere but Apache are
  // blocked by route (those the page itself makes; a redirect's next hop is
  // not routed and goes to Alexa's server). Console errors are collected,
  // with the URL each is about.
  async function session(ap = apache) {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    const blocked = new Set();
    const consoleErrors = [];
    const apacheOrigin = new URL(ap.url).origin;
    await context.route('**/*', (route) => {
      const req = route.request();
      const url = new URL(req.url());
      if (url.origin === apacheOrigin) {
        // the fixture serves no assets of its own; the page's stylesheet
        // and logo are answered here so they are no console errors either
        if (url.pathname === '/static/site.css') return route.fulfill({ status: 200, contentType: 'text/css', body: 'body { margin: 0 }' });
        if (url.pathname === '/logo.png') return route.fulfill({ status: 204 });
        return route.continue();
      }
      if (url.hostname === ALEXA_HOST) return route.continue();
      blocked.add(url.host);
      return route.abort('blockedbyclient');
    });
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push({ text: msg.text(), url: msg.location().url || '' });
    });
    page.on('pageerror', (err) => consoleErrors.push({ text: `pageerror: ${err.message}`, url: '' }));
    const seenBefore = alexa.seen.length;
    return {
      page,
      // what Alexa's server was asked for in this session (no favicon)
      alexaRequests: () => alexa.seen.slice(seenBefore).filter((x) => !x.url.endsWith('/favicon.ico')),
      // the console errors that are not a blocked host's failed load
      unexpectedErrors() {
        return consoleErrors.filter((e) => {
          if (!/^Failed to load resource: net::ERR_/.test(e.text)) return true;
          try { return !blocked.has(new URL(e.url).host); } catch { return true; }
        });
      },
      close: () => context.close(),
    };
  }

  const onAlexa = (u) => u.hostname === ALEXA_HOST;

  // Waits for the browser to end on Alexa's page; the final URL (with its
  // fragment, which no request carries) split into its parts.
  async function landed(s) {
    await quiet('waiting for the page on Alexa\'s host', () => s.page.waitForURL(onAlexa, { timeout: 15000, waitUntil: 'load' }));
    assert.equal(await s.page.title(), 'Linked', 'Alexa\'s page showed');
    const url = new URL(s.page.url());
    return { url, query: url.searchParams, fragment: new URLSearchParams(url.hash.slice(1)) };
  }

  function assertClean(s) {
    assert.deepEqual(redact(s.unexpectedErrors()), [], 'no console errors but blocked hosts\' failed loads');
  }

  async function go(s, pathAndQuery, ap = apache) {
    await quiet(`navigating to ${pathAndQuery.split('?')[0]}`, () => s.page.goto(`${ap.url}${pathAndQuery}`));
  }

  // With the browser's default policy the POST's Referer is the login
  // page's whole URL, Alexa's state in its query, and httpd appends the
  // Referer (", referer: ...") to each line logged for a request: the
  // module hides it while it logs (finish() greps every log for the state).
  // fullReferer false gives the page <meta name=referrer content=origin>.
  async function signIn(s, next, query, { fullReferer = true, ap = apache } = {}) {
    await go(s, `/oauth/authorize/page/clean?${query}&next=${next}`, ap);
    await quiet('filling in the login form', async () => {
      if (!fullReferer) {
        await s.page.evaluate(() => {
          const meta = document.createElement('meta');
          meta.name = 'referrer';
          meta.content = 'origin';
          document.head.append(meta);
        });
      }
      await s.page.fill('input[name=user]', 'alice');
      await s.page.fill('input[name=password]', 'correct horse');
      await Promise.all([s.page.waitForURL(onAlexa, { timeout: 15000 }), s.page.click('button')]);
    });
  }

  it('a code flow through the login form keeps state across both steps', async () => {
    const s = await session();
    try {
      const m = apache.mark();
      await signIn(s, 'keep', authorizeQuery());
      const { url, query } = await landed(s);
      assert.equal(`${url.origin}${url.pathname}`, LINK);
      assertSameText(query.get('state'), STATE, 'state');
      assertSameText(query.get('code'), LOGIN_CODE, 'code');
      const asked = s.alexaRequests();
      assert.equal(asked.length, 1, 'one request to Alexa');
      assertSameText(asked[0].url, url.href, 'Alexa was asked for the final URL');
      const log = await apache.waitErrorLog(alx('ALX0308'), m);
      await expectLog(apache, m, ['ALX0310', 'ALX0311']); // the vhost's first Alexa request: plain HTTP and the port, said once an hour
      assert.match(log, /ALX0300: Alexa authorization flow: region=NA response_type=code client=alexa-skill state=present/);
      assert.match(log, /ALX0308: authorization redirect back to Alexa: region=NA form=link flow=code state=kept/);
      assert.doesNotMatch(log, alx('ALX0302'));
      assertClean(s);
    } finally {
      await s.close();
    }
  });

  it('a direct redirect that drops state ends with the state restored', async () => {
    const s = await session();
    try {
      const m = apache.mark();
      await go(s, `/oauth/authorize/drop?${authorizeQuery()}`);
      const { url, query } = await landed(s);
      assert.equal(`${url.origin}${url.pathname}`, LINK);
      assertSameText(query.get('state'), STATE, 'state restored');
      assertSameText(query.get('code'), LOGIN_CODE, 'code');
      const log = await apache.waitErrorLog(alx('ALX0308'), m);
      await expectLog(apache, m, ['ALX0302']);
      assert.match(log, /ALX0302: the redirect back to Alexa \(region NA, code flow\) dropped the state Alexa sent; .*Restored from the request/);
      assert.match(log, /ALX0308: authorization redirect back to Alexa: region=NA form=link flow=code state=dropped/);
      assertClean(s);
    } finally {
      await s.close();
    }
  });

  it('implicit-grant tokens in the query end in the fragment, expires_in raised to the floor', async () => {
    const s = await session();
    try {
      const m = apache.mark();
      await go(s, `/oauth/authorize/implicit-query?${authorizeQuery({ responseType: 'token' })}`);
      const { url, query, fragment } = await landed(s);
      assert.equal(`${url.origin}${url.pathname}`, LINK);
      assert.equal(url.search, '', 'nothing in the query');
      assert.deepEqual([...query.keys()], []);
      assertSameText(fragment.get('access_token'), LOGIN_TOKEN, 'access_token in the fragment');
      assertSameText(fragment.get('state'), STATE, 'state in the fragment');
      assert.equal(fragment.get('expires_in'), '600');
      assert.equal(fragment.get('token_type'), 'Bearer');
      const asked = s.alexaRequests();
      assert.equal(asked.length, 1, 'one request to Alexa');
      assert.deepEqual(secretsIn(asked[0].url), [], 'the fragment never went over the wire: no token or state in the request to Alexa');
      const log = await apache.waitErrorLog(alx('ALX0308'), m);
      await expectLog(apache, m, ['ALX0306']);
      assert.match(log, /ALX0306: implicit-grant token parameters in the query .*Moved to the fragment/);
      assert.match(log, /ALX0308: authorization redirect back to Alexa: region=NA form=link flow=implicit state=kept ttl=60 \(raised to AlexaLinkMinTTL\)/);
      assertClean(s);
    } finally {
      await s.close();
    }
  });

  it('the older spa redirect form keeps vendorId and gets the dropped state back', async () => {
    const s = await session();
    try {
      const m = apache.mark();
      await go(s, `/oauth/authorize/drop?${authorizeQuery({ redirectUri: SPA })}`);
      const { url, query } = await landed(s);
      assert.equal(url.pathname, '/spa/skill/account-linking-status.html');
      assert.equal(query.get('vendorId'), VENDOR);
      assertSameText(query.get('state'), STATE, 'state restored');
      assertSameText(query.get('code'), LOGIN_CODE, 'code');
      const log = await apache.waitErrorLog(alx('ALX0308'), m);
      await expectLog(apache, m, ['ALX0302']);
      assert.match(log, /ALX0308: authorization redirect back to Alexa: region=NA form=spa flow=code state=dropped/);
      assertClean(s);
    } finally {
      await s.close();
    }
  });
  it('the login form POST\'s Referer does not bring Alexa\'s state into the error log', async () => {
    const own = await startApache({
      locations: `ProxyPass /oauth/ ${up.url}/oauth/
<Location /oauth/authorize>
  AlexaLink authorize
  AlexaLinkDomainList cdn.example.com
</Location>
`,
    });
    const s = await session(own);
    try {
      const m = own.mark();
      await signIn(s, 'keep', authorizeQuery(), { fullReferer: true, ap: own });
      const { query } = await landed(s);
      assertSameText(query.get('state'), STATE, 'state');
      await own.waitErrorLog(alx('ALX0308'), m);
      await expectLog(own, m, ['ALX0310', 'ALX0311']); // this server's first Alexa request
    } finally {
      await s.close();
      await finish({ apache: own });
    }
  });

  it('login pages that break the rules, visited twice: each host and popup named exactly once, each dropped state each time', async () => {
    const own = await startApache({
      locations: `ProxyPass /oauth/ ${up.url}/oauth/
<Location /oauth/authorize>
  AlexaLink authorize
  AlexaLinkDomainList cdn.example.com
</Location>
`,
    });
    let logs;
    try {
      for (let visit = 0; visit < 2; visit++) {
        const s = await session(own);
        try {
          await go(s, `/oauth/authorize/page/external?${authorizeQuery()}`, own);
          await go(s, `/oauth/authorize/page/popup?${authorizeQuery()}&next=drop`, own);
          await quiet('signing in on the popup page', async () => {
            await s.page.fill('input[name=user]', 'alice');
            await s.page.fill('input[name=password]', 'correct horse');
            await Promise.all([s.page.waitForURL(onAlexa, { timeout: 15000 }), s.page.click('button')]);
          });
          const { query } = await landed(s);
          assert.equal(query.get('state'), null, 'a later step is named, not rewritten');
          assertSameText(query.get('code'), LOGIN_CODE, 'code');
        } finally {
          await s.close();
        }
      }
      await own.waitErrorLog(/ALX0308[\s\S]*ALX0308/, null, 'both flows back to Alexa');
      await expectLog(own, null, ['ALX0310', 'ALX0311', 'ALX0304', 'ALX0305', 'ALX0302']); // counted exactly below
    } finally {
      logs = await finish({ apache: own });
    }
    const lines = (tag, re) => logs.errorLog.split('\n').filter((l) => l.includes(`${tag}: `) && re.test(l)).length;
    for (const host of ['scripts.evil.example', 'fonts.example.net', 'styles.example.org', 'img.example.org', 'inline.example.org', 'srcset.example.org', 'post.example.org'])
      assert.equal(lines('ALX0304', new RegExp(` ${host.replace(/\./g, '\\.')} \\(`)), 1, `${host} named once`);
    assert.equal(lines('ALX0304', /cdn\.example\.com/), 0, 'the listed domain is not named');
    assert.equal(lines('ALX0305', /target=_blank/), 1, 'target=_blank named once');
    assert.equal(lines('ALX0305', /window\.open/), 1, 'window.open named once');
    assert.equal(lines('ALX0302', /dropped the state .*later step of the login/), 2, 'each dropped state named, once per flow');
    assert.equal(tagCount(logs.errorLog, 'ALX0310'), 1, 'plain HTTP named once');
  });
});

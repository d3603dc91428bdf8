// SPEC "Logging and status" (issue 8), in a real browser: Debian's chromium,
// driven by playwright-core, renders the status page (SetHandler
// alexalink-status) after a few good and failed token exchanges. The page
// must show its heading, a section for the vhost and the recent failures,
// log no console error, and ask nothing of any host but Apache (it is
// self-contained: no script, no external asset). Every request the page
// makes is recorded; any not to Apache is aborted and fails the test.
// chromium missing is a failure, not a skip: CI installs it (scripts/setup.sh).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { moduleMissingReason, MPM, waitFor, expectLog } from '../lib/apache.mjs';
import { tokenRequest, form } from '../lib/http.mjs';
import { secret, secretsIn } from '../lib/secrets.mjs';
import { startLegacySuite, finish, tokenLocation } from '../lib/suite.mjs';
import { STATUS_PATH, statusServerConf, statusLocations, statusJson } from '../lib/status.mjs';

const CHROMIUM = process.env.ALX_CHROMIUM || '/usr/bin/chromium';
const CLIENT_ID = 'alexa-skill-browser';
const CLIENT_SECRET = secret('status-browser client_secret');
const CODE = secret('status-browser code');
const codeBody = form([['grant_type', 'authorization_code'], ['code', CODE], ['redirect_uri', 'https://pitangui.amazon.com/api/skill/link/M2AAAAAAAAAAAA']]);

describe(`the status page in headless chromium (${MPM})`, { skip: moduleMissingReason() }, () => {
  let s;
  let browser;
  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is needed for this test (Debian package chromium; scripts/setup.sh installs it)`);
    s = await startLegacySuite((up) => `${statusLocations()}${tokenLocation('/oauth/', up.url)}`, { serverConf: statusServerConf() });
    // good and failed exchanges, so every part of the page has rows
    const mark = s.apache.mark();
    for (const route of ['json-ok', 'form', 'created', 'gh-error-json', 'html-503', 'malformed']) {
      await tokenRequest(s.apache.port, `/oauth/${route}`, codeBody, { basic: [CLIENT_ID, CLIENT_SECRET] });
    }
    await waitFor(async () => (await statusJson(s.apache)).vhosts[0].counters.exchange_code === 6, { what: 'six exchanges counted' });
    // the warns among them: a form without refresh token, a 5xx, an unusable 2xx
    await expectLog(s.apache, mark, [/ALX0100: .* shape=form\{/, /ALX0100: .* status=503->503 /, /ALX0100: .* status=200->502 /]);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  after(async () => {
    try {
      if (browser) await browser.close();
    } finally {
      await finish(s);
    }
  });

  it('renders non-empty (h1, the vhost section, recent failures), no console error, no request but to Apache', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const origin = new URL(s.apache.url).origin;
      const requests = [];
      const elsewhere = [];
      const consoleErrors = [];
      await context.route('**/*', (route) => {
        const url = route.request().url();
        requests.push(url);
        if (new URL(url).origin === origin) return route.continue();
        elsewhere.push(url);
        return route.abort('blockedbyclient');
      });
      page.on('console', (msg) => { if (msg.type() === 'error' || msg.type() === 'warning') consoleErrors.push(`${msg.type()}: ${msg.text()} (${msg.location().url || ''})`); });
      page.on('pageerror', (err) => consoleErrors.push(`pageerror: ${err.message}`));
      page.on('requestfailed', (req) => { if (new URL(req.url()).origin === origin) consoleErrors.push(`request failed: ${req.url()} ${req.failure() && req.failure().errorText}`); });

      const res = await page.goto(`${s.apache.url}${STATUS_PATH}`, { waitUntil: 'load' });
      assert.equal(res.status(), 200);
      assert.match(res.headers()['content-type'], /^text\/html/);
      assert.equal(await page.title(), 'mod_alexalink status');
      assert.equal((await page.locator('h1').innerText()).trim(), 'mod_alexalink status');
      const vhost = `127.0.0.1:${s.apache.port}`;
      const h2 = (await page.locator('h2').allInnerTexts()).map((t) => t.trim());
      assert.ok(h2.includes(vhost), `a section for the vhost ${vhost}: ${h2.join(' | ')}`);
      assert.ok(h2.includes('Recent failures'), 'a Recent failures section');
      const failures = page.locator('#failures + div table tr');
      assert.equal(await failures.count(), 1 + 3, 'a header row and the three failures');
      assert.match(await failures.nth(1).innerText(), /unusable/);
      // really rendered: visible, with a size, text laid out
      const box = await page.locator('body').boundingBox();
      assert.ok(box && box.width > 100 && box.height > 200, `the body has a size (${JSON.stringify(box)})`);
      const text = await page.locator('body').innerText();
      assert.ok(text.length > 500, `the page has text (${text.length} characters)`);
      assert.ok(text.includes(CLIENT_ID), 'the client id is shown');
      assert.deepEqual(secretsIn(text), [], 'no secret on the rendered page');
      assert.deepEqual(secretsIn(await page.content()), [], 'no secret in the DOM');
      // the top link to the failures works in the page
      await page.locator('a[href="#failures"]').click();
      await page.waitForFunction(() => window.location.hash === '#failures');
      // a narrow phone screen still shows it all (no script needed)
      await page.setViewportSize({ width: 360, height: 740 });
      assert.ok(await page.locator('h1').isVisible());
      const widths = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, view: window.innerWidth }));
      assert.ok(widths.page <= widths.view, `no sideways scrolling on a phone: the wide tables scroll in their own box (${JSON.stringify(widths)})`);

      assert.deepEqual(consoleErrors, [], 'no console error or warning');
      assert.deepEqual(elsewhere, [], 'no request to any host but Apache');
      assert.ok(requests.length >= 1 && requests.every((u) => new URL(u).origin === origin), `only Apache was asked: ${requests.join(' ')}`);
    } finally {
      await context.close();
    }
  });
});

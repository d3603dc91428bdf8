// SPEC "Links that last": the keep-alive's upstream call alone (libcurl),
// through a handler only test builds have (--enable-test-hooks, run with
// ALX_TEST_HOOKS=1): a POST of the form with its Authorization header,
// mod_proxy's timeout for the URL, TLS verified, no redirect followed, the
// answer bounded; a connect, TLS or timeout failure comes back as status 0
// (the protocol backs off from it).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { moduleMissingReason, startApache, freePort } from '../lib/apache.mjs';
import { request } from '../lib/http.mjs';

const skip = moduleMissingReason() || (process.env.ALX_TEST_HOOKS ? false
  : 'needs a module built with --enable-test-hooks (ALX_TEST_HOOKS=1)');

// What the fixture saw, by path.
const seen = [];
function route(req, res) {
  let body = '';
  req.on('data', (d) => { body += d; });
  req.on('end', () => {
    seen.push({ path: req.url, method: req.method, headers: req.headers, body });
    const json = (status, obj, type = 'application/json') => {
      res.writeHead(status, { 'Content-Type': type });
      res.end(JSON.stringify(obj));
    };
    if (req.url === '/ok') json(200, { access_token: 'at', token_type: 'Bearer', expires_in: 60 });
    else if (req.url === '/5xx') json(503, { error: 'temporarily_unavailable' });
    else if (req.url === '/invalid') json(400, { error: 'invalid_grant' });
    else if (req.url === '/redirect') { res.writeHead(302, { Location: '/ok' }); res.end(); }
    else if (req.url === '/big') { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end(`{"x":"${'a'.repeat(100000)}"}`); }
    else if (req.url.startsWith('/slow')) setTimeout(() => json(200, { late: true }), 6000);
    else json(404, {});
  });
}

const listen = (server) => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));

describe('the keep-alive upstream call', { skip }, () => {
  let apache, plain, tls, plainPort, tlsPort, certDir, closedPort;

  before(async () => {
    certDir = mkdtempSync(path.join(tmpdir(), 'alx-upstream-'));
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', 'self.key', '-out', 'self.crt', '-days', '2', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1'], { cwd: certDir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    plain = http.createServer(route);
    tls = https.createServer({ key: readFileSync(path.join(certDir, 'self.key')), cert: readFileSync(path.join(certDir, 'self.crt')) }, route);
    plainPort = await listen(plain);
    tlsPort = await listen(tls);
    closedPort = await freePort();
    apache = await startApache({
      serverConf: 'ProxyTimeout 2\n',
      locations: `ProxyPass /worker/ http://127.0.0.1:${plainPort}/slow-worker/ timeout=1\n`
        + '<Location /t-upstream>\n  SetHandler alexalink-test-upstream\n</Location>\n',
    });
  });
  after(async () => {
    await apache?.stop();
    plain?.closeAllConnections?.(); tls?.closeAllConnections?.();
    plain?.close(); tls?.close();
    if (certDir) rmSync(certDir, { recursive: true, force: true });
  });

  const call = async (url) => {
    const res = await request({ port: apache.port, path: `/t-upstream?url=${encodeURIComponent(url)}` });
    assert.equal(res.status, 200, res.body);
    return JSON.parse(res.body);
  };

  it('POSTs the form with its Authorization header and returns status, type and body', async () => {
    seen.length = 0;
    const a = await call(`http://127.0.0.1:${plainPort}/ok`);
    assert.equal(a.status, 200);
    assert.match(a.content_type, /^application\/json/);
    assert.equal(JSON.parse(a.body).access_token, 'at');
    assert.equal(a.error, null);
    const got = seen.find((s) => s.path === '/ok');
    assert.equal(got.method, 'POST');
    assert.equal(got.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(got.headers.authorization, 'Basic dGVzdDp0ZXN0');
    assert.equal(got.body, 'grant_type=refresh_token&refresh_token=test-refresh');
    assert.equal(got.headers.expect, undefined);
  });

  it('returns a 5xx and a 400 as they are', async () => {
    assert.equal((await call(`http://127.0.0.1:${plainPort}/5xx`)).status, 503);
    const inv = await call(`http://127.0.0.1:${plainPort}/invalid`);
    assert.equal(inv.status, 400);
    assert.equal(JSON.parse(inv.body).error, 'invalid_grant');
  });

  it('does not follow a redirect', async () => {
    seen.length = 0;
    const a = await call(`http://127.0.0.1:${plainPort}/redirect`);
    assert.equal(a.status, 302);
    assert.equal(seen.filter((s) => s.path === '/ok').length, 0, 'the redirect was followed');
  });

  it('gives up after ProxyTimeout: status 0, a timeout', async () => {
    const a = await call(`http://127.0.0.1:${plainPort}/slow`);
    assert.equal(a.status, 0);
    assert.match(a.error, /timeout|timed out/i);
    assert.ok(a.ms >= 1800 && a.ms < 5000, `took ${a.ms} ms, ProxyTimeout is 2 s`);
  });

  it('a worker\'s own timeout= comes before ProxyTimeout', async () => {
    const a = await call(`http://127.0.0.1:${plainPort}/slow-worker/x`);
    assert.equal(a.status, 0);
    assert.ok(a.ms >= 800 && a.ms < 1900, `took ${a.ms} ms, the worker's timeout is 1 s`);
  });

  it('verifies TLS: a self-signed upstream is no answer', async () => {
    seen.length = 0;
    const a = await call(`https://127.0.0.1:${tlsPort}/ok`);
    assert.equal(a.status, 0);
    assert.match(a.error, /certificate|SSL|peer/i);
    assert.equal(seen.length, 0, 'the request reached an unverified upstream');
  });

  it('a refused connection is no answer', async () => {
    const a = await call(`http://127.0.0.1:${closedPort}/ok`);
    assert.equal(a.status, 0);
    assert.match(a.error, /connect/i);
  });

  it('bounds the answer', async () => {
    const a = await call(`http://127.0.0.1:${plainPort}/big`);
    assert.equal(a.status, 0);
    assert.match(a.error, /over 65536 bytes/);
  });

  it('logs nothing of the request', () => {
    assert.ok(!apache.errorLog().includes('test-refresh'));
    assert.ok(!apache.errorLog().includes('dGVzdDp0ZXN0'));
  });
});

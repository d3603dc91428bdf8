// SPEC "Authorization endpoint and login pages": a flow that reached Apache
// over plain HTTP is logged (ALX0310), one on a port other than 443 too
// (ALX0311), and over TLS the server certificate's issuer is checked once
// per vhost (ALX0312: self-signed, or issued by Let's Encrypt). Forwarded
// headers count only when mod_remoteip trusted the proxy that sent them.
// Certificates are made at test time with the openssl CLI (EC P-256): a
// self-signed one, one from a test CA that merely carries Let's Encrypt's
// name, one from an ordinary test CA.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startApache, freePort, alx, moduleMissingReason, MODDIR, expectLog, tagCount } from '../lib/apache.mjs';
import { request } from '../lib/http.mjs';
import { finish } from '../lib/suite.mjs';
import { startLoginUpstream, LOGIN_CODE } from '../fixtures/login-upstream.mjs';
import { secret, redact } from '../lib/secrets.mjs';

const HOST = 'login.example';
const REDIRECT = 'https://pitangui.amazon.com/api/skill/link/M2AAAAAAAAAAAA';
const STATE = secret('alexa state (tls)');
const FLOW = `/oauth/authorize/keep?${new URLSearchParams({ response_type: 'code', client_id: 'alexa-skill', state: STATE, redirect_uri: REDIRECT })}`;
const UA = 'Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36 AlexaApp';

// mod_ssl's own start-up warning when Debian's apache2-bin was built against
// a newer libssl3 than the one installed (a machine's package versions, not
// the module's doing)
const MOD_SSL_BUILD = /\bAH01882: Init: this version of mod_ssl was compiled against a newer library/;

// the error-log lines of the request(s) from these client ports
const linesOf = (text, ports) => text.split('\n').filter((l) => ports.some((p) => l.includes(`[client 127.0.0.1:${p}]`))).join('\n');

// ---- certificates ---------------------------------------------------------

function openssl(dir, args) {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8', timeout: 30000 });
  if (r.error) throw new Error(`openssl is needed for this test (Debian package openssl): ${r.error.message}`);
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

// One config file for every step, so no default section (v3_ca, with
// CA:TRUE) ends up in a server certificate: mod_ssl warns about those.
const OPENSSL_CNF = `[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ server ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:${HOST}
subjectKeyIdentifier = hash
[ ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
`;

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function makeCerts() {
  const dir = mkdtempSync(path.join(tmpdir(), 'alx-tls-'));
  chmodSync(dir, 0o755);
  writeFileSync(path.join(dir, 'openssl.cnf'), OPENSSL_CNF);
  const cfg = ['-config', 'openssl.cnf'];
  // (a) self-signed
  openssl(dir, ['req', ...cfg, '-x509', ...EC, '-keyout', 'self.key', '-out', 'self.crt', '-days', '2', '-subj', `/CN=${HOST}`, '-extensions', 'server']);
  // (b), (c): a CA, then a server certificate it signs
  const signed = (name, caSubj) => {
    openssl(dir, ['req', ...cfg, '-x509', ...EC, '-keyout', `${name}-ca.key`, '-out', `${name}-ca.crt`, '-days', '2', '-subj', caSubj, '-extensions', 'ca']);
    openssl(dir, ['req', ...cfg, '-new', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${HOST}`]);
    openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${name}-ca.crt`, '-CAkey', `${name}-ca.key`, '-set_serial', '0x1001', '-days', '2', '-out', `${name}.crt`, '-extfile', 'openssl.cnf', '-extensions', 'server']);
  };
  signed('le', "/C=US/O=Let's Encrypt/CN=R11");
  signed('ordinary', '/O=Example Trust Services/CN=Example TLS CA');
  for (const f of ['self', 'le', 'ordinary']) chmodSync(path.join(dir, `${f}.key`), 0o644);
  return dir;
}

// ---- clients ---------------------------------------------------------------

// GET over TLS (SNI and Host login.example), no verification: the test
// checks which certificate it got instead.
function httpsGet(port, urlPath, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: urlPath, servername: HOST, rejectUnauthorized: false, agent: false, headers: { Host: HOST, 'User-Agent': UA, ...headers } });
    req.setTimeout(20000, () => req.destroy(new Error(`https GET ${port} timed out`)));
    req.on('error', reject);
    req.on('response', (res) => {
      const localPort = res.socket.localPort;
      const peer = res.socket.getPeerCertificate();
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, localPort, peer }));
      res.on('error', reject);
    });
    req.end();
  });
}

function httpGet(apache, urlPath, headers = {}) {
  return request({ port: apache.port, path: urlPath, headers: { Host: HOST, 'User-Agent': UA, ...headers } });
}

// The redirect back to Alexa: the code and the state kept.
function assertBack(res) {
  assert.equal(res.status, 302, 'a redirect back to Alexa');
  const u = new URL(res.headers.location);
  assert.equal(`${u.origin}${u.pathname}`, REDIRECT);
  assert.ok(u.searchParams.get('state') === STATE, 'state kept');
  assert.ok(u.searchParams.get('code') === LOGIN_CODE, 'code passed');
}

// Waits for the ALX0308 line of the request from client port `port`.
async function waitBack(apache, mark, port) {
  return apache.waitErrorLog(new RegExp(`\\[client 127\\.0\\.0\\.1:${port}\\][^\\n]*ALX0308: `), mark, `ALX0308 of the request from port ${port}`);
}

const proxy = (up) => `ProxyPass /oauth/ ${up.url}/oauth/
<Location /oauth/authorize>
  AlexaLink authorize
</Location>
`;

describe('AlexaLink authorize: HTTPS, port 443 and the certificate issuer', { skip: moduleMissingReason() }, () => {
  let up;
  let apache;
  let certs;
  const tls = {}; // name -> port
  before(async () => {
    certs = makeCerts();
    up = await startLoginUpstream();
    for (const name of ['self', 'le', 'ordinary']) tls[name] = await freePort();
    // the plain port is the main server; each certificate has a vhost of
    // its own on its own port, with its own ProxyPass and <Location> (the
    // main server's are inherited as well, and point to the same place)
    const vhost = (name) => `Listen 127.0.0.1:${tls[name]}
<VirtualHost 127.0.0.1:${tls[name]}>
  ServerName ${HOST}:${tls[name]}
  SSLEngine on
  SSLCertificateFile ${certs}/${name}.crt
  SSLCertificateKeyFile ${certs}/${name}.key
${proxy(up).replace(/^/gm, '  ')}
</VirtualHost>
`;
    apache = await startApache({
      serverConf: ({ dir }) => `LoadModule ssl_module ${MODDIR}/mod_ssl.so
SSLSessionCache shmcb:${dir}/ssl_scache(512000)
${['self', 'le', 'ordinary'].map(vhost).join('\n')}`,
      locations: proxy(up),
    });
    await expectLog(apache, null, [], { maybe: [MOD_SSL_BUILD] });
  });
  after(async () => {
    try {
      const logs = await finish({ apache, up });
      assert.equal(tagCount(logs.errorLog, 'ALX0310'), 1, 'plain HTTP said once: only the main server is plain');
      assert.equal(tagCount(logs.errorLog, 'ALX0311'), 4, 'the port said once per vhost: main server and three TLS vhosts');
      assert.equal(tagCount(logs.errorLog, 'ALX0312'), 2, 'the issuer warned about once per vhost: self-signed and Let\'s Encrypt');
    } finally {
      if (certs) rmSync(certs, { recursive: true, force: true });
    }
  });

  it('a self-signed certificate is warned about once, naming the issuer; no plain-HTTP error over TLS', async () => {
    const m = apache.mark();
    const ports = [];
    for (let i = 0; i < 3; i++) {
      const res = await httpsGet(tls.self, FLOW);
      assert.equal(res.peer.issuer.CN, HOST, 'the self-signed certificate was served');
      assertBack(res);
      ports.push(res.localPort);
      await waitBack(apache, m, res.localPort);
    await expectLog(apache, m, ['ALX0311', 'ALX0312']);
    }
    const log = redact(linesOf(apache.errorLogSince(m), ports));
    assert.equal(tagCount(log, 'ALX0300'), 3, `three flows seen:\n${log}`);
    assert.equal(tagCount(log, 'ALX0312'), 1, `said once:\n${log}`);
    assert.match(log, /\[(alexalink:)?warn\][^\n]*ALX0312: this vhost's certificate is self-signed \(issuer CN=login\.example\)/);
    assert.equal(tagCount(log, 'ALX0310'), 0, 'no plain-HTTP error over TLS');
    assert.equal(tagCount(log, 'ALX0311'), 1, `a port other than 443, said once:\n${log}`);
    assert.match(log, new RegExp(`ALX0311: an Alexa authorization request \\(region NA\\) came in on port ${tls.self}:`));
  });

  it('a certificate issued by (a CA named) Let\'s Encrypt is warned about once', async () => {
    const m = apache.mark();
    const ports = [];
    for (let i = 0; i < 2; i++) {
      const res = await httpsGet(tls.le, FLOW);
      assert.equal(res.peer.issuer.O, "Let's Encrypt", 'the Let\'s Encrypt-named CA\'s certificate was served');
      assertBack(res);
      ports.push(res.localPort);
      await waitBack(apache, m, res.localPort);
    await expectLog(apache, m, ['ALX0311', 'ALX0312']);
    }
    const log = redact(linesOf(apache.errorLogSince(m), ports));
    assert.equal(tagCount(log, 'ALX0312'), 1, `said once:\n${log}`);
    // the issuer as mod_ssl gives it (RFC 2253 order); the module's log-safe
    // filter may show its commas, spaces and the apostrophe as '?'
    assert.match(log, /\[(alexalink:)?warn\][^\n]*ALX0312: this vhost's certificate is issued by Let's Encrypt \(issuer CN=R11[,?]O=Let['?]s[ ?]Encrypt[,?]C=US\)/);
    assert.equal(tagCount(log, 'ALX0310'), 0, 'no plain-HTTP error over TLS');
    assert.equal(tagCount(log, 'ALX0311'), 1, `this vhost's port said once:\n${log}`);
  });

  it('a certificate from an ordinary CA is not warned about', async () => {
    const m = apache.mark();
    const ports = [];
    for (let i = 0; i < 2; i++) {
      const res = await httpsGet(tls.ordinary, FLOW);
      assert.equal(res.peer.issuer.CN, 'Example TLS CA');
      assertBack(res);
      ports.push(res.localPort);
      await waitBack(apache, m, res.localPort);
    await expectLog(apache, m, ['ALX0311']);
    }
    const log = redact(linesOf(apache.errorLogSince(m), ports));
    assert.equal(tagCount(log, 'ALX0300'), 2, `two flows seen:\n${log}`);
    assert.equal(tagCount(log, 'ALX0312'), 0, `no issuer warning:\n${log}`);
    assert.equal(tagCount(log, 'ALX0310'), 0, 'no plain-HTTP error over TLS');
    assert.equal(tagCount(log, 'ALX0311'), 1, `this vhost's port said once:\n${log}`);
  });

  it('a flow on the plain port logs plain HTTP once (and its port once), no issuer check', async () => {
    const m = apache.mark();
    const ports = [];
    for (let i = 0; i < 2; i++) {
      const res = await httpGet(apache, FLOW);
      assertBack(res);
      ports.push(res.localPort);
      await waitBack(apache, m, res.localPort);
    await expectLog(apache, m, ['ALX0310', 'ALX0311']);
    }
    const log = redact(linesOf(apache.errorLogSince(m), ports));
    assert.equal(tagCount(log, 'ALX0310'), 1, `said once:\n${log}`);
    assert.match(log, /\[(alexalink:)?error\][^\n]*ALX0310: an Alexa authorization request \(region NA\) reached \/oauth\/authorize\/keep over plain HTTP: Alexa requires HTTPS/);
    assert.equal(tagCount(log, 'ALX0311'), 1, `said once:\n${log}`);
    assert.match(log, new RegExp(`ALX0311: an Alexa authorization request \\(region NA\\) came in on port ${apache.port}:`));
    assert.equal(tagCount(log, 'ALX0312'), 0);
  });
});

// A TLS proxy in front says https and 443 in X-Forwarded-Proto/-Port; those
// count only when mod_remoteip trusted it. A fresh Apache per case, so the
// once-an-hour rule cannot hide a line.
describe('AlexaLink authorize: forwarded headers and mod_remoteip trust', { skip: moduleMissingReason() }, () => {
  let up;
  before(async () => { up = await startLoginUpstream(); });
  after(async () => { if (up) await up.close(); });

  const FORWARDED = { 'X-Forwarded-For': '203.0.113.7', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Port': '443' };
  const remoteip = (proxyAddr) => `LoadModule remoteip_module ${MODDIR}/mod_remoteip.so
RemoteIPHeader X-Forwarded-For
RemoteIPInternalProxy ${proxyAddr}
`;

  // one flow with `headers`, which logs `expected`; the error log after it
  async function flow(serverConf, headers, expected = ['ALX0310', 'ALX0311']) {
    const apache = await startApache({ serverConf, locations: proxy(up) });
    let logs;
    try {
      const m = apache.mark();
      const res = await httpGet(apache, FLOW, headers);
      assertBack(res);
      await apache.waitErrorLog(alx('ALX0308'), m, 'the redirect back to Alexa');
      await expectLog(apache, m, expected);
    } finally {
      logs = await finish({ apache });
    }
    return { log: redact(logs.errorLog), port: apache.port };
  }

  it('from a proxy mod_remoteip trusts, https and 443 count: neither ALX0310 nor ALX0311', async () => {
    const { log } = await flow(remoteip('127.0.0.1'), FORWARDED, []);
    assert.match(log, /ALX0300: Alexa authorization flow: region=NA/);
    assert.match(log, /\[client 203\.0\.113\.7:\d+\][^\n]*ALX0300: /, 'mod_remoteip replaced the client address');
    assert.equal(tagCount(log, 'ALX0310'), 0, `no plain-HTTP error:\n${log}`);
    assert.equal(tagCount(log, 'ALX0311'), 0, `no port error:\n${log}`);
  });

  it('from a trusted proxy that says http, plain HTTP and port 80 are logged', async () => {
    const { log } = await flow(remoteip('127.0.0.1'), { 'X-Forwarded-For': '203.0.113.7', 'X-Forwarded-Proto': 'http' });
    assert.match(log, /ALX0310: an Alexa authorization request \(region NA\) reached \/oauth\/authorize\/keep over plain HTTP \(X-Forwarded-Proto\):/);
    assert.match(log, /ALX0311: an Alexa authorization request \(region NA\) came in on port 80:/);
  });

  it('without mod_remoteip, the same headers do not count', async () => {
    const { log, port } = await flow('', FORWARDED);
    assert.equal(tagCount(log, 'ALX0310'), 1, `plain HTTP logged:\n${log}`);
    assert.match(log, /reached \/oauth\/authorize\/keep over plain HTTP: /, 'not from X-Forwarded-Proto');
    assert.match(log, new RegExp(`ALX0311: an Alexa authorization request \\(region NA\\) came in on port ${port}:`));
  });

  it('with mod_remoteip trusting another proxy only, the same headers do not count', async () => {
    const { log, port } = await flow(remoteip('192.0.2.1'), FORWARDED);
    assert.match(log, /\[client 127\.0\.0\.1:\d+\][^\n]*ALX0300: /, 'the client address was not replaced');
    assert.equal(tagCount(log, 'ALX0310'), 1, `plain HTTP logged:\n${log}`);
    assert.match(log, new RegExp(`ALX0311: an Alexa authorization request \\(region NA\\) came in on port ${port}:`));
  });
});

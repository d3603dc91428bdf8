// SPEC "Logging and status": no token, code, secret or Basic credential ever
// appears in any log or note. Part 1 drives every kind of exchange with
// distinctive values and searches Apache's error log, access log and
// output. Part 2 runs other test files as a child and searches everything
// they printed for the values they used.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { moduleMissingReason, shortLived, REPO, expectLog, settleErrorLog } from '../lib/apache.mjs';
import { tokenRequest, form, basicHeader } from '../lib/http.mjs';
import { secret, registerSecret, secretsIn } from '../lib/secrets.mjs';
import { startLegacySuite, tokenLocation, REDIRECT_URI } from '../lib/suite.mjs';

const CLIENT_ID = 'alexa-skill';
const CLIENT_SECRET = secret('secrets client_secret', '+/=');
const CODE = secret('secrets code');
const VERIFIER = secret('secrets code_verifier');
const PRESENTED_RT = secret('secrets presented refresh_token');
const BASIC = registerSecret(basicHeader(CLIENT_ID, CLIENT_SECRET), 'secrets Basic header');
registerSecret(BASIC.slice('Basic '.length), 'secrets Basic credential (base64)');

// What the battery below provokes at warn: exchanges that fail or are
// reported, the answer over the 0.1 s budget, the 60 s upstream (once an
// hour), the requests report mode would refuse, and the grace store's
// replay cap and report-mode lines for the rotating route.
// ALX0104: the fixture's session-bound refresh tokens (/keycloak-session)
const BATTERY_LINES = ['ALX0100', 'ALX0101', shortLived(60), 'ALX0104', 'ALX0110', 'ALX0211', 'ALX0213'];

describe('no secret in any log', { skip: moduleMissingReason() }, () => {
  let s;
  let logs;
  const failures = [];
  // a request the server did not answer is counted, not fatal: the log
  // search must still run (and the crash check names the cause)
  const send = async (...args) => {
    try { await tokenRequest(...args); } catch (e) { failures.push(`${args[1]}: ${e.message}`); }
  };
  before(async () => {
    s = await startLegacySuite((up) => [
      tokenLocation('/oauth/', up.url),
      tokenLocation('/report/', up.url, ['AlexaLinkMode report']),
      tokenLocation('/body/', up.url, ['AlexaLinkClientAuth body']),
      tokenLocation('/basic/', up.url, ['AlexaLinkClientAuth basic']),
      tokenLocation('/small/', up.url, ['AlexaLinkMaxBody 1k', 'AlexaLinkTimeBudget 0.1']),
    ].join(''));
    // the upstream's own tokens are secrets too (registered by the fixture)
    const codeBody = form([['grant_type', 'authorization_code'], ['code', CODE], ['redirect_uri', REDIRECT_URI], ['code_verifier', VERIFIER]]);
    const refreshBody = form([['grant_type', 'refresh_token'], ['refresh_token', PRESENTED_RT]]);
    const routes = Object.keys(s.up.table);
    for (const prefix of ['/oauth', '/report', '/body', '/small']) {
      for (const r of routes) {
        for (const body of [codeBody, refreshBody]) {
          await send(s.apache.port, `${prefix}${r}${r === '/slow' ? '?delay=150' : ''}`, body, { headers: { Authorization: BASIC } });
        }
      }
    }
    const bodyCreds = form([['grant_type', 'refresh_token'], ['refresh_token', PRESENTED_RT], ['client_id', CLIENT_ID], ['client_secret', CLIENT_SECRET]]);
    await send(s.apache.port, '/basic/json-ok', bodyCreds);
    // bad input carrying secrets, on every path the module rejects
    const bad = [
      [`grant_type=refresh_token&refresh_token=${PRESENTED_RT}&refresh_token=${PRESENTED_RT}`, {}],
      [`grant_type=authorization_code&code=${CODE}%ZZ`, {}],
      [`grant_type=authorization_code&code=${CODE}%`, {}],
      [JSON.stringify({ grant_type: 'refresh_token', refresh_token: PRESENTED_RT }), { contentType: 'application/json' }],
      [codeBody, { headers: { Authorization: `Basic ${CLIENT_SECRET}!!` } }],
      [codeBody, { headers: { Authorization: `Basic ${Buffer.from(CLIENT_SECRET).toString('base64')}` } }],
      [codeBody, { headers: { Authorization: `Bearer ${PRESENTED_RT}` } }],
      [`${codeBody}&pad=${PRESENTED_RT.repeat(40)}`, {}],
      // a secret as a parameter name: shapes show such keys as ?(N)
      [`grant_type=refresh_token&${PRESENTED_RT}=${CODE}&client_id=${CLIENT_ID}`, {}],
    ];
    for (const prefix of ['/oauth', '/small', '/body', '/report']) {
      for (const [body, opts] of bad) await send(s.apache.port, `${prefix}/json-ok`, body, opts);
    }
    // the battery is one step: what it provokes, acknowledged at once
    await expectLog(s.apache, null, BATTERY_LINES);
    logs = await s.apache.stop();
    await s.up.close();
  });
  after(async () => {
    if (s && !logs) { await s.apache.stop(); await s.up.close(); }
  });

  it('every exchange was logged (the search is not vacuous)', () => {
    assert.ok((logs.errorLog.match(/ALX0100:/g) || []).length >= 80, 'ALX0100 lines');
    assert.match(logs.errorLog, /ALX0110:/);
    assert.ok(logs.accessLog.split('\n').length >= 100, 'access log lines');
  });

  it('every request was answered', () => {
    assert.deepEqual(failures, []);
  });

  it('the error log holds none of the values', () => {
    assert.deepEqual(secretsIn(logs.errorLog), []);
  });

  it('the access log (request notes) holds none of the values', () => {
    assert.deepEqual(secretsIn(logs.accessLog), []);
  });

  it('apache2\'s own output holds none of the values', () => {
    assert.deepEqual(secretsIn(logs.output), []);
  });

  it('no crash, no unexpected warning', () => {
    settleErrorLog(s.apache, logs.errorLog, { stopped: true });
  });
});

describe('no secret in the test output', { skip: moduleMissingReason() }, () => {
  it('a child run of the other files prints none of the values they used', () => {
    const dump = mkdtempSync(path.join(tmpdir(), 'alx-secrets-'));
    try {
      const files = ['token-success', 'token-errors', 'request-side', 'report-mode'].map((f) => path.join(REPO, 't', 'e2e', `${f}.test.mjs`));
      const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
        cwd: REPO,
        // NODE_TEST_CONTEXT would make the nested runner report to us in its
        // internal format instead of running as a test run of its own
        env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT')), ALX_SECRETS_DUMP: dump },
        encoding: 'utf8',
        timeout: 280000,
        maxBuffer: 64 * 1024 * 1024,
      });
      const printed = `${r.stdout}${r.stderr}`;
      const dumps = readdirSync(dump).map((f) => JSON.parse(readFileSync(path.join(dump, f), 'utf8')));
      assert.ok(dumps.length >= files.length, `each child wrote its secrets (${dumps.length})`);
      let count = 0;
      for (const list of dumps) {
        for (const { value, label } of list) {
          registerSecret(value, `child: ${label}`);
          count++;
        }
      }
      assert.ok(count > 10, 'values to search for');
      assert.ok(printed.length > 1000, 'the child printed its report');
      assert.deepEqual(secretsIn(printed).filter((l) => l.startsWith('child: ')), []);
    } finally {
      rmSync(dump, { recursive: true, force: true });
    }
  });
});

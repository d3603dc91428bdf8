// SPEC "Directives" and "Links that last": the keep-alive's directives
// parse strictly, AlexaLinkKeepAliveKey is read and checked when the
// configuration is (missing, short, world-readable), and configtest fails,
// naming the directive, when AlexaLinkKeepAlive is on without a key or
// without mod_dbd.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { moduleMissingReason, configTest, MODDIR, startApache, dbdConf, expectLog } from '../lib/apache.mjs';
import { sqliteFile } from '../lib/sql.mjs';
import { request } from '../lib/http.mjs';

const DBD = `LoadModule dbd_module ${path.join(MODDIR, 'mod_dbd.so')}\n`;
const loc = (...lines) => `ProxyPass /oauth/ http://127.0.0.1:9/\n<Location /oauth/token>\n${lines.map((l) => `  ${l}\n`).join('')}</Location>\n`;

describe('keep-alive directives', { skip: moduleMissingReason() }, () => {
  let dir;
  const key = (name, bytes, mode) => {
    const file = path.join(dir, name);
    writeFileSync(file, bytes);
    chmodSync(file, mode);
    return file;
  };
  let good, other, short, open, groupReadable;

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'alx-keys-'));
    good = key('good.key', randomBytes(32), 0o400);
    other = key('other.key', randomBytes(64), 0o600);
    short = key('short.key', randomBytes(31), 0o400);
    open = key('open.key', randomBytes(32), 0o644);
    groupReadable = key('group.key', randomBytes(32), 0o640);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const withKey = (file = good) => `${DBD}AlexaLinkKeepAliveKey ${file}\n`;
  const ok = (locations, serverConf) => {
    const r = configTest(locations, { serverConf });
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /Syntax OK/);
  };
  const refused = (locations, serverConf, directive, pattern) => {
    const r = configTest(locations, { serverConf });
    assert.notEqual(r.code, 0, `apache2 -t must fail:\n${r.output}`);
    assert.ok(r.output.includes(directive), `the message names ${directive}:\n${r.output}`);
    if (pattern)
      assert.match(r.output, pattern);
    assert.doesNotMatch(r.output, /Syntax OK/);
    return r.output;
  };

  for (const lines of [
    ['AlexaLinkKeepAlive 20d'],
    ['AlexaLinkKeepAlive 90'],
    ['AlexaLinkKeepAlive 90s'],
    ['AlexaLinkKeepAlive 25m', 'AlexaLinkKeepAliveFor 30d'],
    ['AlexaLinkKeepAlive 12h', 'AlexaLinkKeepAliveFor 3600'],
    ['AlexaLinkKeepAlive 5d', 'AlexaLinkKeepAliveURL https://idp.example.com/realms/x/protocol/openid-connect/token'],
    ['AlexaLinkKeepAlive 5d', 'AlexaLinkKeepAliveURL http://127.0.0.1:9000/oauth/token'],
    ['AlexaLinkKeepAlive off'],
    ['AlexaLinkKeepAlive 0'],
  ]) {
    it(`accepts: ${lines.join('; ')}`, () => ok(loc('AlexaLink token', ...lines), withKey()));
  }

  it('accepts a key readable by its group, and a second key being replaced', () => {
    ok(loc('AlexaLink token', 'AlexaLinkKeepAlive 20d'), withKey(groupReadable));
    ok(loc('AlexaLink token', 'AlexaLinkKeepAlive 20d'), `${DBD}AlexaLinkKeepAliveKey ${good} ${other}\n`);
  });

  it('a virtual host without its own key uses the main server\'s', () => {
    ok(`<VirtualHost 127.0.0.1:1>\n${loc('AlexaLink token', 'AlexaLinkKeepAlive 20d')}</VirtualHost>\n`, withKey());
    ok(`<VirtualHost 127.0.0.1:1>\nAlexaLinkKeepAliveKey ${other}\n${loc('AlexaLink token', 'AlexaLinkKeepAlive 20d')}</VirtualHost>\n`, DBD);
  });

  it('a key file without AlexaLinkKeepAlive anywhere needs no mod_dbd', () => {
    ok(loc('AlexaLink token'), `AlexaLinkKeepAliveKey ${good}\n`);
  });

  it('refuses a missing key file', () => {
    refused(loc('AlexaLink token', 'AlexaLinkKeepAlive 20d'), withKey(path.join(dir, 'nope.key')),
      'AlexaLinkKeepAliveKey', /AlexaLinkKeepAliveKey: cannot read .*nope\.key.*head -c 32 \/dev\/urandom/);
  });

  it('refuses a key file under 32 bytes', () => {
    refused(loc('AlexaLink token', 'AlexaLinkKeepAlive 20d'), withKey(short),
      'AlexaLinkKeepAliveKey', /AlexaLinkKeepAliveKey: .*short\.key holds 31 bytes; a key is 32 or more/);
  });

  it('refuses a key file others can read', () => {
    refused(loc('AlexaLink token', 'AlexaLinkKeepAlive 20d'), withKey(open),
      'AlexaLinkKeepAliveKey', /AlexaLinkKeepAliveKey: others can read .*open\.key.*chmod 400/);
  });

  it('refuses a key file that is a directory, and the same key twice', () => {
    refused('', `AlexaLinkKeepAliveKey ${dir}\n`, 'AlexaLinkKeepAliveKey', /not a regular file/);
    refused('', `AlexaLinkKeepAliveKey ${good} ${good}\n`, 'AlexaLinkKeepAliveKey', /key id of an earlier file/);
  });

  it('refuses AlexaLinkKeepAliveKey inside a location', () => {
    refused(loc('AlexaLink token', `AlexaLinkKeepAliveKey ${good}`), DBD, 'AlexaLinkKeepAliveKey', /not allowed (here|in <Location> context)/);
  });

  it('refuses AlexaLinkKeepAlive without a key, naming where it is on', () => {
    const out = refused(loc('AlexaLink token', 'AlexaLinkKeepAlive 20d'), DBD, 'AlexaLinkKeepAlive',
      /ALX0510: AlexaLinkKeepAlive \(.*httpd\.conf:\d+\) needs AlexaLinkKeepAliveKey/);
    assert.equal(out.match(/ALX05\d\d/g).length, 1, out);
  });

  it('refuses AlexaLinkKeepAlive in a virtual host when only another virtual host has a key', () => {
    refused(`<VirtualHost 127.0.0.1:1>\nAlexaLinkKeepAliveKey ${good}\n</VirtualHost>\n<VirtualHost 127.0.0.1:2>\n${loc('AlexaLink token', 'AlexaLinkKeepAlive 20d')}</VirtualHost>\n`,
      DBD, 'AlexaLinkKeepAlive', /ALX0510/);
  });

  it('refuses AlexaLinkKeepAlive without mod_dbd', () => {
    refused(loc('AlexaLink token', 'AlexaLinkKeepAlive 20d'), `AlexaLinkKeepAliveKey ${good}\n`, 'AlexaLinkKeepAlive',
      /ALX0511: AlexaLinkKeepAlive \(.*\) needs mod_dbd/);
  });

  for (const [directive, line] of [
    ['AlexaLinkKeepAlive', 'AlexaLinkKeepAlive 1w'],
    ['AlexaLinkKeepAlive', 'AlexaLinkKeepAlive 1.5h'],
    ['AlexaLinkKeepAlive', 'AlexaLinkKeepAlive -1d'],
    ['AlexaLinkKeepAlive', 'AlexaLinkKeepAlive on'],
    ['AlexaLinkKeepAlive', 'AlexaLinkKeepAlive 20D'],
    ['AlexaLinkKeepAlive', 'AlexaLinkKeepAlive 3651d'],
    ['AlexaLinkKeepAliveFor', 'AlexaLinkKeepAliveFor 0'],
    ['AlexaLinkKeepAliveFor', 'AlexaLinkKeepAliveFor off'],
    ['AlexaLinkKeepAliveFor', 'AlexaLinkKeepAliveFor 6mo'],
    ['AlexaLinkKeepAliveURL', 'AlexaLinkKeepAliveURL /oauth/token'],
    ['AlexaLinkKeepAliveURL', 'AlexaLinkKeepAliveURL ftp://idp.example.com/token'],
    ['AlexaLinkKeepAliveURL', 'AlexaLinkKeepAliveURL https://user:pw@idp.example.com/token'],
    ['AlexaLinkKeepAliveURL', 'AlexaLinkKeepAliveURL https://idp.example.com/token#x'],
  ]) {
    it(`rejects: ${line}`, () => {
      const out = refused(loc('AlexaLink token', line), withKey(), directive);
      assert.match(out, new RegExp(`${directive} takes `));
    });
  }
});

// The keep-alive starts (its watchdog task, ALX0525) on a real sqlite
// database, and the status page shows its line; what it does with links
// needs the link store and the token location (tested where they merge).
describe('keep-alive starts', { skip: moduleMissingReason() }, () => {
  let apache, keyDir, db;

  before(async () => {
    keyDir = mkdtempSync(path.join(tmpdir(), 'alx-keys-'));
    const file = path.join(keyDir, 'alexalink.key');
    writeFileSync(file, randomBytes(32));
    chmodSync(file, 0o400);
    db = sqliteFile();
    apache = await startApache({
      serverConf: `${dbdConf(db)}AlexaLinkKeepAliveKey ${file}\nLogLevel warn alexalink:info\n`,
      locations: `${loc('AlexaLink token', 'AlexaLinkKeepAlive 8s')}<Location /alexalink-status>\n  SetHandler alexalink-status\n</Location>\n`,
    });
  });
  after(async () => {
    await apache?.stop();
    rmSync(keyDir, { recursive: true, force: true });
    if (db) rmSync(db.dir, { recursive: true, force: true });
  });

  it('logs that it looks for due links every quarter of AlexaLinkKeepAlive', async () => {
    // ALX0521: a build without the link store merged yet
    const text = await expectLog(apache, null, ['ALX0525'], { maybe: ['ALX0521'] });
    assert.match(text, /ALX0525: keep-alive on: due links are looked for every 2s/);
  });

  it('the status page has its figures', async () => {
    const j = JSON.parse((await request({ port: apache.port, path: '/alexalink-status?json' })).body);
    assert.deepEqual(Object.keys(j.keepalive).sort(), ['keepalive_failures', 'keepalive_next_due', 'keepalive_refreshes', 'links_ended_idle', 'links_ended_upstream', 'links_kept']);
    const html = (await request({ port: apache.port, path: '/alexalink-status' })).body.toString();
    assert.match(html, /Keep-alive: \d+ links kept/);
    const m = (await request({ port: apache.port, path: '/alexalink-status?metrics' })).body.toString();
    assert.match(m, /\nalexalink_keepalive_refreshes_total \d+\n/);
  });
});

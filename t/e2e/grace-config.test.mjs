// The refresh-grace directives parse strictly: a bad value, AlexaLinkCache
// with a provider whose module is not loaded (or unknown), or AlexaLinkCache
// outside the main server config fails `apache2 -t` naming the directive.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { moduleMissingReason, configTest, MODDIR } from '../lib/apache.mjs';

const loc = (...lines) => `ProxyPass /oauth/ http://127.0.0.1:9/\n<Location /oauth/token>\n  AlexaLink token\n${lines.map((l) => `  ${l}\n`).join('')}</Location>\n`;
const load = (name, file) => `LoadModule ${name} ${path.join(MODDIR, file)}\n`;
const REDIS = load('socache_redis_module', 'mod_socache_redis.so');
const MEMCACHE = load('socache_memcache_module', 'mod_socache_memcache.so');
const DBM = load('socache_dbm_module', 'mod_socache_dbm.so');

function accepted(r) {
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, /Syntax OK/);
}
function rejected(r, directive) {
  assert.notEqual(r.code, 0, `apache2 -t must fail:\n${r.output}`);
  assert.ok(r.output.includes(directive), `the message names ${directive}:\n${r.output}`);
  assert.doesNotMatch(r.output, /Syntax OK/);
}

describe('refresh-grace directives', { skip: moduleMissingReason() }, () => {
  for (const line of ['AlexaLinkRefreshGrace 0', 'AlexaLinkRefreshGrace 1', 'AlexaLinkRefreshGrace 86400', 'AlexaLinkGraceReplays 0', 'AlexaLinkGraceReplays 8', 'AlexaLinkGraceReplays 1000']) {
    it(`accepts: ${line}`, () => accepted(configTest(loc(line))));
  }
  for (const [directive, line] of [
    ['AlexaLinkRefreshGrace', 'AlexaLinkRefreshGrace -1'],
    ['AlexaLinkRefreshGrace', 'AlexaLinkRefreshGrace ten'],
    ['AlexaLinkRefreshGrace', 'AlexaLinkRefreshGrace 1.5'],
    ['AlexaLinkRefreshGrace', 'AlexaLinkRefreshGrace 60s'],
    ['AlexaLinkRefreshGrace', 'AlexaLinkRefreshGrace 99999999999999999999'],
    ['AlexaLinkRefreshGrace', 'AlexaLinkRefreshGrace'],
    ['AlexaLinkGraceReplays', 'AlexaLinkGraceReplays -1'],
    ['AlexaLinkGraceReplays', 'AlexaLinkGraceReplays 1001'],
    ['AlexaLinkGraceReplays', 'AlexaLinkGraceReplays many'],
    ['AlexaLinkGraceReplays', 'AlexaLinkGraceReplays 2.5'],
  ]) {
    it(`rejects: ${line}`, () => rejected(configTest(loc(line)), directive));
  }

  for (const [what, serverConf] of [
    ['none', 'AlexaLinkCache none'],
    ['shmcb with an absolute path and size', 'AlexaLinkCache shmcb:/tmp/alexalink-test(1048576)'],
    ['shmcb with no arguments', 'AlexaLinkCache shmcb'],
    ['redis (module loaded first)', `${REDIS}AlexaLinkCache redis:127.0.0.1:6379`],
    ['memcache (module loaded first)', `${MEMCACHE}AlexaLinkCache memcache:127.0.0.1:11211`],
    ['dbm (module loaded first)', `${DBM}AlexaLinkCache dbm:/tmp/alexalink-test-dbm`],
    // LoadModule runs while the file is read (EXEC_ON_READ), before any
    // other directive: a provider loaded further down is loaded in time
    ['redis with its LoadModule further down the file', `AlexaLinkCache redis:127.0.0.1:6379\n${REDIS}`],
  ]) {
    it(`AlexaLinkCache accepts ${what}`, () => accepted(configTest(loc(), { serverConf })));
  }

  for (const [what, serverConf] of [
    ['redis without mod_socache_redis', 'AlexaLinkCache redis:127.0.0.1:6379'],
    ['memcache without mod_socache_memcache', 'AlexaLinkCache memcache:127.0.0.1:11211'],
    ['dbm without mod_socache_dbm', 'AlexaLinkCache dbm:/tmp/x'],
    ['an unknown provider', 'AlexaLinkCache bogus:1'],
    ['no argument', 'AlexaLinkCache'],
    // the provider reads its arguments when the directive is read, so a
    // configtest catches what a start would refuse
    ['shmcb with a size that is no number', 'AlexaLinkCache shmcb:/nonexistent-dir/x(abc)'],
    ['shmcb with a size below its minimum', 'AlexaLinkCache shmcb:/tmp/alexalink-test(100)'],
    ['shmcb without the closing parenthesis', 'AlexaLinkCache shmcb:/tmp/alexalink-test(1048576'],
  ]) {
    it(`AlexaLinkCache rejects ${what}`, () => {
      const r = configTest(loc(), { serverConf });
      rejected(r, 'AlexaLinkCache');
    });
  }

  it('the unloaded-provider message says which module to load', () => {
    const r = configTest(loc(), { serverConf: 'AlexaLinkCache redis:127.0.0.1:6379' });
    assert.match(r.output, /socache_redis/);
  });

  it('a refused shmcb argument is said with the provider\'s reason', () => {
    const r = configTest(loc(), { serverConf: 'AlexaLinkCache shmcb:/nonexistent-dir/x(abc)' });
    assert.match(r.output, /AlexaLinkCache shmcb: Invalid argument: cache size not numerical/);
  });

  it('AlexaLinkCache inside a <VirtualHost> fails, naming the directive', () => {
    const r = configTest(`<VirtualHost 127.0.0.1:1>\n  ServerName v.example\n  AlexaLinkCache none\n</VirtualHost>\n${loc()}`);
    rejected(r, 'AlexaLinkCache');
  });

  it('AlexaLinkCache inside a <Location> fails, naming the directive', () => {
    rejected(configTest(loc('AlexaLinkCache none')), 'AlexaLinkCache');
  });

  it('AlexaLinkRefreshGrace and AlexaLinkGraceReplays are accepted in a <VirtualHost> location too', () => {
    accepted(configTest(`<VirtualHost 127.0.0.1:1>\n  ServerName v.example\n${loc('AlexaLinkRefreshGrace 600', 'AlexaLinkGraceReplays 3')}</VirtualHost>\n`));
  });
});

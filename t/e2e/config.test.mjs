// SPEC "Directives": every directive parses strictly; a bad value fails
// `apache2 -t` with a message naming the directive.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { moduleMissingReason, configTest } from '../lib/apache.mjs';

const loc = (...lines) => `ProxyPass /oauth/ http://127.0.0.1:9/\n<Location /oauth/token>\n${lines.map((l) => `  ${l}\n`).join('')}</Location>\n`;

describe('directives', { skip: moduleMissingReason() }, () => {
  const good = [
    ['AlexaLink token'],
    ['AlexaLink off'],
    ['AlexaLink authorize'],
    ['AlexaLink token', 'AlexaLinkMode enforce'],
    ['AlexaLink token', 'AlexaLinkMode report'],
    ['AlexaLink token', 'AlexaLinkMinTTL 0'],
    ['AlexaLink token', 'AlexaLinkMinTTL 600'],
    ['AlexaLink token', 'AlexaLinkDefaultTTL 0'],
    ['AlexaLink token', 'AlexaLinkDefaultTTL 3600'],
    ['AlexaLink token', 'AlexaLinkDefaultTTL console'],
    ['AlexaLink token', 'AlexaLinkKeepRefreshToken Off'],
    ['AlexaLink token', 'AlexaLinkKeepRefreshToken On'],
    ['AlexaLink token', 'AlexaLinkClientAuth as-is'],
    ['AlexaLink token', 'AlexaLinkClientAuth basic'],
    ['AlexaLink token', 'AlexaLinkClientAuth body'],
    ['AlexaLink token', 'AlexaLinkTimeBudget 4.5'],
    ['AlexaLink token', 'AlexaLinkTimeBudget 3'],
    ['AlexaLink token', 'AlexaLinkMaxBody 65536'],
    ['AlexaLink token', 'AlexaLinkMaxBody 64k'],
    ['AlexaLink token', 'AlexaLinkMaxBody 1m'],
    ['AlexaLink authorize', 'AlexaLinkRedirectHosts pitangui.amazon.com'],
    ['AlexaLink authorize', 'AlexaLinkRedirectHosts pitangui.amazon.com layla.amazon.com alexa.amazon.co.jp alexa.example.test:8443'],
    ['AlexaLink authorize', 'AlexaLinkDomainList cdn.example.com fonts.gstatic.com *.example.net'],
    ['AlexaLink authorize', 'AlexaLinkDomainList none'],
    ['AlexaLink authorize', 'AlexaLinkForceOffline On'],
    ['AlexaLink authorize', 'AlexaLinkForceOffline off'],
    ['AlexaLink authorize', 'AlexaLinkForceOffline google'],
    ['AlexaLink authorize', 'AlexaLinkForceOffline oidc'],
    ['AlexaLink authorize', 'AlexaLinkForceOffline both'],
  ];
  for (const lines of good) {
    it(`accepts: ${lines.join('; ')}`, () => {
      const r = configTest(loc(...lines));
      assert.equal(r.code, 0, r.output);
      assert.match(r.output, /Syntax OK/);
    });
  }

  const bad = [
    ['AlexaLink', 'AlexaLink tokens'],
    ['AlexaLink', 'AlexaLink'],
    ['AlexaLinkMode', 'AlexaLinkMode loud'],
    ['AlexaLinkMinTTL', 'AlexaLinkMinTTL -5'],
    ['AlexaLinkMinTTL', 'AlexaLinkMinTTL ten'],
    ['AlexaLinkMinTTL', 'AlexaLinkMinTTL 60s'],
    ['AlexaLinkDefaultTTL', 'AlexaLinkDefaultTTL -1'],
    ['AlexaLinkDefaultTTL', 'AlexaLinkDefaultTTL 1.5'],
    ['AlexaLinkDefaultTTL', 'AlexaLinkDefaultTTL skill'],
    ['AlexaLinkKeepRefreshToken', 'AlexaLinkKeepRefreshToken maybe'],
    ['AlexaLinkClientAuth', 'AlexaLinkClientAuth digest'],
    ['AlexaLinkTimeBudget', 'AlexaLinkTimeBudget 4.5.1'],
    ['AlexaLinkTimeBudget', 'AlexaLinkTimeBudget fast'],
    ['AlexaLinkTimeBudget', 'AlexaLinkTimeBudget -1'],
    ['AlexaLinkMaxBody', 'AlexaLinkMaxBody 10x'],
    ['AlexaLinkMaxBody', 'AlexaLinkMaxBody -1'],
    ['AlexaLinkMaxBody', 'AlexaLinkMaxBody k'],
    ['AlexaLinkMaxBody', 'AlexaLinkMaxBody 99999999999999999999'],
    ['AlexaLinkRedirectHosts', 'AlexaLinkRedirectHosts https://pitangui.amazon.com/api'],
    ['AlexaLinkRedirectHosts', 'AlexaLinkRedirectHosts'],
    ['AlexaLinkDomainList', 'AlexaLinkDomainList cdn.example.com/fonts'],
    ['AlexaLinkDomainList', 'AlexaLinkDomainList user@cdn.example.com'],
    ['AlexaLinkForceOffline', 'AlexaLinkForceOffline yes'],
    ['AlexaLinkForceOffline', 'AlexaLinkForceOffline offline_access'],
  ];
  for (const [directive, line] of bad) {
    it(`rejects: ${line}`, () => {
      const r = configTest(loc('AlexaLink token', line).replace('  AlexaLink token\n  AlexaLink\n', '  AlexaLink\n'));
      assert.notEqual(r.code, 0, `apache2 -t must fail:\n${r.output}`);
      assert.ok(r.output.includes(directive), `the message names ${directive}:\n${r.output}`);
      assert.doesNotMatch(r.output, /Syntax OK/);
    });
  }

  it('a keyword directive names the words it takes', () => {
    const r = configTest(loc('AlexaLink tokens'));
    assert.match(r.output, /AlexaLink takes token, authorize or off, not 'tokens'/);
    const m = configTest(loc('AlexaLink token', 'AlexaLinkClientAuth digest'));
    assert.match(m.output, /AlexaLinkClientAuth takes as-is, basic or body, not 'digest'/);
  });

  it('a host list names the host it refuses', () => {
    const r = configTest(loc('AlexaLink authorize', 'AlexaLinkDomainList cdn.example.com bad/path'));
    assert.match(r.output, /AlexaLinkDomainList takes host names .* not 'bad\/path'/);
  });

  it('AlexaLinkStatusEvents takes 1 to 100000 in the main server only', () => {
    assert.equal(configTest('', { serverConf: 'AlexaLinkStatusEvents 500' }).code, 0);
    for (const bad of ['0', '-1', '100001', '5x', 'many']) {
      const r = configTest('', { serverConf: `AlexaLinkStatusEvents ${bad}` });
      assert.notEqual(r.code, 0, `AlexaLinkStatusEvents ${bad} must fail`);
      assert.match(r.output, new RegExp(`AlexaLinkStatusEvents takes a whole number from 1 to 100000, not '${bad}'`));
    }
    const inLoc = configTest(loc('AlexaLink token', 'AlexaLinkStatusEvents 5'));
    assert.notEqual(inLoc.code, 0);
    assert.match(inLoc.output, /AlexaLinkStatusEvents/);
  });

  it('the module loads and a server-wide config without AlexaLink is accepted', () => {
    const r = configTest('ProxyPass /oauth/ http://127.0.0.1:9/\n');
    assert.equal(r.code, 0, r.output);
  });
});

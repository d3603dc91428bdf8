// Where the directives may stand (SPEC "Directives", context "dir"): each
// per-location setting in <Location> and <Directory>, never in the server
// config or a virtual host outside them, where `apache2 -t` names it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { moduleMissingReason, configTest } from '../lib/apache.mjs';

const PER_LOCATION = [
  'AlexaLink token', 'AlexaLinkMode report', 'AlexaLinkMinTTL 600',
  'AlexaLinkDefaultTTL 3600', 'AlexaLinkRefreshGrace 60', 'AlexaLinkGraceReplays 3',
  'AlexaLinkKeepRefreshToken Off', 'AlexaLinkClientAuth basic', 'AlexaLinkTimeBudget 4.5',
  'AlexaLinkMaxBody 64k', 'AlexaLinkRedirectHosts pitangui.amazon.com',
  'AlexaLinkDomainList example.com', 'AlexaLinkForceOffline On',
];
const PROXY = 'ProxyPass /oauth/ http://127.0.0.1:9/\n';

describe('directive scopes', { skip: moduleMissingReason() }, () => {
  for (const line of PER_LOCATION) {
    const directive = line.split(' ')[0];

    it(`${directive} in <Location> and <Directory>`, () => {
      for (const section of [`<Location /oauth/token>\n  ${line}\n</Location>\n`,
        `<Directory /var/www>\n  ${line}\n</Directory>\n`]) {
        const r = configTest(PROXY + section);
        assert.equal(r.code, 0, r.output);
      }
    });

    it(`${directive} in the server config: refused, named`, () => {
      const r = configTest(PROXY, { serverConf: line });
      assert.notEqual(r.code, 0, `apache2 -t must fail:\n${r.output}`);
      assert.match(r.output, new RegExp(`${directive} not allowed here`));
    });
  }

  it('AlexaLinkCache inside <Location>: refused, named', () => {
    const r = configTest(`${PROXY}<Location /oauth/token>\n  AlexaLinkCache shmcb\n</Location>\n`);
    assert.notEqual(r.code, 0, r.output);
    assert.match(r.output, /AlexaLinkCache/);
  });
});

// The Debian package (issue "A Debian package an admin installs with apt"):
// built from a clean checkout with Debian's own tools, lintian clean, the
// right files, and on this machine's apache2: installed, enabled, a real
// exchange through the packaged module, then disabled, removed and purged
// with nothing left. The machine's apache2 is put back as it was found
// (files a `make install` left there, which modules were enabled).
// Run as root, alone: `node --test t/package/`.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO, startApache, expectLog, settleErrorLog } from '../lib/apache.mjs';
import { startLegacyUpstream } from '../fixtures/legacy-upstream.mjs';
import { tokenRequest } from '../lib/http.mjs';
import { ALEXA_JSON } from '../lib/suite.mjs';

const PKG = 'libapache2-mod-alexalink';
const MODFILE = '/usr/lib/apache2/modules/mod_alexalink.so';
const AVAILABLE = ['/etc/apache2/mods-available/alexalink.load', '/etc/apache2/mods-available/alexalink.conf'];
const ENABLED = ['/etc/apache2/mods-enabled/alexalink.load', '/etc/apache2/mods-enabled/alexalink.conf'];

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 600000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, ...opts });
  return { code: r.status, out: `${r.stdout || ''}${r.stderr || ''}` };
}
function must(cmd, args, opts) {
  const r = run(cmd, args, opts);
  assert.equal(r.code, 0, `${cmd} ${args.join(' ')}:\n${r.out}`);
  return r.out;
}
const exists = (p) => { try { lstatSync(p); return true; } catch { return false; } };
const installed = () => run('dpkg-query', ['-W', '-f=${Status}', PKG]).out.includes('install ok installed');
const known = () => run('dpkg-query', ['-W', '-f=${Status}', PKG]).code === 0 && !/not-installed/.test(run('dpkg-query', ['-W', '-f=${Status}', PKG]).out);

describe('the Debian package', () => {
  let work;
  let deb;
  const saved = [];        // [path, backup] of files a make install left
  let hadShmcb;
  before(() => {
    assert.equal(known(), false, `${PKG} is not installed before the test (remove it first)`);
    hadShmcb = exists('/etc/apache2/mods-enabled/socache_shmcb.load');
    work = mkdtempSync(path.join(tmpdir(), 'alx-pkg-'));
    // what `make install` / the demo may have put where the package goes
    for (const p of [MODFILE, ...AVAILABLE, ...ENABLED]) {
      if (exists(p)) {
        const backup = path.join(work, `saved-${saved.length}`);
        renameSync(p, backup);
        saved.push([p, backup]);
      }
    }
  });
  after(() => {
    if (installed() || known()) run('dpkg', ['--purge', PKG]);
    for (const p of ENABLED) rmSync(p, { force: true });
    for (const [p, backup] of saved) { rmSync(p, { force: true }); renameSync(backup, p); }
    if (!hadShmcb && exists('/etc/apache2/mods-enabled/socache_shmcb.load')) run('a2dismod', ['-q', '-f', 'socache_shmcb']);
    rmSync(work, { recursive: true, force: true });
  });

  it('builds from a clean checkout with the README command', () => {
    const src = path.join(work, 'src');
    must('git', ['clone', '-q', REPO, src]);
    const out = must('bash', ['scripts/build-deb.sh', work], { cwd: src });
    const debs = readdirSync(work).filter((f) => f.startsWith(`${PKG}_`) && f.endsWith('.deb'));
    assert.equal(debs.length, 1, `one .deb (${debs.join(' ')}):\n${out.slice(-2000)}`);
    deb = path.join(work, debs[0]);
    const version = /AC_INIT\(\[mod_alexalink\], \[([^\]]+)\]/.exec(readFileSync(path.join(REPO, 'configure.ac'), 'utf8'))[1];
    assert.match(debs[0], new RegExp(`^${PKG}_${version.replace(/\./g, '\\.')}_[a-z0-9]+\\.deb$`), 'the version of configure.ac');
  });

  it('make distcheck: the release tarball builds and passes its tests on its own', () => {
    const src = path.join(work, 'dist');
    must('git', ['clone', '-q', REPO, src]);
    must('bash', ['-c', './autogen.sh >/dev/null && ./configure >/dev/null && make -j2 distcheck'], { cwd: src });
    const tarballs = readdirSync(src).filter((f) => /^mod_alexalink-.*\.tar\.gz$/.test(f));
    assert.equal(tarballs.length, 1, 'one release tarball');
    assert.ok(!existsSync(MODFILE), 'distcheck installed nothing into the system\'s apache2');
  });

  it('is lintian clean', () => {
    const r = run('lintian', ['--fail-on', 'error,warning', deb]);
    assert.equal(r.code, 0, `lintian:\n${r.out}`);
    assert.doesNotMatch(r.out, /^[EW]: /m);
  });

  it('holds the module, its .load/.conf and its docs', () => {
    const files = must('dpkg', ['-c', deb]).split('\n').map((l) => l.split(/\s+/).pop()).filter(Boolean);
    for (const f of ['./usr/lib/apache2/modules/mod_alexalink.so', './etc/apache2/mods-available/alexalink.load', './etc/apache2/mods-available/alexalink.conf', './usr/share/doc/libapache2-mod-alexalink/copyright', './usr/share/doc/libapache2-mod-alexalink/README.md.gz']) {
      assert.ok(files.includes(f), `${f} in the package:\n${files.join('\n')}`);
    }
    assert.equal(files.filter((f) => f.endsWith('.la') || f.endsWith('.a')).length, 0, 'no libtool archive');
    const deps = must('dpkg-deb', ['-f', deb, 'Depends']);
    assert.match(deps, /apache2-api-\d{8}/, 'depends on the module ABI of apache2');
  });

  it('installs, enables (dh_apache2\'s convention) and passes configtest', () => {
    must('dpkg', ['-i', deb]);
    assert.ok(installed());
    assert.ok(existsSync(MODFILE));
    must('a2enmod', ['-q', 'alexalink']);
    assert.ok(exists('/etc/apache2/mods-enabled/alexalink.load'), 'alexalink enabled');
    assert.ok(exists('/etc/apache2/mods-enabled/socache_shmcb.load'), 'and the provider it depends on');
    must('apache2ctl', ['configtest']);
  });

  it('makes a real exchange through the packaged module', async () => {
    const up = await startLegacyUpstream();
    let apache;
    try {
      apache = await startApache({ module: MODFILE, locations: `ProxyPass /t/ ${up.url}/\n<Location /t/>\n  AlexaLink token\n</Location>\n` });
      const mark = apache.mark();
      const res = await tokenRequest(apache.port, '/t/created', 'grant_type=authorization_code&code=x&redirect_uri=https%3A%2F%2Fpitangui.amazon.com%2F');
      assert.equal(res.status, 200, res.text.slice(0, 200));
      assert.equal(res.headers['content-type'], ALEXA_JSON);
      assert.equal(typeof res.json().access_token, 'string', 'the 201 became an Alexa-ready 200');
      await expectLog(apache, mark, ['ALX0100']); // the packaged module logged the exchange
    } finally {
      const logs = apache ? await apache.stop() : { errorLog: '' };
      await up.close();
      if (apache) settleErrorLog(apache, logs.errorLog, { stopped: true });
      assert.match(logs.errorLog, /ALX0100: token exchange/, 'the packaged module logged the exchange');
    }
  });

  it('removing disables it first; purging leaves nothing behind', () => {
    must('dpkg', ['-r', PKG]);
    assert.ok(!exists('/etc/apache2/mods-enabled/alexalink.load'), 'removal disabled the module');
    assert.ok(!existsSync(MODFILE), 'the module is gone');
    assert.ok(existsSync(AVAILABLE[0]), 'its conffiles stay until purge');
    must('dpkg', ['--purge', PKG]);
    for (const p of [...AVAILABLE, ...ENABLED]) assert.ok(!exists(p), `${p} gone`);
    assert.equal(known(), false, 'dpkg knows nothing of it');
    const left = readdirSync('/var/lib/dpkg/info').filter((f) => f.startsWith(`${PKG}.`));
    assert.deepEqual(left, [], 'no maintainer scripts left');
    const runtime = ['/var/run/apache2', '/var/lock/apache2', '/var/cache/apache2'].flatMap((d) => { try { return readdirSync(d).filter((f) => /alexalink/.test(f)).map((f) => `${d}/${f}`); } catch { return []; } });
    assert.deepEqual(runtime, [], 'no runtime store files');
  });
});

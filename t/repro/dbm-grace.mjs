// Reproduces refresh grace on `AlexaLinkCache dbm:PATH` with the real Debian
// apache2 in front of the rotating upstream: refresh once, then present the
// rotated refresh token again; it must be answered from the store without the
// upstream seeing it, and no store failure (ALX0205) may be logged. Exits 0
// when grace works, 1 when it does not, and
// prints the module's store lines (ALX0205) and the DBM files the parent
// made (owner, mode). Not a node:test file: run it on its own,
//   node t/repro/dbm-grace.mjs            (ALX_MODULE=... for another build)
// Options: ALX_DBM_PATH=<path> overrides the dbm path (default
// <ServerRoot>/grace.db, in the 0755 root-owned test dir); ALX_MPM as usual.
import { readdirSync, statSync } from 'node:fs';
import { startApache, MODDIR } from '../lib/apache.mjs';
import { redact } from '../lib/secrets.mjs';
import { startRotating, graceLocation, refresh, graceClients, CLIENT_A } from '../lib/grace.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const up = await startRotating();
let apache;
let ok = false;
try {
  apache = await startApache({
    serverConf: ({ dir }) => `LoadModule socache_dbm_module ${MODDIR}/mod_socache_dbm.so\nAlexaLinkCache dbm:${process.env.ALX_DBM_PATH || `${dir}/grace.db`}\nLogLevel warn alexalink:info socache_dbm:debug`,
    locations: graceLocation('/rot/', `${up.url}/`, ['AlexaLinkTimeBudget 0.5']),
  });
  for (const f of readdirSync(apache.dir).filter((n) => n.startsWith('grace.db'))) {
    const st = statSync(`${apache.dir}/${f}`);
    console.log(`dbm file ${f}: uid ${st.uid} mode ${(st.mode & 0o777).toString(8)}`);
  }
  const creds = [CLIENT_A, graceClients()[CLIENT_A]];
  const g = up.issue(CLIENT_A);
  const first = await refresh(apache.port, '/rot/token', g.refresh_token, creds);
  console.log(`first refresh: ${first.status}; upstream count ${up.count()}`);
  await sleep(700);
  const n = up.count();
  const again = await refresh(apache.port, '/rot/token', g.refresh_token, creds);
  const seen = up.count() - n;
  console.log(`replay: ${again.status}; upstream saw ${seen} more request(s)`);
  await sleep(200);
  const lines = apache.errorLog().split('\n').filter((l) => /ALX02|socache|dbm|DBM/i.test(l));
  console.log(redact(lines.join('\n')));
  // a store failure (ALX0205) fails it too, even when the replay worked
  ok = first.status === 200 && again.status === 200 && seen === 0
    && again.json().access_token === first.json().access_token
    && !lines.some((l) => /ALX0205: /.test(l));
} finally {
  if (apache) await apache.stop();
  await up.close();
}
console.log(ok ? 'PASS: the replay was answered from the dbm store' : 'FAIL: refresh grace did not work on dbm');
process.exit(ok ? 0 : 1);

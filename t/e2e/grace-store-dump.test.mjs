// SPEC "Refresh grace": neither the store nor a dump of it reveals a usable
// token. After rotations (and a chained refresh), the raw bytes of the
// store hold sealed records ("ALXG" magic) and none of the tokens or
// secrets, raw, percent-encoded, base64, base64url or hex: the default shmcb
// segment (read from /proc/<pid>/mem of the running parent), a real redis
// (SCAN + GET of every key) and a real memcached (lru_crawler metadump + get).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { startApache, moduleMissingReason, CACHE, SHARED_CACHE, shortLived, expectLog, storeConf } from '../lib/apache.mjs';
import { allSecrets } from '../lib/secrets.mjs';
import { finish } from '../lib/suite.mjs';
import { SERVER_STORES, sharedMappings, tokensIn } from '../lib/stores.mjs';
import { startRotating, graceLocation, refresh, assertTokenAnswer, graceClients, CLIENT_A, CLIENT_B } from '../lib/grace.mjs';
import { sleep } from '../lib/wait.mjs';

const MAGIC = Buffer.from('ALXG');
const count = (buf, needle) => { let n = 0; for (let i = buf.indexOf(needle); i >= 0; i = buf.indexOf(needle, i + 1)) n++; return n; };

const STORES = [
  // under ALX_CACHE=dbm the default store is a dbm file (t/lib/apache.mjs);
  // under redis or memcache it is the same as the entries below
  { name: CACHE === 'shmcb' ? 'shmcb (default)' : `${CACHE} (ALX_CACHE)`, serverConf: () => '', skip: SHARED_CACHE && `ALX_CACHE=${CACHE}: the ${CACHE} entry covers it` },
  ...SERVER_STORES.map((S) => ({ ...S, serverConf: storeConf })),
];

for (const S of STORES) {
  describe(`a dump of the grace store holds no token: ${S.name}`, { skip: moduleMissingReason() || S.skip }, () => {
    let store;
    let up;
    let apache;
    before(async () => {
      if (S.start) store = await S.start();
      up = await startRotating();
      apache = await startApache({
        serverConf: S.serverConf(store),
        locations: [graceLocation('/rot/', `${up.url}/`), graceLocation('/short/', `${up.url}/opt/ttl=1/`)].join(''),
      });
    });
    after(async () => {
      await finish({ apache, up, also: [store] });
    });

    it('after rotations, replays and a chained refresh: records in the store, no token in its bytes', async () => {
      const clients = graceClients();
      const presented = [];
      // three plain rotations, two clients, each replayed once
      for (const id of [CLIENT_A, CLIENT_B, CLIENT_A]) {
        const g = up.issue(id);
        presented.push(g.refresh_token);
        const first = assertTokenAnswer(await refresh(apache.port, '/rot/token', g.refresh_token, [id, clients[id]]));
        assert.equal(assertTokenAnswer(await refresh(apache.port, '/rot/token', g.refresh_token, [id, clients[id]])).access_token, first.access_token);
      }
      // one chained refresh: its record holds the successor's successor
      const g = up.issue(CLIENT_A);
      const mark = apache.mark();
      assertTokenAnswer(await refresh(apache.port, '/short/token', g.refresh_token, [CLIENT_A, clients[CLIENT_A]]));
      await expectLog(apache, mark, [shortLived(1)]); // a 1 s token: said once an hour
      await sleep(1100);
      const n = up.count();
      assertTokenAnswer(await refresh(apache.port, '/rot/token', g.refresh_token, [CLIENT_A, clients[CLIENT_A]]));
      assert.equal(up.count(), n + 1, 'the chain went upstream with the successor');

      let bufs;
      let records;
      if (!store && CACHE === 'dbm') {
        bufs = [readFileSync(path.join(apache.dir, 'alexalink-grace.db'))];
        records = count(bufs[0], MAGIC);
      } else if (!store) {
        const maps = sharedMappings(apache.pid, { minSize: 1 << 20 });
        assert.ok(maps.length >= 1, 'a shared segment of at least 1 MiB in the parent');
        bufs = maps.map((m) => m.data);
        records = bufs.reduce((k, b) => k + count(b, MAGIC), 0);
      } else {
        const dump = await store.dump();
        assert.ok(dump.length >= 5, `at least 5 keys (4 rotations, one recorded under two tokens): ${dump.length}`);
        bufs = dump.flatMap((e) => [Buffer.from(e.key), e.value]);
        // value = 8-byte expiry | "ALXG" | version 1 | nonce | ciphertext | tag;
        // on a shared store the answer handed to waiters sits under its own
        // id for AlexaLinkTimeBudget: "ALXA" | version 1 | ...
        const sealed = (e, magic) => e.value.subarray(8, 12).equals(Buffer.from(magic)) && e.value[12] === 1;
        records = dump.filter((e) => sealed(e, 'ALXG')).length;
        const answers = dump.filter((e) => sealed(e, 'ALXA')).length;
        assert.equal(records + answers, dump.length, `every value is a sealed record or answer (${records} + ${answers} of ${dump.length})`);
        const now = Date.now();
        for (const e of dump) {
          const expiry = Number(e.value.readBigUInt64BE(0) / 1000n);
          assert.ok(expiry > now && expiry <= now + 86400 * 1000 + 60000, 'the framed expiry is within the window');
        }
      }
      assert.ok(records >= 5, `sealed records found: ${records}`);
      const tokens = allSecrets();
      assert.ok(tokens.length >= 15, 'the tokens and secrets of this run are known');
      assert.deepEqual(tokensIn(bufs, tokens), [], 'no token, client secret or client id-bound value in the store bytes');
      // nor the client ids in the clear
      assert.equal(bufs.some((b) => b.includes(Buffer.from(CLIENT_A)) || b.includes(Buffer.from(CLIENT_B))), false, 'no client id in the clear');
      assert.ok(presented.length === 3);
    });
  });
}

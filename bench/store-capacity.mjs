// How many refresh-grace records a shmcb segment holds, measured: rotations
// through a real Apache into a segment of the given size, then every old
// token presented once to an AlexaLinkMode report location on the same store
// (report mode reads the record and says ALX0213, it changes nothing), and
// the records still there are counted.
// Usage: node bench/store-capacity.mjs [bytes] [access-token length]
//   e.g. node bench/store-capacity.mjs 4194304 40     (the default segment)
//        node bench/store-capacity.mjs 4194304 1200   (JWT-sized answers)
import { startApache } from '../t/lib/apache.mjs';
import { startRotating, graceLocation, refresh, graceClients, CLIENT_A } from '../t/lib/grace.mjs';

const size = Number(process.argv[2] || 4194304);
const atlen = Number(process.argv[3] || 40);
const A = [CLIENT_A, graceClients()[CLIENT_A]];

const up = await startRotating();
const opt = `${up.url}/opt/atlen=${atlen}/`;
const apache = await startApache({
  serverConf: ({ dir }) => `AlexaLinkCache shmcb:${dir}/bench(${size})\n`,
  locations: graceLocation('/rot/', opt) + graceLocation('/probe/', opt, ['AlexaLinkMode report']),
});

async function inBatches(items, fn, width = 16) {
  const out = [];
  for (let i = 0; i < items.length; i += width) out.push(...await Promise.all(items.slice(i, i + width).map(fn)));
  return out;
}

try {
  // write until the oldest record is gone: then the segment is full
  const tokens = [];
  let bodyBytes = 0;
  for (;;) {
    const grants = Array.from({ length: 500 }, () => up.issue(CLIENT_A));
    const res = await inBatches(grants, (g) => refresh(apache.port, '/rot/token', g.refresh_token, A));
    for (const r of res) if (r.status !== 200) throw new Error(`rotation answered ${r.status}`);
    bodyBytes = res[0].body.length;
    tokens.push(...grants.map((g) => g.refresh_token));
    const m = apache.mark();
    await refresh(apache.port, '/probe/token', tokens[0], A);
    if (!/ALX0213/.test(apache.errorLogSince(m))) break;
  }
  // then count the records still there (newest first)
  const mark = apache.mark();
  await inBatches(tokens.slice(1).reverse(), (t) => refresh(apache.port, '/probe/token', t, A));
  const kept = (apache.errorLogSince(mark).match(/ALX0213/g) || []).length;
  const perMiB = Math.round(kept / (size / 1048576));
  console.log(`store-capacity: shmcb segment ${size} bytes, answer ${bodyBytes} bytes (access token ${atlen} chars): ${tokens.length} rotations written, ${kept} records kept = ${perMiB} records per MiB`);
  console.log(`store-capacity: at one refresh an hour per linked user and AlexaLinkRefreshGrace 86400, this segment carries ${Math.floor(kept / 24)} users; 64 MiB about ${Math.floor(perMiB * 64 / 24)}`);
} finally {
  await apache.stop();
  await up.close();
}

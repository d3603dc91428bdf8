// Waiting on events, shared by the server starters (apache.mjs, stores.mjs)
// so neither imports the other: a free loopback port, an open port, and a
// polled condition. Never a fixed sleep.
import net from 'node:net';

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Polls cond() until it returns a truthy value; rejects after timeoutMs.
export async function waitFor(cond, { timeoutMs = 15000, intervalMs = 20, what = 'condition' } = {}) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// A fixed pause, for tests whose scenario is a time (Alexa's retry at 5 s,
// a token's 1 s lifetime running out); never to wait for an event.
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function portOpen(port) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

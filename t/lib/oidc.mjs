// Starts t/fixtures/oidc-server.mjs as a child process and drives a real
// authorization-code flow through its development login and consent pages
// with a cookie jar, as a browser would during Alexa account linking.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { REPO, waitFor } from './apache.mjs';
import { request, form } from './http.mjs';
import { secret, registerSecret } from './secrets.mjs';

export const REDIRECT_URI = 'https://pitangui.amazon.com/api/skill/link/M2AAAAAAAAAAAA';
export const BASIC_CLIENT = 'alexa-skill-basic';
export const POST_CLIENT = 'alexa-skill-post';

export async function startOidc({ accessTokenTtl = 300, refreshTokenTtl = 86400 } = {}) {
  const secrets = {
    [BASIC_CLIENT]: secret('oidc basic client_secret'),
    [POST_CLIENT]: secret('oidc post client_secret'),
  };
  const child = spawn(process.execPath, [path.join(REPO, 't', 'fixtures', 'oidc-server.mjs')], {
    cwd: REPO,
    env: {
      ...process.env,
      OIDC_BASIC_SECRET: secrets[BASIC_CLIENT],
      OIDC_POST_SECRET: secrets[POST_CLIENT],
      OIDC_AT_TTL: String(accessTokenTtl),
      OIDC_RT_TTL: String(refreshTokenTtl),
      NODE_ENV: 'test',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let exited = null;
  const exitP = new Promise((r) => child.on('exit', (code, signal) => { exited = { code, signal }; r(); }));
  // never outlive the test process
  const reap = () => { if (!exited) child.kill('SIGKILL'); };
  process.on('exit', reap);
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const port = await waitFor(() => {
    if (exited) throw new Error(`oidc-server exited: ${JSON.stringify(exited)}\n${err}`);
    const m = /LISTENING (\d+)/.exec(out);
    return m && Number(m[1]);
  }, { what: 'oidc-server LISTENING' });
  return {
    port,
    issuer: `http://127.0.0.1:${port}`,
    secrets,
    stderr: () => err,
    // how many token-endpoint requests the provider received, and their grant types
    async tokenHits() {
      const res = await request({ port, method: 'GET', path: '/__alx/token-hits' });
      return res.json();
    },
    async stop() {
      if (!exited) { child.kill('SIGTERM'); await exitP; }
    },
  };
}

class CookieJar {
  constructor() { this.cookies = new Map(); }
  take(res) {
    const set = res.headers['set-cookie'] || [];
    for (const c of set) {
      const [pair, ...attrs] = c.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      const expired = attrs.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a)) || value === '';
      if (expired) this.cookies.delete(name); else this.cookies.set(name, value);
    }
  }
  header() { return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '); }
}

function formOf(html) {
  const action = /<form[^>]*action="([^"]+)"/i.exec(html);
  const fields = [];
  for (const m of html.matchAll(/<input([^>]*)>/gi)) {
    const name = /name="([^"]+)"/.exec(m[1]);
    const value = /value="([^"]*)"/.exec(m[1]);
    if (name) fields.push([name[1], value ? value[1] : '']);
  }
  return { action: action && action[1].replace(/&amp;/g, '&'), fields };
}

// Logs in as `account` and consents; returns the authorization code sent to
// the Alexa redirect URI, and the state that came back with it.
export async function authorizationCode(op, { clientId, state = 'alexa-state-123', account = 'user-1' }) {
  const jar = new CookieJar();
  const get = async (p) => {
    const res = await request({ port: op.port, method: 'GET', path: p, headers: jar.cookies.size ? { Cookie: jar.header() } : {} });
    jar.take(res);
    return res;
  };
  const post = async (p, body) => {
    const res = await request({ port: op.port, method: 'POST', path: p, headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: jar.header() }, body });
    jar.take(res);
    return res;
  };
  const rel = (loc) => { const u = new URL(loc, op.issuer); return u.origin === op.issuer ? u.pathname + u.search : null; };
  const qs = new URLSearchParams({ client_id: clientId, response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid offline_access', state, prompt: 'consent' });
  let res = await get(`/auth?${qs}`);
  for (let step = 0; step < 12; step++) {
    if (res.status >= 300 && res.status < 400) {
      const loc = res.headers.location;
      if (loc.startsWith(REDIRECT_URI)) {
        const u = new URL(loc);
        if (u.searchParams.get('error')) throw new Error(`authorization failed: ${u.searchParams.get('error')} ${u.searchParams.get('error_description')}`);
        const code = registerSecret(u.searchParams.get('code'), 'oidc authorization code');
        return { code, state: u.searchParams.get('state') };
      }
      res = await get(rel(loc));
      continue;
    }
    if (res.status === 200 && /<form/i.test(res.text)) {
      const f = formOf(res.text);
      const fields = f.fields.map(([k, v]) => [k, k === 'login' ? account : k === 'password' ? 'any-password' : v]);
      res = await post(rel(f.action), form(fields));
      continue;
    }
    throw new Error(`unexpected answer in the login flow: ${res.status}`);
  }
  throw new Error('login flow did not end at the redirect URI');
}

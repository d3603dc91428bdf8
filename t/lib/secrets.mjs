// Distinctive secret values (tokens, codes, client secrets) that the tests
// use, so logs and test output can be searched for them. Values are derived
// from ALX_SECRET_SEED when set (a parent test can then recompute a child
// run's values), else from a random seed. Tests never print a value: they
// compare through redact(), so an assertion diff shows «label» instead.
import { createHmac, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';

const SEED = process.env.ALX_SECRET_SEED || randomBytes(16).toString('hex');
const registry = new Map(); // value -> label

export function secretSeed() { return SEED; }

// 32 characters of [A-Za-z0-9]; `extra` is appended as is (e.g. '+/=:%')
// to exercise encodings.
export function secret(label, extra = '') {
  const h = createHmac('sha256', SEED).update(label).digest('base64').replace(/[^A-Za-z0-9]/g, '');
  const value = `${h.slice(0, 32)}${extra}`;
  registry.set(value, label);
  return value;
}

// Registers a derived string (a Basic header, an encoded form) under a label.
export function registerSecret(value, label) {
  registry.set(value, label);
  return value;
}

export function allSecrets() {
  return [...registry.entries()].map(([value, label]) => ({ value, label }));
}

// The forms a value can take on the wire: raw, percent-encoded (URI and
// WHATWG form rules, either hex case).
function encodings(value) {
  const forms = new Set([value, encodeURIComponent(value), new URLSearchParams([['', value]]).toString().slice(1)]);
  for (const f of [...forms]) forms.add(f.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()));
  return [...forms];
}

// Labels of the secrets (and their encoded forms) found in text.
export function secretsIn(text) {
  const found = [];
  for (const [value, label] of registry) {
    if (encodings(value).some((f) => text.includes(f))) found.push(label);
    // a secret's 20-character core also counts: a truncated value is a leak
    else if (value.length >= 32 && text.includes(value.slice(0, 20))) found.push(`${label} (prefix)`);
  }
  return found;
}

function redactString(s) {
  let out = s;
  // longest first, so a value containing another is replaced whole
  const entries = [...registry.entries()].sort((a, b) => b[0].length - a[0].length);
  for (const [value, label] of entries) {
    for (const f of encodings(value)) out = out.split(f).join(`«${label}»`);
  }
  return out;
}

// Deep copy with every registered secret replaced by «label».
export function redact(v) {
  if (typeof v === 'string') return redactString(v);
  if (Buffer.isBuffer(v)) return redactString(v.toString('latin1'));
  if (Array.isArray(v)) return v.map(redact);
  if (v && typeof v === 'object') {
    const o = {};
    for (const [k, val] of Object.entries(v)) o[k] = redact(val);
    return o;
  }
  return v;
}

// ALX_SECRETS_DUMP=<dir>: at exit, write this process's secrets to
// <dir>/<pid>.json, so secrets.test.mjs can search a child run's output.
if (process.env.ALX_SECRETS_DUMP) {
  const dir = process.env.ALX_SECRETS_DUMP;
  process.on('exit', () => {
    writeFileSync(`${dir}/${process.pid}.json`, JSON.stringify(allSecrets()));
  });
}

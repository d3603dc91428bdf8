// Checks on the source itself: every log call has its own ALX tag, and every
// directive the module declares is documented in README.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (p) => readFileSync(join(root, p), 'utf8');
const cFiles = [
  ...readdirSync(root).filter((f) => /^(mod_)?alexalink.*\.c$/.test(f)),
  ...readdirSync(join(root, 'lib')).filter((f) => f.endsWith('.c')).map((f) => `lib/${f}`)];

// Each ap_log_*error( ... ) call, up to its closing ");".
function logCalls(src) {
  return [...src.matchAll(/ap_log_[a-z]*error\s*\(([\s\S]*?)\);/g)].map((m) => m[1]);
}

test('every log call carries exactly one ALX tag', () => {
  let calls = 0;
  for (const f of cFiles) {
    for (const call of logCalls(read(f))) {
      calls++;
      const tags = call.match(/ALX\d{4}/g) || [];
      assert.equal(tags.length, 1, `${f}: log call without exactly one tag: ${call.slice(0, 80)}`);
    }
  }
  assert.ok(calls >= 15, `found ${calls} log calls in ${cFiles.join(' ')}`);
});

test('no ALX tag is used at two call sites', () => {
  const seen = new Map();
  for (const f of cFiles) {
    for (const call of logCalls(read(f))) {
      const tag = call.match(/ALX\d{4}/)[0];
      assert.ok(!seen.has(tag), `${tag} used in ${seen.get(tag)} and ${f}`);
      seen.set(tag, f);
    }
  }
});

test('every tag is listed in README.md', () => {
  const readme = read('README.md');
  for (const f of cFiles) {
    for (const call of logCalls(read(f))) {
      const tag = call.match(/ALX\d{4}/)[0];
      assert.ok(readme.includes(`\`${tag}\``), `${tag} missing from README.md`);
    }
  }
});

test('every directive is documented in README.md and conf/alexalink.conf', () => {
  const names = [...read('alexalink_config.c').matchAll(/AP_INIT_[A-Z0-9]+\("([A-Za-z]+)"/g),
                 ...read('alexalink_config.h').matchAll(/^    X\(\w+,[\s\S]*?"(AlexaLink\w*)"/gm)].map((m) => m[1]);
  assert.ok(names.length >= 8, `found ${names.length} directives`);
  const readme = read('README.md');
  const conf = read('conf/alexalink.conf');
  for (const n of names) {
    assert.match(readme, new RegExp(`\\| \`${n}[ \`]`), `${n} missing from README's table`);
    assert.ok(conf.includes(n), `${n} missing from conf/alexalink.conf`);
  }
});

test('every config field is declared once, in ALX_DIR_CONF, and its table drives create, merge and the directives', () => {
  const header = read('alexalink_config.h');
  const src = read('alexalink_config.c');
  const table = header.match(/#define ALX_DIR_CONF\(X\)([\s\S]*?)\n\n/)[1];
  const rows = [...table.matchAll(/X\((\w+),[\s\S]*?"(AlexaLink\w*)"/g)].map((m) => [m[1], m[2]]);
  assert.ok(rows.length >= 13, `found ${rows.length} rows`);
  const struct = header.match(/typedef struct \{([\s\S]*?)\} alx_dir_conf;/)[1];
  assert.match(struct, /ALX_DIR_CONF\(ALX_CONF_FIELD\)/, 'the struct is not made from the table');
  assert.deepEqual([...struct.matchAll(/(\w+);/g)].map((m) => m[1]), ['set'], 'a field declared outside the table');
  for (const [fn, re] of [['alexalink_config_create_dir', /ALX_DIR_CONF\(ALX_CONF_DEFAULT\)/],
                          ['alexalink_config_merge_dir', /ALX_DIR_CONF\(ALX_CONF_MERGE\)/],
                          ['alexalink_config_cmds', /ALX_DIR_CONF\(ALX_CONF_COMMAND\)/]])
    assert.match(src.match(new RegExp(`${fn}[\\s\\S]*?\\n\\}`))[0], re, `${fn} not made from the table`);
  const readme = read('README.md');
  const conf = read('conf/alexalink.conf');
  for (const [field, name] of rows) {
    assert.match(readme, new RegExp(`\\| \`${name}[ \`]`), `${name} (${field}) missing from README's table`);
    assert.ok(conf.includes(name), `${name} missing from conf/alexalink.conf`);
  }
});

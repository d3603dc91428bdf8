// Checks on the source itself: every log call has its own ALX tag, listed
// with its level in lib/alx_tags.h and README.md, and every directive the
// module declares is documented in README.md.
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

// httpd's level constants as lib/alx_tags.h and README.md say them.
const levelWord = { EMERG: 'emerg', ALERT: 'alert', CRIT: 'crit', ERR: 'error', WARNING: 'warn',
                    NOTICE: 'notice', INFO: 'info', DEBUG: 'debug' };
const levelsIn = (text) => [...new Set([...text.matchAll(/\bAPLOG_([A-Z]+)\b/g)]
  .map((m) => levelWord[m[1]]).filter(Boolean))].sort();
const wordsIn = (text) => [...new Set(text.match(/\b(emerg|alert|crit|error|warn|notice|info|debug)\b/g) || [])].sort();

// ALX_TAGS: tag -> its level words.
function tagTable() {
  const rows = [...read('lib/alx_tags.h').matchAll(/X\((ALX\d{4}), "([^"]*)",/g)];
  const table = new Map();
  for (const [, tag, level] of rows) {
    assert.ok(!table.has(tag), `${tag} twice in lib/alx_tags.h`);
    table.set(tag, wordsIn(level));
  }
  assert.ok(table.size >= 40, `found ${table.size} rows in ALX_TAGS`);
  return table;
}

// The levels a call logs at: the APLOG_ constants of its level argument,
// or, when that is a variable set from a function (level =
// exchange_level(...)), the constants that function returns.
function callLevels(src, call) {
  const levelArg = call.split(',')[1];
  const direct = levelsIn(levelArg);
  if (direct.length)
    return direct;
  const name = levelArg.trim();
  const from = src.match(new RegExp(`\\b${name}\\s*=\\s*(\\w+)\\(`));
  assert.ok(from, `cannot tell the level of a call logging at '${name}'`);
  const body = src.match(new RegExp(`\\n[^\\n]*\\b${from[1]}\\([^;{]*\\)\\s*\\{[\\s\\S]*?\\n\\}`));
  assert.ok(body, `cannot find ${from[1]}, which sets '${name}'`);
  return levelsIn(body[0]);
}

test('ALX_TAGS lists every tag the sources log, at the level each call site logs at', () => {
  const table = tagTable();
  const used = new Set();
  for (const f of cFiles) {
    const src = read(f);
    for (const call of logCalls(src)) {
      const tag = call.match(/ALX\d{4}/)[0];
      used.add(tag);
      assert.ok(table.has(tag), `${tag} (${f}) missing from lib/alx_tags.h`);
      assert.deepEqual(callLevels(src, call), table.get(tag), `${tag}: ${f} logs at another level than lib/alx_tags.h says`);
    }
  }
  for (const tag of table.keys())
    assert.ok(used.has(tag), `${tag} is in lib/alx_tags.h but no call site logs it`);
});

test("README's table of tags is ALX_TAGS, levels included", () => {
  const table = tagTable();
  const rows = [...read('README.md').matchAll(/^\| `(ALX\d{4})` \| ([^|]+) \|/gm)];
  const readme = new Map();
  for (const [, tag, level] of rows) {
    assert.ok(!readme.has(tag), `${tag} has two rows in README.md`);
    readme.set(tag, wordsIn(level));
  }
  for (const [tag, levels] of table) {
    assert.ok(readme.has(tag), `${tag} has no row in README's table of tags`);
    assert.deepEqual(readme.get(tag), levels, `${tag}: README's level is not lib/alx_tags.h's`);
  }
  for (const tag of readme.keys())
    assert.ok(table.has(tag), `${tag} is in README's table but not in lib/alx_tags.h`);
});

test("README's fix names and roles are the tables' (lib/alx_fix.h, lib/alx_vocab.h)", () => {
  const readme = read('README.md');
  const fixes = [...read('lib/alx_fix.h').matchAll(/X\(\w+, 0x[0-9a-f]+, "([^"]+)"/g)].map((m) => m[1]);
  assert.ok(fixes.length >= 10, `found ${fixes.length} fixes`);
  const paragraph = readme.match(/^Fix names: ([\s\S]*?)\. Warnings/m)[1];
  assert.deepEqual([...paragraph.matchAll(/`([^`]+)`/g)].map((m) => m[1]), fixes, "README's fix names");
  const roles = [...read('lib/alx_vocab.h').match(/#define ALX_ROLES\(X\)([\s\S]*?)\n\n/)[1]
    .matchAll(/X\(\w+, \d+, "([^"]+)"\)/g)].map((m) => m[1]);
  assert.ok(readme.includes(`| \`AlexaLink ${roles.join('\\|')}\` |`), `README's AlexaLink row does not list ${roles.join(', ')}`);
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

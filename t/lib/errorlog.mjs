// The error-log check of every end-to-end test. A warning or error line
// fails the test that was running when it was logged, unless that test
// acknowledged it with expectLog() right after the step that provokes it
// (mod_md's ignore_recent); a crashed child or a sanitizer report always
// fails it (httpd does not log a child killed with SIGKILL).
import { afterEach } from 'node:test';
import { waitFor } from './wait.mjs';

const BAD_WORDS = [/exit signal/, /AddressSanitizer/, /runtime error:/, /Segmentation/, /LeakSanitizer/];
const LEVEL_RE = /\[(?:[A-Za-z0-9_.-]+:)?(warn|error|crit|alert|emerg)\]/;

// A log tag as a pattern: 'ALX0110' (the module's) or 'AH01110' (httpd's);
// a RegExp stands for itself.
export function tagPattern(tag) {
  return tag instanceof RegExp ? tag : new RegExp(`\\b${tag}: `);
}
export const alx = tagPattern;
// How many lines of text carry the tag.
export const tagCount = (text, tag) => (text.match(new RegExp(`\\b${tag}: `, 'g')) || []).length;
// The honest-lifetime warning for an upstream whose tokens live `seconds`.
export const shortLived = (seconds) => new RegExp(`\\bALX0103: the upstream's access tokens for client \\S+ live ${seconds} s,`);

// An acknowledgement covers the lines matching `re` logged from byte `from`
// until `to` (null while its test runs; the end of the log when it ends).
function covers(ack, at, line) {
  return at >= ack.from && (ack.to === null || at < ack.to) && ack.re.test(line)
    && !BAD_WORDS.some((re) => re.test(line));
}

// The lines of text (starting at byte `base` of the log) at warn or above,
// or with a sign of a crash, that no acknowledgement covers.
export function errorLogProblems(text, acks = [], base = 0) {
  const problems = [];
  let at = base;
  for (const line of text.split('\n')) {
    const start = at;
    at += line.length + 1;
    if (!line || !(LEVEL_RE.test(line) || BAD_WORDS.some((re) => re.test(line)))) continue;
    if (!acks.some((a) => covers(a, start, line))) problems.push(line);
  }
  return problems;
}

export function checkErrorLog(text, acks = [], base = 0, what = 'unexpected error-log lines') {
  const problems = errorLogProblems(text, acks, base);
  if (problems.length) throw new Error(`${what}:\n${problems.join('\n')}`);
}

// expectLog(apache, mark, tags): waits until every tag (see tagPattern) has
// a line after mark (null: since the start), and acknowledges the lines of
// those tags from mark to the end of the running test. Returns the text
// since mark. `maybe`: patterns acknowledged without being waited for, only
// for lines the machine decides, not the module: a library-version notice,
// or a waiter that runs out of its budget on a loaded machine.
export async function expectLog(apache, mark, tags, { timeoutMs = 10000, maybe = [] } = {}) {
  const res = tags.map(tagPattern);
  let missing = res;
  const text = await waitFor(() => {
    const t = apache.errorLogSince(mark);
    const lines = t.split('\n');
    missing = res.filter((re) => !lines.some((l) => re.test(l)));
    return missing.length ? false : t;
  }, { timeoutMs, what: () => `${missing.join(', ')} in the error log` });
  const from = mark ? mark.error : 0;
  for (const re of [...res, ...maybe.map(tagPattern)]) apache.acks.push({ re, from, to: null });
  return text;
}

// Servers running now; each test's end closes its acknowledgements and
// checks what its servers logged during it.
const live = new Set();
export function watchErrorLog(apache) {
  apache.acks = [];
  apache.checkedTo = 0;
  live.add(apache);
}

// A stopped server is checked once more by settleErrorLog(apache, logs, { stopped: true }).
export function forgetErrorLog(apache) {
  live.delete(apache);
}

// Closes the open acknowledgements at the end of the log and checks the
// lines since the last check; stopped: the server's last look (all logs in).
export function settleErrorLog(apache, text, { stopped = false } = {}) {
  const end = text.lastIndexOf('\n') + 1;
  for (const a of apache.acks) if (a.to === null) a.to = end;
  const from = stopped ? 0 : apache.checkedTo;
  apache.checkedTo = end;
  checkErrorLog(text.slice(from, end), apache.acks, from, `unexpected error-log lines on port ${apache.port}`);
}

// Only in a test run: a script that borrows the harness (bench/) would
// otherwise start node:test's runner and print its report.
const UNDER_TEST = !!process.env.NODE_TEST_CONTEXT || process.execArgv.includes('--test') || /\.test\.m?js$/.test(process.argv[1] || '');
// A request's exchange line is logged after its answer has left: a test
// that ends on an answer waits until its servers' logs stop growing (50 ms
// still, 1 s at most) before its acknowledgements close.
async function quiet(apache) {
  let size = -1;
  let still = 0;
  for (let waited = 0; waited < 1000 && still < 50; waited += 10) {
    const now = apache.mark().error;
    still = now === size ? still + 10 : 0;
    size = now;
    await new Promise((r) => setTimeout(r, 10));
  }
}

if (UNDER_TEST) afterEach(async () => {
  const failures = [];
  for (const apache of live) {
    await quiet(apache);
    try { settleErrorLog(apache, apache.errorLog()); } catch (e) { failures.push(e.message); }
  }
  if (failures.length) throw new Error(failures.join('\n'));
});

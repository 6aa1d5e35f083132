// The `cmt` CLI as a user runs it: `node bin/cmt.js … --json` on a temp workspace.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileWriter } from '../helpers';

const REPO = path.resolve(__dirname, '..', '..', '..'); // out/test/cli -> repo
const BIN = path.join(REPO, 'bin', 'cmt.js');
const PACK = path.resolve(REPO, process.env.CMT_TEST_PACK ?? 'test/fixtures/tiny-pack');

let tmp: string;
let ws: string;
let bank: string;

function cmt(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): { code: number; stdout: string; stderr: string; json: any } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? tmp,
    env: { ...process.env, CMT_BANK: '', ...(opts.env ?? {}) },
    encoding: 'utf8',
    timeout: 60_000,
  });
  let json: any;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    json = undefined;
  }
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json };
}

before(() => {
  assert.ok(fs.existsSync(path.join(PACK, 'pack.json')), `test pack missing: ${PACK}/pack.json`);
  assert.ok(fs.existsSync(path.join(REPO, 'out', 'src', 'cli', 'cmt.js')), 'run npm run build first');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-cli-test-'));
  ws = path.join(tmp, 'ws');
  bank = path.join(tmp, 'bank');
  const w = fileWriter(ws);
  w('README.md', '# giren\n\ngiren talks to the plorgogi queue on port 5672.\n');
  w('src/app.py', 'TIMEOUT_SECONDS = 47\n\n\ndef main():\n    return TIMEOUT_SECONDS\n');
  w('data/blob.raw', Buffer.from([0x00, 0x01, 0x02, 0x41, 0x00]));
  w('latin1.txt', Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
  w('empty.md', '');
  w('.env', 'API_KEY=hunter2\n');
});

after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('memorize --json reports memorized and skipped files with reasons', () => {
  const r = cmt(['--json', '--pack', PACK, '--bank', bank, 'memorize', '--root', ws, ws]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const s = r.json;
  assert.equal(s.memorized, 2, r.stdout);
  assert.ok(s.chunks >= 2);
  const reasons = Object.fromEntries(s.skipped.map((i: { path: string; code: string; reason: string }) => [i.path, i]));
  assert.equal(reasons['data/blob.raw']?.code, 'binary', r.stdout);
  assert.equal(reasons['latin1.txt']?.code, 'invalid-utf8', r.stdout);
  assert.equal(reasons['empty.md']?.code, 'empty', r.stdout);
  assert.equal(reasons['.env']?.code, 'secret', r.stdout);
  for (const k of ['data/blob.raw', 'latin1.txt', 'empty.md', '.env']) assert.ok(reasons[k].reason.length > 3);
  assert.equal(r.stderr.includes('\u001b['), false, 'no progress bar when not a TTY');
  // Again: unchanged.
  const again = cmt(['--json', '--pack', PACK, '--bank', bank, 'memorize', '--root', ws, ws]);
  assert.equal(again.code, 0);
  assert.equal(again.json.memorized, 0);
  assert.equal(again.json.unchanged, 2);
});

test('ask --json returns the answer with citations; status; forget', () => {
  const r = cmt(['--json', '--pack', PACK, '--bank', bank, 'ask', '--top-k', '2', '--max-tokens', '4', 'Which port does giren use?']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.equal(typeof r.json.answer, 'string');
  assert.ok(Array.isArray(r.json.citations) && r.json.citations.length > 0);
  for (const c of r.json.citations) {
    assert.ok(fs.existsSync(path.join(ws, c.path)), c.path);
    assert.ok(c.startLine >= 1 && c.endLine >= c.startLine);
  }
  assert.ok(r.json.timings.totalMs >= 0);
  // The grounding verdict (random weights: almost surely "not sure"), with quotes of real lines.
  const g = r.json.grounding;
  assert.ok(['found', 'not-sure'].includes(g.verdict), r.stdout);
  assert.equal(typeof g.reason, 'string');
  assert.match(g.message, g.verdict === 'found' ? /^Found/ : /^Not sure/);
  assert.equal(typeof g.memoryGain, 'number');
  assert.ok(Array.isArray(g.quotes) && g.quotes.length >= 1, r.stdout);
  for (const q of g.quotes) {
    assert.deepEqual(Object.keys(q).sort(), ['citation', 'line', 'path', 'text']);
    assert.equal(q.path, r.json.citations[q.citation].path);
    assert.equal(fs.readFileSync(path.join(ws, q.path), 'utf8').split('\n')[q.line - 1].trim(), q.text);
  }
  // Human output: answer line, the verdict (with its lines), then "path:start-end score".
  const h = cmt(['--pack', PACK, '--bank', bank, 'ask', '--no-hybrid', '--beams', '2', '--max-tokens', '3', 'giren port']);
  assert.equal(h.code, 0, h.stderr);
  assert.match(h.stdout, /\n(found in source:|not sure: [^\n]+\nmost relevant lines:)\n  \S+:\d+  [^\n]+\n/);
  assert.match(h.stdout, /sources:\n\s+\S+:\d+-\d+\s+score/);
  const st = cmt(['--json', '--pack', PACK, '--bank', bank, 'status']);
  assert.equal(st.code, 0, st.stderr);
  assert.equal(st.json.files, 2);
  const f = cmt(['--json', '--pack', PACK, '--bank', bank, 'forget', '--root', ws, path.join(ws, 'README.md')]);
  assert.equal(f.code, 0, f.stderr);
  assert.ok(f.json.removed > 0);
  assert.equal(cmt(['--json', '--pack', PACK, '--bank', bank, 'status']).json.files, 1);
});

test('exit codes: missing pack 2, empty question 4, nothing memorized 4, usage 1', () => {
  const noPack = cmt(['--json', '--pack', path.join(tmp, 'no-such-pack'), '--bank', bank, 'ask', 'hello?']);
  assert.equal(noPack.code, 2, noPack.stdout + noPack.stderr);
  assert.equal(noPack.json.error.code, 'PACK_MISSING');
  const noDefault = cmt(['ask', 'hello?'], { env: { CMT_BANK: bank } });
  if (!fs.existsSync(path.join(REPO, 'packs', 'default', 'pack.json'))) {
    assert.equal(noDefault.code, 2);
    assert.match(noDefault.stderr, /npm run pack:build/);
  }
  const empty = cmt(['--json', '--pack', PACK, '--bank', bank, 'ask', '   ']);
  assert.equal(empty.code, 4, empty.stdout + empty.stderr);
  assert.equal(empty.json.error.code, 'BAD_INPUT');
  const nothing = cmt(['--json', '--pack', PACK, '--bank', bank, 'memorize', '--root', ws, path.join(ws, 'empty.md')]);
  assert.equal(nothing.code, 4, nothing.stdout + nothing.stderr);
  // A file outside the root (cmt run from elsewhere): the message names the root and --root.
  const elsewhere = path.join(tmp, 'elsewhere');
  fs.mkdirSync(elsewhere, { recursive: true });
  const outside = cmt(['--pack', PACK, '--bank', bank, 'memorize', path.join(ws, 'README.md')], { cwd: elsewhere });
  assert.equal(outside.code, 4, outside.stdout + outside.stderr);
  assert.match(outside.stderr, /outside the workspace root .*--root/);
  assert.doesNotMatch(outside.stderr, /no readable text files/);
  const usage = cmt(['--bogus-option']);
  assert.equal(usage.code, 1);
  const help = cmt(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Exit codes:/);
});

test('packs lists pack directories without starting the engine', () => {
  const r = cmt(['--json', 'packs', path.dirname(PACK)]);
  assert.equal(r.code, 0, r.stderr);
  const p = r.json.packs.find((x: { dir: string }) => x.dir === PACK);
  assert.ok(p && p.ok && p.packId.startsWith('cmt-tiny'), r.stdout);
});

test('memorize on a large tree groups the skipped files by reason (a few examples each); --list-skipped lists every one', () => {
  const big = path.join(tmp, 'big');
  for (let i = 0; i < 14; i++) {
    fs.mkdirSync(path.join(big, 'data'), { recursive: true });
    fs.writeFileSync(path.join(big, 'data', `blob${String(i).padStart(2, '0')}.raw`), Buffer.from([0x00, 0x01, i]));
  }
  fs.mkdirSync(path.join(big, 'vendor', 'lib'), { recursive: true });
  fs.writeFileSync(path.join(big, 'vendor', 'lib', 'x.py'), 'X = 1\n');
  fs.writeFileSync(path.join(big, 'main.py'), 'PORT = 8080\n');
  const bigBank = path.join(tmp, 'bank-big');
  const r = cmt(['--pack', PACK, '--bank', bigBank, 'memorize', '--root', big, big]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /memorized 1 file\(s\).*15 skipped/);
  assert.match(r.stdout, /14 × binary file: data\/blob00\.raw, data\/blob01\.raw, data\/blob02\.raw, … \(\+11\)/);
  assert.match(r.stdout, /1 × vendored dependencies \(another project's code\): vendor\//);
  assert.doesNotMatch(r.stdout, /skipped data\/blob05\.raw/);
  const v = cmt(['--pack', PACK, '--bank', bigBank, 'memorize', '--force', '--list-skipped', '--root', big, big]);
  assert.match(v.stdout, /skipped data\/blob05\.raw: binary file/);
});

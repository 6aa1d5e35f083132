import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { classifyFile, looksBinary } from '../../src/core/classify';
import { rewordIssue, skipReasonText } from '../../src/core/files';
import { walkWorkspace, WalkOptions } from '../../src/core/walk';
import { fileWriter } from '../helpers';

function makeTree(files: Record<string, string | Buffer>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-files-'));
  for (const [rel, body] of Object.entries(files)) {
    const abs = path.join(root, rel);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, body);
  }
  return root;
}

async function walk(root: string, opts: WalkOptions = {}) {
  const out: string[] = [];
  const skipped: Record<string, string> = {};
  for await (const f of walkWorkspace(root, { ...opts, onSkip: (p, r) => (skipped[p] = r) })) out.push(f.relPath);
  return { files: out, skipped };
}

test('default excludes and secrets are not walked; force-include overrides', async () => {
  const root = makeTree({
    'src/a.ts': 'a', 'README.md': 'r', 'node_modules/x/index.js': 'x', 'dist/out.js': 'o',
    'package-lock.json': '{}', 'logo.png': 'png', '.env': 'SECRET=1', '.env.local': 'S=2', 'config/prod.env': 'S=3',
    'certs/server.pem': 'k', 'certs/server.key': 'k', 'id_rsa': 'k', 'id_ed25519.pub': 'k', '.npmrc': 't', '.netrc': 'n',
    '.aws/credentials': 'c', 'gcp/credentials.json': '{}', 'vault.kdbx': 'v', 'store.p12': 'p', '.git/config': 'g',
  });
  try {
    const { files, skipped } = await walk(root);
    assert.deepEqual(files.sort(), ['README.md', 'src/a.ts']);
    for (const s of ['.env', '.env.local', 'config/prod.env', 'certs/server.pem', 'certs/server.key', 'id_rsa', 'id_ed25519.pub', '.npmrc', '.netrc', 'gcp/credentials.json', 'vault.kdbx', 'store.p12']) {
      assert.equal(skipped[s], 'secret', s);
    }
    assert.equal(skipped['node_modules/'], 'excluded');
    assert.equal(skipped['.git/'], 'excluded');
    assert.equal(skipped['node_modules/x/index.js'], undefined, 'ignored dirs are not entered');

    const forced = await walk(root, { include: ['.env', 'node_modules/x/**'], exclude: ['README.md'] });
    assert.deepEqual(forced.files.sort(), ['.env', 'node_modules/x/index.js', 'src/a.ts']);
    assert.equal(forced.skipped['README.md'], 'excluded');

    // classifyFile applies the same path rules when given the root.
    const c = await classifyFile(path.join(root, '.env'), { root });
    assert.deepEqual(c, { ok: false, reason: 'secret' });
    const c2 = await classifyFile(path.join(root, '.env'), { root, include: ['.env'] });
    assert.equal(c2.ok, true);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('.gitignore: root and nested files, negations, directory patterns', async () => {
  const root = makeTree({
    '.gitignore': '*.log\n!keep.log\ngenerated/\n/tmp\n',
    'a.log': 'x', 'keep.log': 'k', 'generated/g.ts': 'g', 'tmp/t.txt': 't', 'src/tmp/t.txt': 't',
    'src/.gitignore': 'secret-notes.md\n!important.log\n', 'src/secret-notes.md': 's', 'src/important.log': 'i', 'src/other.log': 'o',
    'src/main.ts': 'm',
  });
  try {
    const { files, skipped } = await walk(root);
    assert.deepEqual(files.sort(), ['.gitignore', 'keep.log', 'src/.gitignore', 'src/important.log', 'src/main.ts', 'src/tmp/t.txt']);
    assert.equal(skipped['generated/'], 'gitignored');
    assert.equal(skipped['a.log'], 'gitignored');
    assert.equal(skipped['src/other.log'], 'gitignored');
    const noGit = await walk(root, { useGitignore: false });
    assert.ok(noGit.files.includes('a.log') && noGit.files.includes('generated/g.ts'));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('classifyFile: binary, invalid UTF-8, empty, too large, BOM, ok', async () => {
  const root = makeTree({
    'bin.dat2': Buffer.from([0x41, 0x00, 0x42]),
    'ctrl.txt': Buffer.from(Array.from({ length: 100 }, (_, i) => (i % 3 === 0 ? 0x01 : 0x41))),
    'latin1.txt': Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]), // "café" in Latin-1
    'empty.txt': '',
    'blank.txt': '  \n\n',
    'big.txt': 'x'.repeat(2000),
    'bom.md': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('# hé\n')]),
    'ok.ts': 'export const x = "日本";\n',
  });
  const c = (n: string, o = {}) => classifyFile(path.join(root, n), { root, ...o });
  try {
    assert.equal((await c('bin.dat2') as { reason: string }).reason, 'binary');
    assert.equal((await c('ctrl.txt') as { reason: string }).reason, 'binary');
    assert.equal((await c('latin1.txt') as { reason: string }).reason, 'invalid-utf8');
    assert.equal((await c('empty.txt') as { reason: string }).reason, 'empty');
    assert.equal((await c('blank.txt') as { reason: string }).reason, 'empty');
    assert.equal((await c('big.txt', { maxFileSize: 1000 }) as { reason: string }).reason, 'too-large');
    assert.equal((await c('big.txt')).ok, true);
    assert.equal((await c('missing.txt') as { reason: string }).reason, 'unreadable');
    const bom = await c('bom.md');
    assert.ok(bom.ok && bom.text === '# hé\n');
    const ok = await c('ok.ts');
    assert.ok(ok.ok);
    if (ok.ok) {
      assert.equal(ok.text, 'export const x = "日本";\n');
      assert.match(ok.contentHash, /^[0-9a-f]{64}$/);
    }
    assert.equal(looksBinary(Buffer.from('plain\ttext\r\n')), false);
    if (process.getuid && process.getuid() !== 0) {
      fs.chmodSync(path.join(root, 'ok.ts'), 0o000);
      assert.equal((await c('ok.ts') as { reason: string }).reason, 'unreadable');
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('symlinks: loops do not hang, links outside the root are not followed', async () => {
  const outside = makeTree({ 'secret.txt': 'outside data' });
  const root = makeTree({ 'a/file.txt': 'a', 'b/real.txt': 'b' });
  try {
    fs.symlinkSync(root, path.join(root, 'a', 'loop'), 'dir'); // a/loop -> root
    fs.symlinkSync(path.join(root, 'a'), path.join(root, 'a', 'self'), 'dir'); // a/self -> a
    fs.symlinkSync(outside, path.join(root, 'out'), 'dir');
    fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'out.txt'));
    fs.symlinkSync(path.join(root, 'b', 'real.txt'), path.join(root, 'inside-link.txt'));
    fs.symlinkSync(path.join(root, 'nope'), path.join(root, 'dangling.txt'));
    const t0 = Date.now();
    const { files, skipped } = await walk(root);
    assert.ok(Date.now() - t0 < 5000);
    assert.deepEqual(files.sort(), ['a/file.txt', 'b/real.txt', 'inside-link.txt']);
    assert.equal(skipped['out'], 'symlink-outside');
    assert.equal(skipped['out.txt'], 'symlink-outside');
    assert.equal(skipped['a/loop'], 'symlink-loop');
    assert.equal(skipped['a/self'], 'symlink-loop');
    assert.equal(skipped['dangling.txt'], 'unreadable');
    const r = await classifyFile(path.join(root, 'out.txt'), { root });
    assert.deepEqual(r, { ok: false, reason: 'symlink-outside' });
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(outside, { recursive: true, force: true });
  }
});

test('walk of 2,000 files with a big ignored folder is fast', async () => {
  const files: Record<string, string> = {};
  for (let d = 0; d < 20; d++) for (let f = 0; f < 100; f++) files[`pkg${d}/src/f${f}.ts`] = 'x';
  for (let f = 0; f < 1000; f++) files[`node_modules/dep${f % 20}/f${f}.js`] = 'x';
  const root = makeTree(files);
  try {
    const t0 = performance.now();
    const { files: got } = await walk(root);
    const ms = performance.now() - t0;
    assert.equal(got.length, 2000);
    console.log(`# walk: 2000 files (+1000 ignored) in ${ms.toFixed(0)} ms`);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('skip reasons: the engine words no fix; each front end adds its own (rewordIssue), keeping the detail', () => {
  const secret = { path: '.env', code: 'secret', reason: skipReasonText('secret') };
  assert.equal(secret.reason, 'may hold secrets (.env, keys, credentials)');
  assert.equal(rewordIssue(secret, { secret: 'may hold secrets; force with --include' }).reason, 'may hold secrets; force with --include');
  const big = { path: 'a.bin', code: 'too-large', reason: skipReasonText('too-large', '2 MiB') };
  assert.equal(rewordIssue(big, { 'too-large': 'over the limit' }).reason, 'over the limit (2 MiB)');
  // codes without a front-end wording, and unknown codes, stay as the engine said
  assert.deepEqual(rewordIssue(big, { secret: 'x' }), big);
  const odd = { path: 'x', code: 'outside the workspace root', reason: skipReasonText('outside the workspace root', '/r') };
  assert.equal(odd.reason, 'outside the workspace root (/r)');
  assert.deepEqual(rewordIssue(odd, { secret: 'x' }), odd);
});

test('vendored folders (by name, or holding .cargo-checksum.json), generated and minified files are skipped with their reason', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-vendor-'));
  const w = fileWriter(root);
  w('src/lib.rs', 'fn main() {}\n');
  w('include/cargo/serde/.cargo-checksum.json', '{"files":{}}');
  w('include/cargo/serde/src/lib.rs', 'pub fn x() {}\n');
  w('third_party/zlib/zlib.h', '#define Z 1\n');
  w('src/parser_gen.c', '/* Generated by Cython 3.0 */\nint x;\n');
  w('docs/notes.md', 'This page is generated by hand, every week.\n');
  w('static/app.js', 'function(a){return a+1};'.repeat(300));
  w('notes.txt', 'glorp '.repeat(3000)); // one long line of prose is a paragraph, not minified
  const skipped: Record<string, string> = {};
  const walked: string[] = [];
  for await (const f of walkWorkspace(root, { onSkip: (p, r) => (skipped[p] = r) })) walked.push(f.relPath);
  assert.equal(skipped['include/cargo/serde/'], 'vendored');
  assert.equal(skipped['third_party/'], 'vendored');
  assert.ok(!walked.some((p) => p.startsWith('include/cargo/') || p.startsWith('third_party/')));
  assert.deepEqual((await classifyFile(path.join(root, 'src/parser_gen.c'), { root })).ok, false);
  assert.equal((await classifyFile(path.join(root, 'src/parser_gen.c'), { root }) as { reason: string }).reason, 'generated');
  assert.equal((await classifyFile(path.join(root, 'static/app.js'), { root }) as { reason: string }).reason, 'minified');
  assert.equal((await classifyFile(path.join(root, 'docs/notes.md'), { root })).ok, true, 'prose that says "generated" is still prose');
  assert.equal((await classifyFile(path.join(root, 'notes.txt'), { root })).ok, true);
  assert.equal((await classifyFile(path.join(root, 'src/lib.rs'), { root })).ok, true);
  assert.equal((await classifyFile(path.join(root, 'src/parser_gen.c'), { root, include: ['src/parser_gen.c'] })).ok, true, 'a force-include wins');
  fs.rmSync(root, { recursive: true, force: true });
});

// Hostile input (issue 6): every bad file gets a clear outcome and the rest of the workspace is
// still memorized. Tiny random-weight pack: assertions are about bookkeeping, not answer quality.
// Outcomes observed here are listed in docs/RELIABILITY.md (by test name).
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MemoryBank } from '../../src/core/bank';
import { EngineClient } from '../../src/core/client';
import { Engine } from '../../src/core/engine';
import type { EngineSettings, MemorizeSummary } from '../../src/core/protocol';
import { CmtError } from '../../src/core/types';
import { within } from '../helpers';

const PACK = path.resolve(process.env.CMT_TEST_PACK ?? 'test/fixtures/tiny-pack');
const MANY_FILES = Number(process.env.CMT_HOSTILE_MANY_FILES ?? 10_000);

let tmp: string;
const clients: EngineClient[] = [];
const engines: Engine[] = [];

function write(root: string, rel: string, text: string | Buffer): string {
  const p = path.join(root, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, text);
  return p;
}

async function openEngine(name: string, settings: EngineSettings = {}): Promise<{ engine: Engine; ws: string; bank: string }> {
  const ws = path.join(tmp, name, 'ws');
  const bank = path.join(tmp, name, 'bank');
  fs.mkdirSync(ws, { recursive: true });
  const engine = await Engine.open({ packDir: PACK, bankUri: bank, device: 'cpu', settings });
  engines.push(engine);
  return { engine, ws, bank };
}

/** Rows of the bank grouped by path; asserts no duplicated ids and one content hash per file. */
async function bankRows(engine: Engine): Promise<Map<string, { ids: string[]; hashes: Set<string> }>> {
  const table = (engine.bank as unknown as { table: { query(): { select(c: string[]): { toArray(): Promise<Record<string, unknown>[]> } } } }).table;
  const rows = await table.query().select(['id', 'path', 'content_hash']).toArray();
  const out = new Map<string, { ids: string[]; hashes: Set<string> }>();
  const allIds = new Set<string>();
  for (const r of rows) {
    const id = String(r.id);
    assert.ok(!allIds.has(id), `duplicate memory id ${id}`);
    allIds.add(id);
    const p = String(r.path);
    const e = out.get(p) ?? { ids: [], hashes: new Set<string>() };
    e.ids.push(id);
    e.hashes.add(String(r.content_hash));
    out.set(p, e);
  }
  for (const [p, e] of out) assert.equal(e.hashes.size, 1, `${p} has rows of ${e.hashes.size} versions`);
  return out;
}

function codes(s: MemorizeSummary): Record<string, string> {
  const o: Record<string, string> = {};
  for (const i of [...s.skipped, ...s.failed]) o[i.path] = i.code ?? i.reason;
  return o;
}


before(() => {
  assert.ok(fs.existsSync(path.join(PACK, 'pack.json')), `test pack missing: ${PACK}/pack.json`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-hostile-test-'));
});

after(async () => {
  for (const c of clients) c.dispose();
  for (const e of engines) await e.close().catch(() => undefined);
  // Make anything chmod'ed readable again so rm works for non-root runs too.
  spawnSync('chmod', ['-R', 'u+rwx', tmp]);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('bad files: binary, 50 MB sparse, invalid UTF-8, empty, long line, FIFO each get a reason; the rest is memorized', async (t) => {
  const { engine, ws } = await openEngine('bad');
  write(ws, 'good.md', '# quolbert\n\nquolbert runs on port 5151.\n');
  write(ws, 'src/ok.ts', 'export const FRAMBLE = 42;\n');
  write(ws, 'blob.txt', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 1, 2, 3, 0, 0, 0x41]));
  write(ws, 'bad-utf8.txt', Buffer.concat([Buffer.from('valid start '), Buffer.from([0xc3, 0x28, 0xff, 0xfe]), Buffer.from(' end\n')]));
  write(ws, 'empty.txt', '');
  write(ws, 'blank.md', '   \n\n\t\n');
  write(ws, 'long-line.txt', 'glorp '.repeat(3_500) + '\n'); // 21 KB on one line
  const huge = path.join(ws, 'huge.log.txt');
  fs.writeFileSync(huge, '');
  fs.truncateSync(huge, 50 * 1024 * 1024); // sparse 50 MB: never read (size check first)
  const fifo = path.join(ws, 'pipe.txt');
  const fifoOk = spawnSync('mkfifo', [fifo]).status === 0;

  const t0 = Date.now();
  const s = await within(60_000, engine.memorize(['.'], { root: ws }), 'memorize');
  const ms = Date.now() - t0;
  t.diagnostic(`bad-files memorize: ${ms} ms, ${s.chunks} chunks; skipped ${JSON.stringify(codes(s))}`);
  const c = codes(s);
  assert.equal(c['blob.txt'], 'binary');
  assert.equal(c['bad-utf8.txt'], 'invalid-utf8');
  assert.equal(c['empty.txt'], 'empty');
  assert.equal(c['blank.md'], 'empty');
  assert.equal(c['huge.log.txt'], 'too-large');
  if (fifoOk) assert.equal(c['pipe.txt'], 'not-a-file', 'a FIFO is reported, never opened (opening would block)');
  assert.deepEqual(s.failed, []);
  assert.equal(s.memorized, 3, JSON.stringify(s));
  assert.equal(s.truncatedChunks ?? 0, 0, 'long line split, not truncated');
  const rows = await bankRows(engine);
  assert.deepEqual([...rows.keys()].sort(), ['good.md', 'long-line.txt', 'src/ok.ts']);
  assert.ok(rows.get('long-line.txt')!.ids.length > 1, 'the long line is split into several memories');

  // Named explicitly, the same files give the same reasons (and the FIFO does not block).
  const named = ['huge.log.txt', 'blob.txt', 'bad-utf8.txt', 'empty.txt', ...(fifoOk ? ['pipe.txt'] : [])];
  const s2 = await within(10_000, engine.memorize(named, { root: ws }), 'memorize named');
  const c2 = codes(s2);
  for (const n of named) assert.equal(c2[n], c[n], `${n}: ${JSON.stringify(s2)}`);
  assert.equal(s2.memorized, 0);
  // A bigger limit reads the 50 MB file: it is sparse (NULs), so it is refused as binary.
  const s3 = await within(20_000, engine.memorize(['huge.log.txt'], { root: ws, maxFileBytes: 64 * 1024 * 1024 }), 'memorize huge');
  assert.equal(codes(s3)['huge.log.txt'], 'binary');
  const r = await engine.ask('Which port does quolbert run on?');
  assert.ok(r.citations.length >= 1);
});

test('symlink loops and links pointing outside the workspace are refused, never followed', async (t) => {
  const { engine, ws } = await openEngine('links');
  const outside = path.join(tmp, 'links', 'outside');
  write(outside, 'private.txt', 'OUTSIDE-MARKER-zyxxy the password is hunter2\n');
  write(ws, 'a/real.md', '# inside\n\nblenwick is inside the workspace.\n');
  fs.symlinkSync(ws, path.join(ws, 'loop-to-root'));
  fs.symlinkSync('..', path.join(ws, 'a', 'up'));
  fs.symlinkSync(path.join(outside, 'private.txt'), path.join(ws, 'out-file.txt'));
  fs.symlinkSync(outside, path.join(ws, 'out-dir'));
  fs.symlinkSync('/etc/passwd', path.join(ws, 'passwd.txt'));
  fs.symlinkSync(path.join(ws, 'nowhere.txt'), path.join(ws, 'dangling.txt'));
  fs.symlinkSync('self.txt', path.join(ws, 'self.txt')); // ELOOP
  fs.symlinkSync('a/real.md', path.join(ws, 'inside-link.md'));

  const s = await within(20_000, engine.memorize(['.'], { root: ws }), 'memorize with loops');
  const c = codes(s);
  t.diagnostic(`links: ${JSON.stringify(c)}`);
  assert.equal(c['out-file.txt'], 'symlink-outside');
  assert.equal(c['out-dir'], 'symlink-outside');
  assert.equal(c['passwd.txt'], 'symlink-outside');
  assert.equal(c['loop-to-root'], 'symlink-loop');
  assert.equal(c['a/up'], 'symlink-loop');
  assert.equal(c['dangling.txt'], 'unreadable');
  assert.equal(c['self.txt'], 'unreadable');
  const rows = await bankRows(engine);
  assert.deepEqual([...rows.keys()].sort(), ['a/real.md', 'inside-link.md']);
  // Named explicitly, a link leaving the root is refused too.
  const s2 = await engine.memorize(['out-file.txt', 'passwd.txt', path.join(outside, 'private.txt')], { root: ws });
  assert.equal(s2.memorized, 0, JSON.stringify(s2));
  const c2 = codes(s2);
  assert.equal(c2['out-file.txt'], 'symlink-outside');
  assert.equal(c2['passwd.txt'], 'symlink-outside');
  assert.equal(Object.keys(c2).length, 3, JSON.stringify(s2));
  const hits = await engine.bank.textSearch('OUTSIDE MARKER zyxxy hunter2', 10);
  assert.equal(hits.length, 0, 'nothing from outside the workspace is in the bank');
});

test('files deleted, renamed or replaced while being memorized: clear outcome, the rest memorized', async (t) => {
  // batchSize 1: a commit every 4 chunks, so onProgress runs while later files are still unread.
  const { engine, ws } = await openEngine('race', { batchSize: 1 });
  const N = 30;
  const name = (i: number) => `f${String(i).padStart(2, '0')}.md`;
  for (let i = 0; i < N; i++) write(ws, name(i), `# note ${i}\n\nThe value of item ${i} is ${i * 13}.\n`);
  let fired = false;
  const s = await within(30_000, engine.memorize(['.'], {
    root: ws,
    onProgress: () => {
      if (fired) return;
      fired = true;
      fs.rmSync(path.join(ws, name(3))); // already read and compressed: stored, pruned next run
      fs.rmSync(path.join(ws, name(20))); // not read yet
      fs.renameSync(path.join(ws, name(21)), path.join(ws, 'renamed.md'));
      fs.rmSync(path.join(ws, name(22)));
      fs.mkdirSync(path.join(ws, name(22))); // a file replaced by a folder
    },
  }), 'memorize during deletes');
  t.diagnostic(`race: memorized ${s.memorized}, issues ${JSON.stringify([...s.skipped, ...s.failed])}`);
  assert.ok(fired);
  const c = codes(s);
  assert.equal(c[name(20)], 'unreadable'); // ENOENT between walk and read
  assert.equal(c[name(21)], 'unreadable');
  assert.equal(c[name(22)], 'not-a-file');
  assert.equal(s.memorized, N - 3);
  let rows = await bankRows(engine);
  assert.ok(!rows.has(name(20)) && !rows.has(name(21)) && !rows.has(name(22)) && !rows.has('renamed.md'));
  assert.ok(rows.has(name(3)), 'content read before the delete was stored');
  // The next run completes the picture: the renamed file is memorized, the deleted one pruned.
  const s2 = await engine.memorize(['.'], { root: ws });
  assert.equal(s2.memorized, 1, JSON.stringify(s2));
  assert.equal(s2.removed, 1);
  rows = await bankRows(engine);
  assert.equal(rows.size, N - 3);
  assert.ok(rows.has('renamed.md') && !rows.has(name(3)));
});

test('permission-denied files and folders (engine child without CAP_DAC_OVERRIDE when root)', async (t) => {
  const isRoot = process.getuid?.() === 0;
  const base = path.join(tmp, 'perm');
  const ws = path.join(base, 'ws');
  write(ws, 'ok.md', '# wendrel\n\nwendrel is readable.\n');
  write(ws, 'locked.md', 'cannot read me\n');
  write(ws, 'locked-dir/inner.md', 'nor me\n');
  write(ws, 'open-dir/fine.md', 'fine\n');
  fs.chmodSync(path.join(ws, 'locked.md'), 0o000);
  fs.chmodSync(path.join(ws, 'locked-dir'), 0o000);
  let nodePath = process.execPath;
  if (isRoot) {
    // Root ignores mode bits (CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH): run the engine child with
    // every capability dropped, as an ordinary user would be.
    if (spawnSync('setpriv', ['--inh-caps=-all', '--bounding-set=-all', '--', 'true']).status !== 0) {
      t.skip('running as root and setpriv cannot drop capabilities here');
      return;
    }
    nodePath = path.join(base, 'node-nocaps.sh');
    fs.writeFileSync(nodePath, `#!/bin/sh\nexec setpriv --inh-caps=-all --bounding-set=-all -- '${process.execPath}' "$@"\n`, { mode: 0o755 });
  }
  const c = new EngineClient({ init: { packDir: PACK, bankUri: path.join(base, 'bank'), device: 'cpu' }, nodePath });
  clients.push(c);
  const s = await within(30_000, c.memorize({ paths: ['.'], root: ws }), 'memorize');
  t.diagnostic(`permissions: ${JSON.stringify(s.failed)}`);
  const byPath = new Map(s.failed.map((f) => [f.path, f]));
  assert.equal(byPath.get('locked.md')?.code, 'unreadable');
  assert.match(byPath.get('locked.md')!.reason, /EACCES|permission denied/i);
  assert.equal(byPath.get('locked-dir/')?.code, 'unreadable');
  assert.equal(s.memorized, 2, JSON.stringify(s));
  const st = await c.status();
  assert.equal(st.files, 2);
  await c.shutdown();
});

test('10,000 small files: memorized once (timing printed), a second run compresses nothing', async (t) => {
  const { engine, ws } = await openEngine('many');
  const t0 = Date.now();
  for (let i = 0; i < MANY_FILES; i++) {
    const dir = path.join(ws, `d${i % 100}`);
    if (i < 100) fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `n${i}.txt`), `note ${i}: the code for item ${i} is ${(i * 7919) % 10007}.\n`);
  }
  const tWrite = Date.now() - t0;
  const t1 = Date.now();
  const s = await engine.memorize(['.'], { root: ws });
  const tMem = Date.now() - t1;
  const t2 = Date.now();
  const s2 = await engine.memorize(['.'], { root: ws });
  const tRe = Date.now() - t2;
  const st = await engine.status();
  t.diagnostic(
    `${MANY_FILES} files: write ${tWrite} ms; memorize ${tMem} ms (${Math.round(MANY_FILES / (tMem / 1000))} files/s, ${s.chunks} chunks); ` +
      `re-run ${tRe} ms (${s2.unchanged} unchanged); bank ${(st.bytesOnDisk / 1e6).toFixed(1)} MB`,
  );
  assert.equal(s.memorized, MANY_FILES);
  assert.deepEqual(s.failed, []);
  assert.equal(s2.memorized, 0);
  assert.equal(s2.unchanged, MANY_FILES);
  assert.equal(st.files, MANY_FILES);
  assert.equal(st.memories, s.chunks);
});

test('many saves of one file in a second: concurrent memorize calls leave exactly one copy', async () => {
  const { engine, ws } = await openEngine('saves');
  const file = path.join(ws, 'draft.md');
  const texts: string[] = [];
  const runs: Promise<MemorizeSummary>[] = [];
  for (let i = 0; i < 20; i++) {
    // Different lengths: the number of chunks changes from save to save.
    const text = `# draft ${i}\n\n` + Array.from({ length: 1 + (i % 5) * 6 }, (_, j) => `line ${j} of save ${i}: trundle ${i * j}.`).join('\n\n') + '\n';
    texts.push(text);
    fs.writeFileSync(file, text);
    runs.push(engine.memorize(['draft.md'], { root: ws }));
  }
  const results = await within(30_000, Promise.all(runs), '20 concurrent memorize calls');
  for (const r of results) assert.deepEqual(r.failed, []);
  const rows = await bankRows(engine);
  const final = createHash('sha256').update(texts[texts.length - 1]).digest('hex');
  assert.deepEqual([...rows.keys()], ['draft.md']);
  assert.deepEqual([...rows.get('draft.md')!.hashes], [final], 'the bank holds the last save');
  const st = await engine.bank.fileState('draft.md');
  assert.equal(rows.get('draft.md')!.ids.length, st!.chunks);
  // Same through the engine process: concurrent requests on the wire are serialised too.
  const c = new EngineClient({ init: { packDir: PACK, bankUri: path.join(tmp, 'saves', 'bank2'), device: 'cpu' } });
  clients.push(c);
  const wire: Promise<MemorizeSummary>[] = [];
  for (let i = 0; i < 10; i++) {
    fs.writeFileSync(file, texts[i * 2]);
    wire.push(c.memorize({ paths: ['draft.md'], root: ws }));
  }
  await within(30_000, Promise.all(wire), '10 concurrent requests');
  const b = await MemoryBank.open(path.join(tmp, 'saves', 'bank2'), { packId: engine.packId, memorySlots: 4, memoryDim: 64 }, { readOnly: true });
  try {
    const files = await b.listFiles();
    assert.equal(files.length, 1);
    assert.equal(files[0].contentHash, createHash('sha256').update(texts[18]).digest('hex'));
    assert.equal(await b.countRows(), files[0].chunks);
  } finally {
    b.close();
  }
  await c.shutdown();
});

test('paths with spaces, unicode, quotes and glob characters: memorize, cite, rename, forget', async () => {
  const { engine, ws } = await openEngine('names');
  const names = [
    'my notes/it\'s a "quoted" file.md',
    'données/日本語 ファイル.txt',
    'emoji 🚀/a  b.md',
    'weird [dir] #1!/star*?.md',
    "sql'; DROP TABLE x; --.md",
    ' leading space.md',
  ];
  names.forEach((n, i) => write(ws, n, `# title ${i}\n\nThe snorvel number of file ${i} is ${1000 + i}.\n`));
  const s = await engine.memorize(['.'], { root: ws });
  assert.equal(s.memorized, names.length, JSON.stringify(s));
  let rows = await bankRows(engine);
  assert.deepEqual([...rows.keys()].sort(), [...names].sort());
  // A folder with glob characters in its name, memorized on its own, is escaped correctly.
  const s2 = await engine.memorize(['weird [dir] #1!'], { root: ws, force: true });
  assert.equal(s2.memorized, 1, JSON.stringify(s2));
  assert.equal(s2.removed ?? 0, 0);
  const r = await engine.ask('What is the snorvel number?', { topK: 4 });
  for (const cit of r.citations) assert.ok(names.includes(cit.path), cit.path);
  assert.ok((await engine.rename(names[0], 'renamed "again".md')).renamed > 0);
  assert.ok((await engine.forget(names[4])).removed > 0);
  assert.ok((await engine.forget('données')).removed > 0);
  rows = await bankRows(engine);
  assert.ok(rows.has('renamed "again".md') && !rows.has(names[0]) && !rows.has(names[4]) && !rows.has(names[1]));
});

test('questions: empty gives BAD_INPUT, 100 KB is truncated and still answers (engine process)', async () => {
  const base = path.join(tmp, 'questions');
  const ws = path.join(base, 'ws');
  write(ws, 'a.md', '# plimsoll\n\nplimsoll deploys at 09:30.\n');
  const c = new EngineClient({ init: { packDir: PACK, bankUri: path.join(base, 'bank'), device: 'cpu' } });
  clients.push(c);
  await c.memorize({ paths: ['.'], root: ws });
  for (const q of ['', '   \n\t ']) {
    await assert.rejects(within(10_000, c.ask(q), 'empty ask'), (e: unknown) => e instanceof CmtError && e.code === 'BAD_INPUT');
  }
  const long = 'When does plimsoll deploy? ' + 'padding words to make it long '.repeat(3_500); // ~100 KB
  assert.ok(long.length >= 100_000);
  const t0 = Date.now();
  const pieces: string[] = [];
  const r = await within(30_000, c.ask(long, {}, { onToken: (x) => pieces.push(x) }), '100 KB ask');
  assert.ok(r.questionTruncated, 'truncation is reported');
  assert.ok(r.questionTruncated.tokens > r.questionTruncated.maxQuestionTokens);
  assert.equal(typeof r.answer, 'string');
  assert.equal(pieces.join(''), r.answer);
  assert.ok(r.citations.length >= 1);
  assert.ok(Date.now() - t0 < 30_000);
  // The engine is still fine afterwards.
  assert.equal((await c.status()).files, 1);
  await c.shutdown();
});

// End-to-end Engine (in-process) on the tiny pack: random weights, so the assertions are about
// structure, retrieval and bookkeeping, not answer quality.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine } from '../../src/core/engine';
import { restrictTo } from '../../src/core/memorize';
import { CmtError } from '../../src/core/types';

const PACK = path.resolve(process.env.CMT_TEST_PACK ?? 'test/fixtures/tiny-pack');

let tmp: string;
let ws: string;
let engine: Engine;

const FILES: Record<string, string> = {
  'docs/zurfea.md':
    '# zurfea\n\nThe zurfea service is scaled to 8 replicas.\n\n## Storage\n\nzurfea keeps its data in the database malsotu-primary.\n',
  'src/config.ts':
    "export const CHEBEEX_GO_LIVE = '2024-08-13';\n\nexport function port(): number {\n  return 8443;\n}\n",
  'notes.txt': 'Standup notes.\n\nThe tirguri DB name is furmaar-primary.\nPing the team before deploying on Fridays.\n',
};

function write(rel: string, text: string): void {
  const p = path.join(ws, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, text);
}

async function rejectsCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof CmtError, `expected CmtError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

before(async () => {
  assert.ok(fs.existsSync(path.join(PACK, 'pack.json')), `test pack missing: ${PACK}/pack.json`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-engine-test-'));
  ws = path.join(tmp, 'ws');
  for (const [rel, text] of Object.entries(FILES)) write(rel, text);
  engine = await Engine.open({ packDir: PACK, bankUri: path.join(tmp, 'bank'), device: 'cpu' });
});

after(async () => {
  await engine?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('memorize compresses every text file and reports progress', async () => {
  const progress: number[] = [];
  const s = await engine.memorize(['.'], { root: ws, onProgress: (p) => progress.push(p.done) });
  assert.equal(s.memorized, 3, JSON.stringify(s));
  assert.equal(s.unchanged, 0);
  assert.deepEqual(s.failed, []);
  assert.ok(s.chunks >= 3, `chunks ${s.chunks}`);
  assert.deepEqual(progress, [1, 2, 3]);
  const st = await engine.status();
  assert.equal(st.files, 3);
  assert.equal(st.memories, s.chunks);
  assert.equal(st.packId, engine.packId);
  assert.ok(st.bytesOnDisk > 0);
});

test('ask streams tokens equal to the answer and cites existing line ranges', async () => {
  const pieces: string[] = [];
  const r = await engine.ask('How many replicas is zurfea scaled to?', { topK: 2, onToken: (t) => pieces.push(t) });
  assert.equal(typeof r.answer, 'string');
  assert.equal(pieces.join(''), r.answer);
  assert.ok(r.citations.length >= 1 && r.citations.length <= 2, `citations ${r.citations.length}`);
  for (const c of r.citations) {
    const abs = path.join(ws, c.path);
    assert.ok(fs.existsSync(abs), `cited file missing: ${c.path}`);
    const lines = fs.readFileSync(abs, 'utf8').split(/\r\n|\n|\r/);
    assert.ok(c.startLine >= 1 && c.startLine <= c.endLine && c.endLine <= lines.length, `bad range ${c.path}:${c.startLine}-${c.endLine}`);
    const cited = lines.slice(c.startLine - 1, c.endLine).join('\n');
    assert.ok(cited.includes(c.excerpt.replace(/…$/, '').slice(0, 40)), `excerpt not in cited lines of ${c.path}`);
    assert.ok(Number.isFinite(c.score));
  }
  for (const k of ['matchMs', 'aggregateMs', 'firstTokenMs', 'totalMs'] as const) assert.ok(r.timings[k] >= 0, k);
  // Keyword retrieval (hybrid) must find the file that literally holds the rare words.
  const h = await engine.ask('furmaar-primary tirguri', { topK: 2, hybrid: true, maxNewTokens: 2 });
  assert.equal(h.citations[0]?.path, 'notes.txt');
});

test('ask options: vector-only, beams, alpha; bad and long questions', async () => {
  const r = await engine.ask('chebeex go-live', { topK: 1, hybrid: false, numBeams: 2, alpha: 0, maxNewTokens: 3 });
  assert.equal(r.citations.length, 1);
  await rejectsCode(engine.ask('   \n', {}), 'BAD_INPUT');
  const long = Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ') + '?';
  const t = await engine.ask(long, { maxNewTokens: 2 });
  assert.ok(t.questionTruncated, 'over-long question should be reported as truncated');
  assert.ok(t.questionTruncated.tokens > t.questionTruncated.maxQuestionTokens);
  const ac = new AbortController();
  ac.abort();
  await rejectsCode(engine.ask('zurfea replicas', { signal: ac.signal }), 'CANCELLED');
});

test('re-memorizing unchanged files compresses nothing', async () => {
  const s = await engine.memorize(['.'], { root: ws });
  assert.equal(s.memorized, 0);
  assert.equal(s.unchanged, 3);
  assert.equal(s.chunks, 0);
});

test('an edited file has its chunks replaced', async () => {
  const before = (await engine.bank.listFiles()).find((f) => f.path === 'docs/zurfea.md')!;
  const text = '# zurfea\n\nzurfea now runs 12 replicas in qelvaron.\n';
  write('docs/zurfea.md', text);
  const s = await engine.memorize(['docs'], { root: ws });
  assert.equal(s.memorized, 1);
  assert.equal(s.unchanged, 0);
  const afterState = (await engine.bank.listFiles()).find((f) => f.path === 'docs/zurfea.md')!;
  assert.notEqual(afterState.contentHash, before.contentHash);
  assert.equal(afterState.contentHash, createHash('sha256').update(text).digest('hex'));
  // Old text gone, new text found.
  const old = await engine.bank.textSearch('malsotu', 10);
  assert.equal(old.filter((h) => h.record.path === 'docs/zurfea.md').length, 0);
  const fresh = await engine.bank.textSearch('qelvaron', 10);
  assert.equal(fresh[0]?.record.path, 'docs/zurfea.md');
  assert.ok(fresh[0].record.endLine <= 3);
  // The other files were not touched.
  assert.equal((await engine.status()).files, 3);
});

test('skipped files are reported with reasons; one bad file does not stop the rest', async () => {
  write('bin/blob.raw', 'abc\u0000def');
  fs.writeFileSync(path.join(ws, 'latin1.txt'), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
  write('empty.md', '');
  write('.env', 'SECRET=1\n');
  write('more.md', 'zorblax lives in vunbami.\n');
  const s = await engine.memorize(['.'], { root: ws });
  const codes = Object.fromEntries(s.skipped.map((i) => [i.path, i.code]));
  assert.equal(codes['bin/blob.raw'], 'binary');
  assert.equal(codes['latin1.txt'], 'invalid-utf8');
  assert.equal(codes['empty.md'], 'empty');
  assert.equal(codes['.env'], 'secret');
  for (const i of s.skipped) assert.ok(i.reason.length > 0);
  assert.equal(s.memorized, 1);
  assert.equal(s.unchanged, 3);
  const missing = await engine.memorize(['nope.md'], { root: ws });
  assert.equal(missing.failed[0]?.path, 'nope.md');
});

test('rename moves memories; forget removes them; deleted files are pruned', async () => {
  const r = await engine.rename('src/config.ts', 'src/settings.ts');
  assert.ok(r.renamed > 0);
  let files = (await engine.bank.listFiles()).map((f) => f.path);
  assert.ok(files.includes('src/settings.ts') && !files.includes('src/config.ts'));
  const f = await engine.forget('docs/zurfea.md');
  assert.ok(f.removed > 0);
  files = (await engine.bank.listFiles()).map((x) => x.path);
  assert.ok(!files.includes('docs/zurfea.md'));
  const r2 = await engine.ask('zurfea qelvaron replicas', { topK: 4, maxNewTokens: 2 });
  assert.ok(r2.citations.every((c) => c.path !== 'docs/zurfea.md'));
  // notes.txt deleted on disk: memorizing the folder again prunes it.
  fs.rmSync(path.join(ws, 'notes.txt'));
  const s = await engine.memorize(['.'], { root: ws });
  assert.ok((s.removed ?? 0) >= 1);
  files = (await engine.bank.listFiles()).map((x) => x.path);
  assert.ok(!files.includes('notes.txt'));
  assert.equal((await engine.forget('nothing/here')).removed, 0);
});

test('a reopened engine sees the same bank', async () => {
  const before = await engine.status();
  await engine.close();
  engine = await Engine.open({ packDir: PACK, bankUri: path.join(tmp, 'bank'), device: 'cpu' });
  const again = await engine.status();
  assert.equal(again.memories, before.memories);
  assert.equal(again.files, before.files);
});

test('restrictTo builds gitignore patterns that keep only one folder', () => {
  assert.deepEqual(restrictTo('a/b'), ['/*', '!/a/', '/a/*', '!/a/b/']);
});

test('a file named directly honours .gitignore only when asked (the watcher asks)', async () => {
  write('.gitignore', 'generated/\n*.log\n!keep.log\n');
  write('generated/out.md', '# generated\n\nThe generated file mentions quorblat.\n');
  write('debug.log', 'quorblat debug line\n');
  write('keep.log', 'quorblat kept line\n');
  try {
    const watched = await engine.memorize(['generated/out.md', 'debug.log', 'keep.log'], { root: ws, respectGitignore: true });
    assert.deepEqual(watched.skipped.map((s) => s.path).sort(), ['debug.log', 'generated/out.md']);
    assert.ok(watched.skipped.every((s) => (s as { code?: string }).code === 'gitignored'), JSON.stringify(watched.skipped));
    assert.equal(watched.memorized, 1, 'keep.log is re-included by the negation');
    const forced = await engine.memorize(['debug.log'], { root: ws, respectGitignore: true, include: ['*.log'] });
    assert.equal(forced.memorized, 1, 'a force-include beats .gitignore');
    const named = await engine.memorize(['generated/out.md'], { root: ws });
    assert.equal(named.memorized, 1, 'without respectGitignore a named file is memorized');
  } finally {
    for (const p of ['generated/out.md', 'debug.log', 'keep.log']) await engine.forget(p);
    fs.rmSync(path.join(ws, '.gitignore'));
    fs.rmSync(path.join(ws, 'generated'), { recursive: true });
    fs.rmSync(path.join(ws, 'debug.log'));
    fs.rmSync(path.join(ws, 'keep.log'));
  }
});

test('every answer carries a grounding verdict whose quotes are real lines of the cited files', async () => {
  for (const q of ['How many replicas is zurfea scaled to?', 'What is the tirguri DB name?', 'chebeex go-live']) {
    const r = await engine.ask(q, { topK: 2, maxNewTokens: 6 });
    const g = r.grounding;
    assert.ok(g.verdict === 'found' || g.verdict === 'not-sure', JSON.stringify(g));
    assert.ok(g.message.length > 10);
    assert.equal(typeof g.memoryGain, 'number', 'the memory contrast is measured');
    assert.ok(g.coverage >= 0 && g.coverage <= 1);
    if (g.verdict === 'found') assert.equal(g.quotes.length, 1);
    // random weights: whatever it says, a "found" quote must hold the answer; otherwise lines are shown
    assert.ok(g.quotes.length >= 1, `quotes for ${q}: ${JSON.stringify(g)}`);
    for (const quote of g.quotes) {
      const c = r.citations[quote.citation];
      assert.ok(c, 'quote points at a citation');
      assert.equal(quote.path, c.path);
      assert.ok(quote.line >= c.startLine && quote.line <= c.endLine, `${quote.path}:${quote.line} within ${c.startLine}-${c.endLine}`);
      const line = fs.readFileSync(path.join(ws, quote.path), 'utf8').split('\n')[quote.line - 1];
      assert.equal(line.trim(), quote.text, `quote is the file's line ${quote.line}`);
    }
  }
});

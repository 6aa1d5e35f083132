import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MemoryBank, tableNameForPack } from '../../src/core/bank';
import { sanitizeFtsQuery } from '../../src/core/terms';
import { match } from '../../src/core/match';
import { CmtError, CompressedChunk } from '../../src/core/types';

const K = 2;
const D = 8;
const META = { packId: 'cmt-test-0123456789ab', memorySlots: K, memoryDim: D };

function rng(seed: number) {
  return () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32 - 0.5;
  };
}
const rand = rng(42);
function unit(d = D): Float32Array {
  const v = new Float32Array(d).map(() => rand());
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}
function chunk(p: string, start: number, end: number, text: string, key = unit(), k = K, d = D): CompressedChunk {
  return { path: p, startLine: start, endLine: end, text, key, memory: new Float32Array(k * d).map(() => rand()) };
}
function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-bank-'));
}

test('upsert, unchanged skip, re-upsert replaces, delete, rename', async () => {
  const dir = tmp();
  const bank = await MemoryBank.open(dir, META);
  try {
    const a = [chunk('src/a.ts', 1, 10, 'alpha one'), chunk('src/a.ts', 12, 20, 'alpha two')];
    assert.equal(await bank.fileState('src/a.ts'), null);
    assert.equal(await bank.upsertFile('src/a.ts', 'h1', 1000, a), true);
    assert.deepEqual(await bank.fileState('src/a.ts'), { contentHash: 'h1', mtimeMs: 1000, chunks: 2 });
    assert.equal(await bank.countRows(), 2);

    // Same hash: no rewrite.
    assert.equal(await bank.upsertFile('src/a.ts', 'h1', 1000, a), false);
    assert.equal(await bank.countRows(), 2);

    // Round trip of vectors.
    const [got] = await bank.getMany(['src/a.ts#1-10']);
    assert.deepEqual(Array.from(got.memory), Array.from(a[0].memory));
    assert.deepEqual(Array.from(got.key), Array.from(a[0].key));
    assert.equal(got.text, 'alpha one');

    // Changed file: different chunking replaces all old rows, no duplicates.
    const a2 = [chunk('src/a.ts', 1, 5, 'alpha new one'), chunk('src/a.ts', 6, 9, 'b'), chunk('src/a.ts', 12, 20, 'alpha two changed')];
    assert.equal(await bank.upsertFile('src/a.ts', 'h2', 2000, a2), true);
    assert.equal(await bank.countRows(), 3);
    const ids = (await bank.getMany(['src/a.ts#1-10', 'src/a.ts#1-5', 'src/a.ts#12-20'])).map((r) => [r.id, r.text]);
    assert.deepEqual(ids, [['src/a.ts#1-5', 'alpha new one'], ['src/a.ts#12-20', 'alpha two changed']]);

    // A fresh bank object reads the same state from disk.
    const again = await MemoryBank.open(dir, META, { readOnly: true });
    assert.deepEqual(await again.fileState('src/a.ts'), { contentHash: 'h2', mtimeMs: 2000, chunks: 3 });
    again.close();

    await bank.upsertFile('b.md', 'hb', 1, [chunk('b.md', 1, 1, 'bee')]);
    assert.equal(await bank.renameFile('b.md', 'docs/c.md'), true);
    assert.equal(await bank.fileState('b.md'), null);
    assert.deepEqual(await bank.fileState('docs/c.md'), { contentHash: 'hb', mtimeMs: 1, chunks: 1 });
    assert.equal((await bank.getMany(['docs/c.md#1-1']))[0].path, 'docs/c.md');
    assert.deepEqual((await bank.listFiles()).map((f) => f.path), ['docs/c.md', 'src/a.ts']);

    assert.equal(await bank.deleteFile('src/a.ts'), true);
    assert.equal(await bank.deleteFile('src/a.ts'), false);
    assert.equal(await bank.countRows(), 1);
    const st = await bank.stats();
    assert.equal(st.memories, 1);
    assert.equal(st.files, 1);
    assert.ok(st.bytesOnDisk > 0);
  } finally {
    bank.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('paths with quotes, spaces and unicode', async () => {
  const dir = tmp();
  const bank = await MemoryBank.open(dir, META);
  try {
    const paths = ["it's a file.md", 'dir with space/naïve 日本語.txt', "o''neil\"x\\y.ts", "x' OR '1'='1"];
    for (const p of paths) await bank.upsertFile(p, 'h-' + p, 5, [chunk(p, 1, 2, `text of ${p}`)]);
    assert.equal(await bank.countRows(), paths.length);
    for (const p of paths) {
      assert.equal((await bank.fileState(p))?.contentHash, 'h-' + p);
      const [r] = await bank.getMany([`${p}#1-2`]);
      assert.equal(r.path, p);
    }
    // Replace and delete go through SQL predicates.
    await bank.upsertFile(paths[0], 'new', 6, [chunk(paths[0], 3, 4, 'changed'), chunk(paths[0], 5, 6, 'more')]);
    await bank.deleteFile(paths[3]);
    await bank.renameFile(paths[1], "renamed 'q'.txt");
    const fresh = await MemoryBank.open(dir, META);
    assert.deepEqual(
      (await fresh.listFiles()).map((f) => [f.path, f.chunks]),
      [[paths[2], 1], [paths[0], 2], ["renamed 'q'.txt", 1]].sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1)),
    );
    fresh.close();
  } finally {
    bank.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('pack isolation in one folder, listPacks, mismatched dims', async () => {
  const dir = tmp();
  const other = { packId: 'other/pack:v2', memorySlots: 4, memoryDim: 16 };
  const b1 = await MemoryBank.open(dir, META);
  const b2 = await MemoryBank.open(dir, other);
  try {
    await b1.upsertFile('one.ts', 'h', 1, [chunk('one.ts', 1, 1, 'first pack')]);
    await b2.upsertFile('two.ts', 'h', 1, [chunk('two.ts', 1, 1, 'second pack', unit(16), 4, 16), chunk('two.ts', 2, 2, 'x', unit(16), 4, 16)]);
    assert.deepEqual((await b1.listFiles()).map((f) => f.path), ['one.ts']);
    assert.deepEqual((await b2.listFiles()).map((f) => f.path), ['two.ts']);
    assert.equal(await b1.countRows(), 1);
    assert.equal(await b2.countRows(), 2);
    assert.equal((await b1.textSearch('pack', 10)).length, 1);
    const packs = await MemoryBank.listPacks(dir);
    assert.deepEqual(
      packs.map((p) => [p.packId, p.memorySlots, p.memoryDim, p.rows]).sort(),
      [[META.packId, K, D, 1], [other.packId, 4, 16, 2]].sort(),
    );
    assert.match(tableNameForPack(other.packId), /^mem_other_pack_v2_[0-9a-f]{8}$/);

    // Same packId, different dims: refused, and the table is untouched.
    await assert.rejects(MemoryBank.open(dir, { ...META, memoryDim: 16 }), (e: unknown) => e instanceof CmtError && e.code === 'BANK_PACK_MISMATCH');
    await assert.rejects(MemoryBank.open(dir, { ...META, memorySlots: 3 }), (e: unknown) => e instanceof CmtError && e.code === 'BANK_PACK_MISMATCH');
    // Wrong-sized vectors are refused too.
    await assert.rejects(b1.upsertFile('bad.ts', 'h', 1, [chunk('bad.ts', 1, 1, 'x', unit(16))]), (e: unknown) => e instanceof CmtError && e.code === 'BANK_PACK_MISMATCH');
    await assert.rejects(b1.vectorSearch(unit(16), 3), (e: unknown) => e instanceof CmtError && e.code === 'BANK_PACK_MISMATCH');
    assert.equal(await b1.countRows(), 1);

    // Read-only open of an unknown pack: empty, never creates a table.
    const ro = await MemoryBank.open(dir, { packId: 'nope', memorySlots: 1, memoryDim: 2 }, { readOnly: true });
    assert.equal(await ro.countRows(), 0);
    await assert.rejects(ro.upsertFile('x', 'h', 1, []), (e: unknown) => e instanceof CmtError && e.code === 'BANK_UNAVAILABLE');
    ro.close();
    assert.equal((await MemoryBank.listPacks(dir)).length, 2);
  } finally {
    b1.close();
    b2.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('full-text search finds a rare word; punctuation-heavy queries are safe', async () => {
  const dir = tmp();
  const bank = await MemoryBank.open(dir, META);
  try {
    for (let f = 0; f < 20; f++) {
      await bank.upsertFile(`f${f}.md`, 'h', 1, [chunk(`f${f}.md`, 1, 3, `common words about the project number ${f}`)]);
    }
    await bank.upsertFile('rare.md', 'h', 1, [chunk('rare.md', 1, 1, 'the zyzzyva beetle lives here')]);
    let hits = await bank.textSearch('Where does the zyzzyva live?', 5);
    assert.equal(hits[0].record.path, 'rare.md');
    // Written after the index was built: still found (index refreshed lazily).
    await bank.upsertFile('late.md', 'h', 1, [chunk('late.md', 1, 1, 'a quokka appeared')]);
    hits = await bank.textSearch('quokka', 5);
    assert.deepEqual(hits.map((h) => h.record.path), ['late.md']);
    for (const q of ['"unbalanced', "it's (AND) OR: NOT foo* ~2 ^3 \\ {} [] -x +y", 'path:/etc/passwd; DROP TABLE', '???', '']) {
      assert.ok(Array.isArray(await bank.textSearch(q, 5)), q);
    }
    assert.equal(sanitizeFtsQuery('what is "x"? (AND) naïve_id'), 'what is x AND naïve_id');
    // Deleted rows disappear from text search.
    await bank.deleteFile('rare.md');
    assert.equal((await bank.textSearch('zyzzyva', 5)).length, 0);
  } finally {
    bank.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('hybrid match on a real bank: item found by both searches ranks first', async () => {
  const dir = tmp();
  const bank = await MemoryBank.open(dir, META);
  try {
    const q = unit();
    const near = (eps: number) => {
      const v = q.map((x) => x + eps * rand());
      const n = Math.hypot(...v);
      return v.map((x) => x / n);
    };
    // vector-close but no keyword; keyword but far; moderately close AND keyword.
    await bank.upsertFile('v.ts', 'h', 1, [chunk('v.ts', 1, 1, 'unrelated text entirely', near(0.01))]);
    await bank.upsertFile('t.ts', 'h', 1, [chunk('t.ts', 1, 1, 'the frobnicate helper', q.map((x) => -x))]);
    await bank.upsertFile('both.ts', 'h', 1, [chunk('both.ts', 1, 1, 'frobnicate the widget', near(0.3))]);
    for (let i = 0; i < 10; i++) await bank.upsertFile(`n${i}.ts`, 'h', 1, [chunk(`n${i}.ts`, 1, 1, `noise ${i}`)]);
    const out = await match(bank, { key: q, text: 'how to frobnicate?' }, { topK: 3 });
    assert.equal(out[0].record.path, 'both.ts');
    assert.ok(out[0].vectorRank !== undefined && out[0].textRank !== undefined);
    assert.equal(new Set(out.map((m) => m.record.id)).size, out.length);
    const vOnly = await match(bank, { key: q, text: 'how to frobnicate?' }, { topK: 1, hybrid: false });
    assert.equal(vOnly[0].record.path, 'v.ts');
  } finally {
    bank.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('concurrent writes on one bank object are serialised (no duplicates)', async () => {
  const dir = tmp();
  const bank = await MemoryBank.open(dir, META);
  try {
    await Promise.all([
      bank.upsertFile('x.ts', 'h1', 1, [chunk('x.ts', 1, 1, 'one'), chunk('x.ts', 2, 2, 'two')]),
      bank.upsertFile('x.ts', 'h2', 2, [chunk('x.ts', 1, 2, 'three')]),
      bank.upsertFile('y.ts', 'h1', 1, [chunk('y.ts', 1, 1, 'y')]),
      bank.textSearch('three', 5),
      bank.renameFile('y.ts', 'z.ts'),
    ]);
    assert.deepEqual((await bank.listFiles()).map((f) => [f.path, f.contentHash, f.chunks]), [['x.ts', 'h2', 1], ['z.ts', 'h1', 1]]);
    assert.equal(await bank.countRows(), 2);
  } finally {
    bank.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('measure: upsert 1,000 rows (100 files x 10), search latency', async () => {
  const dir = tmp();
  const bank = await MemoryBank.open(dir, { packId: 'bench', memorySlots: 8, memoryDim: 256 });
  try {
    const t0 = performance.now();
    for (let f = 0; f < 100; f++) {
      const p = `src/file${f}.ts`;
      const cs = Array.from({ length: 10 }, (_, i) => chunk(p, i * 10 + 1, i * 10 + 9, `chunk ${i} of file ${f} word${f * 10 + i}`, unit(256), 8, 256));
      await bank.upsertFile(p, 'h' + f, 1, cs);
    }
    const upsertMs = performance.now() - t0;
    assert.equal(await bank.countRows(), 1000);
    const t1 = performance.now();
    await bank.refreshTextIndex();
    const ftsMs = performance.now() - t1;
    const lat = async (fn: () => Promise<unknown>) => {
      await fn();
      const s = performance.now();
      for (let i = 0; i < 10; i++) await fn();
      return (performance.now() - s) / 10;
    };
    const vecMs = await lat(() => bank.vectorSearch(unit(256), 20));
    const txtMs = await lat(() => bank.textSearch('word537 file', 20));
    const hybMs = await lat(() => match(bank, { key: unit(256), text: 'word537 file' }, { topK: 4 }));
    const st = await bank.stats();
    const t2 = performance.now();
    await bank.compact(new Date());
    const compactMs = performance.now() - t2;
    const vecAfter = await lat(() => bank.vectorSearch(unit(256), 20));
    const hybAfter = await lat(() => match(bank, { key: unit(256), text: 'word537 file' }, { topK: 4 }));
    const st2 = await bank.stats();
    assert.equal(st2.memories, 1000);
    assert.equal((await bank.textSearch('word537', 5))[0].record.id, 'src/file53.ts#71-79');
    console.log(`# bank bench: upsert 1000 rows (100 files) ${upsertMs.toFixed(0)} ms; fts build ${ftsMs.toFixed(0)} ms; ` +
      `vector ${vecMs.toFixed(1)} ms, text ${txtMs.toFixed(1)} ms, hybrid ${hybMs.toFixed(1)} ms; disk ${(st.bytesOnDisk / 1e6).toFixed(1)} MB; ` +
      `compact ${compactMs.toFixed(0)} ms -> vector ${vecAfter.toFixed(1)} ms, hybrid ${hybAfter.toFixed(1)} ms, disk ${(st2.bytesOnDisk / 1e6).toFixed(1)} MB`);
  } finally {
    bank.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('definition index and path search: the defining chunk ahead of a call site; a named file reaches its chunks; symbols round-trip', async () => {
  const dir = tmp();
  const bank = await MemoryBank.open(dir, META);
  try {
    const def = { ...chunk('src/pkg/sessions.py', 10, 20, 'def merge_setting(a, b):\n    return a'), symbol: 'merge_setting', defines: ['merge_setting'] };
    const use = chunk('tests/test_sessions.py', 1, 5, 'merge_setting(1, 2)  # merge_setting merge_setting');
    const toml = { ...chunk('pyproject.toml', 1, 3, '[project]\nrequires-python = ">=3.8"'), symbol: 'project', defines: ['project', 'requires-python', 'project.requires-python'] };
    await bank.upsertFile('src/pkg/sessions.py', 'h1', 1, [def]);
    await bank.upsertFile('tests/test_sessions.py', 'h2', 1, [use]);
    await bank.upsertFile('pyproject.toml', 'h3', 1, [toml]);
    const defs = await bank.defSearch('What does merge_setting return?', 5);
    assert.deepEqual(defs.map((h) => h.record.path), ['src/pkg/sessions.py']);
    assert.equal(defs[0].record.symbol, 'merge_setting');
    assert.equal((await bank.defSearch('what is requires python', 5))[0].record.path, 'pyproject.toml');
    const paths = await bank.pathSearch('Which Python does pyproject.toml require?', 5);
    assert.equal(paths[0].record.path, 'pyproject.toml');
    assert.deepEqual(await bank.pathSearch('What does Flask do?', 5), []);
  } finally {
    bank.close();
  }
});

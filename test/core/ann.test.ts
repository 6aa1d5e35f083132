// ANN indexes on the bank's vector columns (bank.ts VectorIndexOptions): built in the background
// once the table passes minRows, searches agree with exact search, rows written after the build
// are still found, a reopened bank keeps (and uses) its index, read-only banks never build.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MemoryBank } from '../../src/core/bank';
import type { CompressedChunk } from '../../src/core/types';

const K = 1;
const D = 16; // key width
const E = 24; // embedder width
const META = { packId: 'cmt-ann-test', memorySlots: K, memoryDim: D, embedDim: E };

function rng(seed: number) {
  return () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32 - 0.5;
  };
}
const rand = rng(7);
// Clustered vectors (real embeddings are clustered; uniform random ones are the worst case for any ANN index).
const centres = Array.from({ length: 12 }, () => Float32Array.from({ length: E }, rand));
function unit(v: Float32Array): Float32Array {
  const n = Math.hypot(...v) || 1;
  return v.map((x) => x / n);
}
function embVec(): Float32Array {
  const c = centres[Math.floor((rand() + 0.5) * centres.length) % centres.length];
  return unit(c.map((x) => x + 0.35 * rand()));
}
function chunk(p: string, i: number, emb = embVec()): CompressedChunk {
  return { path: p, startLine: i, endLine: i, text: `chunk ${i} of ${p}`, key: unit(Float32Array.from({ length: D }, rand)), memory: new Float32Array(K * D), emb };
}
async function addFiles(bank: MemoryBank, from: number, n: number, perFile = 10): Promise<void> {
  const items = [];
  for (let f = from; f < from + n; f++) {
    const p = `src/f${f}.ts`;
    items.push({ path: p, contentHash: `h${f}`, mtimeMs: 1, chunks: Array.from({ length: perFile }, (_, i) => chunk(p, i + 1)) });
  }
  await bank.upsertFiles(items);
}

test('ANN index: built past minRows in the background, agrees with exact search, new rows still found, survives reopening', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-ann-'));
  const logs: string[] = [];
  const opts = { vectorIndex: { minRows: 600, columns: ['emb', 'key'] as Array<'emb' | 'key'> }, log: (m: string) => logs.push(m) };
  try {
    const bank = await MemoryBank.open(dir, META, opts);
    await addFiles(bank, 0, 40); // 400 rows: below the threshold
    await bank.whenIndexed();
    assert.deepEqual(await bank.vectorIndexes(), []);

    await addFiles(bank, 40, 30); // 700 rows: an index is due
    assert.equal(bank.indexing, true, 'the write started a background build and did not wait for it');
    // Queries keep working while it builds (exact until the handle switches to the indexed version).
    const q0 = embVec();
    const during = await bank.embedSearch(q0, 10);
    assert.equal(during.length, 10);
    await bank.whenIndexed();
    const ix = await bank.vectorIndexes();
    assert.deepEqual(ix.map((i) => i.column).sort(), ['emb', 'key'], JSON.stringify({ ix, logs }));
    for (const i of ix) {
      assert.match(i.indexType, /HNSW/i);
      assert.equal(i.indexedRows, 700);
    }

    // Indexed search agrees with exact search (recall@10 over 20 queries).
    let hit = 0;
    for (let i = 0; i < 20; i++) {
      const q = embVec();
      const exact = new Set((await bank.embedSearch(q, 10, { exact: true })).map((h) => h.record.id));
      hit += (await bank.embedSearch(q, 10)).filter((h) => exact.has(h.record.id)).length;
    }
    assert.ok(hit / 200 >= 0.95, `emb recall@10 ${hit / 200}`);
    const kq = unit(Float32Array.from({ length: D }, rand));
    const kExact = (await bank.vectorSearch(kq, 5, { exact: true })).map((h) => h.record.id);
    const kAnn = (await bank.vectorSearch(kq, 5)).map((h) => h.record.id);
    assert.ok(kAnn.filter((id) => kExact.includes(id)).length >= 4, `key top-5 ${kAnn.join(',')} vs exact ${kExact.join(',')}`);

    // A row written after the build is not in the index but is still searched.
    const probe = embVec();
    await bank.upsertFile('src/new.ts', 'hn', 1, [chunk('src/new.ts', 1, probe)]);
    assert.equal((await bank.embedSearch(probe, 3))[0].record.path, 'src/new.ts');
    await bank.whenIndexed();
    assert.equal((await bank.vectorIndexes()).find((i) => i.column === 'emb')?.indexedRows, 700, 'one row more does not retrain the index');
    bank.close();

    // Reopened: the index is there and used; searching needs no rebuild.
    const again = await MemoryBank.open(dir, META, opts);
    await again.whenIndexed();
    assert.deepEqual((await again.vectorIndexes()).map((i) => i.column).sort(), ['emb', 'key']);
    assert.equal((await again.embedSearch(probe, 3))[0].record.path, 'src/new.ts');
    again.close();

    // Read-only banks never build; a bank grown past rebuildGrowth x the indexed rows rebuilds.
    const ro = await MemoryBank.open(dir, META, { readOnly: true, vectorIndex: { minRows: 10 } });
    assert.equal(ro.indexing, false);
    ro.close();
    const grow = await MemoryBank.open(dir, META, { vectorIndex: { minRows: 600, rebuildGrowth: 1.5, columns: ['emb'] } });
    await grow.whenIndexed();
    await addFiles(grow, 100, 40); // 1,101 rows >= 1.5 x 700
    await grow.whenIndexed();
    assert.equal((await grow.vectorIndexes()).find((i) => i.column === 'emb')?.indexedRows, 1101);
    grow.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('ANN index: off below the default threshold and when minRows is Infinity; IVF_PQ on request', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-ann-'));
  try {
    const never = await MemoryBank.open(dir, META, { vectorIndex: { minRows: Infinity } });
    await addFiles(never, 0, 30);
    assert.equal(never.indexing, false);
    never.close();
    const dflt = await MemoryBank.open(dir, META);
    await addFiles(dflt, 30, 5);
    await dflt.whenIndexed();
    assert.deepEqual(await dflt.vectorIndexes(), [], '350 rows is far below the default 20,000');
    dflt.close();
    // Default columns: the one vector retrieval uses (emb with an embedder column, else key).
    const auto = await MemoryBank.open(dir, META, { vectorIndex: { minRows: 300 } });
    await auto.whenIndexed();
    assert.deepEqual((await auto.vectorIndexes()).map((i) => i.column), ['emb']);
    auto.close();
    const plainDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-ann-'));
    try {
      const plain = await MemoryBank.open(plainDir, { packId: 'cmt-ann-plain', memorySlots: K, memoryDim: D }, { vectorIndex: { minRows: 300 } });
      await addFiles(plain, 0, 35);
      await plain.whenIndexed();
      assert.deepEqual((await plain.vectorIndexes()).map((i) => i.column), ['key']);
      plain.close();
    } finally {
      fs.rmSync(plainDir, { recursive: true, force: true });
    }
    const pq = await MemoryBank.open(dir, META, { vectorIndex: { minRows: 300, kind: 'ivf_pq', columns: ['key'], refineFactor: 10, nprobes: 20 } });
    await pq.whenIndexed();
    const ix = await pq.vectorIndexes();
    assert.deepEqual(ix.map((i) => [i.column, i.indexType]).sort(), [['emb', 'IvfHnswSq'], ['key', 'IvfPq']]);
    const kq = unit(Float32Array.from({ length: D }, rand));
    const exact = (await pq.vectorSearch(kq, 5, { exact: true })).map((h) => h.record.id);
    const ann = (await pq.vectorSearch(kq, 5)).map((h) => h.record.id);
    assert.ok(ann.filter((id) => exact.includes(id)).length >= 4, `${ann.join(',')} vs ${exact.join(',')}`);
    pq.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// Weighted fusion (match.ts fuseRanked / fusionOf / match with an embedder list), the bank's
// `emb` column and code-aware full-text terms (bank.ts), and the fusion fit (eval/retrieval.ts).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fuseRanked, fusionOf, match, RRF_K } from '../../src/core/match';
import { MemoryBank } from '../../src/core/bank';
import { fitFusion } from '../../src/eval/retrieval';
import type { MemoryRecord } from '../../src/core/types';

const rec = (id: string): MemoryRecord => ({
  id, path: id, startLine: 1, endLine: 1, text: id, contentHash: 'h', mtimeMs: 0,
  key: new Float32Array(2), memory: new Float32Array(2),
});

test('fuseRanked: weights decide, a weight-0 list is ignored, ranks recorded per retriever', () => {
  const key = ['a', 'b'].map(rec);
  const emb = ['b', 'a'].map(rec);
  const text = ['c', 'b'].map(rec);
  const heavyEmb = fuseRanked([{ retriever: 'key', records: key, weight: 0.1 }, { retriever: 'emb', records: emb, weight: 3 }, { retriever: 'text', records: text, weight: 1 }], 3, 10);
  assert.equal(heavyEmb[0].record.id, 'b');
  assert.deepEqual([heavyEmb[0].vectorRank, heavyEmb[0].embedRank, heavyEmb[0].textRank], [2, 1, 2]);
  const textOnly = fuseRanked([{ retriever: 'text', records: text, weight: 1 }], 2);
  assert.deepEqual(textOnly.map((m) => m.record.id), ['c', 'b']);
});

test('fusionOf: pack retrieval section with defaults', () => {
  assert.deepEqual(fusionOf(undefined), { key: 1, emb: 1, text: 1, rrfK: RRF_K });
  assert.deepEqual(fusionOf({ weights: { key: 0.25, emb: 2, text: 1 }, rrfK: 5 }), { key: 0.25, emb: 2, text: 1, rrfK: 5 });
  assert.deepEqual(fusionOf({ weights: { key: -1, emb: 'x' } }), { key: 1, emb: 1, text: 1, rrfK: RRF_K });
});

test('match: the embedder list joins the fusion; weight 0 skips a search', async () => {
  const calls: string[] = [];
  const fake = {
    vectorSearch: async () => (calls.push('key'), ['a', 'b'].map((id, i) => ({ record: rec(id), distance: i * 0.1 }))),
    embedSearch: async () => (calls.push('emb'), ['e', 'b'].map((id, i) => ({ record: rec(id), distance: i * 0.1 }))),
    textSearch: async () => (calls.push('text'), ['t', 'b'].map((id, i) => ({ record: rec(id), score: 5 - i }))),
  };
  const q = { key: new Float32Array(2), text: 'q', emb: new Float32Array(2) };
  const all = await match(fake as never, q, { topK: 4 });
  assert.equal(all[0].record.id, 'b'); // in all three lists
  calls.length = 0;
  const embOnly = await match(fake as never, q, { topK: 2, weights: { key: 0, emb: 1, text: 0 } });
  assert.deepEqual(calls, ['emb']);
  assert.deepEqual(embOnly.map((m) => m.record.id), ['e', 'b']);
  calls.length = 0;
  await match(fake as never, { key: q.key, text: 'q' }, { topK: 2 }); // no question embedding: no emb search
  assert.deepEqual(calls.sort(), ['key', 'text']);
});

test('bank: emb column searched by embedSearch, code-aware terms found by textSearch, old-style meta still works', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-fusion-'));
  try {
    const meta = { packId: 'p-emb', memorySlots: 1, memoryDim: 2, embedDim: 3 };
    const bank = await MemoryBank.open(dir, meta);
    const chunk = (t: string, emb: number[]) => ({ path: 'x', startLine: 1, endLine: 1, text: t, memory: new Float32Array([1, 0]), key: new Float32Array([1, 0]), emb: new Float32Array(emb) });
    await bank.upsertFile('src/userStore.ts', 'h1', 1, [chunk('export function getUserById(id) {}', [1, 0, 0])]);
    await bank.upsertFile('docs/notes.md', 'h2', 1, [chunk('Lunch is at noon.', [0, 1, 0])]);
    assert.equal(bank.embedDim, 3);
    const e = await bank.embedSearch(new Float32Array([0, 0.9, 0.1]), 2);
    assert.equal(e[0].record.path, 'docs/notes.md');
    assert.ok(e[0].record.emb && e[0].record.emb.length === 3);
    const t = await bank.textSearch('where is the user by id lookup in the user store?', 2);
    assert.equal(t[0].record.path, 'src/userStore.ts');
    // rename keeps the embedding
    await bank.renameFile('docs/notes.md', 'docs/lunch.md');
    assert.equal((await bank.embedSearch(new Float32Array([0, 1, 0]), 1))[0].record.path, 'docs/lunch.md');
    bank.close();
    // A pack without an embedder: no emb column, embedSearch is empty.
    const plain = await MemoryBank.open(dir, { packId: 'p-plain', memorySlots: 1, memoryDim: 2 });
    assert.equal(plain.embedDim, 0);
    assert.deepEqual(await plain.embedSearch(new Float32Array(3), 2), []);
    plain.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('fitFusion: picks the retriever that finds the gold document', () => {
  const l = (...ps: string[]) => ps.map((p) => ({ id: p, path: p }));
  const qs = [
    { gold: 'g1', lists: { key: l('x', 'g1'), emb: l('g1', 'y'), text: l('z', 'w') } },
    { gold: 'g2', lists: { key: l('g2', 'x'), emb: l('g2', 'y'), text: l('z', 'g2') } },
  ];
  const f = fitFusion([qs], new Set(['key', 'emb', 'text'] as const), 10);
  assert.equal(f.mrr, 1);
  assert.ok(f.best.emb > 0);
});

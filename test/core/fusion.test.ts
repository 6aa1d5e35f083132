// Weighted fusion (match.ts fuseRanked / fusionOf / match with an embedder list), the bank's
// `emb` column and code-aware full-text terms (bank.ts), and the fusion fit (eval/retrieval.ts).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fuseGated, fuseRanked, fusionOf, match, RRF_K, textConfident } from '../../src/core/match';
import { MemoryBank } from '../../src/core/bank';
import { fitFusion } from '../../src/eval/retrievalFit';
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
  assert.deepEqual(fusionOf(undefined), { key: 1, emb: 1, text: 1, def: 0, path: 0, rrfK: RRF_K, textGate: 0 });
  assert.deepEqual(fusionOf({ weights: { key: 0.25, emb: 2, text: 1 }, rrfK: 5 }), { key: 0.25, emb: 2, text: 1, def: 0, path: 0, rrfK: 5, textGate: 0 });
  assert.deepEqual(fusionOf({ weights: { key: -1, emb: 'x', def: 0.5, path: -3 } }), { key: 1, emb: 1, text: 1, def: 0.5, path: 0, rrfK: RRF_K, textGate: 0 });
  assert.equal(fusionOf({ weights: { key: 0, emb: 0.75, text: 1 }, rrfK: 2, textGate: 1.15 }).textGate, 1.15);
  assert.equal(fusionOf({ textGate: -2 }).textGate, 0);
});

test('match: the embedder list joins the fusion; weight 0 skips a search', async () => {
  const calls: string[] = [];
  const fake = {
    vectorSearch: async () => (calls.push('key'), ['a', 'b'].map((id, i) => ({ record: rec(id), distance: i * 0.1 }))),
    embedSearch: async () => (calls.push('emb'), ['e', 'b'].map((id, i) => ({ record: rec(id), distance: i * 0.1 }))),
    textSearch: async () => (calls.push('text'), ['t', 'b'].map((id, i) => ({ record: rec(id), score: 5 - i }))),
  };
  const q = { key: new Float32Array(2), text: 'q', emb: new Float32Array(2) };
  const all = await match(fake, q, { topK: 4 });
  assert.equal(all[0].record.id, 'b'); // in all three lists
  calls.length = 0;
  const embOnly = await match(fake, q, { topK: 2, weights: { key: 0, emb: 1, text: 0 } });
  assert.deepEqual(calls, ['emb']);
  assert.deepEqual(embOnly.map((m) => m.record.id), ['e', 'b']);
  calls.length = 0;
  await match(fake, { key: q.key, text: 'q' }, { topK: 2 }); // no question embedding: no emb search
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
    assert.equal(e[0].record.emb, undefined, 'a search reads no vectors (bankSchema.ts searchColumns)');
    assert.equal(e[0].record.memory.length, 0);
    assert.deepEqual([...(await bank.withMemory([e[0].record]))[0].memory], [1, 0]);
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
  assert.equal(f.best.key, 0); // the key list adds nothing the embedder does not: fewest retrievers
  assert.ok(f.margin >= 0 && f.feasible > 0);
});

test('fitFusion: never below the best single retriever on any dataset when some weights allow it', () => {
  const l = (...ps: Array<[string, number?]>) => ps.map(([p, s]) => ({ id: p, path: p, s }));
  // Dataset A (code-like): BM25 is right and sure; the embedder is wrong. Dataset B (prose): BM25 hesitates, the embedder is right.
  const A = Array.from({ length: 10 }, (_, i) => ({ gold: `a${i}`, lists: { emb: l(['x'], [`a${i}`]), text: l([`a${i}`, 9], ['x', 3]) } }));
  const B = Array.from({ length: 10 }, (_, i) => ({ gold: `b${i}`, lists: { emb: l([`b${i}`], ['y']), text: l(['y', 5], [`b${i}`, 4.9]) } }));
  const f = fitFusion([A, B], new Set(['emb', 'text'] as const), 10);
  assert.ok(f.margin >= 0, JSON.stringify(f));
  assert.ok((f.best.textGate ?? 0) > 1 && (f.best.textGate ?? 0) <= 1.5, `the gate separates sure from unsure BM25: ${JSON.stringify(f.best)}`);
  assert.equal(f.mrr, 1);
});

test('BM25 gate: a sure BM25 top hit stays first; an unsure one is re-ranked by the fusion', async () => {
  const hits = (...xs: Array<[string, number]>) => xs.map(([id, score]) => ({ record: rec(id), score }));
  // Same file twice at the top does not count as the runner-up: the best hit of ANOTHER file does.
  assert.equal(textConfident(hits(['a', 10], ['a', 9.9], ['b', 5]), 1.5), true);
  assert.equal(textConfident(hits(['a', 10], ['b', 9]), 1.15), false);
  assert.equal(textConfident(hits(['a', 10], ['b', 8]), 1.15), true);
  assert.equal(textConfident(hits(['a', 10]), 1.15), true); // nothing else matched
  assert.equal(textConfident(hits(['a', 10], ['b', 1]), 0), false); // gate off
  // emb strongly prefers b; BM25 prefers a.
  const lists = [
    { retriever: 'emb' as const, records: ['b', 'c', 'a'].map(rec), weight: 1 },
    { retriever: 'text' as const, records: ['a', 'b'].map(rec), weight: 1 },
  ];
  const w = { rrfK: 1, textGate: 1.15 };
  assert.equal(fuseRanked(lists, 3, 1)[0].record.id, 'b');
  assert.deepEqual(fuseGated(lists, 3, w, hits(['a', 10], ['b', 9.5])).map((m) => m.record.id), ['b', 'a', 'c']); // unsure: fusion
  assert.deepEqual(fuseGated(lists, 3, w, hits(['a', 10], ['b', 2])).map((m) => m.record.id), ['a', 'b', 'c']); // sure: a first
  assert.deepEqual(fuseGated(lists, 1, w, hits(['a', 10], ['b', 2])).map((m) => m.record.id), ['a']); // even when the fusion ranks it below topK
  // match() applies the gate from its weights with the bank's BM25 scores.
  const fake = {
    vectorSearch: async () => [],
    embedSearch: async () => ['b', 'c', 'a'].map((id, i) => ({ record: rec(id), distance: i * 0.1 })),
    textSearch: async () => hits(['a', 10], ['b', 2]),
  };
  const q = { key: new Float32Array(2), text: 'q', emb: new Float32Array(2) };
  assert.equal((await match(fake as never, q, { topK: 2, weights: { key: 0, emb: 1, text: 1, rrfK: 1 } }))[0].record.id, 'b');
  assert.equal((await match(fake as never, q, { topK: 2, weights: { key: 0, emb: 1, text: 1, rrfK: 1, textGate: 1.15 } }))[0].record.id, 'a');
});

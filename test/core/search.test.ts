// keySearchUsed (match.ts): when the fused retrieval runs the key search, so cmt/search (Engine.search)
// can skip compressing the question when it does not (the default pack gives the key weight 0), and
// match() refuses to run the key search without a key instead of searching with garbage.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { keySearchUsed, match } from '../../src/core/match';
import type { MemoryRecord } from '../../src/core/types';

const rec = (id: string): MemoryRecord => ({ id, path: id, startLine: 1, endLine: 1, text: id, contentHash: 'h', mtimeMs: 0, key: new Float32Array(2), memory: new Float32Array(2) });

function bank(calls: string[]) {
  return {
    vectorSearch: async () => (calls.push('key'), [{ record: rec('a'), distance: 0.1 }]),
    embedSearch: async () => (calls.push('emb'), [{ record: rec('b'), distance: 0.1 }]),
    textSearch: async () => (calls.push('text'), [{ record: rec('c'), score: 2 }]),
    defSearch: async () => (calls.push('def'), [] as Array<{ record: MemoryRecord; score: number }>),
    pathSearch: async () => (calls.push('path'), [] as Array<{ record: MemoryRecord; score: number }>),
  };
}

const emb = new Float32Array([1, 0]);
const defaultPack = { key: 0, emb: 0.5, text: 1, def: 1, path: 2, rrfK: 5, textGate: 1.2 };

test('keySearchUsed agrees with the searches match() runs', async () => {
  const cases: Array<[string, Parameters<typeof keySearchUsed>[1], Parameters<typeof keySearchUsed>[2]]> = [
    ['default pack, text and embedding', { text: 'retry count', emb }, { topK: 4, weights: defaultPack }],
    ['default pack, no embedding', { text: 'retry count' }, { topK: 4, weights: defaultPack }],
    ['default pack, blank text and no embedding: only the key is left', { text: '  ' }, { topK: 4, weights: defaultPack }],
    ['no retrieval section (all weights 1)', { text: 'retry count', emb }, { topK: 4 }],
    ['key only (hybrid off)', { text: 'retry count', emb }, { topK: 4, hybrid: false, weights: defaultPack }],
    ['every weight 0', { text: 'retry count', emb }, { topK: 4, weights: { key: 0, emb: 0, text: 0, def: 0, path: 0 } }],
  ];
  for (const [what, q, o] of cases) {
    const calls: string[] = [];
    await match(bank(calls), { ...q, key: new Float32Array([1, 0]) }, o);
    assert.equal(keySearchUsed(bank([]), q, o), calls.includes('key'), what);
  }
  assert.equal(keySearchUsed(bank([]), { text: 'x', emb }, { topK: 4, weights: defaultPack }), false);
  assert.equal(keySearchUsed(bank([]), { text: 'x', emb }, { topK: 0 }), false, 'top-0 runs nothing');
});

test('match without a key: fine when the key search does not run, an error when it does', async () => {
  const calls: string[] = [];
  const r = await match(bank(calls), { text: 'retry count', emb }, { topK: 2, weights: defaultPack });
  assert.ok(!calls.includes('key'));
  assert.ok(r.length >= 1);
  await assert.rejects(match(bank([]), { text: 'retry count', emb }, { topK: 2 }), /has no key/);
  await assert.rejects(match(bank([]), { text: 'retry count' }, { topK: 2, hybrid: false }), /has no key/);
});

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { match, rrfFuse } from '../../src/core/match';
import type { MemoryRecord } from '../../src/core/types';

const rec = (id: string): MemoryRecord => ({
  id, path: id, startLine: 1, endLine: 1, text: id, contentHash: 'h', mtimeMs: 0,
  key: new Float32Array(2), memory: new Float32Array(2),
});

test('rrfFuse: item found by both lists ranks first, ranks recorded', () => {
  const vec = ['a', 'b', 'c'].map(rec);
  const txt = ['d', 'c', 'e'].map(rec);
  const out = rrfFuse(vec, txt, 5);
  assert.equal(out[0].record.id, 'c');
  assert.equal(out[0].vectorRank, 3);
  assert.equal(out[0].textRank, 2);
  assert.ok(Math.abs(out[0].score - (1 / 63 + 1 / 62)) < 1e-12);
  // a (vector 1) and d (text 1) tie on score: vector rank breaks the tie deterministically.
  assert.deepEqual(out.map((m) => m.record.id), ['c', 'a', 'd', 'b', 'e']);
  assert.equal(out.length, new Set(out.map((m) => m.record.id)).size);
});

test('rrfFuse: topK and duplicates within a list', () => {
  const out = rrfFuse(['a', 'a', 'b'].map(rec), [], 1);
  assert.deepEqual(out.map((m) => [m.record.id, m.vectorRank]), [['a', 1]]);
  assert.equal(rrfFuse(['a', 'a', 'b'].map(rec), [], 5)[1].vectorRank, 2);
});

test('match: hybrid vs vector-only with a fake bank', async () => {
  const fake = {
    vectorSearch: async (_k: Float32Array, limit: number) =>
      ['a', 'b', 'c', 'x'].slice(0, limit).map((id, i) => ({ record: rec(id), distance: i * 0.1 })),
    textSearch: async (_q: string, limit: number) => ['c', 'z'].slice(0, limit).map((id, i) => ({ record: rec(id), score: 5 - i })),
  };
  const hy = await match(fake, { key: new Float32Array(2), text: 'q' }, { topK: 3 });
  // b (vector 2) and z (text 2) tie on score; the vector rank breaks the tie.
  assert.deepEqual(hy.map((m) => m.record.id), ['c', 'a', 'b']);
  assert.equal((await match(fake as never, { key: new Float32Array(2), text: 'q' }, { topK: 5 }))[3].record.id, 'z');
  const vo = await match(fake, { key: new Float32Array(2), text: 'q' }, { topK: 2, hybrid: false });
  assert.deepEqual(vo.map((m) => [m.record.id, m.vectorRank, m.textRank]), [['a', 1, undefined], ['b', 2, undefined]]);
  assert.ok(Math.abs(vo[1].score - 0.9) < 1e-9);
});

// The retrieval bench's real-text vectors (src/bench/realvectors.ts): prose windows from docs and
// docstrings, a cache extended within a budget and reread, derived vectors that stay unit length.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { collectTexts, derivedVector, realVectors, windowsOf } from '../../src/bench/realvectors';
import type { Embedder } from '../../src/core/embed';

test('windowsOf: prose sentences merged into 60-300 character windows; code, tables and links left out', () => {
  const w = windowsOf('The bank stores every chunk. It keeps the text beside the vectors so that answers can cite it.');
  assert.equal(w.length, 1);
  assert.deepEqual(windowsOf('```ts\nconst x = 1;\n```\n| a | b |\n|---|---|'), []);
  assert.deepEqual(windowsOf('See https://example.com for more about the options of this small tool.'), []);
  assert.deepEqual(windowsOf('Call it as x = f(y); then z = g(w); and return the value of the whole thing.'), []);
  assert.match(w[0], /^The bank stores every chunk\. It keeps the text/);
  for (const x of w) {
    assert.ok(x.length >= 40 && x.length <= 300, x);
    assert.doesNotMatch(x, /https?:|=|```/);
  }
});

test('collectTexts: markdown paragraphs, Python docstrings and JSDoc comments, deduplicated, same order every time', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-rv-'));
  try {
    fs.mkdirSync(path.join(dir, 'pkg'));
    fs.writeFileSync(path.join(dir, 'pkg', 'README.md'), 'This package reads configuration files from the user folder and merges them.\n\nThis package reads configuration files from the user folder and merges them.\n');
    fs.writeFileSync(path.join(dir, 'pkg', 'mod.py'), 'def f():\n    """Return the number of open handles that the current process holds right now."""\n');
    fs.writeFileSync(path.join(dir, 'pkg', 'index.d.ts'), '/** Creates a new watcher that reports every change below the given folder. */\nexport function watch(): void;\n');
    const a = await collectTexts([dir]);
    const b = await collectTexts([dir]);
    assert.deepEqual(a, b);
    assert.equal(a.length, 3, JSON.stringify(a));
    assert.ok(a.some((t) => t.startsWith('Return the number of open handles')));
    assert.ok(a.some((t) => t.startsWith('Creates a new watcher')));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('realVectors: embeds within the budget, caches, rereads, survives a torn append; derived vectors are unit length', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-rv-'));
  try {
    const src = path.join(dir, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'a.md'), Array.from({ length: 12 }, (_, i) => `Paragraph number ${['one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve'][i]} explains how the memory bank keeps its files.`).join('\n\n'));
    let calls = 0;
    const fake = {
      dim: 4,
      spec: { name: 'fake', dim: 4, maxTokens: 16, source: {} },
      embed: async (texts: string[]) => {
        calls += texts.length;
        return texts.map((t) => {
          const v = Float32Array.from([t.length, t.charCodeAt(20), 1, 2]);
          const n = Math.hypot(...v);
          return v.map((x) => x / n);
        });
      },
    } as unknown as Embedder;
    const cache = path.join(dir, 'cache');
    const r1 = await realVectors({ dir: cache, embedder: fake, roots: [src], want: 8, budgetS: 30 });
    assert.equal(r1.texts.length, 8);
    assert.equal(r1.added, 8);
    assert.equal(r1.vecs.length, 8 * 4);
    const r2 = await realVectors({ dir: cache, embedder: fake, roots: [src], want: 8, budgetS: 30 });
    assert.equal(r2.added, 0, 'the cache already holds what is wanted');
    assert.deepEqual(r2.texts, r1.texts);
    assert.deepEqual(Array.from(r2.vecs), Array.from(r1.vecs));
    // A run killed between the two appends: one vector more than texts. Reading trims it.
    fs.appendFileSync(path.join(r1.dir, 'vectors.f32'), Buffer.alloc(16));
    const r3 = await realVectors({ dir: cache, embedder: fake, roots: [src], want: 10, budgetS: 30 });
    assert.equal(r3.texts.length, 10);
    assert.equal(r3.vecs.length, 10 * 4);
    assert.equal(calls, 10);
    const d1 = derivedVector(r3.vecs, 10, 4, 12345);
    const d2 = derivedVector(r3.vecs, 10, 4, 12345);
    assert.deepEqual(Array.from(d1.vec), Array.from(d2.vec));
    assert.ok(Math.abs(Math.hypot(...d1.vec) - 1) < 1e-5);
    assert.ok(d1.a >= 0 && d1.a < 10 && d1.b >= 0 && d1.b < 10);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

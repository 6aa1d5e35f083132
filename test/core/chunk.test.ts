import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { chunkFile, splitLines } from '../../src/core/chunk';
import type { Chunk } from '../../src/core/types';

// Fake tokenizer: one token per whitespace-separated word (at least 1 for non-empty text).
const words = (s: string) => (s.trim() ? s.trim().split(/\s+/).length : 0);

function assertExact(text: string, chunks: Chunk[], maxTokens: number, count = words) {
  const lines = splitLines(text);
  for (const c of chunks) {
    assert.ok(c.startLine >= 1 && c.endLine >= c.startLine && c.endLine <= lines.length, JSON.stringify(c));
    assert.ok(count(c.text) <= maxTokens, `chunk over budget: ${count(c.text)} > ${maxTokens}`);
    if (c.startLine === c.endLine && c.text !== lines[c.startLine - 1]) {
      assert.ok(lines[c.startLine - 1].includes(c.text), 'long-line part must come from its line');
    } else {
      assert.equal(c.text, lines.slice(c.startLine - 1, c.endLine).join('\n'));
    }
  }
  for (let i = 1; i < chunks.length; i++) assert.ok(chunks[i].startLine >= chunks[i - 1].endLine, 'chunks in order');
}

test('empty and blank files give no chunks', () => {
  assert.deepEqual(chunkFile('a.ts', '', words, 10), []);
  assert.deepEqual(chunkFile('a.ts', '\n\n  \n', words, 10), []);
});

test('code splits at top-level blocks with exact line ranges', () => {
  const fn = (n: string) => [`function ${n}(a, b) {`, `  const x = a + b;`, ``, `  return x * 2;`, `}`];
  const text = ['// header comment', '', ...fn('one'), '', ...fn('two'), '', ...fn('three'), ''].join('\n');
  const chunks = chunkFile('src/x.ts', text, words, 16);
  assertExact(text, chunks, 16);
  assert.ok(chunks.length >= 3);
  // No function is cut in half: each `function` chunk ends with a closing brace.
  for (const c of chunks) if (c.text.startsWith('function')) assert.ok(c.text.trimEnd().endsWith('}'), c.text);
  const two = chunks.find((c) => c.text.includes('function two'))!;
  assert.equal(two.startLine, 9);
  assert.equal(two.endLine, 13);
  assert.equal(two.path, 'src/x.ts');
});

test('small pieces are packed together up to the budget', () => {
  const text = 'a b\n\nc d\n\ne f\n\ng h';
  const chunks = chunkFile('notes.txt', text, words, 4);
  assert.deepEqual(chunks.map((c) => [c.startLine, c.endLine]), [[1, 3], [5, 7]]);
  assertExact(text, chunks, 4);
});

test('markdown splits at headings, not inside fences', () => {
  const text = [
    '# Title', 'intro words here', '', '## Install', 'run the thing now', '```sh', '# not a heading', 'npm i', '```',
    '', '## Usage', 'use it like so please', 'more usage text here',
  ].join('\n');
  const chunks = chunkFile('README.md', text, words, 14);
  assertExact(text, chunks, 14);
  const install = chunks.find((c) => c.text.startsWith('## Install'))!;
  assert.ok(install.text.includes('# not a heading'));
  assert.ok(chunks.some((c) => c.text.startsWith('## Usage')));
});

test('CRLF files: line numbers and text exact, no stray \\r', () => {
  const text = 'line one\r\nline two\r\n\r\nline four\r\nline five\r\n';
  const chunks = chunkFile('a.txt', text, words, 4);
  assertExact(text, chunks, 4);
  assert.deepEqual(chunks.map((c) => [c.startLine, c.endLine, c.text]), [
    [1, 2, 'line one\nline two'],
    [4, 5, 'line four\nline five'],
  ]);
  for (const c of chunks) assert.ok(!c.text.includes('\r'));
});

test('oversized piece split by lines, over-long line split by characters', () => {
  const body = Array.from({ length: 30 }, (_, i) => `  stmt${i} = call(${i});`);
  const long = 'x'.repeat(5000);
  const text = ['function big() {', ...body, '}', '', `const s = "${long}";`, 'after();'].join('\n');
  const chars = (s: string) => Math.ceil(s.length / 4); // ~4 chars per token
  const chunks = chunkFile('big.js', text, chars, 40);
  assertExact(text, chunks, 40, chars);
  const longLine = 34;
  const parts = chunks.filter((c) => c.startLine === longLine);
  assert.ok(parts.length > 10);
  for (const p of parts) assert.equal(p.endLine, longLine);
  assert.equal(parts.map((p) => p.text).join('').replace(/\s/g, ''), splitLines(text)[longLine - 1].replace(/\s/g, ''));
  assert.ok(chunks.some((c) => c.text.includes('after();')));
});

test('unicode long line does not split surrogate pairs', () => {
  const text = '😀'.repeat(300);
  const chunks = chunkFile('e.txt', text, (s) => s.length, 7);
  for (const c of chunks) assert.ok(!/^[\udc00-\udfff]|[\ud800-\udbff]$/.test(c.text), 'broken pair');
  assert.equal(chunks.map((c) => c.text).join(''), text);
});

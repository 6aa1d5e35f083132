// Deterministic synthetic data for the benchmarks: a source repository of small code/markdown
// files, and bank rows (random keys, incompressible random memories, word-salad text).

import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

const SYL = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'to', 'vi', 'ze', 'bar', 'dor', 'fen', 'gul', 'hap', 'jin', 'kor', 'lem', 'mun', 'pix', 'qua', 'ros', 'tib', 'wex', 'yun'];

export function vocabulary(n: number, seed = 7): string[] {
  const r = rng(seed);
  const out = new Set<string>();
  while (out.size < n) {
    const len = 2 + Math.floor(r() * 3);
    let w = '';
    for (let i = 0; i < len; i++) w += SYL[Math.floor(r() * SYL.length)];
    out.add(w);
  }
  return [...out];
}

/** Zipf-ish word picker over a vocabulary. */
export function wordPicker(vocab: string[], r: () => number): () => string {
  return () => vocab[Math.floor(vocab.length * r() ** 2.5)];
}

/** Writes `files` small source files (ts/py/md/json mix, ~8-30 lines) under root; returns total bytes. */
export async function writeSyntheticRepo(root: string, files: number, seed = 1): Promise<number> {
  const r = rng(seed);
  const vocab = vocabulary(3000, seed + 1);
  const w = wordPicker(vocab, r);
  let bytes = 0;
  const camel = (a: string, b: string) => a + b[0].toUpperCase() + b.slice(1);
  for (let i = 0; i < files; i++) {
    const dir = `pkg${Math.floor(i / 500)}/mod${Math.floor(i / 50) % 10}`;
    const kind = i % 4;
    const lines: string[] = [];
    const n = 8 + Math.floor(r() * 22);
    let name: string;
    if (kind === 0) {
      name = `${w()}_${i}.ts`;
      lines.push(`// ${w()} ${w()} ${w()} helpers`, `import { ${camel(w(), w())} } from './${w()}';`, '');
      for (let j = 0; j < n; j++) lines.push(j % 5 === 0 ? `export function ${camel(w(), w())}(${w()}: number): string {` : j % 5 === 4 ? '}' : `  const ${w()} = ${Math.floor(r() * 1000)}; // ${w()} ${w()}`);
    } else if (kind === 1) {
      name = `${w()}_${i}.py`;
      lines.push(`"""${w()} ${w()} ${w()}."""`, '');
      for (let j = 0; j < n; j++) lines.push(j % 4 === 0 ? `def ${w()}_${w()}(${w()}, ${w()}=${Math.floor(r() * 100)}):` : `    ${w()} = "${w()}-${w()}"  # ${w()}`);
    } else if (kind === 2) {
      name = `${w()}-${i}.md`;
      lines.push(`# ${w()} ${w()}`, '');
      for (let j = 0; j < n; j++) lines.push(`- The ${w()} ${w()} uses ${w()} ${Math.floor(r() * 9000)} with ${w()} ${w()}.`);
    } else {
      name = `${w()}_${i}.json`;
      lines.push('{');
      for (let j = 0; j < n; j++) lines.push(`  "${w()}_${j}": "${w()}-${Math.floor(r() * 100000)}"${j < n - 1 ? ',' : ''}`);
      lines.push('}');
    }
    const text = lines.join('\n') + '\n';
    const abs = path.join(root, dir, name);
    await fsp.mkdir(path.dirname(abs), { recursive: true });
    await fsp.writeFile(abs, text);
    bytes += Buffer.byteLength(text);
  }
  return bytes;
}

export function randomUnit(d: number, r: () => number): Float32Array {
  const v = new Float32Array(d);
  let s = 0;
  for (let i = 0; i < d; i++) {
    // Box-Muller-free approximation: sum of uniforms (fine for random directions)
    const x = r() + r() + r() - 1.5;
    v[i] = x;
    s += x * x;
  }
  const n = Math.sqrt(s) || 1;
  for (let i = 0; i < d; i++) v[i] /= n;
  return v;
}

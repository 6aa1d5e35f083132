// Real sentence embeddings for the retrieval bench. Text windows are collected from documentation
// already on this machine (markdown/rst/txt files, Python docstrings and JSDoc comments under
// node_modules and .venv site-packages; nothing is downloaded), embedded by the pack's own
// sentence embedder (MiniLM) and cached in a gitignored folder (default .cache/bench-embeddings),
// so that each run can extend the set within a time budget and later runs reuse it.
//
// Bank sizes beyond the real set are filled with DERIVED vectors: the normalised mixture of two
// real embeddings (weights a, 1 - a, a uniform in [0.5, 0.9]) plus small Gaussian noise. They keep
// the real set's directions and spread but are not embeddings of any text; reports label them.
import { promises as fsp } from 'node:fs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import type { Embedder } from '../core/embed';
import { now } from '../measure/stats';
import { rng } from './synth';

export interface TextSource {
  root: string;
  /** What was read under it. */
  kinds: string;
}

/** The folders text windows are collected from: <repo>/node_modules and <repo>/.venv/lib/python*\/site-packages. */
export function textRoots(repoRoot: string): string[] {
  const roots = [path.join(repoRoot, 'node_modules')];
  const lib = path.join(repoRoot, '.venv', 'lib');
  for (const d of fs.existsSync(lib) ? fs.readdirSync(lib).sort() : []) {
    if (d.startsWith('python')) roots.push(path.join(lib, d, 'site-packages'));
  }
  return roots.filter((r) => fs.existsSync(r));
}

const DOC_EXT = new Set(['.md', '.markdown', '.rst', '.txt']);
const CODE_EXT = new Set(['.py', '.ts', '.js']);

/** Sentences of a prose block, merged into windows of 60-300 characters. */
export function windowsOf(block: string): string[] {
  const flat = block
    .replace(/`{3}[\s\S]*?`{3}/g, ' ')
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]{1,200}>/g, ' ')
    .replace(/[*_`#>|]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const sentences = flat.split(/(?<=[.!?])\s+(?=[A-Z(])/);
  const out: string[] = [];
  let acc = '';
  for (const s of sentences) {
    acc = acc ? `${acc} ${s}` : s;
    if (acc.length >= 60) {
      if (acc.length <= 300 && isProse(acc)) out.push(acc);
      acc = '';
    }
  }
  if (acc.length >= 40 && acc.length <= 300 && isProse(acc)) out.push(acc);
  return out;
}

function isProse(s: string): boolean {
  const letters = (s.match(/\p{L}/gu) ?? []).length;
  const words = s.split(/\s+/).filter((w) => /^\p{L}{2,}[,.;:!?)]?$/u.test(w)).length;
  const code = (s.match(/[=;{}[\]<>\\]/g) ?? []).length + Math.max(0, (s.match(/\(/g) ?? []).length - 1);
  return letters / s.length >= 0.7 && words >= 6 && words / s.split(/\s+/).length >= 0.6 && code === 0 && !/https?:\/\//.test(s);
}

/** Prose blocks of one file: paragraphs of a document, docstrings / JSDoc comments of code. */
function blocksOf(file: string, text: string): string[] {
  const ext = path.extname(file).toLowerCase();
  if (DOC_EXT.has(ext)) return text.split(/\n\s*\n/);
  if (ext === '.py') return [...text.matchAll(/"""([\s\S]{40,4000}?)"""/g)].map((m) => m[1].split(/\n\s*\n/)).flat();
  return [...text.matchAll(/\/\*\*([\s\S]{40,4000}?)\*\//g)].map((m) => m[1].replace(/^\s*\* ?/gm, '').replace(/@\w+[^\n]*/g, ' '));
}

/** The distinct text windows under `roots`, in a fixed (seeded, shuffled) order. */
export async function collectTexts(roots: string[], seed = 17): Promise<string[]> {
  const seen = new Set<string>();
  const all: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > 12) return;
    const entries = (await fsp.readdir(dir, { withFileTypes: true }).catch(() => [])).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name === '__pycache__' || e.name === '.bin' || e.name === 'test' || e.name === 'tests') continue;
        await walk(p, depth + 1);
      } else if (e.isFile()) {
        const ext = path.extname(e.name).toLowerCase();
        if (!DOC_EXT.has(ext) && !CODE_EXT.has(ext)) continue;
        if (ext === '.js' && !e.name.endsWith('.d.ts') && e.name.endsWith('.min.js')) continue;
        const st = await fsp.stat(p).catch(() => null);
        if (!st || st.size > 2_000_000 || st.size < 40) continue;
        const text = await fsp.readFile(p, 'utf8').catch(() => '');
        for (const b of blocksOf(p, text)) {
          for (const w of windowsOf(b)) {
            if (seen.has(w)) continue;
            seen.add(w);
            all.push(w);
          }
        }
      }
    }
  };
  for (const r of roots) await walk(r, 0);
  // Seeded shuffle so that any prefix mixes all sources.
  const r = rng(seed);
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [all[i], all[j]] = [all[j], all[i]];
  }
  return all;
}

export interface RealVectors {
  dir: string;
  dim: number;
  texts: string[];
  /** count × dim, row-major, L2-normalised. */
  vecs: Float32Array;
  /** Embedded in this run / seconds spent / texts per second. */
  added: number;
  embedSeconds: number;
  textsPerSecond: number | null;
  /** Text windows found on the machine (the pool the cache is filled from). */
  pool: number;
}

function embedderTag(e: Embedder): string {
  return createHash('sha256').update(`${e.spec.name}|${e.spec.dim}|${e.spec.maxTokens}|${JSON.stringify(e.spec.source ?? {})}`).digest('hex').slice(0, 12);
}

/**
 * The cached real embeddings, extended by embedding more collected windows for up to `budgetS`
 * seconds (and at most `want` in all). Files: texts.jsonl (one JSON string per line) and
 * vectors.f32 (float32 little-endian), written in lockstep; meta.json names the embedder.
 */
export async function realVectors(o: { dir: string; embedder: Embedder; roots: string[]; want: number; budgetS: number; batchSize?: number; log?: (m: string) => void }): Promise<RealVectors> {
  const log = o.log ?? (() => undefined);
  const dim = o.embedder.dim;
  const tag = embedderTag(o.embedder);
  const dir = path.join(o.dir, tag);
  await fsp.mkdir(dir, { recursive: true });
  const tf = path.join(dir, 'texts.jsonl');
  const vf = path.join(dir, 'vectors.f32');
  await fsp.writeFile(path.join(dir, 'meta.json'), JSON.stringify({ embedder: o.embedder.spec.name, dim, maxTokens: o.embedder.spec.maxTokens, source: o.embedder.spec.source ?? null, roots: o.roots }, null, 1));
  let texts = fs.existsSync(tf) ? (await fsp.readFile(tf, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as string) : [];
  let buf = fs.existsSync(vf) ? await fsp.readFile(vf) : Buffer.alloc(0);
  const n = Math.min(texts.length, Math.floor(buf.length / (4 * dim)));
  texts = texts.slice(0, n); // a run killed between the two appends leaves them consistent again
  buf = buf.subarray(0, n * 4 * dim);
  let added = 0;
  let spent = 0;
  let pool = n;
  if (n < o.want && o.budgetS > 0) {
    const t0 = now();
    const cands = await collectTexts(o.roots);
    pool = cands.length;
    const have = new Set(texts);
    const todo = cands.filter((t) => !have.has(t)).slice(0, o.want - n);
    log(`[bench] real vectors: ${n} cached, ${cands.length} text windows found in ${((now() - t0) / 1000).toFixed(1)} s; embedding up to ${todo.length} more for ≤ ${o.budgetS} s`);
    const te = now();
    const step = 512;
    for (let s = 0; s < todo.length && (now() - te) / 1000 < o.budgetS; s += step) {
      const part = todo.slice(s, s + step);
      const vecs = await o.embedder.embed(part, { batchSize: o.batchSize ?? 32 });
      const out = Buffer.alloc(part.length * 4 * dim);
      vecs.forEach((v, i) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).copy(out, i * 4 * dim));
      await fsp.appendFile(vf, out);
      await fsp.appendFile(tf, part.map((t) => JSON.stringify(t)).join('\n') + '\n');
      texts.push(...part);
      buf = Buffer.concat([buf, out]);
      added += part.length;
      if ((s / step) % 10 === 0) log(`[bench] real vectors: ${texts.length} (${(added / ((now() - te) / 1000)).toFixed(0)} texts/s)`);
    }
    spent = (now() - te) / 1000;
  }
  const vecs = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  return { dir, dim, texts, vecs, added, embedSeconds: spent, textsPerSecond: added > 0 ? added / spent : null, pool };
}

/** Row i of the bench bank: real vector i below the real count, else a derived mixture (see the header). */
export function derivedVector(real: Float32Array, count: number, dim: number, i: number, noise = 0.01): { vec: Float32Array; a: number; b: number } {
  const r = rng(7919 * (i + 1));
  const a = Math.floor(r() * count);
  const b = Math.floor(r() * count);
  const wa = 0.5 + 0.4 * r();
  const v = new Float32Array(dim);
  let s = 0;
  for (let j = 0; j < dim; j++) {
    // Box-Muller for the noise
    const g = Math.sqrt(-2 * Math.log(Math.max(1e-12, r()))) * Math.cos(2 * Math.PI * r());
    v[j] = wa * real[a * dim + j] + (1 - wa) * real[b * dim + j] + noise * g;
    s += v[j] * v[j];
  }
  const nrm = Math.sqrt(s) || 1;
  for (let j = 0; j < dim; j++) v[j] /= nrm;
  return { vec: v, a, b };
}

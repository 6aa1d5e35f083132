// `cmt bench --sections retrieval`: question-to-memories latency at 10K-1M memories, exact and
// with the bank's ANN index (bank.ts VectorIndexOptions), on REAL sentence embeddings where the
// machine can afford them (realvectors.ts: documentation text found on this machine, embedded by
// the pack's MiniLM and cached), extended with DERIVED vectors (mixtures of two real embeddings
// plus noise) beyond that; every row says how many of each. Queries are real questions
// (workspace-test and SQuAD test splits), embedded at query time, and the timings include that
// embedding. Recall@10 of the index is measured against exact search on the same query vectors.
// A pack without an embedder is measured on its `key` column instead (clustered synthetic keys,
// the question's key from the compressor at query time).
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { Binary, FixedSizeList, Float32, Float64, Int32, makeData, RecordBatch, Schema, Struct, Table as ArrowTable, Utf8, vectorFromArray } from 'apache-arrow';
import { DEFAULT_VECTOR_INDEX, MemoryBank, tableNameForPack, VectorIndexOptions } from '../core/bank';
import { codeTerms } from '../core/terms';
import { Compressor } from '../core/compress';
import { Embedder } from '../core/embed';
import { fusionOf, FusionWeights, match } from '../core/match';
import type { Pack } from '../core/pack';
import type { Device } from '../core/types';
import { loadDataset } from '../measure/dataset';
import { dirSize } from '../measure/machine';
import { percentile, round } from '../measure/metrics';
import { machineBusySeconds, ownCpuSeconds } from './llamacpp';
import { derivedVector, realVectors, textRoots } from './realvectors';
import { rng } from './synth';

export interface RetrievalBenchOptions {
  sizes?: number[];
  queries?: number;
  /** Sizes from this many rows get the ANN index (default: the bank's default minRows). */
  indexMin?: number;
  /** ANN settings (default: the bank's DEFAULT_VECTOR_INDEX). */
  vectorIndex?: Partial<VectorIndexOptions>;
  /** Real embeddings: cache folder (default <repo>/.cache/bench-embeddings). */
  cacheDir?: string;
  /** Real embeddings wanted in the cache in all (default 100,000). */
  realWant?: number;
  /** Seconds this run may spend embedding more real texts (default 0: use the cache as it is). */
  realBudgetS?: number;
  /** Bytes of the `memory` column per row (default the pack's k x d float32). */
  memoryBytes?: number;
  /** After the ANN rows: recall@10 and embed + search latency with each of these HNSW ef values. */
  efSweep?: number[];
  device?: Device;
  repoRoot: string;
}

export interface Lat {
  p50: number;
  p95: number;
}

export interface RetrievalBenchRow {
  memories: number;
  /** Rows whose vector is the embedding of a real text window / derived from real ones (both 0: synthetic keys, pack without embedder). */
  realVectors: number;
  derivedVectors: number;
  buildMs: number;
  ftsIndexMs: number;
  bytesOnDisk: number;
  bytesPerMemory: number;
  /** CPU used by other processes while the queries were timed (cores; Linux, else null), 1-min load average after. */
  machineLoad: { otherProcessesCores: number | null; loadAverage1m: number };
  /** Question embedding alone. */
  encode: Lat;
  /** BM25 full-text search alone (top candidates; part of hybrid). */
  text: Lat;
  /** Exact (brute-force) search: search alone, embedding + search, embedding + hybrid match(). */
  exact: { search: Lat; query: Lat; hybrid: Lat };
  ann?: {
    kind: string;
    settings: string;
    indexMs: number;
    /** embedding + search while the index was being built (the bank answers exactly meanwhile). */
    duringBuild: { queries: number } & Lat;
    search: Lat;
    query: Lat;
    hybrid: Lat;
    /** Top-10 of the ANN search vs exact search, same query vectors. */
    recallAt10: number;
    /** Top-K of hybrid match() with the index vs without it. */
    hybridAgreement: number;
    bytesOnDisk: number;
    /** The same index searched with other ef values (--ef-sweep). */
    efSweep?: Array<{ ef: number; recallAt10: number; query: Lat }>;
  };
}

export interface RetrievalBench {
  column: 'emb' | 'key';
  encoder: string;
  queries: number;
  queryText: string;
  topK: number;
  candidates: number;
  indexMin: number;
  fusion: FusionWeights;
  real: { cacheDir: string; cached: number; addedThisRun: number; textsPerSecond: number | null; embedSeconds: number; pool: number; source: string } | null;
  derivation: string;
  memoryBytes: number;
  rows: RetrievalBenchRow[];
  notes: string[];
}

const now = () => performance.now();
const lat = (xs: number[]): Lat => ({ p50: round(percentile(xs, 50), 2), p95: round(percentile(xs, 95), 2) });

function unit(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const n = Math.sqrt(s) || 1;
  for (let i = 0; i < v.length; i++) v[i] /= n;
  return v;
}

/** Arrow column builders for one batch in the bank's schema (much faster than row objects at 1M rows). */
function batchTable(schema: Schema, cols: Record<string, unknown[] | Float32Array>, n: number, dims: Record<string, number>): ArrowTable {
  const children = schema.fields.map((f) => {
    const v = cols[f.name];
    if (f.type instanceof FixedSizeList) {
      const d = dims[f.name];
      const child = makeData({ type: new Float32(), length: n * d, data: v as Float32Array });
      return makeData({ type: f.type, length: n, nullCount: 0, child });
    }
    if (f.type instanceof Binary) return vectorFromArray(v as Uint8Array[], new Binary()).data[0];
    // Columns the bench leaves empty (symbol, defines: nullable) are all null.
    if (f.type instanceof Utf8) return vectorFromArray((v as string[] | undefined) ?? new Array<null>(n).fill(null), new Utf8()).data[0];
    if (f.type instanceof Int32) return makeData({ type: new Int32(), length: n, data: Int32Array.from(v as number[]) });
    if (f.type instanceof Float64) return makeData({ type: new Float64(), length: n, data: Float64Array.from(v as number[]) });
    throw new Error(`bench: no builder for column ${f.name}`);
  });
  const data = makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children });
  return new ArrowTable(schema, new RecordBatch(schema, data));
}

export async function benchRetrieval(pack: Pack, o: RetrievalBenchOptions, log: (m: string) => void): Promise<RetrievalBench> {
  const m = pack.manifest;
  const k = m.cmt.memorySlots;
  const d = m.cmt.memoryDim;
  const sizes = o.sizes ?? [10_000, 100_000, 1_000_000];
  const nq = o.queries ?? 50;
  const vi: VectorIndexOptions = { ...DEFAULT_VECTOR_INDEX, ...Object.fromEntries(Object.entries(o.vectorIndex ?? {}).filter(([, v]) => v !== undefined)) };
  const indexMin = o.indexMin ?? vi.minRows;
  const topK = m.defaults.topK;
  const candidates = Math.max(4 * topK, 20);
  const fusion = fusionOf(m.retrieval);
  const memoryBytes = o.memoryBytes ?? 4 * k * d;
  const notes: string[] = [];
  const embedder = await Embedder.create(pack, o.device ?? 'cpu');
  const column: 'emb' | 'key' = embedder ? 'emb' : 'key';
  const compressor = embedder ? null : await Compressor.create(pack, o.device ?? 'cpu');
  const E = embedder ? embedder.dim : d;
  const meta = { packId: m.packId, memorySlots: k, memoryDim: d, ...(embedder ? { embedDim: E } : {}) };

  // Real questions, alternating between code and prose.
  const qsets = ['workspace-test', 'squad-notre-dame-test'].map((s) => loadDataset(s, o.repoRoot).questions.map((q) => q.question));
  const questions: string[] = [];
  for (let i = 0; questions.length < nq; i++) questions.push(qsets[i % 2][Math.floor(i / 2) * 7 % qsets[i % 2].length]);
  const encode = async (q: string): Promise<{ key: Float32Array; emb?: Float32Array }> => {
    if (embedder) return { key: new Float32Array(d), emb: await embedder.embedOne(q) };
    return { key: (await compressor!.compressQuestion(q)).key };
  };

  // The vectors: real cached embeddings (+ more within the budget), else clustered synthetic keys.
  let real: Awaited<ReturnType<typeof realVectors>> | null = null;
  let R = 0;
  let realVecs: Float32Array = new Float32Array(0);
  let realTexts: string[] = [];
  if (embedder) {
    const cacheDir = o.cacheDir ?? path.join(o.repoRoot, '.cache', 'bench-embeddings');
    real = await realVectors({ dir: cacheDir, embedder, roots: textRoots(o.repoRoot), want: o.realWant ?? 100_000, budgetS: o.realBudgetS ?? 0, log });
    R = real.texts.length;
    realVecs = real.vecs;
    realTexts = real.texts;
    if (R < 2) throw new Error(`bench retrieval: no real embeddings cached in ${real.dir}; run once with --real-budget <seconds>`);
    log(`[bench] retrieval: ${R} real embeddings (${real.added} added in ${real.embedSeconds.toFixed(0)} s${real.textsPerSecond ? `, ${real.textsPerSecond.toFixed(0)} texts/s` : ''})`);
  } else {
    // No embedder: 64 clusters of synthetic keys stand in for "real" ones.
    R = 4096;
    const r = rng(99);
    const centres = Array.from({ length: 64 }, () => unit(Float32Array.from({ length: d }, () => r() - 0.5)));
    realVecs = new Float32Array(R * d);
    for (let i = 0; i < R; i++) {
      const c = centres[i % 64];
      realVecs.set(unit(c.map((x) => x + 0.08 * (r() - 0.5))), i * d);
    }
    realTexts = Array.from({ length: R }, (_, i) => `synthetic memory ${i} of cluster ${i % 64}`);
    notes.push('the pack has no sentence embedder: the key column is measured on clustered synthetic keys; question keys from the compressor');
  }
  const vecOf = (i: number): { vec: Float32Array; text: string } => {
    if (i < R) return { vec: realVecs.subarray(i * E, (i + 1) * E), text: realTexts[i] };
    const x = derivedVector(realVecs, R, E, i);
    return { vec: x.vec, text: `${realTexts[x.a]} ${realTexts[x.b]}` };
  };

  const schema = MemoryBank.schemaFor(meta);
  const name = tableNameForPack(m.packId);
  const rows: RetrievalBenchRow[] = [];
  for (const size of sizes) {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'cmt-bench-bank-'));
    try {
      // 1. Write the table in the bank's schema.
      const t0 = now();
      const db = await lancedb.connect(dir);
      const table = await db.createEmptyTable(name, schema);
      const rk = rng(1000 + size);
      const B = 10_000;
      for (let s = 0; s < size; s += B) {
        const n = Math.min(B, size - s);
        const cols: Record<string, unknown[] | Float32Array> = { id: [], path: [], start_line: [], end_line: [], content_hash: [], mtime_ms: [], memory: [], text: [], terms: [] };
        const mem = randomBytes(n * memoryBytes); // incompressible, as real float32 memories are
        const key = new Float32Array(n * d);
        const emb = new Float32Array(n * E);
        for (let j = 0; j < n; j++) {
          const i = s + j;
          const file = `docs/d${Math.floor(i / 4)}.md`;
          const line = (i % 4) * 10 + 1;
          const v = vecOf(i);
          (cols.id as string[]).push(`${file}#${line}-${line + 9}`);
          (cols.path as string[]).push(file);
          (cols.start_line as number[]).push(line);
          (cols.end_line as number[]).push(line + 9);
          (cols.content_hash as string[]).push('h' + Math.floor(i / 4));
          (cols.mtime_ms as number[]).push(0);
          (cols.memory as Uint8Array[]).push(mem.subarray(j * memoryBytes, (j + 1) * memoryBytes));
          (cols.text as string[]).push(v.text);
          (cols.terms as string[]).push(codeTerms(`${file}\n${v.text}`));
          if (embedder) {
            emb.set(v.vec, j * E);
            for (let x = 0; x < d; x++) key[j * d + x] = rk() - 0.5; // random keys: the key list is unused at key weight 0
          } else key.set(v.vec, j * d);
        }
        cols.key = key;
        if (embedder) cols.emb = emb;
        await table.add(batchTable(schema, cols, n, { key: d, emb: E }));
      }
      await table.optimize({ cleanupOlderThan: new Date() }).catch(() => undefined);
      const buildMs = now() - t0;
      table.close();
      db.close();

      // 2. Exact search (a bank that never indexes), full-text index first.
      const bank = await MemoryBank.open(dir, meta, { vectorIndex: { ...vi, minRows: Infinity } });
      const tf = now();
      await bank.refreshTextIndex(true);
      const ftsIndexMs = now() - tf;
      const search = (b: MemoryBank, v: { key: Float32Array; emb?: Float32Array }, limit: number, exact = false) =>
        embedder ? b.embedSearch(v.emb!, limit, { exact }) : b.vectorSearch(v.key, limit, { exact });
      await encode(questions[0]); // warm-up
      const enc: number[] = [];
      const qv: Array<{ key: Float32Array; emb?: Float32Array }> = [];
      for (const q of questions) {
        const t = now();
        qv.push(await encode(q));
        enc.push(now() - t);
      }
      /** Times f over the questions, one at a time after a warm-up call; out[i] = f(i)'s result. */
      const time = async <T>(f: (i: number) => Promise<T>, out: T[] = []) => {
        await f(0);
        const ts: number[] = [];
        for (let i = 0; i < questions.length; i++) {
          const t = now();
          out[i] = await f(i);
          ts.push(now() - t);
        }
        return lat(ts);
      };
      const hybridOf = async (b: MemoryBank, i: number, v?: { key: Float32Array; emb?: Float32Array }) =>
        match(b, { ...(v ?? (await encode(questions[i]))), text: questions[i] }, { topK, hybrid: true, weights: fusion });
      const busy0 = machineBusySeconds();
      const own0 = ownCpuSeconds();
      const wall0 = now();
      // The exact top-`candidates` (≥ 10) in distance order: its first 10 are the exact top-10.
      const exactHits: Awaited<ReturnType<typeof search>>[] = [];
      const exactSearch = await time((i) => search(bank, qv[i], candidates, true), exactHits);
      const exactTop10 = exactHits.map((h) => h.slice(0, 10));
      const exactQuery = await time(async (i) => search(bank, await encode(questions[i]), candidates, true));
      const exactHybridIds: Awaited<ReturnType<typeof hybridOf>>[] = [];
      const exactHybrid = await time((i) => hybridOf(bank, i), exactHybridIds);
      const textLat = await time((i) => bank.textSearch(questions[i], candidates));
      bank.close();
      const busy1 = machineBusySeconds();
      const others = busy0 === null || busy1 === null ? null : Math.max(0, (busy1 - busy0 - (ownCpuSeconds() - own0)) / ((now() - wall0) / 1000));
      const bytesOnDisk = await dirSize(path.join(dir, `${name}.lance`));
      const row: RetrievalBenchRow = {
        memories: size,
        realVectors: embedder ? Math.min(size, R) : 0,
        derivedVectors: embedder ? Math.max(0, size - R) : 0,
        buildMs: round(buildMs, 0),
        ftsIndexMs: round(ftsIndexMs, 0),
        bytesOnDisk,
        bytesPerMemory: round(bytesOnDisk / size, 1),
        machineLoad: { otherProcessesCores: others === null ? null : round(others, 2), loadAverage1m: round(os.loadavg()[0], 2) },
        encode: lat(enc),
        text: textLat,
        exact: { search: exactSearch, query: exactQuery, hybrid: exactHybrid },
      };

      // 3. The bank's own background ANN build (the product path), queries timed while it runs.
      if (size >= indexMin) {
        const cols = embedder ? ['emb' as const, ...(fusion.key > 0 ? (['key'] as const) : [])] : ['key' as const];
        const ti = now();
        const ib = await MemoryBank.open(dir, meta, { vectorIndex: { ...vi, minRows: indexMin, columns: cols } });
        const during: number[] = [];
        for (let i = 0; ib.indexing; i++) {
          const t = now();
          await search(ib, await encode(questions[i % questions.length]), candidates);
          during.push(now() - t);
          await new Promise((res) => setTimeout(res, 20));
        }
        await ib.whenIndexed();
        const indexMs = now() - ti;
        const ix = await ib.vectorIndexes();
        if (ix.length === 0) throw new Error(`bench retrieval: no ANN index was built at ${size} rows`);
        const annSearch = await time((i) => search(ib, qv[i], candidates));
        const annQuery = await time(async (i) => search(ib, await encode(questions[i]), candidates));
        const annHybrid = await time((i) => hybridOf(ib, i));
        /** Share of the exact top-10 that `b`'s index search returns, over all questions. */
        const recallAt10 = async (b: MemoryBank) => {
          let hit = 0;
          for (const [i, v] of qv.entries()) {
            const got = new Set((await search(b, v, 10)).map((h) => h.record.id));
            hit += exactTop10[i].filter((h) => got.has(h.record.id)).length;
          }
          return round(hit / (10 * qv.length), 3);
        };
        const annRecall = await recallAt10(ib);
        let agree = 0;
        for (const [i, v] of qv.entries()) {
          const hyb = new Set((await hybridOf(ib, i, v)).map((x) => x.record.id));
          agree += exactHybridIds[i].filter((x) => hyb.has(x.record.id)).length / Math.max(1, exactHybridIds[i].length);
        }
        ib.close();
        const efSweep: Array<{ ef: number; recallAt10: number; query: Lat }> = [];
        for (const ef of o.efSweep ?? []) {
          const sb = await MemoryBank.open(dir, meta, { vectorIndex: { ...vi, minRows: Infinity, columns: cols, ef } });
          efSweep.push({ ef, recallAt10: await recallAt10(sb), query: await time(async (i) => search(sb, await encode(questions[i]), candidates)) });
          sb.close();
        }
        const settings = vi.kind === 'ivf_pq' ? `nprobes ${vi.nprobes}, refineFactor ${vi.refineFactor}` : `nprobes ${vi.nprobes}, ef ${vi.ef}, refineFactor ${vi.refineFactor}`;
        row.ann = {
          kind: ix.map((x) => `${x.column}:${x.indexType}`).join(', '),
          settings: `${settings}; ${Math.max(1, Math.round(size / vi.rowsPerPartition))} partition(s)`,
          indexMs: round(indexMs, 0),
          duringBuild: { queries: during.length, ...lat(during.length ? during : [0]) },
          search: annSearch,
          query: annQuery,
          hybrid: annHybrid,
          recallAt10: annRecall,
          hybridAgreement: round(agree / qv.length, 3),
          bytesOnDisk: await dirSize(path.join(dir, `${name}.lance`)),
          ...(efSweep.length ? { efSweep } : {}),
        };
      }
      rows.push(row);
      log(
        `[bench] retrieval ${size} (${row.realVectors} real): embed p50 ${row.encode.p50} ms; exact embed+search p50 ${row.exact.query.p50} ms, hybrid ${row.exact.hybrid.p50} ms` +
          (row.ann ? `; ANN embed+search p50 ${row.ann.query.p50} ms, hybrid ${row.ann.hybrid.p50} ms, recall@10 ${row.ann.recallAt10}, build ${(row.ann.indexMs / 1000).toFixed(1)} s` : ''),
      );
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  }
  if (embedder && sizes.some((s) => s > R)) notes.push(`rows beyond the first ${R} carry DERIVED vectors (not embeddings of any text): normalize(a·e_i + (1−a)·e_j + N(0, 0.01²) per dimension), a ∈ [0.5, 0.9], e_i, e_j real; their text is the two texts joined`);
  if (embedder) notes.push(`key column: random unit vectors (the pack's key weight is ${fusion.key}; ${fusion.key > 0 ? 'searched by hybrid' : 'not searched by hybrid match()'})`);
  if (memoryBytes !== 4 * k * d) notes.push(`memory column: ${memoryBytes}-byte placeholders instead of the real ${4 * k * d} bytes (k x d float32) per row, to keep the bank on disk small; searches read it only for the hits returned`);
  return {
    column,
    encoder: embedder ? `${embedder.spec.name} (pack embedder, ${o.device ?? 'cpu'})` : 'pack compressor (question key)',
    queries: nq,
    queryText: 'real questions: workspace-test and squad-notre-dame-test, alternating',
    topK,
    candidates,
    indexMin,
    fusion,
    real: real
      ? { cacheDir: path.relative(o.repoRoot, real.dir) || real.dir, cached: R, addedThisRun: real.added, textsPerSecond: real.textsPerSecond === null ? null : round(real.textsPerSecond, 1), embedSeconds: round(real.embedSeconds, 1), pool: real.pool, source: 'sentences of markdown/rst/txt files, Python docstrings and JSDoc comments under node_modules and .venv site-packages (60-300 characters)' }
      : null,
    derivation: embedder ? 'normalize(a·e_i + (1−a)·e_j + 0.01·N(0, I)), a ∈ [0.5, 0.9]' : 'synthetic clusters',
    memoryBytes,
    rows,
    notes,
  };
}

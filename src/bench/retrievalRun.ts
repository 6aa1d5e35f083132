// The measurement of the retrieval section (retrieval.ts, where the method is described): per bank
// size, (1) a table in the bank's schema written with Arrow batches, (2) exact search timed on it,
// (3) the bank's own background ANN build, timed while it runs and after. Loaded only when the
// section runs (it loads LanceDB and ONNX Runtime).
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
import { loadDataset } from '../measure/dataset';
import { dirSize, machineLoadOf, otherProcessesMeter } from '../measure/machine';
import { defined } from '../measure/options';
import { now, p50p95, round } from '../measure/stats';
import { derivedVector, realVectors, textRoots } from './realvectors';
import type { Lat, RetrievalBench, RetrievalBenchRow } from './retrieval';
import { rng } from './synth';
import type { BenchContext } from './types';

const lat = (xs: number[]): Lat => p50p95(xs);

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

type QueryVec = { key: Float32Array; emb?: Float32Array };

/** What every bank size shares: the pack's dimensions, the questions and how they are encoded and searched. */
interface Setup {
  c: BenchContext;
  d: number;
  /** Dimension of the searched column (the embedder's, else d). */
  E: number;
  meta: { packId: string; memorySlots: number; memoryDim: number; embedDim?: number };
  name: string;
  schema: Schema;
  embedder: Embedder | null;
  questions: string[];
  encode(q: string): Promise<QueryVec>;
  vi: VectorIndexOptions;
  indexMin: number;
  topK: number;
  candidates: number;
  fusion: FusionWeights;
  memoryBytes: number;
  /** Rows with a real (or, without an embedder, clustered synthetic) vector; the rest are derived from them. */
  R: number;
  vecOf(i: number): { vec: Float32Array; text: string };
  real: Awaited<ReturnType<typeof realVectors>> | null;
  notes: string[];
}

/** Real questions, alternating between code and prose. */
function questionsOf(repoRoot: string, nq: number): string[] {
  const qsets = ['workspace-test', 'squad-notre-dame-test'].map((s) => loadDataset(s, repoRoot).questions.map((q) => q.question));
  const questions: string[] = [];
  for (let i = 0; questions.length < nq; i++) questions.push(qsets[i % 2][Math.floor(i / 2) * 7 % qsets[i % 2].length]);
  return questions;
}

/** The vectors: real cached embeddings (+ more within the budget), else clustered synthetic keys. */
async function vectorsOf(c: BenchContext, embedder: Embedder | null, d: number, notes: string[]): Promise<Pick<Setup, 'R' | 'vecOf' | 'real'>> {
  let real: Setup['real'] = null;
  let R: number;
  let realVecs: Float32Array;
  let realTexts: string[];
  if (embedder) {
    const cacheDir = c.o.realCache ?? path.join(c.repoRoot, '.cache', 'bench-embeddings');
    real = await realVectors({ dir: cacheDir, embedder, roots: textRoots(c.repoRoot), want: c.o.realWant, budgetS: c.o.realBudgetS, log: c.log });
    R = real.texts.length;
    realVecs = real.vecs;
    realTexts = real.texts;
    if (R < 2) throw new Error(`bench retrieval: no real embeddings cached in ${real.dir}; run once with --real-budget <seconds>`);
    c.log(`[bench] retrieval: ${R} real embeddings (${real.added} added in ${real.embedSeconds.toFixed(0)} s${real.textsPerSecond ? `, ${real.textsPerSecond.toFixed(0)} texts/s` : ''})`);
  } else {
    // No embedder: 64 clusters of synthetic keys stand in for "real" ones.
    R = 4096;
    const r = rng(99);
    const centres = Array.from({ length: 64 }, () => unit(Float32Array.from({ length: d }, () => r() - 0.5)));
    realVecs = new Float32Array(R * d);
    for (let i = 0; i < R; i++) {
      const ce = centres[i % 64];
      realVecs.set(unit(ce.map((x) => x + 0.08 * (r() - 0.5))), i * d);
    }
    realTexts = Array.from({ length: R }, (_, i) => `synthetic memory ${i} of cluster ${i % 64}`);
    notes.push('the pack has no sentence embedder: the key column is measured on clustered synthetic keys; question keys from the compressor');
  }
  const E = embedder ? embedder.dim : d;
  const vecOf = (i: number): { vec: Float32Array; text: string } => {
    if (i < R) return { vec: realVecs.subarray(i * E, (i + 1) * E), text: realTexts[i] };
    const x = derivedVector(realVecs, R, E, i);
    return { vec: x.vec, text: `${realTexts[x.a]} ${realTexts[x.b]}` };
  };
  return { R, vecOf, real };
}

async function setupOf(c: BenchContext, vectorIndex: Partial<VectorIndexOptions> | undefined): Promise<Setup> {
  const m = c.pack.manifest;
  const k = m.cmt.memorySlots;
  const d = m.cmt.memoryDim;
  const vi: VectorIndexOptions = { ...DEFAULT_VECTOR_INDEX, ...defined(vectorIndex ?? {}) };
  const topK = m.defaults.topK;
  const notes: string[] = [];
  const embedder = await Embedder.create(c.pack, c.device);
  const compressor = embedder ? null : await Compressor.create(c.pack, c.device);
  const E = embedder ? embedder.dim : d;
  const meta = { packId: m.packId, memorySlots: k, memoryDim: d, ...(embedder ? { embedDim: E } : {}) };
  const questions = questionsOf(c.repoRoot, c.o.retrievalQueries);
  const encode = async (q: string): Promise<QueryVec> => {
    if (embedder) return { key: new Float32Array(d), emb: await embedder.embedOne(q) };
    return { key: (await compressor!.compressQuestion(q)).key };
  };
  const vectors = await vectorsOf(c, embedder, d, notes);
  const schema = MemoryBank.schemaFor(meta);
  const name = tableNameForPack(m.packId);
  const memoryBytes = c.o.memoryBytes ?? 4 * k * d;
  return { c, d, E, meta, name, schema, embedder, questions, encode, vi, indexMin: c.o.indexMin ?? vi.minRows, topK, candidates: Math.max(4 * topK, 20), fusion: fusionOf(m.retrieval), memoryBytes, notes, ...vectors };
}

/** (1) Writes `size` rows in the bank's schema into a new table under `dir`; returns the ms it took. */
async function writeTable(s: Setup, dir: string, size: number): Promise<number> {
  const { d, E, embedder, memoryBytes } = s;
  const t0 = now();
  const db = await lancedb.connect(dir);
  const table = await db.createEmptyTable(s.name, s.schema);
  const rk = rng(1000 + size);
  const B = 10_000;
  for (let st = 0; st < size; st += B) {
    const n = Math.min(B, size - st);
    const cols: Record<string, unknown[] | Float32Array> = { id: [], path: [], start_line: [], end_line: [], content_hash: [], mtime_ms: [], memory: [], text: [], terms: [] };
    const mem = randomBytes(n * memoryBytes); // incompressible, as real float32 memories are
    const key = new Float32Array(n * d);
    const emb = new Float32Array(n * E);
    for (let j = 0; j < n; j++) {
      const i = st + j;
      const file = `docs/d${Math.floor(i / 4)}.md`;
      const line = (i % 4) * 10 + 1;
      const v = s.vecOf(i);
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
    await table.add(batchTable(s.schema, cols, n, { key: d, emb: E }));
  }
  await table.optimize({ cleanupOlderThan: new Date() }).catch(() => undefined);
  const buildMs = now() - t0;
  table.close();
  db.close();
  return buildMs;
}

/** The timing tools of one bank size: searches by the measured column, hybrid match(), and a timer over the questions. */
function toolsOf(s: Setup) {
  const search = (b: MemoryBank, v: QueryVec, limit: number, exact = false) => (s.embedder ? b.embedSearch(v.emb!, limit, { exact }) : b.vectorSearch(v.key, limit, { exact }));
  /** Times f over the questions, one at a time after a warm-up call; out[i] = f(i)'s result. */
  const time = async <T>(f: (i: number) => Promise<T>, out: T[] = []) => {
    await f(0);
    const ts: number[] = [];
    for (let i = 0; i < s.questions.length; i++) {
      const t = now();
      out[i] = await f(i);
      ts.push(now() - t);
    }
    return lat(ts);
  };
  const hybridOf = async (b: MemoryBank, i: number, v?: QueryVec) => match(b, { ...(v ?? (await s.encode(s.questions[i]))), text: s.questions[i] }, { topK: s.topK, hybrid: true, weights: s.fusion });
  return { search, time, hybridOf };
}
type Tools = ReturnType<typeof toolsOf>;
type Hits = Awaited<ReturnType<Tools['search']>>;
type Matched = Awaited<ReturnType<Tools['hybridOf']>>;

/** What the ANN rows compare against: the query vectors and the exact results. */
interface Exact {
  qv: QueryVec[];
  top10: Hits[];
  hybridIds: Matched[];
}

/** (2) Exact search (a bank that never indexes), full-text index first. */
async function timeExact(s: Setup, t: Tools, dir: string, size: number, buildMs: number): Promise<{ row: RetrievalBenchRow; exact: Exact }> {
  const bank = await MemoryBank.open(dir, s.meta, { vectorIndex: { ...s.vi, minRows: Infinity } });
  const tf = now();
  await bank.refreshTextIndex(true);
  const ftsIndexMs = now() - tf;
  await s.encode(s.questions[0]); // warm-up
  const enc: number[] = [];
  const qv: QueryVec[] = [];
  for (const q of s.questions) {
    const tq = now();
    qv.push(await s.encode(q));
    enc.push(now() - tq);
  }
  const meter = otherProcessesMeter();
  // The exact top-`candidates` (≥ 10) in distance order: its first 10 are the exact top-10.
  const exactHits: Hits[] = [];
  const exactSearch = await t.time((i) => t.search(bank, qv[i], s.candidates, true), exactHits);
  const exactQuery = await t.time(async (i) => t.search(bank, await s.encode(s.questions[i]), s.candidates, true));
  const hybridIds: Matched[] = [];
  const exactHybrid = await t.time((i) => t.hybridOf(bank, i), hybridIds);
  const textLat = await t.time((i) => bank.textSearch(s.questions[i], s.candidates));
  bank.close();
  const others = meter.others();
  const bytesOnDisk = await dirSize(path.join(dir, `${s.name}.lance`));
  const row: RetrievalBenchRow = {
    memories: size,
    realVectors: s.embedder ? Math.min(size, s.R) : 0,
    derivedVectors: s.embedder ? Math.max(0, size - s.R) : 0,
    buildMs: round(buildMs, 0),
    ftsIndexMs: round(ftsIndexMs, 0),
    bytesOnDisk,
    bytesPerMemory: round(bytesOnDisk / size, 1),
    machineLoad: machineLoadOf(others),
    encode: lat(enc),
    text: textLat,
    exact: { search: exactSearch, query: exactQuery, hybrid: exactHybrid },
  };
  return { row, exact: { qv, top10: exactHits.map((h) => h.slice(0, 10)), hybridIds } };
}

/** Share of the exact top-10 that `b`'s index search returns, over all questions. */
async function recallAt10(t: Tools, b: MemoryBank, x: Exact): Promise<number> {
  let hit = 0;
  for (const [i, v] of x.qv.entries()) {
    const got = new Set((await t.search(b, v, 10)).map((h) => h.record.id));
    hit += x.top10[i].filter((h) => got.has(h.record.id)).length;
  }
  return round(hit / (10 * x.qv.length), 3);
}

/** (3) The bank's own background ANN build (the product path), queries timed while it runs, then the index timed. */
async function timeAnn(s: Setup, t: Tools, dir: string, size: number, x: Exact): Promise<NonNullable<RetrievalBenchRow['ann']>> {
  const { vi, candidates, questions } = s;
  const cols = s.embedder ? ['emb' as const, ...(s.fusion.key > 0 ? (['key'] as const) : [])] : ['key' as const];
  const ti = now();
  const ib = await MemoryBank.open(dir, s.meta, { vectorIndex: { ...vi, minRows: s.indexMin, columns: cols } });
  const during: number[] = [];
  for (let i = 0; ib.indexing; i++) {
    const tq = now();
    await t.search(ib, await s.encode(questions[i % questions.length]), candidates);
    during.push(now() - tq);
    await new Promise((res) => setTimeout(res, 20));
  }
  await ib.whenIndexed();
  const indexMs = now() - ti;
  const ix = await ib.vectorIndexes();
  if (ix.length === 0) throw new Error(`bench retrieval: no ANN index was built at ${size} rows`);
  const annSearch = await t.time((i) => t.search(ib, x.qv[i], candidates));
  const annQuery = await t.time(async (i) => t.search(ib, await s.encode(questions[i]), candidates));
  const annHybrid = await t.time((i) => t.hybridOf(ib, i));
  const annRecall = await recallAt10(t, ib, x);
  let agree = 0;
  for (const [i, v] of x.qv.entries()) {
    const hyb = new Set((await t.hybridOf(ib, i, v)).map((m) => m.record.id));
    agree += x.hybridIds[i].filter((m) => hyb.has(m.record.id)).length / Math.max(1, x.hybridIds[i].length);
  }
  ib.close();
  const efSweep: Array<{ ef: number; recallAt10: number; query: Lat }> = [];
  for (const ef of s.c.o.efSweep) {
    const sb = await MemoryBank.open(dir, s.meta, { vectorIndex: { ...vi, minRows: Infinity, columns: cols, ef } });
    efSweep.push({ ef, recallAt10: await recallAt10(t, sb, x), query: await t.time(async (i) => t.search(sb, await s.encode(questions[i]), candidates)) });
    sb.close();
  }
  const settings = vi.kind === 'ivf_pq' ? `nprobes ${vi.nprobes}, refineFactor ${vi.refineFactor}` : `nprobes ${vi.nprobes}, ef ${vi.ef}, refineFactor ${vi.refineFactor}`;
  return {
    kind: ix.map((y) => `${y.column}:${y.indexType}`).join(', '),
    settings: `${settings}; ${Math.max(1, Math.round(size / vi.rowsPerPartition))} partition(s)`,
    indexMs: round(indexMs, 0),
    duringBuild: { queries: during.length, ...lat(during.length ? during : [0]) },
    search: annSearch,
    query: annQuery,
    hybrid: annHybrid,
    recallAt10: annRecall,
    hybridAgreement: round(agree / x.qv.length, 3),
    bytesOnDisk: await dirSize(path.join(dir, `${s.name}.lance`)),
    ...(efSweep.length ? { efSweep } : {}),
  };
}

/** One bank size: write, exact, and from indexMin rows the ANN index. */
async function benchSize(s: Setup, size: number): Promise<RetrievalBenchRow> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'cmt-bench-bank-'));
  try {
    const buildMs = await writeTable(s, dir, size);
    const t = toolsOf(s);
    const { row, exact } = await timeExact(s, t, dir, size, buildMs);
    if (size >= s.indexMin) row.ann = await timeAnn(s, t, dir, size, exact);
    s.c.log(
      `[bench] retrieval ${size} (${row.realVectors} real): embed p50 ${row.encode.p50} ms; exact embed+search p50 ${row.exact.query.p50} ms, hybrid ${row.exact.hybrid.p50} ms` +
        (row.ann ? `; ANN embed+search p50 ${row.ann.query.p50} ms, hybrid ${row.ann.hybrid.p50} ms, recall@10 ${row.ann.recallAt10}, build ${(row.ann.indexMs / 1000).toFixed(1)} s` : ''),
    );
    return row;
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

export async function benchRetrieval(c: BenchContext, vectorIndex: Partial<VectorIndexOptions> | undefined): Promise<RetrievalBench> {
  const s = await setupOf(c, vectorIndex);
  const { embedder, R, fusion, memoryBytes, notes, real } = s;
  const k = c.pack.manifest.cmt.memorySlots;
  const rows: RetrievalBenchRow[] = [];
  for (const size of c.o.retrievalSizes) rows.push(await benchSize(s, size));
  if (embedder && c.o.retrievalSizes.some((x) => x > R)) notes.push(`rows beyond the first ${R} carry DERIVED vectors (not embeddings of any text): normalize(a·e_i + (1−a)·e_j + N(0, 0.01²) per dimension), a ∈ [0.5, 0.9], e_i, e_j real; their text is the two texts joined`);
  if (embedder) notes.push(`key column: random unit vectors (the pack's key weight is ${fusion.key}; ${fusion.key > 0 ? 'searched by hybrid' : 'not searched by hybrid match()'})`);
  if (memoryBytes !== 4 * k * s.d) notes.push(`memory column: ${memoryBytes}-byte placeholders instead of the real ${4 * k * s.d} bytes (k x d float32) per row, to keep the bank on disk small; searches read it only for the hits returned`);
  return {
    column: embedder ? 'emb' : 'key',
    encoder: embedder ? `${embedder.spec.name} (pack embedder, ${c.device})` : 'pack compressor (question key)',
    queries: c.o.retrievalQueries,
    queryText: 'real questions: workspace-test and squad-notre-dame-test, alternating',
    topK: s.topK,
    candidates: s.candidates,
    indexMin: s.indexMin,
    fusion,
    real: real
      ? { cacheDir: path.relative(c.repoRoot, real.dir) || real.dir, cached: R, addedThisRun: real.added, textsPerSecond: real.textsPerSecond === null ? null : round(real.textsPerSecond, 1), embedSeconds: round(real.embedSeconds, 1), pool: real.pool, source: 'sentences of markdown/rst/txt files, Python docstrings and JSDoc comments under node_modules and .venv site-packages (60-300 characters)' }
      : null,
    derivation: embedder ? 'normalize(a·e_i + (1−a)·e_j + 0.01·N(0, I)), a ∈ [0.5, 0.9]' : 'synthetic clusters',
    memoryBytes,
    rows,
    notes,
  };
}

// `cmt bench --sections retrieval`: question-to-memories latency at 10K-1M memories, exact and
// with the bank's ANN index (bank.ts VectorIndexOptions), on REAL sentence embeddings where the
// machine can afford them (realvectors.ts: documentation text found on this machine, embedded by
// the pack's MiniLM and cached), extended with DERIVED vectors (mixtures of two real embeddings
// plus noise) beyond that; every row says how many of each. Queries are real questions
// (workspace-test and SQuAD test splits), embedded at query time, and the timings include that
// embedding. Recall@10 of the index is measured against exact search on the same query vectors.
// A pack without an embedder is measured on its `key` column instead (clustered synthetic keys,
// the question's key from the compressor at query time). The measurement is retrievalRun.ts.
import type { VectorIndexOptions } from '../core/bank';
import type { FusionWeights } from '../core/match';
import { defined, type OptionSpecs } from '../measure/options';
import { round } from '../measure/stats';
import { lineChart, mdTable } from '../measure/svg';
import type { BenchOptions, BenchSection } from './types';

export const RETRIEVAL_OPTIONS = {
  retrievalSizes: { flags: '--sizes <list>', description: 'retrieval bank sizes (e.g. 1000,10000,100000,1000000)', kind: 'numbers', default: [10_000, 100_000, 1_000_000], quick: [300, 1000] },
  retrievalQueries: { flags: '--queries <n>', description: 'retrieval queries per size', kind: 'number', default: 50, quick: 10 },
  indexMin: { flags: '--index-min <n>', description: "retrieval: smallest bank that gets the ANN index (default: the bank's 20000)", kind: 'number', quick: 1000 },
  realBudgetS: { flags: '--real-budget <s>', description: 'retrieval: seconds to spend embedding more real text windows into the cache', kind: 'number', default: 0, quick: 60 },
  realWant: { flags: '--real-want <n>', description: 'retrieval: real embeddings wanted in the cache (default 100000)', kind: 'number', default: 100_000, quick: 1500 },
  realCache: { flags: '--real-cache <dir>', description: 'retrieval: cache of real embeddings (default .cache/bench-embeddings)', kind: 'string' },
  memoryBytes: { flags: '--memory-bytes <n>', description: "retrieval: bytes of the memory column per row (default the pack's k x d float32)", kind: 'number' },
  annKind: { flags: '--ann-kind <kind>', description: 'retrieval: ivf_hnsw_sq (default) or ivf_pq', kind: 'string' },
  nprobes: { flags: '--nprobes <n>', description: 'retrieval: IVF partitions probed', kind: 'number' },
  ef: { flags: '--ef <n>', description: 'retrieval: HNSW candidates', kind: 'number' },
  refineFactor: { flags: '--refine-factor <n>', description: 'retrieval: exact re-rank factor', kind: 'number' },
  efSweep: { flags: '--ef-sweep <list>', description: 'retrieval: also measure the index with these HNSW ef values', kind: 'numbers', default: [] },
} satisfies OptionSpecs;

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

function isAnnKind(k: string): k is VectorIndexOptions['kind'] {
  return k === 'ivf_hnsw_sq' || k === 'ivf_pq';
}

/** --ann-kind, --nprobes, --ef, --refine-factor: the ANN settings that override the bank's (undefined: none given). */
export function vectorIndexOf(o: Pick<BenchOptions, 'annKind' | 'nprobes' | 'ef' | 'refineFactor'>): Partial<VectorIndexOptions> | undefined {
  if (o.annKind !== undefined && !isAnnKind(o.annKind)) throw new Error(`unknown --ann-kind ${o.annKind}; ivf_hnsw_sq or ivf_pq`);
  const v = defined({ kind: o.annKind, nprobes: o.nprobes, ef: o.ef, refineFactor: o.refineFactor });
  return Object.keys(v).length ? v : undefined;
}

function retrievalMarkdown(x: RetrievalBench): string {
  const out: string[] = [];
  const lp = (l: { p50: number; p95: number }) => `${l.p50} / ${l.p95}`;
  out.push(`## Retrieval: question -> memories (${x.queries} ${x.queryText}; encoder ${x.encoder}; column \`${x.column}\`)\n`);
  if (x.real) {
    out.push(
      `Vectors: ${x.real.cached} REAL embeddings (${x.real.source}; cached in \`${x.real.cacheDir}\`, ${x.real.addedThisRun} embedded in this run${x.real.textsPerSecond ? ` at ${x.real.textsPerSecond} texts/s` : ''}); rows beyond them carry DERIVED vectors: ${x.derivation}. ` +
        `Timings include embedding the question (p50 / p95 ms). Search = top-${x.candidates} of the ${x.column} column; hybrid = match() top-${x.topK} with the pack's fusion (key ${x.fusion.key}, emb ${x.fusion.emb}, text ${x.fusion.text}, k ${x.fusion.rrfK}, BM25 gate ${x.fusion.textGate || 'off'}).\n`,
    );
  }
  out.push(
    mdTable(
      ['memories', 'real / derived vectors', 'embed ms', 'BM25 search', 'exact: search', 'exact: embed + search', 'exact: embed + hybrid', 'ANN: embed + search', 'ANN: embed + hybrid', 'ANN recall@10', 'hybrid top-K agreement', 'index build s (queries meanwhile, p50 ms)', 'bytes/memory', 'other processes (cores)'],
      x.rows.map((y) => [
        y.memories,
        `${y.realVectors} / ${y.derivedVectors}`,
        lp(y.encode),
        lp(y.text),
        lp(y.exact.search),
        lp(y.exact.query),
        lp(y.exact.hybrid),
        y.ann ? lp(y.ann.query) : '–',
        y.ann ? lp(y.ann.hybrid) : '–',
        y.ann ? y.ann.recallAt10 : '–',
        y.ann ? y.ann.hybridAgreement : '–',
        y.ann ? `${round(y.ann.indexMs / 1000, 1)} (${y.ann.duringBuild.queries} q, ${y.ann.duringBuild.p50})` : '–',
        y.bytesPerMemory,
        y.machineLoad.otherProcessesCores ?? '?',
      ]),
    ),
  );
  const ann = x.rows.find((y) => y.ann)?.ann;
  if (ann) out.push(`\nANN: ${ann.kind} (${ann.settings}), built by the bank in the background from ${x.indexMin} rows.`);
  const sweeps = x.rows.filter((y) => y.ann?.efSweep?.length);
  if (sweeps.length) {
    out.push('\nThe same index with other HNSW ef values (recall@10 vs exact; embed + search p50 / p95 ms):\n');
    out.push(mdTable(['memories', ...sweeps[0].ann!.efSweep!.map((e) => `ef ${e.ef}`)], sweeps.map((y) => [y.memories, ...y.ann!.efSweep!.map((e) => `${e.recallAt10} (${lp(e.query)})`)])));
  }
  if (x.notes.length) out.push('\n' + x.notes.map((n) => `- ${n}`).join('\n'));
  return out.join('\n') + '\n';
}

function retrievalChart(x: RetrievalBench, packName: string): string {
  const rows = x.rows;
  const pts = (f: (y: (typeof rows)[number]) => number | undefined) => rows.filter((y) => f(y) !== undefined).map((y) => [Math.log10(y.memories), f(y)!] as [number, number]);
  const series = [
    { name: 'embed + exact search p50', points: pts((y) => y.exact.query.p50) },
    { name: 'embed + exact hybrid p50', points: pts((y) => y.exact.hybrid.p50) },
    { name: 'embed + ANN search p50', points: pts((y) => y.ann?.query.p50) },
    { name: 'embed + ANN hybrid p50', points: pts((y) => y.ann?.hybrid.p50) },
  ].filter((s) => s.points.length > 0);
  return lineChart({ title: `Question -> memories latency vs bank size (${packName})`, xLabel: 'log10(memories)', yLabel: 'ms', series });
}

export const retrievalSection: BenchSection = {
  name: 'retrieval',
  options: RETRIEVAL_OPTIONS,
  check: (o) => void vectorIndexOf(o),
  async run(c, r) {
    const { benchRetrieval } = await import('./retrievalRun');
    r.retrieval = await benchRetrieval(c, vectorIndexOf(c.o));
  },
  markdown: (r) => (r.retrieval ? retrievalMarkdown(r.retrieval) : ''),
  charts: (r, tag) => (r.retrieval && r.retrieval.rows.length ? { [`${tag}-retrieval.svg`]: retrievalChart(r.retrieval, r.pack.name) } : {}),
};

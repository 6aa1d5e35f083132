// `cmt bench`: speed of the engine on this machine. Sections:
//  compress  - compression throughput (tokens/s), FLOPs/token of the compressor (from pack.json
//              dims), and the ratio to the peak GFLOP/s of a large MatMul in onnxruntime (same run)
//  answer    - time to first token and decode tokens/s, CMT vs RAG-in-context, same base model
//  retrieval - question embedding + vector / hybrid search latency p50/p95 at 10K..1M memories on
//              real (cached) MiniLM embeddings extended by derived ones, exact and with the bank's
//              ANN index (from indexMin rows; recall@10 vs exact), bank bytes on disk (retrieval.ts)
//  memorize  - a synthetic N-file repository memorized by a forked engine process: wall time,
//              peak RSS of that process, event-loop lag p99 of the caller
//  memory    - peak resident memory of a forked engine process: memorizing a project, answering
//              questions, both in one process (memory.ts)
//  search    - search_memory latency through the MCP server on a 10K-memory bank (search.ts,
//              scripts/bench-search.mjs)
//  decode    - decode speed of decoder.onnx through the engine's decode path (ORT, CPU) side by side
//              with llama.cpp (node-llama-cpp) on the pack's GGUF: TTFT and tokens/s, same prompt
//              ids and threads, ratio ORT/llama.cpp (src/bench/llamacpp.ts)
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Compressor } from '../core/compress';
import { match } from '../core/match';
import { loadPack, Pack } from '../core/pack';
import type { PackManifest } from '../core/packManifest';
import { defaultThreads } from '../core/runtime';
import type { Device } from '../core/types';
import { loadDataset, questionsOf } from '../measure/dataset';
import { ScratchBank } from '../measure/scratchBank';
import { machineInfo, MachineInfo } from '../measure/machine';
import { dirSize } from '../measure/machine';
import { percentile, round } from '../measure/metrics';
import { barChart, lineChart, mdTable } from '../measure/svg';
import { benchDecode, DecodeBench } from './llamacpp';
import { measurePeakGflops, PeakResult } from './matmul';
import { benchMemory, MemoryBench, memoryMarkdown } from './memory';
import { benchSearch, SearchBench, searchMarkdown } from './search';
import { runWorker } from './worker';
import { benchRetrieval, RetrievalBench } from './retrieval';
import { benchEmbedderCost, EmbedderCostBench, embedderCostMarkdown } from './embedderCost';
import { benchChunkingCost, ChunkingCostBench, chunkingCostMarkdown } from './chunking';
import { writeSyntheticRepo } from './synth';
import type { VectorIndexOptions } from '../core/bank';

export type BenchSection = 'compress' | 'answer' | 'retrieval' | 'memorize' | 'memory' | 'search' | 'embedder' | 'decode' | 'chunking';
/** Every section; a run without --sections runs all but `chunking` and `search` (DEFAULT_SECTIONS). */
export const SECTIONS: BenchSection[] = ['compress', 'answer', 'retrieval', 'memorize', 'memory', 'search', 'embedder', 'decode', 'chunking'];
/** chunking needs the real projects fetched; search builds (and caches) a 10K-memory bank and runs the MCP server: both only on request. */
const DEFAULT_SECTIONS = SECTIONS.filter((s) => s !== 'chunking' && s !== 'search');

export interface BenchOptions {
  pack: string;
  sections?: BenchSection[];
  outDir?: string;
  tag?: string;
  quick?: boolean;
  device?: Device;
  /** chunking: the real projects memorized (default real-dev) and ABBA rounds (default 1). */
  chunkingDataset?: string;
  chunkingRepeats?: number;
  /** Documents compressed for the throughput figure (default 256). */
  compressDocs?: number;
  /** N of the N×N×N MatMul (default 1024). */
  matmulN?: number;
  answerDocs?: number;
  answerQuestions?: number;
  /** Tokens generated per answer for the decode-speed figure (stop tokens off). Default 32. */
  answerTokens?: number;
  retrievalSizes?: number[];
  retrievalQueries?: number;
  /** Sizes from this many rows get the bank's ANN index (default: the bank's minRows, 50,000). */
  indexMin?: number;
  /** ANN kind and search settings (default: the bank's). */
  vectorIndex?: Partial<VectorIndexOptions>;
  /** Seconds this run may spend embedding more real texts into the cache (default 0). */
  realBudgetS?: number;
  /** Real embeddings wanted in the cache (default 100,000). */
  realWant?: number;
  /** Cache of real embeddings (default <repo>/.cache/bench-embeddings). */
  realCache?: string;
  /** Bytes of the memory column per bench row (default the pack's k x d float32). */
  memoryBytes?: number;
  /** Retrieval: also measure the ANN index with these HNSW ef values. */
  efSweep?: number[];
  memorizeFiles?: number;
  /** embedder section: datasets memorized with and without the embedder (default workspace-test, squad-notre-dame-test). */
  embedderDatasets?: string[];
  /** embedder section: ABBA rounds (default 2). */
  embedderRepeats?: number;
  /** embedder section: documents per dataset (default all). */
  embedderDocs?: number;
  /** decode section: GGUF for llama.cpp (default: pack.json baseModel.source.file under <repo>/.venv site-packages). */
  gguf?: string;
  /** decode section: threads of both engines (default 2). */
  decodeThreads?: number;
  /** decode section: prompt lengths in tokens (default 100,500). */
  decodePrompts?: number[];
  /** decode section: tokens decoded after the first (default 64). */
  decodeTokens?: number;
  /** decode section: timed repeats, medians reported (default 5). */
  decodeRepeats?: number;
  repoRoot?: string;
  command?: string;
  log?: (m: string) => void;
  write?: boolean;
}

export interface CompressBench {
  documents: number;
  tokens: number;
  avgTokens: number;
  wallMs: number;
  tokensPerSecond: number;
  flopsPerToken: number;
  flopsSource: string;
  flopsDetail: Record<string, number>;
  achievedGflops: number;
  peak: PeakResult;
  fractionOfPeak: number;
  threads: number;
}

export interface AnswerBenchRow {
  variant: 'cmt' | 'cmt_alpha0' | 'rag_in_context';
  questions: number;
  promptTokens: { mean: number; max: number };
  prefixSlots: number;
  ttftMs: { p50: number; p95: number };
  decodeTokensPerSecond: { p50: number; mean: number };
  generatedTokens: number;
}

export interface MemorizeBench {
  files: number;
  sourceBytes: number;
  sourceTokens: number;
  wallMs: number;
  filesPerSecond: number;
  tokensPerSecond: number;
  memorized: number;
  skipped: number;
  failed: number;
  chunks: number;
  bankBytes: number;
  bankBytesPerMemory: number;
  bankBytesPerSourceToken: number;
  /** After LanceDB compaction (optimize, old versions dropped). */
  bankBytesCompacted: number;
  compactedBytesPerMemory: number;
  compactedBytesPerSourceToken: number;
  engineMaxRssMiB: number;
  callerEventLoopLagMs: { p50: number; p99: number; max: number };
}

export interface BenchReport {
  kind: 'cmt-bench';
  date: string;
  command: string;
  machine: MachineInfo;
  pack: { dir: string; packId: string; name: string; dims: Record<string, number> };
  compress?: CompressBench;
  answer?: { docs: number; answerTokens: number; rows: AnswerBenchRow[] };
  retrieval?: RetrievalBench;
  memorize?: MemorizeBench;
  memory?: MemoryBench;
  search?: SearchBench;
  embedder?: EmbedderCostBench;
  chunking?: ChunkingCostBench;
  decode?: DecodeBench;
  files: string[];
  wallMs: number;
}

const QUICK: Partial<BenchOptions> = {
  compressDocs: 16,
  matmulN: 256,
  answerDocs: 6,
  answerQuestions: 3,
  answerTokens: 4,
  retrievalSizes: [300, 1000],
  retrievalQueries: 10,
  indexMin: 1000,
  realWant: 1500,
  realBudgetS: 60,
  memorizeFiles: 40,
  embedderRepeats: 1,
  embedderDocs: 24,
  decodeTokens: 16,
  decodeRepeats: 2,
};

const now = () => performance.now();
const pq = (xs: number[]) => ({ p50: round(percentile(xs, 50), 2), p95: round(percentile(xs, 95), 2) });

// ---------------------------------------------------------------------------------------------
// compress

/** FLOPs per input token of compressor.onnx, counted from pack.json dims (2 FLOPs per multiply-add). */
export function compressorFlopsPerToken(m: PackManifest, avgTokens: number): { flopsPerToken: number; detail: Record<string, number> } {
  const bm = m.baseModel;
  const cc = ((m.cmt as unknown as Record<string, unknown>).compressor ?? {}) as { layers?: number; loraRank?: number };
  const hp = (m.training?.hyperparameters ?? {}) as Record<string, number>;
  const L = cc.layers ?? hp.compressor_layers ?? bm.numLayers;
  const r = cc.loraRank ?? hp.lora_rank ?? 0;
  const slotHidden = hp.slot_hidden ?? 0;
  const h = bm.hiddenSize;
  const H = bm.numHeads;
  const Hkv = bm.numKvHeads;
  const D = bm.headDim;
  const I = bm.intermediateSize;
  const k = m.cmt.memorySlots;
  const d = m.cmt.memoryDim;
  const S = avgTokens + k; // text tokens + k appended memory tokens
  const linear = h * H * D + 2 * h * Hkv * D + H * D * h + 3 * h * I; // q,k,v,o + SwiGLU MLP (MACs per position)
  const lora = r * (h + H * D) + 2 * r * (h + Hkv * D) + r * (H * D + h);
  const attn = 2 * S * S * H * D; // QK^T and AV over the full S×S (the graph computes masked entries too)
  const slots = k * (h * slotHidden + slotHidden * d);
  const perSeq = 2 * (L * (S * (linear + lora) + attn) + slots);
  return {
    flopsPerToken: perSeq / avgTokens,
    detail: { layers: L, loraRank: r, seqWithSlots: round(S, 1), linearMacsPerPosition: linear, loraMacsPerPosition: lora, attentionMacsPerLayerPerSeq: round(attn, 0), slotMlpMacsPerSeq: slots },
  };
}

async function benchCompress(pack: Pack, o: BenchOptions, repoRoot: string, log: (m: string) => void): Promise<CompressBench> {
  const comp = await Compressor.create(pack, o.device ?? 'cpu');
  const texts: string[] = [];
  const pools = ['workspace-test', 'squad-notre-dame'].map((s) => loadDataset(s, repoRoot).documents.map((d) => d.text));
  // Concatenate real documents into inputs that fill the document budget (as chunks of a long file do).
  const budget = pack.manifest.cmt.maxDocTokens;
  const all = pools.flat();
  let acc = '';
  for (let i = 0; texts.length < (o.compressDocs ?? 256); i++) {
    acc += all[i % all.length] + '\n';
    if (comp.tokenize(acc).length >= budget) {
      texts.push(acc);
      acc = '';
    }
  }
  await comp.compress(texts.slice(0, 8)); // warm-up
  const t0 = now();
  const res = await comp.compress(texts, { batchSize: 8 });
  const wallMs = now() - t0;
  const tokens = res.reduce((a, r) => a + r.tokens, 0);
  const avg = tokens / res.length;
  const tps = tokens / (wallMs / 1000);
  log(`[bench] compress: ${res.length} inputs, ${tokens} tokens in ${(wallMs / 1000).toFixed(2)} s = ${tps.toFixed(0)} tokens/s; measuring MatMul peak`);
  const { flopsPerToken, detail } = compressorFlopsPerToken(pack.manifest, avg);
  const peak = await measurePeakGflops(o.matmulN ?? 1024, o.quick ? 3 : 8);
  const achieved = (flopsPerToken * tps) / 1e9;
  return {
    documents: res.length,
    tokens,
    avgTokens: round(avg, 1),
    wallMs: round(wallMs, 1),
    tokensPerSecond: round(tps, 1),
    flopsPerToken: round(flopsPerToken, 0),
    flopsSource: 'pack.json dims (baseModel + cmt.compressor.layers/loraRank + training.hyperparameters.slot_hidden); 2 FLOPs per multiply-add; attention over the full (tokens + k)² matrix; embedding gathers, norms and softmax not counted',
    flopsDetail: detail,
    achievedGflops: round(achieved, 2),
    peak: { ...peak, bestMs: round(peak.bestMs, 2), medianMs: round(peak.medianMs, 2), peakGflops: round(peak.peakGflops, 1), medianGflops: round(peak.medianGflops, 1) },
    fractionOfPeak: round(achieved / peak.peakGflops, 4),
    threads: defaultThreads(),
  };
}

// ---------------------------------------------------------------------------------------------
// answer

async function benchAnswer(pack: Pack, o: BenchOptions, repoRoot: string, log: (m: string) => void): Promise<BenchReport['answer']> {
  const ds = loadDataset('workspace-test', repoRoot);
  const docs = ds.documents.slice(0, o.answerDocs ?? 100);
  const qs = questionsOf(ds, docs, o.answerQuestions ?? 20);
  const N = Math.max(2, o.answerTokens ?? 32);
  const m = pack.manifest;
  const bank = await ScratchBank.open(pack.dir, o.device ?? 'cpu');
  const e = bank.engine;
  const rows: AnswerBenchRow[] = [];
  try {
    await bank.add(docs);
    const topK = m.defaults.topK;
    const ragBudget = m.baseModel.maxPositions - N - 1;
    // One timed pipeline: question -> compress -> match -> (aggregate | RAG prompt) -> generate `maxNew` tokens.
    const pipeline = async (variant: AnswerBenchRow['variant'], question: string, maxNew: number) => {
      const t0 = now();
      const q = await e.compressor.compressQuestion(question);
      const matched = await match(e.bank, { key: q.key, text: question }, { topK, hybrid: true });
      let ids: number[];
      let prefix = null;
      if (variant === 'rag_in_context') {
        ids = bank.ragPrompt(question, matched.map((x) => x.record), ragBudget);
      } else {
        prefix = await e.aggregator.aggregate(q.memory, matched.map((x) => x.record.memory));
        ids = e.decoder.buildPrompt(question);
      }
      const r = await e.decoder.generate(ids, {
        prefix,
        alpha: variant === 'cmt' ? m.defaults.alpha : 0,
        maxNewTokens: maxNew,
        numBeams: 1,
        stopTokenIds: [],
        stopStrings: [],
        stopOnLoop: false,
      });
      return { ms: now() - t0, promptTokens: ids.length, prefixSlots: prefix?.length ?? 0, generated: r.tokenIds.length };
    };
    for (const variant of ['cmt', 'cmt_alpha0', 'rag_in_context'] as const) {
      await pipeline(variant, qs[0].question, 2); // warm-up
      const ttft: number[] = [];
      const tps: number[] = [];
      const pt: number[] = [];
      let P = 0;
      let gen = 0;
      for (const qa of qs) {
        const a = await pipeline(variant, qa.question, 1);
        const b = await pipeline(variant, qa.question, N);
        ttft.push(a.ms);
        if (b.generated > 1 && b.ms > a.ms) tps.push((b.generated - 1) / ((b.ms - a.ms) / 1000));
        pt.push(b.promptTokens);
        P = b.prefixSlots;
        gen += b.generated;
      }
      rows.push({
        variant,
        questions: qs.length,
        promptTokens: { mean: round(pt.reduce((x, y) => x + y, 0) / pt.length, 1), max: Math.max(...pt) },
        prefixSlots: P,
        ttftMs: pq(ttft),
        decodeTokensPerSecond: { p50: round(percentile(tps, 50), 1), mean: round(tps.reduce((x, y) => x + y, 0) / Math.max(1, tps.length), 1) },
        generatedTokens: gen,
      });
      log(`[bench] answer ${variant}: TTFT p50 ${rows[rows.length - 1].ttftMs.p50} ms, ${rows[rows.length - 1].decodeTokensPerSecond.p50} tok/s, prompt ${rows[rows.length - 1].promptTokens.mean} tokens`);
    }
  } finally {
    await bank.close();
  }
  return { docs: docs.length, answerTokens: N, rows };
}

// ---------------------------------------------------------------------------------------------
// memorize

async function benchMemorize(pack: Pack, o: BenchOptions, log: (m: string) => void): Promise<MemorizeBench> {
  const files = o.memorizeFiles ?? 10000;
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'cmt-bench-repo-'));
  try {
    const root = path.join(dir, 'repo');
    const sourceBytes = await writeSyntheticRepo(root, files);
    // Source tokens, as the compressor counts them (template + bos), for bytes per source token.
    let sourceTokens = 0;
    const walk = async (p: string): Promise<void> => {
      for (const e of await fsp.readdir(p, { withFileTypes: true })) {
        const f = path.join(p, e.name);
        if (e.isDirectory()) await walk(f);
        else sourceTokens += pack.tokenizer.encode(await fsp.readFile(f, 'utf8')).length;
      }
    };
    await walk(root);
    log(`[bench] memorize: ${files} files (${(sourceBytes / 1e6).toFixed(1)} MB, ${sourceTokens} tokens) -> forked engine process`);
    const worker = path.join(__dirname, 'memorize-worker.js');
    const h = monitorEventLoopDelay({ resolution: 10 });
    h.enable();
    const result = await runWorker<Record<string, number>>(worker, [pack.dir, root, path.join(dir, 'bank'), o.device ?? 'cpu'], 'memorize worker', (msg) => {
      if (msg.type === 'progress') log(`[bench] memorize: ${msg.done}/${msg.total}`);
    });
    h.disable();
    const ms = (ns: number) => round(ns / 1e6, 2);
    return {
      files,
      sourceBytes,
      sourceTokens,
      wallMs: round(result.wallMs, 0),
      filesPerSecond: round(files / (result.wallMs / 1000), 1),
      tokensPerSecond: round(sourceTokens / (result.wallMs / 1000), 1),
      memorized: result.memorized,
      skipped: result.skipped,
      failed: result.failed,
      chunks: result.chunks,
      bankBytes: result.bankBytes,
      bankBytesPerMemory: round(result.bankBytes / Math.max(1, result.memories), 1),
      bankBytesPerSourceToken: round(result.bankBytes / Math.max(1, sourceTokens), 2),
      bankBytesCompacted: result.bankBytesCompacted,
      compactedBytesPerMemory: round(result.bankBytesCompacted / Math.max(1, result.memories), 1),
      compactedBytesPerSourceToken: round(result.bankBytesCompacted / Math.max(1, sourceTokens), 2),
      engineMaxRssMiB: round(result.maxRssBytes / 2 ** 20, 1),
      callerEventLoopLagMs: { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) },
    };
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

export async function runBench(opts: BenchOptions): Promise<BenchReport> {
  const t0 = Date.now();
  const o: BenchOptions = opts.quick ? ({ ...QUICK, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) } as BenchOptions) : opts;
  const log = o.log ?? ((m: string) => process.stderr.write(m + '\n'));
  const repoRoot = path.resolve(o.repoRoot ?? process.cwd());
  const outDir = path.resolve(repoRoot, o.outDir ?? 'docs/results');
  const tag = o.tag ?? (o.quick ? 'bench-quick' : 'bench');
  const pack = await loadPack(path.resolve(o.pack), { verifyHashes: false });
  const m = pack.manifest;
  const sections = new Set(o.sections ?? DEFAULT_SECTIONS);
  const rep: BenchReport = {
    kind: 'cmt-bench',
    date: new Date().toISOString(),
    command: o.command ?? '',
    machine: machineInfo(),
    pack: {
      dir: path.relative(repoRoot, pack.dir) || pack.dir,
      packId: m.packId,
      name: m.name,
      dims: {
        hiddenSize: m.baseModel.hiddenSize,
        numLayers: m.baseModel.numLayers,
        vocabSize: m.baseModel.vocabSize,
        maxPositions: m.baseModel.maxPositions,
        memorySlots: m.cmt.memorySlots,
        memoryDim: m.cmt.memoryDim,
        prefixTokens: m.cmt.prefixTokens,
        maxDocTokens: m.cmt.maxDocTokens,
        topK: m.defaults.topK,
      },
    },
    files: [],
    wallMs: 0,
  };
  if (sections.has('compress')) rep.compress = await benchCompress(pack, o, repoRoot, log);
  if (sections.has('answer')) rep.answer = await benchAnswer(pack, o, repoRoot, log);
  if (sections.has('retrieval')) {
    rep.retrieval = await benchRetrieval(
      pack,
      { sizes: o.retrievalSizes, queries: o.retrievalQueries, indexMin: o.indexMin, vectorIndex: o.vectorIndex, realBudgetS: o.realBudgetS, realWant: o.realWant, cacheDir: o.realCache, memoryBytes: o.memoryBytes, efSweep: o.efSweep, device: o.device, repoRoot },
      log,
    );
  }
  if (sections.has('memorize')) rep.memorize = await benchMemorize(pack, o, log);
  if (sections.has('memory')) rep.memory = await benchMemory(pack, { repoRoot, device: o.device, log });
  if (sections.has('search')) rep.search = await benchSearch(pack, { repoRoot, log });
  if (sections.has('embedder')) {
    rep.embedder = await benchEmbedderCost(pack, {
      datasets: o.embedderDatasets ?? ['workspace-test', 'squad-notre-dame-test'],
      repeats: o.embedderRepeats ?? 2,
      maxDocs: o.embedderDocs,
      device: o.device,
      repoRoot,
      log,
    });
  }
  if (sections.has('chunking')) rep.chunking = await benchChunkingCost(pack, { spec: o.chunkingDataset, repeats: o.chunkingRepeats, device: o.device, repoRoot, log });
  if (sections.has('decode')) {
    rep.decode = await benchDecode(pack, { gguf: o.gguf, threads: o.decodeThreads, promptTokens: o.decodePrompts, newTokens: o.decodeTokens, repeats: o.decodeRepeats, repoRoot, log });
  }
  rep.wallMs = Date.now() - t0;
  if (o.write !== false) await writeBench(rep, outDir, tag);
  return rep;
}

export function benchMarkdown(r: BenchReport): string {
  const out: string[] = [];
  out.push(`# CMT bench — pack \`${r.pack.name}\` (${r.pack.packId})\n`);
  out.push(`Command: \`${r.command}\`  \nDate: ${r.date}  \nMachine: ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memoryGiB} GiB, ${r.machine.gpu}; node ${r.machine.node}, onnxruntime-node ${r.machine.onnxruntime}\n`);
  if (r.compress) {
    const c = r.compress;
    out.push('## Compression throughput\n');
    out.push(
      mdTable(
        ['inputs', 'tokens (avg/input)', 'tokens/s', 'FLOPs/token', 'achieved GFLOP/s', `MatMul ${c.peak.n}³ peak GFLOP/s (${c.threads} threads)`, 'fraction of peak'],
        [[c.documents, `${c.tokens} (${c.avgTokens})`, c.tokensPerSecond, c.flopsPerToken, c.achievedGflops, c.peak.peakGflops, `${round(100 * c.fractionOfPeak, 2)}%`]],
      ),
    );
    out.push(`\nFLOPs/token: ${c.flopsSource}.\n`);
  }
  if (r.answer) {
    out.push(`## Answering: time to first token and decode speed (${r.answer.docs} documents in the bank, ${r.answer.answerTokens} tokens generated, greedy, stop tokens off)\n`);
    out.push(
      mdTable(
        ['variant', 'prompt tokens (mean / max)', 'memory prefix slots', 'TTFT p50 ms', 'TTFT p95 ms', 'decode tokens/s (p50)'],
        r.answer.rows.map((x) => [x.variant, `${x.promptTokens.mean} / ${x.promptTokens.max}`, x.prefixSlots, x.ttftMs.p50, x.ttftMs.p95, x.decodeTokensPerSecond.p50]),
      ),
    );
    out.push('\nTTFT = question compression + retrieval + (aggregation | RAG prompt building) + prefill + first token.\n');
  }
  if (r.retrieval) out.push(retrievalMarkdown(r.retrieval));
  if (r.memorize) {
    const y = r.memorize;
    out.push('## Memorizing a synthetic repository (forked engine process)\n');
    out.push(
      mdTable(
        ['files', 'source MB', 'source tokens', 'memories', 'wall s', 'files/s', 'tokens/s', 'engine peak RSS MiB', 'caller event-loop lag p99 ms', 'bank MB', 'bytes/memory', 'bytes/source token', 'compacted: bytes/memory', 'compacted: bytes/source token'],
        [[y.files, round(y.sourceBytes / 1e6, 2), y.sourceTokens, y.chunks, round(y.wallMs / 1000, 1), y.filesPerSecond, y.tokensPerSecond, y.engineMaxRssMiB, y.callerEventLoopLagMs.p99, round(y.bankBytes / 1e6, 1), y.bankBytesPerMemory, y.bankBytesPerSourceToken, y.compactedBytesPerMemory, y.compactedBytesPerSourceToken]],
      ),
    );
  }
  if (r.memory) out.push(memoryMarkdown(r.memory));
  if (r.search) out.push(searchMarkdown(r.search));
  if (r.embedder) out.push(embedderCostMarkdown(r.embedder));
  if (r.chunking) out.push(chunkingCostMarkdown(r.chunking));
  if (r.decode) {
    const d = r.decode;
    out.push(`## Decode speed: ONNX Runtime (engine decode path) vs llama.cpp on the same base model\n`);
    out.push(`${d.threads} threads each, batch 1, greedy, EOS ignored; TTFT = prefill + first token; decode tokens/s over the ${d.newTokens} tokens after the first; median of ${d.repeats} runs per engine (onnxruntime first, then llama.cpp loaded and measured: never both alive in the process), min–max in brackets. Prompt: ${d.prompt.tokenization}.\n`);
    const mm = (x: { p50: number; min: number; max: number }) => `${x.p50} (${x.min}–${x.max})`;
    out.push(
      mdTable(
        ['engine', 'prompt tokens', 'TTFT ms', 'decode tokens/s'],
        d.rows.map((x) => [x.engine, x.promptTokens, mm(x.ttftMs), mm(x.decodeTokensPerSecond)]),
      ),
    );
    if (d.ratios.length) {
      out.push(`\nSpeed ratio ORT / llama.cpp (1 = parity, higher = ORT faster; goal ≥ ${d.goal}): TTFT ratio = llama.cpp TTFT / ORT TTFT, decode ratio = ORT tok/s / llama.cpp tok/s.\n`);
      out.push(mdTable(['prompt tokens', 'TTFT ratio', 'decode ratio', `both ≥ ${d.goal}`], d.ratios.map((x) => [x.promptTokens, x.ttft, x.decode, x.meetsGoal === null ? 'n/a (different models)' : x.meetsGoal ? 'yes' : 'no'])));
    }
    const lc = d.llamacpp;
    const info: string[] = [];
    info.push(`ONNX Runtime: \`${d.onnxruntime.decoder}\` (${round(d.onnxruntime.decoderBytes / 1e6, 1)} MB), ${d.onnxruntime.provider} execution provider, Decoder.generate (src/core/decode.ts)`);
    if (lc.available) {
      info.push(`llama.cpp: node-llama-cpp ${lc.nodeLlamaCpp} (${lc.llamaCppRelease}, ${lc.binary}), GGUF \`${lc.gguf}\` (${round((lc.ggufBytes ?? 0) / 1e6, 1)} MB, sha256 ${lc.sha256}${lc.sha256Match === undefined ? '' : lc.sha256Match ? ', matches pack.json' : ', DIFFERS from pack.json'}; from ${lc.ggufFrom})`);
    } else {
      info.push(`llama.cpp: **not measured** — ${lc.reason}`);
    }
    info.push(`machine load while measuring: other processes ${d.machineLoad.otherProcessesCores ?? '?'} of ${d.machineLoad.cores} cores, 1-min load average ${d.machineLoad.loadAverage1m}`);
    out.push('\n' + [...info, ...d.notes].map((n) => `- ${n}`).join('\n') + '\n');
  }
  return out.join('\n') + '\n';
}

export async function writeBench(r: BenchReport, outDir: string, tag: string): Promise<void> {
  await fsp.mkdir(outDir, { recursive: true });
  const files: Record<string, string> = {};
  if (r.retrieval && r.retrieval.rows.length) {
    const rows = r.retrieval.rows;
    const pts = (f: (y: (typeof rows)[number]) => number | undefined) => rows.filter((y) => f(y) !== undefined).map((y) => [Math.log10(y.memories), f(y)!] as [number, number]);
    const series = [
      { name: 'embed + exact search p50', points: pts((y) => y.exact.query.p50) },
      { name: 'embed + exact hybrid p50', points: pts((y) => y.exact.hybrid.p50) },
      { name: 'embed + ANN search p50', points: pts((y) => y.ann?.query.p50) },
      { name: 'embed + ANN hybrid p50', points: pts((y) => y.ann?.hybrid.p50) },
    ].filter((x) => x.points.length > 0);
    files[`${tag}-retrieval.svg`] = lineChart({ title: `Question -> memories latency vs bank size (${r.pack.name})`, xLabel: 'log10(memories)', yLabel: 'ms', series });
  }
  if (r.answer) {
    files[`${tag}-ttft.svg`] = barChart({ title: `Time to first token, p50 (${r.pack.name})`, xLabel: 'ms', bars: r.answer.rows.map((x) => ({ label: `${x.variant} (${x.promptTokens.mean} prompt tok)`, value: x.ttftMs.p50 })) });
  }
  if (r.decode && r.decode.rows.length) {
    files[`${tag}-decode.svg`] = barChart({
      title: `Decode tokens/s, ${r.decode.threads} threads: ONNX Runtime vs llama.cpp (${r.pack.name})`,
      xLabel: 'tokens/s',
      bars: r.decode.rows.map((x) => ({ label: `${x.engine}, ${x.promptTokens}-token prompt`, value: x.decodeTokensPerSecond.p50 })),
    });
  }
  r.files = [`${tag}.json`, `${tag}.md`, ...Object.keys(files)].map((f) => path.join(path.basename(outDir), f));
  files[`${tag}.md`] = benchMarkdown(r);
  files[`${tag}.json`] = JSON.stringify(r, null, 1) + '\n';
  for (const [f, text] of Object.entries(files)) await fsp.writeFile(path.join(outDir, f), text);
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

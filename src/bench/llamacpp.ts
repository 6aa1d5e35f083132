// `cmt bench --sections decode`: decode speed of the pack's decoder.onnx through the engine's own
// decode path (Decoder.generate on an ONNX Runtime CPU session) side by side with llama.cpp
// (node-llama-cpp, a bench-only devDependency pinned at 3.21.1, CPU prebuilt binary) on the very
// GGUF the pack was built from - what a user would run instead.
//
// Both engines: same prompt token ids (or, when the vocabularies differ, the same text tokenized by
// each engine's own tokenizer, cut to the same length), same thread count, batch 1, greedy, EOS
// ignored. Per prompt length: time to first token (prefill + first token) and decode tokens/s over
// `newTokens` tokens after the first one. onnxruntime is measured first, then llama.cpp is loaded and
// measured (never both alive: llama.cpp's idle worker threads slow onnxruntime); medians are reported.
//
// node-llama-cpp is loaded with gpu:false, build:"never", skipDownload:true: it uses the
// @node-llama-cpp/linux-x64 prebuilt binary or fails (then the llama.cpp side is reported as
// unavailable with the reason); it never downloads or compiles llama.cpp.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Decoder } from '../core/decode';
import { Pack } from '../core/pack';
import { createSession, ort } from '../core/runtime';
import { loadDataset } from '../measure/dataset';
import { machineBusySeconds, ownCpuSeconds } from '../measure/machine';
import { now, round, spread } from '../measure/stats';

export interface DecodeBenchOptions {
  /** GGUF file for llama.cpp; default: baseModel.source.file of pack.json under <repo>/.venv site-packages. */
  gguf?: string;
  /** Threads for both engines (ORT intra-op, llama.cpp threads). Default 2. */
  threads?: number;
  /** Prompt lengths in tokens (capped to the pack's maxPositions - newTokens - 1). Default [100, 500]. */
  promptTokens?: number[];
  /** Tokens decoded after the first one (decode tokens/s). Default 64. */
  newTokens?: number;
  /** Timed repeats per engine and prompt (medians reported). Default 5. */
  repeats?: number;
  repoRoot: string;
  log: (m: string) => void;
}

export interface DecodeEngineRow {
  engine: 'onnxruntime' | 'llama.cpp';
  promptTokens: number;
  newTokens: number;
  repeats: number;
  ttftMs: { p50: number; min: number; max: number };
  decodeTokensPerSecond: { p50: number; min: number; max: number };
}

export interface DecodeRatioRow {
  promptTokens: number;
  /** ORT speed / llama.cpp speed for time to first token: llama.cpp TTFT / ORT TTFT (1 = parity, higher = ORT faster). */
  ttft: number;
  /** ORT decode tokens/s / llama.cpp decode tokens/s. */
  decode: number;
  /** Both ratios >= goal; null when the GGUF is not the pack's base model (ratio not meaningful). */
  meetsGoal: boolean | null;
}

export interface DecodeBench {
  threads: number;
  newTokens: number;
  repeats: number;
  goal: number;
  prompt: { source: string; tokenization: string; tokenizerAgreement?: number };
  onnxruntime: { decoder: string; decoderBytes: number; provider: string; loadMs: number; version: string };
  llamacpp: {
    available: boolean;
    reason?: string;
    gguf?: string;
    ggufFrom?: string;
    ggufBytes?: number;
    sha256?: string;
    expectedSha256?: string;
    sha256Match?: boolean;
    nodeLlamaCpp?: string;
    llamaCppRelease?: string;
    binary?: string;
    vocabSize?: number;
    loadMs?: number;
  };
  rows: DecodeEngineRow[];
  ratios: DecodeRatioRow[];
  /**
   * CPU used by OTHER processes during the timed runs, in cores (Linux /proc/stat minus this
   * process's own CPU time; null elsewhere), and the 1-minute load average at the end. A busy
   * machine skews both engines, llama.cpp most (its threads spin-wait on each other).
   */
  machineLoad: { otherProcessesCores: number | null; loadAverage1m: number; cores: number };
  notes: string[];
}

// ---------------------------------------------------------------------------------------------
// Minimal structural types of the node-llama-cpp API used here (it is an optional devDependency:
// the build must not need its type declarations).

interface NlcSequence {
  clearHistory(): Promise<void>;
  evaluate(tokens: number[], opts: { temperature: number; yieldEogToken: boolean }): AsyncGenerator<number>;
}
interface NlcContext {
  getSequence(): NlcSequence;
  dispose(): Promise<void>;
}
interface NlcModel {
  tokenize(text: string): number[];
  fileInfo: { metadata?: { tokenizer?: { ggml?: { tokens?: unknown[] } } } };
  createContext(o: { contextSize: number; batchSize: number; threads: { ideal: number; min: number }; sequences: number }): Promise<NlcContext>;
  dispose(): Promise<void>;
}
interface NlcLlama {
  gpu: unknown;
  buildType: string;
  llamaCppRelease: { repo: string; release: string };
  loadModel(o: { modelPath: string; gpuLayers: number }): Promise<NlcModel>;
  dispose(): Promise<void>;
}
interface NlcModule {
  getLlama(o: Record<string, unknown>): Promise<NlcLlama>;
  LlamaLogLevel: Record<string, string>;
}

// TypeScript compiles import() to require() under "module": "commonjs"; node-llama-cpp is ESM-only.
const importEsm = new Function('s', 'return import(s)') as (s: string) => Promise<unknown>;

function nodeLlamaCppVersion(): string | undefined {
  try {
    let dir = path.dirname(require.resolve('node-llama-cpp'));
    for (let i = 0; i < 4; i++, dir = path.dirname(dir)) {
      const pj = path.join(dir, 'package.json');
      if (fs.existsSync(pj)) {
        const j = JSON.parse(fs.readFileSync(pj, 'utf8')) as { name?: string; version?: string };
        if (j.name === 'node-llama-cpp') return j.version;
      }
    }
  } catch {
    /* not installed */
  }
  return undefined;
}

/** Where the default GGUF lives: pack.json baseModel.source.file under a .venv's site-packages. */
export function findPackGguf(pack: Pack, roots: string[]): { path?: string; expectedSha256?: string; reason?: string; from?: string } {
  const src = (pack.manifest.baseModel as unknown as { source?: { package?: string; version?: string; file?: string; sha256?: string } }).source;
  if (!src?.file) return { reason: 'pack.json has no baseModel.source.file (pass --gguf <path>)' };
  const tried: string[] = [];
  const venvs = [...new Set([...roots.map((r) => path.join(path.resolve(r), '.venv')), ...(process.env.VIRTUAL_ENV ? [process.env.VIRTUAL_ENV] : [])])];
  for (const venv of venvs) {
    for (const lib of ['lib', 'lib64']) {
      const libDir = path.join(venv, lib);
      let pys: string[] = [];
      try {
        pys = fs.readdirSync(libDir).filter((d) => /^python3/.test(d)).sort();
      } catch {
        continue;
      }
      for (const py of pys) {
        const p = path.join(libDir, py, 'site-packages', src.file);
        tried.push(p);
        if (fs.existsSync(p)) return { path: p, expectedSha256: src.sha256, from: `pack.json baseModel.source (${src.package ?? '?'}==${src.version ?? '?'})` };
      }
    }
  }
  return {
    expectedSha256: src.sha256,
    reason: `GGUF ${src.file} (pip package ${src.package ?? '?'}==${src.version ?? '?'}) not found under ${venvs.map((v) => path.join(v, 'lib/python3*/site-packages')).join(' or ')}` + ' (run the setup script, or pass --gguf <path>)',
  };
}

async function sha256File(p: string): Promise<string> {
  const h = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(p)) h.update(chunk as Buffer);
  return h.digest('hex');
}


/** One timed run of an engine: ms to the first token, and tokens/s over the `newTokens` tokens after it. */
interface Timing {
  ttftMs: number;
  tokensPerSecond: number;
}

function timingOf(t0: number, stamps: number[], newTokens: number, engine: string): Timing {
  if (stamps.length < newTokens + 1) throw new Error(`${engine} produced ${stamps.length} tokens, expected ${newTokens + 1}`);
  return { ttftMs: stamps[0] - t0, tokensPerSecond: newTokens / ((stamps[newTokens] - stamps[0]) / 1000) };
}

export async function benchDecode(pack: Pack, o: DecodeBenchOptions): Promise<DecodeBench> {
  const log = o.log;
  const m = pack.manifest;
  const threads = o.threads ?? 2;
  const N = Math.max(2, o.newTokens ?? 64);
  const repeats = Math.max(1, o.repeats ?? 5);
  const maxPrompt = m.baseModel.maxPositions - N - 1;
  const notes: string[] = [];
  const lens = [...new Set((o.promptTokens ?? [100, 500]).map((n) => Math.max(1, Math.min(n, maxPrompt))))];
  if (lens.some((n, i) => n !== (o.promptTokens ?? [100, 500])[i])) {
    notes.push(`prompt lengths capped to maxPositions (${m.baseModel.maxPositions}) - ${N} new tokens - 1 = ${maxPrompt} for this pack`);
  }

  // Prompt text: real documents (the synthetic workspace-QA test split), concatenated.
  const docs = loadDataset('workspace-test', o.repoRoot).documents.map((d) => d.text);
  const need = Math.max(...lens) + 8;
  let text = '';
  for (let i = 0; pack.tokenizer.encode(text).length < need + (m.prompt.addBos ? 1 : 0); i++) {
    text += docs[i % docs.length] + '\n\n';
    if (i > 100000) throw new Error('cannot build a long enough prompt');
  }
  const bos = m.prompt.addBos ? [m.specialTokens.bos] : [];
  const ortIds = [...bos, ...pack.tokenizer.encode(text)];

  // -- ONNX Runtime, through the engine's decode path ------------------------------------------------
  const tl = now();
  const { session, report } = await createSession(pack.graphPath('decoder'), 'cpu', { intraOpNumThreads: threads });
  let stamps: number[] = [];
  const timed = {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    run: async (feeds: Record<string, ort.Tensor>) => {
      const out = await session.run(feeds);
      stamps.push(now());
      return out;
    },
  } as unknown as ort.InferenceSession;
  const decoder = new Decoder(pack, timed, report);
  const ortLoadMs = now() - tl;
  const ortRun = async (ids: number[], newTokens: number): Promise<Timing> => {
    stamps = [];
    const t0 = now();
    const r = await decoder.generate(ids, { maxNewTokens: newTokens + 1, numBeams: 1, stopTokenIds: [], stopStrings: [], alpha: 0, prefix: null, stopOnLoop: false });
    if (r.tokenIds.length !== newTokens + 1) throw new Error(`onnxruntime generated ${r.tokenIds.length} tokens, expected ${newTokens + 1}`);
    return timingOf(t0, stamps, newTokens, 'onnxruntime');
  };

  // -- measure onnxruntime first, alone: once llama.cpp is loaded its worker threads slow onnxruntime
  // in the same process (100-token prompt: 61.1 tok/s alone vs 51.5 with the llama.cpp context alive).
  const busy0 = machineBusySeconds();
  const own0 = ownCpuSeconds();
  const wall0 = now();
  await ortRun(ortIds.slice(0, Math.min(lens[0], 16)), 2); // warm-up (graph caches, page-in, thread pools)
  const ortByLen = new Map<number, Timing[]>();
  for (const len of lens) {
    const t: Timing[] = [];
    for (let r = 0; r < repeats; r++) t.push(await ortRun(ortIds.slice(0, len), N));
    ortByLen.set(len, t);
  }

  // -- llama.cpp -----------------------------------------------------------------------------------
  const lc: DecodeBench['llamacpp'] = { available: false };
  let llama: NlcLlama | undefined;
  let model: NlcModel | undefined;
  let ctx: NlcContext | undefined;
  let seq: NlcSequence | undefined;
  let llamaIds: number[] = [];
  let tokenization = `the pack tokenizer's ids${bos.length ? ' (with bos)' : ''} (llama.cpp not measured)`;
  let agreement: number | undefined;
  let sameModel = false;
  const found = o.gguf ? { path: path.resolve(o.gguf), from: '--gguf' } : findPackGguf(pack, [o.repoRoot, path.resolve(__dirname, '..', '..', '..')]);
  lc.nodeLlamaCpp = nodeLlamaCppVersion();
  if (!found.path) {
    lc.reason = found.reason;
  } else if (!fs.existsSync(found.path)) {
    lc.reason = `GGUF not found: ${found.path}`;
  } else if (!lc.nodeLlamaCpp) {
    lc.reason = 'node-llama-cpp is not installed (it is a devDependency: `npm install` without --omit=dev)';
  } else {
    lc.gguf = found.path;
    lc.ggufFrom = found.from;
    lc.ggufBytes = fs.statSync(found.path).size;
    lc.sha256 = await sha256File(found.path);
    if ('expectedSha256' in found && found.expectedSha256) {
      lc.expectedSha256 = found.expectedSha256;
      lc.sha256Match = lc.expectedSha256.toLowerCase() === lc.sha256;
      if (!lc.sha256Match) notes.push(`GGUF sha256 ${lc.sha256} differs from pack.json baseModel.source.sha256 ${lc.expectedSha256}: not the pack's base model file`);
    }
    try {
      const nlc = (await importEsm('node-llama-cpp')) as NlcModule;
      const t0 = now();
      llama = await nlc.getLlama({
        gpu: false,
        build: 'never',
        skipDownload: true,
        usePrebuiltBinaries: true,
        progressLogs: false,
        logLevel: nlc.LlamaLogLevel.error,
        maxThreads: threads,
      });
      model = await llama.loadModel({ modelPath: found.path, gpuLayers: 0 });
      ctx = await model.createContext({
        contextSize: Math.ceil((Math.max(...lens) + N + 16) / 256) * 256,
        batchSize: 512,
        threads: { ideal: threads, min: threads },
        sequences: 1,
      });
      seq = ctx.getSequence();
      lc.loadMs = round(now() - t0, 0);
      lc.llamaCppRelease = `${llama.llamaCppRelease.repo}@${llama.llamaCppRelease.release}`;
      lc.binary = `${llama.buildType}, gpu ${String(llama.gpu)}`;
      lc.vocabSize = model.fileInfo.metadata?.tokenizer?.ggml?.tokens?.length;
      const own = model.tokenize(text);
      if (lc.vocabSize === m.baseModel.vocabSize) {
        // Same model: both engines get exactly the pack's prompt ids.
        const packText = pack.tokenizer.encode(text);
        let same = 0;
        const n = Math.min(packText.length, own.length, need);
        for (let i = 0; i < n; i++) if (packText[i] === own[i]) same++;
        agreement = round(same / Math.max(1, n), 4);
        llamaIds = ortIds;
        sameModel = true;
        tokenization = `identical token ids for both engines (the pack tokenizer's ids${bos.length ? ', with bos' : ''}); llama.cpp's own tokenizer agrees on ${round(100 * agreement, 2)}% of the first ${n} ids of the text`;
      } else {
        llamaIds = own;
        tokenization = `same text, each engine's own tokenizer, cut to the same length (vocabularies differ: pack ${m.baseModel.vocabSize}, GGUF ${lc.vocabSize ?? '?'})`;
        notes.push('the GGUF is not the pack\'s base model (vocabulary sizes differ): the ratio compares different models');
      }
      if (llamaIds.length < Math.max(...lens)) throw new Error(`llama.cpp tokenized the prompt text to ${llamaIds.length} tokens, fewer than ${Math.max(...lens)}`);
      lc.available = true;
    } catch (e) {
      lc.reason = `node-llama-cpp could not load the GGUF: ${String((e as Error).message ?? e).split('\n')[0]}`;
    }
  }
  const llamaRun = async (ids: number[], newTokens: number): Promise<Timing> => {
    await seq!.clearHistory();
    const st: number[] = [];
    const t0 = now();
    for await (const _tok of seq!.evaluate(ids, { temperature: 0, yieldEogToken: true })) {
      st.push(now());
      if (st.length >= newTokens + 1) break;
    }
    return timingOf(t0, st, newTokens, 'llama.cpp');
  };
  if (!lc.available) log(`[bench] decode: llama.cpp side skipped: ${lc.reason}`);

  // -- measure ---------------------------------------------------------------------------------------
  const rows: DecodeEngineRow[] = [];
  const ratios: DecodeRatioRow[] = [];
  const goal = 0.8;
  try {
    if (lc.available) await llamaRun(llamaIds.slice(0, Math.min(lens[0], 16)), 2); // warm-up
    for (const len of lens) {
      const ortT = ortByLen.get(len)!;
      const lcp: Timing[] = [];
      if (lc.available) for (let r = 0; r < repeats; r++) lcp.push(await llamaRun(llamaIds.slice(0, len), N));
      const row = (engine: DecodeEngineRow['engine'], t: Timing[]): DecodeEngineRow => ({
        engine,
        promptTokens: len,
        newTokens: N,
        repeats: t.length,
        ttftMs: spread(t.map((x) => x.ttftMs)),
        decodeTokensPerSecond: spread(t.map((x) => x.tokensPerSecond)),
      });
      const a = row('onnxruntime', ortT);
      rows.push(a);
      let msg = `[bench] decode ${len}-token prompt: onnxruntime TTFT ${a.ttftMs.p50} ms, ${a.decodeTokensPerSecond.p50} tok/s`;
      if (lcp.length) {
        const b = row('llama.cpp', lcp);
        rows.push(b);
        const rt: DecodeRatioRow = { promptTokens: len, ttft: round(b.ttftMs.p50 / a.ttftMs.p50, 3), decode: round(a.decodeTokensPerSecond.p50 / b.decodeTokensPerSecond.p50, 3), meetsGoal: null };
        if (sameModel) rt.meetsGoal = rt.ttft >= goal && rt.decode >= goal;
        ratios.push(rt);
        msg += `; llama.cpp TTFT ${b.ttftMs.p50} ms, ${b.decodeTokensPerSecond.p50} tok/s; ORT/llama.cpp speed: TTFT ${rt.ttft}, decode ${rt.decode}`;
      }
      log(msg);
    }
  } finally {
    await ctx?.dispose().catch(() => undefined);
    await model?.dispose().catch(() => undefined);
    await llama?.dispose().catch(() => undefined);
  }
  const busy1 = machineBusySeconds();
  const others = busy0 === null || busy1 === null ? null : Math.max(0, (busy1 - busy0 - (ownCpuSeconds() - own0)) / ((now() - wall0) / 1000));
  const machineLoad = { otherProcessesCores: others === null ? null : round(others, 2), loadAverage1m: round(os.loadavg()[0], 2), cores: os.cpus().length };
  if (others !== null && others > 0.25) {
    notes.push(`machine busy: other processes used ${round(others, 2)} of ${machineLoad.cores} cores on average while measuring with ${threads} threads; these numbers (llama.cpp's especially: its threads spin-wait on each other) are not reliable, rerun on an idle machine`);
  }
  const decoderPath = pack.graphPath('decoder');
  return {
    threads,
    newTokens: N,
    repeats,
    goal,
    prompt: { source: 'workspace-test documents, concatenated, cut to the prompt length', tokenization, ...(agreement !== undefined ? { tokenizerAgreement: agreement } : {}) },
    onnxruntime: {
      decoder: path.basename(decoderPath),
      decoderBytes: fs.statSync(decoderPath).size,
      provider: report.provider,
      loadMs: round(ortLoadMs, 0),
      version: ort.env.versions?.node ?? ort.env.versions?.common ?? '?',
    },
    llamacpp: lc,
    rows,
    ratios,
    machineLoad,
    notes,
  };
}

/** Plain-text side-by-side table for the console. */
export function decodeConsoleTable(d: DecodeBench): string {
  const head = ['prompt tok', 'ORT TTFT ms', 'llama.cpp TTFT ms', 'TTFT ratio', `ORT tok/s`, 'llama.cpp tok/s', 'decode ratio', `>= ${d.goal}`];
  const lines: string[][] = [head];
  const lens = [...new Set(d.rows.map((r) => r.promptTokens))];
  for (const len of lens) {
    const a = d.rows.find((r) => r.engine === 'onnxruntime' && r.promptTokens === len);
    const b = d.rows.find((r) => r.engine === 'llama.cpp' && r.promptTokens === len);
    const q = d.ratios.find((r) => r.promptTokens === len);
    lines.push([String(len), String(a?.ttftMs.p50 ?? '–'), String(b?.ttftMs.p50 ?? '–'), String(q?.ttft ?? '–'), String(a?.decodeTokensPerSecond.p50 ?? '–'), String(b?.decodeTokensPerSecond.p50 ?? '–'), String(q?.decode ?? '–'), q ? (q.meetsGoal === null ? 'n/a' : q.meetsGoal ? 'yes' : 'NO') : '–']);
  }
  const w = head.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  const out = [`decode speed, ${d.threads} threads, batch 1, greedy, ${d.newTokens} new tokens, median of ${d.repeats} (ratio = ORT speed / llama.cpp speed)`];
  for (const l of lines) out.push(l.map((c, i) => c.padStart(w[i])).join('  '));
  if (!d.llamacpp.available) out.push(`llama.cpp: not measured - ${d.llamacpp.reason}`);
  for (const n of d.notes) out.push(`note: ${n}`);
  return out.join('\n') + '\n';
}

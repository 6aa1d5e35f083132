// The measurement of the decode section (decode.ts, where the method is described): the prompt, the
// onnxruntime side through the engine's Decoder (measured first, alone), then the llama.cpp side
// (llamacpp.ts), then the rows and ratios. Loaded only when the section runs (ONNX Runtime).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Decoder } from '../core/decode';
import type { Pack } from '../core/pack';
import { createSession, ort } from '../core/runtime';
import { loadDataset } from '../measure/dataset';
import { machineLoadOf, otherProcessesMeter } from '../measure/machine';
import { now, round, spread } from '../measure/stats';
import type { DecodeBench, DecodeEngineRow, DecodeRatioRow } from './decode';
import { DecodePrompt, LlamaSide, openLlamaCpp } from './llamacpp';

export interface DecodeBenchOptions {
  /** GGUF file for llama.cpp; default: baseModel.source.file of pack.json under <repo>/.venv site-packages. */
  gguf?: string;
  /** Threads for both engines (ORT intra-op, llama.cpp threads). */
  threads: number;
  /** Prompt lengths in tokens (capped to the pack's maxPositions - newTokens - 1). */
  promptTokens: number[];
  /** Tokens decoded after the first one (decode tokens/s). */
  newTokens: number;
  /** Timed repeats per engine and prompt (medians reported). */
  repeats: number;
  repoRoot: string;
  log: (m: string) => void;
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

/** Prompt text: real documents (the synthetic workspace-QA test split), concatenated, long enough for the longest prompt. */
function promptOf(pack: Pack, repoRoot: string, maxLen: number): DecodePrompt {
  const m = pack.manifest;
  const docs = loadDataset('workspace-test', repoRoot).documents.map((d) => d.text);
  const need = maxLen + 8;
  let text = '';
  for (let i = 0; pack.tokenizer.encode(text).length < need + (m.prompt.addBos ? 1 : 0); i++) {
    text += docs[i % docs.length] + '\n\n';
    if (i > 100000) throw new Error('cannot build a long enough prompt');
  }
  const bos = m.prompt.addBos ? [m.specialTokens.bos] : [];
  return { text, bos, ortIds: [...bos, ...pack.tokenizer.encode(text)], need };
}

/** onnxruntime through the engine's decode path: a Decoder whose session stamps the time of every step. */
async function ortSide(pack: Pack, threads: number) {
  const tl = now();
  const { session, report } = await createSession(pack.graphPath('decoder'), 'cpu', { intraOpNumThreads: threads });
  let stamps: number[] = [];
  const timed = {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    run: async (feeds: Record<string, ort.Tensor>, fetches?: Record<string, ort.Tensor | null>) => {
      const out = fetches ? await session.run(feeds, fetches) : await session.run(feeds);
      stamps.push(now());
      return out;
    },
  } as unknown as ort.InferenceSession;
  const decoder = new Decoder(pack, timed, report);
  const loadMs = now() - tl;
  const run = async (ids: number[], newTokens: number): Promise<Timing> => {
    stamps = [];
    const t0 = now();
    const r = await decoder.generate(ids, { maxNewTokens: newTokens + 1, numBeams: 1, stopTokenIds: [], stopStrings: [], alpha: 0, prefix: null, stopOnLoop: false });
    if (r.tokenIds.length !== newTokens + 1) throw new Error(`onnxruntime generated ${r.tokenIds.length} tokens, expected ${newTokens + 1}`);
    return timingOf(t0, stamps, newTokens, 'onnxruntime');
  };
  return { run, report, loadMs };
}

/** The rows (and ratios) per prompt length: onnxruntime's timings, llama.cpp measured now when it is available. */
async function measureRows(llama: LlamaSide, ortByLen: Map<number, Timing[]>, o: { lens: number[]; N: number; repeats: number; goal: number; log: (m: string) => void }) {
  const { N, goal } = o;
  const rows: DecodeEngineRow[] = [];
  const ratios: DecodeRatioRow[] = [];
  const llamaRun = async (ids: number[], newTokens: number): Promise<Timing> => {
    const { t0, stamps } = await llama.evaluate(ids, newTokens);
    return timingOf(t0, stamps, newTokens, 'llama.cpp');
  };
  if (llama.lc.available) await llamaRun(llama.ids.slice(0, Math.min(o.lens[0], 16)), 2); // warm-up
  for (const len of o.lens) {
    const ortT = ortByLen.get(len)!;
    const lcp: Timing[] = [];
    if (llama.lc.available) for (let r = 0; r < o.repeats; r++) lcp.push(await llamaRun(llama.ids.slice(0, len), N));
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
      if (llama.sameModel) rt.meetsGoal = rt.ttft >= goal && rt.decode >= goal;
      ratios.push(rt);
      msg += `; llama.cpp TTFT ${b.ttftMs.p50} ms, ${b.decodeTokensPerSecond.p50} tok/s; ORT/llama.cpp speed: TTFT ${rt.ttft}, decode ${rt.decode}`;
    }
    o.log(msg);
  }
  return { rows, ratios };
}

export async function benchDecode(pack: Pack, o: DecodeBenchOptions): Promise<DecodeBench> {
  const m = pack.manifest;
  const { threads, log } = o;
  const N = Math.max(2, o.newTokens);
  const repeats = Math.max(1, o.repeats);
  const maxPrompt = m.baseModel.maxPositions - N - 1;
  const notes: string[] = [];
  const lens = [...new Set(o.promptTokens.map((n) => Math.max(1, Math.min(n, maxPrompt))))];
  if (lens.some((n, i) => n !== o.promptTokens[i])) notes.push(`prompt lengths capped to maxPositions (${m.baseModel.maxPositions}) - ${N} new tokens - 1 = ${maxPrompt} for this pack`);
  const prompt = promptOf(pack, o.repoRoot, Math.max(...lens));
  const onnx = await ortSide(pack, threads);
  // Measure onnxruntime first, alone: once llama.cpp is loaded its worker threads slow onnxruntime
  // in the same process (100-token prompt: 61.1 tok/s alone vs 51.5 with the llama.cpp context alive).
  const meter = otherProcessesMeter();
  await onnx.run(prompt.ortIds.slice(0, Math.min(lens[0], 16)), 2); // warm-up (graph caches, page-in, thread pools)
  const ortByLen = new Map<number, Timing[]>();
  for (const len of lens) {
    const t: Timing[] = [];
    for (let r = 0; r < repeats; r++) t.push(await onnx.run(prompt.ortIds.slice(0, len), N));
    ortByLen.set(len, t);
  }
  const llama = await openLlamaCpp(pack, { gguf: o.gguf, repoRoot: o.repoRoot, threads, prompt, maxLen: Math.max(...lens), newTokens: N, notes });
  if (!llama.lc.available) log(`[bench] decode: llama.cpp side skipped: ${llama.lc.reason}`);
  const goal = 0.8;
  let measured: Awaited<ReturnType<typeof measureRows>>;
  try {
    measured = await measureRows(llama, ortByLen, { lens, N, repeats, goal, log });
  } finally {
    await llama.dispose();
  }
  const others = meter.others();
  const machineLoad = { ...machineLoadOf(others), cores: os.cpus().length };
  if (others !== null && others > 0.25) {
    notes.push(`machine busy: other processes used ${round(others, 2)} of ${machineLoad.cores} cores on average while measuring with ${threads} threads; these numbers (llama.cpp's especially: its threads spin-wait on each other) are not reliable, rerun on an idle machine`);
  }
  const decoderPath = pack.graphPath('decoder');
  return {
    threads,
    newTokens: N,
    repeats,
    goal,
    prompt: { source: 'workspace-test documents, concatenated, cut to the prompt length', tokenization: llama.tokenization, ...(llama.agreement !== undefined ? { tokenizerAgreement: llama.agreement } : {}) },
    onnxruntime: {
      decoder: path.basename(decoderPath),
      decoderBytes: fs.statSync(decoderPath).size,
      provider: onnx.report.provider,
      loadMs: round(onnx.loadMs, 0),
      version: ort.env.versions?.node ?? ort.env.versions?.common ?? '?',
    },
    llamacpp: llama.lc,
    rows: measured.rows,
    ratios: measured.ratios,
    machineLoad,
    notes,
  };
}

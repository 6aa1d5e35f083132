// `cmt bench --sections decode`: decode speed of the pack's decoder.onnx through the engine's own
// decode path (Decoder.generate on an ONNX Runtime CPU session) side by side with llama.cpp
// (node-llama-cpp, a bench-only devDependency pinned at 3.21.1, CPU prebuilt binary; llamacpp.ts)
// on the very GGUF the pack was built from - what a user would run instead.
//
// Both engines: same prompt token ids (or, when the vocabularies differ, the same text tokenized by
// each engine's own tokenizer, cut to the same length), same thread count, batch 1, greedy, EOS
// ignored. Per prompt length: time to first token (prefill + first token) and decode tokens/s over
// `newTokens` tokens after the first one. onnxruntime is measured first, then llama.cpp is loaded and
// measured (never both alive: llama.cpp's idle worker threads slow onnxruntime); medians are
// reported. The measurement is decodeRun.ts.
import type { OptionSpecs } from '../measure/options';
import { round } from '../measure/stats';
import { barChart, mdTable } from '../measure/svg';
import type { BenchSection } from './types';

export const DECODE_OPTIONS = {
  gguf: { flags: '--gguf <path>', description: 'the GGUF for the llama.cpp decode comparison', kind: 'string' },
  decodeThreads: { flags: '--decode-threads <n>', description: 'decode threads', kind: 'number', default: 2 },
  decodePrompts: { flags: '--decode-prompts <list>', description: 'prompt lengths (tokens)', kind: 'numbers', default: [100, 500] },
  decodeTokens: { flags: '--decode-tokens <n>', description: 'tokens generated', kind: 'number', default: 64, quick: 16 },
  decodeRepeats: { flags: '--decode-repeats <n>', description: 'repeats per prompt length', kind: 'number', default: 5, quick: 2 },
} satisfies OptionSpecs;

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

export interface LlamaCppInfo {
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
}

export interface DecodeBench {
  threads: number;
  newTokens: number;
  repeats: number;
  goal: number;
  prompt: { source: string; tokenization: string; tokenizerAgreement?: number };
  onnxruntime: { decoder: string; decoderBytes: number; provider: string; loadMs: number; version: string };
  llamacpp: LlamaCppInfo;
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

function decodeMarkdown(d: DecodeBench): string {
  const out: string[] = [];
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
  return out.join('\n');
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

export const decodeSection: BenchSection = {
  name: 'decode',
  options: DECODE_OPTIONS,
  async run(c, r) {
    const { benchDecode } = await import('./decodeRun');
    r.decode = await benchDecode(c.pack, { gguf: c.o.gguf, threads: c.o.decodeThreads, promptTokens: c.o.decodePrompts, newTokens: c.o.decodeTokens, repeats: c.o.decodeRepeats, repoRoot: c.repoRoot, log: c.log });
  },
  markdown: (r) => (r.decode ? decodeMarkdown(r.decode) : ''),
  charts: (r, tag) =>
    r.decode && r.decode.rows.length
      ? {
          [`${tag}-decode.svg`]: barChart({
            title: `Decode tokens/s, ${r.decode.threads} threads: ONNX Runtime vs llama.cpp (${r.pack.name})`,
            xLabel: 'tokens/s',
            bars: r.decode.rows.map((x) => ({ label: `${x.engine}, ${x.promptTokens}-token prompt`, value: x.decodeTokensPerSecond.p50 })),
          }),
        }
      : {},
  console: (r) => (r.decode ? decodeConsoleTable(r.decode) : ''),
};

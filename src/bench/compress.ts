// `cmt bench --sections compress`: compression throughput (tokens/s) of the pack's compressor, its
// FLOPs per token (from pack.json dims), and the ratio to the peak GFLOP/s of a large MatMul in
// onnxruntime measured in the same run (matmul.ts).
import type { PackManifest } from '../core/packManifest';
import { loadDataset } from '../measure/dataset';
import type { OptionSpecs } from '../measure/options';
import { now, round } from '../measure/stats';
import { mdTable } from '../measure/svg';
import type { PeakResult } from './matmul';
import type { BenchContext, BenchSection } from './types';

export const COMPRESS_OPTIONS = {
  compressDocs: { flags: '--compress-docs <n>', description: 'documents compressed', kind: 'number', default: 256, quick: 16 },
  matmulN: { flags: '--matmul-n <n>', description: 'matrix size of the peak-GFLOP/s measurement', kind: 'number', default: 1024, quick: 256 },
} satisfies OptionSpecs;

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

async function benchCompress(c: BenchContext): Promise<CompressBench> {
  // Engine code loads here, not with the section list (`cmt` reads the options at start-up).
  const { Compressor } = await import('../core/compress');
  const { defaultThreads } = await import('../core/runtime');
  const { measurePeakGflops } = await import('./matmul');
  const { pack, o } = c;
  const comp = await Compressor.create(pack, c.device);
  const texts: string[] = [];
  const pools = ['workspace-test', 'squad-notre-dame'].map((s) => loadDataset(s, c.repoRoot).documents.map((d) => d.text));
  // Concatenate real documents into inputs that fill the document budget (as chunks of a long file do).
  const budget = pack.manifest.cmt.maxDocTokens;
  const all = pools.flat();
  let acc = '';
  for (let i = 0; texts.length < o.compressDocs; i++) {
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
  c.log(`[bench] compress: ${res.length} inputs, ${tokens} tokens in ${(wallMs / 1000).toFixed(2)} s = ${tps.toFixed(0)} tokens/s; measuring MatMul peak`);
  const { flopsPerToken, detail } = compressorFlopsPerToken(pack.manifest, avg);
  const peak = await measurePeakGflops(o.matmulN, c.quick ? 3 : 8);
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

function compressMarkdown(c: CompressBench): string {
  const out: string[] = [];
  out.push('## Compression throughput\n');
  out.push(
    mdTable(
      ['inputs', 'tokens (avg/input)', 'tokens/s', 'FLOPs/token', 'achieved GFLOP/s', `MatMul ${c.peak.n}³ peak GFLOP/s (${c.threads} threads)`, 'fraction of peak'],
      [[c.documents, `${c.tokens} (${c.avgTokens})`, c.tokensPerSecond, c.flopsPerToken, c.achievedGflops, c.peak.peakGflops, `${round(100 * c.fractionOfPeak, 2)}%`]],
    ),
  );
  out.push(`\nFLOPs/token: ${c.flopsSource}.\n`);
  return out.join('\n');
}

export const compressSection: BenchSection = {
  name: 'compress',
  options: COMPRESS_OPTIONS,
  async run(c, r) {
    r.compress = await benchCompress(c);
  },
  markdown: (r) => (r.compress ? compressMarkdown(r.compress) : ''),
};

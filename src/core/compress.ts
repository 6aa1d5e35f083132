// Compressor: document chunks / questions -> k memory slots + L2-normalised key (compressor.onnx).
// Inputs are tokenized with the pack's template, bos prepended (prompt.addBos), truncated to the
// token budget (bos included, as the trainer does), sorted by length and batched with right padding.

import { CmtError, Device } from './types';
import { Pack, fillTemplate } from './pack';
import { createSession, ort, ProviderReport, SessionOptions } from './runtime';

export type CompressKind = 'document' | 'question';

export interface CompressOptions {
  /** 'document' (prompt.document, maxDocTokens) or 'question' (prompt.query, maxQuestionTokens). */
  kind?: CompressKind;
  /** Sequences per graph run (default 8). */
  batchSize?: number;
  signal?: AbortSignal;
  /** Called after each batch with the number of inputs done so far. */
  onProgress?: (done: number, total: number) => void;
}

export interface CompressResult {
  memory: Float32Array; // k*d, row-major [k, d]
  key: Float32Array; // d
  /** Tokens fed to the graph (bos included). */
  tokens: number;
  /** True when the input was longer than the budget and was cut. */
  truncated: boolean;
  /** Tokens before truncation (bos included). */
  originalTokens: number;
}

/** Pre-tokenized input: ids WITHOUT bos / template (the compressor adds bos itself). */
export interface TokenizedInput {
  ids: number[];
}

export class Compressor {
  /** Milliseconds spent in compress() since creation (the compressor's share of memorize time). */
  totalMs = 0;
  private idsBuf = new BigInt64Array(0);
  private maskBuf = new BigInt64Array(0);

  constructor(
    readonly pack: Pack,
    readonly session: ort.InferenceSession,
    readonly report?: ProviderReport,
  ) {}

  static async create(pack: Pack, device: Device = 'auto', opts?: SessionOptions): Promise<Compressor> {
    const { session, report } = await createSession(pack.graphPath('compressor'), device, { memPattern: false, ...opts });
    return new Compressor(pack, session, report);
  }

  get memorySlots(): number {
    return this.pack.manifest.cmt.memorySlots;
  }
  get memoryDim(): number {
    return this.pack.manifest.cmt.memoryDim;
  }

  budget(kind: CompressKind): number {
    const c = this.pack.manifest.cmt;
    return kind === 'question' ? c.maxQuestionTokens : c.maxDocTokens;
  }

  /** Token ids exactly as fed to the graph (template, bos), before truncation. */
  tokenize(text: string, kind: CompressKind = 'document'): number[] {
    const p = this.pack.manifest.prompt;
    const tok = this.pack.tokenizer;
    const filled = kind === 'question' ? fillTemplate(p.query, { question: tok.plain(text) }) : fillTemplate(p.document, { text: tok.plain(text) });
    return this.withBos(tok.encode(filled));
  }

  private withBos(ids: number[]): number[] {
    return this.pack.manifest.prompt.addBos ? [this.pack.manifest.specialTokens.bos, ...ids] : ids;
  }

  async compress(inputs: Array<string | TokenizedInput>, opts: CompressOptions = {}): Promise<CompressResult[]> {
    const t0 = performance.now();
    try {
      return await this.compressAll(inputs, opts);
    } finally {
      this.totalMs += performance.now() - t0;
    }
  }

  private async compressAll(inputs: Array<string | TokenizedInput>, opts: CompressOptions): Promise<CompressResult[]> {
    const kind = opts.kind ?? 'document';
    const budget = this.budget(kind);
    const seqs = inputs.map((x) => (typeof x === 'string' ? this.tokenize(x, kind) : this.withBos(x.ids)));
    const results = new Array<CompressResult>(seqs.length);
    const order = seqs.map((_, i) => i).sort((a, b) => seqs[a].length - seqs[b].length || a - b);
    const bs = Math.max(1, Math.floor(opts.batchSize ?? 4));
    const k = this.memorySlots;
    const d = this.memoryDim;
    const pad = BigInt(this.pack.manifest.specialTokens.pad);
    let done = 0;
    for (let start = 0; start < order.length; start += bs) {
      if (opts.signal?.aborted) throw new CmtError('CANCELLED', 'compression cancelled');
      const idx = order.slice(start, start + bs);
      const B = idx.length;
      const T = Math.max(1, ...idx.map((i) => Math.min(seqs[i].length, budget)));
      const n = B * T;
      if (this.idsBuf.length < n) {
        this.idsBuf = new BigInt64Array(n);
        this.maskBuf = new BigInt64Array(n);
      }
      const ids = this.idsBuf.subarray(0, n);
      const mask = this.maskBuf.subarray(0, n);
      ids.fill(pad);
      mask.fill(0n);
      idx.forEach((si, b) => {
        const s = seqs[si];
        const len = Math.min(s.length, budget);
        for (let t = 0; t < len; t++) {
          ids[b * T + t] = BigInt(s[t]);
          mask[b * T + t] = 1n;
        }
      });
      const out = await this.session.run({
        input_ids: new ort.Tensor('int64', ids, [B, T]),
        attention_mask: new ort.Tensor('int64', mask, [B, T]),
      });
      const mem = out.memory;
      const key = out.key;
      if (!mem || !key) throw new CmtError('PACK_INCOMPATIBLE', 'compressor.onnx must output "memory" and "key"');
      if (mem.dims[1] !== k || mem.dims[2] !== d || key.dims[1] !== d) {
        throw new CmtError(
          'PACK_INCOMPATIBLE',
          `compressor.onnx output shapes memory ${JSON.stringify(mem.dims)} / key ${JSON.stringify(key.dims)} do not match pack.json (k=${k}, d=${d})`,
        );
      }
      const memData = mem.data as Float32Array;
      const keyData = key.data as Float32Array;
      idx.forEach((si, b) => {
        const len = seqs[si].length;
        results[si] = {
          memory: memData.slice(b * k * d, (b + 1) * k * d),
          key: keyData.slice(b * d, (b + 1) * d),
          tokens: Math.min(len, budget),
          truncated: len > budget,
          originalTokens: len,
        };
      });
      mem.dispose?.();
      key.dispose?.();
      done += B;
      opts.onProgress?.(done, seqs.length);
    }
    return results;
  }

  /** Compresses one question (prompt.query template, maxQuestionTokens). */
  async compressQuestion(question: string, signal?: AbortSignal): Promise<CompressResult> {
    return (await this.compress([question], { kind: 'question', signal }))[0];
  }
}

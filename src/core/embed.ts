// The pack's sentence embedder (optional `embedder` section of pack.json; training/cmt/pack/embedder.py
// writes it): all-MiniLM-L6-v2 run by onnxruntime-node in the engine process. WordPiece tokens
// ([CLS] text [SEP], cut to maxTokens) -> model.onnx -> last_hidden_state -> mean over the
// attention mask -> L2 norm, exactly sentence-transformers' Transformer/Pooling(mean)/Normalize.
// A graph that outputs `sentence_embedding` directly is used as is. Packs without an embedder
// keep working: Embedder.create returns null and retrieval uses BM25 + CMT keys only.

import * as path from 'node:path';
import type { Pack } from './pack';
import type { PackEmbedder } from './packManifest';
import { createSession, ort, ProviderReport } from './runtime';
import { CmtTokenizer } from './tokenizer';
import { CmtError, Device } from './types';

export interface EmbedOptions {
  batchSize?: number;
  signal?: AbortSignal;
}

const now = () => performance.now();

export class Embedder {
  /** Milliseconds spent in embed() since creation (for memorize timing). */
  totalMs = 0;
  /**
   * Single texts (questions) run on a one-thread session, made at open: a question is ~10 tokens,
   * too small to gain from a second thread, and a multi-thread session's pool keeps spinning after
   * each run, which on a 2-core machine slowed the embedding itself (17 vs 8.7 ms p50) and the
   * LanceDB search right after it (35 vs 18 ms at 20K rows) while another process was busy
   * (docs/RESULTS.md, "Retrieval at scale"). Batches (memorize) run on a multi-thread session of
   * the same graph made at the first batch, so a process that only answers never holds it.
   * Both keep the graph's int8 weights unfolded (runtime.ts foldConstants).
   */
  private batchSession: Promise<ort.InferenceSession> | null = null;

  private constructor(
    readonly spec: PackEmbedder,
    readonly tokenizer: CmtTokenizer,
    /** The one-thread session (on a GPU provider: the only one). */
    readonly session: ort.InferenceSession,
    readonly report: ProviderReport,
    private readonly graphPath: string,
    private readonly device: Device,
  ) {}

  get dim(): number {
    return this.spec.dim;
  }

  /** The pack's embedder, or null when its pack.json has no `embedder` section. */
  static async create(pack: Pack, device: Device = 'auto'): Promise<Embedder | null> {
    const spec = pack.manifest.embedder;
    if (!spec) return null;
    return Embedder.fromFiles(path.join(pack.dir, spec.graph), path.join(pack.dir, spec.tokenizer), spec, device);
  }

  static async fromFiles(graphPath: string, tokenizerPath: string, spec: PackEmbedder, device: Device = 'auto'): Promise<Embedder> {
    const tokenizer = await CmtTokenizer.fromFile(tokenizerPath, { pad: spec.padId, bos: spec.clsId, eos: spec.sepId });
    const { session, report } = await createSession(graphPath, device, { intraOpNumThreads: 1, foldConstants: false, memPattern: false });
    if (!session.inputNames.includes('input_ids') || !session.inputNames.includes('attention_mask')) {
      throw new CmtError('PACK_INCOMPATIBLE', `embedder graph ${graphPath} needs inputs input_ids and attention_mask (has ${session.inputNames.join(', ')})`);
    }
    return new Embedder(spec, tokenizer, session, report, graphPath, device);
  }

  /** Model input ids: [CLS] + WordPiece ids (cut to maxTokens - 2) + [SEP]. */
  tokenize(text: string): number[] {
    const ids = this.tokenizer.encode(text).slice(0, this.spec.maxTokens - 2);
    return [this.spec.clsId, ...ids, this.spec.sepId];
  }

  /** The multi-thread session for batches (the one-thread session where that one cannot be made or on a GPU). */
  private batchesSession(): Promise<ort.InferenceSession> {
    if (!this.batchSession) {
      this.batchSession = this.report.provider === 'cpu'
        ? createSession(this.graphPath, this.device, { foldConstants: false, memPattern: false }).then((c) => c.session).catch(() => this.session)
        : Promise.resolve(this.session);
    }
    return this.batchSession;
  }

  /** One L2-normalised vector per text (batched, similar lengths together to limit padding). */
  async embed(texts: string[], opts: EmbedOptions = {}): Promise<Float32Array[]> {
    const t0 = now();
    const bs = Math.max(1, opts.batchSize ?? 16);
    const toks = texts.map((t) => this.tokenize(t));
    const order = toks.map((_, i) => i).sort((a, b) => toks[a].length - toks[b].length);
    const out = new Array<Float32Array>(texts.length);
    const session = texts.length === 1 ? this.session : await this.batchesSession();
    for (let s = 0; s < order.length; s += bs) {
      if (opts.signal?.aborted) throw new CmtError('CANCELLED', 'embedding cancelled');
      const idx = order.slice(s, s + bs);
      const vecs = await this.runBatch(idx.map((i) => toks[i]), session);
      idx.forEach((i, j) => (out[i] = vecs[j]));
    }
    this.totalMs += now() - t0;
    return out;
  }

  async embedOne(text: string, signal?: AbortSignal): Promise<Float32Array> {
    return (await this.embed([text], { signal }))[0];
  }

  private async runBatch(batch: number[][], session: ort.InferenceSession = this.session): Promise<Float32Array[]> {
    const B = batch.length;
    const T = Math.max(...batch.map((x) => x.length));
    const ids = new BigInt64Array(B * T).fill(BigInt(this.spec.padId));
    const mask = new BigInt64Array(B * T);
    batch.forEach((x, b) => {
      for (let t = 0; t < x.length; t++) {
        ids[b * T + t] = BigInt(x[t]);
        mask[b * T + t] = 1n;
      }
    });
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, [B, T]),
      attention_mask: new ort.Tensor('int64', mask, [B, T]),
    };
    if (session.inputNames.includes('token_type_ids')) feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(B * T), [B, T]);
    const res = await session.run(feeds);
    const D = this.spec.dim;
    const vecs: Float32Array[] = [];
    if (res.sentence_embedding) {
      const se = res.sentence_embedding.data as Float32Array;
      for (let b = 0; b < B; b++) vecs.push(l2(se.slice(b * D, (b + 1) * D)));
      return vecs;
    }
    const h = res[session.outputNames.includes('last_hidden_state') ? 'last_hidden_state' : session.outputNames[0]];
    if (h.dims.length !== 3 || h.dims[2] !== D) throw new CmtError('PACK_INCOMPATIBLE', `embedder output has shape [${h.dims.join(', ')}], expected [B, T, ${D}]`);
    const hd = h.data as Float32Array;
    for (let b = 0; b < B; b++) vecs.push(l2(meanPool(hd, b, T, D, batch[b].length)));
    return vecs;
  }
}

/** Mean of the first `len` token vectors of row b of a [B, T, D] tensor (the attention mask is a prefix). */
export function meanPool(h: Float32Array, b: number, T: number, D: number, len: number): Float32Array {
  const v = new Float32Array(D);
  const base = b * T * D;
  for (let t = 0; t < len; t++) {
    const o = base + t * D;
    for (let d = 0; d < D; d++) v[d] += h[o + d];
  }
  const n = Math.max(1, len);
  for (let d = 0; d < D; d++) v[d] /= n;
  return v;
}

export function l2(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  const n = Math.sqrt(s) || 1;
  for (let i = 0; i < v.length; i++) v[i] /= n;
  return v;
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return d / (Math.sqrt(na * nb) || 1);
}

/** What the embedder reads for a chunk: its file path (names often carry the topic) and its text. */
export function embedTextOf(p: string, text: string): string {
  return `${p}\n${text}`;
}

// Aggregator (ψ then π, aggregator.onnx): question memory + K selected memories -> per-layer
// key/value prefixes shaped like a KV cache [1, Hkv, P, D], renamed to the decoder's
// past_key_values.N.key|value inputs.

import { CmtError, Device } from './types';
import { Pack } from './pack';
import { createSession, CreatedSession, ort, SessionOptions } from './runtime';

/** A memory prefix ready to be fed to decoder.onnx as its initial KV cache. */
export interface Prefix {
  /** P: prefix tokens per layer (cache slots, no positions). */
  length: number;
  /** `past_key_values.N.key` / `past_key_values.N.value` -> float32 tensor [1, Hkv, P, D]. */
  tensors: Record<string, ort.Tensor>;
  /** How many real memories went in (the rest were zero-padded with memory_mask 0). */
  numMemories: number;
}

export interface AggregateOptions {
  /**
   * Number of memory slots K fed to the graph. Fewer memories are padded with zeros and
   * memory_mask 0. Default: the number of memories given. At most cmt.maxSelected.
   */
  padTo?: number;
  signal?: AbortSignal;
}

export class Aggregator {
  constructor(
    readonly pack: Pack,
    private readonly load: () => Promise<CreatedSession>,
  ) {}

  /**
   * `lazy`: the session is made at the first aggregation (a process that only memorizes never
   * holds it); createSession shares one load and retries a failed one. Its fp16 weights stay fp16
   * in memory (runtime.ts foldConstants: false).
   */
  static async create(pack: Pack, device: Device = 'auto', opts: SessionOptions & { lazy?: boolean } = {}): Promise<Aggregator> {
    const { lazy, ...sessionOpts } = opts;
    const agg = new Aggregator(pack, () => createSession(pack.graphPath('aggregator'), device, { foldConstants: false, ...sessionOpts }));
    if (!lazy) await agg.load();
    return agg;
  }

  /** Runs the graph on `feeds`. */
  async run(feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.OnnxValueMapType> {
    const { session } = await this.load();
    return session.run(feeds);
  }

  /**
   * Aggregates `memories` (each k*d floats) for a question memory (k*d floats).
   * Returns null when there are no memories (K = 0): the caller decodes closed-book.
   * More than cmt.maxSelected memories: the first maxSelected are used (pass them best first).
   */
  async aggregate(questionMemory: Float32Array, memories: Float32Array[], opts: AggregateOptions = {}): Promise<Prefix | null> {
    const m = this.pack.manifest;
    const k = m.cmt.memorySlots;
    const d = m.cmt.memoryDim;
    const kd = k * d;
    if (questionMemory.length !== kd) {
      throw new CmtError('BAD_INPUT', `question memory has ${questionMemory.length} floats, expected k*d = ${kd}`);
    }
    if (memories.length === 0) return null;
    const maxK = m.cmt.maxSelected;
    const used = memories.slice(0, maxK);
    const K = Math.min(maxK, Math.max(used.length, opts.padTo ?? 0));
    const mem = new Float32Array(K * kd); // zero padding
    const mask = new BigInt64Array(K);
    used.forEach((x, i) => {
      if (x.length !== kd) throw new CmtError('BAD_INPUT', `memory ${i} has ${x.length} floats, expected k*d = ${kd}`);
      mem.set(x, i * kd);
      mask[i] = 1n;
    });
    if (opts.signal?.aborted) throw new CmtError('CANCELLED', 'aggregation cancelled');
    const out = await this.run({
      question_memory: new ort.Tensor('float32', questionMemory, [1, k, d]),
      memories: new ort.Tensor('float32', mem, [1, K, k, d]),
      memory_mask: new ort.Tensor('int64', mask, [1, K]),
    });
    const L = m.baseModel.numLayers;
    const Hkv = m.baseModel.numKvHeads;
    const D = m.baseModel.headDim;
    const tensors: Record<string, ort.Tensor> = {};
    let P = -1;
    for (let l = 0; l < L; l++) {
      for (const kv of ['key', 'value']) {
        const t = out[`prefix.${l}.${kv}`];
        if (!t) throw new CmtError('PACK_INCOMPATIBLE', `aggregator.onnx has no output prefix.${l}.${kv}`);
        const [b, h, p, dd] = t.dims;
        if (b !== 1 || h !== Hkv || dd !== D || (P >= 0 && p !== P)) {
          throw new CmtError(
            'PACK_INCOMPATIBLE',
            `aggregator output prefix.${l}.${kv} has shape ${JSON.stringify(t.dims)}, expected [1, ${Hkv}, P, ${D}]`,
          );
        }
        P = p;
        tensors[`past_key_values.${l}.${kv}`] = t;
      }
    }
    return { length: P, tensors, numMemories: used.length };
  }
}

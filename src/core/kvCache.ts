// The decoder's KV cache (past_key_values.N.key|value [rows, kvHeads, length, headDim]): empty, filled
// with a memory prefix (plus its masked no-prefix twin row for the contrast), and reordered by rows
// as beams are kept (decode.ts).
import type { Prefix } from './aggregate';
import { ort } from './runtime';

export interface KvCache {
  tensors: Record<string, ort.Tensor>; // past_key_values.N.key|value [R, Hkv, S, D]
  length: number; // S
  rows: number; // R
}

/** The decoder dims a cache is shaped by. */
export interface CacheDims {
  numLayers: number;
  numKvHeads: number;
  headDim: number;
}

/** An empty cache of `rows` rows. */
export function emptyCache(dims: CacheDims, rows: number): KvCache {
  const tensors: Record<string, ort.Tensor> = {};
  for (let l = 0; l < dims.numLayers; l++) {
    for (const kv of ['key', 'value']) {
      tensors[`past_key_values.${l}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [rows, dims.numKvHeads, 0, dims.headDim]);
    }
  }
  return { tensors, length: 0, rows };
}

/** Initial cache: row 0 = prefix; with `contrast`, row 1 = zeros (masked out by attention_mask). */
export function prefixCache(prefix: Prefix, contrast: boolean): KvCache {
  if (!contrast) return { tensors: { ...prefix.tensors }, length: prefix.length, rows: 1 };
  const tensors: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(prefix.tensors)) {
    const src = t.data as Float32Array;
    const data = new Float32Array(src.length * 2);
    data.set(src, 0);
    tensors[name] = new ort.Tensor('float32', data, [2, t.dims[1], t.dims[2], t.dims[3]]);
  }
  return { tensors, length: prefix.length, rows: 2 };
}

/** Tensors whose row i is row `rows[i]` of `tensors` (each [R, H, S, D]: rows are contiguous). */
function gatherTensorRows(tensors: Record<string, ort.Tensor>, rows: number[]): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(tensors)) {
    const [, h, s, d] = t.dims;
    const rowSize = h * s * d;
    const src = t.data as Float32Array;
    const data = new Float32Array(rows.length * rowSize);
    rows.forEach((r, i) => data.set(src.subarray(r * rowSize, (r + 1) * rowSize), i * rowSize));
    out[name] = new ort.Tensor('float32', data, [rows.length, h, s, d]);
  }
  return out;
}

/** New cache (either protocol) whose row i is row `rows[i]` of `cache` (beam reordering / tiling). */
export function gatherRows<C extends AnyCache>(cache: C, rows: number[]): C {
  if (rows.length === cache.rows && rows.every((r, i) => r === i)) return cache;
  const tensors = gatherTensorRows(cache.tensors, rows);
  if (isShared(cache)) return { tensors, lengths: rows.map((r) => cache.lengths[r]), capacity: cache.capacity, rows: rows.length } as C;
  return { tensors, length: cache.length, rows: rows.length } as C;
}

// -- shared-buffer caches (pack.json decoderCache 'shared-buffer') ------------------------------
// One preallocated [R, Hkv, capacity, D] buffer per layer and kind, fed as past_key_values.N.* and
// bound as present.N.* so GroupQueryAttention appends the new keys/values in place (no copy to JS and
// back, no Concat). Row r's cache is its first lengths[r] slots; a contrast row holds no prefix at
// all (its prompt starts at slot 0), which is what masking the prefix computes.

export interface SharedKvCache {
  tensors: Record<string, ort.Tensor>; // past_key_values.N.key|value [R, Hkv, capacity, D]
  lengths: number[]; // per row: filled slots
  capacity: number;
  rows: number;
}

/**
 * A cache of P + `tokens` slots (prefix + prompt + new tokens: sized per question, not to
 * maxPositions). With a prefix, row 0 holds it in its first P slots; `contrast`: row 1 stays empty.
 */
export function sharedCache(dims: CacheDims, tokens: number, prefix: Prefix | null, contrast: boolean): SharedKvCache {
  const { numLayers: L, numKvHeads: H, headDim: D } = dims;
  const tensors: Record<string, ort.Tensor> = {};
  const P = prefix ? prefix.length : 0;
  const rows = prefix && contrast ? 2 : 1;
  const capacity = P + tokens;
  for (let l = 0; l < L; l++) {
    for (const kv of ['key', 'value']) {
      const name = `past_key_values.${l}.${kv}`;
      const data = new Float32Array(rows * H * capacity * D);
      if (prefix) {
        const src = prefix.tensors[name].data as Float32Array; // [1, H, P, D]
        for (let h = 0; h < H; h++) data.set(src.subarray(h * P * D, (h + 1) * P * D), h * capacity * D);
      }
      tensors[name] = new ort.Tensor('float32', data, [rows, H, capacity, D]);
    }
  }
  const lengths = new Array<number>(rows).fill(0);
  if (prefix) lengths[0] = P; // a contrast row (row 1) starts empty
  return { tensors, lengths, capacity, rows };
}

/** Row r of `cache` as a one-row cache over the same memory (what it writes lands in the big buffer). */
export function sharedRow(cache: SharedKvCache, r: number): SharedKvCache {
  const tensors: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(cache.tensors)) {
    const [, h, m, d] = t.dims;
    const size = h * m * d;
    tensors[name] = new ort.Tensor('float32', (t.data as Float32Array).subarray(r * size, (r + 1) * size), [1, h, m, d]);
  }
  return { tensors, lengths: [cache.lengths[r]], capacity: cache.capacity, rows: 1 };
}

export type AnyCache = KvCache | SharedKvCache;
export const isShared = (c: AnyCache): c is SharedKvCache => 'lengths' in c;

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

/** New cache whose row i is row `rows[i]` of `cache` (beam reordering / tiling). */
export function gatherRows(cache: KvCache, rows: number[]): KvCache {
  if (rows.length === cache.rows && rows.every((r, i) => r === i)) return cache;
  const tensors: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(cache.tensors)) {
    const [, h, s, d] = t.dims;
    const rowSize = h * s * d;
    const src = t.data as Float32Array;
    const data = new Float32Array(rows.length * rowSize);
    rows.forEach((r, i) => data.set(src.subarray(r * rowSize, (r + 1) * rowSize), i * rowSize));
    tensors[name] = new ort.Tensor('float32', data, [rows.length, h, s, d]);
  }
  return { tensors, length: cache.length, rows: rows.length };
}

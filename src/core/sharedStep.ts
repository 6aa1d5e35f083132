// One decoder run on a shared-buffer cache (pack.json decoderCache 'shared-buffer', kvCache.ts):
// the feeds, the past buffers bound as the present outputs, and the row-by-row prompt that
// GroupQueryAttention on CPU needs. decode.ts calls it.
import { CmtError } from './types';
import { ort } from './runtime';
import { SharedKvCache, sharedRow } from './kvCache';

const LOGITS_TO_KEEP = 'logits_to_keep'; // as decode.ts

/**
 * Shared-buffer protocol: runs `tokens` (one row of T ids per cache row) at positions pos..pos+T-1,
 * appending to `cache` in place (its lengths grow by T). Returns each row's logits for the last `keep`
 * positions (0n: all), [Tk * V]. GroupQueryAttention on CPU takes a T > 1 run with a past only for
 * one row, so a multi-row prompt runs row by row, each on a view of its row of the buffers.
 */
export async function runShared(
  session: ort.InferenceSession,
  cache: SharedKvCache,
  tokens: number[][],
  pos: number,
  keep: bigint,
  numLayers: number,
): Promise<Float32Array[]> {
  if (cache.rows > 1 && tokens[0].length > 1) {
    const out: Float32Array[] = [];
    for (let r = 0; r < cache.rows; r++) {
      const row = sharedRow(cache, r);
      out.push(...(await runShared(session, row, [tokens[r]], pos, keep, numLayers)));
      cache.lengths[r] = row.lengths[0];
    }
    return out;
  }
  const R = cache.rows;
  const T = tokens[0].length;
  const totals = cache.lengths.map((n) => n + T);
  const S = Math.max(...totals);
  if (S > cache.capacity) throw new CmtError('INTERNAL', `decoder cache of ${cache.capacity} slots cannot hold ${S}`);
  const ids = new BigInt64Array(R * T);
  const posIds = new BigInt64Array(R * T);
  const mask = new BigInt64Array(R * S);
  for (let r = 0; r < R; r++) {
    for (let t = 0; t < T; t++) {
      ids[r * T + t] = BigInt(tokens[r][t]);
      posIds[r * T + t] = BigInt(pos + t);
    }
    mask.fill(1n, r * S, r * S + totals[r]); // right padding: row r's cache is its first totals[r] slots
  }
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', ids, [R, T]),
    attention_mask: new ort.Tensor('int64', mask, [R, S]),
    position_ids: new ort.Tensor('int64', posIds, [R, T]),
    [LOGITS_TO_KEEP]: new ort.Tensor('int64', BigInt64Array.of(keep), []),
    ...cache.tensors,
  };
  // The past buffers are the present outputs too: onnxruntime writes into them, the op appends in place.
  const fetches: Record<string, ort.Tensor | null> = { logits: null };
  for (let l = 0; l < numLayers; l++) {
    for (const kv of ['key', 'value']) fetches[`present.${l}.${kv}`] = cache.tensors[`past_key_values.${l}.${kv}`];
  }
  const out = await session.run(feeds, fetches);
  for (let r = 0; r < R; r++) cache.lengths[r] = totals[r];
  const lt = out.logits;
  if (!lt) throw new CmtError('PACK_INCOMPATIBLE', 'decoder.onnx has no "logits" output');
  const rowSize = lt.dims[1] * lt.dims[2];
  const ld = lt.data as Float32Array;
  return Array.from({ length: R }, (_, r) => ld.subarray(r * rowSize, (r + 1) * rowSize));
}

/** Every position's logits of every row, row after row ([R * T * V]): runShared with keep 0. */
export async function allLogitsShared(session: ort.InferenceSession, cache: SharedKvCache, tokens: number[][], numLayers: number): Promise<Float32Array> {
  const rows = await runShared(session, cache, tokens, 0, 0n, numLayers);
  const all = new Float32Array(rows.reduce((n, l) => n + l.length, 0));
  rows.reduce((at, l) => (all.set(l, at), at + l.length), 0);
  return all;
}

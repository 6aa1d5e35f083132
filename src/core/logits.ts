// The logits math of decoding: log-sum-exp, argmax, top-n, and the memory-aware contrast
// (1+α)·l(with prefix) − α·l(without prefix) (decode.ts).

// ---------------------------------------------------------------------------------------------
// Math helpers

export function logSumExp(x: Float32Array): number {
  let m = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i] > m) m = x[i];
  if (m === -Infinity) return m;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.exp(x[i] - m);
  return m + Math.log(s);
}

export function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/** Top-n indices of x by value (descending). */
export function topN(x: Float32Array, n: number): number[] {
  const idx: number[] = [];
  const val: number[] = [];
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (idx.length === n && v <= val[n - 1]) continue;
    let j = Math.min(idx.length, n - 1);
    if (idx.length < n) {
      idx.push(i);
      val.push(v);
      j = idx.length - 1;
    }
    while (j > 0 && val[j - 1] < v) {
      idx[j] = idx[j - 1];
      val[j] = val[j - 1];
      j--;
    }
    idx[j] = i;
    val[j] = v;
  }
  return idx;
}

/** (1+α)·with − α·without into `out` (a copy of `withP` without the no-prefix row or with α = 0). */
export function contrastLogits(withP: Float32Array, without: Float32Array | undefined, alpha: number, out: Float32Array): Float32Array {
  if (!without || alpha === 0) {
    out.set(withP);
    return out;
  }
  const a1 = 1 + alpha;
  for (let i = 0; i < out.length; i++) out[i] = a1 * withP[i] - alpha * without[i];
  return out;
}

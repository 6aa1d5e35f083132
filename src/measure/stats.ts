// The small measurement helpers of eval and bench, in one place: the clock, rounding, percentiles,
// percentages and means. Pure (no engine code): any measure, eval or bench module may import it.

/** Milliseconds on the monotonic clock (performance.now). */
export const now = (): number => performance.now();

export function round(x: number, digits = 2): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Nearest-rank percentile (p in [0, 100]) of a list of numbers; NaN for an empty list. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i];
}

/** p50 and p95 (nearest rank) of timings, rounded to `digits`. */
export function p50p95(xs: readonly number[], digits = 2): { p50: number; p95: number } {
  return { p50: round(percentile(xs, 50), digits), p95: round(percentile(xs, 95), digits) };
}

/** Median (nearest rank), min and max of repeated timings, rounded to `digits`. */
export function spread(xs: readonly number[], digits = 1): { p50: number; min: number; max: number } {
  return { p50: round(percentile(xs, 50), digits), min: round(Math.min(...xs), digits), max: round(Math.max(...xs), digits) };
}

/**
 * p50 and p95 as `cmt eval --retrieval-only` has always reported its per-question latency: the
 * element at index floor(p/100 · n) of the sorted list (one rank above nearest-rank when p/100 · n
 * is whole), 0 for an empty list, rounded to 0.1 ms. Kept as it is so those reports stay comparable.
 */
export function p50p95Upper(xs: readonly number[]): { p50: number; p95: number } {
  const sorted = [...xs].sort((a, b) => a - b);
  const at = (p: number) => round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0, 1);
  return { p50: at(50), p95: at(95) };
}

/** 100 · x / n, rounded to 0.01 (0 when n is 0). */
export function pct(x: number, n: number): number {
  return round((100 * x) / Math.max(1, n), 2);
}

export function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/** The mean, 0 for an empty list. */
export function mean(xs: readonly number[]): number {
  return sum(xs) / Math.max(1, xs.length);
}

/** Bytes -> MiB, rounded to 0.1. */
export function mib(bytes: number): number {
  return round(bytes / 2 ** 20, 1);
}

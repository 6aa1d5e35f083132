// This machine's matmul ceiling in onnxruntime: an ONNX model with one MatMul [N,N]x[N,N] is
// written as protobuf bytes here (no onnx dependency), run on the CPU provider with the engine's
// thread count, and the best of several runs gives the peak GFLOP/s (2·N³ FLOPs per run).

import { defaultThreads, ort } from '../core/runtime';
import { now } from '../measure/stats';

// --- protobuf wire format (just what ModelProto needs) ----------------------------------------

function varint(n: number): number[] {
  const out: number[] = [];
  let v = BigInt(n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}
const key = (field: number, wire: number) => varint((field << 3) | wire);
const fInt = (field: number, v: number) => [...key(field, 0), ...varint(v)];
const fBytes = (field: number, bytes: number[]) => [...key(field, 2), ...varint(bytes.length), ...bytes];
const fStr = (field: number, s: string) => fBytes(field, [...Buffer.from(s, 'utf8')]);

function valueInfo(name: string, dims: number[]): number[] {
  const shape = dims.flatMap((d) => fBytes(1, fInt(1, d))); // TensorShapeProto.dim { dim_value }
  const tensorType = [...fInt(1, 1), ...fBytes(2, shape)]; // elem_type FLOAT, shape
  return [...fStr(1, name), ...fBytes(2, fBytes(1, tensorType))]; // ValueInfoProto { name, type { tensor_type } }
}

/** ModelProto bytes: C = MatMul(A, B), A [m,k], B [k,n], float32, opset 17. */
export function matmulModel(m: number, k: number, n: number): Uint8Array {
  const node = [...fStr(1, 'A'), ...fStr(1, 'B'), ...fStr(2, 'C'), ...fStr(3, 'mm'), ...fStr(4, 'MatMul')];
  const graph = [
    ...fBytes(1, node),
    ...fStr(2, 'peak_matmul'),
    ...fBytes(11, valueInfo('A', [m, k])),
    ...fBytes(11, valueInfo('B', [k, n])),
    ...fBytes(12, valueInfo('C', [m, n])),
  ];
  const opset = [...fStr(1, ''), ...fInt(2, 17)];
  return Uint8Array.from([...fInt(1, 8), ...fStr(2, 'cmt-bench'), ...fBytes(7, graph), ...fBytes(8, opset)]);
}

export interface PeakResult {
  n: number;
  threads: number;
  runs: number;
  bestMs: number;
  medianMs: number;
  peakGflops: number;
  medianGflops: number;
}

/** Peak GFLOP/s of an N×N×N float32 MatMul (best of `runs` after a warm-up). */
export async function measurePeakGflops(n = 1024, runs = 8, threads = defaultThreads()): Promise<PeakResult> {
  const session = await ort.InferenceSession.create(matmulModel(n, n, n), {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    logSeverityLevel: 3,
  });
  try {
    const a = new Float32Array(n * n).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
    const b = new Float32Array(n * n).map((_, i) => ((i * 104729) % 1000) / 1000 - 0.5);
    const feeds = { A: new ort.Tensor('float32', a, [n, n]), B: new ort.Tensor('float32', b, [n, n]) };
    await session.run(feeds); // warm-up
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = now();
      await session.run(feeds);
      times.push(now() - t);
    }
    times.sort((x, y) => x - y);
    const flops = 2 * n ** 3;
    const best = times[0];
    const med = times[Math.floor(times.length / 2)];
    return { n, threads, runs, bestMs: best, medianMs: med, peakGflops: flops / (best * 1e6), medianGflops: flops / (med * 1e6) };
  } finally {
    await session.release();
  }
}

// Parity with PyTorch: every case in test-vectors/manifest.json is run through the named graph and
// every output compared; tokenizer cases must give the same ids and decode back to the same text.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadPack } from '../../src/core/pack';
import { Decoder, LOGITS_TO_KEEP } from '../../src/core/decode';
import { createSession, ort, releaseAllSessions } from '../../src/core/runtime';

// The random-weight fixture and the shipped default pack (CMT_TEST_PACK checks another one).
const PACKS = process.env.CMT_TEST_PACK
  ? [path.resolve(process.env.CMT_TEST_PACK)]
  : [path.resolve('test/fixtures/tiny-pack'), path.resolve('packs/default')];

interface ArraySpec {
  dtype: string;
  shape: number[];
  file: string;
}
interface Case {
  graph: 'compressor' | 'aggregator' | 'decoder';
  /** What computed the outputs (default pytorch); quantized graphs are checked against onnxruntime-python. */
  reference?: string;
  /** Overrides the manifest's tolerance for this case. */
  tolerance?: { absolute: number };
  inputs: Record<string, ArraySpec>;
  outputs: Record<string, ArraySpec>;
}
interface VectorManifest {
  tolerance: { absolute: number };
  cases: Case[];
  tokenizer: { text: string; ids: number[] }[];
}

function readArray(TV: string, spec: ArraySpec): ort.Tensor {
  const buf = fs.readFileSync(path.join(TV, spec.file));
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  switch (spec.dtype) {
    case 'float32':
      assert.equal(buf.byteLength, n * 4, `${spec.file}: size`);
      return new ort.Tensor('float32', new Float32Array(ab), spec.shape);
    case 'int64':
      assert.equal(buf.byteLength, n * 8, `${spec.file}: size`);
      return new ort.Tensor('int64', new BigInt64Array(ab), spec.shape);
    case 'bool':
      return new ort.Tensor('bool', new Uint8Array(ab), spec.shape);
    default:
      throw new Error(`${spec.file}: unsupported dtype ${spec.dtype}`);
  }
}

/**
 * Quantized outputs: cosine ≥ 0.995 to the reference, max abs diff ≤ 10 % of the reference's range, and for logits
 * the same top-1 token wherever the reference's top two are 0.5 apart. What a CPU can change: MatMulNBits at
 * accuracy_level 4 quantizes the activations to int8 where the CPU has an int8 path and computes in fp32 where it
 * has none. The shipped decoder (4-bit q4_1 layers, int8 lm_head) with int8 vs fp32 activations on these inputs:
 * worst cosine 0.99896 (present.23.value), logits 0.99994, max diff 5.0 % of the range, same top-1 (the int8
 * decoder before it: 0.99934). Real bugs are far outside: positions offset by the prefix give cosine 0.82, the
 * prefix masked out 0.76, key/value swapped -0.08, with the top-1 token changed (docs/model-pack.md).
 */
export const QUANTIZED_BOUNDS = { cosine: 0.995, relRange: 0.1, top1Margin: 0.5 };

function checkQuantized(what: string, g: Float32Array, w: Float32Array, shape: number[], logits: boolean): void {
  let dot = 0;
  let ng = 0;
  let nw = 0;
  let maxDiff = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < w.length; i++) {
    const d = Math.abs(g[i] - w[i]);
    maxDiff = Number.isNaN(d) ? Infinity : Math.max(maxDiff, d);
    dot += g[i] * w[i];
    ng += g[i] * g[i];
    nw += w[i] * w[i];
    lo = Math.min(lo, w[i]);
    hi = Math.max(hi, w[i]);
  }
  const cos = ng === 0 && nw === 0 ? 1 : dot / Math.sqrt(ng * nw);
  const range = hi - lo;
  console.log(`${what}: cosine ${cos.toFixed(6)}, max abs diff ${maxDiff.toExponential(3)} (${((100 * maxDiff) / Math.max(range, 1e-12)).toFixed(2)} % of the reference's range)`);
  assert.ok(cos >= QUANTIZED_BOUNDS.cosine, `${what}: cosine ${cos} < ${QUANTIZED_BOUNDS.cosine}`);
  assert.ok(maxDiff <= QUANTIZED_BOUNDS.relRange * range + 1e-6, `${what}: max abs diff ${maxDiff} > ${QUANTIZED_BOUNDS.relRange} x range ${range}`);
  if (!logits) return;
  const V = shape[shape.length - 1];
  let checked = 0;
  for (let r = 0; r < w.length / V; r++) {
    let a = 0;
    let b = -1;
    let ag = 0;
    for (let v = 0; v < V; v++) {
      const x = w[r * V + v];
      if (x > w[r * V + a]) {
        b = a;
        a = v;
      } else if (v !== a && (b < 0 || x > w[r * V + b])) b = v;
      if (g[r * V + v] > g[r * V + ag]) ag = v;
    }
    if (b >= 0 && w[r * V + a] - w[r * V + b] < QUANTIZED_BOUNDS.top1Margin) continue; // a near tie may flip on another CPU
    checked++;
    assert.equal(ag, a, `${what}: position ${r} top-1 token ${ag}, reference ${a}`);
  }
  assert.ok(checked > 0, `${what}: no position with a clear top-1 to compare`);
}

function loadVectors(TV: string): VectorManifest {
  const p = path.join(TV, 'manifest.json');
  assert.ok(fs.existsSync(p), `test vectors missing: ${p} (the pack must be committed with its test vectors)`);
  return JSON.parse(fs.readFileSync(p, 'utf8')) as VectorManifest;
}

for (const PACK of PACKS) {
const TV = path.join(PACK, 'test-vectors');
const label = path.relative(process.cwd(), PACK);

test(`${label}: graph outputs match the trainer's references within the manifest tolerance`, async () => {
  const vm = loadVectors(TV);
  const pack = await loadPack(PACK);
  assert.ok(vm.cases.length >= 3, 'expected a case per graph');
  const graphsSeen = new Set<string>();
  try {
    for (const [ci, c] of vm.cases.entries()) {
      graphsSeen.add(c.graph);
      const tol = c.tolerance?.absolute ?? vm.tolerance.absolute;
      const ref = c.reference ?? 'pytorch';
      const { session } = await createSession(pack.graphPath(c.graph), 'cpu');
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, spec] of Object.entries(c.inputs)) feeds[name] = readArray(TV, spec);
      // The references hold every position's logits: a graph with logits_to_keep is asked for all (0).
      if (c.graph === 'decoder' && session.inputNames.includes(LOGITS_TO_KEEP) && !feeds[LOGITS_TO_KEEP]) {
        feeds[LOGITS_TO_KEEP] = new ort.Tensor('int64', BigInt64Array.of(0n), []);
      }
      const out = await session.run(feeds);
      for (const [name, spec] of Object.entries(c.outputs)) {
        const want = readArray(TV, spec);
        const got = out[name];
        assert.ok(got, `case ${ci} (${c.graph}): no output ${name}`);
        assert.deepEqual([...got.dims], spec.shape, `case ${ci} (${c.graph}) ${name}: shape`);
        const g = got.data as Float32Array | BigInt64Array;
        const w = want.data as Float32Array | BigInt64Array;
        if (ref !== 'pytorch' && g instanceof Float32Array && w instanceof Float32Array) {
          // A quantized graph (MatMulNBits with int8 activations where the CPU has that path): its
          // kernels round differently on other x64 CPUs, so the reference from the machine that made
          // it holds only up to that rounding. Checked by what the rounding cannot change.
          checkQuantized(`${label} parity case ${ci} ${c.graph}.${name}`, g, w, spec.shape, name === 'logits');
          continue;
        }
        let maxDiff = 0;
        for (let i = 0; i < w.length; i++) {
          const d = Math.abs(Number(g[i]) - Number(w[i]));
          if (!(d <= maxDiff)) maxDiff = Number.isNaN(d) ? Infinity : d;
        }
        console.log(`${label} parity case ${ci} ${c.graph}.${name} ${JSON.stringify(spec.shape)}: max abs diff ${maxDiff.toExponential(3)} vs ${ref} (tolerance ${tol})`);
        assert.ok(maxDiff <= tol, `case ${ci} (${c.graph}) ${name}: max abs diff ${maxDiff} > ${tol}`);
      }
      if (c.graph === 'decoder' && session.inputNames.includes(LOGITS_TO_KEEP)) {
        // logits_to_keep = 1 (what the engine asks for while generating) gives the last row of "all",
        // computed by the same kernels on the same inputs: equal to float rounding.
        const last = await session.run({ ...feeds, [LOGITS_TO_KEEP]: new ort.Tensor('int64', BigInt64Array.of(1n), []) });
        const all = out.logits;
        const [B, T, V] = all.dims;
        assert.deepEqual([...last.logits.dims], [B, 1, V], `case ${ci}: logits_to_keep=1 shape`);
        let maxDiff = 0;
        for (let b = 0; b < B; b++) {
          for (let v = 0; v < V; v++) {
            const d = Math.abs((last.logits.data as Float32Array)[b * V + v] - (all.data as Float32Array)[(b * T + T - 1) * V + v]);
            maxDiff = Math.max(maxDiff, d);
          }
        }
        assert.ok(maxDiff <= 1e-3, `case ${ci}: logits_to_keep=1 vs the last row of all logits: max abs diff ${maxDiff}`);
        for (let l = 0; l < pack.manifest.baseModel.numLayers; l++) {
          assert.deepEqual([...last[`present.${l}.key`].dims], [...out[`present.${l}.key`].dims], 'the cache still covers every position');
        }
      }
    }
    for (const g of ['compressor', 'aggregator', 'decoder']) assert.ok(graphsSeen.has(g), `no parity case for ${g}`);
  } finally {
    await releaseAllSessions();
  }
});

test(`${label}: the engine's decode path (its cache protocol) gives the decoder references`, async () => {
  // The decoder case through Decoder's own cache handling: for a shared-buffer pack the prefix copied
  // into a preallocated buffer, appended to in place, and a contrast row (no prefix) beside it.
  const vm = loadVectors(TV);
  const pack = await loadPack(PACK);
  const c = vm.cases.find((k) => k.graph === 'decoder' && Object.keys(k.inputs).includes('past_key_values.0.key'));
  if (!c) return;
  const dec = await Decoder.create(pack, 'cpu');
  try {
    const ids = Array.from(readArray(TV, c.inputs.input_ids).data as BigInt64Array, Number);
    const tensors: Record<string, ort.Tensor> = {};
    for (const [n, spec] of Object.entries(c.inputs)) if (n.startsWith('past_key_values.')) tensors[n] = readArray(TV, spec);
    const P = c.inputs['past_key_values.0.key'].shape[2];
    const ref = readArray(TV, c.outputs.logits);
    const [, T, V] = c.outputs.logits.shape;
    const last = (ref.data as Float32Array).subarray((T - 1) * V, T * V);
    type Step = (cache: unknown, tokens: number[][], pos: number, masked: number[]) => Promise<{ logits: Float32Array[] }>;
    const d = dec as unknown as { initialCache: (p: unknown, contrast: boolean, n: number) => { cache: unknown; masked: number[] }; step: Step };
    const init = d.initialCache({ length: P, tensors, numMemories: 1 }, true, ids.length + 1);
    const { logits } = await d.step.call(dec, init.cache, [ids, ids], 0, init.masked);
    const quantized = c.reference !== undefined && c.reference !== 'pytorch';
    if (quantized) checkQuantized(`${label} engine decode (${pack.manifest.decoderCache}) logits`, logits[0], last, [1, V], true);
    else {
      let maxDiff = 0;
      for (let v = 0; v < V; v++) maxDiff = Math.max(maxDiff, Math.abs(logits[0][v] - last[v]));
      assert.ok(maxDiff <= (c.tolerance?.absolute ?? vm.tolerance.absolute), `engine decode logits: max abs diff ${maxDiff}`);
    }
    // the contrast row computes the prompt without the prefix: the same as a run without it
    const plain = d.initialCache(null, false, ids.length + 1);
    const alone = (await d.step.call(dec, plain.cache, [ids], 0, plain.masked)).logits[0];
    let diff = 0;
    for (let v = 0; v < V; v++) diff = Math.max(diff, Math.abs(alone[v] - logits[1][v]));
    console.log(`${label} engine decode (${pack.manifest.decoderCache}): contrast row vs no prefix max abs diff ${diff.toExponential(3)}`);
    assert.ok(diff <= 1e-3, `contrast row differs from a run without the prefix by ${diff}`);
  } finally {
    await releaseAllSessions();
  }
});

test(`${label}: tokenizer matches the Python tokenizer (ids and round trip)`, async () => {
  const vm = loadVectors(TV);
  const pack = await loadPack(PACK, { verifyHashes: false });
  assert.ok(vm.tokenizer.length > 0, 'no tokenizer cases');
  for (const c of vm.tokenizer) {
    assert.deepEqual(pack.tokenizer.encode(c.text), c.ids, `ids of ${JSON.stringify(c.text)}`);
    assert.equal(pack.tokenizer.decode(c.ids), c.text, `decode of ${JSON.stringify(c.text)}`);
  }
  console.log(`${label} tokenizer parity: ${vm.tokenizer.length} cases equal`);
});
}

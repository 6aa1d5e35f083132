// Parity with PyTorch: every case in test-vectors/manifest.json is run through the named graph and
// every output compared; tokenizer cases must give the same ids and decode back to the same text.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadPack } from '../../src/core/pack';
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
      const out = await session.run(feeds);
      for (const [name, spec] of Object.entries(c.outputs)) {
        const want = readArray(TV, spec);
        const got = out[name];
        assert.ok(got, `case ${ci} (${c.graph}): no output ${name}`);
        assert.deepEqual([...got.dims], spec.shape, `case ${ci} (${c.graph}) ${name}: shape`);
        const g = got.data as Float32Array | BigInt64Array;
        const w = want.data as Float32Array | BigInt64Array;
        let maxDiff = 0;
        for (let i = 0; i < w.length; i++) {
          const d = Math.abs(Number(g[i]) - Number(w[i]));
          if (!(d <= maxDiff)) maxDiff = Number.isNaN(d) ? Infinity : d;
        }
        console.log(`${label} parity case ${ci} ${c.graph}.${name} ${JSON.stringify(spec.shape)}: max abs diff ${maxDiff.toExponential(3)} vs ${ref} (tolerance ${tol})`);
        assert.ok(maxDiff <= tol, `case ${ci} (${c.graph}) ${name}: max abs diff ${maxDiff} > ${tol}`);
      }
    }
    for (const g of ['compressor', 'aggregator', 'decoder']) assert.ok(graphsSeen.has(g), `no parity case for ${g}`);
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

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compressorFlopsPerToken, runBench } from '../src/bench/index';
import { matmulModel, measurePeakGflops } from '../src/bench/matmul';
import { loadPack } from '../src/core/pack';
import { ort } from '../src/core/runtime';

const REPO = path.resolve(__dirname, '..', '..');
const TINY = path.join(REPO, 'test', 'fixtures', 'tiny-pack');

test('hand-written MatMul ONNX model loads and multiplies', async () => {
  const s = await ort.InferenceSession.create(matmulModel(2, 3, 2));
  const a = new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
  const b = new ort.Tensor('float32', Float32Array.from([1, 0, 0, 1, 1, 1]), [3, 2]);
  const out = await s.run({ A: a, B: b });
  assert.deepEqual(Array.from(out.C.data as Float32Array), [4, 5, 10, 11]);
  await s.release();
  const p = await measurePeakGflops(64, 2, 1);
  assert.ok(p.peakGflops > 0 && p.peakGflops >= p.medianGflops);
});

test('compressor FLOPs per token from pack dims', async () => {
  const pack = await loadPack(TINY, { verifyHashes: false });
  const a = compressorFlopsPerToken(pack.manifest, 50);
  const b = compressorFlopsPerToken(pack.manifest, 90);
  const m = pack.manifest.baseModel;
  // at least the dense projections + MLP of one layer, 2 FLOPs per multiply-add
  assert.ok(a.flopsPerToken > 2 * (4 * m.hiddenSize * m.hiddenSize * 0.5 + 3 * m.hiddenSize * m.intermediateSize));
  assert.ok(b.flopsPerToken > 0 && a.detail.layers >= 1);
});

test('cmt bench --quick on the tiny pack: structure and sane values', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-benchtest-'));
  try {
    const r = await runBench({ pack: TINY, quick: true, outDir: out, repoRoot: REPO, log: () => undefined, command: 'test' });
    assert.equal(r.kind, 'cmt-bench');
    const c = r.compress!;
    assert.ok(c.tokens > 0 && c.tokensPerSecond > 0 && c.flopsPerToken > 0);
    assert.ok(c.peak.peakGflops > 0 && c.fractionOfPeak > 0);
    const a = r.answer!;
    assert.deepEqual(a.rows.map((x) => x.variant), ['cmt', 'cmt_alpha0', 'rag_in_context']);
    for (const x of a.rows) {
      assert.ok(x.ttftMs.p50 > 0 && x.ttftMs.p95 >= x.ttftMs.p50);
      assert.ok(x.promptTokens.mean > 0);
      assert.ok(x.generatedTokens === x.questions * a.answerTokens, 'stop tokens off: every answer has answerTokens tokens');
    }
    const rag = a.rows.find((x) => x.variant === 'rag_in_context')!;
    const cmt = a.rows.find((x) => x.variant === 'cmt')!;
    assert.ok(rag.promptTokens.mean > cmt.promptTokens.mean);
    assert.ok(cmt.prefixSlots > 0 && rag.prefixSlots === 0);
    const rt = r.retrieval!;
    assert.deepEqual(rt.rows.map((x) => x.memories), [300, 1000]);
    for (const x of rt.rows) {
      assert.ok(x.vector.p50 > 0 && x.hybrid.p50 > 0 && x.bytesPerMemory > 0);
      // a memory holds at least its k*d float32 slots
      assert.ok(x.bytesPerMemory >= 4 * r.pack.dims.memorySlots * r.pack.dims.memoryDim * 0.9);
    }
    assert.ok(rt.rows[1].indexed && rt.rows[1].indexed.recallAt10 >= 0 && rt.rows[1].indexed.recallAt10 <= 1);
    const mz = r.memorize!;
    assert.equal(mz.files, 40);
    assert.equal(mz.memorized + mz.skipped + mz.failed, 40);
    assert.ok(mz.chunks >= mz.memorized && mz.engineMaxRssMiB > 10 && mz.bankBytes > 0);
    assert.ok(mz.callerEventLoopLagMs.p99 >= 0);
    for (const f of r.files) assert.ok(fs.existsSync(path.join(out, path.basename(f))), f);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

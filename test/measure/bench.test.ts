import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compressorFlopsPerToken } from '../../src/bench/compress';
import { decodeConsoleTable } from '../../src/bench/decode';
import { runBench } from '../../src/bench/index';
import { findPackGguf } from '../../src/bench/llamacpp';
import { benchMarkdown } from '../../src/bench/report';
import { matmulModel, measurePeakGflops } from '../../src/bench/matmul';
import { loadPack } from '../../src/core/pack';
import { ort } from '../../src/core/runtime';

const REPO = path.resolve(__dirname, '..', '..', '..');
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
    assert.equal(rt.column, 'key'); // the tiny pack has no embedder: its key column, question keys from the compressor
    for (const x of rt.rows) {
      assert.ok(x.encode.p50 > 0 && x.exact.search.p50 > 0 && x.exact.hybrid.p50 > 0 && x.bytesPerMemory > 0);
      assert.ok(x.exact.query.p50 >= x.exact.search.p50 * 0.5, 'embed + search includes the encoding');
      // a memory holds at least its k*d float32 slots
      assert.ok(x.bytesPerMemory >= 4 * r.pack.dims.memorySlots * r.pack.dims.memoryDim * 0.9);
    }
    assert.equal(rt.rows[0].ann, undefined, 'below indexMin: exact only');
    const ann = rt.rows[1].ann!;
    assert.ok(ann.recallAt10 >= 0.8 && ann.recallAt10 <= 1, `ANN recall@10 on clustered keys ${ann.recallAt10}`);
    assert.match(ann.kind, /key:/);
    assert.ok(ann.indexMs > 0 && ann.query.p50 > 0);
    const mz = r.memorize!;
    assert.equal(mz.files, 40);
    assert.equal(mz.memorized + mz.skipped + mz.failed, 40);
    assert.ok(mz.chunks >= mz.memorized && mz.engineMaxRssMiB > 10 && mz.bankBytes > 0);
    assert.ok(mz.callerEventLoopLagMs.p99 >= 0);
    assert.match(r.embedder!.skipped ?? '', /no sentence embedder/, 'the tiny pack has no embedder: the section says so instead of timing nothing');
    assert.match(benchMarkdown(r), /Sentence embedder cost[\s\S]*Not measured/);
    const mem = r.memory!;
    assert.deepEqual(mem.cases.map((x) => x.mode), ['memorize', 'ask', 'both']);
    for (const x of mem.cases) assert.ok(x.peakMiB >= x.afterOpenMiB && x.afterOpenMiB > 10 && x.cpuS > 0, JSON.stringify(x));
    assert.ok(mem.files > 0 && mem.answers.length === mem.questions.length);
    assert.ok(mem.cases[1].afterMemorizeMiB - mem.cases[1].afterOpenMiB < 5, 'the ask process memorizes nothing (its peak moves by rounding only)');
    assert.equal(r.search, undefined, 'search runs only when asked for');
    const dc = r.decode!;
    assert.ok(dc.rows.length >= 1 && dc.rows.every((x) => x.engine === 'onnxruntime' || dc.llamacpp.available));
    for (const f of r.files) assert.ok(fs.existsSync(path.join(out, path.basename(f))), f);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('decode section: ORT numbers always; llama.cpp side skipped with a clear reason when the GGUF is absent', async () => {
  const r = await runBench({
    pack: TINY,
    sections: ['decode'],
    gguf: path.join(os.tmpdir(), 'no-such-dir-cmt', 'missing.gguf'),
    decodePrompts: [20, 60],
    decodeTokens: 4,
    decodeRepeats: 1,
    repoRoot: REPO,
    write: false,
    log: () => undefined,
    command: 'test',
  });
  const d = r.decode!;
  assert.equal(r.compress, undefined);
  assert.deepEqual(d.rows.map((x) => [x.engine, x.promptTokens]), [['onnxruntime', 20], ['onnxruntime', 60]]);
  for (const x of d.rows) assert.ok(x.ttftMs.p50 > 0 && x.decodeTokensPerSecond.p50 > 0 && x.newTokens === 4 && x.repeats === 1);
  assert.equal(d.threads, 2);
  assert.equal(d.llamacpp.available, false);
  assert.match(d.llamacpp.reason!, /GGUF not found/);
  assert.deepEqual(d.ratios, []);
  assert.match(benchMarkdown(r), /llama\.cpp: \*\*not measured\*\*/);
  assert.match(decodeConsoleTable(d), /llama\.cpp: not measured/);
});

test('decode section: default GGUF = pack.json baseModel.source.file under the project .venv site-packages', async () => {
  const pack = await loadPack(TINY, { verifyHashes: false });
  assert.match(findPackGguf(pack, [REPO]).reason!, /baseModel\.source/);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-benchvenv-'));
  try {
    const src = { package: 'llm-x', version: '0.1.0', file: 'llm_x/m.Q4_1.gguf', sha256: 'ab' };
    const withSource = { ...pack, manifest: { ...pack.manifest, baseModel: { ...pack.manifest.baseModel, source: src } } } as typeof pack;
    assert.match(findPackGguf(withSource, [root]).reason!, /llm-x==0\.1\.0.*not found/);
    const dir = path.join(root, '.venv', 'lib', 'python3.11', 'site-packages', 'llm_x');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'm.Q4_1.gguf'), 'GGUF');
    const f = findPackGguf(withSource, [path.join(root, 'elsewhere'), root]);
    assert.equal(f.path, path.join(dir, 'm.Q4_1.gguf'));
    assert.equal(f.expectedSha256, 'ab');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

// Runs llama.cpp only where a GGUF is at hand: CMT_BENCH_GGUF, or the default pack's own GGUF in .venv.
const DEFAULT_PACK = path.join(REPO, 'packs', 'default');
const benchGguf = (() => {
  if (process.env.CMT_BENCH_GGUF) return { gguf: process.env.CMT_BENCH_GGUF, pack: TINY };
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(DEFAULT_PACK, 'pack.json'), 'utf8'));
    const f = findPackGguf({ manifest } as Parameters<typeof findPackGguf>[0], [REPO]);
    return f.path ? { gguf: f.path, pack: DEFAULT_PACK } : undefined;
  } catch {
    return undefined;
  }
})();
let hasNodeLlamaCpp = true;
try {
  require.resolve('node-llama-cpp');
} catch {
  hasNodeLlamaCpp = false;
}

test('decode section: ORT and llama.cpp side by side on a GGUF', { skip: !benchGguf ? 'no GGUF (set CMT_BENCH_GGUF, or build packs/default with its baseModel.source)' : !hasNodeLlamaCpp ? 'node-llama-cpp not installed' : false }, async () => {
  const r = await runBench({
    pack: benchGguf!.pack,
    sections: ['decode'],
    gguf: benchGguf!.gguf,
    decodeThreads: 1, // structure only; one thread keeps llama.cpp usable on a busy machine (its threads spin-wait on each other)
    decodePrompts: [16],
    decodeTokens: 4,
    decodeRepeats: 1,
    repoRoot: REPO,
    write: false,
    log: () => undefined,
    command: 'test',
  });
  const d = r.decode!;
  assert.equal(d.llamacpp.available, true, d.llamacpp.reason);
  assert.deepEqual(d.rows.map((x) => x.engine), ['onnxruntime', 'llama.cpp']);
  for (const x of d.rows) assert.ok(x.ttftMs.p50 > 0 && x.decodeTokensPerSecond.p50 > 0);
  assert.equal(d.ratios.length, 1);
  assert.ok(d.ratios[0].ttft > 0 && d.ratios[0].decode > 0);
  assert.match(d.llamacpp.sha256!, /^[0-9a-f]{64}$/);
  assert.equal(d.threads, 1);
  assert.match(benchMarkdown(r), /Speed ratio ORT \/ llama\.cpp/);
});

test('cmt bench --sections embedder on a pack with the embedder: with and without it, ABBA, per dataset', async (t) => {
  const packDir = path.join(REPO, 'packs', 'default');
  const pj = path.join(packDir, 'pack.json');
  if (!fs.existsSync(pj) || !JSON.parse(fs.readFileSync(pj, 'utf8')).embedder) {
    t.skip('no built pack with an embedder (bash scripts/setup.sh builds packs/default)');
    return;
  }
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-benchtest-'));
  try {
    const r = await runBench({ pack: packDir, sections: ['embedder'], embedderRepeats: 1, embedderDocs: 12, embedderDatasets: ['workspace-test'], outDir: out, repoRoot: REPO, log: () => undefined, command: 'test' });
    const e = r.embedder!;
    assert.equal(e.skipped, undefined);
    assert.equal(e.embedder!.maxTokens, JSON.parse(fs.readFileSync(pj, 'utf8')).embedder.maxTokens);
    assert.equal(e.rows.length, 1);
    const row = e.rows[0];
    assert.equal(row.documents, 12);
    assert.deepEqual(row.runs.map((x) => x.embedder), [true, false, false, true]);
    assert.ok(row.chunks >= 12 && row.sourceTokens > 0);
    assert.ok(row.withMs > 0 && row.withoutMs > 0 && row.embedderMs > 0 && row.embedderMs < row.withMs);
    assert.ok(Number.isFinite(row.addedPct) && row.embedderShareOfRestPct > 0);
    assert.equal(r.compress, undefined, 'only the requested section ran');
    assert.match(benchMarkdown(r), /\| workspace-test \| 12 \|/);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

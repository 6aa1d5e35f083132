import { containsAnswer, isCorrect } from '../../src/measure/metrics';
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { exactMatch, f1Score, normalizeAnswer, prefixExactMatch } from '../../src/measure/metrics';
import { percentile } from '../../src/measure/stats';
import { loadDataset, parseSquad, questionsOf } from '../../src/measure/dataset';
import { runEval } from '../../src/eval/index';
import { groundingOf } from '../../src/eval/scores';
import { type QuestionOutcome, VARIANTS } from '../../src/eval/variants';
import { fitFloors } from '../../src/eval/calibrate';
import { lineChart, barChart } from '../../src/measure/svg';

const REPO = path.resolve(__dirname, '..', '..', '..');
const TINY = path.join(REPO, 'test', 'fixtures', 'tiny-pack');

// Expected values computed with training/cmt/metrics.py (normalize_answer, f1_score, prefix_exact_match).
const PY_CASES: Array<[string, string, string, number, number]> = [
  ['The Cat, sat!', 'cat sat', 'cat sat', 1.0, 1.0],
  ['an apple a day', '', 'apple day', 0.0, 1.0],
  ['théâtre the—end', 'x', 'théâtre —end', 0.0, 0.0],
  ['Über_the a', 'a', 'überthe', 0.0, 1.0],
  ['  Hello   World  ', 'hello world', 'hello world', 1.0, 1.0],
  ['the the', 'the', '', 0.0, 1.0],
  ['port 8431.', '8431', 'port 8431', 0.6666666666666666, 0.0],
  ['a-b c_d', 'ab cd', 'ab cd', 1.0, 1.0],
];

test('metrics match training/cmt/metrics.py', () => {
  for (const [pred, gold, norm, f1, pem] of PY_CASES) {
    assert.equal(normalizeAnswer(pred), norm, pred);
    assert.ok(Math.abs(f1Score(pred, [gold]) - f1) < 1e-12, `f1 ${pred}`);
    assert.equal(prefixExactMatch(pred, [gold]), pem, `prefix EM ${pred}`);
  }
  assert.equal(exactMatch('The Eiffel Tower.', ['eiffel tower', 'x']), 1);
  assert.equal(exactMatch('Eiffel Tower in Paris', ['eiffel tower']), 0);
  assert.equal(prefixExactMatch('Eiffel Tower in Paris', ['eiffel tower']), 1);
  assert.equal(f1Score('', ['a b']), 0);
  assert.equal(percentile([5, 1, 3, 2, 4], 50), 3);
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95), 10);
  assert.ok(Number.isNaN(percentile([], 50)));
});

test('SQuAD loading: paragraphs -> documents, deduplicated answers, fixture paths', () => {
  const ds = parseSquad(
    JSON.stringify({ data: [{ title: 'A/B c', paragraphs: [{ context: 'x y', qas: [{ question: 'q?', answers: [{ text: 'y' }, { text: 'y' }] }] }, { context: 'z', qas: [] }] }] }),
    't',
    'mem',
  );
  assert.equal(ds.documents.length, 2);
  assert.equal(ds.documents[0].path, 'A_B_c/0.txt');
  assert.deepEqual(ds.questions[0].answers, ['y']);
  const ws = loadDataset('workspace-test', REPO);
  assert.equal(ws.documents.length, 300);
  assert.ok(ws.questions.length > 1000);
  assert.ok(ws.documents.every((d) => !d.path.endsWith('.txt') || d.path.includes('/')));
  const sq = loadDataset('squad-notre-dame', REPO);
  assert.equal(sq.documents.length, 55);
  assert.equal(sq.questions.length, 269);
  const few = questionsOf(ws, ws.documents.slice(0, 5), 7);
  assert.equal(few.length, 7);
  assert.equal(new Set(few.map((q) => q.docId)).size, 5); // spread over the documents
});

test('SVG charts are well-formed', () => {
  const a = lineChart({ title: 'x<y', xLabel: 'n', yLabel: 'f1', series: [{ name: 's', points: [[1, 2], [3, NaN], [4, 5]] }] });
  assert.match(a, /^<svg[\s\S]*<\/svg>\n$/);
  assert.ok(a.includes('x&lt;y'));
  const b = barChart({ title: 't', xLabel: 'v', bars: [{ label: 'a', value: 1 }, { label: 'b', value: NaN }] });
  assert.equal((b.match(/<rect /g) ?? []).length, 3);
});

test('cmt eval --quick on the tiny pack: structure and sane values', async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'cmt-evaltest-'));
  try {
    const r = await runEval({ pack: TINY, quick: true, outDir: out, repoRoot: REPO, log: () => undefined, command: 'test' });
    assert.equal(r.kind, 'cmt-eval');
    assert.equal(r.runs.length, 2);
    for (const run of r.runs) {
      assert.ok(run.documents > 0 && run.questions > 0);
      assert.equal(run.memorize.failed, 0);
      assert.equal(run.memorize.memorized, run.documents);
      assert.ok(run.memorize.chunks >= run.documents);
      assert.deepEqual(Object.keys(run.variants).sort(), [...VARIANTS].sort());
      for (const v of Object.values(run.variants)) {
        assert.equal(v.n, run.questions);
        for (const x of [v.em, v.prefixEm, v.f1]) assert.ok(x >= 0 && x <= 100);
        assert.ok(v.prefixEm >= v.em);
        assert.ok(v.latencyMs.p50 > 0 && v.latencyMs.p95 >= v.latencyMs.p50);
        assert.ok(v.promptTokens.mean > 0);
        const g = v.grounding;
        for (const x of [g.found, g.confidentWrong, g.correctNotSure]) assert.ok(x >= 0 && x <= 100);
        assert.ok(g.confidentWrong <= g.found);
        if (g.found === 0) assert.equal(g.foundPrecision, null);
      }
      // closed-book cites nothing: never "found in source"
      assert.equal(run.variants.closed_book!.grounding.found, 0);
      // RAG puts raw text in the prompt: its prompts are longer than the question-only prompts.
      assert.ok(run.variants.rag_in_context!.promptTokens.mean > run.variants.closed_book!.promptTokens.mean);
      for (const k of ['vector', 'text', 'hybrid'] as const) {
        assert.ok(run.retrieval[k].recall1 >= 0 && run.retrieval[k].recall1 <= run.retrieval[k].recall5 && run.retrieval[k].recall5 <= 100);
      }
    }
    assert.ok(r.retention && r.retention.points.length >= 2);
    const mems = r.retention.points.map((p) => p.memories);
    assert.ok(mems.every((m, i) => i === 0 || m > mems[i - 1]), 'bank grows along the retention curve');
    assert.ok(r.noise && r.noise.points.length >= 2 && r.noise.points[0].x === 0);
    for (const f of r.files) assert.ok(fs.existsSync(path.join(out, path.basename(f))), f);
    const json = JSON.parse(fs.readFileSync(path.join(out, 'eval-quick.json'), 'utf8'));
    assert.equal(json.kind, 'cmt-eval');
    const md = fs.readFileSync(path.join(out, 'eval-quick.md'), 'utf8');
    assert.match(md, /\| variant \| EM \| prefix EM \| F1 \|/);
    assert.match(md, /\| variant \| found in source \| precision of found \| confident-wrong \|/);
    assert.ok(json.runs[0].examples[0].grounding.cmt.verdict, 'examples carry the verdicts');
    assert.ok(fs.readFileSync(path.join(out, 'eval-quick-retention.svg'), 'utf8').startsWith('<svg'));
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test('grounding metrics: share found, precision of found, confident-wrong rate', () => {
  const o = (verdict: 'found' | 'not-sure', f1: number): QuestionOutcome => ({
    question: 'q', answers: ['a'], goldPath: 'p', rank: { vector: 1, text: 1, hybrid: 1 },
    preds: { cmt: 'x' }, scores: { cmt: { em: f1 === 1 ? 1 : 0, prefixEm: 0, f1, contains: false } },
    grounding: { cmt: { verdict, reason: verdict === 'found' ? 'in-source' : 'not-in-source', memoryGain: 0.5, inSource: verdict === 'found', confidence: -0.5 } },
    latencyMs: { cmt: 1 }, promptTokens: { cmt: 1 },
  });
  // 4 found (3 right, 1 wrong: F1 0.4 < 0.5), 4 not sure (1 of them right)
  const xs = [o('found', 1), o('found', 1), o('found', 0.5), o('found', 0.4), o('not-sure', 0), o('not-sure', 0), o('not-sure', 0), o('not-sure', 1)];
  assert.deepEqual(groundingOf(xs, 'cmt'), { found: 50, foundPrecision: 75, confidentWrong: 12.5, correctNotSure: 12.5 });
  assert.deepEqual(groundingOf([o('not-sure', 0)], 'cmt'), { found: 0, foundPrecision: null, confidentWrong: 0, correctNotSure: 0 });
});

test('correct: F1 >= 0.5, or the gold answer contained whole (a sentence answer)', () => {
  assert.equal(containsAnswer('The main library is 14 stories tall.', ['14']), true);
  assert.equal(containsAnswer('It is 144 stories tall.', ['14']), false);
  assert.equal(containsAnswer('', ['14']), false);
  assert.equal(isCorrect({ f1: 0.29, contains: true }), true);
  assert.equal(isCorrect({ f1: 0.29, contains: false }), false);
  assert.equal(isCorrect({ f1: 0.5 }), true);
});

test('grounding floor fit: the loosest confidence floor that keeps confident-wrong under the target on every dataset', () => {
  const o = (inSource: boolean, confidence: number, right: boolean): QuestionOutcome => ({
    question: 'q', answers: ['a'], goldPath: 'p', rank: { vector: 1, text: 1, hybrid: 1 },
    preds: { rag_top1: 'x' }, scores: { rag_top1: { em: right ? 1 : 0, prefixEm: 0, f1: right ? 1 : 0, contains: right } },
    grounding: { rag_top1: { verdict: inSource ? 'found' : 'not-sure', reason: inSource ? 'in-source' : 'not-in-source', memoryGain: null, inSource, confidence } },
    latencyMs: { rag_top1: 1 }, promptTokens: { rag_top1: 1 },
  });
  // A: wrong in-source answers at -2 and -1.5; right ones at -0.2 and -1.0. B: wrong at -0.8.
  const a = [o(true, -0.2, true), o(true, -1.0, true), o(true, -2, false), o(true, -1.5, false), o(false, -0.1, false)];
  const b = [o(true, -0.1, true), o(true, -0.8, false), o(true, -0.3, true), o(false, -3, false)];
  const [fit] = fitFloors({ a, b }, ['rag_top1'], 0);
  assert.equal(fit.mode, 'top-chunk');
  assert.equal(fit.floor, -0.3, 'B forces the floor above its wrong answer at -0.8; -0.3 is the loosest that does');
  assert.equal(fit.met, true);
  assert.deepEqual(fit.datasets.a, { n: 5, found: 20, foundPrecision: 100, confidentWrong: 0 });
  assert.deepEqual(fit.datasets.b, { n: 4, found: 50, foundPrecision: 100, confidentWrong: 0 });
  // A loose target needs no floor at all.
  assert.equal(fitFloors({ a, b }, ['rag_top1'], 50)[0].floor, null);
  // A wrong answer more confident than every right one: no floor meets 0%, and the fit says so.
  const c = [o(true, -0.01, false), o(true, -0.5, true)];
  const strict = fitFloors({ c }, ['rag_top1'], 0)[0];
  assert.equal(strict.met, false);
  assert.equal(strict.datasets.c.found, 0);
  // closed-book cites nothing and is not fitted
  assert.deepEqual(fitFloors({ a }, ['closed_book'], 0), []);
});

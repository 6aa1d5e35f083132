// Scoring a dataset's answers: per-variant summaries (EM, F1, right, grounding, latency), gold
// retrieval ranks, and the loop that answers every question on a bank.
import type { EvalQuestion } from '../measure/dataset';
import { isCorrect } from '../measure/metrics';
import { mean, p50p95, pct, round } from '../measure/stats';
import type { StreamingBank } from './harness';
import type { DatasetRun, VariantSummary } from './types';
import { AnswerSettings, QuestionOutcome, Variant, VARIANT_LABELS } from './variants';

export function summarize(outs: QuestionOutcome[], variants: readonly Variant[]): DatasetRun['variants'] {
  const res: DatasetRun['variants'] = {};
  for (const v of variants) {
    const xs = outs.filter((o) => o.scores[v]);
    const lat = xs.map((o) => o.latencyMs[v]!);
    const pt = xs.map((o) => o.promptTokens[v]!);
    res[v] = {
      label: VARIANT_LABELS[v],
      n: xs.length,
      em: pct(xs.reduce((a, o) => a + o.scores[v]!.em, 0), xs.length),
      prefixEm: pct(xs.reduce((a, o) => a + o.scores[v]!.prefixEm, 0), xs.length),
      f1: pct(xs.reduce((a, o) => a + o.scores[v]!.f1, 0), xs.length),
      right: pct(xs.filter((o) => isCorrect(o.scores[v]!)).length, xs.length),
      latencyMs: p50p95(lat, 1),
      promptTokens: { mean: round(mean(pt), 1), max: pt.length ? Math.max(...pt) : 0 },
      grounding: groundingOf(xs, v),
    };
  }
  return res;
}

/** Grounding summary of one variant's answers. */
export function groundingOf(xs: QuestionOutcome[], v: Variant): VariantSummary['grounding'] {
  const found = xs.filter((o) => o.grounding[v]?.verdict === 'found');
  const right = (o: QuestionOutcome) => isCorrect(o.scores[v]!);
  const foundRight = found.filter(right).length;
  return {
    found: pct(found.length, xs.length),
    foundPrecision: found.length ? pct(foundRight, found.length) : null,
    confidentWrong: pct(found.length - foundRight, xs.length),
    correctNotSure: pct(xs.filter((o) => o.grounding[v]?.verdict !== 'found' && right(o)).length, xs.length),
  };
}

/** Gold-document recall@1/@5 of each retriever over the questions. */
export function retrievalOf(outs: QuestionOutcome[]): DatasetRun['retrieval'] {
  const r = (key: 'vector' | 'text' | 'hybrid') => ({
    recall1: pct(outs.filter((o) => o.rank[key] === 1).length, outs.length),
    recall5: pct(outs.filter((o) => o.rank[key] >= 1).length, outs.length),
  });
  return { vector: r('vector'), text: r('text'), hybrid: r('hybrid') };
}

/** The first `n` questions' predictions, for the JSON report. */
export function examplesOf(outs: QuestionOutcome[], n: number): DatasetRun['examples'] {
  return outs.slice(0, n).map((x) => ({ question: x.question, answers: x.answers, preds: x.preds, grounding: x.grounding }));
}

/** Answers every question with every variant on the bank (gold document: its file in the bank, unless `goldOf` says). */
export async function answerAll(
  bank: StreamingBank,
  qs: EvalQuestion[],
  variants: readonly Variant[],
  s: AnswerSettings,
  log: (m: string) => void,
  what: string,
  goldOf: (qa: EvalQuestion) => string = (qa) => bank.pathOf(qa.docId) ?? '',
): Promise<QuestionOutcome[]> {
  const outs: QuestionOutcome[] = [];
  let last = Date.now();
  for (const [i, qa] of qs.entries()) {
    const gold = goldOf(qa);
    outs.push(await bank.answer(qa, gold, variants, s));
    if (Date.now() - last > 15000) {
      last = Date.now();
      log(`  ${what}: ${i + 1}/${qs.length} questions`);
    }
  }
  return outs;
}

// `cmt bench --sections answer`: time to first token and decode tokens/s, CMT vs RAG-in-context, on
// the same base model: the pipeline of `ask` (question compression, hybrid match, aggregation or the
// RAG prompt, decoding), greedy, stop tokens off so that every answer has exactly N tokens.
import type { PackManifest } from '../core/packManifest';
import { loadDataset, questionsOf } from '../measure/dataset';
import type { OptionSpecs } from '../measure/options';
import type { ScratchBank } from '../measure/scratchBank';
import { mean, now, p50p95, percentile, round } from '../measure/stats';
import { barChart, mdTable } from '../measure/svg';
import type { BenchContext, BenchSection } from './types';

export const ANSWER_OPTIONS = {
  answerDocs: { flags: '--answer-docs <n>', description: 'documents in the answer-latency bank', kind: 'number', default: 100, quick: 6 },
  answerQuestions: { flags: '--answer-questions <n>', description: 'questions timed', kind: 'number', default: 20, quick: 3 },
  answerTokens: { flags: '--answer-tokens <n>', description: 'tokens generated per answer', kind: 'number', default: 32, quick: 4 },
} satisfies OptionSpecs;

export interface AnswerBenchRow {
  variant: 'cmt' | 'cmt_alpha0' | 'rag_in_context';
  questions: number;
  promptTokens: { mean: number; max: number };
  prefixSlots: number;
  ttftMs: { p50: number; p95: number };
  decodeTokensPerSecond: { p50: number; mean: number };
  generatedTokens: number;
}

export interface AnswerBench {
  docs: number;
  answerTokens: number;
  rows: AnswerBenchRow[];
}

type Pipeline = (variant: AnswerBenchRow['variant'], question: string, maxNew: number) => Promise<{ ms: number; promptTokens: number; prefixSlots: number; generated: number }>;

/** One timed pipeline: question -> compress -> match -> (aggregate | RAG prompt) -> generate `maxNew` tokens. */
async function pipelineOf(bank: ScratchBank, m: PackManifest, N: number): Promise<Pipeline> {
  const { match } = await import('../core/match');
  const e = bank.engine;
  const topK = m.defaults.topK;
  const ragBudget = m.baseModel.maxPositions - N - 1;
  return async (variant, question, maxNew) => {
    const t0 = now();
    const q = await e.compressor.compressQuestion(question);
    const matched = await match(e.bank, { key: q.key, text: question }, { topK, hybrid: true });
    let ids: number[];
    let prefix = null;
    if (variant === 'rag_in_context') {
      ids = bank.ragPrompt(question, matched.map((x) => x.record), ragBudget);
    } else {
      prefix = await e.aggregator.aggregate(q.memory, matched.map((x) => x.record.memory));
      ids = e.decoder.buildPrompt(question);
    }
    const r = await e.decoder.generate(ids, {
      prefix,
      alpha: variant === 'cmt' ? m.defaults.alpha : 0,
      maxNewTokens: maxNew,
      numBeams: 1,
      stopTokenIds: [],
      stopStrings: [],
      stopOnLoop: false,
    });
    return { ms: now() - t0, promptTokens: ids.length, prefixSlots: prefix?.length ?? 0, generated: r.tokenIds.length };
  };
}

/** One variant over the questions: TTFT = the pipeline with 1 token; decode tokens/s from the N-token run minus it. */
async function timeVariant(pipeline: Pipeline, variant: AnswerBenchRow['variant'], questions: string[], N: number): Promise<AnswerBenchRow> {
  await pipeline(variant, questions[0], 2); // warm-up
  const ttft: number[] = [];
  const tps: number[] = [];
  const pt: number[] = [];
  let P = 0;
  let gen = 0;
  for (const question of questions) {
    const a = await pipeline(variant, question, 1);
    const b = await pipeline(variant, question, N);
    ttft.push(a.ms);
    if (b.generated > 1 && b.ms > a.ms) tps.push((b.generated - 1) / ((b.ms - a.ms) / 1000));
    pt.push(b.promptTokens);
    P = b.prefixSlots;
    gen += b.generated;
  }
  return {
    variant,
    questions: questions.length,
    promptTokens: { mean: round(mean(pt), 1), max: Math.max(...pt) },
    prefixSlots: P,
    ttftMs: p50p95(ttft),
    decodeTokensPerSecond: { p50: round(percentile(tps, 50), 1), mean: round(mean(tps), 1) },
    generatedTokens: gen,
  };
}

async function benchAnswer(c: BenchContext): Promise<AnswerBench> {
  const { ScratchBank } = await import('../measure/scratchBank');
  const ds = loadDataset('workspace-test', c.repoRoot);
  const docs = ds.documents.slice(0, c.o.answerDocs);
  const qs = questionsOf(ds, docs, c.o.answerQuestions);
  const N = Math.max(2, c.o.answerTokens);
  const bank = await ScratchBank.open(c.pack.dir, c.device);
  const rows: AnswerBenchRow[] = [];
  try {
    await bank.add(docs);
    const pipeline = await pipelineOf(bank, c.pack.manifest, N);
    for (const variant of ['cmt', 'cmt_alpha0', 'rag_in_context'] as const) {
      const row = await timeVariant(pipeline, variant, qs.map((q) => q.question), N);
      rows.push(row);
      c.log(`[bench] answer ${variant}: TTFT p50 ${row.ttftMs.p50} ms, ${row.decodeTokensPerSecond.p50} tok/s, prompt ${row.promptTokens.mean} tokens`);
    }
  } finally {
    await bank.close();
  }
  return { docs: docs.length, answerTokens: N, rows };
}

function answerMarkdown(a: AnswerBench): string {
  return [
    `## Answering: time to first token and decode speed (${a.docs} documents in the bank, ${a.answerTokens} tokens generated, greedy, stop tokens off)\n`,
    mdTable(
      ['variant', 'prompt tokens (mean / max)', 'memory prefix slots', 'TTFT p50 ms', 'TTFT p95 ms', 'decode tokens/s (p50)'],
      a.rows.map((x) => [x.variant, `${x.promptTokens.mean} / ${x.promptTokens.max}`, x.prefixSlots, x.ttftMs.p50, x.ttftMs.p95, x.decodeTokensPerSecond.p50]),
    ),
    '\nTTFT = question compression + retrieval + (aggregation | RAG prompt building) + prefill + first token.\n',
  ].join('\n');
}

export const answerSection: BenchSection = {
  name: 'answer',
  options: ANSWER_OPTIONS,
  async run(c, r) {
    r.answer = await benchAnswer(c);
  },
  markdown: (r) => (r.answer ? answerMarkdown(r.answer) : ''),
  charts: (r, tag) =>
    r.answer
      ? { [`${tag}-ttft.svg`]: barChart({ title: `Time to first token, p50 (${r.pack.name})`, xLabel: 'ms', bars: r.answer.rows.map((x) => ({ label: `${x.variant} (${x.promptTokens.mean} prompt tok)`, value: x.ttftMs.p50 })) }) }
      : {},
};

// The streaming-QA section of `cmt eval` (MAC/CMT protocol): per dataset, every document into one
// fresh bank, then every question answered by every variant (variants.ts) on one base model and one
// bank: EM, prefix EM, F1, "right", grounding, latency, gold retrieval. Real-project datasets are
// qaReal.ts. The bank and the engine load inside run, not with the section list.
import * as path from 'node:path';
import type { PackManifest } from '../core/packManifest';
import { loadDataset, questionsOf } from '../measure/dataset';
import { CORRECT_F1 } from '../measure/metrics';
import type { OptionSpecs } from '../measure/options';
import { isRealSpec } from '../measure/realRepos';
import { round } from '../measure/stats';
import { barChart, mdTable } from '../measure/svg';
import { evalRealDataset, realAnswersMarkdown } from './qaReal';
import { answerAll, examplesOf, retrievalOf, summarize } from './scores';
import type { DatasetRun, EvalContext, EvalOptions, EvalReport, EvalSection } from './types';
import { AnswerSettings, Variant, VARIANTS } from './variants';

export const QA_OPTIONS = {
  variants: { flags: '--variants <list>', description: 'variants to run (closed_book, rag_in_context, cmt, ...; default: all; none: retrieval only)', kind: 'strings' },
  topK: { flags: '--top-k <k>', description: 'memories per question', kind: 'number' },
  alpha: { flags: '--alpha <a>', description: 'memory-aware contrast strength', kind: 'number' },
  maxNewTokens: { flags: '--max-new-tokens <n>', description: 'answer tokens', kind: 'number', quick: 4 },
  numBeams: { flags: '--beams <b>', description: 'beam width', kind: 'number' },
  /** K for the "without top-K" ablation (default maxSelected*4). */
  bigK: { flags: '--big-k <k>', description: 'memories for the cmt_no_topk ablation', kind: 'number' },
  examples: { flags: '--examples <n>', description: 'per-question predictions kept in the JSON report (default 8)', kind: 'number', default: 8, helpAfter: '--no-confidence-floors' },
  /**
   * Real-project datasets: write one JSON line per question to this file: the question, its
   * answers, kind and gold location, the fused retrieval's best three chunks and the chunks of the
   * gold file that hold the gold lines (the reader's training data: training/cmt/data/real.py).
   */
  dumpContexts: {
    flags: '--dump-contexts <file>',
    description: "real-project datasets: append each question's retrieved and gold chunks to FILE as JSON lines (the reader's training data; with --variants none, retrieval only)",
    kind: 'string',
    helpAfter: '--noise',
  },
} satisfies OptionSpecs;

/** --variants: `none` is none (retrieval only); undefined: all. */
export function variantsOf(list: string[] | undefined): Variant[] | undefined {
  return (list?.length === 1 && list[0] === 'none' ? [] : list) as Variant[] | undefined;
}

/** Throws on a name that is not a variant. */
export function checkVariants(list: string[]): void {
  for (const v of list) if (!VARIANTS.includes(v as Variant)) throw new Error(`unknown variant ${v}; one of ${VARIANTS.join(', ')}`);
}

/** Answer settings: the options, else the pack's defaults. */
export function answerSettingsOf(m: PackManifest, o: EvalOptions): AnswerSettings {
  const maxNewTokens = o.maxNewTokens ?? m.defaults.maxNewTokens;
  return {
    topK: Math.min(o.topK ?? m.defaults.topK, m.cmt.maxSelected),
    alpha: o.alpha ?? m.defaults.alpha,
    maxNewTokens,
    numBeams: o.numBeams ?? m.defaults.numBeams,
    bigK: o.bigK ?? m.cmt.maxSelected * 4,
    ragMaxTokens: m.baseModel.maxPositions - maxNewTokens - 1,
    minAnswerConfidence: o.confidenceFloors === false ? {} : m.defaults.minAnswerConfidence,
  };
}

/** One dataset: all its documents into a fresh bank, then every question with every variant. */
async function evalDataset(ctx: EvalContext, spec: string): Promise<DatasetRun> {
  if (isRealSpec(spec)) return evalRealDataset(ctx, spec);
  const { StreamingBank } = await import('./harness');
  const { o, repoRoot, settings, variants, log } = ctx;
  const tr = Date.now();
  const ds = loadDataset(spec, repoRoot);
  const docs = ds.documents.slice(0, o.maxDocs ?? ds.documents.length);
  const qs = questionsOf(ds, docs, o.maxQuestions ?? Infinity);
  log(`[eval] ${ds.name}: streaming ${docs.length} documents, then ${qs.length} questions x ${variants.length} variants`);
  const bank = await StreamingBank.open(ctx.packDir, ctx.device);
  try {
    const mem = await bank.add(docs);
    log(`[eval] ${ds.name}: ${mem.memorized} documents -> ${mem.chunks} memories in ${(mem.wallMs / 1000).toFixed(1)} s`);
    const outs = await answerAll(bank, qs, variants, settings, log, ds.name);
    ctx.outcomes[ds.name] = outs;
    return {
      dataset: ds.name,
      source: path.relative(repoRoot, ds.source),
      documents: docs.length,
      questions: qs.length,
      memorize: { memorized: mem.memorized, skipped: mem.skipped, failed: mem.failed, chunks: mem.chunks, wallMs: round(mem.wallMs, 0) },
      settings,
      variants: summarize(outs, variants),
      retrieval: retrievalOf(outs),
      examples: examplesOf(outs, o.examples),
      wallMs: Date.now() - tr,
    };
  } finally {
    await bank.close();
  }
}

/** A SQuAD-format dataset's run: answers, grounding, gold-document retrieval. */
function runMarkdown(run: DatasetRun): string[] {
  const out: string[] = [];
  const s = run.settings;
  out.push(`## ${run.dataset}: ${run.documents} documents streamed (${run.memorize.chunks} memories), ${run.questions} questions\n`);
  out.push(`K=${s.topK}, α=${s.alpha}, max ${s.maxNewTokens} new tokens, beams ${s.numBeams}, no-top-K K=${s.bigK}, RAG prompt ≤ ${s.ragMaxTokens} tokens. Memorize: ${(run.memorize.wallMs / 1000).toFixed(1)} s (${run.memorize.skipped} skipped, ${run.memorize.failed} failed).\n`);
  out.push(
    mdTable(
      ['variant', 'EM', 'prefix EM', 'F1', 'latency p50 ms', 'latency p95 ms', 'prompt tokens (mean)'],
      Object.entries(run.variants).map(([v, x]) => [`${v} — ${x.label}`, x.em, x.prefixEm, x.f1, x.latencyMs.p50, x.latencyMs.p95, x.promptTokens.mean]),
    ),
  );
  out.push(`\nGrounding (% of answers; "correct" = SQuAD F1 ≥ ${CORRECT_F1} or the gold answer contained whole; confident-wrong = marked "found in source" but wrong):\n`);
  out.push(
    mdTable(
      ['variant', 'found in source', 'precision of found', 'confident-wrong', 'correct but "not sure"'],
      Object.entries(run.variants).map(([v, x]) => [v, x.grounding.found, x.grounding.foundPrecision ?? '—', x.grounding.confidentWrong, x.grounding.correctNotSure]),
    ),
  );
  out.push('\nGold-document retrieval (% of questions):\n');
  out.push(
    mdTable(
      ['retriever', 'recall@1', 'recall@5'],
      (['vector', 'text', 'hybrid'] as const).map((k) => [k === 'vector' ? 'vector (self-matching keys)' : k === 'text' ? 'full-text (BM25)' : 'fused (as the engine: embedder + BM25 + keys, pack weights)', run.retrieval[k].recall1, run.retrieval[k].recall5]),
    ),
  );
  out.push('');
  return out;
}

function qaConsole(r: EvalReport): string {
  const out: string[] = [];
  for (const run of r.runs) {
    out.push(`${run.dataset}: ${run.documents} docs, ${run.questions} questions\n`);
    for (const [v, x] of Object.entries(run.variants)) out.push(`  ${v.padEnd(22)} EM ${x.em}  prefixEM ${x.prefixEm}  F1 ${x.f1}  right ${x.right}  p50 ${x.latencyMs.p50} ms\n`);
    out.push(`  recall@1/5 vector ${run.retrieval.vector.recall1}/${run.retrieval.vector.recall5} text ${run.retrieval.text.recall1}/${run.retrieval.text.recall5} hybrid ${run.retrieval.hybrid.recall1}/${run.retrieval.hybrid.recall5}\n`);
  }
  return out.join('');
}

export const qaSection: EvalSection = {
  name: 'qa',
  options: QA_OPTIONS,
  check: (o) => checkVariants(variantsOf(o.variants) ?? []),
  async run(ctx, report) {
    // Streaming QA per dataset: all documents into one fresh bank, then every question.
    for (const spec of ctx.specs) report.runs.push(await evalDataset(ctx, spec));
  },
  markdown: (r) => r.runs.flatMap((run) => (run.real ? realAnswersMarkdown(run, run.real) : runMarkdown(run))).join('\n'),
  charts: (r, tag) =>
    Object.fromEntries(
      r.runs.map((run) => [
        `${tag}-${run.dataset}-f1.svg`,
        barChart({ title: `${run.dataset}: F1 by variant (${r.pack.name})`, xLabel: 'SQuAD F1 (%)', bars: Object.entries(run.variants).map(([v, x]) => ({ label: v, value: x.f1 })) }),
      ]),
    ),
  console: qaConsole,
};

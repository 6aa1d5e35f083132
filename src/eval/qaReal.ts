// Real-project datasets in the streaming-QA section (qa.ts): each project (src/measure/realRepos.ts)
// memorized whole into a fresh bank and its questions answered over it; a question's gold document
// is its gold FILE. Per project memorize summaries, per question kind, data errors; --dump-contexts
// writes the reader's training lines.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { EvalQuestion } from '../measure/dataset';
import { CORRECT_F1 } from '../measure/metrics';
import { checkGold, loadRealDataset, memorizeWorkspace, ProjectMemorize, RealQuestion, realSourceOf, sampleRealQuestions } from '../measure/realRepos';
import { pct, round } from '../measure/stats';
import { mdTable } from '../measure/svg';
import type { StreamingBank } from './harness';
import { answerAll, examplesOf, retrievalOf, summarize } from './scores';
import type { DatasetRun, EvalContext, RealAnswerRun } from './types';
import { chunkText, QuestionOutcome, Variant } from './variants';
import { readerView } from '../core/readerFocus';

/** Appends the reader's training lines of one project (--dump-contexts): the top chunks, what the reader is shown, the gold chunks. */
async function dumpContexts(file: string, bank: StreamingBank, project: string, qs: RealQuestion[], outs: QuestionOutcome[]): Promise<void> {
  const defaults = bank.engine.pack.manifest.defaults;
  const lines: string[] = [];
  const recordsOf = new Map<string, ReturnType<typeof bank.engine.bank.recordsOf>>(); // one read per file
  for (const [i, q] of qs.entries()) {
    const [from, to] = q.lines;
    if (!recordsOf.has(q.file)) recordsOf.set(q.file, bank.engine.bank.recordsOf(q.file));
    const gold = (await recordsOf.get(q.file)!).filter((r) => r.startLine <= to && r.endLine >= from).map(chunkText);
    const top = outs[i].chunks ?? [];
    lines.push(JSON.stringify({ project, id: q.id, kind: q.kind, question: q.question, answers: q.answers, file: q.file, lines: q.lines, top, shown: readerView(q.question, top, 1, defaults, (c) => c)[0]?.text ?? null, gold }));
  }
  await fsp.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await fsp.appendFile(file, lines.map((l) => l + '\n').join(''));
}

/** Per question kind: the questions, how often the fused top chunk is of the gold file, each variant's F1 and "right". */
function byKindOf(outs: QuestionOutcome[], kinds: string[], variants: readonly Variant[]): RealAnswerRun['byKind'] {
  const byKind: RealAnswerRun['byKind'] = {};
  for (const k of [...new Set(kinds)].sort()) {
    const xs = outs.filter((_, i) => kinds[i] === k);
    const sv = summarize(xs, variants);
    byKind[k] = {
      questions: xs.length,
      topChunkFile: pct(xs.filter((x) => x.rank.hybrid === 1).length, xs.length),
      variants: Object.fromEntries(Object.entries(sv).map(([v, x]) => [v, { f1: x.f1, right: x.right }])),
    };
  }
  return byKind;
}

/** A real-project dataset: each project memorized whole into a fresh bank, then its questions (gold document = gold file). */
export async function evalRealDataset(ctx: EvalContext, spec: string): Promise<DatasetRun> {
  const { StreamingBank } = await import('./harness');
  const { o, repoRoot, settings, variants, log } = ctx;
  const tr = Date.now();
  const ds = loadRealDataset(spec, repoRoot, realSourceOf(o, log));
  const sample = sampleRealQuestions(ds.projects, o.maxQuestions ?? Infinity);
  const real: RealAnswerRun = { projects: [], byKind: {}, dataErrors: [], withoutQuestions: ds.withoutQuestions };
  const outs: QuestionOutcome[] = [];
  const kinds: string[] = [];
  for (const p of ds.projects) {
    const bank = await StreamingBank.open(ctx.packDir, ctx.device);
    try {
      const mem = await memorizeWorkspace(bank.engine, p.workspace, p.name);
      const { ok, errors } = checkGold(p, sample.get(p.name) ?? [], mem);
      real.dataErrors.push(...errors);
      const m = mem.summary;
      log(`[eval] ${spec} ${p.name}: ${m.files} files -> ${m.chunks} memories in ${(m.wallMs / 1000).toFixed(1)} s; ${ok.length} questions x ${variants.length} variants${errors.length ? `, ${errors.length} data errors (gold file not memorized)` : ''}`);
      const byId = new Map(ok.map((q) => [q.id, q]));
      const qs: EvalQuestion[] = ok.map((q) => ({ docId: q.id, question: q.question, answers: q.answers }));
      const s = o.dumpContexts ? { ...settings, keepChunks: 3 } : settings;
      const got = await answerAll(bank, qs, variants, s, log, `${spec} ${p.name}`, (qa) => byId.get(qa.docId)!.file);
      if (o.dumpContexts) await dumpContexts(o.dumpContexts, bank, p.name, ok, got);
      outs.push(...got);
      kinds.push(...ok.map((q) => q.kind));
      real.projects.push({ project: p.name, questions: ok.length, dataErrors: errors.length, memorize: m });
    } finally {
      await bank.close();
    }
  }
  ctx.outcomes[ds.name] = outs;
  real.byKind = byKindOf(outs, kinds, variants);
  const sum = (f: (x: ProjectMemorize) => number) => real.projects.reduce((a, x) => a + f(x.memorize), 0);
  return {
    dataset: ds.name,
    source: ds.source,
    documents: sum((x) => x.files),
    questions: outs.length,
    memorize: { memorized: sum((x) => x.files), skipped: sum((x) => Object.values(x.skipped).reduce((a, b) => a + b, 0)), failed: sum((x) => x.failed), chunks: sum((x) => x.chunks), wallMs: round(sum((x) => x.wallMs), 0) },
    settings,
    variants: summarize(outs, variants),
    retrieval: retrievalOf(outs),
    examples: examplesOf(outs, o.examples),
    wallMs: Date.now() - tr,
    real,
  };
}

/** A real-project run: memorize per project, answers (with "right"), per kind, the top chunk's file, data errors. */
export function realAnswersMarkdown(run: DatasetRun, real: RealAnswerRun): string[] {
  const out: string[] = [];
  const s = run.settings;
  const errs = real.dataErrors.length;
  out.push(`## ${run.dataset}: ${real.projects.length} projects memorized whole (${run.documents} files, ${run.memorize.chunks} memories), ${run.questions} questions\n`);
  out.push(
    `Each project is memorized as a user would (its tree, its .gitignore, the default exclusions) into a fresh bank; a question's gold document is its gold file. ` +
      `K=${s.topK}, α=${s.alpha}, max ${s.maxNewTokens} new tokens, beams ${s.numBeams}. ` +
      (errs ? `${errs} question(s) whose gold file was not memorized are data errors, excluded from every score (listed below).` : 'No data errors (every gold file was memorized).') +
      (real.withoutQuestions.length ? ` Left out (no question file yet): ${real.withoutQuestions.join(', ')}.` : '') +
      '\n',
  );
  out.push(
    mdTable(
      ['project', 'files memorized', 'skipped (by reason)', 'chunks', 'memorize s', 'of it: compressor s', 'embedder s', 'source MB', 's per MB', 'questions', 'data errors'],
      real.projects.map((p) => {
        const m = p.memorize;
        const sk = Object.entries(m.skipped).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ') || '—';
        const share = (ms: number) => `${round(ms / 1000, 1)} (${pct(ms, m.wallMs)}%)`;
        return [p.project, m.files, sk, m.chunks, round(m.wallMs / 1000, 1), share(m.compressorMs), share(m.embedderMs), round(m.sourceBytes / 1e6, 3), m.secondsPerMB, p.questions, p.dataErrors];
      }),
    ),
  );
  out.push(`\nAnswers (%; right = an accepted answer contained whole, normalised, or F1 ≥ ${CORRECT_F1}):\n`);
  out.push(
    mdTable(
      ['variant', 'EM', 'F1', 'right', 'found in source', 'confident-wrong', 'latency p50 ms', 'prompt tokens (mean)'],
      Object.entries(run.variants).map(([v, x]) => [`${v} — ${x.label}`, x.em, x.f1, x.right, x.grounding.found, x.grounding.confidentWrong, x.latencyMs.p50, x.promptTokens.mean]),
    ),
  );
  const vs = Object.keys(run.variants) as Variant[];
  out.push('\nPer question kind: right (%) per variant, and the fused top chunk (the first citation) of the gold file:\n');
  out.push(
    mdTable(
      ['kind', 'questions', 'top chunk of the gold file', ...vs.map((v) => `${v} right`)],
      Object.entries(real.byKind).map(([k, x]) => [k, x.questions, x.topChunkFile, ...vs.map((v) => x.variants[v]?.right ?? '—')]),
    ),
  );
  out.push('\nGold-file retrieval, chunk level (% of questions; recall@1 = the top chunk is of the gold file):\n');
  out.push(mdTable(['retriever', 'recall@1', 'recall@5'], (['vector', 'text', 'hybrid'] as const).map((k) => [k === 'hybrid' ? 'fused (pack weights, as cited)' : k, run.retrieval[k].recall1, run.retrieval[k].recall5])));
  if (errs) {
    out.push(`\nData errors: ${errs} question(s) whose gold file was not memorized (excluded):\n`);
    out.push(mdTable(['project', 'question', 'gold file', 'why'], real.dataErrors.map((d) => [d.project, d.id, `\`${d.file}\``, d.reason])));
  }
  out.push('');
  return out;
}

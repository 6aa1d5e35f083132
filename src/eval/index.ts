// `cmt eval`: streaming-QA evaluation (MAC/CMT protocol) of a pack on SQuAD-format datasets, with
// the baselines and ablations side by side on one base model and one bank, plus the knowledge
// retention and noise-robustness curves. Writes JSON + markdown + SVG (see docs/RESULTS.md).
// Real-project datasets (real-dev, real:express, …; src/measure/realRepos.ts): each project is
// memorized whole into a fresh bank and its questions answered over it; a question's gold document
// is its gold FILE. No curves on them.

import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { loadPack } from '../core/pack';
import type { PackManifest } from '../core/packManifest';
import type { Device } from '../core/types';
import { BUILTIN_DATASETS, EvalDataset, EvalDocument, EvalQuestion, loadDataset, questionsOf } from '../measure/dataset';
import { checkGold, DataError, isRealSpec, loadRealDataset, memorizeWorkspace, ProjectMemorize, RealQuestion, RealSource, sampleRealQuestions } from '../measure/realRepos';
import { FloorFit, fitFloors } from './calibrate';
import { AnswerSettings, chunkText, QuestionOutcome, StreamingBank, Variant, VARIANT_LABELS, VARIANTS } from './harness';
import { machineInfo, MachineInfo } from '../measure/machine';
import { CORRECT_F1, isCorrect, percentile, round } from '../measure/metrics';
import { barChart, lineChart, mdTable } from '../measure/svg';

export { VARIANTS, VARIANT_LABELS };
export type { Variant };

export interface EvalOptions {
  /** Pack folder. */
  pack: string;
  /** Dataset specs: built-in names (squad-notre-dame, workspace-test) or SQuAD-format JSON paths. */
  datasets?: string[];
  /** Output folder (default docs/results under repoRoot). */
  outDir?: string;
  /** Output file stem (default "eval", "eval-quick" with quick). */
  tag?: string;
  /** Tiny sizes (seconds). */
  quick?: boolean;
  /** Documents streamed per dataset (default all) and questions answered (default all). */
  maxDocs?: number;
  maxQuestions?: number;
  variants?: Variant[];
  topK?: number;
  alpha?: number;
  maxNewTokens?: number;
  numBeams?: number;
  /** K for the "without top-K" ablation (default maxSelected*4). */
  bigK?: number;
  /** Apply the pack's grounding confidence floors (default true; false: the text test alone). */
  confidenceFloors?: boolean;
  /** Fit a confidence floor per answering variant on these datasets (see fitFloors). */
  fitGrounding?: boolean;
  /** --fit-grounding: the confident-wrong rate a floor must keep on every dataset (default 3%). */
  fitMaxConfidentWrong?: number;
  /** Per-question examples kept in the JSON report (default 8). */
  examples?: number;
  /**
   * Real-project datasets: write one JSON line per question to this file: the question, its
   * answers, kind and gold location, the fused retrieval's best three chunks and the chunks of the
   * gold file that hold the gold lines (the reader's training data: training/cmt/real.py).
   */
  dumpContexts?: string;
  /** Retention / noise curves (default true). */
  curves?: boolean;
  /** Documents streamed after the curve dataset's own (default: the other built-in dataset). */
  filler?: string;
  /** Dataset of the curves (default: the first dataset). */
  curveDataset?: string;
  /** First N documents whose questions the curves measure (default 20). */
  curveDocs?: number;
  /** Retention: documents in the bank at each measurement (default 20, 50, 100, 150, 200). */
  retentionSteps?: number[];
  /** Questions asked at each curve point (default 40). */
  curveQuestions?: number;
  /** Noise: irrelevant documents inserted, as a fraction of curveDocs (default 0, .25, .5, .75, 1). */
  noiseFractions?: number[];
  curveVariants?: Variant[];
  device?: Device;
  repoRoot?: string;
  /** The command line, recorded in the outputs. */
  command?: string;
  log?: (msg: string) => void;
  /** Write files (default true). */
  write?: boolean;
  /** Real-project datasets: where the projects, workspaces and questions are; `fetch` missing workspaces. */
  real?: RealSource;
}

export interface VariantSummary {
  label: string;
  n: number;
  em: number;
  prefixEm: number;
  f1: number;
  /** "Right": an accepted answer contained whole (normalised) or F1 ≥ CORRECT_F1 (metrics.ts isCorrect), %. */
  right: number;
  latencyMs: { p50: number; p95: number };
  promptTokens: { mean: number; max: number };
  /** Grounding (src/core/ground.ts), % — "correct" = SQuAD F1 ≥ CORRECT_F1 (metrics.ts). */
  grounding: {
    /** Answers marked "found in source", % of all answers. */
    found: number;
    /** Found AND correct / found, % (null when nothing was found). */
    foundPrecision: number | null;
    /** Found but wrong / all answers, % — the worst outcome: a wrong answer shown as fact. */
    confidentWrong: number;
    /** Correct answers marked "not sure", % of all answers (what the caution costs). */
    correctNotSure: number;
  };
}

export interface DatasetRun {
  dataset: string;
  source: string;
  documents: number;
  questions: number;
  memorize: { memorized: number; skipped: number; failed: number; chunks: number; wallMs: number };
  settings: AnswerSettings;
  variants: Partial<Record<Variant, VariantSummary>>;
  retrieval: Record<'vector' | 'text' | 'hybrid', { recall1: number; recall5: number }>;
  examples: Array<Pick<QuestionOutcome, 'question' | 'answers' | 'preds' | 'grounding'>>;
  wallMs: number;
  /** Real-project datasets: per-project memorize summaries, per-kind scores and the data errors. */
  real?: RealAnswerRun;
}

/** Per question kind on a real-project dataset. */
export interface KindAnswers {
  questions: number;
  /** The fused top chunk (the first citation) is of the gold file, %. */
  topChunkFile: number;
  variants: Partial<Record<Variant, { f1: number; right: number }>>;
}

export interface RealAnswerRun {
  projects: Array<{ project: string; questions: number; dataErrors: number; memorize: ProjectMemorize }>;
  byKind: Record<string, KindAnswers>;
  /** Questions whose gold file was not memorized: excluded from every score. */
  dataErrors: DataError[];
  withoutQuestions: string[];
}

export interface CurvePoint {
  x: number; // documents in the bank (retention) or % irrelevant documents (noise)
  memories: number;
  f1: Partial<Record<Variant, number>>;
  relative: Partial<Record<Variant, number>>; // % of the first point's F1
  recall1: number; // hybrid recall@1 of the gold document
}

export interface Curve {
  dataset: string;
  firstDocs: number;
  questions: number;
  fillerSource: string;
  points: CurvePoint[];
}

export interface EvalReport {
  kind: 'cmt-eval';
  date: string;
  command: string;
  machine: MachineInfo;
  pack: { dir: string; packId: string; name: string; description?: string };
  runs: DatasetRun[];
  /** --fit-grounding: a confidence floor per answer mode, fitted on these datasets. */
  groundingFit?: { maxConfidentWrong: number; fits: FloorFit[] };
  retention?: Curve;
  noise?: Curve;
  files: string[];
  wallMs: number;
}

const QUICK: Partial<EvalOptions> = {
  maxDocs: 6,
  maxQuestions: 6,
  maxNewTokens: 4,
  curveDocs: 3,
  retentionSteps: [3, 6, 9],
  curveQuestions: 3,
  noiseFractions: [0, 0.5, 1],
};

function otherBuiltin(spec: string): string {
  return spec === 'workspace-test' ? 'squad-notre-dame' : 'workspace-test';
}

function pct(sum: number, n: number): number {
  return round((100 * sum) / Math.max(1, n), 2);
}

function summarize(outs: QuestionOutcome[], variants: readonly Variant[]): DatasetRun['variants'] {
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
      latencyMs: { p50: round(percentile(lat, 50), 1), p95: round(percentile(lat, 95), 1) },
      promptTokens: { mean: round(pt.reduce((a, b) => a + b, 0) / Math.max(1, pt.length), 1), max: pt.length ? Math.max(...pt) : 0 },
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

function retrievalOf(outs: QuestionOutcome[]): DatasetRun['retrieval'] {
  const r = (key: 'vector' | 'text' | 'hybrid') => ({
    recall1: pct(outs.filter((o) => o.rank[key] === 1).length, outs.length),
    recall5: pct(outs.filter((o) => o.rank[key] >= 1).length, outs.length),
  });
  return { vector: r('vector'), text: r('text'), hybrid: r('hybrid') };
}

async function answerAll(
  bank: StreamingBank,
  qs: EvalDataset['questions'],
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

/** Runs the evaluation; returns the report (and writes it unless write=false). */
export async function runEval(opts: EvalOptions): Promise<EvalReport> {
  const t0 = Date.now();
  const o: EvalOptions = opts.quick ? ({ ...QUICK, ...stripUndef(opts) } as EvalOptions) : opts;
  const repoRoot = path.resolve(o.repoRoot ?? process.cwd());
  const outDir = path.resolve(repoRoot, o.outDir ?? 'docs/results');
  const tag = o.tag ?? (o.quick ? 'eval-quick' : 'eval');
  const pack = await loadPack(path.resolve(o.pack), { verifyHashes: false });
  const m = pack.manifest;
  const ctx: EvalContext = {
    o,
    repoRoot,
    packDir: pack.dir,
    device: o.device ?? 'cpu',
    settings: answerSettingsOf(m, o),
    variants: o.variants ?? [...VARIANTS],
    outcomes: {},
    log: o.log ?? ((msg: string) => process.stderr.write(msg + '\n')),
  };
  const specs = o.datasets?.length ? o.datasets : ['workspace-test', 'squad-notre-dame'];
  const report: EvalReport = {
    kind: 'cmt-eval',
    date: new Date().toISOString(),
    command: o.command ?? '',
    machine: machineInfo(),
    pack: { dir: path.relative(repoRoot, pack.dir) || pack.dir, packId: m.packId, name: m.name, description: m.description },
    runs: [],
    files: [],
    wallMs: 0,
  };
  // 1. Streaming QA per dataset: all documents into one fresh bank, then every question.
  for (const spec of specs) report.runs.push(await evalDataset(ctx, spec));
  if (o.fitGrounding) {
    const maxConfidentWrong = o.fitMaxConfidentWrong ?? 3;
    report.groundingFit = { maxConfidentWrong, fits: fitFloors(ctx.outcomes, ctx.variants, maxConfidentWrong) };
  }
  // 2. Curves (on a SQuAD-format dataset: real projects have none).
  const curveSpec = o.curveDataset ?? specs.find((x) => !isRealSpec(x));
  if (o.curves !== false && curveSpec && !isRealSpec(curveSpec)) Object.assign(report, await evalCurves(ctx, curveSpec));
  else if (o.curves !== false) ctx.log('[eval] no retention/noise curves: they need a SQuAD-format dataset (--curve-dataset)');
  report.wallMs = Date.now() - t0;
  if (o.write !== false) await writeEval(report, outDir, tag);
  return report;
}

/** What runEval's steps share. */
interface EvalContext {
  o: EvalOptions;
  repoRoot: string;
  packDir: string;
  device: Device;
  settings: AnswerSettings;
  variants: Variant[];
  /** Every question's outcome, per dataset (for --fit-grounding). */
  outcomes: Record<string, QuestionOutcome[]>;
  log: (m: string) => void;
}

/** Answer settings: the options, else the pack's defaults. */
function answerSettingsOf(m: PackManifest, o: EvalOptions): AnswerSettings {
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
async function evalDataset(ctx: EvalContext, spec: string): Promise<EvalReport['runs'][number]> {
  if (isRealSpec(spec)) return evalRealDataset(ctx, spec);
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
      examples: outs.slice(0, o.examples ?? 8).map((x) => ({ question: x.question, answers: x.answers, preds: x.preds, grounding: x.grounding })),
      wallMs: Date.now() - tr,
    };
  } finally {
    await bank.close();
  }
}

/** Appends the reader's training lines of one project (EvalOptions.dumpContexts). */
async function dumpContexts(file: string, bank: StreamingBank, project: string, qs: RealQuestion[], outs: QuestionOutcome[]): Promise<void> {
  const lines: string[] = [];
  const recordsOf = new Map<string, ReturnType<typeof bank.engine.bank.recordsOf>>(); // one read per file
  for (const [i, q] of qs.entries()) {
    const [from, to] = q.lines;
    if (!recordsOf.has(q.file)) recordsOf.set(q.file, bank.engine.bank.recordsOf(q.file));
    const gold = (await recordsOf.get(q.file)!).filter((r) => r.startLine <= to && r.endLine >= from).map(chunkText);
    lines.push(JSON.stringify({ project, id: q.id, kind: q.kind, question: q.question, answers: q.answers, file: q.file, lines: q.lines, top: outs[i].chunks ?? [], gold }));
  }
  await fsp.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await fsp.appendFile(file, lines.map((l) => l + '\n').join(''));
}

/** A real-project dataset: each project memorized whole into a fresh bank, then its questions (gold document = gold file). */
async function evalRealDataset(ctx: EvalContext, spec: string): Promise<DatasetRun> {
  const { o, repoRoot, settings, variants, log } = ctx;
  const tr = Date.now();
  const ds = loadRealDataset(spec, repoRoot, { ...o.real, log: o.real?.log ?? log });
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
  for (const k of [...new Set(kinds)].sort()) {
    const xs = outs.filter((_, i) => kinds[i] === k);
    const sv = summarize(xs, variants);
    real.byKind[k] = {
      questions: xs.length,
      topChunkFile: pct(xs.filter((x) => x.rank.hybrid === 1).length, xs.length),
      variants: Object.fromEntries(Object.entries(sv).map(([v, x]) => [v, { f1: x!.f1, right: x!.right }])),
    };
  }
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
    examples: outs.slice(0, o.examples ?? 8).map((x) => ({ question: x.question, answers: x.answers, preds: x.preds, grounding: x.grounding })),
    wallMs: Date.now() - tr,
    real,
  };
}

/** The retention and noise curves on one dataset (filler documents from the other built-in one). */
async function evalCurves(ctx: EvalContext, spec: string): Promise<Pick<EvalReport, 'retention' | 'noise'>> {
  const { o, repoRoot, settings, log } = ctx;
  const out: Pick<EvalReport, 'retention' | 'noise'> = {};
  const ds = loadDataset(spec, repoRoot);
  const fillerSpec = o.filler ?? otherBuiltin(spec);
  const filler = o.filler || BUILTIN_DATASETS[fillerSpec] ? loadDataset(fillerSpec, repoRoot) : null;
  const N = Math.min(o.curveDocs ?? 20, ds.documents.length);
  const first = ds.documents.slice(0, N);
  const qs = questionsOf(ds, first, o.curveQuestions ?? 40);
  const cv = o.curveVariants ?? (['cmt', 'rag_in_context'] as Variant[]);
  const stream: EvalDocument[] = [...ds.documents.slice(N), ...(filler?.documents ?? [])];
  const fillerSource = `${ds.name} documents ${N + 1}..${ds.documents.length}` + (filler ? `, then ${filler.name}` : '');
  const point = async (bank: StreamingBank, x: number): Promise<CurvePoint> => {
    const outs = await answerAll(bank, qs, cv, settings, log, `curve x=${x}`);
    const f1: CurvePoint['f1'] = {};
    for (const v of cv) f1[v] = pct(outs.reduce((a, q) => a + (q.scores[v]?.f1 ?? 0), 0), outs.length);
    return { x, memories: await bank.memories(), f1, relative: {}, recall1: pct(outs.filter((q) => q.rank.hybrid === 1).length, outs.length) };
  };
  const relate = (pts: CurvePoint[]) => {
    for (const p of pts) for (const v of cv) p.relative[v] = pts[0].f1[v]! > 0 ? round((100 * p.f1[v]!) / pts[0].f1[v]!, 1) : NaN;
  };

  // Retention: F1 on the first N documents' questions as more documents stream in.
  const steps = (o.retentionSteps ?? [20, 50, 100, 150, 200]).filter((s) => s >= N && s <= N + stream.length);
  if (!steps.includes(N)) steps.unshift(N);
  log(`[eval] retention: first ${N} documents of ${ds.name}, ${qs.length} questions, bank sizes ${steps.join(', ')}`);
  let bank = await StreamingBank.open(ctx.packDir, ctx.device);
  try {
    await bank.add(first);
    const pts: CurvePoint[] = [];
    let have = N;
    for (const s of steps) {
      if (s > have) {
        await bank.add(stream.slice(have - N, s - N), 'stream/');
        have = s;
      }
      pts.push(await point(bank, s));
    }
    relate(pts);
    out.retention = { dataset: ds.name, firstDocs: N, questions: qs.length, fillerSource, points: pts };
  } finally {
    await bank.close();
  }

  // Noise robustness: the same N documents plus 0..100% (of N) irrelevant documents.
  const noiseDocs = filler?.documents ?? ds.documents.slice(N);
  const fr = o.noiseFractions ?? [0, 0.25, 0.5, 0.75, 1];
  log(`[eval] noise: first ${N} documents of ${ds.name} + ${fr.map((f) => Math.round(f * 100) + '%').join(', ')} irrelevant (${filler ? filler.name : ds.name + ' later documents'})`);
  bank = await StreamingBank.open(ctx.packDir, ctx.device);
  try {
    await bank.add(first);
    const pts: CurvePoint[] = [];
    let have = 0;
    for (const f of fr) {
      const want = Math.min(noiseDocs.length, Math.round(f * N));
      if (want > have) {
        await bank.add(noiseDocs.slice(have, want), 'noise/');
        have = want;
      }
      pts.push(await point(bank, round(f * 100, 0)));
    }
    relate(pts);
    out.noise = { dataset: ds.name, firstDocs: N, questions: qs.length, fillerSource: filler ? filler.name : `${ds.name} later documents`, points: pts };
  } finally {
    await bank.close();
  }
  return out;
}

function stripUndef<T extends object>(x: T): Partial<T> {
  return Object.fromEntries(Object.entries(x).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function evalMarkdown(r: EvalReport): string {
  const out: string[] = [];
  out.push(`# CMT eval — pack \`${r.pack.name}\` (${r.pack.packId})\n`);
  out.push(`Command: \`${r.command}\`  \nDate: ${r.date}  \nMachine: ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memoryGiB} GiB, ${r.machine.gpu}; node ${r.machine.node}, onnxruntime-node ${r.machine.onnxruntime}\n`);
  for (const run of r.runs) {
    if (run.real) {
      out.push(...realAnswersMarkdown(run, run.real));
      continue;
    }
    const s = run.settings;
    out.push(`## ${run.dataset}: ${run.documents} documents streamed (${run.memorize.chunks} memories), ${run.questions} questions\n`);
    out.push(`K=${s.topK}, α=${s.alpha}, max ${s.maxNewTokens} new tokens, beams ${s.numBeams}, no-top-K K=${s.bigK}, RAG prompt ≤ ${s.ragMaxTokens} tokens. Memorize: ${(run.memorize.wallMs / 1000).toFixed(1)} s (${run.memorize.skipped} skipped, ${run.memorize.failed} failed).\n`);
    out.push(
      mdTable(
        ['variant', 'EM', 'prefix EM', 'F1', 'latency p50 ms', 'latency p95 ms', 'prompt tokens (mean)'],
        Object.entries(run.variants).map(([v, x]) => [`${v} — ${x!.label}`, x!.em, x!.prefixEm, x!.f1, x!.latencyMs.p50, x!.latencyMs.p95, x!.promptTokens.mean]),
      ),
    );
    out.push(`\nGrounding (% of answers; "correct" = SQuAD F1 ≥ ${CORRECT_F1} or the gold answer contained whole; confident-wrong = marked "found in source" but wrong):\n`);
    out.push(
      mdTable(
        ['variant', 'found in source', 'precision of found', 'confident-wrong', 'correct but "not sure"'],
        Object.entries(run.variants).map(([v, x]) => [v, x!.grounding.found, x!.grounding.foundPrecision ?? '—', x!.grounding.confidentWrong, x!.grounding.correctNotSure]),
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
  }
  if (r.groundingFit) {
    const g = r.groundingFit;
    out.push(`## Grounding confidence floors (--fit-grounding): confident-wrong ≤ ${g.maxConfidentWrong}% on every dataset above\n`);
    out.push(`A floor is the least mean log-probability (nats/token) of an answer marked "found in source"; pack.json defaults.minAnswerConfidence.\n`);
    out.push(
      mdTable(
        ['variant (answer mode)', 'floor', 'target met', ...Object.keys(g.fits[0]?.datasets ?? {}).map((d) => `${d}: found / precision / confident-wrong`)],
        g.fits.map((f) => [`${f.variant} (${f.mode})`, f.floor ?? 'none', f.met ? 'yes' : 'no', ...Object.values(f.datasets).map((d) => `${d.found} / ${d.foundPrecision ?? '—'} / ${d.confidentWrong}`)]),
      ),
    );
    out.push('');
  }
  for (const [name, c] of [
    ['Knowledge retention', r.retention],
    ['Noise robustness', r.noise],
  ] as const) {
    if (!c) continue;
    const vs = Object.keys(c.points[0]?.f1 ?? {});
    out.push(`## ${name}: F1 on the questions of the first ${c.firstDocs} ${c.dataset} documents (${c.questions} questions); added: ${c.fillerSource}\n`);
    out.push(
      mdTable(
        [name === 'Knowledge retention' ? 'documents in bank' : '% irrelevant docs', 'memories', ...vs.flatMap((v) => [`${v} F1`, `${v} % of first`]), 'hybrid recall@1'],
        c.points.map((p) => [p.x, p.memories, ...vs.flatMap((v) => [p.f1[v as Variant]!, p.relative[v as Variant]!]), p.recall1]),
      ),
    );
    out.push('');
  }
  return out.join('\n');
}

/** A real-project run: memorize per project, answers (with "right"), per kind, the top chunk's file, data errors. */
function realAnswersMarkdown(run: DatasetRun, real: RealAnswerRun): string[] {
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
      Object.entries(run.variants).map(([v, x]) => [`${v} — ${x!.label}`, x!.em, x!.f1, x!.right, x!.grounding.found, x!.grounding.confidentWrong, x!.latencyMs.p50, x!.promptTokens.mean]),
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

export async function writeEval(r: EvalReport, outDir: string, tag: string): Promise<void> {
  await fsp.mkdir(outDir, { recursive: true });
  const files: Record<string, string> = {};
  for (const run of r.runs) {
    files[`${tag}-${run.dataset}-f1.svg`] = barChart({
      title: `${run.dataset}: F1 by variant (${r.pack.name})`,
      xLabel: 'SQuAD F1 (%)',
      bars: Object.entries(run.variants).map(([v, x]) => ({ label: v, value: x!.f1 })),
    });
  }
  const curveSvg = (c: Curve, title: string, xLabel: string) =>
    lineChart({
      title,
      xLabel,
      yLabel: 'F1 / recall@1 (%)',
      series: [
        ...Object.keys(c.points[0]?.f1 ?? {}).map((v) => ({ name: `${v} F1`, points: c.points.map((p) => [p.x, p.f1[v as Variant] ?? NaN] as [number, number]) })),
        { name: 'hybrid recall@1', points: c.points.map((p) => [p.x, p.recall1] as [number, number]) },
      ],
    });
  if (r.retention) files[`${tag}-retention.svg`] = curveSvg(r.retention, `Retention: first ${r.retention.firstDocs} docs (${r.pack.name})`, 'documents in the bank');
  if (r.noise) files[`${tag}-noise.svg`] = curveSvg(r.noise, `Noise robustness (${r.pack.name})`, '% irrelevant documents inserted');
  r.files = [`${tag}.json`, `${tag}.md`, ...Object.keys(files)].map((f) => path.join(path.basename(outDir), f));
  files[`${tag}.md`] = evalMarkdown(r);
  files[`${tag}.json`] = JSON.stringify(r, null, 1) + '\n';
  for (const [f, text] of Object.entries(files)) await fsp.writeFile(path.join(outDir, f), text);
}

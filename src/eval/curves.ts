// The curves section of `cmt eval`: knowledge retention (F1 on the first N documents' questions as
// more documents stream into the bank) and noise robustness (the same N documents plus 0..100 % of
// N irrelevant ones), on a SQuAD-format dataset (real projects have none); filler documents come
// from the other built-in dataset unless --filler says.
import { BUILTIN_DATASETS, EvalDataset, EvalDocument, EvalQuestion, loadDataset, questionsOf } from '../measure/dataset';
import type { OptionSpecs } from '../measure/options';
import { isRealSpec } from '../measure/realRepos';
import { pct, round } from '../measure/stats';
import { lineChart, mdTable } from '../measure/svg';
import { checkVariants } from './qa';
import type { StreamingBank } from './harness';
import { answerAll } from './scores';
import type { Curve, CurvePoint, EvalContext, EvalReport, EvalSection } from './types';
import type { Variant } from './variants';

export const CURVES_OPTIONS = {
  /** Retention / noise curves (default true). */
  curves: { flags: '--no-curves', description: 'skip the retention and noise curves', kind: 'negatable' },
  /** Dataset of the curves (default: the first SQuAD-format dataset). */
  curveDataset: { flags: '--curve-dataset <name>', description: 'dataset of the curves', kind: 'string' },
  curveVariants: { flags: '--curve-variants <list>', description: 'variants measured along the curves (default: cmt, rag_in_context)', kind: 'strings', default: ['cmt', 'rag_in_context'] },
  /** Documents streamed after the curve dataset's own (default: the other built-in dataset). */
  filler: { flags: '--filler <dataset>', description: "documents streamed in after the curve dataset's own (e.g. workspace-filler: 1,000 more)", kind: 'string' },
  /** First N documents whose questions the curves measure. */
  curveDocs: { flags: '--curve-docs <n>', description: 'documents per curve step', kind: 'number', default: 20, quick: 3 },
  /** Retention: documents in the bank at each measurement. */
  retentionSteps: { flags: '--retention-steps <list>', description: 'bank sizes of the retention curve', kind: 'numbers', default: [20, 50, 100, 150, 200], quick: [3, 6, 9] },
  /** Questions asked at each curve point. */
  curveQuestions: { flags: '--curve-questions <n>', description: 'questions per curve point', kind: 'number', default: 40, quick: 3 },
  /** Noise: irrelevant documents inserted, as a fraction of curveDocs. */
  noiseFractions: { flags: '--noise <list>', description: 'noise fractions of the noise curve', kind: 'numbers', default: [0, 0.25, 0.5, 0.75, 1], quick: [0, 0.5, 1] },
} satisfies OptionSpecs;

function otherBuiltin(spec: string): string {
  return spec === 'workspace-test' ? 'squad-notre-dame' : 'workspace-test';
}

/** What both curves share: the first N documents, their questions, the variants, how a point is measured. */
interface CurveSetup {
  ctx: EvalContext;
  ds: EvalDataset;
  filler: EvalDataset | null;
  N: number;
  first: EvalDocument[];
  qs: EvalQuestion[];
  cv: Variant[];
  point(bank: StreamingBank, x: number): Promise<CurvePoint>;
}

function setupOf(ctx: EvalContext, spec: string): CurveSetup {
  const { o, repoRoot, settings, log } = ctx;
  const ds = loadDataset(spec, repoRoot);
  const fillerSpec = o.filler ?? otherBuiltin(spec);
  const filler = o.filler || BUILTIN_DATASETS[fillerSpec] ? loadDataset(fillerSpec, repoRoot) : null;
  const N = Math.min(o.curveDocs, ds.documents.length);
  const first = ds.documents.slice(0, N);
  const qs = questionsOf(ds, first, o.curveQuestions);
  const cv = o.curveVariants as Variant[];
  const point = async (bank: StreamingBank, x: number): Promise<CurvePoint> => {
    const outs = await answerAll(bank, qs, cv, settings, log, `curve x=${x}`);
    const f1: CurvePoint['f1'] = {};
    for (const v of cv) f1[v] = pct(outs.reduce((a, q) => a + (q.scores[v]?.f1 ?? 0), 0), outs.length);
    return { x, memories: await bank.memories(), f1, relative: {}, recall1: pct(outs.filter((q) => q.rank.hybrid === 1).length, outs.length) };
  };
  return { ctx, ds, filler, N, first, qs, cv, point };
}

/** Each point's F1 as % of the first point's. */
function relate(pts: CurvePoint[], cv: Variant[]): void {
  for (const p of pts) for (const v of cv) p.relative[v] = pts[0].f1[v]! > 0 ? round((100 * p.f1[v]!) / pts[0].f1[v]!, 1) : NaN;
}

/** Retention: F1 on the first N documents' questions as more documents stream in. */
async function retention(c: CurveSetup): Promise<Curve> {
  const { StreamingBank } = await import('./harness');
  const { ds, N, ctx } = c;
  const stream: EvalDocument[] = [...ds.documents.slice(N), ...(c.filler?.documents ?? [])];
  const fillerSource = `${ds.name} documents ${N + 1}..${ds.documents.length}` + (c.filler ? `, then ${c.filler.name}` : '');
  const steps = ctx.o.retentionSteps.filter((s) => s >= N && s <= N + stream.length);
  if (!steps.includes(N)) steps.unshift(N);
  ctx.log(`[eval] retention: first ${N} documents of ${ds.name}, ${c.qs.length} questions, bank sizes ${steps.join(', ')}`);
  const bank = await StreamingBank.open(ctx.packDir, ctx.device);
  try {
    await bank.add(c.first);
    const pts: CurvePoint[] = [];
    let have = N;
    for (const s of steps) {
      if (s > have) {
        await bank.add(stream.slice(have - N, s - N), 'stream/');
        have = s;
      }
      pts.push(await c.point(bank, s));
    }
    relate(pts, c.cv);
    return { dataset: ds.name, firstDocs: N, questions: c.qs.length, fillerSource, points: pts };
  } finally {
    await bank.close();
  }
}

/** Noise robustness: the same N documents plus 0..100% (of N) irrelevant documents. */
async function noise(c: CurveSetup): Promise<Curve> {
  const { StreamingBank } = await import('./harness');
  const { ds, N, ctx, filler } = c;
  const noiseDocs = filler?.documents ?? ds.documents.slice(N);
  const fr = ctx.o.noiseFractions;
  ctx.log(`[eval] noise: first ${N} documents of ${ds.name} + ${fr.map((f) => Math.round(f * 100) + '%').join(', ')} irrelevant (${filler ? filler.name : ds.name + ' later documents'})`);
  const bank = await StreamingBank.open(ctx.packDir, ctx.device);
  try {
    await bank.add(c.first);
    const pts: CurvePoint[] = [];
    let have = 0;
    for (const f of fr) {
      const want = Math.min(noiseDocs.length, Math.round(f * N));
      if (want > have) {
        await bank.add(noiseDocs.slice(have, want), 'noise/');
        have = want;
      }
      pts.push(await c.point(bank, round(f * 100, 0)));
    }
    relate(pts, c.cv);
    return { dataset: ds.name, firstDocs: N, questions: c.qs.length, fillerSource: filler ? filler.name : `${ds.name} later documents`, points: pts };
  } finally {
    await bank.close();
  }
}

function curvesMarkdown(r: EvalReport): string {
  const out: string[] = [];
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

function curveSvg(c: Curve, title: string, xLabel: string): string {
  return lineChart({
    title,
    xLabel,
    yLabel: 'F1 / recall@1 (%)',
    series: [
      ...Object.keys(c.points[0]?.f1 ?? {}).map((v) => ({ name: `${v} F1`, points: c.points.map((p) => [p.x, p.f1[v as Variant] ?? NaN] as [number, number]) })),
      { name: 'hybrid recall@1', points: c.points.map((p) => [p.x, p.recall1] as [number, number]) },
    ],
  });
}

export const curvesSection: EvalSection = {
  name: 'curves',
  options: CURVES_OPTIONS,
  check: (o) => checkVariants(o.curveVariants ?? []),
  async run(ctx, report) {
    if (ctx.o.curves === false) return;
    // On a SQuAD-format dataset: real projects have none.
    const spec = ctx.o.curveDataset ?? ctx.specs.find((x) => !isRealSpec(x));
    if (!spec || isRealSpec(spec)) {
      ctx.log('[eval] no retention/noise curves: they need a SQuAD-format dataset (--curve-dataset)');
      return;
    }
    const c = setupOf(ctx, spec);
    report.retention = await retention(c);
    report.noise = await noise(c);
  },
  markdown: curvesMarkdown,
  charts: (r, tag) => ({
    ...(r.retention ? { [`${tag}-retention.svg`]: curveSvg(r.retention, `Retention: first ${r.retention.firstDocs} docs (${r.pack.name})`, 'documents in the bank') } : {}),
    ...(r.noise ? { [`${tag}-noise.svg`]: curveSvg(r.noise, `Noise robustness (${r.pack.name})`, '% irrelevant documents inserted') } : {}),
  }),
};

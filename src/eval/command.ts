// `cmt eval`: the streaming-QA evaluation (index.ts) and `--retrieval-only` (retrieval.ts) as a
// commander subcommand of the `cmt` program (src/cli/cmt.ts), which supplies --pack and --device.
// The runners (and with them ONNX Runtime and LanceDB) load only when the subcommand runs.
import type { MeasureCommand, MeasureContext, OptionSpecs } from '../measure/options';
import type { Variant } from './harness';
import { BUILTIN_DATASETS } from '../measure/dataset';
import { REAL_DATASET_NAMES } from '../measure/realRepos';

interface EvalCliOpts {
  dataset?: string[];
  quick?: boolean;
  out?: string;
  tag?: string;
  maxDocs?: number;
  maxQuestions?: number;
  variants?: string[];
  topK?: number;
  alpha?: number;
  maxNewTokens?: number;
  beams?: number;
  bigK?: number;
  examples?: number;
  fitGrounding?: boolean;
  fitMaxConfidentWrong?: number;
  confidenceFloors: boolean;
  curves: boolean;
  curveDataset?: string;
  filler?: string;
  curveVariants?: string[];
  curveDocs?: number;
  retentionSteps?: number[];
  curveQuestions?: number;
  noise?: number[];
  retrievalOnly?: boolean;
  candidates?: number;
  fit?: boolean;
  embedderCost?: boolean;
  fusion?: number[];
  lists?: string;
  fetch?: boolean;
  dumpContexts?: string;
  write: boolean;
}

const EVAL_OPTIONS = {
  dataset: {
    flags: '--dataset <names>',
    description: `built-in (${Object.keys(BUILTIN_DATASETS).join(', ')}), real projects memorized whole (${REAL_DATASET_NAMES.join(', ')}; benchmarks/real/) or a SQuAD-format FILE.json; comma-separated (default workspace-test,squad-notre-dame)`,
    kind: 'strings',
  },
  fetch: { flags: '--fetch', description: 'real-project datasets: download missing workspaces (python3 benchmarks/real/fetch.py)', kind: 'flag' },
  quick: { flags: '--quick', description: 'a few documents and questions (smoke run)', kind: 'flag' },
  out: { flags: '--out <dir>', description: 'where the reports go (default: docs/results)', kind: 'string' },
  tag: { flags: '--tag <name>', description: 'report file name prefix', kind: 'string' },
  maxDocs: { flags: '--max-docs <n>', description: 'documents per dataset', kind: 'number' },
  maxQuestions: { flags: '--max-questions <n>', description: 'questions per dataset (real-project datasets: spread over the projects)', kind: 'number' },
  variants: { flags: '--variants <list>', description: 'variants to run (closed_book, rag_in_context, cmt, ...; default: all; none: retrieval only)', kind: 'strings' },
  topK: { flags: '--top-k <k>', description: 'memories per question', kind: 'number' },
  alpha: { flags: '--alpha <a>', description: 'memory-aware contrast strength', kind: 'number' },
  maxNewTokens: { flags: '--max-new-tokens <n>', description: 'answer tokens', kind: 'number' },
  beams: { flags: '--beams <b>', description: 'beam width', kind: 'number' },
  bigK: { flags: '--big-k <k>', description: 'memories for the cmt_no_topk ablation', kind: 'number' },
  fitGrounding: { flags: '--fit-grounding', description: 'fit a grounding confidence floor per answer mode on these (dev) datasets', kind: 'flag' },
  fitMaxConfidentWrong: { flags: '--fit-max-confident-wrong <pct>', description: '--fit-grounding: confident-wrong target per dataset (default 3)', kind: 'number' },
  confidenceFloors: { flags: '--no-confidence-floors', description: "ignore the pack's grounding confidence floors (the text test alone)", kind: 'negatable' },
  examples: { flags: '--examples <n>', description: 'per-question predictions kept in the JSON report (default 8)', kind: 'number' },
  curves: { flags: '--no-curves', description: 'skip the retention and noise curves', kind: 'negatable' },
  curveDataset: { flags: '--curve-dataset <name>', description: 'dataset of the curves', kind: 'string' },
  curveVariants: { flags: '--curve-variants <list>', description: 'variants measured along the curves (default: cmt, rag_in_context)', kind: 'strings' },
  filler: { flags: '--filler <dataset>', description: "documents streamed in after the curve dataset's own (e.g. workspace-filler: 1,000 more)", kind: 'string' },
  curveDocs: { flags: '--curve-docs <n>', description: 'documents per curve step', kind: 'number' },
  retentionSteps: { flags: '--retention-steps <list>', description: 'bank sizes of the retention curve', kind: 'numbers' },
  curveQuestions: { flags: '--curve-questions <n>', description: 'questions per curve point', kind: 'number' },
  noise: { flags: '--noise <list>', description: 'noise fractions of the noise curve', kind: 'numbers' },
  dumpContexts: { flags: '--dump-contexts <file>', description: "real-project datasets: append each question's retrieved and gold chunks to FILE as JSON lines (the reader's training data; with --variants none, retrieval only)", kind: 'string' },
  retrievalOnly: { flags: '--retrieval-only', description: 'recall@1/@5 + MRR per retriever and fused (no answers)', kind: 'flag' },
  candidates: { flags: '--candidates <n>', description: '--retrieval-only: candidates per retriever', kind: 'number' },
  fit: { flags: '--fit', description: '--retrieval-only: fit the fusion weights on the dev split', kind: 'flag' },
  embedderCost: { flags: '--embedder-cost', description: '--retrieval-only: also time memorizing without the sentence embedder', kind: 'flag' },
  fusion: { flags: '--fusion <key,emb,text,k[,gate]>', description: '--retrieval-only: fusion weights, RRF k and the BM25 gate (0: off)', kind: 'numbers' },
  lists: { flags: '--lists <prefix>', description: "--retrieval-only: also write each dataset's ranked lists to <prefix>.<i>.json", kind: 'string' },
  write: { flags: '--no-write', description: '--retrieval-only: print, write no report', kind: 'negatable' },
} satisfies OptionSpecs;

export const evalCommand: MeasureCommand = {
  name: 'eval',
  description: 'streaming-QA quality: closed-book, RAG, CMT and its ablations (EM, F1, recall, latency, curves)',
  options: [EVAL_OPTIONS],
  async run(ctx, given) {
    const o = given as unknown as EvalCliOpts;
    await (o.retrievalOnly ? retrievalOnly(ctx, o) : fullEval(ctx, o));
  },
};

async function retrievalOnly(ctx: MeasureContext, o: EvalCliOpts): Promise<void> {
  const { runRetrievalEval } = await import('./retrieval');
  const fz = o.fusion;
  const r = await runRetrievalEval({
    pack: ctx.pack(),
    datasets: o.dataset ?? ['workspace-test', 'squad-notre-dame'],
    candidates: o.candidates,
    maxDocs: o.maxDocs,
    maxQuestions: o.maxQuestions,
    fit: !!o.fit,
    measureEmbedderCost: !!o.embedderCost,
    fusion: fz ? { key: fz[0], emb: fz[1], text: fz[2], rrfK: fz[3] ?? 60, textGate: fz[4] ?? 0 } : undefined,
    listsOut: o.lists,
    real: { fetch: !!o.fetch },
    outDir: o.out,
    tag: o.tag,
    write: o.write,
    device: ctx.device(),
    command: ctx.commandLine(),
  });
  const f = r.fusion;
  process.stdout.write(`fusion: key ${f.key} emb ${f.emb} text ${f.text} k ${f.rrfK} gate ${f.textGate ?? 0}\n`);
  for (const run of r.runs) {
    process.stdout.write(`${run.dataset}: ${run.documents} docs, ${run.chunks} chunks, ${run.questions} questions; memorize ${(run.memorizeMs / 1000).toFixed(1)} s (embedder ${(run.embedderMs / 1000).toFixed(1)} s${run.memorizeNoEmbedderMs ? `; without embedder ${(run.memorizeNoEmbedderMs / 1000).toFixed(1)} s` : ''})\n`);
    const lines = run.real?.lines;
    for (const [k, x] of Object.entries(run.retrievers)) {
      const l = lines?.[k as keyof typeof lines];
      process.stdout.write(`  ${k.padEnd(7)} ${run.real ? 'file ' : ''}recall@1 ${x!.recall1}  recall@5 ${x!.recall5}  MRR ${x!.mrr}${l ? `  line hit@1 ${l.hit1}  hit@5 ${l.hit5}` : ''}\n`);
    }
    if (run.real) {
      for (const p of run.real.projects) {
        const f = p.retrievers.fusion;
        process.stdout.write(`  ${p.project}: ${p.memorize.files} files, ${p.memorize.chunks} chunks, memorize ${(p.memorize.wallMs / 1000).toFixed(1)} s (${p.memorize.secondsPerMB} s/MB); ${p.questions} questions, fusion file recall@1 ${f?.recall1} @5 ${f?.recall5}, line hit@5 ${p.lines.fusion?.hit5}\n`);
      }
      for (const [k, x] of Object.entries(run.real.byKind)) process.stdout.write(`  kind ${k}: ${x.questions} questions, fusion file recall@1 ${x.fileRecall1} @5 ${x.fileRecall5}, line hit@5 ${x.lineHit5}\n`);
      if (run.real.dataErrors.length) process.stdout.write(`  ${run.real.dataErrors.length} data errors (gold file not memorized, excluded): ${run.real.dataErrors.map((d) => `${d.project}/${d.id} ${d.file} (${d.reason})`).join('; ')}\n`);
    }
  }
  if (r.fit) process.stdout.write(`pack.json "retrieval": ${JSON.stringify({ weights: r.fit.retrieval.weights, rrfK: r.fit.retrieval.rrfK, textGate: r.fit.retrieval.textGate })}\n`);
  if (r.files.length) process.stdout.write(`wrote ${r.files.join(', ')} in ${(r.wallMs / 1000).toFixed(1)} s\n`);
}

async function fullEval(ctx: MeasureContext, o: EvalCliOpts): Promise<void> {
  const { runEval } = await import('./index');
  const { VARIANTS } = await import('./harness');
  const variants = (o.variants?.length === 1 && o.variants[0] === 'none' ? [] : o.variants) as Variant[] | undefined;
  for (const v of [...(variants ?? []), ...((o.curveVariants ?? []) as Variant[])]) if (!VARIANTS.includes(v)) throw new Error(`unknown variant ${v}; one of ${VARIANTS.join(', ')}`);
  const r = await runEval({
    pack: ctx.pack(),
    datasets: o.dataset,
    outDir: o.out,
    tag: o.tag,
    quick: !!o.quick,
    maxDocs: o.maxDocs,
    maxQuestions: o.maxQuestions,
    variants,
    topK: o.topK,
    alpha: o.alpha,
    maxNewTokens: o.maxNewTokens,
    numBeams: o.beams,
    bigK: o.bigK,
    examples: o.examples,
    dumpContexts: o.dumpContexts,
    fitGrounding: !!o.fitGrounding,
    fitMaxConfidentWrong: o.fitMaxConfidentWrong,
    confidenceFloors: o.confidenceFloors,
    curves: o.curves,
    curveDataset: o.curveDataset,
    filler: o.filler,
    curveVariants: o.curveVariants as Variant[] | undefined,
    curveDocs: o.curveDocs,
    retentionSteps: o.retentionSteps,
    curveQuestions: o.curveQuestions,
    noiseFractions: o.noise,
    real: { fetch: !!o.fetch },
    device: ctx.device(),
    command: ctx.commandLine(),
  });
  for (const run of r.runs) {
    process.stdout.write(`${run.dataset}: ${run.documents} docs, ${run.questions} questions\n`);
    for (const [v, x] of Object.entries(run.variants)) process.stdout.write(`  ${v.padEnd(22)} EM ${x!.em}  prefixEM ${x!.prefixEm}  F1 ${x!.f1}  right ${x!.right}  p50 ${x!.latencyMs.p50} ms\n`);
    process.stdout.write(`  recall@1/5 vector ${run.retrieval.vector.recall1}/${run.retrieval.vector.recall5} text ${run.retrieval.text.recall1}/${run.retrieval.text.recall5} hybrid ${run.retrieval.hybrid.recall1}/${run.retrieval.hybrid.recall5}\n`);
  }
  if (r.groundingFit) {
    for (const f of r.groundingFit.fits) process.stdout.write(`  floor ${f.variant} (${f.mode}): ${f.floor ?? 'none'}${f.met ? '' : ' (target NOT met)'} ${JSON.stringify(f.datasets)}\n`);
    const floors = Object.fromEntries(r.groundingFit.fits.filter((f) => f.floor !== null).map((f) => [f.mode, f.floor]));
    process.stdout.write(`pack.json defaults "minAnswerConfidence": ${JSON.stringify(floors)}\n`);
  }
  process.stdout.write(`wrote ${r.files.join(', ')} in ${(r.wallMs / 1000).toFixed(1)} s\n`);
}

// `cmt eval`: the streaming-QA evaluation (index.ts) and `--retrieval-only` (retrieval.ts) as a
// commander subcommand of the `cmt` program (src/cli/cmt.ts), which supplies --pack and --device.
// The runners (and with them ONNX Runtime and LanceDB) load only when the subcommand runs.
import { Command } from 'commander';
import { MeasureContext, number, numbers, strings } from '../measure/options';
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

export function evalCommand(ctx: MeasureContext): Command {
  return new Command('eval')
    .description('streaming-QA quality: closed-book, RAG, CMT and its ablations (EM, F1, recall, latency, curves)')
    .option(
      '--dataset <names>',
      `built-in (${Object.keys(BUILTIN_DATASETS).join(', ')}), real projects memorized whole (${REAL_DATASET_NAMES.join(', ')}; benchmarks/real/) or a SQuAD-format FILE.json; comma-separated (default workspace-test,squad-notre-dame)`,
      strings,
    )
    .option('--fetch', 'real-project datasets: download missing workspaces (python3 benchmarks/real/fetch.py)')
    .option('--quick', 'a few documents and questions (smoke run)')
    .option('--out <dir>', 'where the reports go (default: docs/results)')
    .option('--tag <name>', 'report file name prefix')
    .option('--max-docs <n>', 'documents per dataset', number)
    .option('--max-questions <n>', 'questions per dataset (real-project datasets: spread over the projects)', number)
    .option('--variants <list>', 'variants to run (closed_book, rag_in_context, cmt, ...; default: all; none: retrieval only)', strings)
    .option('--top-k <k>', 'memories per question', number)
    .option('--alpha <a>', 'memory-aware contrast strength', number)
    .option('--max-new-tokens <n>', 'answer tokens', number)
    .option('--beams <b>', 'beam width', number)
    .option('--big-k <k>', 'memories for the cmt_no_topk ablation', number)
    .option('--fit-grounding', 'fit a grounding confidence floor per answer mode on these (dev) datasets')
    .option('--fit-max-confident-wrong <pct>', '--fit-grounding: confident-wrong target per dataset (default 3)', number)
    .option('--no-confidence-floors', "ignore the pack's grounding confidence floors (the text test alone)")
    .option('--examples <n>', 'per-question predictions kept in the JSON report (default 8)', number)
    .option('--no-curves', 'skip the retention and noise curves')
    .option('--curve-dataset <name>', 'dataset of the curves')
    .option('--curve-variants <list>', 'variants measured along the curves (default: cmt, rag_in_context)', strings)
    .option('--filler <dataset>', 'documents streamed in after the curve dataset\'s own (e.g. workspace-filler: 1,000 more)')
    .option('--curve-docs <n>', 'documents per curve step', number)
    .option('--retention-steps <list>', 'bank sizes of the retention curve', numbers)
    .option('--curve-questions <n>', 'questions per curve point', number)
    .option('--noise <list>', 'noise fractions of the noise curve', numbers)
    .option('--dump-contexts <file>', "real-project datasets: append each question's retrieved and gold chunks to FILE as JSON lines (the reader's training data; with --variants none, retrieval only)")
    .option('--retrieval-only', 'recall@1/@5 + MRR per retriever and fused (no answers)')
    .option('--candidates <n>', '--retrieval-only: candidates per retriever', number)
    .option('--fit', '--retrieval-only: fit the fusion weights on the dev split')
    .option('--embedder-cost', '--retrieval-only: also time memorizing without the sentence embedder')
    .option('--fusion <key,emb,text,k[,gate]>', '--retrieval-only: fusion weights, RRF k and the BM25 gate (0: off)', numbers)
    .option('--lists <prefix>', '--retrieval-only: also write each dataset\'s ranked lists to <prefix>.<i>.json')
    .option('--no-write', '--retrieval-only: print, write no report')
    .action(async (o: EvalCliOpts) => {
      try {
        await (o.retrievalOnly ? retrievalOnly(ctx, o) : fullEval(ctx, o));
      } catch (e) {
        process.stderr.write(`cmt eval: ${(e as Error).stack ?? e}\n`);
        process.exitCode = 1;
      }
    });
}

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

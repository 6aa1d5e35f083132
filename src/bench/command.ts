// `cmt bench`: engine speed on this machine (index.ts) as a commander subcommand of the `cmt` program
// (src/cli/cmt.ts), which supplies --pack and --device. The runners (and with them ONNX Runtime and
// LanceDB) load only when the subcommand runs.
import { Command } from 'commander';
import { MeasureContext, number, numbers, strings } from '../measure/options';
import type { BenchSection } from './index';
import type { VectorIndexOptions } from '../core/bank';

interface BenchCliOpts {
  sections?: string[];
  quick?: boolean;
  out?: string;
  tag?: string;
  compressDocs?: number;
  matmulN?: number;
  answerDocs?: number;
  answerQuestions?: number;
  answerTokens?: number;
  sizes?: number[];
  queries?: number;
  indexMin?: number;
  realBudget?: number;
  realWant?: number;
  realCache?: string;
  memoryBytes?: number;
  annKind?: string;
  nprobes?: number;
  ef?: number;
  refineFactor?: number;
  efSweep?: number[];
  files?: number;
  embedderDatasets?: string[];
  embedderRepeats?: number;
  chunkingDataset?: string;
  chunkingRepeats?: number;
  embedderDocs?: number;
  gguf?: string;
  decodeThreads?: number;
  decodePrompts?: number[];
  decodeTokens?: number;
  decodeRepeats?: number;
}

export function benchCommand(ctx: MeasureContext): Command {
  return new Command('bench')
    .description('speed, memory and scale: compression vs the machine peak, answer latency, retrieval at 1K-1M, 10K-file memorize')
    .option('--sections <list>', 'sections to run (compress, answer, retrieval, memorize, memory, search, embedder, decode, chunking; default: all but chunking and search)', strings)
    .option('--quick', 'small sizes (smoke run)')
    .option('--out <dir>', 'where the reports go (default: docs/results)')
    .option('--tag <name>', 'report file name prefix')
    .option('--compress-docs <n>', 'documents compressed', number)
    .option('--matmul-n <n>', 'matrix size of the peak-GFLOP/s measurement', number)
    .option('--answer-docs <n>', 'documents in the answer-latency bank', number)
    .option('--answer-questions <n>', 'questions timed', number)
    .option('--answer-tokens <n>', 'tokens generated per answer', number)
    .option('--sizes <list>', 'retrieval bank sizes (e.g. 1000,10000,100000,1000000)', numbers)
    .option('--queries <n>', 'retrieval queries per size', number)
    .option('--index-min <n>', 'retrieval: smallest bank that gets the ANN index (default: the bank\'s 20000)', number)
    .option('--real-budget <s>', 'retrieval: seconds to spend embedding more real text windows into the cache', number)
    .option('--real-want <n>', 'retrieval: real embeddings wanted in the cache (default 100000)', number)
    .option('--real-cache <dir>', 'retrieval: cache of real embeddings (default .cache/bench-embeddings)')
    .option('--memory-bytes <n>', 'retrieval: bytes of the memory column per row (default the pack\'s k x d float32)', number)
    .option('--ann-kind <kind>', 'retrieval: ivf_hnsw_sq (default) or ivf_pq')
    .option('--nprobes <n>', 'retrieval: IVF partitions probed', number)
    .option('--ef <n>', 'retrieval: HNSW candidates', number)
    .option('--refine-factor <n>', 'retrieval: exact re-rank factor', number)
    .option('--ef-sweep <list>', 'retrieval: also measure the index with these HNSW ef values', numbers)
    .option('--files <n>', 'files in the synthetic memorize repository', number)
    .option('--embedder-datasets <list>', 'embedder: datasets memorized with and without the sentence embedder (default workspace-test,squad-notre-dame-test)', strings)
    .option('--embedder-repeats <n>', 'embedder: ABBA rounds (default 2)', number)
    .option('--chunking-dataset <name>', 'chunking: real projects memorized with code-aware chunking on and off (default real-dev; real:<name> for one)')
    .option('--chunking-repeats <n>', 'chunking: ABBA rounds (default 1)', number)
    .option('--embedder-docs <n>', 'embedder: documents per dataset (default all)', number)
    .option('--gguf <path>', 'the GGUF for the llama.cpp decode comparison')
    .option('--decode-threads <n>', 'decode threads', number)
    .option('--decode-prompts <list>', 'prompt lengths (tokens)', numbers)
    .option('--decode-tokens <n>', 'tokens generated', number)
    .option('--decode-repeats <n>', 'repeats per prompt length', number)
    .action(async (o: BenchCliOpts) => {
      try {
        await bench(ctx, o);
      } catch (e) {
        process.stderr.write(`cmt bench: ${(e as Error).stack ?? e}\n`);
        process.exitCode = 1;
      }
    });
}

function annOptions(o: BenchCliOpts): Partial<VectorIndexOptions> | undefined {
  if (o.annKind !== undefined && o.annKind !== 'ivf_hnsw_sq' && o.annKind !== 'ivf_pq') throw new Error(`unknown --ann-kind ${o.annKind}; ivf_hnsw_sq or ivf_pq`);
  const v = { kind: o.annKind as VectorIndexOptions['kind'] | undefined, nprobes: o.nprobes, ef: o.ef, refineFactor: o.refineFactor };
  return Object.values(v).some((x) => x !== undefined) ? v : undefined;
}

async function bench(ctx: MeasureContext, o: BenchCliOpts): Promise<void> {
  const { runBench, SECTIONS } = await import('./index');
  const { decodeConsoleTable } = await import('./llamacpp');
  const sections = o.sections as BenchSection[] | undefined;
  for (const s of sections ?? []) if (!SECTIONS.includes(s)) throw new Error(`unknown section ${s}; one of ${SECTIONS.join(', ')}`);
  const r = await runBench({
    pack: ctx.pack(),
    sections,
    outDir: o.out,
    tag: o.tag,
    quick: !!o.quick,
    compressDocs: o.compressDocs,
    matmulN: o.matmulN,
    answerDocs: o.answerDocs,
    answerQuestions: o.answerQuestions,
    answerTokens: o.answerTokens,
    retrievalSizes: o.sizes,
    retrievalQueries: o.queries,
    indexMin: o.indexMin,
    realBudgetS: o.realBudget,
    realWant: o.realWant,
    realCache: o.realCache,
    memoryBytes: o.memoryBytes,
    efSweep: o.efSweep,
    vectorIndex: annOptions(o),
    memorizeFiles: o.files,
    embedderDatasets: o.embedderDatasets,
    embedderRepeats: o.embedderRepeats,
    chunkingDataset: o.chunkingDataset,
    chunkingRepeats: o.chunkingRepeats,
    embedderDocs: o.embedderDocs,
    gguf: o.gguf,
    decodeThreads: o.decodeThreads,
    decodePrompts: o.decodePrompts,
    decodeTokens: o.decodeTokens,
    decodeRepeats: o.decodeRepeats,
    device: ctx.device(),
    command: ctx.commandLine(),
  });
  for (const x of r.embedder?.rows ?? []) {
    process.stdout.write(`embedder cost ${x.dataset}: with ${(x.withMs / 1000).toFixed(2)} s, without ${(x.withoutMs / 1000).toFixed(2)} s -> +${x.addedPct} % per token (budget ${r.embedder!.budgetPct} %)\n`);
  }
  if (r.decode) process.stdout.write(decodeConsoleTable(r.decode));
  process.stdout.write(`wrote ${r.files.join(', ')} in ${(r.wallMs / 1000).toFixed(1)} s\n`);
}

// `cmt bench`: engine speed on this machine (index.ts) as a commander subcommand of the `cmt` program
// (src/cli/cmt.ts), which supplies --pack and --device. The runners (and with them ONNX Runtime and
// LanceDB) load only when the subcommand runs.
import { Command } from 'commander';
import { MeasureContext, number, numbers, strings } from '../measure/options';
import type { BenchSection } from './index';

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
  files?: number;
  gguf?: string;
  decodeThreads?: number;
  decodePrompts?: number[];
  decodeTokens?: number;
  decodeRepeats?: number;
}

export function benchCommand(ctx: MeasureContext): Command {
  return new Command('bench')
    .description('speed, memory and scale: compression vs the machine peak, answer latency, retrieval at 1K-1M, 10K-file memorize')
    .option('--sections <list>', 'sections to run (compress, answer, retrieval, memorize, decode; default: all)', strings)
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
    .option('--index-min <n>', 'smallest bank that gets an IVF-PQ index', number)
    .option('--files <n>', 'files in the synthetic memorize repository', number)
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
    memorizeFiles: o.files,
    gguf: o.gguf,
    decodeThreads: o.decodeThreads,
    decodePrompts: o.decodePrompts,
    decodeTokens: o.decodeTokens,
    decodeRepeats: o.decodeRepeats,
    device: ctx.device(),
    command: ctx.commandLine(),
  });
  if (r.decode) process.stdout.write(decodeConsoleTable(r.decode));
  process.stdout.write(`wrote ${r.files.join(', ')} in ${(r.wallMs / 1000).toFixed(1)} s\n`);
}

// node out/src/bench/main.js --pack packs/default [--quick] [--sections compress,answer,retrieval,memorize,decode]
//   [--out docs/results] [--tag bench] [--compress-docs N] [--matmul-n N] [--answer-docs N]
//   [--answer-questions N] [--answer-tokens N] [--sizes 1000,10000,100000,1000000] [--queries N]
//   [--index-min N] [--files N] [--device cpu]
//   [--gguf PATH] [--decode-threads 2] [--decode-prompts 100,500] [--decode-tokens 64] [--decode-repeats 5]
import { num, nums, parseArgs, str, strs } from '../eval/args';
import { BenchSection, runBench, SECTIONS } from './index';
import { decodeConsoleTable } from './llamacpp';
import type { Device } from '../core/types';

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  if (a.help || !a.pack) {
    process.stderr.write('usage: node out/src/bench/main.js --pack DIR [--quick] [--sections compress,answer,retrieval,memorize,decode] [--sizes 1000,10000] [--files N] [--gguf PATH] [--decode-threads 2] [--decode-prompts 100,500] [--decode-tokens 64] [--decode-repeats 5] ...\n');
    process.exitCode = a.help ? 0 : 2;
    return;
  }
  const sections = strs(a, 'sections') as BenchSection[] | undefined;
  for (const s of sections ?? []) if (!SECTIONS.includes(s)) throw new Error(`unknown section ${s}; one of ${SECTIONS.join(', ')}`);
  const r = await runBench({
    pack: String(a.pack),
    sections,
    outDir: str(a, 'out'),
    tag: str(a, 'tag'),
    quick: !!a.quick,
    compressDocs: num(a, 'compress-docs'),
    matmulN: num(a, 'matmul-n'),
    answerDocs: num(a, 'answer-docs'),
    answerQuestions: num(a, 'answer-questions'),
    answerTokens: num(a, 'answer-tokens'),
    retrievalSizes: nums(a, 'sizes'),
    retrievalQueries: num(a, 'queries'),
    indexMin: num(a, 'index-min'),
    memorizeFiles: num(a, 'files'),
    gguf: str(a, 'gguf'),
    decodeThreads: num(a, 'decode-threads'),
    decodePrompts: nums(a, 'decode-prompts'),
    decodeTokens: num(a, 'decode-tokens'),
    decodeRepeats: num(a, 'decode-repeats'),
    device: (str(a, 'device') as Device | undefined) ?? 'cpu',
    command: 'node out/src/bench/main.js ' + process.argv.slice(2).join(' '),
  });
  if (r.decode) process.stdout.write(decodeConsoleTable(r.decode));
  process.stdout.write(`wrote ${r.files.join(', ')} in ${(r.wallMs / 1000).toFixed(1)} s\n`);
}

main().catch((e) => {
  process.stderr.write(`cmt bench: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});

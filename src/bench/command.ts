// `cmt bench`: the command's own options and what it runs (src/cli/measure.ts makes it a commander
// subcommand of `cmt`, which supplies --pack and --device). Its other options are the sections'
// (sections.ts). The runner (and with it ONNX Runtime and LanceDB) loads only when the command runs.
import type { MeasureCommand, OptionSpecs } from '../measure/options';
import { BENCH_SECTIONS, SECTIONS } from './sections';
import type { BenchOptions } from './types';

export const BENCH_OPTIONS = {
  sections: { flags: '--sections <list>', description: `sections to run (${SECTIONS.join(', ')}; default: all but chunking and search)`, kind: 'strings' },
  quick: { flags: '--quick', description: 'small sizes (smoke run)', kind: 'flag' },
  outDir: { flags: '--out <dir>', description: 'where the reports go (default: docs/results)', kind: 'string' },
  tag: { flags: '--tag <name>', description: 'report file name prefix', kind: 'string' },
} satisfies OptionSpecs;

export const benchCommand: MeasureCommand = {
  name: 'bench',
  description: 'speed, memory and scale: compression vs the machine peak, answer latency, retrieval at 1K-1M, 10K-file memorize',
  options: [BENCH_OPTIONS, ...BENCH_SECTIONS.map((s) => s.options)],
  async run(ctx, given) {
    const { runBench } = await import('./index');
    const r = await runBench({ ...(given as Omit<BenchOptions, 'pack'>), pack: ctx.pack(), device: ctx.device(), command: ctx.commandLine() });
    for (const s of BENCH_SECTIONS) if (s.console) process.stdout.write(s.console(r));
    process.stdout.write(`wrote ${r.files.join(', ')} in ${(r.wallMs / 1000).toFixed(1)} s\n`);
  },
};

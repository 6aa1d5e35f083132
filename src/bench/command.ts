// `cmt bench`: its options (its own and the sections', sections.ts) and what it runs.
// src/cli/measure.ts makes it a commander subcommand of `cmt`, which supplies --pack and --device.
// The runner (and with it ONNX Runtime and LanceDB) loads only when it runs.
import type { MeasureCommand } from '../measure/options';
import { BENCH_OPTIONS, BENCH_SECTIONS } from './sections';
import type { BenchOptions } from './types';

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

// `cmt eval`: its options (its own and the sections', sections.ts; --retrieval-only's, retrieval.ts)
// and what it runs. src/cli/measure.ts makes it a commander subcommand of `cmt`, which supplies
// --pack and --device. The runners (and with them ONNX Runtime and LanceDB) load only when it runs.
import { allOptions, type MeasureCommand, type OptionSpecs } from '../measure/options';
import { RETRIEVAL_OPTIONS } from './retrieval';
import { retrievalConsole } from './retrievalReport';
import { EVAL_OPTIONS, EVAL_SECTIONS } from './sections';
import type { EvalOptions, RetrievalEvalOptions } from './types';


/** The options of each run: the streaming-QA evaluation's, and --retrieval-only's. */
const QA_RUN = allOptions([EVAL_OPTIONS, ...EVAL_SECTIONS.map((s) => s.options)]);
const RETRIEVAL_RUN = allOptions([EVAL_OPTIONS, RETRIEVAL_OPTIONS]);
const pick = (given: Record<string, unknown>, specs: OptionSpecs) => Object.fromEntries(Object.keys(specs).map((k) => [k, given[k]]));

async function fullEval(given: Record<string, unknown>, run: Pick<EvalOptions, 'pack' | 'device' | 'command'>): Promise<void> {
  const { runEval } = await import('./index');
  const r = await runEval({ ...(pick(given, QA_RUN) as Omit<EvalOptions, 'pack'>), ...run });
  for (const s of EVAL_SECTIONS) if (s.console) process.stdout.write(s.console(r));
  process.stdout.write(`wrote ${r.files.join(', ')} in ${(r.wallMs / 1000).toFixed(1)} s\n`);
}

async function retrievalOnly(given: Record<string, unknown>, run: Pick<EvalOptions, 'pack' | 'device' | 'command'>): Promise<void> {
  const { runRetrievalEval } = await import('./retrieval');
  const r = await runRetrievalEval({ ...(pick(given, RETRIEVAL_RUN) as Omit<RetrievalEvalOptions, 'pack'>), ...run });
  process.stdout.write(retrievalConsole(r));
  if (r.files.length) process.stdout.write(`wrote ${r.files.join(', ')} in ${(r.wallMs / 1000).toFixed(1)} s\n`);
}

export const evalCommand: MeasureCommand = {
  name: 'eval',
  description: 'streaming-QA quality: closed-book, RAG, CMT and its ablations (EM, F1, recall, latency, curves)',
  options: [EVAL_OPTIONS, ...EVAL_SECTIONS.map((s) => s.options), RETRIEVAL_OPTIONS],
  async run(ctx, given) {
    const run = { pack: ctx.pack(), device: ctx.device(), command: ctx.commandLine() };
    await (given.retrievalOnly ? retrievalOnly(given, run) : fullEval(given, run));
  },
};

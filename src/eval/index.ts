// `cmt eval`: streaming-QA evaluation (MAC/CMT protocol) of a pack on SQuAD-format datasets and
// real projects, with the baselines and ablations side by side on one base model and one bank, plus
// the knowledge retention and noise-robustness curves: the sections of sections.ts (qa, grounding,
// curves), run in order. Writes JSON + markdown + SVG (report.ts; see docs/RESULTS.md).
// `--retrieval-only` is retrieval.ts.
import * as path from 'node:path';
import { loadPack } from '../core/pack';
import { machineInfo } from '../measure/machine';
import { allOptions, resolveOptions } from '../measure/options';
import { answerSettingsOf, variantsOf } from './qa';
import { writeEval } from './report';
import { EVAL_OPTIONS, EVAL_SECTIONS } from './sections';
import type { EvalContext, EvalOptions, EvalReport, ResolvedEvalOptions } from './types';
import { VARIANTS } from './variants';

export type { EvalOptions, EvalReport } from './types';

/** Every option of the streaming-QA evaluation. */
const ALL_OPTIONS = allOptions([EVAL_OPTIONS, ...EVAL_SECTIONS.map((s) => s.options)]);

/** Runs the evaluation; returns the report (and writes it unless write=false). */
export async function runEval(opts: EvalOptions): Promise<EvalReport> {
  const t0 = Date.now();
  for (const s of EVAL_SECTIONS) s.check?.(opts);
  const quick = !!opts.quick;
  const o = resolveOptions(ALL_OPTIONS, opts, quick) as ResolvedEvalOptions;
  const repoRoot = path.resolve(o.repoRoot ?? process.cwd());
  const outDir = path.resolve(repoRoot, o.outDir ?? 'docs/results');
  const tag = o.tag ?? (quick ? 'eval-quick' : 'eval');
  const pack = await loadPack(path.resolve(o.pack), { verifyHashes: false });
  const m = pack.manifest;
  const ctx: EvalContext = {
    o,
    repoRoot,
    packDir: pack.dir,
    device: o.device ?? 'cpu',
    specs: o.datasets.length ? o.datasets : ['workspace-test', 'squad-notre-dame'],
    settings: answerSettingsOf(m, o),
    variants: variantsOf(o.variants) ?? [...VARIANTS],
    outcomes: {},
    log: o.log ?? ((msg: string) => process.stderr.write(msg + '\n')),
  };
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
  for (const s of EVAL_SECTIONS) await s.run(ctx, report);
  report.wallMs = Date.now() - t0;
  if (o.write !== false) await writeEval(report, outDir, tag);
  return report;
}

// The grounding section of `cmt eval`: --fit-grounding fits a confidence floor per answer mode on
// the datasets' outcomes (calibrate.ts) for pack.json defaults.minAnswerConfidence; and
// --no-confidence-floors (read by the answer settings, qa.ts) ignores the pack's floors.
import type { OptionSpecs } from '../measure/options';
import { mdTable } from '../measure/svg';
import { fitFloors } from './calibrate';
import type { EvalReport, EvalSection } from './types';

export const GROUNDING_OPTIONS = {
  /** Fit a confidence floor per answering variant on these datasets (see fitFloors). */
  fitGrounding: { flags: '--fit-grounding', description: 'fit a grounding confidence floor per answer mode on these (dev) datasets', kind: 'flag' },
  /** --fit-grounding: the confident-wrong rate a floor must keep on every dataset (%). */
  fitMaxConfidentWrong: { flags: '--fit-max-confident-wrong <pct>', description: '--fit-grounding: confident-wrong target per dataset (default 3)', kind: 'number', default: 3 },
  /** Apply the pack's grounding confidence floors (default true; false: the text test alone). */
  confidenceFloors: { flags: '--no-confidence-floors', description: "ignore the pack's grounding confidence floors (the text test alone)", kind: 'negatable' },
} satisfies OptionSpecs;

function groundingMarkdown(g: NonNullable<EvalReport['groundingFit']>): string {
  return [
    `## Grounding confidence floors (--fit-grounding): confident-wrong ≤ ${g.maxConfidentWrong}% on every dataset above\n`,
    `A floor is the least mean log-probability (nats/token) of an answer marked "found in source"; pack.json defaults.minAnswerConfidence.\n`,
    mdTable(
      ['variant (answer mode)', 'floor', 'target met', ...Object.keys(g.fits[0]?.datasets ?? {}).map((d) => `${d}: found / precision / confident-wrong`)],
      g.fits.map((f) => [`${f.variant} (${f.mode})`, f.floor ?? 'none', f.met ? 'yes' : 'no', ...Object.values(f.datasets).map((d) => `${d.found} / ${d.foundPrecision ?? '—'} / ${d.confidentWrong}`)]),
    ),
    '',
  ].join('\n');
}

function groundingConsole(g: NonNullable<EvalReport['groundingFit']>): string {
  const out = g.fits.map((f) => `  floor ${f.variant} (${f.mode}): ${f.floor ?? 'none'}${f.met ? '' : ' (target NOT met)'} ${JSON.stringify(f.datasets)}\n`);
  const floors = Object.fromEntries(g.fits.filter((f) => f.floor !== null).map((f) => [f.mode, f.floor]));
  out.push(`pack.json defaults "minAnswerConfidence": ${JSON.stringify(floors)}\n`);
  return out.join('');
}

export const groundingSection: EvalSection = {
  name: 'grounding',
  options: GROUNDING_OPTIONS,
  run(ctx, report) {
    if (!ctx.o.fitGrounding) return;
    const maxConfidentWrong = ctx.o.fitMaxConfidentWrong;
    report.groundingFit = { maxConfidentWrong, fits: fitFloors(ctx.outcomes, ctx.variants, maxConfidentWrong) };
  },
  markdown: (r) => (r.groundingFit ? groundingMarkdown(r.groundingFit) : ''),
  console: (r) => (r.groundingFit ? groundingConsole(r.groundingFit) : ''),
};

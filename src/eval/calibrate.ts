// Fitting the grounding verdict's confidence floor (pack.json defaults.minAnswerConfidence) on dev
// splits: per answer mode, the lowest floor that keeps the confident-wrong rate (marked "found",
// but wrong) at or under a target on EVERY dataset. The lowest such floor marks the most right
// answers as found. Pure: the eval harness feeds it the per-question outcomes.

import type { AnswerMode } from '../core/types';
import { isCorrect } from '../measure/metrics';
import { pct, round } from '../measure/stats';
import { MODE_OF, QuestionOutcome, Variant } from './variants';

export interface FloorFit {
  variant: Variant;
  mode: AnswerMode;
  /** null: no floor needed (the text test alone meets the target); -Infinity is never written. */
  floor: number | null;
  /** At that floor, per dataset: % found, % precision of found, % confident-wrong. */
  datasets: Record<string, { n: number; found: number; foundPrecision: number | null; confidentWrong: number }>;
  /** False when even the strictest floor misses the target on some dataset (floor = above every answer). */
  met: boolean;
}

interface Point {
  inSource: boolean;
  confidence: number;
  right: boolean;
}

function pointsOf(outs: QuestionOutcome[], v: Variant): Point[] {
  return outs
    .filter((o) => o.scores[v] && o.grounding[v])
    .map((o) => ({ inSource: o.grounding[v]!.inSource, confidence: o.grounding[v]!.confidence, right: isCorrect(o.scores[v]!) }));
}

function at(points: Point[], floor: number | null) {
  const found = points.filter((p) => p.inSource && (floor === null || p.confidence >= floor));
  const right = found.filter((p) => p.right).length;
  return { n: points.length, found: pct(found.length, points.length), foundPrecision: found.length ? pct(right, found.length) : null, confidentWrong: pct(found.length - right, points.length) };
}

/** One floor per answering variant of `byDataset` (dataset name -> that dataset's outcomes). */
export function fitFloors(byDataset: Record<string, QuestionOutcome[]>, variants: readonly Variant[], maxConfidentWrong: number): FloorFit[] {
  const fits: FloorFit[] = [];
  for (const v of variants) {
    const mode = MODE_OF[v];
    if (!mode || mode === 'closed-book') continue; // closed-book cites nothing: never "found"
    const sets = Object.entries(byDataset).map(([name, outs]) => [name, pointsOf(outs, v)] as const).filter(([, p]) => p.length > 0);
    if (!sets.length) continue;
    const ok = (floor: number | null) => sets.every(([, p]) => at(p, floor).confidentWrong <= maxConfidentWrong);
    // Candidates, loosest first: no floor, then each in-source answer's confidence, then above them all.
    const cands = [...new Set(sets.flatMap(([, p]) => p.filter((x) => x.inSource).map((x) => x.confidence)))].sort((a, b) => a - b);
    const top = cands.length ? cands[cands.length - 1] + 1e-4 : 0;
    let floor: number | null = null;
    let met = true;
    if (!ok(null)) {
      const hit = cands.find((c) => ok(c));
      met = hit !== undefined;
      floor = hit ?? round(top, 4);
    }
    fits.push({ variant: v, mode, floor, met, datasets: Object.fromEntries(sets.map(([name, p]) => [name, at(p, floor)])) });
  }
  return fits;
}

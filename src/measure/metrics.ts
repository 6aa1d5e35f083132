// Answer metrics, matching training/cmt/metrics.py exactly: SQuAD normalisation (lower-case,
// drop ASCII punctuation = Python's string.punctuation, drop the articles a/an/the as whole words,
// collapse whitespace), strict EM, prefix EM (MAC's: the prediction is cut to the gold answer's
// normalised length before comparing), SQuAD token F1 (best over the gold answers).

const PUNCT = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');
// Python's re `\b` on str is Unicode-aware (word chars = letters, digits, underscore in any script).
const ARTICLES = /(?<![\p{L}\p{N}_])(a|an|the)(?![\p{L}\p{N}_])/gu;

export function normalizeAnswer(s: string): string {
  let t = s.toLowerCase();
  let out = '';
  for (const ch of t) if (!PUNCT.has(ch)) out += ch;
  t = out.replace(ARTICLES, ' ');
  return t
    .split(/\s+/u)
    .filter((w) => w.length > 0)
    .join(' ');
}

export function exactMatch(pred: string, golds: readonly string[]): number {
  const p = normalizeAnswer(pred);
  return golds.some((g) => p === normalizeAnswer(g)) ? 1 : 0;
}

export function prefixExactMatch(pred: string, golds: readonly string[]): number {
  const p = normalizeAnswer(pred);
  return golds.some((g) => {
    const n = normalizeAnswer(g);
    return p.slice(0, n.length) === n;
  })
    ? 1
    : 0;
}

export function f1Score(pred: string, golds: readonly string[]): number {
  const pt = normalizeAnswer(pred).split(' ').filter(Boolean);
  let best = 0;
  for (const g of golds) {
    const gt = normalizeAnswer(g).split(' ').filter(Boolean);
    const counts = new Map<string, number>();
    for (const w of gt) counts.set(w, (counts.get(w) ?? 0) + 1);
    let same = 0;
    for (const w of pt) {
      const c = counts.get(w) ?? 0;
      if (c > 0) {
        same++;
        counts.set(w, c - 1);
      }
    }
    if (same === 0) continue;
    const precision = same / pt.length;
    const recall = same / gt.length;
    best = Math.max(best, (2 * precision * recall) / (precision + recall));
  }
  return best;
}

/**
 * An answer counts as correct for the grounding metrics when its SQuAD F1 reaches this, or when it
 * contains a gold answer whole (a chat model's "The library is 14 stories tall." for "14": right,
 * though its F1 is 0.29).
 */
export const CORRECT_F1 = 0.5;

/** Whether the normalised prediction contains a normalised gold answer as whole words. */
export function containsAnswer(pred: string, golds: readonly string[]): boolean {
  const p = ` ${normalizeAnswer(pred)} `;
  return golds.some((g) => {
    const n = normalizeAnswer(g);
    return n !== '' && p.includes(` ${n} `);
  });
}

export function isCorrect(score: { f1: number; contains?: boolean }): boolean {
  return score.f1 >= CORRECT_F1 || score.contains === true;
}

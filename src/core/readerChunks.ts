// Which retrieved chunk the reader is shown. The fused ranking finds the right FILE well (first for
// 82.5 % of real-dev questions), but inside a file the chunk that holds the answer is often the
// second or third: the top chunk held an accepted answer for 75.5 % of real-train questions, one of
// the top three for 93 %. Among the best READER_CANDIDATES chunks the reader gets the one that covers
// the question's words best, each word weighted by how few of the candidates hold it (a word in all of
// them says nothing), a name the question puts in backticks QUOTED_WEIGHT times, and each rank below
// the first costing RANK_COST. Chosen on real-train (answer in the shown chunk 75.5 -> 79.1 %).
// Citations keep the fused order: this only decides what the reader reads.
import { backticked, lineTokens, PHRASING, stem, STOPWORDS, versionsIn } from './terms';

export const READER_CANDIDATES = 3;
export const RANK_COST = 1.0;
export const QUOTED_WEIGHT = 2;

/** The question's names that count QUOTED_WEIGHT times: its backticked spans and the versions it names. */
export function quotedStems(question: string): Set<string> {
  return contentStems([...backticked(question), ...versionsIn(question)].join(' '), false);
}

/** Stemmed content words of `text` (identifiers also by their parts), stop and phrasing words left out. */
export function contentStems(text: string, dropPhrasing: boolean): Set<string> {
  const out = new Set<string>();
  for (const t of lineTokens(text)) if (!STOPWORDS.has(t) && !(dropPhrasing && PHRASING.has(t))) out.add(stem(t));
  return out;
}

/** A question word's weight among `n` texts, `df` of which hold it: rarer counts more, backticked or a version QUOTED_WEIGHT times. */
export function wordWeight(quoted: boolean, n: number, df: number): number {
  return (quoted ? QUOTED_WEIGHT : 1) * Math.log(1 + n / df);
}

/** `chunks` (best first) with the one the reader should read first; the others keep their order. */
export function readerOrder<T>(question: string, chunks: readonly T[], textOf: (c: T) => { path: string; text: string }): T[] {
  const n = Math.min(READER_CANDIDATES, chunks.length);
  if (n < 2) return [...chunks];
  const asked = contentStems(question, true);
  const quoted = quotedStems(question);
  const words = chunks.slice(0, n).map((c) => {
    const { path, text } = textOf(c);
    return contentStems(`${text} ${path}`, false);
  });
  let best = 0;
  let bestScore = -Infinity;
  words.forEach((w, i) => {
    let score = -RANK_COST * i;
    for (const t of asked) {
      if (!w.has(t)) continue;
      score += wordWeight(quoted.has(t), n, words.filter((x) => x.has(t)).length);
    }
    if (score > bestScore + 1e-9) [best, bestScore] = [i, score];
  });
  return best === 0 ? [...chunks] : [chunks[best], ...chunks.slice(0, best), ...chunks.slice(best + 1)];
}

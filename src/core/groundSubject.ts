// Two of grounding's "about something else" checks (ground.ts), on the quoted line's chunk: another
// version's section of a changelog, and a line far from the key the question puts in backticks.
import { backticked, GENERIC_PATH_WORDS, lineTokens, STOPWORDS } from './terms';

/** A cited line as grounding reads it (ground.ts's Line). */
export interface SubjectLine {
  citation: number;
  text: string;
  tokens: Set<string>;
}

const VERSION_RE = /(?<![\w.])v?(\d+(?:\.\d+){1,3})(?![\w.]*\d)/g;

/**
 * Whether the quoted line belongs to another version than the one the question names: in a changelog
 * the answer to "When was flask 2.2.2 released?" sits under the "Version 2.2.2" heading, and the
 * "Released 2022-08-03" two sections on belongs to the nearest version named at or above it (2.2.1).
 */
export function otherVersion(question: string, lines: readonly SubjectLine[], quoted: SubjectLine): boolean {
  const asked = new Set([...question.matchAll(VERSION_RE)].map((m) => m[1]));
  if (asked.size === 0) return false;
  const own = lines.filter((l) => l.citation === quoted.citation);
  for (let i = own.indexOf(quoted); i >= 0; i--) {
    const named = [...own[i].text.matchAll(VERSION_RE)].map((m) => m[1]);
    if (named.length) return !named.some((v) => asked.has(v));
  }
  return false;
}

/**
 * Whether the quoted line is about another key than the one the question quotes: the question puts
 * a name in backticks, a cited chunk mentions it, but neither the quoted line nor the `window` lines
 * above it (ground.ts's CONTEXT_LINES) do. "Which version of `rollup` is in package.json?" is not
 * answered by `"version": "3.23.8"`, the package's own version, whether `"rollup"` is a few keys
 * below in the same chunk or in the next chunk of the file. A name that is a word of a cited file's
 * path (`CHANGES`, `.github/workflows/test.yml`) names the file, not a key: it puts no condition.
 */
export function otherKey(question: string, lines: readonly SubjectLine[], quoted: SubjectLine, window: number, pathWords: ReadonlySet<string>): boolean {
  const quotedNames = backticked(question).flatMap((q) => [...lineTokens(q)]);
  const names = [...new Set(quotedNames)].filter((t) => t.length > 1 && !STOPWORDS.has(t) && !GENERIC_PATH_WORDS.has(t) && !pathWords.has(t));
  const named = (l: SubjectLine) => names.some((n) => l.tokens.has(n));
  if (!lines.some(named)) return false;
  const own = lines.filter((l) => l.citation === quoted.citation);
  const at = own.indexOf(quoted);
  return !own.slice(Math.max(0, at - window), at + 1).some(named);
}

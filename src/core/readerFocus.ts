// Which lines of the chosen chunk the reader is shown. A chunk is up to a few dozen lines, and on real
// files the 135M reader, given the right chunk, most often fails by answering from the line next to
// the right one: the neighbouring constant, option, changelog date or docstring. The line that names
// what the question names (weighted as in readerChunks.ts: a word in few lines counts more, a name in
// backticks or a version counts QUOTED_WEIGHT times) is usually the answer's line or just above it,
// so the reader gets a window around that line: ABOVE lines above it (more when a comment block sits
// right above, where JSDoc puts a function's description) and BELOW lines below. A version the
// question names, on one line only, is the focus line whatever the rest. Otherwise nothing is cut
// when no line stands out (the best line holds less than minShare of the question's weight; the first
// of equal lines wins). The window keeps to the focus line's section: it starts no higher than the
// heading above the line and ends before the next heading of that level or above (a changelog's next
// release, a README's next section, an INI file's next [section]; any heading when none is above),
// where the neighbouring dates and values the reader confuses sit; a chunk shorter than the window is
// cut at headings only. Citations and grounding keep the whole chunk.
import { versionsIn } from './terms';
import { contentStems, quotedStems, READER_CANDIDATES, readerOrder, wordWeight } from './readerChunks';
import { headingLevels, headingLevelsIn, UNDERLINE } from './headings';
import { namedChunk, namedWindow } from './readerNamed';

export { headingLevels };

export interface FocusWindow {
  above: number;
  below: number;
  /** The best line must hold at least this share of the question's weight, else nothing is cut. */
  minShare: number;
}

export const DEFAULT_FOCUS: FocusWindow = { above: 3, below: 10, minShare: 0.7 };
const MAX_COMMENT_LINES = 12;
const COMMENT_LINE = /^\s*(\/\*\*?|\*|\/\/|#(?![!\[])|"""|''')/;

/** Index of the line that best matches the question, or -1 when none stands out. */
export function focusLine(question: string, lines: readonly string[], minShare = DEFAULT_FOCUS.minShare): number {
  const asked = contentStems(question, true);
  if (asked.size === 0) return -1;
  const named = versionLine(question, lines);
  if (named >= 0) return named;
  const quoted = quotedStems(question);
  const words = lines.map((l) => contentStems(l, false));
  const weight = new Map<string, number>();
  for (const t of asked) {
    const df = words.filter((w) => w.has(t)).length;
    if (df > 0) weight.set(t, wordWeight(quoted.has(t), lines.length, df));
  }
  const total = [...weight.values()].reduce((a, b) => a + b, 0);
  if (total === 0) return -1;
  let best = -1;
  let bestScore = 0;
  words.forEach((w, i) => {
    let score = 0;
    for (const [t, x] of weight) if (w.has(t)) score += x;
    if (score > bestScore + 1e-9) [best, bestScore] = [i, score];
  });
  return bestScore >= minShare * total ? best : -1;
}

/** The one line holding a version the question names ("When was 2.2.2 released?"), or the one such heading, or -1. */
function versionLine(question: string, lines: readonly string[]): number {
  const level = headingLevels(lines, true);
  for (const v of versionsIn(question)) {
    const holding = lines.flatMap((l, i) => (versionsIn(l).includes(v) ? [i] : []));
    if (holding.length === 1) return holding[0];
    const titles = holding.filter((i) => level[i] > 0);
    if (titles.length === 1) return titles[0];
  }
  return -1;
}

/** What the reader reads of a chunk, and where its answer must start when the question names what it asks about. */
export interface ReaderWindow {
  text: string;
  /** The text the answer must begin (copy.ts): a doc's first sentence, a key's or a name's value. */
  anchor?: string;
  /** The anchor is exactly the answer's value (its window said where it ends): the answer must be all of it. */
  whole?: boolean;
}

/**
 * What the reader should read of `text` (the chunk of file `path`, defining `defines`) for
 * `question`: what the question names (readerNamed.ts), else the window around the focus line, else
 * all of it.
 */
export function readerWindow(question: string, text: string, win: FocusWindow = DEFAULT_FOCUS, path = '', defines: readonly string[] = []): ReaderWindow {
  const lines = text.split('\n');
  const named = namedWindow(question, { path, text, defines });
  if (!named) return { text: focusText(question, text, win, path) };
  const shown = lines.slice(...named.lines);
  return { text: dedent(shown).join('\n'), anchor: anchorOf(shown, named.col, named.end), ...(named.end !== undefined ? { whole: true } : {}) };
}

/** The answer's start: the window from column `col` of its first line (to column `end` of a one-line window), comment stars left out, up to a doc's closing quotes. */
function anchorOf(lines: readonly string[], col: number, end?: number): string {
  const shown = end === undefined ? lines : [lines[0].slice(0, end)];
  const text = [shown[0].slice(col), ...shown.slice(1).map((l) => l.replace(/^\s*\*?\s?/, ''))].join('\n');
  return text.replace(/\s*("""|'''|\*\/)[\s\S]*$/, '').trimEnd();
}

/** The lines of `text` the reader should read for `question` around its focus line (all of them when no line stands out). */
export function focusText(question: string, text: string, win: FocusWindow = DEFAULT_FOCUS, path = ''): string {
  const lines = text.split('\n');
  const at = focusLine(question, lines, win.minShare);
  if (at < 0) return text;
  // A short chunk is cut at its headings only.
  const short = lines.length <= win.above + win.below + 1;
  let from = short ? 0 : Math.max(0, at - win.above);
  // A comment block right above the window (JSDoc, #-comments) is read whole: it describes the line.
  while (from > 0 && at - from < MAX_COMMENT_LINES && COMMENT_LINE.test(lines[from - 1])) from--;
  let to = short ? lines.length : Math.min(lines.length, at + win.below + 1);
  const level = headingLevelsIn(lines, path);
  // The section the focus line is in starts at the nearest heading above it (or at it) ...
  let section = Infinity;
  for (let i = at; i > from; i--) if (level[i]) [from, section] = [i, level[i]];
  if (level[from]) section = level[from];
  // ... and ends at the next heading of its level or above, once it has a line of its own.
  let content = false;
  for (let i = at + 1; i < to; i++) {
    if (level[i] && level[i] <= section && content) to = i;
    else if (lines[i].trim() && !UNDERLINE.test(lines[i])) content = true;
  }
  return lines.slice(from, to).join('\n');
}

/** `lines` without the indentation they share (a docstring read as prose, a key without its nesting). */
function dedent(lines: readonly string[]): string[] {
  const indents = lines.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length);
  const cut = indents.length ? Math.min(...indents) : 0;
  return lines.map((l) => l.slice(cut));
}

/** The pack defaults that decide what the reader reads. */
export interface ReaderDefaults {
  readerRerank: boolean;
  readerFocus: FocusWindow | null;
}

type ChunkView = { path: string; text: string; defines?: readonly string[] };

/**
 * What the reader reads of the retrieved `chunks` (best first), as Engine.ask, the eval and the
 * training dump all must: the chunk choice (readerChunks.ts) when the pack asks for it, the first
 * `n`, each cut to its line window when the pack has one. With windows, a chunk among the first
 * READER_CANDIDATES that holds what the question names (readerNamed.ts) is read first.
 */
export function readerView<T>(question: string, chunks: readonly T[], n: number, d: ReaderDefaults, textOf: (c: T) => ChunkView): Array<{ chunk: T } & ReaderWindow> {
  let order = d.readerRerank ? readerOrder(question, chunks, textOf) : [...chunks];
  if (d.readerFocus) {
    const first = chunks.slice(0, READER_CANDIDATES);
    const i = namedChunk(question, first.map(textOf));
    if (i >= 0) order = [first[i], ...order.filter((c) => c !== first[i])];
  }
  return order.slice(0, n).map((chunk) => {
    const c = textOf(chunk);
    return { chunk, ...(d.readerFocus ? readerWindow(question, c.text, d.readerFocus, c.path, c.defines) : { text: c.text }) };
  });
}

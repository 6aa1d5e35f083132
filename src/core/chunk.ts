// Splits a file's text into chunks that fit the compressor's token budget, keeping exact
// 1-based line ranges for citations. Invariant (except for a single over-long line split by
// characters): chunk.text === lines.slice(startLine - 1, endLine).join('\n'), where `lines`
// is the file split on \r\n, \n or \r.
import { Definition, flatten } from './syntax';
import type { Chunk } from './types';

export type ChunkKind = 'code' | 'markdown' | 'text';

const MARKDOWN_EXT = new Set(['md', 'markdown', 'mdx', 'mdown', 'mkd', 'rst', 'adoc', 'org']);
const TEXT_EXT = new Set(['txt', 'text', 'log', 'csv', 'tsv', '']);

/** Which splitting strategy a path gets (by extension). Unknown extensions count as code. */
export function chunkKind(relPath: string): ChunkKind {
  const base = relPath.split(/[\\/]/).pop() ?? relPath;
  const dot = base.lastIndexOf('.');
  const ext = dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
  if (MARKDOWN_EXT.has(ext)) return 'markdown';
  if (TEXT_EXT.has(ext)) return 'text';
  return 'code';
}

/** Split text into lines the way every chunk's line numbers are counted (CRLF, LF or CR). */
export function splitLines(text: string): string[] {
  return text.split(/\r\n|\n|\r/);
}

interface Range {
  start: number; // 0-based inclusive line index
  end: number; // 0-based inclusive line index
}

const isBlank = (s: string) => s.trim().length === 0;
const CLOSER = /^(\}|\};|\}\)|\}\);|\]|\];|\)|\);|end|fi|done|esac|#endif)\s*$/;
const HEADING = /^ {0,3}#{1,6}(\s|$)/;
const FENCE = /^ {0,3}(```|~~~)/;

type Splitter = (lines: string[], r: Range) => Range[];

/** Split [r] before every line where `isBoundary(i)` holds; trims blank lines off each part. */
function splitAt(lines: string[], r: Range, isBoundary: (i: number) => boolean): Range[] {
  const out: Range[] = [];
  let cur = r.start;
  for (let i = r.start + 1; i <= r.end; i++) {
    if (isBoundary(i)) {
      pushTrimmed(lines, { start: cur, end: i - 1 }, out);
      cur = i;
    }
  }
  pushTrimmed(lines, { start: cur, end: r.end }, out);
  return out;
}

function pushTrimmed(lines: string[], r: Range, out: Range[]): void {
  let { start, end } = r;
  while (start <= end && isBlank(lines[start])) start++;
  while (end >= start && isBlank(lines[end])) end--;
  if (start <= end) out.push({ start, end });
}

/** Code: new piece at a non-indented line after a blank line or after a closing line (`}`, `end`). */
const splitTopLevel: Splitter = (lines, r) =>
  splitAt(lines, r, (i) => {
    const line = lines[i];
    if (isBlank(line) || /^\s/.test(line)) return false;
    const prev = lines[i - 1];
    return isBlank(prev) || CLOSER.test(prev);
  });

/** Paragraphs: new piece at the first non-blank line after a blank line (outside code fences). */
function splitParagraphs(respectFences: boolean): Splitter {
  return (lines, r) => {
    const inFence = respectFences ? fenceMask(lines, r) : null;
    return splitAt(lines, r, (i) => !isBlank(lines[i]) && isBlank(lines[i - 1]) && !(inFence && inFence[i - r.start]));
  };
}

/** Markdown: new piece at each heading line (outside code fences). */
const splitHeadings: Splitter = (lines, r) => {
  const inFence = fenceMask(lines, r);
  return splitAt(lines, r, (i) => !inFence[i - r.start] && HEADING.test(lines[i]));
};

function fenceMask(lines: string[], r: Range): boolean[] {
  const mask: boolean[] = [];
  let open = false;
  for (let i = r.start; i <= r.end; i++) {
    const f = FENCE.test(lines[i]);
    mask.push(open || f); // fence lines themselves count as inside
    if (f) open = !open;
  }
  return mask;
}

/** Every line its own piece (blank lines dropped as boundaries). */
const splitLinesEach: Splitter = (lines, r) => {
  const out: Range[] = [];
  for (let i = r.start; i <= r.end; i++) if (!isBlank(lines[i])) out.push({ start: i, end: i });
  return out;
};

/** The definitions inside `r` that are not inside another one inside `r` (descending into a definition that covers `r`). */
function frontier(defs: Definition[], r: Range): Definition[] {
  const out: Definition[] = [];
  for (const d of defs) {
    if (d.end < r.start || d.start > r.end) continue;
    if (d.start <= r.start && d.end >= r.end && !(d.start === r.start && d.end === r.end && d.children.length === 0)) return frontier(d.children, r);
    if (d.start >= r.start && d.end <= r.end) out.push(d);
  }
  return out;
}

/** Source with a syntax tree: new piece at each definition's first line and after its last (one nesting level a call). */
function splitDefinitions(defs: Definition[]): Splitter {
  return (lines, r) => {
    const cuts = new Set<number>();
    for (const d of frontier(defs, r)) {
      cuts.add(d.start);
      cuts.add(d.end + 1);
    }
    return splitAt(lines, r, (i) => cuts.has(i));
  };
}

const STRATEGIES: Record<ChunkKind, Splitter[]> = {
  code: [splitTopLevel, splitParagraphs(false), splitLinesEach],
  markdown: [splitHeadings, splitParagraphs(true), splitLinesEach],
  text: [splitParagraphs(false), splitLinesEach],
};

/**
 * Chunk a file. Pieces (top-level blocks / headings / paragraphs) are packed greedily up to
 * `maxTokens`; an oversized piece is split by the next finer level, down to lines, and a single
 * line longer than `maxTokens` is split by characters (those chunks share start/end line).
 */
export function chunkFile(
  relPath: string,
  text: string,
  countTokens: (s: string) => number,
  maxTokens: number,
  kind: ChunkKind = chunkKind(relPath),
  defs?: Definition[] | null,
): Chunk[] {
  if (!(maxTokens >= 1)) throw new RangeError(`maxTokens must be >= 1 (got ${maxTokens})`);
  const path = relPath.replace(/\\/g, '/');
  if (text.length === 0) return [];
  const lines = splitLines(text);
  const all: Range[] = [];
  pushTrimmed(lines, { start: 0, end: lines.length - 1 }, all);
  if (all.length === 0) return [];

  // With a syntax tree: split at definitions first (three levels: class, method, nested), then as before.
  const strategies = defs && defs.length > 0 ? [splitDefinitions(defs), splitDefinitions(defs), splitDefinitions(defs), ...STRATEGIES[kind]] : STRATEGIES[kind];
  const textOf = (r: Range) => lines.slice(r.start, r.end + 1).join('\n');
  const chunks: Chunk[] = [];
  const emit = (r: Range, t = textOf(r)) =>
    chunks.push({ path, startLine: r.start + 1, endLine: r.end + 1, text: t });

  // Recursively split `r` at `level`, then pack the resulting pieces.
  const process = (r: Range, level: number): void => {
    if (level >= strategies.length) {
      splitLongLine(r.start); // a single line that is still too long
      return;
    }
    const pieces = strategies[level](lines, r);
    let cur: Range | null = null;
    let curText = '';
    const flush = () => {
      if (cur) emit(cur, curText);
      cur = null;
      curText = '';
    };
    for (const p of pieces) {
      const pText = textOf(p);
      if (countTokens(pText) > maxTokens) {
        flush();
        if (p.start === p.end && level >= strategies.length - 1) splitLongLine(p.start);
        else process(p, level + 1);
        continue;
      }
      if (cur) {
        const merged: Range = { start: cur.start, end: p.end };
        const mText = textOf(merged);
        if (countTokens(mText) <= maxTokens) {
          cur = merged;
          curText = mText;
          continue;
        }
        flush();
      }
      cur = p;
      curText = pText;
    }
    flush();
  };

  const splitLongLine = (i: number): void => {
    for (const c of lineParts(path, lines[i], i + 1, countTokens, maxTokens)) chunks.push(c);
  };

  process(all[0], 0);
  return defs && defs.length > 0 ? annotate(chunks, defs) : chunks;
}

/**
 * A line longer than `maxTokens` cut into chunks of as many characters as fit (binary search), the
 * whitespace between them skipped, a surrogate pair never cut; each chunk is line `lineNo`.
 */
function lineParts(path: string, line: string, lineNo: number, countTokens: (s: string) => number, maxTokens: number): Chunk[] {
  const out: Chunk[] = [];
  let pos = 0;
  while (pos < line.length) {
    // Skip whitespace between parts so no chunk is blank.
    while (pos < line.length && /\s/.test(line[pos])) pos++;
    if (pos >= line.length) break;
    // Largest end such that countTokens(line.slice(pos, end)) <= maxTokens (binary search).
    let lo = pos + 1;
    let hi = Math.min(line.length, pos + Math.max(64, maxTokens * 32));
    if (countTokens(line.slice(pos, hi)) <= maxTokens) lo = hi;
    else {
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (countTokens(line.slice(pos, mid)) <= maxTokens) lo = mid;
        else hi = mid - 1;
      }
    }
    let end = lo;
    // Don't cut a surrogate pair in half.
    if (end < line.length && end > pos + 1 && isHighSurrogate(line.charCodeAt(end - 1))) end--;
    out.push({ path, startLine: lineNo, endLine: lineNo, text: line.slice(pos, end) });
    pos = end;
  }
  return out;
}

/**
 * Each chunk's enclosing symbol (the innermost definition holding all of it, else the ones it
 * starts) and the names it defines (plain and qualified), for the chunk header and the definition index.
 */
export function annotate(chunks: Chunk[], defs: Definition[]): Chunk[] {
  const all = flatten(defs);
  const topLevel = new Set(defs.filter((d) => d.kind !== 'heading' && d.kind !== 'key'));
  const mod = chunks.length > 0 ? moduleName(chunks[0].path) : '';
  return chunks.map((c) => {
    const s = c.startLine - 1;
    const e = c.endLine - 1;
    let inner: Definition | undefined;
    for (const d of all) if (d.start <= s && d.end >= e && (!inner || d.end - d.start <= inner.end - inner.start)) inner = d;
    const starts = all.filter((d) => d.start >= s && d.start <= e);
    const top = starts.filter((d) => !starts.some((o) => o !== d && o.start <= d.start && o.end >= d.end && o.end - o.start > d.end - d.start));
    const symbol = inner ? inner.qualified : top.length > 0 ? top.slice(0, 3).map((d) => d.qualified).join(', ') : undefined;
    // Top-level code definitions also by module (`msgpack.pack` for msgpack/__init__.py's `pack`).
    const names = (d: Definition) => [d.name, ...(d.qualified !== d.name ? [d.qualified] : []), ...(mod && topLevel.has(d) ? [`${mod}.${d.name}`] : [])];
    const defines = [...new Set(starts.flatMap(names))];
    return { ...c, ...(symbol ? { symbol } : {}), ...(defines.length ? { defines } : {}) };
  });
}

/** A source file's module name as code imports it: its stem, or its folder's name for `__init__.py`, `index.js`, `mod.rs`, `lib.rs`. */
export function moduleName(relPath: string): string {
  const parts = relPath.split('/');
  const base = parts.pop() ?? '';
  const stem = base.replace(/\.[^.]*$/, '');
  return /^(__init__|index|mod|lib|main)$/.test(stem) ? (parts.pop() ?? '') : stem;
}

/** What the retrievers read before a chunk's text: its path and, where known, its enclosing symbol. */
export function chunkHeader(c: Pick<Chunk, 'path' | 'symbol'>): string {
  return c.symbol ? `${c.path} ${c.symbol}` : c.path;
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

// The reader's window when the question names the very thing it asks about. The 135M reader, shown a
// function with its decorator, signature and docstring, answers "@setupmethod"; shown a YAML block, it
// answers the neighbouring key's value. When the chunk holds what the question names, the reader
// reads that alone:
// - "What does `Route.all` do?", "What is `--port` for?", "the purpose / docstring / description of
//   `x`": the first sentence of the named definition's doc (a Python docstring, the JSDoc block above
//   a JavaScript function, the help text of a command-line option);
// - "What is `on.push.branches`?", "`change_dir` in `[testenv:update-requirements]`": the line of the
//   config key whose full name (syntax.ts: YAML/JSON keys by their parents, INI/TOML keys by their
//   section) holds the most of the question's quoted names, with the lines indented under it;
// - "What is `x` set to / its value / default": the first line that assigns x;
// - "What's the latest release?" (no version named): the first release heading's version, alone
//   ("## 3.15.8 (2023-12-30)": the reader answered the date).
// Each window also says in which column its answer text starts (after the quotes, `help="`, the key's
// `=`) and may say where it ends (the version's end): copy decoding (copy.ts) makes the answer start
// there. Chosen on real-dev (docs/RESULTS.md, "Named windows"); the last on the synthetic dev split
// (real-dev asks no such question). Citations and grounding keep the whole chunk.
import { headingLevelsIn } from './headings';
import { CHOSEN_CHUNK_FINDERS, FORM_FINDERS } from './readerForms';
import { lineDefinitions, flatten } from './syntax';
import { backticked, versionsIn } from './terms';

/** Lines [from, to) of a chunk. */
export type LineRange = [number, number];

const DOC_QUESTION = /\bwhat\b.*\b(does|do|did)\b.*\bdo\b|\bwhat(?:'s| is| are)\b.*\bfor\b|\bpurpose\b|\bdescri(?:be|ption)\b|\bdocstring\b|\bdoc comment\b|\bhelp text\b|\bsummar/i;
const MAX_DOC_LINES = 6;
const MAX_VALUE_LINES = 8;

/** The name a question asks to be explained ("What does `Route.all` do?" -> all; its first backticked name, the subject), or none. */
export function docNames(question: string): string[] {
  if (!DOC_QUESTION.test(question)) return [];
  return backticked(question)
    .map((q) => q.slice(1, -1).trim())
    .map((q) => (q.startsWith('-') ? q.split(/[\s/=]/)[0] : (q.replace(/\(.*$/, '').split('.').pop() ?? '')))
    .filter((n) => /^(-{1,2}[\w-]+|[A-Za-z_$][\w$]*)$/.test(n))
    .slice(0, 1);
}

/** A chunk as the reader's window sees it. */
export interface NamedView {
  path: string;
  text: string;
  defines?: readonly string[];
}

/** A window on a chunk's lines, the column of its first line where the answer starts and, for a one-line window, the column where it ends (else at the window's end). */
export interface NamedWindow {
  lines: LineRange;
  col: number;
  end?: number;
}

type Finder = (question: string, lines: readonly string[], v: NamedView) => NamedWindow | null;

/** `range` with the answer starting where `start` (a regex over its first line) ends; at the line's start when it does not match. */
function windowOf(range: LineRange | null, lines: readonly string[], start: RegExp): NamedWindow | null {
  if (!range) return null;
  const m = start.exec(lines[range[0]]);
  return { lines: range, col: m ? m.index + m[0].length : 0 };
}

/** Where a doc's text starts: after indentation, comment stars, opening quotes, `help=`'s quote. */
const DOC_START = /.*\bhelp\s*=\s*["']|^\s*(?:\/\*\*|\*)?\s*(?:[rRuUbB]?(?:"{3}|'{3}))?\s*/;
/** Where a config key's value starts: after its `=` or `:`. */
const KEY_VALUE = /^[^=:]*[=:]\s*["']?/;

/** What the reader looks for, in this order: a question of a known form (readerForms.ts), the subject's doc, a config key, an assignment, the latest release. */
const FINDERS: Finder[] = [
  ...FORM_FINDERS,
  (q, lines, v) => {
    const [name] = docNames(q);
    if (!name) return null;
    const range = docOf(name, lines, v.defines);
    // commander: '-p, --port <n>', 'the description'
    const commander = /^\s*[^"']*["'][^"']*["']\s*,\s*["']/;
    return windowOf(range, lines, name.startsWith('-') && range && !/\bhelp\s*=/.test(lines[range[0]]) ? commander : DOC_START);
  },
  (q, lines, v) => windowOf(keyWindow(q, lines, v.path), lines, KEY_VALUE),
  (q, lines) => {
    const w = valueWindow(q, lines);
    return w && { lines: w.range, col: w.col };
  },
  (q, lines, v) => latestRelease(q, lines, v.path),
];

/** What the reader looks for in the chunk it reads: FINDERS, then the forms that cannot choose a chunk. */
const WINDOW_FINDERS: Finder[] = [...FINDERS, ...CHOSEN_CHUNK_FINDERS];

/** The window on a chunk for what `question` names, or null. */
export function namedWindow(question: string, v: NamedView): NamedWindow | null {
  const lines = v.text.split('\n');
  for (const find of WINDOW_FINDERS) {
    const w = find(question, lines, v);
    if (w) return w;
  }
  return null;
}

/** Which of `views` (best first) holds what `question` names (the first finder any of them satisfies), or -1. */
export function namedChunk(question: string, views: readonly NamedView[]): number {
  const lines = views.map((v) => v.text.split('\n'));
  for (const find of FINDERS) {
    const i = views.findIndex((v, j) => find(question, lines[j], v) !== null);
    if (i >= 0) return i;
  }
  return -1;
}

/** The first paragraph of `name`'s doc in `lines`, or null. */
export function docOf(name: string, lines: readonly string[], defines: readonly string[] = []): LineRange | null {
  if (name.startsWith('-')) return optionHelp(name, lines);
  const esc = name.replace(/\$/g, '\\$');
  const pyDef = new RegExp(`^\\s*(?:async\\s+)?(?:def|class)\\s+${esc}\\b`);
  const jsDef = new RegExp(`(?:^|[\\s.])${esc}\\s*[:=]\\s*(?:async\\s+)?(?:function\\b|\\()|\\bfunction\\s*\\*?\\s*${esc}\\s*\\(|^\\s*(?:(?:static|async|public|private|protected|export|const|let|var)\\s+)*${esc}\\s*(?:=|\\()`);
  for (let i = 0; i < lines.length; i++) {
    if (pyDef.test(lines[i])) return docstringAfter(i, lines);
    if (jsDef.test(lines[i])) {
      const doc = jsdocAbove(i, lines);
      if (doc) return doc;
    }
  }
  // A chunk that starts at a definition's doc comment may end before the definition's own line.
  const defined = defines.some((d) => d === name || d.endsWith(`.${name}`));
  const first = lines.findIndex((l) => l.trim().length > 0);
  return defined && first >= 0 && /^\s*\/\*\*/.test(lines[first]) ? jsdocFrom(first, lines) : null;
}

/** The docstring after the signature that starts at line `def` (Python). */
function docstringAfter(def: number, lines: readonly string[]): LineRange | null {
  let depth = 0;
  let i = def;
  for (; i < lines.length; i++) {
    for (const ch of lines[i].replace(/#.*$/, '')) depth += '([{'.includes(ch) ? 1 : ')]}'.includes(ch) ? -1 : 0;
    if (depth <= 0 && /:\s*(#.*)?$/.test(lines[i])) break;
  }
  let at = i + 1;
  while (at < lines.length && !lines[at].trim()) at++;
  const open = at < lines.length ? /^\s*[rRuUbB]?("""|''')(.*)$/.exec(lines[at]) : null;
  if (!open) return null;
  const q = open[1];
  const opening = open[2].trim() ? at : -1; // the text starts on the opening line, else on the next
  if (opening < 0) at++;
  return paragraph(at, lines, (l, i) => l.split(q).length - 1 >= (i === opening ? 2 : 1), (l) => (l.trim() === q ? '' : l.trim()));
}

/** The JSDoc block that ends right above line `def` (one blank line allowed between). */
function jsdocAbove(def: number, lines: readonly string[]): LineRange | null {
  let end = def - 1;
  if (end >= 0 && !lines[end].trim()) end--;
  if (end < 0 || !/\*\/\s*$/.test(lines[end])) return null;
  let start = end;
  while (start > 0 && !/^\s*\/\*\*/.test(lines[start])) start--;
  return /^\s*\/\*\*/.test(lines[start]) ? jsdocFrom(start, lines) : null;
}

/** The first paragraph of the JSDoc block opening at line `open`. */
function jsdocFrom(open: number, lines: readonly string[]): LineRange | null {
  let at = open;
  const body = (l: string) => l.replace(/^\s*(\/\*\*|\*\/|\*)/, '').replace(/\*\/\s*$/, '').trim();
  while (at < lines.length && !body(lines[at]) && !/\*\//.test(lines[at])) at++;
  if (at >= lines.length || !body(lines[at]) || body(lines[at]).startsWith('@')) return null;
  return paragraph(at, lines, (l) => /\*\//.test(l), (l) => (body(l).startsWith('@') ? '' : body(l)));
}

/**
 * Lines from `at` to the end of their first sentence: before a blank (comment) line, after a line
 * that ends a sentence or closes the doc (`closes`, given the line and its index), or MAX_DOC_LINES.
 */
function paragraph(at: number, lines: readonly string[], closes: (l: string, i: number) => boolean, body = (l: string) => l.trim()): LineRange | null {
  if (at >= lines.length || !body(lines[at])) return null;
  let to = at;
  while (to < lines.length && to - at < MAX_DOC_LINES && body(lines[to])) {
    to++;
    if (closes(lines[to - 1], to - 1) || /[.!?]$/.test(body(lines[to - 1]))) break;
  }
  return [at, to];
}

/** A command-line option's help text: the `help=` line at or after the line naming `--name` (else that line: commander's description). */
function optionHelp(name: string, lines: readonly string[]): LineRange | null {
  // At the start of a string: "--port", "--reload/--no-reload", '-p, --port <n>' (commander).
  const named = new RegExp(`["'](?:-\\w+,?\\s+)?${name.replace(/-/g, '\\-')}(?![\\w-])`);
  const at = lines.findIndex((l) => named.test(l));
  if (at < 0) return null;
  for (let i = at; i < Math.min(lines.length, at + MAX_VALUE_LINES); i++) {
    if (i > at && (/^\s*@/.test(lines[i]) || named.test(lines[i]))) break;
    if (/\bhelp\s*=/.test(lines[i])) return [i, i + 1];
  }
  return [at, at + 1];
}

/** The config key (of a config file's chunk) that holds the most of the question's quoted names, with the lines under it. */
export function keyWindow(question: string, lines: readonly string[], path: string): LineRange | null {
  const quoted = backticked(question).map((q) => q.slice(1, -1).trim().replace(/^\[+|\]+$/g, '')).filter((q) => q.length > 0);
  if (quoted.length === 0) return null;
  const defs = lineDefinitions(path, lines.join('\n'));
  if (!defs) return null;
  let best: number[] = [];
  let bestScore = 0;
  for (const d of flatten(defs)) {
    if (d.kind !== 'key' || d.end !== d.start) continue; // keys, not [sections]
    const q = d.qualified;
    const score = quoted.filter((n) => q === n || q.endsWith(`.${n}`) || q.startsWith(`${n}.`)).length;
    if (score > bestScore) [best, bestScore] = [[d.start], score];
    else if (score === bestScore && score > 0) best.push(d.start);
  }
  if (best.length !== 1) return null;
  const at = best[0];
  const indent = (l: string) => l.length - l.trimStart().length;
  let to = at + 1;
  while (to < lines.length && to - at < MAX_VALUE_LINES && lines[to].trim() && indent(lines[to]) > indent(lines[at])) to++;
  return [at, to];
}

const VALUE_QUESTION = /\b(value|set|sets|default|initiali[sz]ed|assigned|equal)\b/i;

/**
 * "What is `ANCHOR_TEMPLATE` set to?", "what is `path` initialised to?": the first line that assigns
 * the question's last backticked name that the chunk assigns (`x = …`, `x: T = …`, `var x = …`,
 * `.set('subdomain offset', …)`; not a function), that line alone.
 */
export function valueWindow(question: string, lines: readonly string[]): { range: LineRange; col: number } | null {
  if (!VALUE_QUESTION.test(question)) return null;
  const names = backticked(question).map((q) => q.slice(1, -1).trim().replace(/\(.*$/, '').split('.').pop() ?? '');
  for (const name of names.reverse()) {
    if (!/^[A-Za-z_$][\w$ -]*$/.test(name)) continue;
    const esc = name.replace(/\$/g, '\\$');
    const assigns = new RegExp(`(?<![\\w$.'"-])(?:[\\w$]+\\.)*${esc}\\s*(?::[^=\\n]*)?=(?![=>])(?!\\s*(?:async\\s+)?function\\b)\\s*["']?|['"]${esc}['"]\\s*[,:]\\s*["']?`);
    for (const [at, l] of lines.entries()) {
      const m = /^\s*(#|\/\/|\*)/.test(l) ? null : assigns.exec(l);
      if (m) return { range: [at, at + 1], col: m.index + m[0].length };
    }
  }
  return null;
}

const LATEST_RELEASE = /\b(latest|current|newest|most recent|last)\b.*\b(release|version)\b|^\s*\S+\s+version\s*\??\s*$/i;

/** "What's the latest release?", "glalzeru version?" (no version named): the version of the chunk's first heading that holds one. */
export function latestRelease(question: string, lines: readonly string[], path: string): NamedWindow | null {
  if (!LATEST_RELEASE.test(question) || versionsIn(question).length > 0) return null;
  const level = headingLevelsIn(lines, path);
  for (const [at, l] of lines.entries()) {
    const [v] = level[at] ? versionsIn(l) : [];
    if (!v) continue;
    const col = l.indexOf(v);
    return { lines: [at, at + 1], col, end: col + v.length };
  }
  return null;
}

// The reader's window for questions of a known form whose answer sits at a known place in a file: the
// release date under a version's changelog heading, the list of a CI matrix, the opening sentence of a
// named section, an install command, an action's pinned ref, a tox environment's commands, a
// dependency's version constraint, a build backend, a class's bases. The 135M reader, shown the right
// chunk, answers these from the wrong line ("1," for flask 0.9's date two lines under its heading, the
// neighbouring action's "v5", "3.12" of a list, the sentence after the one asked for). Each finder
// returns the one line (or paragraph) that holds the answer and the columns where it starts and ends;
// copy decoding (copy.ts) then makes the answer start there. Chosen on real-dev (docs/RESULTS.md,
// "Question forms"); citations and grounding keep the whole chunk.
import { headingLevelsIn } from './headings';
import { contentStems } from './readerChunks';
import type { NamedView, NamedWindow } from './readerNamed';
import { backticked, stem, versionsIn } from './terms';

export type FormFinder = (question: string, lines: readonly string[], v: NamedView) => NamedWindow | null;

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
/** The backticked names of a question, without their backticks. */
const quoted = (question: string) => backticked(question).map((q) => q.slice(1, -1).trim());
const indentOf = (l: string) => l.length - l.trimStart().length;
/** The 'single-quoted' titles of a question ("under 'Extensions'"). */
const titles = (question: string) => [...question.matchAll(/(?<![\p{L}\p{N}])'([^']{2,80})'(?![\p{L}\p{N}])/gu)].map((m) => m[1]);
/** A one-line window on `lines[at]` from column `col` to `end` (the line's end, less a trailing comment and spaces, by default). */
function oneLine(lines: readonly string[], at: number, col: number, end?: number): NamedWindow {
  const stop = end ?? lines[at].replace(/\s+#.*$/, '').trimEnd().length;
  return { lines: [at, at + 1], col, end: stop };
}

const DATE = /\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}(?:st|nd|rd|th)? [A-Z][a-z]+,? \d{4}\b|\b[A-Z][a-z]+ \d{1,2}(?:st|nd|rd|th)?,? \d{4}\b/;
const WHEN_RELEASED = /\b(when|date|released?|come out|came out)\b/i;
/** Lines under a release heading that may carry its date ("Released 2012-07-01, codename Campari"). */
const DATE_LINES = 5;

/** "When was flask 0.9 released?": the date on the heading of that version's release, or in the lines right under it. */
export const releaseDate: FormFinder = (q, lines, v) => {
  const versions = versionsIn(q);
  if (versions.length === 0 || !WHEN_RELEASED.test(q)) return null;
  const level = headingLevelsIn(lines, v.path);
  for (const ver of versions) {
    const at = lines.findIndex((l, i) => level[i] > 0 && versionsIn(l).includes(ver));
    if (at < 0) continue;
    for (let i = at; i < Math.min(lines.length, at + DATE_LINES); i++) {
      if (i > at && level[i]) break;
      const m = DATE.exec(lines[i]);
      if (m) return oneLine(lines, i, m.index, m.index + m[0].length);
    }
  }
  return null;
};

/** A heading's text without Markdown's #s, links, emphasis and code marks. */
function headingText(l: string): string {
  return l.replace(/^\s*#+\s*|\s*#+\s*$/g, '').replace(/\[([^\]]+)\]\([^)]*\)/g, '$1').replace(/[`*_]/g, '').trim().toLowerCase();
}

/** Lines [heading, end) of the section whose heading reads `title`, or null. */
function sectionOf(title: string, lines: readonly string[], path: string): [number, number] | null {
  const level = headingLevelsIn(lines, path);
  const want = headingText(title);
  const at = lines.findIndex((l, i) => level[i] > 0 && headingText(l) === want);
  if (at < 0) return null;
  let end = at + 1;
  while (end < lines.length && !(level[end] && level[end] <= level[at])) end++;
  return [at, end];
}

const SECTION_OPENING = /\bsay first\b|\bopening\b|\bopen(?:s)? (?:its|the)\b|\bfirst sentence\b|\bbegins?\b|\bstarts? with\b/i;
const SKIPPED = /^\s*$|^\s*([=\-~^"'`#*+])\1{2,}\s*$|^\s*(\.\.|:)/;
/** Lines that are not prose: lists, tables, code, quotes, HTML. */
const NOT_PROSE = /^\s*([-*+|<!>={#%]|\d+\.\s)|^( {4}|\t)/;

/** "How does the README open its 'PyYAML' section?": the first prose paragraph under that heading, to its first sentence's end. */
export const sectionOpening: FormFinder = (q, lines, v) => {
  if (!SECTION_OPENING.test(q)) return null;
  for (const title of titles(q)) {
    const section = sectionOf(title, lines, v.path);
    if (!section) continue;
    let at = section[0] + 1;
    while (at < section[1] && SKIPPED.test(lines[at])) at++;
    if (at >= section[1] || NOT_PROSE.test(lines[at])) return null;
    let to = at;
    while (to + 1 < section[1] && lines[to + 1].trim() && !/[.!?]$/.test(lines[to].trimEnd())) to++;
    return { lines: [at, to + 1], col: indentOf(lines[at]) };
  }
  return null;
};

const INSTALL = /^\s*(?:\$\s+|>\s+)?((?:python3? -m )?(?:pip3?|npm|yarn|pnpm|bun|uv pip|conda|cargo|deno)\s+(?:install|add|i)\s+[^\s#].*?)\s*(?:\s#.*)?$/;
const INSTALL_QUESTION = /\binstall\b/i;

/** "Which command does the 'Build and Install' section give to install `x`?", "How do I install the generator?": the install command (the one naming `x` when one does), in that section when the question names one. */
export const installCommand: FormFinder = (q, lines, v) => {
  if (!INSTALL_QUESTION.test(q)) return null;
  const named = titles(q).map((t) => sectionOf(t, lines, v.path)).find((s) => s !== null);
  if (titles(q).length > 0 && !named) return null;
  const [from, to] = named ?? [0, lines.length];
  const names = quoted(q).filter((n) => !/\.(md|rst|txt)$/i.test(n));
  let first: NamedWindow | null = null;
  for (let i = from; i < to; i++) {
    const m = INSTALL.exec(lines[i]);
    if (!m) continue;
    const col = lines[i].indexOf(m[1]);
    const w = oneLine(lines, i, col, col + m[1].length);
    if (names.some((n) => m[1].includes(n))) return w;
    first ??= w;
  }
  return names.length > 0 && !named ? null : first;
};

const MATRIX_QUESTION = /\b(matrix|CI|workflow|tests? on|tested on)\b/i;
const MATRIX_KEYS: Array<[RegExp, string[]]> = [
  [/\bpython versions\b/i, ['python-version', 'python_version', 'python', 'py']],
  [/\bnode(?:\.js)? versions\b/i, ['node-version', 'node_version', 'node']],
  [/\btypescript versions\b/i, ['typescript', 'ts']],
  [/\boperating systems\b|\bplatforms\b/i, ['os', 'platform']],
];

/** "Which Python versions does the CI workflow test on?": the inline list of the matrix key for them. */
export const ciMatrix: FormFinder = (q, lines, v) => {
  if (!MATRIX_QUESTION.test(q) || !/\.ya?ml$/i.test(v.path)) return null;
  const keys = MATRIX_KEYS.find(([asks]) => asks.test(q))?.[1];
  if (!keys) return null;
  const line = new RegExp(`^\\s*(?:-\\s+)?(?:${keys.map(escape).join('|')})\\s*:\\s*(\\[.*\\])`);
  for (const [at, l] of lines.entries()) {
    const m = line.exec(l.replace(/\s+#.*$/, ''));
    if (m) return oneLine(lines, at, l.indexOf(m[1]), l.indexOf(m[1]) + m[1].length);
  }
  return null;
};

/** "Which version of `actions/checkout` does the workflow use?": the ref after `uses: actions/checkout@`. */
export const actionPin: FormFinder = (q, lines) => {
  if (!/\b(version|ref|pinned|pin|tag)\b/i.test(q)) return null;
  for (const name of quoted(q).filter((n) => /^[\w.-]+\/[\w./-]+$/.test(n))) {
    const uses = new RegExp(`\\buses:\\s*['"]?${escape(name)}@([\\w.\\-]+)`);
    for (const [at, l] of lines.entries()) {
      const m = uses.exec(l);
      if (m) return oneLine(lines, at, m.index + m[0].length - m[1].length, m.index + m[0].length);
    }
  }
  return null;
};

/** "What does `tox -e style` execute?", "What command does tox run in `[testenv:docs]`?": the first line of that environment's `commands`. */
export const toxCommands: FormFinder = (q, lines) => {
  if (!/\bcommands?\b|\bruns?\b|\bexecutes?\b/i.test(q)) return null;
  const envs = quoted(q).flatMap((n) => {
    const m = /^tox\s+-e\s+([\w.-]+)$/.exec(n) ?? /^\[?(testenv(?::[\w.-]+)?)\]?$/.exec(n);
    return m ? [m[1].startsWith('testenv') ? m[1] : `testenv:${m[1]}`] : [];
  });
  for (const env of envs) {
    const at = lines.findIndex((l) => l.trim() === `[${env}]`);
    if (at < 0) continue;
    for (let i = at + 1; i < lines.length && !/^\[/.test(lines[i]); i++) {
      const m = /^(commands\s*=\s*)(.*)$/.exec(lines[i]);
      if (!m) continue;
      if (m[2].trim()) return oneLine(lines, i, m[1].length);
      const next = lines.findIndex((l, j) => j > i && l.trim().length > 0);
      return next > i && /^\s+\S/.test(lines[next]) ? oneLine(lines, next, indentOf(lines[next])) : null;
    }
  }
  return null;
};

/** "What version constraint does pyproject.toml put on `importlib-metadata`?": the requirement `name>=x` (its environment marker left out). */
export const dependencySpec: FormFinder = (q, lines) => {
  if (!/\b(version|constraint|requires?|depends?)\b/i.test(q)) return null;
  for (const name of quoted(q).filter((n) => /^[A-Za-z0-9][\w.-]*$/.test(n))) {
    const req = new RegExp(`(?:^\\s*|["'])(${escape(name)}(?:\\[[^\\]]*\\])?\\s*(?:[<>]=?|[=!~]=)[^;"'#]*)`, 'i');
    for (const [at, l] of lines.entries()) {
      const m = req.exec(l);
      if (!m) continue;
      const col = m.index + m[0].length - m[1].length;
      return oneLine(lines, at, col, col + m[1].trimEnd().length);
    }
  }
  return null;
};

/** "Which build backend does the project use?": the value of pyproject.toml's `build-backend`. */
export const buildBackend: FormFinder = (q, lines) => {
  if (!/\bbuild[- ]backend\b|\bPEP 517 backend\b/i.test(q)) return null;
  for (const [at, l] of lines.entries()) {
    const m = /^\s*build-backend\s*=\s*["']([^"']+)["']/.exec(l);
    if (m) return oneLine(lines, at, m[0].length - m[1].length - 1, m[0].length - 1);
  }
  return null;
};

/** "What does `FormatError` subclass?": the bases of the class (Python's parentheses, JavaScript's `extends`). */
export const classBases: FormFinder = (q, lines) => {
  if (!/\b(subclass(?:es)?|inherits?|derived|base class(?:es)?|extends?)\b/i.test(q)) return null;
  for (const name of quoted(q).map((n) => n.split('.').pop() ?? '').filter((n) => /^[A-Za-z_$][\w$]*$/.test(n))) {
    const py = new RegExp(`^\\s*class\\s+${escape(name)}\\s*\\(([^)]+)\\)`);
    const js = new RegExp(`\\bclass\\s+${escape(name)}\\s+extends\\s+([\\w$.]+)`);
    for (const [at, l] of lines.entries()) {
      const m = py.exec(l) ?? js.exec(l);
      if (!m) continue;
      const col = m.index + m[0].lastIndexOf(m[1]);
      return oneLine(lines, at, col, col + m[1].trimEnd().length);
    }
  }
  return null;
};

/** A window from column `col` of `lines[at]` to the end of that sentence (its period left out). */
function toSentenceEnd(lines: readonly string[], at: number, col: number): NamedWindow {
  const stop = /[.!?](?=\s|$)/.exec(lines[at].slice(col));
  return oneLine(lines, at, col, stop ? col + stop.index : undefined);
}

/** Whether `name` is a word of `question`. */
const asks = (question: string, name: string) => new RegExp(`(?<![\\w-])${escape(name)}(?![\\w-])`, 'i').test(question);

const WHAT_IT_DOES = /\bpurpose of\b|\bwhat (?:does|do)\b.*\bdo\b|\bdescribe what\b|\bwhat is \S+ for\b/i;
const IT_DOES = /\bThe ([\w.-]+) (?:service|tool|app|application|library|module|worker|daemon|job) (?!(?:is|has|was|does)\b)(?=[a-z]+s\b)/g;

/** "What does the glanto service do?": the sentence "The glanto service <does ...>", from its verb. */
export const whatItDoes: FormFinder = (q, lines) => {
  if (!WHAT_IT_DOES.test(q)) return null;
  for (const [at, l] of lines.entries()) {
    for (const m of l.matchAll(IT_DOES)) if (asks(q, m[1])) return toSentenceEnd(lines, at, m.index + m[0].length);
  }
  return null;
};

const OUTAGE_QUESTION = /\bprocedure\b|\bwhat (?:do|should) (?:i|we)\b|\bhandle\b|\bfirst step\b|\boutage\b|\bunresponsive\b|\bstops? responding\b|\bis down\b/i;
const WHEN_DOWN = /\b(?:if|when) ([\w.-]+) (?:stops responding|is down|goes down|is unresponsive|becomes unresponsive),\s*/gi;

/** "What's the procedure when glanto is unresponsive?": what the runbook line "If glanto stops responding, <do this>" says to do. */
export const outageStep: FormFinder = (q, lines) => {
  if (!OUTAGE_QUESTION.test(q)) return null;
  for (const [at, l] of lines.entries()) {
    for (const m of l.matchAll(WHEN_DOWN)) if (asks(q, m[1])) return toSentenceEnd(lines, at, m.index + m[0].length);
  }
  return null;
};

/** Short forms config keys use for words a question spells out (either way round). */
const KEY_WORDS: Array<[string, string[]]> = [['db', ['database']], ['max', ['limit', 'maximum']], ['min', ['minimum']], ['num', ['number']], ['addr', ['address']], ['dir', ['directory', 'folder']], ['env', ['environment']], ['repo', ['repository']]];
const SAME_WORD = new Map<string, string[]>();
for (const [short, long] of KEY_WORDS) {
  SAME_WORD.set(short, long.map(stem));
  for (const l of long) SAME_WORD.set(stem(l), [...(SAME_WORD.get(stem(l)) ?? []), short]);
}
/** `KEY = value`, `key: value`, `"key": value,` (an .env line, YAML, JSON, a settings module). */
const ASSIGNMENT = /^\s*(?:export\s+|const\s+|-\s+)?["']?([A-Za-z_][\w.-]*)["']?\s*(?::|=(?!=))\s*(.*)$/;
/** A value on one line: a quoted string, or one token (a number, a name, a size, a time). */
const LITERAL = /^("[^"]*"|'[^']*'|[\w.:/@#+-]+)\s*,?\s*(?:(?:#|\/\/).*)?$/;

/** Files of settings: .env files, YAML, JSON, TOML, INI, and modules named config, settings, constants, defaults. */
const CONFIG_FILE = /(^|\/)(\.env[^/]*|[^/]*\.(ya?ml|json|toml|ini|cfg|conf|properties)|[^/]*(config|settings|constants|defaults)[^/]*\.\w+)$/i;

/** Whether a key's word `part` says the question's word `t`: the same stem, a short form of it, or one the start of the other ("host" of "hostname"). */
function says(part: string, t: string): boolean {
  if (part === t || SAME_WORD.get(part)?.includes(t)) return true;
  return Math.min(part.length, t.length) >= 3 && (t.startsWith(part) || part.startsWith(t));
}

/**
 * "What's the retry limit configured for trinluus?" (no name quoted): the value of the key whose
 * words say the most of the question's (`MAX_RETRIES`: retry, limit), then the fewest words of its
 * own the question does not say; none when two keys tie.
 */
export const configValue: FormFinder = (q, lines, v) => {
  if (backticked(q).length > 0 || !CONFIG_FILE.test(v.path)) return null; // a quoted name is readerNamed.ts's config key
  const asked = [...contentStems(q, true)];
  let best: { at: number; col: number; end: number } | null = null;
  let bestScore = 0;
  let tie = false;
  for (const [at, l] of lines.entries()) {
    const m = ASSIGNMENT.exec(l);
    const lit = m ? LITERAL.exec(m[2]) : null;
    if (!m || !lit) continue;
    const parts = [...contentStems(m[1].replace(/([a-z0-9])(?=[A-Z])/g, '$1 ').replace(/[._-]/g, ' '), false)];
    const said = asked.filter((t) => parts.some((p) => says(p, t))).length;
    const score = said * 10 - parts.filter((p) => !asked.some((t) => says(p, t))).length;
    if (said === 0 || score < bestScore) continue;
    tie = score === bestScore;
    if (tie) continue;
    const quoted = /^["']/.test(lit[1]);
    const col = l.length - m[2].length + (quoted ? 1 : 0);
    [best, bestScore] = [{ at, col, end: col + lit[1].length - (quoted ? 2 : 0) }, score];
  }
  return best && !tie ? oneLine(lines, best.at, best.col, best.end) : null;
};

/** The question forms, in the order they are tried (before readerNamed.ts's own finders). */
export const FORM_FINDERS: FormFinder[] = [releaseDate, ciMatrix, actionPin, toxCommands, dependencySpec, buildBackend, classBases, sectionOpening, installCommand, whatItDoes, outageStep];

/** Forms read only in the chunk already chosen: they name no subject, so another file's chunk would satisfy them as well. */
export const CHOSEN_CHUNK_FINDERS: FormFinder[] = [configValue];

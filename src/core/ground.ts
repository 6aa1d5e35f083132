// Grounding: is an answer backed by the user's files, or is it a guess? Pure (no I/O, no models, no
// `vscode`), so the engine, the eval harness and tests share one verdict.
//
// "found" needs BOTH:
//  1. the text test: the answer's evidence tokens appear on ONE line of a cited chunk. Tokens are
//     SQuAD-normalised (lower-case, punctuation and articles dropped, spaces collapsed) but code
//     identifiers (snake_case, camelCase) and numbers (3.5, 1,000, 1944Mi) stay whole. A prose line
//     longer than LONG_LINE_CHARS counts sentence by sentence (a SQuAD paragraph is one line). Evidence =
//     the answer's content tokens (no stopwords) that are not already in the question (an answer that
//     only repeats the question proves nothing). Every salient evidence token (numbers, identifiers,
//     names) must be on the line, and at least FOUND_MIN_COVERAGE of all evidence tokens; and the
//     line must be about the question: it, or one of the CONTEXT_LINES lines above it in the same
//     chunk (a YAML parent key, a heading), shares a content word with the question that is specific
//     to few lines (on at most half of the chunk's lines; stemmed: "replicas" = "replica") — otherwise a bare
//     "14" would be "found" on any line of any chunk that happens to hold a 14; and, when several
//     chunks are cited, the line's chunk must mention the question's most distinctive word (its
//     content word found in the fewest cited chunks, but not in all): "the memory cap for malnoix"
//     is not found on "memory_limit: 7488Mi" of another service's config. Two refinements: an answer
//     that is a line's whole value (3+ evidence words, most of the line's content past its key: a
//     `description: "…"`, a runbook step) counts on that line in a chunk that mentions the question's
//     subject, since a phrase that long copied whole is no coincidence; and a question that names
//     something no cited chunk mentions ("the payroll service") while naming nothing of the quoted
//     chunk's own (its path, its first lines' values, a name of the question) is about something
//     else: "3" on billing's `replicas: 3` is no answer about payroll (reason other-subject); so is
//     a line under another version's heading, or a line that is not near the key the question puts
//     in backticks when the chunk has that key elsewhere (`rollup` vs the package's own "version");
//  2. the model's own confidence (when the pack has a floor for the answer mode): the mean
//     log-probability of the generated answer tokens is at least the floor fitted on the dev splits
//     (pack.json defaults.minAnswerConfidence, `cmt eval --fit-grounding`). A small model that copies
//     the wrong number from the right line does so hesitantly: this is what keeps such answers from
//     being shown as found;
//  3. the memory contrast (when measured): the answer is more likely WITH the memory prefix than
//     without it, by more than MIN_MEMORY_GAIN nats per token (decode.ts measures it in the batched
//     pass it already runs for the α contrast).
// Anything else is "not sure", and the most relevant lines of the cited chunks are shown instead.

import { otherKey, otherVersion } from './groundSubject';
import { backticked, GENERIC_PATH_WORDS, lineTokens, PHRASING, prep, stem, STOPWORDS, TOKEN_RE, tokenize } from './terms';
import type { Grounding, GroundingQuote, GroundingReason } from './types';

/** Share of the answer's evidence tokens that must be on the quoted line (salient ones: all of them). */
export const FOUND_MIN_COVERAGE = 0.6;

/**
 * Minimum mean log-likelihood gain of the generated answer tokens with the memory prefix over
 * without it (nats/token). At or below it the answer does not depend on the memory ("≈"), and is
 * not trusted even when its words occur in a cited line. PROVISIONAL: on packs/default (4M-parameter
 * base, the 24 questions of samples/questions.json, α = 0.5) the gains of the generated answers
 * spread from −0.06 to +0.33 nats/token and none of the answers is right, so there is nothing to
 * separate yet; 0.05 only rules out answers the memory does not make clearly MORE likely.
 * Re-measure with the new base LM (docs/RESULTS.md, "Grounding").
 */
export const MIN_MEMORY_GAIN = 0.05;

/** Lines above a candidate line (same chunk) that may carry the question's words for it. */
export const CONTEXT_LINES = 2;

/** Lines shown for a "not sure" answer. */
export const MAX_RELEVANT_LINES = 3;
/** Quote text is clipped to this many characters (around the match). */
export const QUOTE_CHARS = 240;

/** A cited chunk, with its full text (citations carry only an excerpt). */
export interface GroundSource {
  path: string;
  /** 1-based line of the chunk's first line in the file. */
  startLine: number;
  text: string;
}

export interface GroundInput {
  question: string;
  answer: string;
  /** Cited chunks, best first (their index is GroundingQuote.citation). */
  sources: readonly GroundSource[];
  /** Mean log p(answer | memory) − log p(answer | no memory), nats/token; null/undefined = not measured. */
  memoryGain?: number | null;
  /** Mean log-probability of the answer's tokens as generated (nats/token); null/undefined = unknown. */
  confidence?: number | null;
  /** Least `confidence` of a "found" answer; null/undefined = no floor. */
  minConfidence?: number | null;
  /** The prompt's own words (instructions, the worked example: pack.ts promptOwnText): an answer made only of them, absent from the cited lines, is an echo. */
  promptText?: string;
}

// ---------------------------------------------------------------------------------------------
// Answer terms

/** Answers that carry no checkable content, whatever the sources say. */
const TRIVIAL = new Set(['yes', 'no', 'true', 'false', 'none', 'null', 'nil', 'unknown', 'ok', 'okay', 'maybe', 'n', 'a', 'answer', 'question']);

interface AnswerTerms {
  /** Content tokens not in the question (deduplicated, answer order). */
  evidence: string[];
  /** The evidence tokens that must all be on the line: numbers, identifiers, names. */
  salient: Set<string>;
  /** Content tokens before removing the question's. */
  content: string[];
}

function answerTerms(answer: string, question: string): AnswerTerms {
  const q = new Set(tokenize(question));
  for (const t of [...q]) for (const p of lineTokens(t)) q.add(p);
  const raws = prep(answer).match(TOKEN_RE) ?? [];
  const content: string[] = [];
  const evidence: string[] = [];
  const salient = new Set<string>();
  raws.forEach((raw, i) => {
    const t = raw.toLowerCase();
    if (STOPWORDS.has(t) || content.includes(t)) return;
    content.push(t);
    if (q.has(t)) return;
    evidence.push(t);
    const hasDigit = /\p{N}/u.test(raw);
    const identifier = raw.includes('_') || /\p{Ll}\p{Lu}/u.test(raw) || (raw.length > 1 && raw === raw.toUpperCase() && /\p{Lu}/u.test(raw));
    const name = i > 0 && /^\p{Lu}/u.test(raw);
    if (hasDigit || identifier || name) salient.add(t);
  });
  return { evidence, salient, content };
}

// ---------------------------------------------------------------------------------------------
// Lines

interface Line {
  citation: number;
  /** Index of the line within its chunk's non-empty lines. */
  index: number;
  path: string;
  line: number;
  text: string;
  tokens: Set<string>;
  /** `tokens`, stemmed. */
  stems: Set<string>;
}

/** Lines longer than this are prose paragraphs: they are checked sentence by sentence. */
export const LONG_LINE_CHARS = 200;

/** A prose line's sentences (a whole paragraph on one line holds many facts; "found" needs one). */
function segments(text: string): string[] {
  if (text.length <= LONG_LINE_CHARS) return [text];
  return text.split(/(?<=[.!?])\s+(?=["'(\[]?[A-Z0-9])/).filter((x) => x.trim() !== '');
}

function linesOf(sources: readonly GroundSource[]): Line[] {
  const out: Line[] = [];
  sources.forEach((s, citation) => {
    let index = 0;
    s.text.split(/\r?\n/).forEach((line, i) => {
      if (line.trim() === '') return;
      for (const text of segments(line)) {
        const tokens = lineTokens(text);
        out.push({ citation, index: index++, path: s.path, line: s.startLine + i, text, tokens, stems: new Set([...tokens].map(stem)) });
      }
    });
  });
  return out;
}

/** The line's text, trimmed and clipped to QUOTE_CHARS around the first of `focus` it contains. */
function clip(text: string, focus: readonly string[]): string {
  const t = text.trim();
  if (t.length <= QUOTE_CHARS) return t;
  const low = t.toLowerCase();
  let at = -1;
  for (const f of focus) {
    const i = low.indexOf(f);
    if (i >= 0 && (at < 0 || i < at)) at = i;
  }
  const start = Math.max(0, Math.min(t.length - QUOTE_CHARS, at < 0 ? 0 : at - Math.floor(QUOTE_CHARS / 3)));
  const end = Math.min(t.length, start + QUOTE_CHARS);
  return (start > 0 ? '…' : '') + t.slice(start, end).trim() + (end < t.length ? '…' : '');
}

function quoteOf(l: Line, focus: readonly string[]): GroundingQuote {
  return { path: l.path, line: l.line, text: clip(l.text, focus), citation: l.citation };
}

/**
 * The question's words that can tie a line of a chunk to it: question words that occur (stemmed) on
 * at most half of the chunk's lines. A word on most lines (the service's name in its own config,
 * "Notre Dame" in every sentence of a paragraph about it) says which chunk, not which line: "01:30" on
 * "sinlu backups run at 01:30" is no answer to "how many calls per minute can a client make to sinlu?".
 * Chunks of one or two lines keep every question word.
 */
function specificTerms(lines: readonly Line[], citation: number, qStems: ReadonlySet<string>): Set<string> {
  const own = lines.filter((l) => l.citation === citation);
  if (own.length < 3) return new Set(qStems);
  return new Set([...qStems].filter((t) => own.filter((l) => l.stems.has(t)).length * 2 <= own.length));
}

/** Whether line k, or one of the CONTEXT_LINES above it in its chunk, shares a specific word with the question. */
function aboutQuestion(lines: readonly Line[], k: number, qStems: ReadonlySet<string>, specific: ReadonlyMap<number, Set<string>>): boolean {
  if (qStems.size === 0) return true; // a question without content words ("what?") cannot be checked
  const terms = specific.get(lines[k].citation) ?? qStems;
  for (let j = k; j >= 0 && j >= k - CONTEXT_LINES; j--) {
    if (lines[j].citation !== lines[k].citation) break;
    for (const t of terms) if (lines[j].stems.has(t)) return true;
  }
  return false;
}

/** Evidence words an answer needs to count as a line's whole value (a description, a runbook step). */
export const VALUE_MIN_WORDS = 3;
/** Share of a line's value tokens (its key aside) the answer must hold to be that value. */
export const VALUE_MIN_SHARE = 0.6;

/** A line without its leading key ("description: …", `"name": …`, "- owner: …", "Timeout = …"). */
function valueText(line: string): string {
  return line.replace(/^\s*[-*#/]*\s*["']?[\w.-]+["']?\s*[:=]/, ' ');
}

/**
 * Whether the answer is the line's value: VALUE_MIN_WORDS or more evidence words, all its evidence on the line,
 * making up VALUE_MIN_SHARE of its content ("What does glantuio do?" -> `description: "anonymizes map
 * tiles before partners see them"`). A phrase that long copied whole is no coincidence, even when the
 * line shares no word with the question; a few words of a long sentence are not the sentence's value.
 */
function isLineValue(l: Line, evidence: readonly string[]): boolean {
  // Words, not number pieces: a date ("2026-04-09") is three tokens but no phrase.
  const words = evidence.filter((t) => /\p{L}/u.test(t) && !/\p{N}/u.test(t));
  if (words.length < VALUE_MIN_WORDS || !evidence.every((t) => l.tokens.has(t))) return false;
  const value = tokenize(valueText(l.text)).filter((t) => !STOPWORDS.has(t));
  return value.length > 0 && value.filter((t) => evidence.includes(t)).length >= VALUE_MIN_SHARE * value.length;
}

/** The question-related line holding the most of `evidence` (ties: fewer tokens, then earlier citation). */
function bestLine(lines: readonly Line[], evidence: readonly string[], qTerms: ReadonlySet<string>, anyLine = false): { line: Line; hits: number } | null {
  let best: { line: Line; hits: number } | null = null;
  const qStems = new Set([...qTerms].map(stem));
  const specific = new Map([...new Set(lines.map((l) => l.citation))].map((c) => [c, specificTerms(lines, c, qStems)]));
  // A line's value counts only in a chunk that mentions what the question is about.
  const subjects = anyLine ? [] : [...qTerms].filter((t) => !PHRASING.has(t));
  const aboutChunk = new Set(lines.filter((l) => subjects.some((t) => l.tokens.has(t))).map((l) => l.citation));
  for (const [k, l] of lines.entries()) {
    if (!anyLine && !aboutQuestion(lines, k, qStems, specific) && !(aboutChunk.has(l.citation) && isLineValue(l, evidence))) continue;
    const hits = evidence.filter((t) => l.tokens.has(t)).length;
    if (hits === 0) continue;
    if (!best || hits > best.hits || (hits === best.hits && l.tokens.size < best.line.tokens.size)) best = { line: l, hits };
  }
  return best;
}

/** The words of a path ("svc/billing.yaml" -> svc, billing, yaml; camelCase segments also by parts). */
function pathWords(path: string): Set<string> {
  return lineTokens(path.replace(/[/._-]+/g, ' '));
}

/** Each cited chunk's words: those of its path and of its lines (index = citation). */
function chunkWords(sources: readonly GroundSource[], lines: readonly Line[]): Set<string>[] {
  const words = sources.map((s) => pathWords(s.path));
  for (const l of lines) for (const t of l.tokens) words[l.citation].add(t);
  return words;
}

/**
 * The cited chunks an answer may be quoted from: those that mention the question's most distinctive
 * content word (found in the fewest chunks, but not in every one); all chunks when no word separates them.
 */
function anchoredChunks(words: readonly Set<string>[], qTerms: ReadonlySet<string>): Set<number> {
  const all = new Set(words.map((_, i) => i));
  let rarest = words.length;
  let anchors: string[] = [];
  for (const t of qTerms) {
    const df = words.filter((w) => w.has(t)).length;
    if (df === 0 || df === words.length) continue;
    if (df < rarest) [rarest, anchors] = [df, [t]];
    else if (df === rarest) anchors.push(t);
  }
  if (anchors.length === 0) return all;
  return new Set([...all].filter((i) => anchors.some((t) => words[i].has(t))));
}

/** Whether `word` (lower-case) occurs in `tokens`, up to a crude stem or a prefix of 4+ letters ("host" ~ "hostname"). */
function mentions(tokens: Iterable<string>, word: string): boolean {
  const s = stem(word);
  for (const t of tokens) {
    if (t === word || stem(t) === s) return true;
    if (Math.min(t.length, word.length) >= 4 && (t.startsWith(word) || word.startsWith(t))) return true;
  }
  return false;
}

/** The names in a question: numbers, code identifiers and capitalised words after the first (lower-cased). */
function questionNames(question: string): Set<string> {
  const out = new Set<string>();
  const quoted = new Set(backticked(question).flatMap((q) => q.match(TOKEN_RE) ?? []));
  (prep(question).match(TOKEN_RE) ?? []).forEach((raw, i) => {
    const t = raw.toLowerCase();
    if (STOPWORDS.has(t)) return;
    // An all-caps word of 2-4 letters ("DB", "URL", "API") names a kind of thing, not which one:
    // "What DB name is configured for tirguri?" names tirguri, not vulis's `DbHost`. In backticks
    // it is an identifier ("What is `URL` set to?") and names it.
    if (/^\p{Lu}{2,4}$/u.test(raw) && !quoted.has(raw)) return;
    if (/\p{N}/u.test(raw) || raw.includes('_') || /\p{Ll}\p{Lu}/u.test(raw) || (i > 0 && /^\p{Lu}/u.test(raw))) out.add(t);
  });
  return out;
}

/**
 * Whether the question may be about something the cited chunks are not: one of its words (not a
 * phrasing word) is in none of them, and it names nothing of the quoted chunk's own (a word of its
 * path, of its first two lines, or a name of the question found in it). "How many replicas does the
 * payroll service run?" over `svc/billing.yaml` (`replicas: 3`) is about payroll, not billing.
 */
function otherSubject(sources: readonly GroundSource[], words: readonly Set<string>[], lines: readonly Line[], quoted: Line, qTerms: ReadonlySet<string>, question: string): boolean {
  const cited = words.flatMap((w) => [...w]);
  const unexplained = [...qTerms].filter((t) => !PHRASING.has(t) && !mentions(cited, t));
  if (unexplained.length === 0) return false;
  const own = lines.filter((l) => l.citation === quoted.citation);
  const subject: string[] = [...pathWords(sources[quoted.citation].path)];
  // A config's first lines name it by value ("service: billing"); their keys are generic ("service").
  for (const l of own.slice(0, 2)) for (const t of lineTokens(valueText(l.text))) subject.push(t);
  const named = subject.filter((t) => !GENERIC_PATH_WORDS.has(t) && !STOPWORDS.has(t) && !PHRASING.has(t));
  if ([...qTerms].some((t) => mentions(named, t))) return false;
  const ownTokens = own.flatMap((l) => [...l.tokens]);
  return ![...questionNames(question)].some((n) => mentions(ownTokens, n));
}

/** The lines most related to the question and the answer, best first. */
function relevantLines(lines: readonly Line[], question: string, t: AnswerTerms, first?: Line): Line[] {
  const qTerms = tokenize(question).filter((x) => !STOPWORDS.has(x));
  const terms = [...new Set([...qTerms, ...t.content])];
  // Each shared term weighs by rarity among the cited lines (a word on every line says little).
  const weight = (x: string) => 1 / Math.max(1, lines.filter((l) => l.tokens.has(x)).length);
  const w = new Map([...terms, ...t.evidence].map((x) => [x, weight(x)] as const));
  const score = (l: Line) => terms.reduce((a, x) => a + (l.tokens.has(x) ? w.get(x)! : 0), 0) + t.evidence.reduce((a, x) => a + (l.tokens.has(x) ? w.get(x)! : 0), 0);
  const scored = lines
    .map((l, i) => ({ l, i, s: score(l) }))
    .filter((x) => x.s > 0 && x.l !== first)
    .sort((a, b) => b.s - a.s || a.l.citation - b.l.citation || a.i - b.i)
    .map((x) => x.l);
  const out = first ? [first, ...scored] : scored;
  if (out.length === 0 && lines.length > 0) out.push(lines[0]);
  return out.slice(0, MAX_RELEVANT_LINES);
}

// ---------------------------------------------------------------------------------------------
// Verdict

export const GROUNDING_MESSAGES: Record<GroundingReason, string> = {
  'in-source': 'Found in your files.',
  'no-sources': 'Not sure: nothing memorized matched the question, so this answer is not backed by your files.',
  'empty-answer': 'Not sure: the model gave no checkable answer.',
  'repeats-question': 'Not sure: the answer only repeats the question.',
  degenerate: 'Not sure: the model fell into repeating itself, so this is no answer. Check the lines below.',
  'prompt-echo': "Not sure: this is the prompt's own example, not something from your files. Check the lines below.",
  'not-in-source': 'Not sure: this answer does not appear in the cited files — it may be a guess.',
  'off-question': 'Not sure: these words are in your files, but not on a line about your question. Check the lines below.',
  'other-subject': 'Not sure: your question names something that none of the cited files mention, so this answer may be about something else. Check the lines below.',
  'memory-independent': 'Not sure: the model gives this answer just as readily without your files, so it may be a guess.',
  'low-confidence': 'Not sure: the words are in your files, but the model was unsure this is the answer. Check the lines below.',
};

/** Reasons whose output is no answer at all (Grounding.noAnswer). */
const NO_ANSWER: ReadonlySet<GroundingReason> = new Set(['degenerate', 'prompt-echo']);

function verdict(reason: GroundingReason, quotes: GroundingQuote[], coverage: number, memoryGain: number | null): Grounding {
  return {
    verdict: reason === 'in-source' ? 'found' : 'not-sure',
    reason,
    message: GROUNDING_MESSAGES[reason],
    quotes,
    coverage: Math.round(coverage * 1000) / 1000,
    memoryGain: memoryGain === null ? null : Math.round(memoryGain * 1000) / 1000,
    ...(NO_ANSWER.has(reason) ? { noAnswer: true } : {}),
  };
}

/**
 * The repeated run of an answer stuck in a loop: a unit of 1-16 characters written 5+ times in a
 * row over 10+ characters ("1.1.1.1.1.1.1"), or a word group of 1-4 words 3+ times in a row; null
 * when there is none. A value rarely looks like that unless the user's file has it (then it is no loop).
 */
export function repeatedRun(answer: string): string | null {
  const chars = /(.{1,16}?)\1{4,}/su.exec(answer);
  if (chars && chars[0].trim().length >= 10) return chars[0];
  const words = /(?:^|\s)((\S+(?:\s+\S+){0,3})(?:\s+\2){2,})(?=\s|$)/u.exec(answer);
  if (words && words[2].length >= 2) return words[1];
  return null;
}

/** Whether every evidence token of the answer is a word of the prompt's own text. */
function echoes(evidence: readonly string[], promptText: string): boolean {
  const own = new Set(tokenize(promptText));
  return evidence.length > 0 && evidence.every((x) => own.has(x));
}

/** The grounding verdict of an answer against its cited chunks (see the file header). */
export function groundAnswer(input: GroundInput): Grounding {
  const gain = typeof input.memoryGain === 'number' && Number.isFinite(input.memoryGain) ? input.memoryGain : null;
  const lines = linesOf(input.sources);
  const t = answerTerms(input.answer, input.question);
  const focus = t.evidence.length ? t.evidence : t.content;
  const notSure = (reason: GroundingReason, coverage = 0, first?: Line) =>
    verdict(reason, relevantLines(lines, input.question, t, first).map((l) => quoteOf(l, focus)), coverage, gain);

  if (input.sources.length === 0) return verdict('no-sources', [], 0, gain);
  if (t.content.length === 0 || t.content.every((x) => TRIVIAL.has(x))) return notSure('empty-answer');
  const loop = repeatedRun(input.answer);
  if (loop && !input.sources.some((s) => s.text.includes(loop))) return notSure('degenerate');
  if (t.evidence.length === 0) return notSure('repeats-question');

  const qTerms = new Set(tokenize(input.question).filter((x) => !STOPWORDS.has(x)));
  const words = chunkWords(input.sources, lines);
  const chunks = anchoredChunks(words, qTerms);
  const anchored = lines.filter((l) => chunks.has(l.citation));
  const best = bestLine(anchored, t.evidence, qTerms);
  const coverage = best ? best.hits / t.evidence.length : 0;
  const holds = (b: { line: Line; hits: number } | null): b is { line: Line; hits: number } =>
    !!b && b.hits / t.evidence.length >= FOUND_MIN_COVERAGE && [...t.salient].every((s) => b.line.tokens.has(s));
  const inSource = holds(best);
  if (!inSource) {
    // The words may still be on some cited line that is not about the question: say that, and show it.
    const elsewhere = bestLine(anchored, t.evidence, qTerms, true);
    if (holds(elsewhere)) return notSure('off-question', elsewhere.hits / t.evidence.length, elsewhere.line);
    if (input.promptText && echoes(t.evidence, input.promptText)) return notSure('prompt-echo', coverage);
    return notSure('not-in-source', coverage);
  }
  if (otherSubject(input.sources, words, lines, best.line, qTerms, input.question) || otherVersion(input.question, lines, best.line) || otherKey(input.question, lines, best.line, CONTEXT_LINES, new Set(input.sources.flatMap((s) => [...pathWords(s.path)])))) {
    return notSure('other-subject', coverage, best.line);
  }
  const floor = input.minConfidence;
  if (typeof floor === 'number' && typeof input.confidence === 'number' && input.confidence < floor) return notSure('low-confidence', coverage, best.line);
  if (gain !== null && gain <= MIN_MEMORY_GAIN) return notSure('memory-independent', coverage, best.line);
  return verdict('in-source', [quoteOf(best.line, focus)], coverage, gain);
}

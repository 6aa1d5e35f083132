// Copy decoding: the answer is a span of the text the reader was shown (the retrieved chunks).
// Every answer the engine is asked for names a value, a name or a phrase that is written in the user's
// files, so a token is allowed only if the answer so far plus that token still occurs in a source
// (case-insensitively). The model still chooses: among the allowed tokens, the one it scores highest.
// What it would rather have said shows in the answer's confidence, which stays the full-vocabulary
// log-probability of each token chosen, so a forced answer is a doubtful one for grounding.
// An answer cannot end before it names something the question does not quote: "What does
// `NoAppException` subclass?" answered "NoAppException" (or "#") says nothing, so the reader must go
// on copying ("NoAppException(click.UsageError"). Nor can it end inside a word of its source ("Creat").
// When the reader was shown exactly what the question names (readerNamed.ts: a doc's first sentence,
// a key's value), the answer must begin where that text begins: the model decides where it ends,
// unless the window is exactly a value (readerForms.ts: a date, a list, a command), then it is all of it.

import { topN } from './logits';
import { namesOnly, quotedWords } from './terms';

/** How many of the model's own best tokens are tried besides the tokens of the sources. */
const MODEL_CANDIDATES = 32;
/** How many places of the sources that hold the answer so far offer their next token. */
const MAX_CONTINUATIONS = 8;

/** What an answer may be copied from (each chunk in the prompt, and its path), and the question it answers. */
export interface CopySources {
  texts: readonly string[];
  question?: string;
  /** When given, the answer must be a prefix of one of these (readerFocus.ts ReaderWindow.anchor). */
  anchors?: readonly string[];
  /** The answer must be one of the anchors whole: each is exactly a value (a date, a list, a version). */
  wholeAnchors?: boolean;
}

export function copySources(chunks: ReadonlyArray<{ text: string; path: string; anchor?: string; whole?: boolean }>, question?: string): CopySources {
  const anchored = chunks.filter((c) => c.anchor);
  const anchors = anchored.map((c) => c.anchor!);
  const wholeAnchors = anchored.length > 0 && anchored.every((c) => c.whole);
  return { texts: chunks.flatMap((c) => [c.text, c.path]), question, ...(anchors.length ? { anchors } : {}), ...(wholeAnchors ? { wholeAnchors } : {}) };
}

/** The constraint for a pack's tokenizer (the sources tokenized as plain text: no special tokens). */
export function copyConstraint(src: CopySources, tok: { encode(t: string): number[]; plain(t: string): string; decode(ids: number[]): string }): CopyConstraint {
  return new CopyConstraint(src.texts, (t) => tok.encode(tok.plain(t)), (ids) => tok.decode(ids), src.question, src.anchors, src.wholeAnchors);
}

export class CopyConstraint {
  private readonly sources: string[];
  /** The sources as written (same order), to tokenize what follows the answer in them. */
  private readonly written: string[];
  private readonly sourceTokens: number[];
  private readonly pieces = new Map<number, string>();
  private readonly subject: Set<string>;
  private readonly anchors: string[];

  /**
   * @param sources  the texts the answer may be copied from (chunk texts, their paths)
   * @param encode   the pack tokenizer's encode (no special tokens), to list the sources' own tokens
   * @param decode   the pack tokenizer's decode
   * @param question the question: the answer may not end while it names only what the question quotes
   * @param anchors  when non-empty, the answer must be a prefix of one of them
   * @param wholeAnchors the answer may end only where an anchor ends
   */
  constructor(
    sources: readonly string[],
    private readonly encode: (text: string) => number[],
    private readonly decode: (ids: number[]) => string,
    question = '',
    anchors: readonly string[] = [],
    private readonly wholeAnchors = false,
  ) {
    this.subject = quotedWords(question);
    const anchored = anchors.map((a) => a.trimStart()).filter((a) => a.length > 0);
    this.anchors = anchored.map((a) => a.toLowerCase());
    this.written = anchored.length ? anchored : sources.filter((s) => s.length > 0);
    this.sources = this.written.map((s) => s.toLowerCase());
    const ids = new Set<number>();
    for (const s of [...sources, ...anchors]) for (const id of encode(s)) ids.add(id);
    this.sourceTokens = [...ids];
  }

  /**
   * The best token the constraint allows after the answer `tokens` under `logits`: a stop token (only
   * once the answer names something besides the question's quoted subject), or a token that keeps
   * the answer a span of a source. -1 when nothing can follow.
   */
  pick(logits: Float32Array, stopIds: ReadonlySet<number>, tokens: readonly number[]): number {
    return this.best(logits, stopIds, tokens, 1)[0] ?? -1;
  }

  /** The `k` best tokens allowed after `tokens` (best first): each beam of a beam search asks for its own. */
  best(logits: Float32Array, stopIds: ReadonlySet<number>, tokens: readonly number[], k: number): number[] {
    const answer = this.decode([...tokens]);
    const said = answer.trim().toLowerCase();
    const canStop = said.length > 0 && !namesOnly(answer, this.subject) && this.endsWord(said) && (!this.wholeAnchors || this.anchors.some((a) => a.trimEnd() === said));
    const tried = new Set<number>();
    const allowed: number[] = [];
    const consider = (id: number) => {
      if (tried.has(id)) return;
      tried.add(id);
      if (!(logits[id] > -Infinity)) return;
      if (stopIds.has(id) ? canStop : this.allows(id, tokens, answer)) allowed.push(id);
    };
    for (const id of topN(logits, MODEL_CANDIDATES)) consider(id);
    for (const id of this.sourceTokens) consider(id);
    for (const id of this.continuations(answer)) consider(id);
    for (const id of stopIds) consider(id);
    return allowed.sort((a, b) => logits[b] - logits[a]).slice(0, k);
  }

  private allows(id: number, tokens: readonly number[], answer: string): boolean {
    let piece = this.pieces.get(id);
    if (piece === undefined) {
      piece = this.decode([id]);
      this.pieces.set(id, piece);
    }
    // A piece that is part of a multi-byte character decodes to U+FFFD on its own: decode it in place,
    // and allow it only where a source has a non-ASCII character right after the answer so far.
    const raw = piece.includes('\uFFFD') ? this.decode([...tokens, id]) : answer + piece;
    const partial = raw.endsWith('\uFFFD');
    const text = raw.replace(/\uFFFD+$/, '').trimStart().toLowerCase();
    if (partial) return this.sources.some((s) => nonAsciiFollows(s, text));
    return text.length > 0 && this.sources.some((s) => (this.anchors.length ? s.startsWith(text) : s.includes(text)));
  }

  /**
   * The first token of what follows the answer where a source holds it (an anchor's first token when
   * the answer is empty): the answer "R" of "Register" goes on with "egister", a token no source's own
   * tokenization may hold.
   */
  private continuations(answer: string): number[] {
    const text = answer.trimStart().toLowerCase();
    if (!text && !this.anchors.length) return [];
    const out: number[] = [];
    this.sources.forEach((s, i) => {
      const written = this.written[i];
      if (written.length !== s.length) return; // lower-casing changed the length: offsets would not match
      const ats = this.anchors.length ? (s.startsWith(text) ? [0] : []) : occurrences(s, text).slice(0, MAX_CONTINUATIONS);
      for (const at of ats) {
        const rest = written.slice(at + text.length, at + text.length + 24);
        const [id] = rest ? this.encode(rest) : [];
        if (id !== undefined) out.push(id);
      }
    });
    return out;
  }

  /** Whether `text` (lower case) can end the answer: it ends in a non-word character, or a source has it followed by one (or by nothing). */
  private endsWord(text: string): boolean {
    if (!WORD_CHAR.test(text.slice(-1))) return true;
    return this.sources.some((s) => {
      const ats = this.anchors.length ? [0] : occurrences(s, text);
      return ats.some((at) => s.startsWith(text, at) && !WORD_CHAR.test(s.charAt(at + text.length)));
    });
  }
}

const WORD_CHAR = /[\p{L}\p{N}_]/u;

function occurrences(source: string, text: string): number[] {
  const out: number[] = [];
  for (let at = source.indexOf(text); at >= 0; at = source.indexOf(text, at + 1)) out.push(at);
  return out;
}

/** Whether `text` occurs in `source` followed by a non-ASCII character. */
function nonAsciiFollows(source: string, text: string): boolean {
  // (indexOf('', n) returns n even past the end: stop at the last character.)
  for (let at = source.indexOf(text); at >= 0 && at + text.length < source.length; at = source.indexOf(text, at + 1)) {
    if (source.charCodeAt(at + text.length) > 127) return true;
  }
  return false;
}

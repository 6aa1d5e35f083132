// Copy decoding: the answer is a span of the text the reader was shown (the retrieved chunks).
// Every answer the engine is asked for names a value, a name or a phrase that is written in the user's
// files, so a token is allowed only if the answer so far plus that token still occurs in a source
// (case-insensitively). The model still chooses: among the allowed tokens, the one it scores highest.
// What it would rather have said shows in the answer's confidence, which stays the full-vocabulary
// log-probability of each token chosen, so a forced answer is a doubtful one for grounding.
// An answer cannot end before it names something the question does not quote: "What does
// `NoAppException` subclass?" answered "NoAppException" (or "#") says nothing, so the reader must go
// on copying ("NoAppException(click.UsageError").

import { topN } from './logits';
import { namesOnly, quotedWords } from './terms';

/** How many of the model's own best tokens are tried besides the tokens of the sources. */
const MODEL_CANDIDATES = 32;

/** What an answer may be copied from (each chunk in the prompt, and its path), and the question it answers. */
export interface CopySources {
  texts: readonly string[];
  question?: string;
}

export function copySources(chunks: ReadonlyArray<{ text: string; path: string }>, question?: string): CopySources {
  return { texts: chunks.flatMap((c) => [c.text, c.path]), question };
}

/** The constraint for a pack's tokenizer (the sources tokenized as plain text: no special tokens). */
export function copyConstraint(src: CopySources, tok: { encode(t: string): number[]; plain(t: string): string; decode(ids: number[]): string }): CopyConstraint {
  return new CopyConstraint(src.texts, (t) => tok.encode(tok.plain(t)), (ids) => tok.decode(ids), src.question);
}

export class CopyConstraint {
  private readonly sources: string[];
  private readonly sourceTokens: number[];
  private readonly pieces = new Map<number, string>();
  private readonly subject: Set<string>;

  /**
   * @param sources  the texts the answer may be copied from (chunk texts, their paths)
   * @param encode   the pack tokenizer's encode (no special tokens), to list the sources' own tokens
   * @param decode   the pack tokenizer's decode
   * @param question the question: the answer may not end while it names only what the question quotes
   */
  constructor(
    sources: readonly string[],
    encode: (text: string) => number[],
    private readonly decode: (ids: number[]) => string,
    question = '',
  ) {
    this.subject = quotedWords(question);
    this.sources = sources.filter((s) => s.length > 0).map((s) => s.toLowerCase());
    const ids = new Set<number>();
    for (const s of sources) for (const id of encode(s)) ids.add(id);
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
    const canStop = answer.trim().length > 0 && !namesOnly(answer, this.subject);
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
    return text.length > 0 && this.sources.some((s) => s.includes(text));
  }
}

/** Whether `text` occurs in `source` followed by a non-ASCII character. */
function nonAsciiFollows(source: string, text: string): boolean {
  // (indexOf('', n) returns n even past the end: stop at the last character.)
  for (let at = source.indexOf(text); at >= 0 && at + text.length < source.length; at = source.indexOf(text, at + 1)) {
    if (source.charCodeAt(at + text.length) > 127) return true;
  }
  return false;
}

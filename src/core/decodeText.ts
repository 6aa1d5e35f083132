// What generated tokens say, as they come: the decoded text streamed in safe increments (never a
// broken multi-byte character, never text that later turns out to be a stop string), and whether
// the tokens fell into a repetition loop. decode.ts uses both while it generates.
import type { CmtTokenizer } from './tokenizer';

// ---------------------------------------------------------------------------------------------
// Streaming text

/** Turns a growing token sequence into safe text increments (see file header). */
export class TextStreamer {
  private emitted = '';
  private stopped = false;

  constructor(
    private readonly tok: CmtTokenizer,
    private readonly stops: string[],
    private readonly onText?: (delta: string) => void,
  ) {}

  /** Text of `ids`, cut at the first stop string; `hit` says whether one was found. */
  cut(ids: number[]): { text: string; hit: boolean } {
    const full = this.tok.decode(ids);
    let cut = -1;
    for (const s of this.stops) {
      if (!s) continue;
      const i = full.indexOf(s);
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    return cut >= 0 ? { text: full.slice(0, cut), hit: true } : { text: full, hit: false };
  }

  /** Feed the tokens so far; returns true when a stop string has appeared. */
  update(ids: number[]): boolean {
    if (this.stopped) return true;
    const { text, hit } = this.cut(ids);
    if (hit) {
      this.stopped = true;
      return true;
    }
    let safe = text.trimStart();
    // Incomplete UTF-8 sequence at the end decodes to U+FFFD: hold it back.
    safe = safe.replace(/\uFFFD+$/, '');
    // A suffix that could be the start of a stop string: hold it back.
    let hold = 0;
    for (const s of this.stops) {
      for (let n = Math.min(s.length - 1, safe.length); n > hold; n--) {
        if (safe.endsWith(s.slice(0, n))) {
          hold = n;
          break;
        }
      }
    }
    safe = safe.slice(0, safe.length - hold);
    // Trailing whitespace may be trimmed from the final text: hold it back.
    safe = safe.replace(/\s+$/, '');
    this.emit(safe);
    return false;
  }

  /** Final text (cut, trimmed); emits whatever was held back. */
  finish(ids: number[]): string {
    const final = this.cut(ids).text.trim();
    this.emit(final);
    return final;
  }

  private emit(upTo: string): void {
    if (upTo.length > this.emitted.length && upTo.startsWith(this.emitted)) {
      const delta = upTo.slice(this.emitted.length);
      this.emitted = upTo;
      this.onText?.(delta);
    }
  }
}

/**
 * Whether the generated tokens end in a repetition loop: one token repeated 12+ times, or a unit of
 * 2-8 tokens repeated 5+ times ("1.1.1.1.1.1.1.1.1.1", "foo bar foo bar …"). A value never looks like
 * that (an IP address repeats its unit 3 times); a 135M model stuck in a loop does.
 */
export function repetitionLoop(tokens: readonly number[]): boolean {
  const n = tokens.length;
  for (let p = 1; p <= 8; p++) {
    const reps = p === 1 ? 12 : 5;
    const span = p * reps;
    if (n < span) continue;
    let periodic = true;
    for (let i = n - span + p; i < n && periodic; i++) if (tokens[i] !== tokens[i - p]) periodic = false;
    // A run of one token is period 1 whatever p is: only the 12-token rule applies to it.
    const oneToken = tokens.slice(n - span).every((t) => t === tokens[n - 1]);
    if (periodic && (p === 1 || !oneToken)) return true;
  }
  return false;
}

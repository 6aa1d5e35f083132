// How text becomes terms, for the two readers of words: the full-text index (BM25 over code-aware
// terms: codeTerms, sanitizeFtsQuery; bank.ts stores and searches them) and grounding (SQuAD-style
// tokens with code identifiers and numbers kept whole: tokenize, lineTokens, stem; ground.ts).
// Both split identifiers into their parts (camelCase, snake_case) so that a question spelling a
// name apart still meets it. Also the word lists grounding reads (stop words, phrasing words,
// generic path words). Pure string work. (The definition and path retrievers' names: names.ts.)

// ---------------------------------------------------------------------------------------------
// Full-text index terms

/**
 * Turn a free-form question into terms safe for the full-text index: letters/digits (any script)
 * and underscores only; punctuation and query-syntax characters become spaces.
 */
export function sanitizeFtsQuery(q: string): string {
  return q
    .normalize('NFKC')
    .replace(/[^\p{L}\p{N}_]+/gu, ' ')
    .trim()
    .split(/\s+/)
    .filter((t) => t.length > 0)
    .slice(0, 64)
    .join(' ');
}

/**
 * Code-aware terms for the full-text index: every word as written plus its parts, so that
 * `getUserById`, `get_user_by_id`, `src/core/bank.ts` and `v1.2.3` match questions that spell
 * them apart ("user by id", "bank ts", "1.2.3") or together. camelCase/PascalCase/snake_case/
 * kebab-case identifiers are split, letter-digit boundaries too; dotted numbers and versions are
 * kept whole and split. Questions go through the same function.
 */
export function codeTerms(text: string, maxChars = 200_000): string {
  const out: string[] = [];
  const s = text.length > maxChars ? text.slice(0, maxChars) : text;
  for (const m of s.normalize('NFKC').matchAll(/[\p{L}\p{N}_.\-/]+/gu)) {
    const tok = m[0];
    // The compound as one token (punctuation dropped), then its parts.
    const words = tok.split(/[^\p{L}\p{N}]+/u).filter(Boolean);
    if (words.length === 0) continue;
    if (/^\d+(\.\d+)+$/.test(tok.replace(/\.+$/, ''))) out.push(tok.replace(/\.+$/, '').replace(/\./g, '_'));
    if (words.length > 1 && /[_\-]/.test(tok) && !/[/.]/.test(tok)) out.push(words.join('').toLowerCase());
    for (const w of words) {
      const parts = w
        .replace(/([\p{Ll}\p{N}])(\p{Lu})/gu, '$1 $2')
        .replace(/(\p{Lu})(\p{Lu}\p{Ll})/gu, '$1 $2')
        .replace(/(\p{L})(\p{N})/gu, '$1 $2')
        .replace(/(\p{N})(\p{L})/gu, '$1 $2')
        .split(' ')
        .filter(Boolean);
      if (parts.length > 1) out.push(w.toLowerCase());
      for (const part of parts) out.push(part.toLowerCase());
    }
  }
  return out.join(' ');
}

// ---------------------------------------------------------------------------------------------
// Grounding tokens

/** Words that carry no content for grounding (an answer's evidence leaves them out). */
export const STOPWORDS = new Set(
  (
    'a an the is are was were be been being am it its it\'s of in on at to for by with from into onto as ' +
    'and or but nor so if then than that this these those there here their them they he she his her him ' +
    'we our us you your i my me mine what which who whom whose when where why how do does did done has have ' +
    'had having can could should would will shall may might must about above after before over under up ' +
    'down out off also just only very some any all each both such same other own not s t'
  ).split(' '),
);

/**
 * Question-phrasing words that may be missing from a file that does answer the question ("how MANY
 * replicas does billing RUN?" over `replicas: 3`). Any other question word missing from every cited
 * chunk may name what the question is about.
 */
export const PHRASING = new Set(
  (
    'many much number amount count total kind type sort value values name names named called call mean means ' +
    'meaning happen happens happened run runs running ran use uses used using set get gets got make makes made ' +
    'give gives go goes went tell say says said find found show shows need needs want know let keep keeps ' +
    'currently current now today ever still often long big large small one thing things way ways something ' +
    'anything please exactly actually really main ' +
    // words of questions about code and configuration that name no subject
    'constant constants variable variables function functions method methods class classes module modules ' +
    'file files field fields key keys setting settings option options parameter parameters argument arguments ' +
    'flag flags property properties attribute config configuration configured default defaults hold holds held ' +
    'store stores stored return returns returned define defines defined contain contains declared assigned ' +
    'code line lines project repo repository'
  ).split(' '),
);

/** Words of a path that say nothing about its subject (extensions, usual folder and file names). */
export const GENERIC_PATH_WORDS = new Set(
  'txt md markdown json yaml yml toml ini cfg conf env example py ts tsx js jsx go rs java rb sh sql html css lock src lib app apps docs doc notes note config configs settings index main readme test tests'.split(' '),
);

// A token: letters/digits/underscore (with combining marks), decimals kept whole (3.5, 1.2.3).
export const TOKEN_RE = /[\p{L}\p{M}\p{N}_]+(?:\.\p{N}+)*/gu;

/** Text as tokens are read from it: NFKC, and thousands separators dropped (1,000 -> 1000). */
export function prep(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/(\p{N}),(?=\p{N}{3}(?!\p{N}))/gu, '$1'); // 1,000 -> 1000
}

/** SQuAD-style tokens of `text`, code identifiers and numbers kept whole. Lower-case. */
export function tokenize(text: string): string[] {
  return (prep(text).match(TOKEN_RE) ?? []).map((t) => t.toLowerCase());
}

/** SQuAD-style normalised text (tokens joined by one space, articles dropped). */
export function normalizeText(text: string): string {
  return tokenize(text)
    .filter((t) => t !== 'a' && t !== 'an' && t !== 'the')
    .join(' ');
}

/** Tokens of a source line, plus the parts of its identifiers (max_retries, maxRetries -> max, retries). */
export function lineTokens(line: string): Set<string> {
  const out = new Set<string>();
  for (const raw of prep(line).match(TOKEN_RE) ?? []) {
    out.add(raw.toLowerCase());
    const parts = raw
      .replace(/(\p{Ll}|\p{N})(?=\p{Lu})/gu, '$1_')
      .split('_')
      .filter(Boolean);
    if (parts.length > 1) for (const p of parts) out.add(p.toLowerCase());
  }
  return out;
}

/** The spans a question puts in backticks (`engines.node`), without the backticks' text outside them. */
export function backticked(text: string): string[] {
  return text.match(/`[^`]+`/g) ?? [];
}

/** The words of the spans a question quotes (`code`, 'a title', "a title"): the names it asks about. */
export function quotedWords(question: string): Set<string> {
  const spans = question.match(/`[^`]+`|(?<![\p{L}\p{N}])'[^']+'(?![\p{L}\p{N}])|"[^"]+"/gu) ?? [];
  const out = new Set<string>();
  // Whole names only: the parts of `UnpackException` may be the answer ("Exception").
  for (const s of spans) for (const t of tokenize(s)) out.add(t);
  return out;
}

/** Whether `answer` names nothing besides `words` (a question's quoted subject): no word, or only those. */
export function namesOnly(answer: string, words: ReadonlySet<string>): boolean {
  return tokenize(answer).every((t) => STOPWORDS.has(t) || words.has(t));
}

/** The versions written in `text` (2.2.2, 3.13, v1.0.0 as 1.0.0): as specific as a quoted name. */
export function versionsIn(text: string): string[] {
  return [...text.matchAll(/(?<![\p{L}\p{N}.])v?(\d+(?:\.\d+)+)(?![\p{N}]|\.\d)/gu)].map((m) => m[1]);
}

/** A crude English stem, so that "replicas" meets "replica" and "calls" meets "call". */
export function stem(t: string): string {
  if (t.length <= 4 || /\p{N}/u.test(t)) return t;
  for (const suf of ['ing', 'ies', 'es', 'ed', 's']) if (t.endsWith(suf) && t.length - suf.length >= 3) return t.slice(0, -suf.length) + (suf === 'ies' ? 'y' : '');
  return t;
}

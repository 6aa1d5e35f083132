// The engine's domain: the types every engine piece shares (pack, compress, bank, match, aggregate,
// decode, ground, memorize, ask) and what the engine gives back (answers, citations, grounding
// verdicts, memorize summaries, search hits). Plain data, no I/O: protocol.ts maps these onto the
// JSON-RPC requests of the engine process, and the front ends read them from there.
// Tensors cross module boundaries as flat Float32Arrays plus the dimensions in the pack manifest.

/** One chunk of a source file, with the lines it covers (1-based, inclusive) for citations. */
export interface Chunk {
  path: string; // workspace-relative path with forward slashes
  startLine: number;
  endLine: number;
  text: string;
  /** The enclosing definition or section (`Session.send`, `Installation > From PyPI`), when the file was parsed (syntax.ts). */
  symbol?: string;
  /** Names the chunk defines (functions, classes, constants, config keys, headings), plain and qualified. */
  defines?: string[];
}

/** A chunk after compression: k memory slots (k*d floats, row-major) and its L2-normalised key (d floats). */
export interface CompressedChunk extends Chunk {
  memory: Float32Array;
  key: Float32Array;
  /** Sentence-embedder vector (packs with an embedder; embed.ts). */
  emb?: Float32Array;
}

/** A memory as stored in / read from the bank. */
export interface MemoryRecord extends CompressedChunk {
  id: string; // stable id: `${path}#${startLine}-${endLine}`
  contentHash: string; // sha256 of the whole file's bytes
  mtimeMs: number;
}

/** A memory picked for a question, with how it was found. */
export interface MatchedMemory {
  record: MemoryRecord;
  score: number; // fused score (higher is better)
  vectorRank?: number; // 1-based rank in vector search, if found there
  textRank?: number; // 1-based rank in full-text search, if found there
  embedRank?: number; // 1-based rank in sentence-embedder search, if found there
  defRank?: number; // 1-based rank in the definition index, if found there
  pathRank?: number; // 1-based rank among the chunks of the files the question names, if found there
}

export interface Citation {
  path: string;
  startLine: number;
  endLine: number;
  score: number;
  excerpt: string;
}

/**
 * Execution devices (ONNX Runtime providers) the engine accepts; `auto` tries the accelerators the
 * platform has, then CPU. The CLI offers all of them; the editor's `cmtMemory.device` setting offers
 * EDITOR_DEVICES (src/extension/settingValues.ts; a test checks package.json against it).
 */
export const DEVICES = ['auto', 'cpu', 'cuda', 'dml', 'coreml', 'webgpu'] as const;
export type Device = (typeof DEVICES)[number];

/** One execution provider tried while creating a session, and why it failed. */
export interface ProviderAttempt {
  name: string;
  ok: boolean;
  reason?: string;
}

/** Which execution provider a session runs on, and which were tried before it. */
export interface ProviderReport {
  /** The execution provider the session was created with ('cpu', 'cuda', 'dml', 'coreml', 'webgpu'). */
  provider: string;
  tried: ProviderAttempt[];
}

/**
 * How an answer is made: the CMT memory prefix alone; the prefix plus the top chunk's raw text in
 * the prompt; the top chunk's raw text alone; the top-K chunks' raw text without memory (RAG); or no
 * memory at all (closed book).
 */
export const ANSWER_MODES = ['memory', 'memory+chunk', 'top-chunk', 'rag', 'closed-book'] as const;
export type AnswerMode = (typeof ANSWER_MODES)[number];

export interface AskOptions {
  /** Default: the pack's defaults.answerMode, else 'memory'. */
  answerMode?: AnswerMode;
  topK?: number;
  alpha?: number; // memory-aware contrast at decode time; 0 = off
  maxNewTokens?: number;
  numBeams?: number;
  hybrid?: boolean; // fuse full-text search with vector search (reciprocal rank)
  signal?: AbortSignal;
  onToken?: (text: string) => void; // streamed answer text, in order
}

/**
 * Where the engine's warnings go (one line each, no trailing newline). Core never writes to
 * process.stderr itself: the engine process passes one that does; other callers choose.
 */
export type Logger = (message: string) => void;

/** The most chunks one search returns (cmt/search clamps k to it; the MCP tool refuses more). */
export const MAX_SEARCH_K = 50;

export interface AskResult {
  answer: string;
  citations: Citation[];
  timings: { matchMs: number; aggregateMs: number; firstTokenMs: number; totalMs: number };
}

/** AskOptions without the in-process callbacks: what can cross the wire (and what settings hold). */
export type AskRequestOptions = Omit<AskOptions, 'signal' | 'onToken'>;

/** Engine-wide settings (all optional; the pack's defaults apply otherwise). */
export interface EngineSettings {
  /** Files larger than this are skipped (default 1 MiB). */
  maxFileBytes?: number;
  /** Extra glob patterns (gitignore syntax) to force-include / exclude. */
  include?: string[];
  exclude?: string[];
  /** Chunks per compressor run (default 4: as fast as 8 on this machine, 115 MiB less resident). */
  batchSize?: number;
  /**
   * Split source at its definitions (tree-sitter, syntax.ts) and index what each chunk defines
   * (default true); false: blank-line and closing-line splits only, as before (`cmt bench --sections chunking` compares the two).
   */
  syntaxChunks?: boolean;
  /** Defaults for ask (overridden per request). */
  ask?: AskRequestOptions;
}

// ---------------------------------------------------------------------------------------------
// memorize

/** How one memorize runs (besides the paths): the engine's options, and the fields of its request. */
export interface MemorizeOptions {
  /** Workspace root: stored paths/citations are relative to it. Default: process.cwd(). */
  root?: string;
  /** Re-compress even unchanged files. */
  force?: boolean;
  /** Force-include globs (gitignore syntax), even if ignored/excluded/secret. */
  include?: string[];
  /** Extra exclude globs (gitignore syntax). */
  exclude?: string[];
  /** Skip files larger than this (default settings.maxFileBytes, else 1 MiB). */
  maxFileBytes?: number;
  /**
   * Apply .gitignore to files named directly too (folders are always walked with it). Off by
   * default: a file the user names is memorized; the editor's watcher turns it on.
   */
  respectGitignore?: boolean;
}

const MEMORIZE_OPTION_KEYS = ['root', 'force', 'include', 'exclude', 'maxFileBytes', 'respectGitignore'] as const satisfies ReadonlyArray<keyof MemorizeOptions>;

/** The MemorizeOptions fields of `o` (a request's, say), and nothing else. */
export function memorizeOptionsOf(o: MemorizeOptions): MemorizeOptions {
  const out: Record<string, unknown> = {};
  for (const k of MEMORIZE_OPTION_KEYS) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/** Progress of a memorize, after every file (memorized, unchanged, skipped or failed). */
export interface MemorizeProgress {
  /** Files finished so far (memorized, unchanged, skipped or failed). */
  done: number;
  total: number;
  /** The file just finished (or being worked on). */
  path: string;
}

export interface FileIssue {
  path: string; // workspace-relative, forward slashes (a skipped folder ends with '/')
  reason: string; // human-readable: "binary file", "not valid UTF-8 text", "empty (no text)", …
  /** Machine-readable reason: files.ts SkipReason ('binary', 'invalid-utf8', 'empty', 'secret', 'too-large', …). */
  code?: string;
}

export interface MemorizeSummary {
  /** Files (re)compressed and stored. */
  memorized: number;
  /** Files whose content hash was already in the bank (nothing compressed). */
  unchanged: number;
  /** Files not memorized on purpose (binary, too large, ignored, empty, …), each with the reason. */
  skipped: FileIssue[];
  /** Files that could not be memorized because of an error (unreadable, compressor failure, …). */
  failed: FileIssue[];
  /** Chunks compressed in this run. */
  chunks: number;
  /** Chunks of memorized files that hit the token budget and were cut (should be 0; chunking fits them). */
  truncatedChunks?: number;
  /** Files whose memories were removed because they are gone from (or now skipped in) a folder memorized in full. */
  removed?: number;
  elapsedMs: number;
}

// ---------------------------------------------------------------------------------------------
// ask and search

/** A line of a cited file shown with an answer (clickable: opens `path` at `line`). */
export interface GroundingQuote {
  path: string; // workspace-relative, forward slashes (as in citations)
  line: number; // 1-based
  text: string; // the line, trimmed (clipped around the match when long)
  citation: number; // index into AskResponse.citations
}

/** Why an answer got its verdict (src/core/ground.ts). */
export type GroundingReason =
  | 'in-source'
  | 'no-sources'
  | 'empty-answer'
  | 'repeats-question'
  | 'degenerate'
  | 'prompt-echo'
  | 'not-in-source'
  | 'off-question'
  | 'other-subject'
  | 'memory-independent'
  | 'low-confidence';

/**
 * Whether an answer is backed by the user's files. 'found': its content is on a cited line and the
 * memory made it more likely; quotes[0] is that line. 'not-sure': anything else; quotes are the
 * most relevant lines of the cited chunks, to read instead of the guess.
 */
export interface Grounding {
  verdict: 'found' | 'not-sure';
  reason: GroundingReason;
  /** One plain sentence for the user (the same in the chat and the CLI). */
  message: string;
  quotes: GroundingQuote[];
  /** Share of the answer's evidence tokens on the best line (0..1). */
  coverage: number;
  /** Mean log-likelihood gain of the answer tokens with memory over without (nats/token); null = not measured. */
  memoryGain: number | null;
  /** The output is no answer at all (a repetition loop, the prompt's own example): front ends show "No answer", never the text as a guess. */
  noAnswer?: boolean;
}

/** Set when a question was longer than maxQuestionTokens and was cut. */
export interface QuestionTruncated {
  tokens: number;
  maxQuestionTokens: number;
}

/** AskResult plus what the engine did to the question, and the grounding verdict. */
export interface AskResponse extends AskResult {
  grounding: Grounding;
  /** Set when the question was longer than maxQuestionTokens and was cut. */
  questionTruncated?: QuestionTruncated;
}

/** How a search retrieves (the ask path's retrieval, without an answer). */
export interface SearchOptions {
  /** Chunks to return (default: the pack's topK, as ask; clamped to MAX_SEARCH_K). */
  k?: number;
  /** Fuse the other retrievers with the key search (default true, as ask). */
  hybrid?: boolean;
}

/** One retrieved chunk: the same chunk ask would cite, with its whole text. */
export interface SearchHit {
  path: string; // workspace-relative, forward slashes
  startLine: number; // 1-based, inclusive
  endLine: number;
  /** Fused score (higher is better), as in Citation.score. */
  score: number;
  text: string;
  /** The enclosing definition or section, when the file was parsed. */
  symbol?: string;
}

export interface SearchResult {
  hits: SearchHit[];
  /** Time in the engine: question compression, embedding and the fused match. */
  matchMs: number;
  questionTruncated?: QuestionTruncated;
}

// ---------------------------------------------------------------------------------------------
// forget / rename / status

export interface ForgetResult {
  /** Memories (chunks) removed. */
  removed: number;
}

export interface RenameResult {
  /** Memories (chunks) moved to the new path. */
  renamed: number;
}

export interface StatusResult {
  packId: string;
  packName: string;
  provider: string;
  providerReport: ProviderReport;
  /** Stored memories (chunks) for this pack. */
  memories: number;
  /** Distinct files with memories. */
  files: number;
  /** Size of the bank directory on disk (0 when the URI is not a local path). */
  bytesOnDisk: number;
  /** Where the bank is, secrets redacted (bankStore.ts displayUri). */
  bankUri: string;
  /** The bank is open read-only (nothing is written). */
  readOnly?: boolean;
}

// ---------------------------------------------------------------------------------------------
// errors

/** The stable machine-readable error codes (CmtError.code; on the wire in CmtErrorData.code). */
export const ERROR_CODES = [
  'PACK_MISSING',
  'PACK_CORRUPT',
  'PACK_INCOMPATIBLE',
  'BANK_PACK_MISMATCH',
  'BANK_UNAVAILABLE',
  'FILE_SKIPPED',
  'BAD_INPUT',
  'CANCELLED',
  'ENGINE_CRASHED',
  'CPU_UNSUPPORTED',
  'DEVICE_UNAVAILABLE',
  'INTERNAL',
] as const;
export type CmtErrorCode = (typeof ERROR_CODES)[number];

export function isCmtErrorCode(c: unknown): c is CmtErrorCode {
  return typeof c === 'string' && (ERROR_CODES as readonly string[]).includes(c);
}

/** Error with a stable machine-readable code, so the CLI, engine process and UI can react. */
export class CmtError extends Error {
  constructor(
    readonly code: CmtErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CmtError';
  }
}

/** Throws CANCELLED (`<what> cancelled`) once `signal` is aborted. */
export function checkAbort(signal?: AbortSignal, what = 'operation'): void {
  if (signal?.aborted) throw new CmtError('CANCELLED', `${what} cancelled`);
}

/** The message of any thrown value. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

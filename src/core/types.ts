// Types shared by every engine piece (pack, compress, bank, match, aggregate, decode, engine).
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

// The ONE message protocol between the VS Code extension (or the CLI), the engine process
// (src/core/server.ts) and, later, the webview. JSON-RPC 2.0 via vscode-jsonrpc; every payload is
// plain JSON (no typed arrays, no class instances). Errors travel as ResponseError whose `data`
// carries the CmtError code, so the receiving side can rebuild a CmtError (see toResponseError /
// fromWireError).
//
// Flow: initialize -> (memorize | ask | search | forget | rename | status)* -> shutdown -> exit.
// Long requests report through notifications tagged with the `requestId` the caller chose:
//   memorize -> cmt/progress {requestId, done, total, path}
//   ask      -> cmt/token    {requestId, text}   (in order; concatenation == AskResult.answer)
// Cancellation: the standard $/cancelRequest (vscode-jsonrpc CancellationToken); a cancelled
// request fails with code CANCELLED.

import { NotificationType, NotificationType0, RequestType, RequestType0, ResponseError } from 'vscode-jsonrpc';
import type { AskOptions, AskResult, Citation, CmtErrorCode, Device, ProviderReport } from './types';
import { CmtError, isCmtErrorCode, MAX_SEARCH_K } from './types';

export const PROTOCOL_VERSION = 1;

export { isCmtErrorCode, MAX_SEARCH_K, type CmtErrorCode, type ProviderReport };

// ---------------------------------------------------------------------------------------------
// Shared payloads

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

/** AskOptions (types.ts) without the in-process callbacks: what can cross the wire. */
export type AskRequestOptions = Omit<AskOptions, 'signal' | 'onToken'>;

export interface FileIssue {
  path: string; // workspace-relative, forward slashes (a skipped folder ends with '/')
  reason: string; // human-readable: "binary file", "not valid UTF-8 text", "empty (no text)", …
  /** Machine-readable reason: files.ts SkipReason ('binary', 'invalid-utf8', 'empty', 'secret', 'too-large', …). */
  code?: string;
}

// ---------------------------------------------------------------------------------------------
// initialize

export interface InitializeParams {
  packDir: string;
  /** LanceDB URI: a local directory path (or any URI LanceDB accepts). */
  bankUri: string;
  device: Device;
  settings?: EngineSettings;
}

export interface InitializeResult {
  protocolVersion: number;
  packId: string;
  packName: string;
  provider: string;
  providerReport: ProviderReport;
  pid: number;
}

export const InitializeRequest = new RequestType<InitializeParams, InitializeResult, void>('cmt/initialize');

// ---------------------------------------------------------------------------------------------
// memorize

export interface MemorizeParams {
  /** Files or folders (absolute, or relative to root). */
  paths: string[];
  /** Workspace root: paths in the bank and in citations are relative to it. */
  root: string;
  /** Re-compress even unchanged files. */
  force?: boolean;
  include?: string[];
  exclude?: string[];
  maxFileBytes?: number;
  /** Apply .gitignore to files named directly too (the editor's watcher sets it). */
  respectGitignore?: boolean;
  /** Caller-chosen id echoed in cmt/progress notifications. */
  requestId?: string;
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

export const MemorizeRequest = new RequestType<MemorizeParams, MemorizeSummary, void>('cmt/memorize');

export interface ProgressParams {
  requestId?: string;
  /** Files finished so far (memorized, unchanged, skipped or failed). */
  done: number;
  total: number;
  /** The file just finished (or being worked on). */
  path: string;
}

export const ProgressNotification = new NotificationType<ProgressParams>('cmt/progress');

// ---------------------------------------------------------------------------------------------
// ask

export interface AskParams {
  /** Caller-chosen id echoed in cmt/token notifications. */
  requestId: string;
  question: string;
  options?: AskRequestOptions;
}

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

/** AskResult from types.ts plus what the engine did to the question, and the grounding verdict. */
export interface AskResponse extends AskResult {
  grounding: Grounding;
  /** Set when the question was longer than maxQuestionTokens and was cut. */
  questionTruncated?: { tokens: number; maxQuestionTokens: number };
}

export type { AskResult, Citation };

export const AskRequest = new RequestType<AskParams, AskResponse, void>('cmt/ask');

export interface TokenParams {
  requestId: string;
  text: string;
}

export const TokenNotification = new NotificationType<TokenParams>('cmt/token');

// ---------------------------------------------------------------------------------------------
// search: the ask path's retrieval alone (no answer), for agents (the MCP server's search_memory)

export interface SearchParams {
  query: string;
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
  questionTruncated?: { tokens: number; maxQuestionTokens: number };
}

export const SearchRequest = new RequestType<SearchParams, SearchResult, void>('cmt/search');

// ---------------------------------------------------------------------------------------------
// forget / rename / status / shutdown

export interface ForgetParams {
  /** Workspace-relative path (as stored); a folder path forgets everything under it. */
  path: string;
}
export interface ForgetResult {
  /** Memories (chunks) removed. */
  removed: number;
}
export const ForgetRequest = new RequestType<ForgetParams, ForgetResult, void>('cmt/forget');

export interface RenameParams {
  from: string;
  to: string;
}
export interface RenameResult {
  /** Memories (chunks) moved to the new path. */
  renamed: number;
}
export const RenameRequest = new RequestType<RenameParams, RenameResult, void>('cmt/rename');

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
  bankUri: string;
}
export const StatusRequest = new RequestType0<StatusResult, void>('cmt/status');

/** Closes the engine (bank, sessions). The process exits after `exit`, or by itself 2 s later. */
export const ShutdownRequest = new RequestType0<void, void>('cmt/shutdown');
export const ExitNotification = new NotificationType0('cmt/exit');

// ---------------------------------------------------------------------------------------------
// Errors on the wire

/** JSON-RPC error code used for every CmtError (the CmtError code is in `data.code`). */
export const CMT_ERROR = -32001;

export interface CmtErrorData {
  code: CmtErrorCode;
}

/** Any thrown value -> a ResponseError carrying the CmtError code (INTERNAL for foreign errors). */
export function toResponseError(e: unknown): ResponseError<CmtErrorData> {
  if (e instanceof ResponseError && isCmtErrorCode((e.data as CmtErrorData | undefined)?.code)) {
    return e as ResponseError<CmtErrorData>;
  }
  const code: CmtErrorCode = e instanceof CmtError ? e.code : 'INTERNAL';
  const message = e instanceof Error ? e.message : String(e);
  return new ResponseError<CmtErrorData>(CMT_ERROR, message, { code });
}

/** A rejected request's error (ResponseError from vscode-jsonrpc, or anything else) -> CmtError. */
export function fromWireError(e: unknown): CmtError {
  if (e instanceof CmtError) return e;
  if (e instanceof ResponseError) {
    const code = (e.data as CmtErrorData | undefined)?.code;
    if (isCmtErrorCode(code)) return new CmtError(code, e.message);
    // -32800 = RequestCancelled (LSP convention used by vscode-jsonrpc)
    if (e.code === -32800) return new CmtError('CANCELLED', e.message || 'request cancelled');
    return new CmtError('INTERNAL', e.message);
  }
  return new CmtError('INTERNAL', e instanceof Error ? e.message : String(e));
}

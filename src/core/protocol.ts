// The ONE message protocol between the VS Code extension (or the CLI, or the MCP server through the
// extension's relay) and the engine process (src/core/server.ts). JSON-RPC 2.0 via vscode-jsonrpc; every payload is
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
// The payloads are the engine's own types (types.ts: answers, verdicts, summaries, results); this
// file names the requests and notifications that carry them, and their wire-only parameters.

import { NotificationType, NotificationType0, RequestType, RequestType0, ResponseError } from 'vscode-jsonrpc';
import type {
  AskRequestOptions,
  AskResponse,
  CmtErrorCode,
  Device,
  EngineSettings,
  ForgetResult,
  MemorizeOptions,
  MemorizeProgress,
  MemorizeSummary,
  ProviderReport,
  RenameResult,
  SearchOptions,
  SearchResult,
  StatusResult,
} from './types';
import type { BankAccess } from './bankStore';
import { CmtError, isCmtErrorCode, MAX_SEARCH_K } from './types';

export const PROTOCOL_VERSION = 1;

export { isCmtErrorCode, MAX_SEARCH_K, type CmtErrorCode, type ProviderReport };

// The payloads are the engine's own types (types.ts), re-exported for the front ends that speak the protocol.
export type {
  AskRequestOptions,
  AskResponse,
  AskResult,
  Citation,
  EngineSettings,
  FileIssue,
  ForgetResult,
  Grounding,
  GroundingQuote,
  GroundingReason,
  MemorizeSummary,
  RenameResult,
  SearchHit,
  SearchResult,
  StatusResult,
} from './types';

// ---------------------------------------------------------------------------------------------
// initialize

export interface InitializeParams {
  packDir: string;
  /** LanceDB URI: a local directory path (or any URI LanceDB accepts). */
  bankUri: string;
  device: Device;
  settings?: EngineSettings;
  /** Read-only, endpoint, region of the bank (never credentials: the engine process reads them from its environment). */
  access?: BankAccess;
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

export interface MemorizeParams extends MemorizeOptions {
  /** Files or folders (absolute, or relative to root). */
  paths: string[];
  /** Workspace root: paths in the bank and in citations are relative to it. */
  root: string;
  /** Caller-chosen id echoed in cmt/progress notifications. */
  requestId?: string;
}

export const MemorizeRequest = new RequestType<MemorizeParams, MemorizeSummary, void>('cmt/memorize');

export interface ProgressParams extends MemorizeProgress {
  requestId?: string;
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

export const AskRequest = new RequestType<AskParams, AskResponse, void>('cmt/ask');

export interface TokenParams {
  requestId: string;
  text: string;
}

export const TokenNotification = new NotificationType<TokenParams>('cmt/token');

// ---------------------------------------------------------------------------------------------
// search: the ask path's retrieval alone (no answer), for agents (the MCP server's search_memory)

export interface SearchParams extends SearchOptions {
  query: string;
}

export const SearchRequest = new RequestType<SearchParams, SearchResult, void>('cmt/search');

// ---------------------------------------------------------------------------------------------
// forget / rename / status / shutdown

export interface ForgetParams {
  /** Workspace-relative path (as stored); a folder path forgets everything under it. */
  path: string;
}
export const ForgetRequest = new RequestType<ForgetParams, ForgetResult, void>('cmt/forget');

export interface RenameParams {
  from: string;
  to: string;
}
export const RenameRequest = new RequestType<RenameParams, RenameResult, void>('cmt/rename');

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

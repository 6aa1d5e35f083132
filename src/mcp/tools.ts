// The MCP tools of `cmt mcp` (src/mcp/server.ts): what each does through the engine client (their
// input and output schemas are in toolSchemas.ts), and how errors reach the agent.
//
// Every tool goes through the same EngineClient requests as the CLI and the editor (search, ask,
// memorize, forget, status): ask_memory is `cmt ask`'s code path. Nothing outside the workspace root
// is read or written: paths are checked here (lexically and through symbolic links) before the
// engine sees them, and the engine checks again (memorize.ts, classify.ts).
//
// Errors are MCP tool errors (isError: true) whose text starts with a code and says what to do:
// the engine's CmtError codes (types.ts), plus two codes of this layer, NOTHING_MEMORIZED (the bank
// has no memories yet) and BANK_BUSY (a memorize or forget is already running in this server).
// The code is also in the result's _meta["cmtMemory/error"].
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import type { EngineClient, EngineState } from '../core/client';
import { isInside, relativeInside, toPosix } from '../core/paths';
import { CmtError, type AskRequestOptions, type CmtErrorCode, type StatusResult } from '../core/types';
import { askText, memorizeText, searchText } from './format';
import { askInput, askOutput, forgetInput, forgetOutput, memorizeInput, memorizeOutput, searchInput, searchOutput, statusInput, statusOutput } from './toolSchemas';

/** What the tools need of the engine: EngineClient's own members (or the extension's engine through relay.ts). */
export interface McpEngine {
  readonly state: EngineState;
  search: EngineClient['search'];
  ask: EngineClient['ask'];
  memorize: EngineClient['memorize'];
  forget: EngineClient['forget'];
  status: EngineClient['status'];
  /** Starts a stopped or crashed engine again. */
  restart(): Promise<unknown>;
}

export interface ToolContext {
  /** The workspace root (absolute): paths in the bank and in citations are relative to it. */
  root: string;
  /** The engine, started on first use; throws a CmtError (PACK_MISSING, …) when it cannot start. */
  engine(): Promise<McpEngine>;
  /** Options for every ask (the editor passes its settings so answers match its sidebar's). */
  askDefaults?: AskRequestOptions;
  /** The pack folder, quoted in error sentences. */
  packDir?: string;
}

/** Codes a tool error carries: the engine's, and two of this layer. */
export type ToolErrorCode = CmtErrorCode | 'NOTHING_MEMORIZED' | 'BANK_BUSY';

export class ToolError extends Error {
  constructor(
    readonly code: ToolErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** What a request handler gets from the SDK (a subset of RequestHandlerExtra). */
export interface CallExtra {
  signal: AbortSignal;
  /** Sends a progress notification when the caller asked for progress (it gave a progressToken). */
  progress?: (done: number, total: number, message: string) => void;
}

export interface ToolResult {
  [k: string]: unknown;
  content: Array<{ type: 'text'; text: string }>;
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
  _meta?: Record<string, unknown>;
}

export interface ToolSpec<I extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  input: I;
  output: z.ZodObject;
  annotations: { readOnlyHint: boolean; destructiveHint?: boolean; idempotentHint?: boolean; openWorldHint: false };
  run(args: z.infer<I>, ctx: ToolContext, extra: CallExtra, state: ServerState): Promise<ToolResult>;
}

/** What one server keeps between calls: the write that is running, if any. */
export interface ServerState {
  writing?: { what: string; done: number; total: number };
}

// ---------------------------------------------------------------------------------------------
// Paths

/**
 * A tool's path -> workspace-relative (forward slashes; '' = the root). Refused (BAD_INPUT) when it
 * leaves the root: `..` escapes, absolute paths elsewhere, and symbolic links (of the path or of a
 * folder above it) that point outside. A path that does not exist is judged by its text alone.
 */
export function relInsideRoot(root: string, p: string): string {
  const abs = path.resolve(root, p);
  const rel = relativeInside(root, abs);
  if (rel === null) {
    throw new ToolError('BAD_INPUT', `${JSON.stringify(p)} is outside the workspace root ${root}: only files and folders inside it can be memorized or forgotten (give a path relative to the root).`);
  }
  let real: string | undefined;
  try {
    real = fs.realpathSync(abs);
  } catch {
    real = undefined; // missing: nothing to follow
  }
  if (real !== undefined && !isInside(fs.realpathSync(root), real)) {
    throw new ToolError('BAD_INPUT', `${JSON.stringify(p)} is a symbolic link to ${real}, outside the workspace root ${root}: it is never read.`);
  }
  return rel;
}

// ---------------------------------------------------------------------------------------------
// Errors

/** A sentence a person can act on, for each code (appended to the engine's own message). */
function fixFor(code: ToolErrorCode, ctx: ToolContext, state: EngineState | undefined): string {
  switch (code) {
    case 'PACK_MISSING':
      return 'Start the server with --pack <folder of a model pack> (docs/model-pack.md), or build the default pack (`npm run pack:build` in the CMT Memory folder).';
    case 'PACK_CORRUPT':
    case 'PACK_INCOMPATIBLE':
      return `The model pack${ctx.packDir ? ` at ${ctx.packDir}` : ''} cannot be used: rebuild it (\`npm run pack:build\`) or start the server with another --pack.`;
    case 'BANK_PACK_MISMATCH':
      return 'This memory bank was made with another model pack: start the server with another --bank folder, or with the pack that made it.';
    case 'BANK_UNAVAILABLE':
      return 'Check that the --bank folder exists and is writable, then call the tool again.';
    case 'ENGINE_CRASHED':
      return state === 'crashed'
        ? 'The memory engine keeps crashing and is stopped; it is started again on the next call (run `cmt status -v` in a terminal to see its log).'
        : 'The memory engine stopped during the request and is restarting: call the tool again in a few seconds.';
    case 'CPU_UNSUPPORTED':
      return 'This machine cannot run the memory bank: use a CPU with AVX2 and FMA, or an arm64 machine.';
    case 'DEVICE_UNAVAILABLE':
      return 'Start the server with --device cpu.';
    case 'CANCELLED':
      return 'The request was cancelled; nothing was lost (call the tool again to finish it).';
    default:
      return '';
  }
}

/** Any thrown value -> an MCP tool error with its code and a sentence to act on. */
export function toolError(e: unknown, ctx: ToolContext, state?: EngineState): ToolResult {
  const code: ToolErrorCode = e instanceof ToolError || e instanceof CmtError ? e.code : 'INTERNAL';
  const base = e instanceof Error ? e.message : String(e);
  // (the CLI's own PACK_MISSING message already says how to get a pack and mentions --pack)
  const fix = code === 'PACK_MISSING' && base.includes('--pack') ? '' : fixFor(code, ctx, state);
  const message = fix ? `${base.replace(/[.\s]*$/, '')}. ${fix}` : base;
  return {
    content: [{ type: 'text', text: `${code}: ${message}` }],
    isError: true,
    _meta: { 'cmtMemory/error': { code, message } },
  };
}

function nothingMemorized(ctx: ToolContext): ToolError {
  return new ToolError(
    'NOTHING_MEMORIZED',
    `Nothing is memorized in this bank yet. Call memorize with the files or folders to remember (["."] for the whole workspace root ${ctx.root}), then call this tool again.`,
  );
}

function busy(state: ServerState): ToolError {
  const w = state.writing!;
  return new ToolError(
    'BANK_BUSY',
    `The bank is busy (${w.what}${w.total ? `, ${w.done}/${w.total} files done` : ''}). Call this tool again when it finishes.`,
  );
}

/** Runs a write (memorize/forget) unless one is running already (BANK_BUSY). */
async function exclusive<T>(state: ServerState, what: string, fn: () => Promise<T>): Promise<T> {
  if (state.writing) throw busy(state);
  state.writing = { what, done: 0, total: 0 };
  try {
    return await fn();
  } finally {
    state.writing = undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Results

function ok(text: string, structured: Record<string, unknown>): ToolResult {
  return { content: [{ type: 'text', text }], structuredContent: structured };
}

// ---------------------------------------------------------------------------------------------
// The tools

/** An empty result on an empty bank is an error the agent can act on (memorize first). */
async function assertMemories(engine: McpEngine, ctx: ToolContext, signal: AbortSignal): Promise<void> {
  const st = await engine.status({ signal });
  if (st.memories === 0) throw nothingMemorized(ctx);
}

export const TOOLS: ToolSpec[] = [
  {
    name: 'search_memory',
    title: 'Search the memory bank',
    description:
      'Finds the chunks of the user\'s memorized files (code, docs, notes; local and private) that best match a query, ' +
      'best first, with their workspace-relative path, line range, score and full text. Use it to locate where something is ' +
      'defined, configured or explained before reading or editing files. Fast (no model answer).',
    input: searchInput,
    output: searchOutput,
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    async run(args, ctx, extra) {
      const a = args as z.infer<typeof searchInput>;
      const engine = await ctx.engine();
      const r = await engine.search(a.query, { k: a.k, hybrid: ctx.askDefaults?.hybrid }, { signal: extra.signal });
      if (r.hits.length === 0) await assertMemories(engine, ctx, extra.signal);
      const out = { query: a.query, hits: r.hits, matchMs: r.matchMs };
      return ok(searchText(out), out);
    },
  },
  {
    name: 'ask_memory',
    title: 'Ask the memory bank',
    description:
      'Answers a question from the user\'s memorized files with a small local model, and says whether the answer is ' +
      'backed by the files: verdict "found" with the line that holds it, or "not-sure" with the most relevant lines ' +
      'to read instead. Always returns the cited chunks (path and lines). Slower than search_memory (about a second); ' +
      'when the verdict is not-sure, trust the quoted lines, not the answer.',
    input: askInput,
    output: askOutput,
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    async run(args, ctx, extra) {
      const a = args as z.infer<typeof askInput>;
      const engine = await ctx.engine();
      const r = await engine.ask(a.question, ctx.askDefaults ?? {}, { signal: extra.signal });
      if (r.citations.length === 0) await assertMemories(engine, ctx, extra.signal);
      const g = r.grounding;
      const out = {
        question: a.question,
        answer: r.answer,
        noAnswer: !!g.noAnswer,
        grounding: { verdict: g.verdict, reason: g.reason, message: g.message, quotes: g.quotes },
        citations: r.citations,
      };
      return ok(askText(r), out);
    },
  },
  {
    name: 'memorize',
    title: 'Memorize files',
    description:
      'Compresses files or folders inside the workspace root into the memory bank so search_memory and ask_memory ' +
      'can find them. Folders are walked honouring .gitignore and skipping secrets (.env, keys), binaries, vendored ' +
      'and generated files; unchanged files cost nothing. Paths are relative to the workspace root; nothing outside it is read.',
    input: memorizeInput,
    output: memorizeOutput,
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    async run(args, ctx, extra, state) {
      const a = args as z.infer<typeof memorizeInput>;
      const rels = a.paths.map((p) => relInsideRoot(ctx.root, p));
      return exclusive(state, `memorizing ${rels.map((r) => r || '.').slice(0, 3).join(', ')}${rels.length > 3 ? ', …' : ''}`, async () => {
        const engine = await ctx.engine();
        const abs = rels.map((r) => path.join(ctx.root, ...r.split('/').filter(Boolean)));
        const s = await engine.memorize(
          { paths: abs, root: ctx.root, force: a.force },
          {
            signal: extra.signal,
            onProgress: (p) => {
              if (state.writing) Object.assign(state.writing, { done: p.done, total: p.total });
              extra.progress?.(p.done, p.total, p.path);
            },
          },
        );
        const out = {
          memorized: s.memorized,
          unchanged: s.unchanged,
          skipped: s.skipped,
          failed: s.failed,
          chunks: s.chunks,
          removed: s.removed ?? 0,
          elapsedMs: s.elapsedMs,
        };
        return ok(memorizeText(s), out);
      });
    },
  },
  {
    name: 'forget',
    title: 'Forget a file',
    description:
      'Removes the memories of a file, or of every file under a folder, from the memory bank (the files themselves ' +
      'are not touched). The path is relative to the workspace root; the root itself cannot be forgotten this way.',
    input: forgetInput,
    output: forgetOutput,
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    async run(args, ctx, extra, state) {
      const a = args as z.infer<typeof forgetInput>;
      const rel = relInsideRoot(ctx.root, a.path);
      if (rel === '') {
        throw new ToolError('BAD_INPUT', `forget needs a file or folder inside the workspace root, not the root itself (to forget everything, delete the bank folder).`);
      }
      return exclusive(state, `forgetting ${rel}`, async () => {
        const engine = await ctx.engine();
        const r = await engine.forget(rel, { signal: extra.signal });
        const out = { path: rel, removed: r.removed };
        return ok(r.removed > 0 ? `Forgot ${rel}: ${r.removed} memories removed.` : `Nothing was memorized for ${rel}; nothing removed.`, out);
      });
    },
  },
  {
    name: 'memory_status',
    title: 'Memory bank status',
    description: 'Says which model pack and device the memory engine runs on, how many memories (chunks) and files the bank holds, its size on disk, and the workspace root.',
    input: statusInput,
    output: statusOutput,
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    async run(_args, ctx, extra, state) {
      const engine = await ctx.engine();
      const s: StatusResult = await engine.status({ signal: extra.signal });
      const out = {
        root: toPosix(ctx.root),
        packId: s.packId,
        packName: s.packName,
        provider: s.provider,
        memories: s.memories,
        files: s.files,
        bytesOnDisk: s.bytesOnDisk,
        bankUri: s.bankUri,
      };
      const busyNow = state.writing ? ` Busy: ${state.writing.what}.` : '';
      return ok(
        `${s.memories} memories from ${s.files} file(s) (${(s.bytesOnDisk / 1048576).toFixed(1)} MiB) in ${s.bankUri}; pack ${s.packName} (${s.packId}) on ${s.provider}; workspace root ${ctx.root}.${busyNow}`,
        out,
      );
    },
  },
];

// The memory inside VS Code's own chat and agents, where this VS Code has the API (lmApi.ts):
//   - two language-model tools, search and ask (`#memorySearch`, `#memoryAsk` in a prompt; agent
//     mode calls them by itself), answered by the extension's engine through the controller, the
//     sidebar's code path;
//   - the chat participant `@memory`: an answer with its grounding verdict, the quoted lines and the
//     citations as anchors and references that open the file at the lines (`/search`: chunks only);
//   - the MCP server (dist/mcp.js) offered to VS Code, reaching this same engine through the relay
//     (src/mcp/relay.ts) rather than opening the bank a second time.
// Where an API is missing, one line in the log says so and the sidebar chat does the job.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CmtError, MAX_SEARCH_K, type AskResponse, type SearchResult } from '../core/types';
import { askText, searchText } from '../mcp/format';
import { serveRelay, RELAY_ENV, RELAY_TOKEN_ENV, type Relay, type RelayHandlers } from '../mcp/relay';
import type { MemoryController } from './controller';
import type { ChatRequestHandler, ChatResponseStream, LanguageModelTool, LmApi, McpServerDefinitionProvider, McpStdioServerDefinition, ToolResult } from './lmApi';
import { resolveCitationPath } from './paths';
import { WORDING } from '../webview/wording';

export const SEARCH_TOOL = 'cmt_search_memory';
export const ASK_TOOL = 'cmt_ask_memory';
export const PARTICIPANT_ID = 'cmtMemory.memory';
export const MCP_PROVIDER_ID = 'cmtMemory.mcp';

/** What the agent features use of the controller. */
export type AgentController = Pick<MemoryController, 'search' | 'ask' | 'status' | 'memorize' | 'forget' | 'state' | 'roots' | 'settings'>;

export interface SearchInput {
  query: string;
  k?: number;
}
export interface AskInput {
  question: string;
}

/** An error an agent's model (or the chat) can act on: what happened, what to do, and its code. */
export class AgentError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`CMT Memory: ${message} [${code}]`);
  }
}

function agentError(e: unknown): AgentError {
  if (e instanceof AgentError) return e;
  const err = e instanceof CmtError ? e : new CmtError('INTERNAL', e instanceof Error ? e.message : String(e));
  return new AgentError(err.code, `${err.message}${WORDING.errorFixes[err.code] ?? ''}`);
}

function signalOf(token: vscode.CancellationToken | undefined): AbortSignal {
  const ac = new AbortController();
  if (token?.isCancellationRequested) ac.abort();
  else token?.onCancellationRequested(() => ac.abort());
  return ac.signal;
}

function checkText(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.trim() === '') throw new AgentError('BAD_INPUT', `${what} must be a non-empty string`);
  if (v.length > 10_000) throw new AgentError('BAD_INPUT', `${what} must be at most 10000 characters`);
  return v;
}

function checkK(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_SEARCH_K) throw new AgentError('BAD_INPUT', `k must be a whole number from 1 to ${MAX_SEARCH_K}`);
  return v;
}

/** An empty result on an empty bank: say how to fill it. */
async function assertMemories(ctrl: AgentController, signal: AbortSignal): Promise<void> {
  const st = await ctrl.status(signal);
  if (st.memories === 0) throw new AgentError('NOTHING_MEMORIZED', WORDING.nothingMemorized);
}

export async function runSearch(ctrl: AgentController, input: SearchInput, signal: AbortSignal): Promise<SearchResult & { query: string }> {
  const query = checkText(input?.query, 'query');
  const k = checkK(input?.k);
  let r: SearchResult;
  try {
    r = await ctrl.search(query, { k }, signal);
    if (r.hits.length === 0) await assertMemories(ctrl, signal);
  } catch (e) {
    throw agentError(e);
  }
  return { ...r, query };
}

/** The sidebar's ask (MemoryController.ask, the settings' answer options), for the tool and @memory. */
export async function runAsk(ctrl: AgentController, input: AskInput, signal: AbortSignal): Promise<AskResponse> {
  const question = checkText(input?.question, 'question');
  try {
    const r = await ctrl.ask(question, () => undefined, signal);
    if (r.citations.length === 0) await assertMemories(ctrl, signal);
    return r;
  } catch (e) {
    throw agentError(e);
  }
}

function toolResult(api: LmApi, text: string): ToolResult {
  const Part = api.LanguageModelTextPart!;
  return new api.LanguageModelToolResult!([new Part(text)]);
}

const quoted = (s: unknown, n = 80) => {
  const t = typeof s === 'string' ? s.replace(/\s+/g, ' ').trim() : '';
  return JSON.stringify(t.length > n ? t.slice(0, n - 1) + '…' : t);
};

export function searchTool(ctrl: AgentController, api: LmApi): LanguageModelTool<SearchInput> {
  return {
    prepareInvocation: (o) => ({ invocationMessage: `Searching CMT Memory for ${quoted(o.input?.query)}` }),
    invoke: async (o, token) => toolResult(api, searchText(await runSearch(ctrl, o.input, signalOf(token)))),
  };
}

export function askTool(ctrl: AgentController, api: LmApi): LanguageModelTool<AskInput> {
  return {
    prepareInvocation: (o) => ({ invocationMessage: `Asking CMT Memory: ${quoted(o.input?.question)}` }),
    invoke: async (o, token) => toolResult(api, askText(await runAsk(ctrl, o.input, signalOf(token)))),
  };
}

// ---------------------------------------------------------------------------------------------
// @memory

/** Markdown-escapes text the model or the files wrote (no links, no HTML, no emphasis from them). */
export function escapeMd(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>~]/g, (c) => `\\${c}`);
}

function locationOf(ctrl: AgentController, rel: string, startLine: number, endLine: number): vscode.Location | undefined {
  const abs = resolveCitationPath(ctrl.roots(), rel, (p) => {
    try {
      return fs.statSync(p).isFile();
    } catch {
      return false;
    }
  });
  if (!abs) return undefined;
  return new vscode.Location(vscode.Uri.file(abs), new vscode.Range(Math.max(0, startLine - 1), 0, Math.max(0, endLine - 1), 0));
}

function anchor(ctrl: AgentController, stream: ChatResponseStream, rel: string, start: number, end: number, title: string): void {
  const loc = locationOf(ctrl, rel, start, end);
  if (loc) stream.anchor(loc, title);
  else stream.markdown(escapeMd(title));
}

/** Renders an answer as the sidebar does: the answer (or "No answer"), the verdict, its lines, the sources. */
export function renderAnswer(ctrl: AgentController, r: AskResponse, stream: ChatResponseStream): void {
  const g = r.grounding;
  stream.markdown(g.noAnswer ? `**${escapeMd(WORDING.withheld)}**\n\n` : `${escapeMd(r.answer || '(empty answer)')}\n\n`);
  stream.markdown(`**${escapeMd(g.message)}**\n\n`);
  if (g.quotes.length) {
    if (g.verdict === 'not-sure') stream.markdown('Most relevant lines:\n\n');
    for (const q of g.quotes) {
      stream.markdown('- ');
      anchor(ctrl, stream, q.path, q.line, q.line, `${q.path}:${q.line}`);
      stream.markdown(` \`${q.text.replace(/`/g, "'")}\`\n`);
    }
    stream.markdown('\n');
  }
  if (r.citations.length) {
    stream.markdown('Sources: ');
    r.citations.forEach((c, i) => {
      if (i) stream.markdown(', ');
      anchor(ctrl, stream, c.path, c.startLine, c.endLine, `${c.path}:${c.startLine}-${c.endLine}`);
      const loc = locationOf(ctrl, c.path, c.startLine, c.endLine);
      if (loc) stream.reference(loc);
    });
    stream.markdown('\n');
  }
}

export function participantHandler(ctrl: AgentController): ChatRequestHandler {
  return async (request, _context, stream, token) => {
    const prompt = (request.prompt ?? '').trim();
    const search = request.command === 'search';
    if (!prompt) {
      stream.markdown(search ? 'Say what to look for, e.g. `@memory /search retry count`.' : 'Ask about your memorized files, e.g. `@memory where is the retry count configured?`');
      return {};
    }
    const st = ctrl.state;
    if (st.phase !== 'ready') {
      const why = st.detail ?? st.phase;
      stream.markdown(escapeMd(`CMT Memory is not ready: ${why}`));
      return { errorDetails: { message: `CMT Memory is not ready: ${why}` } };
    }
    const signal = signalOf(token);
    try {
      if (search) {
        stream.progress('Searching your memory…');
        const r = await runSearch(ctrl, { query: prompt }, signal);
        if (r.hits.length === 0) stream.markdown('No memorized chunk matches.');
        for (const h of r.hits) {
          stream.markdown('- ');
          anchor(ctrl, stream, h.path, h.startLine, h.endLine, `${h.path}:${h.startLine}-${h.endLine}`);
          stream.markdown(`${h.symbol ? ` (${escapeMd(h.symbol)})` : ''} · score ${h.score.toFixed(3)}\n`);
          const loc = locationOf(ctrl, h.path, h.startLine, h.endLine);
          if (loc) stream.reference(loc);
        }
        return { metadata: { command: 'search', hits: r.hits.map((h) => ({ path: h.path, startLine: h.startLine, endLine: h.endLine, score: h.score })) } };
      }
      stream.progress('Answering from your memory…');
      const r = await runAsk(ctrl, { question: prompt }, signal);
      renderAnswer(ctrl, r, stream);
      return {
        metadata: {
          answer: r.answer,
          verdict: r.grounding.verdict,
          reason: r.grounding.reason,
          citations: r.citations.map((c) => ({ path: c.path, startLine: c.startLine, endLine: c.endLine, score: c.score })),
        },
      };
    } catch (e) {
      if (signal.aborted) return {};
      const err = agentError(e);
      stream.markdown(escapeMd(err.message));
      if (err.code === 'NOTHING_MEMORIZED') stream.button({ command: 'cmtMemory.memorizeWorkspace', title: 'Memorize Workspace' });
      return { errorDetails: { message: err.message }, metadata: { code: err.code } };
    }
  };
}

// ---------------------------------------------------------------------------------------------
// The MCP server offered to VS Code

/** The relay's handlers: the controller's own requests (one memorize at a time, the sidebar's ask). */
export function relayHandlers(ctrl: AgentController, isTrusted: () => boolean): RelayHandlers {
  return {
    search: (q, o, signal) => ctrl.search(q, o, signal),
    ask: (q, signal) => ctrl.ask(q, () => undefined, signal),
    memorize: async (paths, _root, force, signal, onProgress) => {
      if (!isTrusted()) throw new CmtError('BAD_INPUT', 'this workspace is not trusted: agents may not memorize files in it (use the CMT Memory commands, or trust the workspace)');
      const { summary } = await ctrl.memorize(paths, { trigger: 'mcp', force, signal, onProgress: (done, total, p) => onProgress({ done, total, path: p }) });
      return summary;
    },
    forget: async (abs) => ({ removed: await ctrl.forget(abs, 'mcp') }),
    status: () => ctrl.status(),
    root: () => ctrl.roots()[0],
  };
}

export class McpOffer implements McpServerDefinitionProvider, vscode.Disposable {
  private relay: Promise<Relay> | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeMcpServerDefinitions = this.changed.event;

  constructor(
    private readonly ctrl: AgentController,
    private readonly api: LmApi,
    private readonly extensionPath: string,
    private readonly version: string,
    private readonly isTrusted: () => boolean = () => vscode.workspace.isTrusted,
  ) {}

  /** The workspace folders changed: VS Code asks for the definitions again. */
  refresh(): void {
    this.changed.fire();
  }

  private definition(env: Record<string, string>): McpStdioServerDefinition | undefined {
    const root = this.ctrl.roots()[0];
    if (!root || !this.api.McpStdioServerDefinition) return undefined;
    const script = path.join(this.extensionPath, 'dist', 'mcp.js');
    // The extension host's own runtime (Electron run as node in the desktop app, node in code-server).
    return new this.api.McpStdioServerDefinition('CMT Memory', process.execPath, [script, '--root', root, '--version', this.version], { ELECTRON_RUN_AS_NODE: '1', ...env }, this.version);
  }

  provideMcpServerDefinitions(): McpStdioServerDefinition[] {
    const d = this.definition({});
    return d ? [d] : [];
  }

  /** Called when VS Code starts the server: the relay's socket and token go in its environment (never cached). */
  async resolveMcpServerDefinition(): Promise<McpStdioServerDefinition | undefined> {
    this.relay ??= serveRelay(relayHandlers(this.ctrl, this.isTrusted));
    const r = await this.relay;
    return this.definition({ [RELAY_ENV]: r.path, [RELAY_TOKEN_ENV]: r.token });
  }

  dispose(): void {
    this.changed.dispose();
    void this.relay?.then((r) => r.close()).catch(() => undefined);
    this.relay = undefined;
  }
}

/** Registers what this VS Code supports; logs one line for each thing it does not. */
export function registerAgentFeatures(opts: {
  ctrl: AgentController;
  api: LmApi;
  extensionPath: string;
  extensionUri: vscode.Uri;
  version: string;
  log: (line: string) => void;
}): { disposables: vscode.Disposable[]; mcp?: McpOffer } {
  const { ctrl, api, log } = opts;
  const out: vscode.Disposable[] = [];
  const missing: string[] = [];
  // Feature-detected, and each in a try: a VS Code may list an API it refuses to run (a proposed API
  // of that version throws when called by an extension that did not enable it).
  const attempt = (what: string, available: boolean, register: () => void) => {
    if (!available) return void missing.push(what);
    try {
      register();
    } catch (e) {
      missing.push(`${what} (${(e as Error)?.message ?? e})`);
    }
  };
  attempt('language-model tools (#memorySearch, #memoryAsk)', !!(api.registerTool && api.LanguageModelToolResult && api.LanguageModelTextPart), () => {
    out.push(api.registerTool!(SEARCH_TOOL, searchTool(ctrl, api)));
    out.push(api.registerTool!(ASK_TOOL, askTool(ctrl, api)));
  });
  attempt('the @memory chat participant', !!api.createChatParticipant, () => {
    const p = api.createChatParticipant!(PARTICIPANT_ID, participantHandler(ctrl));
    p.iconPath = vscode.Uri.joinPath(opts.extensionUri, 'media', 'icon.svg');
    out.push(p);
  });
  let mcp: McpOffer | undefined;
  attempt('the MCP server definition (VS Code 1.101+; `cmt mcp` works with any MCP client)', !!(api.registerMcpServerDefinitionProvider && api.McpStdioServerDefinition), () => {
    const offer = new McpOffer(ctrl, api, opts.extensionPath, opts.version);
    try {
      out.push(api.registerMcpServerDefinitionProvider!(MCP_PROVIDER_ID, offer));
    } catch (e) {
      offer.dispose();
      throw e;
    }
    out.push(offer);
    mcp = offer;
  });
  if (missing.length) log(`[cmt] not offered by this VS Code (${vscode.version}): ${missing.join('; ')}. Nothing is lost: the CMT Memory sidebar chat answers the same way.`);
  return { disposables: out, mcp };
}

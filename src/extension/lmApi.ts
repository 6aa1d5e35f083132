// The parts of VS Code's language-model, chat and MCP API the extension uses, declared here:
// engines.vscode stays ^1.90 (and @types/vscode 1.90), which lack some of them (MCP server
// definition providers came in 1.101). Each one is looked up at run time; on a VS Code without it,
// lmApi() leaves it undefined and the extension says so in its log, once, and does without.
import type * as vscode from 'vscode';

// ---------------------------------------------------------------------------------------------
// Language-model tools (lm.registerTool, 1.95+)

export interface ToolInvocationOptions<T> {
  readonly input: T;
  readonly toolInvocationToken?: unknown;
}

export interface ToolPrepareOptions<T> {
  readonly input: T;
}

export interface PreparedToolInvocation {
  invocationMessage?: string;
  confirmationMessages?: { title: string; message: string };
}

/** A LanguageModelToolResult (its content: LanguageModelTextPart values). */
export interface ToolResult {
  content: unknown[];
}

export interface LanguageModelTool<T> {
  invoke(options: ToolInvocationOptions<T>, token: vscode.CancellationToken): Promise<ToolResult>;
  prepareInvocation?(options: ToolPrepareOptions<T>, token: vscode.CancellationToken): PreparedToolInvocation | undefined;
}

// ---------------------------------------------------------------------------------------------
// Chat participants (chat.createChatParticipant, 1.90+)

export interface ChatRequest {
  readonly prompt: string;
  readonly command: string | undefined;
}

export interface ChatResponseStream {
  markdown(value: string): void;
  anchor(value: vscode.Uri | vscode.Location, title?: string): void;
  reference(value: vscode.Uri | vscode.Location): void;
  progress(value: string): void;
  button(command: vscode.Command): void;
}

export interface ChatResult {
  errorDetails?: { message: string };
  metadata?: { readonly [key: string]: unknown };
}

export type ChatRequestHandler = (request: ChatRequest, context: unknown, stream: ChatResponseStream, token: vscode.CancellationToken) => Promise<ChatResult | void>;

export interface ChatParticipant extends vscode.Disposable {
  iconPath?: vscode.Uri;
}

// ---------------------------------------------------------------------------------------------
// MCP server definitions (lm.registerMcpServerDefinitionProvider, 1.101+)

export interface McpStdioServerDefinition {
  readonly label: string;
  cwd?: vscode.Uri;
  command: string;
  args: string[];
  env: Record<string, string | number | null>;
  version?: string;
}

export interface McpServerDefinitionProvider {
  readonly onDidChangeMcpServerDefinitions?: vscode.Event<void>;
  provideMcpServerDefinitions(token: vscode.CancellationToken): McpStdioServerDefinition[] | Promise<McpStdioServerDefinition[]>;
}

// ---------------------------------------------------------------------------------------------

/** What this VS Code offers of the above (undefined: not in this version). */
export interface LmApi {
  registerTool?: <T>(name: string, tool: LanguageModelTool<T>) => vscode.Disposable;
  registerMcpServerDefinitionProvider?: (id: string, provider: McpServerDefinitionProvider) => vscode.Disposable;
  createChatParticipant?: (id: string, handler: ChatRequestHandler) => ChatParticipant;
  LanguageModelToolResult?: new (content: unknown[]) => ToolResult;
  LanguageModelTextPart?: new (value: string) => { value: string };
  McpStdioServerDefinition?: new (label: string, command: string, args?: string[], env?: Record<string, string | number | null>, version?: string) => McpStdioServerDefinition;
}

interface Shapes {
  lm?: { registerTool?: LmApi['registerTool']; registerMcpServerDefinitionProvider?: LmApi['registerMcpServerDefinitionProvider'] };
  chat?: { createChatParticipant?: LmApi['createChatParticipant'] };
  LanguageModelToolResult?: LmApi['LanguageModelToolResult'];
  LanguageModelTextPart?: LmApi['LanguageModelTextPart'];
  McpStdioServerDefinition?: LmApi['McpStdioServerDefinition'];
}

const fn = <F>(owner: object | undefined, f: F | undefined): F | undefined =>
  typeof f === 'function' ? ((f as unknown as (...a: unknown[]) => unknown).bind(owner) as F) : undefined;

/** Looks the API up on the `vscode` module given (the real one, or a test's stub). */
export function lmApi(api: typeof vscode): LmApi {
  const v = api as unknown as Shapes;
  const cls = <C>(c: C | undefined): C | undefined => (typeof c === 'function' ? c : undefined);
  return {
    registerTool: fn(v.lm, v.lm?.registerTool),
    registerMcpServerDefinitionProvider: fn(v.lm, v.lm?.registerMcpServerDefinitionProvider),
    createChatParticipant: fn(v.chat, v.chat?.createChatParticipant),
    LanguageModelToolResult: cls(v.LanguageModelToolResult),
    LanguageModelTextPart: cls(v.LanguageModelTextPart),
    McpStdioServerDefinition: cls(v.McpStdioServerDefinition),
  };
}

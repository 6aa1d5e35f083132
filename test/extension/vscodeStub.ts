// A minimal stand-in for the `vscode` module, enough for the controller and settings to run under
// node:test. Import it before any module that imports `vscode`: it hooks require('vscode').
import * as path from 'node:path';
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the loader hook needs node's CommonJS Module
const Module = require('node:module') as { _load: (req: string, parent: unknown, isMain: boolean) => unknown };

type Listener<T> = (e: T) => unknown;

export class EventEmitter<T> {
  private listeners: Listener<T>[] = [];
  readonly event = (l: Listener<T>) => {
    this.listeners.push(l);
    return { dispose: () => (this.listeners = this.listeners.filter((x) => x !== l)) };
  };
  fire(e: T): void {
    for (const l of [...this.listeners]) l(e);
  }
  dispose(): void {
    this.listeners = [];
  }
}

const fileUri = (fsPath: string) => ({ scheme: 'file', fsPath, toString: () => `file://${fsPath}` });

/** Settings the test sets: section -> key -> value. */
export const config: Record<string, Record<string, unknown>> = { cmtMemory: {}, files: {} };

/** The file system watcher's and the workspace's file events, fired by the tests. */
export const events = {
  create: new EventEmitter<ReturnType<typeof fileUri>>(),
  change: new EventEmitter<ReturnType<typeof fileUri>>(),
  delete: new EventEmitter<ReturnType<typeof fileUri>>(),
  save: new EventEmitter<{ uri: ReturnType<typeof fileUri> }>(),
  rename: new EventEmitter<{ files: { oldUri: ReturnType<typeof fileUri>; newUri: ReturnType<typeof fileUri> }[] }>(),
  deleteFiles: new EventEmitter<{ files: ReturnType<typeof fileUri>[] }>(),
};

export const workspace = {
  workspaceFolders: [] as { uri: ReturnType<typeof fileUri>; name: string; index: number }[],
  workspaceFile: undefined,
  isTrusted: true,
  getConfiguration: (section: string) => ({ get: <T>(key: string): T | undefined => config[section]?.[key] as T | undefined }),
  createFileSystemWatcher: () => ({
    onDidCreate: events.create.event,
    onDidChange: events.change.event,
    onDidDelete: events.delete.event,
    dispose: () => undefined,
  }),
  onDidSaveTextDocument: events.save.event,
  onDidRenameFiles: events.rename.event,
  onDidDeleteFiles: events.deleteFiles.event,
  onDidGrantWorkspaceTrust: new EventEmitter<void>().event,
};

/** Commands the code under test ran, in order. */
export const executed: unknown[][] = [];
export const commands = {
  executeCommand: async (...args: unknown[]) => {
    executed.push(args);
    return undefined;
  },
};

export class ThemeColor {
  constructor(readonly id: string) {}
}

export class Range {
  constructor(
    readonly startLine: number,
    readonly startCharacter: number,
    readonly endLine: number,
    readonly endCharacter: number,
  ) {}
}

export class Location {
  constructor(
    readonly uri: ReturnType<typeof fileUri>,
    readonly range: Range,
  ) {}
}

// The language-model API of VS Code 1.101 (lm.registerTool / invokeTool, chat participants, MCP
// server definition providers), as far as the extension uses it. `api.lm` and `api.chat` can be
// trimmed by a test to play an older VS Code.
export class LanguageModelTextPart {
  constructor(readonly value: string) {}
}
export class LanguageModelToolResult {
  constructor(readonly content: unknown[]) {}
}
export class McpStdioServerDefinition {
  constructor(
    readonly label: string,
    public command: string,
    public args: string[] = [],
    public env: Record<string, string | number | null> = {},
    public version?: string,
  ) {}
}

type Tool = { invoke: (o: { input: unknown; toolInvocationToken?: unknown }, t: unknown) => Promise<unknown>; prepareInvocation?: (o: { input: unknown }, t: unknown) => unknown };
/** What the extension registered: tools by name, chat participants by id, MCP providers by id. */
export const registered = { tools: new Map<string, Tool>(), participants: new Map<string, { handler: unknown; iconPath?: unknown }>(), mcp: new Map<string, unknown>() };
/** The prepareInvocation results seen by invokeTool, in order. */
export const prepared: unknown[] = [];
const never = { isCancellationRequested: false, onCancellationRequested: () => ({ dispose: () => undefined }) };
export const lm = {
  registerTool: (name: string, tool: Tool) => {
    registered.tools.set(name, tool);
    return { dispose: () => registered.tools.delete(name) };
  },
  /** As VS Code does: prepareInvocation (its message is shown), then invoke. */
  invokeTool: async (name: string, options: { input: unknown; toolInvocationToken?: unknown }, token: unknown = never) => {
    const tool = registered.tools.get(name);
    if (!tool) throw new Error(`tool ${name} not found`);
    prepared.push(await tool.prepareInvocation?.({ input: options.input }, token));
    return tool.invoke(options, token);
  },
  registerMcpServerDefinitionProvider: (id: string, provider: unknown) => {
    registered.mcp.set(id, provider);
    return { dispose: () => registered.mcp.delete(id) };
  },
};
export const chat = {
  createChatParticipant: (id: string, handler: unknown) => {
    const p = { handler, iconPath: undefined as unknown, dispose: () => registered.participants.delete(id) };
    registered.participants.set(id, p);
    return p;
  },
};
export const version = '1.101.0-stub';

/** What was written to the clipboard. */
export const clipboard: string[] = [];
export const env = { clipboard: { writeText: async (t: string) => void clipboard.push(t) } };

export const window = {
  createTextEditorDecorationType: () => ({ dispose: () => undefined }),
  showWarningMessage: async () => undefined,
  activeTextEditor: undefined,
};

/** Installed extensions the test declares: id -> extension folder (vscode.extensions.getExtension). */
export const installedExtensions: Record<string, string> = {};
export const extensions = {
  getExtension: (id: string) => (installedExtensions[id] ? { id, extensionPath: installedExtensions[id] } : undefined),
};

/** Sets the open workspace folders. */
export function openFolders(...dirs: string[]): void {
  workspace.workspaceFolders = dirs.map((d, index) => ({ uri: fileUri(path.resolve(d)), name: path.basename(d), index }));
}

/** An ExtensionContext with what the controller reads. */
export function extensionContext(extensionPath: string, storage: string) {
  const state = new Map<string, unknown>();
  return {
    extensionPath,
    extensionUri: fileUri(extensionPath),
    globalStorageUri: fileUri(storage),
    subscriptions: [] as unknown[],
    workspaceState: { get: <T>(k: string): T | undefined => state.get(k) as T | undefined, update: async (k: string, v: unknown) => void state.set(k, v) },
  };
}

export { fileUri };

const joinPath = (base: { fsPath: string }, ...parts: string[]) => fileUri(path.join(base.fsPath, ...parts));
const stub = {
  EventEmitter,
  ThemeColor,
  Range,
  Location,
  LanguageModelTextPart,
  LanguageModelToolResult,
  McpStdioServerDefinition,
  lm,
  chat,
  version,
  workspace,
  commands,
  env,
  window,
  extensions,
  Uri: { file: fileUri, joinPath },
};
const load = Module._load;
Module._load = function (req: string, parent: unknown, isMain: boolean) {
  return req === 'vscode' ? stub : load.call(this, req, parent, isMain);
};

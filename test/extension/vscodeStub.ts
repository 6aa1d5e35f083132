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

/** What was written to the clipboard. */
export const clipboard: string[] = [];
export const env = { clipboard: { writeText: async (t: string) => void clipboard.push(t) } };

export const window = {
  createTextEditorDecorationType: () => ({ dispose: () => undefined }),
  showWarningMessage: async () => undefined,
  activeTextEditor: undefined,
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
const stub = { EventEmitter, ThemeColor, workspace, commands, env, window, Uri: { file: fileUri, joinPath } };
const load = Module._load;
Module._load = function (req: string, parent: unknown, isMain: boolean) {
  return req === 'vscode' ? stub : load.call(this, req, parent, isMain);
};

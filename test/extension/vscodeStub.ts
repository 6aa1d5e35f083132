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

export const workspace = {
  workspaceFolders: [] as { uri: ReturnType<typeof fileUri>; name: string; index: number }[],
  workspaceFile: undefined,
  isTrusted: true,
  getConfiguration: (section: string) => ({ get: <T>(key: string): T | undefined => config[section]?.[key] as T | undefined }),
};

/** Sets the open workspace folders. */
export function openFolders(...dirs: string[]): void {
  workspace.workspaceFolders = dirs.map((d, index) => ({ uri: fileUri(path.resolve(d)), name: path.basename(d), index }));
}

/** An ExtensionContext with what the controller reads. */
export function extensionContext(extensionPath: string, storage: string): { extensionPath: string; globalStorageUri: ReturnType<typeof fileUri>; subscriptions: unknown[] } {
  return { extensionPath, globalStorageUri: fileUri(storage), subscriptions: [] };
}

const stub = { EventEmitter, workspace, Uri: { file: fileUri } };
const load = Module._load;
Module._load = function (req: string, parent: unknown, isMain: boolean) {
  return req === 'vscode' ? stub : load.call(this, req, parent, isMain);
};

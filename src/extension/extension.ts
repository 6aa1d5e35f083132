// CMT Memory: the thin VS Code layer. The engine (src/core) runs in a child process via EngineClient;
// this file wires commands, the chat view, the watcher and the status bar to it.
import * as vscode from 'vscode';
import { registerAgentFeatures } from './agents';
import { ChatViewProvider } from './chatView';
import { MemoryController } from './controller';
import { RESTART_KEYS } from './settings';
import { StatusLog } from './statusLog';
import { Watcher } from './watcher';
import { lmApi } from './lmApi';
import { WORDING } from '../webview/wording';
import { rewordIssue } from '../core/files';
import { redact, uriScheme } from '../core/bankStore';

let controller: MemoryController | undefined;

export function activate(ctx: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel('CMT Memory');
  const log = new StatusLog();
  log.record('activate', { vscodeVersion: vscode.version, node: process.version, trusted: vscode.workspace.isTrusted });
  const ctrl = new MemoryController(ctx, log, output);
  controller = ctrl;
  const watcher = new Watcher(ctrl, log, output, ctx);
  const chat = new ChatViewProvider(ctx, ctrl, watcher, log);
  const { bar, renderBar } = createStatusBar(ctrl, watcher);
  const parts: Parts = { ctx, output, log, ctrl, watcher, chat };
  registerCommands(parts);
  subscribe(parts, bar, renderBar);
  // Language-model tools, @memory and the MCP server, where this VS Code has them (agents.ts).
  const agents = registerAgentFeatures({
    ctrl,
    api: lmApi(vscode),
    extensionPath: ctx.extensionPath,
    extensionUri: ctx.extensionUri,
    version: String((ctx.extension?.packageJSON as { version?: string } | undefined)?.version ?? '0.0.0'),
    log: (line) => output.appendLine(line),
  });
  ctx.subscriptions.push(...agents.disposables, vscode.workspace.onDidChangeWorkspaceFolders(() => agents.mcp?.refresh()));
  renderBar();
  watcher.start();
  // Start the engine without holding up activation.
  void ctrl.start();
}

/** What activate() creates, handed to each of its steps. */
interface Parts {
  ctx: vscode.ExtensionContext;
  output: vscode.OutputChannel;
  log: StatusLog;
  ctrl: MemoryController;
  watcher: Watcher;
  chat: ChatViewProvider;
}

/** The status bar item: memories, indexing progress or the engine state; click for status and actions. */
function createStatusBar(ctrl: MemoryController, watcher: Watcher): { bar: vscode.StatusBarItem; renderBar: () => void } {
  const bar = vscode.window.createStatusBarItem('cmtMemory.status', vscode.StatusBarAlignment.Left, 50);
  bar.name = 'CMT Memory';
  bar.command = 'cmtMemory.showStatus';
  const renderBar = () => {
    const st = ctrl.state;
    let text: string;
    let tip: string;
    if (st.indexing) {
      text = `$(sync~spin) CMT ${st.indexing.done}/${st.indexing.total}`;
      tip = `Memorizing ${st.indexing.label}`;
    } else if (st.phase === 'ready') {
      text = `$(database) CMT ${st.memories ?? '…'}${watcher.paused ? ' $(debug-pause)' : ''}`;
      tip = `${st.memories ?? 0} memories from ${st.files ?? 0} files · ${st.packName ?? ''} on ${st.provider ?? '?'}` +
        (watcher.active ? ' · watching' : ` · not watching (${watcher.inactiveReason})`);
    } else if (st.phase === 'starting' || st.phase === 'restarting') {
      text = '$(loading~spin) CMT';
      tip = st.phase === 'starting' ? WORDING.starting : WORDING.restartingTip(st.detail ?? '');
    } else if (st.phase === 'noWorkspace') {
      text = '$(database) CMT';
      tip = WORDING.noWorkspaceTip;
    } else {
      text = '$(warning) CMT';
      tip = st.detail ?? st.phase;
    }
    if (watcher.queued > 0 && !st.indexing) text += ` (${watcher.queued} queued)`;
    bar.text = text;
    bar.tooltip = `CMT Memory: ${tip}\nClick for status and actions`;
    bar.show();
  };
  return { bar, renderBar };
}

/** Memorizes `paths` with a cancellable progress notification, then reports the summary. */
async function bulkMemorize({ ctrl, output }: Parts, paths: string[], title: string): Promise<void> {
  if (ctrl.state.phase !== 'ready') {
    void vscode.window.showWarningMessage(`CMT Memory: the engine is not ready (${ctrl.state.detail ?? ctrl.state.phase}).`);
    return;
  }
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: true },
    async (progress, token) => {
      const abort = new AbortController();
      token.onCancellationRequested(() => abort.abort());
      let last = 0;
      try {
        const { summary, lag } = await ctrl.memorize(paths, {
          trigger: 'command',
          signal: abort.signal,
          onProgress: (done, total, p) => {
            const pct = total ? (done / total) * 100 : 0;
            progress.report({ message: `${done}/${total} files · ${p}`, increment: pct - last });
            last = pct;
          },
        });
        const parts = [`${summary.memorized} memorized`, `${summary.unchanged} unchanged`];
        if (summary.skipped.length) parts.push(`${summary.skipped.length} skipped`);
        if (summary.failed.length) parts.push(`${summary.failed.length} failed`);
        output.appendLine(`[cmt] ${title}: ${parts.join(', ')} in ${summary.elapsedMs} ms (event loop p50 ${lag.p50Ms} ms, p99 ${lag.p99Ms} ms)`);
        for (const s of summary.skipped.slice(0, 200)) output.appendLine(`  skipped ${s.path}: ${rewordIssue(s, WORDING.skipReasons).reason}`);
        for (const s of summary.failed) output.appendLine(`  failed ${s.path}: ${rewordIssue(s, WORDING.skipReasons).reason}`);
        const msg = `CMT Memory: ${parts.join(', ')}.`;
        if (summary.failed.length) {
          void vscode.window.showWarningMessage(msg, 'Show Log').then((a) => a && output.show());
        } else {
          void vscode.window.showInformationMessage(msg);
        }
      } catch (e) {
        const m = (e as Error).message;
        if ((e as { code?: string }).code === 'CANCELLED') void vscode.window.showInformationMessage('CMT Memory: memorizing cancelled.');
        else void vscode.window.showErrorMessage(`CMT Memory: ${m}`);
      }
    },
  );
}

/** Registers a command (disposed with the extension); any handler: VS Code hands commands their arguments untyped. */
type Register = (id: string, fn: (...a: never[]) => unknown) => void;

/** The command palette / context menu commands. */
function registerCommands(parts: Parts): void {
  const reg: Register = (id, fn) => parts.ctx.subscriptions.push(vscode.commands.registerCommand(id, fn));
  registerMemoryCommands(parts, reg);
  registerEngineCommands(parts, reg);
}

/** The file or the active editor's document a command is about. */
function targetUri(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  return vscode.window.activeTextEditor?.document.uri;
}

/** Memorize and forget: files, folders, the workspace. */
function registerMemoryCommands(parts: Parts, reg: Register): void {
  const { ctrl } = parts;
  const inWorkspace = (u: vscode.Uri | undefined): u is vscode.Uri => !!u && u.scheme === 'file' && !!ctrl.rootOf(u.fsPath);
  const bulk = (paths: string[], title: string) => bulkMemorize(parts, paths, title);

  reg('cmtMemory.memorizeFile', async (arg?: unknown, all?: unknown) => {
    const uris = Array.isArray(all) && all.every((x) => x instanceof vscode.Uri) ? all : [targetUri(arg)];
    const ok = uris.filter(inWorkspace);
    if (ok.length === 0) {
      void vscode.window.showWarningMessage('CMT Memory: open a file of this workspace first.');
      return;
    }
    await bulk(ok.map((u) => u.fsPath), ok.length === 1 ? `Memorizing ${vscode.workspace.asRelativePath(ok[0])}` : `Memorizing ${ok.length} files`);
  });
  reg('cmtMemory.memorizeFolder', async (arg?: unknown) => {
    let u = arg instanceof vscode.Uri ? arg : undefined;
    if (!u) {
      const picked = await vscode.window.showOpenDialog({
        canSelectFolders: true, canSelectFiles: false, canSelectMany: false,
        defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri, openLabel: 'Memorize',
      });
      u = picked?.[0];
    }
    if (!inWorkspace(u)) {
      if (u) void vscode.window.showWarningMessage('CMT Memory: only folders inside the workspace can be memorized.');
      return;
    }
    await bulk([u.fsPath], `Memorizing ${vscode.workspace.asRelativePath(u)}`);
  });
  reg('cmtMemory.memorizeWorkspace', async () => {
    const roots = ctrl.roots();
    if (roots.length === 0) {
      void vscode.window.showWarningMessage('CMT Memory: open a folder first.');
      return;
    }
    await bulk(roots, 'Memorizing the workspace');
  });
  reg('cmtMemory.forgetFile', async (arg?: unknown) => {
    const u = targetUri(arg);
    if (!inWorkspace(u)) {
      void vscode.window.showWarningMessage('CMT Memory: open a file of this workspace first.');
      return;
    }
    try {
      const n = await ctrl.forget(u.fsPath, 'command');
      void vscode.window.showInformationMessage(`CMT Memory: forgot ${vscode.workspace.asRelativePath(u)} (${n} memories removed).`);
    } catch (e) {
      void vscode.window.showErrorMessage(`CMT Memory: ${(e as Error).message}`);
    }
  });
}

/** The memory bank, the watcher, the engine, the chat and the status quick pick. */
function registerEngineCommands(parts: Parts, reg: Register): void {
  const { ctrl, watcher, chat } = parts;
  reg('cmtMemory.clearMemory', async () => {
    const yes = await vscode.window.showWarningMessage(
      'Delete every memory of this workspace? The files themselves are not touched.', { modal: true }, 'Clear Memory');
    if (yes !== 'Clear Memory') return;
    await ctrl.clear();
    void vscode.window.showInformationMessage('CMT Memory: memory cleared.');
  });
  reg('cmtMemory.pauseWatching', () => watcher.setPaused(true));
  reg('cmtMemory.resumeWatching', () => watcher.setPaused(false));
  reg('cmtMemory.restartEngine', () => ctrl.retry());
  reg('cmtMemory.newChat', () => chat.newChat());
  reg('cmtMemory.openBankFolder', async () => {
    if (uriScheme(ctrl.settings.bankDir)) return void vscode.window.showInformationMessage(`CMT Memory bank (shared): ${redact(ctrl.settings.bankDir)}`);
    const dir = vscode.Uri.file(ctrl.settings.bankDir);
    await vscode.commands.executeCommand('revealFileInOS', dir).then(undefined, () =>
      vscode.window.showInformationMessage(`CMT Memory bank: ${ctrl.settings.bankDir}`));
  });
  reg('cmtMemory.selectPack', async () => {
    const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Use this model pack' });
    if (!picked?.[0]) return;
    await vscode.workspace.getConfiguration('cmtMemory').update('packPath', picked[0].fsPath, vscode.ConfigurationTarget.Global);
  });
  reg('cmtMemory.showStatus', () => showStatus(parts));
}

/** The status quick pick: the engine, the bank, the pack, the watcher, and the actions. */
async function showStatus({ output, ctrl, watcher }: Parts): Promise<void> {
  const st = (await ctrl.refreshStatus()) ?? undefined;
  const s = ctrl.state;
  const items: (vscode.QuickPickItem & { run?: () => unknown })[] = [
    { label: `$(info) ${s.phase === 'ready' ? 'Engine ready' : s.phase}`, detail: s.detail, kind: vscode.QuickPickItemKind.Default },
  ];
  if (st) {
    items.push(
      { label: `$(database) ${st.memories} memories from ${st.files} files`, description: `${(st.bytesOnDisk / 1048576).toFixed(1)} MB on disk` },
      { label: `$(package) ${st.packName}`, description: st.packId },
      { label: `$(chip) ${st.provider}`, description: st.providerReport.tried.map((t) => `${t.name}${t.ok ? '' : ' ✗'}`).join(', ') },
    );
  }
  items.push({ label: `$(eye) ${watcher.active ? 'Watching for changes' : `Not watching: ${watcher.inactiveReason}`}`, description: `${watcher.queued} queued` });
  items.push({ label: '', kind: vscode.QuickPickItemKind.Separator });
  items.push({ label: '$(cloud-upload) Memorize Workspace', run: () => vscode.commands.executeCommand('cmtMemory.memorizeWorkspace') });
  items.push(watcher.paused
    ? { label: '$(play) Resume Watching', run: () => watcher.setPaused(false) }
    : { label: '$(debug-pause) Pause Watching', run: () => watcher.setPaused(true) });
  items.push({ label: '$(folder-opened) Open Bank Folder', run: () => vscode.commands.executeCommand('cmtMemory.openBankFolder') });
  items.push({ label: '$(package) Select Model Pack', run: () => vscode.commands.executeCommand('cmtMemory.selectPack') });
  items.push({ label: '$(debug-restart) Restart Engine', run: () => ctrl.retry() });
  items.push({ label: '$(output) Show Log', run: () => output.show() });
  const pick = await vscode.window.showQuickPick(items, { title: 'CMT Memory', placeHolder: 'Status and actions' });
  await pick?.run?.();
}

/** Disposables and the events that re-render or restart things (settings, folders, trust). */
function subscribe({ ctx, output, log, ctrl, watcher, chat }: Parts, bar: vscode.StatusBarItem, renderBar: () => void): void {
  ctx.subscriptions.push(
    output,
    bar,
    watcher,
    chat,
    vscode.window.registerWebviewViewProvider(ChatViewProvider.viewId, chat, { webviewOptions: { retainContextWhenHidden: true } }),
    ctrl.onDidChangeState((st) => {
      renderBar();
      log.record('state', { phase: st.phase, memories: st.memories, indexing: st.indexing ? `${st.indexing.done}/${st.indexing.total}` : null });
    }),
    watcher.onDidChange(renderBar),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (RESTART_KEYS.some((k) => e.affectsConfiguration(k))) void ctrl.start();
      else if (e.affectsConfiguration('cmtMemory') || e.affectsConfiguration('files.exclude')) {
        ctrl.reloadSettings(); // read per request: no restart needed
        watcher.start();
      }
    }),
    vscode.workspace.onDidChangeWorkspaceFolders(() => {
      void ctrl.start();
      watcher.start();
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => watcher.start()),
  );
}

export async function deactivate(): Promise<void> {
  const c = controller;
  controller = undefined;
  await c?.dispose();
}

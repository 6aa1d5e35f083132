// Keeps the memory in step with the workspace: file system watcher + save events -> a debounced,
// coalescing work queue -> memorize / forget / rename in the engine. Which files may be memorized
// (.gitignore, secrets, default excludes, include/exclude settings, files.exclude, size) is decided by
// the engine's rules in src/core/files.ts; the cheap path-only part of those rules is also applied here
// (same code, imported) so that a burst of events in e.g. node_modules never reaches the engine.
import * as vscode from 'vscode';
import { pathRuleReason } from '../core/files';
import { autoMemorizeBlocker, AutoMemorizeGate, shouldListen } from './autoMemorize';
import type { MemoryController } from './controller';
import { toRel } from './paths';
import type { StatusLog } from './statusLog';
import { Batch, WorkQueue } from './workQueue';

export class Watcher implements vscode.Disposable {
  private readonly queue: WorkQueue;
  private subs: vscode.Disposable[] = [];
  private _paused: boolean;
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChange = this.emitter.event;

  constructor(
    private readonly ctrl: MemoryController,
    private readonly log: StatusLog,
    private readonly output: vscode.OutputChannel,
    private readonly ctx: vscode.ExtensionContext,
  ) {
    this._paused = ctx.workspaceState.get<boolean>('cmtMemory.watchPaused') ?? false;
    this.queue = new WorkQueue({
      debounceMs: 500,
      maxWaitMs: 5000,
      run: (b) => this.runBatch(b),
      onError: (e) => this.output.appendLine(`[cmt] watcher batch failed: ${(e as Error)?.message ?? e}`),
      onSizeChange: () => this.emitter.fire(),
    });
    void vscode.commands.executeCommand('setContext', 'cmtMemory.watchPaused', this._paused);
  }

  /** Why automatic memorizing is off, or undefined when it is on. */
  get inactiveReason(): string | undefined {
    return autoMemorizeBlocker(this.gate());
  }
  private gate(): AutoMemorizeGate {
    return { trusted: vscode.workspace.isTrusted, watchEnabled: this.ctrl.settings.watch, paused: this._paused };
  }
  get active(): boolean {
    return this.inactiveReason === undefined;
  }
  get paused(): boolean {
    return this._paused;
  }
  get queued(): number {
    return this.queue.size;
  }

  start(): void {
    this.stopListening();
    if (!shouldListen(this.gate())) {
      this.log.record('watcher', { active: false, reason: this.inactiveReason });
      this.emitter.fire();
      return;
    }
    const w = vscode.workspace.createFileSystemWatcher('**/*');
    this.subs.push(
      w,
      w.onDidCreate((u) => this.onEvent('memorize', u)),
      w.onDidChange((u) => this.onEvent('memorize', u)),
      w.onDidDelete((u) => this.onEvent('forget', u)),
      vscode.workspace.onDidSaveTextDocument((d) => this.onEvent('memorize', d.uri)),
      vscode.workspace.onDidRenameFiles((e) => {
        for (const f of e.files) this.onRename(f.oldUri, f.newUri);
      }),
      vscode.workspace.onDidDeleteFiles((e) => {
        for (const u of e.files) this.onEvent('forget', u);
      }),
    );
    if (this._paused) this.queue.pause();
    this.log.record('watcher', { active: this.active, paused: this._paused });
    this.emitter.fire();
  }

  private stopListening(): void {
    for (const s of this.subs) s.dispose();
    this.subs = [];
  }

  setPaused(paused: boolean): void {
    this._paused = paused;
    void this.ctx.workspaceState.update('cmtMemory.watchPaused', paused);
    void vscode.commands.executeCommand('setContext', 'cmtMemory.watchPaused', paused);
    if (paused) this.queue.pause();
    else this.queue.resume();
    this.log.record('watcher', { active: this.active, paused });
    this.emitter.fire();
  }

  /** Cheap path-only pre-filter (the engine re-checks everything, .gitignore included). */
  private wanted(uri: vscode.Uri): boolean {
    if (uri.scheme !== 'file') return false;
    const root = this.ctrl.rootOf(uri.fsPath);
    if (!root) return false;
    const rel = toRel(root, uri.fsPath);
    if (rel === '' || rel.startsWith('.cmt/')) return false; // the workspace-local bank itself
    const s = this.ctrl.settings;
    return pathRuleReason(rel, { include: s.include, exclude: s.exclude }) === null;
  }

  private onEvent(kind: 'memorize' | 'forget', uri: vscode.Uri): void {
    if (!shouldListen(this.gate()) || !this.wanted(uri)) return;
    this.queue.push({ kind, path: uri.fsPath });
  }

  private onRename(from: vscode.Uri, to: vscode.Uri): void {
    if (!shouldListen(this.gate())) return;
    if (from.scheme !== 'file' || to.scheme !== 'file') return;
    this.queue.push({ kind: 'rename', from: from.fsPath, to: to.fsPath });
  }

  /** For tests and the bulk command: run pending work now. */
  flush(): Promise<void> {
    return this.queue.flush();
  }

  private async runBatch(b: Batch): Promise<void> {
    if (!shouldListen(this.gate())) {
      // (defence in depth: never memorize automatically in an untrusted workspace or with watch off)
      this.log.record('watch-batch-dropped', { reason: this.inactiveReason });
      return;
    }
    if (this.ctrl.state.phase !== 'ready') {
      // Engine not ready: keep the work for later instead of dropping it.
      for (const r of b.renames) this.queue.push({ kind: 'rename', ...r });
      for (const p of b.forgets) this.queue.push({ kind: 'forget', path: p });
      for (const p of b.memorizes) this.queue.push({ kind: 'memorize', path: p });
      this.queue.pause();
      const sub = this.ctrl.onDidChangeState((st) => {
        if (st.phase === 'ready') {
          sub.dispose();
          if (!this._paused) this.queue.resume();
        }
      });
      return;
    }
    this.log.record('watch-batch', { renames: b.renames.length, forgets: b.forgets.length, memorizes: b.memorizes.length });
    for (const r of b.renames) await this.ctrl.rename(r.from, r.to, 'watch').catch((e) => this.fail('rename', e));
    for (const p of b.forgets) await this.ctrl.forget(p, 'watch').catch((e) => this.fail('forget', e));
    if (b.memorizes.length) {
      // Files deleted again before the batch ran are simply reported as unreadable/skipped by the engine.
      await this.ctrl.memorize(b.memorizes, { trigger: 'watch' }).catch((e) => this.fail('memorize', e));
    }
  }

  private fail(what: string, e: unknown): void {
    this.output.appendLine(`[cmt] watcher ${what} failed: ${(e as Error)?.message ?? e}`);
  }

  dispose(): void {
    this.stopListening();
    this.queue.dispose();
    this.emitter.dispose();
  }
}

// Owns the engine process (through EngineClient) and everything the UI asks of it. The engine runs in
// a child process: nothing here blocks the extension host, and a native crash there only shows up as
// a 'restarting'/'crashed' state here.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { displayUri, isObjectStoreUri, redact } from '../core/bankStore';
import { EngineClient, EngineClientOptions, EngineState } from '../core/client';
import { Serial } from '../core/serial';
import { CmtError, type AskResponse, type MemorizeSummary, type SearchOptions, type SearchResult, type StatusResult } from '../core/types';
import { isInside, toRel } from './paths';
import { packExists } from './packLocation';
import { askOptions, initializeParams, memorizeOptions, readSettings, Settings } from './settings';
import { LagMeter, LagStats, StatusLog } from './statusLog';
import type { ViewPhase } from '../webview/protocol';
import { WORDING } from '../webview/wording';

export interface ControllerState {
  phase: ViewPhase;
  detail?: string;
  packName?: string;
  packId?: string;
  provider?: string;
  memories?: number;
  files?: number;
  bytesOnDisk?: number;
  indexing: { done: number; total: number; label: string } | null;
}

/**
 * What the controller needs of the engine: EngineClient's own members, so a unit test can hand the
 * controller a fake (test/extension/controller.test.ts) instead of an engine process.
 */
export type EngineLike = Pick<
  EngineClient,
  'state' | 'initializeResult' | 'start' | 'reinitialize' | 'status' | 'memorize' | 'forget' | 'rename' | 'ask' | 'search' | 'shutdown' | 'dispose' | 'on'
>;
export type EngineFactory = (opts: EngineClientOptions) => EngineLike;

/** What starts a memorize, and who hears its progress. */
export interface MemorizeCall {
  trigger: string;
  force?: boolean;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, path: string) => void;
}

/** One memorize across workspace folders: the settings' options, and the progress so far. */
interface RootsRun {
  client: EngineLike;
  opts: MemorizeCall;
  options: ReturnType<typeof memorizeOptions>;
  doneBefore: number;
  lastUi: number;
}

export interface MemorizeOutcome {
  summary: MemorizeSummary;
  lag: LagStats;
}

export class MemoryController implements vscode.Disposable {
  private client: EngineLike | undefined;
  private _settings: Settings;
  private _state: ControllerState = { phase: 'starting', indexing: null };
  private readonly emitter = new vscode.EventEmitter<ControllerState>();
  readonly onDidChangeState = this.emitter.event;
  private statusTimer: NodeJS.Timeout | undefined;
  /** One memorize at a time (they share the engine). */
  private readonly memorizes = new Serial();

  constructor(
    private readonly ctx: vscode.ExtensionContext,
    private readonly log: StatusLog,
    private readonly output: Pick<vscode.OutputChannel, 'appendLine'>,
    private readonly makeEngine: EngineFactory = (opts) => new EngineClient(opts),
  ) {
    this._settings = readSettings(ctx);
  }

  get state(): ControllerState {
    return this._state;
  }
  get settings(): Settings {
    return this._settings;
  }
  get engine(): EngineLike | undefined {
    return this.client;
  }

  roots(): string[] {
    return (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
  }

  /** The workspace folder that holds `abs` (deepest match for nested roots). */
  rootOf(abs: string): string | undefined {
    return this.roots()
      .filter((r) => isInside(r, abs))
      .sort((a, b) => b.length - a.length)[0];
  }

  private setState(patch: Partial<ControllerState>): void {
    this._state = { ...this._state, ...patch };
    this.emitter.fire(this._state);
  }

  /** Re-reads the settings that are sent with each request (topK, include/exclude, watch, …). */
  reloadSettings(): void {
    this._settings = readSettings(this.ctx);
    this.emitter.fire(this._state);
  }

  /** (Re)reads the settings and (re)starts the engine. Never throws: failures become a state. */
  async start(): Promise<void> {
    this._settings = readSettings(this.ctx);
    const s = this._settings;
    if (this.roots().length === 0) {
      this.setState({ phase: 'noWorkspace', detail: WORDING.noWorkspace });
      return;
    }
    if (!packExists(s.packDir)) {
      this.stopClient();
      this.setState({
        phase: 'noPack',
        detail: s.packIsDefault ? WORDING.defaultPackMissing(s.packDir) : WORDING.packSettingMissing(s.packDir),
      });
      this.log.record('state', { phase: 'noPack', packDir: s.packDir });
      return;
    }
    if (!isObjectStoreUri(s.bankDir)) await fs.promises.mkdir(s.bankDir, { recursive: true }).catch(() => undefined);
    const init = initializeParams(s);
    if (!this.client) {
      this.client = this.makeEngine({
        init,
        serverPath: path.join(this.ctx.extensionPath, 'dist', 'server.js'),
        onStderr: (line) => this.output.appendLine(redact(line)),
      });
      this.client.on('state', (st: EngineState, detail?: string) => this.onEngineState(st, detail));
    }
    this.setState({ phase: 'starting', detail: undefined });
    try {
      const r = this.client.state === 'idle' ? await this.client.start() : await this.client.reinitialize(init);
      this.setState({ phase: 'ready', detail: undefined, packName: r.packName, packId: r.packId, provider: r.provider });
      this.log.record('engine-ready', { packId: r.packId, packName: r.packName, provider: r.provider, pid: r.pid, bank: displayUri(s.bankDir), packDir: s.packDir });
      await this.refreshStatus();
    } catch (e) {
      this.onStartError(e);
    }
  }

  private onStartError(e: unknown): void {
    const err = e instanceof CmtError ? e : new CmtError('INTERNAL', String((e as Error)?.message ?? e));
    const phase: ViewPhase = ['PACK_MISSING', 'PACK_CORRUPT', 'PACK_INCOMPATIBLE'].includes(err.code)
      ? 'noPack'
      : err.code === 'ENGINE_CRASHED'
        ? 'crashed'
        : 'error';
    this.setState({ phase, detail: `${err.message}${WORDING.errorFixes[err.code] ?? ''}` });
    this.log.record('engine-error', { code: err.code, message: err.message });
    this.output.appendLine(`[cmt] engine failed to start: ${err.code}: ${err.message}`);
  }

  private onEngineState(st: EngineState, detail?: string): void {
    this.log.record('engine-state', { state: st, detail });
    switch (st) {
      case 'starting':
        this.setState({ phase: 'starting', detail: undefined });
        break;
      case 'ready':
        this.setState({ phase: 'ready', detail: undefined, provider: this.client?.initializeResult?.provider });
        void this.refreshStatus();
        break;
      case 'restarting':
        this.setState({ phase: 'restarting', detail });
        break;
      case 'crashed':
        this.setState({ phase: 'crashed', detail });
        break;
      default:
        break;
    }
  }

  /** Restart after a crash (the view's Retry button). */
  async retry(): Promise<void> {
    if (this.client && this.client.state !== 'disposed') {
      this.setState({ phase: 'starting', detail: undefined });
      try {
        this._settings = readSettings(this.ctx);
        await this.client.reinitialize(initializeParams(this._settings));
        await this.refreshStatus();
      } catch (e) {
        this.onStartError(e);
      }
    } else {
      await this.start();
    }
  }

  async refreshStatus(): Promise<StatusResult | undefined> {
    if (!this.client || this._state.phase !== 'ready') return undefined;
    try {
      const st = await this.client.status();
      this.setState({ memories: st.memories, files: st.files, bytesOnDisk: st.bytesOnDisk, packName: st.packName, provider: st.provider });
      this.log.record('status', { memories: st.memories, files: st.files, provider: st.provider, packId: st.packId });
      return st;
    } catch (e) {
      this.output.appendLine(`[cmt] status failed: ${(e as Error).message}`);
      return undefined;
    }
  }

  /** Debounced status refresh (after watcher batches). */
  scheduleStatus(): void {
    if (this.statusTimer) clearTimeout(this.statusTimer);
    this.statusTimer = setTimeout(() => void this.refreshStatus(), 300);
  }

  private requireClient(): EngineLike {
    if (!this.client || !['ready', 'starting', 'restarting'].includes(this._state.phase)) {
      throw new CmtError(
        this._state.phase === 'noPack' ? 'PACK_MISSING' : 'ENGINE_CRASHED',
        this._state.detail ?? 'the engine is not running',
      );
    }
    return this.client;
  }

  /**
   * Memorizes files/folders (absolute paths), grouped by workspace folder. One memorize runs at a
   * time (they share the engine); paths outside every workspace folder are refused.
   */
  memorize(absPaths: string[], opts: MemorizeCall): Promise<MemorizeOutcome> {
    return this.memorizes.run(() => this.memorizeNow(absPaths, opts));
  }

  private async memorizeNow(absPaths: string[], opts: MemorizeCall): Promise<MemorizeOutcome> {
    const client = this.requireClient();
    const byRoot = new Map<string, string[]>();
    for (const p of absPaths) {
      const root = this.rootOf(p);
      if (!root) continue;
      const list = byRoot.get(root) ?? [];
      list.push(p);
      byRoot.set(root, list);
    }
    const total: MemorizeSummary = { memorized: 0, unchanged: 0, skipped: [], failed: [], chunks: 0, elapsedMs: 0 };
    const lag = new LagMeter();
    const t0 = Date.now();
    this.log.record('memorize-start', { trigger: opts.trigger, paths: absPaths.map((p) => toRel(this.rootOf(p) ?? '', p)) });
    const run: RootsRun = { client, opts, options: memorizeOptions(this._settings), doneBefore: 0, lastUi: 0 };
    try {
      for (const [root, paths] of byRoot) addSummary(total, await this.memorizeRoot(run, root, paths));
    } catch (e) {
      const st = lag.stop();
      const err = e instanceof CmtError ? e : new CmtError('INTERNAL', String(e));
      this.log.record('memorize-error', { trigger: opts.trigger, code: err.code, message: err.message, lag: st });
      throw err;
    } finally {
      this.setState({ indexing: null });
    }
    total.elapsedMs = Date.now() - t0;
    const st = lag.stop();
    // The counts (sidebar, status bar) are fresh before anyone hears that memorizing is done.
    const fresh = await this.refreshStatus();
    this.log.record('memorize-done', {
      trigger: opts.trigger,
      memorized: total.memorized,
      unchanged: total.unchanged,
      skipped: total.skipped.length,
      failed: total.failed.length,
      failedDetail: total.failed.slice(0, 5),
      chunks: total.chunks,
      elapsedMs: total.elapsedMs,
      paths: absPaths.length <= 20 ? absPaths.map((p) => toRel(this.rootOf(p) ?? '', p)) : undefined,
      lag: st,
      memories: fresh?.memories,
    });
    return { summary: total, lag: st };
  }

  /** One workspace folder's memorize (`run` counts the files done in the folders before it). */
  private async memorizeRoot(run: RootsRun, root: string, paths: string[]): Promise<MemorizeSummary> {
    const { opts } = run;
    let lastTotal = 0;
    const r = await run.client.memorize(
      // Saves and file events name single files: they must still honour .gitignore.
      { paths, root, force: opts.force, ...run.options, respectGitignore: opts.trigger === 'watch' },
      {
        signal: opts.signal,
        onProgress: (p) => {
          lastTotal = p.total;
          const done = run.doneBefore + p.done;
          const all = run.doneBefore + p.total;
          // UI updates at most every 100 ms: thousands of files must not mean thousands of repaints.
          const now = Date.now();
          if (now - run.lastUi < 100 && p.done < p.total) return;
          run.lastUi = now;
          this.setState({ indexing: { done, total: all, label: p.path } });
          opts.onProgress?.(done, all, p.path);
        },
      },
    );
    run.doneBefore += lastTotal;
    return r;
  }

  async forget(absPath: string, trigger: string): Promise<number> {
    const root = this.rootOf(absPath);
    if (!root) return 0;
    const rel = toRel(root, absPath);
    const r = await this.requireClient().forget(rel);
    this.log.record('forget', { trigger, path: rel, removed: r.removed });
    this.scheduleStatus();
    return r.removed;
  }

  async rename(fromAbs: string, toAbs: string, trigger: string): Promise<void> {
    const a = this.rootOf(fromAbs);
    const b = this.rootOf(toAbs);
    if (a && b && a === b) {
      const r = await this.requireClient().rename(toRel(a, fromAbs), toRel(a, toAbs));
      this.log.record('rename', { trigger, from: toRel(a, fromAbs), to: toRel(a, toAbs), renamed: r.renamed });
    } else {
      if (a) await this.forget(fromAbs, trigger);
      if (b) await this.memorize([toAbs], { trigger });
    }
    this.scheduleStatus();
  }

  ask(question: string, onToken: (t: string) => void, signal: AbortSignal): Promise<AskResponse> {
    const s = this._settings;
    return this.requireClient().ask(question, askOptions(s), { onToken, signal });
  }

  /** The chunks a query retrieves (the ask path's retrieval, no answer): the agent tools' search. */
  search(query: string, options: SearchOptions, signal?: AbortSignal): Promise<SearchResult> {
    return this.requireClient().search(query, options, { signal });
  }

  /** The engine's status (throws when it is not running, unlike refreshStatus). */
  status(signal?: AbortSignal): Promise<StatusResult> {
    return this.requireClient().status({ signal });
  }

  /** Deletes the bank folder (all memories of this workspace) and restarts the engine on an empty bank. */
  async clear(): Promise<void> {
    const dir = this._settings.bankDir;
    if (isObjectStoreUri(dir)) throw new CmtError('BAD_INPUT', `the memory bank is shared on object storage (${displayUri(dir)}): Clear Memory only deletes a local bank; forget files, or delete the bank's prefix in the store (docs/team.md)`);
    if (this.client) await this.client.shutdown().catch(() => undefined);
    await fs.promises.rm(dir, { recursive: true, force: true });
    this.log.record('clear', { bank: dir });
    await this.start();
  }

  private stopClient(): void {
    if (this.client) {
      const c = this.client;
      this.client = undefined;
      void c.shutdown().finally(() => c.dispose());
    }
  }

  async dispose(): Promise<void> {
    if (this.statusTimer) clearTimeout(this.statusTimer);
    const c = this.client;
    this.client = undefined;
    if (c) {
      await c.shutdown(1500).catch(() => undefined);
      c.dispose();
    }
    this.emitter.dispose();
  }
}

/** Adds one workspace folder's memorize summary to the total. */
function addSummary(total: MemorizeSummary, r: MemorizeSummary): void {
  total.memorized += r.memorized;
  total.unchanged += r.unchanged;
  total.chunks += r.chunks;
  total.skipped.push(...r.skipped);
  total.failed.push(...r.failed);
  total.truncatedChunks = (total.truncatedChunks ?? 0) + (r.truncatedChunks ?? 0);
}

// EngineClient: runs the engine (src/core/server.ts) in a child process and speaks the protocol to
// it. Native code (LanceDB, onnxruntime) lives only in the child, so a native crash (SIGSEGV,
// SIGILL, OOM kill) cannot take down the extension host or the CLI: in-flight requests fail with
// ENGINE_CRASHED (never hang), and the child is restarted with exponential backoff and
// re-initialized with the same parameters.
//
// Events (EventEmitter):
//   'state'    (state: EngineState, detail?: string)
//   'progress' (p: ProgressParams)           every memorize progress notification
//   'token'    (t: TokenParams)              every streamed answer piece
//   'stderr'   (line: string)                the child's log lines
//   'exit'     ({code, signal, expected})    the child process ended

import { EventEmitter } from 'node:events';
import * as path from 'node:path';
import { CancellationTokenSource, ResponseError } from 'vscode-jsonrpc';
import { Generation, spawnEngine } from './engineProcess';
import {
  AskRequest,
  AskRequestOptions,
  AskResponse,
  CMT_ERROR,
  ExitNotification,
  ForgetRequest,
  ForgetResult,
  fromWireError,
  InitializeParams,
  InitializeRequest,
  InitializeResult,
  MemorizeParams,
  MemorizeRequest,
  MemorizeSummary,
  ProgressParams,
  RenameRequest,
  RenameResult,
  SearchRequest,
  SearchResult,
  ShutdownRequest,
  StatusRequest,
  StatusResult,
  TokenParams,
} from './protocol';
import { CmtError, type SearchOptions } from './types';

export type EngineState = 'idle' | 'starting' | 'ready' | 'restarting' | 'crashed' | 'stopped' | 'disposed';

export interface EngineClientOptions {
  /** Sent as cmt/initialize on every (re)start. */
  init: InitializeParams;
  /** The engine entry (default: server.js next to this compiled file). */
  serverPath?: string;
  /** Node binary (default process.execPath; in VS Code's extension host that is Electron run as node). */
  nodePath?: string;
  /** Extra environment for the child (merged over process.env). */
  env?: NodeJS.ProcessEnv;
  /** Restarts allowed within restartWindowMs before giving up (state 'crashed'). Default 5. */
  maxRestarts?: number;
  restartWindowMs?: number; // default 60 s
  /** Backoff: initial delay, doubled per consecutive crash, capped. Default 500 ms, 8 s. */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** Child stderr lines also go to this callback (besides the 'stderr' event). */
  onStderr?: (line: string) => void;
}

export interface RequestOptions {
  signal?: AbortSignal;
}

const CRASH_CODES = new Set([-32097 /* PendingResponseRejected */, -32099 /* ConnectionInactive */]);

let nextId = 1;

export class EngineClient extends EventEmitter {
  private gen: Generation | undefined;
  private current: Promise<Generation> | undefined;
  private _state: EngineState = 'idle';
  private _init: InitializeResult | undefined;
  private crashTimes: number[] = [];
  /** Bumped by restart/shutdown/dispose: a start-up or restart loop of an older epoch stops quietly. */
  private epoch = 0;
  private lastError: CmtError | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private wakeRestart: (() => void) | undefined;
  private readonly opts: Required<Omit<EngineClientOptions, 'env' | 'onStderr'>> & Pick<EngineClientOptions, 'env' | 'onStderr'>;

  constructor(opts: EngineClientOptions) {
    super();
    this.opts = {
      serverPath: path.join(__dirname, 'server.js'),
      nodePath: process.execPath,
      maxRestarts: 5,
      restartWindowMs: 60_000,
      backoffInitialMs: 500,
      backoffMaxMs: 8_000,
      ...opts,
    };
  }

  get state(): EngineState {
    return this._state;
  }
  /** The running child's pid (undefined when none). */
  get pid(): number | undefined {
    return this.gen && !this.gen.dead ? this.gen.proc.pid : undefined;
  }
  /** What the last successful initialize returned. */
  get initializeResult(): InitializeResult | undefined {
    return this._init;
  }
  /** Restarts so far within the current window. */
  get restartCount(): number {
    return this.crashTimes.length;
  }

  /** Starts the child (if needed) and initializes it. Safe to call repeatedly. */
  start(): Promise<InitializeResult> {
    return this.ensureReady().then(() => this._init as InitializeResult);
  }

  /** Forgets the crash history and starts again (after 'crashed' or 'stopped'). */
  async restart(): Promise<InitializeResult> {
    this.crashTimes = [];
    this.lastError = undefined;
    this.epoch++;
    const g = this.gen;
    this.clearRestartTimer();
    this.setState('stopped');
    if (g && !g.dead) {
      g.expectedExit = true;
      this.kill(g);
    }
    this.current = undefined;
    return this.start();
  }

  /** Changes the initialize parameters (pack, bank, device, settings) and restarts the engine with them. */
  async reinitialize(init: InitializeParams): Promise<InitializeResult> {
    this.opts.init = init;
    return this.restart();
  }

  async memorize(
    params: Omit<MemorizeParams, 'requestId'>,
    opts: RequestOptions & { onProgress?: (p: ProgressParams) => void } = {},
  ): Promise<MemorizeSummary> {
    const requestId = `m${process.pid}-${nextId++}`;
    const listener = (p: ProgressParams) => {
      if (p.requestId === requestId) opts.onProgress?.(p);
    };
    this.on('progress', listener);
    try {
      return await this.request((g, t) => g.conn.sendRequest(MemorizeRequest, { ...params, requestId }, t), opts.signal);
    } finally {
      this.off('progress', listener);
    }
  }

  async ask(
    question: string,
    options: AskRequestOptions = {},
    opts: RequestOptions & { onToken?: (text: string) => void } = {},
  ): Promise<AskResponse> {
    const requestId = `a${process.pid}-${nextId++}`;
    const listener = (t: TokenParams) => {
      if (t.requestId === requestId) opts.onToken?.(t.text);
    };
    this.on('token', listener);
    try {
      return await this.request((g, t) => g.conn.sendRequest(AskRequest, { requestId, question, options }, t), opts.signal);
    } finally {
      this.off('token', listener);
    }
  }

  /** The chunks `query` retrieves (the ask path's retrieval, no answer). */
  search(query: string, options: SearchOptions = {}, opts: RequestOptions = {}): Promise<SearchResult> {
    return this.request((g, t) => g.conn.sendRequest(SearchRequest, { query, ...options }, t), opts.signal);
  }

  forget(p: string, opts: RequestOptions = {}): Promise<ForgetResult> {
    return this.request((g, t) => g.conn.sendRequest(ForgetRequest, { path: p }, t), opts.signal);
  }

  rename(from: string, to: string, opts: RequestOptions = {}): Promise<RenameResult> {
    return this.request((g, t) => g.conn.sendRequest(RenameRequest, { from, to }, t), opts.signal);
  }

  status(opts: RequestOptions = {}): Promise<StatusResult> {
    return this.request((g, t) => g.conn.sendRequest(StatusRequest, t), opts.signal);
  }

  /** Graceful stop: shutdown + exit, then kill after `graceMs` if the child is still there. */
  async shutdown(graceMs = 3000): Promise<void> {
    const g = this.gen;
    if (this._state === 'disposed') return;
    this.epoch++;
    this.setState('stopped');
    this.current = undefined;
    this.clearRestartTimer();
    if (!g || g.dead) return;
    g.expectedExit = true;
    try {
      await Promise.race([g.conn.sendRequest(ShutdownRequest), g.died, delay(graceMs)]);
      if (!g.dead) void g.conn.sendNotification(ExitNotification).catch(() => undefined);
    } catch {
      /* it is going away anyway */
    }
    await Promise.race([g.died.catch(() => undefined), delay(graceMs)]);
    if (!g.dead) this.kill(g);
  }

  /** Kills the child immediately; pending requests fail; the client cannot be used afterwards. */
  dispose(): void {
    if (this._state === 'disposed') return;
    this.epoch++;
    this.setState('disposed');
    this.clearRestartTimer();
    this.current = undefined;
    const g = this.gen;
    if (g && !g.dead) {
      g.expectedExit = true;
      this.kill(g);
    }
    this.removeAllListeners('progress');
    this.removeAllListeners('token');
  }

  // -------------------------------------------------------------------------------------------

  private isDisposed(): boolean {
    return this._state === 'disposed';
  }

  private setState(s: EngineState, detail?: string): void {
    if (this._state === 'disposed' && s !== 'disposed') return;
    if (this._state === s && s !== 'restarting') return; // each restart attempt is announced
    this._state = s;
    this.emit('state', s, detail);
  }

  private clearRestartTimer(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const w = this.wakeRestart;
    this.wakeRestart = undefined;
    w?.();
  }

  private kill(g: Generation): void {
    try {
      g.proc.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }

  private async request<R>(send: (g: Generation, token: CancellationTokenSource['token']) => Promise<R>, signal?: AbortSignal): Promise<R> {
    if (signal?.aborted) throw new CmtError('CANCELLED', 'request cancelled');
    const g = await this.ensureReady(signal);
    const cts = new CancellationTokenSource();
    const onAbort = () => cts.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await Promise.race([send(g, cts.token), g.died]);
    } catch (e) {
      throw this.mapError(e, g);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      cts.dispose();
    }
  }

  private mapError(e: unknown, g: Generation): CmtError {
    if (e instanceof CmtError) return e;
    if (e instanceof ResponseError && (e.code === CMT_ERROR || e.code === -32800)) return fromWireError(e);
    if (g.dead || !(e instanceof ResponseError) || CRASH_CODES.has(e.code)) {
      return new CmtError('ENGINE_CRASHED', `engine process ${g.exitInfo ?? 'connection lost'} during the request: ${(e as Error)?.message ?? e}`);
    }
    return fromWireError(e);
  }

  private ensureReady(signal?: AbortSignal): Promise<Generation> {
    if (this._state === 'disposed') return Promise.reject(new CmtError('CANCELLED', 'engine client disposed'));
    if (this._state === 'crashed') {
      return Promise.reject(
        this.lastError ?? new CmtError('ENGINE_CRASHED', 'engine process keeps crashing; gave up restarting (call restart())'),
      );
    }
    if (!this.current || this._state === 'stopped' || this._state === 'idle') {
      if (this.gen && !this.gen.dead && this._state === 'ready') return Promise.resolve(this.gen);
      this.setState('starting');
      this.current = this.launch();
      this.current.catch(() => undefined);
    }
    const p = this.current;
    if (!signal) return p;
    return new Promise<Generation>((resolve, reject) => {
      const onAbort = () => reject(new CmtError('CANCELLED', 'request cancelled'));
      signal.addEventListener('abort', onAbort, { once: true });
      p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /** Spawns + initializes; on a crash during start-up, retries with backoff (same budget as restarts). */
  private async launch(epoch = this.epoch): Promise<Generation> {
    const superseded = () => new CmtError('CANCELLED', this.isDisposed() ? 'engine client disposed' : 'engine start superseded by a restart');
    for (;;) {
      if (this.isDisposed() || epoch !== this.epoch) throw superseded();
      const g = this.spawnChild();
      try {
        const init = await Promise.race([g.conn.sendRequest(InitializeRequest, this.opts.init), g.died]);
        if (epoch !== this.epoch) {
          g.expectedExit = true;
          this.kill(g);
          throw superseded();
        }
        if (g.dead) throw new CmtError('ENGINE_CRASHED', `engine process ${g.exitInfo ?? 'exited'} during initialize`);
        g.ready = true;
        this._init = init;
        this.lastError = undefined;
        this.setState('ready');
        return g;
      } catch (e) {
        if (epoch !== this.epoch) {
          if (!g.dead) {
            g.expectedExit = true;
            this.kill(g);
          }
          throw superseded();
        }
        const err = this.mapError(e, g);
        if (err.code !== 'ENGINE_CRASHED' || this.isDisposed()) {
          // A real answer (pack missing, CPU unsupported, bad bank…): no point restarting.
          g.expectedExit = true;
          this.kill(g);
          this.lastError = err;
          this.current = undefined;
          this.setState(this.isDisposed() ? 'disposed' : 'stopped', err.message);
          throw err;
        }
        if (!(await this.backoff(err, epoch))) throw epoch === this.epoch ? (this.lastError ?? err) : superseded();
      }
    }
  }

  /** Records a crash and waits the backoff delay. False (state 'crashed') when the budget is spent. */
  private async backoff(err: CmtError, epoch: number): Promise<boolean> {
    if (epoch !== this.epoch || this.isDisposed()) return false;
    const now = Date.now();
    this.crashTimes = this.crashTimes.filter((t) => now - t < this.opts.restartWindowMs);
    this.crashTimes.push(now);
    const n = this.crashTimes.length;
    if (n > this.opts.maxRestarts) {
      this.lastError = new CmtError(
        'ENGINE_CRASHED',
        `engine process crashed ${n} times within ${Math.round(this.opts.restartWindowMs / 1000)} s; gave up restarting (last: ${err.message})`,
      );
      this.current = undefined;
      this.setState('crashed', this.lastError.message);
      return false;
    }
    const wait = Math.min(this.opts.backoffMaxMs, this.opts.backoffInitialMs * 2 ** (n - 1));
    this.setState('restarting', `restart ${n}/${this.opts.maxRestarts} in ${wait} ms (${err.message})`);
    await new Promise<void>((resolve) => {
      this.wakeRestart = resolve;
      this.restartTimer = setTimeout(resolve, wait);
    });
    this.restartTimer = undefined;
    this.wakeRestart = undefined;
    return this._state === 'restarting' && epoch === this.epoch;
  }

  private spawnChild(): Generation {
    const g = spawnEngine(this.opts, {
      stderr: (line) => {
        this.emit('stderr', line);
        this.opts.onStderr?.(line);
      },
      progress: (p) => this.emit('progress', p),
      token: (t) => this.emit('token', t),
      exit: (gone, code, signal) => this.onExit(gone, code, signal),
    });
    this.gen = g;
    return g;
  }

  /** A child ended: announced; a ready engine that died unexpectedly is restarted in the background. */
  private onExit(g: Generation, code: number | null, signal: NodeJS.Signals | null): void {
    this.emit('exit', { code, signal, expected: g.expectedExit });
    if (g.ready && !g.expectedExit && this.gen === g && this._state === 'ready') {
      const err = new CmtError('ENGINE_CRASHED', `engine process ${g.exitInfo}`);
      const epoch = this.epoch;
      this.current = (async () => {
        if (!(await this.backoff(err, epoch))) throw this.lastError ?? err;
        return this.launch(epoch);
      })();
      this.current.catch(() => undefined);
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

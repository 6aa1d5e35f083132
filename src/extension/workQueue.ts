// A debounced work queue that coalesces repeated file events (pure: no `vscode` import, unit-testable).
// Events for the same path collapse into one pending operation; the queue waits `debounceMs` after the
// last event (but never longer than `maxWaitMs` after the first) and then hands ONE batch to `run`.
// Batches never overlap: events that arrive while a batch runs are queued for the next one.

export type FileOp = { kind: 'memorize'; path: string } | { kind: 'forget'; path: string } | { kind: 'rename'; from: string; to: string };

export interface Batch {
  /** Renames, in arrival order (applied first, so later edits of the new path land on moved memories). */
  renames: { from: string; to: string }[];
  forgets: string[];
  memorizes: string[];
}

export interface WorkQueueOptions {
  debounceMs?: number;
  maxWaitMs?: number;
  run: (batch: Batch) => Promise<void>;
  onError?: (e: unknown) => void;
  /** Called whenever the number of pending + running operations changes. */
  onSizeChange?: (pending: number, running: boolean) => void;
}

export class WorkQueue {
  private pending = new Map<string, 'memorize' | 'forget'>();
  private renames: { from: string; to: string }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private firstEventAt = 0;
  private running: Promise<void> | undefined;
  private paused = false;
  private disposed = false;
  readonly debounceMs: number;
  readonly maxWaitMs: number;

  constructor(private readonly opts: WorkQueueOptions) {
    this.debounceMs = opts.debounceMs ?? 500;
    this.maxWaitMs = opts.maxWaitMs ?? 5000;
  }

  get size(): number {
    return this.pending.size + this.renames.length;
  }

  push(op: FileOp): void {
    if (this.disposed) return;
    if (op.kind === 'rename') {
      if (op.from === op.to) return;
      // A pending edit of the old path follows the file.
      const prev = this.pending.get(op.from);
      if (prev) {
        this.pending.delete(op.from);
        if (prev === 'memorize') this.pending.set(op.to, 'memorize');
      }
      this.renames.push({ from: op.from, to: op.to });
    } else {
      // Latest event wins: save-then-delete forgets; delete-then-create memorizes again.
      this.pending.delete(op.path); // re-insert to keep arrival order
      this.pending.set(op.path, op.kind);
    }
    this.changed();
    this.schedule();
  }

  pause(): void {
    this.paused = true;
    this.clearTimer();
  }

  resume(): void {
    this.paused = false;
    if (this.size > 0) this.schedule();
  }

  /** Runs whatever is pending now (skipping the debounce) and resolves when the queue is idle. */
  async flush(): Promise<void> {
    this.clearTimer();
    while (this.running || (this.size > 0 && !this.paused && !this.disposed)) {
      if (this.running) await this.running;
      else await this.runBatch();
    }
  }

  dispose(): void {
    this.disposed = true;
    this.clearTimer();
    this.pending.clear();
    this.renames = [];
  }

  private changed(): void {
    this.opts.onSizeChange?.(this.size, this.running !== undefined);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.paused || this.disposed || this.running) return; // a running batch reschedules when done
    const now = Date.now();
    if (!this.timer) this.firstEventAt = now;
    this.clearTimer();
    const wait = Math.max(0, Math.min(this.debounceMs, this.firstEventAt + this.maxWaitMs - now));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.runBatch();
    }, wait);
  }

  private takeBatch(): Batch {
    const batch: Batch = { renames: this.renames, forgets: [], memorizes: [] };
    for (const [p, kind] of this.pending) (kind === 'forget' ? batch.forgets : batch.memorizes).push(p);
    this.pending = new Map();
    this.renames = [];
    return batch;
  }

  private runBatch(): Promise<void> {
    if (this.running) return this.running;
    if (this.size === 0 || this.paused || this.disposed) return Promise.resolve();
    const batch = this.takeBatch();
    this.running = (async () => {
      try {
        await this.opts.run(batch);
      } catch (e) {
        this.opts.onError?.(e);
      } finally {
        this.running = undefined;
        this.changed();
        if (this.size > 0) {
          this.firstEventAt = Date.now();
          this.schedule();
        }
      }
    })();
    this.changed();
    return this.running;
  }
}

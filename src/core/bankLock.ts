// The writer lock of a LOCAL bank. Two processes on one machine may write the same bank folder (the
// editor's engine and `cmt memorize` in a terminal); each decides from its own cache that a file is
// new, and both would add its rows (test/reliability/localWriters.test.ts fails without this). So a
// write to a local bank holds a lock file beside the table, the local counterpart of the object
// store's writer lease (bankLease.ts), and runs on the table's latest version (bankShared.ts).
// proper-lockfile rather than a hand-made lock: an atomic mkdir, the lock's mtime refreshed while
// held, and a lock left by a killed process taken over once it is STALE_MS old.
import * as path from 'node:path';
import * as lockfile from 'proper-lockfile';
import { Lease } from './bankLease';
import { CmtError } from './types';

/** A lock not refreshed for this long belongs to a dead writer and is taken over. */
export const STALE_MS = 15_000;
const WAIT_MS = 600_000;

export class FileLock extends Lease {
  private unlock: (() => Promise<void>) | null = null;

  /** The lock of table `table` in the bank folder `dir` (the file is `<dir>/<table>.writer.lock`). */
  constructor(
    private readonly dir: string,
    private readonly table: string,
    private readonly waitMs = WAIT_MS,
  ) {
    super();
  }

  get file(): string {
    return path.join(this.dir, `${this.table}.writer.lock`);
  }

  protected async acquire(): Promise<void> {
    const deadline = Date.now() + this.waitMs;
    for (let wait = 10; ; wait = Math.min(250, wait * 2)) {
      try {
        this.unlock = await lockfile.lock(this.dir, {
          lockfilePath: this.file,
          realpath: false,
          stale: STALE_MS,
          // A lock refresh that fails (a suspended laptop) must not crash the engine: the write
          // in progress finishes, and the next one takes the lock again.
          onCompromised: () => undefined,
        });
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') {
          throw new CmtError('BANK_UNAVAILABLE', `cannot take the memory bank's write lock ${this.file}: ${(e as Error).message}`);
        }
        if (Date.now() > deadline) {
          throw new CmtError('BANK_UNAVAILABLE', `another process has held the memory bank's write lock (${this.file}) for over ${Math.round(this.waitMs / 1000)} s; try again later`);
        }
        await new Promise((r) => setTimeout(r, wait * (0.5 + Math.random())));
      }
    }
  }

  protected async release(): Promise<void> {
    const unlock = this.unlock;
    this.unlock = null;
    await unlock?.().catch(() => undefined);
  }

  close(): void {
    // A lock still held (a write cut short) is released; proper-lockfile also releases on exit.
    void this.release();
  }
}

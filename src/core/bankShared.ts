// A bank shared by several processes or machines (object storage, docs/team.md; or a local folder
// that the editor's engine and the CLI both write): what a MemoryBank does beyond a private one.
// Writes run under the writer lease (bankLease.ts; a lock file locally, bankLock.ts) on the latest table
// version, and a version written by someone else since this process last wrote makes the bank
// drop its cached per-file state (onForeignWrite), so "is this file new?" is decided on the
// store's state, not a stale cache. Reads that lose a race with another writer's compaction
// (their version's files were removed) are retried once on the latest version.
import type * as lancedb from '@lancedb/lancedb';
import { FileLock } from './bankLock';
import { Lease, WriterLease } from './bankLease';

/** A read failed because the files of the version it read were cleaned up by another writer. */
function isStaleRead(e: unknown): boolean {
  return /not found|NoSuchKey|does not exist|No such file/i.test(e instanceof Error ? e.message : String(e));
}

export class SharedBank {
  /** The table version this process last wrote or read its file state at (null: unknown). */
  private seen: number | null = null;
  private lastSync = Date.now();
  /** A reader's sync in flight: concurrent reads wait for it rather than read at the version it is leaving. */
  private refreshing: Promise<void> | null = null;

  constructor(
    private readonly table: lancedb.Table,
    /** null: a read-only consumer (no lease). */
    private readonly lease: Lease | null,
    /** Another writer committed since we last looked: drop the cached file state. */
    private readonly onForeignWrite: () => void,
    /** On object storage (several machines), not a local folder (several processes of one machine). */
    readonly onStore: boolean,
  ) {}

  /**
   * On object storage: writes under the writer lease (bankLease.ts), reads synced. A writable local
   * folder (`localDir`), which another process may write too: writes under a lock file (bankLock.ts).
   * null for a local reader, or a store that is neither.
   */
  static async attach(
    db: lancedb.Connection,
    table: lancedb.Table,
    where: { onStore: boolean; readOnly: boolean; localDir: string | null },
    onForeignWrite: () => void,
  ): Promise<SharedBank | null> {
    let shared: SharedBank;
    if (where.onStore) shared = new SharedBank(table, where.readOnly ? null : await WriterLease.open(db, `lease_${table.name}`), onForeignWrite, true);
    else if (!where.readOnly && where.localDir) shared = new SharedBank(table, new FileLock(where.localDir, table.name), onForeignWrite, false);
    else return null;
    shared.seen = await table.version();
    return shared;
  }

  /** Runs a write under the lease, on the latest version. */
  write<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.lease) return fn();
    return this.lease.hold(async () => {
      await this.sync();
      try {
        return await fn();
      } finally {
        this.seen = await this.table.version().catch(() => null);
      }
    });
  }

  /** Moves the handle to the latest version; drops the file state when someone else wrote. */
  async sync(): Promise<void> {
    await this.table.checkoutLatest();
    const v = await this.table.version();
    if (v !== this.seen) this.onForeignWrite();
    this.seen = v;
  }

  /** A reader's view of the file state: synced with the store at most every `everyMs` (writers sync under the lease). */
  async fresh(everyMs = 5000): Promise<void> {
    if (this.lease) return;
    if (!this.refreshing && Date.now() - this.lastSync >= everyMs) {
      this.lastSync = Date.now();
      this.refreshing = this.sync().finally(() => (this.refreshing = null));
    }
    await this.refreshing;
  }

  /** The table version reads should see: a reader's, synced with the store at most every 5 s; a writer's, its own last write (another writer's commit: at its next write). */
  async latest(): Promise<number | null> {
    await this.fresh();
    return this.seen;
  }

  /** A read, retried once on the latest version when another writer's cleanup removed what it read. */
  async read<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (!isStaleRead(e)) throw e;
      await this.sync();
      return fn();
    }
  }

  close(): void {
    this.lease?.close();
  }
}

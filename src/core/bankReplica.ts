// A bank on object storage, copied to this machine's disk for reading. A search of the shared bank
// costs several requests to the store (the full-text index, the vector columns, then the picked
// rows); on the S3-compatible test server that made a search 31x and an ask 2.8x the local bank's
// (docs/RESULTS.md, "A shared bank"). The replica is a private local bank (same pack, same columns:
// the store's rows copied as they are) that follows the store by file: when the store's table version
// moves, the files whose content hash changed are copied again and the removed ones dropped, so a
// replica costs a full copy once and then only what changed. Reads use it only while it holds the
// version the shared bank is at; otherwise they go to the store as before while a sync runs in the
// background, so a reader never answers from older rows than it would without a replica. The first
// copy starts at the first read (an engine that only memorizes copies nothing).
// A replica that cannot be opened or synced (disk full, corrupt folder) is logged and skipped.
import { promises as fsp } from 'node:fs';
import type * as lancedb from '@lancedb/lancedb';
import type { Table as ArrowTable } from 'apache-arrow';
import type { MemoryBank } from './bank';
import { FileState, readFileStates, sqlString, TableLayout } from './bankSchema';
import { Logger } from './types';

/** Paths per `path IN (...)` query when copying changed files from the store. */
const PATHS_PER_QUERY = 200;

export class BankReplica {
  /** The store's table version the replica holds (null: not synced yet). */
  private synced: number | null = null;
  private syncing: Promise<void> | null = null;
  /** Reads the replica served (the rest went to the store). */
  reads = 0;
  /** A read failed: the next sync starts from an empty folder. */
  private fresh = false;

  private constructor(
    /** The store's table (the shared bank's handle). */
    private readonly remote: lancedb.Table,
    /** The local copy: a private bank in `dir`. */
    private local: MemoryBank,
    readonly dir: string,
    private readonly openLocal: (dir: string) => Promise<MemoryBank>,
    private readonly log: Logger,
  ) {}

  /**
   * The replica in `dir` of the store's `remote` table, or null when it cannot be used: the store's
   * table is laid out differently from a new local one (written by an older engine), or the folder
   * cannot be opened (then it is removed, to be made again next time).
   */
  static async open(dir: string, remote: lancedb.Table, remoteLayout: TableLayout, openLocal: (dir: string) => Promise<MemoryBank>, log: Logger): Promise<BankReplica | null> {
    let local: MemoryBank;
    try {
      local = await openLocal(dir);
    } catch (e) {
      log(`bank replica in ${dir} could not be opened (${(e as Error).message}): it is made again`);
      await fsp.rm(dir, { recursive: true, force: true }).catch(() => undefined);
      try {
        local = await openLocal(dir);
      } catch (e2) {
        log(`bank replica in ${dir} is off: ${(e2 as Error).message}`);
        return null;
      }
    }
    const l = local.layout;
    if (l.embedDim !== remoteLayout.embedDim || l.hasTerms !== remoteLayout.hasTerms || l.hasDefines !== remoteLayout.hasDefines) {
      log('bank replica is off: the shared bank was written with other columns (memorize it again into a new bank to get one)');
      local.close();
      return null;
    }
    return new BankReplica(remote, local, dir, openLocal, log);
  }

  /** The local bank when it holds store version `version`; else null, and a sync to the latest version starts in the background. */
  at(version: number | null): MemoryBank | null {
    if (version !== null && this.synced === version) {
      this.reads++;
      return this.local;
    }
    this.syncing ??= this.sync()
      .catch((e: unknown) => this.log(`bank replica not synced (reads go to the store): ${(e as Error).message}`))
      .finally(() => (this.syncing = null));
    return null;
  }

  /** A read of the replica failed (its files damaged or removed under it): it serves nothing until a fresh copy is made. */
  failed(e: unknown): void {
    this.log(`bank replica in ${this.dir} failed a read (${(e as Error).message}): reading the store while it is copied again`);
    this.synced = null;
    this.fresh = true;
  }

  /** The store's table version the replica holds (null: not synced yet). */
  get version(): number | null {
    return this.synced;
  }

  /** Resolves when no sync is running. */
  async idle(): Promise<void> {
    await this.syncing;
  }

  /** Copies what changed in the store since the last sync: the rows of new and changed files, the removal of removed ones. */
  async sync(): Promise<void> {
    const version = await this.remote.version();
    if (version === this.synced) return;
    if (this.fresh) {
      this.fresh = false;
      this.local.close();
      await fsp.rm(this.dir, { recursive: true, force: true });
      this.local = await this.openLocal(this.dir);
    }
    const want = await readFileStates(this.remote);
    const same = (a: FileState | undefined, b: FileState | undefined) => !!a && !!b && a.contentHash === b.contentHash && a.chunks === b.chunks;
    // Decided under the replica's write lock, on its files as they are (another process may share the folder).
    await this.local.replicate((have) => {
      const fetch = [...want.keys()].filter((p) => !same(want.get(p), have.get(p)));
      const drop = [...have.keys()].filter((p) => !same(want.get(p), have.get(p)));
      return { drop, add: this.rowsOf(fetch) };
    });
    this.synced = version;
  }

  /** The store's rows of `paths`, as Arrow tables (a file's rows come in one piece: a commit writes a file whole). */
  private async *rowsOf(paths: string[]): AsyncGenerator<ArrowTable> {
    for (let i = 0; i < paths.length; i += PATHS_PER_QUERY) {
      yield await this.remote.query().where(`path IN (${paths.slice(i, i + PATHS_PER_QUERY).map(sqlString).join(', ')})`).toArrow();
    }
  }

  close(): void {
    this.local.close();
  }
}

/** A bank's replica, opened at the first read: an engine that only memorizes (a CI job) makes none. */
export class ReplicaSlot {
  private opened: BankReplica | null = null;
  private opening: Promise<BankReplica | null> | null = null;
  private closed = false;

  constructor(
    readonly dir: string,
    private readonly open: () => Promise<BankReplica | null>,
  ) {}

  /** The replica, opened at the first call (null: it could not be made, or the bank is closed). */
  get(): Promise<BankReplica | null> {
    this.opening ??= this.open().then((r) => {
      if (this.closed) r?.close();
      return (this.opened = this.closed ? null : r);
    });
    return this.opening;
  }

  /** Its folder, the store version it holds and the reads it served (nothing before it is opened). */
  get state(): { dir: string; version: number | null; reads: number } {
    return { dir: this.dir, version: this.opened?.version ?? null, reads: this.opened?.reads ?? 0 };
  }

  async idle(): Promise<void> {
    await this.opened?.idle();
  }

  close(): void {
    this.closed = true;
    this.opened?.close();
  }
}

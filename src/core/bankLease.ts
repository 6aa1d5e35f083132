// The writer lease of a shared bank (object storage, several machines; docs/team.md). LanceDB
// commits each write atomically, but two processes that each decide from their own cache that a
// file is new both add its rows (measured on moto: concurrent merge-inserts of the same ids left
// 4 duplicates in 40; plain appends, 40 in 40). So a write to a shared bank runs under a lease:
// one row in a small side table, taken with an UPDATE ... WHERE owner = '' OR expired. LanceDB
// re-runs an update that lost a commit race against the new version (measured: 2 processes x 25
// `v = v + 1` updates gave 50), so exactly one taker sees rowsUpdated = 1. Under the lease the
// writer re-reads the state of the files it writes (bank.ts), so it never adds what another
// machine just added. A lease expires after `ttlMs` (a writer killed mid-commit blocks others for
// at most that long; a dead process on this host is seen at once) and is renewed while held.
import * as os from 'node:os';
import * as lancedb from '@lancedb/lancedb';
import { sqlString } from './bankSchema';
import { openOrCreate } from './bankStore';
import { CmtError } from './types';

export interface LeaseOptions {
  /** A held lease lapses after this long without renewal (default 60 s). */
  ttlMs: number;
  /** Give up (BANK_UNAVAILABLE) after waiting this long for another writer (default 10 min). */
  waitMs: number;
}

/** What a shared bank's writes run under: this lease on object storage, a lock file locally (bankLock.ts). */
export abstract class Lease {
  private depth = 0;

  /** Runs `fn` holding the lease (re-entrant within this object). */
  async hold<T>(fn: () => Promise<T>): Promise<T> {
    if (this.depth === 0) await this.acquire();
    this.depth++;
    try {
      return await fn();
    } finally {
      this.depth--;
      if (this.depth === 0) await this.release();
    }
  }

  protected abstract acquire(): Promise<void>;
  protected abstract release(): Promise<void>;
  abstract close(): void;
}

export const DEFAULT_LEASE: LeaseOptions = { ttlMs: 60_000, waitMs: 600_000 };

const ROW = 'writer';

/** Whether an owner string names a process of this host that is gone. */
function deadHere(owner: string): boolean {
  const [host, pid] = owner.split('|');
  if (host !== os.hostname() || !(Number(pid) > 0) || Number(pid) === process.pid) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export class WriterLease extends Lease {
  /** This holder: host|pid|random (the host and pid let a writer on the same host see a dead holder). */
  readonly owner = `${os.hostname()}|${process.pid}|${Math.random().toString(36).slice(2, 10)}`;
  private renew: NodeJS.Timeout | null = null;

  private constructor(
    private readonly table: lancedb.Table,
    private readonly opts: LeaseOptions,
  ) {
    super();
  }

  /** The lease table beside the pack's table (created when missing; several creators are fine). */
  static async open(db: lancedb.Connection, tableName: string, opts: Partial<LeaseOptions> = {}): Promise<WriterLease> {
    const name = `${tableName}__writer`;
    const table = await openOrCreate(async () =>
      (await db.tableNames()).includes(name) ? db.openTable(name) : db.createTable(name, [{ k: ROW, owner: '', until: 0 }], { mode: 'create', existOk: true }),
    );
    // Two creators at once: each may have added its row; any of them works (updates touch them all).
    return new WriterLease(table, { ...DEFAULT_LEASE, ...opts });
  }

  private async tryTake(): Promise<boolean> {
    const now = Date.now();
    const r = await this.table.update({
      where: `k = '${ROW}' AND (owner = '' OR owner = ${sqlString(this.owner)} OR until < ${now})`,
      values: { owner: this.owner, until: now + this.opts.ttlMs },
    });
    return r.rowsUpdated > 0;
  }

  protected async acquire(): Promise<void> {
    const deadline = Date.now() + this.opts.waitMs;
    for (let wait = 20; ; wait = Math.min(500, wait * 2)) {
      if (await this.tryTake()) break;
      const holder = await this.holder();
      if (holder && deadHere(holder)) {
        await this.table.update({ where: `k = '${ROW}' AND owner = ${sqlString(holder)}`, values: { owner: '', until: 0 } });
        continue;
      }
      if (Date.now() > deadline) {
        throw new CmtError('BANK_UNAVAILABLE', `another writer (${holder ?? 'unknown'}) has held the memory bank's write lease for over ${Math.round(this.opts.waitMs / 1000)} s; try again later`);
      }
      await new Promise((r) => setTimeout(r, wait * (0.5 + Math.random())));
    }
    this.renew = setInterval(() => void this.tryTake().catch(() => undefined), Math.max(1000, this.opts.ttlMs / 3));
    this.renew.unref();
  }

  private async holder(): Promise<string | null> {
    await this.table.checkoutLatest();
    const rows = (await this.table.query().where(`k = '${ROW}'`).select(['owner']).toArray()) as Array<{ owner?: string | null }>;
    const r = rows.find((x) => x.owner);
    return r?.owner ? String(r.owner) : null;
  }

  protected async release(): Promise<void> {
    if (this.renew) clearInterval(this.renew);
    this.renew = null;
    await this.table.update({ where: `k = '${ROW}' AND owner = ${sqlString(this.owner)}`, values: { owner: '', until: 0 } }).catch(() => undefined);
  }

  close(): void {
    if (this.renew) clearInterval(this.renew);
    this.table.close();
  }
}

// Where a memory bank lives: a local folder (created when missing) or any URI LanceDB accepts
// (s3://, gs://, az://, db://). Connecting, opening or creating a pack's table, listing the pack
// tables of a bank, and the bytes a table takes on disk. bank.ts works on the opened table.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { WriterLease } from './bankLease';
import { displayUri, objectStoreError, openOrCreate, redact, uriScheme } from './bankStore';
import { BankMeta, checkTable, PackTableInfo, packTableInfo, schemaFor, TABLE_PREFIX, tableNameForPack } from './bankSchema';
import { CmtError } from './types';

export function isLocalUri(uri: string): boolean {
  return !uriScheme(uri) || uri.startsWith('file://');
}

export function localPath(uri: string): string {
  return uri.startsWith('file://') ? new URL(uri).pathname : uri;
}

async function dirSize(p: string): Promise<number> {
  let total = 0;
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fsp.readdir(p, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const full = path.join(p, e.name);
    if (e.isDirectory()) total += await dirSize(full);
    else if (e.isFile()) total += (await fsp.stat(full).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

async function connect(uri: string, connectOptions: Partial<lancedb.ConnectionOptions> | undefined, create: boolean): Promise<lancedb.Connection> {
  try {
    if (create && isLocalUri(uri)) await fsp.mkdir(localPath(uri), { recursive: true });
    return await lancedb.connect(uri, connectOptions);
  } catch (e) {
    throw bankError(e, uri, connectOptions, 'cannot open memory bank at');
  }
}

/** A failure to open or read the bank as a CmtError: what to fix for an object store (bankStore.ts), else the redacted cause. */
function bankError(e: unknown, uri: string, connectOptions: Partial<lancedb.ConnectionOptions> | undefined, what: string): CmtError {
  if (e instanceof CmtError) return e;
  const endpoint = connectOptions?.storageOptions?.endpoint;
  return objectStoreError(e, uri, { endpoint }) ?? new CmtError('BANK_UNAVAILABLE', `${what} ${displayUri(uri)}: ${redact((e as Error).message)}`);
}

/**
 * Connects to the bank at `uri` and opens the pack's table (checked against `meta`:
 * BANK_PACK_MISMATCH), creating it unless `readOnly`; a read-only bank without it has table null.
 */
export async function openPackTable(
  uri: string,
  meta: BankMeta,
  opts: { readOnly?: boolean; connectOptions?: Partial<lancedb.ConnectionOptions>; shared?: boolean },
): Promise<{ db: lancedb.Connection; table: lancedb.Table | null }> {
  const readOnly = !!opts.readOnly;
  const db = await connect(uri, opts.connectOptions, !readOnly);
  const name = tableNameForPack(meta.packId);
  let table: lancedb.Table | null = null;
  try {
    const find = async () => ((await db.tableNames()).includes(name) ? db.openTable(name) : null);
    const create = async () => (await find()) ?? db.createEmptyTable(name, schemaFor(meta), { mode: 'create', existOk: true });
    // Two writers opening a new shared bank at once: retried until the other's commit is visible (openOrCreate).
    table = await openOrCreate(async () => (await find()) ?? (readOnly ? null : opts.shared ? createShared(db, name, create) : create()));
    if (table) await checkTable(table, meta);
  } catch (e) {
    db.close();
    throw bankError(e, uri, opts.connectOptions, `cannot open table ${name} in`);
  }
  return { db, table };
}

/**
 * A new shared bank's table, created under the writer lease: two writers creating it at the same
 * moment made LanceDB commit the losing creator's empty table as an overwrite of the winner's
 * (seen on the S3 test server: "Overwrite transaction was preempted by concurrent transaction
 * Overwrite at version 2"), which would drop rows the winner wrote meanwhile.
 */
async function createShared(db: lancedb.Connection, name: string, create: () => Promise<lancedb.Table>): Promise<lancedb.Table> {
  const lease = await WriterLease.open(db, `lease_${name}`);
  try {
    return await lease.hold(create);
  } finally {
    lease.close();
  }
}

/** Every pack table in a bank folder, with its recorded pack and dims. */
export async function listPackTables(uri: string, connectOptions?: Partial<lancedb.ConnectionOptions>): Promise<PackTableInfo[]> {
  const db = await connect(uri, connectOptions, false);
  const out: PackTableInfo[] = [];
  try {
    for (const name of await db.tableNames()) {
      if (!name.startsWith(TABLE_PREFIX)) continue;
      const t = await db.openTable(name);
      try {
        out.push({ table: name, ...(await packTableInfo(t)) });
      } finally {
        t.close();
      }
    }
  } finally {
    db.close();
  }
  return out;
}

/** Bytes a table takes on disk, all versions (local banks), else as its manifest counts them. */
export async function tableBytes(uri: string, table: lancedb.Table, tableName: string): Promise<number> {
  let bytes = 0;
  if (isLocalUri(uri)) bytes = await dirSize(path.join(localPath(uri), `${tableName}.lance`));
  if (bytes === 0) bytes = (await table.stats()).totalBytes;
  return bytes;
}

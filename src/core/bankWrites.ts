// The memory bank's per-file writes: add, replace, delete and rename a file's memories, each in as
// few commits as it can, keeping the bank's per-file state (its `files` cache) up to date. MemoryBank
// runs each one under its write lock (serial(): one at a time per bank object; on a shared bank
// under the writer lease, bankShared.ts) and says what a write makes stale (`changed`).
import * as lancedb from '@lancedb/lancedb';
import { decodeRow, encodeRows, FileState, Row, rowsOf, schemaFor, sqlString, TableLayout } from './bankSchema';
import { CompressedChunk } from './types';

/** What a write works on: the writable table, its columns, the bank's file state, and what to tell the bank. */
export interface WriteTarget {
  table: lancedb.Table;
  layout: TableLayout;
  files: Map<string, FileState>;
  /** Files were written: searches' file index and the text index are stale; `grew`: an ANN build may be due. */
  changed(grew: boolean): Promise<void>;
}

export interface FileItem {
  path: string;
  contentHash: string;
  mtimeMs: number;
  chunks: CompressedChunk[];
}

/**
 * Replace a file's memories in one commit (merge-insert on id, deleting the file's rows that are not
 * in the new set). Same contentHash as stored: no rewrite (only mtime is refreshed when it changed).
 * Empty `chunks` deletes the file. Returns whether rows were written.
 */
export async function upsertFile(t: WriteTarget, { path: p, contentHash, mtimeMs, chunks }: FileItem): Promise<boolean> {
  const prev = t.files.get(p);
  if (prev && prev.contentHash === contentHash && prev.chunks === chunks.length) {
    if (prev.mtimeMs !== mtimeMs) {
      await t.table.update({ where: `path = ${sqlString(p)}`, values: { mtime_ms: mtimeMs } });
      prev.mtimeMs = mtimeMs;
    }
    return false;
  }
  if (chunks.length === 0) {
    await deleteFile(t, p);
    return true;
  }
  const rows = encodeRows(t.layout, p, contentHash, mtimeMs, chunks);
  await mergeFileRows(t, p, rows, !!prev);
  t.files.set(p, { contentHash, mtimeMs, chunks: rows.length });
  await t.changed(true);
  return true;
}

/**
 * Several files at once: files new to the bank are added in ONE commit (a commit per file costs
 * ~10 ms and a table version + fragment each, which made 10,000 small files slow and bloated);
 * files already in the bank go through upsertFile one by one. All-or-nothing for the new files.
 */
export async function upsertFiles(t: WriteTarget, items: FileItem[]): Promise<void> {
  const fresh = new Set(items.filter((it) => !t.files.has(it.path) && it.chunks.length > 0));
  const rows = [...fresh].flatMap((it) => encodeRows(t.layout, it.path, it.contentHash, it.mtimeMs, it.chunks));
  if (rows.length > 0) {
    await t.table.add(lancedb.makeArrowTable(rows, { schema: schemaFor(t.layout.meta) }));
    for (const it of fresh) t.files.set(it.path, { contentHash: it.contentHash, mtimeMs: it.mtimeMs, chunks: it.chunks.length });
    await t.changed(true);
  }
  for (const it of items) if (!fresh.has(it)) await upsertFile(t, it);
}

/** Remove a file's memories. Returns whether it had any. */
export async function deleteFile(t: WriteTarget, p: string): Promise<boolean> {
  if (!t.files.has(p)) return false;
  await t.table.delete(`path = ${sqlString(p)}`);
  t.files.delete(p);
  await t.changed(false);
  return true;
}

/** Move a file's memories to a new path (ids follow), replacing whatever `to` held. */
export async function renameFile(t: WriteTarget, from: string, to: string): Promise<boolean> {
  const st = t.files.get(from);
  if (from === to || !st) return false;
  const records = (await rowsOf(t.table.query().where(`path = ${sqlString(from)}`))).map(decodeRow);
  const moved = encodeRows(t.layout, to, st.contentHash, st.mtimeMs, records);
  await mergeFileRows(t, to, moved, t.files.has(to));
  t.files.set(to, { ...st, chunks: moved.length });
  await t.table.delete(`path = ${sqlString(from)}`);
  t.files.delete(from);
  await t.changed(false);
  return true;
}

async function mergeFileRows(t: WriteTarget, p: string, rows: Row[], existed: boolean): Promise<void> {
  const data = lancedb.makeArrowTable(rows, { schema: schemaFor(t.layout.meta) });
  if (!existed) {
    await t.table.add(data);
    return;
  }
  await t.table
    .mergeInsert('id')
    .whenMatchedUpdateAll()
    .whenNotMatchedInsertAll()
    .whenNotMatchedBySourceDelete({ where: `path = ${sqlString(p)}` })
    .execute(data);
}

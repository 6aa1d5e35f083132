// Small helpers shared by the engine test files.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as lancedb from '@lancedb/lancedb';
import { MemoryBank } from '../src/core/bank';
import type { BankMeta } from '../src/core/bankSchema';

/** Resolves or rejects like `p`, or rejects once `ms` have passed: a test must never hang. */
export async function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, rej) => {
        timer = setTimeout(() => rej(new Error(`${what} did not settle within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** w(rel, data) writes root/rel, making its folders: for building test workspaces. */
export function fileWriter(root: string): (rel: string, data: string | Buffer) => void {
  return (rel, data) => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), data);
  };
}

/** Rows per file of the bank at `uri`, read from a fresh read-only connection: asserts every row id once and one content hash per file. */
export async function bankRowsPerFile(uri: string, meta: BankMeta, connectOptions?: Partial<lancedb.ConnectionOptions>): Promise<Map<string, number>> {
  const b = await MemoryBank.open(uri, meta, { readOnly: true, connectOptions });
  try {
    const table = (b as unknown as { table: lancedb.Table | null }).table;
    const out = new Map<string, number>();
    if (!table) return out;
    const ids = new Set<string>();
    const hash = new Map<string, string>();
    for (const r of await table.query().select(['id', 'path', 'content_hash']).toArray()) {
      assert.ok(!ids.has(String(r.id)), `duplicate row ${String(r.id)}`);
      ids.add(String(r.id));
      const p = String(r.path);
      assert.equal(hash.get(p) ?? String(r.content_hash), String(r.content_hash), `${p}: rows from two versions`);
      hash.set(p, String(r.content_hash));
      out.set(p, (out.get(p) ?? 0) + 1);
    }
    return out;
  } finally {
    b.close();
  }
}

// How the memory bank lays memories out in LanceDB: one table per model pack, named after its
// packId, whose Arrow schema metadata records the packId and dims (so memories made by one pack are
// never read with another); and the codec between a table row and a MemoryRecord. bank.ts opens the
// table and reads and writes it; bankIndex.ts indexes it.
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import type * as lancedb from '@lancedb/lancedb';
import { Binary, Field, FixedSizeList, Float32, Float64, Int32, Schema, Utf8 } from 'apache-arrow';
import { chunkHeader } from './chunk';
import { defineTerms } from './names';
import { codeTerms } from './terms';
import { CmtError, CompressedChunk, MemoryRecord } from './types';

export interface BankMeta {
  packId: string;
  memorySlots: number; // k
  memoryDim: number; // d
  /** Width of the sentence-embedder column `emb` (0 or absent: the pack has no embedder). */
  embedDim?: number;
}

/** What an open table's columns hold (tables made before a column existed keep working without it). */
export interface TableLayout {
  meta: BankMeta;
  /** Width of the table's `emb` column (0: no embedder column). */
  embedDim: number;
  /** The code-aware `terms` column is written and full-text searched (else the raw `text` is). */
  hasTerms: boolean;
  /** The `symbol` and `defines` columns (the definition index). */
  hasDefines: boolean;
}

export interface PackTableInfo {
  table: string;
  packId: string | null; // null when the table has no CMT metadata
  memorySlots: number | null;
  memoryDim: number | null;
  rows: number;
}

/** What the bank holds of one file. */
export interface FileState {
  contentHash: string;
  mtimeMs: number;
  chunks: number;
}

export type Row = Record<string, unknown>;

const SCHEMA_VERSION = '1';
const META_PACK = 'cmt.packId';
const META_K = 'cmt.memorySlots';
const META_D = 'cmt.memoryDim';
const META_VER = 'cmt.schemaVersion';
const META_E = 'cmt.embedDim';
export const TABLE_PREFIX = 'mem_';

/** Table name for a packId: `mem_<sanitised>`, plus a hash suffix when sanitising changed it. */
export function tableNameForPack(packId: string): string {
  const clean = packId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 100);
  if (clean === packId && clean.length > 0) return TABLE_PREFIX + clean;
  const h = createHash('sha256').update(packId).digest('hex').slice(0, 8);
  return `${TABLE_PREFIX}${clean}_${h}`;
}

/** Arrow schema of a pack's table (metadata carries packId and dims). */
export function schemaFor(meta: BankMeta): Schema {
  const d = meta.memoryDim;
  const e = meta.embedDim ?? 0;
  return new Schema(
    [
      new Field('id', new Utf8(), false),
      new Field('path', new Utf8(), false),
      new Field('start_line', new Int32(), false),
      new Field('end_line', new Int32(), false),
      new Field('content_hash', new Utf8(), false),
      new Field('mtime_ms', new Float64(), false),
      new Field('key', new FixedSizeList(d, new Field('item', new Float32(), true)), false),
      new Field('memory', new Binary(), false),
      new Field('text', new Utf8(), false),
      new Field('terms', new Utf8(), true),
      new Field('symbol', new Utf8(), true),
      new Field('defines', new Utf8(), true),
      ...(e > 0 ? [new Field('emb', new FixedSizeList(e, new Field('item', new Float32(), true)), true)] : []),
    ],
    new Map([
      [META_PACK, meta.packId],
      [META_K, String(meta.memorySlots)],
      [META_D, String(d)],
      [META_VER, SCHEMA_VERSION],
      ...(e > 0 ? ([[META_E, String(e)]] as Array<[string, string]>) : []),
    ]),
  );
}

/** Throws BANK_PACK_MISMATCH unless `table` was made for this pack (packId, dims, required columns). */
export async function checkTable(table: lancedb.Table, meta: BankMeta): Promise<void> {
  const schema = await table.schema();
  const md = schema.metadata;
  const packId = md.get(META_PACK);
  const k = Number(md.get(META_K));
  const d = Number(md.get(META_D));
  const keyField = schema.fields.find((f) => f.name === 'key');
  const keyDim = keyField && keyField.type instanceof FixedSizeList ? keyField.type.listSize : (keyField?.type as { listSize?: number })?.listSize;
  const problems: string[] = [];
  if (packId !== meta.packId) problems.push(`table packId ${packId ?? '(none)'} != ${meta.packId}`);
  if (k !== meta.memorySlots) problems.push(`table memorySlots ${md.get(META_K)} != ${meta.memorySlots}`);
  if (d !== meta.memoryDim) problems.push(`table memoryDim ${md.get(META_D)} != ${meta.memoryDim}`);
  if (keyDim !== d) problems.push(`key column width ${keyDim} != recorded memoryDim ${d}`);
  for (const col of ['id', 'path', 'start_line', 'end_line', 'content_hash', 'mtime_ms', 'memory', 'text']) {
    if (!schema.fields.some((f) => f.name === col)) problems.push(`missing column ${col}`);
  }
  if (problems.length) {
    throw new CmtError('BANK_PACK_MISMATCH', `memory bank table ${table.name} does not match pack ${meta.packId}: ${problems.join('; ')}`);
  }
}

/**
 * The layout of a pack's table: a new (or not yet created) table has every column; an existing one
 * has the columns it was made with. `plainText`: write and search the raw text, not the `terms`.
 */
export async function tableLayout(table: lancedb.Table | null, meta: BankMeta, plainText: boolean): Promise<TableLayout> {
  if (!table) return { meta, embedDim: meta.embedDim ?? 0, hasTerms: !plainText, hasDefines: true };
  const schema = await table.schema();
  const emb = schema.fields.find((f) => f.name === 'emb');
  const width = emb ? ((emb.type as { listSize?: number }).listSize ?? 0) : 0;
  return {
    meta,
    embedDim: width === (meta.embedDim ?? 0) ? width : 0,
    hasTerms: !plainText && schema.fields.some((f) => f.name === 'terms'),
    hasDefines: schema.fields.some((f) => f.name === 'defines'),
  };
}

/** A table's recorded pack and dims (for listing the packs of a bank folder). */
export async function packTableInfo(t: lancedb.Table): Promise<Omit<PackTableInfo, 'table'>> {
  const md = (await t.schema()).metadata;
  const num = (s: string | undefined) => (s === undefined ? null : Number(s));
  return { packId: md.get(META_PACK) ?? null, memorySlots: num(md.get(META_K)), memoryDim: num(md.get(META_D)), rows: await t.countRows() };
}

/** SQL string literal: single quotes doubled. NUL bytes (impossible in file paths) are refused. */
export function sqlString(s: string): string {
  if (s.includes('\0')) throw new CmtError('BAD_INPUT', 'NUL byte in a bank key');
  return `'${s.replace(/'/g, "''")}'`;
}

/** The stable id of a chunk; `dup` > 0 disambiguates long-line splits sharing a line range. */
export function memoryId(p: string, startLine: number, endLine: number, dup = 0): string {
  return dup > 0 ? `${p}#${startLine}-${endLine}:${dup}` : `${p}#${startLine}-${endLine}`;
}

// ---------------------------------------------------------------------------------------------
// Row codec

const LITTLE_ENDIAN = os.endianness() === 'LE';

function floatsToBytes(a: Float32Array): Buffer {
  if (LITTLE_ENDIAN) return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const b = Buffer.alloc(a.length * 4);
  for (let i = 0; i < a.length; i++) b.writeFloatLE(a[i], i * 4);
  return b;
}

function bytesToFloats(u: Uint8Array): Float32Array {
  const n = u.byteLength >> 2;
  const out = new Float32Array(n);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(u.subarray(0, n * 4));
  } else {
    const dv = new DataView(u.buffer, u.byteOffset, u.byteLength);
    for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
  }
  return out;
}

function toFloat32(v: unknown): Float32Array {
  if (v instanceof Float32Array) return new Float32Array(v);
  if (v && typeof (v as { toArray?: unknown }).toArray === 'function') {
    const arr = (v as { toArray(): ArrayLike<number> }).toArray();
    return arr instanceof Float32Array ? new Float32Array(arr) : Float32Array.from(arr);
  }
  return Float32Array.from(v as ArrayLike<number>);
}

/** The rows of one file's chunks (dims checked: BANK_PACK_MISMATCH), in the table's layout. */
export function encodeRows(layout: TableLayout, p: string, contentHash: string, mtimeMs: number, chunks: CompressedChunk[]): Row[] {
  const { memorySlots: k, memoryDim: d } = layout.meta;
  const seen = new Map<string, number>();
  return chunks.map((c) => {
    if (c.key.length !== d) throw new CmtError('BANK_PACK_MISMATCH', `key has ${c.key.length} floats, pack expects ${d}`);
    if (c.memory.length !== k * d) throw new CmtError('BANK_PACK_MISMATCH', `memory has ${c.memory.length} floats, pack expects ${k}x${d}`);
    const base = memoryId(p, c.startLine, c.endLine);
    const dup = seen.get(base) ?? 0;
    seen.set(base, dup + 1);
    const e = layout.embedDim;
    if (e > 0 && c.emb && c.emb.length !== e) throw new CmtError('BANK_PACK_MISMATCH', `embedding has ${c.emb.length} floats, bank expects ${e}`);
    return {
      ...(layout.hasTerms ? { terms: codeTerms(`${chunkHeader({ path: p, symbol: c.symbol })}\n${c.text}`) } : {}),
      ...(layout.hasDefines ? { symbol: c.symbol ?? null, defines: c.defines?.length ? defineTerms(c.defines) : null } : {}),
      ...(e > 0 ? { emb: c.emb ? Array.from(c.emb) : new Array<number>(e).fill(0) } : {}),
      id: memoryId(p, c.startLine, c.endLine, dup),
      path: p,
      start_line: c.startLine,
      end_line: c.endLine,
      content_hash: contentHash,
      mtime_ms: mtimeMs,
      key: Array.from(c.key),
      memory: floatsToBytes(c.memory),
      text: c.text,
    };
  });
}

/** Each file's state, from the table's rows (the bank caches it and keeps it up to date as it writes). */
export async function readFileStates(table: lancedb.Table): Promise<Map<string, FileState>> {
  const m = new Map<string, FileState>();
  const rows = await rowsOf(table.query().select(['path', 'content_hash', 'mtime_ms']));
  for (const r of rows) {
    const p = String(r.path);
    const s = m.get(p);
    if (s) s.chunks++;
    else m.set(p, { contentHash: String(r.content_hash), mtimeMs: Number(r.mtime_ms), chunks: 1 });
  }
  return m;
}

/** A query's rows (LanceDB types them `any`): column values by name, read through decodeRow. */
export async function rowsOf(q: { toArray(): Promise<unknown[]> }): Promise<Row[]> {
  return (await q.toArray()) as Row[];
}

/**
 * The columns a search reads (hits are ranked and cited from these): the vectors and the memory
 * slots stay in the store until the few records an answer uses are known (MemoryBank.withMemory).
 * On object storage every column of a hit is a request of its own: reading the memory slots (18 KB
 * a row with the default pack), the key and the embedding of every candidate made a search 40x
 * slower than on disk (docs/RESULTS.md, "A shared bank").
 */
export function searchColumns(layout: TableLayout): string[] {
  return ['id', 'path', 'start_line', 'end_line', 'text', 'content_hash', 'mtime_ms', ...(layout.hasDefines ? ['symbol'] : [])];
}

/** A table row as a MemoryRecord (a search's rows have no vectors: key and memory are empty, emb absent). */
export function decodeRow(r: Row): MemoryRecord {
  return {
    id: String(r.id),
    path: String(r.path),
    startLine: Number(r.start_line ?? 0),
    endLine: Number(r.end_line ?? 0),
    text: typeof r.text === 'string' ? r.text : '',
    contentHash: typeof r.content_hash === 'string' ? r.content_hash : '',
    mtimeMs: Number(r.mtime_ms ?? 0),
    key: r.key ? toFloat32(r.key) : new Float32Array(0),
    memory: r.memory ? bytesToFloats(r.memory as Uint8Array) : new Float32Array(0),
    ...(r.emb ? { emb: toFloat32(r.emb) } : {}),
    ...(typeof r.symbol === 'string' && r.symbol ? { symbol: r.symbol } : {}),
  };
}

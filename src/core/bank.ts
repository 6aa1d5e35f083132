// The memory bank: compressed chunks stored in LanceDB, one table per model pack.
// A table's Arrow schema metadata records the packId and dims, so memories made by one pack
// are never read with another, and a bank folder can hold several packs side by side.
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import * as lancedb from '@lancedb/lancedb';
import { Binary, Field, FixedSizeList, Float32, Float64, Int32, Schema, Utf8 } from 'apache-arrow';
import { chunkHeader } from './chunk';
import { defineTerms, PathIndex, questionDefTerms } from './names';
import { codeTerms, sanitizeFtsQuery } from './terms';
import { Serial } from './serial';
import { CmtError, CompressedChunk, Logger, MemoryRecord } from './types';

export interface BankMeta {
  packId: string;
  memorySlots: number; // k
  memoryDim: number; // d
  /** Width of the sentence-embedder column `emb` (0 or absent: the pack has no embedder). */
  embedDim?: number;
}

/**
 * Approximate nearest-neighbour (ANN) indexes on the vector columns. Below `minRows` every vector
 * search is exact (brute force); from `minRows` rows the bank builds an index per column in the
 * background on its own LanceDB handle (queries and writes go on meanwhile, exactly), then switches
 * its handle to the indexed version. Rows written after the build are not in the index yet and are
 * still searched (exactly) beside it; the full-text refresh's optimize() folds them in, and the
 * index is rebuilt (re-trained) when the table has grown `rebuildGrowth` times past the rows it was
 * built on. Defaults measured on real MiniLM embeddings (docs/RESULTS.md, "Retrieval at scale"):
 * exact search of 384 floats costs ~15 ms at 10K rows, ~19 ms at 20K and ~83 ms at 100K on this
 * 2-core machine, so from 20K rows the question's 30 ms budget (embedding included) needs the index;
 * IVF_HNSW_SQ with efConstruction 150 gave recall@10 0.956 at 100K with ef 300 after 48 s of build,
 * and at 1M rows (4 partitions, 11 min of build) 0.945 with ef 300, 0.988 with ef 700 at ~15 ms
 * per search (IVF_PQ and IVF_FLAT stayed below 0.87 at 100K at any nprobes tried: questions sit
 * far from every partition centroid).
 */
export interface VectorIndexOptions {
  /** Rows from which the vector columns are indexed (default 20,000; Infinity: never). */
  minRows: number;
  /** LanceDB index kind (default 'ivf_hnsw_sq': HNSW graphs over 8-bit scalar-quantized vectors). */
  kind: 'ivf_hnsw_sq' | 'ivf_pq';
  /** Columns to index (default: `emb` when the table has it, else `key`, the column vector retrieval uses). */
  columns?: Array<'emb' | 'key'>;
  /** IVF partitions: one per this many rows (default 250,000; at least 1; bounds the build's memory). */
  rowsPerPartition: number;
  /** Search: IVF partitions probed per query (default 16: every partition up to 4M rows). */
  nprobes: number;
  /** Build: HNSW candidate list while inserting (ivf_hnsw_sq; default 150, LanceDB's is 300: half the build time). */
  efConstruction: number;
  /** Search: HNSW candidate list size (ivf_hnsw_sq; default 700: recall@10 0.988 at 1M rows, 0.945 with 300). */
  ef: number;
  /** Search: re-rank limit × refineFactor index hits by their exact distance (default 2). */
  refineFactor: number;
  /** Rebuild when the table has this many times the rows the index was built on (default 2). */
  rebuildGrowth: number;
}

export const DEFAULT_VECTOR_INDEX: VectorIndexOptions = {
  minRows: 20_000,
  kind: 'ivf_hnsw_sq',
  rowsPerPartition: 250_000,
  nprobes: 16,
  efConstruction: 150,
  ef: 700,
  refineFactor: 2,
  rebuildGrowth: 2,
};

export interface VectorIndexInfo {
  column: string;
  name: string;
  indexType: string;
  indexedRows: number;
  unindexedRows: number;
}

export interface BankOpenOptions {
  /** Never create or write: a missing table reads as empty, writes throw BANK_UNAVAILABLE. */
  readOnly?: boolean;
  /** ANN indexes on the vector columns (see VectorIndexOptions; CMT_VECTOR_INDEX_MIN_ROWS overrides minRows). */
  vectorIndex?: Partial<VectorIndexOptions>;
  /** Passed to lancedb.connect (e.g. storageOptions for s3://). */
  connectOptions?: Partial<lancedb.ConnectionOptions>;
  /** Warnings (default: none are shown). */
  log?: Logger;
}

export interface FileState {
  contentHash: string;
  mtimeMs: number;
  chunks: number;
}

export interface PackTableInfo {
  table: string;
  packId: string | null; // null when the table has no CMT metadata
  memorySlots: number | null;
  memoryDim: number | null;
  rows: number;
}

export interface VectorHit {
  record: MemoryRecord;
  distance: number; // cosine distance (0 = same direction)
}

export interface TextHit {
  record: MemoryRecord;
  score: number; // BM25 score (higher is better)
}

export interface BankStats {
  memories: number;
  files: number;
  bytesOnDisk: number;
}

const SCHEMA_VERSION = '1';
const META_PACK = 'cmt.packId';
const META_K = 'cmt.memorySlots';
const META_D = 'cmt.memoryDim';
const META_VER = 'cmt.schemaVersion';
const META_E = 'cmt.embedDim';
const TABLE_PREFIX = 'mem_';

/** Table name for a packId: `mem_<sanitised>`, plus a hash suffix when sanitising changed it. */
export function tableNameForPack(packId: string): string {
  const clean = packId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 100);
  if (clean === packId && clean.length > 0) return TABLE_PREFIX + clean;
  const h = createHash('sha256').update(packId).digest('hex').slice(0, 8);
  return `${TABLE_PREFIX}${clean}_${h}`;
}

/** SQL string literal: single quotes doubled. NUL bytes (impossible in file paths) are refused. */
export function sqlString(s: string): string {
  if (s.includes('\0')) throw new CmtError('BAD_INPUT', 'NUL byte in a bank key');
  return `'${s.replace(/'/g, "''")}'`;
}

/** Whether `column` has a full-text index among a table's indexes. */
function ftsOn(indexes: Awaited<ReturnType<lancedb.Table['listIndices']>>, column: string): boolean {
  return indexes.some((i) => i.columns.includes(column) && i.indexType === 'FTS');
}

/** The stable id of a chunk; `dup` > 0 disambiguates long-line splits sharing a line range. */
export function memoryId(p: string, startLine: number, endLine: number, dup = 0): string {
  return dup > 0 ? `${p}#${startLine}-${endLine}:${dup}` : `${p}#${startLine}-${endLine}`;
}

function isLocalUri(uri: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:\/\//i.test(uri) || uri.startsWith('file://');
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

type Row = Record<string, unknown>;

function stripUndefined<T extends object>(x: T): Partial<T> {
  return Object.fromEntries(Object.entries(x).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export class MemoryBank {
  private table: lancedb.Table | null;
  private ftsDirty = true;
  private hasFts = false;
  /** Width of this table's `emb` column (0: no embedder column). */
  readonly embedDim: number;
  /** The table has the code-aware `terms` column (full-text search runs on it, else on `text`). */
  readonly hasTerms: boolean;
  /** The table has the `symbol` and `defines` columns (the definition index; banks written before them have neither). */
  readonly hasDefines: boolean;
  private hasDefFts = false;
  /** The file names of the bank, indexed for pathSearch (rebuilt after a file is added, removed or renamed). */
  private pathIndex: PathIndex | null = null;
  private files: Map<string, FileState> | null = null; // lazily loaded cache of per-file state
  private closed = false;
  private readonly writes = new Serial(); // serialises writes on this bank object

  /** Run `fn` after every earlier write on this object finished (writes never interleave). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.writes.run(fn);
  }

  private log: Logger = () => undefined;
  private vi: VectorIndexOptions = DEFAULT_VECTOR_INDEX;
  private connectOptions: Partial<lancedb.ConnectionOptions> | undefined;
  /** The background ANN build in flight (null: none). */
  private indexBuild: Promise<void> | null = null;
  /** Rows at which the next ANN build is due (minRows, then rebuildGrowth x the rows last indexed). */
  private nextIndexAt = Infinity;
  /** This handle's checkoutLatest after a build, while in flight (close() waits for it before closing). */
  private switching: Promise<unknown> | null = null;

  private constructor(
    private readonly db: lancedb.Connection,
    readonly uri: string,
    readonly meta: BankMeta,
    readonly tableName: string,
    table: lancedb.Table | null,
    readonly readOnly: boolean,
    cols: { embedDim: number; hasTerms: boolean; hasDefines?: boolean } = { embedDim: 0, hasTerms: false },
  ) {
    this.table = table;
    this.embedDim = cols.embedDim;
    this.hasTerms = cols.hasTerms;
    this.hasDefines = !!cols.hasDefines;
  }

  /** Column of the full-text index. */
  get textColumn(): string {
    return this.hasTerms ? 'terms' : 'text';
  }

  /** Arrow schema of a pack's table (metadata carries packId and dims). */
  static schemaFor(meta: BankMeta): Schema {
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

  /**
   * Open (or create) the bank at `uri` for one pack. A local path is created if missing; other
   * URIs (s3://, gs://, az://, db://) go straight to lancedb.connect.
   */
  static async open(uri: string, meta: BankMeta, opts: BankOpenOptions = {}): Promise<MemoryBank> {
    if (!meta.packId || !(meta.memorySlots > 0) || !(meta.memoryDim > 0)) {
      throw new CmtError('BAD_INPUT', `bad bank meta: ${JSON.stringify(meta)}`);
    }
    const readOnly = !!opts.readOnly;
    let db: lancedb.Connection;
    try {
      if (isLocalUri(uri) && !readOnly) {
        const local = uri.startsWith('file://') ? new URL(uri).pathname : uri;
        await fsp.mkdir(local, { recursive: true });
      }
      db = await lancedb.connect(uri, opts.connectOptions);
    } catch (e) {
      throw new CmtError('BANK_UNAVAILABLE', `cannot open memory bank at ${uri}: ${(e as Error).message}`);
    }
    const name = tableNameForPack(meta.packId);
    let table: lancedb.Table | null = null;
    try {
      const names = await db.tableNames();
      if (names.includes(name)) {
        table = await db.openTable(name);
        await MemoryBank.checkTable(table, meta);
      } else if (!readOnly) {
        table = await db.createEmptyTable(name, MemoryBank.schemaFor(meta), { mode: 'create', existOk: true });
        await MemoryBank.checkTable(table, meta);
      }
    } catch (e) {
      if (e instanceof CmtError) throw e;
      throw new CmtError('BANK_UNAVAILABLE', `cannot open table ${name} in ${uri}: ${(e as Error).message}`);
    }
    // CMT_PLAIN_FTS=1: index the raw text as before (A/B of the code-aware terms).
    let cols = { embedDim: meta.embedDim ?? 0, hasTerms: process.env.CMT_PLAIN_FTS !== '1', hasDefines: true };
    if (table) {
      // Tables made before the embedder / terms columns existed keep working without them.
      const schema = await table.schema();
      const emb = schema.fields.find((f) => f.name === 'emb');
      const width = emb ? ((emb.type as { listSize?: number }).listSize ?? 0) : 0;
      cols = {
        embedDim: width === (meta.embedDim ?? 0) ? width : 0,
        hasTerms: process.env.CMT_PLAIN_FTS !== '1' && schema.fields.some((f) => f.name === 'terms'),
        hasDefines: schema.fields.some((f) => f.name === 'defines'),
      };
      if ((meta.embedDim ?? 0) > 0 && cols.embedDim === 0) {
        opts.log?.(`memory bank table ${name} has no ${meta.embedDim}-wide embedder column: sentence-embedder retrieval is off for it (memorize the files again into a new, empty bank to turn it on)`);
      }
    }
    const bank = new MemoryBank(db, uri, meta, name, table, readOnly, cols);
    if (opts.log) bank.log = opts.log;
    bank.connectOptions = opts.connectOptions;
    const envMin = Number(process.env.CMT_VECTOR_INDEX_MIN_ROWS);
    bank.vi = { ...DEFAULT_VECTOR_INDEX, ...stripUndefined(opts.vectorIndex ?? {}), ...(process.env.CMT_VECTOR_INDEX_MIN_ROWS && envMin >= 0 ? { minRows: envMin } : {}) };
    bank.nextIndexAt = bank.vi.minRows;
    // A bank reopened past the threshold gets its index (in the background). Small tables start
    // nothing in the background: only the row count is read, here, before open() returns.
    if (table && !readOnly && bank.vi.minRows < Infinity && (await table.countRows().catch(() => 0)) >= bank.vi.minRows) bank.kickVectorIndex();
    return bank;
  }

  private static async checkTable(table: lancedb.Table, meta: BankMeta): Promise<void> {
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

  /** Every pack table in a bank folder, with its recorded pack and dims. */
  static async listPacks(uri: string, connectOptions?: Partial<lancedb.ConnectionOptions>): Promise<PackTableInfo[]> {
    let db: lancedb.Connection;
    try {
      db = await lancedb.connect(uri, connectOptions);
    } catch (e) {
      throw new CmtError('BANK_UNAVAILABLE', `cannot open memory bank at ${uri}: ${(e as Error).message}`);
    }
    const out: PackTableInfo[] = [];
    try {
      for (const name of await db.tableNames()) {
        if (!name.startsWith(TABLE_PREFIX)) continue;
        const t = await db.openTable(name);
        try {
          const md = (await t.schema()).metadata;
          const num = (s: string | undefined) => (s === undefined ? null : Number(s));
          out.push({ table: name, packId: md.get(META_PACK) ?? null, memorySlots: num(md.get(META_K)), memoryDim: num(md.get(META_D)), rows: await t.countRows() });
        } finally {
          t.close();
        }
      }
    } finally {
      db.close();
    }
    return out;
  }

  /** Same as the static listPacks, on this bank's connection. */
  async listPacks(): Promise<PackTableInfo[]> {
    return MemoryBank.listPacks(this.uri);
  }

  private assertOpen(): void {
    if (this.closed) throw new CmtError('BANK_UNAVAILABLE', 'memory bank is closed');
  }

  private writable(): lancedb.Table {
    this.assertOpen();
    if (this.readOnly || !this.table) throw new CmtError('BANK_UNAVAILABLE', 'memory bank was opened read-only');
    return this.table;
  }

  private async fileCache(): Promise<Map<string, FileState>> {
    if (this.files) return this.files;
    const m = new Map<string, FileState>();
    if (this.table) {
      const rows = await this.table.query().select(['path', 'content_hash', 'mtime_ms']).toArray();
      for (const r of rows) {
        const p = String(r.path);
        const s = m.get(p);
        if (s) s.chunks++;
        else m.set(p, { contentHash: String(r.content_hash), mtimeMs: Number(r.mtime_ms), chunks: 1 });
      }
    }
    this.files = m;
    return m;
  }

  /** State of one file in the bank (cached in memory after the first call), or null. */
  async fileState(p: string): Promise<FileState | null> {
    this.assertOpen();
    const s = (await this.fileCache()).get(p);
    return s ? { ...s } : null;
  }

  /** Every file in the bank with its state, sorted by path. */
  async listFiles(): Promise<Array<{ path: string } & FileState>> {
    this.assertOpen();
    return [...(await this.fileCache()).entries()]
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([p, s]) => ({ path: p, ...s }));
  }

  private toRows(p: string, contentHash: string, mtimeMs: number, chunks: CompressedChunk[]): Row[] {
    const { memorySlots: k, memoryDim: d } = this.meta;
    const seen = new Map<string, number>();
    return chunks.map((c) => {
      if (c.key.length !== d) throw new CmtError('BANK_PACK_MISMATCH', `key has ${c.key.length} floats, pack expects ${d}`);
      if (c.memory.length !== k * d) throw new CmtError('BANK_PACK_MISMATCH', `memory has ${c.memory.length} floats, pack expects ${k}x${d}`);
      const base = memoryId(p, c.startLine, c.endLine);
      const dup = seen.get(base) ?? 0;
      seen.set(base, dup + 1);
      const e = this.embedDim;
      if (e > 0 && c.emb && c.emb.length !== e) throw new CmtError('BANK_PACK_MISMATCH', `embedding has ${c.emb.length} floats, bank expects ${e}`);
      return {
        ...(this.hasTerms ? { terms: codeTerms(`${chunkHeader({ path: p, symbol: c.symbol })}\n${c.text}`) } : {}),
        ...(this.hasDefines ? { symbol: c.symbol ?? null, defines: c.defines?.length ? defineTerms(c.defines) : null } : {}),
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

  /**
   * Replace a file's memories in one commit (merge-insert on id, deleting the file's rows that
   * are not in the new set). Same contentHash as stored: no rewrite (only mtime is refreshed
   * when it changed). Empty `chunks` deletes the file. Returns whether rows were written.
   */
  upsertFile(p: string, contentHash: string, mtimeMs: number, chunks: CompressedChunk[]): Promise<boolean> {
    return this.serial(() => this._upsertFile(p, contentHash, mtimeMs, chunks));
  }

  private async _upsertFile(p: string, contentHash: string, mtimeMs: number, chunks: CompressedChunk[]): Promise<boolean> {
    const table = this.writable();
    const cache = await this.fileCache();
    const prev = cache.get(p);
    if (prev && prev.contentHash === contentHash && prev.chunks === chunks.length) {
      if (prev.mtimeMs !== mtimeMs) {
        await table.update({ where: `path = ${sqlString(p)}`, values: { mtime_ms: mtimeMs } });
        prev.mtimeMs = mtimeMs;
      }
      return false;
    }
    if (chunks.length === 0) {
      await this._deleteFile(p);
      return true;
    }
    const rows = this.toRows(p, contentHash, mtimeMs, chunks);
    await this.mergeFileRows(table, p, rows, !!prev);
    cache.set(p, { contentHash, mtimeMs, chunks: rows.length });
    this.pathIndex = null;
    this.ftsDirty = true;
    await this.indexIfDue(table);
    return true;
  }

  /**
   * Several files at once: files new to the bank are added in ONE commit (a commit per file costs
   * ~10 ms and a table version + fragment each, which made 10,000 small files slow and bloated);
   * files already in the bank go through upsertFile one by one. All-or-nothing for the new files.
   */
  upsertFiles(items: Array<{ path: string; contentHash: string; mtimeMs: number; chunks: CompressedChunk[] }>): Promise<void> {
    return this.serial(async () => {
      const table = this.writable();
      const cache = await this.fileCache();
      const fresh = items.filter((it) => !cache.has(it.path) && it.chunks.length > 0);
      const freshSet = new Set(fresh);
      const rows = fresh.flatMap((it) => this.toRows(it.path, it.contentHash, it.mtimeMs, it.chunks));
      if (rows.length > 0) {
        await table.add(lancedb.makeArrowTable(rows, { schema: MemoryBank.schemaFor(this.meta) }));
        for (const it of fresh) cache.set(it.path, { contentHash: it.contentHash, mtimeMs: it.mtimeMs, chunks: it.chunks.length });
        this.pathIndex = null;
        this.ftsDirty = true;
        await this.indexIfDue(table);
      }
      for (const it of items) if (!freshSet.has(it)) await this._upsertFile(it.path, it.contentHash, it.mtimeMs, it.chunks);
    });
  }

  private async mergeFileRows(table: lancedb.Table, p: string, rows: Row[], existed: boolean): Promise<void> {
    const data = lancedb.makeArrowTable(rows, { schema: MemoryBank.schemaFor(this.meta) });
    if (!existed) {
      await table.add(data);
      return;
    }
    await table
      .mergeInsert('id')
      .whenMatchedUpdateAll()
      .whenNotMatchedInsertAll()
      .whenNotMatchedBySourceDelete({ where: `path = ${sqlString(p)}` })
      .execute(data);
  }

  /** Remove a file's memories. Returns whether it had any. */
  deleteFile(p: string): Promise<boolean> {
    return this.serial(() => this._deleteFile(p));
  }

  private async _deleteFile(p: string): Promise<boolean> {
    const table = this.writable();
    const cache = await this.fileCache();
    if (!cache.has(p)) return false;
    await table.delete(`path = ${sqlString(p)}`);
    cache.delete(p);
    this.pathIndex = null;
    this.ftsDirty = true;
    return true;
  }

  /** Move a file's memories to a new path (ids follow), replacing whatever `to` held. */
  renameFile(from: string, to: string): Promise<boolean> {
    return this.serial(() => this._renameFile(from, to));
  }

  private async _renameFile(from: string, to: string): Promise<boolean> {
    const table = this.writable();
    if (from === to) return false;
    const cache = await this.fileCache();
    const st = cache.get(from);
    if (!st) return false;
    const rows = await table.query().where(`path = ${sqlString(from)}`).toArray();
    const records = rows.map((r) => this.toRecord(r));
    const moved = this.toRows(to, st.contentHash, st.mtimeMs, records);
    await this.mergeFileRows(table, to, moved, cache.has(to));
    cache.set(to, { ...st, chunks: moved.length });
    await table.delete(`path = ${sqlString(from)}`);
    cache.delete(from);
    this.pathIndex = null;
    this.ftsDirty = true;
    return true;
  }

  private toRecord(r: Row): MemoryRecord {
    return {
      id: String(r.id),
      path: String(r.path),
      startLine: Number(r.start_line),
      endLine: Number(r.end_line),
      text: String(r.text),
      contentHash: String(r.content_hash),
      mtimeMs: Number(r.mtime_ms),
      key: toFloat32(r.key),
      memory: bytesToFloats(r.memory as Uint8Array),
      ...(r.emb ? { emb: toFloat32(r.emb) } : {}),
      ...(typeof r.symbol === 'string' && r.symbol ? { symbol: r.symbol } : {}),
    };
  }

  /** A cosine vector query on `column`; with an ANN index on it, the index's search settings apply (exact search ignores them). */
  private vectorQuery(column: 'key' | 'emb', v: Float32Array, limit: number, exact = false): lancedb.VectorQuery {
    const q = this.table!.vectorSearch(Array.from(v)).column(column).distanceType('cosine').limit(limit);
    if (exact) return q.bypassVectorIndex();
    return this.vi.kind === 'ivf_pq' ? q.nprobes(this.vi.nprobes).refineFactor(this.vi.refineFactor) : q.nprobes(this.vi.nprobes).ef(Math.max(this.vi.ef, limit)).refineFactor(this.vi.refineFactor);
  }

  /** Nearest keys by cosine distance (exact; approximate beside exact on unindexed rows once the table has an ANN index). */
  async vectorSearch(key: Float32Array, limit: number, opts: { exact?: boolean } = {}): Promise<VectorHit[]> {
    this.assertOpen();
    if (key.length !== this.meta.memoryDim) throw new CmtError('BANK_PACK_MISMATCH', `query key has ${key.length} floats, pack expects ${this.meta.memoryDim}`);
    if (!this.table || limit <= 0) return [];
    const rows = await this.vectorQuery('key', key, limit, opts.exact).toArray();
    return rows.map((r) => ({ record: this.toRecord(r), distance: Number(r._distance) }));
  }

  /** Nearest chunks by the sentence embedder's cosine distance; [] when the table has no `emb` column. */
  async embedSearch(vec: Float32Array, limit: number, opts: { exact?: boolean } = {}): Promise<VectorHit[]> {
    this.assertOpen();
    if (!this.table || limit <= 0 || this.embedDim === 0) return [];
    if (vec.length !== this.embedDim) throw new CmtError('BANK_PACK_MISMATCH', `query embedding has ${vec.length} floats, bank expects ${this.embedDim}`);
    const rows = await this.vectorQuery('emb', vec, limit, opts.exact).toArray();
    return rows.map((r) => ({ record: this.toRecord(r), distance: Number(r._distance) }));
  }

  /** (Re)build the full-text index if writes happened since it was built. */
  refreshTextIndex(force = false): Promise<void> {
    return this.serial(() => this._refreshTextIndex(force));
  }

  private async _refreshTextIndex(force: boolean): Promise<void> {
    this.assertOpen();
    if (!this.table || this.readOnly) return;
    if (!this.ftsDirty && !force) return;
    if (!this.hasFts || (this.hasDefines && !this.hasDefFts)) {
      const idx = await this.table.listIndices();
      this.hasFts = ftsOn(idx, this.textColumn);
      this.hasDefFts = this.hasDefines && ftsOn(idx, 'defines');
    }
    if (!this.hasFts || force || (this.hasDefines && !this.hasDefFts)) {
      if ((await this.table.countRows()) === 0) return;
      if (!this.hasFts || force) {
        // `terms` is pre-split (codeTerms); the index lower-cases and stems (English) on top.
        const config = this.hasTerms
          ? lancedb.Index.fts({ withPosition: false, baseTokenizer: 'whitespace', lowercase: true, stem: process.env.CMT_FTS_STEM !== '0', language: 'English', removeStopWords: process.env.CMT_FTS_STOP !== '0', asciiFolding: true, maxTokenLength: 64 })
          : lancedb.Index.fts({ withPosition: false });
        await this.table.createIndex(this.textColumn, { config, replace: true });
        this.hasFts = true;
      }
      if (this.hasDefines && (!this.hasDefFts || force)) {
        // `defines` holds whole identifiers (defineTerms): matched as written, no stemming, no stop words.
        const config = lancedb.Index.fts({ withPosition: false, baseTokenizer: 'whitespace', lowercase: true, stem: false, removeStopWords: false, asciiFolding: true, maxTokenLength: 128 });
        await this.table.createIndex('defines', { config, replace: true });
        this.hasDefFts = true;
      }
    } else {
      // Fold new rows into the existing indexes (unindexed rows are still searched, just slower).
      // Not while an ANN index is being built: compaction would rewrite the fragments it indexes.
      if (this.indexBuild) return; // ftsDirty stays set: next time
      const st = await this.table.indexStats(`${this.textColumn}_idx`).catch(() => undefined);
      if (st && st.numUnindexedRows > 0) await this.table.optimize({ cleanupOlderThan: new Date(Date.now() - 7 * 24 * 3600 * 1000) });
    }
    this.ftsDirty = false;
  }

  /** Refreshes the full-text indexes before a search; a failure is logged, never thrown (see textSearch). */
  private async freshIndexesForSearch(): Promise<void> {
    try {
      await this.refreshTextIndex();
    } catch (e) {
      // Reading must not depend on writing: with the disk full (or the folder read-only) the index
      // cannot be rebuilt, but the existing index (unindexed rows included) can still be searched,
      // and without one the caller falls back to vector search. ftsDirty stays set: retried next time.
      this.log(`full-text index not refreshed: ${(e as Error).message}`);
    }
  }

  /**
   * The definition index: chunks that define a name the question mentions (questionDefTerms),
   * BM25 over the defined names. [] for banks written before the index existed.
   */
  async defSearch(query: string, limit: number): Promise<TextHit[]> {
    this.assertOpen();
    const q = questionDefTerms(query);
    if (!this.table || !this.hasDefines || !q || limit <= 0) return [];
    await this.freshIndexesForSearch();
    if (!this.hasDefFts) {
      this.hasDefFts = ftsOn(await this.table.listIndices(), 'defines');
      if (!this.hasDefFts) return [];
    }
    const rows = await this.table.query().fullTextSearch(new lancedb.MatchQuery(q, 'defines')).limit(limit).toArray();
    return rows.map((r) => ({ record: this.toRecord(r), score: Number(r._score) }));
  }

  /**
   * Files the question names (pathMentions), best first, and in each the chunks BM25 ranks for the
   * question (a named file with no matching term still gives its first chunk).
   */
  async pathSearch(query: string, limit: number): Promise<TextHit[]> {
    this.assertOpen();
    if (!this.table || limit <= 0) return [];
    this.pathIndex ??= new PathIndex((await this.fileCache()).keys());
    const files = this.pathIndex.mentions(query).slice(0, 3);
    if (files.length === 0) return [];
    await this.freshIndexesForSearch();
    const q = sanitizeFtsQuery(this.hasTerms ? codeTerms(query) : query);
    const out: TextHit[] = [];
    for (const f of files) {
      const where = `path = ${sqlString(f.path)}`;
      let rows = this.hasFts && q ? await this.table.query().fullTextSearch(new lancedb.MatchQuery(q, this.textColumn)).where(where).limit(limit).toArray() : [];
      if (rows.length === 0) rows = (await this.table.query().where(where).limit(64).toArray()).sort((a, b) => Number(a.start_line) - Number(b.start_line)).slice(0, 1);
      for (const r of rows) out.push({ record: this.toRecord(r), score: f.score * 1000 + Number(r._score ?? 0) });
      if (out.length >= limit) break;
    }
    return out.slice(0, limit);
  }

  /** BM25 full-text search over chunk text; the query is sanitised (punctuation can't break it). */
  async textSearch(query: string, limit: number): Promise<TextHit[]> {
    this.assertOpen();
    const q = sanitizeFtsQuery(this.hasTerms ? codeTerms(query) : query);
    if (!this.table || !q || limit <= 0) return [];
    await this.freshIndexesForSearch();
    if (!this.hasFts) {
      this.hasFts = ftsOn(await this.table.listIndices(), this.textColumn);
      if (!this.hasFts) return []; // read-only bank that was never indexed, or empty table
    }
    const rows = await this.table.query().fullTextSearch(new lancedb.MatchQuery(q, this.textColumn)).limit(limit).toArray();
    return rows.map((r) => ({ record: this.toRecord(r), score: Number(r._score) }));
  }

  /** Records by id, in the order asked (missing ids are left out). */
  async getMany(ids: string[]): Promise<MemoryRecord[]> {
    this.assertOpen();
    if (!this.table || ids.length === 0) return [];
    const byId = new Map<string, MemoryRecord>();
    for (let i = 0; i < ids.length; i += 256) {
      const part = ids.slice(i, i + 256);
      const rows = await this.table.query().where(`id IN (${part.map(sqlString).join(', ')})`).toArray();
      for (const r of rows) byId.set(String(r.id), this.toRecord(r));
    }
    return ids.map((id) => byId.get(id)).filter((r): r is MemoryRecord => !!r);
  }

  /** Every record of one file, in line order. */
  async recordsOf(filePath: string): Promise<MemoryRecord[]> {
    this.assertOpen();
    if (!this.table) return [];
    const rows = await this.table.query().where(`path = ${sqlString(filePath)}`).toArray();
    return rows.map((r) => this.toRecord(r)).sort((a, b) => a.startLine - b.startLine);
  }

  async countRows(): Promise<number> {
    this.assertOpen();
    return this.table ? this.table.countRows() : 0;
  }

  /** Rows, files, and bytes the table takes on disk (all versions; local banks) or in its manifest. */
  async stats(): Promise<BankStats> {
    this.assertOpen();
    const memories = await this.countRows();
    const files = (await this.fileCache()).size;
    let bytesOnDisk = 0;
    if (this.table) {
      if (isLocalUri(this.uri)) {
        const local = this.uri.startsWith('file://') ? new URL(this.uri).pathname : this.uri;
        bytesOnDisk = await dirSize(path.join(local, `${this.tableName}.lance`));
      }
      if (bytesOnDisk === 0) bytesOnDisk = (await this.table.stats()).totalBytes;
    }
    return { memories, files, bytesOnDisk };
  }

  /** Compact files and drop old versions (reclaims disk after many upserts). */
  compact(olderThan = new Date(Date.now() - 60_000)): Promise<void> {
    return this.serial(() => this._compact(olderThan));
  }

  private async _compact(olderThan: Date): Promise<void> {
    const table = this.writable();
    if (this.indexBuild) await this.indexBuild; // compaction rewrites the fragments an index build reads
    await table.optimize({ cleanupOlderThan: olderThan });
  }

  // -------------------------------------------------------------------------------------------
  // ANN indexes on the vector columns (VectorIndexOptions)

  /** The vector columns' ANN indexes (empty below minRows or while the first build runs). */
  async vectorIndexes(): Promise<VectorIndexInfo[]> {
    this.assertOpen();
    if (!this.table) return [];
    const out: VectorIndexInfo[] = [];
    for (const i of await this.table.listIndices()) {
      const column = i.columns[0];
      if (column !== 'key' && column !== 'emb') continue;
      const st = await this.table.indexStats(i.name).catch(() => undefined);
      out.push({ column, name: i.name, indexType: i.indexType, indexedRows: st?.numIndexedRows ?? 0, unindexedRows: st?.numUnindexedRows ?? 0 });
    }
    return out;
  }

  /** Whether a background ANN build is running. */
  get indexing(): boolean {
    return this.indexBuild !== null;
  }

  /** Resolves when no ANN build is running (the one in flight, if any, finished or failed: failures are logged). */
  async whenIndexed(): Promise<void> {
    while (this.indexBuild) await this.indexBuild;
  }

  /** After a write (inside serial()): starts the background ANN build when the table has grown to nextIndexAt rows. */
  private async indexIfDue(table: lancedb.Table): Promise<void> {
    if (this.indexBuild || this.readOnly || !(this.nextIndexAt < Infinity)) return;
    if ((await table.countRows()) >= this.nextIndexAt) this.kickVectorIndex();
  }

  /** Starts a background ANN build (it checks what is due first); never waits for it. */
  private kickVectorIndex(): void {
    if (this.readOnly || this.closed || !this.table || this.indexBuild || !(this.vi.minRows < Infinity)) return;
    this.indexBuild = this.buildVectorIndexes()
      .catch((e) => this.log(`vector index not built (searches stay exact; retried after the next write): ${(e as Error).message}`))
      .finally(() => {
        this.indexBuild = null;
      });
  }

  private indexConfig(column: 'key' | 'emb', rows: number): lancedb.Index {
    const dim = column === 'key' ? this.meta.memoryDim : this.embedDim;
    const numPartitions = Math.max(1, Math.round(rows / Math.max(1, this.vi.rowsPerPartition)));
    if (this.vi.kind === 'ivf_pq') {
      const numSubVectors = dim % 16 === 0 ? dim / 16 : dim % 8 === 0 ? dim / 8 : 1;
      return lancedb.Index.ivfPq({ distanceType: 'cosine', numPartitions: Math.max(numPartitions, Math.round(Math.sqrt(rows))), numSubVectors });
    }
    return lancedb.Index.hnswSq({ distanceType: 'cosine', numPartitions, efConstruction: this.vi.efConstruction });
  }

  private async buildVectorIndexes(): Promise<void> {
    // Its own connection and table handle: every call of the build (the checks, the training, the
    // commit of a new table version) runs there, so this bank's handle keeps serving queries
    // (exactly) and writes meanwhile, and close() on it never races the build.
    const db = await lancedb.connect(this.uri, this.connectOptions);
    let built = false;
    try {
      const t = await db.openTable(this.tableName);
      try {
        const rows = await t.countRows();
        if (rows < this.vi.minRows || rows === 0) return;
        const have = await t.listIndices();
        const todo: Array<'key' | 'emb'> = [];
        let indexed = Infinity;
        for (const column of this.vi.columns ?? [this.embedDim > 0 ? 'emb' : 'key']) {
          if (column === 'emb' && this.embedDim === 0) continue;
          const ix = have.find((i) => i.columns.includes(column) && i.indexType !== 'FTS');
          const st = ix ? await t.indexStats(ix.name).catch(() => undefined) : undefined;
          if (!ix || (st && st.numIndexedRows * this.vi.rebuildGrowth <= rows)) todo.push(column);
          else indexed = Math.min(indexed, st?.numIndexedRows ?? rows);
        }
        for (const column of todo) {
          if (this.closed) return;
          const t0 = performance.now();
          await t.createIndex(column, { config: this.indexConfig(column, rows), replace: true, name: `${column}_ann` });
          this.log(`vector index ${this.vi.kind} on ${column} built over ${rows} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
          built = true;
          indexed = Math.min(indexed, rows);
        }
        this.nextIndexAt = Math.max(this.vi.minRows, Math.ceil((indexed === Infinity ? rows : indexed) * this.vi.rebuildGrowth));
      } finally {
        t.close();
      }
    } finally {
      db.close();
    }
    // Switch this handle to the indexed version (not through serial(): _compact waits for this build there).
    if (built && !this.closed && this.table) {
      this.switching = this.table.checkoutLatest();
      try {
        await this.switching;
      } finally {
        this.switching = null;
      }
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const shut = () => {
      try {
        this.table?.close();
      } finally {
        this.db.close();
      }
    };
    // A handle switching to a freshly indexed version is closed once that call returns.
    if (this.switching) void this.switching.then(shut, shut);
    else shut();
  }
}

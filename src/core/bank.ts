// The memory bank: compressed chunks stored in LanceDB, one table per model pack, so memories made by
// one pack are never read with another and a bank folder can hold several packs side by side.
// MemoryBank is the table: per-file state, writes (bankWrites.ts; serialised per bank object),
// reads and the searches (bankSearch.ts; on object storage through a local replica, bankReplica.ts);
// bankStorage.ts opens it, bankSchema.ts lays its rows out, bankIndex.ts keeps its indexes.
import * as lancedb from '@lancedb/lancedb';
import type { Schema, Table as ArrowTable } from 'apache-arrow';
import { DEFAULT_TEXT_INDEX, DEFAULT_VECTOR_INDEX, stripUndefined, TextIndexer, TextIndexOptions, VectorIndexer, VectorIndexInfo, VectorIndexOptions } from './bankIndex';
import { BankMeta, decodeRow, FileState, PackTableInfo, readFileStates, rowsOf, schemaFor, searchColumns, sqlString, tableLayout, TableLayout, tableNameForPack } from './bankSchema';
import { BankSearch, SearchHow, TextHit, VectorHit } from './bankSearch';
import { deleteFile, FileItem, renameFile, upsertFile, upsertFiles, WriteTarget } from './bankWrites';
import { BankReplica, ReplicaSlot } from './bankReplica';
import { SharedBank } from './bankShared';
import { isLocalUri, listPackTables, localPath, openPackTable, tableBytes } from './bankStorage';
import { isObjectStoreUri } from './bankStore';
import { Serial } from './serial';
import { CmtError, CompressedChunk, Logger, MemoryRecord } from './types';

export { DEFAULT_VECTOR_INDEX, tableNameForPack };
export type { BankMeta, FileState, PackTableInfo, SearchHow, TextHit, TextIndexOptions, VectorHit, VectorIndexInfo, VectorIndexOptions };

export interface BankOpenOptions {
  /** Never create or write: a missing table reads as empty, writes throw BANK_UNAVAILABLE. */
  readOnly?: boolean;
  /** ANN indexes on the vector columns (see VectorIndexOptions). */
  vectorIndex?: Partial<VectorIndexOptions>;
  /** The full-text index (see TextIndexOptions; default: code-aware terms, stemmed, stop words left out). */
  textIndex?: Partial<TextIndexOptions>;
  /** Passed to lancedb.connect (e.g. storageOptions for s3://; bankStore.ts connectOptionsFor). */
  connectOptions?: Partial<lancedb.ConnectionOptions>;
  /** Other processes or machines write it too: writes under the writer lease (bankShared.ts; default: object-store URIs). */
  shared?: boolean;
  /** An object-store bank's local copy for reading (bankReplica.ts): its folder (default: none). */
  replicaDir?: string;
  /** Warnings (default: none are shown). */
  log?: Logger;
}

export interface BankStats {
  memories: number;
  files: number;
  bytesOnDisk: number;
}

export class MemoryBank {
  /** Width of this table's `emb` column (0: no embedder column). */
  readonly embedDim: number;
  /** The table has the code-aware `terms` column (full-text search runs on it, else on `text`). */
  readonly hasTerms: boolean;
  /** The table has the `symbol` and `defines` columns (the definition index; banks written before them have neither). */
  readonly hasDefines: boolean;
  private files: Map<string, FileState> | null = null; // lazily loaded cache of per-file state
  private closed = false;
  private readonly writes = new Serial(); // serialises writes on this bank object
  private readonly log: Logger;
  private readonly ann: VectorIndexer;
  private readonly fts: TextIndexer;
  private readonly search: BankSearch;
  /** This handle's checkoutLatest after an ANN build, while in flight (close() waits for it before closing). */
  private switching: Promise<unknown> | null = null;
  /** A bank other processes write too (null: this process is its only writer). */
  private shared: SharedBank | null = null;
  /** An object-store bank's local copy that reads use while it is current, opened at the first read (null: none). */
  private replica: ReplicaSlot | null = null;

  private constructor(
    private readonly db: lancedb.Connection,
    readonly uri: string,
    readonly tableName: string,
    /** The pack's table (null: a read-only bank that has none). */
    private readonly table: lancedb.Table | null,
    readonly readOnly: boolean,
    /** The table's columns (tables made before the embedder / terms / defines columns keep working without them). */
    readonly layout: TableLayout,
    opts: BankOpenOptions,
  ) {
    this.embedDim = layout.embedDim;
    this.hasTerms = layout.hasTerms;
    this.hasDefines = layout.hasDefines;
    this.log = opts.log ?? (() => undefined);
    const vi = { ...DEFAULT_VECTOR_INDEX, ...stripUndefined(opts.vectorIndex ?? {}) };
    const target = { uri, tableName, connectOptions: opts.connectOptions, memoryDim: layout.meta.memoryDim, embedDim: layout.embedDim, log: this.log };
    this.ann = new VectorIndexer(vi, { ...target, isClosed: () => this.closed, onBuilt: () => this.switchToLatest() });
    this.fts = new TextIndexer(this.textColumn, layout.hasDefines, { ...DEFAULT_TEXT_INDEX, ...stripUndefined(opts.textIndex ?? {}) });
    this.search = new BankSearch({
      table,
      layout,
      ann: this.ann,
      fts: this.fts,
      freshIndexes: () => this.freshIndexesForSearch(),
      filePaths: async () => (await this.fileCache()).keys(),
    });
  }

  /** Other machines may write this bank (object storage): writes take the writer lease. (A local bank's writes take a lock file.) */
  get isShared(): boolean {
    return this.shared?.onStore ?? false;
  }
  get meta(): BankMeta {
    return this.layout.meta;
  }

  /** Column of the full-text index. */
  get textColumn(): 'terms' | 'text' {
    return this.hasTerms ? 'terms' : 'text';
  }

  /** Arrow schema of a pack's table (metadata carries packId and dims). */
  static schemaFor(meta: BankMeta): Schema {
    return schemaFor(meta);
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
    const { db, table } = await openPackTable(uri, meta, { ...opts, shared: opts.shared ?? isObjectStoreUri(uri) });
    const name = tableNameForPack(meta.packId);
    const layout = await tableLayout(table, meta, opts.textIndex?.plainText ?? DEFAULT_TEXT_INDEX.plainText);
    if (table && (meta.embedDim ?? 0) > 0 && layout.embedDim === 0) {
      opts.log?.(`memory bank table ${name} has no ${meta.embedDim}-wide embedder column: sentence-embedder retrieval is off for it (memorize the files again into a new, empty bank to turn it on)`);
    }
    const bank = new MemoryBank(db, uri, name, table, readOnly, layout, opts);
    if (table) bank.shared = await SharedBank.attach(db, table, { onStore: opts.shared ?? isObjectStoreUri(uri), readOnly, localDir: isLocalUri(uri) ? localPath(uri) : null }, () => bank.foreignWrite());
    if (table && bank.shared?.onStore && opts.replicaDir) {
      const local = (dir: string) => MemoryBank.open(dir, meta, { textIndex: opts.textIndex, vectorIndex: opts.vectorIndex, log: opts.log, shared: false });
      const dir = opts.replicaDir;
      bank.replica = new ReplicaSlot(dir, () => BankReplica.open(dir, table, layout, local, bank.log));
    }
    // A bank reopened past the threshold gets its index (in the background). Small tables start
    // nothing in the background: only the row count is read, here, before open() returns.
    const minRows = bank.ann.options.minRows;
    if (table && !readOnly && minRows < Infinity && (await table.countRows().catch(() => 0)) >= minRows) bank.kickVectorIndex();
    return bank;
  }

  /** Every pack table in a bank folder, with its recorded pack and dims. */
  static listPacks(uri: string, connectOptions?: Partial<lancedb.ConnectionOptions>): Promise<PackTableInfo[]> {
    return listPackTables(uri, connectOptions);
  }

  /** Run `fn` after every earlier write on this object finished (writes never interleave; shared: under the writer lease). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.writes.run(() => (this.shared ? this.shared.write(fn) : fn()));
  }

  /** A read (shared banks: retried once on the latest version if another writer's cleanup removed its files). */
  private reading<T>(fn: () => Promise<T>): Promise<T> {
    this.assertOpen();
    return this.shared ? this.shared.read(fn) : fn();
  }

  /** Another process wrote the shared bank: the cached per-file state and the text index are stale. */
  private foreignWrite(): void {
    this.files = null;
    this.search.filesChanged();
    this.fts.markDirty();
  }

  private assertOpen(): void {
    if (this.closed) throw new CmtError('BANK_UNAVAILABLE', 'memory bank is closed');
  }

  private writable(): lancedb.Table {
    this.assertOpen();
    if (this.readOnly || !this.table) throw new CmtError('BANK_UNAVAILABLE', 'the memory bank is read-only here (--read-only / CMT_BANK_READ_ONLY / cmtMemory.bankReadOnly): memorize and forget need a writable bank');
    return this.table;
  }

  private async fileCache(): Promise<Map<string, FileState>> {
    await this.shared?.fresh();
    this.files ??= this.table ? await readFileStates(this.table) : new Map<string, FileState>();
    return this.files;
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

  /** What a per-file write (bankWrites.ts) works on; call inside serial(). */
  private async target(): Promise<WriteTarget> {
    const table = this.writable();
    const files = await this.fileCache();
    return {
      table,
      layout: this.layout,
      files,
      changed: async (grew) => {
        this.search.filesChanged();
        this.fts.markDirty();
        if (grew) await this.indexIfDue(table);
      },
    };
  }

  /** Replace a file's memories in one commit (bankWrites.ts upsertFile). Empty `chunks` deletes the file. Returns whether rows were written. */
  upsertFile(p: string, contentHash: string, mtimeMs: number, chunks: CompressedChunk[]): Promise<boolean> {
    return this.serial(async () => upsertFile(await this.target(), { path: p, contentHash, mtimeMs, chunks }));
  }

  /** Several files at once: the new ones in one commit (bankWrites.ts upsertFiles). */
  upsertFiles(items: FileItem[]): Promise<void> {
    return this.serial(async () => upsertFiles(await this.target(), items));
  }

  /** Remove a file's memories. Returns whether it had any. */
  deleteFile(p: string): Promise<boolean> {
    return this.serial(async () => deleteFile(await this.target(), p));
  }

  /** Move a file's memories to a new path (ids follow), replacing whatever `to` held. */
  renameFile(from: string, to: string): Promise<boolean> {
    return this.serial(async () => renameFile(await this.target(), from, to));
  }

  // ---- searches (bankSearch.ts) ------------------------------------------------------------
  /** A read from the local replica when it holds the version this bank is at (object storage; bankReplica.ts), else from the table. */
  private async read<T>(fromReplica: (r: MemoryBank) => Promise<T>, fromTable: () => Promise<T>): Promise<T> {
    const replica = this.replica && this.shared ? await this.replica.get() : null;
    const r = replica ? (this.assertOpen(), replica.at(await this.shared!.latest())) : null;
    if (r) {
      try {
        return await fromReplica(r);
      } catch (e) {
        replica!.failed(e); // (a damaged copy: copied again; this read goes to the store)
      }
    }
    return this.reading(fromTable);
  }

  /** Nearest keys by cosine distance (exact; approximate beside exact on unindexed rows once the table has an ANN index). */
  async vectorSearch(key: Float32Array, limit: number, opts: SearchHow = {}): Promise<VectorHit[]> {
    return this.read((r) => r.vectorSearch(key, limit, opts), () => this.search.vector(key, limit, opts.exact, opts.idsOnly));
  }

  /** Nearest chunks by the sentence embedder's cosine distance; [] when the table has no `emb` column. */
  async embedSearch(vec: Float32Array, limit: number, opts: SearchHow = {}): Promise<VectorHit[]> {
    return this.read((r) => r.embedSearch(vec, limit, opts), () => this.search.embed(vec, limit, opts.exact, opts.idsOnly));
  }

  /** The definition index: chunks that define a name the question mentions. [] for banks written before it existed. */
  async defSearch(query: string, limit: number, opts: SearchHow = {}): Promise<TextHit[]> {
    return this.read((r) => r.defSearch(query, limit, opts), () => this.search.definitions(query, limit, opts.idsOnly));
  }

  /** Files the question names, best first, and in each the chunks BM25 ranks for the question. */
  async pathSearch(query: string, limit: number): Promise<TextHit[]> {
    return this.read((r) => r.pathSearch(query, limit), () => this.search.paths(query, limit));
  }

  /** BM25 full-text search over chunk text; the query is sanitised (punctuation can't break it). */
  async textSearch(query: string, limit: number, opts: SearchHow = {}): Promise<TextHit[]> {
    return this.read((r) => r.textSearch(query, limit, opts), () => this.search.text(query, limit, opts.idsOnly));
  }

  /** (Re)build the full-text index if writes happened since it was built. */
  async refreshTextIndex(force = false): Promise<void> {
    if (!force && !this.fts.due) return; // (a shared bank's lease is taken only when there is work)
    return this.serial(async () => {
      this.assertOpen();
      if (!this.table || this.readOnly) return;
      await this.refreshText(this.table, force);
    });
  }

  private refreshText(table: lancedb.Table, force = false): Promise<void> {
    return this.fts.refresh(table, force, this.ann.building);
  }

  /** Refreshes the full-text indexes before a search; a failure is logged, never thrown (see textSearch). */
  private async freshIndexesForSearch(): Promise<void> {
    try {
      await this.refreshTextIndex();
    } catch (e) {
      // Reading must not depend on writing: with the disk full (or the folder read-only) the index
      // cannot be rebuilt, but the existing index (unindexed rows included) can still be searched,
      // and without one the caller falls back to vector search. The refresh stays due: retried next time.
      this.log(`full-text index not refreshed: ${(e as Error).message}`);
    }
  }

  /** Records by id, in the order asked (missing ids are left out). */
  async getMany(ids: string[], columns?: string[]): Promise<MemoryRecord[]> {
    return this.read((r) => r.getMany(ids, columns), async () => {
      const table = this.table;
      const byId = new Map<string, MemoryRecord>();
      for (let i = 0; table && i < ids.length; i += 256) {
        const where = `id IN (${ids.slice(i, i + 256).map(sqlString).join(', ')})`;
        for (const r of await rowsOf(columns ? table.query().where(where).select(columns) : table.query().where(where))) byId.set(String(r.id), decodeRow(r));
      }
      return ids.map((id) => byId.get(id)).filter((r): r is MemoryRecord => !!r);
    });
  }

  /** `records` with what an answer reads (text, lines, memory slots; not the key or embedding): searches leave the vectors (and, idsOnly, all but id and path) in the store. */
  async withMemory(records: MemoryRecord[]): Promise<MemoryRecord[]> {
    const full = new Map((await this.getMany(records.filter((r) => r.memory.length === 0).map((r) => r.id), [...searchColumns(this.layout), 'memory'])).map((r) => [r.id, r]));
    return records.map((r) => full.get(r.id) ?? r);
  }

  /** Every record of one file, in line order. */
  async recordsOf(filePath: string): Promise<MemoryRecord[]> {
    const table = this.table;
    const rows = await this.read((r) => r.recordsOf(filePath), async () => (table ? (await rowsOf(table.query().where(`path = ${sqlString(filePath)}`))).map(decodeRow) : []));
    return rows.sort((a, b) => a.startLine - b.startLine);
  }

  /**
   * A replica's update (bankReplica.ts), under this bank's write lock: `plan` gets the files as they
   * are now and says which to drop and which rows to add (another bank's, as they are).
   */
  replicate(plan: (have: ReadonlyMap<string, FileState>) => { drop: string[]; add: AsyncIterable<ArrowTable> }): Promise<void> {
    return this.serial(async () => {
      const table = this.writable();
      const { drop, add } = plan(await this.fileCache());
      for (let i = 0; i < drop.length; i += 256) await table.delete(`path IN (${drop.slice(i, i + 256).map(sqlString).join(', ')})`);
      for await (const rows of add) if (rows.numRows > 0) await table.add(rows);
      this.foreignWrite();
      await this.indexIfDue(table);
      await this.refreshText(table);
    });
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
    const bytesOnDisk = this.table ? await tableBytes(this.uri, this.table, this.tableName) : 0;
    return { memories, files, bytesOnDisk };
  }

  /** Compact files and drop old versions (reclaims disk after many upserts). */
  compact(olderThan = new Date(Date.now() - 60_000)): Promise<void> {
    return this.serial(() => this._compact(olderThan));
  }

  private async _compact(olderThan: Date): Promise<void> {
    const table = this.writable();
    const build = this.ann.inFlight;
    if (build) await build; // compaction rewrites the fragments an index build reads
    await table.optimize({ cleanupOlderThan: olderThan });
  }

  // -------------------------------------------------------------------------------------------
  // ANN indexes on the vector columns (VectorIndexOptions, bankIndex.ts)

  /** The vector columns' ANN indexes (empty below minRows or while the first build runs). */
  async vectorIndexes(): Promise<VectorIndexInfo[]> {
    this.assertOpen();
    return this.table ? this.ann.list(this.table) : [];
  }

  /** The local replica of an object-store bank (bankReplica.ts): its folder, the store version it holds, the reads it served; null when there is none. */
  get replicaState(): { dir: string; version: number | null; reads: number } | null {
    return this.replica?.state ?? null;
  }

  /** Resolves when the replica's sync in flight (if any) is done: it then serves the reads, until the store moves on. */
  async whenReplicated(): Promise<void> {
    await this.replica?.idle();
  }

  /** Whether a background ANN build is running. */
  get indexing(): boolean {
    return this.ann.building;
  }

  /** Resolves when no ANN build is running (the one in flight, if any, finished or failed: failures are logged). */
  whenIndexed(): Promise<void> {
    return this.ann.whenIdle();
  }

  /** After a write (inside serial()): starts the background ANN build when the table has grown to the rows it is due at. */
  private async indexIfDue(table: lancedb.Table): Promise<void> {
    if (!this.readOnly && (await this.ann.due(table))) this.kickVectorIndex();
  }

  /** Starts a background ANN build (it checks what is due first); never waits for it. */
  private kickVectorIndex(): void {
    if (this.readOnly || this.closed || !this.table) return;
    this.ann.kick();
  }

  /** After an ANN build: this handle moves to the indexed version (not through serial(): _compact waits for the build there). */
  private async switchToLatest(): Promise<void> {
    if (this.closed || !this.table) return;
    this.switching = this.table.checkoutLatest();
    try {
      await this.switching;
    } finally {
      this.switching = null;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const shut = () => {
      try {
        this.shared?.close();
        this.replica?.close();
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

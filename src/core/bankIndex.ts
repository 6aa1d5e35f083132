// The memory bank's indexes, kept by bank.ts: the approximate nearest-neighbour (ANN) indexes on the
// vector columns, built in the background once a table is large (VectorIndexer), and the full-text
// indexes, BM25 over the chunks' terms and over the names they define (TextIndexer).
import * as lancedb from '@lancedb/lancedb';
import type { Logger } from './types';

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

/**
 * The full-text index over the chunks (BM25). The defaults are what the engine ships; the switches
 * are for A/B measurements (docs/cli.md, "Environment": CMT_PLAIN_FTS, CMT_FTS_STEM, CMT_FTS_STOP).
 */
export interface TextIndexOptions {
  /** Index and search the raw `text`, not the code-aware `terms` (codeTerms) (default false; tables without a `terms` column always do). */
  plainText: boolean;
  /** Stem the terms, English (default true). */
  stem: boolean;
  /** Leave English stop words out of the index (default true). */
  removeStopWords: boolean;
}

export const DEFAULT_TEXT_INDEX: TextIndexOptions = { plainText: false, stem: true, removeStopWords: true };

/** `x` without its undefined fields (so they do not override defaults when spread). */
export function stripUndefined<T extends object>(x: T): Partial<T> {
  return Object.fromEntries(Object.entries(x).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Whether `column` has a full-text index among a table's indexes. */
function ftsOn(indexes: Awaited<ReturnType<lancedb.Table['listIndices']>>, column: string): boolean {
  return indexes.some((i) => i.columns.includes(column) && i.indexType === 'FTS');
}

// ---------------------------------------------------------------------------------------------
// ANN indexes on the vector columns

/** The table a VectorIndexer indexes, and what it tells its bank. */
export interface IndexTarget {
  uri: string;
  tableName: string;
  connectOptions?: Partial<lancedb.ConnectionOptions>;
  memoryDim: number;
  /** Width of the table's `emb` column (0: none). */
  embedDim: number;
  log: Logger;
  /** The bank was closed: a build stops before its next column. */
  isClosed(): boolean;
  /** A build committed a new index: the bank switches its handle to the indexed version. */
  onBuilt(): Promise<void>;
}

/** Builds the ANN indexes (VectorIndexOptions) in the background and tunes the vector queries for them. */
export class VectorIndexer {
  /** The background build in flight (null: none). */
  private build: Promise<void> | null = null;
  /** Rows at which the next build is due (minRows, then rebuildGrowth x the rows last indexed). */
  private nextAt: number;

  constructor(
    readonly options: VectorIndexOptions,
    private readonly target: IndexTarget,
  ) {
    this.nextAt = options.minRows;
  }

  /** Whether a background build is running. */
  get building(): boolean {
    return this.build !== null;
  }

  /** The build in flight, if any (compaction waits for it: it rewrites the fragments a build reads). */
  get inFlight(): Promise<void> | null {
    return this.build;
  }

  /** Resolves when no build is running (the one in flight, if any, finished or failed: failures are logged). */
  async whenIdle(): Promise<void> {
    while (this.build) await this.build;
  }

  /** After a write: whether the table has grown to the rows at which the next build is due. */
  async due(table: lancedb.Table): Promise<boolean> {
    if (this.build || !(this.nextAt < Infinity)) return false;
    return (await table.countRows()) >= this.nextAt;
  }

  /** Starts a background build (it checks what is due first); never waits for it. */
  kick(): void {
    if (this.build || !(this.options.minRows < Infinity)) return;
    this.build = this.buildAll()
      .catch((e) => this.target.log(`vector index not built (searches stay exact; retried after the next write): ${(e as Error).message}`))
      .finally(() => {
        this.build = null;
      });
  }

  /** A cosine vector query with the index's search settings (exact: the index is bypassed). */
  tune(q: lancedb.VectorQuery, limit: number, exact: boolean): lancedb.VectorQuery {
    const vi = this.options;
    if (exact) return q.bypassVectorIndex();
    return vi.kind === 'ivf_pq' ? q.nprobes(vi.nprobes).refineFactor(vi.refineFactor) : q.nprobes(vi.nprobes).ef(Math.max(vi.ef, limit)).refineFactor(vi.refineFactor);
  }

  /** The vector columns' ANN indexes of `table`. */
  async list(table: lancedb.Table): Promise<VectorIndexInfo[]> {
    const out: VectorIndexInfo[] = [];
    for (const i of await table.listIndices()) {
      const column = i.columns[0];
      if (column !== 'key' && column !== 'emb') continue;
      const st = await table.indexStats(i.name).catch(() => undefined);
      out.push({ column, name: i.name, indexType: i.indexType, indexedRows: st?.numIndexedRows ?? 0, unindexedRows: st?.numUnindexedRows ?? 0 });
    }
    return out;
  }

  private config(column: 'key' | 'emb', rows: number): lancedb.Index {
    const vi = this.options;
    const dim = column === 'key' ? this.target.memoryDim : this.target.embedDim;
    const numPartitions = Math.max(1, Math.round(rows / Math.max(1, vi.rowsPerPartition)));
    if (vi.kind === 'ivf_pq') {
      const numSubVectors = dim % 16 === 0 ? dim / 16 : dim % 8 === 0 ? dim / 8 : 1;
      return lancedb.Index.ivfPq({ distanceType: 'cosine', numPartitions: Math.max(numPartitions, Math.round(Math.sqrt(rows))), numSubVectors });
    }
    return lancedb.Index.hnswSq({ distanceType: 'cosine', numPartitions, efConstruction: vi.efConstruction });
  }

  private async buildAll(): Promise<void> {
    // Its own connection and table handle: every call of the build (the checks, the training, the
    // commit of a new table version) runs there, so the bank's handle keeps serving queries
    // (exactly) and writes meanwhile, and closing the bank never races the build.
    const db = await lancedb.connect(this.target.uri, this.target.connectOptions);
    let built = false;
    try {
      const t = await db.openTable(this.target.tableName);
      try {
        built = await this.buildOn(t);
      } finally {
        t.close();
      }
    } finally {
      db.close();
    }
    if (built) await this.target.onBuilt();
  }

  /** Builds the indexes that are due on `t`; whether one was built. */
  private async buildOn(t: lancedb.Table): Promise<boolean> {
    const vi = this.options;
    const rows = await t.countRows();
    if (rows < vi.minRows || rows === 0) return false;
    const have = await t.listIndices();
    const todo: Array<'key' | 'emb'> = [];
    let indexed = Infinity;
    for (const column of vi.columns ?? [this.target.embedDim > 0 ? 'emb' : 'key']) {
      if (column === 'emb' && this.target.embedDim === 0) continue;
      const ix = have.find((i) => i.columns.includes(column) && i.indexType !== 'FTS');
      const st = ix ? await t.indexStats(ix.name).catch(() => undefined) : undefined;
      if (!ix || (st && st.numIndexedRows * vi.rebuildGrowth <= rows)) todo.push(column);
      else indexed = Math.min(indexed, st?.numIndexedRows ?? rows);
    }
    let built = false;
    for (const column of todo) {
      if (this.target.isClosed()) return built;
      const t0 = performance.now();
      await t.createIndex(column, { config: this.config(column, rows), replace: true, name: `${column}_ann` });
      this.target.log(`vector index ${vi.kind} on ${column} built over ${rows} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      built = true;
      indexed = Math.min(indexed, rows);
    }
    this.nextAt = Math.max(vi.minRows, Math.ceil((indexed === Infinity ? rows : indexed) * vi.rebuildGrowth));
    return built;
  }
}

// ---------------------------------------------------------------------------------------------
// Full-text indexes

/** The full-text indexes of one table: on its terms (or text) column and on `defines`, refreshed after writes. */
export class TextIndexer {
  /** Writes happened since the indexes were last refreshed. */
  private dirty = true;
  private hasText = false;
  private hasDefs = false;

  constructor(
    /** Column of the full-text index: `terms`, or `text` (plainText, or a table without `terms`). */
    readonly column: 'terms' | 'text',
    /** The table has the `defines` column (the definition index). */
    private readonly hasDefines: boolean,
    private readonly options: TextIndexOptions,
  ) {}

  /** Whether the text column was indexed when last looked at (search falls back otherwise). */
  get textIndexed(): boolean {
    return this.hasText;
  }

  markDirty(): void {
    this.dirty = true;
  }

  /** Writes happened since the last refresh. */
  get due(): boolean {
    return this.dirty;
  }

  /** Whether the text column has its index (looked up again when it had none). */
  async hasTextIndex(table: lancedb.Table): Promise<boolean> {
    if (!this.hasText) this.hasText = ftsOn(await table.listIndices(), this.column);
    return this.hasText;
  }

  /** Whether `defines` has its index (looked up again when it had none; false for tables without it). */
  async hasDefinesIndex(table: lancedb.Table): Promise<boolean> {
    if (!this.hasDefines) return false;
    if (!this.hasDefs) this.hasDefs = ftsOn(await table.listIndices(), 'defines');
    return this.hasDefs;
  }

  /**
   * (Re)builds the indexes if writes happened since (or `force`), else folds new rows into them;
   * not while an ANN index is being built (`annBuilding`): compaction would rewrite the fragments
   * it indexes, and the refresh stays due.
   */
  async refresh(table: lancedb.Table, force: boolean, annBuilding: boolean): Promise<void> {
    if (!this.dirty && !force) return;
    if (!this.hasText || (this.hasDefines && !this.hasDefs)) {
      const idx = await table.listIndices();
      this.hasText = ftsOn(idx, this.column);
      this.hasDefs = this.hasDefines && ftsOn(idx, 'defines');
    }
    if (!this.hasText || force || (this.hasDefines && !this.hasDefs)) {
      if ((await table.countRows()) === 0) return;
      if (!this.hasText || force) {
        await table.createIndex(this.column, { config: this.textConfig(), replace: true });
        this.hasText = true;
      }
      if (this.hasDefines && (!this.hasDefs || force)) {
        // `defines` holds whole identifiers (defineTerms): matched as written, no stemming, no stop words.
        const config = lancedb.Index.fts({ withPosition: false, baseTokenizer: 'whitespace', lowercase: true, stem: false, removeStopWords: false, asciiFolding: true, maxTokenLength: 128 });
        await table.createIndex('defines', { config, replace: true });
        this.hasDefs = true;
      }
    } else {
      // Fold new rows into the existing indexes (unindexed rows are still searched, just slower).
      if (annBuilding) return; // dirty stays set: next time
      const st = await table.indexStats(`${this.column}_idx`).catch(() => undefined);
      if (st && st.numUnindexedRows > 0) await table.optimize({ cleanupOlderThan: new Date(Date.now() - 7 * 24 * 3600 * 1000) });
    }
    this.dirty = false;
  }

  private textConfig(): lancedb.Index {
    // `terms` is pre-split (codeTerms); the index lower-cases and stems (English) on top.
    if (this.column !== 'terms') return lancedb.Index.fts({ withPosition: false });
    const { stem, removeStopWords } = this.options;
    return lancedb.Index.fts({ withPosition: false, baseTokenizer: 'whitespace', lowercase: true, stem, language: 'English', removeStopWords, asciiFolding: true, maxTokenLength: 64 });
  }
}

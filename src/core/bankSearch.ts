// The memory bank's searches, one per retriever that reads the table (match.ts fuses them): the
// nearest CMT keys and sentence embeddings (cosine), BM25 over the chunks' terms, the definition
// index, and the files a question names. Read-only: MemoryBank owns the table, checks it is open,
// and keeps the indexes fresh (bankIndex.ts) before a full-text search.
import * as lancedb from '@lancedb/lancedb';
import type { TextIndexer, VectorIndexer } from './bankIndex';
import { decodeRow, rowsOf, searchColumns, sqlString, TableLayout } from './bankSchema';
import { PathIndex, questionDefTerms } from './names';
import { codeTerms, sanitizeFtsQuery } from './terms';
import { CmtError, MemoryRecord } from './types';

export interface VectorHit {
  record: MemoryRecord;
  distance: number; // cosine distance (0 = same direction)
}

export interface TextHit {
  record: MemoryRecord;
  score: number; // BM25 score (higher is better)
}

/** What the searches read: the bank's table (null: none yet), how it is laid out and indexed. */
export interface SearchSource {
  table: lancedb.Table | null;
  layout: TableLayout;
  ann: VectorIndexer;
  fts: TextIndexer;
  /** Refreshes the full-text indexes before a search; a failure is logged, never thrown. */
  freshIndexes(): Promise<void>;
  /** The paths of the bank's files. */
  filePaths(): Promise<Iterable<string>>;
}

/** exact: bypass the ANN index; idsOnly: a hit carries only its id and path (then MemoryBank.withMemory reads the picked rows). */
export type SearchHow = { exact?: boolean; idsOnly?: boolean };

export class BankSearch {
  /** The file names of the bank, indexed for paths() (rebuilt after a file is added, removed or renamed). */
  private pathIndex: PathIndex | null = null;

  constructor(private readonly src: SearchSource) {}

  /** What a search reads of each hit (bankSchema.ts searchColumns: no vectors). */
  private get columns(): string[] {
    return searchColumns(this.src.layout);
  }

  /** idsOnly: a hit is its id and path (match() fuses on those, then reads the few picked rows: MemoryBank.complete). */
  private cols(idsOnly: boolean): string[] {
    return idsOnly ? ['id', 'path'] : this.columns;
  }

  private get textColumn(): 'terms' | 'text' {
    return this.src.fts.column;
  }

  /** The bank's files changed: the file-name index is rebuilt at the next path search. */
  filesChanged(): void {
    this.pathIndex = null;
  }

  /** A cosine vector query on `column`; with an ANN index on it, the index's search settings apply (exact search ignores them). */
  private async nearest(table: lancedb.Table, column: 'key' | 'emb', v: Float32Array, limit: number, exact = false, idsOnly = false): Promise<VectorHit[]> {
    const q = this.src.ann.tune(table.vectorSearch(Array.from(v)).column(column).distanceType('cosine').select([...this.cols(idsOnly), '_distance']).limit(limit), limit, exact);
    const rows = await rowsOf(q);
    return rows.map((r) => ({ record: decodeRow(r), distance: Number(r._distance) }));
  }

  /** Nearest keys by cosine distance (exact; approximate beside exact on unindexed rows once the table has an ANN index). */
  async vector(key: Float32Array, limit: number, exact?: boolean, idsOnly?: boolean): Promise<VectorHit[]> {
    const { table, layout } = this.src;
    const d = layout.meta.memoryDim;
    if (key.length !== d) throw new CmtError('BANK_PACK_MISMATCH', `query key has ${key.length} floats, pack expects ${d}`);
    if (!table || limit <= 0) return [];
    return this.nearest(table, 'key', key, limit, exact, idsOnly);
  }

  /** Nearest chunks by the sentence embedder's cosine distance; [] when the table has no `emb` column. */
  async embed(vec: Float32Array, limit: number, exact?: boolean, idsOnly?: boolean): Promise<VectorHit[]> {
    const { table, layout } = this.src;
    if (!table || limit <= 0 || layout.embedDim === 0) return [];
    if (vec.length !== layout.embedDim) throw new CmtError('BANK_PACK_MISMATCH', `query embedding has ${vec.length} floats, bank expects ${layout.embedDim}`);
    return this.nearest(table, 'emb', vec, limit, exact, idsOnly);
  }

  /**
   * The definition index: chunks that define a name the question mentions (questionDefTerms),
   * BM25 over the defined names. [] for banks written before the index existed.
   */
  async definitions(query: string, limit: number, idsOnly = false): Promise<TextHit[]> {
    const { table, layout, fts } = this.src;
    const q = questionDefTerms(query);
    if (!table || !layout.hasDefines || !q || limit <= 0) return [];
    await this.src.freshIndexes();
    if (!(await fts.hasDefinesIndex(table))) return [];
    const rows = await rowsOf(table.query().fullTextSearch(new lancedb.MatchQuery(q, 'defines')).select([...this.cols(idsOnly), '_score']).limit(limit));
    return rows.map((r) => ({ record: decodeRow(r), score: Number(r._score) }));
  }

  /**
   * Files the question names (pathMentions), best first, and in each the chunks BM25 ranks for the
   * question (a named file with no matching term still gives its first chunk).
   */
  async paths(query: string, limit: number): Promise<TextHit[]> {
    const { table, fts } = this.src;
    if (!table || limit <= 0) return [];
    this.pathIndex ??= new PathIndex(await this.src.filePaths());
    const files = this.pathIndex.mentions(query).slice(0, 3);
    if (files.length === 0) return [];
    await this.src.freshIndexes();
    const q = this.ftsQuery(query);
    const out: TextHit[] = [];
    for (const f of files) {
      const where = `path = ${sqlString(f.path)}`;
      let rows = fts.textIndexed && q ? await rowsOf(table.query().fullTextSearch(new lancedb.MatchQuery(q, this.textColumn)).where(where).select([...this.columns, '_score']).limit(limit)) : [];
      if (rows.length === 0) rows = (await rowsOf(table.query().where(where).select(this.columns).limit(64))).sort((a, b) => Number(a.start_line) - Number(b.start_line)).slice(0, 1);
      for (const r of rows) out.push({ record: decodeRow(r), score: f.score * 1000 + Number(r._score ?? 0) });
      if (out.length >= limit) break;
    }
    return out.slice(0, limit);
  }

  /** BM25 full-text search over chunk text; the query is sanitised (punctuation can't break it). */
  async text(query: string, limit: number, idsOnly = false): Promise<TextHit[]> {
    const { table, fts } = this.src;
    const q = this.ftsQuery(query);
    if (!table || !q || limit <= 0) return [];
    await this.src.freshIndexes();
    if (!(await fts.hasTextIndex(table))) return []; // read-only bank that was never indexed, or empty table
    const rows = await rowsOf(table.query().fullTextSearch(new lancedb.MatchQuery(q, this.textColumn)).select([...this.cols(idsOnly), '_score']).limit(limit));
    return rows.map((r) => ({ record: decodeRow(r), score: Number(r._score) }));
  }

  /** A question as full-text query terms: code-aware like the indexed `terms` (else as written), sanitised. */
  private ftsQuery(query: string): string {
    return sanitizeFtsQuery(this.src.layout.hasTerms ? codeTerms(query) : query);
  }
}

// Picks the memories for a question: vector search on keys, optionally fused with full-text
// search by reciprocal rank fusion (RRF, k = 60), deduplicated by id.
import type { MemoryBank } from './bank';
import type { MatchedMemory, MemoryRecord } from './types';

export interface MatchOptions {
  topK: number;
  /** Fuse full-text search with vector search (default true). */
  hybrid?: boolean;
  /** Candidates fetched from each search (default max(4*topK, 20)). */
  candidates?: number;
  /** RRF constant (default 60). */
  rrfK?: number;
}

export interface MatchQuery {
  key: Float32Array;
  text: string;
}

/** The part of MemoryBank that match() uses (so tests can fake it). */
export type MatchSource = Pick<MemoryBank, 'vectorSearch' | 'textSearch'>;

export const RRF_K = 60;

/**
 * Reciprocal rank fusion of ranked lists of records: score(id) = sum over lists of 1/(k + rank).
 * Ties break by best single rank, then by vector rank, then by id, so the order is deterministic.
 */
export function rrfFuse(
  vectorList: MemoryRecord[],
  textList: MemoryRecord[],
  topK: number,
  k = RRF_K,
): MatchedMemory[] {
  const byId = new Map<string, MatchedMemory>();
  const add = (list: MemoryRecord[], which: 'vectorRank' | 'textRank') => {
    let rank = 0;
    for (const rec of list) {
      let m = byId.get(rec.id);
      if (m && m[which] !== undefined) continue; // duplicate within one list: keep the best rank
      rank++;
      if (!m) {
        m = { record: rec, score: 0 };
        byId.set(rec.id, m);
      }
      m[which] = rank;
      m.score += 1 / (k + rank);
    }
  };
  add(vectorList, 'vectorRank');
  add(textList, 'textRank');
  const best = (m: MatchedMemory) => Math.min(m.vectorRank ?? Infinity, m.textRank ?? Infinity);
  return [...byId.values()]
    .sort(
      (a, b) =>
        b.score - a.score ||
        best(a) - best(b) ||
        (a.vectorRank ?? Infinity) - (b.vectorRank ?? Infinity) ||
        (a.record.id < b.record.id ? -1 : a.record.id > b.record.id ? 1 : 0),
    )
    .slice(0, Math.max(0, topK));
}

/** Top-K memories for a question (see rrfFuse). Without hybrid, scores are the cosine similarity. */
export async function match(bank: MatchSource, q: MatchQuery, opts: MatchOptions): Promise<MatchedMemory[]> {
  const topK = Math.max(0, Math.floor(opts.topK));
  if (topK === 0) return [];
  const hybrid = opts.hybrid !== false;
  const candidates = Math.max(opts.candidates ?? Math.max(4 * topK, 20), topK);
  if (!hybrid) {
    const hits = await bank.vectorSearch(q.key, topK);
    const seen = new Set<string>();
    const out: MatchedMemory[] = [];
    for (const h of hits) {
      if (seen.has(h.record.id)) continue;
      seen.add(h.record.id);
      out.push({ record: h.record, score: 1 - h.distance, vectorRank: out.length + 1 });
    }
    return out;
  }
  const [vec, txt] = await Promise.all([
    bank.vectorSearch(q.key, candidates),
    q.text.trim() ? bank.textSearch(q.text, candidates) : Promise.resolve([]),
  ]);
  return rrfFuse(
    vec.map((h) => h.record),
    txt.map((h) => h.record),
    topK,
    opts.rrfK ?? RRF_K,
  );
}

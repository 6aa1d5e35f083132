// Picks the memories for a question: up to three retrievers — the CMT self-matching keys
// (`key`), the pack's sentence embedder (`emb`, packs with an embedder; embed.ts) and BM25
// full-text search over code-aware terms (`text`) — fused by weighted reciprocal rank fusion:
// score(id) = Σ_r w_r / (k + rank_r). The weights and k come from the pack's `retrieval` section,
// fitted on dev splits by `cmt eval --retrieval-only --fit` (src/eval/retrieval.ts), so a weak
// retriever gets little weight; a weight of 0 skips that search. Without a `retrieval` section
// every retriever weighs 1 with k = 60 (plain RRF, the previous behaviour).
// Optional BM25 confidence gate (`textGate`): when BM25's top hit scores at least textGate times
// the best hit of any other file, that hit stays first and the fusion orders the rest (on code,
// BM25 alone is right when it is sure; the embedder helps when BM25 hesitates).
import type { MemoryBank } from './bank';
import type { MatchedMemory, MemoryRecord } from './types';

export type Retriever = 'key' | 'emb' | 'text' | 'def' | 'path';
export const RETRIEVERS: readonly Retriever[] = ['key', 'emb', 'text', 'def', 'path'];

export interface FusionWeights {
  key: number;
  emb: number;
  text: number;
  /** The definition index (bank.defSearch): chunks defining a name the question mentions. 0 or absent: off. */
  def?: number;
  /** The files the question names (bank.pathSearch). 0 or absent: off. */
  path?: number;
  /** RRF constant. */
  rrfK: number;
  /** BM25 confidence gate: top BM25 score / best score of another file ≥ textGate keeps BM25's top hit first (0 or absent: off). */
  textGate?: number;
}

export const RRF_K = 60;
export const DEFAULT_FUSION: FusionWeights = { key: 1, emb: 1, text: 1, def: 0, path: 0, rrfK: RRF_K, textGate: 0 };

export interface MatchOptions {
  topK: number;
  /** Fuse the other retrievers with the key search (default true); false: key search only. */
  hybrid?: boolean;
  /** Candidates fetched from each search (default max(4*topK, 20)). */
  candidates?: number;
  /** RRF constant (default: weights.rrfK, else 60). */
  rrfK?: number;
  /** Per-retriever weights (default: all 1). */
  weights?: Partial<FusionWeights>;
}

export interface MatchQuery {
  /** The question's CMT key; may be left out when keySearchUsed() says the key search does not run. */
  key?: Float32Array;
  text: string;
  /** The question's sentence embedding (packs with an embedder). */
  emb?: Float32Array;
}

/** The part of MemoryBank that match() uses (so tests can fake it). */
export type MatchSource = Pick<MemoryBank, 'vectorSearch' | 'textSearch'> & Partial<Pick<MemoryBank, 'embedSearch' | 'defSearch' | 'pathSearch' | 'withMemory'>>;

type RankField = 'vectorRank' | 'embedRank' | 'textRank' | 'defRank' | 'pathRank';
const RANK_FIELD: Record<Retriever, RankField> = { key: 'vectorRank', emb: 'embedRank', text: 'textRank', def: 'defRank', path: 'pathRank' };

export interface RankedList {
  retriever: Retriever;
  records: MemoryRecord[];
  weight: number;
}

/**
 * Weighted reciprocal rank fusion. Ties break by the best rank in the heaviest list, then the best
 * single rank, then the key-search rank, then id, so the order is deterministic.
 */
export function fuseRanked(lists: RankedList[], topK: number, k = RRF_K): MatchedMemory[] {
  const byId = new Map<string, MatchedMemory>();
  for (const l of lists) {
    const which = RANK_FIELD[l.retriever];
    let rank = 0;
    for (const rec of l.records) {
      let m = byId.get(rec.id);
      if (m && m[which] !== undefined) continue; // duplicate within one list: keep the best rank
      rank++;
      if (!m) {
        m = { record: rec, score: 0 };
        byId.set(rec.id, m);
      }
      m[which] = rank;
      m.score += l.weight / (k + rank);
    }
  }
  const heaviest = [...lists].sort((a, b) => b.weight - a.weight)[0];
  const hw: RankField = heaviest ? RANK_FIELD[heaviest.retriever] : 'vectorRank';
  const best = (m: MatchedMemory) => Math.min(m.vectorRank ?? Infinity, m.textRank ?? Infinity, m.embedRank ?? Infinity, m.defRank ?? Infinity, m.pathRank ?? Infinity);
  return [...byId.values()]
    .sort(
      (a, b) =>
        b.score - a.score ||
        (a[hw] ?? Infinity) - (b[hw] ?? Infinity) ||
        best(a) - best(b) ||
        (a.vectorRank ?? Infinity) - (b.vectorRank ?? Infinity) ||
        (a.record.id < b.record.id ? -1 : a.record.id > b.record.id ? 1 : 0),
    )
    .slice(0, Math.max(0, topK));
}

/** BM25 hits as the gate reads them: best first. */
export type ScoredText = Array<{ record: Pick<MemoryRecord, 'id' | 'path'>; score: number }>;

/** Whether BM25 is sure: its top hit scores ≥ gate × the best hit of another file (or no other file scored). */
export function textConfident(hits: ScoredText, gate: number | undefined): boolean {
  if (!(gate !== undefined && gate > 0) || hits.length === 0) return false;
  const top = hits[0];
  const other = hits.find((h) => h.record.path !== top.record.path);
  if (!other || !(other.score > 0)) return true;
  return top.score / other.score >= gate;
}

/**
 * fuseRanked with the weights' RRF constant, then the gate: when `text` (the BM25 hits that made
 * the text list) is confident, its top hit is moved to rank 1 (the others keep their fused order).
 */
export function fuseGated(lists: RankedList[], topK: number, w: Pick<FusionWeights, 'rrfK' | 'textGate'>, text?: ScoredText): MatchedMemory[] {
  const k = w.rrfK ?? RRF_K;
  if (!text || !textConfident(text, w.textGate) || !lists.some((l) => l.retriever === 'text')) return fuseRanked(lists, topK, k);
  const all = fuseRanked(lists, Infinity, k);
  const i = all.findIndex((m) => m.record.id === text[0].record.id);
  if (i > 0) all.unshift(...all.splice(i, 1));
  return all.slice(0, Math.max(0, topK));
}

/** Plain RRF of the key list and the full-text list (equal weights). */
export function rrfFuse(vectorList: MemoryRecord[], textList: MemoryRecord[], topK: number, k = RRF_K): MatchedMemory[] {
  return fuseRanked(
    [
      { retriever: 'key', records: vectorList, weight: 1 },
      { retriever: 'text', records: textList, weight: 1 },
    ],
    topK,
    k,
  );
}

/** The fusion weights of a pack manifest's optional `retrieval` section (missing fields: defaults). */
export function fusionOf(retrieval: unknown): FusionWeights {
  const r = (retrieval ?? {}) as { weights?: Partial<FusionWeights>; rrfK?: number };
  const w = r.weights ?? {};
  const num = (v: unknown, d: number) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : d);
  const gate = (r as { textGate?: unknown }).textGate ?? (w as { textGate?: unknown }).textGate;
  return { key: num(w.key, 1), emb: num(w.emb, 1), text: num(w.text, 1), def: num(w.def, 0), path: num(w.path, 0), rrfK: num(r.rrfK ?? w.rrfK, RRF_K) || RRF_K, textGate: num(gate, 0) };
}

/** Which searches match() runs for a query (hybrid), from the weights and what the query and bank have. */
function retrieversFor(bank: MatchSource, q: Pick<MatchQuery, 'text' | 'emb'>, w: FusionWeights) {
  const useEmb = w.emb > 0 && !!q.emb && !!bank.embedSearch;
  const useText = w.text > 0 && q.text.trim() !== '';
  const useDef = (w.def ?? 0) > 0 && q.text.trim() !== '' && !!bank.defSearch;
  const usePath = (w.path ?? 0) > 0 && q.text.trim() !== '' && !!bank.pathSearch;
  // All weights 0 (or nothing else available): the key search alone.
  const useKey = w.key > 0 || (!useEmb && !useText && !useDef && !usePath);
  return { useKey, useEmb, useText, useDef, usePath };
}

/** Whether match() runs the key search for this query: when it does not, a caller may skip computing q.key. */
export function keySearchUsed(bank: MatchSource, q: Pick<MatchQuery, 'text' | 'emb'>, opts: Pick<MatchOptions, 'topK' | 'hybrid' | 'weights'>): boolean {
  if (Math.floor(opts.topK) <= 0) return false;
  if (opts.hybrid === false) return true;
  return retrieversFor(bank, q, { ...DEFAULT_FUSION, ...stripUndef(opts.weights ?? {}) }).useKey;
}

function keyOf(q: MatchQuery): Float32Array {
  if (!q.key) throw new Error('match: the key search runs for this query, but it has no key (see keySearchUsed)');
  return q.key;
}

/** Top-K memories for a question (see fuseRanked). Without hybrid, scores are the key cosine similarity. */
export async function match(bank: MatchSource, q: MatchQuery, opts: MatchOptions): Promise<MatchedMemory[]> {
  const matched = await matchLight(bank, q, opts);
  if (!bank.withMemory || matched.length === 0) return matched;
  // The searches read no vectors (bankSchema.ts searchColumns): the picked memories' slots are read now, once.
  const full = await bank.withMemory(matched.map((m) => m.record));
  return matched.map((m, i) => ({ ...m, record: full[i] }));
}

/** match() without the memory slots of the picked records (the searches leave them in the store). */
async function matchLight(bank: MatchSource, q: MatchQuery, opts: MatchOptions): Promise<MatchedMemory[]> {
  const topK = Math.max(0, Math.floor(opts.topK));
  if (topK === 0) return [];
  const hybrid = opts.hybrid !== false;
  const candidates = Math.max(opts.candidates ?? Math.max(4 * topK, 20), topK);
  const light = { idsOnly: !!bank.withMemory }; // hits are ids and paths; match() reads the picked rows whole
  if (!hybrid) {
    const hits = await bank.vectorSearch(keyOf(q), topK, light);
    const seen = new Set<string>();
    const out: MatchedMemory[] = [];
    for (const h of hits) {
      if (seen.has(h.record.id)) continue;
      seen.add(h.record.id);
      out.push({ record: h.record, score: 1 - h.distance, vectorRank: out.length + 1 });
    }
    return out;
  }
  const w = { ...DEFAULT_FUSION, ...stripUndef(opts.weights ?? {}) };
  const { useKey, useEmb, useText, useDef, usePath } = retrieversFor(bank, q, w);
  const [vec, emb, txt, def, pth] = await Promise.all([
    useKey ? bank.vectorSearch(keyOf(q), candidates, light) : Promise.resolve([]),
    useEmb ? bank.embedSearch!(q.emb!, candidates, light) : Promise.resolve([]),
    useText ? bank.textSearch(q.text, candidates, light) : Promise.resolve([]),
    useDef ? bank.defSearch!(q.text, candidates, light) : Promise.resolve([]),
    usePath ? bank.pathSearch!(q.text, candidates) : Promise.resolve([]),
  ]);
  const lists: RankedList[] = [];
  if (useKey) lists.push({ retriever: 'key', records: vec.map((h) => h.record), weight: w.key > 0 ? w.key : 1 });
  if (useEmb) lists.push({ retriever: 'emb', records: emb.map((h) => h.record), weight: w.emb });
  if (useText) lists.push({ retriever: 'text', records: txt.map((h) => h.record), weight: w.text });
  if (useDef) lists.push({ retriever: 'def', records: def.map((h) => h.record), weight: w.def! });
  if (usePath) lists.push({ retriever: 'path', records: pth.map((h) => h.record), weight: w.path! });
  return fuseGated(lists, topK, { rrfK: opts.rrfK ?? w.rrfK ?? RRF_K, textGate: w.textGate }, useText ? txt : undefined);
}

function stripUndef<T extends object>(x: T): Partial<T> {
  return Object.fromEntries(Object.entries(x).filter(([, v]) => v !== undefined)) as Partial<T>;
}

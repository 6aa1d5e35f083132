// Scoring ranked lists (retrievalTypes.ts QLists) for `cmt eval --retrieval-only`: gold ranks, recall@1/@5
// and MRR per retriever, plain RRF and the fusion (as match.ts fuses them); for real projects at file
// level, with line hits, per project and per question kind.
import { DEFAULT_FUSION, fuseGated, FusionWeights, RankedList, RETRIEVERS } from '../core/match';
import type { MemoryRecord } from '../core/types';
import { fileRank, lineRank } from '../measure/realRepos';
import { pct, round } from '../measure/stats';
import type { Hit, KindScores, LineScores, QLists, RetrievalRun, Scored, Scores } from './retrievalTypes';

/** 1-based rank of the first record of the gold document, 0 when absent. */
function goldRank(recs: Array<{ path: string }>, gold: string): number {
  const i = recs.findIndex((r) => r.path === gold);
  return i < 0 ? 0 : i + 1;
}

export function scoresOf(ranks: number[]): Scores {
  return {
    recall1: pct(ranks.filter((r) => r === 1).length, ranks.length),
    recall5: pct(ranks.filter((r) => r >= 1 && r <= 5).length, ranks.length),
    mrr: round(ranks.reduce((a, r) => a + (r > 0 ? 1 / r : 0), 0) / Math.max(1, ranks.length), 4),
  };
}

/** The fused ranking of one question's lists (as match.ts fuses them). */
function fusedList(q: QLists, w: FusionWeights, topN: number): Hit[] {
  const lists: RankedList[] = [];
  for (const r of RETRIEVERS) {
    const l = q.lists[r];
    const wr = w[r] ?? 0;
    if (l && wr > 0) lists.push({ retriever: r, records: l as unknown as MemoryRecord[], weight: wr });
  }
  if (lists.length === 0 && q.lists.key) lists.push({ retriever: 'key', records: q.lists.key as unknown as MemoryRecord[], weight: 1 });
  const text = q.lists.text && w.text > 0 ? q.lists.text.map((x) => ({ record: x, score: x.s ?? 0 })) : undefined;
  return fuseGated(lists, topN, w, text).map((m) => m.record as unknown as Hit);
}

/** The gold rank a question is scored (and fitted) by: the first gold chunk, or the gold file among distinct files (real projects). */
function rankOf(q: QLists, recs: Hit[]): number {
  return q.lines ? fileRank(recs, q.gold) : goldRank(recs, q.gold);
}

export function fusedRank(q: QLists, w: FusionWeights, topN: number): number {
  return rankOf(q, fusedList(q, w, topN));
}

const RRF_BEFORE = (): FusionWeights => ({ ...DEFAULT_FUSION, emb: 0 });

/** One question's ranking by a retriever, plain RRF or the fusion. */
function listOf(q: QLists, r: Scored, fusion: FusionWeights, topN: number): Hit[] {
  if (r === 'fusion') return fusedList(q, fusion, topN);
  if (r === 'rrf') return fusedList(q, RRF_BEFORE(), topN);
  return q.lists[r] ?? [];
}

/** The rankers scored: each retriever present, plain RRF, the fusion. */
function scoredOf(qls: QLists[]): Scored[] {
  return [...RETRIEVERS.filter((r) => qls.some((q) => q.lists[r])), 'rrf', 'fusion'];
}

/** Line hit@1/@5 of ranked chunk lists against each question's gold file and lines. */
export function lineScoresOf(items: Array<{ recs: Hit[]; gold: string; lines: [number, number] }>): LineScores {
  const ranks = items.map((x) => lineRank(x.recs, x.gold, x.lines));
  return { hit1: pct(ranks.filter((r) => r === 1).length, ranks.length), hit5: pct(ranks.filter((r) => r >= 1 && r <= 5).length, ranks.length) };
}

/** File-level recall@1/@5 and MRR of ranked chunk lists (reduced to distinct files) against each gold file. */
export function fileScoresOf(items: Array<{ recs: Hit[]; gold: string }>): Scores {
  return scoresOf(items.map((x) => fileRank(x.recs, x.gold)));
}

/** Scores of a set of questions for every ranker: gold ranks (file-level for real questions) and, for real questions, line hits. */
function scoreSet(qls: QLists[], fusion: FusionWeights, topN: number): { retrievers: Partial<Record<Scored, Scores>>; lines: Partial<Record<Scored, LineScores>> } {
  const retrievers: Partial<Record<Scored, Scores>> = {};
  const lines: Partial<Record<Scored, LineScores>> = {};
  for (const r of scoredOf(qls)) {
    const ranked = qls.map((q) => ({ q, recs: listOf(q, r, fusion, topN) }));
    retrievers[r] = scoresOf(ranked.map((x) => rankOf(x.q, x.recs)));
    const real = ranked.filter((x) => x.q.lines);
    if (real.length) lines[r] = lineScoresOf(real.map((x) => ({ recs: x.recs, gold: x.q.gold, lines: x.q.lines! })));
  }
  return { retrievers, lines };
}

/** Per question kind: the fusion's file recall@1/@5 and line hit@5. */
function byKindOf(qls: QLists[], fusion: FusionWeights, topN: number): Record<string, KindScores> {
  const kinds = [...new Set(qls.map((q) => q.kind ?? 'unknown'))].sort();
  const out: Record<string, KindScores> = {};
  for (const k of kinds) {
    const xs = qls.filter((q) => (q.kind ?? 'unknown') === k).map((q) => ({ recs: fusedList(q, fusion, topN), gold: q.gold, lines: q.lines! }));
    const f = fileScoresOf(xs);
    out[k] = { questions: xs.length, fileRecall1: f.recall1, fileRecall5: f.recall5, lineHit5: lineScoresOf(xs).hit5 };
  }
  return out;
}

/** (Re)scores a run with this fusion: every ranker, and for real runs per project, line hits and kinds. */
export function scoreRun(run: RetrievalRun, qls: QLists[], fusion: FusionWeights, topN: number): void {
  const all = scoreSet(qls, fusion, topN);
  run.retrievers = all.retrievers;
  if (!run.real) return;
  run.real.lines = all.lines;
  run.real.byKind = byKindOf(qls, fusion, topN);
  for (const p of run.real.projects) {
    const s = scoreSet(qls.filter((q) => q.project === p.project), fusion, topN);
    p.retrievers = s.retrievers;
    p.lines = s.lines;
  }
}

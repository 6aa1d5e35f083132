// `cmt eval --retrieval-only --fit`: grid search of the weighted-RRF weights, k and the BM25 gate
// that maximise the mean MRR over the given (dev!) datasets, scored fast on questions reduced to
// arrays (prepare, preparedRank); and the pack.json `retrieval` section it reports.
import { FusionWeights, Retriever, RETRIEVERS, RRF_K } from '../core/match';
import { round } from '../measure/stats';
import { scoresOf } from './retrievalScore';
import type { Hit, QLists, RetrievalReport, Scores } from './retrievalTypes';

interface Fitted {
  best: FusionWeights;
  mrr: number;
  recall1: number;
  /** min over datasets and metrics (recall@1, recall@5, MRR) of fusion minus the best single retriever, on the fit data */
  margin: number;
  /** candidates with margin ≥ 0 (fusion never below the best single retriever on any dev set) */
  feasible: number;
}

/** One question reduced to arrays, for scoring thousands of candidate weights fast (fitFusion). */
interface Prepared {
  /** Per item (distinct chunk id): its group (file for real questions, else the item itself). */
  group: Int32Array;
  /** How many groups. */
  groups: number;
  /** The gold group's items, or none. */
  gold: number;
  lists: Array<{ r: Retriever; item: Int32Array; rank: Int32Array }>;
  /** BM25's top item and its confidence ratio (textConfident's test), when there is a text list. */
  textTop?: { item: number; ratio: number };
}

export function prepare(q: QLists, topN: number): Prepared {
  const ids = new Map<string, number>();
  const groups = new Map<string, number>();
  const groupOf: number[] = [];
  const idOf = (h: Hit) => {
    let i = ids.get(h.id);
    if (i === undefined) {
      i = ids.size;
      ids.set(h.id, i);
      const key = q.lines ? h.path : h.path === q.gold ? `gold:${h.path}` : h.id;
      let g = groups.get(key);
      if (g === undefined) groups.set(key, (g = groups.size));
      groupOf.push(g);
    }
    return i;
  };
  const lists: Prepared['lists'] = [];
  for (const r of RETRIEVERS) {
    const l = q.lists[r];
    if (!l) continue;
    const seen = new Set<number>();
    const item: number[] = [];
    const rank: number[] = [];
    for (const h of l.slice(0, topN)) {
      const i = idOf(h);
      if (seen.has(i)) continue;
      seen.add(i);
      item.push(i);
      rank.push(item.length);
    }
    lists.push({ r, item: Int32Array.from(item), rank: Int32Array.from(rank) });
  }
  let textTop: Prepared['textTop'];
  const t = q.lists.text;
  if (t && t.length > 0) {
    const other = t.find((h) => h.path !== t[0].path);
    textTop = { item: ids.get(t[0].id)!, ratio: !other || !((other.s ?? 0) > 0) ? Infinity : (t[0].s ?? 0) / (other.s ?? 1) };
  }
  const goldKey = q.lines ? q.gold : `gold:${q.gold}`;
  return { group: Int32Array.from(groupOf), groups: groups.size, gold: groups.get(goldKey) ?? -1, lists, textTop };
}

/**
 * The gold rank under weights `w`, as fusedRank computes it up to ties: 1 + the groups whose best
 * fused item scores at least the gold group's best, with the BM25 gate's move to the top.
 */
export function preparedRank(p: Prepared, w: FusionWeights, buf: Float64Array, best: Float64Array): number {
  if (p.gold < 0) return 0;
  const n = p.group.length;
  buf.fill(0, 0, n);
  const k = w.rrfK ?? RRF_K;
  let any = false;
  for (const l of p.lists) {
    const wr = w[l.r] ?? 0;
    if (!(wr > 0)) continue;
    any = true;
    for (let j = 0; j < l.item.length; j++) buf[l.item[j]] += wr / (k + l.rank[j]);
  }
  if (!any) return 0;
  best.fill(-1);
  for (let i = 0; i < n; i++) if (buf[i] > 0 && buf[i] > best[p.group[i]]) best[p.group[i]] = buf[i];
  const g = best[p.gold];
  if (!(g > 0)) return 0;
  const gated = !!p.textTop && (w.textGate ?? 0) > 0 && w.text > 0 && p.textTop.ratio >= (w.textGate ?? 0) && p.lists.some((l) => l.r !== 'text' && (w[l.r] ?? 0) > 0);
  if (gated && p.group[p.textTop!.item] === p.gold) return 1;
  // A tie counts against the gold (fitting then prefers weights that separate it).
  let rank = 1;
  for (let f = 0; f < best.length; f++) if (f !== p.gold && best[f] >= g) rank++;
  if (gated && best[p.group[p.textTop!.item]] < g) rank++;
  return rank;
}

/**
 * Grid search of weighted-RRF weights (text fixed at 1 or 0; RRF is scale-free), k and the BM25
 * gate. Rule: among the candidates whose fusion is never below the best single retriever on any
 * dataset (recall@1, recall@5, MRR), the highest mean MRR; among those within half a question of
 * it (0.5 / smallest dataset's questions, in mean MRR), the one with the fewest retrievers (a
 * retriever at chance level only breaks ties at random). No candidate at ≥ 0: the largest margin.
 */
export function fitFusion(perDataset: QLists[][], available: Set<Retriever>, topN: number, fixed: Partial<FusionWeights> = {}): Fitted {
  // The CMT keys are at chance (recall@1 ~0): a short grid for them keeps the search small.
  const keyGrid = [0, 0.25, 1];
  const grid = [0, 0.25, 0.5, 0.75, 1, 1.5, 2];
  const defGrid = [0, 0.5, 1, 1.5, 2];
  const pathGrid = [0, 0.5, 1, 2];
  const ks = [2, 5, 10, 20, 60];
  const gates = available.has('text') ? [0, 1.05, 1.1, 1.2, 1.3, 1.5] : [0];
  const cands: FusionWeights[] = [];
  for (const text of available.has('text') ? [1, 0] : [0]) {
    for (const key of available.has('key') ? keyGrid : [0]) {
      for (const emb of available.has('emb') ? grid : [0]) {
        for (const def of available.has('def') ? defGrid : [fixed.def ?? 0]) {
          for (const path of available.has('path') ? pathGrid : [fixed.path ?? 0]) {
            const others = key + emb + def + path;
            if (text === 0 && others === 0) continue;
            if (text === 0 && Math.max(key, emb, def, path) !== 1) continue; // scale-free: normalise the largest to 1
            for (const rrfK of ks) for (const textGate of text > 0 && others > 0 ? gates : [0]) cands.push({ ...fixed, key, emb, text, def, path, rrfK, textGate });
          }
        }
      }
    }
  }
  const single = (r: Retriever): FusionWeights => ({ key: 0, emb: 0, text: 0, def: 0, path: 0, [r]: 1, rrfK: 60, textGate: 0 });
  const prepared = perDataset.map((qs) => qs.map((q) => prepare(q, topN)));
  const most = Math.max(1, ...prepared.flat().map((p) => p.group.length));
  const buf = new Float64Array(most);
  const best = new Float64Array(most);
  const scoreAll = (w: FusionWeights) =>
    prepared.map((ps) =>
      scoresOf(
        ps.map((p) => {
          return preparedRank(p, w, buf, best.subarray(0, p.groups));
        }),
      ),
    );
  const singles = [...available].map((r) => scoreAll(single(r)));
  const bestSingle = perDataset.map((_, i) => ({
    recall1: Math.max(...singles.map((s) => s[i].recall1)),
    recall5: Math.max(...singles.map((s) => s[i].recall5)),
    mrr: Math.max(...singles.map((s) => s[i].mrr)),
  }));
  const rows = cands.map((w) => {
    const sc = scoreAll(w);
    const mean = (f: (x: Scores) => number) => sc.reduce((a, x) => a + f(x), 0) / Math.max(1, sc.length);
    // percentage points / 100 and MRR on one scale
    const margin = Math.min(...sc.flatMap((x, i) => [(x.recall1 - bestSingle[i].recall1) / 100, (x.recall5 - bestSingle[i].recall5) / 100, x.mrr - bestSingle[i].mrr]));
    const used = RETRIEVERS.filter((r) => (w[r] ?? 0) > 0).length;
    return { w, mrr: mean((x) => x.mrr), recall1: mean((x) => x.recall1) / 100, margin, used };
  });
  const ok = rows.filter((r) => r.margin >= -1e-9);
  const pool = ok.length > 0 ? ok : rows.filter((r) => r.margin >= Math.max(...rows.map((x) => x.margin)) - 1e-9);
  const top = Math.max(...pool.map((r) => r.mrr));
  const tol = 0.5 / Math.max(1, Math.min(...perDataset.map((qs) => qs.length)));
  const near = pool.filter((r) => r.mrr >= top - tol - 1e-12);
  near.sort((a, b) => a.used - b.used || b.mrr - a.mrr || b.recall1 - a.recall1);
  const pick = near[0];
  return { best: pick.w, mrr: pick.mrr, recall1: pick.recall1, margin: pick.margin, feasible: ok.length };
}

/**
 * --fit: fits the fusion on every dataset's lists (retrievers the datasets lack keep `fusion`'s
 * weight) and returns the pack.json `retrieval` section with what it was fitted on, and the weights.
 */
export function fitReport(r: RetrievalReport, all: QLists[][], available: Set<Retriever>, fusion: FusionWeights, C: number, packId: string): { fit: NonNullable<RetrievalReport['fit']>; weights: FusionWeights } {
  for (const x of RETRIEVERS) if (all.some((qs) => qs.some((q) => q.lists[x]))) available.add(x);
  // The grid covers key/emb/text/def/path; a retriever the datasets lack keeps the reported fusion's weight.
  const fixed = Object.fromEntries(RETRIEVERS.filter((x) => !available.has(x) && (fusion[x] ?? 0) > 0).map((x) => [x, fusion[x]]));
  const f = fitFusion(all, available, C, fixed);
  const w = f.best;
  const fit: NonNullable<RetrievalReport['fit']> = {
    datasets: r.runs.map((run) => run.dataset),
    retrieval: {
      weights: { key: w.key, emb: w.emb, text: w.text, def: w.def ?? 0, path: w.path ?? 0, ...fixed },
      rrfK: w.rrfK,
      textGate: w.textGate ?? 0,
      fittedOn: {
        datasets: r.runs.map((run) => `${run.dataset} (${run.questions} questions)`),
        objective:
          `grid over the key/emb/def/path weights (text 1 or 0), RRF k and the BM25 gate; among the weights whose fusion is never below the best single retriever on any dataset (recall@1, recall@5, MRR), the highest mean MRR of the gold document (top ${C}); within half a question of it, the fewest retrievers`,
        feasible: f.feasible,
        margin: round(f.margin, 4),
        mrr: round(f.mrr, 4),
        recall1: round(100 * f.recall1, 2),
        perRetriever: Object.fromEntries(r.runs.map((run) => [run.dataset, run.retrievers])),
        packId,
        date: r.date,
      },
    },
  };
  return { fit, weights: w };
}

// `cmt eval --retrieval-only`: gold-document retrieval of each retriever — BM25 over code-aware
// terms (`text`), the pack's sentence embedder (`emb`), the CMT self-matching keys (`key`) — and
// of their fusion (match.ts fuseRanked with the pack's `retrieval` weights), on SQuAD-format
// files: recall@1, recall@5 and MRR (over the top `candidates`). No decoding: the documents are
// memorized through Engine.memorize into a fresh bank (timed, with the embedder's share), then
// every question is compressed/embedded once and searched by each retriever.
//
// Real-project datasets (`real-dev`, `real:express`, …; src/measure/realRepos.ts): each project is
// memorized WHOLE into a fresh bank, and scored at FILE level (the ranked chunks reduced to distinct
// files: recall@1/@5, MRR of the gold file) and LINE level (hit@1/@5: a top chunk of the gold file
// whose lines contain the gold lines), per project, per question kind and over the split.
//
// `--fit` grid-searches the weighted-RRF weights and k that maximise the mean MRR over the given
// (dev!) datasets and prints the pack.json `retrieval` section; the single retrievers are points
// of the grid, so on the fit data the fusion is never below the best one.

import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Engine } from '../core/engine';
import { RRF_K, DEFAULT_FUSION, fuseGated, FusionWeights, fusionOf, RankedList, Retriever, RETRIEVERS } from '../core/match';
import { loadPack } from '../core/pack';
import type { Device, MemoryRecord } from '../core/types';
import { loadDataset, questionsOf } from '../measure/dataset';
import { StreamingBank } from './harness';
import { machineInfo, MachineInfo } from '../measure/machine';
import { memorizeFresh, ScratchBank } from '../measure/scratchBank';
import {
  checkGold,
  DataError,
  fileRank,
  isRealSpec,
  lineRank,
  loadRealDataset,
  memorizeWorkspace,
  ProjectMemorize,
  RealSource,
  sampleRealQuestions,
} from '../measure/realRepos';
import { now, p50p95Upper, pct, round } from '../measure/stats';
import { mdTable } from '../measure/svg';

export interface RetrievalEvalOptions {
  pack: string;
  datasets: string[];
  /** Candidates fetched per retriever (default 50); MRR counts ranks up to this. */
  candidates?: number;
  maxDocs?: number;
  maxQuestions?: number;
  /** Fusion to report (default: the pack's `retrieval` section, else plain RRF). */
  fusion?: FusionWeights;
  /** Fit the fusion weights on these datasets (dev splits only). */
  fit?: boolean;
  /** Memorize a second time with the embedder off, to measure what it adds (default false). */
  measureEmbedderCost?: boolean;
  device?: Device;
  repoRoot?: string;
  outDir?: string;
  tag?: string;
  write?: boolean;
  command?: string;
  log?: (m: string) => void;
  /** Write each dataset's per-question ranked lists to `<listsOut>.<i>.json` (to refit without re-memorizing). */
  listsOut?: string;
  /** Real-project datasets: where the projects, workspaces and questions are; `fetch` missing workspaces. */
  real?: RealSource;
}

export interface Scores {
  recall1: number;
  recall5: number;
  mrr: number;
}

/** The retrievers every pack has (key, text) or may have (emb); the others (def, path, …) come from RETRIEVERS. */
const BASE: Retriever[] = ['text', 'emb', 'key'];

/** A retriever's hit, reduced to what scoring needs; `s`: BM25 score (text) or cosine similarity (key, emb). */
export interface Hit {
  id: string;
  path: string;
  s?: number;
  startLine?: number;
  endLine?: number;
}

/** One question's ranked lists, reduced to what scoring needs. */
export interface QLists {
  gold: string;
  /** Real-project questions: the gold lines (scores are then file-level, plus line hits). */
  lines?: [number, number];
  kind?: string;
  project?: string;
  id?: string;
  /** Each retriever's hits, best first. */
  lists: Partial<Record<Retriever, Hit[]>>;
}

/** Line-level scores: % of questions with a top-1 / top-5 chunk of the gold file containing the gold lines. */
export interface LineScores {
  hit1: number;
  hit5: number;
}

/** Per question kind: the fusion's file recall@1/@5 and line hit@5. */
export interface KindScores {
  questions: number;
  fileRecall1: number;
  fileRecall5: number;
  lineHit5: number;
}

export type Scored = Retriever | 'fusion' | 'rrf';

export interface RealProjectRun {
  project: string;
  /** Questions scored (gold file memorized). */
  questions: number;
  dataErrors: number;
  memorize: ProjectMemorize & { memorizeNoEmbedderMs?: number };
  questionFiles: string[];
  retrievers: Partial<Record<Scored, Scores>>;
  lines: Partial<Record<Scored, LineScores>>;
}

/** What a real-project run adds: the per-project memorize summaries and scores, line hits, kinds, data errors. */
export interface RealRun {
  projects: RealProjectRun[];
  /** Over all scored questions of the split (micro average). */
  lines: Partial<Record<Scored, LineScores>>;
  byKind: Record<string, KindScores>;
  /** Questions whose gold file was not memorized: excluded from every score. */
  dataErrors: DataError[];
  /** Projects of the split without a question file (left out). */
  withoutQuestions: string[];
}

export interface RetrievalRun {
  dataset: string;
  source: string;
  documents: number;
  questions: number;
  chunks: number;
  memorizeMs: number;
  embedderMs: number;
  /** Memorize wall time with the embedder off (measureEmbedderCost), same documents. */
  memorizeNoEmbedderMs?: number;
  questionMs: { p50: number; p95: number };
  /** Chunk-level gold-document scores; FILE-level (distinct files) on real-project datasets. */
  retrievers: Partial<Record<Scored, Scores>>;
  real?: RealRun;
}

export interface RetrievalReport {
  kind: 'cmt-eval-retrieval';
  date: string;
  command: string;
  machine: MachineInfo;
  pack: { dir: string; packId: string; name: string; embedder: string | null };
  fusion: FusionWeights;
  runs: RetrievalRun[];
  fit?: { retrieval: { weights: { key: number; emb: number; text: number } & Partial<Record<Retriever, number>>; rrfK: number; textGate: number; fittedOn: unknown }; datasets: string[] };
  files: string[];
  wallMs: number;
}

/** 1-based rank of the first record of the gold document, 0 when absent. */
function goldRank(recs: Array<{ path: string }>, gold: string): number {
  const i = recs.findIndex((r) => r.path === gold);
  return i < 0 ? 0 : i + 1;
}

function scoresOf(ranks: number[]): Scores {
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
function scoreRun(run: RetrievalRun, qls: QLists[], fusion: FusionWeights, topN: number): void {
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

/** A bank search by question text (the retrievers beyond key/emb/text: `def` -> bank.defSearch, `path` -> bank.pathSearch, …). */
type TextSearchFn = (query: string, limit: number) => Promise<Array<{ record: MemoryRecord; score?: number }>>;

/**
 * THE place where a question's ranked lists come from: every retriever's top `C` for one question.
 * Key search (the compressed question's CMT key), the sentence embedder (packs with one), BM25, and
 * every other retriever of match.ts RETRIEVERS whose bank search `<name>Search(question, limit)`
 * exists (a new retriever needs nothing here beyond that).
 */
export async function rankedLists(e: Engine, question: string, C: number): Promise<QLists['lists']> {
  const hasEmb = !!e.embedder && e.bank.embedDim > 0;
  const q = await e.compressor.compressQuestion(question);
  const qe = hasEmb ? await e.embedder!.embedOne(question) : undefined;
  const bank = e.bank as unknown as Record<string, unknown>;
  const extra = RETRIEVERS.filter((r) => !BASE.includes(r) && typeof bank[`${r}Search`] === 'function');
  const [vec, em, txt, ...more] = await Promise.all([
    e.bank.vectorSearch(q.key, C),
    qe ? e.bank.embedSearch(qe, C) : Promise.resolve([]),
    e.bank.textSearch(question, C),
    ...extra.map((r) => (bank[`${r}Search`] as TextSearchFn).call(e.bank, question, C)),
  ]);
  const slim = (hs: Array<{ record: MemoryRecord; score?: number; distance?: number }>): Hit[] =>
    hs.map((h) => ({
      id: h.record.id,
      path: h.record.path,
      s: h.score ?? (h.distance === undefined ? undefined : 1 - h.distance),
      startLine: h.record.startLine,
      endLine: h.record.endLine,
    }));
  const out: QLists['lists'] = { key: slim(vec), text: slim(txt), ...(qe ? { emb: slim(em) } : {}) };
  extra.forEach((r, i) => (out[r] = slim(more[i])));
  return out;
}

/** A real-project dataset: each project memorized whole into a fresh bank, then its questions' ranked lists. */
async function realRetrievalRun(
  spec: string,
  o: RetrievalEvalOptions,
  ctx: { packDir: string; device: Device; repoRoot: string; C: number; available: Set<Retriever>; log: (m: string) => void },
): Promise<{ run: RetrievalRun; qls: QLists[] }> {
  const { packDir, device, repoRoot, C, log } = ctx;
  const ds = loadRealDataset(spec, repoRoot, { ...o.real, log: o.real?.log ?? log });
  const sample = sampleRealQuestions(ds.projects, o.maxQuestions ?? Infinity);
  const qls: QLists[] = [];
  const lat: number[] = [];
  const real: RealRun = { projects: [], lines: {}, byKind: {}, dataErrors: [], withoutQuestions: ds.withoutQuestions };
  for (const p of ds.projects) {
    const bank = await ScratchBank.open(packDir, device);
    let pr: RealProjectRun;
    try {
      const e = bank.engine;
      if (e.embedder && e.bank.embedDim > 0) ctx.available.add('emb');
      const mem = await memorizeWorkspace(e, p.workspace, p.name);
      const { ok, errors } = checkGold(p, sample.get(p.name) ?? [], mem);
      real.dataErrors.push(...errors);
      const m = mem.summary;
      log(
        `[eval] ${spec} ${p.name}: ${m.files} files (${(m.sourceBytes / 1e6).toFixed(2)} MB) -> ${m.chunks} memories in ${(m.wallMs / 1000).toFixed(1)} s (embedder ${(m.embedderMs / 1000).toFixed(1)} s), ` +
          `${ok.length} questions${errors.length ? `, ${errors.length} data errors (gold file not memorized)` : ''}`,
      );
      for (const q of ok) {
        const t = now();
        const lists = await rankedLists(e, q.question, C);
        lat.push(now() - t);
        qls.push({ gold: q.file, lines: q.lines, kind: q.kind, project: p.name, id: q.id, lists });
      }
      pr = { project: p.name, questions: ok.length, dataErrors: errors.length, memorize: { ...m }, questionFiles: p.questionFiles, retrievers: {}, lines: {} };
    } finally {
      await bank.close();
    }
    if (o.measureEmbedderCost && pr.memorize.embedderMs > 0) {
      const b = await ScratchBank.open(packDir, device);
      try {
        b.engine.embedder = null;
        pr.memorize.memorizeNoEmbedderMs = (await memorizeWorkspace(b.engine, p.workspace, p.name)).summary.wallMs;
      } finally {
        await b.close();
      }
    }
    real.projects.push(pr);
  }
  const sum = (f: (x: RealProjectRun) => number) => real.projects.reduce((a, x) => a + f(x), 0);
  const run: RetrievalRun = {
    dataset: ds.name,
    source: ds.source,
    documents: sum((x) => x.memorize.files),
    questions: qls.length,
    chunks: sum((x) => x.memorize.chunks),
    memorizeMs: round(sum((x) => x.memorize.wallMs), 0),
    embedderMs: round(sum((x) => x.memorize.embedderMs), 0),
    ...(o.measureEmbedderCost && real.projects.every((x) => x.memorize.memorizeNoEmbedderMs !== undefined) && real.projects.length
      ? { memorizeNoEmbedderMs: round(sum((x) => x.memorize.memorizeNoEmbedderMs!), 0) }
      : {}),
    questionMs: p50p95Upper(lat),
    retrievers: {},
    real,
  };
  return { run, qls };
}

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

export async function runRetrievalEval(o: RetrievalEvalOptions): Promise<RetrievalReport> {
  const t0 = Date.now();
  const log = o.log ?? ((m: string) => process.stderr.write(m + '\n'));
  const repoRoot = path.resolve(o.repoRoot ?? process.cwd());
  const device = o.device ?? 'cpu';
  const C = o.candidates ?? 50;
  const pack = await loadPack(path.resolve(o.pack), { verifyHashes: false });
  const m = pack.manifest;
  const fusion = o.fusion ?? fusionOf(m.retrieval);
  const report: RetrievalReport = {
    kind: 'cmt-eval-retrieval',
    date: new Date().toISOString(),
    command: o.command ?? '',
    machine: machineInfo(),
    pack: { dir: path.relative(repoRoot, pack.dir) || pack.dir, packId: m.packId, name: m.name, embedder: m.embedder?.name ?? null },
    fusion,
    runs: [],
    files: [],
    wallMs: 0,
  };
  const all: QLists[][] = [];
  const available = new Set<Retriever>(['key', 'text']);
  for (const spec of o.datasets) {
    if (isRealSpec(spec)) {
      const { run, qls } = await realRetrievalRun(spec, o, { packDir: pack.dir, device, repoRoot, C, available, log });
      scoreRun(run, qls, fusion, C);
      report.runs.push(run);
      all.push(qls);
      if (o.listsOut) await fsp.writeFile(`${o.listsOut}.${all.length - 1}.json`, JSON.stringify({ dataset: run.dataset, questions: qls }));
      continue;
    }
    const ds = loadDataset(spec, repoRoot);
    const docs = ds.documents.slice(0, o.maxDocs ?? ds.documents.length);
    const qs = questionsOf(ds, docs, o.maxQuestions ?? Infinity);
    const bank = await StreamingBank.open(pack.dir, device);
    const qls: QLists[] = [];
    const lat: number[] = [];
    let run: RetrievalRun;
    try {
      const e = bank.engine;
      const hasEmb = !!e.embedder && e.bank.embedDim > 0;
      if (hasEmb) available.add('emb');
      const emb0 = e.embedder?.totalMs ?? 0;
      const mem = await bank.add(docs);
      const embMs = (e.embedder?.totalMs ?? 0) - emb0;
      log(`[eval] ${ds.name}: ${docs.length} documents -> ${mem.chunks} memories in ${(mem.wallMs / 1000).toFixed(1)} s (embedder ${(embMs / 1000).toFixed(1)} s), ${qs.length} questions`);
      for (const qa of qs) {
        const t = now();
        const gold = bank.pathOf(qa.docId) ?? '';
        const lists = await rankedLists(e, qa.question, C);
        lat.push(now() - t);
        qls.push({ gold, lists });
      }
      run = {
        dataset: ds.name,
        source: path.relative(repoRoot, ds.source),
        documents: docs.length,
        questions: qs.length,
        chunks: mem.chunks,
        memorizeMs: round(mem.wallMs, 0),
        embedderMs: round(embMs, 0),
        questionMs: p50p95Upper(lat),
        retrievers: {},
      };
    } finally {
      await bank.close();
    }
    if (o.measureEmbedderCost && run.embedderMs > 0) {
      run.memorizeNoEmbedderMs = round((await memorizeFresh(pack.dir, docs, { device, embedder: false })).wallMs, 0);
    }
    scoreRun(run, qls, fusion, C);
    report.runs.push(run);
    all.push(qls);
    if (o.listsOut) await fsp.writeFile(`${o.listsOut}.${all.length - 1}.json`, JSON.stringify({ dataset: ds.name, questions: qls }));
  }
  if (o.fit) {
    for (const r of RETRIEVERS) if (all.some((qs) => qs.some((q) => q.lists[r]))) available.add(r);
    // The grid covers key/emb/text/def/path; a retriever the datasets lack keeps the reported fusion's weight.
    const fixed = Object.fromEntries(RETRIEVERS.filter((r) => !available.has(r) && (fusion[r] ?? 0) > 0).map((r) => [r, fusion[r]]));
    const f = fitFusion(all, available, C, fixed);
    const w = f.best;
    report.fit = {
      datasets: report.runs.map((r) => r.dataset),
      retrieval: {
        weights: { key: w.key, emb: w.emb, text: w.text, def: w.def ?? 0, path: w.path ?? 0, ...fixed },
        rrfK: w.rrfK,
        textGate: w.textGate ?? 0,
        fittedOn: {
          datasets: report.runs.map((r) => `${r.dataset} (${r.questions} questions)`),
          objective:
            `grid over the key/emb/def/path weights (text 1 or 0), RRF k and the BM25 gate; among the weights whose fusion is never below the best single retriever on any dataset (recall@1, recall@5, MRR), the highest mean MRR of the gold document (top ${C}); within half a question of it, the fewest retrievers`,
          feasible: f.feasible,
          margin: round(f.margin, 4),
          mrr: round(f.mrr, 4),
          recall1: round(100 * f.recall1, 2),
          perRetriever: Object.fromEntries(report.runs.map((r) => [r.dataset, r.retrievers])),
          packId: m.packId,
          date: report.date,
        },
      },
    };
    for (const [i, run] of report.runs.entries()) scoreRun(run, all[i], w, C);
    report.fusion = w;
  }
  report.wallMs = Date.now() - t0;
  if (o.write !== false) {
    const outDir = path.resolve(repoRoot, o.outDir ?? 'docs/results');
    const tag = o.tag ?? 'eval-retrieval';
    await fsp.mkdir(outDir, { recursive: true });
    report.files = [`${tag}.json`, `${tag}.md`].map((f) => path.join(path.basename(outDir), f));
    await fsp.writeFile(path.join(outDir, `${tag}.json`), JSON.stringify(report, null, 1) + '\n');
    await fsp.writeFile(path.join(outDir, `${tag}.md`), retrievalMarkdown(report));
  }
  return report;
}

const LABEL: Record<string, string> = {
  text: 'BM25 (code-aware terms)',
  emb: 'sentence embedder (MiniLM cosine)',
  key: 'CMT self-matching keys',
  def: 'definition index (names the question mentions)',
  path: 'files the question names',
  rrf: 'plain RRF of keys + BM25 (before)',
  fusion: 'calibrated fusion',
};

export function retrievalMarkdown(r: RetrievalReport): string {
  const out: string[] = [];
  out.push(`# Retrieval — pack \`${r.pack.name}\` (${r.pack.packId}), embedder: ${r.pack.embedder ?? 'none'}\n`);
  out.push(`Command: \`${r.command}\`  \nDate: ${r.date}  \nMachine: ${r.machine.cpu}, ${r.machine.cores} cores\n`);
  out.push(`Fusion: weighted RRF, weights key ${r.fusion.key}, emb ${r.fusion.emb}, text ${r.fusion.text}${RETRIEVERS.filter((x) => !BASE.includes(x) && (r.fusion[x] ?? 0) > 0).map((x) => `, ${x} ${r.fusion[x]}`).join('')}, k ${r.fusion.rrfK}, BM25 gate ${r.fusion.textGate ? r.fusion.textGate : 'off'}${r.fit ? ' (fitted on these datasets by --fit)' : ''}\n`);
  for (const run of r.runs) {
    if (run.real) {
      out.push(...realMarkdown(run, run.real));
      continue;
    }
    const cost = run.memorizeNoEmbedderMs ? `, without the embedder ${(run.memorizeNoEmbedderMs / 1000).toFixed(1)} s (+${round((100 * (run.memorizeMs - run.memorizeNoEmbedderMs)) / run.memorizeNoEmbedderMs, 1)}%)` : '';
    out.push(`## ${run.dataset}: ${run.documents} documents (${run.chunks} chunks), ${run.questions} questions\n`);
    out.push(`Memorize ${(run.memorizeMs / 1000).toFixed(1)} s (embedder ${(run.embedderMs / 1000).toFixed(1)} s)${cost}; per question (compress + embed + 3 searches) p50 ${run.questionMs.p50} ms, p95 ${run.questionMs.p95} ms.\n`);
    out.push(mdTable(['retriever', 'recall@1', 'recall@5', 'MRR'], Object.entries(run.retrievers).map(([k, s]) => [LABEL[k] ?? k, s!.recall1, s!.recall5, s!.mrr])));
    out.push('');
  }
  return out.join('\n');
}

const RANKERS: Scored[] = [...BASE, ...RETRIEVERS.filter((r) => !BASE.includes(r)), 'rrf', 'fusion'];
const SHORT: Record<string, string> = { text: 'BM25', emb: 'emb', key: 'key', rrf: 'RRF (before)', fusion: 'fusion' };

/** A real-project run: memorize per project, file/line scores per ranker, per project, per kind, data errors. */
function realMarkdown(run: RetrievalRun, real: RealRun): string[] {
  const out: string[] = [];
  const mb = real.projects.reduce((a, p) => a + p.memorize.sourceBytes, 0) / 1e6;
  const errs = real.dataErrors.length;
  out.push(`## ${run.dataset}: ${real.projects.length} projects memorized whole, ${run.documents} files (${mb.toFixed(2)} MB, ${run.chunks} chunks), ${run.questions} questions scored
`);
  out.push(
    `Each project is memorized as a user would (its tree, its .gitignore, the default exclusions) into a fresh bank. ` +
      `File level: the ranked chunks reduced to distinct files (first occurrence), recall@1/@5 and MRR of the gold file. ` +
      `Line level: hit@k = one of the top k chunks (before the file dedup) is of the gold file and its lines contain the gold lines entirely. ` +
      `Per question (compress + embed + searches) p50 ${run.questionMs.p50} ms, p95 ${run.questionMs.p95} ms.` +
      (errs ? ` ${errs} question(s) whose gold file was not memorized are data errors, excluded from every score (listed below).` : ' No data errors (every gold file was memorized).') +
      (real.withoutQuestions.length ? ` Left out (no question file yet): ${real.withoutQuestions.join(', ')}.` : '') +
      '\n',
  );
  out.push('### Memorize\n');
  out.push(
    mdTable(
      ['project', 'files memorized', 'skipped (by reason)', 'failed', 'chunks', 'seconds', 'source MB', 's per MB', 'embedder s', 'questions', 'data errors'],
      real.projects.map((p) => {
        const m = p.memorize;
        const sk = Object.entries(m.skipped).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ') || '—';
        return [p.project, m.files, sk, m.failed, m.chunks, round(m.wallMs / 1000, 1), round(m.sourceBytes / 1e6, 3), m.secondsPerMB, round(m.embedderMs / 1000, 1), p.questions, p.dataErrors];
      }),
    ),
  );
  out.push('### Retrieval over the split (micro average over questions, %; MRR over the top candidates)\n');
  const rankers = RANKERS.filter((k) => run.retrievers[k]);
  out.push(
    mdTable(
      ['retriever', 'file recall@1', 'file recall@5', 'file MRR', 'line hit@1', 'line hit@5'],
      rankers.map((k) => [LABEL[k] ?? k, run.retrievers[k]!.recall1, run.retrievers[k]!.recall5, run.retrievers[k]!.mrr, real.lines[k]?.hit1 ?? '—', real.lines[k]?.hit5 ?? '—']),
    ),
  );
  out.push('### Per project: file recall@1 / file recall@5 / line hit@5 (%)\n');
  const cell = (s?: Scores, l?: LineScores) => (s ? `${s.recall1} / ${s.recall5} / ${l?.hit5 ?? '—'}` : '—');
  out.push(
    mdTable(
      ['project', 'questions', 'memorize s', ...rankers.map((k) => SHORT[k] ?? k)],
      [
        ...real.projects.map((p) => [p.project, p.questions, round(p.memorize.wallMs / 1000, 1), ...rankers.map((k) => cell(p.retrievers[k], p.lines[k]))]),
        [`**all (${run.dataset})**`, run.questions, round(run.memorizeMs / 1000, 1), ...rankers.map((k) => cell(run.retrievers[k], real.lines[k]))],
      ],
    ),
  );
  out.push('### Per question kind (fusion, %)\n');
  out.push(mdTable(['kind', 'questions', 'file recall@1', 'file recall@5', 'line hit@5'], Object.entries(real.byKind).map(([k, x]) => [k, x.questions, x.fileRecall1, x.fileRecall5, x.lineHit5])));
  if (errs) {
    out.push(`### Data errors: ${errs} question(s) whose gold file was not memorized (excluded from the scores)\n`);
    out.push(mdTable(['project', 'question', 'gold file', 'why'], real.dataErrors.map((d) => [d.project, d.id, `\`${d.file}\``, d.reason])));
  }
  out.push('');
  return out;
}

// `cmt eval --retrieval-only`: gold-document retrieval of each retriever — BM25 over code-aware
// terms (`text`), the pack's sentence embedder (`emb`), the CMT self-matching keys (`key`) — and
// of their fusion (match.ts fuseRanked with the pack's `retrieval` weights), on SQuAD-format
// files: recall@1, recall@5 and MRR (over the top `candidates`). No decoding: the documents are
// memorized through Engine.memorize into a fresh bank (timed, with the embedder's share), then
// every question is compressed/embedded once and searched by each retriever.
//
// `--fit` grid-searches the weighted-RRF weights and k that maximise the mean MRR over the given
// (dev!) datasets and prints the pack.json `retrieval` section; the single retrievers are points
// of the grid, so on the fit data the fusion is never below the best one.

import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_FUSION, fuseGated, FusionWeights, fusionOf, RankedList, Retriever, RETRIEVERS } from '../core/match';
import { loadPack } from '../core/pack';
import type { Device, MemoryRecord } from '../core/types';
import { loadDataset, questionsOf } from '../measure/dataset';
import { StreamingBank } from './harness';
import { machineInfo, MachineInfo } from '../measure/machine';
import { memorizeFresh } from '../measure/scratchBank';
import { round } from '../measure/metrics';
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
}

export interface Scores {
  recall1: number;
  recall5: number;
  mrr: number;
}

/** One question's ranked lists, reduced to what scoring needs. */
interface QLists {
  gold: string;
  /** Each retriever's hits, best first; `s`: BM25 score (text) or cosine similarity (key, emb). */
  lists: Partial<Record<Retriever, Array<{ id: string; path: string; s?: number }>>>;
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
  retrievers: Partial<Record<Retriever | 'fusion' | 'rrf', Scores>>;
}

export interface RetrievalReport {
  kind: 'cmt-eval-retrieval';
  date: string;
  command: string;
  machine: MachineInfo;
  pack: { dir: string; packId: string; name: string; embedder: string | null };
  fusion: FusionWeights;
  runs: RetrievalRun[];
  fit?: { retrieval: { weights: { key: number; emb: number; text: number }; rrfK: number; textGate: number; fittedOn: unknown }; datasets: string[] };
  files: string[];
  wallMs: number;
}

const now = () => performance.now();

function pct(x: number, n: number): number {
  return round((100 * x) / Math.max(1, n), 2);
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

function fusedRank(q: QLists, w: FusionWeights, topN: number): number {
  const lists: RankedList[] = [];
  for (const r of RETRIEVERS) {
    const l = q.lists[r];
    if (l && w[r] > 0) lists.push({ retriever: r, records: l as unknown as MemoryRecord[], weight: w[r] });
  }
  if (lists.length === 0 && q.lists.key) lists.push({ retriever: 'key', records: q.lists.key as unknown as MemoryRecord[], weight: 1 });
  const text = q.lists.text && w.text > 0 ? q.lists.text.map((x) => ({ record: x, score: x.s ?? 0 })) : undefined;
  return goldRank(fuseGated(lists, topN, w, text).map((m) => m.record), q.gold);
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

/**
 * Grid search of weighted-RRF weights (text fixed at 1 or 0; RRF is scale-free), k and the BM25
 * gate. Rule: among the candidates whose fusion is never below the best single retriever on any
 * dataset (recall@1, recall@5, MRR), the highest mean MRR; among those within half a question of
 * it (0.5 / smallest dataset's questions, in mean MRR), the one with the fewest retrievers (a
 * retriever at chance level only breaks ties at random). No candidate at ≥ 0: the largest margin.
 */
export function fitFusion(perDataset: QLists[][], available: Set<Retriever>, topN: number): Fitted {
  const grid = [0, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5];
  const ks = [1, 2, 5, 10, 20, 60];
  const gates = available.has('text') ? [0, 1.05, 1.1, 1.15, 1.2, 1.3, 1.5, 2] : [0];
  const cands: FusionWeights[] = [];
  for (const text of available.has('text') ? [1, 0] : [0]) {
    for (const key of available.has('key') ? grid : [0]) {
      for (const emb of available.has('emb') ? grid : [0]) {
        if (text === 0 && key + emb === 0) continue;
        if (text === 0 && Math.max(key, emb) !== 1) continue; // scale-free: normalise the largest to 1
        for (const rrfK of ks) for (const textGate of text > 0 && key + emb > 0 ? gates : [0]) cands.push({ key, emb, text, rrfK, textGate });
      }
    }
  }
  const single = (r: Retriever): FusionWeights => ({ key: 0, emb: 0, text: 0, [r]: 1, rrfK: 60, textGate: 0 });
  const scoreAll = (w: FusionWeights) => perDataset.map((qs) => scoresOf(qs.map((q) => fusedRank(q, w, topN))));
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
    const used = RETRIEVERS.filter((r) => w[r] > 0).length;
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
        const q = await e.compressor.compressQuestion(qa.question);
        const qe = hasEmb ? await e.embedder!.embedOne(qa.question) : undefined;
        const [vec, em, txt] = await Promise.all([
          e.bank.vectorSearch(q.key, C),
          qe ? e.bank.embedSearch(qe, C) : Promise.resolve([]),
          e.bank.textSearch(qa.question, C),
        ]);
        lat.push(now() - t);
        const slim = (hs: Array<{ record: MemoryRecord; score?: number; distance?: number }>) => hs.map((h) => ({ id: h.record.id, path: h.record.path, s: h.score ?? (h.distance === undefined ? undefined : 1 - h.distance) }));
        qls.push({ gold, lists: { key: slim(vec), text: slim(txt), ...(qe ? { emb: slim(em) } : {}) } });
      }
      const sorted = [...lat].sort((a, b) => a - b);
      const pctl = (p: number) => round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0, 1);
      run = {
        dataset: ds.name,
        source: path.relative(repoRoot, ds.source),
        documents: docs.length,
        questions: qs.length,
        chunks: mem.chunks,
        memorizeMs: round(mem.wallMs, 0),
        embedderMs: round(embMs, 0),
        questionMs: { p50: pctl(50), p95: pctl(95) },
        retrievers: {},
      };
    } finally {
      await bank.close();
    }
    if (o.measureEmbedderCost && run.embedderMs > 0) {
      run.memorizeNoEmbedderMs = round((await memorizeFresh(pack.dir, docs, { device, embedder: false })).wallMs, 0);
    }
    for (const r of RETRIEVERS) if (qls.some((q) => q.lists[r])) run.retrievers[r] = scoresOf(qls.map((q) => goldRank(q.lists[r] ?? [], q.gold)));
    run.retrievers.rrf = scoresOf(qls.map((q) => fusedRank(q, { ...DEFAULT_FUSION, emb: 0 }, C)));
    run.retrievers.fusion = scoresOf(qls.map((q) => fusedRank(q, fusion, C)));
    report.runs.push(run);
    all.push(qls);
    if (o.listsOut) await fsp.writeFile(`${o.listsOut}.${all.length - 1}.json`, JSON.stringify({ dataset: ds.name, questions: qls }));
  }
  if (o.fit) {
    const f = fitFusion(all, available, C);
    const w = f.best;
    report.fit = {
      datasets: report.runs.map((r) => r.dataset),
      retrieval: {
        weights: { key: w.key, emb: w.emb, text: w.text },
        rrfK: w.rrfK,
        textGate: w.textGate ?? 0,
        fittedOn: {
          datasets: report.runs.map((r) => `${r.dataset} (${r.questions} questions)`),
          objective:
            `grid over key/emb weights (text 1 or 0), RRF k and the BM25 gate; among the weights whose fusion is never below the best single retriever on any dataset (recall@1, recall@5, MRR), the highest mean MRR of the gold document (top ${C}); within half a question of it, the fewest retrievers`,
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
    for (const [i, run] of report.runs.entries()) run.retrievers.fusion = scoresOf(all[i].map((q) => fusedRank(q, w, C)));
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
  rrf: 'plain RRF of keys + BM25 (before)',
  fusion: 'calibrated fusion',
};

export function retrievalMarkdown(r: RetrievalReport): string {
  const out: string[] = [];
  out.push(`# Retrieval — pack \`${r.pack.name}\` (${r.pack.packId}), embedder: ${r.pack.embedder ?? 'none'}\n`);
  out.push(`Command: \`${r.command}\`  \nDate: ${r.date}  \nMachine: ${r.machine.cpu}, ${r.machine.cores} cores\n`);
  out.push(`Fusion: weighted RRF, weights key ${r.fusion.key}, emb ${r.fusion.emb}, text ${r.fusion.text}, k ${r.fusion.rrfK}, BM25 gate ${r.fusion.textGate ? r.fusion.textGate : 'off'}${r.fit ? ' (fitted on these datasets by --fit)' : ''}\n`);
  for (const run of r.runs) {
    const cost = run.memorizeNoEmbedderMs ? `, without the embedder ${(run.memorizeNoEmbedderMs / 1000).toFixed(1)} s (+${round((100 * (run.memorizeMs - run.memorizeNoEmbedderMs)) / run.memorizeNoEmbedderMs, 1)}%)` : '';
    out.push(`## ${run.dataset}: ${run.documents} documents (${run.chunks} chunks), ${run.questions} questions\n`);
    out.push(`Memorize ${(run.memorizeMs / 1000).toFixed(1)} s (embedder ${(run.embedderMs / 1000).toFixed(1)} s)${cost}; per question (compress + embed + 3 searches) p50 ${run.questionMs.p50} ms, p95 ${run.questionMs.p95} ms.\n`);
    out.push(mdTable(['retriever', 'recall@1', 'recall@5', 'MRR'], Object.entries(run.retrievers).map(([k, s]) => [LABEL[k] ?? k, s!.recall1, s!.recall5, s!.mrr])));
    out.push('');
  }
  return out.join('\n');
}

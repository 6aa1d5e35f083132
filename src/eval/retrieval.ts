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
import type { FusionWeights, Retriever } from '../core/match';
import { machineInfo } from '../measure/machine';
import { allOptions, type OptionSpecs, resolveOptions } from '../measure/options';
import { isRealSpec } from '../measure/realRepos';
import { writeReport } from '../measure/report';
import { EVAL_OPTIONS } from './sections';
import { retrievalMarkdown } from './retrievalReport';
import type { QLists, RetrievalReport } from './retrievalTypes';
import type { ResolvedRetrievalEvalOptions, RetrievalEvalOptions } from './types';


export const RETRIEVAL_OPTIONS = {
  retrievalOnly: { flags: '--retrieval-only', description: 'recall@1/@5 + MRR per retriever and fused (no answers)', kind: 'flag' },
  /** Candidates fetched per retriever; MRR counts ranks up to this. */
  candidates: { flags: '--candidates <n>', description: '--retrieval-only: candidates per retriever', kind: 'number', default: 50 },
  /** Fit the fusion weights on these datasets (dev splits only). */
  fit: { flags: '--fit', description: '--retrieval-only: fit the fusion weights on the dev split', kind: 'flag' },
  /** Memorize a second time with the embedder off, to measure what it adds. */
  measureEmbedderCost: { flags: '--embedder-cost', description: '--retrieval-only: also time memorizing without the sentence embedder', kind: 'flag' },
  /** The fusion to report: key, emb, text weights, RRF k (default 60), BM25 gate (default 0: off); default the pack's `retrieval` section, else plain RRF. */
  fusion: { flags: '--fusion <key,emb,text,k[,gate]>', description: '--retrieval-only: fusion weights, RRF k and the BM25 gate (0: off)', kind: 'numbers' },
  /** Write each dataset's per-question ranked lists to `<listsOut>.<i>.json` (to refit without re-memorizing). */
  listsOut: { flags: '--lists <prefix>', description: "--retrieval-only: also write each dataset's ranked lists to <prefix>.<i>.json", kind: 'string' },
  write: { flags: '--no-write', description: '--retrieval-only: print, write no report', kind: 'negatable' },
} satisfies OptionSpecs;

/** --fusion key,emb,text[,k[,gate]] as weights. */
function fusionFrom(fz: number[] | undefined): FusionWeights | undefined {
  return fz ? { key: fz[0], emb: fz[1], text: fz[2], rrfK: fz[3] ?? 60, textGate: fz[4] ?? 0 } : undefined;
}

export async function runRetrievalEval(opts: RetrievalEvalOptions): Promise<RetrievalReport> {
  const t0 = Date.now();
  // Engine code loads here, not with the option declarations (`cmt` reads those at start-up).
  const { loadPack } = await import('../core/pack');
  const { fusionOf } = await import('../core/match');
  const { realRetrievalRun, squadRetrievalRun } = await import('./retrievalLists');
  const { scoreRun } = await import('./retrievalScore');
  const o = resolveOptions(allOptions([EVAL_OPTIONS, RETRIEVAL_OPTIONS]), opts) as ResolvedRetrievalEvalOptions; // --quick does not apply here
  const log = o.log ?? ((m: string) => process.stderr.write(m + '\n'));
  const repoRoot = path.resolve(o.repoRoot ?? process.cwd());
  const C = o.candidates;
  const pack = await loadPack(path.resolve(o.pack), { verifyHashes: false });
  const m = pack.manifest;
  const fusion = fusionFrom(o.fusion) ?? fusionOf(m.retrieval);
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
  const ctx = { o, packDir: pack.dir, device: o.device ?? 'cpu', repoRoot, C, available: new Set<Retriever>(['key', 'text']), log };
  for (const spec of o.datasets) {
    const { run, qls } = await (isRealSpec(spec) ? realRetrievalRun : squadRetrievalRun)(spec, ctx);
    scoreRun(run, qls, fusion, C);
    report.runs.push(run);
    all.push(qls);
    if (o.listsOut) await fsp.writeFile(`${o.listsOut}.${all.length - 1}.json`, JSON.stringify({ dataset: run.dataset, questions: qls }));
  }
  if (o.fit) {
    const { fitReport } = await import('./retrievalFit');
    const { fit, weights } = fitReport(report, all, ctx.available, fusion, C, m.packId);
    report.fit = fit;
    for (const [i, run] of report.runs.entries()) scoreRun(run, all[i], weights, C);
    report.fusion = weights;
  }
  report.wallMs = Date.now() - t0;
  if (o.write !== false) await writeReport(report, path.resolve(repoRoot, o.outDir ?? 'docs/results'), o.tag ?? 'eval-retrieval', {}, retrievalMarkdown);
  return report;
}

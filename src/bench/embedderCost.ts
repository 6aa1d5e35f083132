// `cmt bench --sections embedder`: what the pack's sentence embedder adds to memorize time, per
// token, with and without it side by side in one run (issue #11's budget: at most 30 %).
//
// Each dataset's documents are memorized into fresh banks by the real engine (files -> chunks ->
// compressor -> embedder -> LanceDB), alternately with the embedder and without it (the same pack
// with Engine.embedder set to null, as a pack without one memorizes), in ABBA order so that a slow
// drift of the machine falls on both sides; the medians are compared. The chunk texts are the same
// on both sides, so the ratio of wall times is the ratio per token.
import type { Pack } from '../core/pack';
import type { Device } from '../core/types';
import { EvalDocument, loadDataset } from '../measure/dataset';
import type { OptionSpecs } from '../measure/options';
import { percentile, round } from '../measure/stats';
import { mdTable } from '../measure/svg';
import type { BenchSection } from './types';

export const EMBEDDER_COST_BUDGET_PCT = 30;

export const EMBEDDER_OPTIONS = {
  embedderDatasets: { flags: '--embedder-datasets <list>', description: 'embedder: datasets memorized with and without the sentence embedder (default workspace-test,squad-notre-dame-test)', kind: 'strings', default: ['workspace-test', 'squad-notre-dame-test'] },
  embedderRepeats: { flags: '--embedder-repeats <n>', description: 'embedder: ABBA rounds (default 2)', kind: 'number', default: 2, quick: 1 },
  embedderDocs: { flags: '--embedder-docs <n>', description: 'embedder: documents per dataset (default all)', kind: 'number', quick: 24, helpAfter: '--chunking-repeats' },
} satisfies OptionSpecs;

export interface EmbedderCostRow {
  dataset: string;
  documents: number;
  chunks: number;
  /** Tokens of the documents as the compressor's tokenizer counts them. */
  sourceTokens: number;
  /** Median memorize wall time with the embedder, ms. */
  withMs: number;
  /** Median memorize wall time with the embedder off, ms. */
  withoutMs: number;
  /** Median time spent inside the embedder in the runs with it, ms. */
  embedderMs: number;
  /** (with - without) / without, %. */
  addedPct: number;
  /** embedder time / (with - embedder time) inside the same runs, %: the steadier figure. */
  embedderShareOfRestPct: number;
  /** Every timed memorize, in run order. */
  runs: { embedder: boolean; ms: number }[];
}

export interface EmbedderCostBench {
  /** Why nothing was measured (the pack has no embedder). */
  skipped?: string;
  embedder?: { name: string; maxTokens: number };
  repeats: number;
  budgetPct: number;
  rows: EmbedderCostRow[];
}

export interface EmbedderCostOptions {
  datasets: string[];
  /** ABBA rounds: each round memorizes every dataset twice with and twice without the embedder. */
  repeats: number;
  maxDocs?: number;
  device?: Device;
  repoRoot: string;
  log: (m: string) => void;
}

export async function benchEmbedderCost(pack: Pack, o: EmbedderCostOptions): Promise<EmbedderCostBench> {
  const spec = pack.manifest.embedder;
  const out: EmbedderCostBench = { repeats: o.repeats, budgetPct: EMBEDDER_COST_BUDGET_PCT, rows: [] };
  if (!spec) return { ...out, skipped: 'the pack has no sentence embedder' };
  out.embedder = { name: spec.name, maxTokens: spec.maxTokens };
  const { memorizeFresh } = await import('../measure/scratchBank'); // engine code: loaded when the section runs
  const memorize = async (docs: EvalDocument[], embedder: boolean) => {
    const m = await memorizeFresh(pack.dir, docs, { device: o.device ?? 'cpu', embedder });
    if (m.failed) throw new Error(`${m.failed} of ${docs.length} documents failed to memorize`);
    return m;
  };
  for (const name of o.datasets) {
    const ds = loadDataset(name, o.repoRoot);
    const docs = ds.documents.slice(0, o.maxDocs ?? ds.documents.length);
    const sourceTokens = docs.reduce((n, d) => n + pack.tokenizer.encode(d.text).length, 0);
    // Warm-up (sessions, page cache), not timed.
    await memorize(docs.slice(0, 8), true);
    const runs: EmbedderCostRow['runs'] = [];
    const withMs: number[] = [];
    const withoutMs: number[] = [];
    const embMs: number[] = [];
    let chunks = 0;
    for (let r = 0; r < o.repeats; r++) {
      for (const embedder of [true, false, false, true]) {
        const m = await memorize(docs, embedder);
        chunks = m.chunks;
        runs.push({ embedder, ms: round(m.wallMs, 0) });
        (embedder ? withMs : withoutMs).push(m.wallMs);
        if (embedder) embMs.push(m.embedderMs);
      }
    }
    const w = percentile(withMs, 50);
    const wo = percentile(withoutMs, 50);
    const e = percentile(embMs, 50);
    const row: EmbedderCostRow = {
      dataset: ds.name,
      documents: docs.length,
      chunks,
      sourceTokens,
      withMs: round(w, 0),
      withoutMs: round(wo, 0),
      embedderMs: round(e, 0),
      addedPct: round((100 * (w - wo)) / wo, 1),
      embedderShareOfRestPct: round((100 * e) / Math.max(1, w - e), 1),
      runs,
    };
    o.log(`[bench] embedder cost: ${row.dataset}: ${row.chunks} chunks, with ${row.withMs} ms / without ${row.withoutMs} ms -> +${row.addedPct} % (embedder ${row.embedderMs} ms, ${row.embedderShareOfRestPct} % of the rest)`);
    out.rows.push(row);
  }
  return out;
}

export function embedderCostMarkdown(b: EmbedderCostBench): string {
  const out: string[] = ['## Sentence embedder cost at memorize time\n'];
  if (b.skipped) {
    out.push(`Not measured: ${b.skipped}.\n`);
    return out.join('\n');
  }
  out.push(
    `${b.embedder!.name}, reading the first ${b.embedder!.maxTokens} tokens of each chunk. Each dataset memorized into fresh banks ${2 * b.repeats}× with the embedder and ${2 * b.repeats}× without it, in ABBA order; medians. Same chunks on both sides, so "added" is per token. Budget: ≤ ${b.budgetPct} %.\n`,
  );
  out.push(
    mdTable(
      ['dataset', 'documents', 'chunks', 'source tokens', 'with s', 'without s', 'added', 'embedder s', 'embedder / rest', `≤ ${b.budgetPct} %`],
      b.rows.map((r) => [r.dataset, r.documents, r.chunks, r.sourceTokens, round(r.withMs / 1000, 2), round(r.withoutMs / 1000, 2), `+${r.addedPct} %`, round(r.embedderMs / 1000, 2), `${r.embedderShareOfRestPct} %`, r.addedPct <= b.budgetPct ? 'yes' : 'no']),
    ),
  );
  return out.join('\n') + '\n';
}

export const embedderSection: BenchSection = {
  name: 'embedder',
  options: EMBEDDER_OPTIONS,
  async run(c, r) {
    r.embedder = await benchEmbedderCost(c.pack, { datasets: c.o.embedderDatasets, repeats: c.o.embedderRepeats, maxDocs: c.o.embedderDocs, device: c.device, repoRoot: c.repoRoot, log: c.log });
  },
  markdown: (r) => (r.embedder ? embedderCostMarkdown(r.embedder) : ''),
  console: (r) =>
    (r.embedder?.rows ?? [])
      .map((x) => `embedder cost ${x.dataset}: with ${(x.withMs / 1000).toFixed(2)} s, without ${(x.withoutMs / 1000).toFixed(2)} s -> +${x.addedPct} % per token (budget ${r.embedder!.budgetPct} %)\n`)
      .join(''),
};

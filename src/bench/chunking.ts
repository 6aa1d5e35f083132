// `cmt bench --sections chunking`: what code-aware chunking (definitions by tree-sitter, symbol
// headers, the definition index) costs at memorize time, side by side in one run: each real
// project (benchmarks/real, fetched into .cache/real-repos) is memorized whole into fresh banks by
// the real engine, alternately with `syntaxChunks` on and off, in ABBA order so that a slow drift
// of the machine falls on both sides; the medians are compared per source MB.
import type { Pack } from '../core/pack';
import type { Device } from '../core/types';
import type { OptionSpecs } from '../measure/options';
import { loadRealDataset, memorizeWorkspace } from '../measure/realRepos';
import { percentile, round } from '../measure/stats';
import { mdTable } from '../measure/svg';
import type { BenchSection } from './types';

/** The budget: code-aware memorize time per source MB at most this many times the line-based one. */
export const CHUNKING_COST_BUDGET = 1.3;

export const CHUNKING_OPTIONS = {
  chunkingDataset: { flags: '--chunking-dataset <name>', description: 'chunking: real projects memorized with code-aware chunking on and off (default real-dev; real:<name> for one)', kind: 'string', default: 'real-dev' },
  chunkingRepeats: { flags: '--chunking-repeats <n>', description: 'chunking: ABBA rounds (default 1)', kind: 'number', default: 1 },
} satisfies OptionSpecs;

export interface ChunkingCostRow {
  project: string;
  files: number;
  sourceMB: number;
  chunksOn: number;
  chunksOff: number;
  /** Median seconds per source MB, code-aware / line-based. */
  sPerMBOn: number;
  sPerMBOff: number;
  ratio: number;
  runs: { syntaxChunks: boolean; ms: number }[];
}

export interface ChunkingCostBench {
  projects: string[];
  repeats: number;
  rows: ChunkingCostRow[];
  /** Over all projects: total median time on / off. */
  ratio: number;
  budget: number;
}

async function memorizeOnce(packDir: string, workspace: string, device: Device, syntaxChunks: boolean) {
  const { ScratchBank } = await import('../measure/scratchBank'); // engine code: loaded when the section runs
  const bank = await ScratchBank.open(packDir, device, undefined, { syntaxChunks });
  try {
    return await memorizeWorkspace(bank.engine, workspace);
  } finally {
    await bank.close();
  }
}

export async function benchChunkingCost(
  pack: Pack,
  o: { spec?: string; repeats?: number; device?: Device; repoRoot: string; log: (m: string) => void },
): Promise<ChunkingCostBench> {
  const ds = loadRealDataset(o.spec ?? 'real-dev', o.repoRoot);
  const repeats = Math.max(1, o.repeats ?? 1);
  const rows: ChunkingCostRow[] = [];
  let on = 0;
  let off = 0;
  for (const p of ds.projects) {
    const runs: ChunkingCostRow['runs'] = [];
    const chunks = { on: 0, off: 0 };
    let files = 0;
    let bytes = 0;
    for (let r = 0; r < repeats; r++) {
      for (const syntaxChunks of r % 2 === 0 ? [true, false] : [false, true]) {
        const m = await memorizeOnce(pack.dir, p.workspace, o.device ?? 'cpu', syntaxChunks);
        runs.push({ syntaxChunks, ms: m.summary.wallMs });
        chunks[syntaxChunks ? 'on' : 'off'] = m.summary.chunks;
        files = m.summary.files;
        bytes = m.summary.sourceBytes;
        o.log(`[bench] chunking ${p.name}: syntaxChunks ${syntaxChunks ? 'on ' : 'off'} ${(m.summary.wallMs / 1000).toFixed(1)} s, ${m.summary.chunks} chunks`);
      }
    }
    const med = (flag: boolean) => percentile(runs.filter((x) => x.syntaxChunks === flag).map((x) => x.ms), 50);
    const mb = bytes / 1e6;
    on += med(true);
    off += med(false);
    rows.push({
      project: p.name,
      files,
      sourceMB: round(mb, 3),
      chunksOn: chunks.on,
      chunksOff: chunks.off,
      sPerMBOn: round(med(true) / 1000 / mb, 1),
      sPerMBOff: round(med(false) / 1000 / mb, 1),
      ratio: round(med(true) / med(false), 3),
      runs,
    });
  }
  return { projects: ds.projects.map((p) => p.name), repeats, rows, ratio: round(on / Math.max(1, off), 3), budget: CHUNKING_COST_BUDGET };
}

export function chunkingCostMarkdown(b: ChunkingCostBench): string {
  const out = [
    `### Code-aware chunking: memorize cost side by side (budget ≤ ${b.budget}x per source MB)\n`,
    `Each project memorized whole into fresh banks, syntaxChunks on and off alternately (ABBA), ${b.repeats} run(s) each; medians.\n`,
    mdTable(
      ['project', 'files', 'source MB', 'chunks on / off', 's per MB on', 's per MB off', 'on / off'],
      b.rows.map((r) => [r.project, r.files, r.sourceMB, `${r.chunksOn} / ${r.chunksOff}`, r.sPerMBOn, r.sPerMBOff, r.ratio]),
    ),
    '',
    `All projects: **${b.ratio}x** the line-based memorize time (${b.ratio <= b.budget ? 'within' : 'over'} the ${b.budget}x budget).\n`,
  ];
  return out.join('\n');
}

export const chunkingSection: BenchSection = {
  name: 'chunking',
  options: CHUNKING_OPTIONS,
  async run(c, r) {
    r.chunking = await benchChunkingCost(c.pack, { spec: c.o.chunkingDataset, repeats: c.o.chunkingRepeats, device: c.device, repoRoot: c.repoRoot, log: c.log });
  },
  markdown: (r) => (r.chunking ? chunkingCostMarkdown(r.chunking) : ''),
};

// `cmt bench --sections search`: search_memory latency on a 10K-memory bank, warm, as an agent sees
// it (the MCP SDK's client -> `cmt mcp` over stdio -> the engine's fused retrieval). The measurement
// is scripts/bench-search.mjs (it writes and caches the bank, real embeddings, real queries); this
// section runs it and puts its result in the bench report. Goal: p50 <= 150 ms.
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { Pack } from '../core/pack';
import { mdTable } from '../measure/svg';
import type { BenchSection } from './types';

export interface SearchBench {
  pack: string;
  memories: number;
  vectors: string;
  queries: number;
  warmup: number;
  meanHits: number;
  searchMemoryMs: { p50: number; p95: number; min: number };
  engineMatchMs: { p50: number; p95: number };
  machine: { cpus: number; model?: string; loadavg1m: number; node: string };
  goalMs: number;
}

const GOAL_MS = 150;

export async function benchSearch(pack: Pack, o: { repoRoot: string; memories?: number; log: (m: string) => void }): Promise<SearchBench> {
  const script = path.join(o.repoRoot, 'scripts', 'bench-search.mjs');
  o.log(`[bench] search: ${script} --pack ${pack.dir} --memories ${o.memories ?? 10000}`);
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [script, '--pack', pack.dir, '--memories', String(o.memories ?? 10000)], {
    cwd: o.repoRoot,
    maxBuffer: 16 << 20,
  });
  for (const line of stderr.split('\n').filter(Boolean)) o.log(line);
  return { ...(JSON.parse(stdout) as Omit<SearchBench, 'goalMs'>), goalMs: GOAL_MS };
}

export function searchMarkdown(s: SearchBench): string {
  return [
    `## search_memory latency (MCP client -> cmt mcp -> engine), warm\n`,
    `${s.memories} memories (${s.vectors}), ${s.queries} queries after ${s.warmup} warm-up (workspace-test questions and phrases from the bank's texts, alternating), the pack's top-K (mean ${Math.round(s.meanHits * 10) / 10} hits). Load average during the run: ${s.machine.loadavg1m}. Goal: p50 ≤ ${s.goalMs} ms.\n`,
    mdTable(['client p50 ms', 'client p95 ms', 'min ms', 'engine match p50 ms', 'engine match p95 ms', `p50 ≤ ${s.goalMs}`], [[s.searchMemoryMs.p50, s.searchMemoryMs.p95, s.searchMemoryMs.min, s.engineMatchMs.p50, s.engineMatchMs.p95, s.searchMemoryMs.p50 <= s.goalMs ? 'yes' : 'no']]),
  ].join('\n');
}

export const searchSection: BenchSection = {
  name: 'search',
  options: {},
  async run(c, r) {
    r.search = await benchSearch(c.pack, { repoRoot: c.repoRoot, log: c.log });
  },
  markdown: (r) => (r.search ? searchMarkdown(r.search) : ''),
};

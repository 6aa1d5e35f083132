// `cmt bench --sections memory`: peak resident memory of the engine process (a forked process per
// case, as the extension and the CLI run it): memorizing a project, answering questions from it,
// and one process doing both (the extension's long-lived engine). The project is the real express
// package when it has been fetched (benchmarks/real/fetch.py), else samples/workspace.
import { existsSync, promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Pack } from '../core/pack';
import { mdTable } from '../measure/svg';
import { now } from '../measure/stats';
import type { BenchSection } from './types';
import { runWorker } from './worker';

export interface MemoryCase {
  mode: 'memorize' | 'ask' | 'both';
  /** Peak RSS after Engine.open, after memorize, and at the end (MiB, maxRSS of the process). */
  afterOpenMiB: number;
  afterMemorizeMiB: number;
  peakMiB: number;
  wallMs: number;
  /** CPU seconds (user + system) of the engine process: less noisy than wall time on a shared machine. */
  cpuS: number;
}

export interface MemoryBench {
  workspace: string;
  files: number;
  chunks: number;
  questions: string[];
  answers: string[];
  cases: MemoryCase[];
  /** The goal (MiB). */
  goalMiB: number;
}

const GOAL_MIB = 450;
const QUESTIONS: Record<string, string[]> = {
  express: ["What does express's package.json require in engines.node?", 'Which function creates an express application?', 'What is the license of express?'],
  workspace: ['What port does the billing service listen on?', 'Who owns the design document?', 'What is the retry limit?'],
};

type CaseResult = MemoryCase & { memorized: number; chunks: number; answers: string[] };

async function runCase(pack: Pack, root: string, bank: string, device: string, mode: MemoryCase['mode'], questions: string[]): Promise<CaseResult> {
  const t0 = now();
  let wallMs = 0;
  const r = await runWorker<CaseResult>(path.join(__dirname, 'memory-worker.js'), [pack.dir, root, bank, device, mode, JSON.stringify(questions)], `memory worker (${mode})`, (msg) => {
    if (msg.type === 'done') wallMs = Math.round(now() - t0);
  });
  return { ...r, wallMs };
}

export async function benchMemory(pack: Pack, o: { repoRoot: string; device?: string; log: (m: string) => void }): Promise<MemoryBench> {
  const express = path.join(o.repoRoot, '.cache', 'real-repos', 'ws', 'express');
  const useExpress = existsSync(express);
  const root = useExpress ? express : path.join(o.repoRoot, 'samples', 'workspace');
  const questions = QUESTIONS[useExpress ? 'express' : 'workspace'];
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'cmt-bench-memory-'));
  const device = o.device ?? 'cpu';
  try {
    o.log(`[bench] memory: ${path.relative(o.repoRoot, root)}: memorize, ask, both (a forked engine process each)`);
    const mem = await runCase(pack, root, path.join(dir, 'bank'), device, 'memorize', questions);
    const ask = await runCase(pack, root, path.join(dir, 'bank'), device, 'ask', questions);
    const both = await runCase(pack, root, path.join(dir, 'bank2'), device, 'both', questions);
    const strip = ({ mode, afterOpenMiB, afterMemorizeMiB, peakMiB, wallMs, cpuS }: MemoryCase): MemoryCase => ({ mode, afterOpenMiB, afterMemorizeMiB, peakMiB, wallMs, cpuS });
    for (const c of [mem, ask, both]) o.log(`[bench] memory: ${c.mode}: peak ${c.peakMiB} MiB`);
    return { workspace: path.relative(o.repoRoot, root), files: mem.memorized, chunks: mem.chunks, questions, answers: ask.answers, cases: [mem, ask, both].map(strip), goalMiB: GOAL_MIB };
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

export function memoryMarkdown(m: MemoryBench): string {
  const rows = m.cases.map((c) => [c.mode, c.afterOpenMiB, c.afterMemorizeMiB, c.peakMiB, c.peakMiB <= m.goalMiB ? 'yes' : `no (+${Math.round(c.peakMiB - m.goalMiB)})`, Math.round(c.wallMs / 100) / 10, c.cpuS]);
  return [
    `## Engine process peak resident memory\n`,
    `\`${m.workspace}\` (${m.files} files, ${m.chunks} chunks), then ${m.questions.length} questions in the shipped answer mode; a forked engine process per case, peak RSS (maxRSS) in MiB. Goal: ≤ ${m.goalMiB} MiB. Before the lean engine (this bench on commit d058cad's engine and its 354 MB pack): memorize 934, ask 1005, both 1259 MiB.\n`,
    mdTable(['process', 'after open', 'after memorize', 'peak', `≤ ${m.goalMiB}`, 'wall s', 'CPU s'], rows),
  ].join('\n');
}

export const memorySection: BenchSection = {
  name: 'memory',
  options: {},
  async run(c, r) {
    r.memory = await benchMemory(c.pack, { repoRoot: c.repoRoot, device: c.device, log: c.log });
  },
  markdown: (r) => (r.memory ? memoryMarkdown(r.memory) : ''),
};

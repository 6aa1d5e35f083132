// `cmt bench --sections shared-bank`: a bank on object storage (s3:// on a local S3-compatible server,
// moto) beside a local one: search/ask latency on the same N-memory bank, memorize throughput, two
// writers at once (exactly once). The run is sharedBankRun.ts, loaded only when the section runs.
import type { OptionSpecs } from '../measure/options';
import { round } from '../measure/stats';
import { mdTable } from '../measure/svg';
import type { BenchSection } from './types';

export const SHARED_OPTIONS = {
  sharedMemories: { flags: '--shared-memories <n>', description: 'shared-bank: memories in the bank searched and asked (local and s3://)', kind: 'number', default: 10000, quick: 300 },
  sharedQueries: { flags: '--shared-queries <n>', description: 'shared-bank: searches per bank (asks: a quarter)', kind: 'number', default: 40, quick: 4 },
  sharedFiles: { flags: '--shared-files <n>', description: 'shared-bank: files per writer (throughput and two writers)', kind: 'number', default: 1000, quick: 16 },
} satisfies OptionSpecs;

export interface Latency {
  bank: string;
  searchMs: { p50: number; p95: number };
  askMs: { p50: number; p95: number } | null;
  /** A bank read through its local replica: how long the first copy took (from opening the engine) and its size. */
  replica?: { copySeconds: number; mib: number };
}

export interface SharedBankBench {
  memories: number;
  rowsFrom: string;
  latency: Latency[];
  memorize: Array<{ bank: string; files: number; wallMs: number; filesPerSecond: number }>;
  twoWriters: { filesPerWriter: number; distinctFiles: number; filesInBank: number; rows: number; duplicateRows: number; missingFiles: number; wallMs: number; memorizedA: number; memorizedB: number };
  targets: { askP50Ratio: number; searchP50Ratio: number; memorizeRatio: number; exactlyOnce: boolean };
}

function sharedMarkdown(b: SharedBankBench): string {
  const t = b.targets;
  const w = b.twoWriters;
  return [
    '## A shared bank: s3:// (local S3-compatible server, moto) beside a local bank\n',
    `${b.memories} memories (${b.rowsFrom}); warm: 3 searches and 1 ask before the timed ones; the engine opened read-only, as a consumer.\n`,
    mdTable(['bank', 'search p50 ms', 'search p95 ms', 'ask p50 ms', 'ask p95 ms'], b.latency.map((x) => [x.bank, x.searchMs.p50, x.searchMs.p95, x.askMs?.p50 ?? '-', x.askMs?.p95 ?? '-'])),
    ...b.latency.flatMap((x) => (x.replica ? [`\n${x.bank}: the first copy took ${x.replica.copySeconds} s from opening the engine (it starts at the first read; reads went to the store meanwhile); the copy takes ${x.replica.mib} MiB.\n`] : [])),
    '\nMemorize (one forked engine process, a fresh bank each run; local and s3 alternately, the faster of 2 runs each):\n',
    mdTable(['memorize into', 'files', 'wall s', 'files/s'], b.memorize.map((x) => [x.bank, x.files, round(x.wallMs / 1000, 1), x.filesPerSecond])),
    `\nTwo writers at once (two engine processes, one s3:// bank, ${w.filesPerWriter} files each, half of them the same): ${w.filesInBank} of ${w.distinctFiles} files in the bank, ${w.rows} rows, ${w.duplicateRows} duplicate rows, ${w.missingFiles} missing; ${round(w.wallMs / 1000, 1)} s (A memorized ${w.memorizedA}, B ${w.memorizedB}).\n`,
    mdTable(['target', 'measured', 'met'], [
      ['ask p50, s3 (read from its replica, the default) / local ≤ 1.5', t.askP50Ratio, t.askP50Ratio <= 1.5 ? 'yes' : 'no'],
      ['(search p50, s3 / local)', t.searchP50Ratio, t.searchP50Ratio <= 1.5 ? 'yes' : 'no'],
      ['memorize time, s3 / local ≤ 1.3', t.memorizeRatio, t.memorizeRatio <= 1.3 ? 'yes' : 'no'],
      ['two writers: every row exactly once', t.exactlyOnce ? 'yes' : 'no', t.exactlyOnce ? 'yes' : 'no'],
    ]),
  ].join('\n');
}

export const sharedBankSection: BenchSection = {
  name: 'shared-bank',
  options: SHARED_OPTIONS,
  async run(c, r) {
    const { benchShared } = await import('./sharedBankRun');
    r['shared-bank'] = await benchShared(c);
  },
  markdown: (r) => (r['shared-bank'] ? sharedMarkdown(r['shared-bank']) : ''),
};

// `cmt bench --sections memorize`: a synthetic N-file repository (synth.ts) memorized by a forked
// engine process (memorize-worker.ts, as the extension runs it): wall time, peak RSS of that
// process, bank bytes before and after compaction, event-loop lag p99 of the caller meanwhile.
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Pack } from '../core/pack';
import type { OptionSpecs } from '../measure/options';
import { mib, round } from '../measure/stats';
import { mdTable } from '../measure/svg';
import { writeSyntheticRepo } from './synth';
import type { BenchContext, BenchSection } from './types';
import { runWorker } from './worker';

export const MEMORIZE_OPTIONS = {
  memorizeFiles: { flags: '--files <n>', description: 'files in the synthetic memorize repository', kind: 'number', default: 10000, quick: 40 },
} satisfies OptionSpecs;

export interface MemorizeBench {
  files: number;
  sourceBytes: number;
  sourceTokens: number;
  wallMs: number;
  filesPerSecond: number;
  tokensPerSecond: number;
  memorized: number;
  skipped: number;
  failed: number;
  chunks: number;
  bankBytes: number;
  bankBytesPerMemory: number;
  bankBytesPerSourceToken: number;
  /** After LanceDB compaction (optimize, old versions dropped). */
  bankBytesCompacted: number;
  compactedBytesPerMemory: number;
  compactedBytesPerSourceToken: number;
  engineMaxRssMiB: number;
  callerEventLoopLagMs: { p50: number; p99: number; max: number };
}

/** Source tokens of the files under `root`, as the compressor counts them (template + bos), for bytes per source token. */
async function sourceTokensOf(pack: Pack, root: string): Promise<number> {
  let sourceTokens = 0;
  const walk = async (p: string): Promise<void> => {
    for (const e of await fsp.readdir(p, { withFileTypes: true })) {
      const f = path.join(p, e.name);
      if (e.isDirectory()) await walk(f);
      else sourceTokens += pack.tokenizer.encode(await fsp.readFile(f, 'utf8')).length;
    }
  };
  await walk(root);
  return sourceTokens;
}

async function benchMemorize(c: BenchContext): Promise<MemorizeBench> {
  const files = c.o.memorizeFiles;
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'cmt-bench-repo-'));
  try {
    const root = path.join(dir, 'repo');
    const sourceBytes = await writeSyntheticRepo(root, files);
    const sourceTokens = await sourceTokensOf(c.pack, root);
    c.log(`[bench] memorize: ${files} files (${(sourceBytes / 1e6).toFixed(1)} MB, ${sourceTokens} tokens) -> forked engine process`);
    const worker = path.join(__dirname, 'memorize-worker.js');
    const h = monitorEventLoopDelay({ resolution: 10 });
    h.enable();
    const result = await runWorker<Record<string, number>>(worker, [c.pack.dir, root, path.join(dir, 'bank'), c.device], 'memorize worker', (msg) => {
      if (msg.type === 'progress') c.log(`[bench] memorize: ${String(msg.done)}/${String(msg.total)}`);
    });
    h.disable();
    const ms = (ns: number) => round(ns / 1e6, 2);
    return {
      files,
      sourceBytes,
      sourceTokens,
      wallMs: round(result.wallMs, 0),
      filesPerSecond: round(files / (result.wallMs / 1000), 1),
      tokensPerSecond: round(sourceTokens / (result.wallMs / 1000), 1),
      memorized: result.memorized,
      skipped: result.skipped,
      failed: result.failed,
      chunks: result.chunks,
      bankBytes: result.bankBytes,
      bankBytesPerMemory: round(result.bankBytes / Math.max(1, result.memories), 1),
      bankBytesPerSourceToken: round(result.bankBytes / Math.max(1, sourceTokens), 2),
      bankBytesCompacted: result.bankBytesCompacted,
      compactedBytesPerMemory: round(result.bankBytesCompacted / Math.max(1, result.memories), 1),
      compactedBytesPerSourceToken: round(result.bankBytesCompacted / Math.max(1, sourceTokens), 2),
      engineMaxRssMiB: mib(result.maxRssBytes),
      callerEventLoopLagMs: { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) },
    };
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

function memorizeMarkdown(y: MemorizeBench): string {
  return [
    '## Memorizing a synthetic repository (forked engine process)\n',
    mdTable(
      ['files', 'source MB', 'source tokens', 'memories', 'wall s', 'files/s', 'tokens/s', 'engine peak RSS MiB', 'caller event-loop lag p99 ms', 'bank MB', 'bytes/memory', 'bytes/source token', 'compacted: bytes/memory', 'compacted: bytes/source token'],
      [[y.files, round(y.sourceBytes / 1e6, 2), y.sourceTokens, y.chunks, round(y.wallMs / 1000, 1), y.filesPerSecond, y.tokensPerSecond, y.engineMaxRssMiB, y.callerEventLoopLagMs.p99, round(y.bankBytes / 1e6, 1), y.bankBytesPerMemory, y.bankBytesPerSourceToken, y.compactedBytesPerMemory, y.compactedBytesPerSourceToken]],
    ),
  ].join('\n');
}

export const memorizeSection: BenchSection = {
  name: 'memorize',
  options: MEMORIZE_OPTIONS,
  async run(c, r) {
    r.memorize = await benchMemorize(c);
  },
  markdown: (r) => (r.memorize ? memorizeMarkdown(r.memorize) : ''),
};

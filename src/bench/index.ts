// `cmt bench`: speed of the engine on this machine, section by section (sections.ts lists them, in
// run order; each module says what it measures): compress, answer, retrieval, memorize, memory,
// search, embedder, chunking, decode. A run without --sections runs all but chunking and search.
// Writes JSON + markdown + SVG (report.ts; see docs/RESULTS.md).
import * as path from 'node:path';
import { loadPack } from '../core/pack';
import { machineInfo } from '../measure/machine';
import { allOptions, resolveOptions } from '../measure/options';
import { writeBench } from './report';
import { BENCH_OPTIONS, BENCH_SECTIONS, DEFAULT_SECTIONS, SECTIONS } from './sections';
import type { BenchContext, BenchOptions, BenchReport, BenchSectionName, ResolvedBenchOptions } from './types';

export type { BenchOptions, BenchReport } from './types';

/** Every option of the command and its sections. */
const ALL_OPTIONS = allOptions([BENCH_OPTIONS, ...BENCH_SECTIONS.map((s) => s.options)]);

/** The sections to run (--sections, else the default ones); an unknown name is an error. */
function selected(names: string[] | undefined): Set<string> {
  for (const s of names ?? []) if (!SECTIONS.includes(s as BenchSectionName)) throw new Error(`unknown section ${s}; one of ${SECTIONS.join(', ')}`);
  return new Set(names ?? DEFAULT_SECTIONS);
}

async function headerOf(o: ResolvedBenchOptions, repoRoot: string): Promise<{ rep: BenchReport; pack: BenchContext['pack'] }> {
  const pack = await loadPack(path.resolve(o.pack), { verifyHashes: false });
  const m = pack.manifest;
  const rep: BenchReport = {
    kind: 'cmt-bench',
    date: new Date().toISOString(),
    command: o.command ?? '',
    machine: machineInfo(),
    pack: {
      dir: path.relative(repoRoot, pack.dir) || pack.dir,
      packId: m.packId,
      name: m.name,
      dims: {
        hiddenSize: m.baseModel.hiddenSize,
        numLayers: m.baseModel.numLayers,
        vocabSize: m.baseModel.vocabSize,
        maxPositions: m.baseModel.maxPositions,
        memorySlots: m.cmt.memorySlots,
        memoryDim: m.cmt.memoryDim,
        prefixTokens: m.cmt.prefixTokens,
        maxDocTokens: m.cmt.maxDocTokens,
        topK: m.defaults.topK,
      },
    },
    files: [],
    wallMs: 0,
  };
  return { rep, pack };
}

/** Runs the selected sections in order; returns the report (and writes it unless write=false). */
export async function runBench(opts: BenchOptions): Promise<BenchReport> {
  const t0 = Date.now();
  const sections = selected(opts.sections);
  for (const s of BENCH_SECTIONS) s.check?.(opts);
  const quick = !!opts.quick;
  const o = resolveOptions(ALL_OPTIONS, opts, quick) as ResolvedBenchOptions;
  const log = o.log ?? ((m: string) => process.stderr.write(m + '\n'));
  const repoRoot = path.resolve(o.repoRoot ?? process.cwd());
  const outDir = path.resolve(repoRoot, o.outDir ?? 'docs/results');
  const tag = o.tag ?? (quick ? 'bench-quick' : 'bench');
  const { rep, pack } = await headerOf(o, repoRoot);
  const ctx: BenchContext = { pack, o, repoRoot, device: o.device ?? 'cpu', quick, log };
  for (const s of BENCH_SECTIONS) if (sections.has(s.name)) await s.run(ctx, rep);
  rep.wallMs = Date.now() - t0;
  if (o.write !== false) await writeBench(rep, outDir, tag);
  return rep;
}

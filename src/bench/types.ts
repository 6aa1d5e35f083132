// The types `cmt bench` runs on: its options (derived from each section's declaration), the context
// a section runs in, the report each section adds its part to.
import type { Pack } from '../core/pack';
import type { Device } from '../core/types';
import type { MachineInfo } from '../measure/machine';
import type { OptionValues, ResolvedOptions, Section } from '../measure/options';
import type { ANSWER_OPTIONS, AnswerBench } from './answer';
import type { CHUNKING_OPTIONS, ChunkingCostBench } from './chunking';
import type { COMPRESS_OPTIONS, CompressBench } from './compress';
import type { DECODE_OPTIONS, DecodeBench } from './decode';
import type { EMBEDDER_OPTIONS, EmbedderCostBench } from './embedderCost';
import type { MEMORIZE_OPTIONS, MemorizeBench } from './memorize';
import type { MemoryBench } from './memory';
import type { RETRIEVAL_OPTIONS, RetrievalBench } from './retrieval';
import type { SearchBench } from './search';
import type { SHARED_OPTIONS, SharedBankBench } from './sharedBank';
import type { BENCH_OPTIONS } from './sections';

/** Every declared option of `cmt bench` (the command's own and each section's). */
type BenchSpecs = typeof BENCH_OPTIONS &
  typeof COMPRESS_OPTIONS &
  typeof ANSWER_OPTIONS &
  typeof RETRIEVAL_OPTIONS &
  typeof MEMORIZE_OPTIONS &
  typeof EMBEDDER_OPTIONS &
  typeof CHUNKING_OPTIONS &
  typeof DECODE_OPTIONS &
  typeof SHARED_OPTIONS;

/** What a run takes besides the declared options (the CLI gives pack, device and command). */
interface BenchRun {
  pack: string;
  device?: Device;
  repoRoot?: string;
  /** The command line, recorded in the report. */
  command?: string;
  log?: (m: string) => void;
  /** Write the report files (default true). */
  write?: boolean;
}

export type BenchOptions = BenchRun & OptionValues<BenchSpecs>;
/** The options with every default (and under --quick every quick value) filled in. */
export type ResolvedBenchOptions = BenchRun & ResolvedOptions<BenchSpecs>;

/** What a section runs with. */
export interface BenchContext {
  pack: Pack;
  o: ResolvedBenchOptions;
  repoRoot: string;
  device: Device;
  quick: boolean;
  log: (m: string) => void;
}

/** What every report has, before the sections' parts (in this key order in the JSON). */
export interface BenchHeader {
  kind: 'cmt-bench';
  date: string;
  command: string;
  machine: MachineInfo;
  pack: { dir: string; packId: string; name: string; dims: Record<string, number> };
  files: string[];
  wallMs: number;
}

/** Each section's part of the report, under the section's name. */
export interface BenchResults {
  compress?: CompressBench;
  answer?: AnswerBench;
  retrieval?: RetrievalBench;
  memorize?: MemorizeBench;
  memory?: MemoryBench;
  search?: SearchBench;
  embedder?: EmbedderCostBench;
  chunking?: ChunkingCostBench;
  decode?: DecodeBench;
  'shared-bank'?: SharedBankBench;
}

export type BenchReport = BenchHeader & BenchResults;
export type BenchSectionName = keyof BenchResults;

/** A bench section; `check` validates the options before anything runs (every section's, whichever run). */
export interface BenchSection extends Section<BenchContext, BenchReport> {
  readonly name: BenchSectionName;
  check?(o: BenchOptions): void;
}

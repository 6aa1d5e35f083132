// The sections of `cmt bench`, in the order they run and appear in the report, and the command's
// own options (--sections, --quick, --out, --tag). Each section module exports its options (declared
// once: types, defaults, --quick values and --help come from there), its run (which puts its result
// in the report under its name) and its part of the report (markdown, charts, console lines).
// Section modules load engine code only inside run: `cmt` reads this list at start-up to build
// `cmt bench --help` (test/measure/sections.test.ts checks it).
//
// A new section: a module exporting a BenchSection (name, options, run, markdown), its result type
// under its name in BenchResults and its options in BenchSpecs (types.ts), and an entry here.
import type { OptionSpecs } from '../measure/options';
import { answerSection } from './answer';
import { chunkingSection } from './chunking';
import { compressSection } from './compress';
import { decodeSection } from './decode';
import { embedderSection } from './embedderCost';
import { memorizeSection } from './memorize';
import { memorySection } from './memory';
import { retrievalSection } from './retrieval';
import { searchSection } from './search';
import { sharedBankSection } from './sharedBank';
import type { BenchSection, BenchSectionName } from './types';

export const BENCH_SECTIONS: readonly BenchSection[] = [compressSection, answerSection, retrievalSection, memorizeSection, memorySection, searchSection, embedderSection, chunkingSection, decodeSection, sharedBankSection];

/** Every section's name, in the order --help and error messages list them (decode before chunking, unlike the run order). */
export const SECTIONS: BenchSectionName[] = ['compress', 'answer', 'retrieval', 'memorize', 'memory', 'search', 'embedder', 'decode', 'chunking', 'shared-bank'];

/** chunking needs the real projects fetched; search builds (and caches) a 10K-memory bank and runs the MCP server; shared-bank starts a local S3-compatible server: only on request. */
export const DEFAULT_SECTIONS: BenchSectionName[] = SECTIONS.filter((s) => s !== 'chunking' && s !== 'search' && s !== 'shared-bank');

/** The command's own options. */
export const BENCH_OPTIONS = {
  sections: { flags: '--sections <list>', description: `sections to run (${SECTIONS.join(', ')}; default: all but chunking, search and shared-bank)`, kind: 'strings' },
  quick: { flags: '--quick', description: 'small sizes (smoke run)', kind: 'flag' },
  outDir: { flags: '--out <dir>', description: 'where the reports go (default: docs/results)', kind: 'string' },
  tag: { flags: '--tag <name>', description: 'report file name prefix', kind: 'string' },
} satisfies OptionSpecs;

// The sections of `cmt eval`'s streaming-QA evaluation, in the order they run and appear in the
// report: qa (every dataset's answers), grounding (--fit-grounding), curves (retention, noise).
// `--retrieval-only` is its own run with its own report (retrieval.ts). Each section module exports
// its options (declared once: types, defaults, --quick values and --help come from there), its run
// (which fills its part of the report) and its markdown, charts and console lines; it loads engine
// code only inside run, since `cmt` reads this list at start-up.
//
// A new section: a module exporting an EvalSection (name, options, run, markdown), its options in
// EvalSpecs and its part in EvalReport (types.ts), and an entry here.
import { BUILTIN_DATASETS } from '../measure/dataset';
import type { OptionSpecs } from '../measure/options';
import { REAL_DATASET_NAMES } from '../measure/realRepos';
import { curvesSection } from './curves';
import { groundingSection } from './grounding';
import { qaSection } from './qa';
import type { EvalSection } from './types';

/** The command's own options (every run: the streaming-QA one and --retrieval-only). */
export const EVAL_OPTIONS = {
  /** Dataset specs: built-in names, real-project specs or SQuAD-format JSON paths. */
  datasets: {
    flags: '--dataset <names>',
    description: `built-in (${Object.keys(BUILTIN_DATASETS).join(', ')}), real projects memorized whole (${REAL_DATASET_NAMES.join(', ')}; benchmarks/real/) or a SQuAD-format FILE.json; comma-separated (default workspace-test,squad-notre-dame)`,
    kind: 'strings',
    default: ['workspace-test', 'squad-notre-dame'],
  },
  fetch: { flags: '--fetch', description: 'real-project datasets: download missing workspaces (python3 benchmarks/real/fetch.py)', kind: 'flag' },
  /** Real-project datasets: another folder of <name>.json question files (the reader's training data: generate.py --scale --out). */
  realQuestions: { flags: '--real-questions <dir>', description: 'real-project datasets: read <name>.json / <name>.hand.json from DIR instead of benchmarks/real/questions', kind: 'string' },
  /** Tiny sizes (seconds); not for --retrieval-only. */
  quick: { flags: '--quick', description: 'a few documents and questions (smoke run)', kind: 'flag' },
  /** Output folder (default docs/results under repoRoot). */
  outDir: { flags: '--out <dir>', description: 'where the reports go (default: docs/results)', kind: 'string' },
  /** Output file stem (default "eval", "eval-quick" with --quick, "eval-retrieval" with --retrieval-only). */
  tag: { flags: '--tag <name>', description: 'report file name prefix', kind: 'string' },
  /** Documents streamed per dataset (default all) and questions answered (default all). */
  maxDocs: { flags: '--max-docs <n>', description: 'documents per dataset', kind: 'number', quick: 6 },
  maxQuestions: { flags: '--max-questions <n>', description: 'questions per dataset (real-project datasets: spread over the projects)', kind: 'number', quick: 6 },
} satisfies OptionSpecs;

export const EVAL_SECTIONS: readonly EvalSection[] = [qaSection, groundingSection, curvesSection];

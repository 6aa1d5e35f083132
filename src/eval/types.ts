// The types `cmt eval` runs on: its options (derived from each section's declaration), the context
// its sections run in, and its report.
import type { Device } from '../core/types';
import type { MachineInfo } from '../measure/machine';
import type { OptionValues, ResolvedOptions, Section } from '../measure/options';
import type { DataError, ProjectMemorize, RealSource } from '../measure/realRepos';
import type { FloorFit } from './calibrate';
import type { CURVES_OPTIONS } from './curves';
import type { GROUNDING_OPTIONS } from './grounding';
import type { QA_OPTIONS } from './qa';
import type { RETRIEVAL_OPTIONS } from './retrieval';
import type { EVAL_OPTIONS } from './sections';
import type { AnswerSettings, QuestionOutcome, Variant } from './variants';

/** What a run takes besides the declared options (the CLI gives pack, device and command). */
export interface EvalRun {
  /** Pack folder. */
  pack: string;
  device?: Device;
  repoRoot?: string;
  /** The command line, recorded in the outputs. */
  command?: string;
  log?: (msg: string) => void;
  /** Write files (default true). */
  write?: boolean;
  /** Real-project datasets: where the projects, workspaces and questions are (--fetch: fetch missing workspaces). */
  real?: RealSource;
}

/** The streaming-QA evaluation's options: the command's own, answers, grounding, curves. */
type EvalSpecs = typeof EVAL_OPTIONS & typeof QA_OPTIONS & typeof GROUNDING_OPTIONS & typeof CURVES_OPTIONS;
export type EvalOptions = EvalRun & OptionValues<EvalSpecs>;
export type ResolvedEvalOptions = EvalRun & ResolvedOptions<EvalSpecs>;

/** `--retrieval-only`'s options: the command's own and the retrieval section's. */
type RetrievalSpecs = typeof EVAL_OPTIONS & typeof RETRIEVAL_OPTIONS;
export type RetrievalEvalOptions = EvalRun & OptionValues<RetrievalSpecs>;
export type ResolvedRetrievalEvalOptions = EvalRun & ResolvedOptions<RetrievalSpecs>;

export interface VariantSummary {
  label: string;
  n: number;
  em: number;
  prefixEm: number;
  f1: number;
  /** "Right": an accepted answer contained whole (normalised) or F1 ≥ CORRECT_F1 (metrics.ts isCorrect), %. */
  right: number;
  latencyMs: { p50: number; p95: number };
  promptTokens: { mean: number; max: number };
  /** Grounding (src/core/ground.ts), % — "correct" = SQuAD F1 ≥ CORRECT_F1 (metrics.ts). */
  grounding: {
    /** Answers marked "found in source", % of all answers. */
    found: number;
    /** Found AND correct / found, % (null when nothing was found). */
    foundPrecision: number | null;
    /** Found but wrong / all answers, % — the worst outcome: a wrong answer shown as fact. */
    confidentWrong: number;
    /** Correct answers marked "not sure", % of all answers (what the caution costs). */
    correctNotSure: number;
  };
}

export interface DatasetRun {
  dataset: string;
  source: string;
  documents: number;
  questions: number;
  memorize: { memorized: number; skipped: number; failed: number; chunks: number; wallMs: number };
  settings: AnswerSettings;
  variants: Partial<Record<Variant, VariantSummary>>;
  retrieval: Record<'vector' | 'text' | 'hybrid', { recall1: number; recall5: number }>;
  examples: Array<Pick<QuestionOutcome, 'question' | 'answers' | 'preds' | 'grounding'>>;
  wallMs: number;
  /** Real-project datasets: per-project memorize summaries, per-kind scores and the data errors. */
  real?: RealAnswerRun;
}

/** Per question kind on a real-project dataset. */
export interface KindAnswers {
  questions: number;
  /** The fused top chunk (the first citation) is of the gold file, %. */
  topChunkFile: number;
  variants: Partial<Record<Variant, { f1: number; right: number }>>;
}

export interface RealAnswerRun {
  projects: Array<{ project: string; questions: number; dataErrors: number; memorize: ProjectMemorize }>;
  byKind: Record<string, KindAnswers>;
  /** Questions whose gold file was not memorized: excluded from every score. */
  dataErrors: DataError[];
  withoutQuestions: string[];
}

export interface CurvePoint {
  x: number; // documents in the bank (retention) or % irrelevant documents (noise)
  memories: number;
  f1: Partial<Record<Variant, number>>;
  relative: Partial<Record<Variant, number>>; // % of the first point's F1
  recall1: number; // hybrid recall@1 of the gold document
}

export interface Curve {
  dataset: string;
  firstDocs: number;
  questions: number;
  fillerSource: string;
  points: CurvePoint[];
}

export interface EvalReport {
  kind: 'cmt-eval';
  date: string;
  command: string;
  machine: MachineInfo;
  pack: { dir: string; packId: string; name: string; description?: string };
  runs: DatasetRun[];
  /** --fit-grounding: a confidence floor per answer mode, fitted on these datasets. */
  groundingFit?: { maxConfidentWrong: number; fits: FloorFit[] };
  retention?: Curve;
  noise?: Curve;
  files: string[];
  wallMs: number;
}

/** What the sections of a run share. */
export interface EvalContext {
  o: ResolvedEvalOptions;
  repoRoot: string;
  packDir: string;
  device: Device;
  /** The dataset specs (--dataset, else the default ones). */
  specs: string[];
  settings: AnswerSettings;
  variants: Variant[];
  /** Every question's outcome, per dataset (for --fit-grounding). */
  outcomes: Record<string, QuestionOutcome[]>;
  log: (m: string) => void;
}

/** A section of the streaming-QA evaluation; `check` validates the options before anything runs. */
export interface EvalSection extends Section<EvalContext, EvalReport> {
  check?(o: EvalOptions): void;
}

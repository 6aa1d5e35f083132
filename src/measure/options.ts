// The options of `cmt eval` and `cmt bench`, declared once. Each section of src/eval and src/bench
// declares its options as data (an OptionSpecs record): the property name is the option's name in
// the runner's options object (runEval, runBench, …), `flags` and `description` are what `cmt --help`
// shows, `kind` says how the value is parsed, `default` and `quick` are the values used when the
// option is not given (`quick`: under --quick). From that one declaration come the options' types
// (OptionValues), their defaults (resolveOptions) and the commander options of the `cmt` program
// (src/cli/measure.ts, with the one option-parser set of the CLI, src/cli/options.ts). Defaults are
// never given to commander: --help shows the description alone, as written.
//
// Nothing here loads engine code: `cmt` reads these declarations at start-up.
import type { Device } from '../core/types';

/** How an option's value is parsed (src/cli/options.ts PARSERS). */
export interface OptionValueOf {
  /** `--x`: true when given. */
  flag: boolean;
  /** `--no-x`: false when given, else true. */
  negatable: boolean;
  string: string;
  /** Any finite number. */
  number: number;
  /** Finite numbers, comma-separated. */
  numbers: number[];
  /** Non-empty strings, comma-separated. */
  strings: string[];
}
export type OptionKind = keyof OptionValueOf;

interface SpecOf<K extends OptionKind> {
  /** Commander flags, e.g. `--sizes <list>`. */
  flags: string;
  /** The --help text. */
  description: string;
  kind: K;
  /** Used when the option is not given. */
  default?: OptionValueOf[K];
  /** Used under --quick when the option is not given (before `default`). */
  quick?: OptionValueOf[K];
  /** --help lists it right after this flag (e.g. `--chunking-repeats`) instead of with its section's options. */
  helpAfter?: string;
}

export type OptionSpec = { [K in OptionKind]: SpecOf<K> }[OptionKind];
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** The values of declared options, as a runner takes them (every option optional). */
export type OptionValues<S extends OptionSpecs> = { -readonly [P in keyof S]?: OptionValueOf[S[P]['kind']] };

type WithDefault<S extends OptionSpecs> = { [P in keyof S]: S[P] extends { default: unknown } ? P : never }[keyof S];

/** After resolveOptions: the options that have a default are always set. */
export type ResolvedOptions<S extends OptionSpecs> = OptionValues<S> & { -readonly [P in WithDefault<S>]-?: OptionValueOf[S[P]['kind']] };

/**
 * `given`, with each declared option that is not given set to its --quick value (when `quick`), else
 * its default: a ResolvedOptions of `specs` (the caller's type says which).
 */
export function resolveOptions<T extends object>(specs: OptionSpecs, given: T, quick = false): T {
  const out = { ...given } as Record<string, unknown>;
  for (const [key, spec] of Object.entries(specs)) {
    if (out[key] !== undefined) continue;
    const v = (quick ? spec.quick : undefined) ?? spec.default;
    if (v !== undefined) out[key] = Array.isArray(v) ? [...v] : v;
  }
  return out as T;
}

/** The properties of `x` that are not undefined. */
export function defined<T extends object>(x: T): Partial<T> {
  return Object.fromEntries(Object.entries(x).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** What eval and bench take from the `cmt` program's global options. */
export interface MeasureContext {
  /** Absolute path of the model pack (`--pack`, else the bundled one). */
  pack(): string;
  /** `--device` when given; measurements default to `cpu` (not `auto`) so runs compare across machines. */
  device(): Device;
  /** The command line as typed, recorded in the reports. */
  commandLine(): string;
}

/** A `cmt` subcommand that measures (`eval`, `bench`): its declared options and what it runs. src/cli/measure.ts makes it a commander command. */
export interface MeasureCommand {
  name: string;
  description: string;
  /** Every option, in --help order: the command's own, then each section's (a spec's helpAfter moves it). */
  options: readonly OptionSpecs[];
  /**
   * Runs with the options given on the command line (option name -> value; negatable ones always
   * set) and prints its summary; loads the runners (ONNX Runtime, LanceDB) only now.
   */
  run(ctx: MeasureContext, given: Record<string, unknown>): Promise<void>;
}

/** A part of a measurement (a bench or eval section): its options, its run, its part of the report. */
export interface Section<C, R> {
  readonly name: string;
  /** Its options (declared once: types, defaults and --help come from here). */
  readonly options: OptionSpecs;
  /** Measures and puts its result in the report (a section that only computes may return at once). */
  run(ctx: C, report: R): void | Promise<void>;
  /** Its part of the markdown report ('' when it has nothing to say). */
  markdown?(report: R): string;
  /** Its SVG charts: file name -> SVG text. */
  charts?(report: R, tag: string): Record<string, string>;
  /** What it prints on the console after the run ('' for nothing). */
  console?(report: R): string;
}

/** Every option of these groups in one record (a name declared twice is an error). */
export function allOptions(groups: readonly OptionSpecs[]): OptionSpecs {
  const out: Record<string, OptionSpec> = {};
  for (const g of groups) {
    for (const [k, s] of Object.entries(g)) {
      if (k in out) throw new Error(`option ${k} is declared twice (${out[k].flags}, ${s.flags})`);
      out[k] = s;
    }
  }
  return out;
}

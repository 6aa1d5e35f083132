// Option parsers shared by the `cmt eval` and `cmt bench` subcommands (commander).
import { InvalidArgumentError } from 'commander';
import type { Device } from '../core/types';

/** `--flag <n>`: any finite number. */
export function number(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`must be a number, got ${v}`);
  return n;
}

/** `--flag 1,2,3`: finite numbers, comma-separated. */
export function numbers(v: string): number[] {
  return v
    .split(',')
    .filter(Boolean)
    .map((x) => {
      const n = Number(x);
      if (!Number.isFinite(n)) throw new InvalidArgumentError(`bad number ${x}`);
      return n;
    });
}

/** `--flag a,b`: non-empty strings, comma-separated. */
export function strings(v: string): string[] {
  return v.split(',').filter(Boolean);
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

// The one option-parser set of the `cmt` program: commander argument parsers for every command
// (memorize, ask, mcp, and eval/bench, whose options are declared as data in src/measure/options.ts
// and parsed here by kind). Commander is the parser; these only check and convert values.
import { InvalidArgumentError } from 'commander';
import type { OptionKind, OptionValueOf } from '../measure/options';

/** `--flag <n>`: an integer >= min (the error names the flag). */
export function intArg(name: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return n;
  };
}

/** `--flag <a>`: a number >= 0 (the error names the flag). */
export function floatArg(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number >= 0`);
    return n;
  };
}

/** "1048576", "512k", "1mb", "2M" -> bytes. */
export function parseSize(v: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)i?b?\s*$/i.exec(v);
  if (!m) throw new InvalidArgumentError('size must look like 1048576, 512k or 1mb');
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.round(Number(m[1]) * mult);
}

/** A repeatable `--flag <v>`: every value, in order. */
export function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

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

/** The parser of each declared option kind (none: commander's own handling of flags and plain strings). */
export const PARSERS: { [K in OptionKind]: ((v: string) => OptionValueOf[K]) | undefined } = {
  flag: undefined,
  negatable: undefined,
  string: undefined,
  number,
  numbers,
  strings,
};

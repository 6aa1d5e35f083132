// Minimal `--flag value` / `--flag` parser for the eval and bench entry points.

export type Args = Record<string, string | boolean>;

export function parseArgs(argv: string[]): Args {
  const a: Args = {};
  for (let i = 0; i < argv.length; i++) {
    const t = argv[i];
    if (!t.startsWith('--')) throw new Error(`unexpected argument: ${t}`);
    const eq = t.indexOf('=');
    if (eq > 0) {
      a[t.slice(2, eq)] = t.slice(eq + 1);
    } else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
      a[t.slice(2)] = argv[++i];
    } else {
      a[t.slice(2)] = true;
    }
  }
  return a;
}

export function num(a: Args, k: string): number | undefined {
  const v = a[k];
  if (v === undefined || typeof v === 'boolean') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${k} must be a number, got ${v}`);
  return n;
}

export function nums(a: Args, k: string): number[] | undefined {
  const v = a[k];
  if (v === undefined || typeof v === 'boolean') return undefined;
  return String(v)
    .split(',')
    .filter(Boolean)
    .map((x) => {
      const n = Number(x);
      if (!Number.isFinite(n)) throw new Error(`--${k}: bad number ${x}`);
      return n;
    });
}

export function strs(a: Args, k: string): string[] | undefined {
  const v = a[k];
  if (v === undefined || typeof v === 'boolean') return undefined;
  return String(v).split(',').filter(Boolean);
}

export function str(a: Args, k: string): string | undefined {
  const v = a[k];
  return typeof v === 'string' ? v : undefined;
}

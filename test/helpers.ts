// Small helpers shared by the engine test files.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Resolves or rejects like `p`, or rejects once `ms` have passed: a test must never hang. */
export async function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, rej) => {
        timer = setTimeout(() => rej(new Error(`${what} did not settle within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** w(rel, data) writes root/rel, making its folders: for building test workspaces. */
export function fileWriter(root: string): (rel: string, data: string | Buffer) => void {
  return (rel, data) => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), data);
  };
}

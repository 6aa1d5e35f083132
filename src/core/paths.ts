// Path containment, shared by the engine (symlink checks in files.ts) and the front ends.
import * as path from 'node:path';

/**
 * True when `child` is `parent` itself or inside it (both resolved first, so `..` segments count).
 * Case-insensitive on Windows and macOS. A child whose first segment merely starts with two dots
 * (`/root/..foo`) is inside; `/root/../x` is not.
 */
export function isInside(parent: string, child: string): boolean {
  const norm = (p: string) => {
    const r = path.resolve(p);
    return process.platform === 'win32' || process.platform === 'darwin' ? r.toLowerCase() : r;
  };
  const rel = path.relative(norm(parent), norm(child));
  return rel === '' || (rel !== '..' && !rel.startsWith('..' + path.sep) && !path.isAbsolute(rel));
}

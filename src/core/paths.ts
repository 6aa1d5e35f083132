// Path helpers shared by the engine (memorize, the walk's symlink checks) and the front ends.
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

/**
 * `child` relative to `parent` with forward slashes ('' for `parent` itself), or null when it is not
 * inside (isInside: case-insensitive on Windows and macOS, the tail keeps the child's own case).
 */
export function relativeInside(parent: string, child: string): string | null {
  if (!isInside(parent, child)) return null;
  const p = path.resolve(parent);
  const c = path.resolve(child);
  return toPosix(c.slice(p.length)).replace(/^\/+/, '');
}

/** A platform path with forward slashes (the form of every path in the bank and in citations). */
export function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}

/** Workspace-relative, forward slashes, no leading './' or trailing '/'. */
export function normalizeRel(p: string): string {
  let s = p.replace(/\\/g, '/').trim();
  while (s.startsWith('./')) s = s.slice(2);
  s = s.replace(/\/+$/, '');
  return s === '.' ? '' : s;
}

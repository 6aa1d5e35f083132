// Path helpers shared by the extension pieces (pure: no `vscode` import).
import * as path from 'node:path';

import { isInside } from '../core/paths';

export { isInside };

/** Workspace-relative path with forward slashes (the form the bank and citations use). */
export function toRel(root: string, abs: string): string {
  return path.relative(root, abs).split(path.sep).join('/');
}

/**
 * Resolves a citation path (workspace-relative, forward slashes) against the workspace roots. Returns the
 * absolute path only when it stays inside that root: absolute paths, `..` escapes and NUL bytes are refused.
 */
export function resolveCitationPath(roots: readonly string[], rel: string, exists: (abs: string) => boolean): string | undefined {
  if (typeof rel !== 'string' || rel.length === 0 || rel.length > 4096 || rel.includes('\0')) return undefined;
  if (path.isAbsolute(rel) || /^[a-zA-Z]:/.test(rel) || rel.startsWith('\\')) return undefined;
  const parts = rel.split(/[\\/]+/);
  if (parts.some((p) => p === '..')) return undefined;
  const candidates: string[] = [];
  for (const root of roots) {
    const abs = path.resolve(root, ...parts);
    if (isInside(root, abs)) candidates.push(abs);
  }
  return candidates.find(exists) ?? undefined;
}

/** Stable short id for a workspace (used to keep one bank per workspace in global storage). */
export function workspaceKey(identity: string): string {
  // FNV-1a 64-bit, hex: short, stable, no crypto needed
  let h = 0xcbf29ce484222325n;
  for (const c of Buffer.from(identity, 'utf8')) {
    h ^= BigInt(c);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).padStart(16, '0');
}

// Workspace walking: the files under a root that pass the path rules (files.ts), depth-first in
// sorted order, with every path left out reported with its reason.
import { Dirent, promises as fsp, Stats } from 'node:fs';
import * as path from 'node:path';
import ignore from 'ignore';
import { GitignoreLevel, gitignored, PathRuleOptions, PathRules, readIgnoreFile, SkipReason, VENDOR_MARKERS } from './files';
import { isInside } from './paths';

export interface WalkOptions extends PathRuleOptions {
  /** Honour .gitignore files (root and nested) and .git/info/exclude. Default true. */
  useGitignore?: boolean;
  /** Largest file size in bytes (default 1 MB); larger files give 'too-large' in classifyFile. */
  maxFileSize?: number;
  /** Called for every path not walked (a skipped directory is reported once, not its contents). */
  onSkip?: (relPath: string, reason: SkipReason) => void;
  signal?: AbortSignal;
}

export interface WalkedFile {
  absPath: string;
  relPath: string; // forward slashes
  size: number;
  mtimeMs: number;
}

/** A directory to visit: absolute, relative ('' or 'a/b/'), the .gitignore levels above it, and whether only force-included files count in it. */
interface Frame {
  abs: string;
  rel: string;
  levels: GitignoreLevel[];
  forcedOnly: boolean;
}

/**
 * Walk a workspace depth-first in sorted order, yielding files that pass the path rules.
 * Ignored/excluded directories are not entered (unless an anchored force-include points inside).
 * Symlinks are followed only when their target stays inside the root, and each real directory
 * is entered once (no loops). Never throws for unreadable entries (they are reported via onSkip).
 */
export async function* walkWorkspace(root: string, opts: WalkOptions = {}): AsyncIterable<WalkedFile> {
  const absRoot = path.resolve(root);
  const walker = new Walker(await fsp.realpath(absRoot), opts);
  const stack: Frame[] = [{ abs: absRoot, rel: '', levels: await walker.rootLevels(absRoot), forcedOnly: false }];
  while (stack.length) {
    if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
    const frame = stack.pop()!;
    const dir = await walker.enter(frame);
    if (!dir) continue;
    const files: { abs: string; rel: string }[] = [];
    const dirs: Frame[] = [];
    for (const ent of dir.entries) await walker.place(frame, dir.levels, ent, files, dirs);
    yield* walker.stat(files);
    // Push in reverse so directories are visited in sorted order.
    for (let i = dirs.length - 1; i >= 0; i--) stack.push(dirs[i]);
  }
}

/** One walk's rules and state: the real directories entered so far (no loops). */
class Walker {
  private readonly rules: PathRules;
  private readonly useGit: boolean;
  private readonly visited: Set<string>;

  constructor(
    private readonly realRoot: string,
    private readonly opts: WalkOptions,
  ) {
    this.rules = new PathRules(opts);
    this.useGit = opts.useGitignore !== false;
    this.visited = new Set<string>([realRoot]);
  }

  private skip(rel: string, reason: SkipReason): void {
    this.opts.onSkip?.(rel, reason);
  }

  /** The root's ignore levels: .git/info/exclude. */
  async rootLevels(absRoot: string): Promise<GitignoreLevel[]> {
    const levels: GitignoreLevel[] = [];
    if (this.useGit) {
      const extra = await readIgnoreFile(path.join(absRoot, '.git', 'info', 'exclude'));
      if (extra) levels.push({ base: '', ig: ignore().add(extra) });
    }
    return levels;
  }

  /** A directory's entries (sorted) and its ignore levels (its own .gitignore added); null when unreadable or vendored (reported). */
  async enter(frame: Frame): Promise<{ entries: Dirent[]; levels: GitignoreLevel[] } | null> {
    let levels = frame.levels;
    if (this.useGit) {
      const gi = await readIgnoreFile(path.join(frame.abs, '.gitignore'));
      if (gi) levels = [...levels, { base: frame.rel, ig: ignore().add(gi) }];
    }
    let entries: Dirent[];
    try {
      entries = await fsp.readdir(frame.abs, { withFileTypes: true });
    } catch {
      if (frame.rel) this.skip(frame.rel, 'unreadable');
      return null;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (frame.rel && this.rules.vendored && !this.rules.forced(frame.rel) && entries.some((e) => VENDOR_MARKERS.has(e.name))) {
      this.skip(frame.rel, 'vendored');
      return null;
    }
    return { entries, levels };
  }

  /** What an entry is, a symbolic link followed only inside the root; null when it is left out (reported). */
  private async kindOf(abs: string, relBase: string, ent: Dirent): Promise<{ isDir: boolean; isFile: boolean } | null> {
    if (!ent.isSymbolicLink()) {
      if (ent.isDirectory() || ent.isFile()) return { isDir: ent.isDirectory(), isFile: ent.isFile() };
      this.skip(relBase, 'not-a-file'); // sockets, fifos, devices: reported, never opened (a FIFO would block)
      return null;
    }
    let real: string;
    let st: Stats;
    try {
      real = await fsp.realpath(abs);
      st = await fsp.stat(real);
    } catch {
      this.skip(relBase, 'unreadable'); // dangling link or loop the OS refused to resolve
      return null;
    }
    if (!isInside(this.realRoot, real)) {
      this.skip(relBase, 'symlink-outside');
      return null;
    }
    if (st.isDirectory() && this.visited.has(real)) {
      this.skip(relBase, 'symlink-loop');
      return null;
    }
    return { isDir: st.isDirectory(), isFile: st.isFile() };
  }

  /** Sorts an entry into the files to yield or the directories to visit, or reports why it is left out. */
  async place(frame: Frame, levels: GitignoreLevel[], ent: Dirent, files: { abs: string; rel: string }[], dirs: Frame[]): Promise<void> {
    const abs = path.join(frame.abs, ent.name);
    const kind = await this.kindOf(abs, frame.rel + ent.name, ent);
    if (!kind) return;
    const rel = kind.isDir ? frame.rel + ent.name + '/' : frame.rel + ent.name;
    const forced = this.rules.forced(rel);
    let reason: SkipReason | null = this.rules.blocked(rel);
    if (!reason && !forced && this.useGit && gitignored(levels, rel)) reason = 'gitignored';
    if (frame.forcedOnly && !forced && kind.isFile) reason = reason ?? 'excluded';
    if (kind.isDir) {
      if (reason && !this.rules.mayIncludeUnder(rel)) return this.skip(rel, reason);
      let real: string;
      try {
        real = await fsp.realpath(abs);
      } catch {
        return this.skip(rel, 'unreadable');
      }
      if (this.visited.has(real)) return this.skip(rel, 'symlink-loop');
      this.visited.add(real);
      dirs.push({ abs, rel, levels, forcedOnly: frame.forcedOnly || (!!reason && !forced) });
    } else if (kind.isFile) {
      if (reason) return this.skip(rel, reason);
      files.push({ abs, rel });
    }
  }

  /** The files with their size and mtime (one that cannot be stat'ed is reported unreadable). */
  async *stat(files: { abs: string; rel: string }[]): AsyncIterable<WalkedFile> {
    const stats = await Promise.all(files.map((f) => fsp.stat(f.abs).catch(() => null)));
    for (let i = 0; i < files.length; i++) {
      const st = stats[i];
      if (!st) {
        this.skip(files[i].rel, 'unreadable');
        continue;
      }
      yield { absPath: files[i].abs, relPath: files[i].rel, size: st.size, mtimeMs: st.mtimeMs };
    }
  }
}

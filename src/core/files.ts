// Workspace walking and the rules for what may be memorized.
// Order of path rules: force-include (opts.include) > user excludes > default secret exclusions >
// default excludes > .gitignore files (root to leaf, negations honoured).
import { createHash } from 'node:crypto';
import { promises as fsp, Stats } from 'node:fs';
import * as path from 'node:path';
import ignore, { Ignore } from 'ignore';
import { isInside, relativeInside } from './paths';

export interface WalkOptions {
  /** Globs (gitignore syntax) that are always walked and memorized, even if ignored/excluded/secret. */
  include?: string[];
  /** Extra globs (gitignore syntax) never walked. */
  exclude?: string[];
  /** Honour .gitignore files (root and nested) and .git/info/exclude. Default true. */
  useGitignore?: boolean;
  /** Apply DEFAULT_EXCLUDES. Default true. (Secret exclusions always apply.) */
  useDefaultExcludes?: boolean;
  /** Largest file size in bytes (default 1 MB); larger files give 'too-large' in classifyFile. */
  maxFileSize?: number;
  /** Called for every path not walked (a skipped directory is reported once, not its contents). */
  onSkip?: (relPath: string, reason: SkipReason) => void;
  signal?: AbortSignal;
}

export interface ClassifyOptions {
  /** Workspace root: enables path rules (excluded/secret) and the symlink-outside check. */
  root?: string;
  include?: string[];
  exclude?: string[];
  useDefaultExcludes?: boolean;
  maxFileSize?: number;
}

export interface WalkedFile {
  absPath: string;
  relPath: string; // forward slashes
  size: number;
  mtimeMs: number;
}

export type SkipReason =
  | 'binary'
  | 'too-large'
  | 'invalid-utf8'
  | 'empty'
  | 'excluded'
  | 'gitignored'
  | 'secret'
  | 'unreadable'
  | 'symlink-outside'
  | 'symlink-loop'
  | 'not-a-file'
  | 'vendored'
  | 'generated'
  | 'minified';

/**
 * The engine's wording of each skip code, with no front end's fix in it: the CLI adds `--include`,
 * the editor the `cmtMemory.include` setting (rewordIssue).
 */
export const SKIP_REASONS: Record<SkipReason, string> = {
  binary: 'binary file',
  'too-large': 'too large',
  'invalid-utf8': 'not valid UTF-8 text',
  empty: 'empty (no text)',
  excluded: 'excluded (default or exclude rules)',
  gitignored: 'ignored by .gitignore',
  secret: 'may hold secrets (.env, keys, credentials)',
  unreadable: 'unreadable',
  'symlink-outside': 'symbolic link pointing outside the workspace',
  'symlink-loop': 'symbolic link loop',
  'not-a-file': 'not a regular file',
  vendored: "vendored dependencies (another project's code)",
  generated: 'generated file (its first lines say so)',
  minified: 'minified or machine-written (very long lines)',
};

/** The reason text of a skip code (unknown codes are their own text), with its detail in brackets. */
export function skipReasonText(code: string, detail?: string): string {
  const base = (SKIP_REASONS as Record<string, string>)[code] ?? code;
  return detail ? `${base} (${detail})` : base;
}

/** A file issue in a front end's own words for some skip codes (the detail in brackets is kept). */
export function rewordIssue<T extends { code?: string; reason: string }>(i: T, words: Partial<Record<SkipReason, string>>): T {
  const base = i.code ? (SKIP_REASONS as Record<string, string>)[i.code] : undefined;
  const mine = i.code ? (words as Record<string, string | undefined>)[i.code] : undefined;
  if (!base || !mine || !i.reason.startsWith(base)) return i;
  return { ...i, reason: mine + i.reason.slice(base.length) };
}

export type ClassifyResult =
  | { ok: true; text: string; size: number; mtimeMs: number; contentHash: string }
  | { ok: false; reason: SkipReason; detail?: string };

export const DEFAULT_MAX_FILE_SIZE = 1024 * 1024;

/** Build outputs, dependency folders, VCS data, lockfiles, media and binaries (gitignore syntax). */
export const DEFAULT_EXCLUDES: readonly string[] = [
  '.git/', '.hg/', '.svn/', '.jj/', '.cmt/', 'node_modules/', 'bower_components/', 'jspm_packages/',
  'dist/', 'build/', 'out/', 'target/', '.next/', '.nuxt/', '.svelte-kit/', '.turbo/', '.parcel-cache/',
  'coverage/', '.nyc_output/', '__pycache__/', '.venv/', 'venv/', '.tox/', '.mypy_cache/',
  '.pytest_cache/', '.ruff_cache/', '.gradle/', '.idea/', '.vscode-test/', '.cache/', '.terraform/',
  '*.egg-info/', '.DS_Store', 'Thumbs.db',
  // lockfiles and generated
  'package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml', 'bun.lockb', 'bun.lock',
  'Cargo.lock', 'poetry.lock', 'Pipfile.lock', 'uv.lock', 'Gemfile.lock', 'composer.lock', 'go.sum',
  'flake.lock', '*.min.js', '*.min.css', '*.map', '*.tsbuildinfo',
  // media, archives, binaries, models, data
  ...[
    'png', 'jpg', 'jpeg', 'gif', 'bmp', 'ico', 'icns', 'webp', 'tif', 'tiff', 'psd', 'ai', 'heic', 'avif',
    'mp3', 'mp4', 'm4a', 'wav', 'ogg', 'flac', 'aac', 'mov', 'avi', 'mkv', 'webm', 'wmv',
    'pdf', 'doc', 'docx', 'xls', 'xlsx', 'ppt', 'pptx', 'odt', 'ods', 'odp',
    'zip', 'tar', 'gz', 'tgz', 'bz2', 'xz', 'zst', '7z', 'rar', 'jar', 'war', 'ear', 'vsix', 'whl',
    'class', 'exe', 'dll', 'so', 'dylib', 'o', 'a', 'lib', 'obj', 'pdb', 'bin', 'dat', 'wasm', 'node',
    'pyc', 'pyo', 'woff', 'woff2', 'ttf', 'otf', 'eot', 'db', 'sqlite', 'sqlite3', 'mdb',
    'onnx', 'pt', 'pth', 'safetensors', 'ckpt', 'h5', 'npy', 'npz', 'pkl', 'parquet', 'arrow', 'lance',
    'iso', 'dmg', 'img', 'deb', 'rpm', 'msi', 'apk', 'ipa',
  ].map((e) => `*.${e}`),
];

/** Folders of other projects' code kept in the tree (reported as 'vendored'; off with the default excludes). */
export const VENDOR_EXCLUDES: readonly string[] = ['vendor/', 'vendored/', '_vendor/', 'third_party/', 'third-party/', 'site-packages/'];

/** A folder holding one of these files is a vendored package (`cargo vendor` writes .cargo-checksum.json). */
const VENDOR_MARKERS = new Set(['.cargo-checksum.json']);

/** Credential files: never walked or memorized unless force-included via `include`. */
export const DEFAULT_SECRET_EXCLUDES: readonly string[] = [
  '.env', '.env.*', '*.env', '.envrc',
  '*.pem', '*.key', '*.p12', '*.pfx', '*.jks', '*.keystore', '*.ppk', '*.kdbx', '*.kdb', '*.gpg',
  'id_rsa*', 'id_dsa*', 'id_ecdsa*', 'id_ed25519*', '.ssh/', '.gnupg/',
  'credentials', 'credentials.json', 'credentials.*', '.aws/credentials', '.aws/config',
  '.npmrc', '.yarnrc.yml', '.pypirc', '.netrc', '_netrc', '.git-credentials', '.htpasswd', '.pgpass',
  '.docker/config.json', '.kube/config', 'secrets.json', 'secrets.yml', 'secrets.yaml', '.secrets',
  'service-account*.json', '*.tfstate', '*.tfstate.*', '*.tfvars', 'token.json', 'client_secret*.json',
];

/** The path rules (force-include, excludes, secrets) that don't depend on .gitignore files. */
class PathRules {
  readonly include: Ignore | null;
  readonly exclude: Ignore | null;
  readonly secrets = ignore().add(DEFAULT_SECRET_EXCLUDES as string[]);
  readonly defaults: Ignore | null;
  readonly vendored: Ignore | null;
  private readonly includeDirPrefixes: string[] = [];

  constructor(opts: { include?: string[]; exclude?: string[]; useDefaultExcludes?: boolean }) {
    this.include = opts.include?.length ? ignore().add(opts.include) : null;
    this.exclude = opts.exclude?.length ? ignore().add(opts.exclude) : null;
    this.defaults = opts.useDefaultExcludes === false ? null : ignore().add(DEFAULT_EXCLUDES as string[]);
    this.vendored = opts.useDefaultExcludes === false ? null : ignore().add(VENDOR_EXCLUDES as string[]);
    for (const pat of opts.include ?? []) {
      // Anchored patterns (with a slash before the end) may reach into excluded folders.
      const p = pat.replace(/^\//, '');
      if (!p.replace(/\/$/, '').includes('/')) continue;
      const lit = p.split(/[*?[]/)[0];
      this.includeDirPrefixes.push(lit);
    }
  }

  /** Force-included? (`rel` for a directory ends with '/'). */
  forced(rel: string): boolean {
    return !!this.include && this.include.ignores(rel);
  }

  /** Could a force-include pattern match something under this (otherwise excluded) directory? */
  mayIncludeUnder(dirRel: string): boolean {
    const d = dirRel.endsWith('/') ? dirRel : dirRel + '/';
    return this.includeDirPrefixes.some((lit) => lit.startsWith(d) || d.startsWith(lit.endsWith('/') ? lit : lit.replace(/[^/]*$/, '')));
  }

  /** Reason a path is ruled out by the static rules, or null. */
  blocked(rel: string): SkipReason | null {
    if (this.forced(rel)) return null;
    if (this.exclude?.ignores(rel)) return 'excluded';
    if (this.secrets.ignores(rel)) return 'secret';
    if (this.defaults?.ignores(rel)) return 'excluded';
    if (this.vendored?.ignores(rel)) return 'vendored';
    return null;
  }
}

interface GitignoreLevel {
  base: string; // posix relative dir ('' for root), with trailing '/' unless root
  ig: Ignore;
}

function gitignored(levels: GitignoreLevel[], rel: string): boolean {
  let ignored = false;
  for (const lvl of levels) {
    if (lvl.base && !rel.startsWith(lvl.base)) continue;
    const sub = rel.slice(lvl.base.length);
    if (!sub) continue;
    const r = lvl.ig.test(sub);
    if (r.ignored) ignored = true;
    else if (r.unignored) ignored = false;
  }
  return ignored;
}

/**
 * Is `relPath` (a file, posix, relative to root) ignored by .git/info/exclude or a .gitignore of
 * the root or any folder on its way? A file under an ignored folder is ignored, as in git.
 */
export async function isGitignored(root: string, relPath: string): Promise<boolean> {
  const absRoot = path.resolve(root);
  const levels: GitignoreLevel[] = [];
  const extra = await readIgnoreFile(path.join(absRoot, '.git', 'info', 'exclude'));
  if (extra) levels.push({ base: '', ig: ignore().add(extra) });
  const parts = relPath.split('/');
  let base = '';
  for (let i = 0; i < parts.length; i++) {
    const gi = await readIgnoreFile(path.join(absRoot, base, '.gitignore'));
    if (gi) levels.push({ base, ig: ignore().add(gi) });
    const last = i === parts.length - 1;
    const here = base + parts[i] + (last ? '' : '/');
    if (gitignored(levels, here)) return true;
    base = here;
  }
  return false;
}

async function readIgnoreFile(file: string): Promise<string | null> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch {
    return null;
  }
}

/**
 * Walk a workspace depth-first in sorted order, yielding files that pass the path rules.
 * Ignored/excluded directories are not entered (unless an anchored force-include points inside).
 * Symlinks are followed only when their target stays inside the root, and each real directory
 * is entered once (no loops). Never throws for unreadable entries (they are reported via onSkip).
 */
export async function* walkWorkspace(root: string, opts: WalkOptions = {}): AsyncIterable<WalkedFile> {
  const absRoot = path.resolve(root);
  const realRoot = await fsp.realpath(absRoot);
  const rules = new PathRules(opts);
  const useGit = opts.useGitignore !== false;
  const skip = (rel: string, reason: SkipReason) => opts.onSkip?.(rel, reason);
  const visited = new Set<string>([realRoot]);

  const rootLevels: GitignoreLevel[] = [];
  if (useGit) {
    const extra = await readIgnoreFile(path.join(absRoot, '.git', 'info', 'exclude'));
    if (extra) rootLevels.push({ base: '', ig: ignore().add(extra) });
  }

  // Stack of directories to visit: [absDir, relDir ('' or 'a/b/'), gitignore levels, forcedOnly]
  type Frame = { abs: string; rel: string; levels: GitignoreLevel[]; forcedOnly: boolean };
  const stack: Frame[] = [{ abs: absRoot, rel: '', levels: rootLevels, forcedOnly: false }];

  while (stack.length) {
    if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
    const frame = stack.pop()!;
    let levels = frame.levels;
    if (useGit) {
      const gi = await readIgnoreFile(path.join(frame.abs, '.gitignore'));
      if (gi) levels = [...levels, { base: frame.rel, ig: ignore().add(gi) }];
    }
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fsp.readdir(frame.abs, { withFileTypes: true });
    } catch {
      if (frame.rel) skip(frame.rel, 'unreadable');
      continue;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (frame.rel && rules.vendored && !rules.forced(frame.rel) && entries.some((e) => VENDOR_MARKERS.has(e.name))) {
      skip(frame.rel, 'vendored');
      continue;
    }

    const files: { abs: string; rel: string }[] = [];
    const dirs: Frame[] = [];
    for (const ent of entries) {
      const abs = path.join(frame.abs, ent.name);
      let isDir = ent.isDirectory();
      let isFile = ent.isFile();
      const relBase = frame.rel + ent.name;
      if (ent.isSymbolicLink()) {
        let real: string;
        let st: Stats;
        try {
          real = await fsp.realpath(abs);
          st = await fsp.stat(real);
        } catch {
          skip(relBase, 'unreadable'); // dangling link or loop the OS refused to resolve
          continue;
        }
        if (!isInside(realRoot, real)) {
          skip(relBase, 'symlink-outside');
          continue;
        }
        isDir = st.isDirectory();
        isFile = st.isFile();
        if (isDir && visited.has(real)) {
          skip(relBase, 'symlink-loop');
          continue;
        }
      } else if (!isDir && !isFile) {
        skip(relBase, 'not-a-file'); // sockets, fifos, devices: reported, never opened (a FIFO would block)
        continue;
      }
      const rel = isDir ? relBase + '/' : relBase;
      const forced = rules.forced(rel);
      let reason: SkipReason | null = rules.blocked(rel);
      if (!reason && !forced && useGit && gitignored(levels, rel)) reason = 'gitignored';
      if (frame.forcedOnly && !forced && isFile) reason = reason ?? 'excluded';
      if (isDir) {
        if (reason && !rules.mayIncludeUnder(rel)) {
          skip(rel, reason);
          continue;
        }
        let real: string;
        try {
          real = await fsp.realpath(abs);
        } catch {
          skip(rel, 'unreadable');
          continue;
        }
        if (visited.has(real)) {
          skip(rel, 'symlink-loop');
          continue;
        }
        visited.add(real);
        dirs.push({ abs, rel, levels, forcedOnly: frame.forcedOnly || (!!reason && !forced) });
      } else if (isFile) {
        if (reason) {
          skip(rel, reason);
          continue;
        }
        files.push({ abs, rel });
      }
    }

    const stats = await Promise.all(files.map((f) => fsp.stat(f.abs).catch(() => null)));
    for (let i = 0; i < files.length; i++) {
      const st = stats[i];
      if (!st) {
        skip(files[i].rel, 'unreadable');
        continue;
      }
      yield { absPath: files[i].abs, relPath: files[i].rel, size: st.size, mtimeMs: st.mtimeMs };
    }
    // Push in reverse so directories are visited in sorted order.
    for (let i = dirs.length - 1; i >= 0; i--) stack.push(dirs[i]);
  }
}

const SNIFF_BYTES = 8192;

/** True when the buffer looks binary: a NUL byte, or >10% control chars, in the first 8 KB. */
export function looksBinary(buf: Uint8Array): boolean {
  const n = Math.min(buf.length, SNIFF_BYTES);
  if (n === 0) return false;
  let ctrl = 0;
  for (let i = 0; i < n; i++) {
    const b = buf[i];
    if (b === 0) return true;
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c && b !== 0x0b && b !== 0x1b) ctrl++;
    else if (b === 0x7f) ctrl++;
  }
  return ctrl / n > 0.1;
}

/**
 * Decide whether a file may be memorized and return its text. Never throws: problems become
 * a reason. With `opts.root` the path rules apply too (and symlinks leaving the root are refused).
 */
export async function classifyFile(absPath: string, opts: ClassifyOptions = {}): Promise<ClassifyResult> {
  const maxSize = opts.maxFileSize ?? DEFAULT_MAX_FILE_SIZE;
  try {
    let lst: Stats;
    try {
      lst = await fsp.lstat(absPath);
    } catch (e) {
      return { ok: false, reason: 'unreadable', detail: (e as Error).message };
    }
    let forced = false; // force-included: the machine-written check below does not apply
    if (opts.root) {
      const absRoot = path.resolve(opts.root);
      const rel = relativeInside(absRoot, absPath);
      if (rel === null) return { ok: false, reason: 'symlink-outside', detail: 'outside the workspace root' };
      const rules = new PathRules(opts);
      forced = rules.forced(rel);
      const reason = rules.blocked(rel);
      if (reason) return { ok: false, reason };
      if (lst.isSymbolicLink()) {
        try {
          const real = await fsp.realpath(absPath);
          if (!isInside(await fsp.realpath(absRoot), real)) return { ok: false, reason: 'symlink-outside' };
        } catch (e) {
          return { ok: false, reason: 'unreadable', detail: (e as Error).message };
        }
      }
    }
    let st: Stats;
    try {
      st = lst.isSymbolicLink() ? await fsp.stat(absPath) : lst;
    } catch (e) {
      return { ok: false, reason: 'unreadable', detail: (e as Error).message };
    }
    if (!st.isFile()) return { ok: false, reason: 'not-a-file' };
    if (st.size > maxSize) return { ok: false, reason: 'too-large', detail: `${st.size} bytes > ${maxSize}` };
    if (st.size === 0) return { ok: false, reason: 'empty' };
    let buf: Buffer;
    try {
      buf = await fsp.readFile(absPath);
    } catch (e) {
      return { ok: false, reason: 'unreadable', detail: (e as Error).message };
    }
    if (buf.length > maxSize) return { ok: false, reason: 'too-large', detail: `${buf.length} bytes > ${maxSize}` };
    if (buf.length === 0) return { ok: false, reason: 'empty' };
    if (looksBinary(buf)) return { ok: false, reason: 'binary' };
    let text: string;
    try {
      // fatal: invalid UTF-8 is refused, never replaced with U+FFFD. A leading BOM is dropped.
      text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
    } catch {
      return { ok: false, reason: 'invalid-utf8' };
    }
    if (text.trim().length === 0) return { ok: false, reason: 'empty' };
    if (!forced && opts.useDefaultExcludes !== false) {
      const machine = machineWritten(absPath, text);
      if (machine) return { ok: false, reason: machine };
    }
    const contentHash = createHash('sha256').update(buf).digest('hex');
    return { ok: true, text, size: buf.length, mtimeMs: st.mtimeMs, contentHash };
  } catch (e) {
    return { ok: false, reason: 'unreadable', detail: (e as Error).message };
  }
}

const GENERATED_MARK = /@generated\b|\bauto-?generated\b|\bgenerated by\b|\bdo not edit\b|\bcode generated\b.*\bdo not edit\b/i;
const PROSE_EXT = /\.(md|markdown|mdx|rst|txt|adoc|org)$/i;

/**
 * Files a person did not write (prose files never count): a generated file (its first 3 lines say
 * so) or minified/machine-written text (a 5,000+ character line with under 10 % whitespace, 300+
 * characters a line on average).
 */
export function machineWritten(absPath: string, text: string): 'generated' | 'minified' | null {
  if (PROSE_EXT.test(absPath)) return null; // "generated by" in prose is just words; a long line of prose is a paragraph
  const head = text.slice(0, 600).split(/\r\n|\n|\r/, 3).join('\n');
  if (GENERATED_MARK.test(head)) return 'generated';
  if (text.length >= 5000) {
    const lines = text.split(/\r\n|\n|\r/);
    let longest = '';
    for (const l of lines) if (l.length > longest.length) longest = l;
    const spaces = (longest.match(/\s/g) ?? []).length;
    if (longest.length >= 5000 && text.length / lines.length >= 300 && spaces / longest.length < 0.1) return 'minified';
  }
  return null;
}

/** Path-rule check alone (no I/O): why `relPath` (posix, relative; dirs end with '/') is excluded, or null. */
/** Does a force-include glob match `relPath`? */
export function isForceIncluded(relPath: string, include?: string[]): boolean {
  return new PathRules({ include }).forced(relPath);
}

export function pathRuleReason(relPath: string, opts: ClassifyOptions = {}): SkipReason | null {
  return new PathRules(opts).blocked(relPath);
}

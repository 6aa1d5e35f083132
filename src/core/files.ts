// The rules for what may be memorized, and the words for why a file is not: the default excludes
// and secret exclusions, the user's include/exclude globs, .gitignore files. walk.ts walks a
// workspace with them; classify.ts checks a file's content.
// Order of path rules: force-include (opts.include) > user excludes > default secret exclusions >
// default excludes > .gitignore files (root to leaf, negations honoured).
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import ignore, { Ignore } from 'ignore';

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
export const VENDOR_MARKERS = new Set(['.cargo-checksum.json']);

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

/** The globs (gitignore syntax) of the path rules. */
export interface PathRuleOptions {
  /** Always walked and memorized, even if ignored/excluded/secret. */
  include?: string[];
  /** Extra globs never walked. */
  exclude?: string[];
  /** Apply DEFAULT_EXCLUDES and VENDOR_EXCLUDES. Default true. (Secret exclusions always apply.) */
  useDefaultExcludes?: boolean;
}

/** The path rules (force-include, excludes, secrets) that don't depend on .gitignore files. */
export class PathRules {
  readonly include: Ignore | null;
  readonly exclude: Ignore | null;
  readonly secrets = ignore().add(DEFAULT_SECRET_EXCLUDES);
  readonly defaults: Ignore | null;
  readonly vendored: Ignore | null;
  private readonly includeDirPrefixes: string[] = [];

  constructor(opts: PathRuleOptions) {
    this.include = opts.include?.length ? ignore().add(opts.include) : null;
    this.exclude = opts.exclude?.length ? ignore().add(opts.exclude) : null;
    this.defaults = opts.useDefaultExcludes === false ? null : ignore().add(DEFAULT_EXCLUDES);
    this.vendored = opts.useDefaultExcludes === false ? null : ignore().add(VENDOR_EXCLUDES);
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

/** One .gitignore (or .git/info/exclude) and the folder it applies to. */
export interface GitignoreLevel {
  base: string; // posix relative dir ('' for root), with trailing '/' unless root
  ig: Ignore;
}

/** Whether `rel` is ignored by the levels, root to leaf (a later negation un-ignores). */
export function gitignored(levels: GitignoreLevel[], rel: string): boolean {
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

/** A .gitignore's text, or null when there is none (or it cannot be read). */
export async function readIgnoreFile(file: string): Promise<string | null> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch {
    return null;
  }
}

/** Does a force-include glob match `relPath`? */
export function isForceIncluded(relPath: string, include?: string[]): boolean {
  return new PathRules({ include }).forced(relPath);
}

/** Path-rule check alone (no I/O): why `relPath` (posix, relative; dirs end with '/') is excluded, or null. */
export function pathRuleReason(relPath: string, opts: PathRuleOptions = {}): SkipReason | null {
  return new PathRules(opts).blocked(relPath);
}

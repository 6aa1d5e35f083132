// Model pack loading (docs/model-pack.md, format version 1): pack.json read and validated
// (packManifest.ts), sha256 of every listed file (streamed), tokenizer; the prompt templates; the
// packs of a folder (`cmt packs`). Errors are CmtError PACK_MISSING / PACK_CORRUPT /
// PACK_INCOMPATIBLE and always name the offending file.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GraphName, PackManifest, validateManifest } from './packManifest';
import { CmtTokenizer } from './tokenizer';
import { CmtError } from './types';

export interface Pack {
  dir: string; // absolute
  manifest: PackManifest;
  tokenizer: CmtTokenizer;
  graphPath(name: GraphName): string;
}

export interface LoadPackOptions {
  /** Verify the sha256 of every listed file (default true). Missing files are always reported. */
  verifyHashes?: boolean;
}

export interface PackSummary {
  dir: string;
  ok: boolean;
  error?: { code: string; message: string };
  packId?: string;
  name?: string;
  description?: string;
  dims?: {
    architecture: string;
    vocabSize: number;
    hiddenSize: number;
    numLayers: number;
    numHeads: number;
    numKvHeads: number;
    headDim: number;
    memorySlots: number;
    memoryDim: number;
    prefixTokens: number;
    maxDocTokens: number;
    maxSelected: number;
  };
  metrics?: Record<string, unknown>;
  sizeBytes?: number;
}

// ---------------------------------------------------------------------------------------------

function fail(code: 'PACK_MISSING' | 'PACK_CORRUPT' | 'PACK_INCOMPATIBLE', msg: string): never {
  throw new CmtError(code, msg);
}

/** Resolves a pack-relative file name safely (no absolute paths, no escaping the pack dir). */
function resolveInPack(dir: string, rel: string): string {
  if (path.isAbsolute(rel) || rel.split(/[\\/]/).includes('..') || rel === '') {
    fail('PACK_CORRUPT', `pack.json lists an unsafe file path "${rel}" in ${dir}`);
  }
  return path.join(dir, rel);
}

/** Reads and validates pack.json (format, version, required fields). Does not touch other files. */
export async function readManifest(dir: string): Promise<PackManifest> {
  const manifestPath = path.join(dir, 'pack.json');
  let raw: string;
  try {
    raw = await fs.promises.readFile(manifestPath, 'utf8');
  } catch (e) {
    fail('PACK_MISSING', `pack.json not found in ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let m: unknown;
  try {
    m = JSON.parse(raw);
  } catch (e) {
    fail('PACK_CORRUPT', `pack.json in ${dir} is not valid JSON: ${(e as Error).message}`);
  }
  return validateManifest(m, manifestPath);
}

/** sha256 hex of a file, streamed (works for multi-GB graphs / external data files). */
export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = crypto.createHash('sha256');
    const s = fs.createReadStream(file, { highWaterMark: 1 << 20 });
    s.on('error', reject);
    s.on('data', (chunk) => h.update(chunk));
    s.on('end', () => resolve(h.digest('hex')));
  });
}

/**
 * Loads a pack directory: validates pack.json, checks that every listed file exists and has the
 * listed sha256, and loads the tokenizer.
 */
export async function loadPack(dir: string, opts: LoadPackOptions = {}): Promise<Pack> {
  const abs = path.resolve(dir);
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(abs);
  } catch {
    fail('PACK_MISSING', `model pack directory not found: ${abs}`);
  }
  if (!st.isDirectory()) fail('PACK_MISSING', `model pack is not a directory: ${abs}`);
  const manifest = await readManifest(abs);

  // Existence first, so a missing file is reported as missing even if another one is corrupt.
  const entries = Object.entries(manifest.files);
  for (const [rel] of entries) {
    const p = resolveInPack(abs, rel);
    try {
      const fst = await fs.promises.stat(p);
      if (!fst.isFile()) fail('PACK_MISSING', `pack file ${rel} is not a regular file (in ${abs})`);
    } catch (e) {
      if (e instanceof CmtError) throw e;
      fail('PACK_MISSING', `pack file ${rel} is missing (listed in ${path.join(abs, 'pack.json')})`);
    }
  }
  if (opts.verifyHashes !== false) {
    for (const [rel, want] of entries) {
      const got = await sha256File(resolveInPack(abs, rel));
      if (got.toLowerCase() !== want.toLowerCase()) {
        fail('PACK_CORRUPT', `pack file ${rel} is corrupt: sha256 ${got} does not match pack.json (${want}) in ${abs}`);
      }
    }
  }

  const tokenizer = await CmtTokenizer.fromFile(path.join(abs, 'tokenizer.json'), manifest.specialTokens);
  const graphs = manifest.graphs;
  return {
    dir: abs,
    manifest,
    tokenizer,
    graphPath(name: GraphName): string {
      const rel = graphs[name];
      if (!rel) throw new CmtError('PACK_INCOMPATIBLE', `pack ${manifest.packId} has no "${name}" graph`);
      return resolveInPack(abs, rel);
    },
  };
}

/** The prompt templates' own words (instructions, the worked example), placeholders and chat markup removed: what an answer must not merely echo (ground.ts). */
export function promptOwnText(prompt: { question?: string; context?: string }): string {
  return [prompt.question ?? '', prompt.context ?? '']
    .join('\n')
    .replace(/\{(question|context|text)\}/g, ' ')
    .replace(/<\|[^|]*\|>/g, ' ');
}

/** Fills `{name}` placeholders of a prompt template. */
export function fillTemplate(template: string, vars: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? vars[k] : m));
}

async function summarize(dir: string): Promise<PackSummary> {
  try {
    const m = await readManifest(dir);
    let sizeBytes = 0;
    for (const rel of Object.keys(m.files)) {
      try {
        sizeBytes += (await fs.promises.stat(resolveInPack(dir, rel))).size;
      } catch {
        /* reported by loadPack */
      }
    }
    return {
      dir,
      ok: true,
      packId: m.packId,
      name: m.name,
      description: m.description,
      dims: {
        architecture: m.baseModel.architecture,
        vocabSize: m.baseModel.vocabSize,
        hiddenSize: m.baseModel.hiddenSize,
        numLayers: m.baseModel.numLayers,
        numHeads: m.baseModel.numHeads,
        numKvHeads: m.baseModel.numKvHeads,
        headDim: m.baseModel.headDim,
        memorySlots: m.cmt.memorySlots,
        memoryDim: m.cmt.memoryDim,
        prefixTokens: m.cmt.prefixTokens,
        maxDocTokens: m.cmt.maxDocTokens,
        maxSelected: m.cmt.maxSelected,
      },
      metrics: m.metrics,
      sizeBytes,
    };
  } catch (e) {
    const code = e instanceof CmtError ? e.code : 'INTERNAL';
    return { dir, ok: false, error: { code, message: (e as Error).message } };
  }
}

/**
 * Summaries of the packs found in `dirs` (for `cmt packs`). Each dir may itself be a pack or a
 * folder whose immediate subfolders are packs. Only pack.json is read (no hashing); a pack
 * whose manifest is invalid is listed with ok=false and the error.
 */
export async function listPacks(dirs: string[]): Promise<PackSummary[]> {
  const out: PackSummary[] = [];
  const seen = new Set<string>();
  for (const d of dirs) {
    const abs = path.resolve(d);
    if (fs.existsSync(path.join(abs, 'pack.json'))) {
      if (!seen.has(abs)) {
        seen.add(abs);
        out.push(await summarize(abs));
      }
      continue;
    }
    let names: string[] = [];
    try {
      names = (await fs.promises.readdir(abs, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch {
      continue;
    }
    for (const n of names.sort()) {
      const sub = path.join(abs, n);
      if (!seen.has(sub) && fs.existsSync(path.join(sub, 'pack.json'))) {
        seen.add(sub);
        out.push(await summarize(sub));
      }
    }
  }
  return out;
}

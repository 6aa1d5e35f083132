// The llama.cpp side of the decode section (decode.ts): node-llama-cpp (a bench-only devDependency
// pinned at 3.21.1) loading the pack's GGUF - what a user would run instead of the engine.
//
// node-llama-cpp is loaded with gpu:false, build:"never", skipDownload:true: it uses the
// @node-llama-cpp/linux-x64 prebuilt binary or fails (then the llama.cpp side is reported as
// unavailable with the reason); it never downloads or compiles llama.cpp.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Pack } from '../core/pack';
import { now, round } from '../measure/stats';
import type { LlamaCppInfo } from './decode';

// ---------------------------------------------------------------------------------------------
// Minimal structural types of the node-llama-cpp API used here (it is an optional devDependency:
// the build must not need its type declarations).

interface NlcSequence {
  clearHistory(): Promise<void>;
  evaluate(tokens: number[], opts: { temperature: number; yieldEogToken: boolean }): AsyncGenerator<number>;
}
interface NlcContext {
  getSequence(): NlcSequence;
  dispose(): Promise<void>;
}
interface NlcModel {
  tokenize(text: string): number[];
  fileInfo: { metadata?: { tokenizer?: { ggml?: { tokens?: unknown[] } } } };
  createContext(o: { contextSize: number; batchSize: number; threads: { ideal: number; min: number }; sequences: number }): Promise<NlcContext>;
  dispose(): Promise<void>;
}
interface NlcLlama {
  gpu: unknown;
  buildType: string;
  llamaCppRelease: { repo: string; release: string };
  loadModel(o: { modelPath: string; gpuLayers: number }): Promise<NlcModel>;
  dispose(): Promise<void>;
}
interface NlcModule {
  getLlama(o: Record<string, unknown>): Promise<NlcLlama>;
  LlamaLogLevel: Record<string, string>;
}

// TypeScript compiles import() to require() under "module": "commonjs"; node-llama-cpp is ESM-only.
// eslint-disable-next-line @typescript-eslint/no-implied-eval -- the one way to a real import() from CommonJS output
const importEsm = new Function('s', 'return import(s)') as (s: string) => Promise<unknown>;

function nodeLlamaCppVersion(): string | undefined {
  try {
    let dir = path.dirname(require.resolve('node-llama-cpp'));
    for (let i = 0; i < 4; i++, dir = path.dirname(dir)) {
      const pj = path.join(dir, 'package.json');
      if (fs.existsSync(pj)) {
        const j = JSON.parse(fs.readFileSync(pj, 'utf8')) as { name?: string; version?: string };
        if (j.name === 'node-llama-cpp') return j.version;
      }
    }
  } catch {
    /* not installed */
  }
  return undefined;
}

/** Where the default GGUF lives: pack.json baseModel.source.file under a .venv's site-packages. */
export function findPackGguf(pack: Pack, roots: string[]): { path?: string; expectedSha256?: string; reason?: string; from?: string } {
  const src = (pack.manifest.baseModel as unknown as { source?: { package?: string; version?: string; file?: string; sha256?: string } }).source;
  if (!src?.file) return { reason: 'pack.json has no baseModel.source.file (pass --gguf <path>)' };
  const tried: string[] = [];
  const venvs = [...new Set([...roots.map((r) => path.join(path.resolve(r), '.venv')), ...(process.env.VIRTUAL_ENV ? [process.env.VIRTUAL_ENV] : [])])];
  for (const venv of venvs) {
    for (const lib of ['lib', 'lib64']) {
      const libDir = path.join(venv, lib);
      let pys: string[] = [];
      try {
        pys = fs.readdirSync(libDir).filter((d) => /^python3/.test(d)).sort();
      } catch {
        continue;
      }
      for (const py of pys) {
        const p = path.join(libDir, py, 'site-packages', src.file);
        tried.push(p);
        if (fs.existsSync(p)) return { path: p, expectedSha256: src.sha256, from: `pack.json baseModel.source (${src.package ?? '?'}==${src.version ?? '?'})` };
      }
    }
  }
  return {
    expectedSha256: src.sha256,
    reason: `GGUF ${src.file} (pip package ${src.package ?? '?'}==${src.version ?? '?'}) not found under ${venvs.map((v) => path.join(v, 'lib/python3*/site-packages')).join(' or ')}` + ' (run the setup script, or pass --gguf <path>)',
  };
}

async function sha256File(p: string): Promise<string> {
  const h = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(p)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** The prompt both engines decode from: the text, the pack tokenizer's ids of it (with bos when the pack adds one). */
export interface DecodePrompt {
  text: string;
  bos: number[];
  ortIds: number[];
  /** Tokens of the text compared between the tokenizers (the longest prompt + 8). */
  need: number;
}

/** The llama.cpp side of the decode bench: what was loaded (or why not) and a timed evaluation. */
export interface LlamaSide {
  lc: LlamaCppInfo;
  /** The prompt ids llama.cpp decodes (the pack's ids when it is the same model). */
  ids: number[];
  tokenization: string;
  agreement?: number;
  sameModel: boolean;
  /** Evaluates `ids` until `newTokens + 1` tokens came out: the start time and each token's time. */
  evaluate(ids: number[], newTokens: number): Promise<{ t0: number; stamps: number[] }>;
  dispose(): Promise<void>;
}

interface Loaded {
  llama?: NlcLlama;
  model?: NlcModel;
  ctx?: NlcContext;
  seq?: NlcSequence;
}

/** Finds the GGUF (--gguf, else the pack's) and checks it and node-llama-cpp are there; sets lc.reason when not. */
async function locate(pack: Pack, gguf: string | undefined, repoRoot: string, lc: LlamaCppInfo, notes: string[]): Promise<string | undefined> {
  const found = gguf ? { path: path.resolve(gguf), from: '--gguf' } : findPackGguf(pack, [repoRoot, path.resolve(__dirname, '..', '..', '..')]);
  lc.nodeLlamaCpp = nodeLlamaCppVersion();
  if (!found.path) {
    lc.reason = found.reason;
    return undefined;
  }
  if (!fs.existsSync(found.path)) {
    lc.reason = `GGUF not found: ${found.path}`;
    return undefined;
  }
  if (!lc.nodeLlamaCpp) {
    lc.reason = 'node-llama-cpp is not installed (it is a devDependency: `npm install` without --omit=dev)';
    return undefined;
  }
  lc.gguf = found.path;
  lc.ggufFrom = found.from;
  lc.ggufBytes = fs.statSync(found.path).size;
  lc.sha256 = await sha256File(found.path);
  if ('expectedSha256' in found && found.expectedSha256) {
    lc.expectedSha256 = found.expectedSha256;
    lc.sha256Match = lc.expectedSha256.toLowerCase() === lc.sha256;
    if (!lc.sha256Match) notes.push(`GGUF sha256 ${lc.sha256} differs from pack.json baseModel.source.sha256 ${lc.expectedSha256}: not the pack's base model file`);
  }
  return found.path;
}

/** Loads the GGUF with node-llama-cpp (CPU prebuilt binary, never a download or a build) into `x`. */
async function load(x: Loaded, lc: LlamaCppInfo, file: string, threads: number, contextSize: number): Promise<NlcModel> {
  const nlc = (await importEsm('node-llama-cpp')) as NlcModule;
  const t0 = now();
  const llama = (x.llama = await nlc.getLlama({
    gpu: false,
    build: 'never',
    skipDownload: true,
    usePrebuiltBinaries: true,
    progressLogs: false,
    logLevel: nlc.LlamaLogLevel.error,
    maxThreads: threads,
  }));
  const model = (x.model = await llama.loadModel({ modelPath: file, gpuLayers: 0 }));
  x.ctx = await model.createContext({ contextSize, batchSize: 512, threads: { ideal: threads, min: threads }, sequences: 1 });
  x.seq = x.ctx.getSequence();
  lc.loadMs = round(now() - t0, 0);
  lc.llamaCppRelease = `${llama.llamaCppRelease.repo}@${llama.llamaCppRelease.release}`;
  lc.binary = `${llama.buildType}, gpu ${String(llama.gpu)}`;
  lc.vocabSize = model.fileInfo.metadata?.tokenizer?.ggml?.tokens?.length;
  return model;
}

/** Which ids llama.cpp gets: the pack's own when the GGUF has the pack's vocabulary, else its own tokenization of the text. */
function promptIds(side: LlamaSide, pack: Pack, model: NlcModel, p: DecodePrompt, notes: string[]): void {
  const m = pack.manifest;
  const own = model.tokenize(p.text);
  if (side.lc.vocabSize === m.baseModel.vocabSize) {
    // Same model: both engines get exactly the pack's prompt ids.
    const packText = pack.tokenizer.encode(p.text);
    let same = 0;
    const n = Math.min(packText.length, own.length, p.need);
    for (let i = 0; i < n; i++) if (packText[i] === own[i]) same++;
    side.agreement = round(same / Math.max(1, n), 4);
    side.ids = p.ortIds;
    side.sameModel = true;
    side.tokenization = `identical token ids for both engines (the pack tokenizer's ids${p.bos.length ? ', with bos' : ''}); llama.cpp's own tokenizer agrees on ${round(100 * side.agreement, 2)}% of the first ${n} ids of the text`;
  } else {
    side.ids = own;
    side.tokenization = `same text, each engine's own tokenizer, cut to the same length (vocabularies differ: pack ${m.baseModel.vocabSize}, GGUF ${side.lc.vocabSize ?? '?'})`;
    notes.push('the GGUF is not the pack\'s base model (vocabulary sizes differ): the ratio compares different models');
  }
}

/**
 * The llama.cpp side, loaded now (after onnxruntime was measured): `lc.available` false with the
 * reason when the GGUF or node-llama-cpp is missing or fails to load. `maxLen`: the longest prompt.
 */
export async function openLlamaCpp(pack: Pack, o: { gguf?: string; repoRoot: string; threads: number; prompt: DecodePrompt; maxLen: number; newTokens: number; notes: string[] }): Promise<LlamaSide> {
  const x: Loaded = {};
  const side: LlamaSide = {
    lc: { available: false },
    ids: [],
    tokenization: `the pack tokenizer's ids${o.prompt.bos.length ? ' (with bos)' : ''} (llama.cpp not measured)`,
    sameModel: false,
    async evaluate(ids, newTokens) {
      await x.seq!.clearHistory();
      const stamps: number[] = [];
      const t0 = now();
      for await (const _tok of x.seq!.evaluate(ids, { temperature: 0, yieldEogToken: true })) {
        stamps.push(now());
        if (stamps.length >= newTokens + 1) break;
      }
      return { t0, stamps };
    },
    async dispose() {
      await x.ctx?.dispose().catch(() => undefined);
      await x.model?.dispose().catch(() => undefined);
      await x.llama?.dispose().catch(() => undefined);
    },
  };
  const file = await locate(pack, o.gguf, o.repoRoot, side.lc, o.notes);
  if (!file) return side;
  try {
    const model = await load(x, side.lc, file, o.threads, Math.ceil((o.maxLen + o.newTokens + 16) / 256) * 256);
    promptIds(side, pack, model, o.prompt, o.notes);
    if (side.ids.length < o.maxLen) throw new Error(`llama.cpp tokenized the prompt text to ${side.ids.length} tokens, fewer than ${o.maxLen}`);
    side.lc.available = true;
  } catch (e) {
    side.lc.reason = `node-llama-cpp could not load the GGUF: ${String((e as Error).message ?? e).split('\n')[0]}`;
  }
  return side;
}

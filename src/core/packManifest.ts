// The model pack's manifest (pack.json, docs/model-pack.md, format version 1): its shape and its
// checks. Pure: pack.ts reads the file and loads the pack; this says what a valid manifest is,
// optional sections included (the sentence embedder that embed.ts runs, the fusion match.ts reads).
// Errors are CmtError PACK_CORRUPT / PACK_INCOMPATIBLE naming the offending field.

import { ANSWER_MODES, AnswerMode, CmtError } from './types';
import type { FocusWindow } from './readerFocus';

export const PACK_FORMAT = 'cmt-pack';
export const SUPPORTED_FORMAT_VERSIONS: readonly number[] = [1];

export type GraphName = 'compressor' | 'aggregator' | 'decoder';
export const DECODER_CACHES = ['concat', 'shared-buffer'] as const;
export type DecoderCache = (typeof DECODER_CACHES)[number];

export interface PackBaseModel {
  architecture: string;
  description?: string;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  ropeTheta: number;
  rmsNormEps: number;
  maxPositions: number;
  tieWordEmbeddings: boolean;
  attentionBias: boolean;
  /** Where the base's weights came from when the pack was built from a registry package. */
  source?: { package: string; version: string; file: string; sha256: string };
}

export interface PackCmt {
  memorySlots: number; // k
  memoryDim: number; // d
  prefixTokens: number; // P
  maxDocTokens: number;
  maxQuestionTokens: number;
  maxSelected: number;
  keyPooling: string; // 'mean-l2'
}

export interface PackPrompt {
  document: string; // contains {text}
  query: string; // contains {question}
  question: string; // contains {question}
  /** Prompt with raw text in it (RAG, and memory + top chunk): contains {context} and {question}. */
  context?: string;
  addBos: boolean;
  stop: string[];
  /** Token ids that end an answer (default: [eos]); e.g. a chat model's end-of-turn and end-of-text. */
  stopTokens?: number[];
}

export interface PackDefaults {
  topK: number;
  alpha: number;
  maxNewTokens: number;
  numBeams: number;
  /** The answer path chosen by the trainer's evaluation (best dev F1 among the memory-using ones). */
  answerMode: AnswerMode;
  /**
   * Per answer mode: the least mean log-probability (nats/token) of a generated answer that may be
   * marked "found in source"; below it the verdict is "not sure" (src/core/ground.ts). Fitted on the
   * dev splits by `cmt eval --fit-grounding`; a mode without an entry has no such floor.
   */
  minAnswerConfidence: Partial<Record<AnswerMode, number>>;
  /** How many of the best chunks' raw text go into the prompt in the memory+chunk and top-chunk modes (1 or 2). */
  contextChunks: number;
  /** Copy decoding (copy.ts): in the modes with chunks in the prompt, the answer is a span of them. */
  copyAnswer: boolean;
  /** The reader reads the best-covering of the top retrieved chunks, not always the first (readerChunks.ts). */
  readerRerank: boolean;
  /** The reader reads only the lines around the one that names what the question names (readerFocus.ts); null: the whole chunk. */
  readerFocus: FocusWindow | null;
}

export interface PackTraining {
  command?: string;
  date?: string;
  gitCommit?: string;
  steps?: Record<string, unknown>;
  wallTimeSeconds?: number;
  data?: string;
  hyperparameters?: Record<string, unknown>;
  [extra: string]: unknown;
}

export interface PackManifest {
  format: 'cmt-pack';
  formatVersion: number;
  packId: string;
  name: string;
  description?: string;
  baseModel: PackBaseModel;
  cmt: PackCmt;
  specialTokens: { pad: number; bos: number; eos: number };
  prompt: PackPrompt;
  defaults: PackDefaults;
  graphs: Record<GraphName, string>;
  /**
   * How decoder.onnx's KV cache is fed (docs/model-pack.md "decoder.onnx"): 'concat' (absent in older
   * packs) = past in, present = past + new out, every step; 'shared-buffer' = GroupQueryAttention: one
   * preallocated [B, Hkv, capacity, D] buffer per layer fed as past and bound as present, appended in place.
   */
  decoderCache: DecoderCache;
  training?: PackTraining;
  metrics?: Record<string, unknown>;
  files: Record<string, string>; // relative path -> sha256 hex (every file except pack.json)
  /** Optional sentence embedder (training/cmt/pack/embedder.py, src/core/embed.ts). */
  embedder?: PackEmbedder;
  /** Optional calibrated fusion of the retrievers (src/core/match.ts fusionOf). */
  retrieval?: PackRetrieval;
}

export interface PackRetrieval {
  /** Weighted-RRF weights per retriever (CMT keys, sentence embedder, BM25) and the RRF constant. */
  weights: { key: number; emb: number; text: number };
  rrfK: number;
  /**
   * BM25 confidence gate (match.ts textConfident/fuseGated): when BM25's top hit scores at least
   * textGate × the best BM25 score of a chunk of another file (or no other file scored), that hit
   * is put first and the weighted RRF orders the rest. 0 or absent: off. Fitted with the weights.
   */
  textGate?: number;
  /** How the weights were fitted (data, metric, per-retriever dev scores). */
  fittedOn?: unknown;
}

/** The optional `embedder` section: a sentence embedder (training/cmt/pack/embedder.py writes it, embed.ts runs it). */
export interface PackEmbedder {
  name: string;
  /** Pack-relative ONNX file: input_ids, attention_mask [B, T] int64 (token_type_ids optional) -> last_hidden_state. */
  graph: string;
  /** Pack-relative tokenizer.json (Hugging Face format). */
  tokenizer: string;
  dim: number;
  /** Tokens per text, [CLS] and [SEP] included (longer texts are cut). */
  maxTokens: number;
  pooling: 'mean-l2';
  clsId: number;
  sepId: number;
  padId: number;
  source?: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Validation

function fail(code: 'PACK_MISSING' | 'PACK_CORRUPT' | 'PACK_INCOMPATIBLE', msg: string): never {
  throw new CmtError(code, msg);
}

type Check = 'int' | 'posint' | 'number' | 'string' | 'bool' | 'object' | 'string[]';

const REQUIRED: Array<[string, Check]> = [
  ['packId', 'string'],
  ['name', 'string'],
  ['baseModel', 'object'],
  ['baseModel.architecture', 'string'],
  ['baseModel.vocabSize', 'posint'],
  ['baseModel.hiddenSize', 'posint'],
  ['baseModel.numLayers', 'posint'],
  ['baseModel.numHeads', 'posint'],
  ['baseModel.numKvHeads', 'posint'],
  ['baseModel.headDim', 'posint'],
  ['baseModel.maxPositions', 'posint'],
  ['cmt', 'object'],
  ['cmt.memorySlots', 'posint'],
  ['cmt.memoryDim', 'posint'],
  ['cmt.prefixTokens', 'posint'],
  ['cmt.maxDocTokens', 'posint'],
  ['cmt.maxQuestionTokens', 'posint'],
  ['cmt.maxSelected', 'posint'],
  ['specialTokens.pad', 'int'],
  ['specialTokens.bos', 'int'],
  ['specialTokens.eos', 'int'],
  ['prompt.document', 'string'],
  ['prompt.query', 'string'],
  ['prompt.question', 'string'],
  ['prompt.addBos', 'bool'],
  ['prompt.stop', 'string[]'],
  ['graphs.compressor', 'string'],
  ['graphs.aggregator', 'string'],
  ['graphs.decoder', 'string'],
  ['files', 'object'],
];

function getPath(obj: unknown, p: string): unknown {
  let cur: unknown = obj;
  for (const k of p.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

function checkType(v: unknown, c: Check): boolean {
  switch (c) {
    case 'int':
      return Number.isInteger(v) && (v as number) >= 0;
    case 'posint':
      return Number.isInteger(v) && (v as number) > 0;
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'string':
      return typeof v === 'string';
    case 'bool':
      return typeof v === 'boolean';
    case 'object':
      return v !== null && typeof v === 'object' && !Array.isArray(v);
    case 'string[]':
      return Array.isArray(v) && v.every((s) => typeof s === 'string');
  }
}

function copyAnswerOf(v: unknown, where: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') fail('PACK_CORRUPT', `${where}: defaults.copyAnswer must be true or false`);
  return v;
}

function readerRerankOf(v: unknown, where: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') fail('PACK_CORRUPT', `${where}: defaults.readerRerank must be true or false`);
  return v;
}

function readerFocusOf(v: unknown, where: string): FocusWindow | null {
  if (v === undefined || v === null) return null;
  const w = v as Partial<FocusWindow>;
  const lines = (x: unknown) => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 200;
  const share = typeof w.minShare === 'number' && w.minShare >= 0 && w.minShare <= 1;
  if (typeof v !== 'object' || !lines(w.above) || !lines(w.below) || !share) {
    fail('PACK_CORRUPT', `${where}: defaults.readerFocus must be null or { above, below: line counts, minShare: 0..1 }`);
  }
  return { above: w.above!, below: w.below!, minShare: w.minShare! };
}

function contextChunksOf(v: unknown, where: string): number {
  if (v === undefined) return 1;
  if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 4) fail('PACK_CORRUPT', `${where}: defaults.contextChunks must be an integer from 1 to 4`);
  return v as number;
}

function confidenceFloors(v: unknown, where: string): PackDefaults['minAnswerConfidence'] {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('PACK_CORRUPT', `${where}: defaults.minAnswerConfidence must be an object`);
  const out: PackDefaults['minAnswerConfidence'] = {};
  for (const [mode, x] of Object.entries(v as Record<string, unknown>)) {
    if (!(ANSWER_MODES as readonly string[]).includes(mode)) fail('PACK_CORRUPT', `${where}: defaults.minAnswerConfidence has an unknown answer mode "${mode}"`);
    if (typeof x !== 'number' || !Number.isFinite(x)) fail('PACK_CORRUPT', `${where}: defaults.minAnswerConfidence["${mode}"] must be a number`);
    out[mode as AnswerMode] = x;
  }
  return out;
}

/**
 * The optional `retrieval` section (read by match.ts fusionOf): weights.key/emb/text numbers ≥ 0,
 * rrfK > 0, textGate ≥ 0 (0: gate off). Throws PACK_CORRUPT naming the field.
 */
function validateRetrieval(v: unknown, where: string): void {
  const isObj = (x: unknown) => typeof x === 'object' && x !== null && !Array.isArray(x);
  const num = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  if (!isObj(v)) fail('PACK_CORRUPT', `${where}: retrieval must be an object`);
  const r = v as Record<string, unknown>;
  if (!isObj(r.weights)) fail('PACK_CORRUPT', `${where}: retrieval.weights must be an object { key, emb, text }`);
  for (const k of ['key', 'emb', 'text']) {
    const w = (r.weights as Record<string, unknown>)[k];
    if (w !== undefined && !(num(w) && w >= 0)) fail('PACK_CORRUPT', `${where}: retrieval.weights.${k} must be a number ≥ 0`);
  }
  if (r.rrfK !== undefined && !(num(r.rrfK) && r.rrfK > 0)) fail('PACK_CORRUPT', `${where}: retrieval.rrfK must be a number > 0`);
  if (r.textGate !== undefined && !(num(r.textGate) && r.textGate >= 0)) fail('PACK_CORRUPT', `${where}: retrieval.textGate must be a number ≥ 0 (0: off)`);
}

/** Validates an `embedder` section (throws PACK_CORRUPT naming the field). */
export function validateEmbedderSection(e: unknown, files: Record<string, unknown>, where = 'pack.json'): PackEmbedder {
  const o = e as Record<string, unknown>;
  const bad = (f: string) => {
    throw new CmtError('PACK_CORRUPT', `${where}: embedder.${f} is missing or invalid`);
  };
  if (!o || typeof o !== 'object') bad('(section)');
  for (const f of ['name', 'graph', 'tokenizer']) if (typeof o[f] !== 'string' || !o[f]) bad(f);
  for (const f of ['dim', 'maxTokens']) if (!Number.isInteger(o[f]) || (o[f] as number) <= 0) bad(f);
  for (const f of ['clsId', 'sepId', 'padId']) if (!Number.isInteger(o[f]) || (o[f] as number) < 0) bad(f);
  if ((o.maxTokens as number) < 3) bad('maxTokens');
  if (o.pooling !== 'mean-l2') bad('pooling');
  for (const f of ['graph', 'tokenizer']) {
    if (!((o[f] as string) in files)) throw new CmtError('PACK_CORRUPT', `${where}: "${String(o[f])}" (embedder.${f}) is not listed in "files" (no checksum)`);
  }
  return o as unknown as PackEmbedder;
}

export function validateManifest(m: unknown, where = 'pack.json'): PackManifest {
  if (m === null || typeof m !== 'object') fail('PACK_CORRUPT', `${where}: not a JSON object`);
  const o = m as Record<string, unknown>;
  if (o.format !== PACK_FORMAT) {
    fail('PACK_INCOMPATIBLE', `${where}: format is ${JSON.stringify(o.format)}, expected "${PACK_FORMAT}"`);
  }
  if (!SUPPORTED_FORMAT_VERSIONS.includes(o.formatVersion as number)) {
    fail(
      'PACK_INCOMPATIBLE',
      `${where}: formatVersion ${JSON.stringify(o.formatVersion)} is not supported by this engine (supported: ${SUPPORTED_FORMAT_VERSIONS.join(', ')})`,
    );
  }
  for (const [p, c] of REQUIRED) {
    const v = getPath(o, p);
    if (!checkType(v, c)) {
      fail('PACK_INCOMPATIBLE', `${where}: field "${p}" is ${v === undefined ? 'missing' : 'invalid'} (expected ${c})`);
    }
  }
  const files = o.files as Record<string, unknown>;
  for (const [f, h] of Object.entries(files)) {
    if (typeof h !== 'string' || !/^[0-9a-fA-F]{64}$/.test(h)) {
      fail('PACK_CORRUPT', `${where}: files["${f}"] is not a sha256 hex digest`);
    }
  }
  const graphs = o.graphs as Record<string, string>;
  for (const g of [...Object.values(graphs), 'tokenizer.json']) {
    if (!(g in files)) fail('PACK_CORRUPT', `${where}: "${g}" is not listed in "files" (no checksum)`);
  }
  if (o.decoderCache === undefined) o.decoderCache = 'concat';
  if (!(DECODER_CACHES as readonly unknown[]).includes(o.decoderCache)) {
    fail('PACK_INCOMPATIBLE', `${where}: decoderCache ${JSON.stringify(o.decoderCache)} is not supported by this engine (supported: ${DECODER_CACHES.join(', ')})`);
  }
  if (o.embedder !== undefined) validateEmbedderSection(o.embedder, files, where);
  if (o.retrieval !== undefined) validateRetrieval(o.retrieval, where);
  // Fill optional sections with the contract's defaults so callers can rely on them.
  const defaults = (o.defaults ?? {}) as Partial<PackDefaults>;
  o.defaults = {
    topK: defaults.topK ?? 4,
    alpha: defaults.alpha ?? 0,
    maxNewTokens: defaults.maxNewTokens ?? 16,
    numBeams: defaults.numBeams ?? 1,
    answerMode: defaults.answerMode !== undefined && (ANSWER_MODES as readonly string[]).includes(defaults.answerMode) ? defaults.answerMode : 'memory',
    minAnswerConfidence: confidenceFloors(defaults.minAnswerConfidence, where),
    contextChunks: contextChunksOf(defaults.contextChunks, where),
    copyAnswer: copyAnswerOf(defaults.copyAnswer, where),
    readerRerank: readerRerankOf(defaults.readerRerank, where),
    readerFocus: readerFocusOf(defaults.readerFocus, where),
  };
  const prompt = o.prompt as Record<string, unknown>;
  if (prompt.context !== undefined && (typeof prompt.context !== 'string' || !prompt.context.includes('{context}'))) {
    fail('PACK_CORRUPT', `${where}: prompt.context must be a string containing {context}`);
  }
  if (prompt.stopTokens !== undefined && !(Array.isArray(prompt.stopTokens) && prompt.stopTokens.every((t) => Number.isInteger(t) && t >= 0))) {
    fail('PACK_CORRUPT', `${where}: prompt.stopTokens must be a list of token ids`);
  }
  const bm = o.baseModel as Record<string, unknown>;
  if (bm.numHeads !== undefined && (bm.numHeads as number) % (bm.numKvHeads as number) !== 0) {
    fail('PACK_INCOMPATIBLE', `${where}: baseModel.numHeads must be a multiple of numKvHeads`);
  }
  return o as unknown as PackManifest;
}

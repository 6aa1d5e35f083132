// ONNX Runtime sessions with execution-provider selection.
// `auto` tries the GPU providers this platform's onnxruntime-node build offers (CUDA on linux/win x64,
// DirectML on win32, CoreML on darwin), then CPU; an explicit device that fails throws
// CmtError DEVICE_UNAVAILABLE with the reason. Sessions are cached per (graph path, device).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { engineSwitches } from './processEnv';
import { CmtError, Device, DEVICES, ProviderAttempt, ProviderReport } from './types';

export type { ProviderAttempt, ProviderReport };

export interface CreatedSession {
  session: ort.InferenceSession;
  report: ProviderReport;
}

export interface SessionOptions {
  /** Intra-op threads (default: CMT_THREADS env, else min(4, available cores)). */
  intraOpNumThreads?: number;
  /**
   * Fold constant subgraphs at load (default true). False for graphs that store their weights
   * compact (int8 or fp16) and widen them in the graph (Cast/Mul before each MatMul): folding would
   * keep a float32 copy of every weight, and MLAS would pack another (the MiniLM embedder: +210 MB
   * resident, vs +55 MB unfolded, at about 1.3x its compute time).
   */
  foldConstants?: boolean;
  /**
   * Plan one block for all of a run's intermediates by input shape (default true). False for
   * graphs whose unfolded weights are intermediates (foldConstants: false): the plan would hold
   * every widened weight at once.
   */
  memPattern?: boolean;
}

/** Every device but `auto` is the name of its ONNX Runtime execution provider. */
const EXPLICIT_DEVICES: readonly string[] = DEVICES.filter((d) => d !== 'auto');

/** Backends this onnxruntime-node build knows about (bundled or installable). */
export function supportedBackends(): { name: string; bundled: boolean }[] {
  try {
    const list = (ort as unknown as { listSupportedBackends?: () => { name: string; bundled: boolean }[] })
      .listSupportedBackends;
    return list ? list() : [{ name: 'cpu', bundled: true }];
  } catch {
    return [{ name: 'cpu', bundled: true }];
  }
}

/**
 * Ordered list of execution providers to try for `device`.
 * `auto` -> the platform's GPU providers that onnxruntime-node lists, then 'cpu'.
 */
export function selectProviders(
  device: Device,
  platform: NodeJS.Platform = process.platform,
  arch: string = process.arch,
  backends: string[] = supportedBackends().map((b) => b.name),
): string[] {
  if (device !== 'auto') {
    if (!EXPLICIT_DEVICES.includes(device)) {
      throw new CmtError('BAD_INPUT', `unknown device "${device}" (use ${DEVICES.slice(0, -1).join(', ')} or ${DEVICES[DEVICES.length - 1]})`);
    }
    const ep: string = device;
    return [ep];
  }
  const gpu: string[] = [];
  if (platform === 'win32') gpu.push('dml');
  if ((platform === 'linux' || platform === 'win32') && arch === 'x64') gpu.push('cuda');
  if (platform === 'darwin') gpu.push('coreml');
  return [...gpu.filter((g) => backends.includes(g)), 'cpu'];
}

export function defaultThreads(): number {
  const set = engineSwitches().threads;
  if (set !== undefined) return set;
  const n = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(4, n));
}

function sessionOptions(ep: string, opts: SessionOptions): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [ep],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: opts.intraOpNumThreads ?? defaultThreads(),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // CPU: errors only. GPU attempts: fatal only (a failing GPU provider is reported through the ProviderReport).
    logSeverityLevel: ep === 'cpu' ? 3 : 4,
    ...(opts.memPattern === false ? { enableMemPattern: false } : {}),
    ...(opts.foldConstants === false ? { extra: { optimization: { disable_specified_optimizers: 'ConstantFolding' } } } : {}),
  };
}

/**
 * Why a provider cannot work without trying it (so `auto` does not make ORT print native errors),
 * or undefined. Only CUDA is pre-checked: its provider library is an optional download of
 * onnxruntime-node's install script.
 */
export function providerPrecheck(ep: string): string | undefined {
  if (ep !== 'cuda') return undefined;
  try {
    const binDir = path.join(path.dirname(require.resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
    if (!fs.existsSync(binDir)) return undefined;
    const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
    if (!fs.existsSync(path.join(binDir, lib))) {
      return `CUDA provider library ${lib} is not installed (onnxruntime-node's install step skipped it)`;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

const cache = new Map<string, Promise<CreatedSession>>();

/**
 * Creates (or reuses) an inference session for `graphPath` on `device`.
 * The returned report says which provider was used and which were tried, with reasons.
 */
export function createSession(graphPath: string, device: Device = 'auto', opts: SessionOptions = {}): Promise<CreatedSession> {
  const key = `${graphPath}\0${device}\0${opts.intraOpNumThreads ?? ''}\0${opts.foldConstants ?? ''}\0${opts.memPattern ?? ''}`;
  let p = cache.get(key);
  if (!p) {
    p = createUncached(graphPath, device, opts);
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

async function createUncached(graphPath: string, device: Device, opts: SessionOptions): Promise<CreatedSession> {
  const providers = selectProviders(device);
  const tried: ProviderAttempt[] = [];
  for (const ep of providers) {
    const pre = device === 'auto' ? providerPrecheck(ep) : undefined;
    if (pre) {
      tried.push({ name: ep, ok: false, reason: pre });
      continue;
    }
    try {
      const session = await ort.InferenceSession.create(graphPath, sessionOptions(ep, opts));
      tried.push({ name: ep, ok: true });
      return { session, report: { provider: ep, tried } };
    } catch (e) {
      const reason = String((e as Error).message ?? e).split('\n')[0];
      tried.push({ name: ep, ok: false, reason });
      if (ep === 'cpu' || device !== 'auto') {
        // CPU failing means the graph itself cannot be loaded.
        if (ep === 'cpu' && /protobuf|parse|invalid model|load model/i.test(reason)) {
          throw new CmtError('PACK_CORRUPT', `cannot load graph ${graphPath}: ${reason}`);
        }
        if (device !== 'auto') {
          throw new CmtError(
            'DEVICE_UNAVAILABLE',
            `device "${device}" is not available for ${graphPath}: ${reason}` +
              (device === 'cuda' ? ' (needs onnxruntime-node CUDA binaries, an NVIDIA driver and CUDA 12 runtime)' : '') +
              `; available backends: ${supportedBackends().map((b) => b.name).join(', ')}`,
          );
        }
        throw new CmtError('INTERNAL', `cannot create an ONNX Runtime session for ${graphPath}: ${reason}`);
      }
    }
  }
  throw new CmtError('INTERNAL', `no execution provider could load ${graphPath}`);
}

/** Releases every cached session (tests, pack switch). */
export async function releaseAllSessions(): Promise<void> {
  const all = [...cache.values()];
  cache.clear();
  for (const p of all) {
    try {
      await (await p).session.release();
    } catch {
      /* already gone */
    }
  }
}

/** Releases the cached sessions of graphs whose path starts with `prefix` (e.g. a pack directory). */
export async function releaseSessions(prefix: string): Promise<void> {
  for (const [k, p] of [...cache.entries()]) {
    if (k.startsWith(prefix)) {
      cache.delete(k);
      try {
        await (await p).session.release();
      } catch {
        /* ignore */
      }
    }
  }
}

export { ort };

// The engine process's environment: what it is started with (engineProcessEnv, shared by
// EngineClient in client.ts and the benchmarks that fork an engine) and the switches it reads
// (engineSwitches: the only place in src/core that reads process.env; docs/cli.md, "Environment").
// No native imports: client.ts runs in the editor's process.
import type { TextIndexOptions, VectorIndexOptions } from './bankIndex';

/**
 * Environment for an engine process (set before it starts: glibc reads it once). glibc raises its
 * mmap threshold each time a large block is freed, after which blocks of up to 32 MiB come from the
 * heap and stay resident once freed; ONNX Runtime frees such blocks on every run. A fixed 1 MiB
 * threshold returns them: -30 to -80 MiB peak for memorize and ask, same speed (docs/RESULTS.md,
 * "Memory"). Ignored by other C libraries; a value the user set wins.
 */
export function engineProcessEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { MALLOC_MMAP_THRESHOLD_: String(1 << 20), ...env };
}

/** The engine's switches, as the environment sets them (unset: the defaults). */
export interface EngineSwitches {
  /** The memory bank's index options (Engine.open passes them to MemoryBank.open). */
  bank: { textIndex: TextIndexOptions; vectorIndex: Partial<VectorIndexOptions> };
  /** ONNX Runtime intra-op threads per graph (CMT_THREADS; undefined: runtime.ts defaultThreads decides). */
  threads?: number;
  /** Skip the AVX2/FMA check of the engine process (CMT_SKIP_CPU_CHECK=1). */
  skipCpuCheck: boolean;
  /** Where the engine process reads the CPU's flags (CMT_FAKE_CPUINFO, for tests; default /proc/cpuinfo). */
  cpuinfoPath: string;
}

/**
 * Reads the engine's switches from `env`:
 *   CMT_PLAIN_FTS=1                full-text index over the raw text, not the code-aware terms (A/B)
 *   CMT_FTS_STEM=0, CMT_FTS_STOP=0 no stemming / keep stop words in the full-text index (A/B)
 *   CMT_VECTOR_INDEX_MIN_ROWS=n    rows from which the vector columns get an ANN index (default 20,000)
 *   CMT_THREADS=n                  ONNX Runtime threads per graph
 *   CMT_SKIP_CPU_CHECK=1, CMT_FAKE_CPUINFO=<file>   the engine process's CPU check (server.ts)
 */
export function engineSwitches(env: NodeJS.ProcessEnv = process.env): EngineSwitches {
  const minRows = Number(env.CMT_VECTOR_INDEX_MIN_ROWS);
  const threads = Number(env.CMT_THREADS);
  return {
    bank: {
      textIndex: { plainText: env.CMT_PLAIN_FTS === '1', stem: env.CMT_FTS_STEM !== '0', removeStopWords: env.CMT_FTS_STOP !== '0' },
      vectorIndex: env.CMT_VECTOR_INDEX_MIN_ROWS && minRows >= 0 ? { minRows } : {},
    },
    ...(Number.isInteger(threads) && threads > 0 ? { threads } : {}),
    skipCpuCheck: env.CMT_SKIP_CPU_CHECK === '1',
    cpuinfoPath: env.CMT_FAKE_CPUINFO || '/proc/cpuinfo',
  };
}

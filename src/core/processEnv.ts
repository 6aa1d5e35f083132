// The engine process's environment, shared by EngineClient (client.ts) and the benchmarks that fork
// an engine. No native imports: client.ts runs in the editor's process.

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


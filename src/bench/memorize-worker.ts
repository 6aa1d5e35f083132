// Engine process for the memorize benchmark (forked by bench/memorize.ts): opens the engine on a
// fresh bank, memorizes a workspace folder, and reports wall time, peak RSS and bank size.
// argv: <packDir> <workspaceRoot> <bankDir> <device>
import { Engine } from '../core/engine';
import type { Device } from '../core/types';
import { now } from '../measure/stats';

async function main(): Promise<void> {
  const [packDir, root, bankDir, device] = process.argv.slice(2);
  const engine = await Engine.open({ packDir, bankUri: bankDir, device: (device || 'cpu') as Device, verifyHashes: false, log: (m) => void process.stderr.write(`[cmt] ${m}\n`) });
  try {
    const t0 = now();
    let last = 0;
    const s = await engine.memorize(['.'], {
      root,
      onProgress: (p) => {
        if (p.done - last >= 500 || p.done === p.total) {
          last = p.done;
          process.send?.({ type: 'progress', done: p.done, total: p.total });
        }
      },
    });
    const wallMs = now() - t0;
    const st = await engine.status();
    // Bytes after compaction (memorize appends one LanceDB fragment/version per file).
    await engine.bank.compact(new Date(Date.now() + 1000));
    const compacted = await engine.status();
    process.send?.({
      type: 'done',
      wallMs,
      memorized: s.memorized,
      skipped: s.skipped.length,
      failed: s.failed.length,
      chunks: s.chunks,
      truncatedChunks: s.truncatedChunks,
      memories: st.memories,
      bankBytes: st.bytesOnDisk,
      bankBytesCompacted: compacted.bytesOnDisk,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
    });
  } finally {
    await engine.close();
  }
}

main().catch((e) => {
  process.send?.({ type: 'error', message: String((e as Error).stack ?? e) });
  process.exitCode = 1;
});

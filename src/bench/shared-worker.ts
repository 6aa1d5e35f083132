// Engine process of `cmt bench --sections shared-bank` (sharedBank.ts): memorizes some folders of a
// workspace into a bank (local or s3:// on the local S3-compatible server) and reports the wall time.
// argv: a JSON object { packDir, root, paths, bankUri, endpoint?, device }
import { Engine } from '../core/engine';
import type { Device } from '../core/types';
import { now } from '../measure/stats';

async function main(): Promise<void> {
  const a = JSON.parse(process.argv[2]) as { packDir: string; root: string; paths: string[]; bankUri: string; endpoint?: string; device: Device };
  const engine = await Engine.open({ packDir: a.packDir, bankUri: a.bankUri, device: a.device, access: { endpoint: a.endpoint }, verifyHashes: false, log: (m) => void process.stderr.write(`[cmt] ${m}\n`) });
  try {
    const t0 = now();
    const s = await engine.memorize(a.paths, { root: a.root });
    process.send?.({ type: 'done', wallMs: now() - t0, memorized: s.memorized, unchanged: s.unchanged, failed: s.failed.length, chunks: s.chunks });
  } finally {
    await engine.close();
  }
}

main().catch((e) => {
  process.send?.({ type: 'error', message: String((e as Error).stack ?? e) });
  process.exitCode = 1;
});
